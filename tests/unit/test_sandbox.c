/**
 * @file test_sandbox.c
 * sandbox.c: exit status and signals passed through, stdout/stderr captured,
 * outputs appear on the host while mount points vanish, undeclared host
 * files and the host's network are unreachable, timeouts kill the whole
 * namespace, exec failures are errors, the plain-directory mode, inputs that
 * claim /tmp or /dev, rlimits, and concurrent use from several threads;
 * in plain mode, what a program detaches is ended before the run returns.
 * Programs are /bin/sh and bash copied with their closure (closure.c).
 *
 * GG_SANDBOX_BENCH=N additionally times N runs of a static do-nothing
 * program isolated and plain, and prints the per-run overhead.
 */
#include "core/closure.h"
#include "core/sandbox.h"
#include "harness.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char *base;        /* private (0700) directory holding all roots */
static struct closure sh; /* /bin/sh's closure */
static bool isolation;    /* namespaces work here */
static unsigned nroots;
static unsigned copy_failures; /* make_root runs in threads: no CHECK there */

static void write_text(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd >= 0) {
		write_all(fd, text, strlen(text));
		fchmod(fd, mode);
		close(fd);
	}
}

static char *slurp(const char *path)
{
	struct buf b = BUF_INIT;
	if (read_file(path, &b, 1 << 20) < 0) {
		buf_free(&b);
		return xstrdup("(unreadable)");
	}
	return buf_steal(&b);
}

static bool exists(const char *root, const char *rel)
{
	char *p = xasprintf("%s/%s", root, rel);
	struct stat st;
	bool r = lstat(p, &st) == 0;
	free(p);
	return r;
}

/* A fresh root holding closure c as read-only copies (like store inputs). */
static char *make_root(const struct closure *c)
{
	char *root = xasprintf("%s/r%u", base, __atomic_fetch_add(&nroots, 1, __ATOMIC_SEQ_CST));
	mkdir_p(root, 0755);
	for (size_t i = 0; c && i < c->nfiles; i++) {
		char *dst = xasprintf("%s/%s", root, c->files[i].path);
		char *slash = strrchr(dst, '/');
		*slash = 0;
		mkdir_p(dst, 0755);
		*slash = '/';
		struct buf b = BUF_INIT;
		int fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (read_file(c->files[i].host_path, &b, 64u << 20) < 0 || fd < 0 ||
		    write_all(fd, b.data, b.len) < 0) {
			fprintf(stderr, "make_root: cannot copy %s\n", c->files[i].host_path);
			__atomic_add_fetch(&copy_failures, 1, __ATOMIC_SEQ_CST);
		}
		if (fd >= 0) {
			fchmod(fd, c->files[i].exec ? 0555 : 0444);
			close(fd);
		}
		buf_free(&b);
		free(dst);
	}
	return root;
}

struct run {
	int ret;
	struct sandbox_result res;
	char *out, *err;
};

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

/* Runs closure c with extra args in root; captures stdout/stderr. */
static struct run run_in(const char *root, const struct closure *c, char *const *args,
                         uint64_t timeout_ms, bool no_isolation)
{
	struct strvec argv = STRVEC_INIT;
	for (size_t i = 0; i < c->argv_prefix.n; i++)
		strvec_push(&argv, c->argv_prefix.v[i]);
	for (size_t i = 0; args[i]; i++)
		strvec_push(&argv, args[i]);
	char *out = xasprintf("%s.out", root), *err = xasprintf("%s.err", root);
	char *env[] = {"PATH=/nonexistent", "LC_ALL=C", NULL};
	struct sandbox_spec spec = {
	    .root = root,
	    .exe = c->exe,
	    .argv = argv.v,
	    .env = env,
	    .timeout_ms = timeout_ms,
	    .stdout_path = out,
	    .stderr_path = err,
	    .no_isolation = no_isolation,
	};
	struct run r;
	r.ret = sandbox_run(&spec, &r.res);
	r.out = slurp(out);
	r.err = slurp(err);
	unlink(out);
	unlink(err);
	free(out);
	free(err);
	strvec_free(&argv);
	return r;
}

static struct run run_sh(const char *root, const char *script, bool no_isolation)
{
	return run_in(root, &sh, (char *[]){"-c", (char *)script, NULL}, 5000, no_isolation);
}

static bool exited(const struct run *r, int code)
{
	return r->ret == 0 && WIFEXITED(r->res.wait_status) &&
	       WEXITSTATUS(r->res.wait_status) == code;
}

