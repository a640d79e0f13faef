/**
 * @file node.c
 * The inode table of ggfs: one struct node per file the kernel knows, found
 * by the underlying file's (dev, ino) as in passthrough_ll, but in a hash
 * table (a linked list makes `ls -l` of 10,000 files quadratic). A node
 * lives while the kernel's lookup count or ggfs's own pins are non-zero.
 * It does not classify placeholders (lazy.c) or build attributes (ops.c).
 */
#include "ggfs.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* fs->mu held. */
static void table_insert(struct ggfs *fs, struct node *n)
{
	if (fs->table_len + 1 > fs->table_cap / 2) {
		size_t cap = fs->table_cap ? fs->table_cap * 2 : 1024;
		struct node **t = xcalloc(cap, sizeof *t);
		for (size_t i = 0; i < fs->table_cap; i++) {
			struct node *m = fs->table[i], *next;
			for (; m; m = next) {
				next = m->hnext;
				size_t b = key_hash(m->dev, m->ino) & (cap - 1);
				m->hnext = t[b];
				t[b] = m;
			}
		}
		free(fs->table);
		fs->table = t;
		fs->table_cap = cap;
	}
	size_t b = key_hash(n->dev, n->ino) & (fs->table_cap - 1);
	n->hnext = fs->table[b];
	fs->table[b] = n;
	fs->table_len++;
}

/* fs->mu held. */
static void table_remove(struct ggfs *fs, struct node *n)
{
	size_t b = key_hash(n->dev, n->ino) & (fs->table_cap - 1);
	for (struct node **pp = &fs->table[b]; *pp; pp = &(*pp)->hnext)
		if (*pp == n) {
			*pp = n->hnext;
			fs->table_len--;
			return;
		}
}

/* fs->mu held. A virtual node matches on its reference too (hash collisions). */
static struct node *table_find(struct ggfs *fs, dev_t dev, ino_t ino, const char *ref_str)
{
	if (!fs->table_cap)
		return NULL;
	size_t b = key_hash(dev, ino) & (fs->table_cap - 1);
	for (struct node *n = fs->table[b]; n; n = n->hnext)
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
}

static void node_free(struct node *n)
{
	if (n->fd >= 0)
		close(n->fd);
	lazy_free(&n->lz);
	free(n);
}

/* fs->mu held. */
static void maybe_free(struct ggfs *fs, struct node *n)
{
	if (n->nlookup || n->pins || n == &fs->root)
		return;
	table_remove(fs, n);
	unwatch_dir_locked(fs, n);
	node_free(n);
}

void nodes_free_all(struct ggfs *fs)
{
	pthread_mutex_lock(&fs->mu);
	for (size_t i = 0; i < fs->table_cap; i++) {
		struct node *n = fs->table[i], *next;
		for (; n; n = next) {
			next = n->hnext;
			node_free(n);
		}
	}
	free(fs->table);
	fs->table = NULL;
	fs->table_cap = fs->table_len = 0;
	free(fs->wtab);
	fs->wtab = NULL;
	fs->wtab_cap = fs->wtab_len = 0;
	lazy_free(&fs->root.lz);
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

struct node *node_get_pass(struct ggfs *fs, int fd, const struct stat *st)
{
	pthread_mutex_lock(&fs->mu);
	struct node *n = table_find(fs, st->st_dev, st->st_ino, NULL);
	if (!n && st->st_dev == fs->root.dev && st->st_ino == fs->root.ino)
		n = &fs->root;
	if (n) {
		n->nlookup++;
		pthread_mutex_unlock(&fs->mu);
		close(fd);
		return n;
	}
	n = xcalloc(1, sizeof *n);
	n->kind = NODE_PASS;
	n->fd = fd;
	n->dev = st->st_dev;
	n->ino = st->st_ino;
	n->nlookup = 1;
	table_insert(fs, n);
	if (S_ISDIR(st->st_mode))
		watch_dir_locked(fs, n);
	pthread_mutex_unlock(&fs->mu);
	return n;
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
	table_insert(fs, n);
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
	table_insert(fs, n);
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

void node_proc_path(const struct node *n, char out[64])
{
	snprintf(out, 64, "/proc/self/fd/%d", n->fd);
}

char *node_display_path(struct ggfs *fs, const struct node *n)
{
	if (n->kind == NODE_OBJECT || n->kind == NODE_OUTPUT)
		return xasprintf("%s/.gg/by-hash/%s", fs->mountpoint, n->lz.ref_str);
	if (n->kind != NODE_PASS)
		return xasprintf("%s/.gg", fs->mountpoint);
	char proc[64], target[PATH_MAX];
	node_proc_path(n, proc);
	ssize_t k = readlink(proc, target, sizeof target - 1);
	if (k < 0)
		return xasprintf("%s/(inode %llu)", fs->mountpoint, (unsigned long long)n->ino);
	target[k] = 0;
	size_t sl = strlen(fs->source);
	if (!strncmp(target, fs->source, sl) && (target[sl] == '/' || target[sl] == 0))
		return xasprintf("%s%s", fs->mountpoint, target + sl);
	return xstrdup(target);
}
