/**
 * @file test_fs_watch.c
 * Specification of fs/watch (how long the kernel may cache SOURCE's entries
 * and attributes, and inotify telling it of changes): SOURCE is watched only
 * with a timeout and on a local filesystem; which directories get a watch
 * (not virtual ones, not other filesystems, a failed watch logged once with
 * its cause); pass_timeout's long timeout only for a forced placeholder with
 * one link in a watched directory, and only once a lookup gave it;
 * watch_entry_cached; what each change made behind the mount makes the watch
 * thread tell the kernel (a write or a new hard link: the file's attributes;
 * a chmod, a removal, a rename: the name's entry, expired or invalidated as
 * the kernel allows, and the attributes of the file it led to; a new name:
 * its entry, which the kernel may hold as missing), a removed directory's
 * watch dropped, unwatched and quiesced directories silent, a queue
 * overflow (for real, the thread held by GGFS_TEST_HOLD_WATCH) ending long
 * timeouts and dropping what was cached for long, and watch_stop. Linked
 * without a FUSE session: the node table and libfuse's notifications are
 * fakes that record what they are asked, and every pin and fd borrowed is
 * checked to be given back.
 */
#define FS_FAKES_PINS
#include "fs_fakes.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

/* ---- fakes of fs/node.c and libfuse's notifications (fs_fakes.h has the log's) ---- */

static struct ggfs fs;
static struct node *known[16]; /* the node table: found by (dev, ino) and by name */
static size_t nknown;

static pthread_mutex_t rec_mu = PTHREAD_MUTEX_INITIALIZER;
static char rec[1 << 22]; /* notifications, one per line */
static size_t rec_len;
static int notify_ret; /* what they return */

static int notify_result(void)
{
	pthread_mutex_lock(&rec_mu);
	int r = notify_ret;
	pthread_mutex_unlock(&rec_mu);
	return r;
}

static void set_notify_ret(int r)
{
	pthread_mutex_lock(&rec_mu);
	notify_ret = r;
	pthread_mutex_unlock(&rec_mu);
}

static int fd_borrows;

static const char *label(fuse_ino_t ino)
{
	for (size_t i = 0; i < nknown; i++)
		if ((fuse_ino_t)(uintptr_t)known[i] == ino)
			return known[i]->name ? known[i]->name : "ROOT";
	return "?";
}

static void record(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&rec_mu);
	size_t n = strlen(line);
	if (rec_len + n + 2 < sizeof rec) {
		memcpy(rec + rec_len, line, n);
		rec[rec_len + n] = '\n';
		rec_len += n + 1;
		rec[rec_len] = 0;
	} else {
		CHECK(!"the record is full");
	}
	pthread_mutex_unlock(&rec_mu);
}

int fuse_lowlevel_notify_inval_inode(struct fuse_session *se, fuse_ino_t ino, off_t off, off_t len)
{
	record("inode %s %lld %lld", label(ino), (long long)off, (long long)len);
	return notify_result();
}

int fuse_lowlevel_notify_inval_entry(struct fuse_session *se, fuse_ino_t parent, const char *name,
                                     size_t namelen)
{
	record("inval %s/%.*s", label(parent), (int)namelen, name);
	return notify_result();
}

int fuse_lowlevel_notify_expire_entry(struct fuse_session *se, fuse_ino_t parent, const char *name,
                                      size_t namelen, enum fuse_expire_flags flags)
{
	record("expire %s/%.*s%s", label(parent), (int)namelen, name,
	       flags == FUSE_LL_EXPIRE_ONLY ? "" : " (flags?)");
	return notify_result();
}

fuse_ino_t node_ino(struct ggfs *f, const struct node *n)
{
	return (fuse_ino_t)(uintptr_t)n;
}

struct node *node_find_locked(struct ggfs *f, dev_t dev, ino_t ino)
{
	for (size_t i = 0; i < nknown; i++)
		if (known[i]->dev == dev && known[i]->ino == ino)
			return known[i];
	return NULL;
}

struct node *node_find_name_locked(struct ggfs *f, struct node *parent, const char *name)
{
	for (size_t i = 0; i < nknown; i++)
		if (known[i]->parent == parent && known[i]->name && !strcmp(known[i]->name, name))
			return known[i];
	return NULL;
}

int node_fd(struct ggfs *f, struct node *n)
{
	pthread_mutex_lock(&f->mu);
	fd_borrows++;
	pthread_mutex_unlock(&f->mu);
	return n->fd;
}

