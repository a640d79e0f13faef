/**
 * @file test_cli_args.c
 * Specification of how gg's commands read their arguments (gg(1), EXIT
 * STATUS: a usage error is 2 for every command, and the message names the
 * option or argument): gg gc's unknown option and --max-size without its
 * SIZE named as such, not as a bad size; gg log, describe, cat and hash
 * refuse an unknown option (2, naming it, and the usage) rather than take
 * it for a file, take "--" before an operand that starts with '-', and
 * describe's --json before or after TARGET; gg thunk's statuses: 2 usage, 1
 * a thunk that breaks a rule, 3 an input that cannot be read; gg push's
 * --force (-f) before or after the operands and "--", gg pull's --outputs
 * likewise (pull, remote-has and remote-migrate refuse an unknown option,
 * pull reads names from stdin for "-"), gg gc's short -s and
 * long-only options; gg init's unknown option named. The commands' entry
 * points run in this process (cli_fixture.h), one after another: each
 * starts getopt afresh, even after one that stopped inside "-hZ".
 */
#include "cli_fixture.h"
#include "tools/infer/infer.h"

#include <sys/stat.h>

static void test_gc(void)
{
	/* an unknown option: named by getopt, then the usage; no size was given */
	CHECK(run(cmd_gc, "gc --bogus") == 2);
	CHECK(strstr(err, "unrecognized option '--bogus'") && strstr(err, "usage: gg gc"));
	CHECK(!strstr(err, "bad size"));
	/* --max-size without its SIZE: so said, not a bad size '?' */
	CHECK(run(cmd_gc, "gc --max-size") == 2);
	CHECK(strstr(err, "option '--max-size' requires an argument") && !strstr(err, "bad size"));
	CHECK(run(cmd_gc, "gc -s") == 2);
	CHECK(strstr(err, "requires an argument") && !strstr(err, "bad size"));
	/* a bad SIZE is named */
	CHECK(run(cmd_gc, "gc --max-size zz") == 2);
	CHECK(strstr(err, "gc: bad size 'zz'"));
	CHECK(run(cmd_gc, "gc --max-size 1G extra") == 2);
	CHECK(strstr(err, "usage: gg gc --max-size SIZE"));
	CHECK(run(cmd_gc, "gc --max-size 1G") == 0);
	CHECK(!strncmp(out, "removed 0 objects", 17) && !*err);
	CHECK(run(cmd_gc, "gc --help") == 0);
	CHECK(!strncmp(out, "usage: gg gc --max-size SIZE\n", 29) && !*err);
}

static void test_operands(void)
{
	CHECK(write_file_atomic("-f", "dash\n", 5, 0644) == 0);
	CHECK(write_file_atomic("plain", "plain\n", 6, 0644) == 0);
	static const struct {
		int (*cmd)(int, char **);
		const char *name, *usage;
	} cmds[] = {{cmd_log, "log", "usage: gg log TARGET"},
	            {cmd_describe, "describe", "usage: gg describe [--json] TARGET"},
	            {cmd_cat, "cat", "usage: gg cat TARGET"},
	            {cmd_hash, "hash", "usage: gg hash FILE..."}};
	for (size_t i = 0; i < GG_ARRAY_LEN(cmds); i++) {
		/* an unknown option: a usage error naming it, not a file not found */
		char *line = xasprintf("%s --bogus", cmds[i].name);
		CHECK(run(cmds[i].cmd, line) == 2);
		CHECK(strstr(err, "unrecognized option '--bogus'") && strstr(err, cmds[i].usage));
		free(line);
		line = xasprintf("%s --bogus plain", cmds[i].name); /* not ignored */
		CHECK(run(cmds[i].cmd, line) == 2 && strstr(err, "unrecognized option '--bogus'"));
		free(line);
		line = xasprintf("%s -- -f --bogus", cmds[i].name); /* "--": operands only */
		int rc = run(cmds[i].cmd, line);
		CHECK(!strstr(err, "unrecognized option"));
		CHECK(cmds[i].cmd == cmd_hash ? rc == 3 : rc == 2);
		free(line);
		line = xasprintf("%s --help", cmds[i].name);
		CHECK(run(cmds[i].cmd, line) == 0 && strstr(out, cmds[i].usage) == out && !*err);
		free(line);
	}
	/* an operand that starts with '-', after "--" */
	CHECK(run(cmd_cat, "cat -- -f") == 0);
	CHECK_STR(out, "dash\n");
	CHECK(run(cmd_log, "log -- -f") == 1);
	CHECK(strstr(err, "-f is an ordinary file, not a placeholder"));
	CHECK(run(cmd_describe, "describe -- -f") == 1);
	CHECK(strstr(err, "-f is an ordinary file, not a placeholder"));
	CHECK(run(cmd_hash, "hash -- -f") == 0);
	struct gg_name v;
	gg_name_of_buf("dash\n", 5, GG_VALUE, &v);
	char *want = xasprintf("%s\n", v.s);
	CHECK_STR(out, want);
	free(want);
	/* two files: each named after its object name */
	CHECK(run(cmd_hash, "hash -- -f -f") == 0);
	want = xasprintf("%s  -f\n%s  -f\n", v.s, v.s);
	CHECK_STR(out, want);
	free(want);
	/* --json after TARGET */
	char *line = xasprintf("describe %s --json", v.s);
	CHECK(run(cmd_describe, line) == 0);
	want =
	    xasprintf("{\"name\":\"%s\",\"kind\":\"value\",\"size\":5,\"in_store\":false}\n", v.s);
	CHECK_STR(out, want);
	free(want);
	free(line);
	line = xasprintf("describe --json %s", v.s);
	CHECK(run(cmd_describe, line) == 0 && strstr(out, "\"kind\":\"value\""));
	free(line);
}

