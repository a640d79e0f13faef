/**
 * @file byhash.c
 * The content-addressed namespace MOUNT/.gg/by-hash/: looking up NAME (a
 * value, or a thunk, whose encoding is shown) or THUNK#OUTPUT (forced when
 * opened, like a placeholder) makes a file appear. Nothing is listed: the
 * namespace is infinite and evaluated lazily, so readdir shows . and .. only.
 * Outputs whose path contains '/' cannot be named here (a lookup is one
 * path component). Attributes never change, so the kernel may cache them
 * for an hour; inode numbers are derived from the name.
 */
#include "fs/ggfs.h"

#include "core/thunk.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Does the stored thunk declare this output? */
static bool thunk_declares(struct ggfs *fs, const struct gg_ref *ref)
{
	struct buf b = BUF_INIT;
	struct thunk t;
	bool r = false;
	if (store_read(fs->store, &ref->name, &b, THUNK_MAX_SIZE) == 0 &&
	    thunk_parse(b.data, b.len, &t) == 0) {
		r = thunk_has_output(&t, ref->output);
		thunk_free(&t);
	}
	buf_free(&b);
	return r;
}

static int byhash_lookup(struct ggfs *fs, const char *name, struct node **out)
{
	struct gg_ref ref;
	if (gg_ref_parse(name, strlen(name), &ref) < 0)
		return ENOENT;
	int err = 0;
	if (store_known(fs->store, &ref.name) != 1)
		err = ENOENT; /* a value recorded as remote is fetched when read */
	else if (ref.output && !thunk_declares(fs, &ref))
		err = ENOENT;
	if (!err)
		*out = node_get_virtual(fs, ref.output ? NODE_OUTPUT : NODE_OBJECT, &ref);
	gg_ref_free(&ref);
	return err;
}

int virt_lookup(struct ggfs *fs, struct node *parent, const char *name, struct fuse_entry_param *e)
{
	struct node *n = NULL;
	int err = 0;
	if (parent == &fs->root && !strcmp(name, ".gg")) {
		n = fs->ggdir;
		node_ref_lookup(fs, n);
	} else if (parent->kind == NODE_GGDIR && !strcmp(name, "by-hash")) {
		n = fs->byhash;
		node_ref_lookup(fs, n);
	} else if (parent->kind == NODE_BYHASH) {
		err = byhash_lookup(fs, name, &n);
	} else {
		err = ENOENT;
	}
	if (err)
		return err;
	memset(e, 0, sizeof *e);
	e->ino = node_ino(fs, n);
	virt_attr(fs, n, &e->attr);
	e->attr_timeout = e->entry_timeout = node_timeout(fs, n, NULL);
	return 0;
}

void virt_attr(struct ggfs *fs, struct node *n, struct stat *st)
{
	memset(st, 0, sizeof *st);
	st->st_ino = n->ino;
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_blksize = 4096;
	/* A constant time: content-addressed files are older than anything built
	 * from them, and stay so. */
	st->st_atim.tv_sec = st->st_mtim.tv_sec = st->st_ctim.tv_sec = 1;
	switch (n->kind) {
	case NODE_GGDIR:
		st->st_mode = S_IFDIR | 0555;
		st->st_nlink = 2;
		break;
	case NODE_BYHASH:
		/* With allow_other, only who may read the store itself reads its
		 * objects through the mount: the mount's owner (and root), and
		 * the group of a shared store. */
		st->st_mode = S_IFDIR | (fs->byhash_group ? 0550 : 0500);
		if (fs->byhash_group)
			st->st_gid = fs->byhash_gid;
		st->st_nlink = 2;
		break;
	case NODE_OBJECT:
		st->st_mode = S_IFREG | 0444;
		st->st_nlink = 1;
		st->st_size = (off_t)gg_name_size(&n->lz.ref.name);
		break;
	case NODE_OUTPUT:
		st->st_mode = S_IFREG | 0444;
		st->st_nlink = 1;
		lazy_adjust_attr(fs, n, st); /* the size once forced, else 0 */
		break;
	case NODE_PASS: break;
	}
	st->st_blocks = (st->st_size + 511) / 512;
}

double node_timeout(struct ggfs *fs, struct node *n, const struct stat *st)
{
	switch (n->kind) {
	case NODE_PASS: return pass_timeout(fs, NULL, n, st);
	case NODE_OUTPUT:
		/* Unforced, its size will change: the done thread invalidates it,
		 * but a memo filled by another process would not. */
		return lazy_is_forced(fs, n) ? GGFS_IMMUTABLE_TIMEOUT : fs->timeout;
	default: return GGFS_IMMUTABLE_TIMEOUT;
	}
}

/* Entries of the virtual directories after . and .. (index from 2). */
static const char *virt_child(struct node *dir, off_t i)
{
	return dir->kind == NODE_GGDIR && i == 2 ? "by-hash" : NULL;
}

void virt_readdir(struct ggfs *fs, fuse_req_t req, struct node *dir, size_t size, off_t off,
                  bool plus)
{
	char *buf = xcalloc(1, size);
	size_t used = 0;
	for (off_t i = off;; i++) {
		const char *name = i == 0 ? "." : i == 1 ? ".." : virt_child(dir, i);
		if (!name)
			break;
		size_t k;
		if (plus) {
			struct fuse_entry_param e = {.attr.st_mode = S_IFDIR,
			                             .attr.st_ino = dir->ino};
			struct node *child = NULL;
			if (i >= 2) {
				if (virt_lookup(fs, dir, name, &e) != 0)
					continue;
				child = node_of(fs, e.ino);
			}
			k = fuse_add_direntry_plus(req, buf + used, size - used, name, &e, i + 1);
			if (k > size - used) {
				if (child)
					node_forget(fs, child, 1);
				break;
			}
		} else {
			struct stat st = {.st_mode = S_IFDIR, .st_ino = dir->ino};
			k = fuse_add_direntry(req, buf + used, size - used, name, &st, i + 1);
			if (k > size - used)
				break;
		}
		used += k;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}
