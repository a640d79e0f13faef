/**
 * @file test_cli_doctor.c
 * Specification of `gg doctor` (gg-doctor(1)) at its entry point
 * (cli_fixture.h): one line per check, in a fixed order (namespaces, fuse,
 * fusermount, allow_other, cgroups, compiler, store, storage, engines), each
 * "ok", "warn" or "FAIL", the check's name in a column of 11 and what it
 * found; below each warning and failure (never below an ok) a line "fix:";
 * a last line counting problems and warnings; exit 0 without failures
 * (warnings allowed), 3 with one, 2 for an argument, --help and -h print the
 * usage (0). The checks set up here, without root or network: a compiler on
 * PATH or none; a healthy store, none at all, a missing subdirectory, a
 * GG_DIR that is a file, a store whose tmp is a file (no file can be made
 * in it), one not writable by you (only when not run as root); no remote storage, a file:// one
 * that answers, an unknown scheme, a redis:// one on a closed port (the password never printed); no
 * engines, local, unchecked ones, a malformed GG_ENGINE, slurm with and without sbatch on PATH,
 * http workers that answer GET /health with 200, with 404, or not at all. The machine's own checks
 * (namespaces, /dev/fuse, cgroups...) are only held to the format.
 */
#include "cli_fixture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

static const char *const checks[] = {"namespaces", "fuse",  "fusermount", "allow_other", "cgroups",
                                     "compiler",   "store", "storage",    "engines"};

static char *root;     /* the fixture's store, as doctor names it (real path) */
static char *bin;      /* an empty directory for a PATH of fake programs */
static char *old_path; /* PATH as the test found it */

static void setup(void)
{
	cli_setup();
	root = realpath(".gg", NULL);
	CHECK(root != NULL);
	bin = xasprintf("%s/bin", dir);
	CHECK(mkdir(bin, 0755) == 0);
	old_path = xstrdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	unsetenv("GG_STORAGE");
	unsetenv("GG_ENGINE");
}

static void teardown(void)
{
	setenv("PATH", old_path, 1);
	free(old_path);
	free(bin);
	free(root);
	cli_teardown();
}

/* Whether the last output has the whole line(s) `want` (ending in '\n'). */
static bool has(const char *want)
{
	size_t n = strlen(want);
	for (const char *p = out; *p; p = strchr(p, '\n') + 1) {
		if (!strncmp(p, want, n))
			return true;
		if (!strchr(p, '\n'))
			break;
	}
	return false;
}

/* The line of check `name` in the last output (a copy, without its '\n'),
 * with the line below it if that is a fix. */
static char *line_of(const char *name)
{
	for (const char *p = out; *p;) {
		const char *e = strchr(p, '\n');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n > 6 && !strncmp(p + 6, name, strlen(name)) && p[6 + strlen(name)] == ' ') {
			if (e && !strncmp(e + 1, "      fix: ", 11)) {
				const char *e2 = strchr(e + 1, '\n');
				n = e2 ? (size_t)(e2 - p) : strlen(p);
			}
			return xstrndup(p, n);
		}
		if (!e)
			break;
		p = e + 1;
	}
	return xstrdup("");
}

/*
 * The format every run must have, whatever this machine is like: the nine
 * checks in order (a check may have several lines, as engines), each tagged,
 * a fix exactly below warnings and failures, the summary counting them, and
 * the exit status that goes with it. Returns the number of failures.
 */
