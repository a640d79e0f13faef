/**
 * @file store.c
 * The on-disk store (layout in store.h): objects in fan-out directories
 * written through temp files (O_TMPFILE + link, or a named file + rename)
 * and size-checked on every open, the memo, the stat-keyed hash cache,
 * per-thunk byte-range locks and size-capped gc.
 * It does not talk to remote stores; backends layer on top of it.
 */
#include "store.h"

#include "discover.h"

#include "thunk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

static const char *const store_dirs[] = {"objects",   "xobjects", "memo",
                                         "hashcache", "locks",    "tmp"};

static bool is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/*
 * The store directory itself is the boundary (objects are shared by
 * content, so the bytes of a 0600 file become a 0444 object): 0700, or
 * 02770 for a shared store (its group). An existing one must be a real
 * directory of ours (or a shared store of our group): a worker's default
 * directory under /tmp may have been made in advance by someone else.
 */
static int make_root(const char *root, bool shared)
{
	mode_t mode = shared ? 02770 : 0700;
	char *parent = xstrdup(root), *slash = strrchr(parent, '/');
	int r = 0;
	if (slash && slash != parent) {
		*slash = 0;
		r = mkdir_p(parent, 0755);
	}
	free(parent);
	if (r < 0)
		return -1;
	bool made = mkdir(root, mode) == 0;
	if (!made && errno != EEXIST)
		return gg_error_errno("cannot create directory %s", root);
	struct stat st;
	if (lstat(root, &st) < 0)
		return gg_error_errno("cannot stat %s", root);
	if (!S_ISDIR(st.st_mode))
		return gg_error("%s is not a directory (a symbolic link is not accepted)", root);
	if (st.st_uid != geteuid() && !store_shared_ok(&st))
		return gg_error("%s is owned by uid %u, not you (uid %u): someone else may have "
		                "made it in advance; remove it or choose another directory",
		                root, (unsigned)st.st_uid, (unsigned)geteuid());
	if ((made || shared) && chmod(root, mode) < 0) /* exactly: not the umask's */
		return gg_error_errno("cannot set the mode of %s", root);
	return 0;
}

static int make_store(const char *root, bool shared)
{
	int r = make_root(root, shared);
	for (size_t i = 0; r == 0 && i < GG_ARRAY_LEN(store_dirs); i++) {
		char *p = xasprintf("%s/%s", root, store_dirs[i]);
		r = mkdir_p(p, shared ? 02775 : 0755);
		if (r == 0 && shared && chmod(p, 02775) < 0)
			r = gg_error_errno("cannot set the mode of %s", p);
		free(p);
	}
	return r;
}

int store_create(const char *root)
{
	return make_store(root, false);
}

int store_init(const char *dir, char **root_out)
{
	return store_init_mode(dir, false, root_out);
}

int store_init_mode(const char *dir, bool shared, char **root_out)
{
	size_t n = strlen(dir);
	char *root =
	    n >= 3 && !strcmp(dir + n - 3, ".gg") ? xstrdup(dir) : xasprintf("%s/.gg", dir);
	int r = make_store(root, shared);
	if (r == 0 && root_out)
		*root_out = root;
	else
		free(root);
	return r;
}

static char *find_root(void)
{
	const char *env = getenv("GG_DIR");
	if (env && *env)
		return xstrdup(env);
	return store_discover("."); /* safely: see discover.h */
}

/*
 * Forks seen by this process: a store's lock pool (see lock_thunk) belongs to
 * the process that opened it. Written only in a child just after a fork,
 * while it has one thread. (The sandbox's raw clone and vfork children do
 * not use the store.)
 */
static unsigned fork_gen;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

static void forked(void)
{
	fork_gen++;
}

static void watch_forks(void)
{
	pthread_atfork(NULL, NULL, forked);
}

/*
 * Whether a file created in dir with mode 0444 gets exactly that mode, so
 * that new objects need no fchmod: the umask keeps the read bits and dir has
 * no default ACL. In doubt, no. (A process that later sets a umask without
 * read bits for someone gets objects without them; nothing here does.)
 */
static bool modes_are_exact(const char *dir)
{
	struct buf b = BUF_INIT;
	bool exact = false;
	if (read_file("/proc/self/status", &b, 1 << 16) == 0) {
		const char *u = strstr(b.data, "\nUmask:");
		unsigned long mask;
		char *end;
		if (u) {
			mask = strtoul(u + 8, &end, 8);
			exact = end != u + 8 && (mask & 0444) == 0;
		}
	}
	buf_free(&b);
	if (exact && (getxattr(dir, "system.posix_acl_default", NULL, 0) >= 0 ||
	              (errno != ENODATA && errno != ENOTSUP)))
		exact = false;
	return exact;
}

