/**
 * @file node.c
 * The inode table of ggfs: one struct node per file the kernel knows, found
 * by the underlying file's (dev, ino) as in passthrough_ll, but in a hash
 * table (a linked list makes `ls -l` of 10,000 files quadratic). A node
 * lives while the kernel's lookup count or ggfs's own pins are non-zero.
 * It does not classify placeholders (lazy.c) or build attributes (ops.c).
 *
 * Handles, not fds: a node keeps the name it was last found by in its
 * parent directory, and its O_PATH fd is only a cache, closed least
 * recently used first to stay within RLIMIT_NOFILE, and reopened by that
 * path (checked to be the same (dev, ino)) when next needed. Renames
 * through the mount and every lookup keep the path current, so a tree of
 * any size works under a 1,024-fd limit. A file whose last name is removed
 * through the mount keeps its fd (nothing could reopen it).
 */
#include "fs/ggfs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static size_t key_hash(dev_t dev, ino_t ino)
{
	uint64_t h = (uint64_t)ino * UINT64_C(0x9e3779b97f4a7c15) ^
	             (uint64_t)dev * UINT64_C(0xc2b2ae3d27d4eb4f);
	return (size_t)(h ^ (h >> 29));
}

ino_t virt_ino(const char *s)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * UINT64_C(0x100000001b3);
	/* The top bit keeps synthetic numbers clear of real filesystems' inodes,
	 * so find/tar/du never mistake a virtual file for a hard link. */
	return (ino_t)(h | (UINT64_C(1) << 63));
}

static size_t node_key_hash(const void *obj)
{
	const struct node *n = obj;
	return key_hash(n->dev, n->ino);
}

/* The name index: (directory, name) -> the node last found by that name. */
static size_t name_hash(const struct node *dir, const char *name)
{
	uint64_t h = (uint64_t)(uintptr_t)dir * UINT64_C(0x9e3779b97f4a7c15);
	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * UINT64_C(0x100000001b3);
	return (size_t)(h ^ (h >> 29));
}

static size_t node_name_hash(const void *obj)
{
	const struct node *n = obj;
	return name_hash(n->parent, n->name);
}

/* fs->mu held. n->parent and n->name are set. */
static void names_insert(struct ggfs *fs, struct node *n)
{
	chaintab_insert(&fs->names, n);
}

/* fs->mu held. */
static void names_remove(struct ggfs *fs, struct node *n)
{
	if (n->parent && n->name)
		chaintab_remove(&fs->names, n);
}

struct node *node_find_name_locked(struct ggfs *fs, struct node *dir, const char *name)
{
	for (struct node *n = chaintab_first(&fs->names, name_hash(dir, name)); n;
	     n = chaintab_next(&fs->names, n))
		if (n->parent == dir && !strcmp(n->name, name))
			return n;
	return NULL;
}

/* fs->mu held. A virtual node matches on its reference too (hash collisions). */
static struct node *table_find(struct ggfs *fs, dev_t dev, ino_t ino, const char *ref_str)
{
	for (struct node *n = chaintab_first(&fs->nodes, key_hash(dev, ino)); n;
	     n = chaintab_next(&fs->nodes, n))
		if (n->dev == dev && n->ino == ino &&
		    (!ref_str || (n->lz.ref_str && !strcmp(n->lz.ref_str, ref_str))))
			return n;
	return NULL;
}

void nodes_init(struct ggfs *fs, int root_fd)
{
	memset(&fs->root, 0, sizeof fs->root);
	fs->root.kind = NODE_PASS;
	fs->root.fd = root_fd;
	fs->root.nlookup = 2; /* never forgotten */
	fs->root.pins = 1;
	fs->fd_cap = 1024;
	fs->nodes = CHAINTAB_INIT(struct node, hlink, node_key_hash, 1024);
	fs->names = CHAINTAB_INIT(struct node, nlink, node_name_hash, 1024);
}