static int check_format(int rc)
{
	int fails = 0, warns = 0, fixes = 0;
	size_t next = 0;
	bool want_fix = false, summary = false;
	char *copy = xstrdup(out), *save = NULL;
	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		CHECK(!summary); /* the summary is the last line */
		if (!strncmp(l, "      fix: ", 11)) {
			CHECK(want_fix);
			want_fix = false;
			fixes++;
			continue;
		}
		CHECK(!want_fix);
		if (!strncmp(l, "gg doctor: ", 11)) {
			summary = true;
			char *want =
			    fails ? xasprintf("gg doctor: %d problem%s, %d warning%s", fails,
			                      fails == 1 ? "" : "s", warns, warns == 1 ? "" : "s")
			          : xasprintf("gg doctor: no problems, %d warning%s", warns,
			                      warns == 1 ? "" : "s");
			CHECK_STR(l, want);
			free(want);
			continue;
		}
		bool ok = !strncmp(l, "ok    ", 6), warn = !strncmp(l, "warn  ", 6),
		     fail = !strncmp(l, "FAIL  ", 6);
		CHECK(ok || warn || fail);
		fails += fail;
		warns += warn;
		want_fix = warn || fail;
		/* the name in a column of 11, then what was found */
		size_t len = strcspn(l + 6, " ");
		CHECK(strlen(l) > 18 && (len >= 11 || l[6 + 11] == ' ') && l[6 + 12] != ' ');
		if (next > 0 && strlen(checks[next - 1]) == len &&
		    !strncmp(l + 6, checks[next - 1], len))
			continue; /* another line of the same check */
		CHECK(next < GG_ARRAY_LEN(checks) && strlen(checks[next]) == len &&
		      !strncmp(l + 6, checks[next], len));
		next++;
	}
	CHECK(!want_fix && summary && next == GG_ARRAY_LEN(checks));
	CHECK(fixes == fails + warns);
	CHECK(rc == (fails ? 3 : 0));
	CHECK_STR(err, "");
	free(copy);
	return fails;
}

static void test_help_and_usage(void)
{
	CHECK(run(cmd_doctor, "doctor --help") == 0);
	CHECK(!strncmp(out, "usage: gg doctor\n", 17) && strstr(out, "ok, warn or FAIL") &&
	      strstr(out, "3 when a check failed") && !*err);
	CHECK(!strstr(out, "gg doctor: ")); /* no check ran */
	CHECK(run(cmd_doctor, "doctor -h") == 0 && !strncmp(out, "usage: gg doctor\n", 17));
	CHECK(run(cmd_doctor, "doctor extra") == 2);
	CHECK(!*out && strstr(err, "usage: gg doctor\n") &&
	      strstr(err, "doctor: unexpected argument 'extra'"));
}

/* With a healthy store and nothing remote: the three checks this test
 * controls say ok, with what they found. */
static void test_healthy(void)
{
	int rc = run(cmd_doctor, "doctor");
	check_format(rc);
	char *want = xasprintf("ok    store       %s: readable and writable by you\n", root);
	CHECK(has(want));
	free(want);
	CHECK(has("ok    storage     no remote storage configured (GG_STORAGE)\n"));
	CHECK(has("ok    engines     none configured (GG_ENGINE): thunks run here\n"));
	/* it made and removed its file in tmp */
	char *tmp = xasprintf("%s/tmp", root);
	struct buf b = BUF_INIT;
	CHECK(read_file(tmp, &b, 16) < 0 && errno == EISDIR);
	buf_free(&b);
	free(tmp);
	CHECK(run(cmd_doctor, "doctor") == rc); /* the same again */
}

static void fake_program(const char *name)
{
	char *p = xasprintf("%s/%s", bin, name);
	CHECK(write_file_atomic(p, "#!/bin/sh\nexit 0\n", 17, 0755) == 0);
	free(p);
}