/* gg thunk's exit status is the failure's kind (gg(1)), as for the other
 * commands: 2 usage, 1 a thunk that cannot be made as asked, 3 a file that
 * cannot be read; not 1 for all that is not usage. */
static void test_thunk(void)
{
	CHECK(write_file_atomic("prog", "#!/bin/sh\n", 10, 0755) == 0);
	CHECK(write_file_atomic("data", "data\n", 5, 0644) == 0);
	/* usage: no -o, a bad -e, an unknown option (named) */
	CHECK(run(cmd_thunk, "thunk -i prog -- prog") == 2 && strstr(err, "-o PATH"));
	CHECK(run(cmd_thunk, "thunk -e =x -o out -- prog") == 2 && strstr(err, "NAME=VALUE"));
	CHECK(run(cmd_thunk, "thunk --bogus -o out -- prog") == 2);
	CHECK(strstr(err, "unrecognized option '--bogus'"));
	/* an input that is not there: this machine's files, 3 */
	CHECK(run(cmd_thunk, "thunk -i prog -i in=missing -o out -- prog") == 3);
	CHECK(strstr(err, "missing") && strstr(err, "No such file") && !*out);
	/* a thunk that breaks a rule: an absolute path, an output that is an
	 * input; a program that is not on PATH: 1 */
	CHECK(run(cmd_thunk, "thunk -i prog -i /abs=data -o out -- prog") == 1);
	CHECK(strstr(err, "absolute paths are not allowed") && !*out);
	CHECK(run(cmd_thunk, "thunk -i prog -i data -o data -- prog") == 1);
	CHECK(strstr(err, "output 'data' clashes with input 'data'"));
	CHECK(run(cmd_thunk, "thunk -o out -- gg-no-such-program") == 1);
	CHECK(strstr(err, "gg-no-such-program: not found on PATH"));
	/* made: its name */
	CHECK(run(cmd_thunk, "thunk -i prog -o out -- prog") == 0 && !*err);
	CHECK(out[0] == 'T' && strlen(out) == GG_NAME_LEN + 1);
}

/* gg push's --force (or -f) anywhere among the operands, "--" before an
 * operand that starts with '-', an unknown option named (2); a bad remote
 * store refused before any FILE is read */
static void test_push(void)
{
	CHECK(run(cmd_push, "push --bogus file:///nowhere plain") == 2);
	CHECK(strstr(err, "unrecognized option '--bogus'") && strstr(err, "usage: gg push"));
	CHECK(run(cmd_push, "push --force") == 2 && strstr(err, "usage: gg push"));
	CHECK(run(cmd_push, "push --help") == 0 && strstr(out, "usage: gg push") == out && !*err);
	char *remote = xasprintf("%s/remote", dir);
	CHECK(mkdir(remote, 0755) == 0);
	struct gg_name v;
	gg_name_of_buf("dash\n", 5, GG_VALUE, &v);
	char *want = xasprintf("%s  -f\n", v.s);
	char *line = xasprintf("push -- file://%s -f", remote); /* "-f": a file */
	CHECK(run(cmd_push, line) == 0);
	CHECK_STR(out, want);
	CHECK(strstr(err, "pushed 1 of 1 objects"));
	free(line);
	/* after the operands: an option, not a file named "--force" */
	line = xasprintf("push file://%s plain --force", remote);
	CHECK(run(cmd_push, line) == 0 && strstr(err, "pushed 1 of 1 objects"));
	CHECK(strstr(out, "  plain\n"));
	free(line);
	line = xasprintf("push file://%s -f --force", remote);
	CHECK(run(cmd_push, line) == 2 && strstr(err, "usage: gg push"));
	free(line);
	/* a bad setting of the remote store: the first thing said, before any
	 * FILE is added to the local store and its name printed */
	CHECK(write_file_atomic("fresh", "fresh\n", 6, 0644) == 0);
	struct gg_name fresh;
	gg_name_of_buf("fresh\n", 6, GG_VALUE, &fresh);
	setenv("GG_STORAGE_RETRIES", "abc", 1);
	CHECK(run(cmd_push, "push redis://127.0.0.1:1 fresh") != 0);
	unsetenv("GG_STORAGE_RETRIES");
	CHECK(!*out && strstr(err, "gg: redis://127.0.0.1:1: GG_STORAGE_RETRIES") == err);
	CHECK(store_has(store, &fresh) == 0);
	free(want);
	free(remote);
}

