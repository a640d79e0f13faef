/**
 * @file ops.c
 * The FUSE low-level handlers of ggfs, one per operation, gathered in one
 * table at the bottom. Ordinary files and directories pass through to
 * SOURCE read-write, as in libfuse's passthrough_ll (O_PATH fds,
 * /proc/self/fd for path-only calls), except that a node's fd is borrowed
 * from node.c's cache (node_fd/node_fd_put: it may be reopened by path), and
 * that calls creating or changing a file run as the caller (ident.c). Three
 * things differ: a read-only open of a placeholder forces it (lazy.c) and
 * never blocks this thread (another user's open forces only with
 * -o others_force); stat of a placeholder whose output is known shows the
 * output's size and mode; and the root's ".gg" is the virtual namespace
 * (byhash.c), while SOURCE's own .gg store is hidden. Not supported: POSIX
 * and BSD locks are left to the kernel (local to this host), and O_TMPFILE
 * (libfuse 3.14 answers the kernel's FUSE_TMPFILE with ENOSYS, which the
 * kernel turns into EOPNOTSUPP).
 *
 * Opens of ordinary files are counted and answered by backing.c (kernel
 * passthrough for writers where it is on). File handles: fh is a plain fd
 * for files of SOURCE; the fd of a store
 * object (a forced output) carries GGFS_FH_STORE so that nothing that
 * changes a file (fchmod, ftruncate) is ever applied to the store.
 */
#include "fs/ggfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

static struct ggfs *ggfs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static int fh_fd(const struct fuse_file_info *fi)
{
	return (int)(fi->fh & 0xffffffffu);
}

static bool fh_is_store(const struct fuse_file_info *fi)
{
	return (fi->fh & GGFS_FH_STORE) != 0;
}

static bool is_dot(const char *name)
{
	return name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0));
}

static bool is_ggdir_name(struct ggfs *fs, struct node *dir, const char *name)
{
	return dir == &fs->root && !strcmp(name, ".gg");
}

/*
 * May an entry `name` be created, removed or renamed in dir? The virtual
 * tree is read-only and the root's ".gg" is taken.
 */
static int check_entry(struct ggfs *fs, struct node *dir, const char *name, int taken)
{
	if (dir->kind != NODE_PASS)
		return EROFS;
	if (is_ggdir_name(fs, dir, name))
		return taken;
	return 0;
}

/* Borrows a NODE_PASS node's fd (node_fd), or replies its error: -1. */
static int pass_fd(struct ggfs *fs, fuse_req_t req, struct node *n)
{
	int fd = node_fd(fs, n);
	if (fd < 0)
		fuse_reply_err(req, -fd);
	return fd;
}

/* The attributes the mount shows for a node: 0 or an errno. */
static int shown_attr(struct ggfs *fs, struct node *n, struct stat *st)
{
	if (n->kind != NODE_PASS) {
		virt_attr(fs, n, st);
		return 0;
	}
	int err = node_fstat(fs, n, st);
	if (err)
		return err;
	if (lazy_classify(fs, n, st))
		lazy_adjust_attr(fs, n, st);
	return 0;
}

/*
 * Looks up parent/name; counts a lookup of the result. 0 or an errno. With
 * negative, a name missing in a directory of SOURCE is 0 and e->ino 0 (a
 * negative entry), but with -o timeout=0 (nothing would be cached) or a
 * kernel that cannot expire entries (FUSE_CAP_EXPIRE_ONLY, Linux 6.2).
 */
static int do_lookup(struct ggfs *fs, fuse_ino_t parent, const char *name,
                     struct fuse_entry_param *e, bool negative)
{
	struct node *dir = node_of(fs, parent);
	if (dir->kind != NODE_PASS || is_ggdir_name(fs, dir, name))
		return virt_lookup(fs, dir, name, e);
	if (dir == &fs->root && !strcmp(name, ".."))
		name = "."; /* never above SOURCE */
	int dfd = node_fd(fs, dir);
	if (dfd < 0)
		return -dfd;
	int fd = openat(dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && nodes_shed(fs, errno))
		fd = openat(dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	int err = fd < 0 ? errno : 0;
	node_fd_put(fs, dir);
	if (err == ENOENT && negative && fs->timeout > 0 && fs->expire_only) {
		/*
		 * The kernel caches the miss as long as it would an entry
		 * here (compilers and make probe the same missing names over
		 * and over). A name made through the mount replaces it in the
		 * kernel; one made behind the mount's back makes the watch
		 * expire it (IN_CREATE, IN_MOVED_TO), or it expires like any
		 * entry where nothing is watched. Only where the kernel can
		 * expire an entry: invalidating each name made through the
		 * mount would detach it (a new directory one is in would have
		 * no path for getcwd until looked up again).
		 */
		memset(e, 0, sizeof *e);
		e->entry_timeout = fs->timeout;
		return 0;
	}
	if (err)
		return err;
	struct stat st;
	if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
		err = errno;
		close(fd);
		return err;
	}
	/* "." and ".." are not names to reopen a file by. */
	struct node *n = node_get_pass(fs, is_dot(name) ? NULL : dir, name, fd, &st);
	memset(e, 0, sizeof *e);
	e->ino = node_ino(fs, n);
	e->attr = st;
	if (lazy_classify(fs, n, &st))
		lazy_adjust_attr(fs, n, &e->attr);
	/*
	 * Files of SOURCE may change behind our back (an editor, `gg thunk`
	 * rewriting a placeholder): a short timeout bounds how long stat shows
	 * stale data, while still sparing the daemon most repeated lookups. A
	 * forced placeholder, whose directory is watched, is cached longer.
	 */
	e->attr_timeout = e->entry_timeout = pass_timeout(fs, dir, n, &st);
	return 0;
}

/* ---- the handlers ---- */