static bool signaled(const struct run *r, int sig)
{
	return r->ret == 0 && WIFSIGNALED(r->res.wait_status) &&
	       WTERMSIG(r->res.wait_status) == sig;
}

static void setup(void)
{
	char tmpl[] = "/tmp/gg-test-sandbox-XXXXXX";
	base = xstrdup(mkdtemp(tmpl));
	chmod(base, 0700); /* roots below a directory the sandbox user cannot enter */
	CHECK(closure_resolve("sh", "sh", NULL, &sh) == 0);
	isolation = sandbox_available();
	if (!isolation) {
		/* never a silent pass: the isolation tests below cannot run */
		harness_failed++;
		fprintf(
		    stderr,
		    "test_sandbox: FAIL: cannot create user, mount and network namespaces here: "
		    "the isolation tests cannot run (unprivileged user namespaces disabled? "
		    "see sysctl kernel.unprivileged_userns_clone)\n");
	}
}

static void test_status_and_stdio(void)
{
	for (int mode = 0; mode < 2; mode++) {
		bool plain = mode == 1;
		if (!plain && !isolation)
			continue;
		char *root = make_root(&sh);
		struct run r = run_sh(root, "echo out; echo err >&2; exit 42", plain);
		CHECK(exited(&r, 42));
		CHECK(r.res.isolated == !plain);
		CHECK(!r.res.timed_out);
		CHECK(r.res.wall_ns > 0);
		CHECK_STR(r.out, "out\n");
		CHECK_STR(r.err, "err\n");
		run_free(&r);

		/* a signal the program sends itself is its wait status */
		r = run_sh(root, "kill -TERM $$; exit 0", plain);
		CHECK(signaled(&r, SIGTERM));
		run_free(&r);
		free(root);
	}
}

static void test_outputs_and_mounts(void)
{
	if (!isolation)
		return;
	char *root = make_root(&sh);
	char *in = xasprintf("%s/in.txt", root);
	write_text(in, "declared input\n", 0444);
	free(in);
	struct run r = run_sh(root,
	                      "read x < in.txt && echo \"$x\" && echo hi > out.txt && "
	                      "test -c /dev/null && test -c /dev/zero && "
	                      "test -c /dev/urandom && echo discard > /dev/null && "
	                      "echo t > /tmp/t && read t < /tmp/t && test \"$t\" = t && "
	                      "test -d /tmp && test ! -e /tmp/../proc/self",
	                      false);
	CHECK(exited(&r, 0));
	CHECK_STR(r.out, "declared input\n");
	CHECK_STR(r.err, "");
	run_free(&r);
	char *p = xasprintf("%s/out.txt", root);
	char *s = slurp(p);
	CHECK_STR(s, "hi\n");
	struct stat st;
	if (geteuid() == 0)
		CHECK(stat(p, &st) == 0 && st.st_uid == 65534); /* written as nobody */
	else
		CHECK(stat(p, &st) == 0 && st.st_uid == geteuid()); /* as the caller */
	free(s);
	free(p);
	/* the mount points are gone: only what the program wrote remains */
	CHECK(!exists(root, "tmp"));
	CHECK(!exists(root, "dev"));
	CHECK(!exists(root, "tmp/t"));
	free(root);
}

static void test_hermetic(void)
{
	if (!isolation)
		return;
	char *root = make_root(&sh);
	/* undeclared host files do not exist inside */
	struct run r = run_sh(root, "read x < /etc/passwd", false);
	CHECK(r.ret == 0 && !exited(&r, 0));
	CHECK(strstr(r.err, "/etc/passwd: No such file") != NULL); /* absent, not unreadable */
	run_free(&r);
	r = run_sh(root, "test -e /usr || test -e /proc/1 || test -e /etc || test -e /bin", false);
	CHECK(exited(&r, 1));
	run_free(&r);
	/* ... while the same command outside the sandbox reads the host's file */
	r = run_sh(root, "read x < /etc/passwd", true);
	CHECK(exited(&r, 0));
	run_free(&r);
	/* no escape by .. from the root */
	r = run_sh(root, "cd ../../../.. && test -e etc/hostname", false);
	CHECK(exited(&r, 1));
	run_free(&r);
	free(root);
}

