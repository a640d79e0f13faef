/**
 * @file watch.c
 * How long the kernel may cache the entry and attributes of a file of
 * SOURCE, and telling it when SOURCE changes behind the mount's back.
 *
 * Each directory of SOURCE the kernel knows is watched with inotify
 * (renames, deletions, new names, attribute and xattr changes, writes): a
 * new name expires the kernel's negative entry for it (ops.c caches a miss
 * for -o timeout), and a forced placeholder whose every change that watch
 * reports (one name; it names an immutable value, so only the file itself
 * can change) is cached for GGFS_WATCHED_TIMEOUT: on a change, the watch
 * thread expires the kernel's entry for the name and invalidates the file's
 * cached attributes (and its cached ACLs) with FUSE_NOTIFY_INVAL_ENTRY/INODE,
 * from this thread, never from a request handler. Warm `stat`s and `ls -l`
 * then cost no request (FUSE caches no xattrs but ACLs, and the mount
 * carries no SELinux label: ops.c): readdirplus leaves the names the kernel
 * holds be (node id 0), since refreshing them would drop their cached ACLs
 * too. Other files keep -o timeout (1 s): a change is seen after at most
 * that long, also one that makes no event (a write through a shared
 * mapping, or through a hard link made in a directory nobody watches); the
 * watch still tells the kernel of every change it sees, at once.
 *
 * The long timeout is only a bound for what inotify cannot see: it is not
 * used with -o timeout=0, on filesystems where another host may change
 * SOURCE (NFS, SMB, FUSE...), or after the event queue overflowed.
 */
#include "fs/ggfs.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/vfs.h>
#include <unistd.h>

/*
 * Changes of a name or of a file's attributes in a watched directory:
 * IN_MODIFY for writers that keep the file open, IN_CREATE for a new name
 * (the kernel may cache it as missing) and for a hard link made to a file
 * the kernel knows (its link count changes).
 */
#define WATCH_MASK                                                                                 \
	(IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB | IN_CLOSE_WRITE | IN_MODIFY |        \
	 IN_CREATE | IN_ONLYDIR | IN_EXCL_UNLINK)

/* Filesystems whose files change only through this host's kernel. */
static bool local_fs(long type)
{
	static const unsigned long local[] = {
	    0xEF53,     /* ext2/3/4 */
	    0x58465342, /* xfs */
	    0x9123683E, /* btrfs */
	    0x01021994, /* tmpfs */
	    0xF2F52010, /* f2fs */
	    0x794C7630, /* overlayfs */
	    0x2FC12FC1, /* zfs */
	    0xCA451A4E, /* bcachefs */
	    0x3153464A, /* jfs */
	    0x52654973, /* reiserfs */
	};
	for (size_t i = 0; i < sizeof local / sizeof local[0]; i++)
		if ((unsigned long)type == local[i])
			return true;
	return false;
}

/* ---- watch descriptor -> directory node (fs->mu held) ---- */

static size_t wd_hash(int wd)
{
	return (size_t)(unsigned)wd * 0x9e3779b9u;
}

static size_t node_wd_hash(const void *obj)
{
	return wd_hash(((const struct node *)obj)->wd);
}

static struct node *wd_find(struct ggfs *fs, int wd)
{
	for (struct node *n = chaintab_first(&fs->watches, wd_hash(wd)); n;
	     n = chaintab_next(&fs->watches, n))
		if (n->wd == wd)
			return n;
	return NULL;
}

static void wd_remove(struct ggfs *fs, struct node *n)
{
	chaintab_remove(&fs->watches, n);
	n->wd = 0;
}

void watch_dir_locked(struct ggfs *fs, struct node *n, int fd)
{
	if (fs->watch_fd < 0 || n->wd != 0 || n->kind != NODE_PASS)
		return;
	/* Another host may change what is mounted there (NFS inside SOURCE). */
	struct statfs sf;
	if (fstatfs(fd, &sf) < 0 || !local_fs(sf.f_type)) {
		n->wd = -1;
		return;
	}
	char proc[64];
	fd_proc_path(fd, proc);
	int wd = inotify_add_watch(fs->watch_fd, proc, WATCH_MASK);
	if (wd <= 0) {
		/* ENOSPC: fs.inotify.max_user_watches. Its files keep -o timeout. */
		if (!fs->watch_warned)
			ggfs_log(FUSE_LOG_WARNING,
			         "cannot watch a directory of SOURCE (%s): its forced outputs "
			         "are cached for -o timeout only",
			         strerror(errno));
		fs->watch_warned = true;
		n->wd = -1;
		return;
	}
	if (wd_find(fs, wd)) /* cannot happen: one node per directory */
		return;
	n->wd = wd;
	chaintab_insert(&fs->watches, n);
}

