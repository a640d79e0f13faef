/**
 * @file test_model_generic.c
 * Specification of gg infer's generic model (tools/infer/model_generic.c,
 * run by gg infer for a tool $GG_INFER_GENERIC describes) with the real
 * sort and cp: -o FILE, -oFILE and --output=FILE outputs, several inputs, a
 * flag the spec does not name kept, an input outside the base below
 * .gg-sys/root, a command run in a directory below the base (its names seen
 * from the base), a placeholder as an input (a dependency); outputs forced
 * from their thunks byte for byte a plain run's; and what it refuses, run by
 * the real tool with its reason: another program than the spec's, standard
 * input or output ('-'), no output, an option without its value, an argument the spec does
 * not describe, --flag=VALUE for a flag, an output named twice, .gg-sys/, an
 * input that does not exist. Specs: what model_generic_check rejects and
 * model_generic_find picks.
 */
#include "infer_fixture.h"
#include "tools/infer/model_generic.h"

static const char sort_spec[] = "sort -o,--output=@outfile -u,--unique -k,-t=@ @infile...";
static const char cp_spec[] = "cp @infile @outfile";

static int generic_sort(struct model_ctx *m)
{
	return model_generic_tool(m, sort_spec);
}

static int generic_cp(struct model_ctx *m)
{
	return model_generic_tool(m, cp_spec);
}

/* Forces placeholder `out` and compares it with what `plain` (a shell command) writes to plain-OUT.
 */
static void same_as_plain(const char *out, const char *plain)
{
	CHECK(fx_is_placeholder(out));
	CHECK(fx_force(out) == 0);
	CHECK(system(plain) == 0);
	char *p = xasprintf("plain-%s", strrchr(out, '/') ? strrchr(out, '/') + 1 : out);
	if (!fx_same_file(out, p))
		fprintf(stderr, "    %s differs from %s\n", out, plain);
	CHECK(fx_same_file(out, p));
	free(p);
}

static void test_outputs(void)
{
	fx_write("fruit.txt", "pear\napple\nfig\napple\n");
	fx_write("more.txt", "kiwi\nbanana\n");
	CHECK(fx_run(generic_sort, "sort", "-o", "s.txt", "fruit.txt", "more.txt", NULL) == 0);
	CHECK_MODELLED();
	CHECK(strstr(fx_log_text, "generic model -> T") != NULL);
	struct thunk t;
	char *out;
	CHECK(fx_thunk_of("s.txt", &t, &out) == 0);
	CHECK_STR(out, "s.txt");
	CHECK(t.outputs.n == 1);
	CHECK_STR(fx_arg_after(&t, "-o"), "s.txt");
	CHECK(thunk_find_input(&t, "fruit.txt") && thunk_find_input(&t, "more.txt"));
	thunk_free(&t);
	free(out);
	same_as_plain("s.txt", "sort -o plain-s.txt fruit.txt more.txt");
	/* -oFILE, --output=FILE, and flags: named (-u) or not (-r) */
	CHECK(fx_run(generic_sort, "sort", "-u", "-oj.txt", "fruit.txt", NULL) == 0);
	CHECK_MODELLED();
	same_as_plain("j.txt", "sort -u -oplain-j.txt fruit.txt");
	CHECK(fx_run(generic_sort, "sort", "-r", "--output=l.txt", "-k", "1", "--", "fruit.txt",
	             NULL) == 0);
	CHECK_MODELLED();
	CHECK(fx_thunk_of("l.txt", &t, NULL) == 0);
	CHECK(fx_has_arg(&t, "-r") && fx_has_arg(&t, "--output=l.txt"));
	thunk_free(&t);
	same_as_plain("l.txt", "sort -r --output=plain-l.txt -k 1 -- fruit.txt");
	fx_free_texts();
}

/* Names as gg infer maps them: below the base from a subdirectory, outside it below .gg-sys/root.
 */
static void test_places(void)
{
	char *far = xasprintf("%s/far.txt", fx_top);
	CHECK(write_file_atomic(far, "zebra\nant\n", 10, 0644) == 0);
	fx_write("sub/x.txt", "b\na\n");
	CHECK(chdir("sub") == 0);
	CHECK(fx_run(generic_sort, "sort", "-o", "out.txt", "x.txt", "../fruit.txt", far, NULL) ==
	      0);
	CHECK_MODELLED();
	struct thunk t;
	char *out;
	CHECK(fx_thunk_of("out.txt", &t, &out) == 0);
	CHECK_STR(out, "sub/out.txt");
	CHECK(thunk_find_input(&t, "sub/x.txt") && thunk_find_input(&t, "fruit.txt"));
	char *where = xasprintf(MODEL_ROOT "%s", far);
	CHECK(thunk_find_input(&t, where) != NULL);
	free(where);
	thunk_free(&t);
	free(out);
	char *plain = xasprintf("sort -o plain-out.txt x.txt ../fruit.txt %s", far);
	same_as_plain("out.txt", plain);
	free(plain);
	CHECK(chdir(fx_work) == 0);
	free(far);
	fx_free_texts();
}