static void test_network(void)
{
	if (!isolation)
		return;
	struct closure bash;
	if (closure_resolve("bash", "bash", NULL, &bash) < 0) {
		harness_failed++; /* a missing tool is a failure, never a skip */
		fprintf(stderr, "test_network: FAIL: bash is needed (%s)\n", gg_last_error());
		return;
	}
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	CHECK(s >= 0 && bind(s, (struct sockaddr *)&a, sizeof a) == 0 && listen(s, 8) == 0);
	CHECK(getsockname(s, (struct sockaddr *)&a, &len) == 0);
	char *cmd = xasprintf("exec 3<>/dev/tcp/127.0.0.1/%d && echo connected", ntohs(a.sin_port));
	char *root = make_root(&bash);
	struct run r = run_in(root, &bash, (char *[]){"-c", cmd, NULL}, 5000, false);
	CHECK(r.ret == 0 && !exited(&r, 0));
	CHECK_STR(r.out, "");
	run_free(&r);
	/* control: the listener is reachable from the host */
	r = run_in(root, &bash, (char *[]){"-c", cmd, NULL}, 5000, true);
	CHECK(exited(&r, 0));
	CHECK_STR(r.out, "connected\n");
	run_free(&r);
	close(s);
	free(cmd);
	free(root);
	closure_free(&bash);
}

/* A bound input is shown only if its path still names the inode the caller
 * checked (spec.bind_id): another file given the path in between (as a gc
 * and a re-add, or anything writing the store, could) is refused, named. */
static void test_bind_checks_inode(void)
{
	if (!isolation || !sandbox_binds_available())
		return;
	char *root = make_root(&sh);
	char *point = xasprintf("%s/in", root), *a = xasprintf("%s/a.obj", base),
	     *b = xasprintf("%s/b.obj", base), *out = xasprintf("%s.out", root);
	write_text(point, "", 0444);
	write_text(a, "alpha\n", 0444);
	write_text(b, "beta\n", 0444);
	struct stat sa, sb;
	CHECK(stat(a, &sa) == 0 && stat(b, &sb) == 0);
	const char *src[] = {a}, *dst[] = {"in"};
	struct sandbox_file_id id = {sa.st_dev, sa.st_ino};
	struct strvec argv = STRVEC_INIT;
	for (size_t i = 0; i < sh.argv_prefix.n; i++)
		strvec_push(&argv, sh.argv_prefix.v[i]);
	strvec_push(&argv, "-c");
	strvec_push(&argv, "read x < in && echo \"$x\"");
	char *env[] = {"PATH=/nonexistent", NULL};
	struct sandbox_spec spec = {.root = root,
	                            .exe = sh.exe,
	                            .argv = argv.v,
	                            .env = env,
	                            .timeout_ms = 5000,
	                            .stdout_path = out,
	                            .bind_src = src,
	                            .bind_dst = dst,
	                            .nbinds = 1,
	                            .bind_id = &id};
	struct sandbox_result res;
	CHECK(sandbox_run(&spec, &res) == 0 && WIFEXITED(res.wait_status) &&
	      WEXITSTATUS(res.wait_status) == 0);
	char *got = slurp(out);
	CHECK_STR(got, "alpha\n");
	free(got);
	unlink(out);
	/* the caller checked b, but the path now names a */
	id = (struct sandbox_file_id){sb.st_dev, sb.st_ino};
	CHECK(sandbox_run(&spec, &res) < 0);
	CHECK(strstr(gg_last_error(), "input 'in'") &&
	      strstr(gg_last_error(), "is no longer the object that was checked"));
	got = slurp(out); /* the program did not run, or did not see a */
	CHECK(!strstr(got, "alpha"));
	free(got);
	unlink(out);
	strvec_free(&argv);
	unlink(a);
	unlink(b);
	free(point);
	free(a);
	free(b);
	free(out);
	free(root);
}

static void test_timeout(void)
{
	for (int mode = 0; mode < 2; mode++) {
		bool plain = mode == 1;
		if (!plain && !isolation)
			continue;
		char *root = make_root(&sh);
		uint64_t t0 = now_ns();
		struct run r =
		    run_in(root, &sh,
		           (char *[]){"-c", "(while :; do :; done) & while :; do :; done", NULL},
		           150, plain);
		uint64_t dt = now_ns() - t0;
		CHECK(r.ret == 0 && r.res.timed_out);
		CHECK(signaled(&r, SIGKILL));
		CHECK(dt >= 150000000u && dt < 1500000000u);
		CHECK(r.res.wall_ns >= 150000000u);
		CHECK(r.res.cpu_ns > 10000000u); /* it did spin */
		run_free(&r);
		free(root);
	}
	if (!isolation)
		return;
	/* the program exits while a child still runs: the namespace ends with it */
	char *root = make_root(&sh);
	uint64_t t0 = now_ns();
	struct run r = run_sh(root, "(while :; do :; done) & exit 3", false);
	CHECK(exited(&r, 3));
	CHECK(!r.res.timed_out);
	CHECK(now_ns() - t0 < 1000000000u);
	run_free(&r);
	free(root);
}

