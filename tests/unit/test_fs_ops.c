/**
 * @file test_fs_ops.c
 * Specification of fs/ops (the FUSE handlers), driven through the table
 * ggfs_ops as the kernel would: stat of a placeholder shows its output's
 * size once known, its own bytes' until then; a name missing in SOURCE is
 * a negative entry for -o timeout; ".." of the root is the root;
 * the root's ".gg" and the by-hash tree are byhash.c's, whose errno a
 * lookup answers as is; the virtual tree is read-only and ".gg" cannot be
 * made, removed or renamed in the root; a read-only open of a placeholder
 * forces it, a writer gets the file, another user forces nothing (unless
 * -o others_force or forced already); CREATE only creates (ESTALE for a
 * name made meanwhile, nothing truncated) and applies the caller's umask
 * when the kernel leaves it to ggfs; user.gg.* of by-hash objects and the
 * store's path, ERANGE for a short buffer, user.gg.error kept from other
 * users, user.gg.* of a placeholder not writable; readdir hides the root's
 * ".gg" and lists a placeholder forced to a link as a link; a store
 * object's handle is never written, truncated or chmod'ed; a truncation
 * by path that a lease is in the way of waits on a thread of waiting.c,
 * with the rest of its SETATTR; INIT's wants.
 * Linked without a FUSE session: libfuse's replies and node.c's fds are
 * fs_fakes.h's, and the rest of node.c, lazy.c, byhash.c, backing.c,
 * watch.c and ident.c are small fakes below. The files are real ones, in
 * SOURCE (dir/src); the store (dir/.gg) is a real one.
 */
#define FS_FAKES_NODE_FDS
#define FS_FAKES_REPLIES
#include "fs_fakes.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <signal.h>
#include <sys/xattr.h>

static struct ggfs fs;

/* ---- fakes of fs/node.c: the table is the nodes the test made ---- */

static struct node *known[32];
static size_t nknown;
static struct node *got_dir; /* node_get_pass's last dir */

struct node *node_of(struct ggfs *f, fuse_ino_t ino)
{
	return ino == FUSE_ROOT_ID ? &f->root : (struct node *)(uintptr_t)ino;
}

static struct node *find_known(dev_t dev, ino_t ino)
{
	for (size_t i = 0; i < nknown; i++)
		if (known[i]->dev == dev && known[i]->ino == ino)
			return known[i];
	return NULL;
}

