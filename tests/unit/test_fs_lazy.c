/**
 * @file test_fs_lazy.c
 * Specification of fs/lazy's forcing on open: an open of a lazy node waits
 * for its force and is answered by a done thread with the forced output;
 * a second open during the force joins it (one force per node); once the
 * output is known and the kernel told its size, an open is served at once
 * without forcing. A force that fails answers every waiter EIO and keeps
 * its cause, one line, as user.gg.error (state "failed"); a later open
 * forces again. An interrupted open is answered EINTR once and only once,
 * whether the interrupt comes while it waits or before its callback is
 * registered; the last waiter interrupted withdraws the force (its cancel
 * token fires, the scheduler is told), one of two leaves it running for the
 * other. A by-hash output forced to a symbolic link is refused, naming
 * why. An output forced elsewhere (the memo) shows its size and exec bit
 * without forcing. A file of SOURCE is a placeholder if it names a thunk
 * the store has (else it is served as its bytes, said once); one rewritten
 * while forcing answers the opens of its old reference ESTALE and forces
 * the new one for those that asked for it, also when the old one's force
 * is withdrawn; one forced to a symbolic link shows as one and answers an
 * open ESTALE (the kernel follows the link).
 * A value damaged in the store is never served: the reference is forced
 * once more, and if it is damaged again the open gets EIO naming it. A
 * value gc removed is not served by the fast path: the open forces again.
 * The kernel's cache is invalidated when a force ends with a value the
 * kernel was not known to have, and only then. With --materialize the
 * output replaces its placeholder in SOURCE (mode kept, exec bit added),
 * unless the file changed meanwhile.
 * Linked without a FUSE session or a scheduler: libfuse's replies are
 * fs_fakes.h's, the scheduler's async force is a fake that records each
 * request for the test to answer, the node table's fds are fs_fakes.h's
 * (a placeholder's, opened by the test; by-hash outputs have none), and
 * the kernel notification and backing.c's open replies are small fakes.
 * The store is a real one.
 */
#define FS_FAKES_NODE_FDS
#define FS_FAKES_PINS
#define FS_FAKES_REPLIES
#include "fs_fakes.h"

#include "core/placeholder.h"
#include "core/thunk.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>

/* ---- a fake scheduler: each async force is recorded, the test answers ---- */

static pthread_mutex_t fake_mu = PTHREAD_MUTEX_INITIALIZER;

struct forcing {
	sched_done_fn fn;
	void *arg;
	const struct gg_cancel *cancel;
	struct gg_ref ref;
	bool answered;
	bool withdrawn; /* answered "cancelled" by sched_withdraw_cancelled */
};
static struct forcing forces[32];
static int nforces;    /* sched_force_async_cancel calls */
static int nwithdraws; /* sched_withdraw_cancelled calls */
static enum sched_state sched_says = SCHED_UNFORCED;

void sched_force_async_cancel(struct sched *s, const struct gg_ref *ref, sched_done_fn fn,
                              void *arg, const struct gg_cancel *cancel)
{
	pthread_mutex_lock(&fake_mu);
	if (nforces == (int)(sizeof forces / sizeof forces[0]))
		abort();
	struct forcing *f = &forces[nforces++];
	f->fn = fn;
	f->arg = arg;
	f->cancel = cancel;
	gg_ref_copy(&f->ref, ref);
	f->answered = f->withdrawn = false;
	pthread_mutex_unlock(&fake_mu);
}

/* Answers force i, as the scheduler would from its thread: false if it
 * was never asked or was answered already (the scheduler calls back once). */
static bool answer(int i, const struct sched_outcome *o)
{
	pthread_mutex_lock(&fake_mu);
	struct forcing *f = &forces[i];
	bool first = i < nforces && !f->answered;
	f->answered = true;
	pthread_mutex_unlock(&fake_mu);
	if (first)
		f->fn(f->arg, o);
	return first;
}

/* As the real one: every request whose token fired is answered "cancelled". */
void sched_withdraw_cancelled(struct sched *s)
{
	pthread_mutex_lock(&fake_mu);
	nwithdraws++;
	int n = nforces;
	pthread_mutex_unlock(&fake_mu);
	struct sched_outcome o = {.status = -1, .error = "cancelled", .code = GG_ECANCELLED};
	for (int i = 0; i < n; i++)
		if (!forces[i].answered && gg_cancel_fired(forces[i].cancel)) {
			forces[i].withdrawn = true;
			answer(i, &o);
		}
}

enum sched_state sched_state_of(struct sched *s, const struct gg_ref *ref)
{
	return sched_says;
}

/* ---- fakes of fs/node.c, fs/backing.c and the kernel notification ---- */

char *node_display_path(struct ggfs *f, const struct node *n)
{
	return xstrdup("MOUNT/out");
}

bool other_value_open_locked(const struct node *n, const struct gg_name *v)
{
	return false;
}

void open_source_file(struct ggfs *f, fuse_req_t req, struct node *n, struct fuse_file_info *fi)
{
	abort(); /* only for a placeholder's file, which the tests' nodes have not */
}

static int nstore_opens; /* reply_store_open calls */
static char served[64];  /* the bytes of the last one's fd */
static struct gg_name served_value;

void reply_store_open(struct ggfs *f, fuse_req_t req, struct fuse_file_info *fi, struct node *n,
                      const struct gg_name *v, int fd, unsigned source_seq)
{
	pthread_mutex_lock(&fake_mu);
	nstore_opens++;
	memset(served, 0, sizeof served);
	if (pread(fd, served, sizeof served - 1, 0) < 0) /* no descriptor: say so */
		snprintf(served, sizeof served, "(fd %d: %s)", fd, strerror(errno));
	served_value = *v;
	pthread_mutex_unlock(&fake_mu);
	close(fd);
	fuse_reply_open(req, fi);
}

static int ninvals;                         /* fuse_lowlevel_notify_inval_inode calls */
static struct fuse_req *interrupt_in_inval; /* a request interrupted meanwhile */
static struct fuse_req *open_in_inval;      /* a request opening meanwhile... */
static struct node *open_in_inval_node;     /* ...this node */

static bool open_lazy(struct node *n, struct fuse_req *req);

/* Sent by the done thread after it took the waiters to answer, before it
 * answers them and before it notes that the kernel has the value: the
 * moment an interrupt may race with their replies, and a new open with
 * that note. */