static void gg_init(void *userdata, struct fuse_conn_info *conn)
{
	struct ggfs *fs = userdata;
	/* Many readers at once (32 cats of one placeholder, parallel builds):
	 * FAST'17 found 12 background requests too few, 100 enough. */
	conn->max_background = 128;
	conn->congestion_threshold = 96;
	if (conn->max_write > (1u << 20) || conn->max_write == 0)
		conn->max_write = 1u << 20;
	conn->max_read = fs->max_read;
	if (fs->splice)
		conn->want |= conn->capable & (FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE);
	/* The kernel enforces POSIX ACLs (read through getxattr), and leaves the
	 * umask to ggfs, which applies it unless a default ACL rules. */
	conn->want |= conn->capable & (FUSE_CAP_POSIX_ACL | FUSE_CAP_DONT_MASK);
	/* Symlinks are replaced, never modified, so their targets may be cached. */
	if (conn->capable & FUSE_CAP_CACHE_SYMLINKS)
		conn->want |= FUSE_CAP_CACHE_SYMLINKS;
	/* The user's -o max_background=N... win. */
	if (fs->conn_opts)
		fuse_apply_conn_info_opts(fs->conn_opts, conn);
	/* Refused at start (ggfs.c): never on, whoever asks (-o writeback_cache
	 * given to libfuse directly included). And requests are read whole,
	 * never spliced (libfuse's default where there is a write_buf, or -o
	 * splice_read): ggfs must see each one's flags (backing.c's io_read);
	 * -o splice moves the data of replies. */
	conn->want &= ~(FUSE_CAP_WRITEBACK_CACHE | FUSE_CAP_SPLICE_READ);
	conn->want &= conn->capable;
	fs->expire_only = (conn->capable & FUSE_CAP_EXPIRE_ONLY) != 0;
	fs->dont_mask = (conn->want & FUSE_CAP_DONT_MASK) != 0;
	backing_init(fs, conn);
	GGFS_DEBUG(fs, "init: protocol %u.%u, max_write %u, max_read %u, capable 0x%x, want 0x%x",
	           conn->proto_major, conn->proto_minor, conn->max_write, conn->max_read,
	           conn->capable, conn->want);
}

static void gg_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	int err = do_lookup(ggfs_of(req), parent, name, &e, true);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_entry(req, &e);
}

static void gg_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct ggfs *fs = ggfs_of(req);
	node_forget(fs, node_of(fs, ino), nlookup);
	fuse_reply_none(req);
}

static void gg_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	struct ggfs *fs = ggfs_of(req);
	for (size_t i = 0; i < count; i++)
		node_forget(fs, node_of(fs, forgets[i].ino), forgets[i].nlookup);
	fuse_reply_none(req);
}

static void gg_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct ggfs *fs = ggfs_of(req);
	struct node *n = node_of(fs, ino);
	struct stat st;
	int err = shown_attr(fs, n, &st);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_attr(req, &st, node_timeout(fs, n, &st));
}

/*
 * A write or truncate by someone other than a file's owner makes the kernel
 * clear the file's set-user-ID and set-group-ID bits: a SETATTR of the mode
 * with only those bits gone, which that caller may not make as itself. A
 * plain filesystem does it for any caller that may write the file (through
 * a handle it holds, or now); so does ggfs, as the daemon, clearing those
 * bits of the mode as it is then (an owner's chmod made meanwhile stays,
 * but for a window of two system calls). The kernel names the handle of a
 * truncate, not of a write: then any handle of the file the caller's uid
 * opened for writing through the mount will do. pfd: the file's O_PATH fd;
 * fd: the caller's handle or -1; proc: the file's /proc path. Called as the
 * caller (ident_enter); 0 or -1 with errno.
 */
static int chmod_killing_privs(struct ggfs *fs, fuse_req_t req, struct node *n, int pfd, int fd,
                               const char *proc, mode_t mode)
{
	const mode_t privs = S_ISUID | S_ISGID;
	struct stat st;
	if (fstat(pfd, &st) < 0)
		return -1;
	mode_t kill = st.st_mode & privs & ~mode;
	bool only_clears = kill && (mode & ~privs & 07777) == (st.st_mode & ~privs & 07777) &&
	                   (mode & privs & ~st.st_mode) == 0;
	bool may_write = fd >= 0 ? (fcntl(fd, F_GETFL) & O_ACCMODE) != O_RDONLY
	                         : faccessat(AT_FDCWD, proc, W_OK, AT_EACCESS) == 0 ||
	                               node_has_writer(fs, n, fuse_req_ctx(req)->uid);
	if (!only_clears || !may_write) {
		errno = EPERM;
		return -1;
	}
	ident_leave(fs);
	int r = fstat(pfd, &st);
	if (r == 0)
		r = chmod(proc, st.st_mode & 07777 & ~kill);
	int e = errno;
	int ie = ident_enter(fs, req);
	if (ie) {
		/* Nothing to leave: the caller's next step fails with this. */
		errno = ie;
		return -1;
	}
	errno = e;
	return r;
}

/* A SETATTR, as setattr_apply carries it (maybe to a thread of waiting.c). */
struct setattr_args {
	fuse_ino_t ino;
	struct node *n;
	struct stat attr;
	int valid;
	struct fuse_file_info fi; /* the caller's handle, if has_fi */
	bool has_fi;
	bool truncating; /* by path: counted by node_open_source (pt) */
	bool pt;
};

static void setattr_apply(struct ggfs *fs, fuse_req_t req, struct setattr_args *a, bool wait);

static void setattr_waiting(struct ggfs *fs, fuse_req_t req, void *arg, bool interrupted)
{
	struct setattr_args *a = arg;
	if (!interrupted) {
		setattr_apply(fs, req, a, true);
	} else {
		fuse_reply_err(req, EINTR);
		if (a->truncating)
			node_release(fs, a->n, a->pt, false, -1);
	}
	free(a);
}

static void gg_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int valid,
                       struct fuse_file_info *fi)
{
	struct ggfs *fs = ggfs_of(req);
	struct node *n = node_of(fs, ino);
	int err = n->kind != NODE_PASS ? EROFS : ident_may_change(fs, req);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	struct setattr_args a = {
	    .ino = ino, .n = n, .attr = *attr, .valid = valid, .has_fi = fi != NULL};
	if (fi)
		a.fi = *fi;
	/* A forced output's fd is a store object: use the file's path instead.
	 * A truncation by path changes the file as an open for writing would:
	 * counted as one, so never beside a reader of its forced output. */
	a.truncating = (valid & FUSE_SET_ATTR_SIZE) && (!fi || fh_is_store(fi));
	struct fuse_file_info as_writer = {.flags = O_WRONLY};
	err = a.truncating ? node_open_source(fs, n, &as_writer, &a.pt) : 0;
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	setattr_apply(fs, req, &a, false);
}