/* A node of the file src/rel, a placeholder if is_ref. */
static struct node *add_node(const char *rel, bool is_ref)
{
	char *src = xasprintf("src/%s", rel), *p = at(src);
	struct node *n = xcalloc(1, sizeof *n);
	n->kind = NODE_PASS;
	n->fd = open(p, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (n->fd < 0 || fstat(n->fd, &st) < 0 || nknown == 32)
		abort();
	free(src);
	free(p);
	n->dev = st.st_dev;
	n->ino = st.st_ino;
	n->lz.is_ref = is_ref;
	known[nknown++] = n;
	return n;
}

/* Finds the node made for the file, else adds one (with its fd). */
struct node *node_get_pass(struct ggfs *f, struct node *d, const char *name, int fd,
                           const struct stat *st)
{
	got_dir = d;
	struct node *n = st->st_dev == f->root.dev && st->st_ino == f->root.ino
	                     ? &f->root
	                     : find_known(st->st_dev, st->st_ino);
	if (n) {
		close(fd);
	} else {
		if (nknown == 32)
			abort();
		n = xcalloc(1, sizeof *n);
		n->kind = NODE_PASS;
		n->fd = fd;
		n->dev = st->st_dev;
		n->ino = st->st_ino;
		known[nknown++] = n;
	}
	n->nlookup++;
	return n;
}

struct node *node_find_locked(struct ggfs *f, dev_t dev, ino_t ino)
{
	return find_known(dev, ino);
}

void node_forget(struct ggfs *f, struct node *n, uint64_t nlookup)
{
	n->nlookup -= nlookup;
}

void node_ref_lookup(struct ggfs *f, struct node *n)
{
	n->nlookup++;
}

void node_moved(struct ggfs *f, dev_t dev, ino_t ino, struct node *newdir, const char *newname)
{
}

static int nunlinkings; /* node_unlinking calls */

void node_unlinking(struct ggfs *f, struct node *d, int dirfd, const char *name)
{
	nunlinkings++;
}

char *node_display_path(struct ggfs *f, const struct node *n)
{
	return xstrdup("MOUNT/ph");
}

/* ---- fakes of fs/lazy.c: a placeholder is what the test says ---- */

#define OUTPUT_SIZE 4242 /* the size of every forced output */

static int nadjusts;        /* lazy_adjust_attr calls */
static int nlazy_opens;     /* lazy_open calls */
static bool lazy_gone;      /* lazy_open finds the node no longer lazy */
static bool lazy_may_force; /* what the last lazy_open was told */
static bool other_caller;   /* ident_is_other says so */
static int virt_err;        /* virt_lookup fails with it */
static int nvirt_lookups;   /* virt_lookup calls */
static int nvirt_readdirs;  /* virt_readdir calls */

bool lazy_classify(struct ggfs *f, struct node *n, const struct stat *st)
{
	return n->lz.is_ref;
}

bool lazy_classify_now(struct ggfs *f, struct node *n, struct stat *st)
{
	return n->kind == NODE_PASS && fstat(n->fd, st) == 0 && n->lz.is_ref;
}

void lazy_adjust_attr(struct ggfs *f, struct node *n, struct stat *st)
{
	nadjusts++;
	if (n->lz.forced)
		st->st_size = OUTPUT_SIZE;
}

int lazy_link_target(struct ggfs *f, struct node *n, char **target)
{
	if (!n->lz.is_ref || !n->lz.forced || !n->lz.link)
		return 0;
	*target = xstrdup("libfoo.so.1");
	return 1;
}

bool lazy_is_forced(struct ggfs *f, struct node *n)
{
	return n->lz.forced;
}

bool lazy_open(struct ggfs *f, fuse_req_t req, struct node *n, struct fuse_file_info *fi,
               unsigned source_seq, bool may_force)
{
	nlazy_opens++;
	lazy_may_force = may_force;
	if (lazy_gone)
		return false;
	fuse_reply_open(req, fi);
	return true;
}

int lazy_getxattr(struct ggfs *f, struct node *n, const char *name, char **value, size_t *len)
{
	if (strcmp(name, "user.gg.error"))
		return ENODATA;
	*value = xstrdup("it failed");
	*len = strlen(*value);
	return 0;
}

/* ---- fakes of fs/byhash.c, fs/watch.c, fs/ident.c ---- */

static struct node ggdir, byhash, object, output; /* the virtual nodes */

int virt_lookup(struct ggfs *f, struct node *parent, const char *name, struct fuse_entry_param *e)
{
	nvirt_lookups++;
	if (virt_err)
		return virt_err;
	memset(e, 0, sizeof *e);
	e->ino = node_ino(f, &object);
	return 0;
}

void virt_readdir(struct ggfs *f, fuse_req_t req, struct node *d, size_t size, off_t off, bool plus)
{
	nvirt_readdirs++;
	fuse_reply_buf(req, "", 0);
}

void virt_attr(struct ggfs *f, struct node *n, struct stat *st)
{
	memset(st, 0, sizeof *st);
	st->st_mode = S_IFREG | 0444;
}

double node_timeout(struct ggfs *f, struct node *n, const struct stat *st)
{
	return 7.5;
}

double pass_timeout(struct ggfs *f, struct node *d, struct node *n, const struct stat *st)
{
	return 7.5;
}

bool watch_entry_cached(struct ggfs *f, struct node *d, const char *name, ino_t ino)
{
	return false;
}

/* ---- a fake of fs/waiting.c: the handler runs at once ---- */

static int nwaiting;             /* waiting_run calls */
static int lease_fd = -1;        /* a lease the waiting lets go of first */
static bool waiting_interrupted; /* the caller gives up while it waits */

void waiting_run(struct ggfs *f, waiting_fn *fn, fuse_req_t req, void *arg)
{
	nwaiting++;
	if (lease_fd >= 0)
		CHECK(fcntl(lease_fd, F_SETLEASE, F_UNLCK) == 0);
	fn(f, req, arg, waiting_interrupted);
}

static bool refuse_changes; /* ident_may_change (and ident_enter) refuse */

int ident_may_change(struct ggfs *f, fuse_req_t req)
{
	return refuse_changes ? EACCES : 0;
}

int ident_enter(struct ggfs *f, fuse_req_t req)
{
	return ident_may_change(f, req);
}

void ident_leave(struct ggfs *f)
{
}

int ident_data_begin(struct ggfs *f, fuse_req_t req, int fd, bool flagged)
{
	return 0;
}

void ident_data_end(struct ggfs *f, int entered)
{
}

bool ident_is_other(struct ggfs *f, fuse_req_t req)
{
	return other_caller;
}

/* ---- fakes of fs/backing.c: opens are counted and answered ---- */

static int nbacking_inits;
static int nsource_opens; /* node_open_source calls */
static int source_flags;  /* ... the last one's fi->flags */
static int source_err;    /* ... fail with it */
static int nreleases;     /* node_release calls */
static int nstore_opens;  /* reply_store_open calls */
static char served[8];    /* the first bytes of the last one's fd */

void backing_init(struct ggfs *f, struct fuse_conn_info *conn)
{
	nbacking_inits++;
}

int node_open_source(struct ggfs *f, struct node *n, struct fuse_file_info *fi, bool *pt)
{
	nsource_opens++;
	source_flags = fi->flags;
	return source_err;
}

void reply_source_open(struct ggfs *f, fuse_req_t req, struct fuse_file_info *fi,
                       const struct fuse_entry_param *e, struct node *n, int fd, bool pt)
{
	close(fd);
	if (e)
		fuse_reply_create(req, e, fi);
	else
		fuse_reply_open(req, fi);
}

void reply_store_open(struct ggfs *f, fuse_req_t req, struct fuse_file_info *fi, struct node *n,
                      const struct gg_name *value, int fd, unsigned source_seq)
{
	nstore_opens++;
	memset(served, 0, sizeof served);
	if (pread(fd, served, sizeof served - 1, 0) < 0)
		abort();
	close(fd);
	fuse_reply_open(req, fi);
}

void node_release(struct ggfs *f, struct node *n, bool passthrough, bool value, int fd)
{
	nreleases++;
}

bool node_has_writer(struct ggfs *f, struct node *n, uid_t uid)
{
	return false;
}

int node_setid_chmod_begin(struct ggfs *f, fuse_req_t req, struct node *n, mode_t mode)
{
	return 0;
}

void node_setid_chmod_end(struct ggfs *f, struct node *n)
{
}

/* ---- helpers ---- */

static struct fuse_req req;
static struct node *ph, *plain, *ln, *sub; /* src/ph, src/plain, src/ln, src/sub */
static struct gg_name value;               /* "stored\n", in the store */

/* A new request from the mount's owner (umask 022). */
static fuse_req_t fresh(void)
{
	memset(&req, 0, sizeof req);
	req.userdata = &fs;
	req.ctx.uid = getuid();
	req.ctx.umask = 022;
	return &req;
}

static fuse_ino_t ino_of(struct node *n)
{
	return n == &fs.root ? FUSE_ROOT_ID : node_ino(&fs, n);
}

/* Writes dir/rel in place (its node's fd stays on it). */
static void put(const char *rel, const char *data)
{
	char *p = at(rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	CHECK(fd >= 0 && write(fd, data, strlen(data)) == (ssize_t)strlen(data));
	close(fd);
	free(p);
}

static mode_t mode_of(const char *rel)
{
	char *p = at(rel);
	struct stat st;
	mode_t m = stat(p, &st) == 0 ? st.st_mode & 07777 : (mode_t)-1;
	free(p);
	return m;
}

/* Does dir/rel hold exactly want? */
static bool holds(const char *rel, const char *want)
{
	char *p = at(rel);
	struct buf b = BUF_INIT;
	bool same =
	    read_file(p, &b, 4096) == 0 && b.len == strlen(want) && !memcmp(b.data, want, b.len);
	buf_free(&b);
	free(p);
	return same;
}

/* The errno the last request was answered with, or -1 for another reply. */
static int err_of(void)
{
	return req.replied == REPLY_ERR && req.nreplies == 1 ? req.err : -1;
}

static void setup(void)
{
	umask(0); /* the daemon's; the caller's is the request's */
	make_test_dir("ggtest-ops");
	ggfs_init(&fs);
	char *root = at(".gg"), *src = at("src");
	if (store_init(dir, NULL) < 0 || store_open(root, &fs.store) < 0 || mkdir(src, 0755) < 0 ||
	    store_put_buf(fs.store, "stored\n", 7, GG_VALUE, &value) < 0)
		abort();
	fs.source = src;
	fs.root.kind = NODE_PASS;
	fs.root.fd = open(src, O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct stat st;
	if (fs.root.fd < 0 || fstat(fs.root.fd, &st) < 0)
		abort();
	fs.root.dev = st.st_dev;
	fs.root.ino = st.st_ino;
	free(root);
	put("src/ph", "placeholder bytes\n"); /* 18 bytes */
	put("src/plain", "hello\n");
	put("src/ln", "placeholder of a link\n");
	char *s = at("src/sub");
	if (mkdir(s, 0755) < 0)
		abort();
	free(s);
	ph = add_node("ph", true);
	plain = add_node("plain", false);
	ln = add_node("ln", true);
	ln->lz.forced = ln->lz.link = true;
	sub = add_node("sub", false);
	ggdir = (struct node){.kind = NODE_GGDIR, .fd = -1};
	byhash = (struct node){.kind = NODE_BYHASH, .fd = -1};
	object = (struct node){.kind = NODE_OBJECT, .fd = -1};
	object.lz.ref.name = value;
	object.lz.ref_str = gg_ref_format(&object.lz.ref);
	output = (struct node){.kind = NODE_OUTPUT, .fd = -1};
	output.lz.is_ref = true;
	fs.ggdir = &ggdir;
	fs.byhash = &byhash;
}

static void teardown(void)
{
	for (size_t i = 0; i < nknown; i++) {
		close(known[i]->fd);
		free(known[i]);
	}
	close(fs.root.fd);
	free(object.lz.ref_str);
	store_close(fs.store);
	free(fs.source);
	CHECK(remove_tree(dir) == 0);
	free(dir);
}

/* ---- the tests ---- */

/* lookup and getattr of a placeholder show its output's size once known
 * (lazy_adjust_attr), its own bytes' until then; a file that is no
 * placeholder is never adjusted. */
static void test_placeholder_size(void)
{
	nadjusts = 0;
	ggfs_ops.lookup(fresh(), FUSE_ROOT_ID, "ph");
	CHECK(req.replied == REPLY_ENTRY && req.entry.ino == ino_of(ph));
	CHECK(req.entry.attr.st_size == 18 && nadjusts == 1);
	CHECK(req.entry.entry_timeout == 7.5 && req.entry.attr_timeout == 7.5);
	ph->lz.forced = true;
	ggfs_ops.lookup(fresh(), FUSE_ROOT_ID, "ph");
	CHECK(req.replied == REPLY_ENTRY && req.entry.attr.st_size == OUTPUT_SIZE);
	ggfs_ops.getattr(fresh(), ino_of(ph), NULL);
	CHECK(req.replied == REPLY_ATTR && req.attr.st_size == OUTPUT_SIZE);
	CHECK(req.attr_timeout == 7.5);
	ph->lz.forced = false;
	ggfs_ops.getattr(fresh(), ino_of(ph), NULL);
	CHECK(req.replied == REPLY_ATTR && req.attr.st_size == 18);
	nadjusts = 0;
	ggfs_ops.lookup(fresh(), FUSE_ROOT_ID, "plain");
	CHECK(req.replied == REPLY_ENTRY && req.entry.attr.st_size == 6);
	ggfs_ops.getattr(fresh(), ino_of(plain), NULL);
	CHECK(req.replied == REPLY_ATTR && req.attr.st_size == 6);
	CHECK(nadjusts == 0);
}

/* A name missing in SOURCE is a negative entry (node id 0) cached for -o
 * timeout; with -o timeout=0, ENOENT (nothing to cache), and so where the
 * kernel cannot expire entries (the watch could not drop the miss without
 * detaching names made through the mount). A name missing in the virtual
 * tree is always ENOENT: the store may get it any time. */
static void test_negative_lookup(void)
{
	double timeout = fs.timeout;
	bool expire_only = fs.expire_only;
	fs.timeout = 2.5;
	fs.expire_only = true;
	ggfs_ops.lookup(fresh(), FUSE_ROOT_ID, "missing");
	CHECK(req.replied == REPLY_ENTRY && req.entry.ino == 0);
	CHECK(req.entry.entry_timeout == 2.5 && req.entry.attr_timeout == 0);
	ggfs_ops.lookup(fresh(), ino_of(sub), "missing");
	CHECK(req.replied == REPLY_ENTRY && req.entry.ino == 0);
	virt_err = ENOENT;
	ggfs_ops.lookup(fresh(), ino_of(&byhash), "missing");
	CHECK(err_of() == ENOENT);
	virt_err = 0;
	fs.expire_only = false;
	ggfs_ops.lookup(fresh(), FUSE_ROOT_ID, "missing");
	CHECK(err_of() == ENOENT);
	fs.expire_only = true;
	fs.timeout = 0;
	ggfs_ops.lookup(fresh(), FUSE_ROOT_ID, "missing");
	CHECK(err_of() == ENOENT);
	fs.timeout = timeout;
	fs.expire_only = expire_only;
}

/* ".." of the root is the root (nothing above SOURCE shows), found with
 * no name to reopen it by; ".." of another directory is its parent. */
static void test_dotdot(void)
{
	got_dir = plain;
	ggfs_ops.lookup(fresh(), FUSE_ROOT_ID, "..");
	CHECK(req.replied == REPLY_ENTRY && req.entry.attr.st_ino == fs.root.ino);
	CHECK(got_dir == NULL);
	ggfs_ops.lookup(fresh(), ino_of(sub), "..");
	CHECK(req.replied == REPLY_ENTRY && req.entry.attr.st_ino == fs.root.ino);
	CHECK(got_dir == NULL);
}

/* The root's ".gg" and every name in the virtual tree are byhash.c's: its
 * errno is the answer (a malformed hash, an unknown one), SOURCE is not
 * asked. A ".gg" below the root is SOURCE's. */
static void test_virtual_lookup(void)
{
	char *d = at("src/.gg"), *sd = at("src/sub/.gg");
	CHECK(mkdir(d, 0755) == 0 && mkdir(sd, 0755) == 0);
	nvirt_lookups = 0;
	ggfs_ops.lookup(fresh(), FUSE_ROOT_ID, ".gg");
	CHECK(req.replied == REPLY_ENTRY && req.entry.ino == ino_of(&object) && nvirt_lookups == 1);
	virt_err = EINVAL;
	ggfs_ops.lookup(fresh(), ino_of(&byhash), "not-a-hash");
	CHECK(err_of() == EINVAL && nvirt_lookups == 2);
	virt_err = ENOENT;
	ggfs_ops.lookup(fresh(), ino_of(&ggdir), "plain");
	CHECK(err_of() == ENOENT && nvirt_lookups == 3);
	virt_err = 0;
	ggfs_ops.lookup(fresh(), ino_of(sub), ".gg");
	struct stat st;
	CHECK(stat(sd, &st) == 0);
	CHECK(req.replied == REPLY_ENTRY && req.entry.attr.st_ino == st.st_ino);
	CHECK(nvirt_lookups == 3);
	CHECK(rmdir(d) == 0 && rmdir(sd) == 0);
	free(d);
	free(sd);
}

/* The virtual tree is read-only: no open for writing (EROFS, nothing
 * forced), no open of its directories (EISDIR), no opendir of a file
 * (ENOTDIR), no readlink (EINVAL), no setattr (EROFS). */
static void test_virtual_opens_refused(void)
{
	struct fuse_file_info fi = {0};
	int writes[] = {O_WRONLY, O_RDWR, O_RDONLY | O_TRUNC};
	nlazy_opens = nstore_opens = 0;
	for (int i = 0; i < 3; i++) {
		fi.flags = writes[i];
		ggfs_ops.open(fresh(), ino_of(&output), &fi);
		CHECK(err_of() == EROFS);
		ggfs_ops.open(fresh(), ino_of(&object), &fi);
		CHECK(err_of() == EROFS);
	}
	CHECK(nlazy_opens == 0 && nstore_opens == 0);
	fi.flags = O_RDONLY;
	ggfs_ops.open(fresh(), ino_of(&ggdir), &fi);
	CHECK(err_of() == EISDIR);
	ggfs_ops.open(fresh(), ino_of(&byhash), &fi);
	CHECK(err_of() == EISDIR);
	ggfs_ops.opendir(fresh(), ino_of(&object), &fi);
	CHECK(err_of() == ENOTDIR);
	ggfs_ops.readlink(fresh(), ino_of(&object));
	CHECK(err_of() == EINVAL);
	struct stat attr = {.st_mode = 0777};
	ggfs_ops.setattr(fresh(), ino_of(&object), &attr, FUSE_SET_ATTR_MODE, NULL);
	CHECK(err_of() == EROFS);
	/* a read-only open of a by-hash object reads the store's object */
	ggfs_ops.open(fresh(), ino_of(&object), &fi);
	CHECK(req.replied == REPLY_OPEN && nstore_opens == 1);
	CHECK_STR(served, "stored\n");
	/* ... and one of an output forces it */
	ggfs_ops.open(fresh(), ino_of(&output), &fi);
	CHECK(req.replied == REPLY_OPEN && nlazy_opens == 1);
}

/* A read-only open of a placeholder forces it (lazy_open); a writer, or
 * a truncating open, gets the file itself, as does a reader once the
 * placeholder stopped being one. A plain file is opened as it is. */
static void test_open_placeholder(void)
{
	struct fuse_file_info fi = {.flags = O_RDONLY};
	nlazy_opens = nsource_opens = 0;
	ggfs_ops.open(fresh(), ino_of(ph), &fi);
	CHECK(req.replied == REPLY_OPEN && nlazy_opens == 1 && nsource_opens == 0);
	int writes[] = {O_WRONLY, O_RDWR, O_RDONLY | O_TRUNC};
	for (int i = 0; i < 3; i++) {
		fi = (struct fuse_file_info){.flags = writes[i]};
		ggfs_ops.open(fresh(), ino_of(ph), &fi);
		CHECK(req.replied == REPLY_OPEN && nsource_opens == i + 1);
		CHECK(source_flags == writes[i]);
	}
	CHECK(nlazy_opens == 1);
	CHECK(holds("src/ph", ""));
	put("src/ph", "placeholder bytes\n");
	fi = (struct fuse_file_info){.flags = O_RDONLY};
	ggfs_ops.open(fresh(), ino_of(plain), &fi);
	CHECK(req.replied == REPLY_OPEN && nsource_opens == 4 && nlazy_opens == 1);
	lazy_gone = true;
	ggfs_ops.open(fresh(), ino_of(ph), &fi);
	CHECK(req.replied == REPLY_OPEN && req.nreplies == 1);
	CHECK(nlazy_opens == 2 && nsource_opens == 5);
	lazy_gone = false;
}

/* Another user's open of a placeholder or a by-hash output may start no
 * force (lazy_open serves only one forced already) unless -o others_force;
 * the owner's and root's may. */
static void test_others_do_not_force(void)
{
	struct fuse_file_info fi = {.flags = O_RDONLY};
	other_caller = true;
	nlazy_opens = 0;
	ggfs_ops.open(fresh(), ino_of(ph), &fi);
	CHECK(nlazy_opens == 1 && !lazy_may_force);
	ggfs_ops.open(fresh(), ino_of(&output), &fi);
	CHECK(nlazy_opens == 2 && !lazy_may_force);
	fs.others_force = 1;
	ggfs_ops.open(fresh(), ino_of(ph), &fi);
	CHECK(nlazy_opens == 3 && lazy_may_force);
	fs.others_force = 0;
	other_caller = false;
	ggfs_ops.open(fresh(), ino_of(ph), &fi);
	CHECK(req.replied == REPLY_OPEN && nlazy_opens == 4 && lazy_may_force);
}

/* A change the daemon refuses (another user of a daemon that is not root)
 * is refused before anything else: no open of the file counted (it would
 * mark the kernel's cache stale, or wait for a reader), nothing noted as
 * being unlinked (its descriptor would be kept). */
static void test_refused_change_touches_nothing(void)
{
	refuse_changes = true;
	nsource_opens = nunlinkings = 0;
	struct fuse_file_info w = {.flags = O_WRONLY};
	ggfs_ops.open(fresh(), ino_of(plain), &w);
	CHECK(err_of() == EACCES);
	struct stat st = {.st_size = 0};
	ggfs_ops.setattr(fresh(), ino_of(plain), &st, FUSE_SET_ATTR_SIZE, NULL);
	CHECK(err_of() == EACCES);
	ggfs_ops.unlink(fresh(), FUSE_ROOT_ID, "plain");
	CHECK(err_of() == EACCES);
	ggfs_ops.rename(fresh(), FUSE_ROOT_ID, "plain", FUSE_ROOT_ID, "ph", 0);
	CHECK(err_of() == EACCES);
	CHECK(nsource_opens == 0 && nunlinkings == 0);
	refuse_changes = false;
	struct fuse_file_info r = {.flags = O_RDONLY};
	ggfs_ops.open(fresh(), ino_of(plain), &r); /* reading is no change */
	CHECK(req.replied == REPLY_OPEN && nsource_opens == 1);
}

/* Nothing is made, removed or renamed in the virtual tree (EROFS), and the
 * root's ".gg" is taken: not made (EEXIST), removed or renamed to or from
 * (EPERM), also where SOURCE has no .gg. */
static void test_names_refused(void)
{
	struct fuse_file_info fi = {.flags = O_WRONLY | O_CREAT};
	fuse_ino_t bh = ino_of(&byhash), root = FUSE_ROOT_ID;
	ggfs_ops.mkdir(fresh(), bh, "x", 0755);
	CHECK(err_of() == EROFS);
	ggfs_ops.mknod(fresh(), bh, "x", S_IFREG | 0644, 0);
	CHECK(err_of() == EROFS);
	ggfs_ops.symlink(fresh(), "t", bh, "x");
	CHECK(err_of() == EROFS);
	ggfs_ops.create(fresh(), bh, "x", 0644, &fi);
	CHECK(err_of() == EROFS);
	ggfs_ops.unlink(fresh(), bh, "x");
	CHECK(err_of() == EROFS);
	ggfs_ops.rmdir(fresh(), bh, "x");
	CHECK(err_of() == EROFS);
	ggfs_ops.rename(fresh(), root, "plain", bh, "x", 0);
	CHECK(err_of() == EROFS);
	ggfs_ops.link(fresh(), ino_of(plain), bh, "x");
	CHECK(err_of() == EROFS);
	ggfs_ops.link(fresh(), ino_of(&object), root, "x");
	CHECK(err_of() == EPERM);
	ggfs_ops.mkdir(fresh(), root, ".gg", 0755);
	CHECK(err_of() == EEXIST);
	ggfs_ops.symlink(fresh(), "t", root, ".gg");
	CHECK(err_of() == EEXIST);
	ggfs_ops.mknod(fresh(), root, ".gg", S_IFREG | 0644, 0);
	CHECK(err_of() == EEXIST);
	ggfs_ops.create(fresh(), root, ".gg", 0644, &fi);
	CHECK(err_of() == EEXIST);
	ggfs_ops.link(fresh(), ino_of(plain), root, ".gg");
	CHECK(err_of() == EEXIST);
	ggfs_ops.rename(fresh(), root, "plain", root, ".gg", 0);
	CHECK(err_of() == EPERM);
	ggfs_ops.rename(fresh(), root, ".gg", root, "y", 0);
	CHECK(err_of() == EPERM);
	ggfs_ops.unlink(fresh(), root, ".gg");
	CHECK(err_of() == EPERM);
	ggfs_ops.rmdir(fresh(), root, ".gg");
	CHECK(err_of() == EPERM);
	char *gg = at("src/.gg");
	struct stat st;
	CHECK(lstat(gg, &st) < 0 && errno == ENOENT);
	CHECK(holds("src/plain", "hello\n"));
	free(gg);
	/* elsewhere, ".gg" is a name as any other */
	ggfs_ops.mkdir(fresh(), ino_of(sub), ".gg", 0755);
	CHECK(req.replied == REPLY_ENTRY);
	ggfs_ops.rmdir(fresh(), ino_of(sub), ".gg");
	CHECK(err_of() == 0);
}

/* CREATE only creates: a name made behind the mount since the kernel's
 * LOOKUP is answered ESTALE (the kernel looks it up and opens it), left
 * as it is; EEXIST with O_EXCL. A new name is made and opened. */
static void test_create_only_creates(void)
{
	struct fuse_file_info fi = {.flags = O_WRONLY | O_CREAT | O_TRUNC};
	ggfs_ops.create(fresh(), FUSE_ROOT_ID, "plain", 0644, &fi);
	CHECK(err_of() == ESTALE);
	CHECK(holds("src/plain", "hello\n"));
	fi.flags = O_WRONLY | O_CREAT | O_EXCL;
	ggfs_ops.create(fresh(), FUSE_ROOT_ID, "plain", 0644, &fi);
	CHECK(err_of() == EEXIST);
	CHECK(holds("src/plain", "hello\n"));
	nsource_opens = 0;
	ggfs_ops.create(fresh(), FUSE_ROOT_ID, "new", 0644, &fi);
	CHECK(req.replied == REPLY_CREATE && req.entry.ino != 0 && nsource_opens == 1);
	CHECK(holds("src/new", ""));
}

/* Where the kernel leaves the umask to ggfs (FUSE_CAP_DONT_MASK), files
 * and directories are made with the caller's umask applied; else the
 * mode is the kernel's, already masked. */
static void test_umask(void)
{
	struct fuse_file_info fi = {.flags = O_WRONLY | O_CREAT | O_EXCL};
	fs.dont_mask = true;
	fuse_req_t r = fresh();
	r->ctx.umask = 027;
	ggfs_ops.create(r, FUSE_ROOT_ID, "m1", 0666, &fi);
	CHECK(req.replied == REPLY_CREATE && mode_of("src/m1") == 0640);
	r = fresh();
	r->ctx.umask = 027;
	ggfs_ops.mkdir(r, FUSE_ROOT_ID, "d1", 0777);
	CHECK(req.replied == REPLY_ENTRY && mode_of("src/d1") == 0750);
	fs.dont_mask = false;
	r = fresh();
	r->ctx.umask = 027;
	ggfs_ops.create(r, FUSE_ROOT_ID, "m2", 0666, &fi);
	CHECK(req.replied == REPLY_CREATE && mode_of("src/m2") == 0666);
}

/* user.gg.*: .gg tells the store's path; a by-hash object its reference
 * and "forced" (nothing else); a placeholder lazy.c's, but user.gg.error
 * (the failed command's account) is refused to other users. A size of 0
 * asks the length; a buffer too small is ERANGE. */
static void test_gg_xattrs(void)
{
	ggfs_ops.getxattr(fresh(), ino_of(&ggdir), "user.gg.store", 4096);
	CHECK(req.replied == REPLY_BUF && req.iov_len == strlen(fs.store->root) &&
	      !memcmp(req.iov, fs.store->root, req.iov_len));
	ggfs_ops.getxattr(fresh(), ino_of(&ggdir), "user.gg.store", 0);
	CHECK(req.replied == REPLY_XATTR && req.size == strlen(fs.store->root));
	ggfs_ops.getxattr(fresh(), ino_of(&ggdir), "user.gg.store", 3);
	CHECK(err_of() == ERANGE);
	ggfs_ops.getxattr(fresh(), ino_of(&object), "user.gg.ref", 4096);
	CHECK(req.replied == REPLY_BUF && req.iov_len == strlen(object.lz.ref_str) &&
	      !memcmp(req.iov, object.lz.ref_str, req.iov_len));
	ggfs_ops.getxattr(fresh(), ino_of(&object), "user.gg.state", 4096);
	CHECK(req.replied == REPLY_BUF && req.iov_len == 6 && !memcmp(req.iov, "forced", 6));
	ggfs_ops.getxattr(fresh(), ino_of(&object), "user.gg.error", 4096);
	CHECK(err_of() == ENODATA);
	/* read by name, never listed: copying tools would set them on copies */
	ggfs_ops.listxattr(fresh(), ino_of(&object), 4096);
	CHECK(req.replied == REPLY_BUF && req.iov_len == 0);
	ggfs_ops.getxattr(fresh(), ino_of(ph), "user.gg.error", 4096);
	CHECK(req.replied == REPLY_BUF && req.iov_len == 9 && !memcmp(req.iov, "it failed", 9));
	other_caller = true;
	ggfs_ops.getxattr(fresh(), ino_of(ph), "user.gg.error", 4096);
	CHECK(err_of() == EACCES);
	other_caller = false;
	ggfs_ops.getxattr(fresh(), ino_of(plain), "user.gg.error", 4096);
	CHECK(err_of() == ENODATA);
}

/* user.gg.* are the mount's: never set or removed through it (EPERM), on
 * a placeholder or on a file that is none, nor is any attribute of a
 * by-hash node; another attribute of a placeholder is SOURCE's. A user.gg.*
 * stored on an ordinary file in SOURCE is neither read nor listed (it would
 * pass for the mount's word: a user.gg.placeholder makes gg describe and gg
 * log take the file for a placeholder). */
static void test_gg_xattrs_read_only(void)
{
	ggfs_ops.setxattr(fresh(), ino_of(ph), "user.gg.ref", "x", 1, 0);
	CHECK(err_of() == EPERM);
	ggfs_ops.removexattr(fresh(), ino_of(ph), "user.gg.state");
	CHECK(err_of() == EPERM);
	ggfs_ops.setxattr(fresh(), ino_of(&object), "user.note", "x", 1, 0);
	CHECK(err_of() == EPERM);
	ggfs_ops.removexattr(fresh(), ino_of(&output), "user.note");
	CHECK(err_of() == EPERM);
	ggfs_ops.setxattr(fresh(), ino_of(ph), "user.note", "x", 1, 0);
	CHECK(err_of() == 0);
	ggfs_ops.setxattr(fresh(), ino_of(plain), "user.gg.placeholder", "y", 1, 0);
	CHECK(err_of() == EPERM);
	char *p = at("src/plain");
	char v[4] = "";
	CHECK(getxattr(p, "user.gg.placeholder", v, sizeof v) < 0);
	CHECK(setxattr(p, "user.gg.placeholder", "z", 1, 0) == 0); /* in SOURCE itself */
	CHECK(setxattr(p, "user.other", "w", 1, 0) == 0);
	ggfs_ops.getxattr(fresh(), ino_of(plain), "user.gg.placeholder", 4096);
	CHECK(err_of() == ENODATA);
	ggfs_ops.listxattr(fresh(), ino_of(plain), 4096);
	CHECK(req.replied == REPLY_BUF && req.iov_len == sizeof "user.other" &&
	      !memcmp(req.iov, "user.other", sizeof "user.other"));
	ggfs_ops.removexattr(fresh(), ino_of(plain), "user.gg.placeholder");
	CHECK(err_of() == EPERM && getxattr(p, "user.gg.placeholder", v, sizeof v) == 1);
	CHECK(removexattr(p, "user.gg.placeholder") == 0 && removexattr(p, "user.other") == 0);
	free(p);
}

/* The names readdir of d gives: "name:T " for each, T the d_type. */
_Static_assert(DT_DIR == 4 && DT_REG == 8 && DT_LNK == 10, "the listings below spell them");
static char *listing(fuse_ino_t d)
{
	struct fuse_file_info fi = {0};
	ggfs_ops.opendir(fresh(), d, &fi);
	if (req.replied != REPLY_OPEN)
		return xstrdup("(not opened)");
	struct buf out = BUF_INIT;
	ggfs_ops.readdir(fresh(), d, sizeof req.iov, 0, &fi);
	for (size_t at_ = 0; req.replied == REPLY_BUF && at_ < req.iov_len;) {
		const struct fuse_dirent *de = (const void *)(req.iov + at_);
		char *s = xasprintf("%.*s:%u ", (int)de->namelen, de->name, (unsigned)de->type);
		buf_add(&out, s, strlen(s));
		free(s);
		at_ += FUSE_DIRENT_SIZE(de);
	}
	ggfs_ops.releasedir(fresh(), d, &fi);
	char *s = xstrndup(out.data ? out.data : "", out.len);
	buf_free(&out);
	return s;
}

/* readdir lists SOURCE, but for the root's ".gg" (SOURCE's store): a ".gg"
 * below the root is listed. A placeholder forced to a symbolic link is a
 * link (as stat says), another a regular file. A virtual directory is
 * byhash.c's. */
static void test_readdir(void)
{
	char *d = at("src/.gg"), *sd = at("src/sub/.gg");
	CHECK(mkdir(d, 0755) == 0 && mkdir(sd, 0755) == 0);
	char *s = listing(FUSE_ROOT_ID);
	CHECK(!strstr(s, ".gg:"));
	CHECK(strstr(s, "ln:10 ") && strstr(s, "ph:8 ") && strstr(s, "plain:8 ") &&
	      strstr(s, "sub:4 ") && strstr(s, "..:4 "));
	free(s);
	s = listing(ino_of(sub));
	CHECK(strstr(s, ".gg:4 ") != NULL);
	free(s);
	CHECK(rmdir(d) == 0 && rmdir(sd) == 0);
	free(d);
	free(sd);
	nvirt_readdirs = 0;
	struct fuse_file_info fi = {0};
	ggfs_ops.opendir(fresh(), ino_of(&byhash), &fi);
	CHECK(req.replied == REPLY_OPEN && req.fi.cache_readdir);
	ggfs_ops.readdir(fresh(), ino_of(&byhash), 4096, 0, &fi);
	CHECK(req.replied == REPLY_BUF && nvirt_readdirs == 1);
}

/* readlink of a placeholder forced to a link is its target (from the
 * store), of a symbolic link of SOURCE its own. */
static void test_readlink(void)
{
	ggfs_ops.readlink(fresh(), ino_of(ln));
	CHECK(req.replied == REPLY_READLINK);
	CHECK_STR(req.link, "libfoo.so.1");
	char *p = at("src/sl");
	CHECK(symlink("over/there", p) == 0);
	free(p);
	ggfs_ops.lookup(fresh(), FUSE_ROOT_ID, "sl");
	CHECK(req.replied == REPLY_ENTRY);
	fuse_ino_t sl = req.entry.ino; /* before fresh() clears req */
	ggfs_ops.readlink(fresh(), sl);
	CHECK(req.replied == REPLY_READLINK);
	CHECK_STR(req.link, "over/there");
}

/* A store object's handle (a forced output's) is never changed through:
 * writes, fallocate and copies into it are EBADF, a setattr with it goes
 * to the file by its path (chmod), and a truncation by path counts as an
 * open for writing (never beside a reader of the forced output: its
 * error is the answer). */
static void test_store_handles(void)
{
	char *vp = at("victim"), *pp = at("src/plain");
	put("victim", "keep\n");
	/* open for writing, so that only ops.c's own check refuses */
	int vfd = open(vp, O_RDWR | O_CLOEXEC), pfd = open(pp, O_RDONLY | O_CLOEXEC);
	CHECK(vfd >= 0 && pfd >= 0 && chmod(vp, 0444) == 0);
	struct fuse_file_info fi = {.fh = (uint64_t)vfd | GGFS_FH_STORE};
	struct fuse_bufvec in = FUSE_BUFVEC_INIT(3);
	in.buf[0].mem = "bad";
	ggfs_ops.write_buf(fresh(), ino_of(ph), &in, 0, &fi);
	CHECK(err_of() == EBADF);
	ggfs_ops.fallocate(fresh(), ino_of(ph), 0, 0, 100, &fi);
	CHECK(err_of() == EBADF);
	struct fuse_file_info from = {.fh = (uint64_t)pfd};
	ggfs_ops.copy_file_range(fresh(), ino_of(ph), 0, &from, ino_of(ph), 0, &fi, 3, 0);
	CHECK(err_of() == EBADF);
	CHECK(holds("victim", "keep\n"));
	nsource_opens = nreleases = 0;
	struct stat attr = {.st_mode = 0600};
	ggfs_ops.setattr(fresh(), ino_of(plain), &attr, FUSE_SET_ATTR_MODE, &fi);
	CHECK(req.replied == REPLY_ATTR && (req.attr.st_mode & 07777) == 0600);
	CHECK(mode_of("victim") == 0444 && mode_of("src/plain") == 0600);
	CHECK(nsource_opens == 0);
	attr.st_size = 2;
	ggfs_ops.setattr(fresh(), ino_of(plain), &attr, FUSE_SET_ATTR_SIZE, &fi);
	CHECK(req.replied == REPLY_ATTR && req.attr.st_size == 2);
	CHECK(nsource_opens == 1 && source_flags == O_WRONLY && nreleases == 1);
	CHECK(holds("victim", "keep\n"));
	CHECK(holds("src/plain", "he"));
	source_err = ETXTBSY;
	attr.st_size = 0;
	ggfs_ops.setattr(fresh(), ino_of(plain), &attr, FUSE_SET_ATTR_SIZE, NULL);
	CHECK(err_of() == ETXTBSY && nsource_opens == 2);
	CHECK(holds("src/plain", "he"));
	source_err = 0;
	close(vfd);
	close(pfd);
	free(vp);
	free(pp);
	put("src/plain", "hello\n");
}

/* INIT wants POSIX ACLs and the umask left to ggfs where the kernel has
 * them, never the writeback cache or spliced requests, and caps
 * max_write at 1 MiB. */
/* A truncation by path of a file someone holds a lease on waits for the
 * lease's break on a thread of waiting.c, not on a FUSE thread, and the
 * rest of its SETATTR (here a chmod) is made there, once; without a lease,
 * at once. Interrupted while it waits there, it and an open are answered
 * EINTR, nothing changed, and no longer count as opens for writing. */
static void test_leased_truncate_waits_elsewhere(void)
{
	put("src/plain", "hello\n");
	signal(SIGIO, SIG_IGN); /* the lease's break notice */
	char *p = at("src/plain");
	lease_fd = open(p, O_RDONLY | O_CLOEXEC);
	CHECK(lease_fd >= 0 && fcntl(lease_fd, F_SETLEASE, F_RDLCK) == 0);
	nwaiting = nsource_opens = nreleases = 0;
	struct stat attr = {.st_mode = 0640, .st_size = 2};
	ggfs_ops.setattr(fresh(), ino_of(plain), &attr, FUSE_SET_ATTR_SIZE | FUSE_SET_ATTR_MODE,
	                 NULL);
	CHECK(nwaiting == 1);
	CHECK(req.replied == REPLY_ATTR && req.attr.st_size == 2);
	CHECK(holds("src/plain", "he") && mode_of("src/plain") == 0640);
	CHECK(nsource_opens == 1 && nreleases == 1);
	close(lease_fd);
	lease_fd = -1;
	/* interrupted while it waited: EINTR, nothing changed, its count undone */
	waiting_interrupted = true;
	struct stat other = {.st_mode = 0600, .st_size = 1};
	lease_fd = open(p, O_RDONLY | O_CLOEXEC);
	CHECK(lease_fd >= 0 && fcntl(lease_fd, F_SETLEASE, F_RDLCK) == 0);
	ggfs_ops.setattr(fresh(), ino_of(plain), &other, FUSE_SET_ATTR_SIZE | FUSE_SET_ATTR_MODE,
	                 NULL);
	CHECK(nwaiting == 2 && err_of() == EINTR);
	CHECK(holds("src/plain", "he") && mode_of("src/plain") == 0640);
	CHECK(nsource_opens == 2 && nreleases == 2);
	CHECK(fcntl(lease_fd, F_SETLEASE, F_RDLCK) == 0); /* let go by the waiting */
	struct fuse_file_info fi = {.flags = O_WRONLY};
	ggfs_ops.open(fresh(), ino_of(plain), &fi);
	CHECK(nwaiting == 3 && err_of() == EINTR);
	CHECK(nsource_opens == 3 && nreleases == 3);
	waiting_interrupted = false;
	close(lease_fd);
	lease_fd = -1;
	nwaiting = 1;
	nsource_opens = nreleases = 1;
	attr.st_size = 1;
	ggfs_ops.setattr(fresh(), ino_of(plain), &attr, FUSE_SET_ATTR_SIZE, NULL);
	CHECK(nwaiting == 1 && req.replied == REPLY_ATTR && holds("src/plain", "h"));
	CHECK(nsource_opens == 2 && nreleases == 2);
	put("src/plain", "hello\n");
	CHECK(chmod(p, 0644) == 0);
	free(p);
}

static void test_init(void)
{
	struct fuse_conn_info conn = {0};
	conn.capable = FUSE_CAP_POSIX_ACL | FUSE_CAP_DONT_MASK | FUSE_CAP_WRITEBACK_CACHE |
	               FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE | FUSE_CAP_EXPIRE_ONLY;
	conn.want = FUSE_CAP_WRITEBACK_CACHE | FUSE_CAP_SPLICE_READ;
	fs.dont_mask = fs.expire_only = false;
	nbacking_inits = 0;
	ggfs_ops.init(&fs, &conn);
	CHECK((conn.want & FUSE_CAP_POSIX_ACL) && (conn.want & FUSE_CAP_DONT_MASK));
	CHECK(!(conn.want & (FUSE_CAP_WRITEBACK_CACHE | FUSE_CAP_SPLICE_READ)));
	CHECK(!(conn.want & FUSE_CAP_SPLICE_WRITE)); /* not without -o splice */
	CHECK(fs.dont_mask && fs.expire_only && nbacking_inits == 1);
	CHECK(conn.max_write == 1u << 20);
	conn = (struct fuse_conn_info){.capable = FUSE_CAP_SPLICE_READ, .max_write = 4096};
	ggfs_ops.init(&fs, &conn);
	CHECK(conn.want == 0 && !fs.dont_mask && conn.max_write == 4096);
	fs.dont_mask = false;
}

TEST_MAIN(setup, test_placeholder_size, test_negative_lookup, test_dotdot, test_virtual_lookup,
          test_virtual_opens_refused, test_open_placeholder, test_others_do_not_force,
          test_refused_change_touches_nothing, test_names_refused, test_create_only_creates,
          test_umask, test_gg_xattrs, test_gg_xattrs_read_only, test_readdir, test_readlink,
          test_store_handles, test_leased_truncate_waits_elsewhere, test_init, teardown)
