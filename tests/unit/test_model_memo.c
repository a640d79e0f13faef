/**
 * @file test_model_memo.c
 * Specification of the models' memo (tools/infer/model_memo.c) against new
 * files on search paths: an entry is replayed only while every place the
 * compiler looked before the header it found still holds nothing; a file
 * made there, in a directory that did not exist, or beside the includer is
 * taken (the model runs again and its thunk reads the new header); and a
 * place that holds a file new since the model began (made after the tool
 * looked, perhaps) leaves no entry at all. The clang model the same, a
 * program (as) made earlier on PATH, and a header that __has_include found
 * missing.
 */
#include "infer_fixture.h"

/* Did the last fx_run serve its output from the memo? */
static bool from_memo(void)
{
	return strstr(fx_log_text, "(from the model memo)") != NULL;
}

/* Does thunk t, or a thunk it depends on, read a file whose path ends with `tail`? */
static bool reads(struct store *st, const struct thunk *t, const char *tail, int depth)
{
	bool found = false;
	for (size_t i = 0; !found && i < t->ninputs; i++) {
		const struct thunk_input *in = &t->inputs[i];
		size_t n = strlen(in->path), k = strlen(tail);
		found = n >= k && !strcmp(in->path + n - k, tail) &&
		        (n == k || in->path[n - k - 1] == '/');
		struct buf b = BUF_INIT;
		struct thunk dep;
		thunk_init(&dep);
		if (!found && depth < 4 && gg_name_kind(&in->ref.name) == GG_THUNK &&
		    store_read(st, &in->ref.name, &b, 1 << 24) == 0 &&
		    thunk_parse(b.data, b.len, &dep) == 0)
			found = reads(st, &dep, tail, depth + 1);
		thunk_free(&dep);
		buf_free(&b);
	}
	return found;
}

/* Does the thunk behind W/rel, or one it depends on, read `tail`? */
static bool thunk_reads(const char *rel, const char *tail)
{
	struct thunk t;
	struct store *st = NULL;
	bool found =
	    fx_thunk_of(rel, &t, NULL) == 0 && store_open(NULL, &st) == 0 && reads(st, &t, tail, 0);
	store_close(st);
	thunk_free(&t);
	return found;
}

/* `gcc -Inew -Iover -Ibase -c m.c -o m.o` once more after removing m.o. */
static int compile_again(void)
{
	unlink("m.o");
	return fx_run(model_gcc, "gcc", "-Inew", "-Iover", "-Ibase", "-c", "m.c", "-o", "m.o",
	              NULL);
}

static void test_a_new_header_first_on_the_path_is_taken(void)
{
	fx_write("m.c", "#include \"lib/a.h\"\nint v = H;\n");
	fx_write("lib/a.h", "#include \"h.h\"\n");
	fx_write("base/h.h", "#define H 1\n");
	fx_write("over/.keep", "");
	CHECK(compile_again() == 0);
	CHECK_MODELLED();
	CHECK(!from_memo());
	CHECK(thunk_reads("m.o", "base/h.h"));
	CHECK(compile_again() == 0);
	CHECK(from_memo()); /* nothing changed: the memo serves it */

	/* earlier on the -I path */
	fx_write("over/h.h", "#define H 2\n");
	CHECK(compile_again() == 0);
	CHECK(!from_memo());
	CHECK(thunk_reads("m.o", "over/h.h"));
	CHECK(compile_again() == 0);
	CHECK(from_memo());

	/* removed again: the entry that read it is no longer true */
	CHECK(unlink("over/h.h") == 0);
	CHECK(compile_again() == 0);
	CHECK(!from_memo());
	CHECK(thunk_reads("m.o", "base/h.h"));

	/* in a directory of the path that did not exist */
	fx_write("new/h.h", "#define H 3\n");
	CHECK(compile_again() == 0);
	CHECK(!from_memo());
	CHECK(thunk_reads("m.o", "new/h.h"));

	/* beside lib/a.h, where its #include "h.h" looks first */
	fx_write("lib/h.h", "#define H 4\n");
	CHECK(compile_again() == 0);
	CHECK(!from_memo());
	CHECK(thunk_reads("m.o", "lib/h.h"));
	CHECK(compile_again() == 0);
	CHECK(from_memo());
	fx_free_texts();
}

