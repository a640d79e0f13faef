/**
 * @file test_model_clang.c
 * Specification of gg infer's clang model (tools/infer/model_clang.c) with
 * the real clang's plans (`clang -###`): one -cc1 thunk per source with the
 * headers read as inputs, -o x, no -o, several sources, -I relative and
 * absolute, the compilation directory "." without -g; a -MD/-MF depfile
 * written on the host byte for byte as the real clang writes it; objects
 * forced from their thunks byte for byte a plain clang's, in the base
 * directory, in a directory below it and with absolute names as CMake gives
 * them (__FILE__ of the source and of a header as the build names them,
 * also through the build's own -ffile-prefix-map and -fdebug-prefix-map),
 * with -g (DW_AT_comp_dir the host's directory; "." below
 * $GG_INFER_SHARE_DIR unless the build chose one) and -I../DIR (below and
 * above the base: "../DIR/f.h" as a plain build records it); and what it
 * refuses, logged with its reason: stdin, -E, a response file, an option
 * the driver rejects, -no-integrated-as (an as the model does not run for
 * clang).
 */
#include "infer_fixture.h"

static void test_objects(void)
{
	fx_write("inc/h.h", "#define H 1\n");
	fx_write("a.c",
	         "#include \"h.h\"\nconst char *a(void) { return __FILE__; }\nint ah = H;\n");
	fx_write("b.c", "int b(void) { return 2; }\n");
	struct thunk t;
	char *out;
	CHECK(fx_run(model_clang, "clang", "-Iinc", "-O2", "-MD", "-MF", "a.d", "-c", "a.c", "-o",
	             "a.o", NULL) == 0);
	CHECK_MODELLED();
	CHECK(fx_thunk_of("a.o", &t, &out) == 0);
	CHECK_STR(out, "a.o");
	CHECK(fx_has_arg(&t, "-cc1"));
	CHECK(thunk_find_input(&t, "a.c") && thunk_find_input(&t, "inc/h.h"));
	CHECK(fx_has_arg(&t, "-fdebug-compilation-dir=."));
	for (size_t i = 0; i < t.argv.n; i++)
		CHECK(strstr(t.argv.v[i], fx_work) == NULL && strncmp(t.argv.v[i], "-M", 2));
	thunk_free(&t);
	free(out);
	CHECK(system("clang -Iinc -O2 -MD -MF plain-a.d -c a.c -o plain-a.o") == 0);
	/* the same but for the target, plain-a.o */
	CHECK(system("sed 's/^plain-a.o:/a.o:/' plain-a.d > plain-a2.d") == 0);
	CHECK(fx_same_file("a.d", "plain-a2.d"));
	/* several sources, no -o */
	CHECK(fx_run(model_clang, "clang", "-c", "-Iinc", "a.c", "b.c", NULL) == 0);
	CHECK_MODELLED();
	CHECK(fx_is_placeholder("a.o") && fx_is_placeholder("b.o"));
	CHECK(fx_force("a.o") == 0 && fx_force("b.o") == 0);
	CHECK(system("clang -c -Iinc a.c -o plain-a.o && clang -c b.c -o plain-b.o") == 0);
	CHECK(fx_same_file("a.o", "plain-a.o"));
	CHECK(fx_same_file("b.o", "plain-b.o"));
	fx_free_texts();
}

/* In a directory below the base: the object names the source as the build did. */
static void test_below_the_base(void)
{
	fx_write("sub/inc/f.h", "static const char *hf = __FILE__;\n");
	fx_write("sub/s.c", "#include \"f.h\"\nconst char *s(void) { return __FILE__; }\n"
	                    "const char *sh(void) { return hf; }\n");
	CHECK(chdir("sub") == 0);
	CHECK(fx_run(model_clang, "clang", "-O2", "-Iinc", "-c", "s.c", "-o", "s.o", NULL) == 0);
	CHECK_MODELLED();
	CHECK(fx_force("s.o") == 0);
	CHECK(system("clang -O2 -Iinc -c s.c -o plain-s.o") == 0);
	CHECK(fx_same_file("s.o", "plain-s.o"));
	CHECK(chdir(fx_work) == 0);
	fx_free_texts();
}