/*
 * Applies a SETATTR and answers it. A truncation by path opens the file for
 * writing as the caller and truncates that: unless wait, a lease in the way
 * (EWOULDBLOCK) hands the whole request, before any change, to a thread of
 * waiting.c, as an open's (truncate(2) would wait for the lease's break on
 * a FUSE thread).
 */
static void setattr_apply(struct ggfs *fs, fuse_req_t req, struct setattr_args *a, bool wait)
{
	struct node *n = a->n;
	struct stat *attr = &a->attr;
	int valid = a->valid;
	int fd = a->has_fi && !fh_is_store(&a->fi) ? fh_fd(&a->fi) : -1, tfd = -1;
	int pfd = pass_fd(fs, req, n);
	if (pfd < 0) {
		if (a->truncating)
			node_release(fs, n, a->pt, false, -1);
		return;
	}
	char proc[64];
	fd_proc_path(pfd, proc);
	int r = 0;
	int err = ident_enter(fs, req);
	if (err)
		goto out;
	if (a->truncating) {
		int oflags = O_WRONLY | O_CLOEXEC | (wait ? 0 : O_NONBLOCK);
		tfd = open(proc, oflags);
		if (tfd < 0 && nodes_shed(fs, errno))
			tfd = open(proc, oflags);
		if (tfd < 0 && errno == EWOULDBLOCK && !wait) {
			ident_leave(fs);
			node_fd_put(fs, n);
			struct setattr_args *later = xmalloc(sizeof *later);
			*later = *a;
			waiting_run(fs, setattr_waiting, req, later);
			return;
		}
		r = tfd < 0 ? -1 : 0;
	}
	if (r == 0 && (valid & FUSE_SET_ATTR_MODE)) {
		bool giving_setid = attr->st_mode & (S_ISUID | S_ISGID);
		int e = node_setid_chmod_begin(fs, req, n, attr->st_mode);
		if (e) {
			errno = e;
			r = -1;
		} else {
			r = fd >= 0 ? fchmod(fd, attr->st_mode) : chmod(proc, attr->st_mode);
			if (r < 0 && errno == EPERM)
				r = chmod_killing_privs(fs, req, n, pfd, fd, proc, attr->st_mode);
			e = errno;
			if (giving_setid)
				node_setid_chmod_end(fs, n);
			errno = e;
		}
	}
	if (r == 0 && (valid & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID))) {
		uid_t uid = valid & FUSE_SET_ATTR_UID ? attr->st_uid : (uid_t)-1;
		gid_t gid = valid & FUSE_SET_ATTR_GID ? attr->st_gid : (gid_t)-1;
		r = fchownat(pfd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
	}
	if (r == 0 && (valid & FUSE_SET_ATTR_SIZE))
		r = ftruncate(fd >= 0 ? fd : tfd, attr->st_size);
	if (r == 0 && (valid & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME))) {
		struct timespec tv[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
		if (valid & FUSE_SET_ATTR_ATIME_NOW)
			tv[0].tv_nsec = UTIME_NOW;
		else if (valid & FUSE_SET_ATTR_ATIME)
			tv[0] = attr->st_atim;
		if (valid & FUSE_SET_ATTR_MTIME_NOW)
			tv[1].tv_nsec = UTIME_NOW;
		else if (valid & FUSE_SET_ATTR_MTIME)
			tv[1] = attr->st_mtim;
		r = fd >= 0 ? futimens(fd, tv) : utimensat(AT_FDCWD, proc, tv, 0);
	}
	err = r < 0 ? errno : 0;
	if (tfd >= 0)
		close(tfd);
	ident_leave(fs);
out:
	node_fd_put(fs, n);
	if (a->truncating)
		node_release(fs, n, a->pt, false, -1);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	gg_getattr(req, a->ino, a->has_fi ? &a->fi : NULL);
}

static void gg_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct ggfs *fs = ggfs_of(req);
	struct node *n = node_of(fs, ino);
	char buf[PATH_MAX + 1];
	if (n->kind != NODE_PASS) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	/* a placeholder forced to a symbolic link: its target, from the store */
	char *target = NULL;
	int lk = lazy_link_target(fs, n, &target);
	if (lk != 0) {
		if (lk < 0)
			ggfs_log(FUSE_LOG_ERR, "inode %llu: %s", (unsigned long long)n->ino,
			         gg_last_error());
		if (lk > 0)
			fuse_reply_readlink(req, target);
		else
			fuse_reply_err(req, EIO);
		free(target);
		return;
	}
	int fd = pass_fd(fs, req, n);
	if (fd < 0)
		return;
	ssize_t k = readlinkat(fd, "", buf, sizeof buf);
	int err = k < 0 ? errno : 0;
	node_fd_put(fs, n);
	if (k < 0)
		fuse_reply_err(req, err);
	else if (k == (ssize_t)sizeof buf)
		fuse_reply_err(req, ENAMETOOLONG);
	else {
		buf[k] = 0;
		fuse_reply_readlink(req, buf);
	}
}

/*
 * The mode to create a file with in the directory dfd: with
 * FUSE_CAP_DONT_MASK the kernel leaves the caller's umask to ggfs, which
 * applies it unless the directory has a default ACL (whose mask then rules,
 * as on the directory itself). The daemon's own umask is 0.
 */
static mode_t create_mode(struct ggfs *fs, fuse_req_t req, int dfd, mode_t mode)
{
	if (!fs->dont_mask)
		return mode; /* masked by the kernel already */
	char proc[64];
	fd_proc_path(dfd, proc);
	if (getxattr(proc, "system.posix_acl_default", NULL, 0) > 0)
		return mode;
	return mode & ~fuse_req_ctx(req)->umask;
}

