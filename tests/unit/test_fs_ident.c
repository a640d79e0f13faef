/**
 * @file test_fs_ident.c
 * Specification of fs/ident (the caller's identity around calls that create
 * or change files of SOURCE): a root daemon may take callers' identities, a
 * daemon that is not root never switches; ident_enter gives this thread,
 * and only this thread, the caller's fsuid, fsgid and supplementary groups
 * (files it creates are the caller's, its groups open setgid directories,
 * other groups do not), more groups than fit on the stack, at most 4096 of
 * them, none when the caller's are unknown; ident_leave gives back the
 * daemon's fsuid, fsgid, groups and the capabilities a fsuid of 0 carries;
 * a switch refused by the kernel is undone before ident_enter returns its
 * errno and is logged naming the identity and the cause; ident_is_other;
 * ident_caller_has_fsetid asks the requesting thread itself (not ggfs for
 * an unseen pid 0, nor a caller that is gone).
 * Linked without a FUSE session: the request (its context and groups) and
 * the log are fakes. Runs as root (CI does); skipped otherwise.
 */
#include "fs_fakes.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ---- a fake of libfuse's request (fs_fakes.h has the log's) ---- */

struct fuse_req {
	struct fuse_ctx ctx;
	int ngroups;   /* what fuse_req_getgroups reports: a count or -errno */
	gid_t *groups; /* ngroups of them */
	int grow;      /* the count grows by this much after the first call */
	int getgroups_calls;
	int ctx_calls;
};

const struct fuse_ctx *fuse_req_ctx(fuse_req_t req)
{
	req->ctx_calls++;
	return &req->ctx;
}

/* As libfuse's: the number of groups, of which the first size are stored. */
int fuse_req_getgroups(fuse_req_t req, int size, gid_t list[])
{
	int n = req->ngroups + (req->getgroups_calls++ ? req->grow : 0);
	if (n < 0)
		return n;
	for (int i = 0; i < n && i < size; i++)
		list[i] = i < req->ngroups ? req->groups[i] : 7000000 + (gid_t)i;
	return n;
}

/* ---- helpers ---- */

#define UID     61001
#define GID     62002
#define GROUP_A 63003 /* the caller's supplementary groups */
#define GROUP_B 64004
#define GROUP_X 65005 /* not the caller's */

static struct ggfs fs;

static uid_t fsuid_now(void)
{
	return (uid_t)setfsuid((uid_t)-1);
}

static gid_t fsgid_now(void)
{
	return (gid_t)setfsgid((gid_t)-1);
}

/* This thread's supplementary groups (getgroups is the thread's own). */
static int groups_now(gid_t *out, int max)
{
	return getgroups(max, out);
}

static bool has_group(gid_t g)
{
	gid_t v[8192];
	int n = groups_now(v, 8192);
	for (int i = 0; i < n; i++)
		if (v[i] == g)
			return true;
	return false;
}

/* Is this thread's identity the daemon's (fs.groups as ident_init saw them)? */
static bool is_daemon(void)
{
	gid_t v[8192];
	int n = groups_now(v, 8192);
	if (n < 0 || (size_t)n != fs.ngroups || fsuid_now() != 0 || fsgid_now() != getegid())
		return false;
	return n == 0 || !memcmp(v, fs.groups, (size_t)n * sizeof *v);
}