int fuse_lowlevel_notify_inval_inode(struct fuse_session *se, fuse_ino_t ino, off_t off, off_t len)
{
	pthread_mutex_lock(&fake_mu);
	ninvals++;
	struct fuse_req *req = interrupt_in_inval, *opener = open_in_inval;
	interrupt_in_inval = open_in_inval = NULL;
	pthread_mutex_unlock(&fake_mu);
	if (opener)
		open_lazy(open_in_inval_node, opener);
	if (req) {
		pthread_mutex_lock(&replies_mu);
		fuse_interrupt_func_t fn = req->intr;
		void *data = req->intr_data;
		pthread_mutex_unlock(&replies_mu);
		if (fn)
			fn(req, data);
	}
	return 0;
}

/* ---- the tests ---- */

#define OUTPUT  "forced output\n"
#define OUTPUT2 "another output\n"

static struct ggfs fs;
static struct gg_name thunk, value;
static struct gg_name thunk2, value2;     /* another thunk, and its output */
static struct gg_name unknown;            /* a thunk the store lacks */
static struct gg_name link_thunk, target; /* outputs a link to "libfoo.so.1" */

/* A thunk running prog with arg, its output "out"; stored if store. */
static void make_thunk(const char *arg, bool store, struct gg_name *out)
{
	struct thunk t;
	thunk_init(&t);
	t.exe = xstrdup("prog");
	strvec_push(&t.argv, "prog");
	strvec_push(&t.argv, arg);
	strvec_push(&t.outputs, "out");
	struct gg_ref p = {value, NULL};
	thunk_add_input(&t, "prog", &p, true);
	struct buf enc = BUF_INIT;
	if (thunk_name(&t, out, &enc) < 0 ||
	    (store && store_put_buf(fs.store, enc.data, enc.len, GG_THUNK, out) < 0))
		abort();
	buf_free(&enc);
	thunk_free(&t);
}

static void setup(void)
{
	make_test_dir("ggtest-lazy");
	ggfs_init(&fs);
	fs.source = dir; /* SOURCE: what --materialize works beneath */
	fs.root.fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	char *root = at(".gg");
	if (store_init(dir, NULL) < 0 || store_open(root, &fs.store) < 0)
		abort();
	free(root);
	if (store_put_buf(fs.store, OUTPUT, strlen(OUTPUT), GG_VALUE, &value) < 0 ||
	    store_put_buf(fs.store, OUTPUT2, strlen(OUTPUT2), GG_VALUE, &value2) < 0 ||
	    store_put_buf(fs.store, "libfoo.so.1", 11, GG_VALUE, &target) < 0)
		abort();
	make_thunk("1", true, &thunk);
	make_thunk("2", true, &thunk2);
	make_thunk("3", false, &unknown);
	make_thunk("4", true, &link_thunk);
	if (lazy_start(&fs) < 0)
		abort();
}

static void teardown(void)
{
	lazy_stop(&fs);
	for (int i = 0; i < nforces; i++)
		gg_ref_free(&forces[i].ref);
	store_close(fs.store);
	close(fs.root.fd);
	CHECK(remove_tree(dir) == 0);
	free(dir);
}

/* A by-hash output THUNK#out, not yet forced. */
static void make_output(struct node *n)
{
	memset(n, 0, sizeof *n);
	n->kind = NODE_OUTPUT;
	n->fd = -1;
	n->lz.is_ref = true;
	n->lz.ref.name = thunk;
	n->lz.ref.output = xstrdup("out");
	n->lz.ref_str = gg_ref_format(&n->lz.ref);
	n->lz.gen = 1;
}

/* Waits until nothing pins n any more: every waiting open and every job
 * is freed (the done thread finishes after its replies). */
static bool settled(struct node *n)
{
	for (int i = 0; i < 5000; i++) {
		pthread_mutex_lock(&fs.mu);
		unsigned pins = n->pins;
		pthread_mutex_unlock(&fs.mu);
		if (pins == 0)
			return true;
		usleep(1000);
	}
	return false;
}

/* Frees a test's node. One still pinned is still in use by a job or a
 * waiting open, which the next test's node would be mistaken for: the
 * tests stop there. */
static void drop_output(struct node *n)
{
	if (!settled(n)) {
		harness_failed++;
		fprintf(stderr, "a node is still in use (a waiting open or a job): stopping\n");
		printf("%d passed, %d failed\n", harness_passed, harness_failed);
		fflush(NULL);
		(void)remove_tree(dir);
		_exit(1);
	}
	pthread_mutex_lock(&fs.mu);
	lazy_free(&n->lz);
	pthread_mutex_unlock(&fs.mu);
}

static int forces_now(void)
{
	pthread_mutex_lock(&fake_mu);
	int k = nforces;
	pthread_mutex_unlock(&fake_mu);
	return k;
}

/* A memo entry: t's output "out" is v. */
static void put_memo(const struct gg_name *t, const struct gg_name *v)
{
	struct memo m = {0};
	memo_add(&m, "out", v, false);
	CHECK(memo_put(fs.store, t, &m) == 0);
	memo_free(&m);
}

/* Removes t's memo entry, as gc would. */
static void forget_memo(const struct gg_name *t)
{
	char *p = xasprintf("%s/.gg/memo/%c%c/%s", dir, t->s[1], t->s[2], t->s);
	CHECK(unlink(p) == 0);
	free(p);
}

static bool open_lazy(struct node *n, struct fuse_req *req)
{
	struct fuse_file_info fi = {.flags = O_RDONLY};
	return lazy_open(&fs, req, n, &fi, 0, true);
}

/* user.gg.NAME as a string ("" if it does not exist). */
static char *xattr(struct node *n, const char *name)
{
	char *v = NULL;
	size_t len = 0;
	if (lazy_getxattr(&fs, n, name, &v, &len) != 0)
		return xstrdup("");
	char *s = xstrndup(v, len);
	free(v);
	return s;
}

#define CHECK_XATTR(n, name, want)                                                                 \
	do {                                                                                       \
		char *v_ = xattr((n), (name));                                                     \
		CHECK_STR(v_, (want));                                                             \
		free(v_);                                                                          \
	} while (0)

/* A node that is no longer lazy: nothing replied, nothing forced. */
static void test_not_lazy(void)
{
	struct node n;
	make_output(&n);
	n.lz.is_ref = false;
	struct fuse_req req = {0};
	int before = forces_now();
	CHECK(!open_lazy(&n, &req));
	CHECK(req.nreplies == 0 && forces_now() == before && n.pins == 0);
	n.lz.is_ref = true;
	drop_output(&n);
}

