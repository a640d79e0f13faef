/**
 * @file test_model_link.c
 * Specification of gg infer's link thunks (tools/infer/model_link.c) through
 * the links build systems write, driven by gcc (its collect2 plan) and ld
 * run directly: objects that are placeholders, a real object, -L (joined and
 * not) with -l finding a placeholder archive or, before it, a shared library
 * (an archive with -Wl,-Bstatic), an output in a directory, -Wl,-rpath kept
 * as given, a version script an input; ld's --sysroot set to the thunk's
 * root with the system's libc.so script followed; ld -r; what runs the real
 * tool, logged with its reason: a library not found, -Wl,--sysroot, -Map,
 * a missing input, a thin archive, response files, ld queries; and a program
 * forced from its thunk byte for byte a plain build's.
 */
#include "infer_fixture.h"

static void sources(void)
{
	fx_write("a.c", "int foo(void);\nint a(void) { return foo(); }\n");
	fx_write("main.c", "int a(void);\nint main(void) { return a() - 7; }\n");
	fx_write("foo.c", "int foo(void) { return 7; }\n");
	fx_write("v.map", "{ global: a; local: *; };\n");
	CHECK(fx_run(model_gcc, "gcc", "-c", "a.c", "main.c", NULL) == 0);
	CHECK_MODELLED();
	CHECK(fx_run(model_gcc, "gcc", "-c", "-fPIC", "foo.c", NULL) == 0);
	CHECK_MODELLED();
	CHECK(mkdir("lib", 0755) == 0 && mkdir("shlib", 0755) == 0 && mkdir("bin", 0755) == 0);
	CHECK(fx_run(model_ar, "ar", "qc", "lib/libfoo.a", "foo.o", NULL) == 0);
	CHECK_MODELLED();
	/* a real shared library and archive of the same name elsewhere */
	CHECK(system("gcc -shared -fPIC -o shlib/libfoo.so foo.c && gcc -c -o shlib/foo.o foo.c "
	             "&& ar qc shlib/libfoo.a shlib/foo.o") == 0);
}

static bool has_input_ending(const struct thunk *t, const char *suffix)
{
	size_t n = strlen(suffix);
	for (size_t i = 0; i < t->ninputs; i++) {
		size_t m = strlen(t->inputs[i].path);
		if (m >= n && !strcmp(t->inputs[i].path + m - n, suffix))
			return true;
	}
	return false;
}

static void test_driven_links(void)
{
	sources();
	struct thunk t;
	char *out;
	/* objects, -L and -l: the archive placeholder is an input where -L names it */
	CHECK(fx_run(model_gcc, "gcc", "main.o", "a.o", "-Llib", "-lfoo", "-o", "bin/prog", NULL) ==
	      0);
	CHECK_MODELLED();
	CHECK(fx_thunk_of("bin/prog", &t, &out) == 0);
	CHECK_STR(out, "bin/prog");
	CHECK(t.outputs.n == 1);
	CHECK_STR(fx_arg_after(&t, "-o"), "bin/prog");
	CHECK(fx_has_arg(&t, "--sysroot=" MODEL_ROOT));
	CHECK(fx_has_arg(&t, "-Llib"));
	CHECK(fx_has_arg(&t, "-lfoo"));
	CHECK(thunk_find_input(&t, "main.o") && thunk_find_input(&t, "a.o"));
	CHECK(thunk_find_input(&t, "lib/libfoo.a") != NULL);
	CHECK(thunk_find_input(&t, "lib/libfoo.a")->ref.output != NULL); /* a dependency */
	/* the system's libc.so is a script: what it names is read too */
	CHECK(has_input_ending(&t, "/libc.so") && has_input_ending(&t, "/libc.so.6"));
	CHECK(has_input_ending(&t, "/crti.o"));
	for (size_t i = 0; i < t.argv.n; i++) /* no host path of the tree */
		CHECK(strstr(t.argv.v[i], fx_work) == NULL);
	thunk_free(&t);
	free(out);

	/* a shared library before the archive in its directory; with -Bstatic the archive */
	CHECK(fx_run(model_gcc, "gcc", "main.o", "a.o", "-L", "shlib", "-lfoo", "-o", "p-so",
	             NULL) == 0);
	CHECK_MODELLED();
	CHECK(fx_thunk_of("p-so", &t, NULL) == 0);
	CHECK(thunk_find_input(&t, "shlib/libfoo.so") != NULL);
	CHECK(thunk_find_input(&t, "shlib/libfoo.a") == NULL);
	thunk_free(&t);
	CHECK(fx_run(model_gcc, "gcc", "main.o", "a.o", "-Lshlib", "-Wl,-Bstatic", "-lfoo",
	             "-Wl,-Bdynamic", "-o", "p-a", NULL) == 0);
	CHECK_MODELLED();
	CHECK(fx_thunk_of("p-a", &t, NULL) == 0);
	CHECK(thunk_find_input(&t, "shlib/libfoo.a") != NULL);
	CHECK(thunk_find_input(&t, "shlib/libfoo.so") == NULL);
	thunk_free(&t);

	/* -Wl,... : a runtime path is kept as given, a version script read */
	CHECK(fx_run(model_gcc, "gcc", "-shared", "a.o", "foo.o", "-Wl,-rpath,/opt/x/lib",
	             "-Wl,--version-script=v.map", "-Wl,-soname,liba.so.1", "-o", "liba.so.1.0",
	             NULL) == 0);
	CHECK_MODELLED();
	CHECK(fx_thunk_of("liba.so.1.0", &t, NULL) == 0);
	CHECK_STR(fx_arg_after(&t, "-rpath"), "/opt/x/lib");
	CHECK_STR(fx_arg_after(&t, "-soname"), "liba.so.1");
	CHECK(fx_has_arg(&t, "--version-script=v.map"));
	CHECK(thunk_find_input(&t, "v.map") != NULL);
	CHECK(fx_has_arg(&t, "-shared"));
	thunk_free(&t);
	fx_free_texts();
}