static void test_compiler(void)
{
	/* none on PATH: a failure, and so exit 3 */
	setenv("PATH", bin, 1);
	CHECK(run(cmd_doctor, "doctor") == 3);
	CHECK(check_format(3) >= 1);
	char *got = line_of("compiler");
	CHECK_STR(got,
	          "FAIL  compiler    no C compiler (cc, gcc or clang) on PATH: gg infer of a C "
	          "build and make demo need one\n      fix: apt-get install gcc "
	          "(tools/deps.sh installs what building and the demo need), or put your "
	          "compiler's directory on PATH");
	free(got);

	/* a file that is not executable is no compiler */
	char *p = xasprintf("%s/cc", bin);
	CHECK(write_file_atomic(p, "x", 1, 0644) == 0);
	CHECK(run(cmd_doctor, "doctor") == 3 && has("FAIL  compiler    no C compiler"));
	CHECK(unlink(p) == 0);

	/* each one found is listed, in the order cc, gcc, clang */
	fake_program("clang");
	fake_program("cc");
	int rc = run(cmd_doctor, "doctor");
	check_format(rc);
	char *want = xasprintf("ok    compiler    %s/cc, %s/clang\n", bin, bin);
	CHECK(has(want));
	free(want);
	fake_program("gcc");
	run(cmd_doctor, "doctor");
	want = xasprintf("ok    compiler    %s/cc, %s/gcc, %s/clang\n", bin, bin, bin);
	CHECK(has(want));
	free(want);
	free(p);
	setenv("PATH", old_path, 1);
}

static const char store_fix[] =
    "use a store of your own (gg init DIR, or GG_DIR=DIR); see gg-store(5)";

static void test_store(void)
{
	/* a subdirectory missing (the store is otherwise complete, so opening
	 * it does not make it again): a failure naming it, and mkdir as fix */
	char *objects = xasprintf("%s/objects", root);
	CHECK(rename(objects, "objects.away") == 0);
	CHECK(run(cmd_doctor, "doctor") == 3);
	check_format(3);
	char *want = xasprintf("FAIL  store       %s: No such file or directory\n      fix: mkdir "
	                       "%s, or use a store of your own (gg init DIR, or GG_DIR=DIR)\n",
	                       objects, objects);
	CHECK(has(want));
	free(want);
	CHECK(rename("objects.away", objects) == 0);

	/* not writable by you: only a user other than root can see it */
	if (geteuid() != 0) {
		CHECK(chmod(objects, 0500) == 0);
		CHECK(run(cmd_doctor, "doctor") == 3);
		want = xasprintf("FAIL  store       %s: not writable by you (owner uid %u, mode "
		                 "0500)\n      fix: chown -R %u %s (as root), or use a store of "
		                 "your own (gg init DIR, or GG_DIR=DIR)\n",
		                 objects, (unsigned)geteuid(), (unsigned)geteuid(), root);
		CHECK(has(want));
		free(want);
		CHECK(chmod(objects, 0755) == 0);
	}
	free(objects);

	/* GG_DIR a file: the store cannot be opened, a failure */
	CHECK(write_file_atomic("plain", "x\n", 2, 0644) == 0);
	char *plain = xasprintf("%s/plain", dir);
	setenv("GG_DIR", plain, 1);
	CHECK(run(cmd_doctor, "doctor") == 3);
	check_format(3);
	char *got = line_of("store");
	want = xasprintf("FAIL  store       store %s is not a directory", plain);
	CHECK(!strncmp(got, want, strlen(want)));
	CHECK(strstr(got, store_fix) != NULL);
	free(want);
	free(got);

	/* a store whose tmp is a file (executable, so that access(2) alone
	 * would take it for a directory you may use): said so, with the fix */
	CHECK(mkdir("damaged", 0755) == 0 && store_create("damaged") == 0);
	CHECK(remove_tree("damaged/tmp") == 0);
	CHECK(write_file_atomic("damaged/tmp", "x", 1, 0755) == 0);
	char *damaged = xasprintf("%s/damaged", dir);
	setenv("GG_DIR", damaged, 1);
	CHECK(run(cmd_doctor, "doctor") == 3);
	check_format(3);
	got = line_of("store");
	want = xasprintf("FAIL  store       %s/tmp: not a directory\n      fix: move the file "
	                 "aside and mkdir %s/tmp, or use a store of your own (gg init DIR, or "
	                 "GG_DIR=DIR)",
	                 damaged, damaged);
	CHECK_STR(got, want);
	free(want);
	free(got);
	free(damaged);

	/* no store at all: fine (gg init makes one) */
	unsetenv("GG_DIR");
	char tmpl[] = "/tmp/gg-test-doctor-XXXXXX";
	CHECK(mkdtemp(tmpl) != NULL && chdir(tmpl) == 0);
	struct stat st;
	if (stat("/tmp/.gg", &st) < 0 && stat("/.gg", &st) < 0) {
		int rc = run(cmd_doctor, "doctor");
		check_format(rc);
		/* (why there is none: for a user other than root, the search stops at
		 * /tmp, which is not theirs) */
		CHECK(has("ok    store       none: no .gg directory "));
		CHECK(stat(".gg", &st) < 0); /* and it made none */
	}
	/* GG_DIR naming a directory that does not exist: every other command
	 * fails on it, so doctor does too (no store is fine only unnamed) */
	char *nope = xasprintf("%s/nope", tmpl);
	setenv("GG_DIR", nope, 1);
	CHECK(run(cmd_doctor, "doctor") == 3);
	got = line_of("store");
	want = xasprintf("FAIL  store       store %s is not a directory", nope);
	CHECK(!strncmp(got, want, strlen(want)));
	free(want);
	free(got);
	free(nope);
	CHECK(chdir(dir) == 0 && rmdir(tmpl) == 0);
	setenv("GG_DIR", root, 1);
	free(plain);
}

