/**
 * @file watch.c
 * How long the kernel may cache the entry and attributes of a file of
 * SOURCE, and telling it when SOURCE changes behind the mount's back.
 *
 * Files of SOURCE get -o timeout (1 s): a change made outside the mount is
 * seen after at most that long. A forced placeholder is different: what
 * ggfs shows for it (the output's size and mode, the placeholder's inode
 * and times) changes only if the placeholder file itself changes, and
 * `gg thunk` rewrites a placeholder by renaming a new file over it. So each
 * directory of SOURCE the kernel knows is watched with inotify (renames,
 * deletions, attribute changes, writes), and a forced placeholder in a
 * watched directory is cached for GGFS_WATCHED_TIMEOUT: on a change, the
 * watch thread expires the kernel's entry for the name and invalidates the
 * file's cached attributes (FUSE_NOTIFY_INVAL_ENTRY/INODE; from this
 * thread, never from a request handler). Warm `stat`s of forced outputs
 * then cost no request. Other files keep -o timeout: for them an event
 * costs one notification, and a lookup at the next access.
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

/* Changes of a name or of a file's attributes in a watched directory. */
#define WATCH_MASK                                                                                 \
	(IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB | IN_CLOSE_WRITE | IN_ONLYDIR |       \
	 IN_EXCL_UNLINK)

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

static size_t wd_bucket(struct ggfs *fs, int wd)
{
	return ((size_t)(unsigned)wd * 0x9e3779b9u) & (fs->wtab_cap - 1);
}

static void wd_insert(struct ggfs *fs, struct node *n)
{
	if (fs->wtab_len + 1 > fs->wtab_cap / 2) {
		size_t cap = fs->wtab_cap ? fs->wtab_cap * 2 : 256;
		struct node **t = xcalloc(cap, sizeof *t);
		struct node **old = fs->wtab;
		size_t oldcap = fs->wtab_cap;
		fs->wtab = t;
		fs->wtab_cap = cap;
		for (size_t i = 0; i < oldcap; i++)
			for (struct node *m = old[i], *next; m; m = next) {
				next = m->wnext;
				size_t b = wd_bucket(fs, m->wd);
				m->wnext = t[b];
				t[b] = m;
			}
		free(old);
	}
	size_t b = wd_bucket(fs, n->wd);
	n->wnext = fs->wtab[b];
	fs->wtab[b] = n;
	fs->wtab_len++;
}

static struct node *wd_find(struct ggfs *fs, int wd)
{
	if (!fs->wtab_cap)
		return NULL;
	for (struct node *n = fs->wtab[wd_bucket(fs, wd)]; n; n = n->wnext)
		if (n->wd == wd)
			return n;
	return NULL;
}

static void wd_remove(struct ggfs *fs, struct node *n)
{
	for (struct node **pp = &fs->wtab[wd_bucket(fs, n->wd)]; *pp; pp = &(*pp)->wnext)
		if (*pp == n) {
			*pp = n->wnext;
			fs->wtab_len--;
			break;
		}
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
	wd_insert(fs, n);
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

double pass_timeout(struct ggfs *fs, struct node *dir, struct node *n)
{
	if (!fs->timeout)
		return 0;
	pthread_mutex_lock(&fs->mu);
	bool watched = fs->watch_fd >= 0 && !fs->watch_lost && (!dir || dir->wd > 0);
	bool forced = n->kind == NODE_PASS && n->lz.is_ref && n->lz.forced;
	if (dir && watched && forced)
		n->long_ttl = true; /* events for it now matter */
	bool long_ttl = watched && forced && n->long_ttl;
	pthread_mutex_unlock(&fs->mu);
	return long_ttl && fs->timeout < GGFS_WATCHED_TIMEOUT ? GGFS_WATCHED_TIMEOUT : fs->timeout;
}

/* ---- the watch thread ---- */

static void on_event(struct ggfs *fs, const struct inotify_event *ev)
{
	if (ev->mask & IN_Q_OVERFLOW) {
		pthread_mutex_lock(&fs->mu);
		bool was = fs->watch_lost;
		fs->watch_lost = true;
		pthread_mutex_unlock(&fs->mu);
		if (!was)
			ggfs_log(FUSE_LOG_WARNING,
			         "too many changes in SOURCE at once (inotify queue overflow): "
			         "forced outputs are cached for -o timeout only from now on");
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
	/*
	 * The name now means another file, or none, or its file changed: the
	 * kernel looks it up again. Expiring, unlike invalidating, never
	 * detaches what is mounted on it. This waits for lookups in progress
	 * in the directory (the kernel locks it), so none of them can leave
	 * attributes read before the change in the kernel's cache.
	 */
	int e = fs->expire_only
	            ? fuse_lowlevel_notify_expire_entry(fs->se, parent, name, strlen(name),
	                                                FUSE_LL_EXPIRE_ONLY)
	            : fuse_lowlevel_notify_inval_entry(fs->se, parent, name, strlen(name));
	if (e < 0 && e != -ENOENT) /* ENOENT: the kernel has no entry for it */
		GGFS_DEBUG(fs, "expiring the entry %s: %s", name, strerror(-e));
	if (ev->mask & (IN_ATTRIB | IN_CLOSE_WRITE)) {
		/* Rewritten in place, or chmod/touch: also for open files. */
		struct stat st;
		struct node *n = NULL;
		int dfd = node_fd(fs, dir);
		int r = dfd < 0 ? -1 : fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW);
		if (dfd >= 0)
			node_fd_put(fs, dir);
		if (r == 0) {
			pthread_mutex_lock(&fs->mu);
			n = node_find_locked(fs, st.st_dev, st.st_ino);
			if (n && n->long_ttl)
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
	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
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