void unwatch_dir_locked(struct ggfs *fs, struct node *n)
{
	if (n->wd <= 0) {
		n->wd = 0;
		return;
	}
	if (fs->watch_fd >= 0)
		inotify_rm_watch(fs->watch_fd, n->wd);
	wd_remove(fs, n);
}

/* ---- timeouts ---- */

double pass_timeout(struct ggfs *fs, struct node *dir, struct node *n, const struct stat *st)
{
	if (!fs->timeout)
		return 0;
	/*
	 * Long only for a forced placeholder: it names an immutable store
	 * value, so what can change is the placeholder file itself, which the
	 * directory's watch reports while it has one name. A plain file is
	 * not: a change through a hard link made in a directory nobody watches
	 * (or through a shared mapping) makes no event, and 60 s of a stale
	 * size or mtime would misinform make; it keeps the mount's timeout.
	 */
	bool covered = st && !S_ISDIR(st->st_mode) && st->st_nlink == 1;
	pthread_mutex_lock(&fs->mu);
	/* getattr: the directory it was last found in */
	struct node *where = dir ? dir : n->parent;
	bool watched = fs->watch_fd >= 0 && !fs->watch_lost && where && where->wd > 0;
	bool forced = n->lz.is_ref && n->lz.forced;
	bool ok = n->kind == NODE_PASS && watched && covered && forced;
	if (ok && dir)
		n->long_ttl = true; /* events for it now matter, from now on */
	bool long_ttl = ok && n->long_ttl;
	pthread_mutex_unlock(&fs->mu);
	return long_ttl && fs->timeout < GGFS_WATCHED_TIMEOUT ? GGFS_WATCHED_TIMEOUT : fs->timeout;
}

bool watch_entry_cached(struct ggfs *fs, struct node *dir, const char *name, ino_t ino)
{
	pthread_mutex_lock(&fs->mu);
	struct node *n = node_find_locked(fs, dir->dev, ino);
	/* Safe for any file: attributes the kernel holds still expire by
	 * their own timeout; only the name must still lead to the same file. */
	bool r = n && n->kind == NODE_PASS && n->nlookup > 0 && !fs->watch_lost &&
	         n->parent == dir && n->name && !strcmp(n->name, name);
	pthread_mutex_unlock(&fs->mu);
	return r;
}

/* ---- the watch thread ---- */

/* Makes the kernel look name up in parent again: 0 or -errno. */
static int expire_entry(struct ggfs *fs, fuse_ino_t parent, const char *name)
{
	/* Expiring, unlike invalidating, never detaches what is mounted on it. */
	return fs->expire_only
	           ? fuse_lowlevel_notify_expire_entry(fs->se, parent, name, strlen(name),
	                                               FUSE_LL_EXPIRE_ONLY)
	           : fuse_lowlevel_notify_inval_entry(fs->se, parent, name, strlen(name));
}

/*
 * Events were lost: whatever the kernel was allowed to keep for long may be
 * stale. Drops the cached attributes of every file given the long timeout,
 * and the entry it was last found by. Later lookups get -o timeout.
 */
static void forget_long_ttls(struct ggfs *fs)
{
	struct held {
		struct node *n, *parent; /* pinned */
		char *name;
	} *v = NULL;
	size_t k = 0, cap = 0;
	pthread_mutex_lock(&fs->mu);
	for (size_t i = 0; i < fs->nodes.cap; i++)
		for (struct node *n = fs->nodes.buckets[i]; n; n = chaintab_next(&fs->nodes, n)) {
			if (!n->long_ttl)
				continue;
			ALLOC_GROW(v, k + 1, cap);
			bool named = n->parent && n->name;
			v[k].n = n;
			v[k].parent = named ? n->parent : NULL;
			v[k].name = named ? xstrdup(n->name) : NULL;
			node_pin_locked(n);
			if (named)
				node_pin_locked(n->parent);
			k++;
		}
	pthread_mutex_unlock(&fs->mu);
	for (size_t i = 0; i < k; i++) {
		fuse_lowlevel_notify_inval_inode(fs->se, node_ino(fs, v[i].n), -1, 0);
		if (v[i].parent) {
			expire_entry(fs, node_ino(fs, v[i].parent), v[i].name);
			node_unpin(fs, v[i].parent);
		}
		free(v[i].name);
		node_unpin(fs, v[i].n);
	}
	free(v);
}

