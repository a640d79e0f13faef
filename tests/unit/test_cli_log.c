/**
 * @file test_cli_log.c
 * Specification of `gg log TARGET` (gg-log(1)): for a thunk whose result is
 * in the memo, "succeeded", each output with its value (marked executable
 * or symbolic link) and what the program wrote on stderr (a last newline
 * added) or "nothing on stderr"; for a thunk whose last run failed, the
 * failure as gg force logged it; "no run recorded" and exit 1 for a thunk
 * that never ran, and for a value; a failure record that is damaged or
 * cannot be read said so, naming the file (3), never taken for none; a
 * placeholder file like its reference; a dynamic graph followed through the
 * output TARGET names (the primary one after the first thunk), its status
 * that of the last thunk (1 when it never ran); an ordinary file refused (1). The entry point runs
 * in this process (cli_fixture.h), the memo and the failure log written with the store's functions.
 */
#include "cli_fixture.h"
#include "core/placeholder.h"
#include "core/stamp.h"
#include "core/thunk.h"

#include <sys/stat.h>

static struct gg_name value(const char *text)
{
	struct gg_name n;
	CHECK(store_put_buf(store, text, strlen(text), GG_VALUE, &n) == 0);
	return n;
}

/* A thunk (stored) with outputs o and o2, made distinct by tag. */
static struct gg_name thunk(const char *tag)
{
	struct gg_name prog = value("#!/bin/sh\n"), n, put;
	char *enc = xasprintf("ggthunk 1\nexe 4 prog\narg 4 prog\narg %zu %s\nin x %s 4 prog\n"
	                      "out 1 o\nout 2 o2\ntimeout 0\n",
	                      strlen(tag), tag, prog.s);
	struct thunk t;
	CHECK(thunk_parse(enc, strlen(enc), &t) == 0);
	struct buf b = BUF_INIT;
	CHECK(thunk_name(&t, &n, &b) == 0);
	CHECK(store_put_buf(store, b.data, b.len, GG_THUNK, &put) == 0 && gg_name_eq(&n, &put));
	buf_free(&b);
	thunk_free(&t);
	free(enc);
	return n;
}

/* The memo of t: o and o2 with these values; stderr if not NULL. */
static void ran(const struct gg_name *t, const struct gg_name *o, const struct gg_name *o2,
                bool exec, const char *stderr_text)
{
	struct memo m = {0};
	memo_add(&m, "o", o, exec);
	memo_add(&m, "o2", o2, false);
	if (stderr_text) {
		m.stderr_value = value(stderr_text);
		m.has_stderr = true;
	}
	CHECK(memo_put(store, t, &m) == 0);
	memo_free(&m);
}

/* `gg log` of T#OUTPUT (output NULL: the thunk's name alone). */
static int log_of(const struct gg_name *t, const char *output)
{
	char *line = output ? xasprintf("log %s#%s", t->s, output) : xasprintf("log %s", t->s);
	int rc = run(cmd_log, line);
	free(line);
	return rc;
}

static void test_succeeded(void)
{
	struct gg_name t = thunk("ok"), v = value("out\n"), v2 = value("out2\n");
	ran(&t, &v, &v2, true, "warning: x"); /* no last newline */
	CHECK(log_of(&t, "o") == 0);
	char *want = xasprintf("%s: succeeded\n  output o (executable): %s\n  output o2: %s\n"
	                       "  stderr:\nwarning: x\n",
	                       t.s, v.s, v2.s);
	CHECK_STR(out, want);
	CHECK_STR(err, "");
	free(want);

	/* nothing on stderr; a placeholder file is its reference */
	struct gg_name q = thunk("quiet");
	ran(&q, &v, &v2, false, NULL);
	struct gg_ref ref = {q, "o2"};
	CHECK(placeholder_write("ph", &ref) == 0);
	CHECK(run(cmd_log, "log ph") == 0);
	want = xasprintf("%s: succeeded\n  output o: %s\n  output o2: %s\n  nothing on stderr\n",
	                 q.s, v.s, v2.s);
	CHECK_STR(out, want);
	free(want);
}

static void test_failed_and_never(void)
{
	struct gg_name t = thunk("failed");
	CHECK(store_log_failure(store, &t, "exited with status 3\n  stderr: boom") ==
	      0); /* as the scheduler: no last newline */
	CHECK(log_of(&t, "o") == 0);
	char *want = xasprintf("%s: failed\nexited with status 3\n  stderr: boom\n", t.s);
	CHECK_STR(out, want);
	free(want);

	struct gg_name n = thunk("never");
	CHECK(log_of(&n, "o") == 1);
	want = xasprintf("%s: no run recorded\n", n.s);
	CHECK_STR(out, want);
	free(want);

	CHECK(write_file_atomic("plain", "x\n", 2, 0644) == 0);
	CHECK(run(cmd_log, "log plain") == 1);
	CHECK(strstr(err, "plain is an ordinary file, not a placeholder") && !*out);

	/* a value: nothing ran, so no run was recorded (1) */
	struct gg_name v = value("v\n");
	char *line = xasprintf("log %s", v.s);
	CHECK(run(cmd_log, line) == 1);
	want = xasprintf("%s is a value, not a thunk's output: nothing ran\n", v.s);
	CHECK_STR(out, want);
	free(want);
	free(line);
}