/* Two opens during one force share it; both get the output. Then the
 * output is known and the kernel told: a third open is served at once. */
static void test_opens_join_one_force(void)
{
	struct node n;
	make_output(&n);
	struct fuse_req r1 = {0}, r2 = {0}, r3 = {0};
	int first = forces_now();
	CHECK_XATTR(&n, "user.gg.state", "unforced");
	CHECK(open_lazy(&n, &r1));
	CHECK(open_lazy(&n, &r2));
	CHECK(forces_now() == first + 1);
	CHECK(gg_ref_eq(&forces[first].ref, &n.lz.ref));
	CHECK(r1.nreplies == 0 && r2.nreplies == 0);
	CHECK(r1.intr != NULL && r2.intr != NULL);
	CHECK_XATTR(&n, "user.gg.state", "running");
	CHECK(!lazy_is_forced(&fs, &n));

	int opens = nstore_opens, invals = ninvals;
	struct sched_outcome ok = {.status = 0, .value = value};
	CHECK(answer(first, &ok));
	CHECK(wait_replied(&r1, 5000) && wait_replied(&r2, 5000));
	CHECK(r1.replied == REPLY_OPEN && r2.replied == REPLY_OPEN);
	CHECK(settled(&n));
	CHECK(r1.nreplies == 1 && r2.nreplies == 1);
	CHECK(r1.intr == NULL && r2.intr == NULL); /* no interrupt may answer them again */
	CHECK(nstore_opens == opens + 2 && gg_name_eq(&served_value, &value));
	CHECK_STR(served, OUTPUT);
	CHECK(ninvals == invals + 1); /* the kernel was told the new size, once */
	CHECK(lazy_is_forced(&fs, &n));
	CHECK_XATTR(&n, "user.gg.state", "forced");
	CHECK_XATTR(&n, "user.gg.error", "");

	/* known, and the kernel has its size: no force, answered in the call */
	CHECK(open_lazy(&n, &r3));
	CHECK(r3.replied == REPLY_OPEN && r3.nreplies == 1);
	CHECK(forces_now() == first + 1 && nstore_opens == opens + 3);
	CHECK_STR(served, OUTPUT);
	drop_output(&n);
}

/* What a rewrite of the file does to its node (lazy_classify): a new
 * reference, not forced. */
static struct node *rewritten;
static void rewrite_node(struct fuse_req *req)
{
	(void)req;
	pthread_mutex_lock(&fs.mu);
	rewritten->lz.gen++;
	rewritten->lz.forced = false;
	pthread_mutex_unlock(&fs.mu);
}

/* A caller who may not start a force (another user, without -o
 * others_force) is answered EACCES for a reference not forced yet, decided
 * under the lock that would start the force: nothing is forced, and the
 * log says who and the way out. Nor does it wait for a force under way
 * (its open would keep that force from being withdrawn, and get it started
 * again for a newer reference); once forced, it is served. */
static void test_open_without_force(void)
{
	struct node n;
	make_output(&n);
	struct fuse_file_info fi = {.flags = O_RDONLY};
	struct fuse_req r1 = {0}, r2 = {0}, r3 = {0}, r4 = {0};
	int first = forces_now();
	nlogged = 0;
	CHECK(lazy_open(&fs, &r1, &n, &fi, 0, false));
	CHECK(r1.replied == REPLY_ERR && r1.err == EACCES && forces_now() == first);
	CHECK(nlogged == 1 && strstr(logged, "may not start its force") &&
	      strstr(logged, "others_force"));
	CHECK_XATTR(&n, "user.gg.state", "unforced");
	CHECK(open_lazy(&n, &r2)); /* the owner's */
	CHECK(forces_now() == first + 1);
	CHECK(lazy_open(&fs, &r3, &n, &fi, 0, false));
	CHECK(forces_now() == first + 1 && r3.replied == REPLY_ERR && r3.err == EACCES);
	CHECK(nlogged == 1); /* said once for this reference and user */
	struct sched_outcome ok = {.status = 0, .value = value};
	CHECK(answer(first, &ok));
	CHECK(wait_replied(&r2, 5000) && r2.replied == REPLY_OPEN);
	CHECK(settled(&n));
	put_memo(&thunk, &value);                      /* as the scheduler does */
	CHECK(lazy_open(&fs, &r4, &n, &fi, 0, false)); /* forced: served */
	CHECK(wait_replied(&r4, 5000) && r4.replied == REPLY_OPEN);
	CHECK(settled(&n));
	/* rewritten to an unforced reference while the open registers (the
	 * lock let go): ESTALE, so that the kernel opens again; nothing forced */
	struct fuse_req r5 = {.on_register = rewrite_node};
	rewritten = &n;
	pthread_mutex_lock(&fs.mu);
	n.lz.kernel_synced = false; /* not the fast path */
	pthread_mutex_unlock(&fs.mu);
	int before = forces_now();
	CHECK(lazy_open(&fs, &r5, &n, &fi, 0, false));
	CHECK(r5.replied == REPLY_ERR && r5.err == ESTALE && r5.nreplies == 1);
	CHECK(forces_now() == before);
	CHECK(settled(&n));
	forget_memo(&thunk);
	drop_output(&n);
}

static bool forces_reach(int k)
{
	for (int i = 0; i < 5000 && forces_now() < k; i++)
		usleep(1000);
	return forces_now() == k;
}

static const struct gg_name *forgotten; /* forget_on_register's */

/* gc removing a memo entry between an open's admission and its force. */
static void forget_on_register(struct fuse_req *req)
{
	(void)req;
	forget_memo(forgotten);
}

/*
 * Another user's open is admitted only while the memo holds the output
 * and the store its value: the node counting as forced is not enough once
 * gc removed the value (its force would run the thunk again, for them). A
 * result forced elsewhere (gg force) is served. Such an open never reaches
 * the scheduler: the memo answers it, so gc removing the entry just after
 * the admission runs nothing either.
 */
