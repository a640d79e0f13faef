/**
 * @file test_fs_backing.c
 * Specification of fs/backing's open modes: how opens of SOURCE's file
 * (node_open_source, reply_source_open) and of a forced output
 * (reply_store_open) are counted and answered, and what node_release
 * undoes. A writer that may starts kernel passthrough as the file's sole
 * handle, every later open joins it with the same backing id, and the id
 * is closed with the last passthrough handle; an inode is never open in
 * both modes (a cached handle keeps later ones cached, a passthrough one
 * keeps them in passthrough even once passthrough is off); a refused
 * backing open turns passthrough off for good (for SOURCE's files only,
 * when it was one of theirs) unless the refusal may pass. The file and
 * its forced output are never open at once, nor two outputs: an open of
 * the file waits a little for the output's readers (at once with -s) and
 * is woken by their release, a reader of the output waits on the parking
 * thread and gets EBUSY when its wait ends, EINTR when interrupted,
 * ESTALE when the file was opened since it was read. Writers are listed
 * by uid (node_has_writer) until released. An open interrupted before its
 * reply is counted back. The custom I/O backing_setup installs: what the
 * kernel's INIT offers (passthrough, shared mmaps of uncached opens,
 * FUSE_HANDLE_KILLPRIV_V2; flags2 only with FUSE_INIT_EXT, only protocol
 * 7's) is seen and asked for in libfuse's INIT reply, and all of it turned
 * off when that reply cannot carry it; which requests come from a caller
 * whose write, truncation or O_TRUNC open clears set-ID bits.
 * Linked without a FUSE session: libfuse's replies are fs_fakes.h's, the
 * FUSE_DEV_IOC_BACKING_* ioctls on a fake /dev/fuse fd are answered here,
 * and libfuse's session (which hands over the custom I/O), the node
 * table's pins and lazy.c's classification are small fakes.
 */
#define FS_FAKES_PINS
#define FS_FAKES_REPLIES
#include "fs_fakes.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

/* ---- the backing ioctls on a fake /dev/fuse ---- */

#define FAKE_DEVFD 987654 /* no real fd has this number */
#define FOPEN_PT   (1u << 7)

struct open_out { /* struct fuse_open_out with backing_id (7.40) */
	uint64_t fh;
	uint32_t open_flags;
	int32_t backing_id;
};

static int next_id = 1;     /* the next backing id the kernel gives */
static int open_errno;      /* BACKING_OPEN fails with it when non-zero */
static int nbacking_opens;  /* BACKING_OPENs asked */
static ino_t backing_ino;   /* the file the last one named */
static int backing_accmode; /* ... and how its fd was opened */
static int closed_ids[16];  /* BACKING_CLOSEs, in order */
static int nclosed;

int ioctl(int fd, unsigned long request, ...)
{
	va_list ap;
	va_start(ap, request);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	if (fd != FAKE_DEVFD)
		return (int)syscall(SYS_ioctl, fd, request, arg);
	if (_IOC_TYPE(request) != 229)
		abort();
	if (_IOC_NR(request) == 1) { /* FUSE_DEV_IOC_BACKING_OPEN */
		int32_t bfd;
		memcpy(&bfd, arg, sizeof bfd);
		struct stat st;
		nbacking_opens++;
		if (fstat(bfd, &st) < 0)
			abort();
		backing_ino = st.st_ino;
		backing_accmode = fcntl(bfd, F_GETFL) & O_ACCMODE;
		if (open_errno) {
			errno = open_errno;
			return -1;
		}
		return next_id++;
	}
	if (_IOC_NR(request) == 2) { /* FUSE_DEV_IOC_BACKING_CLOSE */
		uint32_t id;
		memcpy(&id, arg, sizeof id);
		if (nclosed < 16)
			closed_ids[nclosed++] = (int)id;
		return 0;
	}
	abort();
}

/* ---- fakes of fs/node.c, fs/lazy.c, fs/ops.c and fs/ident.c ---- */

static int forgotten; /* lookups given back by node_forget */

void node_forget(struct ggfs *f, struct node *n, uint64_t nlookup)
{
	forgotten += (int)nlookup;
}

void fd_proc_path(int fd, char out[64])
{
	snprintf(out, 64, "/proc/self/fd/%d", fd);
}

static int fstat_err; /* node_fstat fails with it */

int node_fstat(struct ggfs *f, struct node *n, struct stat *st)
{
	memset(st, 0, sizeof *st);
	st->st_mode = S_IFREG | 0644;
	return fstat_err;
}

/* The file's classification is what the test put in n->lz. */
bool lazy_classify(struct ggfs *f, struct node *n, const struct stat *st)
{
	return n->lz.is_ref;
}

static int as_file_opens; /* open_source_file calls */

void open_source_file(struct ggfs *f, fuse_req_t req, struct node *n, struct fuse_file_info *fi)
{
	as_file_opens++;
	fuse_reply_err(req, 0);
}

static int kills_noted = -1; /* what io_read said of the last request */

/* ident.c asks the kernel: here the callers of new_req hold CAP_FSETID
 * (pid uid + 1000), those given a pid below 1000 do not. */
bool ident_caller_has_fsetid(fuse_req_t req)
{
	return req->ctx.pid >= 1000;
}

char *node_display_path(struct ggfs *f, const struct node *n)
{
	return xstrdup("the/file");
}

void ident_note_kills(bool kills)
{
	kills_noted = kills;
}

/* ---- fakes of libfuse's session: backing_setup's custom I/O ---- */

static struct fuse_custom_io io; /* what backing_setup installed */
static int custom_io_ret;        /* fuse_session_custom_io's answer */

int fuse_session_fd(struct fuse_session *se)
{
	return FAKE_DEVFD;
}

int fuse_session_custom_io(struct fuse_session *se, const struct fuse_custom_io *cio, int fd)
{
	if (custom_io_ret == 0)
		io = *cio;
	return custom_io_ret;
}

/* ---- helpers ---- */

static struct ggfs fs;
static char *file; /* a regular file of "SOURCE" */
static struct gg_name value, other;