/* mknod, mkdir and symlink, as the caller. */
static void make_entry(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev,
                       const char *link)
{
	struct ggfs *fs = ggfs_of(req);
	struct node *dir = node_of(fs, parent);
	int err = check_entry(fs, dir, name, EEXIST);
	int dfd = err ? -1 : node_fd(fs, dir);
	if (dfd < 0 && !err)
		err = -dfd;
	if (!err) {
		mode = (mode & S_IFMT) | create_mode(fs, req, dfd, mode & 07777);
		err = ident_enter(fs, req);
		if (!err) {
			int r = link            ? symlinkat(link, dfd, name)
			        : S_ISDIR(mode) ? mkdirat(dfd, name, mode & 07777)
			                        : mknodat(dfd, name, mode, rdev);
			err = r < 0 ? errno : 0;
			ident_leave(fs);
		}
		node_fd_put(fs, dir);
	}
	struct fuse_entry_param e;
	if (!err)
		err = do_lookup(fs, parent, name, &e, false);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_entry(req, &e);
}

static void gg_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	make_entry(req, parent, name, mode, rdev, NULL);
}

static void gg_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	make_entry(req, parent, name, S_IFDIR | mode, 0, NULL);
}

static void gg_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	make_entry(req, parent, name, S_IFLNK, 0, link);
}

static void gg_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent, const char *name)
{
	struct ggfs *fs = ggfs_of(req);
	struct node *n = node_of(fs, ino), *dir = node_of(fs, parent);
	int err = n->kind != NODE_PASS ? EPERM : check_entry(fs, dir, name, EEXIST);
	char proc[64];
	struct fuse_entry_param e;
	memset(&e, 0, sizeof e);
	if (!err) {
		int fd = node_fd(fs, n), dfd = fd < 0 ? fd : node_fd(fs, dir);
		if (fd < 0 || dfd < 0) {
			err = fd < 0 ? -fd : -dfd;
		} else {
			fd_proc_path(fd, proc);
			err = ident_enter(fs, req);
			if (!err) {
				if (linkat(AT_FDCWD, proc, dfd, name, AT_SYMLINK_FOLLOW) < 0)
					err = errno;
				ident_leave(fs);
			}
			node_fd_put(fs, dir);
		}
		if (fd >= 0)
			node_fd_put(fs, n);
	}
	if (!err)
		err = shown_attr(fs, n, &e.attr);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	node_ref_lookup(fs, n);
	e.ino = ino;
	e.attr_timeout = e.entry_timeout = fs->timeout;
	fuse_reply_entry(req, &e);
}

/* unlink and rmdir. */
static void remove_entry(fuse_req_t req, fuse_ino_t parent, const char *name, int flags)
{
	struct ggfs *fs = ggfs_of(req);
	struct node *dir = node_of(fs, parent);
	int err = check_entry(fs, dir, name, EPERM);
	if (!err)
		err = ident_may_change(fs, req); /* before node_unlinking */
	int dfd = err ? -1 : node_fd(fs, dir);
	if (dfd < 0 && !err)
		err = -dfd;
	if (!err) {
		node_unlinking(fs, dir, dfd, name);
		err = ident_enter(fs, req);
		if (!err) {
			if (unlinkat(dfd, name, flags) < 0)
				err = errno;
			ident_leave(fs);
		}
		node_fd_put(fs, dir);
	}
	fuse_reply_err(req, err);
}

static void gg_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_entry(req, parent, name, 0);
}

static void gg_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_entry(req, parent, name, AT_REMOVEDIR);
}

/* After a rename: the file now at name in dir is found there from now on. */
static void follow_rename(struct ggfs *fs, struct node *dir, int dfd, const char *name)
{
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		node_moved(fs, st.st_dev, st.st_ino, dir, name);
}

static void gg_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
                      const char *newname, unsigned int flags)
{
	struct ggfs *fs = ggfs_of(req);
	struct node *a = node_of(fs, parent), *b = node_of(fs, newparent);
	int err = check_entry(fs, a, name, EPERM);
	if (!err)
		err = check_entry(fs, b, newname, EPERM);
	if (!err)
		err = ident_may_change(fs, req); /* before node_unlinking */
	int afd = err ? -1 : node_fd(fs, a);
	int bfd = afd < 0 ? -1 : node_fd(fs, b);
	if (!err && (afd < 0 || bfd < 0))
		err = afd < 0 ? -afd : -bfd;
	if (!err) {
		if (!(flags & (RENAME_EXCHANGE | RENAME_NOREPLACE)))
			node_unlinking(fs, b, bfd, newname);
		err = ident_enter(fs, req);
		int r = err ? -1 : renameat2(afd, name, bfd, newname, flags);
		if (!err) {
			if (r < 0)
				err = errno;
			ident_leave(fs);
		}
		if (!err) {
			follow_rename(fs, b, bfd, newname);
			if (flags & RENAME_EXCHANGE)
				follow_rename(fs, a, afd, name);
		}
	}
	if (bfd >= 0)
		node_fd_put(fs, b);
	if (afd >= 0)
		node_fd_put(fs, a);
	fuse_reply_err(req, err);
}

/*
 * O_DIRECT: the kernel sends every read and write (no page cache), and the
 * file of SOURCE is opened without it, since FUSE's buffers need not have
 * the alignment O_DIRECT asks of them (EINVAL). In kernel passthrough the
 * kernel does O_DIRECT on the backing file itself, with the caller's buffers.
 */
static void set_direct_io(struct fuse_file_info *fi)
{
	if (fi->flags & O_DIRECT)
		fi->direct_io = 1;
}

/*
 * The policy for other users (allow_other): an open by another user than
 * the mount's owner reads what is forced already, but starts no force (with
 * the owner's store, engines and credentials) unless -o others_force.
 * lazy_open applies it.
 */
static bool caller_may_force(struct ggfs *fs, fuse_req_t req)
{
	return fs->others_force || !ident_is_other(fs, req);
}