static void test_open_without_force_needs_memo(void)
{
	struct node n;
	make_output(&n);
	n.lz.ref.name = thunk2;
	put_memo(&thunk2, &value2); /* forced by gg force */
	struct fuse_file_info fi = {.flags = O_RDONLY};
	struct fuse_req r1 = {0}, r2 = {0};
	int first = forces_now();
	CHECK(lazy_open(&fs, &r1, &n, &fi, 0, false));
	CHECK(wait_replied(&r1, 5000) && r1.replied == REPLY_OPEN);
	CHECK(forces_now() == first);
	CHECK_STR(served, OUTPUT2);
	CHECK(settled(&n) && lazy_is_forced(&fs, &n));

	char *p = store_object_path(fs.store, &value2);
	CHECK(unlink(p) == 0); /* as gc does; the node still counts as forced */
	free(p);
	pthread_mutex_lock(&fs.mu);
	n.lz.kernel_synced = false; /* not the fast path, which looks at the store */
	pthread_mutex_unlock(&fs.mu);
	nlogged = 0;
	CHECK(lazy_open(&fs, &r2, &n, &fi, 0, false));
	CHECK(r2.replied == REPLY_ERR && r2.err == EACCES && forces_now() == first);
	CHECK(nlogged == 1 && strstr(logged, "may not start its force"));
	CHECK(settled(&n));
	CHECK(store_put_buf(fs.store, OUTPUT2, strlen(OUTPUT2), GG_VALUE, &value2) == 0);

	/* admitted, then gc: an error naming the cause, nothing run */
	struct fuse_req r3 = {.on_register = forget_on_register};
	forgotten = &thunk2;
	pthread_mutex_lock(&fs.mu);
	n.lz.forced = n.lz.kernel_synced = false;
	pthread_mutex_unlock(&fs.mu);
	CHECK(lazy_open(&fs, &r3, &n, &fi, 0, false));
	CHECK(wait_replied(&r3, 5000) && settled(&n));
	CHECK(r3.replied == REPLY_ERR && r3.err == EIO && forces_now() == first);
	char *e = xattr(&n, "user.gg.error");
	CHECK(strstr(e, "no longer in the store"));
	free(e);
	drop_output(&n);
}

/* ... and when an open that may force joins such a job, whose memo entry
 * is gone by then, the thunk is forced after all, for both. */
static void test_memo_answer_gone_then_owner_joins(void)
{
	struct node n;
	make_output(&n);
	put_memo(&thunk, &value);
	struct fuse_file_info fi = {.flags = O_RDONLY};
	struct fuse_req r1 = {.on_register = forget_on_register}, r2 = {0};
	forgotten = &thunk;
	lazy_stop(&fs); /* the done threads wait: the owner joins first */
	int first = forces_now();
	CHECK(lazy_open(&fs, &r1, &n, &fi, 0, false));
	CHECK(open_lazy(&n, &r2));
	CHECK(forces_now() == first && r1.nreplies == 0 && r2.nreplies == 0);
	fs.done_stop = false;
	CHECK(lazy_start(&fs) == 0);
	CHECK(forces_reach(first + 1));
	struct sched_outcome ok = {.status = 0, .value = value};
	CHECK(answer(first, &ok));
	CHECK(wait_replied(&r1, 5000) && r1.replied == REPLY_OPEN);
	CHECK(wait_replied(&r2, 5000) && r2.replied == REPLY_OPEN);
	CHECK(settled(&n));
	drop_output(&n);
}

/* A failed force answers its waiters EIO and keeps its cause, one line. */
static void test_failure_named(void)
{
	struct node n;
	make_output(&n);
	struct fuse_req r1 = {0}, r2 = {0}, r3 = {0};
	int first = forces_now();
	CHECK(open_lazy(&n, &r1));
	CHECK(open_lazy(&n, &r2));
	nlogged = 0;
	struct sched_outcome bad = {
	    .status = -1,
	    .error = "thunk T failed: exit status 3\n  command: prog out\n  stderr: no space left",
	    .code = GG_EPROGRAM};
	CHECK(answer(first, &bad));
	CHECK(wait_replied(&r1, 5000) && wait_replied(&r2, 5000));
	CHECK(settled(&n));
	CHECK(r1.replied == REPLY_ERR && r1.err == EIO && r1.nreplies == 1);
	CHECK(r2.replied == REPLY_ERR && r2.err == EIO && r2.nreplies == 1);
	CHECK(!lazy_is_forced(&fs, &n));
	CHECK_XATTR(&n, "user.gg.state", "failed");
	CHECK_XATTR(&n, "user.gg.error",
	            "thunk T failed: exit status 3 | command: prog out | stderr: no space left");
	/* the log names the file, the reference and the cause */
	CHECK(nlogged == 1 && strstr(logged, "MOUNT/out: cannot force ") &&
	      strstr(logged, n.lz.ref_str) && strstr(logged, "stderr: no space left"));

	/* a failure is not final: the next open forces again */
	CHECK(open_lazy(&n, &r3));
	CHECK(forces_now() == first + 2 && r3.nreplies == 0);
	CHECK_XATTR(&n, "user.gg.state", "running");
	struct sched_outcome ok = {.status = 0, .value = value};
	CHECK(answer(first + 1, &ok));
	CHECK(wait_replied(&r3, 5000) && r3.replied == REPLY_OPEN);
	CHECK(settled(&n));
	CHECK_XATTR(&n, "user.gg.error", "");
	drop_output(&n);
}

/* The only waiter interrupted: EINTR once, and the force is withdrawn. */
static void test_interrupt_last_waiter(void)
{
	struct node n;
	make_output(&n);
	struct fuse_req r1 = {0}, r2 = {0};
	int first = forces_now(), withdraws = nwithdraws;
	CHECK(open_lazy(&n, &r1));
	CHECK(forces_now() == first + 1 && r1.intr != NULL);
	r1.intr(&r1, r1.intr_data);
	CHECK(r1.replied == REPLY_ERR && r1.err == EINTR && r1.nreplies == 1);
	/* its token fired, and the scheduler was told (which answered it) */
	CHECK(nwithdraws == withdraws + 1 && forces[first].withdrawn);
	CHECK(settled(&n));
	CHECK(r1.nreplies == 1); /* the withdrawn job answered nobody */
	CHECK_XATTR(&n, "user.gg.state", "unforced");
	CHECK_XATTR(&n, "user.gg.error", "");

	/* a later open starts a force of its own */
	CHECK(open_lazy(&n, &r2));
	CHECK(forces_now() == first + 2);
	struct sched_outcome ok = {.status = 0, .value = value};
	CHECK(answer(first + 1, &ok));
	CHECK(wait_replied(&r2, 5000) && r2.replied == REPLY_OPEN);
	CHECK(settled(&n));
	CHECK(r1.nreplies == 1 && r2.nreplies == 1);
	drop_output(&n);
}

/* One of two waiters interrupted: it gets EINTR, the force goes on for
 * the other, which alone gets the output. */