int store_open(const char *dir, struct store **out)
{
	char *root = dir ? xstrdup(dir) : find_root();
	if (!root)
		return -1; /* store_discover said why */
	char *abs = realpath(root, NULL);
	if (!abs || !is_dir(abs)) {
		gg_error_errno("store %s is not a directory", root);
		free(root);
		free(abs);
		return -1;
	}
	free(root);
	/* Create any missing subdirectory (an older or hand-made .gg). "tmp"
	 * is made last by store_init, so its presence means all are there. */
	char *tmp = xasprintf("%s/tmp", abs);
	bool complete = is_dir(tmp);
	free(tmp);
	if (!complete && store_create(abs) < 0) {
		free(abs);
		return -1;
	}
	struct store *s = xcalloc(1, sizeof *s);
	s->root = abs;
	s->root_len = strlen(abs);
	s->tmp = xasprintf("%s/tmp", abs);
	pthread_mutex_init(&s->lock_mu, NULL);
	pthread_once(&fork_once, watch_forks);
	s->fork_gen = fork_gen;
	s->exact_mode = modes_are_exact(s->tmp);
	*out = s;
	return 0;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nlock_pool; i++)
		close(s->lock_pool[i]);
	free(s->lock_pool);
	pthread_mutex_destroy(&s->lock_mu);
	free(s->root);
	free(s->tmp);
	free(s);
}

/* ROOT/SUB/ab/KEY. Fan-out directories are created on demand by
 * rename_into() and open_creating(), when the first attempt says ENOENT. */
static char *fanout_path(const struct store *s, const char *sub, const char *fan, const char *key,
                         bool create)
{
	(void)create;
	return xasprintf("%s/%s/%.2s/%s", s->root, sub, fan, key);
}

/*
 * ROOT/SUB/ab/NAME (ab = the digest's first two digits) into buf, which has
 * PATH_MAX bytes: no allocation on the hot paths. NULL (errno ENAMETOOLONG)
 * if it does not fit.
 */
static char *name_path(char *buf, const struct store *s, const char *sub, const struct gg_name *n)
{
	size_t sl = strlen(sub);
	if (s->root_len + sl + GG_NAME_LEN + 6 > PATH_MAX) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	char *p = buf;
	memcpy(p, s->root, s->root_len);
	p += s->root_len;
	*p++ = '/';
	memcpy(p, sub, sl);
	p += sl;
	*p++ = '/';
	*p++ = n->s[1];
	*p++ = n->s[2];
	*p++ = '/';
	memcpy(p, n->s, GG_NAME_LEN + 1);
	return buf;
}

/* Creates the directory holding path (one level). */
static void make_parent(const char *path)
{
	char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	if (slash) {
		*slash = 0;
		if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
			/* the caller's retry fails and reports */
		}
	}
	free(dir);
}

static int rename_into(const char *from, const char *to)
{
	if (rename(from, to) == 0)
		return 0;
	if (errno != ENOENT)
		return -1;
	make_parent(to);
	return rename(from, to);
}

/*
 * Moves the finished file `from` to `to` unless `to` exists: 0 if moved, 1 if
 * `to` was there (`from` is left for the caller), -1 with errno. Objects are
 * never replaced, although the bytes would be the same: a link(2) of the old
 * path racing with the replacement fails with ENOENT (the replaced inode has
 * no links left), which is how inputs are placed in a sandbox.
 */
static int move_noreplace(const char *from, const char *to)
{
	for (int i = 0; i < 2; i++) {
		if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
			return 0;
		if (errno == EINVAL || errno == ENOSYS) {
			/* no RENAME_NOREPLACE here: link, then drop the temp name */
			if (link(from, to) == 0) {
				unlink(from);
				return 0;
			}
		}
		if (errno == EEXIST)
			return 1;
		if (errno != ENOENT || i == 1)
			return -1;
		make_parent(to);
	}
	return -1;
}

char *store_object_path(const struct store *s, const struct gg_name *n)
{
	return fanout_path(s, "objects", n->s + 1, n->s, false);
}

/* Opens, checks the size; on a wrong size removes the object (it is corrupt). */
static int open_checked(const char *path, const struct gg_name *n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != gg_name_size(n)) {
		close(fd);
		unlink(path);
		errno = EBADMSG;
		return -1;
	}
	return fd;
}

int store_has(struct store *s, const struct gg_name *n)
{
	char p[PATH_MAX];
	struct stat st;
	if (!name_path(p, s, "objects", n))
		return 0;
	int r = stat(p, &st) == 0 && S_ISREG(st.st_mode);
	if (r && (uint64_t)st.st_size != gg_name_size(n)) {
		unlink(p);
		r = 0;
	}
	return r;
}