static void test_a_new_program_first_on_path_is_taken(void)
{
	CHECK(compile_again() == 0);
	CHECK(compile_again() == 0);
	CHECK(from_memo());
	/* the driver runs `as` from PATH: one made in an earlier directory runs instead */
	char *as = xasprintf("%s/as", fx_real);
	const char *text = "#!/bin/sh\nexec /usr/bin/as \"$@\"\n";
	CHECK(write_file_atomic(as, text, strlen(text), 0755) == 0);
	CHECK(compile_again() == 0);
	CHECK(!from_memo());
	CHECK(unlink(as) == 0);
	free(as);
	fx_free_texts();
}

/* `gcc -Iinc -c g.c -o g.o` once more after removing g.o. */
static int compile_guarded(void)
{
	unlink("g.o");
	return fx_run(model_gcc, "gcc", "-Iinc", "-c", "g.c", "-o", "g.o", NULL);
}

/* cpp opens a guarded header once (-H lists it once): sub/b.h's #include
 * "a.h" finds inc/a.h again, after looking in sub/, and skips it. */
static void test_a_header_skipped_for_its_guard_is_looked_for_too(void)
{
	const char *guards[] = {"#ifndef A_H\n#define A_H\n#define A 1\n#endif\n",
	                        "#pragma once\n#define A 1\n"};
	for (size_t i = 0; i < GG_ARRAY_LEN(guards); i++) {
		(void)!system("rm -rf inc sub");
		fx_write("inc/a.h", guards[i]);
		fx_write("sub/b.h", "#include \"a.h\"\n");
		fx_write("g.c", "#include \"a.h\"\n#include \"sub/b.h\"\nint x = A;\n"
		                "#ifdef B\nint b = B;\n#endif\n");
		CHECK(compile_guarded() == 0);
		CHECK_MODELLED();
		CHECK(compile_guarded() == 0);
		CHECK(from_memo());
		fx_write("sub/a.h", "#define B 2\n");
		CHECK(compile_guarded() == 0);
		CHECK(!from_memo());
		CHECK(thunk_reads("g.o", "sub/a.h"));
		CHECK(compile_guarded() == 0);
		CHECK(from_memo());
		fx_free_texts();
	}
}

/* `gcc main.o -o prog` once more after removing prog. */
static int link_again(void)
{
	unlink("prog");
	return fx_run(model_gcc, "gcc", "main.o", "-o", "prog", NULL);
}

static void test_a_new_linker_first_on_path_is_taken(void)
{
	fx_write("main.c", "int main(void) { return 0; }\n");
	CHECK(fx_run(model_gcc, "gcc", "-c", "main.c", "-o", "main.o", NULL) == 0);
	CHECK(link_again() == 0);
	CHECK_MODELLED();
	CHECK(link_again() == 0);
	CHECK(from_memo());
	/* collect2 runs `ld` from PATH: one made in an earlier directory links instead */
	char *ld = xasprintf("%s/ld", fx_real);
	const char *text = "#!/bin/sh\nexec /usr/bin/ld \"$@\"\n";
	CHECK(write_file_atomic(ld, text, strlen(text), 0755) == 0);
	CHECK(link_again() == 0);
	CHECK(!from_memo());
	CHECK(unlink(ld) == 0);
	free(ld);
	fx_free_texts();
}

static void test_a_header_has_include_found_missing_is_taken_when_made(void)
{
	fx_write("hi.c",
	         "#if __has_include(<feat.h>)\n#include <feat.h>\n#else\n#define F 0\n#endif\n"
	         "int v = F;\n");
	CHECK(mkdir("has", 0755) == 0);
	unlink("hi.o");
	CHECK(fx_run(model_gcc, "gcc", "-Ihas", "-c", "hi.c", "-o", "hi.o", NULL) == 0);
	CHECK_MODELLED();
	unlink("hi.o");
	CHECK(fx_run(model_gcc, "gcc", "-Ihas", "-c", "hi.c", "-o", "hi.o", NULL) == 0);
	CHECK(from_memo());
	/* cpp opened no feat.h, so -H does not name it: only __has_include does */
	fx_write("has/feat.h", "#define F 1\n");
	unlink("hi.o");
	CHECK(fx_run(model_gcc, "gcc", "-Ihas", "-c", "hi.c", "-o", "hi.o", NULL) == 0);
	CHECK(!from_memo());
	CHECK(thunk_reads("hi.o", "has/feat.h"));
	fx_free_texts();
}

