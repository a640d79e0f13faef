/**
 * @file test_thunk.c
 * Specification of thunks (core/thunk): the canonical encoding, its
 * round-trip, canonicalization, and one clear error for each way an encoding
 * can be malformed.
 */
#include "core/thunk.h"
#include "harness.h"

#include <stdlib.h>
#include <string.h>

/* Syntactically valid names (the digests are arbitrary). */
#define HEX64_1 "1111111111111111111111111111111111111111111111111111111111111111"
#define HEX64_2 "2222222222222222222222222222222222222222222222222222222222222222"
#define HEX64_3 "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789"
#define VA      "V" HEX64_1 "000000001000"
#define VB      "V" HEX64_2 "00000000002a"
#define TA      "T" HEX64_3 "0000000001f0"
_Static_assert(sizeof(VA) - 1 == GG_NAME_LEN && sizeof(VB) - 1 == GG_NAME_LEN &&
                   sizeof(TA) - 1 == GG_NAME_LEN,
               "test names have the right length");

/* A valid, canonical encoding; the malformed cases below are edits of it. */
static const char BASE[] = "ggthunk 1\n"                 /* line 1 */
                           "exe 6 bin/cc\n"              /* 2 */
                           "arg 2 cc\n"                  /* 3 */
                           "arg 2 -c\n"                  /* 4 */
                           "arg 3 x.c\n"                 /* 5 */
                           "env 6 LANG=C\n"              /* 6 */
                           "env 9 PATH=/bin\n"           /* 7 */
                           "in x " VA " 6 bin/cc\n"      /* 8 */
                           "in - " TA "#out.h 5 inc/a\n" /* 9 */
                           "in - " VB " 3 x.c\n"         /* 10 */
                           "out 3 x.o\n"                 /* 11 */
                           "timeout 0\n";                /* 12 */

static struct gg_ref ref_of(const char *s)
{
	struct gg_ref r;
	if (gg_ref_parse(s, strlen(s), &r) < 0) {
		fprintf(stderr, "bad test reference %s: %s\n", s, gg_last_error());
		abort();
	}
	return r;
}

static void add_input(struct thunk *t, const char *path, const char *ref, bool exec)
{
	struct gg_ref r = ref_of(ref);
	thunk_add_input(t, path, &r, exec);
	gg_ref_free(&r);
}

/*
 * Parses data; on success frees the result. On failure checks that the thunk
 * was left empty and that the message says "malformed thunk".
 */
static int parse_bytes(const char *data, size_t len)
{
	struct thunk t;
	int r = thunk_parse(data, len, &t);
	if (r == 0) {
		thunk_free(&t);
		return 0;
	}
	CHECK(!strncmp(gg_last_error(), "malformed thunk", 15));
	CHECK(t.exe == NULL && t.argv.n == 0 && t.ninputs == 0 && t.outputs.n == 0);
	return r;
}

/* BASE with the first occurrence of `old` replaced by new_len bytes of `new`. */
static int parse_edit_n(const char *old, const char *new, size_t new_len)
{
	const char *at = strstr(BASE, old);
	if (!at) {
		fprintf(stderr, "test bug: '%s' is not in BASE\n", old);
		abort();
	}
	struct buf b = BUF_INIT;
	buf_add(&b, BASE, (size_t)(at - BASE));
	buf_add(&b, new, new_len);
	buf_adds(&b, at + strlen(old));
	int r = parse_bytes(b.data, b.len);
	buf_free(&b);
	return r;
}

static int parse_edit(const char *old, const char *new)
{
	return parse_edit_n(old, new, strlen(new));
}

/* ---- the encoding ---- */

static void test_base_is_valid(void)
{
	struct thunk t;
	CHECK(thunk_parse(BASE, strlen(BASE), &t) == 0);
	CHECK_STR(t.exe, "bin/cc");
	CHECK(t.argv.n == 3);
	CHECK_STR(t.argv.v[2], "x.c");
	CHECK(t.env.n == 2);
	CHECK(t.ninputs == 3);
	CHECK_STR(t.inputs[1].path, "inc/a");
	CHECK_STR(t.inputs[1].ref.output, "out.h");
	CHECK(t.inputs[0].exec && !t.inputs[1].exec);
	CHECK(t.outputs.n == 1);
	CHECK(t.timeout_ms == 0);
	CHECK(!thunk_is_reduced(&t));
	struct buf b = BUF_INIT;
	CHECK(thunk_encode(&t, &b) == 0);
	CHECK(b.len == strlen(BASE) && !memcmp(b.data, BASE, b.len));
	buf_free(&b);
	thunk_free(&t);
}