static const char storage_fix[] =
    "      fix: check GG_STORAGE (the environment or the configuration file, gg(1)) and, for "
    "s3://, GG_S3_ENDPOINT and the credentials; gg remote-has URI NAME asks the same";

static void test_storage(void)
{
	/* a directory: one object asked for, and it answers */
	char *uri = xasprintf("file://%s/remote", dir);
	setenv("GG_STORAGE", uri, 1);
	int rc = run(cmd_doctor, "doctor");
	check_format(rc);
	char *want = xasprintf("ok    storage     %s answers\n", uri);
	CHECK(has(want));
	free(want);
	free(uri);

	/* a scheme it does not know: a failure with the fix */
	setenv("GG_STORAGE", "bogus://x", 1);
	CHECK(run(cmd_doctor, "doctor") == 3);
	check_format(3);
	char *got = line_of("storage");
	want = xasprintf("FAIL  storage     bogus: unknown storage scheme (known: s3, redis, "
	                 "file)\n%s",
	                 storage_fix);
	CHECK_STR(got, want);
	free(want);
	free(got);

	/* opened, but nobody answers (a closed port): named without the
	 * password */
	setenv("GG_STORAGE", "redis://user:secret@127.0.0.1:1", 1);
	CHECK(run(cmd_doctor, "doctor") == 3);
	check_format(3);
	got = line_of("storage");
	CHECK(!strncmp(got, "FAIL  storage     redis://127.0.0.1:1 does not answer: ", 54));
	CHECK(strstr(got, storage_fix) != NULL);
	CHECK(!strstr(out, "secret"));
	free(got);
	unsetenv("GG_STORAGE");
}

/* A one-connection-at-a-time HTTP server on 127.0.0.1 answering GET /health
 * with `status` and anything else with 404; its port in *port. */
static pid_t serve(int status, int *port)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	CHECK(s >= 0 && bind(s, (struct sockaddr *)&a, sizeof a) == 0 && listen(s, 8) == 0 &&
	      getsockname(s, (struct sockaddr *)&a, &len) == 0);
	*port = ntohs(a.sin_port);
	fflush(NULL);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		for (;;) {
			int c = accept(s, NULL, NULL);
			if (c < 0)
				_exit(1);
			char req[4096];
			ssize_t n = read(c, req, sizeof req - 1);
			req[n > 0 ? n : 0] = 0;
			int code = !strncmp(req, "GET /health ", 12) ? status : 404;
			char resp[128];
			int m = snprintf(resp, sizeof resp,
			                 "HTTP/1.1 %d X\r\nContent-Length: 2\r\nConnection: "
			                 "close\r\n\r\nok",
			                 code);
			if (write(c, resp, (size_t)m) != m)
				_exit(1);
			close(c);
		}
	}
	close(s);
	return pid;
}