static void reset_fs(void)
{
	fs.devfd = FAKE_DEVFD;
	fs.bk_on = true;
	fs.bk_source_off = false;
	fs.singlethread = false;
	open_errno = 0;
	nbacking_opens = 0;
	nclosed = 0;
	nlogged = 0;
}

static struct node new_node(enum node_kind kind)
{
	return (struct node){.kind = kind, .fd = -1};
}

/* A request of uid's thread uid + 1000, holding CAP_FSETID. */
static struct fuse_req new_req(uid_t uid)
{
	return (struct fuse_req){.ctx = {.uid = uid, .gid = getegid(), .pid = (pid_t)uid + 1000}};
}

/* An open of the file with flags through node_open_source and
 * reply_source_open, as gg_open does: its fd (in req's reply). */
static int open_file(struct node *n, struct fuse_req *req, int flags)
{
	struct fuse_file_info fi = {.flags = flags};
	bool pt = false;
	if (node_open_source(&fs, n, &fi, &pt) != 0)
		return -1;
	int fd = open(file, flags & ~O_TRUNC);
	if (fd < 0)
		abort();
	reply_source_open(&fs, req, &fi, NULL, n, fd, pt);
	return fd;
}

/* The open_out a passthrough reply carried. */
static struct open_out pt_reply(const struct fuse_req *req)
{
	struct open_out o = {0};
	if (req->replied == REPLY_IOV && req->iov_count == 1 && req->iov_len == sizeof o)
		memcpy(&o, req->iov, sizeof o);
	return o;
}

/* A store object's fd, as lazy.c opens it. */
static int object_fd(void)
{
	int fd = open(file, O_RDONLY);
	if (fd < 0)
		abort();
	return fd;
}

static bool fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void setup(void)
{
	make_test_dir("ggtest-backing");
	file = at("file");
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, "data\n", 5) != 5)
		abort();
	close(fd);
	ggfs_init(&fs);
	memset(value.s, 'a', GG_NAME_LEN);
	memset(other.s, 'b', GG_NAME_LEN);
}

static void teardown(void)
{
	CHECK(remove_tree(dir) == 0);
	free(file);
	free(dir);
}

/* ---- the tests ---- */

static void test_reader_cached(void)
{
	reset_fs();
	struct node n = new_node(NODE_PASS);
	n.lz.kernel_synced = true;
	struct fuse_req r = new_req(geteuid());
	int fd = open_file(&n, &r, O_RDONLY);
	/* readers never start passthrough: cached, SOURCE's fd as the handle */
	CHECK(r.replied == REPLY_OPEN && r.fi.fh == (uint64_t)fd);
	CHECK(!r.fi.direct_io && !r.fi.keep_cache && nbacking_opens == 0);
	CHECK(n.cached_opens == 1 && n.pt_opens == 0 && n.source_opens == 1 && n.value_opens == 0);
	CHECK(n.source_seq == 1 && !n.lz.kernel_synced && n.pins == 1 && n.nwriters == 0);
	node_release(&fs, &n, false, false, fd);
	close(fd);
	CHECK(n.cached_opens == 0 && n.source_opens == 0 && n.pins == 0);
	/* a file that was a placeholder: the kernel may hold its value's size */
	n.lz.was_ref = true;
	r = new_req(geteuid());
	fd = open_file(&n, &r, O_RDONLY);
	CHECK(r.replied == REPLY_OPEN && r.fi.direct_io && n.source_seq == 2);
	node_release(&fs, &n, false, false, fd);
	close(fd);
	CHECK(n.cached_opens == 0 && n.pins == 0);
}

static void test_writer_passthrough(void)
{
	reset_fs();
	struct node n = new_node(NODE_PASS);
	struct fuse_req w = new_req(geteuid());
	int wfd = open_file(&n, &w, O_WRONLY);
	struct stat st;
	CHECK(stat(file, &st) == 0);
	/* the sole handle, a writer of the daemon's user: passthrough, with
	 * the file reopened read-write as the backing file */
	CHECK(nbacking_opens == 1 && backing_ino == st.st_ino && backing_accmode == O_RDWR);
	struct open_out o = pt_reply(&w);
	CHECK(w.replied == REPLY_IOV && o.backing_id == 1 && (o.open_flags & FOPEN_PT));
	CHECK(o.fh == ((uint64_t)wfd | GGFS_FH_BACKING));
	CHECK(n.pt_opens == 1 && n.cached_opens == 0 && n.backing_id == 1 && n.backing_source);
	CHECK(n.source_opens == 1 && n.pins == 1);
	CHECK(node_has_writer(&fs, &n, geteuid()) && !node_has_writer(&fs, &n, geteuid() + 1));

	/* every later open joins it, a reader and a writer of another user */
	struct fuse_req r = new_req(geteuid() + 1);
	int rfd = open_file(&n, &r, O_RDONLY);
	o = pt_reply(&r);
	CHECK(r.replied == REPLY_IOV && o.backing_id == 1 && (o.open_flags & FOPEN_PT));
	CHECK(o.fh == ((uint64_t)rfd | GGFS_FH_BACKING));
	struct fuse_req w2 = new_req(geteuid() + 2);
	int w2fd = open_file(&n, &w2, O_RDWR);
	CHECK(w2.replied == REPLY_IOV && pt_reply(&w2).backing_id == 1);
	CHECK(nbacking_opens == 1 && n.pt_opens == 3 && n.cached_opens == 0 && n.pins == 3);
	CHECK(n.nwriters == 2 && node_has_writer(&fs, &n, geteuid() + 2));
	CHECK(!node_has_writer(&fs, &n, geteuid() + 1)); /* a reader is no writer */

	/* releases: a writer leaves the list; the id stays while one is open */
	node_release(&fs, &n, true, false, w2fd);
	close(w2fd);
	CHECK(!node_has_writer(&fs, &n, geteuid() + 2) && node_has_writer(&fs, &n, geteuid()));
	node_release(&fs, &n, true, false, wfd);
	close(wfd);
	CHECK(!node_has_writer(&fs, &n, geteuid()) && n.nwriters == 0);
	CHECK(nclosed == 0 && n.backing_id == 1 && n.pt_opens == 1);
	node_release(&fs, &n, true, false, rfd);
	close(rfd);
	CHECK(nclosed == 1 && closed_ids[0] == 1 && n.backing_id == 0 && !n.backing_source);
	CHECK(n.pt_opens == 0 && n.source_opens == 0 && n.pins == 0);
	free(n.writers);
}