static void test_interrupt_one_of_two(void)
{
	struct node n;
	make_output(&n);
	struct fuse_req r1 = {0}, r2 = {0};
	int first = forces_now(), withdraws = nwithdraws;
	CHECK(open_lazy(&n, &r1));
	CHECK(open_lazy(&n, &r2));
	r1.intr(&r1, r1.intr_data);
	CHECK(r1.replied == REPLY_ERR && r1.err == EINTR && r1.nreplies == 1);
	CHECK(r2.nreplies == 0);
	CHECK(!gg_cancel_fired(forces[first].cancel) && nwithdraws == withdraws);
	CHECK_XATTR(&n, "user.gg.state", "running");
	struct sched_outcome ok = {.status = 0, .value = value};
	CHECK(answer(first, &ok));
	CHECK(wait_replied(&r2, 5000) && r2.replied == REPLY_OPEN);
	CHECK(settled(&n));
	CHECK(r1.nreplies == 1 && r1.replied == REPLY_ERR && r2.nreplies == 1);
	CHECK(forces_now() == first + 1);
	drop_output(&n);
}

/* Interrupted before its callback is registered (libfuse then runs it in
 * the registration): EINTR once, and no force starts. */
static void test_interrupted_while_registering(void)
{
	struct node n;
	make_output(&n);
	struct fuse_req r = {.interrupted = true};
	int first = forces_now();
	CHECK(open_lazy(&n, &r));
	CHECK(r.replied == REPLY_ERR && r.err == EINTR && r.nreplies == 1);
	CHECK(forces_now() == first);
	CHECK(settled(&n));
	CHECK(r.nreplies == 1);
	CHECK_XATTR(&n, "user.gg.state", "unforced");
	drop_output(&n);
}

/* A by-hash output forced to a symbolic link: EIO, and the error says why. */
static void test_output_link_refused(void)
{
	struct node n;
	make_output(&n);
	struct fuse_req r = {0};
	int first = forces_now();
	CHECK(open_lazy(&n, &r));
	struct sched_outcome ok = {.status = 0, .value = value, .link = true};
	CHECK(answer(first, &ok));
	CHECK(wait_replied(&r, 5000));
	CHECK(settled(&n));
	CHECK(r.replied == REPLY_ERR && r.err == EIO && r.nreplies == 1);
	char *e = xattr(&n, "user.gg.error");
	CHECK(strstr(e, "it is a symbolic link") != NULL);
	free(e);
	CHECK(!lazy_is_forced(&fs, &n));
	drop_output(&n);
}

/* Forced elsewhere (a memo entry): its size and exec bit, without forcing. */
static void test_memo_attr(void)
{
	struct node n;
	make_output(&n);
	struct stat st = {.st_mode = S_IFREG | 0444, .st_size = 0};
	int first = forces_now();
	lazy_adjust_attr(&fs, &n, &st); /* no memo entry yet: left as it is */
	CHECK(st.st_size == 0 && st.st_mode == (S_IFREG | 0444) && !lazy_is_forced(&fs, &n));

	struct memo m = {0};
	memo_add(&m, "out", &value, true);
	CHECK(memo_put(fs.store, &thunk, &m) == 0);
	memo_free(&m);
	lazy_adjust_attr(&fs, &n, &st);
	CHECK(st.st_size == (off_t)strlen(OUTPUT) && st.st_blocks == 1);
	CHECK(st.st_mode == (S_IFREG | 0555));
	CHECK(lazy_is_forced(&fs, &n) && forces_now() == first);
	drop_output(&n);
}

/* Interrupted while a done thread answers it (it was taken from the
 * waiters): the interrupt leaves it to the done thread, one reply. */
static void test_interrupt_while_answered(void)
{
	struct node n;
	make_output(&n);
	struct fuse_req r = {0};
	int first = forces_now(), withdraws = nwithdraws;
	CHECK(open_lazy(&n, &r));
	pthread_mutex_lock(&fake_mu);
	interrupt_in_inval = &r;
	pthread_mutex_unlock(&fake_mu);
	struct sched_outcome ok = {.status = 0, .value = value};
	CHECK(answer(first, &ok));
	CHECK(wait_replied(&r, 5000));
	CHECK(settled(&n));
	CHECK(interrupt_in_inval == NULL); /* it did come */
	CHECK(r.replied == REPLY_OPEN && r.nreplies == 1);
	CHECK(nwithdraws == withdraws);
	drop_output(&n);
}

/* Flips one byte of value v's object in the store: same size, but its
 * bytes no longer hash to its name (a bad disk). */
static void damage(const struct gg_name *v)
{
	char *p = store_object_path(fs.store, v);
	int fd = chmod(p, 0644) == 0 ? open(p, O_WRONLY) : -1;
	if (fd < 0 || pwrite(fd, "#", 1, 0) != 1 || close(fd) < 0)
		abort();
	free(p);
}

/* Stores OUTPUT (again: recomputed, fetched again) as `value`. */
static void store_output(void)
{
	struct gg_name v;
	if (store_put_buf(fs.store, OUTPUT, strlen(OUTPUT), GG_VALUE, &v) < 0 ||
	    !gg_name_eq(&v, &value))
		abort();
}

/* Waits until k forces were asked for. */

/* An open r of the by-hash output n whose force ends with a damaged
 * value: the index of that force; the next one is under way. */
static int force_damaged(struct node *n, struct fuse_req *r)
{
	make_output(n);
	int first = forces_now();
	CHECK(open_lazy(n, r));
	damage(&value);
	nlogged = 0;
	struct sched_outcome ok = {.status = 0, .value = value};
	CHECK(answer(first, &ok));
	CHECK(forces_reach(first + 2));
	return first;
}

/* A force whose value is damaged in the store never serves those bytes:
 * the value is quarantined (said once) and the reference forced once
 * more, which recomputes it; the open gets the sound output. */
static void test_damaged_value_forced_again(void)
{
	struct node n;
	struct fuse_req r = {0};
	int first = force_damaged(&n, &r);
	CHECK(gg_ref_eq(&forces[first + 1].ref, &n.lz.ref));
	CHECK(r.nreplies == 0);
	CHECK(nlogged == 1 && strstr(logged, value.s) && strstr(logged, "damaged") &&
	      strstr(logged, "forcing it again"));
	store_output(); /* as the second force would */
	struct sched_outcome ok = {.status = 0, .value = value};
	CHECK(answer(first + 1, &ok));
	CHECK(wait_replied(&r, 5000) && r.replied == REPLY_OPEN && r.nreplies == 1);
	CHECK_STR(served, OUTPUT);
	CHECK(settled(&n));
	CHECK(forces_now() == first + 2 && lazy_is_forced(&fs, &n));
	drop_output(&n);
}