static void test_golden_encoding(void)
{
	struct thunk t;
	thunk_init(&t);
	t.exe = xstrdup("sh");
	strvec_push(&t.argv, "sh");
	strvec_push(&t.argv, "-c");
	strvec_push(&t.argv, "echo hi > out");
	add_input(&t, "sh", VA, true);
	strvec_push(&t.outputs, "out");
	t.timeout_ms = 60000;
	struct buf b = BUF_INIT;
	CHECK(thunk_encode(&t, &b) == 0);
	CHECK_STR(b.data, "ggthunk 1\n"
	                  "exe 2 sh\n"
	                  "arg 2 sh\n"
	                  "arg 2 -c\n"
	                  "arg 13 echo hi > out\n"
	                  "in x " VA " 2 sh\n"
	                  "out 3 out\n"
	                  "timeout 60000\n");
	struct gg_name n;
	CHECK(thunk_name(&t, &n, NULL) == 0);
	struct gg_name want;
	gg_name_of_buf(b.data, b.len, GG_THUNK, &want);
	CHECK(gg_name_eq(&n, &want));
	CHECK(gg_name_kind(&n) == GG_THUNK);
	CHECK(gg_name_size(&n) == b.len);
	buf_free(&b);
	thunk_free(&t);
}

/* Built out of order: inputs, env and outputs in no particular order. */
static void build_messy(struct thunk *t, bool reverse)
{
	thunk_init(t);
	t->exe = xstrdup("bin/cc");
	const char *args[] = {"cc", "-c", "x y.c", "multi\nline", "", "-o", "x.o"};
	for (size_t i = 0; i < GG_ARRAY_LEN(args); i++)
		strvec_push(&t->argv, args[i]);
	const char *env[] = {"PATH=/bin:/usr/bin", "LANG=C", "A==2", "Z=", "CFLAGS=-O2 -g"};
	for (size_t i = 0; i < GG_ARRAY_LEN(env); i++)
		strvec_push(&t->env, env[reverse ? GG_ARRAY_LEN(env) - 1 - i : i]);
	struct {
		const char *path, *ref;
		bool exec;
	} in[] = {
	    {"x y.c", VB, false},
	    {"bin/cc", VA, true},
	    {"inc/a.h", TA "#out/a.h", false},
	    {"lib/libc.so.6", VA, true},
	    {"inc-x/b.h", VB, false},
	};
	for (size_t i = 0; i < GG_ARRAY_LEN(in); i++) {
		size_t j = reverse ? GG_ARRAY_LEN(in) - 1 - i : i;
		add_input(t, in[j].path, in[j].ref, in[j].exec);
	}
	strvec_push(&t->outputs, "x.o");
	strvec_push(&t->outputs, "log/build.txt");
	t->timeout_ms = 5000;
}

static void test_round_trip(void)
{
	struct thunk t, p;
	build_messy(&t, false);
	struct gg_name n1, n2;
	struct buf enc1 = BUF_INIT, enc2 = BUF_INIT;
	CHECK(thunk_name(&t, &n1, &enc1) == 0);
	CHECK(!strncmp(enc1.data, THUNK_MAGIC, strlen(THUNK_MAGIC)));

	CHECK(thunk_parse(enc1.data, enc1.len, &p) == 0);
	CHECK(thunk_encode(&p, &enc2) == 0);
	CHECK(enc1.len == enc2.len && !memcmp(enc1.data, enc2.data, enc1.len));
	CHECK(thunk_name(&p, &n2, NULL) == 0);
	CHECK(gg_name_eq(&n1, &n2));

	/* What was parsed is what was built, canonically ordered. */
	CHECK_STR(p.exe, "bin/cc");
	CHECK(p.argv.n == 7);
	CHECK_STR(p.argv.v[2], "x y.c"); /* argv keeps its order */
	CHECK_STR(p.argv.v[3], "multi\nline");
	CHECK_STR(p.argv.v[4], "");
	const char *env_sorted[] = {"A==2", "CFLAGS=-O2 -g", "LANG=C", "PATH=/bin:/usr/bin", "Z="};
	CHECK(p.env.n == 5);
	for (size_t i = 0; i < p.env.n && i < 5; i++)
		CHECK_STR(p.env.v[i], env_sorted[i]);
	const char *in_sorted[] = {"bin/cc", "inc-x/b.h", "inc/a.h", "lib/libc.so.6", "x y.c"};
	CHECK(p.ninputs == 5);
	for (size_t i = 0; i < p.ninputs && i < 5; i++)
		CHECK_STR(p.inputs[i].path, in_sorted[i]);
	const struct thunk_input *h = thunk_find_input(&p, "inc/a.h");
	CHECK(h && h->ref.output && !strcmp(h->ref.output, "out/a.h") && !h->exec);
	CHECK(thunk_find_input(&p, "lib/libc.so.6")->exec);
	CHECK(thunk_find_input(&p, "nope") == NULL);
	CHECK(p.outputs.n == 2);
	CHECK_STR(p.outputs.v[0], "x.o"); /* the primary output stays first */
	CHECK_STR(p.outputs.v[1], "log/build.txt");
	CHECK(thunk_has_output(&p, "log/build.txt") && !thunk_has_output(&p, "log"));
	CHECK(p.timeout_ms == 5000);

	buf_free(&enc1);
	buf_free(&enc2);
	thunk_free(&t);
	thunk_free(&p);
}

