/**
 * @file test_model_gcc.c
 * Specification of gg infer's gcc model (tools/infer/model_gcc.c) on command
 * lines as build systems write them, with the real gcc's plans (`gcc -###`):
 * what it refuses from the command line alone (model_driver_why_not: stdin,
 * response files, -E/-M/-MM/-fsyntax-only, queries, --sysroot, -save-temps,
 * configure probes, include-path variables), each logged with its reason and
 * handed to the real driver; and what it models: -o x, -ox and no -o, -c and
 * -S, several sources, -x, unknown flags passed through, -I/-isystem/-iquote
 * (relative, absolute) with the headers found as inputs, -MD/-MMD/-MF/-MT
 * depfiles written on the host as a plain build writes them, and an option
 * the driver rejects handed to the real driver.
 */
#include "infer_fixture.h"

/* why_not of `gcc ARGS...` (NULL-terminated), in W. */
static const char *why_not(const char *first, ...)
{
	static struct model_ctx m;
	char *argv[32];
	int argc = 0;
	argv[argc++] = (char *)"gcc";
	va_list ap;
	va_start(ap, first);
	for (const char *a = first; a && argc < 31; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	model_ctx_free(&m);
	CHECK(model_ctx_init(&m, argc, argv) == 0);
	return model_driver_why_not(&m);
}

static void check_why(const char *got, const char *want)
{
	if (!got || !strstr(got, want))
		fprintf(stderr, "    why_not \"%s\", wanted \"%s\"\n", got ? got : "(null)", want);
	CHECK(got && strstr(got, want));
}

static void test_refused_from_the_command_line(void)
{
	check_why(why_not("-c", "-", "-o", "a.o", NULL), "standard input");
	check_why(why_not("-x", "c", "-c", "-", NULL), "standard input");
	check_why(why_not("@args.rsp", NULL), "response file");
	check_why(why_not("-c", "a.c", "@CMakeFiles/a.dir/includes_C.rsp", NULL), "response file");
	check_why(why_not("-E", "a.c", NULL), "preprocessing");
	check_why(why_not("-M", "a.c", NULL), "preprocessing");
	check_why(why_not("-MM", "a.c", NULL), "preprocessing");
	check_why(why_not("-fsyntax-only", "a.c", NULL), "checking only");
	check_why(why_not("--version", NULL), "query");
	check_why(why_not("-v", "-c", "a.c", NULL), "query");
	check_why(why_not("-print-file-name=libc.so", NULL), "query");
	check_why(why_not("-print-search-dirs", NULL), "query");
	check_why(why_not("-dumpmachine", NULL), "query");
	check_why(why_not("--help=optimizers", NULL), "query");
	check_why(why_not("--sysroot=/opt/sr", "-c", "a.c", NULL), "--sysroot=/opt/sr reads");
	check_why(why_not("--sysroot", "/opt/sr", "-c", "a.c", NULL), "--sysroot reads");
	check_why(why_not("-isysroot", "/opt/sr", "-c", "a.c", NULL), "-isysroot reads");
	check_why(why_not("-save-temps", "-c", "a.c", NULL), "-save-temps reads");
	check_why(why_not("--coverage", "-c", "a.c", NULL), "--coverage reads");
	check_why(why_not("-gsplit-dwarf", "-c", "a.c", NULL), "-gsplit-dwarf reads");
	check_why(why_not("a.o", "-Wl,-Map,out.map", "-o", "p", NULL), "-Wl,-Map,out.map reads");
	check_why(why_not("-c", "conftest.c", NULL), "configure probe");
	check_why(why_not("-c", "/tmp/x/conftest.cpp", "-o", "conftest.o", NULL),
	          "configure probe");
	check_why(why_not("-x", "c", "/dev/null", "-o", "x", NULL), "configure probe");
	check_why(why_not(NULL), "no arguments");
	setenv("CPATH", "/opt/inc", 1);
	check_why(why_not("-c", "a.c", NULL), "$CPATH is set");
	setenv("CPATH", "", 1); /* empty: as if unset */
	CHECK(why_not("-c", "a.c", NULL) == NULL);
	unsetenv("CPATH");
	setenv("DEPENDENCIES_OUTPUT", "a.d", 1);
	check_why(why_not("-c", "a.c", NULL), "$DEPENDENCIES_OUTPUT is set");
	unsetenv("DEPENDENCIES_OUTPUT");
	setenv("CCC_OVERRIDE_OPTIONS", "+-DFOO=5", 1);
	check_why(why_not("-c", "a.c", NULL), "$CCC_OVERRIDE_OPTIONS is set");
	unsetenv("CCC_OVERRIDE_OPTIONS");
	/* another tool's options are not the driver's */
	CHECK(why_not("a.o", "-Xlinker", "-Bsymbolic", "-o", "p", NULL) == NULL);
	check_why(why_not("--prefix=tools/", "-c", "a.c", NULL), "-B (a directory");
	/* what -B directories and specs files hold is not looked at */
	check_why(why_not("-Btools/", "-c", "a.c", NULL), "-B (a directory");
	check_why(why_not("-B", "tools", "-c", "a.c", NULL), "-B (a directory");
	check_why(why_not("-specs=my.specs", "-c", "a.c", NULL), "a specs file");
	check_why(why_not("--specs=my.specs", "-c", "a.c", NULL), "a specs file");
	check_why(why_not("-fopt-info-all=opt.txt", "-c", "a.c", NULL),
	          "-fopt-info-all=opt.txt reads");
	CHECK(why_not("-fopt-info-vec", "-c", "a.c", NULL) == NULL); /* to stderr */
	check_why(why_not("-fsave-optimization-record", "-c", "a.c", NULL),
	          "-fsave-optimization-record reads");
	check_why(why_not("-ftime-trace", "-c", "a.c", NULL), "-ftime-trace reads");
	check_why(why_not("-MJ", "a.json", "-c", "a.c", NULL), "-MJ reads");
	CHECK(why_not("a.o", "-Bstatic", "-lz", "-Bdynamic", "-o", "p", NULL) == NULL);
	setenv(MODEL_ENV_BYPASS, "1", 1);
	check_why(why_not("-c", "a.c", NULL), MODEL_ENV_BYPASS);
	unsetenv(MODEL_ENV_BYPASS);

	/* What build systems write is modelled. */
	CHECK(why_not("-c", "a.c", "-o", "a.o", NULL) == NULL);
	CHECK(why_not("-DX=1", "-Iinc", "-isystem", "/usr/include/x", "-iquote", "q", "-O2", "-g",
	              "-MD", "-MT", "CMakeFiles/a.dir/a.c.o", "-MF", "CMakeFiles/a.dir/a.c.o.d",
	              "-o", "CMakeFiles/a.dir/a.c.o", "-c", "a.c", NULL) == NULL);
	CHECK(why_not("-dumpbase", "a.c", "-dumpdir", "x/", "-c", "a.c", NULL) == NULL);
	CHECK(why_not("-fno-such-flag", "-c", "a.c", NULL) == NULL); /* the driver judges */
	CHECK(why_not("-c", "dev/null.c", NULL) == NULL);
	static struct model_ctx none;
	model_ctx_free(&none);
	why_not(NULL);
}

static void sources(void)
{
	fx_write("inc/h.h", "#define H 1\n");
	fx_write("sys/s.h", "#define S 2\n");
	fx_write("q/q.h", "#define Q 3\n");
	fx_write("a.c", "#include \"h.h\"\nint a(void) { return H; }\n");
	fx_write("b.c", "int b(void) { return 2; }\n");
	fx_write("c.c", "#include <s.h>\n#include \"q.h\"\nint c(void) { return S + Q; }\n");
	fx_write("src.txt", "int t(void) { return 4; }\n");
}

static void test_objects_named_as_the_build_names_them(void)
{
	sources();
	struct thunk t;
	char *out;
	/* -o x */
	CHECK(fx_run(model_gcc, "gcc", "-Iinc", "-c", "a.c", "-o", "a.o", NULL) == 0);
	CHECK_MODELLED();
	CHECK(fx_is_placeholder("a.o"));
	CHECK(fx_thunk_of("a.o", &t, &out) == 0);
	CHECK_STR(out, "a.o");
	CHECK(t.outputs.n == 1 && !strcmp(t.outputs.v[0], "a.o"));
	thunk_free(&t);
	free(out);
	/* -ox, in a directory of its own */
	CHECK(mkdir("obj", 0755) == 0);
	CHECK(fx_run(model_gcc, "gcc", "-c", "b.c", "-oobj/b.o", NULL) == 0);
	CHECK_MODELLED();
	CHECK(fx_is_placeholder("obj/b.o"));
	CHECK(fx_thunk_of("obj/b.o", &t, &out) == 0);
	CHECK_STR(out, "obj/b.o");
	thunk_free(&t);
	free(out);
	/* no -o: the source's name with .o, in cwd; several sources, one each */
	unlink("a.o");
	CHECK(fx_run(model_gcc, "gcc", "-c", "-Iinc", "a.c", "b.c", NULL) == 0);
	CHECK_MODELLED();
	CHECK(fx_is_placeholder("a.o"));
	CHECK(fx_is_placeholder("b.o"));
	CHECK(fx_thunk_of("b.o", &t, &out) == 0);
	CHECK_STR(out, "b.o");
	thunk_free(&t);
	free(out);
	/* -x c: a source whose name says nothing */
	CHECK(fx_run(model_gcc, "gcc", "-x", "c", "-c", "src.txt", "-o", "t.o", NULL) == 0);
	CHECK_MODELLED();
	CHECK(fx_is_placeholder("t.o"));
	fx_free_texts();
}

/* -S: the compiler's own thunk, its arguments as it needs them. */
static void test_compile_thunk(void)
{
	struct thunk t;
	char *out;
	char *abs_inc = xasprintf("-I%s/inc", fx_work);
	CHECK(fx_run(model_gcc, "gcc", "-S", "-O2", "-fwrapv", abs_inc, "-DX=1", "a.c", "-o", "a.s",
	             NULL) == 0);
	CHECK_MODELLED();
	CHECK(fx_thunk_of("a.s", &t, &out) == 0);
	CHECK_STR(out, "a.s");
	CHECK_STR(fx_arg_after(&t, "-o"), "a.s");
	CHECK(fx_has_arg(&t, "-fwrapv")); /* not whitelisted: passed through */
	CHECK(fx_has_arg(&t, "-O2"));
	CHECK(fx_has_arg(&t, "-nostdinc")); /* the host's search list, made explicit */
	CHECK(fx_has_arg(&t, "a.c"));
	CHECK(thunk_find_input(&t, "a.c") != NULL);
	/* an absolute -I keeps its name (below the thunk's root): headers as the build names them
	 */
	char *want = xasprintf(MODEL_ROOT "%s/inc", fx_work);
	CHECK_STR(fx_arg_after(&t, "-I"), want);
	free(want);
	want = xasprintf(MODEL_ROOT "%s/inc/h.h", fx_work);
	CHECK(thunk_find_input(&t, want) != NULL);
	free(want);
	/* glibc's implicit stdc-predef.h is an input though -H never lists it */
	bool predef = false;
	for (size_t i = 0; i < t.ninputs; i++)
		predef |= strstr(t.inputs[i].path, "stdc-predef.h") != NULL;
	CHECK(predef);
	for (size_t i = 0; i < t.argv.n; i++) /* no host path outside the thunk's root */
		CHECK(t.argv.v[i][0] != '/' && strncmp(t.argv.v[i], "-I/", 3) != 0);
	thunk_free(&t);
	free(out);
	free(abs_inc);

	/* relative -I, -isystem and -iquote: the directories and headers at their place */
	CHECK(fx_run(model_gcc, "gcc", "-S", "-isystem", "sys", "-iquote", "q", "c.c", NULL) == 0);
	CHECK_MODELLED();
	CHECK(fx_thunk_of("c.s", &t, NULL) == 0);
	CHECK_STR(fx_arg_after(&t, "-iquote"), "q");
	CHECK(thunk_find_input(&t, "sys/s.h") != NULL);
	CHECK(thunk_find_input(&t, "q/q.h") != NULL);
	CHECK(thunk_find_input(&t, "inc/h.h") == NULL); /* only what it reads */
	bool sys = false;
	for (size_t i = 0; i + 1 < t.argv.n; i++)
		sys |= !strcmp(t.argv.v[i], "-isystem") && !strcmp(t.argv.v[i + 1], "sys");
	CHECK(sys);
	thunk_free(&t);
	fx_free_texts();
}

static bool file_has(const char *path, const char *needle)
{
	struct buf b = BUF_INIT;
	bool r = read_file(path, &b, 1 << 20) == 0 && memmem(b.data, b.len, needle, strlen(needle));
	buf_free(&b);
	return r;
}

/* Depfiles are wanted by make now: written on the host, as a plain build writes them. */
static void test_depfiles(void)
{
	CHECK(mkdir("dep", 0755) == 0);
	CHECK(fx_run(model_gcc, "gcc", "-Iinc", "-MD", "-MT", "obj/a.c.o", "-MF", "dep/a.d", "-c",
	             "a.c", "-o", "obj/a.c.o", NULL) == 0);
	CHECK_MODELLED();
	CHECK(fx_is_placeholder("obj/a.c.o"));
	CHECK(!fx_is_placeholder("dep/a.d"));
	CHECK(file_has("dep/a.d", "obj/a.c.o: a.c"));
	CHECK(file_has("dep/a.d", "inc/h.h"));
	/* byte for byte what the real gcc writes */
	CHECK(system("gcc -Iinc -MD -MT obj/a.c.o -MF dep/plain.d -c a.c -o plain.o") == 0);
	struct buf got = BUF_INIT, want = BUF_INIT;
	CHECK(read_file("dep/a.d", &got, 1 << 20) == 0);
	CHECK(read_file("dep/plain.d", &want, 1 << 20) == 0);
	CHECK(got.len == want.len && got.len && !memcmp(got.data, want.data, got.len));
	buf_free(&got);
	buf_free(&want);
	/* -MMD without -MF (autotools' depcomp): the output's name with .d */
	CHECK(fx_run(model_gcc, "gcc", "-Iinc", "-MMD", "-MP", "-c", "a.c", "-o", "obj/m.o",
	             NULL) == 0);
	CHECK_MODELLED();
	CHECK(file_has("obj/m.d", "obj/m.o: a.c inc/h.h"));
	CHECK(file_has("obj/m.d", "inc/h.h:")); /* -MP's phony target */
	/* the compiler's thunk itself writes no depfile: one output, no -M options */
	CHECK(fx_run(model_gcc, "gcc", "-Iinc", "-MD", "-MF", "dep/s.d", "-MT", "s", "-MQ", "$q",
	             "-S", "a.c", "-o", "s.s", NULL) == 0);
	CHECK_MODELLED();
	CHECK(file_has("dep/s.d", "s $$q: a.c"));
	struct thunk t;
	CHECK(fx_thunk_of("s.s", &t, NULL) == 0);
	CHECK(t.outputs.n == 1);
	for (size_t i = 0; i < t.argv.n; i++)
		CHECK(strncmp(t.argv.v[i], "-M", 2) != 0 && strcmp(t.argv.v[i], "dep/s.d") != 0);
	thunk_free(&t);
	fx_free_texts();
}

static void test_refusals_run_the_real_driver(void)
{
	/* stdin */
	CHECK(fx_run(model_gcc, "gcc", "-x", "c", "-c", "-", "-o", "s.o", NULL) == 0);
	CHECK_FELL_BACK("reads standard input");
	CHECK(strstr(fx_ran_text, "gcc -x c -c - -o s.o") != NULL);
	CHECK(access("s.o", F_OK) != 0);
	/* a response file */
	fx_write("a.rsp", "-c a.c -o r.o\n");
	CHECK(fx_run(model_gcc, "gcc", "@a.rsp", NULL) == 0);
	CHECK_FELL_BACK("a response file");
	CHECK(strstr(fx_ran_text, "gcc @a.rsp") != NULL);
	/* -E: the output is wanted now */
	CHECK(fx_run(model_gcc, "gcc", "-E", "a.c", NULL) == 0);
	CHECK_FELL_BACK("preprocessing");
	/* an option the driver rejects: the real driver says so to the user */
	CHECK(fx_run(model_gcc, "gcc", "-fno-such-option-for-gg", "-c", "b.c", "-o", "u.o", NULL) ==
	      0);
	CHECK_FELL_BACK("the driver rejects the command");
	CHECK(strstr(fx_log_text, "-fno-such-option-for-gg") != NULL);
	CHECK(access("u.o", F_OK) != 0);
	/* a missing source: the real driver's error */
	CHECK(fx_run(model_gcc, "gcc", "-c", "nosuch.c", "-o", "n.o", NULL) == 0);
	CHECK_FELL_BACK("ran the real tool");
	CHECK(access("n.o", F_OK) != 0);
	/* a preprocessor error (a missing header) */
	fx_write("bad.c", "#include \"nosuch.h\"\n");
	CHECK(fx_run(model_gcc, "gcc", "-c", "bad.c", "-o", "bad.o", NULL) == 0);
	CHECK_FELL_BACK("the preprocessor fails here");
	CHECK(access("bad.o", F_OK) != 0);
	/* LD_RUN_PATH gives a linked program a run path: links run for real */
	fx_write("r.c", "int main(void) { return 0; }\n");
	setenv("LD_RUN_PATH", "/opt/x", 1);
	CHECK(fx_run(model_gcc, "gcc", "-c", "r.c", "-o", "r.o", NULL) == 0);
	CHECK(fx_is_placeholder("r.o")); /* a compile: modelled */
	CHECK(fx_run(model_gcc, "gcc", "r.o", "-o", "r", NULL) == 0);
	CHECK_FELL_BACK("$LD_RUN_PATH is set");
	CHECK(fx_run(model_gcc, "gcc", "-Xlinker", "-S", "r.o", "-o", "r2", NULL) == 0);
	CHECK_FELL_BACK("$LD_RUN_PATH is set"); /* -S there is ld's */
	unsetenv("LD_RUN_PATH");
	/* time macros: a thunk would keep the value of the day it ran */
	fx_write("when.c", "const char *built = __DATE__ \" \" __TIME__;\n");
	CHECK(fx_run(model_gcc, "gcc", "-c", "when.c", "-o", "when.o", NULL) == 0);
	CHECK_FELL_BACK("when.c uses __DATE__");
	CHECK(!fx_is_placeholder("when.o"));
	setenv("SOURCE_DATE_EPOCH", "1700000000", 1); /* gcc takes __DATE__, __TIME__ from it */
	CHECK(fx_run(model_gcc, "gcc", "-c", "when.c", "-o", "when.o", NULL) == 0);
	CHECK(fx_is_placeholder("when.o"));
	unsetenv("SOURCE_DATE_EPOCH");
	/* named in a comment or a string only: no use, modelled */
	fx_write("named.c", "/* __DATE__ */ // __TIME__\nconst char *w[] = {\"__TIMESTAMP__\", "
	                    "\"\\\"__DATE__\"};\nchar c = '\"'; int __TIMEX;\n");
	CHECK(fx_run(model_gcc, "gcc", "-c", "named.c", "-o", "named.o", NULL) == 0);
	CHECK(fx_is_placeholder("named.o"));
	setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
	fx_write("ts.c", "const char *stamp = __TIMESTAMP__;\n");
	CHECK(fx_run(model_gcc, "gcc", "-c", "ts.c", "-o", "ts.o", NULL) == 0);
	CHECK_FELL_BACK("ts.c uses __TIMESTAMP__"); /* the source's mtime: still */
	unsetenv("SOURCE_DATE_EPOCH");
	/* an assembler listing asked through the driver: the real driver writes it */
	fx_write("l.c", "int l;\n");
	CHECK(fx_run(model_gcc, "gcc", "-Wa,-adhln=l.lst", "-c", "l.c", "-o", "l.o", NULL) == 0);
	CHECK_FELL_BACK("writes a listing (-adhln=l.lst)");
	CHECK(strstr(fx_ran_text, "gcc -Wa,-adhln=l.lst -c l.c -o l.o") != NULL);
	fx_free_texts();
}

TEST_MAIN(fx_setup, test_refused_from_the_command_line, test_objects_named_as_the_build_names_them,
          test_compile_thunk, test_depfiles, test_refusals_run_the_real_driver, fx_teardown)