static void test_one_mode_per_inode(void)
{
	reset_fs();
	struct node n = new_node(NODE_PASS);
	/* a cached reader first: a writer then stays cached too */
	struct fuse_req r = new_req(geteuid());
	int rfd = open_file(&n, &r, O_RDONLY);
	struct fuse_req w = new_req(geteuid());
	int wfd = open_file(&n, &w, O_WRONLY);
	CHECK(w.replied == REPLY_OPEN && w.fi.fh == (uint64_t)wfd && nbacking_opens == 0);
	CHECK(n.cached_opens == 2 && n.pt_opens == 0 && n.nwriters == 1);
	/* a reader beside a writer reads uncached */
	struct fuse_req r2 = new_req(geteuid());
	int r2fd = open_file(&n, &r2, O_RDONLY);
	CHECK(r2.replied == REPLY_OPEN && r2.fi.direct_io && n.cached_opens == 3);
	node_release(&fs, &n, false, false, r2fd);
	node_release(&fs, &n, false, false, rfd);
	node_release(&fs, &n, false, false, wfd);
	close(r2fd);
	close(rfd);
	close(wfd);
	CHECK(n.cached_opens == 0 && n.source_opens == 0 && n.pins == 0 && n.nwriters == 0);

	/* passthrough stays until its last handle, even once turned off */
	w = new_req(geteuid());
	wfd = open_file(&n, &w, O_WRONLY);
	CHECK(n.pt_opens == 1 && n.backing_id == 2);
	fs.bk_on = false;
	r = new_req(geteuid());
	rfd = open_file(&n, &r, O_RDONLY);
	CHECK(r.replied == REPLY_IOV && pt_reply(&r).backing_id == 2 && n.pt_opens == 2);
	node_release(&fs, &n, true, false, rfd);
	node_release(&fs, &n, true, false, wfd);
	close(rfd);
	close(wfd);
	CHECK(nclosed == 1 && closed_ids[0] == 2 && n.pt_opens == 0 && n.pins == 0);
	/* off: a writer alone is cached */
	w = new_req(geteuid());
	wfd = open_file(&n, &w, O_WRONLY);
	CHECK(w.replied == REPLY_OPEN && n.cached_opens == 1 && nbacking_opens == 1);
	node_release(&fs, &n, false, false, wfd);
	close(wfd);
	free(n.writers);
}

static void test_source_refusals(void)
{
	reset_fs();
	struct node n = new_node(NODE_PASS);
	/* a refusal that may pass (too many files): cached this time only */
	open_errno = EMFILE;
	struct fuse_req w = new_req(geteuid());
	int wfd = open_file(&n, &w, O_WRONLY);
	CHECK(w.replied == REPLY_OPEN && n.cached_opens == 1 && n.pt_opens == 0);
	CHECK(n.backing_id == 0 && fs.bk_on && !fs.bk_source_off && nlogged == 0);
	node_release(&fs, &n, false, false, wfd);
	close(wfd);
	/* one for good (a stacked filesystem): off for SOURCE's files only */
	open_errno = ELOOP;
	w = new_req(geteuid());
	wfd = open_file(&n, &w, O_WRONLY);
	CHECK(w.replied == REPLY_OPEN && n.cached_opens == 1 && nbacking_opens == 2);
	CHECK(fs.bk_on && fs.bk_source_off && nlogged == 1);
	CHECK(strstr(logged, "writers of SOURCE's files") != NULL);
	node_release(&fs, &n, false, false, wfd);
	close(wfd);
	open_errno = 0;
	w = new_req(geteuid());
	wfd = open_file(&n, &w, O_WRONLY);
	CHECK(w.replied == REPLY_OPEN && nbacking_opens == 2); /* not asked again */
	node_release(&fs, &n, false, false, wfd);
	close(wfd);
	/* forced outputs still get it */
	struct node out = new_node(NODE_OUTPUT);
	struct fuse_req v = new_req(geteuid());
	int vfd = object_fd();
	struct fuse_file_info fi = {.flags = O_RDONLY};
	reply_store_open(&fs, &v, &fi, &out, &value, vfd, 0);
	CHECK(v.replied == REPLY_IOV && out.pt_opens == 1 && nbacking_opens == 3);
	node_release(&fs, &out, true, true, -1);
	close(vfd);
	/* a store object refused for good: passthrough off for everything */
	open_errno = EPERM;
	v = new_req(geteuid());
	vfd = object_fd();
	reply_store_open(&fs, &v, &fi, &out, &value, vfd, 0);
	CHECK(v.replied == REPLY_OPEN && out.cached_opens == 1 && out.pt_opens == 0);
	CHECK(!fs.bk_on && nbacking_opens == 4);
	node_release(&fs, &out, false, true, -1);
	close(vfd);
	free(n.writers);
}