static void test_canonicalize_sorts_env_and_inputs(void)
{
	struct thunk a, b;
	build_messy(&a, false);
	build_messy(&b, true);
	CHECK(thunk_canonicalize(&a) == 0);
	for (size_t i = 1; i < a.env.n; i++)
		CHECK(strcmp(a.env.v[i - 1], a.env.v[i]) < 0);
	for (size_t i = 1; i < a.ninputs; i++)
		CHECK(strcmp(a.inputs[i - 1].path, a.inputs[i].path) < 0);

	/* The same description in another order has the same name. */
	struct gg_name na, nb;
	CHECK(thunk_name(&a, &na, NULL) == 0);
	CHECK(thunk_name(&b, &nb, NULL) == 0);
	CHECK(gg_name_eq(&na, &nb));

	/* Outputs are not sorted: their order (the primary first) is meaningful. */
	char *tmp = b.outputs.v[0];
	b.outputs.v[0] = b.outputs.v[1];
	b.outputs.v[1] = tmp;
	CHECK(thunk_name(&b, &nb, NULL) == 0);
	CHECK(!gg_name_eq(&na, &nb));

	/* So is argv, and the timeout is part of the description. */
	b.outputs.v[1] = b.outputs.v[0];
	b.outputs.v[0] = tmp;
	b.timeout_ms = 1;
	CHECK(thunk_name(&b, &nb, NULL) == 0);
	CHECK(!gg_name_eq(&na, &nb));

	thunk_free(&a);
	thunk_free(&b);
}

static void test_add_input_replaces_same_path(void)
{
	struct thunk t;
	thunk_init(&t);
	add_input(&t, "a", VA, false);
	add_input(&t, "b", VB, false);
	add_input(&t, "a", TA "#o", true);
	CHECK(t.ninputs == 2);
	const struct thunk_input *a = thunk_find_input(&t, "a");
	CHECK(a && a->exec && !strcmp(a->ref.name.s, TA) && !strcmp(a->ref.output, "o"));
	CHECK(!thunk_is_reduced(&t));
	add_input(&t, "a", VA, true);
	CHECK(thunk_is_reduced(&t));
	thunk_free(&t);
	CHECK(t.ninputs == 0 && t.inputs == NULL && t.exe == NULL);
}

static void test_encode_rejects_invalid(void)
{
	struct thunk t;
	thunk_init(&t);
	struct buf b = BUF_INIT;
	CHECK_ERR(thunk_encode(&t, &b), "thunk has no executable");
	CHECK(b.len == 0);
	t.exe = xstrdup("cc");
	CHECK_ERR(thunk_encode(&t, &b), "no arguments");
	strvec_push(&t.argv, "cc");
	CHECK_ERR(thunk_encode(&t, &b), "executable 'cc' is not one of the inputs");
	add_input(&t, "cc", VA, true);
	CHECK_ERR(thunk_encode(&t, &b), "thunk has no outputs");
	strvec_push(&t.outputs, "o");
	strvec_push(&t.env, "A=1");
	strvec_push(&t.env, "A=2");
	CHECK_ERR(thunk_encode(&t, &b), "environment variable 'A' is set twice");
	strvec_clear(&t.env);
	strvec_push(&t.env, "A=1");
	struct gg_name n;
	CHECK(thunk_name(&t, &n, NULL) == 0);
	strvec_push(&t.outputs, "cc");
	CHECK_ERR(thunk_name(&t, &n, NULL), "output 'cc' clashes with input 'cc'");
	buf_free(&b);
	thunk_free(&t);
}