void node_fd_put(struct ggfs *f, struct node *n)
{
	pthread_mutex_lock(&f->mu);
	fd_borrows--;
	pthread_mutex_unlock(&f->mu);
}

void fd_proc_path(int fd, char out[64])
{
	snprintf(out, 64, "/proc/self/fd/%d", fd);
}

/* ---- helpers ---- */

static size_t node_key_hash(const void *obj)
{
	const struct node *n = obj;
	return (size_t)n->ino * 31 + (size_t)n->dev;
}

/* A node of SOURCE's file rel (its O_PATH fd kept), known to the fake table. */
static struct node *add_node(struct node *parent, const char *rel, const char *name)
{
	struct node *n = xcalloc(1, sizeof *n);
	char *p = at(rel);
	n->kind = NODE_PASS;
	n->fd = open(p, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	CHECK(n->fd >= 0 && fstat(n->fd, &st) == 0);
	n->dev = st.st_dev;
	n->ino = st.st_ino;
	n->parent = parent;
	n->name = name ? xstrdup(name) : NULL;
	n->nlookup = 1;
	known[nknown++] = n;
	chaintab_insert(&fs.nodes, n);
	free(p);
	return n;
}

static void free_node(struct node *n)
{
	CHECK(n->pins == 0);
	if (n->fd >= 0)
		close(n->fd);
	free(n->name);
	free(n);
}

static void clear_rec(void)
{
	pthread_mutex_lock(&rec_mu);
	rec[0] = 0;
	rec_len = 0;
	pthread_mutex_unlock(&rec_mu);
}

static bool rec_has(const char *line)
{
	char want[600];
	snprintf(want, sizeof want, "%s\n", line);
	pthread_mutex_lock(&rec_mu);
	bool r = strstr(rec, want) != NULL;
	pthread_mutex_unlock(&rec_mu);
	return r;
}

/* How many times line was recorded. */
static int rec_count(const char *line)
{
	char want[600];
	snprintf(want, sizeof want, "%s\n", line);
	int k = 0;
	pthread_mutex_lock(&rec_mu);
	for (const char *q = rec; (q = strstr(q, want)); q++)
		if (q == rec || q[-1] == '\n')
			k++;
	pthread_mutex_unlock(&rec_mu);
	return k;
}

/* Waits up to 3 s for the watch thread to have recorded line more than
 * `more_than` times. */
static bool wait_count(const char *line, int more_than)
{
	for (int i = 0; i < 3000; i++) {
		if (rec_count(line) > more_than)
			return true;
		nanosleep(&(struct timespec){0, 1000000}, NULL);
	}
	return false;
}

static bool wait_for(const char *line)
{
	return wait_count(line, 0);
}

/* Every pin and borrowed fd given back: the watch thread records a change
 * (what wait_count sees) before it unpins the node, so wait for that. */
static bool released(void)
{
	for (int i = 0; i < 3000; i++) {
		pthread_mutex_lock(&fs.mu);
		bool all = fd_borrows == 0;
		for (size_t k = 0; k < nknown; k++)
			all = all && known[k]->pins == 0;
		pthread_mutex_unlock(&fs.mu);
		if (all)
			return true;
		nanosleep(&(struct timespec){0, 1000000}, NULL);
	}
	return false;
}

static void touch_mode(const char *rel, mode_t mode)
{
	char *p = at(rel);
	CHECK(chmod(p, mode) == 0);
	free(p);
}

static void write_file(const char *rel, const char *text)
{
	char *p = at(rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	CHECK(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	CHECK(fd >= 0 && close(fd) == 0);
	free(p);
}

/* Everything the thread was told before a chmod of the marker is recorded. */
static struct node *marker;
static void sync_thread(void)
{
	static int k;
	int before = rec_count("expire sub/marker");
	touch_mode("sub/marker", (k++ & 1) ? 0644 : 0600);
	CHECK(wait_count("expire sub/marker", before));
}

static struct node *sub, *placeholder;

static void setup(void)
{
	make_test_dir("ggtest-watch");
	CHECK(pthread_mutex_init(&fs.mu, NULL) == 0);
	fs.nodes = CHAINTAB_INIT(struct node, hlink, node_key_hash, 64);
	fs.source = dir;
	fs.timeout = 1.0;
	fs.expire_only = true;
	fs.root.kind = NODE_PASS;
	fs.root.fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	CHECK(fs.root.fd >= 0);
	known[nknown++] = &fs.root;
	char *p = at("sub");
	CHECK(mkdir(p, 0755) == 0);
	free(p);
	write_file("sub/marker", "m");
	write_file("sub/ph", "a placeholder");
	sub = add_node(&fs.root, "sub", "sub");
	marker = add_node(sub, "sub/marker", "marker");
	placeholder = add_node(sub, "sub/ph", "ph");
	placeholder->lz.is_ref = true;
	placeholder->lz.forced = true;
}

static void teardown(void)
{
	CHECK(fd_borrows == 0);
	for (size_t i = 1; i < nknown; i++)
		free_node(known[i]);
	close(fs.root.fd);
	chaintab_free(&fs.nodes);
	chaintab_free(&fs.watches);
	pthread_mutex_destroy(&fs.mu);
	CHECK(remove_tree(dir) == 0);
	free(dir);
}

/* ---- the tests ---- */

static void test_not_watched(void)
{
	/* -o timeout=0: nothing is cached, nothing watched, no thread */
	struct ggfs f = {.timeout = 0, .source = dir};
	CHECK(pthread_mutex_init(&f.mu, NULL) == 0);
	f.root = (struct node){.kind = NODE_PASS, .fd = fs.root.fd};
	watch_start(&f);
	CHECK(f.watch_fd == -1 && f.watch_wake == -1 && !f.watch_running && f.root.wd == 0);
	struct stat st = {.st_mode = S_IFREG | 0644, .st_nlink = 1};
	CHECK(pass_timeout(&f, &f.root, placeholder, &st) == 0);
	watch_stop(&f);
	CHECK(f.watch_fd == -1 && !f.watch_running);
	/* SOURCE on a filesystem another host may change (here /proc) */
	f.timeout = 1.0;
	f.source = "/proc";
	watch_start(&f);
	CHECK(f.watch_fd == -1 && !f.watch_running && f.root.wd == 0);
	CHECK(pass_timeout(&f, &f.root, placeholder, &st) == 1.0);
	watch_stop(&f);
	/* a directory may not be watched without the inotify fd */
	watch_dir_locked(&f, &f.root, f.root.fd);
	CHECK(f.root.wd == 0);
	chaintab_free(&f.watches);
	pthread_mutex_destroy(&f.mu);
}

static void test_start(void)
{
	watch_start(&fs);
	CHECK(fs.watch_fd >= 0 && fs.watch_wake >= 0 && fs.watch_running);
	CHECK(fs.root.wd > 0 && fs.watches.len == 1);
	pthread_mutex_lock(&fs.mu);
	watch_dir_locked(&fs, sub, sub->fd);
	CHECK(sub->wd > 0 && sub->wd != fs.root.wd && fs.watches.len == 2);
	/* watched already: kept as it is */
	int wd = sub->wd;
	watch_dir_locked(&fs, sub, sub->fd);
	CHECK(sub->wd == wd && fs.watches.len == 2);
	/* a second node for a directory already watched gets no entry */
	struct node twin = {.kind = NODE_PASS};
	watch_dir_locked(&fs, &twin, sub->fd);
	CHECK(twin.wd == 0 && fs.watches.len == 2);
	/* virtual directories are not watched */
	struct node virt = {.kind = NODE_BYHASH};
	watch_dir_locked(&fs, &virt, sub->fd);
	CHECK(virt.wd == 0);
	/* another filesystem inside SOURCE (NFS, here /proc): never, quietly */
	int procfd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct node proc = {.kind = NODE_PASS};
	nlogged = 0;
	watch_dir_locked(&fs, &proc, procfd);
	CHECK(proc.wd == -1 && nlogged == 0);
	/* failed once: not tried again */
	watch_dir_locked(&fs, &proc, sub->fd);
	CHECK(proc.wd == -1 && fs.watches.len == 2);
	unwatch_dir_locked(&fs, &proc);
	CHECK(proc.wd == 0);
	close(procfd);
	/* a watch the kernel refuses (here not a directory): -1, logged once
	 * with the cause */
	struct node file = {.kind = NODE_PASS}, file2 = {.kind = NODE_PASS};
	watch_dir_locked(&fs, &file, marker->fd);
	CHECK(file.wd == -1 && fs.watch_warned && nlogged == 1);
	CHECK(strstr(logged, "cannot watch a directory of SOURCE") &&
	      strstr(logged, strerror(ENOTDIR)));
	watch_dir_locked(&fs, &file2, marker->fd);
	CHECK(file2.wd == -1 && nlogged == 1);
	fs.watch_warned = false;
	pthread_mutex_unlock(&fs.mu);
}

static void test_pass_timeout(void)
{
	struct stat st = {.st_mode = S_IFREG | 0644, .st_nlink = 1};
	placeholder->long_ttl = false;
	/* getattr before any lookup gave it the long timeout: the mount's */
	CHECK(pass_timeout(&fs, NULL, placeholder, &st) == 1.0);
	CHECK(!placeholder->long_ttl);
	/* a lookup in its watched directory: long, and from now on */
	CHECK(pass_timeout(&fs, sub, placeholder, &st) == GGFS_WATCHED_TIMEOUT);
	CHECK(placeholder->long_ttl);
	CHECK(pass_timeout(&fs, NULL, placeholder, &st) == GGFS_WATCHED_TIMEOUT);
	/* a longer -o timeout stays */
	fs.timeout = 120;
	CHECK(pass_timeout(&fs, sub, placeholder, &st) == 120);
	fs.timeout = 1.0;
	/* -o timeout=0: nothing cached */
	fs.timeout = 0;
	CHECK(pass_timeout(&fs, sub, placeholder, &st) == 0);
	fs.timeout = 1.0;
	/* more than one link, a directory, no stat: changes the watch may miss */
	st.st_nlink = 2;
	CHECK(pass_timeout(&fs, sub, placeholder, &st) == 1.0);
	st.st_nlink = 1;
	st.st_mode = S_IFDIR | 0755;
	CHECK(pass_timeout(&fs, sub, placeholder, &st) == 1.0);
	st.st_mode = S_IFREG | 0644;
	CHECK(pass_timeout(&fs, sub, placeholder, NULL) == 1.0);
	/* a plain file, an unforced placeholder, a by-hash node */
	CHECK(pass_timeout(&fs, sub, marker, &st) == 1.0);
	CHECK(!marker->long_ttl);
	placeholder->lz.forced = false;
	CHECK(pass_timeout(&fs, sub, placeholder, &st) == 1.0);
	placeholder->lz.forced = true;
	placeholder->kind = NODE_OUTPUT;
	CHECK(pass_timeout(&fs, sub, placeholder, &st) == 1.0);
	placeholder->kind = NODE_PASS;
	/* a directory that is not (or no longer) watched */
	struct node unwatched = {.kind = NODE_PASS};
	CHECK(pass_timeout(&fs, &unwatched, placeholder, &st) == 1.0);
	int wd = sub->wd;
	sub->wd = -1;
	CHECK(pass_timeout(&fs, sub, placeholder, &st) == 1.0);
	CHECK(pass_timeout(&fs, NULL, placeholder, &st) == 1.0);
	sub->wd = wd;
	CHECK(pass_timeout(&fs, sub, placeholder, &st) == GGFS_WATCHED_TIMEOUT);
}

static void test_entry_cached(void)
{
	CHECK(watch_entry_cached(&fs, sub, "ph", placeholder->ino));
	CHECK(!watch_entry_cached(&fs, sub, "marker", placeholder->ino));     /* another name */
	CHECK(!watch_entry_cached(&fs, &fs.root, "ph", placeholder->ino));    /* another dir */
	CHECK(!watch_entry_cached(&fs, sub, "ph", placeholder->ino + 12345)); /* unknown */
	placeholder->nlookup = 0; /* the kernel forgot it */
	CHECK(!watch_entry_cached(&fs, sub, "ph", placeholder->ino));
	placeholder->nlookup = 1;
	placeholder->kind = NODE_OUTPUT;
	CHECK(!watch_entry_cached(&fs, sub, "ph", placeholder->ino));
	placeholder->kind = NODE_PASS;
}

static void test_events(void)
{
	clear_rec();
	/* a new file: no attributes cached to drop, but its entry expires
	 * (the kernel may hold it as missing: a negative entry) */
	char *n = at("sub/new");
	int nfd = open(n, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	CHECK(nfd >= 0);
	CHECK(wait_for("expire sub/new"));
	clear_rec();
	/* a write in place to a known file: its attributes, not its entry */
	char *p = at("sub/ph");
	int fd = open(p, O_WRONLY | O_APPEND | O_CLOEXEC);
	CHECK(fd >= 0 && write(fd, "x", 1) == 1);
	CHECK(wait_for("inode ph -1 0"));
	sync_thread();
	pthread_mutex_lock(&rec_mu);
	CHECK(!strstr(rec, "sub/ph") && !strstr(rec, "new"));
	pthread_mutex_unlock(&rec_mu);
	/* closed after writing: the entry expires too (its size, its mtime) */
	CHECK(fd >= 0 && close(fd) == 0);
	CHECK(wait_for("expire sub/ph"));
	CHECK(nfd >= 0 && close(nfd) == 0);
	CHECK(wait_for("expire sub/new"));
	free(n);
	/* a chmod: the name's entry expires and the file's attributes go */
	clear_rec();
	placeholder->long_ttl = true;
	touch_mode("sub/ph", 0600);
	CHECK(wait_for("expire sub/ph") && wait_for("inode ph -1 0"));
	/* ... and, the name's file being looked up again, no long timeout
	 * until that lookup */
	CHECK(!placeholder->long_ttl);
	/* a new hard link to a known file: its link count, and the new
	 * name's entry (it may be held as missing), not the old name's */
	clear_rec();
	char *q = at("sub/ph2");
	CHECK(link(p, q) == 0);
	CHECK(wait_for("inode ph -1 0") && wait_for("expire sub/ph2"));
	sync_thread();
	CHECK(!rec_has("expire sub/ph"));
	/* removed, renamed: both names */
	clear_rec();
	CHECK(unlink(q) == 0);
	char *r = at("sub/ph3");
	CHECK(rename(p, r) == 0);
	CHECK(wait_for("expire sub/ph2") && wait_for("expire sub/ph") &&
	      wait_for("expire sub/ph3"));
	sync_thread();
	CHECK(rename(r, p) == 0);
	CHECK(wait_count("expire sub/ph3", 1));
	sync_thread();
	free(r);
	free(q);
	/* a kernel that cannot expire: the entry is invalidated */
	clear_rec();
	pthread_mutex_lock(&fs.mu);
	fs.expire_only = false;
	pthread_mutex_unlock(&fs.mu);
	touch_mode("sub/ph", 0644);
	CHECK(wait_for("inval sub/ph") && !rec_has("expire sub/ph"));
	/* ... and a new name's is left be: no miss is cached then (ops.c),
	 * and a new directory made through the mount is not detached (events
	 * are handled in order: the chmod after it is the sync) */
	char *nd = at("sub/newdir");
	CHECK(mkdir(nd, 0755) == 0);
	touch_mode("sub/ph", 0600);
	CHECK(wait_count("inval sub/ph", 1));
	CHECK(!rec_has("inval sub/newdir") && !rec_has("expire sub/newdir"));
	CHECK(rmdir(nd) == 0);
	touch_mode("sub/ph", 0644);
	CHECK(wait_count("inval sub/ph", 2));
	free(nd);
	pthread_mutex_lock(&fs.mu);
	fs.expire_only = true;
	pthread_mutex_unlock(&fs.mu);
	/* ENOENT from the kernel (it holds no such entry) is no news; other
	 * refusals are logged with -d */
	fs.debug = 1;
	pthread_mutex_lock(&rec_mu);
	nlogged = 0;
	pthread_mutex_unlock(&rec_mu);
	set_notify_ret(-ENOENT);
	touch_mode("sub/ph", 0644);
	sync_thread();
	pthread_mutex_lock(&rec_mu);
	CHECK(nlogged == 0);
	pthread_mutex_unlock(&rec_mu);
	set_notify_ret(-EIO);
	touch_mode("sub/ph", 0600);
	sync_thread();
	set_notify_ret(0);
	pthread_mutex_lock(&rec_mu);
	CHECK(nlogged >= 2 && strstr(logged, strerror(EIO)));
	pthread_mutex_unlock(&rec_mu);
	fs.debug = 0;
	/* in the root: the root's entries */
	clear_rec();
	write_file("top", "t");
	touch_mode("top", 0600);
	CHECK(wait_for("expire ROOT/top"));
	free(p);
	/* every pin and fd borrowed is given back */
	CHECK(released());
}

static void test_unwatch(void)
{
	/* a directory removed: its watch goes with it */
	char *p = at("gone");
	CHECK(mkdir(p, 0755) == 0);
	struct node *gone = add_node(&fs.root, "gone", "gone");
	pthread_mutex_lock(&fs.mu);
	watch_dir_locked(&fs, gone, gone->fd);
	CHECK(gone->wd > 0 && fs.watches.len == 3);
	pthread_mutex_unlock(&fs.mu);
	CHECK(rmdir(p) == 0);
	CHECK(wait_for("expire ROOT/gone"));
	/* (the kernel reports it once the last reference goes: the node's fd) */
	close(gone->fd);
	gone->fd = -1;
	bool dropped = false;
	for (int i = 0; i < 3000 && !dropped; i++) {
		pthread_mutex_lock(&fs.mu);
		dropped = gone->wd == 0 && fs.watches.len == 2;
		pthread_mutex_unlock(&fs.mu);
		if (!dropped)
			nanosleep(&(struct timespec){0, 1000000}, NULL);
	}
	CHECK(dropped);
	free(p);
	/* unwatched: its changes are not reported */
	p = at("quiet");
	CHECK(mkdir(p, 0755) == 0);
	struct node *quiet = add_node(&fs.root, "quiet", "quiet");
	pthread_mutex_lock(&fs.mu);
	watch_dir_locked(&fs, quiet, quiet->fd);
	CHECK(quiet->wd > 0);
	unwatch_dir_locked(&fs, quiet);
	CHECK(quiet->wd == 0 && fs.watches.len == 2);
	pthread_mutex_unlock(&fs.mu);
	clear_rec();
	write_file("quiet/f", "q");
	touch_mode("quiet/f", 0600);
	sync_thread();
	CHECK(!strstr(rec, "/f"));
	free(p);
}

static void test_overflow(void)
{
	/* GGFS_TEST_HOLD_WATCH (read when the thread started) holds the
	 * thread while its file exists: the kernel's queue overflows */
	long max = 16384;
	FILE *f = fopen("/proc/sys/fs/inotify/max_queued_events", "r");
	if (f) {
		if (fscanf(f, "%ld", &max) != 1)
			max = 16384;
		fclose(f);
	}
	CHECK(max > 0 && max < 1000000);
	char *hold = at("hold");
	write_file("hold", "");
	nanosleep(&(struct timespec){0, 30000000}, NULL);
	clear_rec();
	pthread_mutex_lock(&rec_mu);
	nlogged = 0;
	pthread_mutex_unlock(&rec_mu);
	placeholder->long_ttl = true;
	char *a = at("sub/a"), *b = at("sub/b");
	write_file("sub/a", "a");
	write_file("sub/b", "b");
	long made = 0;
	for (long i = 0; i < max / 2 + 100; i++)
		made +=
		    (chmod(a, (i & 1) ? 0600 : 0644) == 0) + (chmod(b, (i & 1) ? 0600 : 0644) == 0);
	CHECK(made > max);
	CHECK(unlink(hold) == 0);
	/* what was cached for long is dropped: its attributes and its entry */
	CHECK(wait_for("inode ph -1 0") && wait_for("expire sub/ph"));
	pthread_mutex_lock(&rec_mu);
	CHECK(nlogged == 1 && strstr(logged, "inotify queue overflow"));
	pthread_mutex_unlock(&rec_mu);
	pthread_mutex_lock(&fs.mu);
	CHECK(fs.watch_lost);
	pthread_mutex_unlock(&fs.mu);
	/* and no long timeout any more */
	struct stat st = {.st_mode = S_IFREG | 0644, .st_nlink = 1};
	CHECK(pass_timeout(&fs, sub, placeholder, &st) == 1.0);
	CHECK(!watch_entry_cached(&fs, sub, "ph", placeholder->ino));
	/* changes are still reported */
	sync_thread();
	CHECK(released());
	free(a);
	free(b);
	free(hold);
}

static void test_stop(void)
{
	/* quiesced (before unmounting): no more notifications */
	watch_quiesce(&fs);
	clear_rec();
	touch_mode("sub/marker", 0640);
	nanosleep(&(struct timespec){0, 100000000}, NULL);
	CHECK(!rec_has("expire sub/marker"));
	watch_stop(&fs);
	CHECK(!fs.watch_running && fs.watch_fd == -1 && fs.watch_wake == -1);
	watch_stop(&fs); /* twice: nothing more */
	CHECK(!fs.watch_running && fs.watch_fd == -1);
	/* unwatching after the stop only forgets */
	pthread_mutex_lock(&fs.mu);
	unwatch_dir_locked(&fs, sub);
	CHECK(sub->wd == 0);
	pthread_mutex_unlock(&fs.mu);
}

int main(void)
{
	char *hold = NULL;
	setup();
	hold = at("hold");
	setenv("GGFS_TEST_HOLD_WATCH", hold, 1);
	test_not_watched();
	test_start();
	test_pass_timeout();
	test_entry_cached();
	test_events();
	test_unwatch();
	test_overflow();
	test_stop();
	free(hold);
	teardown();
	printf("%d passed, %d failed\n", harness_passed, harness_failed);
	return harness_failed ? 1 : 0;
}