static void same_as_plain(const char *out, const char *args)
{
	CHECK(fx_force(out) == 0);
	char *cmd = xasprintf("clang %s -o plain-%s", args, out);
	CHECK(system(cmd) == 0);
	free(cmd);
	char *plain = xasprintf("plain-%s", out);
	if (!fx_same_file(out, plain))
		fprintf(stderr, "    %s differs from a plain clang %s\n", out, args);
	CHECK(fx_same_file(out, plain));
	free(plain);
}

/* Absolute names (CMake's): __FILE__ absolute, as in a plain build. */
static void test_absolute_names(void)
{
	char *src = xasprintf("%s/sub/s.c", fx_work);
	char *inc = xasprintf("-I%s/sub/inc", fx_work);
	CHECK(fx_run(model_clang, "clang", "-O2", inc, "-c", src, "-o", "abs.o", NULL) == 0);
	CHECK_MODELLED();
	struct thunk t;
	CHECK(fx_thunk_of("abs.o", &t, NULL) == 0);
	char *want = xasprintf(MODEL_ROOT "%s", src);
	CHECK(thunk_find_input(&t, want) != NULL);
	free(want);
	thunk_free(&t);
	CHECK(fx_force("abs.o") == 0);
	char *cmd = xasprintf("clang -O2 %s -c %s -o plain-abs.o", inc, src);
	CHECK(system(cmd) == 0);
	CHECK(fx_same_file("abs.o", "plain-abs.o"));
	free(cmd);
	/* and with the build's own maps of them (Debian's -ffile-prefix-map=DIR=.) */
	char *map = xasprintf("-ffile-prefix-map=%s=.", fx_work);
	char *dmap = xasprintf("-fdebug-prefix-map=%s/sub=/src", fx_work);
	CHECK(fx_run(model_clang, "clang", "-O2", "-g", map, dmap, inc, "-c", src, "-o", "absm.o",
	             NULL) == 0);
	CHECK_MODELLED();
	cmd = xasprintf("-O2 -g %s %s %s -c %s", map, dmap, inc, src);
	same_as_plain("absm.o", cmd);
	free(cmd);
	free(dmap);
	free(map);
	free(inc);
	free(src);
	fx_free_texts();
}

/*
 * With -g, DW_AT_comp_dir is the host's directory, as a plain clang -g records
 * it: the thunk names it (as the gcc model's do), in the base and below it;
 * a header found through -I../DIR is "../DIR/f.h" (__FILE__, debug info), an
 * absolute -I stays absolute, and one above the base keeps its "..".
 */
static void test_debug_info(void)
{
	fx_write("inc2/u.h", "static const char *hu = __FILE__;\n"
	                     "static inline int u(void) { return 3; }\n");
	fx_write("sub/t.c",
	         "#include \"u.h\"\n#include \"h.h\"\n#include \"e.h\"\n"
	         "const char *t(void) { return hu; }\n"
	         "const char *te(void) { return he; }\nint th(void) { return H + u(); }\n");
	char *ext = xasprintf("%s/ext", fx_top);
	CHECK(mkdir(ext, 0755) == 0);
	char *eh = xasprintf("%s/e.h", ext);
	CHECK(write_file_atomic(eh, "static const char *he = __FILE__;\n", 34, 0644) == 0);
	CHECK(fx_run(model_clang, "clang", "-g", "-O2", "-Iinc", "-I../ext", "-c", "a.c", "-o",
	             "g.o", NULL) == 0);
	CHECK_MODELLED();
	struct thunk t;
	CHECK(fx_thunk_of("g.o", &t, NULL) == 0);
	char *dir = xasprintf("-fdebug-compilation-dir=%s", fx_work);
	CHECK(fx_has_arg(&t, dir));
	free(dir);
	thunk_free(&t);
	same_as_plain("g.o", "-g -O2 -Iinc -I../ext -c a.c");
	CHECK(chdir("sub") == 0);
	char *inc = xasprintf("-I%s/inc", fx_work);
	char *args = xasprintf("-g -O2 -I../inc2 %s -I../../ext -c t.c", inc);
	CHECK(fx_run(model_clang, "clang", "-g", "-O2", "-I../inc2", inc, "-I../../ext", "-c",
	             "t.c", "-o", "t.o", NULL) == 0);
	CHECK_MODELLED();
	CHECK(fx_thunk_of("t.o", &t, NULL) == 0);
	dir = xasprintf("-fdebug-compilation-dir=%s/sub", fx_work);
	CHECK(fx_has_arg(&t, dir));
	free(dir);
	thunk_free(&t);
	same_as_plain("t.o", args);
	free(args);
	/* without -g: __FILE__ of the headers as the build names them */
	args = xasprintf("-O2 -I../inc2 %s -I../../ext -c t.c", inc);
	CHECK(fx_run(model_clang, "clang", "-O2", "-I../inc2", inc, "-I../../ext", "-c", "t.c",
	             "-o", "t0.o", NULL) == 0);
	CHECK_MODELLED();
	same_as_plain("t0.o", args);
	free(args);
	free(inc);
	CHECK(chdir(fx_work) == 0);
	free(eh);
	free(ext);
	fx_free_texts();
}