static void gg_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct ggfs *fs = ggfs_of(req);
	struct node *n = node_of(fs, ino);
	bool writing = open_changes_file(fi->flags);
	switch (n->kind) {
	case NODE_GGDIR:
	case NODE_BYHASH: fuse_reply_err(req, EISDIR); return;
	case NODE_OBJECT:
	case NODE_OUTPUT:
		if (writing) {
			fuse_reply_err(req, EROFS);
		} else if (n->kind == NODE_OUTPUT) {
			struct stat st;
			virt_attr(fs, n, &st);
			lazy_open(fs, req, n, fi, 0, caller_may_force(fs, req)); /* always lazy */
		} else {
			int fd = store_open_object(fs->store, &n->lz.ref.name);
			if (fd < 0) {
				ggfs_log(FUSE_LOG_ERR, ".gg/by-hash/%s: %s", n->lz.ref.name.s,
				         gg_last_error());
				fuse_reply_err(req, gg_last_code() == GG_ENOTFOUND ? ENOENT : EIO);
			} else
				reply_store_open(fs, req, fi, n, &n->lz.ref.name, fd, 0);
		}
		return;
	case NODE_PASS: break;
	}
	if (!writing) {
		/* Writers get the placeholder file itself: it then stops being one. */
		pthread_mutex_lock(&fs->mu);
		unsigned source_seq = n->source_seq; /* before the file is read */
		pthread_mutex_unlock(&fs->mu);
		struct stat st;
		if (lazy_classify_now(fs, n, &st)) {
			lazy_adjust_attr(fs, n, &st); /* learns from the memo */
			if (lazy_open(fs, req, n, fi, source_seq, caller_may_force(fs, req)))
				return;
		}
	}
	open_source_file(fs, req, n, fi);
}

static void source_open(struct ggfs *fs, fuse_req_t req, struct node *n, struct fuse_file_info *fi,
                        bool pt, bool wait);

/* An open of source_open's, as it waits on a thread of waiting.c. */
struct source_open_args {
	struct node *n;
	struct fuse_file_info fi;
	bool pt;
};

static void source_open_waiting(struct ggfs *fs, fuse_req_t req, void *arg, bool interrupted)
{
	struct source_open_args *o = arg;
	if (!interrupted) {
		source_open(fs, req, o->n, &o->fi, o->pt, true);
	} else {
		fuse_reply_err(req, EINTR);
		node_release(fs, o->n, o->pt, false, -1);
	}
	free(o);
}

void open_source_file(struct ggfs *fs, fuse_req_t req, struct node *n, struct fuse_file_info *fi)
{
	bool writing = open_changes_file(fi->flags);
	set_direct_io(fi);
	bool pt = false;
	int err = writing ? ident_may_change(fs, req) : 0; /* before node_open_source */
	if (!err)
		err = node_open_source(fs, n, fi, &pt);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	source_open(fs, req, n, fi, pt, false);
}

/*
 * open_source_file's open of the file, counted by node_open_source (pt).
 * Unless wait, a lease in the way (EWOULDBLOCK: its holder is told to let
 * go) hands it to a thread of waiting.c, which waits for the lease's
 * break: never a FUSE thread (see there).
 */
static void source_open(struct ggfs *fs, fuse_req_t req, struct node *n, struct fuse_file_info *fi,
                        bool pt, bool wait)
{
	bool writing = open_changes_file(fi->flags);
	int flags = fi->flags & ~(O_NOFOLLOW | O_DIRECT);
	bool try = !wait && !(flags & O_NONBLOCK);
	int pfd = node_fd(fs, n), fd = -1;
	if (pfd < 0) {
		errno = -pfd;
	} else {
		char proc[64];
		fd_proc_path(pfd, proc);
		int oflags = flags | O_CLOEXEC | (try ? O_NONBLOCK : 0);
		/* A writer opens as itself (reads never do: they may force). */
		int e = writing ? ident_enter(fs, req) : 0;
		if (!e) {
			fd = open(proc, oflags);
			if (fd < 0 && nodes_shed(fs, errno))
				fd = open(proc, oflags);
			e = fd < 0 ? errno : 0;
			if (writing)
				ident_leave(fs);
		}
		node_fd_put(fs, n);
		if (e == EWOULDBLOCK && try) {
			struct source_open_args *later = xmalloc(sizeof *later);
			*later = (struct source_open_args){.n = n, .fi = *fi, .pt = pt};
			waiting_run(fs, source_open_waiting, req, later);
			return;
		}
		if (fd >= 0 && try) {
			/* O_NONBLOCK would stay on the file: not what the caller asked */
			int fl = fcntl(fd, F_GETFL);
			if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
				e = errno;
		}
		if (e && fd >= 0) {
			close(fd);
			fd = -1;
		}
		errno = e;
	}
	if (fd < 0) {
		fuse_reply_err(req, errno);
		node_release(fs, n, pt, false, -1);
	} else {
		reply_source_open(fs, req, fi, NULL, n, fd, pt);
	}
}

static void gg_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                      struct fuse_file_info *fi)
{
	struct ggfs *fs = ggfs_of(req);
	struct node *dir = node_of(fs, parent);
	int err = check_entry(fs, dir, name, EEXIST);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	int dfd = pass_fd(fs, req, dir);
	if (dfd < 0)
		return;
	/*
	 * CREATE only creates. The name may exist by now (made behind the
	 * mount since the kernel's LOOKUP): a symlink, a FIFO, a hard link to a
	 * placeholder whose output is being read. Then ESTALE makes the kernel
	 * look it up again and OPEN it, which follows symlinks or not, and
	 * truncates only once no reader of a forced output is in the way.
	 */
	int oflags =
	    (fi->flags | O_CREAT | O_EXCL | O_CLOEXEC) & ~(O_NOFOLLOW | O_DIRECT | O_TRUNC);
	set_direct_io(fi);
	mode = create_mode(fs, req, dfd, mode);
	int fd = -1;
	err = ident_enter(fs, req);
	if (!err) {
		fd = openat(dfd, name, oflags, mode);
		if (fd < 0 && nodes_shed(fs, errno))
			fd = openat(dfd, name, oflags, mode);
		err = fd < 0 ? errno : 0;
		ident_leave(fs);
	}
	node_fd_put(fs, dir);
	if (err == EEXIST && !(fi->flags & O_EXCL))
		err = ESTALE;
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	struct fuse_entry_param e;
	err = do_lookup(fs, parent, name, &e, false);
	struct node *n = err ? NULL : node_of(fs, e.ino);
	bool pt = false;
	if (n && (err = node_open_source(fs, n, fi, &pt)) != 0)
		node_forget(fs, n, 1);
	if (err) {
		close(fd);
		fuse_reply_err(req, err);
		return;
	}
	reply_source_open(fs, req, fi, &e, n, fd, pt);
}