int store_open_object(struct store *s, const struct gg_name *n)
{
	char *p = store_object_path(s, n);
	int fd = open_checked(p, n);
	if (fd < 0) {
		if (errno == EBADMSG)
			gg_error("object %s was damaged (wrong size) and has been removed", n->s);
		else
			gg_error_errno("object %s is not in the store", n->s);
	}
	free(p);
	return fd;
}

int store_object_path_mode(struct store *s, const struct gg_name *n, bool exec, char **out)
{
	char *p = store_object_path(s, n);
	if (!exec) {
		*out = p;
		return 0;
	}
	char *x = fanout_path(s, "xobjects", n->s + 1, n->s, true);
	struct stat st;
	if (stat(x, &st) == 0) {
		if ((uint64_t)st.st_size == gg_name_size(n)) {
			free(p);
			*out = x;
			return 0;
		}
		unlink(x); /* damaged: made again below */
	}
	/* Make the executable twin: copy, chmod, rename (a hard link shares the mode). */
	int in = open_checked(p, n);
	if (in < 0) {
		gg_error_errno("object %s is not in the store", n->s);
		free(p);
		free(x);
		return -1;
	}
	char *tmp;
	int fd = make_temp_in(s->tmp, &tmp);
	int r = fd < 0 ? -1 : 0;
	if (r == 0) {
		off_t left = (off_t)gg_name_size(n);
		while (left > 0) {
			ssize_t c = copy_file_range(in, NULL, fd, NULL, (size_t)left, 0);
			if (c <= 0) {
				/* copy_file_range may be unsupported: fall back to read/write. */
				char chunk[65536];
				ssize_t m = read(in, chunk, sizeof chunk);
				if (m <= 0 || write_all(fd, chunk, (size_t)m) < 0) {
					r = gg_error_errno("cannot copy object %s", n->s);
					break;
				}
				c = m;
			}
			left -= c;
		}
		int moved = -1;
		if (r == 0 && (fchmod(fd, 0555) < 0 || (moved = move_noreplace(tmp, x)) < 0))
			r = gg_error_errno("cannot make executable copy of %s", n->s);
		close(fd);
		if (r < 0 || moved == 1)
			unlink(tmp); /* or another thread's twin won: the same bytes */
		free(tmp);
	}
	close(in);
	free(p);
	if (r < 0) {
		free(x);
		return -1;
	}
	*out = x;
	return 0;
}

/* How new files get their names (struct store's link_mode). */
enum { LINK_UNKNOWN, LINK_EMPTY_PATH, LINK_PROC, LINK_NONE };

static int link_mode(struct store *s)
{
	return __atomic_load_n(&s->link_mode, __ATOMIC_RELAXED);
}

static void set_link_mode(struct store *s, int m)
{
	__atomic_store_n(&s->link_mode, m, __ATOMIC_RELAXED);
}

/*
 * Gives the unnamed file fd (O_TMPFILE) the name dst: linkat(AT_EMPTY_PATH)
 * where this process may (CAP_DAC_READ_SEARCH), else through /proc/self/fd
 * (a few microseconds more). A missing fan-out directory is created. 0, or
 * -1 with errno (EEXIST if dst exists).
 */
static int link_fd(struct store *s, int fd, const char *dst)
{
	int m = link_mode(s);
	if (m == LINK_UNKNOWN || m == LINK_EMPTY_PATH) {
		for (int i = 0; i < 2; i++) {
			if (linkat(fd, "", AT_FDCWD, dst, AT_EMPTY_PATH) == 0) {
				if (m == LINK_UNKNOWN)
					set_link_mode(s, LINK_EMPTY_PATH);
				return 0;
			}
			if (errno != ENOENT && errno != EPERM)
				return -1; /* EEXIST, or a real failure */
			if (i == 0)
				make_parent(dst);
		}
		/* ENOENT with the directory there: not allowed to. */
		set_link_mode(s, LINK_PROC);
	}
	char proc[64];
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	for (int i = 0; i < 2; i++) {
		if (linkat(AT_FDCWD, proc, AT_FDCWD, dst, AT_SYMLINK_FOLLOW) == 0)
			return 0;
		if (errno == EPERM || errno == EOPNOTSUPP) {
			set_link_mode(s, LINK_NONE); /* no hard links here */
			return -1;
		}
		if (errno != ENOENT)
			return -1;
		if (i == 0)
			make_parent(dst);
	}
	if (access("/proc/self/fd", X_OK) < 0)
		set_link_mode(s, LINK_NONE); /* no /proc */
	errno = ENOENT;
	return -1;
}

/* The classic way: a named temp file renamed over dst. */
/* A named temp file moved to dst; an existing dst is replaced if `replace`,
 * else kept (see move_noreplace). */