static void test_value_opens(void)
{
	reset_fs();
	struct node n = new_node(NODE_OUTPUT);
	struct fuse_file_info fi = {.flags = O_RDONLY};
	/* the first reader of a forced output: passthrough of the object */
	struct fuse_req a = new_req(geteuid());
	int afd = object_fd();
	reply_store_open(&fs, &a, &fi, &n, &value, afd, 0);
	struct open_out o = pt_reply(&a);
	CHECK(a.replied == REPLY_IOV && (o.open_flags & FOPEN_PT) &&
	      (o.open_flags & FOPEN_NOFLUSH));
	CHECK(o.fh == ((uint64_t)afd | GGFS_FH_STORE | GGFS_FH_BACKING) && o.backing_id > 0);
	CHECK(n.pt_opens == 1 && n.value_opens == 1 && n.source_opens == 0 && n.pins == 1);
	CHECK(gg_name_eq(&n.value_open, &value) && n.backing_id == o.backing_id);
	CHECK(!n.backing_source);
	/* the next joins it */
	struct fuse_req b = new_req(geteuid());
	int bfd = object_fd();
	reply_store_open(&fs, &b, &fi, &n, &value, bfd, 0);
	CHECK(b.replied == REPLY_IOV && pt_reply(&b).backing_id == o.backing_id);
	CHECK(nbacking_opens == 1 && n.pt_opens == 2 && n.value_opens == 2);
	/* a reader of another output (the placeholder changed) does not fit:
	 * without the parking thread, EBUSY at once */
	struct fuse_req c = new_req(geteuid());
	int cfd = object_fd();
	reply_store_open(&fs, &c, &fi, &n, &other, cfd, 0);
	CHECK(c.replied == REPLY_ERR && c.err == EBUSY && !fd_is_open(cfd));
	CHECK(n.value_opens == 2 && n.pins == 2);
	node_release(&fs, &n, true, true, -1);
	CHECK(nclosed == 0);
	node_release(&fs, &n, true, true, -1);
	close(afd);
	close(bfd);
	CHECK(nclosed == 1 && closed_ids[0] == o.backing_id && n.backing_id == 0);
	CHECK(n.pt_opens == 0 && n.value_opens == 0 && n.pins == 0);

	/* cached readers (passthrough was off) keep later ones cached */
	fs.bk_on = false;
	a = new_req(geteuid());
	afd = object_fd();
	reply_store_open(&fs, &a, &fi, &n, &value, afd, 0);
	CHECK(a.replied == REPLY_OPEN && a.fi.keep_cache && !a.fi.direct_io && a.fi.noflush);
	CHECK(a.fi.fh == ((uint64_t)afd | GGFS_FH_STORE) && n.cached_opens == 1);
	fs.bk_on = true;
	b = new_req(geteuid());
	bfd = object_fd();
	reply_store_open(&fs, &b, &fi, &n, &value, bfd, 0);
	CHECK(b.replied == REPLY_OPEN && n.cached_opens == 2 && n.pt_opens == 0);
	CHECK(nbacking_opens == 1);
	node_release(&fs, &n, false, true, -1);
	node_release(&fs, &n, false, true, -1);
	close(afd);
	close(bfd);
	CHECK(n.cached_opens == 0 && n.value_opens == 0 && n.pins == 0);
}

static void test_value_cache_of_file(void)
{
	reset_fs();
	fs.bk_on = false;
	struct node n = new_node(NODE_PASS);
	struct fuse_file_info fi = {.flags = O_RDONLY};
	/* the kernel may still cache the file's bytes: uncached */
	struct fuse_req a = new_req(geteuid());
	int afd = object_fd();
	reply_store_open(&fs, &a, &fi, &n, &value, afd, n.source_seq);
	CHECK(a.replied == REPLY_OPEN && a.fi.direct_io && !a.fi.keep_cache);
	node_release(&fs, &n, false, true, -1);
	close(afd);
	/* synced for another value: still uncached; for this one: cached */
	n.lz.kernel_synced = true;
	n.lz.kernel_value = other;
	a = new_req(geteuid());
	afd = object_fd();
	reply_store_open(&fs, &a, &fi, &n, &value, afd, n.source_seq);
	CHECK(a.replied == REPLY_OPEN && a.fi.direct_io);
	node_release(&fs, &n, false, true, -1);
	close(afd);
	n.lz.kernel_value = value;
	a = new_req(geteuid());
	afd = object_fd();
	reply_store_open(&fs, &a, &fi, &n, &value, afd, n.source_seq);
	CHECK(a.replied == REPLY_OPEN && !a.fi.direct_io && a.fi.keep_cache);
	node_release(&fs, &n, false, true, -1);
	close(afd);
	/* the file was opened itself since value was read from it: ESTALE */
	a = new_req(geteuid());
	afd = object_fd();
	reply_store_open(&fs, &a, &fi, &n, &value, afd, n.source_seq - 1);
	CHECK(a.replied == REPLY_ERR && a.err == ESTALE && !fd_is_open(afd));
	CHECK(n.value_opens == 0 && n.cached_opens == 0 && n.pins == 0);
	/* ... and beside an open of the file: EBUSY */
	struct fuse_req s = new_req(geteuid());
	int sfd = open_file(&n, &s, O_RDONLY);
	a = new_req(geteuid());
	afd = object_fd();
	reply_store_open(&fs, &a, &fi, &n, &value, afd, n.source_seq);
	CHECK(a.replied == REPLY_ERR && a.err == EBUSY && n.value_opens == 0);
	node_release(&fs, &n, false, false, sfd);
	close(sfd);
	CHECK(n.pins == 0 && n.cached_opens == 0);
}

/* A reader of the forced output v, open in passthrough mode: its fd. */
static int open_value(struct node *n, const struct gg_name *v)
{
	struct fuse_req r = new_req(geteuid());
	struct fuse_file_info fi = {.flags = O_RDONLY};
	int fd = object_fd();
	reply_store_open(&fs, &r, &fi, n, v, fd, n->source_seq);
	return r.replied == REPLY_IOV ? fd : -1;
}

static void test_source_beside_value(void)
{
	reset_fs();
	struct node n = new_node(NODE_PASS);
	int vfd = open_value(&n, &value);
	CHECK(vfd >= 0 && n.value_opens == 1);
	/* -s: no release can come while this thread waits: refused at once */
	fs.singlethread = true;
	struct fuse_file_info fi = {.flags = O_RDONLY};
	bool pt = false;
	double t0 = now_s();
	CHECK(node_open_source(&fs, &n, &fi, &pt) == EBUSY);
	fi.flags = O_WRONLY;
	CHECK(node_open_source(&fs, &n, &fi, &pt) == ETXTBSY);
	fi.flags = O_RDONLY | O_TRUNC;
	CHECK(node_open_source(&fs, &n, &fi, &pt) == ETXTBSY);
	CHECK(now_s() - t0 < 1.5);
	CHECK(n.source_opens == 0 && n.cached_opens == 0 && n.pt_opens == 1 && n.pins == 1);
	CHECK(n.source_seq == 0);
	/* else the wait is bounded: about two seconds */
	fs.singlethread = false;
	fi.flags = O_RDONLY;
	t0 = now_s();
	CHECK(node_open_source(&fs, &n, &fi, &pt) == EBUSY);
	double waited = now_s() - t0;
	CHECK(waited >= 1.5 && waited < 5);
	CHECK(n.source_opens == 0 && n.pins == 1);
	node_release(&fs, &n, true, true, -1);
	close(vfd);
	CHECK(n.pins == 0 && n.value_opens == 0 && n.backing_id == 0);
}