static void gg_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
	struct fuse_bufvec buf = FUSE_BUFVEC_INIT(size);
	buf.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	buf.buf[0].fd = fh_fd(fi);
	buf.buf[0].pos = off;
	fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE);
}

static void gg_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in, off_t off,
                         struct fuse_file_info *fi)
{
	if (fh_is_store(fi)) {
		fuse_reply_err(req, EBADF);
		return;
	}
	struct fuse_bufvec out = FUSE_BUFVEC_INIT(fuse_buf_size(in));
	out.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	out.buf[0].fd = fh_fd(fi);
	out.buf[0].pos = off;
	int as = ident_data_begin(ggfs_of(req), req, fh_fd(fi), true);
	ssize_t r = as < 0 ? as : fuse_buf_copy(&out, in, 0);
	ident_data_end(ggfs_of(req), as);
	if (r < 0)
		fuse_reply_err(req, (int)-r);
	else
		fuse_reply_write(req, (size_t)r);
}

static void gg_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	/* close() of a dup reports NFS-style deferred write errors. */
	struct ggfs *fs = ggfs_of(req);
	int fd = fcntl(fh_fd(fi), F_DUPFD_CLOEXEC, 0);
	if (fd < 0 && nodes_shed(fs, errno))
		fd = fcntl(fh_fd(fi), F_DUPFD_CLOEXEC, 0);
	int r = fd < 0 ? -1 : close(fd);
	fuse_reply_err(req, r < 0 ? errno : 0);
}

static void gg_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct ggfs *fs = ggfs_of(req);
	node_release(fs, node_of(fs, ino), (fi->fh & GGFS_FH_BACKING) != 0, fh_is_store(fi),
	             fh_fd(fi));
	close(fh_fd(fi));
	fuse_reply_err(req, 0);
}

static void gg_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	int r = datasync ? fdatasync(fh_fd(fi)) : fsync(fh_fd(fi));
	fuse_reply_err(req, r < 0 ? errno : 0);
}

/* ---- directories ---- */

struct dirp {
	DIR *dp;
	struct dirent *entry; /* read but not yet returned */
	off_t offset;
};

static void gg_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct ggfs *fs = ggfs_of(req);
	struct node *n = node_of(fs, ino);
	if (n->kind == NODE_GGDIR || n->kind == NODE_BYHASH) {
		fi->fh = 0;
		fi->cache_readdir = 1; /* the listing never changes */
		fuse_reply_open(req, fi);
		return;
	}
	if (n->kind != NODE_PASS) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	int pfd = pass_fd(fs, req, n);
	if (pfd < 0)
		return;
	int fd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && nodes_shed(fs, errno))
		fd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	node_fd_put(fs, n);
	DIR *dp = fd < 0 ? NULL : fdopendir(fd);
	if (!dp) {
		int err = errno;
		if (fd >= 0)
			close(fd);
		fuse_reply_err(req, err);
		return;
	}
	struct dirp *d = xcalloc(1, sizeof *d);
	d->dp = dp;
	fi->fh = (uint64_t)(uintptr_t)d;
	if (fuse_reply_open(req, fi) == -ENOENT) {
		closedir(dp);
		free(d);
	}
}

/* An entry's type for readdir: SOURCE's, except that a placeholder known
 * to be forced to a link is a link (as lookup and stat say), so that find
 * -type l and scandir agree with ls -l. */
static mode_t entry_type(struct ggfs *fs, struct node *dir, const struct dirent *de)
{
	unsigned char t = de->d_type;
	if (t == DT_REG) {
		pthread_mutex_lock(&fs->mu);
		struct node *n = node_find_locked(fs, dir->dev, de->d_ino);
		if (n && n->kind == NODE_PASS && n->lz.is_ref && n->lz.forced && n->lz.link)
			t = DT_LNK;
		pthread_mutex_unlock(&fs->mu);
	}
	return (mode_t)t << 12;
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                       struct fuse_file_info *fi, bool plus)
{
	struct ggfs *fs = ggfs_of(req);
	struct node *dir = node_of(fs, ino);
	if (dir->kind != NODE_PASS) {
		virt_readdir(fs, req, dir, size, off, plus);
		return;
	}
	struct dirp *d = (struct dirp *)(uintptr_t)fi->fh;
	char *buf = xcalloc(1, size);
	size_t used = 0;
	int err = 0;
	if (off != d->offset) {
		seekdir(d->dp, off);
		d->entry = NULL;
		d->offset = off;
	}
	for (;;) {
		if (!d->entry) {
			errno = 0;
			d->entry = readdir(d->dp);
			if (!d->entry) {
				err = errno;
				break;
			}
		}
		const char *name = d->entry->d_name;
		off_t next = d->entry->d_off;
		/* The root's .gg is the virtual namespace, and SOURCE's store is
		 * nobody's business through the mount: list neither. */
		if (is_ggdir_name(fs, dir, name)) {
			d->entry = NULL;
			d->offset = next;
			continue;
		}
		size_t k;
		if (plus) {
			struct fuse_entry_param e;
			struct node *child = NULL;
			if (is_dot(name) || watch_entry_cached(fs, dir, name, d->entry->d_ino)) {
				/* No attributes (node id 0): for a name the kernel
				 * holds already, refreshing them would also drop its
				 * cached ACLs, which ls -l asks for next. */
				memset(&e, 0, sizeof e);
				e.attr.st_ino = d->entry->d_ino;
				e.attr.st_mode = entry_type(fs, dir, d->entry);
			} else {
				int lerr = do_lookup(fs, ino, name, &e, false);
				if (lerr == ENOENT) { /* removed meanwhile */
					d->entry = NULL;
					d->offset = next;
					continue;
				}
				if (lerr) {
					err = lerr;
					break;
				}
				child = node_of(fs, e.ino);
			}
			k = fuse_add_direntry_plus(req, buf + used, size - used, name, &e, next);
			if (k > size - used) {
				if (child)
					node_forget(fs, child, 1);
				break;
			}
		} else {
			struct stat st = {.st_ino = d->entry->d_ino,
			                  .st_mode = entry_type(fs, dir, d->entry)};
			k = fuse_add_direntry(req, buf + used, size - used, name, &st, next);
			if (k > size - used)
				break;
		}
		used += k;
		d->entry = NULL;
		d->offset = next;
	}
	/* An error after some entries: return those (their lookups are counted). */
	if (err && used == 0)
		fuse_reply_err(req, err);
	else
		fuse_reply_buf(req, buf, used);
	free(buf);
}