/* A placeholder as an input: the thunk depends on the one that makes it. */
static void test_placeholder_input(void)
{
	CHECK(fx_run(generic_sort, "sort", "-o", "first.txt", "fruit.txt", NULL) == 0);
	CHECK_MODELLED();
	CHECK(fx_run(generic_cp, "cp", "first.txt", "copy.txt", NULL) == 0);
	CHECK_MODELLED();
	CHECK(fx_is_placeholder("first.txt"));
	struct thunk t;
	CHECK(fx_thunk_of("copy.txt", &t, NULL) == 0);
	const struct thunk_input *in = thunk_find_input(&t, "first.txt");
	struct gg_ref ph = {0};
	CHECK(placeholder_read("first.txt", &ph) == 1);
	CHECK(in && in->ref.output && !strcmp(in->ref.output, ph.output) &&
	      gg_name_eq(&in->ref.name, &ph.name));
	free(ph.output);
	thunk_free(&t);
	same_as_plain("copy.txt", "sort fruit.txt > plain-copy.txt");
	fx_free_texts();
}

static void test_refusals(void)
{
	fx_fake_tool("sort", "/usr/bin/sort");
	fx_fake_tool("cp", "/bin/cp");
	CHECK(fx_run(generic_sort, "cp", "fruit.txt", "c.txt", NULL) == 0);
	CHECK_FELL_BACK("the spec describes sort");
	CHECK(strstr(fx_ran_text, "cp fruit.txt c.txt") != NULL);
	CHECK(fx_run(generic_sort, "sort", "-o", "i.txt", "-", NULL) == 0);
	CHECK_FELL_BACK("standard input and output cannot be modelled");
	CHECK(strstr(fx_ran_text, "sort -o i.txt -") != NULL);
	CHECK(fx_run(generic_sort, "sort", "-o", "-", "fruit.txt", NULL) == 0);
	CHECK_FELL_BACK("standard input and output cannot be modelled");
	CHECK(access("-", F_OK) < 0);
	CHECK(fx_run(generic_sort, "sort", "fruit.txt", NULL) == 0);
	CHECK_FELL_BACK("no @outfile argument");
	CHECK(fx_run(generic_sort, "sort", "fruit.txt", "-o", NULL) == 0);
	CHECK_FELL_BACK("-o: missing its argument");
	CHECK(fx_run(generic_cp, "cp", "fruit.txt", "more.txt", "two.txt", NULL) == 0);
	CHECK_FELL_BACK("more arguments than the spec describes");
	CHECK(fx_run(generic_sort, "sort", "--unique=yes", "-o", "u.txt", "fruit.txt", NULL) == 0);
	CHECK_FELL_BACK("the spec says --unique takes no argument");
	CHECK(fx_run(generic_sort, "sort", "-o", "d.txt", "--output=d.txt", "fruit.txt", NULL) ==
	      0);
	CHECK_FELL_BACK("named as an output twice");
	CHECK(fx_run(generic_sort, "sort", "-o", ".gg-sys/x", "fruit.txt", NULL) == 0);
	CHECK_FELL_BACK(".gg-sys/ is reserved");
	CHECK(fx_run(generic_sort, "sort", "-o", "n.txt", "no-such.txt", NULL) == 0);
	CHECK_FELL_BACK("@infile 'no-such.txt'");
	CHECK(!fx_is_placeholder("c.txt") && !fx_is_placeholder("i.txt") &&
	      !fx_is_placeholder("u.txt") && !fx_is_placeholder("d.txt") &&
	      !fx_is_placeholder("n.txt") && !fx_is_placeholder("two.txt"));
	fx_free_texts();
}

static void test_specs(void)
{
	CHECK(model_generic_check(sort_spec) == 0);
	CHECK(model_generic_check("ffmpeg -y,-nostdin -i=@infile -*=@ @outfile") == 0);
	static const char *const bad[][2] = {
	    {"", "empty"},
	    {"sort -o=@bogus", "is not @infile, @outfile or @"},
	    {"sort out", "is neither an option"},
	    {"sort -o,x=@outfile", "is not an option name"},
	    {"sort --=@outfile", "is not an option name"},
	    {"cat @infile... @outfile", "after a repeated (...) positional argument"},
	};
	for (size_t i = 0; i < GG_ARRAY_LEN(bad); i++) {
		CHECK(model_generic_check(bad[i][0]) < 0);
		if (!strstr(gg_last_error(), bad[i][1]))
			fprintf(stderr, "    spec '%s': \"%s\" lacks \"%s\"\n", bad[i][0],
			        gg_last_error(), bad[i][1]);
		CHECK(strstr(gg_last_error(), bad[i][1]) != NULL);
	}
	const char *specs = "tr -d=@ @; sort -o=@outfile @infile\n  cp @infile @outfile";
	char *s = model_generic_find(specs, "/usr/bin/sort");
	CHECK_STR(s, " sort -o=@outfile @infile");
	free(s);
	s = model_generic_find(specs, "cp");
	CHECK_STR(s, "  cp @infile @outfile");
	free(s);
	CHECK(model_generic_find(specs, "so") == NULL);
	CHECK(model_generic_find(specs, "gcc") == NULL);
}

TEST_MAIN(fx_setup, test_outputs, test_places, test_placeholder_input, test_refusals, test_specs,
          fx_teardown)