/* Damaged again after it was forced once more: EIO, the damage named in
 * user.gg.error, and no third force (the reader would wait for ever). */
static void test_damaged_twice_fails(void)
{
	struct node n;
	struct fuse_req r = {0};
	int first = force_damaged(&n, &r);
	store_output();
	damage(&value);
	struct sched_outcome ok = {.status = 0, .value = value};
	CHECK(answer(first + 1, &ok));
	CHECK(wait_replied(&r, 5000) && settled(&n));
	CHECK(r.replied == REPLY_ERR && r.err == EIO && r.nreplies == 1);
	CHECK(forces_now() == first + 2 && !lazy_is_forced(&fs, &n));
	char *e = xattr(&n, "user.gg.error");
	CHECK(strstr(e, "damaged") && strstr(e, value.s));
	free(e);
	store_output();
	drop_output(&n);
}

/* ... but not for another user's open, which may not start a force: it
 * was admitted for what the memo held, and forcing again would run the
 * thunk. EIO, the damage named; the owner's next open forces again. */
static void test_damaged_not_forced_again_for_others(void)
{
	struct node n;
	make_output(&n);
	put_memo(&thunk, &value);
	struct fuse_file_info fi = {.flags = O_RDONLY};
	struct fuse_req r = {0}, r2 = {0};
	int first = forces_now();
	damage(&value);
	CHECK(lazy_open(&fs, &r, &n, &fi, 0, false)); /* answered by the memo */
	struct sched_outcome ok = {.status = 0, .value = value};
	CHECK(wait_replied(&r, 5000) && settled(&n));
	CHECK(r.replied == REPLY_ERR && r.err == EIO && r.nreplies == 1);
	CHECK(forces_now() == first);
	char *e = xattr(&n, "user.gg.error");
	CHECK(strstr(e, "damaged") && strstr(e, value.s));
	free(e);
	CHECK(open_lazy(&n, &r2)); /* the owner's */
	CHECK(forces_now() == first + 1);
	store_output();
	CHECK(answer(first, &ok));
	CHECK(wait_replied(&r2, 5000) && r2.replied == REPLY_OPEN);
	CHECK(settled(&n));

	/* the owner's open joined it: forced again, both answered */
	struct fuse_req r3 = {0}, r4 = {0};
	put_memo(&thunk, &value);
	pthread_mutex_lock(&fs.mu);
	n.lz.kernel_synced = false; /* not the fast path */
	pthread_mutex_unlock(&fs.mu);
	lazy_stop(&fs); /* the done threads wait: the owner joins first */
	CHECK(lazy_open(&fs, &r3, &n, &fi, 0, false));
	CHECK(open_lazy(&n, &r4));
	CHECK(forces_now() == first + 1);
	damage(&value);
	fs.done_stop = false;
	CHECK(lazy_start(&fs) == 0);
	CHECK(forces_reach(first + 2));
	store_output();
	CHECK(answer(first + 1, &ok));
	CHECK(wait_replied(&r3, 5000) && r3.replied == REPLY_OPEN);
	CHECK(wait_replied(&r4, 5000) && r4.replied == REPLY_OPEN);
	CHECK(settled(&n));
	forget_memo(&thunk);
	drop_output(&n);
}

/* A forced output whose value gc then removed from the store is not served
 * by the fast path: the open forces again, the node no longer counts as
 * forced meanwhile, and the open gets the output once it is back. */
static void test_gc_removed_value_forced_again(void)
{
	struct node n;
	make_output(&n);
	struct fuse_req r1 = {0}, r2 = {0};
	int first = forces_now();
	CHECK(open_lazy(&n, &r1));
	struct sched_outcome ok = {.status = 0, .value = value};
	CHECK(answer(first, &ok));
	CHECK(wait_replied(&r1, 5000) && r1.replied == REPLY_OPEN);
	CHECK(settled(&n) && lazy_is_forced(&fs, &n));

	char *p = store_object_path(fs.store, &value);
	CHECK(unlink(p) == 0); /* as gc does */
	free(p);
	int opens = nstore_opens;
	CHECK(open_lazy(&n, &r2));
	CHECK(r2.nreplies == 0 && nstore_opens == opens);
	CHECK(forces_now() == first + 2 && !lazy_is_forced(&fs, &n));
	store_output(); /* as the force would */
	CHECK(answer(first + 1, &ok));
	CHECK(wait_replied(&r2, 5000) && r2.replied == REPLY_OPEN && r2.nreplies == 1);
	CHECK_STR(served, OUTPUT);
	CHECK(settled(&n) && lazy_is_forced(&fs, &n));
	drop_output(&n);
}

/* The kernel's cache is invalidated when a force ends with a value the
 * kernel may not have, and only then: an open that came while the previous
 * force's invalidation was under way forces again (the kernel was not
 * known to have the value yet), and its force, of the value the kernel was
 * just told, leaves the kernel's cache alone. */
static void test_no_invalidation_when_kernel_has_value(void)
{
	struct node n;
	make_output(&n);
	struct fuse_req r1 = {0}, r2 = {0}, r3 = {0};
	int first = forces_now(), invals = ninvals;
	CHECK(open_lazy(&n, &r1));
	pthread_mutex_lock(&fake_mu);
	open_in_inval = &r2;
	open_in_inval_node = &n;
	pthread_mutex_unlock(&fake_mu);
	struct sched_outcome ok = {.status = 0, .value = value};
	CHECK(answer(first, &ok));
	CHECK(wait_replied(&r1, 5000) && r1.replied == REPLY_OPEN);
	CHECK(ninvals == invals + 1);
	CHECK(forces_reach(first + 2) && r2.nreplies == 0); /* r2 opened, and forces */
	CHECK(answer(first + 1, &ok));
	CHECK(wait_replied(&r2, 5000) && r2.replied == REPLY_OPEN && r2.nreplies == 1);
	CHECK(settled(&n));
	CHECK(ninvals == invals + 1); /* the kernel had that value already */
	CHECK_STR(served, OUTPUT);
	/* and it is known to have it: the fast path */
	CHECK(open_lazy(&n, &r3));
	CHECK(r3.replied == REPLY_OPEN && forces_now() == first + 2);
	drop_output(&n);
}

/* ---- placeholders: files of SOURCE ---- */