static void stop(pid_t pid)
{
	CHECK(kill(pid, SIGKILL) == 0 && waitpid(pid, NULL, 0) == pid);
}

static void test_engines(void)
{
	/* local, a limit, and engines doctor does not check: ok */
	setenv("GG_ENGINE", "local 4:lambda", 1);
	int rc = run(cmd_doctor, "doctor");
	check_format(rc);
	CHECK(has("ok    engines     local: thunks run here\n"
	          "ok    engines     lambda: not checked by gg doctor\n"));

	/* a malformed GG_ENGINE: a failure, named once (and nothing leaked:
	 * the sanitizers' run checks that) */
	setenv("GG_ENGINE", "local 0:local", 1);
	CHECK(run(cmd_doctor, "doctor") == 3);
	check_format(3);
	char *bad_spec = line_of("engines");
	CHECK_STR(bad_spec, "FAIL  engines     GG_ENGINE: bad limit '0' in '0:local'\n"
	                    "      fix: see ENGINES in gg-force(1)");
	free(bad_spec);

	/* slurm needs sbatch on PATH */
	setenv("PATH", bin, 1);
	setenv("GG_ENGINE", "slurm", 1);
	CHECK(run(cmd_doctor, "doctor") == 3);
	check_format(3);
	char *got = line_of("engines");
	CHECK_STR(got, "FAIL  engines     slurm: sbatch is not on PATH\n      fix: apt-get "
	               "install slurm-client, or put sbatch on PATH");
	free(got);
	fake_program("sbatch");
	fake_program("cc");
	rc = run(cmd_doctor, "doctor");
	check_format(rc);
	char *want = xasprintf("ok    engines     slurm: %s/sbatch\n", bin);
	CHECK(has(want));
	free(want);
	setenv("PATH", old_path, 1);

	/* http workers: GET /health of each (the path of its URL replaced),
	 * 200 ok; another status or no answer a failure */
	int good, bad, closed;
	pid_t g = serve(200, &good), b = serve(500, &bad), c = serve(200, &closed);
	stop(c); /* its port now refuses */
	char *list = xasprintf("http=http://127.0.0.1:%d/execute,http://127.0.0.1:%d/execute "
	                       "http=http://127.0.0.1:%d",
	                       good, bad, closed);
	setenv("GG_ENGINE", list, 1);
	CHECK(run(cmd_doctor, "doctor") == 3);
	check_format(3);
	want = xasprintf("ok    engines     http worker http://127.0.0.1:%d/execute answers\n"
	                 "FAIL  engines     http worker http://127.0.0.1:%d/execute does not "
	                 "answer: http://127.0.0.1:%d/health: HTTP 500 (not a gg worker?)\n"
	                 "      fix: start the worker (gg worker --listen ADDR:PORT, gg-worker(1)) "
	                 "or correct GG_ENGINE\n"
	                 "FAIL  engines     http worker http://127.0.0.1:%d does not answer: "
	                 "http://127.0.0.1:%d/health: ",
	                 good, bad, bad, closed, closed);
	CHECK(has(want));
	free(want);
	free(list);

	/* one worker that answers: no problem from engines */
	list = xasprintf("http=http://127.0.0.1:%d/execute", good);
	setenv("GG_ENGINE", list, 1);
	rc = run(cmd_doctor, "doctor");
	check_format(rc);
	got = line_of("engines");
	want = xasprintf("ok    engines     http worker http://127.0.0.1:%d/execute answers", good);
	CHECK_STR(got, want);
	free(want);
	free(got);
	free(list);
	stop(g);
	stop(b);
	unsetenv("GG_ENGINE");
}

TEST_MAIN(setup, test_help_and_usage, test_healthy, test_compiler, test_store, test_storage,
          test_engines, teardown)