static int put_named(struct store *s, const char *dst, const void *data, size_t len, mode_t mode,
                     bool replace)
{
	char *tmp;
	int fd = make_temp_in(s->tmp, &tmp);
	if (fd < 0)
		return -1;
	int r = write_all(fd, data, len);
	if (r == 0 && mode != 0600) /* mkostemp made it 0600 */
		r = fchmod(fd, mode);
	int e = errno;
	close(fd);
	if (r == 0 && replace)
		r = rename_into(tmp, dst);
	else if (r == 0 && move_noreplace(tmp, dst) != 0)
		r = errno == EEXIST ? 1 : -1;
	if (r != 0) {
		e = errno;
		unlink(tmp);
	}
	if (r > 0)
		r = 0; /* already there: the same bytes */
	free(tmp);
	errno = e;
	return r;
}

/*
 * Writes a new file at dst (and, if dst2, a second link to it there)
 * atomically: a reader sees all of it or nothing. The file is made unnamed
 * (O_TMPFILE in tmp/) and linked into place: fewer system calls than a named
 * temp file and a rename, and nothing left behind by a crash. Where the file
 * system does not allow that, a named temp file is renamed into place.
 *
 * mode is the file's mode: less the umask (as mkostemp's 0600), or exactly
 * if `exact`. An existing dst is replaced if `replace`, else kept (an
 * object: the same bytes by construction). -1 with errno set on failure.
 */
static int write_new_file(struct store *s, const char *dst, const char *dst2, const void *data,
                          size_t len, mode_t mode, bool exact, bool replace)
{
	int fd = -1;
	if (link_mode(s) != LINK_NONE) {
		fd = open(s->tmp, O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
		if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL))
			set_link_mode(s, LINK_NONE); /* no O_TMPFILE here */
		if (fd >= 0 && (write_all(fd, data, len) < 0 ||
		                (exact && !s->exact_mode && fchmod(fd, mode) < 0))) {
			int e = errno;
			close(fd);
			errno = e;
			return -1;
		}
	}
	int r = -1;
	if (fd >= 0) {
		r = link_fd(s, fd, dst);
		if (r < 0 && errno == EEXIST && !replace) {
			r = 0;
		} else if (r < 0 && errno != EEXIST) {
			close(fd); /* cannot be linked: a named file */
			fd = -1;
		}
	}
	if (r < 0 && put_named(s, dst, data, len, mode, replace) < 0)
		goto fail;
	if (dst2) {
		r = fd >= 0 ? link_fd(s, fd, dst2) : link(dst, dst2);
		if (r < 0 && fd < 0 && errno == ENOENT) {
			make_parent(dst2);
			r = link(dst, dst2);
		}
		if (r < 0 && (errno != EEXIST || replace) &&
		    put_named(s, dst2, data, len, mode, replace) < 0)
			goto fail;
	}
	if (fd >= 0)
		close(fd);
	return 0;
fail:
	if (fd >= 0) {
		int e = errno;
		close(fd);
		errno = e;
	}
	return -1;
}

/* Moves a finished temp file into place as object n, or drops it when the
 * object is already there (never replaced: see move_noreplace). */
static int install_object(struct store *s, const char *tmp, const struct gg_name *n)
{
	char *dst = fanout_path(s, "objects", n->s + 1, n->s, true);
	int r = move_noreplace(tmp, dst);
	if (r == 1 && !store_has(s, n)) /* a damaged copy, now removed */
		r = move_noreplace(tmp, dst);
	if (r < 0)
		r = gg_error_errno("cannot store object %s", n->s);
	if (r != 0)
		unlink(tmp);
	if (r > 0)
		r = 0;
	free(dst);
	return r;
}

int store_put_buf(struct store *s, const void *data, size_t len, char kind, struct gg_name *out)
{
	gg_name_of_buf(data, len, kind, out);
	if (store_has(s, out))
		return 0;
	char p[PATH_MAX];
	if (!name_path(p, s, "objects", out) ||
	    write_new_file(s, p, NULL, data, len, 0444, true, false) < 0)
		return gg_error_errno("cannot store object %s", out->s);
	return 0;
}

int store_put_fd(struct store *s, int in, struct gg_name *out)
{
	char *tmp;
	int fd = make_temp_in(s->tmp, &tmp);
	if (fd < 0)
		return -1;
	struct gg_hasher h;
	gg_hasher_init(&h);
	char *chunk = xmalloc(1 << 17);
	int r = 0;
	for (;;) {
		ssize_t n = read(in, chunk, 1 << 17);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = gg_error_errno("read failed");
			break;
		}
		if (n == 0)
			break;
		gg_hasher_update(&h, chunk, (size_t)n);
		if (write_all(fd, chunk, (size_t)n) < 0) {
			r = gg_error_errno("cannot write to the store");
			break;
		}
	}
	free(chunk);
	gg_hasher_final(&h, 0, out);
	if (r == 0 && fchmod(fd, 0444) < 0)
		r = gg_error_errno("cannot chmod a new object");
	close(fd);
	if (r == 0)
		r = install_object(s, tmp, out);
	else
		unlink(tmp);
	free(tmp);
	return r;
}