static void gg_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                       struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, false);
}

static void gg_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                           struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, true);
}

static void gg_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dirp *d = (struct dirp *)(uintptr_t)fi->fh;
	if (d) {
		closedir(d->dp);
		free(d);
	}
	fuse_reply_err(req, 0);
}

static void gg_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	struct dirp *d = (struct dirp *)(uintptr_t)fi->fh;
	int r = 0;
	if (d)
		r = datasync ? fdatasync(dirfd(d->dp)) : fsync(dirfd(d->dp));
	fuse_reply_err(req, r < 0 ? errno : 0);
}

static void gg_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct ggfs *fs = ggfs_of(req);
	struct node *n = node_of(fs, ino);
	struct statvfs sv;
	if (n->kind != NODE_PASS)
		n = &fs->root;
	int fd = pass_fd(fs, req, n);
	if (fd < 0)
		return;
	int r = fstatvfs(fd, &sv);
	int err = r < 0 ? errno : 0;
	node_fd_put(fs, n);
	if (r < 0)
		fuse_reply_err(req, err);
	else
		fuse_reply_statfs(req, &sv);
}

/* ---- extended attributes ---- */

static bool is_gg_xattr(const char *name)
{
	return !strncmp(name, "user.gg.", 8);
}

/* Does the node show user.gg.* (a placeholder, or a by-hash file)? */
static bool has_gg_xattrs(struct ggfs *fs, struct node *n)
{
	if (n->kind == NODE_OBJECT || n->kind == NODE_OUTPUT)
		return true;
	struct stat st;
	return lazy_classify_now(fs, n, &st);
}

static void reply_xattr(fuse_req_t req, const void *value, size_t len, size_t size)
{
	if (size == 0)
		fuse_reply_xattr(req, len);
	else if (len > size)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, value, len);
}

/*
 * The mount carries no SELinux labels (as NFSv3 or vfat): a kernel with
 * SELinux answers security.selinux itself and never asks; one without it
 * would ask for every file `ls -l` lists, while EOPNOTSUPP makes ls stop
 * asking for the whole mount after the first.
 */
#define SELINUX_LABEL "security.selinux"

static bool is_selinux_label(const char *name)
{
	return !strcmp(name, SELINUX_LABEL);
}

/*
 * Drops from a listxattr list of SOURCE's file what the mount answers
 * itself: the SELinux label, and user.gg.* (ggfs's own names: a file's
 * stored attribute of such a name would pass for the mount's word, e.g. a
 * user.gg.placeholder that makes gg describe an ordinary file as a
 * placeholder).
 */
static void drop_mount_names(struct buf *list)
{
	size_t out = 0;
	for (size_t i = 0; i < list->len;) {
		size_t k = strnlen(list->data + i, list->len - i) + 1; /* with its NUL */
		if (i + k > list->len)
			k = list->len - i; /* the last name lacks one */
		bool selinux =
		    k == sizeof SELINUX_LABEL && !memcmp(list->data + i, SELINUX_LABEL, k);
		bool gg = k > 8 && !memcmp(list->data + i, "user.gg.", 8);
		if (!selinux && !gg) {
			memmove(list->data + out, list->data + i, k);
			out += k;
		}
		i += k;
	}
	list->len = out;
}

static void gg_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct ggfs *fs = ggfs_of(req);
	struct node *n = node_of(fs, ino);
	if (is_selinux_label(name)) {
		fuse_reply_err(req, EOPNOTSUPP);
		return;
	}
	if (n->kind == NODE_GGDIR && !strcmp(name, "user.gg.store")) {
		/* the store behind the view: gg run inside the mount uses it (discover.c) */
		reply_xattr(req, fs->store->root, strlen(fs->store->root), size);
		return;
	}
	if (is_gg_xattr(name) && has_gg_xattrs(fs, n)) {
		char *v = NULL;
		size_t len = 0;
		int err;
		if (!strcmp(name, "user.gg.error") && ident_is_other(fs, req)) {
			/* The failure's account (the command, the tail of its
			 * stderr) is the mount owner's: with allow_other, other
			 * users see that it failed (user.gg.state), not why. */
			fuse_reply_err(req, EACCES);
			return;
		}
		if (n->kind == NODE_OBJECT) {
			/* A stored object is a value, or a thunk's encoding: nothing to force. */
			err = ENODATA;
			if (!strcmp(name, "user.gg.ref"))
				v = xstrdup(n->lz.ref_str), err = 0;
			else if (!strcmp(name, "user.gg.state"))
				v = xstrdup("forced"), err = 0;
			len = v ? strlen(v) : 0;
		} else {
			err = lazy_getxattr(fs, n, name, &v, &len);
		}
		if (err)
			fuse_reply_err(req, err);
		else
			reply_xattr(req, v, len, size);
		free(v);
		return;
	}
	if (n->kind != NODE_PASS || is_gg_xattr(name)) {
		/* (a user.gg.* attribute stored on an ordinary file is not the mount's) */
		fuse_reply_err(req, ENODATA);
		return;
	}
	int fd = pass_fd(fs, req, n);
	if (fd < 0)
		return;
	char proc[64];
	fd_proc_path(fd, proc);
	char *value = size ? xmalloc(size) : NULL;
	ssize_t r = getxattr(proc, name, value, size);
	int err = r < 0 ? errno : 0;
	node_fd_put(fs, n);
	if (r < 0)
		fuse_reply_err(req, err);
	else if (size)
		fuse_reply_buf(req, value, (size_t)r);
	else
		fuse_reply_xattr(req, (size_t)r);
	free(value);
}