/* Runs cmd with the words of line and its standard input read from path. */
static int run_from(const char *path, int (*cmd)(int, char **), const char *line)
{
	int in = open(path, O_RDONLY | O_CLOEXEC), saved = dup(0);
	CHECK(in >= 0 && saved >= 0 && dup2(in, 0) == 0);
	close(in);
	int rc = run(cmd, line);
	CHECK(dup2(saved, 0) == 0);
	close(saved);
	clearerr(stdin);
	return rc;
}

/* gg pull's --outputs before or after the operands, an unknown option named
 * (2) as for push, "-" still the names on stdin; remote-has and
 * remote-migrate refuse an unknown option the same way */
static void test_pull(void)
{
	CHECK(run(cmd_pull, "pull --bogus file:///nowhere") == 2);
	CHECK(strstr(err, "unrecognized option '--bogus'") && strstr(err, "usage: gg pull"));
	CHECK(run(cmd_pull, "pull -x file:///nowhere") == 2 && strstr(err, "invalid option"));
	CHECK(run(cmd_pull, "pull --outputs") == 2 && strstr(err, "usage: gg pull") == err);
	CHECK(run(cmd_pull, "pull --help") == 0 && strstr(out, "usage: gg pull") == out && !*err);
	CHECK(run(cmd_pull, "pull -h") == 0 && strstr(out, "usage: gg pull") == out);
	CHECK(run(cmd_remote_has, "remote-has --bogus file:///nowhere") == 2);
	CHECK(strstr(err, "unrecognized option '--bogus'") && strstr(err, "usage: gg remote-has"));
	CHECK(run(cmd_remote_migrate, "remote-migrate --bogus file:///nowhere") == 2);
	CHECK(strstr(err, "unrecognized option '--bogus'") &&
	      strstr(err, "usage: gg remote-migrate"));

	/* an object only the remote store (file://, laid out DIR/ab/NAME) has */
	struct gg_name v;
	gg_name_of_buf("remote only\n", 12, GG_VALUE, &v);
	char *obj = xasprintf("%s/pulled/%.2s/%s", dir, v.s + 1, v.s);
	char *sub = xasprintf("%s/pulled/%.2s", dir, v.s + 1);
	CHECK(mkdir_p(sub, 0755) == 0);
	CHECK(write_file_atomic(obj, "remote only\n", 12, 0644) == 0);
	CHECK(store_has(store, &v) == 0);
	char *names = xasprintf("%s\n", v.s);
	CHECK(write_file_atomic("names", names, strlen(names), 0644) == 0);
	char *line = xasprintf("pull file://%s/pulled -", dir);
	CHECK(run_from("names", cmd_pull, line) == 0);
	CHECK(strstr(err, "pulled 1 of 1 objects") && store_has(store, &v) == 1);
	free(line);
	line = xasprintf("remote-has file://%s/pulled %s", dir, v.s);
	CHECK(run(cmd_remote_has, line) == 0);
	CHECK(strstr(out, "present ") == out && strstr(out, v.s));
	free(line);

	/* --outputs: the values the memo records for a thunk, not the thunk */
	struct gg_name t;
	gg_name_of_buf("a thunk", 7, GG_THUNK, &t);
	struct memo m = {0};
	memo_add(&m, "out", &v, false);
	CHECK(memo_put(store, &t, &m) == 0);
	memo_free(&m);
	line = xasprintf("pull --outputs file://%s/pulled %s", dir, t.s);
	CHECK(run(cmd_pull, line) == 0);
	CHECK(strstr(err, "pulled 0 of 1 objects") && strstr(err, "(1 already here)"));
	free(line);
	line = xasprintf("pull file://%s/pulled %s --outputs", dir, t.s); /* after them */
	CHECK(run(cmd_pull, line) == 0 && strstr(err, "pulled 0 of 1 objects"));
	free(line);
	line = xasprintf("pull file://%s/pulled %s", dir, t.s);           /* the thunk itself */
	CHECK(run(cmd_pull, line) == 3 && strstr(err, "not in file://")); /* missing: 3 */
	free(line);
	/* targets, not names: a file is refused as such */
	line = xasprintf("pull --outputs file://%s/pulled names", dir);
	CHECK(run(cmd_pull, line) == 2 && strstr(err, "names: not a thunk or a placeholder"));
	free(line);
	free(names);
	free(sub);
	free(obj);
}