int store_put_file(struct store *s, const char *path, struct gg_name *out)
{
	if (store_hash_file(s, path, out) == 0 && store_has(s, out))
		return 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return gg_error_errno("cannot open %s", path);
	int r = store_put_fd(s, fd, out);
	close(fd);
	if (r < 0)
		return gg_error("cannot store %s: %s", path, gg_last_error());
	return 0;
}

/* File capabilities, ACLs, security labels, user attributes: a linked
 * object would keep them, a copy has none. */
static bool has_xattrs(int fd)
{
	ssize_t n = flistxattr(fd, NULL, 0);
	return n != 0 && !(n < 0 && (errno == ENOTSUP || errno == ENOSYS));
}

/* The copying way of store_adopt_fd: from the start of fd. */
static int adopt_copy(struct store *s, int fd, struct gg_name *out)
{
	if (lseek(fd, 0, SEEK_SET) < 0)
		return gg_error_errno("cannot rewind the file");
	return store_put_fd(s, fd, out);
}

int store_adopt_fd(struct store *s, int fd, bool may_link, struct gg_name *out)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return gg_error_errno("cannot stat the file");
	if (!S_ISREG(st.st_mode))
		return gg_error("not a regular file");
	/* Another link would see the mode and owner change, and could write
	 * the object; attributes would come along. */
	if (!may_link || st.st_nlink != 1 || has_xattrs(fd) || link_mode(s) == LINK_NONE)
		return adopt_copy(s, fd, out);
	int r = gg_name_of_fd(fd, 0, out);
	if (r == 0 && (uint64_t)st.st_size != gg_name_size(out))
		r = gg_error("the file changed while it was being stored");
	if (r < 0 || store_has(s, out))
		return r;
	/* Root's, 0444: no setuid/setgid bit, nothing for the sandbox's user.
	 * Through fd only; a failure leaves the copy. */
	if ((geteuid() == 0 && (st.st_uid != 0 || st.st_gid != 0) && fchown(fd, 0, 0) < 0) ||
	    fchmod(fd, 0444) < 0)
		return adopt_copy(s, fd, out);
	char p[PATH_MAX];
	if (!name_path(p, s, "objects", out))
		return gg_error_errno("cannot store object %s", out->s);
	if (link_fd(s, fd, p) == 0 || errno == EEXIST)
		return 0;
	return adopt_copy(s, fd, out); /* no way to link it here */
}

int store_read(struct store *s, const struct gg_name *n, struct buf *out, size_t max)
{
	uint64_t size = gg_name_size(n);
	if (size > max)
		return gg_error("object %s is larger than %zu bytes", n->s, max);
	char p[PATH_MAX];
	int fd = name_path(p, s, "objects", n) ? open(p, O_RDONLY | O_CLOEXEC) : -1;
	if (fd < 0)
		return gg_error_errno("object %s is not in the store", n->s);
	/* The size is in the name: one read of a byte more than that sees a
	 * short or a long object without an fstat (a short read of a regular
	 * file is its end). */
	size_t start = out->len, want = (size_t)size + 1, got = 0;
	buf_grow(out, want);
	for (;;) {
		ssize_t r = read(fd, out->data + start + got, want - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			gg_error_errno("cannot read object %s", n->s);
			close(fd);
			out->data[start] = 0;
			return -1;
		}
		got += (size_t)r;
		if (r == 0 || got == want || (got == size && (size_t)r < want - (got - (size_t)r)))
			break;
	}
	close(fd);
	if (got != size) {
		out->data[start] = 0;
		unlink(p);
		return gg_error("object %s was damaged (wrong size) and has been removed", n->s);
	}
	struct gg_name check;
	gg_name_of_buf(out->data + start, got, gg_name_kind(n), &check);
	if (!gg_name_eq(&check, n)) {
		out->data[start] = 0;
		unlink(p);
		return gg_error(
		    "object %s is corrupt (its content hashes to %s); it has been removed", n->s,
		    check.s);
	}
	out->len = start + got;
	out->data[out->len] = 0;
	return 0;
}

/* ---- the stat-keyed hash cache ---- */

static char *hashcache_path(struct store *s, const struct stat *st, bool create)
{
	char fan[3], key[64];
	snprintf(fan, sizeof fan, "%02x", (unsigned)(st->st_ino & 0xff));
	snprintf(key, sizeof key, "%llx-%llx", (unsigned long long)st->st_dev,
	         (unsigned long long)st->st_ino);
	return fanout_path(s, "hashcache", fan, key, create);
}