/* Fewer than this and every lookup would reopen a path. */
#define GGFS_MIN_FDS 16

void nodes_set_fd_budget(struct ggfs *fs)
{
	/* Half the limit: the rest is for open files, /dev/fuse clones (one per
	 * FUSE thread), the store and the engines. */
	struct rlimit rl;
	size_t cap = 1024;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		cap = (size_t)rl.rlim_cur / 2;
	if (cap > 262144)
		cap = 262144;
	if (cap < GGFS_MIN_FDS)
		cap = GGFS_MIN_FDS;
	pthread_mutex_lock(&fs->mu);
	fs->fd_cap = cap;
	pthread_mutex_unlock(&fs->mu);
}

/* ---- the fd cache (fs->mu held) ---- */

static void lru_unlink(struct ggfs *fs, struct node *n)
{
	if (!n->lru_prev && fs->lru_head != n)
		return; /* not in the list (a kept fd) */
	if (n->lru_prev)
		n->lru_prev->lru_next = n->lru_next;
	else
		fs->lru_head = n->lru_next;
	if (n->lru_next)
		n->lru_next->lru_prev = n->lru_prev;
	else
		fs->lru_tail = n->lru_prev;
	n->lru_prev = n->lru_next = NULL;
}

/* Most recently used at the head. */
static void lru_push(struct ggfs *fs, struct node *n)
{
	n->lru_prev = NULL;
	n->lru_next = fs->lru_head;
	if (fs->lru_head)
		fs->lru_head->lru_prev = n;
	else
		fs->lru_tail = n;
	fs->lru_head = n;
}

/* Makes fd the node's open fd (it had none). A kept fd is never closed to
 * stay within the budget: it is not in the list. */
static void fd_adopt(struct ggfs *fs, struct node *n, int fd)
{
	n->fd = fd;
	fs->nfds++;
	if (!n->fd_keep)
		lru_push(fs, n);
}

static void fd_drop(struct ggfs *fs, struct node *n)
{
	lru_unlink(fs, n);
	close(n->fd);
	n->fd = -1;
	fs->nfds--;
}

/* Closes least recently used fds nobody borrows until at most `keep` are open. */
static size_t shed_to(struct ggfs *fs, size_t keep)
{
	size_t closed = 0;
	struct node *n = fs->lru_tail;
	while (n && fs->nfds > keep) {
		struct node *prev = n->lru_prev;
		if (!n->fd_users && !n->fd_keep && n->parent) {
			fd_drop(fs, n);
			closed++;
		}
		n = prev;
	}
	return closed;
}

bool nodes_shed(struct ggfs *fs, int err)
{
	if (err != EMFILE && err != ENFILE)
		return false;
	/* The limit is lower than the budget assumed (prlimit on a running
	 * daemon, many open files): keep half of what is open now, and at most
	 * half the limit as it is now (a free fd number must be below it). */
	struct rlimit rl;
	size_t lim = SIZE_MAX;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		lim = (size_t)rl.rlim_cur / 2;
	pthread_mutex_lock(&fs->mu);
	size_t keep = fs->nfds / 2 < lim ? fs->nfds / 2 : lim;
	if (keep < GGFS_MIN_FDS)
		keep = GGFS_MIN_FDS;
	bool warn = !fs->fd_cap_warned;
	fs->fd_cap_warned = true;
	if (keep < fs->fd_cap)
		fs->fd_cap = keep;
	size_t closed = shed_to(fs, keep);
	size_t cap = fs->fd_cap;
	pthread_mutex_unlock(&fs->mu);
	if (warn)
		ggfs_log(FUSE_LOG_WARNING,
		         "the fd limit was reached (%s): keeping at most %zu files open "
		         "for inodes from now on",
		         strerror(err), cap);
	return closed > 0;
}