/* gg gc's options: -s is --max-size; --storage and --grace have no short
 * form, --remote and --dry-run are flags */
static void test_gc_options(void)
{
	CHECK(run(cmd_gc, "gc -s 1G") == 0 && !strncmp(out, "removed 0 objects", 17));
	CHECK(run(cmd_gc, "gc -r") == 2 && strstr(err, "invalid option -- 'r'"));
	CHECK(run(cmd_gc, "gc -S x --remote") == 2 && strstr(err, "invalid option -- 'S'"));
	CHECK(run(cmd_gc, "gc --storage") == 2);
	CHECK(strstr(err, "option '--storage' requires an argument"));
	CHECK(run(cmd_gc, "gc --dry-run --max-size 1G") == 2);
	CHECK(strstr(err, "(without --max-size)"));
	CHECK(run(cmd_gc, "gc --grace 1d") == 2 && strstr(err, "(without --max-size)"));
}

/* gg init: --shared before or after DIR, an unknown option named (2) */
static void test_init(void)
{
	CHECK(run(cmd_init, "init --bogus") == 2);
	CHECK(strstr(err, "unrecognized option '--bogus'") && strstr(err, "usage: gg init"));
	CHECK(run(cmd_init, "init -x sub") == 2 && strstr(err, "invalid option -- 'x'"));
	CHECK(run(cmd_init, "init sub other") == 2 && strstr(err, "usage: gg init"));
	CHECK(run(cmd_init, "init --help") == 0 && strstr(out, "usage: gg init") == out && !*err);
	CHECK(run(cmd_init, "init sub --shared") == 0 && strstr(out, "initialised store"));
	struct stat st;
	CHECK(stat("sub/.gg", &st) == 0 && (st.st_mode & 07777) == 02770);
	CHECK(run(cmd_init, "init -- priv") == 0 && stat("priv/.gg", &st) == 0);
	CHECK((st.st_mode & 07777) == 0700);
}

/* Each command after one whose getopt stopped inside an option cluster
 * (gc's -hZ: help, Z not read): it starts getopt afresh. With optind 1
 * glibc would go on reading the Z left in the freed words of gc's line
 * (unknown option, 2) and keep gc's ordering, not thunk's "+". */
static void test_after_another(void)
{
	static const struct {
		int (*cmd)(int, char **);
		const char *line, *usage;
	} cmds[] = {{cmd_fsck, "fsck --help", "usage: gg fsck"},
	            {cmd_report, "report --help", "usage: gg report"},
	            {cmd_force, "force --help", "usage: gg force"},
	            {cmd_worker, "worker --help", "usage: gg worker"},
	            {cmd_thunk, "thunk --help", "usage: gg thunk"},
	            {cmd_infer, "infer --help", "usage: gg infer"},
	            {cmd_model_generic, "model-generic --help", "usage: gg model-generic"},
	            {cmd_init, "init --help", "usage: gg init"}};
	for (size_t i = 0; i < GG_ARRAY_LEN(cmds); i++) {
		CHECK(run(cmd_gc, "gc --max-size 1G -hZ") == 0 &&
		      strstr(out, "usage: gg gc") == out);
		CHECK(run(cmds[i].cmd, cmds[i].line) == 0 && !*err);
		CHECK(strstr(out, cmds[i].usage) == out);
	}
	/* thunk's options end at PROGRAM ("+"): --bogus is the program's */
	CHECK(run(cmd_gc, "gc --max-size 1G -hZ") == 0);
	CHECK(run(cmd_thunk, "thunk -o out gg-no-such-program --bogus") == 1);
	CHECK(strstr(err, "gg-no-such-program: not found on PATH"));
	/* fsck's -q, report's --top: read, not an unknown option */
	CHECK(run(cmd_gc, "gc --max-size 1G -hZ") == 0);
	CHECK(run(cmd_fsck, "fsck -q") == 0 && strstr(out, "0 damaged"));
	CHECK(run(cmd_report, "report --top zz trace.json") == 2);
	CHECK(strstr(err, "--top zz: expected a number"));
	CHECK(run(cmd_report, "report --svg") == 2);
	CHECK(strstr(err, "option '--svg' requires an argument") &&
	      strstr(err, "usage: gg report"));
}

TEST_MAIN(cli_setup, test_gc, test_operands, test_thunk, test_push, test_pull, test_gc_options,
          test_init, test_after_another, cli_teardown)