static void on_event(struct ggfs *fs, const struct inotify_event *ev)
{
	if (ev->mask & IN_Q_OVERFLOW) {
		pthread_mutex_lock(&fs->mu);
		bool was = fs->watch_lost;
		fs->watch_lost = true;
		pthread_mutex_unlock(&fs->mu);
		if (!was) {
			ggfs_log(FUSE_LOG_WARNING,
			         "too many changes in SOURCE at once (inotify queue overflow): "
			         "files are cached for -o timeout only from now on");
			forget_long_ttls(fs);
		}
		return;
	}
	pthread_mutex_lock(&fs->mu);
	struct node *dir = wd_find(fs, ev->wd);
	if (dir && (ev->mask & IN_IGNORED)) /* the directory was removed */
		wd_remove(fs, dir);
	if (!dir || !ev->len || (ev->mask & IN_IGNORED) || fs->watch_stop) {
		pthread_mutex_unlock(&fs->mu);
		return;
	}
	node_pin_locked(dir);
	pthread_mutex_unlock(&fs->mu);

	const char *name = ev->name;
	fuse_ino_t parent = node_ino(fs, dir);
	/* A write, or a new name: the name still means the same file, if any. */
	bool same_name = !(ev->mask & ~(IN_MODIFY | IN_CREATE | IN_ISDIR));
	/*
	 * The name now means another file, or none, or its file changed, or
	 * it is new (the kernel may hold a negative entry for it, which no
	 * inode's invalidation reaches): the kernel looks it up again.
	 * Expiring, unlike invalidating, never detaches what is mounted on it.
	 * This waits for lookups in progress in the directory (the kernel
	 * locks it), so none of them can leave attributes read before the
	 * change, or a miss, in the kernel's cache. A name made through the
	 * mount is expired too (one more lookup of it): its event does not
	 * tell who made it. Misses are cached only where entries can be
	 * expired (ops.c), never invalidated (which would detach it).
	 */
	bool created = (ev->mask & IN_CREATE) && fs->expire_only;
	int e = same_name && !created ? 0 : expire_entry(fs, parent, name);
	if (e < 0 && e != -ENOENT) /* ENOENT: the kernel has no entry for it */
		GGFS_DEBUG(fs, "expiring the entry %s: %s", name, strerror(-e));
	if (!same_name) {
		/* The file the name led to (removed, moved away or replaced)
		 * may still be open through the mount: its link count and, if
		 * its fd is gone, its being stale are not what the kernel holds. */
		pthread_mutex_lock(&fs->mu);
		struct node *old = node_find_name_locked(fs, dir, name);
		if (old && old->kind == NODE_PASS) {
			/* no longer found by that name: no long timeout until
			 * looked up again (a getattr through an open fd would
			 * otherwise take the old, watched directory's word) */
			old->long_ttl = false;
			node_pin_locked(old);
		} else {
			old = NULL;
		}
		pthread_mutex_unlock(&fs->mu);
		if (old) {
			e = fuse_lowlevel_notify_inval_inode(fs->se, node_ino(fs, old), -1, 0);
			if (e < 0 && e != -ENOENT)
				GGFS_DEBUG(fs, "invalidating %s: %s", name, strerror(-e));
			node_unpin(fs, old);
		}
	}
	if (ev->mask & (IN_ATTRIB | IN_CLOSE_WRITE | IN_MODIFY | IN_CREATE)) {
		/* Rewritten in place, written, chmod/touch/setxattr, or a new
		 * hard link (its link count): also for open files. */
		struct stat st;
		struct node *n = NULL;
		int dfd = node_fd(fs, dir);
		int r = dfd < 0 ? -1 : fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW);
		if (dfd >= 0)
			node_fd_put(fs, dir);
		/* A file just made has no cached attributes to drop. */
		if (r == 0 && (ev->mask & IN_CREATE) && (S_ISDIR(st.st_mode) || st.st_nlink < 2))
			r = -1;
		if (r == 0) {
			pthread_mutex_lock(&fs->mu);
			n = node_find_locked(fs, st.st_dev, st.st_ino);
			if (n && n->kind == NODE_PASS)
				node_pin_locked(n);
			else
				n = NULL;
			pthread_mutex_unlock(&fs->mu);
		}
		if (n) {
			e = fuse_lowlevel_notify_inval_inode(fs->se, node_ino(fs, n), -1, 0);
			if (e < 0 && e != -ENOENT)
				GGFS_DEBUG(fs, "invalidating %s: %s", name, strerror(-e));
			node_unpin(fs, n);
		}
	}
	node_unpin(fs, dir);
}