static void stat_key(const struct stat *st, char *out, size_t n)
{
	snprintf(out, n, "%lld %lld.%09ld %lld.%09ld ", (long long)st->st_size,
	         (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec, (long long)st->st_ctim.tv_sec,
	         st->st_ctim.tv_nsec);
}

/* The cached name of a file with this stat, if the hash cache has it. */
static int hashcache_get(struct store *s, const struct stat *st, struct gg_name *out)
{
	char key[128];
	stat_key(st, key, sizeof key);
	char *cp = hashcache_path(s, st, false);
	struct buf b = BUF_INIT;
	int r = read_file(cp, &b, 512) == 0 && b.len == strlen(key) + GG_NAME_LEN &&
	                !strncmp(b.data, key, strlen(key)) &&
	                gg_name_parse(b.data + strlen(key), GG_NAME_LEN, out) == 0
	            ? 0
	            : -1;
	buf_free(&b);
	free(cp);
	return r;
}

int store_hash_file(struct store *s, const char *path, struct gg_name *out)
{
	/* A cache hit needs only a stat: the models check hundreds of files
	 * per command this way. */
	struct stat st, was;
	bool looked = stat(path, &was) == 0 && S_ISREG(was.st_mode);
	if (looked && hashcache_get(s, &was, out) == 0)
		return 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return gg_error_errno("cannot open %s", path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return gg_error("%s is not a regular file", path);
	}
	/* Ask the cache again only if the file changed since the stat. */
	bool same = looked && st.st_dev == was.st_dev && st.st_ino == was.st_ino &&
	            st.st_size == was.st_size && st.st_mtim.tv_sec == was.st_mtim.tv_sec &&
	            st.st_mtim.tv_nsec == was.st_mtim.tv_nsec &&
	            st.st_ctim.tv_sec == was.st_ctim.tv_sec &&
	            st.st_ctim.tv_nsec == was.st_ctim.tv_nsec;
	int r = same ? -1 : hashcache_get(s, &st, out);
	if (r < 0) {
		/* A file modified within the current second could change again
		 * without a visible mtime change; don't cache it. */
		r = gg_name_of_fd(fd, 0, out);
		if (r < 0) {
			gg_error("cannot hash %s: %s", path, gg_last_error());
		} else if (st.st_mtim.tv_sec < time(NULL) - 1) {
			char key[128];
			stat_key(&st, key, sizeof key);
			struct buf b = BUF_INIT;
			buf_adds(&b, key);
			buf_adds(&b, out->s);
			char *cp = hashcache_path(s, &st, true);
			make_parent(cp);
			write_cache_file(cp, b.data, b.len, 0644); /* a cache: failure is fine */
			free(cp);
			buf_free(&b);
		}
	}
	close(fd);
	return r;
}

/* ---- the memo ---- */

void memo_add(struct memo *m, const char *path, const struct gg_name *value, bool exec)
{
	m->v = xrealloc(m->v, (m->n + 1) * sizeof *m->v);
	m->v[m->n++] = (struct memo_output){xstrdup(path), *value, exec};
}

const struct memo_output *memo_find(const struct memo *m, const char *path)
{
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->v[i].path, path))
			return &m->v[i];
	return NULL;
}

void memo_free(struct memo *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].path);
	free(m->v);
	m->v = NULL;
	m->n = 0;
}

#define MEMO_MAGIC "ggmemo 1\n"

int memo_encode(const struct memo *m, struct buf *out)
{
	buf_adds(out, MEMO_MAGIC);
	for (size_t i = 0; i < m->n; i++) {
		buf_printf(out, "out %c %s %zu ", m->v[i].exec ? 'x' : '-', m->v[i].value.s,
		           strlen(m->v[i].path));
		buf_adds(out, m->v[i].path);
		buf_addc(out, '\n');
	}
	return 0;
}

/* Reads a canonical decimal (no sign, no leading zero) ending in `term`. */
static const char *memo_number(const char *p, const char *end, char term, size_t *out)
{
	const char *start = p;
	size_t v = 0;
	while (p < end && *p >= '0' && *p <= '9') {
		if (v > (SIZE_MAX - 9) / 10)
			return NULL;
		v = v * 10 + (size_t)(*p++ - '0');
	}
	if (p == start || (p - start > 1 && *start == '0') || p == end || *p != term)
		return NULL;
	*out = v;
	return p + 1;
}