/* Reads the pid a program wrote to ROOT/NAME; 0 when there is none. */
static pid_t read_pid(const char *root, const char *name)
{
	char *p = xasprintf("%s/%s", root, name), *text = slurp(p);
	pid_t pid = (pid_t)atol(text);
	free(text);
	free(p);
	return pid;
}

/* Plain mode: what the program detaches (its own session, its parent gone)
 * is killed and reaped before sandbox_run returns, and counted. */
static void test_plain_leftovers(void)
{
	char *root = make_root(&sh);
	struct run r =
	    run_sh(root,
	           "/usr/bin/setsid /bin/sh -c 'echo $$ > daemon.pid; exec /bin/sleep 60' "
	           "</dev/null >/dev/null 2>&1 & "
	           "while [ ! -s daemon.pid ]; do :; done; exit 0",
	           true);
	CHECK(exited(&r, 0));
	pid_t pid = read_pid(root, "daemon.pid");
	CHECK(pid > 0);
	/* gone (reaped, not a zombie): the supervisor was its subreaper */
	CHECK(pid > 0 && kill(pid, 0) < 0 && errno == ESRCH);
	CHECK(r.res.leftovers >= 1);
	CHECK(!r.res.supervisor_lost);
	run_free(&r);
	/* nothing left: nothing counted */
	r = run_sh(root, "exit 0", true);
	CHECK(exited(&r, 0) && r.res.leftovers == 0);
	run_free(&r);
	/* the program kills its supervisor: said, not taken for its status */
	r = run_sh(root, "kill -9 $PPID; exit 0", true);
	CHECK(r.ret == 0 && r.res.supervisor_lost);
	run_free(&r);
	free(root);
}

static void test_exec_failure(void)
{
	char *root = make_root(NULL);
	char *const argv[] = {"nope", NULL};
	for (int mode = 0; mode < 2; mode++) {
		if (mode == 0 && !isolation)
			continue;
		struct sandbox_spec spec = {
		    .root = root, .exe = "nope", .argv = argv, .no_isolation = mode == 1};
		struct sandbox_result res;
		CHECK_ERR(sandbox_run(&spec, &res),
		          "cannot execute nope: No such file or directory");
	}
	CHECK(!exists(root, "tmp") && !exists(root, "dev"));
	char *missing = xasprintf("%s/missing", base);
	struct sandbox_spec spec = {.root = missing, .exe = "x", .argv = argv};
	struct sandbox_result res;
	CHECK_ERR(sandbox_run(&spec, &res), "missing");
	free(missing);
	free(root);
}

static int count_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

/* Runs of every kind leave no descriptor or mount point behind. */
static void test_no_leaks(void)
{
	int before = count_fds();
	for (int mode = 0; mode < 2; mode++) {
		char *root = make_root(&sh);
		struct run r = run_sh(root, "exit 0", mode == 1 || !isolation);
		CHECK(exited(&r, 0));
		run_free(&r);
		r = run_in(root, &sh, (char *[]){"-c", "while :; do :; done", NULL}, 20,
		           mode == 1 || !isolation);
		CHECK(r.res.timed_out);
		run_free(&r);
		char *const argv[] = {"nope", NULL};
		struct sandbox_spec spec = {.root = root,
		                            .exe = "nope",
		                            .argv = argv,
		                            .no_isolation = mode == 1 || !isolation};
		struct sandbox_result res;
		CHECK(sandbox_run(&spec, &res) < 0);
		CHECK(!exists(root, "tmp") && !exists(root, "dev"));
		free(root);
	}
	CHECK(count_fds() == before);
}

static void test_no_isolation(void)
{
	char *root = make_root(&sh);
	struct run r = run_sh(root, "pwd; echo x > here.txt", true);
	CHECK(exited(&r, 0));
	CHECK(!r.res.isolated);
	char *real = realpath(root, NULL);
	char *want = xasprintf("%s\n", real);
	CHECK_STR(r.out, want);
	CHECK(exists(root, "here.txt"));
	CHECK(!exists(root, "tmp") && !exists(root, "dev"));
	free(want);
	free(real);
	run_free(&r);
	free(root);
}