/* Creates dir/rel: 0 and its owner, or an errno. */
static int create(const char *rel, uid_t *uid, gid_t *gid)
{
	char *p = at(rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	int err = fd < 0 ? errno : 0;
	struct stat st;
	if (fd >= 0) {
		CHECK(fstat(fd, &st) == 0);
		*uid = st.st_uid;
		*gid = st.st_gid;
		close(fd);
	}
	free(p);
	return err;
}

static struct fuse_req caller(gid_t *groups, int n)
{
	struct fuse_req r = {.ctx = {.uid = UID, .gid = GID, .pid = 1}};
	r.groups = groups;
	r.ngroups = n;
	return r;
}

static void mkdir_owned(const char *rel, mode_t mode, gid_t gid)
{
	char *p = at(rel);
	CHECK(mkdir(p, 0) == 0 && chown(p, 0, gid) == 0 && chmod(p, mode) == 0);
	free(p);
}

static void setup(void)
{
	make_test_dir("ggtest-ident");
	if (chmod(dir, 0777) < 0)
		abort();
	mkdir_owned("shared", 02770, GROUP_A); /* the caller's group A may create here */
	mkdir_owned("other", 0770, GROUP_X);   /* a group the caller lacks */
	mkdir_owned("closed", 0, 0);           /* only root, by CAP_DAC_OVERRIDE */
	ident_init(&fs);
	fs.uid = 1000;
}

static void teardown(void)
{
	/* root again even if a failure left this thread switched */
	setfsuid(0);
	setfsgid(0);
	ident_free(&fs);
	CHECK(remove_tree(dir) == 0);
	free(dir);
}

/* ---- the tests ---- */

static void test_init(void)
{
	/* Root: switches. Its own groups are kept to come back to. */
	CHECK(fs.as_caller);
	gid_t v[8192];
	int n = groups_now(v, 8192);
	CHECK(n >= 0 && (size_t)n == fs.ngroups);
	CHECK(n == 0 || !memcmp(v, fs.groups, (size_t)n * sizeof *v));
	CHECK(is_daemon());
	/* ident_free forgets them (and may be called twice). */
	struct ggfs f = {0};
	ident_init(&f);
	ident_free(&f);
	CHECK(f.groups == NULL && f.ngroups == 0);
	ident_free(&f);
	CHECK(f.groups == NULL && f.ngroups == 0);
}

static void test_enter_leave(void)
{
	gid_t groups[] = {GROUP_A, GROUP_B};
	struct fuse_req r = caller(groups, 2);
	nlogged = 0;
	CHECK(ident_enter(&fs, &r) == 0);
	CHECK(fsuid_now() == UID && fsgid_now() == GID);
	gid_t v[8];
	CHECK(groups_now(v, 8) == 2 && v[0] == GROUP_A && v[1] == GROUP_B);
	/* the real and effective ids stay the daemon's */
	CHECK(getuid() == 0 && geteuid() == 0);
	uid_t u = 0;
	gid_t g = 0;
	CHECK(create("mine", &u, &g) == 0);
	CHECK(u == UID && g == GID);
	/* a setgid directory of a supplementary group: its group */
	CHECK(create("shared/f", &u, &g) == 0);
	CHECK(u == UID && g == GROUP_A);
	/* not a group of the caller's, nor root's privileges */
	CHECK(create("other/f", &u, &g) == EACCES);
	CHECK(create("closed/f", &u, &g) == EACCES);
	CHECK(nlogged == 0);
	ident_leave(&fs);
	CHECK(is_daemon());
	/* root again, with CAP_DAC_OVERRIDE and CAP_CHOWN back */
	CHECK(create("closed/f", &u, &g) == 0);
	CHECK(u == 0 && g == getegid());
	char *p = at("mine");
	CHECK(chown(p, 1, 1) == 0);
	free(p);
	/* a second caller after the first: nothing of the first stays */
	struct fuse_req r2 = caller(NULL, 0);
	r2.ctx.uid = UID + 1;
	r2.ctx.gid = GID + 1;
	CHECK(ident_enter(&fs, &r2) == 0);
	CHECK(fsuid_now() == UID + 1 && fsgid_now() == GID + 1 && groups_now(v, 8) == 0);
	CHECK(create("second", &u, &g) == 0);
	CHECK(u == UID + 1 && g == GID + 1);
	CHECK(create("shared/g", &u, &g) == EACCES);
	ident_leave(&fs);
	CHECK(is_daemon());
}

static void test_unknown_groups(void)
{
	/* fuse_req_getgroups fails (the caller exited, another pid
	 * namespace): its primary group only, no supplementary group. */
	struct fuse_req r = caller(NULL, -EIO);
	CHECK(ident_enter(&fs, &r) == 0);
	gid_t v[8];
	CHECK(fsuid_now() == UID && fsgid_now() == GID && groups_now(v, 8) == 0);
	CHECK(!has_group(0));
	uid_t u;
	gid_t g;
	CHECK(create("shared/unknown", &u, &g) == EACCES);
	ident_leave(&fs);
	CHECK(is_daemon());
}

static void test_many_groups(void)
{
	/* more than the 64 that fit on the stack: asked again with room */
	gid_t *big = xcalloc(5000, sizeof *big);
	for (int i = 0; i < 5000; i++)
		big[i] = 100000 + (gid_t)i;
	big[99] = GROUP_A;
	struct fuse_req r = caller(big, 100);
	CHECK(ident_enter(&fs, &r) == 0);
	CHECK(r.getgroups_calls == 2);
	gid_t *v = xcalloc(8192, sizeof *v);
	/* (the kernel keeps them sorted) */
	CHECK(groups_now(v, 8192) == 100 && has_group(100000) && has_group(GROUP_A));
	uid_t u;
	gid_t g;
	CHECK(create("shared/many", &u, &g) == 0 && g == GROUP_A);
	ident_leave(&fs);
	CHECK(is_daemon());

	/* over 4096: the first 4096 */
	r = caller(big, 5000);
	CHECK(ident_enter(&fs, &r) == 0);
	CHECK(groups_now(v, 8192) == 4096);
	CHECK(has_group(100000) && has_group(100000 + 4095) && !has_group(100000 + 4096));
	ident_leave(&fs);
	CHECK(is_daemon());

	/* the caller gained groups between the two asks: no more than the
	 * room made for them is given to the kernel */
	r = caller(big, 100);
	r.grow = 50;
	CHECK(ident_enter(&fs, &r) == 0);
	int n = groups_now(v, 8192);
	CHECK(n == 100);
	int found = 0;
	for (int i = 0; i < 100; i++)
		found += has_group(big[i]);
	CHECK(found == 100 && !has_group(7000000 + 100));
	ident_leave(&fs);
	CHECK(is_daemon());
	free(v);
	free(big);
}

/* ---- threads: the identity is the thread's own ---- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int step;

static void wait_step(int s)
{
	pthread_mutex_lock(&mu);
	while (step < s)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
}

static void set_step(int s)
{
	pthread_mutex_lock(&mu);
	step = s;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

static bool thread_ok;

static void *switched_thread(void *arg)
{
	(void)arg;
	gid_t groups[] = {GROUP_A, GROUP_B};
	struct fuse_req r = caller(groups, 2);
	bool ok = ident_enter(&fs, &r) == 0;
	set_step(1);
	wait_step(2); /* the main thread looked, and took another identity */
	uid_t u;
	gid_t g;
	ok = ok && fsuid_now() == UID && fsgid_now() == GID && has_group(GROUP_A) &&
	     !has_group(GROUP_X) && create("thread", &u, &g) == 0 && u == UID && g == GID;
	ident_leave(&fs);
	ok = ok && is_daemon();
	thread_ok = ok;
	set_step(3);
	return NULL;
}