struct release_later {
	struct node *n;
	int ms;
};

static void *release_later_main(void *arg)
{
	struct release_later *rl = arg;
	usleep((useconds_t)rl->ms * 1000);
	node_release(&fs, rl->n, true, true, -1);
	return NULL;
}

static void test_source_waits_for_release(void)
{
	reset_fs();
	struct node n = new_node(NODE_PASS);
	int vfd = open_value(&n, &value);
	CHECK(vfd >= 0);
	/* the reader's release wakes the open at once */
	struct release_later rl = {&n, 200};
	pthread_t t;
	if (pthread_create(&t, NULL, release_later_main, &rl) != 0)
		abort();
	struct fuse_file_info fi = {.flags = O_WRONLY};
	bool pt = true;
	double t0 = now_s();
	int err = node_open_source(&fs, &n, &fi, &pt);
	double waited = now_s() - t0;
	pthread_join(t, NULL);
	close(vfd);
	CHECK(err == 0 && !pt && waited >= 0.15 && waited < 1.8);
	CHECK(n.value_opens == 0 && n.source_opens == 1 && n.cached_opens == 1 && n.pt_opens == 0);
	CHECK(n.backing_id == 0 && nclosed == 1);
	node_release(&fs, &n, false, false, -1);
	CHECK(n.pins == 0 && n.source_opens == 0);
}

static void test_interrupted_before_reply(void)
{
	reset_fs();
	struct node n = new_node(NODE_OUTPUT);
	struct fuse_file_info fi = {.flags = O_RDONLY};
	/* no release will come for an open whose reply found it interrupted */
	struct fuse_req a = new_req(geteuid());
	a.ret = -ENOENT;
	int afd = object_fd();
	reply_store_open(&fs, &a, &fi, &n, &value, afd, 0);
	CHECK(a.replied == REPLY_IOV && !fd_is_open(afd));
	CHECK(n.value_opens == 0 && n.pt_opens == 0 && n.pins == 0);
	CHECK(nbacking_opens == 1 && nclosed == 1 && n.backing_id == 0);
	fs.bk_on = false;
	a = new_req(geteuid());
	a.ret = -ENOENT;
	afd = object_fd();
	reply_store_open(&fs, &a, &fi, &n, &value, afd, 0);
	CHECK(a.replied == REPLY_OPEN && !fd_is_open(afd));
	CHECK(n.value_opens == 0 && n.cached_opens == 0 && n.pins == 0);
	/* the same for the file, a writer (in the list) of a create */
	fs.bk_on = true;
	struct node f = new_node(NODE_PASS);
	struct fuse_req w = new_req(geteuid());
	w.ret = -ENOENT;
	struct fuse_file_info wfi = {.flags = O_WRONLY};
	bool pt = false;
	CHECK(node_open_source(&fs, &f, &wfi, &pt) == 0);
	int wfd = open(file, O_WRONLY);
	struct fuse_entry_param e = {.ino = 42};
	int forgotten0 = forgotten;
	reply_source_open(&fs, &w, &wfi, &e, &f, wfd, pt);
	CHECK(w.replied == REPLY_IOV && !fd_is_open(wfd) && forgotten == forgotten0 + 1);
	CHECK(f.source_opens == 0 && f.pt_opens == 0 && f.cached_opens == 0 && f.pins == 0);
	CHECK(f.nwriters == 0 && !node_has_writer(&fs, &f, geteuid()) && f.backing_id == 0);
	free(f.writers);
}

/* ---- the parking thread ---- */

/* Waits up to a second for n->pins to be pins. */
static bool pins_become(struct node *n, unsigned pins)
{
	for (int i = 0; i < 1000; i++) {
		pthread_mutex_lock(&fs.mu);
		bool ok = n->pins == pins;
		pthread_mutex_unlock(&fs.mu);
		if (ok)
			return true;
		usleep(1000);
	}
	return false;
}

/* A reader of n's forced output value that must wait: parked. */
static void park_value(struct node *n, struct fuse_req *req, const struct gg_name *v, int *fd)
{
	struct fuse_file_info fi = {.flags = O_RDONLY};
	*fd = object_fd();
	reply_store_open(&fs, req, &fi, n, v, *fd, n->source_seq);
}