/* Inputs that claim tmp and dev/ keep them; only free /dev names are added. */
static void test_claimed_names(void)
{
	if (!isolation)
		return;
	char *root = make_root(&sh);
	char *p = xasprintf("%s/tmp", root);
	write_text(p, "tmp is a file\n", 0444);
	free(p);
	p = xasprintf("%s/dev", root);
	mkdir_p(p, 0755);
	free(p);
	p = xasprintf("%s/dev/zero", root);
	write_text(p, "not zeros\n", 0444);
	free(p);
	struct run r = run_sh(root,
	                      "read a < /tmp; read b < /dev/zero; echo \"$a/$b\"; "
	                      "test -c /dev/null && test -c /dev/urandom",
	                      false);
	CHECK(exited(&r, 0));
	CHECK_STR(r.out, "tmp is a file/not zeros\n");
	run_free(&r);
	CHECK(exists(root, "tmp") && exists(root, "dev/zero"));
	CHECK(!exists(root, "dev/null") && !exists(root, "dev/urandom"));
	free(root);
}

static void test_rlimits(void)
{
	for (int mode = 0; mode < 2; mode++) {
		bool plain = mode == 1;
		if (!plain && !isolation)
			continue;
		char *root = make_root(&sh);
		struct strvec argv = STRVEC_INIT;
		for (size_t i = 0; i < sh.argv_prefix.n; i++)
			strvec_push(&argv, sh.argv_prefix.v[i]);
		strvec_push(&argv, "-c");
		strvec_push(&argv,
		            "while :; do echo 0123456789012345678901234567890123 >> big; done");
		struct sandbox_spec spec = {.root = root,
		                            .exe = sh.exe,
		                            .argv = argv.v,
		                            .timeout_ms = 5000,
		                            .max_output = 4096,
		                            .no_isolation = plain};
		struct sandbox_result res;
		CHECK(sandbox_run(&spec, &res) == 0);
		CHECK(WIFSIGNALED(res.wait_status) && WTERMSIG(res.wait_status) == SIGXFSZ);
		char *big = xasprintf("%s/big", root);
		struct stat st;
		CHECK(stat(big, &st) == 0 && st.st_size <= 4096);
		free(big);
		strvec_free(&argv);
		free(root);
	}
}

/* Threads must not touch the harness counters: they count their own failures. */
static void *worker(void *arg)
{
	long id = (long)arg, bad = 0;
	for (int i = 0; i < 4; i++) {
		char *root = make_root(&sh);
		char *cmd = xasprintf("echo %ld-%d; exit %ld", id, i, id + i);
		struct run r = run_sh(root, cmd, !isolation);
		char *want = xasprintf("%ld-%d\n", id, i);
		if (!exited(&r, (int)(id + i)) || strcmp(r.out, want)) {
			fprintf(stderr,
			        "worker %ld/%d: ret %d (%s) status %d out \"%s\" err \"%s\"\n", id,
			        i, r.ret, r.ret < 0 ? gg_last_error() : "", r.res.wait_status,
			        r.out, r.err);
			bad++;
		}
		free(want);
		free(cmd);
		run_free(&r);
		free(root);
	}
	return (void *)bad;
}

static void *close_later(void *arg)
{
	usleep(300 * 1000);
	close((int)(long)arg);
	return NULL;
}

/* A program held open for writing a moment (as a child another thread
 * forks holds an inherited descriptor of a file being copied, until its
 * own exec) runs once it is let go, rather than failing ETXTBSY. */
static void test_exec_waits_for_writer(void)
{
	for (int mode = 0; mode < 2; mode++) {
		bool plain = mode == 1;
		if (!plain && !isolation)
			continue;
		char *root = make_root(&sh);
		char *exe = xasprintf("%s/%s", root, sh.exe);
		CHECK(chmod(exe, 0755) == 0);
		int fd = open(exe, O_WRONLY | O_CLOEXEC);
		CHECK(fd >= 0);
		pthread_t t;
		CHECK(pthread_create(&t, NULL, close_later, (void *)(long)fd) == 0);
		struct run r = run_sh(root, "echo ran", plain);
		pthread_join(t, NULL);
		if (!exited(&r, 0))
			fprintf(stderr, "ret %d (%s)\n", r.ret, r.ret < 0 ? gg_last_error() : "");
		CHECK(exited(&r, 0) && strcmp(r.out, "ran\n") == 0);
		run_free(&r);
		free(exe);
		free(root);
	}
}