/* Below $GG_INFER_SHARE_DIR, a -g compile records "." (no host directory)
 * unless the build chose its directory. */
static void test_share_dir(void)
{
	setenv(MODEL_ENV_SHARE, fx_work, 1);
	CHECK(fx_run(model_clang, "clang", "-g", "-Iinc", "-c", "a.c", "-o", "sh.o", NULL) == 0);
	unsetenv(MODEL_ENV_SHARE);
	CHECK_MODELLED();
	struct thunk t;
	CHECK(fx_thunk_of("sh.o", &t, NULL) == 0);
	CHECK(fx_has_arg(&t, "-fdebug-compilation-dir=."));
	for (size_t i = 0; i < t.argv.n; i++)
		CHECK(strstr(t.argv.v[i], fx_work) == NULL);
	thunk_free(&t);
	same_as_plain("sh.o", "-g -Iinc -fdebug-compilation-dir=. -c a.c");
	/* a directory the build chose stays */
	setenv(MODEL_ENV_SHARE, fx_work, 1);
	CHECK(fx_run(model_clang, "clang", "-g", "-ffile-compilation-dir=/build", "-Iinc", "-c",
	             "a.c", "-o", "shb.o", NULL) == 0);
	unsetenv(MODEL_ENV_SHARE);
	CHECK_MODELLED();
	same_as_plain("shb.o", "-g -ffile-compilation-dir=/build -Iinc -c a.c");
	fx_free_texts();
}

static void test_refusals(void)
{
	CHECK(fx_run(model_clang, "clang", "-x", "c", "-c", "-", "-o", "s.o", NULL) == 0);
	CHECK_FELL_BACK("reads standard input");
	CHECK(strstr(fx_ran_text, "clang -x c -c - -o s.o") != NULL);
	CHECK(fx_run(model_clang, "clang", "-E", "b.c", NULL) == 0);
	CHECK_FELL_BACK("preprocessing");
	CHECK(fx_run(model_clang, "clang", "@b.rsp", NULL) == 0);
	CHECK_FELL_BACK("a response file");
	CHECK(fx_run(model_clang, "clang", "-fno-such-option-for-gg", "-c", "b.c", "-o", "u.o",
	             NULL) == 0);
	CHECK_FELL_BACK("the driver rejects the command");
	CHECK(fx_run(model_clang, "clang", "-no-integrated-as", "-c", "b.c", "-o", "n.o", NULL) ==
	      0);
	CHECK_FELL_BACK("which has no model");
	CHECK(!fx_is_placeholder("n.o") && !fx_is_placeholder("u.o"));
	fx_write("t.c", "const char *built = __TIME__;\n");
	CHECK(fx_run(model_clang, "clang", "-c", "t.c", "-o", "t.o", NULL) == 0);
	CHECK_FELL_BACK("t.c uses __TIME__");
	CHECK(!fx_is_placeholder("t.o"));
	fx_free_texts();
}

TEST_MAIN(fx_setup, test_objects, test_below_the_base, test_absolute_names, test_debug_info,
          test_share_dir, test_refusals, fx_teardown)
