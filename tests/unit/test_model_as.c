/**
 * @file test_model_as.c
 * Specification of gg infer's as model (tools/infer/model_as.c) for builds
 * that run the assembler themselves: -o OBJ, -oOBJ (as reads its options
 * with getopt_long_only) and no -o (a.out), -I and target options kept, a
 * .s that is a placeholder (gcc -S) a dependency, and the object forced from
 * its thunk byte for byte a plain as's; what runs the real as, logged with
 * its reason: a dependency file (--MD FILE, -MD FILE, --MD=FILE), .include
 * and .incbin, standard input (-, no source), listings (-a...), response
 * files, queries, two outputs.
 */
#include "infer_fixture.h"

static void test_objects(void)
{
	fx_write("f.s", ".text\n.globl f\nf: ret\n");
	fx_write("inc/x.s", "nop\n");
	struct thunk t;
	char *out;
	CHECK(fx_run(model_as, "as", "--64", "f.s", "-o", "f.o", NULL) == 0);
	CHECK_MODELLED();
	CHECK(fx_thunk_of("f.o", &t, &out) == 0);
	CHECK_STR(out, "f.o");
	CHECK_STR(fx_arg_after(&t, "-o"), "f.o");
	CHECK(fx_has_arg(&t, "--64") && fx_has_arg(&t, "f.s"));
	CHECK(thunk_find_input(&t, "f.s") != NULL);
	thunk_free(&t);
	free(out);
	/* -oOBJ: that object, not a.out */
	CHECK(fx_run(model_as, "as", "-ofoo.o", "f.s", NULL) == 0);
	CHECK_MODELLED();
	CHECK(fx_is_placeholder("foo.o"));
	CHECK(access("a.out", F_OK) != 0);
	CHECK(fx_thunk_of("foo.o", &t, &out) == 0);
	CHECK_STR(out, "foo.o");
	CHECK_STR(fx_arg_after(&t, "-o"), "foo.o");
	CHECK(t.outputs.n == 1);
	thunk_free(&t);
	free(out);
	/* no -o: a.out */
	CHECK(fx_run(model_as, "as", "-I", "inc", "f.s", NULL) == 0);
	CHECK_MODELLED();
	CHECK(fx_thunk_of("a.out", &t, NULL) == 0);
	CHECK_STR(fx_arg_after(&t, "-I"), "inc");
	thunk_free(&t);
	/* a .s that is a placeholder */
	fx_write("g.c", "int g(void) { return 1; }\n");
	CHECK(fx_run(model_gcc, "gcc", "-S", "g.c", NULL) == 0);
	CHECK_MODELLED();
	CHECK(fx_run(model_as, "as", "g.s", "-o", "g.o", NULL) == 0);
	CHECK_MODELLED();
	CHECK(fx_thunk_of("g.o", &t, NULL) == 0);
	CHECK(thunk_find_input(&t, "g.s") && thunk_find_input(&t, "g.s")->ref.output);
	thunk_free(&t);
	/* forced: a plain as's bytes */
	CHECK(fx_force("g.o") == 0 && fx_force("foo.o") == 0);
	CHECK(system("gcc -S g.c -o plain.s && as plain.s -o plain-g.o && cmp -s plain-g.o g.o && "
	             "as -o plain-f.o f.s && cmp -s plain-f.o foo.o") == 0);
	fx_free_texts();
}

static void test_refusals(void)
{
	fx_fake_tool("as", "/usr/bin/as");
	CHECK(fx_run(model_as, "as", "--MD", "f.d", "f.s", "-o", "m.o", NULL) == 0);
	CHECK_FELL_BACK("--MD (a dependency file) is not modelled");
	CHECK(strstr(fx_ran_text, "as --MD f.d f.s -o m.o") != NULL);
	CHECK(!fx_is_placeholder("m.o"));
	fx_write("f.d", "m.o: f.s\n"); /* from an earlier build: still not a source */
	CHECK(fx_run(model_as, "as", "-MD", "f.d", "f.s", "-o", "m.o", NULL) == 0);
	CHECK_FELL_BACK("-MD (a dependency file) is not modelled");
	CHECK(fx_run(model_as, "as", "--MD=f.d", "f.s", "-o", "m.o", NULL) == 0);
	CHECK_FELL_BACK("--MD=f.d (a dependency file) is not modelled");
	CHECK(!fx_is_placeholder("m.o"));
	/* a listing (-a[cdghlmns][=FILE]) is a file, or output, of its own */
	CHECK(fx_run(model_as, "as", "-adhln=f.lst", "f.s", "-o", "m.o", NULL) == 0);
	CHECK_FELL_BACK("writes a listing (-adhln=f.lst)");
	CHECK(!fx_is_placeholder("m.o"));
	fx_write("i.s", ".include \"inc/x.s\"\n");
	CHECK(fx_run(model_as, "as", "-I", "inc", "i.s", "-o", "i.o", NULL) == 0);
	CHECK_FELL_BACK("i.s uses .include/.incbin");
	fx_write("b.s", ".incbin \"f.s\"\n");
	CHECK(fx_run(model_as, "as", "b.s", "-o", "b.o", NULL) == 0);
	CHECK_FELL_BACK("b.s uses .include/.incbin");
	CHECK(fx_run(model_as, "as", "-", "-o", "s.o", NULL) == 0);
	CHECK_FELL_BACK("standard input");
	CHECK(fx_run(model_as, "as", "-o", "s.o", NULL) == 0);
	CHECK_FELL_BACK("the assembler would read standard input");
	CHECK(fx_run(model_as, "as", "-alh=f.lst", "f.s", "-o", "l.o", NULL) == 0);
	CHECK_FELL_BACK("writes a listing (-alh=f.lst)");
	CHECK(fx_run(model_as, "as", "@as.rsp", NULL) == 0);
	CHECK_FELL_BACK("a query or standard input");
	CHECK(fx_run(model_as, "as", "--version", NULL) == 0);
	CHECK_FELL_BACK("a query");
	CHECK(fx_run(model_as, "as", "f.s", "-o", "x.o", "-oy.o", NULL) == 0);
	CHECK_FELL_BACK("two outputs");
	CHECK(!fx_is_placeholder("x.o") && !fx_is_placeholder("y.o"));
	char *fake = xasprintf("%s/as", fx_real);
	CHECK(unlink(fake) == 0);
	free(fake);
	fx_free_texts();
}

TEST_MAIN(fx_setup, test_objects, test_refusals, fx_teardown)
