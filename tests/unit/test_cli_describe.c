/**
 * @file test_cli_describe.c
 * Specification of `gg describe [--json] TARGET` (gg-describe(1)) at its
 * entry point (cli_fixture.h): a thunk, readable (command, executable,
 * argv shell-quoted, environment, inputs marked x, l or -, with their
 * references, outputs "(not forced)" or their values, a forced symbolic
 * link marked, the timeout or "default") and as one line of JSON with the members in
 * the documented order; "forced" once the memo has the result; a
 * THUNK#OUTPUT or a placeholder describes the whole thunk; a value in the
 * store or not; a thunk not in the store is 3.
 */
#include "cli_fixture.h"
#include "core/placeholder.h"
#include "core/thunk.h"

static struct gg_name put(const char *text, char kind)
{
	struct gg_name n;
	CHECK(store_put_buf(store, text, strlen(text), kind, &n) == 0);
	return n;
}

static struct gg_name prog, data, target, dep, t;

static void setup(void)
{
	cli_setup();
	prog = put("#!/bin/sh\n", GG_VALUE);
	data = put("data\n", GG_VALUE);
	target = put("elsewhere", GG_VALUE);
	dep = put("ggthunk 1\nexe 4 prog\narg 4 prog\nout 1 o\ntimeout 0\n", GG_THUNK);
	char *enc = xasprintf("ggthunk 1\nexe 4 prog\narg 4 prog\narg 5 a b'c\nenv 5 A=1 2\n"
	                      "in - %s 4 data\nin - %s#o 3 dep\nin l %s 4 link\nin x %s 4 prog\n"
	                      "out 1 o\nout 5 sub/p\ntimeout 1500\n",
	                      data.s, dep.s, target.s, prog.s);
	struct thunk th;
	CHECK(thunk_parse(enc, strlen(enc), &th) == 0);
	struct buf b = BUF_INIT;
	struct gg_name n;
	CHECK(thunk_name(&th, &n, &b) == 0);
	t = put(b.data, GG_THUNK);
	CHECK(gg_name_eq(&n, &t));
	buf_free(&b);
	thunk_free(&th);
	free(enc);
}

static void test_thunk(void)
{
	char *line = xasprintf("describe %s", t.s);
	CHECK(run(cmd_describe, line) == 0);
	char *cmd_start = xasprintf("thunk %s\n  command: ", t.s);
	CHECK(strstr(out, cmd_start) == out);
	free(cmd_start);
	char *want = xasprintf("\n  executable: prog\n  argv: prog 'a b'\\''c'\n"
	                       "  environment:\n    A=1 2\n"
	                       "  inputs (4):\n    - data  %s\n    - dep  %s#o\n    l link  %s\n"
	                       "    x prog  %s\n"
	                       "  outputs:\n    o  (not forced)\n    sub/p  (not forced)\n"
	                       "  timeout: 1500 ms\n",
	                       data.s, dep.s, target.s, prog.s);
	CHECK(strstr(out, want) && strlen(strstr(out, want)) == strlen(want));
	free(want);

	/* JSON: one line, the members in order */
	free(line);
	line = xasprintf("describe --json %s#sub/p", t.s);
	CHECK(run(cmd_describe, line) == 0);
	char *head = xasprintf("{\"name\":\"%s\",\"kind\":\"thunk\",\"command\":\"", t.s);
	want = xasprintf("\",\"exe\":\"prog\",\"argv\":[\"prog\",\"a b'c\"],\"env\":[\"A=1 2\"],"
	                 "\"inputs\":[{\"path\":\"data\",\"ref\":\"%s\",\"exec\":false},"
	                 "{\"path\":\"dep\",\"ref\":\"%s#o\",\"exec\":false},"
	                 "{\"path\":\"link\",\"ref\":\"%s\",\"exec\":false,\"link\":true},"
	                 "{\"path\":\"prog\",\"ref\":\"%s\",\"exec\":true}],"
	                 "\"outputs\":[{\"path\":\"o\"},{\"path\":\"sub/"
	                 "p\"}],\"timeout_ms\":1500,\"forced\":false}\n",
	                 data.s, dep.s, target.s, prog.s);
	CHECK(strstr(out, head) == out && strstr(out, want) &&
	      strlen(strstr(out, want)) == strlen(want));
	free(want);

	/* forced: the values, a symbolic link marked; a placeholder is its thunk */
	struct memo m = {0};
	memo_add(&m, "o", &data, true);
	memo_add_link(&m, "sub/p", &target);
	CHECK(memo_put(store, &t, &m) == 0);
	memo_free(&m);
	struct gg_ref ref = {t, "o"};
	CHECK(placeholder_write("ph", &ref) == 0);
	CHECK(run(cmd_describe, "describe ph") == 0);
	want =
	    xasprintf("  outputs:\n    o  %s\n    sub/p  %s (symbolic link)\n", data.s, target.s);
	CHECK(strstr(out, want) != NULL);
	free(want);
	CHECK(run(cmd_describe, "describe ph --json") == 0);
	want = xasprintf("\"outputs\":[{\"path\":\"o\",\"value\":\"%s\",\"exec\":true},"
	                 "{\"path\":\"sub/p\",\"value\":\"%s\",\"exec\":false,\"link\":true}],"
	                 "\"timeout_ms\":1500,\"forced\":true}\n",
	                 data.s, target.s);
	CHECK(strstr(out, head) == out && strstr(out, want));
	free(want);
	free(head);
	free(line);

	/* timeout 0: the forcer's default, not "no limit" */
	char *enc = xasprintf("ggthunk 1\nexe 4 prog\narg 4 prog\nin x %s 4 prog\nout 1 o\n"
	                      "timeout 0\n",
	                      prog.s);
	struct thunk th;
	CHECK(thunk_parse(enc, strlen(enc), &th) == 0);
	struct buf b = BUF_INIT;
	struct gg_name n;
	CHECK(thunk_name(&th, &n, &b) == 0);
	struct gg_name t0 = put(b.data, GG_THUNK);
	line = xasprintf("describe %s", t0.s);
	CHECK(run(cmd_describe, line) == 0);
	CHECK(strstr(out, "\n  timeout: default\n") != NULL);
	free(line);
	buf_free(&b);
	thunk_free(&th);
	free(enc);
}

static void test_values(void)
{
	char *line = xasprintf("describe %s", data.s);
	CHECK(run(cmd_describe, line) == 0);
	char *want = xasprintf("value %s\n  size: 5 bytes\n  in store: yes\n", data.s);
	CHECK_STR(out, want);
	free(want);
	free(line);
	struct gg_name absent, no_thunk;
	gg_name_of_buf("not stored\n", 11, GG_VALUE, &absent);
	line = xasprintf("describe --json %s", absent.s);
	CHECK(run(cmd_describe, line) == 0);
	want = xasprintf("{\"name\":\"%s\",\"kind\":\"value\",\"size\":11,\"in_store\":false}\n",
	                 absent.s);
	CHECK_STR(out, want);
	free(want);
	free(line);
	/* a thunk must be in the store */
	gg_name_of_buf("ggthunk 1\nnot stored\n", 21, GG_THUNK, &no_thunk);
	line = xasprintf("describe %s", no_thunk.s);
	CHECK(run(cmd_describe, line) == 3 && !*out && strstr(err, "not in the store"));
	free(line);
}

TEST_MAIN(setup, test_thunk, test_values, cli_teardown)