static void *plain_thread(void *arg)
{
	*(bool *)arg = is_daemon();
	return NULL;
}

static void test_threads(void)
{
	pthread_t t;
	step = 0;
	CHECK(pthread_create(&t, NULL, switched_thread, NULL) == 0);
	wait_step(1);
	/* the other thread is the caller; this one, and a new one, are not */
	CHECK(is_daemon());
	uid_t u;
	gid_t g;
	CHECK(create("main", &u, &g) == 0 && u == 0);
	bool plain = false;
	pthread_t t2;
	CHECK(pthread_create(&t2, NULL, plain_thread, &plain) == 0);
	CHECK(pthread_join(t2, NULL) == 0 && plain);
	/* this thread as a third identity meanwhile */
	gid_t mine[] = {GROUP_X};
	struct fuse_req r = caller(mine, 1);
	r.ctx.uid = UID + 2;
	r.ctx.gid = GID + 2;
	CHECK(ident_enter(&fs, &r) == 0);
	set_step(2);
	wait_step(3);
	CHECK(fsuid_now() == UID + 2 && fsgid_now() == GID + 2 && has_group(GROUP_X) &&
	      !has_group(GROUP_A));
	ident_leave(&fs);
	CHECK(pthread_join(t, NULL) == 0);
	CHECK(thread_ok);
	CHECK(is_daemon());
}