static void test_command_line(void)
{
	struct thunk t;
	thunk_init(&t);
	const char *args[] = {"cc", "-c", "a b.c", "-DX='1'"};
	for (size_t i = 0; i < GG_ARRAY_LEN(args); i++)
		strvec_push(&t.argv, args[i]);
	char *s = thunk_command_line(&t);
	CHECK_STR(s, "cc -c 'a b.c' '-DX='\\''1'\\'''");
	free(s);

	/* The explicit-loader prefix is shown as just the program's name. */
	strvec_clear(&t.argv);
	const char *ld[] = {"lib/ld-linux-x86-64.so.2",
	                    "--library-path",
	                    "lib",
	                    "--argv0",
	                    "gcc",
	                    "bin/gcc",
	                    "-O2",
	                    "x.c"};
	for (size_t i = 0; i < GG_ARRAY_LEN(ld); i++)
		strvec_push(&t.argv, ld[i]);
	s = thunk_command_line(&t);
	CHECK_STR(s, "gcc -O2 x.c");
	free(s);
	strvec_clear(&t.argv);
	for (size_t i = 0; i < 6; i++)
		strvec_push(&t.argv, ld[i]);
	s = thunk_command_line(&t);
	CHECK_STR(s, "gcc");
	free(s);
	thunk_free(&t);
}

/* ---- one clear error per malformed field ---- */

static void test_parse_errors_header_and_fields(void)
{
	CHECK_ERR(parse_bytes("", 0), "it does not start with \"ggthunk 1\"");
	CHECK_ERR(parse_edit("ggthunk 1\n", "ggthunk 2\n"), "does not start with \"ggthunk 1\"");
	CHECK_ERR(parse_edit("ggthunk 1\n", "ggthunk 1\r\n"), "does not start with \"ggthunk 1\"");
	CHECK_ERR(parse_bytes("ggthunk 1\n", 10), "line 2: missing 'timeout'");

	CHECK_ERR(parse_edit("timeout 0\n", "color 3 red\ntimeout 0\n"),
	          "line 12: unknown field 'color'");
	CHECK_ERR(parse_edit("arg 2 cc\n", "ARG 2 cc\n"),
	          "line 3: expected a keyword followed by a space");
	CHECK_ERR(parse_edit("timeout 0\n", "timeouts 0\n"),
	          "expected a keyword followed by a space");

	CHECK_ERR(parse_edit("arg 3 x.c\nenv 6 LANG=C\n", "env 6 LANG=C\narg 3 x.c\n"),
	          "line 6: field 'arg' is out of order");
	CHECK_ERR(parse_edit("out 3 x.o\n", ""), "thunk has no outputs");
	CHECK_ERR(parse_edit("in x ", "out 3 x.o\nin x "), "field 'in' is out of order");
	CHECK_ERR(parse_edit("exe 6 bin/cc\n", ""), "line 2: the first field must be 'exe'");
	CHECK_ERR(parse_edit("exe 6 bin/cc\n", "exe 6 bin/cc\nexe 6 bin/cc\n"),
	          "field 'exe' is out of order");
	CHECK_ERR(parse_edit("timeout 0\n", ""), "missing 'timeout' (it must be the last field)");
}

static void test_parse_errors_exe_and_args(void)
{
	CHECK_ERR(parse_edit("exe 6 bin/cc", "exe 6 bin/ld"),
	          "executable 'bin/ld' is not one of the inputs");
	CHECK_ERR(parse_edit("in x " VA, "in - " VA),
	          "executable 'bin/cc' is an input without the executable bit");
	CHECK_ERR(parse_edit("exe 6 bin/cc", "exe 7 /bin/cc"),
	          "executable '/bin/cc': absolute paths");
	CHECK_ERR(parse_edit("exe 6 bin/cc", "exe 0 "), "executable: empty path");
	CHECK_ERR(parse_edit("arg 2 cc\narg 2 -c\narg 3 x.c\n", ""), "thunk has no arguments");
}