static void test_parked_until_release(void)
{
	reset_fs();
	CHECK(backing_park_start(&fs) == 0);
	struct node n = new_node(NODE_OUTPUT);
	int afd = open_value(&n, &value);
	CHECK(afd >= 0);
	/* a reader of another output waits for the old one's release */
	struct fuse_req b = new_req(geteuid());
	int bfd;
	park_value(&n, &b, &other, &bfd);
	CHECK(!wait_replied(&b, 300) && b.intr != NULL && n.pins == 2);
	node_release(&fs, &n, true, true, -1);
	close(afd);
	CHECK(wait_replied(&b, 5000));
	struct open_out o = pt_reply(&b);
	CHECK(b.replied == REPLY_IOV && o.backing_id > 0 && (o.open_flags & FOPEN_PT));
	CHECK(o.fh == ((uint64_t)bfd | GGFS_FH_STORE | GGFS_FH_BACKING) && b.intr == NULL);
	/* the parking thread lets go of it after the reply */
	CHECK(pins_become(&n, 1));
	pthread_mutex_lock(&fs.mu);
	CHECK(n.value_opens == 1 && gg_name_eq(&n.value_open, &other));
	pthread_mutex_unlock(&fs.mu);

	/* one still not fitting when its wait ends: EBUSY */
	struct fuse_req c = new_req(geteuid());
	int cfd;
	double t0 = now_s();
	park_value(&n, &c, &value, &cfd);
	CHECK(wait_replied(&c, 5000));
	double waited = now_s() - t0;
	CHECK(c.replied == REPLY_ERR && c.err == EBUSY && waited >= 1.5 && !fd_is_open(cfd));
	/* interrupted: EINTR at once */
	struct fuse_req d = new_req(geteuid());
	int dfd;
	park_value(&n, &d, &value, &dfd);
	CHECK(!wait_replied(&d, 100) && d.intr != NULL);
	pthread_mutex_lock(&replies_mu);
	fuse_interrupt_func_t intr = d.intr;
	void *data = d.intr_data;
	pthread_mutex_unlock(&replies_mu);
	if (intr)
		intr(&d, data);
	CHECK(wait_replied(&d, 5000) && d.replied == REPLY_ERR && d.err == EINTR);
	CHECK(!fd_is_open(dfd));
	/* still parked at unmount: EBUSY, and the thread ends */
	struct fuse_req e = new_req(geteuid());
	int efd;
	park_value(&n, &e, &value, &efd);
	CHECK(!wait_replied(&e, 100));
	backing_stop(&fs);
	CHECK(e.replied == REPLY_ERR && e.err == EBUSY && !fd_is_open(efd));
	CHECK(!fs.park_started && fs.devfd == -1 && !fs.bk_on);
	pthread_mutex_lock(&fs.mu);
	CHECK(n.value_opens == 1 && n.pins == 1);
	pthread_mutex_unlock(&fs.mu);
	/* no ioctl once stopped: the id is forgotten with the last handle */
	int closed0 = nclosed;
	node_release(&fs, &n, true, true, -1);
	close(bfd);
	CHECK(nclosed == closed0 && n.backing_id == 0 && n.pins == 0);
}

static void test_parked_file_rechecked(void)
{
	reset_fs();
	CHECK(backing_park_start(&fs) == 0);
	struct node n = new_node(NODE_PASS);
	n.lz.is_ref = true;
	n.lz.forced = true;
	n.lz.value = value;
	/* the file is open: a reader of its output waits */
	struct fuse_req s = new_req(geteuid());
	int sfd = open_file(&n, &s, O_RDONLY);
	struct fuse_req a = new_req(geteuid());
	int afd;
	park_value(&n, &a, &value, &afd);
	CHECK(!wait_replied(&a, 200));
	/* released, the file is read again: it still names value, let in */
	node_release(&fs, &n, false, false, sfd);
	close(sfd);
	CHECK(wait_replied(&a, 5000) && a.replied == REPLY_IOV && as_file_opens == 0);
	pthread_mutex_lock(&fs.mu);
	CHECK(n.value_opens == 1 && n.pt_opens == 1);
	pthread_mutex_unlock(&fs.mu);
	node_release(&fs, &n, true, true, -1);
	close(afd);
	/* rewritten as an ordinary file meanwhile: opened as the file */
	s = new_req(geteuid());
	sfd = open_file(&n, &s, O_RDONLY);
	struct fuse_req b = new_req(geteuid());
	int bfd;
	park_value(&n, &b, &value, &bfd);
	CHECK(!wait_replied(&b, 200));
	pthread_mutex_lock(&fs.mu);
	n.lz.is_ref = false;
	pthread_mutex_unlock(&fs.mu);
	node_release(&fs, &n, false, false, sfd);
	close(sfd);
	CHECK(wait_replied(&b, 5000) && as_file_opens == 1 && !fd_is_open(bfd));
	CHECK(n.value_opens == 0);
	/* a file that cannot be read: ESTALE, never the old output */
	pthread_mutex_lock(&fs.mu);
	n.lz.is_ref = true;
	pthread_mutex_unlock(&fs.mu);
	fstat_err = EIO;
	s = new_req(geteuid());
	sfd = open_file(&n, &s, O_RDONLY);
	struct fuse_req c = new_req(geteuid());
	int cfd;
	park_value(&n, &c, &value, &cfd);
	node_release(&fs, &n, false, false, sfd);
	close(sfd);
	CHECK(wait_replied(&c, 5000) && c.replied == REPLY_ERR && c.err == ESTALE);
	CHECK(as_file_opens == 1 && !fd_is_open(cfd));
	fstat_err = 0;

	/* never opened itself, the file may still change in SOURCE behind the
	 * mount while a reader waits for another output's: read again too */
	struct node m = new_node(NODE_PASS);
	m.lz.is_ref = m.lz.forced = true;
	m.lz.value = other;
	int ofd = open_value(&m, &other);
	CHECK(ofd >= 0 && m.source_seq == 0);
	pthread_mutex_lock(&fs.mu);
	m.lz.value = value;
	pthread_mutex_unlock(&fs.mu);
	struct fuse_req d = new_req(geteuid());
	int dfd;
	park_value(&m, &d, &value, &dfd);
	CHECK(!wait_replied(&d, 200));
	pthread_mutex_lock(&fs.mu);
	m.lz.is_ref = false;
	pthread_mutex_unlock(&fs.mu);
	node_release(&fs, &m, true, true, -1);
	close(ofd);
	CHECK(wait_replied(&d, 5000) && as_file_opens == 2 && !fd_is_open(dfd));
	backing_stop(&fs);
	CHECK(n.pins == 0 && n.value_opens == 0 && n.source_opens == 0);
	CHECK(m.pins == 0 && m.value_opens == 0 && m.pt_opens == 0);
}

/* ---- the kernel's INIT and the requests that clear set-ID bits ---- */

/* Passes a request of opcode with body through io.read: what it returned. */
static ssize_t read_request(uint32_t opcode, uint64_t unique, const void *body, size_t len)
{
	unsigned char msg[sizeof(struct fuse_in_header) + 128], got[sizeof msg];
	struct fuse_in_header h = {
	    .len = (uint32_t)(sizeof h + len), .opcode = opcode, .unique = unique};
	memcpy(msg, &h, sizeof h);
	memcpy(msg + sizeof h, body, len);
	int p[2];
	if (len > 128 || pipe(p) < 0 ||
	    write(p[1], msg, sizeof h + len) != (ssize_t)(sizeof h + len))
		abort();
	ssize_t r = io.read(p[0], got, sizeof got, &fs);
	close(p[0]);
	close(p[1]);
	return r;
}