/* ---- refusals, in child processes (capabilities are dropped there) ---- */

/* Drops cap from this thread's effective set. */
static int drop_cap(int cap)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2];
	if (syscall(SYS_capget, &h, d) < 0)
		return -1;
	d[cap / 32].effective &= ~(1u << (cap % 32));
	return (int)syscall(SYS_capset, &h, d);
}

static void refused(int cap)
{
	CHECK(drop_cap(cap) == 0);
	gid_t groups[] = {GROUP_A};
	struct fuse_req r = caller(groups, 1);
	nlogged = 0;
	CHECK(ident_enter(&fs, &r) == EPERM);
	/* nothing to undo: the daemon's identity is back */
	CHECK(fsuid_now() == 0 && fsgid_now() == getegid() && !has_group(GROUP_A));
	CHECK(is_daemon());
	/* logged once, naming the identity and the cause */
	CHECK(nlogged == 1);
	CHECK(strstr(logged, "uid 61001") && strstr(logged, "gid 62002") &&
	      strstr(logged, strerror(EPERM)));
}

static void refused_groups(void)
{
	refused(CAP_SETGID); /* setgroups fails */
}

static void refused_uid(void)
{
	refused(CAP_SETUID); /* groups and fsgid taken, setfsuid ignored */
}

static void not_root(void)
{
	/* a daemon that is not root: never switches, asks nothing */
	gid_t keep[] = {GROUP_B};
	CHECK(setgroups(1, keep) == 0 && setresgid(GID, GID, GID) == 0 &&
	      setresuid(UID, UID, UID) == 0);
	struct ggfs f = {0};
	ident_init(&f);
	CHECK(!f.as_caller);
	CHECK(f.ngroups == 1 && f.groups && f.groups[0] == GROUP_B);
	f.uid = UID;
	struct fuse_req r = caller(NULL, 0);
	r.ctx.uid = UID; /* the owner's */
	r.ctx.gid = 4343;
	CHECK(ident_enter(&f, &r) == 0);
	CHECK(r.getgroups_calls == 0);
	CHECK(fsuid_now() == UID && fsgid_now() == GID && has_group(GROUP_B));
	ident_leave(&f);
	CHECK(fsuid_now() == UID && fsgid_now() == GID && has_group(GROUP_B));
	r.ctx.uid = 0;
	CHECK(ident_enter(&f, &r) == 0 && fsuid_now() == UID);
	ident_leave(&f);
	/* another user's change would make a file of the daemon's user: refused, said once */
	nlogged = 0;
	r.ctx.uid = 4242;
	CHECK(ident_enter(&f, &r) == EACCES && ident_enter(&f, &r) == EACCES);
	CHECK(nlogged == 1 && strstr(logged, "uid 4242") && strstr(logged, "not run as root"));
	CHECK(fsuid_now() == UID && fsgid_now() == GID && has_group(GROUP_B));
	ident_free(&f);
}

static void no_groups(void)
{
	/* a root daemon without supplementary groups gets none back */
	CHECK(setgroups(0, NULL) == 0);
	ident_free(&fs);
	ident_init(&fs);
	CHECK(fs.as_caller && fs.ngroups == 0);
	gid_t groups[] = {GROUP_A};
	struct fuse_req r = caller(groups, 1);
	CHECK(ident_enter(&fs, &r) == 0 && has_group(GROUP_A));
	ident_leave(&fs);
	gid_t v[4];
	CHECK(groups_now(v, 4) == 0 && fsuid_now() == 0);
}

static void test_children(void)
{
	CHECK(harness_in_child(refused_groups));
	CHECK(harness_in_child(refused_uid));
	CHECK(harness_in_child(not_root));
	CHECK(harness_in_child(no_groups));
	CHECK(is_daemon());
}