int memo_parse(const char *data, size_t len, struct memo *out)
{
	memset(out, 0, sizeof *out);
	size_t ml = sizeof(MEMO_MAGIC) - 1;
	if (len < ml || memcmp(data, MEMO_MAGIC, ml))
		return gg_error("malformed memo entry: bad header");
	const char *p = data + ml, *end = data + len;
	while (p < end) {
		/* "out X NAME LEN PATH\n" */
		if ((size_t)(end - p) < 7 + GG_NAME_LEN || memcmp(p, "out ", 4) ||
		    (p[4] != 'x' && p[4] != '-') || p[5] != ' ')
			goto bad;
		bool exec = p[4] == 'x';
		struct gg_name name;
		if (gg_name_parse(p + 6, GG_NAME_LEN, &name) < 0)
			goto bad;
		p += 6 + GG_NAME_LEN;
		if (*p++ != ' ')
			goto bad;
		size_t n;
		p = memo_number(p, end, ' ', &n);
		if (!p || n >= (size_t)(end - p) || p[n] != '\n' || memchr(p, 0, n) || n == 0)
			goto bad;
		char *path = xstrndup(p, n);
		memo_add(out, path, &name, exec);
		free(path);
		p += n + 1;
	}
	if (out->n == 0)
		goto bad;
	return 0;
bad:
	memo_free(out);
	return gg_error("malformed memo entry");
}

int memo_get(struct store *s, const struct gg_name *thunk, struct memo *out)
{
	memset(out, 0, sizeof *out);
	char p[PATH_MAX];
	struct stat st;
	/* The common case is a miss: a failed stat costs less than a failed
	 * open (no file to allocate and free). */
	if (!name_path(p, s, "memo", thunk) || stat(p, &st) < 0)
		return 0;
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	struct buf b = BUF_INIT;
	int r = 0;
	if (read_fd_all(fd, &b, 1 << 20) == 0 && memo_parse(b.data, b.len, out) == 0) {
		r = 1;
		for (size_t i = 0; i < out->n; i++)
			if (!store_has(s, &out->v[i].value))
				r = 0;
		if (!r)
			memo_free(out);
	} else {
		unlink(p); /* damaged: forget it, the thunk runs again */
	}
	close(fd);
	buf_free(&b);
	return r;
}

int memo_put2(struct store *s, const struct gg_name *a, const struct gg_name *b,
              const struct memo *m)
{
	struct buf enc = BUF_INIT;
	memo_encode(m, &enc);
	char pa[PATH_MAX], pb[PATH_MAX];
	const struct gg_name *bad = a;
	int r = -1;
	/* Memo files are 0600 less the umask, as mkostemp makes them. Under
	 * two names: one file, two links (the second name costs no inode and
	 * no write). An existing entry is replaced, as a rename would. */
	if (name_path(pa, s, "memo", a)) {
		bool two = b && !gg_name_eq(a, b);
		bad = b;
		if (!two || name_path(pb, s, "memo", b)) {
			bad = a;
			r = write_new_file(s, pa, two ? pb : NULL, enc.data, enc.len, 0600, false,
			                   true);
		}
	}
	if (r < 0)
		gg_error_errno("cannot write the memo of %s", bad->s);
	buf_free(&enc);
	return r;
}

int memo_put(struct store *s, const struct gg_name *thunk, const struct memo *m)
{
	return memo_put2(s, thunk, NULL, m);
}

/*
 * Per-thunk locks are byte-range locks on one file (.gg/locks/thunks), at an
 * offset taken from the thunk's digest: no file per thunk to create. They
 * are open-file-description locks, so they exclude other threads of this
 * process as well as other processes, and vanish if the holder dies.
 *
 * Two locks taken through one open file description do not exclude each
 * other, so each held lock has a description of its own. Released ones go
 * back to a small pool instead of being closed (an open per lock costs more
 * than the lock). A forked child does not use the pool: it shares those
 * descriptions with its parent.
 */
#define LOCK_POOL_MAX 64

static int lock_fd_get(struct store *s)
{
	if (s->fork_gen == fork_gen) {
		int fd = -1;
		pthread_mutex_lock(&s->lock_mu);
		if (s->nlock_pool)
			fd = s->lock_pool[--s->nlock_pool];
		pthread_mutex_unlock(&s->lock_mu);
		if (fd >= 0)
			return fd;
	}
	char p[PATH_MAX];
	if ((size_t)snprintf(p, sizeof p, "%s/locks/thunks", s->root) >= sizeof p) {
		errno = ENAMETOOLONG;
		return gg_error_errno("cannot open lock file in %s", s->root);
	}
	int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return gg_error_errno("cannot open lock file %s", p);
	return fd;
}

/* fd holds no lock: keep it for the next one. */
static void lock_fd_put(struct store *s, int fd)
{
	if (s->fork_gen == fork_gen) {
		pthread_mutex_lock(&s->lock_mu);
		if (s->nlock_pool < LOCK_POOL_MAX) {
			if (!s->lock_pool)
				s->lock_pool = xmalloc(LOCK_POOL_MAX * sizeof *s->lock_pool);
			s->lock_pool[s->nlock_pool++] = fd;
			fd = -1;
		}
		pthread_mutex_unlock(&s->lock_mu);
	}
	if (fd >= 0)
		close(fd);
}