/* Sets the path of n (fs->mu held): pins the new parent, unpins the old. */
static void set_path_locked(struct ggfs *fs, struct node *n, struct node *dir, const char *name)
{
	if (n->parent == dir && n->name && !strcmp(n->name, name))
		return;
	struct node *old = n->parent;
	node_pin_locked(dir);
	names_remove(fs, n);
	free(n->name);
	n->parent = dir;
	n->name = xstrdup(name);
	names_insert(fs, n);
	if (old)
		node_unpin_locked(fs, old);
}

static void node_free(struct node *n)
{
	if (n->fd >= 0)
		close(n->fd);
	lazy_free(&n->lz);
	free(n->writers);
	free(n->name);
	free(n);
}

/* fs->mu held. Frees n if nothing holds it; unpins its parent. */
static void maybe_free(struct ggfs *fs, struct node *n)
{
	if (n->nlookup || n->pins || n == &fs->root)
		return;
	chaintab_remove(&fs->nodes, n);
	names_remove(fs, n);
	unwatch_dir_locked(fs, n);
	if (n->fd >= 0)
		fd_drop(fs, n);
	struct node *parent = n->parent;
	node_free(n);
	if (parent)
		node_unpin_locked(fs, parent);
}

void nodes_free_all(struct ggfs *fs)
{
	pthread_mutex_lock(&fs->mu);
	for (size_t i = 0; i < fs->nodes.cap; i++)
		for (struct node *n = fs->nodes.buckets[i], *next; n; n = next) {
			next = chaintab_next(&fs->nodes, n);
			node_free(n);
		}
	chaintab_free(&fs->nodes);
	chaintab_free(&fs->names);
	chaintab_free(&fs->watches);
	lazy_free(&fs->root.lz);
	fs->lru_head = fs->lru_tail = NULL;
	fs->nfds = 0;
	pthread_mutex_unlock(&fs->mu);
}

struct node *node_of(struct ggfs *fs, fuse_ino_t ino)
{
	return ino == FUSE_ROOT_ID ? &fs->root : (struct node *)(uintptr_t)ino;
}

fuse_ino_t node_ino(struct ggfs *fs, const struct node *n)
{
	return n == &fs->root ? FUSE_ROOT_ID : (fuse_ino_t)(uintptr_t)n;
}

struct node *node_get_pass(struct ggfs *fs, struct node *dir, const char *name, int fd,
                           const struct stat *st)
{
	pthread_mutex_lock(&fs->mu);
	struct node *n = table_find(fs, st->st_dev, st->st_ino, NULL);
	if (!n && st->st_dev == fs->root.dev && st->st_ino == fs->root.ino)
		n = &fs->root;
	if (n) {
		n->nlookup++;
		if (n != &fs->root && dir) {
			set_path_locked(fs, n, dir, name);
			if (n->fd_keep && n->fd >= 0 && n->parent) {
				/* Found by a name again (another link): evictable. */
				n->fd_keep = false;
				lru_push(fs, n);
			}
		}
		if (n->fd < 0) {
			fd_adopt(fs, n, fd);
			fd = -1;
		} else if (n->fd_users == 0 && n != &fs->root) {
			lru_unlink(fs, n);
			lru_push(fs, n);
		}
		shed_to(fs, fs->fd_cap);
		pthread_mutex_unlock(&fs->mu);
		if (fd >= 0)
			close(fd);
		return n;
	}
	n = xcalloc(1, sizeof *n);
	n->kind = NODE_PASS;
	n->fd = -1;
	n->dev = st->st_dev;
	n->ino = st->st_ino;
	n->nlookup = 1;
	chaintab_insert(&fs->nodes, n);
	if (dir)
		set_path_locked(fs, n, dir, name);
	else
		n->fd_keep = true; /* found by ".." only: no path to reopen it by */
	fd_adopt(fs, n, fd);
	if (S_ISDIR(st->st_mode))
		watch_dir_locked(fs, n, fd);
	shed_to(fs, fs->fd_cap);
	pthread_mutex_unlock(&fs->mu);
	return n;
}