static void gg_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct ggfs *fs = ggfs_of(req);
	struct node *n = node_of(fs, ino);
	struct buf b = BUF_INIT;
	if (n->kind == NODE_PASS) {
		int fd = pass_fd(fs, req, n);
		if (fd < 0)
			return;
		char proc[64];
		fd_proc_path(fd, proc);
		int err = 0;
		for (;;) {
			ssize_t k = listxattr(proc, NULL, 0);
			if (k < 0 && errno != ENOTSUP) {
				err = errno;
				break;
			}
			if (k <= 0)
				break;
			buf_reset(&b);
			buf_grow(&b, (size_t)k);
			ssize_t got = listxattr(proc, b.data, (size_t)k);
			if (got >= 0) {
				b.len = (size_t)got;
				break;
			}
			if (errno != ERANGE) { /* ERANGE: it grew meanwhile */
				err = errno;
				break;
			}
		}
		node_fd_put(fs, n);
		if (err) {
			fuse_reply_err(req, err);
			buf_free(&b);
			return;
		}
		drop_mount_names(&b);
	}
	/* user.gg.* are read by name only, never listed (as CephFS's virtual
	 * attributes): cp -a, rsync -X and tar --xattrs would set them on a
	 * copy, which is refused. */
	reply_xattr(req, b.data ? b.data : "", b.len, size);
	buf_free(&b);
}

/* May the attribute be set or removed through the mount? Only SOURCE's own
 * files' and never user.gg.*, which are the mount's to say. */
static bool xattr_settable(const struct node *n, const char *name)
{
	return n->kind == NODE_PASS && !is_gg_xattr(name);
}

static void gg_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
                        size_t size, int flags)
{
	struct ggfs *fs = ggfs_of(req);
	struct node *n = node_of(fs, ino);
	if (is_selinux_label(name)) {
		fuse_reply_err(req, EOPNOTSUPP);
		return;
	}
	if (!xattr_settable(n, name)) {
		fuse_reply_err(req, EPERM);
		return;
	}
	int fd = pass_fd(fs, req, n);
	if (fd < 0)
		return;
	char proc[64];
	fd_proc_path(fd, proc);
	int err = ident_enter(fs, req);
	if (!err) {
		err = setxattr(proc, name, value, size, flags) < 0 ? errno : 0;
		ident_leave(fs);
	}
	node_fd_put(fs, n);
	fuse_reply_err(req, err);
}

static void gg_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct ggfs *fs = ggfs_of(req);
	struct node *n = node_of(fs, ino);
	if (is_selinux_label(name)) {
		fuse_reply_err(req, EOPNOTSUPP);
		return;
	}
	if (!xattr_settable(n, name)) {
		fuse_reply_err(req, EPERM);
		return;
	}
	int fd = pass_fd(fs, req, n);
	if (fd < 0)
		return;
	char proc[64];
	fd_proc_path(fd, proc);
	int err = ident_enter(fs, req);
	if (!err) {
		err = removexattr(proc, name) < 0 ? errno : 0;
		ident_leave(fs);
	}
	node_fd_put(fs, n);
	fuse_reply_err(req, err);
}

/* ---- the rest of the file operations ---- */

static void gg_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len,
                         struct fuse_file_info *fi)
{
	if (fh_is_store(fi)) {
		fuse_reply_err(req, EBADF);
		return;
	}
	int as = ident_data_begin(ggfs_of(req), req, fh_fd(fi), false);
	int err = as < 0 ? -as : fallocate(fh_fd(fi), mode, off, len) < 0 ? errno : 0;
	ident_data_end(ggfs_of(req), as);
	fuse_reply_err(req, err);
}

static void gg_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
                     struct fuse_file_info *fi)
{
	off_t r = lseek(fh_fd(fi), off, whence);
	if (r < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_lseek(req, r);
}

static void gg_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
                               struct fuse_file_info *fi_in, fuse_ino_t ino_out, off_t off_out,
                               struct fuse_file_info *fi_out, size_t len, int flags)
{
	if (fh_is_store(fi_out)) {
		fuse_reply_err(req, EBADF);
		return;
	}
	int as = ident_data_begin(ggfs_of(req), req, fh_fd(fi_out), false);
	errno = -as;
	ssize_t r = as < 0 ? -1
	                   : copy_file_range(fh_fd(fi_in), &off_in, fh_fd(fi_out), &off_out, len,
	                                     (unsigned)flags);
	int err = errno;
	ident_data_end(ggfs_of(req), as);
	errno = err;
	if (r < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_write(req, (size_t)r);
}

const struct fuse_lowlevel_ops ggfs_ops = {
    .init = gg_init,
    .lookup = gg_lookup,
    .forget = gg_forget,
    .forget_multi = gg_forget_multi,
    .getattr = gg_getattr,
    .setattr = gg_setattr,
    .readlink = gg_readlink,
    .mknod = gg_mknod,
    .mkdir = gg_mkdir,
    .symlink = gg_symlink,
    .link = gg_link,
    .unlink = gg_unlink,
    .rmdir = gg_rmdir,
    .rename = gg_rename,
    .open = gg_open,
    .create = gg_create,
    .read = gg_read,
    .write_buf = gg_write_buf,
    .flush = gg_flush,
    .release = gg_release,
    .fsync = gg_fsync,
    .opendir = gg_opendir,
    .readdir = gg_readdir,
    .readdirplus = gg_readdirplus,
    .releasedir = gg_releasedir,
    .fsyncdir = gg_fsyncdir,
    .statfs = gg_statfs,
    .getxattr = gg_getxattr,
    .listxattr = gg_listxattr,
    .setxattr = gg_setxattr,
    .removexattr = gg_removexattr,
    .fallocate = gg_fallocate,
    .lseek = gg_lseek,
    .copy_file_range = gg_copy_file_range,
};