/* The kernel's INIT: major 7, flags (FUSE_INIT_EXT's half in flags2). */
static void read_init(uint32_t major, uint64_t flags, uint64_t unique)
{
	struct fuse_init_in in = {.major = major,
	                          .minor = 40,
	                          .flags = (uint32_t)flags,
	                          .flags2 = (uint32_t)(flags >> 32)};
	CHECK(read_request(FUSE_INIT, unique, &in, sizeof in) ==
	      (ssize_t)(sizeof(struct fuse_in_header) + sizeof in));
}

/* Sends libfuse's INIT reply (error, unique) through io.writev: what
 * reached the device, as a fuse_init_out (zeros if it is shorter). */
static struct fuse_init_out write_init(int32_t error, uint64_t unique, size_t out_len)
{
	struct fuse_init_out out = {.major = 7, .minor = 31, .flags = 1u << 3};
	struct fuse_out_header h = {
	    .len = (uint32_t)(sizeof h + out_len), .error = error, .unique = unique};
	struct iovec iov[2] = {{&h, sizeof h}, {&out, out_len}};
	unsigned char got[sizeof h + sizeof out + 1];
	int p[2];
	if (pipe(p) < 0)
		abort();
	ssize_t w = io.writev(p[1], iov, 2, &fs);
	ssize_t r = read(p[0], got, sizeof got);
	close(p[0]);
	close(p[1]);
	CHECK(w == (ssize_t)(sizeof h + out_len) && r == w);
	struct fuse_init_out back = {0};
	if (r == (ssize_t)(sizeof h + sizeof back))
		memcpy(&back, got + sizeof h, sizeof back);
	return back;
}

#define PT_FLAG2   (1u << 5) /* FUSE_PASSTHROUGH >> 32 */
#define DIO_FLAG2  (1u << 4) /* FUSE_DIRECT_IO_ALLOW_MMAP >> 32 */
#define ALL_OFFERS ((UINT64_C(1) << 37) | (UINT64_C(1) << 36) | FUSE_HANDLE_KILLPRIV_V2)

static void new_session(void)
{
	fs.init_seen = fs.init_replied = false;
	fs.bk_offered = fs.dio_mmap = fs.killpriv = false;
	fs.backing = 1;
	backing_setup(&fs);
}

static void test_init_exchange(void)
{
	reset_fs();
	/* libfuse refuses the custom I/O: nothing is rewritten, no passthrough */
	custom_io_ret = -EINVAL;
	new_session();
	CHECK(!fs.sees_requests && fs.backing == 0 && io.read == NULL);
	custom_io_ret = 0;
	new_session();
	CHECK(fs.sees_requests && fs.backing == 1 && io.read && fs.devfd == FAKE_DEVFD);

	/* the kernel offers all three: each is seen and asked for */
	read_init(7, ALL_OFFERS | FUSE_INIT_EXT, 77);
	CHECK(fs.init_seen && fs.init_unique == 77);
	CHECK(fs.bk_offered && fs.dio_mmap && fs.killpriv);
	fs.bk_on = true;
	struct fuse_init_out o = write_init(0, 77, sizeof(struct fuse_init_out));
	CHECK(o.major == 7 && (o.flags & (1u << 3)) && (o.flags & FUSE_INIT_EXT));
	CHECK((o.flags & FUSE_HANDLE_KILLPRIV_V2) && (o.flags2 & PT_FLAG2) &&
	      (o.flags2 & DIO_FLAG2));
	uint32_t depth;
	memcpy(&depth, (unsigned char *)&o + 36, 4);
	CHECK(depth == 1 && fs.init_replied && fs.bk_on && fs.dio_mmap && fs.killpriv);
	/* a later INIT or reply is not looked at */
	read_init(7, 0, 78);
	CHECK(fs.init_unique == 77 && fs.bk_offered);
	o = write_init(0, 77, sizeof(struct fuse_init_out));
	CHECK(o.flags == 1u << 3 && o.flags2 == 0);

	/* flags2 only counts with FUSE_INIT_EXT, and only major 7's */
	new_session();
	read_init(7, ALL_OFFERS, 80);
	CHECK(!fs.bk_offered && !fs.dio_mmap && fs.killpriv);
	new_session();
	read_init(8, ALL_OFFERS | FUSE_INIT_EXT, 81);
	CHECK(fs.init_seen && !fs.bk_offered && !fs.dio_mmap && !fs.killpriv);

	/* passthrough off: the other two still asked for, no stack depth */
	new_session();
	read_init(7, ALL_OFFERS | FUSE_INIT_EXT, 82);
	fs.bk_on = false;
	o = write_init(0, 82, sizeof(struct fuse_init_out));
	memcpy(&depth, (unsigned char *)&o + 36, 4);
	CHECK(!(o.flags2 & PT_FLAG2) && (o.flags2 & DIO_FLAG2) && depth == 0);
	CHECK((o.flags & FUSE_HANDLE_KILLPRIV_V2) && (o.flags & FUSE_INIT_EXT));

	/* a reply that cannot carry them (an error, one too short): all off */
	new_session();
	read_init(7, ALL_OFFERS | FUSE_INIT_EXT, 83);
	fs.bk_on = true;
	nlogged = 0;
	write_init(-EPROTO, 83, sizeof(struct fuse_init_out));
	CHECK(!fs.bk_on && !fs.dio_mmap && !fs.killpriv && fs.init_replied);
	CHECK(nlogged == 2 && strstr(logged, "no FUSE_HANDLE_KILLPRIV_V2") != NULL);
	new_session();
	read_init(7, ALL_OFFERS | FUSE_INIT_EXT, 84);
	fs.bk_on = true;
	write_init(0, 84, 24);
	CHECK(!fs.bk_on && !fs.dio_mmap && !fs.killpriv);
	reset_fs();
}