/* clang reads the same -H and -v: `clang -Icover -Icbase -c cl.c -o cl.o` once more. */
static int clang_again(void)
{
	unlink("cl.o");
	return fx_run(model_clang, "clang", "-Icover", "-Icbase", "-c", "cl.c", "-o", "cl.o", NULL);
}

static void test_clang_takes_a_new_header_too(void)
{
	fx_write("cl.c", "#include <k.h>\nint v = K;\n");
	fx_write("cbase/k.h", "#define K 1\n");
	CHECK(clang_again() == 0);
	CHECK_MODELLED();
	CHECK(thunk_reads("cl.o", "cbase/k.h"));
	CHECK(clang_again() == 0);
	CHECK(from_memo());
	fx_write("cover/k.h", "#define K 2\n");
	CHECK(clang_again() == 0);
	CHECK(!from_memo());
	CHECK(thunk_reads("cl.o", "cover/k.h"));
	fx_free_texts();
}

/* A context for `gcc` in W recording a model run (the memo missed). */
static void start(struct model_ctx *m)
{
	static char tool[] = "gcc";
	static char *argv[] = {tool, (char *)"-c", (char *)"x.c", NULL};
	CHECK(model_ctx_init(m, 3, argv) == 0);
	CHECK(model_open_store(m) == 0);
	CHECK(model_memo_replay(m) == 0);
}

/* Records an entry for out.o (standing for a stored value), `probe` looked at first. */
static void record(struct model_ctx *m, const char *probe)
{
	struct model_outputs outs = {STRVEC_INIT, NULL, 0};
	struct gg_ref ref = {0};
	CHECK(store_put_buf(m->store, "o", 1, GG_VALUE, &ref.name) == 0);
	model_outputs_add(&outs, "out.o", &ref);
	strvec_push(&m->probes, probe);
	model_memo_record(m, &outs);
	model_outputs_free(&outs);
	model_ctx_free(m);
}

/* Is there an entry for that command now? */
static bool served(void)
{
	struct model_ctx m;
	static char tool[] = "gcc";
	static char *argv[] = {tool, (char *)"-c", (char *)"x.c", NULL};
	CHECK(model_ctx_init(&m, 3, argv) == 0);
	CHECK(model_open_store(&m) == 0);
	int r = model_memo_replay(&m);
	model_ctx_free(&m);
	return r == 1;
}

static void test_a_place_filled_while_modelling_leaves_no_entry(void)
{
	struct model_ctx m;
	/* a place that held nothing: an entry, served while it holds nothing */
	CHECK(mkdir("look", 0755) == 0);
	start(&m);
	record(&m, "look/first.h");
	CHECK(served());
	fx_write("look/first.h", "");
	CHECK(!served());
	CHECK(unlink("look/first.h") == 0);
	CHECK(served());

	/* in a directory that is missing: the directory stands for it */
	char *entries = xasprintf("%s/.gg/infer-memo", fx_top);
	CHECK(remove_tree(entries) == 0);
	start(&m);
	record(&m, "gone/deep/x.h");
	CHECK(served());
	CHECK(mkdir("gone", 0755) == 0); /* made, even empty: no longer known to be free */
	CHECK(!served());
	CHECK(rmdir("gone") == 0);
	CHECK(served());

	/* filled after the model began (after the tool looked, maybe): no entry */
	CHECK(remove_tree(entries) == 0);
	free(entries);
	CHECK(!served());
	start(&m);
	fx_write("look/late.h", "");
	record(&m, "look/late.h");
	CHECK(unlink("look/late.h") == 0);
	CHECK(!served());
	fx_free_texts();
}

TEST_MAIN(fx_setup, test_a_new_header_first_on_the_path_is_taken,
          test_a_new_program_first_on_path_is_taken, test_a_new_linker_first_on_path_is_taken,
          test_a_header_skipped_for_its_guard_is_looked_for_too,
          test_a_header_has_include_found_missing_is_taken_when_made,
          test_clang_takes_a_new_header_too, test_a_place_filled_while_modelling_leaves_no_entry,
          fx_teardown)