int node_fd(struct ggfs *fs, struct node *n)
{
	pthread_mutex_lock(&fs->mu);
	if (n->fd >= 0) {
		int fd = n->fd; /* stays open while borrowed */
		n->fd_users++;
		if (n != &fs->root && !n->fd_keep) {
			lru_unlink(fs, n);
			lru_push(fs, n);
		}
		pthread_mutex_unlock(&fs->mu);
		return fd;
	}
	struct node *dir = n->parent;
	if (n->kind != NODE_PASS || !dir) {
		pthread_mutex_unlock(&fs->mu);
		return -ESTALE;
	}
	node_pin_locked(dir);
	char *name = xstrdup(n->name);
	pthread_mutex_unlock(&fs->mu);

	/* Reopen by path, outside the lock (the parent may need reopening too). */
	int fd = -1, err = 0;
	int dfd = node_fd(fs, dir);
	if (dfd < 0) {
		err = -dfd;
	} else {
		fd = openat(dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && nodes_shed(fs, errno))
			fd = openat(dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		err = fd < 0 ? errno : 0;
		node_fd_put(fs, dir);
	}
	struct stat st;
	if (fd >= 0) {
		if (fstat(fd, &st) < 0) {
			err = errno;
		} else if (st.st_dev != n->dev || st.st_ino != n->ino) {
			GGFS_DEBUG(fs, "inode %llu: %s now names another file",
			           (unsigned long long)n->ino, name);
			err = ESTALE;
		}
		if (err) {
			close(fd);
			fd = -1;
		}
	}
	/* Removed or replaced behind the mount's back: this inode is gone. */
	if (err == ENOENT || err == ENOTDIR)
		err = ESTALE;
	free(name);
	pthread_mutex_lock(&fs->mu);
	if (fd >= 0) {
		if (n->fd >= 0) { /* another thread reopened it meanwhile */
			close(fd);
		} else {
			fd_adopt(fs, n, fd);
		}
		n->fd_users++;
		fd = n->fd;
		shed_to(fs, fs->fd_cap);
	}
	node_unpin_locked(fs, dir);
	pthread_mutex_unlock(&fs->mu);
	return fd >= 0 ? fd : -err;
}

void node_fd_put(struct ggfs *fs, struct node *n)
{
	pthread_mutex_lock(&fs->mu);
	n->fd_users--;
	pthread_mutex_unlock(&fs->mu);
}

int node_fstat(struct ggfs *fs, struct node *n, struct stat *st)
{
	int fd = node_fd(fs, n);
	if (fd < 0)
		return -fd;
	int r = fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
	int err = r < 0 ? errno : 0;
	node_fd_put(fs, n);
	return err;
}

void node_moved(struct ggfs *fs, dev_t dev, ino_t ino, struct node *newdir, const char *newname)
{
	pthread_mutex_lock(&fs->mu);
	struct node *n = table_find(fs, dev, ino, NULL);
	if (n && n->parent)
		set_path_locked(fs, n, newdir, newname);
	pthread_mutex_unlock(&fs->mu);
}

void node_unlinking(struct ggfs *fs, struct node *dir, int dirfd, const char *name)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	pthread_mutex_lock(&fs->mu);
	struct node *n = table_find(fs, st.st_dev, st.st_ino, NULL);
	/* Its last name, or the name it would be reopened by (another link
	 * may remain, but which one is unknown until it is looked up again). */
	bool last = S_ISDIR(st.st_mode) || st.st_nlink <= 1;
	if (n && (last || (n->parent == dir && n->name && !strcmp(n->name, name))))
		node_pin_locked(n);
	else
		n = NULL;
	pthread_mutex_unlock(&fs->mu);
	if (!n)
		return;
	int fd = node_fd(fs, n);
	pthread_mutex_lock(&fs->mu);
	if (fd >= 0) {
		if (!n->fd_keep)
			lru_unlink(fs, n);
		n->fd_keep = true;
		n->fd_users--;
	}
	node_unpin_locked(fs, n);
	pthread_mutex_unlock(&fs->mu);
}