static void test_parse_errors_env(void)
{
	CHECK_ERR(parse_edit("env 6 LANG=C", "env 4 LANG"),
	          "environment entry 'LANG' is not NAME=VALUE");
	CHECK_ERR(parse_edit("env 6 LANG=C", "env 2 =C"),
	          "environment entry '=C' is not NAME=VALUE");
	CHECK_ERR(parse_edit("env 6 LANG=C\n", "env 6 LANG=C\nenv 6 LANG=D\n"),
	          "environment variable 'LANG' is set twice");
	CHECK_ERR(parse_edit("env 6 LANG=C\n", "env 6 LANG=C\nenv 6 LANG=C\n"),
	          "'LANG' is set twice");
	CHECK_ERR(parse_edit("env 6 LANG=C\nenv 9 PATH=/bin\n", "env 9 PATH=/bin\nenv 6 LANG=C\n"),
	          "environment is not sorted ('PATH=/bin' before 'LANG=C')");
}

static void test_parse_errors_inputs(void)
{
	CHECK_ERR(parse_edit(VB " 3 x.c\n", VB " 4 /x.c\n"),
	          "input '/x.c': absolute paths are not allowed");
	CHECK_ERR(parse_edit(VB " 3 x.c\n", VB " 6 ../x.c\n"),
	          "input '../x.c': '.' and '..' are not allowed");
	CHECK_ERR(parse_edit(VB " 3 x.c\n", VB " 6 x/../c\n"), "'.' and '..' are not allowed");
	CHECK_ERR(parse_edit(" 5 inc/a\n", " 6 inc//a\n"), "input 'inc//a': empty path component");
	CHECK_ERR(parse_edit(VB " 3 x.c\n", VB " 4 x.c/\n"), "empty path component");
	CHECK_ERR(parse_edit(VB " 3 x.c\n", VB " 0 \n"), "input: empty path");
	CHECK_ERR(parse_edit("in - " VB " 3 x.c\n", "in - " VB " 3 x.c\nin x " VA " 3 x.c\n"),
	          "input 'x.c' is declared twice");
	CHECK_ERR(parse_edit("in - " TA, "in - " VB " 3 inc\nin - " TA),
	          "input 'inc' is both a file and the directory of 'inc/a'");
	/* "inc/a" sorts after "inc-x": the clash need not be adjacent. */
	CHECK_ERR(parse_edit("in - " TA, "in - " VB " 3 inc\nin - " VB " 5 inc-x\nin - " TA),
	          "input 'inc' is both a file and the directory of 'inc/a'");
	CHECK_ERR(parse_edit("in - " TA "#out.h 5 inc/a\nin - " VB " 3 x.c\n",
	                     "in - " VB " 3 x.c\nin - " TA "#out.h 5 inc/a\n"),
	          "inputs are not sorted ('x.c' before 'inc/a')");

	/* The reference. */
	CHECK_ERR(parse_edit("in - " VB, "in - Vxyz"), "line 10: bad object name 'Vxyz'");
	CHECK_ERR(parse_edit("in - " VB, "in - " VB "#out"), "only a thunk has outputs");
	CHECK_ERR(parse_edit("in - " VB, "in - V" HEX64_2 "00000000002A"),
	          "not a lowercase hex digit");
	CHECK_ERR(parse_edit("in - " TA "#out.h", "in - " TA),
	          "input 'inc/a': a thunk input must name one of its outputs");
	CHECK_ERR(parse_edit("in - " TA "#out.h", "in - " TA "#/out.h"),
	          "absolute paths are not allowed");
	CHECK_ERR(parse_edit("in - " TA "#out.h", "in - " TA "#out\n.h"),
	          "space or control character");
	CHECK_ERR(parse_edit("in - " VB, "in ? " VB),
	          "line 10: input must start with 'x', '-' or 'l'");
	CHECK_ERR(parse_edit("in - " VB, "in X " VB), "input must start with 'x', '-' or 'l'");
	CHECK_ERR(parse_edit("in - " VB " 3 x.c\nout 3 x.o\ntimeout 0\n", "in - " VB),
	          "input has no path length");
}