static void test_threads(void)
{
	pthread_t t[6];
	for (long i = 0; i < 6; i++)
		CHECK(pthread_create(&t[i], NULL, worker, (void *)i) == 0);
	for (int i = 0; i < 6; i++) {
		void *bad = (void *)1;
		pthread_join(t[i], &bad);
		CHECK(bad == NULL);
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Per-run cost of the sandbox over a plain fork/exec, for a static no-op. */
static void bench(void)
{
#ifdef __x86_64__
	const char *n_env = getenv("GG_SANDBOX_BENCH");
	int n = n_env ? atoi(n_env) : 0;
	if (n <= 0 || !isolation)
		return;
	char *root = make_root(NULL);
	/* mov edi,0; mov eax,60; syscall */
	unsigned char img[sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr) + 12];
	const unsigned char text[12] = {0xbf, 0, 0, 0, 0, 0xb8, 60, 0, 0, 0, 0x0f, 0x05};
	Elf64_Ehdr eh = {
	    .e_ident = {ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64, ELFDATA2LSB, EV_CURRENT},
	    .e_type = ET_EXEC,
	    .e_machine = EM_X86_64,
	    .e_version = EV_CURRENT,
	    .e_entry = 0x400000 + sizeof eh + sizeof(Elf64_Phdr),
	    .e_phoff = sizeof eh,
	    .e_ehsize = sizeof eh,
	    .e_phentsize = sizeof(Elf64_Phdr),
	    .e_phnum = 1};
	Elf64_Phdr ph = {.p_type = PT_LOAD,
	                 .p_flags = PF_R | PF_X,
	                 .p_vaddr = 0x400000,
	                 .p_filesz = sizeof img,
	                 .p_memsz = sizeof img,
	                 .p_align = 0x1000};
	memcpy(img, &eh, sizeof eh);
	memcpy(img + sizeof eh, &ph, sizeof ph);
	memcpy(img + sizeof eh + sizeof ph, text, sizeof text);
	char *p = xasprintf("%s/true", root);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0555);
	write_all(fd, img, sizeof img);
	close(fd);
	free(p);
	char *const argv[] = {"true", NULL};
	char *out = xasprintf("%s.out", root);
	/* interleaved, so that drift in the machine's load hits both alike */
	double *ms[2] = {xcalloc((size_t)n, sizeof(double)), xcalloc((size_t)n, sizeof(double))};
	double sum[2] = {0, 0};
	for (int i = 0; i < n; i++) {
		for (int mode = 0; mode < 2; mode++) {
			struct sandbox_spec spec = {.root = root,
			                            .exe = "true",
			                            .argv = argv,
			                            .stdout_path = out,
			                            .stderr_path = out,
			                            .no_isolation = mode == 1};
			struct sandbox_result res;
			uint64_t t0 = now_ns();
			CHECK(sandbox_run(&spec, &res) == 0 && res.wait_status == 0);
			ms[mode][i] = (double)(now_ns() - t0) / 1e6;
			sum[mode] += ms[mode][i];
		}
	}
	qsort(ms[0], (size_t)n, sizeof(double), cmp_double);
	qsort(ms[1], (size_t)n, sizeof(double), cmp_double);
	printf(
	    "bench: %d runs each, ms/run mean (median): isolated %.3f (%.3f), plain %.3f (%.3f), "
	    "overhead %.3f (%.3f)\n",
	    n, sum[0] / n, ms[0][n / 2], sum[1] / n, ms[1][n / 2], (sum[0] - sum[1]) / n,
	    ms[0][n / 2] - ms[1][n / 2]);
	free(ms[0]);
	free(ms[1]);
	unlink(out);
	free(out);
	free(root);
#endif
}

static void teardown(void)
{
	CHECK(copy_failures == 0);
	remove_tree(base);
	free(base);
	closure_free(&sh);
}

TEST_MAIN(setup, test_status_and_stdio, test_outputs_and_mounts, test_bind_checks_inode,
          test_hermetic, test_network, test_timeout, test_plain_leftovers, test_exec_failure,
          test_no_leaks, test_no_isolation, test_claimed_names, test_rlimits,
          test_exec_waits_for_writer, test_threads, bench, teardown)