struct node *node_find_locked(struct ggfs *fs, dev_t dev, ino_t ino)
{
	return table_find(fs, dev, ino, NULL);
}

struct node *node_get_virtual(struct ggfs *fs, enum node_kind kind, const struct gg_ref *ref)
{
	char *s = gg_ref_format(ref);
	ino_t ino = virt_ino(s);
	pthread_mutex_lock(&fs->mu);
	struct node *n = table_find(fs, GGFS_VIRT_DEV, ino, s);
	if (n) {
		n->nlookup++;
		pthread_mutex_unlock(&fs->mu);
		free(s);
		return n;
	}
	n = xcalloc(1, sizeof *n);
	n->kind = kind;
	n->fd = -1;
	n->dev = GGFS_VIRT_DEV;
	n->ino = ino;
	n->nlookup = 1;
	n->lz.is_ref = kind == NODE_OUTPUT;
	gg_ref_copy(&n->lz.ref, ref);
	n->lz.ref_str = s;
	chaintab_insert(&fs->nodes, n);
	pthread_mutex_unlock(&fs->mu);
	return n;
}

struct node *node_new_dir(struct ggfs *fs, enum node_kind kind, ino_t ino)
{
	struct node *n = xcalloc(1, sizeof *n);
	n->kind = kind;
	n->fd = -1;
	n->dev = GGFS_VIRT_DEV;
	n->ino = ino;
	n->pins = 1;
	pthread_mutex_lock(&fs->mu);
	chaintab_insert(&fs->nodes, n);
	pthread_mutex_unlock(&fs->mu);
	return n;
}

void node_ref_lookup(struct ggfs *fs, struct node *n)
{
	pthread_mutex_lock(&fs->mu);
	n->nlookup++;
	pthread_mutex_unlock(&fs->mu);
}

void node_forget(struct ggfs *fs, struct node *n, uint64_t nlookup)
{
	pthread_mutex_lock(&fs->mu);
	n->nlookup = n->nlookup >= nlookup ? n->nlookup - nlookup : 0;
	maybe_free(fs, n);
	pthread_mutex_unlock(&fs->mu);
}

void node_pin_locked(struct node *n)
{
	n->pins++;
}

void node_unpin_locked(struct ggfs *fs, struct node *n)
{
	n->pins--;
	maybe_free(fs, n);
}

void node_unpin(struct ggfs *fs, struct node *n)
{
	pthread_mutex_lock(&fs->mu);
	node_unpin_locked(fs, n);
	pthread_mutex_unlock(&fs->mu);
}

void fd_proc_path(int fd, char out[64])
{
	snprintf(out, 64, "/proc/self/fd/%d", fd);
}

char *node_display_path(struct ggfs *fs, const struct node *n)
{
	if (n->kind == NODE_OBJECT || n->kind == NODE_OUTPUT)
		return xasprintf("%s/.gg/by-hash/%s", fs->mountpoint, n->lz.ref_str);
	if (n->kind != NODE_PASS)
		return xasprintf("%s/.gg", fs->mountpoint);
	char proc[64], target[PATH_MAX];
	int fd = node_fd(fs, (struct node *)n);
	ssize_t k = -1;
	if (fd >= 0) {
		fd_proc_path(fd, proc);
		k = readlink(proc, target, sizeof target - 1);
		node_fd_put(fs, (struct node *)n);
	}
	if (k < 0)
		return xasprintf("%s/(inode %llu)", fs->mountpoint, (unsigned long long)n->ino);
	target[k] = 0;
	size_t sl = strlen(fs->source);
	if (!strncmp(target, fs->source, sl) && (target[sl] == '/' || target[sl] == 0))
		return xasprintf("%s%s", fs->mountpoint, target + sl);
	return xstrdup(target);
}