/* The node of the file dir/name, classified as a lookup would. */
static bool make_pass(struct node *n, const char *name)
{
	memset(n, 0, sizeof *n);
	n->kind = NODE_PASS;
	char *path = at(name);
	n->fd = open(path, O_PATH | O_CLOEXEC);
	free(path);
	struct stat st;
	if (n->fd < 0 || fstat(n->fd, &st) < 0)
		abort();
	n->dev = st.st_dev;
	n->ino = st.st_ino;
	return lazy_classify_now(&fs, n, &st);
}

/* Writes a placeholder of THUNK#out (or text) to dir/name, in place if
 * it exists (the same inode, as a write through the mount). */
static void put_file(const char *name, const struct gg_name *t, const char *text)
{
	struct buf b = BUF_INIT;
	if (t) {
		struct gg_ref ref = {*t, "out"};
		placeholder_format(&ref, &b);
	} else {
		buf_adds(&b, text);
	}
	char *path = at(name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, b.data, b.len) != (ssize_t)b.len || close(fd) < 0)
		abort();
	free(path);
	buf_free(&b);
}

static bool reclassify(struct node *n)
{
	struct stat st;
	return lazy_classify_now(&fs, n, &st);
}

static void drop_pass(struct node *n)
{
	drop_output(n);
	close(n->fd);
}

/* A placeholder that cannot be read just now (someone holds a lease on
 * it: the read that does not wait is refused) stays a placeholder, not
 * taken for its bytes. */
static void test_classify_unreadable(void)
{
	struct node n;
	put_file("leased", &thunk, NULL);
	CHECK(make_pass(&n, "leased") && n.lz.is_ref);
	signal(SIGIO, SIG_IGN); /* the lease's break notice */
	char *p = at("leased");
	int fd = open(p, O_RDWR | O_CLOEXEC);
	free(p);
	CHECK(fd >= 0 && fcntl(fd, F_SETLEASE, F_WRLCK) == 0);
	struct timespec t[2] = {{1000, 0}, {1000, 0}};
	CHECK(futimens(fd, t) == 0); /* seen changed: read again */
	CHECK(reclassify(&n) && n.lz.is_ref);
	CHECK(fcntl(fd, F_SETLEASE, F_UNLCK) == 0);
	close(fd);
	drop_pass(&n);
}

/* What is a placeholder: a file naming a thunk the store has. */
static void test_classify(void)
{
	struct node n;
	put_file("ph", &thunk, NULL);
	CHECK(make_pass(&n, "ph"));
	struct gg_ref want = {thunk, "out"};
	CHECK(n.lz.is_ref && n.lz.was_ref && gg_ref_eq(&n.lz.ref, &want));
	char *ref = gg_ref_format(&want);
	CHECK_XATTR(&n, "user.gg.ref", ref);
	free(ref);
	struct buf b = BUF_INIT;
	placeholder_format(&want, &b);
	buf_add(&b, "", 1);
	CHECK_XATTR(&n, "user.gg.placeholder", b.data);
	buf_free(&b);
	/* rewritten as ordinary bytes: no longer lazy, never forced */
	put_file("ph", NULL, "now an ordinary file\n");
	CHECK(!reclassify(&n) && !n.lz.is_ref && n.lz.was_ref);
	struct fuse_req r = {0};
	int first = forces_now();
	CHECK(!open_lazy(&n, &r) && r.nreplies == 0 && forces_now() == first);
	CHECK_XATTR(&n, "user.gg.placeholder", "");
	/* a placeholder again, then one of a thunk the store lacks: not lazy */
	put_file("ph", &thunk, NULL);
	CHECK(reclassify(&n) && n.lz.is_ref);
	put_file("ph", &unknown, NULL);
	CHECK(!reclassify(&n) && !n.lz.is_ref);
	CHECK(!open_lazy(&n, &r) && r.nreplies == 0 && forces_now() == first);
	drop_pass(&n);

	/* a placeholder of a thunk the store lacks is served as its bytes,
	 * said once for this version of the file */
	put_file("stranger", &unknown, NULL);
	nlogged = 0;
	CHECK(!make_pass(&n, "stranger"));
	CHECK(nlogged == 1 && strstr(logged, "which the store") && strstr(logged, unknown.s) &&
	      strstr(logged, "served as its bytes"));
	CHECK(!reclassify(&n) && nlogged == 1);
	drop_pass(&n);
}

/*
 * A placeholder of THUNK#out at dir/name opened by r1, then rewritten to
 * THUNK2#out (and seen so) and opened by r2 while THUNK#out is forcing:
 * the index of that force, the only one.
 */
static int open_across_rewrite(struct node *n, const char *name, struct fuse_req *r1,
                               struct fuse_req *r2)
{
	put_file(name, &thunk, NULL);
	CHECK(make_pass(n, name));
	int first = forces_now();
	CHECK(open_lazy(n, r1));
	put_file(name, &thunk2, NULL);
	CHECK(reclassify(n) && gg_name_eq(&n->lz.ref.name, &thunk2));
	CHECK(open_lazy(n, r2));
	CHECK(forces_now() == first + 1); /* r2 waits for the running force to end */
	return first;
}

/* ... then force i, THUNK2#out's, started for r2 alone, answers it with
 * its output; r1 had its one reply. */
static void forced_anew(struct node *n, int i, struct fuse_req *r1, struct fuse_req *r2)
{
	CHECK(forces_now() == i + 1 && gg_name_eq(&forces[i].ref.name, &thunk2));
	CHECK(r2->nreplies == 0);
	struct sched_outcome ok2 = {.status = 0, .value = value2};
	CHECK(answer(i, &ok2));
	CHECK(wait_replied(r2, 5000) && r2->replied == REPLY_OPEN);
	CHECK(settled(n));
	CHECK(r1->nreplies == 1 && r2->nreplies == 1);
	CHECK_STR(served, OUTPUT2);
	drop_pass(n);
}

/* Rewritten to another placeholder while forcing: the open of the old
 * reference gets ESTALE (the kernel opens again), the new reference is
 * forced for the open that asked for it. */
static void test_rewritten_during_force(void)
{
	struct node n;
	struct fuse_req r1 = {0}, r2 = {0};
	int first = open_across_rewrite(&n, "rw", &r1, &r2);
	struct sched_outcome ok = {.status = 0, .value = value};
	CHECK(answer(first, &ok));
	CHECK(wait_replied(&r1, 5000));
	CHECK(r1.replied == REPLY_ERR && r1.err == ESTALE && r1.nreplies == 1);
	/* then the new reference, for r2 */
	for (int i = 0; i < 5000 && forces_now() == first + 1; i++)
		usleep(1000);
	forced_anew(&n, first + 1, &r1, &r2);
}