static void test_refusals(void)
{
	CHECK(fx_run(model_gcc, "gcc", "main.o", "a.o", "-lnosuch-for-gg", "-o", "pn", NULL) == 0);
	CHECK_FELL_BACK("cannot find -lnosuch-for-gg");
	CHECK(strstr(fx_ran_text, "gcc main.o a.o -lnosuch-for-gg -o pn") != NULL);
	CHECK(!fx_is_placeholder("pn"));
	CHECK(fx_run(model_gcc, "gcc", "main.o", "a.o", "lib/libfoo.a", "-Wl,--sysroot=/", "-o",
	             "ps", NULL) == 0);
	CHECK_FELL_BACK("--sysroot=/ is not modelled");
	CHECK(system("ar qcT thin.a shlib/foo.o") == 0);
	CHECK(fx_run(model_gcc, "gcc", "main.o", "a.o", "thin.a", "-o", "pt", NULL) == 0);
	CHECK_FELL_BACK("thin.a is a thin archive");
	fx_free_texts();
}

static void test_ld(void)
{
	struct thunk t;
	CHECK(fx_run(model_ld, "ld", "-r", "a.o", "foo.o", "-o", "ab.o", NULL) == 0);
	CHECK_MODELLED();
	CHECK(fx_thunk_of("ab.o", &t, NULL) == 0);
	CHECK(fx_has_arg(&t, "-r"));
	CHECK_STR(fx_arg_after(&t, "-o"), "ab.o");
	CHECK(thunk_find_input(&t, "a.o") && thunk_find_input(&t, "foo.o"));
	thunk_free(&t);
	/* --output=FILE, joined */
	CHECK(fx_run(model_ld, "ld", "-r", "--output=ab2.o", "a.o", "foo.o", NULL) == 0);
	CHECK_MODELLED();
	CHECK(fx_thunk_of("ab2.o", &t, NULL) == 0);
	CHECK(fx_has_arg(&t, "--output=ab2.o"));
	thunk_free(&t);
	/* the real ld for what cannot be modelled (it is fake here: nothing forced) */
	fx_fake_tool("ld", "/usr/bin/ld");
	CHECK(fx_run(model_ld, "ld", "--version", NULL) == 0);
	CHECK_FELL_BACK("a query");
	CHECK(fx_run(model_ld, "ld", NULL) == 0);
	CHECK_FELL_BACK("no arguments");
	fx_write("ld.rsp", "-r shlib/foo.o -o r.o\n");
	CHECK(fx_run(model_ld, "ld", "@ld.rsp", NULL) == 0);
	CHECK_FELL_BACK("a response file");
	CHECK(fx_run(model_ld, "ld", "-r", "shlib/foo.o", "-o", "m.o", "-Map", "m.map", NULL) == 0);
	CHECK_FELL_BACK("-Map writes a second output");
	CHECK(fx_run(model_ld, "ld", "-r", "nosuch.o", "-o", "m.o", NULL) == 0);
	CHECK_FELL_BACK("input nosuch.o does not exist");
	CHECK(fx_run(model_ld, "ld", "-r", "shlib/foo.o", "-o", "x.o", "-o", "y.o", NULL) == 0);
	CHECK_FELL_BACK("two outputs");
	char *fake = xasprintf("%s/ld", fx_real);
	CHECK(unlink(fake) == 0);
	free(fake);
	fx_free_texts();
}

/* The program, forced: the bytes a plain build links. */
static void test_forced_program_is_a_plain_builds(void)
{
	CHECK(fx_force("bin/prog") == 0);
	CHECK(!fx_is_placeholder("bin/prog"));
	CHECK(system("mkdir plain && cd plain && gcc -c ../a.c ../main.c ../foo.c && "
	             "ar qc libfoo.a foo.o && gcc main.o a.o -L. -lfoo -o prog && "
	             "cmp -s prog ../bin/prog && ../bin/prog") == 0);
}

TEST_MAIN(fx_setup, test_driven_links, test_refusals, test_ld,
          test_forced_program_is_a_plain_builds, fx_teardown)