static void test_parse_errors_outputs(void)
{
	CHECK_ERR(parse_edit("out 3 x.o\n", ""), "thunk has no outputs");
	CHECK_ERR(parse_edit("out 3 x.o\n", "out 3 x.o\nout 3 x.o\n"),
	          "output 'x.o' is declared twice");
	CHECK_ERR(parse_edit("out 3 x.o\n", "out 3 x.c\n"),
	          "output 'x.c' clashes with input 'x.c'");
	CHECK_ERR(parse_edit("out 3 x.o\n", "out 3 inc\n"),
	          "output 'inc' clashes with input 'inc/a'");
	CHECK_ERR(parse_edit("out 3 x.o\n", "out 4 /x.o\n"), "output '/x.o': absolute paths");
	CHECK_ERR(parse_edit("out 3 x.o\n", "out 5 ./x.o\n"), "'.' and '..' are not allowed");
	CHECK_ERR(parse_edit("out 3 x.o\n", "out 6 ../x.o\n"),
	          "output '../x.o': '.' and '..' are not allowed");
	CHECK_ERR(parse_edit("out 3 x.o\n", "out 8 d/../x.o\n"), "'.' and '..' are not allowed");
	CHECK(parse_edit("out 3 x.o\n", "out 3 x.o\nout 7 log/a.b\n") == 0);
	CHECK_ERR(parse_edit("out 3 x.o\n", "out 7 x.c/x.o\n"),
	          "output 'x.c/x.o' clashes with input 'x.c'");
	CHECK_ERR(parse_edit("out 3 x.o\n", "out 3 x.o\nout 5 x.o/a\n"),
	          "output 'x.o/a' clashes with output 'x.o'");
	/* Outputs appear in references (THUNK#OUTPUT, space-separated): no
	 * spaces or control characters. */
	CHECK_ERR(parse_edit("out 3 x.o\n", "out 4 x .o\n"),
	          "output 'x .o': spaces and control characters are not allowed");
	CHECK_ERR(parse_edit("out 3 x.o\n", "out 4 x\t.o\n"),
	          "spaces and control characters are not allowed");
	CHECK_ERR(parse_edit("out 3 x.o\n", "out 4 x\n.o\n"),
	          "spaces and control characters are not allowed");
	CHECK_ERR(parse_edit("out 3 x.o\n", "out 4 x\x7f.o\n"),
	          "spaces and control characters are not allowed");
}

static void test_parse_errors_timeout_and_trailing(void)
{
	CHECK_ERR(parse_edit("timeout 0\n", "timeout 0\nout 3 y.o\n"),
	          "line 13: nothing may follow the timeout");
	CHECK_ERR(parse_edit("timeout 0\n", "timeout 0\ntimeout 0\n"),
	          "nothing may follow the timeout");
	CHECK_ERR(parse_edit("timeout 0\n", "timeout 0\n\n"),
	          "line 13: expected a keyword followed by a space");
	CHECK_ERR(parse_edit("timeout 0\n", "timeout 0\ngarbage"), "expected a keyword");
	CHECK_ERR(parse_edit("timeout 0\n", "timeout 0 1\n"), "expected end of line after number");
	CHECK_ERR(parse_edit("timeout 0\n", "timeout 0"), "expected end of line after number");
	CHECK_ERR(parse_edit("timeout 0\n", "timeout\n"), "expected a keyword followed by a space");
	CHECK_ERR(parse_edit("timeout 0\n", "timeout \n"), "expected a number");
	CHECK_ERR(parse_edit("timeout 0\n", "timeout -1\n"), "expected a number");
	CHECK(parse_edit("timeout 0\n", "timeout 18446744073709551609\n") == 0);
}