static void test_requests_that_kill(void)
{
	struct fuse_write_in w = {.size = 1, .write_flags = FUSE_WRITE_KILL_SUIDGID};
	read_request(FUSE_WRITE, 1, &w, sizeof w);
	CHECK(kills_noted == 1);
	w.write_flags = 0;
	read_request(FUSE_WRITE, 2, &w, sizeof w);
	CHECK(kills_noted == 0);
	w.write_flags = FUSE_WRITE_KILL_SUIDGID;
	read_request(FUSE_WRITE, 3, &w, sizeof w - 1); /* cut short */
	CHECK(kills_noted == 0);
	/* a truncation by such a caller, not a chown (every one is flagged) */
	struct fuse_setattr_in a = {.valid = FATTR_KILL_SUIDGID | FATTR_SIZE};
	read_request(FUSE_SETATTR, 4, &a, sizeof a);
	CHECK(kills_noted == 1);
	a.valid = FATTR_KILL_SUIDGID | FATTR_UID;
	read_request(FUSE_SETATTR, 5, &a, sizeof a);
	CHECK(kills_noted == 0);
	a.valid = FATTR_SIZE;
	read_request(FUSE_SETATTR, 6, &a, sizeof a);
	CHECK(kills_noted == 0);
	struct fuse_open_in op = {.flags = O_WRONLY | O_TRUNC,
	                          .open_flags = FUSE_OPEN_KILL_SUIDGID};
	read_request(FUSE_OPEN, 7, &op, sizeof op);
	CHECK(kills_noted == 1);
	op.open_flags = 0;
	read_request(FUSE_OPEN, 8, &op, sizeof op);
	CHECK(kills_noted == 0);
	struct fuse_create_in c = {.flags = O_WRONLY, .open_flags = FUSE_OPEN_KILL_SUIDGID};
	read_request(FUSE_CREATE, 9, &c, sizeof c);
	CHECK(kills_noted == 1);
	/* another request with the same bits where a flag would be */
	read_request(FUSE_READ, 10, &w, sizeof w);
	CHECK(kills_noted == 0);
}

/*
 * Set-ID bits and a passthrough writer without CAP_FSETID never meet (the
 * kernel writes there with the daemon's credentials, which keep them).
 */
static void test_setid_passthrough(void)
{
	reset_fs();
	uid_t me = geteuid();
	/* a writer of the daemon's user without CAP_FSETID starts nothing */
	struct node n = new_node(NODE_PASS);
	struct fuse_req nf = new_req(me);
	nf.ctx.pid = 77; /* not in fsetid_pids */
	int nffd = open_file(&n, &nf, O_WRONLY);
	CHECK(nf.replied == REPLY_OPEN && n.cached_opens == 1 && n.pt_opens == 0);
	CHECK(nbacking_opens == 0);
	node_release(&fs, &n, false, false, nffd);
	close(nffd);

	/* one with it starts passthrough; its own thread may give set-ID bits */
	struct fuse_req w = new_req(me);
	int wfd = open_file(&n, &w, O_WRONLY);
	CHECK(n.pt_opens == 1 && nbacking_opens == 1);
	CHECK(node_setid_chmod_begin(&fs, &w, &n, 04777) == 0 && n.setid_chmods == 1);
	/* meanwhile a writer without CAP_FSETID does not join */
	struct fuse_req u = new_req(me + 5);
	u.ctx.pid = 78;
	CHECK(open_file(&n, &u, O_WRONLY) >= 0 && u.replied == REPLY_ERR && u.err == ETXTBSY);
	CHECK(n.pt_opens == 1 && n.source_opens == 1 && n.pins == 1 && n.nwriters == 1);
	CHECK(strstr(logged, "refused uid") != NULL);
	node_setid_chmod_end(&fs, &n);
	CHECK(n.setid_chmods == 0);
	/* a chmod without set-ID bits is not counted */
	CHECK(node_setid_chmod_begin(&fs, &w, &n, 0777) == 0 && n.setid_chmods == 0);
	/* the file now set-user-ID: such a writer is still refused, one with
	 * CAP_FSETID and a reader join */
	CHECK(chmod(file, 04777) == 0);
	struct fuse_req u2 = new_req(me + 6);
	u2.ctx.pid = 79;
	CHECK(open_file(&n, &u2, O_RDWR) >= 0 && u2.err == ETXTBSY);
	struct fuse_req k = new_req(me + 7);
	int kfd = open_file(&n, &k, O_WRONLY);
	CHECK(k.replied == REPLY_IOV && n.pt_opens == 2 && n.nwriters == 2);
	struct fuse_req r = new_req(me + 8);
	r.ctx.pid = 80;
	int rfd = open_file(&n, &r, O_RDONLY);
	CHECK(r.replied == REPLY_IOV && n.pt_opens == 3);
	/* with another thread's writer open, w may no longer give the bits
	 * (the handle may be used without CAP_FSETID); a reader is no writer */
	CHECK(node_setid_chmod_begin(&fs, &w, &n, 04755) == EBUSY && n.setid_chmods == 0);
	CHECK(strstr(logged, "refused a chmod giving set-ID bits") != NULL);
	node_release(&fs, &n, true, false, kfd);
	close(kfd);
	CHECK(node_setid_chmod_begin(&fs, &w, &n, 04755) == 0 && n.setid_chmods == 1);
	node_setid_chmod_end(&fs, &n);
	/* by another thread than the writer's: EBUSY; none open for writing
	 * in passthrough: anyone */
	CHECK(node_setid_chmod_begin(&fs, &r, &n, 02755) == EBUSY);
	node_release(&fs, &n, true, false, wfd);
	close(wfd);
	CHECK(node_setid_chmod_begin(&fs, &r, &n, 02755) == 0);
	node_setid_chmod_end(&fs, &n);
	node_release(&fs, &n, true, false, rfd);
	close(rfd);
	CHECK(n.pt_opens == 0 && n.source_opens == 0 && n.pins == 0 && n.setid_chmods == 0);
	CHECK(chmod(file, 0644) == 0);
	free(n.writers);
}

TEST_MAIN(setup, test_reader_cached, test_writer_passthrough, test_one_mode_per_inode,
          test_source_refusals, test_value_opens, test_value_cache_of_file,
          test_source_beside_value, test_source_waits_for_release, test_interrupted_before_reply,
          test_parked_until_release, test_parked_file_rechecked, test_init_exchange,
          test_requests_that_kill, test_setid_passthrough, teardown)