static int lock_thunk(struct store *s, const struct gg_name *thunk, bool wait)
{
	int fd = lock_fd_get(s);
	if (fd < 0)
		return -1;
	uint64_t off = 0;
	for (int i = 1; i <= 15; i++)
		off = off << 4 |
		      (uint64_t)(thunk->s[i] <= '9' ? thunk->s[i] - '0' : thunk->s[i] - 'a' + 10);
	struct flock fl = {
	    .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = (off_t)(off >> 2), .l_len = 1};
	while (fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl) < 0) {
		int e = errno;
		if (e == EINTR)
			continue;
		if (!wait && (e == EAGAIN || e == EACCES)) {
			lock_fd_put(s, fd);
			return -2;
		}
		close(fd);
		errno = e;
		return gg_error_errno("cannot lock thunk %s", thunk->s);
	}
	return fd;
}

int store_lock_thunk(struct store *s, const struct gg_name *thunk)
{
	return lock_thunk(s, thunk, true);
}

int store_trylock_thunk(struct store *s, const struct gg_name *thunk)
{
	return lock_thunk(s, thunk, false);
}

void store_unlock_thunk(struct store *s, int fd)
{
	if (fd < 0)
		return;
	/* The description holds just this lock: unlock the whole file. */
	struct flock fl = {.l_type = F_UNLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
	if (fcntl(fd, F_OFD_SETLK, &fl) < 0)
		close(fd);
	else
		lock_fd_put(s, fd);
}

int store_make_tmpdir(struct store *s, const char *prefix, char **out)
{
	char *p = xasprintf("%s/%s-XXXXXX", s->tmp, prefix);
	if (!mkdtemp(p)) {
		gg_error_errno("cannot create a directory in %s", s->tmp);
		free(p);
		return -1;
	}
	*out = p;
	return 0;
}

/* ---- garbage collection ---- */

struct gc_entry {
	char *path;
	uint64_t size;
	struct timespec atime;
	bool thunk;
};

static int cmp_atime(const void *a, const void *b)
{
	const struct gc_entry *x = a, *y = b;
	if (x->atime.tv_sec != y->atime.tv_sec)
		return x->atime.tv_sec < y->atime.tv_sec ? -1 : 1;
	if (x->atime.tv_nsec != y->atime.tv_nsec)
		return x->atime.tv_nsec < y->atime.tv_nsec ? -1 : 1;
	return strcmp(x->path, y->path);
}

static void gc_scan(const char *top, struct gc_entry **v, size_t *n, size_t *cap)
{
	DIR *d = opendir(top);
	if (!d)
		return;
	struct dirent *fan;
	while ((fan = readdir(d))) {
		if (fan->d_name[0] == '.')
			continue;
		char *sub = xasprintf("%s/%s", top, fan->d_name);
		DIR *e = opendir(sub);
		struct dirent *obj;
		while (e && (obj = readdir(e))) {
			if (obj->d_name[0] == '.')
				continue;
			char *p = xasprintf("%s/%s", sub, obj->d_name);
			struct stat st;
			if (stat(p, &st) < 0) {
				free(p);
				continue;
			}
			if (*n == *cap) {
				*cap = *cap ? 2 * *cap : 256;
				*v = xrealloc(*v, *cap * sizeof **v);
			}
			(*v)[(*n)++] = (struct gc_entry){p, (uint64_t)st.st_size, st.st_atim,
			                                 obj->d_name[0] == 'T'};
		}
		if (e)
			closedir(e);
		free(sub);
	}
	closedir(d);
}

int store_gc(struct store *s, uint64_t max_size, struct gc_stats *st)
{
	struct gc_entry *v = NULL;
	size_t n = 0, cap = 0;
	char *objs = xasprintf("%s/objects", s->root), *xobjs = xasprintf("%s/xobjects", s->root);
	gc_scan(objs, &v, &n, &cap);
	gc_scan(xobjs, &v, &n, &cap);
	free(objs);
	free(xobjs);
	uint64_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += v[i].size;
	memset(st, 0, sizeof *st);
	st->before = total;
	if (n > 1)
		qsort(v, n, sizeof *v, cmp_atime);
	for (size_t i = 0; i < n && total > max_size; i++) {
		if (v[i].thunk)
			continue;
		if (unlink(v[i].path) == 0) {
			total -= v[i].size;
			st->removed_objects++;
		}
	}
	st->after = total;
	for (size_t i = 0; i < n; i++)
		free(v[i].path);
	free(v);
	/* Memo entries pointing at removed objects are misses (memo_get checks). */
	return 0;
}