static void test_parse_errors_strings_and_numbers(void)
{
	/* Length prefixes. */
	CHECK_ERR(parse_edit("out 3 x.o\n", "out 300 x.o\n"),
	          "line 11: string length runs past the end of the thunk");
	CHECK_ERR(parse_edit("out 3 x.o\ntimeout 0\n", "out 3 x.o"),
	          "string length runs past the end");
	CHECK_ERR(parse_edit("arg 2 cc", "arg 18446744073709551 cc"),
	          "string length runs past the end");
	CHECK_ERR(parse_edit("exe 6 bin/cc", "exe 5 bin/cc"),
	          "line 2: executable is not followed by end of line");
	CHECK_ERR(parse_edit("exe 6 bin/cc", "exe 7 bin/cc"),
	          "executable is not followed by end of line");
	CHECK_ERR(parse_edit("arg 2 cc", "arg x cc"), "line 3: expected a number");
	CHECK_ERR(parse_edit("arg 2 cc", "arg  2 cc"), "expected a number");
	CHECK_ERR(parse_edit("arg 2 cc", "arg 2cc"), "expected a space after number");
	CHECK_ERR(parse_edit("arg 2 cc", "arg +2 cc"), "expected a number");

	/* NUL may not appear inside a string (any other byte may). */
	CHECK_ERR(parse_edit_n("arg 2 cc", "arg 2 c\0", 8), "line 3: arg contains a NUL byte");
	CHECK_ERR(parse_edit_n(VB " 3 x.c\n", VB " 3 x\0c\n", GG_NAME_LEN + 7),
	          "input path contains a NUL byte");
	CHECK_ERR(parse_edit_n("env 6 LANG=C", "env 6 LANG=\0", 12), "env contains a NUL byte");
	CHECK(parse_edit("arg 3 x.c\n", "arg 3 x\nc\narg 3 \x01\xff \n") == 0);

	/* Numbers are canonical: no leading zeros, no overflow. */
	CHECK_ERR(parse_edit("arg 2 cc", "arg 02 cc"), "line 3: number with a leading zero");
	CHECK_ERR(parse_edit("timeout 0\n", "timeout 00\n"), "number with a leading zero");
	CHECK_ERR(parse_edit("timeout 0\n", "timeout 0100\n"), "number with a leading zero");
	CHECK_ERR(parse_edit("timeout 0\n", "timeout 99999999999999999999\n"),
	          "line 12: number too large");
	CHECK_ERR(parse_edit("timeout 0\n", "timeout 1000000000000000000000000000000\n"),
	          "number too large");
	CHECK_ERR(parse_edit("arg 2 cc", "arg 18446744073709551616 cc"), "number too large");
}

static void test_parse_rejects_oversized(void)
{
	size_t len = THUNK_MAX_SIZE + 1;
	char *big = xcalloc(len, 1);
	memcpy(big, BASE, strlen(BASE));
	CHECK_ERR(parse_bytes(big, len), "the limit is");
	free(big);
}

/*
 * Whatever thunk_encode accepts, thunk_parse must accept and give back: an
 * encoding that cannot be parsed is a thunk no one can ever run.
 */
static void check_encodable_parses(struct thunk *t, const char *what)
{
	struct buf b = BUF_INIT;
	if (thunk_encode(t, &b) < 0) {
		buf_free(&b);
		return; /* rejecting up front is fine too */
	}
	struct thunk p;
	int r = thunk_parse(b.data, b.len, &p);
	if (r < 0)
		fprintf(stderr, "  %s: encodes, but its encoding does not parse: %s\n", what,
		        gg_last_error());
	CHECK(r == 0);
	if (r == 0) {
		struct buf b2 = BUF_INIT;
		CHECK(thunk_encode(&p, &b2) == 0 && b2.len == b.len &&
		      !memcmp(b.data, b2.data, b.len));
		buf_free(&b2);
		thunk_free(&p);
	}
	buf_free(&b);
}

static void minimal(struct thunk *t)
{
	thunk_init(t);
	t->exe = xstrdup("cc");
	strvec_push(&t->argv, "cc");
	add_input(t, "cc", VA, true);
	strvec_push(&t->outputs, "o");
}

static void test_every_encodable_thunk_parses(void)
{
	struct thunk t;
	/* An input referring to a thunk output whose path has a space: the
	 * encoding "in - REF LEN PATH" cannot carry it, so it must be refused. */
	minimal(&t);
	struct gg_ref spaced = ref_of(TA);
	spaced.output = xstrdup("my output.txt");
	thunk_add_input(&t, "in", &spaced, false);
	gg_ref_free(&spaced);
	check_encodable_parses(&t, "thunk-output reference with a space");
	struct buf b = BUF_INIT;
	CHECK_ERR(thunk_encode(&t, &b), "input 'in': the output it refers to has a space");
	buf_free(&b);
	thunk_free(&t);

	/* The largest timeout. */
	minimal(&t);
	t.timeout_ms = UINT64_MAX;
	check_encodable_parses(&t, "timeout 2^64-1");
	thunk_free(&t);

	/* Odd but legal bytes everywhere. */
	minimal(&t);
	add_input(&t, "dir with space/f\n#x", TA "#o#ut/\xc3\xa9", false);
	strvec_push(&t.env, "SP ACE=a b\nc");
	strvec_push(&t.argv, "");
	strvec_push(&t.argv, "\x01\n\xff");
	strvec_push(&t.outputs, "out#put/\xc3\xa9");
	struct gg_name n;
	CHECK(thunk_name(&t, &n, NULL) == 0); /* all accepted */
	check_encodable_parses(&t, "odd bytes");
	thunk_free(&t);
}