static void test_is_other(void)
{
	struct fuse_req r = caller(NULL, 0);
	r.ctx.uid = 1000; /* the mount's owner */
	CHECK(!ident_is_other(&fs, &r));
	r.ctx.uid = 0; /* root */
	CHECK(!ident_is_other(&fs, &r));
	r.ctx.uid = 1001;
	CHECK(ident_is_other(&fs, &r));
	r.ctx.uid = (uid_t)-1;
	CHECK(ident_is_other(&fs, &r));
	/* only the uid counts */
	r.ctx.uid = 1000;
	r.ctx.gid = 5;
	CHECK(!ident_is_other(&fs, &r));
}

/* This thread without CAP_FSETID in its effective set. */
static void drop_own_fsetid(void)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	memset(d, 0, sizeof d);
	if (syscall(SYS_capget, &h, d) < 0)
		abort();
	d[CAP_FSETID / 32].effective &= ~(UINT32_C(1) << (CAP_FSETID % 32));
	if (syscall(SYS_capset, &h, d) < 0)
		abort();
}

static int ready[2], go[2]; /* the thread says it is ready; is told to end */
static pid_t fsetid_tid;

static void *thread_without_fsetid(void *arg)
{
	(void)arg;
	drop_own_fsetid();
	fsetid_tid = (pid_t)syscall(SYS_gettid);
	char c = 0;
	if (write(ready[1], &c, 1) != 1 || read(go[0], &c, 1) < 0)
		abort();
	return NULL;
}

/* ident_caller_has_fsetid asks the very thread that made the request. */
static void test_caller_fsetid(void)
{
	struct fuse_req r = caller(NULL, 0);
	r.ctx.pid = getpid();
	CHECK(ident_caller_has_fsetid(&r)); /* root, every capability */
	/* pid 0: a caller in a pid namespace ggfs cannot see (capget would
	 * answer for ggfs itself) */
	r.ctx.pid = 0;
	CHECK(!ident_caller_has_fsetid(&r));
	/* a thread of this process without it, while this one holds it */
	if (pipe(ready) < 0 || pipe(go) < 0)
		abort();
	pthread_t t;
	if (pthread_create(&t, NULL, thread_without_fsetid, NULL))
		abort();
	char c = 0;
	CHECK(read(ready[0], &c, 1) == 1);
	r.ctx.pid = fsetid_tid;
	CHECK(!ident_caller_has_fsetid(&r));
	r.ctx.pid = getpid();
	CHECK(ident_caller_has_fsetid(&r));
	CHECK(write(go[1], &c, 1) == 1);
	pthread_join(t, NULL);
	/* a caller with every capability in a user namespace of its own
	 * (unshare -U -r), which is none over ggfs's files */
	if (pipe(ready) < 0 || pipe(go) < 0)
		abort();
	pid_t ns = fork();
	if (ns == 0) {
		if (unshare(CLONE_NEWUSER) < 0)
			_exit(1);
		if (write(ready[1], &c, 1) != 1 || read(go[0], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	CHECK(read(ready[0], &c, 1) == 1);
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = ns};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	memset(d, 0, sizeof d);
	CHECK(syscall(SYS_capget, &h, d) == 0 && (d[0].effective & (1u << CAP_FSETID)));
	r.ctx.pid = ns;
	CHECK(!ident_caller_has_fsetid(&r));
	CHECK(write(go[1], &c, 1) == 1);
	waitpid(ns, NULL, 0);
	for (int i = 0; i < 2; i++) {
		close(ready[i]);
		close(go[i]);
	}
	/* a caller that is gone */
	pid_t gone = fork();
	if (gone == 0)
		_exit(0);
	waitpid(gone, NULL, 0);
	r.ctx.pid = gone;
	CHECK(!ident_caller_has_fsetid(&r));
	for (int i = 0; i < 2; i++) {
		close(ready[i]);
		close(go[i]);
	}
}

int main(void)
{
	if (geteuid() != 0) {
		printf("test_fs_ident: skipped (needs root)\n0 passed, 0 failed\n");
		return 0;
	}
	setup();
	test_init();
	test_enter_leave();
	test_unknown_groups();
	test_many_groups();
	test_threads();
	test_children();
	test_is_other();
	test_caller_fsetid();
	teardown();
	printf("%d passed, %d failed\n", harness_passed, harness_failed);
	return harness_failed ? 1 : 0;
}