/* The failure record of t, as a path in the store. */
static char *record_of(const struct gg_name *t)
{
	return xasprintf("%s/.gg/log/%.2s/%s", dir, t->s + 1, t->s);
}

static void test_unreadable_record(void)
{
	/* damaged (a byte changed): said so, with the file; not "no run" */
	struct gg_name t = thunk("damaged");
	CHECK(store_log_failure(store, &t, "exited with status 1") == 0);
	char *path = record_of(&t);
	struct buf b = BUF_INIT;
	CHECK(read_file(path, &b, 1 << 20) == 0);
	b.data[b.len / 2] ^= 1;
	CHECK(write_file_atomic(path, b.data, b.len, 0644) == 0);
	CHECK(log_of(&t, "o") == 3);
	char *want = xasprintf("gg: unreadable failure record %s: damaged (its checksum does not "
	                       "match)\n",
	                       path);
	CHECK_STR(err, want);
	CHECK(!strstr(out, "no run recorded") && !strstr(out, "failed"));
	free(want);
	free(path);

	/* one that cannot be read (a directory there): the file and the cause */
	struct gg_name d = thunk("unreadable");
	CHECK(store_log_failure(store, &d, "x") == 0);
	path = record_of(&d);
	CHECK(unlink(path) == 0 && mkdir(path, 0755) == 0);
	CHECK(log_of(&d, "o") == 3);
	CHECK(strstr(err, "unreadable failure record") && strstr(err, path) &&
	      strstr(err, "Is a directory"));
	CHECK(!strstr(out, "no run recorded"));
	CHECK(rmdir(path) == 0);
	free(path);

	/* a sealed record that is not a failure record */
	struct gg_name f = thunk("foreign");
	path = record_of(&f);
	buf_reset(&b);
	buf_adds(&b, "ggmemo 1\nlonger than the magic\n");
	stamp_seal(&b);
	CHECK(store_log_failure(store, &f, "x") == 0); /* makes the directory */
	CHECK(write_file_atomic(path, b.data, b.len, 0644) == 0);
	CHECK(log_of(&f, "o") == 3);
	CHECK(strstr(err, path) && strstr(err, "not a failure record"));
	free(path);
	buf_free(&b);
}

static void test_dynamic(void)
{
	/* top's o2 is the thunk mid, whose primary output o is a value */
	struct gg_name top = thunk("top"), mid = thunk("mid"), v = value("v\n"), w = value("w\n");
	ran(&mid, &v, &w, false, NULL);
	ran(&top, &w, &mid, false, NULL);
	CHECK(log_of(&top, "o2") == 0);
	char *top_part = xasprintf("%s: succeeded\n  output o: %s\n  output o2: %s\n"
	                           "  nothing on stderr\n",
	                           top.s, w.s, mid.s);
	char *mid_part = xasprintf("%s: succeeded\n  output o: %s\n  output o2: %s\n"
	                           "  nothing on stderr\n",
	                           mid.s, v.s, w.s);
	char *want = xasprintf("%s%s", top_part, mid_part);
	CHECK_STR(out, want);
	free(want);
	/* through o, a value: top alone */
	CHECK(log_of(&top, "o") == 0);
	CHECK_STR(out, top_part);

	/* chain's o is the thunk last, which failed; its o2 (mid) is not
	 * followed */
	struct gg_name chain = thunk("chain"), last = thunk("last");
	ran(&chain, &last, &mid, false, NULL);
	CHECK(store_log_failure(store, &last, "killed by signal 9") == 0);
	CHECK(log_of(&chain, "o") == 0);
	want = xasprintf("%s: failed\nkilled by signal 9\n", last.s);
	char *not_mid = xasprintf("%s: succeeded", mid.s);
	CHECK(strstr(out, want) && strstr(out, chain.s) == out && !strstr(out, not_mid));
	free(want);
	free(not_mid);

	/* pending's o is the thunk later, which never ran: TARGET has no
	 * result yet, so no run is recorded for it (1), though pending ran */
	struct gg_name pending = thunk("pending"), later = thunk("later");
	ran(&pending, &later, &v, false, NULL);
	CHECK(log_of(&pending, "o") == 1);
	want = xasprintf("%s: succeeded\n  output o: %s\n  output o2: %s\n  nothing on stderr\n"
	                 "%s: no run recorded\n",
	                 pending.s, later.s, v.s, later.s);
	CHECK_STR(out, want);
	free(want);
	free(top_part);
	free(mid_part);
}

TEST_MAIN(cli_setup, test_succeeded, test_failed_and_never, test_unreadable_record, test_dynamic,
          cli_teardown)