/*
 * Outputs and inputs share one directory tree in the sandbox: no output may
 * sit under an input file, and no output may be both a file and the
 * directory of another output.
 */
static void test_output_paths_cannot_clash_as_file_and_directory(void)
{
	struct thunk t;
	minimal(&t);
	strvec_clear(&t.outputs);
	strvec_push(&t.outputs, "cc/x.o"); /* "cc" is an input file */
	CHECK_ERR(thunk_canonicalize(&t), "clashes with input 'cc'");
	thunk_free(&t);

	minimal(&t);
	strvec_push(&t.outputs, "o/x.o"); /* "o" is already an output file */
	CHECK_ERR(thunk_canonicalize(&t), "output 'o/x.o' clashes with output 'o'");
	thunk_free(&t);

	minimal(&t);
	strvec_clear(&t.outputs);
	strvec_push(&t.outputs, "d/x.o");
	strvec_push(&t.outputs, "d");
	CHECK_ERR(thunk_canonicalize(&t), "output 'd' clashes with output 'd/x.o'");
	thunk_free(&t);

	/* Siblings and look-alike prefixes are fine. */
	minimal(&t);
	strvec_push(&t.outputs, "o.d");
	strvec_push(&t.outputs, "dir/a");
	strvec_push(&t.outputs, "dir/b");
	strvec_push(&t.outputs, "cc-x/y");
	CHECK(thunk_canonicalize(&t) == 0);
	thunk_free(&t);
}

/* "in l": a symbolic link input, its value the target; kept by the encoding. */
static void test_link_inputs(void)
{
	CHECK(parse_edit("in - " VB " 3 x.c\n", "in l " VB " 3 x.c\n") == 0);
	struct buf b = BUF_INIT;
	buf_adds(&b, BASE);
	char *at = strstr(b.data, "in - " VB);
	at[3] = 'l';
	struct thunk t;
	CHECK(thunk_parse(b.data, b.len, &t) == 0);
	CHECK(t.inputs[2].link && !t.inputs[2].exec);
	struct buf e = BUF_INIT;
	CHECK(thunk_encode(&t, &e) == 0);
	CHECK(e.len == b.len && !memcmp(e.data, b.data, b.len));
	thunk_free(&t);
	buf_free(&e);
	buf_free(&b);
	CHECK(parse_edit("in - " VB " 3 x.c\n", "in L " VB " 3 x.c\n") < 0);
	CHECK_ERR(parse_edit("in - " TA "#out.h", "in l " TA "#out.h"),
	          "a symbolic link input ('l') names a value");
	CHECK_ERR(parse_edit("in x " VA " 6 bin/cc", "in l " VA " 6 bin/cc"),
	          "executable 'bin/cc' is a symbolic link");
	/* thunk_add_link_input */
	thunk_init(&t);
	minimal(&t);
	struct gg_ref r = ref_of(VB);
	thunk_add_link_input(&t, "lib.so", &r);
	gg_ref_free(&r);
	struct buf enc = BUF_INIT;
	CHECK(thunk_encode(&t, &enc) == 0);
	CHECK(strstr(enc.data, "in l " VB " 6 lib.so\n") != NULL);
	buf_free(&enc);
	thunk_free(&t);
}

TEST_MAIN(test_base_is_valid, test_link_inputs, test_golden_encoding, test_round_trip,
          test_canonicalize_sorts_env_and_inputs, test_add_input_replaces_same_path,
          test_encode_rejects_invalid, test_command_line, test_parse_errors_header_and_fields,
          test_parse_errors_exe_and_args, test_parse_errors_env, test_parse_errors_inputs,
          test_parse_errors_outputs, test_parse_errors_timeout_and_trailing,
          test_parse_errors_strings_and_numbers, test_parse_rejects_oversized,
          test_every_encodable_thunk_parses, test_output_paths_cannot_clash_as_file_and_directory)