/* Rewritten while forcing, then the old reference's only reader
 * interrupted: its force is withdrawn and the new one starts at once. */
static void test_rewritten_then_interrupted(void)
{
	struct node n;
	struct fuse_req r1 = {0}, r2 = {0};
	int first = open_across_rewrite(&n, "rwi", &r1, &r2);
	r1.intr(&r1, r1.intr_data);
	CHECK(r1.replied == REPLY_ERR && r1.err == EINTR && r1.nreplies == 1);
	CHECK(forces[first].withdrawn);
	forced_anew(&n, first + 1, &r1, &r2);
}

/* ... and rewritten once more, unopened: the old reference's only reader
 * interrupted, nobody waits for the file's current reference, so nothing
 * is forced for it (a force nobody waits for could not be withdrawn); the
 * open of the reference between gets ESTALE. */
static void test_interrupted_after_two_rewrites(void)
{
	struct node n;
	struct fuse_req r1 = {0}, r2 = {0};
	int first = open_across_rewrite(&n, "rwr", &r1, &r2);
	put_file("rwr", &link_thunk, NULL);
	CHECK(reclassify(&n) && gg_name_eq(&n.lz.ref.name, &link_thunk));
	r1.intr(&r1, r1.intr_data);
	CHECK(r1.replied == REPLY_ERR && r1.err == EINTR && r1.nreplies == 1);
	CHECK(forces[first].withdrawn);
	CHECK(wait_replied(&r2, 5000) && r2.replied == REPLY_ERR && r2.err == ESTALE);
	CHECK(settled(&n) && forces_now() == first + 1);
	drop_pass(&n);
}

/* A placeholder whose output (in the memo) is a symbolic link: shown as
 * one, its target read from the store; an open gets ESTALE (the kernel
 * looks it up again and follows the link). */
static void test_link_placeholder(void)
{
	struct memo m = {0};
	memo_add_link(&m, "out", &target);
	CHECK(memo_put(fs.store, &link_thunk, &m) == 0);
	memo_free(&m);
	struct node n;
	put_file("lnk", &link_thunk, NULL);
	CHECK(make_pass(&n, "lnk"));
	char *t = NULL;
	CHECK(lazy_link_target(&fs, &n, &t) == 0 && t == NULL); /* not known yet */
	struct stat st = {.st_mode = S_IFREG | 0644};
	lazy_adjust_attr(&fs, &n, &st);
	CHECK(st.st_mode == (S_IFLNK | 0777) && st.st_size == 11);
	CHECK(lazy_link_target(&fs, &n, &t) == 1);
	CHECK_STR(t, "libfoo.so.1");
	free(t);
	struct fuse_req r = {0};
	int first = forces_now();
	CHECK(open_lazy(&n, &r));
	CHECK(r.replied == REPLY_ERR && r.err == ESTALE && r.nreplies == 1);
	CHECK(forces_now() == first);
	drop_pass(&n);
}

/* dir/name's bytes (at most 255), or "" if it cannot be read. */
static char *file_text(const char *name)
{
	char *path = at(name);
	struct buf b = BUF_INIT;
	if (read_file(path, &b, 255) < 0)
		buf_adds(&b, "");
	free(path);
	buf_add(&b, "", 1);
	return buf_steal(&b);
}

static mode_t file_mode(const char *name)
{
	char *path = at(name);
	struct stat st;
	mode_t m = stat(path, &st) == 0 ? st.st_mode & 07777 : 0;
	free(path);
	return m;
}

/* --materialize: the forced output replaces the placeholder in SOURCE, its
 * mode kept with the output's exec bit added, and the open is served it. */
static void test_materialize(void)
{
	struct node n;
	put_file("mat", &thunk, NULL);
	char *path = at("mat");
	CHECK(chmod(path, 0640) == 0);
	free(path);
	CHECK(make_pass(&n, "mat"));
	fs.materialize = 1;
	struct fuse_req r = {0};
	int first = forces_now();
	CHECK(open_lazy(&n, &r));
	struct sched_outcome ok = {.status = 0, .value = value, .exec = true};
	CHECK(answer(first, &ok));
	CHECK(wait_replied(&r, 5000) && r.replied == REPLY_OPEN && r.nreplies == 1);
	CHECK(settled(&n));
	fs.materialize = 0;
	CHECK_STR(served, OUTPUT);
	char *text = file_text("mat");
	CHECK_STR(text, OUTPUT);
	free(text);
	CHECK(file_mode("mat") == 0750);
	drop_pass(&n);
}

/* --materialize leaves alone a file rewritten in SOURCE behind the mount's
 * back while its force ran (the user's edit), and says so. */
static void test_materialize_spares_changed_file(void)
{
	struct node n;
	put_file("mat2", &thunk, NULL);
	CHECK(make_pass(&n, "mat2"));
	fs.materialize = 1;
	struct fuse_req r = {0};
	int first = forces_now();
	CHECK(open_lazy(&n, &r));
	put_file("mat2", NULL, "my own edit\n");
	nlogged = 0;
	struct sched_outcome ok = {.status = 0, .value = value};
	CHECK(answer(first, &ok));
	CHECK(wait_replied(&r, 5000));
	CHECK(settled(&n));
	fs.materialize = 0;
	char *text = file_text("mat2");
	CHECK_STR(text, "my own edit\n");
	free(text);
	CHECK(nlogged == 1 && strstr(logged, "changed meanwhile; not materialised"));
	drop_pass(&n);
}

TEST_MAIN(setup, test_not_lazy, test_opens_join_one_force, test_open_without_force,
          test_open_without_force_needs_memo, test_memo_answer_gone_then_owner_joins,
          test_failure_named, test_interrupt_last_waiter, test_interrupt_one_of_two,
          test_interrupted_while_registering, test_interrupt_while_answered,
          test_output_link_refused, test_memo_attr, test_damaged_value_forced_again,
          test_damaged_twice_fails, test_damaged_not_forced_again_for_others,
          test_gc_removed_value_forced_again, test_no_invalidation_when_kernel_has_value,
          test_classify, test_classify_unreadable, test_rewritten_during_force,
          test_rewritten_then_interrupted, test_interrupted_after_two_rewrites,
          test_link_placeholder, test_materialize, test_materialize_spares_changed_file, teardown)