static void *watch_main(void *arg)
{
	struct ggfs *fs = arg;
	char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
	struct pollfd p[2] = {{.fd = fs->watch_fd, .events = POLLIN},
	                      {.fd = fs->watch_wake, .events = POLLIN}};
	/* A switch for tests: no event is read while this file exists, so that
	 * a test can make the kernel's queue overflow for real. */
	const char *hold = getenv("GGFS_TEST_HOLD_WATCH");
	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		if (hold && *hold && access(hold, F_OK) == 0) {
			(void)poll(&p[1], 1, 10); /* held: wake up to stop, or look again */
			continue;
		}
		ssize_t k = read(fs->watch_fd, buf, sizeof buf);
		if (k <= 0) {
			if (k < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			break;
		}
		for (char *q = buf; q < buf + k;) {
			const struct inotify_event *ev = (const void *)q;
			on_event(fs, ev);
			q += sizeof *ev + ev->len;
		}
	}
	return NULL;
}

void watch_start(struct ggfs *fs)
{
	fs->watch_fd = fs->watch_wake = -1;
	fs->watches = CHAINTAB_INIT(struct node, wlink, node_wd_hash, 256);
	struct statfs sf;
	if (!fs->timeout || statfs(fs->source, &sf) < 0 || !local_fs(sf.f_type)) {
		/* Nothing would be watched: no thread. */
		GGFS_DEBUG(fs, "SOURCE is not watched: forced outputs are cached for -o timeout");
		return;
	}
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	int wake = eventfd(0, EFD_CLOEXEC);
	if (fd < 0 || wake < 0) {
		ggfs_log(FUSE_LOG_WARNING, "cannot watch SOURCE: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		if (wake >= 0)
			close(wake);
		return;
	}
	pthread_mutex_lock(&fs->mu);
	fs->watch_fd = fd;
	fs->watch_wake = wake;
	watch_dir_locked(fs, &fs->root, fs->root.fd);
	pthread_mutex_unlock(&fs->mu);
	if (pthread_create(&fs->watch_thread, NULL, watch_main, fs) != 0) {
		ggfs_log(FUSE_LOG_WARNING, "cannot watch SOURCE: no thread");
		pthread_mutex_lock(&fs->mu);
		fs->watch_lost = true;
		pthread_mutex_unlock(&fs->mu);
		return;
	}
	fs->watch_running = true;
}

void watch_quiesce(struct ggfs *fs)
{
	pthread_mutex_lock(&fs->mu);
	fs->watch_stop = true;
	pthread_mutex_unlock(&fs->mu);
}

void watch_stop(struct ggfs *fs)
{
	watch_quiesce(fs);
	if (fs->watch_running) {
		uint64_t one = 1;
		if (write(fs->watch_wake, &one, sizeof one) < 0)
			ggfs_log(FUSE_LOG_WARNING, "cannot stop the watch thread: %s",
			         strerror(errno));
		pthread_join(fs->watch_thread, NULL);
		fs->watch_running = false;
	}
	pthread_mutex_lock(&fs->mu);
	if (fs->watch_fd >= 0)
		close(fs->watch_fd); /* removes every watch */
	if (fs->watch_wake >= 0)
		close(fs->watch_wake);
	fs->watch_fd = fs->watch_wake = -1;
	pthread_mutex_unlock(&fs->mu);
}
