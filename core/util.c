/**
 * @file util.c
 * Shared helpers: allocation, buffers, string vectors, the thread-local error
 * message and crash-safe file writing. See util.h for the conventions.
 */
#include "core/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

static _Noreturn void out_of_memory(size_t n)
{
	fprintf(stderr, "gg: out of memory allocating %zu bytes\n", n);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		out_of_memory(n);
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		out_of_memory(n * size);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		out_of_memory(n);
	return p;
}

void *xreallocarray(void *p, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		out_of_memory(SIZE_MAX);
	return xrealloc(p, n * size);
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = 0;
	return p;
}

char *xvasprintf(const char *fmt, va_list ap)
{
	struct buf b = BUF_INIT;
	char tmp[256];
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		n = 0;
	buf_grow(&b, (size_t)n + 1);
	vsnprintf(b.data, (size_t)n + 1, fmt, ap);
	b.len = (size_t)n;
	return buf_steal(&b);
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = xvasprintf(fmt, ap);
	va_end(ap);
	return s;
}

void buf_grow(struct buf *b, size_t extra)
{
	if (b->len + extra + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < b->len + extra + 1)
		cap *= 2;
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
}

void buf_add(struct buf *b, const void *data, size_t len)
{
	buf_grow(b, len);
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = 0;
}

void buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void buf_addc(struct buf *b, char c)
{
	buf_add(b, &c, 1);
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap, ap2;
	va_start(ap, fmt);
	va_copy(ap2, ap);
	buf_grow(b, 64);
	int n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n >= b->cap - b->len) {
		buf_grow(b, (size_t)n);
		vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap2);
	}
	va_end(ap2);
	if (n > 0)
		b->len += (size_t)n;
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = 0;
}

void buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

char *buf_steal(struct buf *b)
{
	if (!b->data)
		buf_grow(b, 0), b->data[0] = 0;
	char *p = b->data;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

void strvec_push_take(struct strvec *sv, char *s)
{
	if (sv->n + 2 > sv->cap) {
		sv->cap = sv->cap ? sv->cap * 2 : 8;
		sv->v = xrealloc(sv->v, sv->cap * sizeof *sv->v);
	}
	sv->v[sv->n++] = s;
	sv->v[sv->n] = NULL;
}

void strvec_push(struct strvec *sv, const char *s)
{
	strvec_push_take(sv, xstrdup(s));
}

void strvec_pushn(struct strvec *sv, const char *s, size_t len)
{
	strvec_push_take(sv, xstrndup(s, len));
}

void strvec_clear(struct strvec *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	sv->n = 0;
	if (sv->v)
		sv->v[0] = NULL;
}

void strvec_free(struct strvec *sv)
{
	strvec_clear(sv);
	free(sv->v);
	sv->v = NULL;
	sv->cap = 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void strvec_sort(struct strvec *sv)
{
	if (sv->n > 1)
		qsort(sv->v, sv->n, sizeof *sv->v, cmp_str);
}

int read_fd_all(int fd, struct buf *out, size_t max)
{
	for (;;) {
		buf_grow(out, 65536);
		ssize_t n = read(fd, out->data + out->len, out->cap - out->len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return gg_error_errno("read failed");
		}
		if (n == 0)
			break;
		out->len += (size_t)n;
		if (out->len > max)
			return gg_error("larger than %zu bytes", max);
	}
	out->data[out->len] = 0;
	return 0;
}

int open_regular(const char *path)
{
	/* Looked at before it is opened: opening a device may do something
	 * (rewind a tape), a socket cannot be opened, a FIFO's open would
	 * wait for a writer or release one. O_NONBLOCK and fstat cover a
	 * file swapped in between. */
	struct stat st;
	if (stat(path, &st) < 0)
		return gg_error_errno("cannot open %s", path);
	if (!S_ISREG(st.st_mode))
		return gg_error("%s is not a regular file", path);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return gg_error_errno("cannot open %s", path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return gg_error("%s is not a regular file", path);
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return gg_error_errno("cannot open %s", path);
	}
	return fd;
}

int read_file(const char *path, struct buf *out, size_t max)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return gg_error_errno("cannot open %s", path);
	int r = read_fd_all(fd, out, max);
	close(fd);
	if (r < 0)
		return gg_error("cannot read %s: %s", path, gg_last_error());
	return 0;
}

int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int make_temp_in(const char *dir, char **tmp_path)
{
	char *p = xasprintf("%s/.tmp-XXXXXX", dir);
	int fd = mkostemp(p, O_CLOEXEC);
	if (fd < 0) {
		gg_error_errno("cannot create a temporary file in %s", dir);
		free(p);
		return -1;
	}
	*tmp_path = p;
	return fd;
}

int make_temp_at(int dirfd, char name[TEMP_NAME_MAX])
{
	static const char digits[] =
	    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t x =
	    (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ ((uint64_t)getpid() << 12);
	for (int attempt = 0; attempt < 100; attempt++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL; /* an LCG step */
		memcpy(name, ".tmp-", 5);
		for (int i = 0; i < 6; i++)
			name[5 + i] = digits[(x >> (10 + 6 * i)) % (sizeof digits - 1)];
		name[11] = 0;
		int fd =
		    openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			return fd >= 0 ? fd : gg_error_errno("cannot create a temporary file");
	}
	return gg_error("cannot create a temporary file: every name tried exists");
}

static int write_atomic(const char *path, const void *data, size_t len, mode_t mode, bool sync)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup(".");
	if (!*dir) {
		free(dir);
		dir = xstrdup("/");
	}
	char *tmp;
	int fd = make_temp_in(dir, &tmp);
	free(dir);
	if (fd < 0)
		return -1;
	if (write_all(fd, data, len) < 0 || fchmod(fd, mode) < 0 || (sync && fsync(fd) < 0)) {
		gg_error_errno("cannot write %s", path);
		close(fd);
		unlink(tmp);
		free(tmp);
		return -1;
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		gg_error_errno("cannot rename %s to %s", tmp, path);
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}

int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	return write_atomic(path, data, len, mode, true);
}

int write_cache_file(const char *path, const void *data, size_t len, mode_t mode)
{
	return write_atomic(path, data, len, mode, false);
}

bool same_inode(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

#ifndef FUSE_SUPER_MAGIC
#define FUSE_SUPER_MAGIC 0x65735546 /* linux/magic.h */
#endif

bool on_fuse(const char *path)
{
	struct statfs sfs;
	return statfs(path, &sfs) == 0 && sfs.f_type == FUSE_SUPER_MAGIC;
}

int mkdir_p(const char *path, mode_t mode)
{
	if (mkdir(path, mode) == 0 || errno == EEXIST)
		return 0; /* the common case: one system call */
	char *p = xstrdup(path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, mode) < 0 && errno != EEXIST) {
			gg_error_errno("cannot create directory %s", p);
			free(p);
			return -1;
		}
		*s = '/';
	}
	int r = 0;
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		r = gg_error_errno("cannot create directory %s", p);
	free(p);
	return r;
}

/*
 * remove_tree works by descriptors: each directory is opened relative to its
 * parent with O_NOFOLLOW and each entry removed with unlinkat() relative to
 * it, so a symbolic link is removed, never followed, even when a program
 * still running (or a sandbox's last act) swapped a directory for a link to a
 * host directory. A directory deeper than RM_MAX_DEPTH is first moved up to
 * the top directory (renameat2 within the tree), so a hostile tree of any
 * depth costs a bounded number of descriptors and stack frames.
 */
#define RM_MAX_DEPTH 32

struct rm {
	int top;          /* the tree's top directory */
	const char *path; /* its path, for messages */
	unsigned moved;   /* directories moved up to top in this pass */
	unsigned serial;  /* for their names */
	int r;            /* -1 once an entry could not be removed */
};

static void rm_fail(struct rm *r, const char *what, const char *name)
{
	if (r->r == 0)
		gg_error_errno("cannot %s %s in %s", what, name, r->path);
	r->r = -1;
}

/* Opens a directory entry for reading without following a link; a
 * directory we may not read or write (sandboxes leave read-only ones) is
 * made so first, through its own O_PATH descriptor. */
static int rm_open_dir(int dir, const char *name)
{
	int fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == EACCES) {
		int p = openat(dir, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		struct stat st;
		if (p < 0)
			return -1;
		char proc[64];
		snprintf(proc, sizeof proc, "/proc/self/fd/%d", p);
		if (fstat(p, &st) == 0)
			chmod(proc, (st.st_mode & 07777) | 0700); /* the fd's inode itself */
		close(p);
		fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	struct stat st;
	if (fd >= 0 && fstat(fd, &st) == 0 && (st.st_mode & 0700) != 0700)
		fchmod(fd, (st.st_mode & 07777) | 0700);
	return fd;
}

static void rm_contents(struct rm *r, int fd, const char *name, int depth);

/* Removes the directory `name` in dir, with everything in it. */
static void rm_dir(struct rm *r, int dir, const char *name, int depth)
{
	if (depth > RM_MAX_DEPTH) {
		for (;;) {
			char up[32];
			snprintf(up, sizeof up, ".gg-rm-%u", r->serial++);
			if (renameat2(dir, name, r->top, up, RENAME_NOREPLACE) == 0) {
				r->moved++;
				return;
			}
			if (errno != EEXIST)
				break; /* then the slow way */
		}
	}
	int fd = rm_open_dir(dir, name);
	if (fd < 0) {
		/* swapped for a file or a link since readdir: remove that */
		if ((errno == ENOTDIR || errno == ELOOP) && unlinkat(dir, name, 0) == 0)
			return;
		if (errno != ENOENT)
			rm_fail(r, "open directory", name);
		return;
	}
	rm_contents(r, fd, name, depth);
	close(fd);
	if (unlinkat(dir, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		rm_fail(r, "remove directory", name);
}

/* Removes every entry of the directory open as fd. */
static void rm_contents(struct rm *r, int fd, const char *name, int depth)
{
	int dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	DIR *d = dup < 0 ? NULL : fdopendir(dup);
	if (!d) {
		if (dup >= 0)
			close(dup);
		rm_fail(r, "read directory", name);
		return;
	}
	rewinddir(d); /* the duplicate shares fd's offset: the top is read again */
	struct dirent *e;
	while ((e = readdir(d))) {
		const char *n = e->d_name;
		if (n[0] == '.' && (n[1] == 0 || (n[1] == '.' && n[2] == 0)))
			continue;
		if (e->d_type != DT_DIR) {
			if (unlinkat(fd, n, 0) == 0 || errno == ENOENT)
				continue;
			if (errno != EISDIR && errno != EPERM) {
				rm_fail(r, "remove", n);
				continue;
			}
		}
		rm_dir(r, fd, n, depth + 1);
	}
	closedir(d);
}

int remove_tree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : gg_error_errno("cannot stat %s", path);
	if (!S_ISDIR(st.st_mode)) {
		if (unlink(path) < 0 && errno != ENOENT)
			return gg_error_errno("cannot remove %s", path);
		return 0;
	}
	struct rm r = {.path = path};
	r.top = rm_open_dir(AT_FDCWD, path);
	if (r.top < 0)
		return gg_error_errno("cannot open directory %s", path);
	do {
		r.moved = 0;
		rm_contents(&r, r.top, path, 0);
	} while (r.moved && r.r == 0);
	close(r.top);
	if (r.r == 0 && rmdir(path) < 0 && errno != ENOENT)
		r.r = gg_error_errno("cannot remove directory %s", path);
	return r.r;
}

int path_check_relative(const char *path, const char *what)
{
	if (!*path)
		return gg_error("%s: empty path", what);
	if (path[0] == '/')
		return gg_error("%s '%s': absolute paths are not allowed in a thunk", what, path);
	const char *s = path;
	for (;;) {
		const char *e = strchr(s, '/');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		if (n == 0)
			return gg_error("%s '%s': empty path component", what, path);
		if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
			return gg_error("%s '%s': '.' and '..' are not allowed in a thunk path",
			                what, path);
		if (!e)
			break;
		s = e + 1;
	}
	return 0;
}

bool env_name_is_secret(const char *name, size_t len)
{
	static const char *const exact[] = {"AWS_LAMBDA_RUNTIME_API",
	                                    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
	                                    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "GG_STORAGE"};
	static const char *const parts[] = {"SECRET",     "TOKEN",      "PASSW",
	                                    "CREDENTIAL", "PRIVATE",    "API_KEY",
	                                    "APIKEY",     "ACCESS_KEY", "AUTH"};
	for (size_t i = 0; i < GG_ARRAY_LEN(exact); i++)
		if (strlen(exact[i]) == len && !strncmp(name, exact[i], len))
			return true;
	for (size_t i = 0; i < GG_ARRAY_LEN(parts); i++) {
		size_t k = strlen(parts[i]);
		for (size_t at = 0; at + k <= len; at++)
			if (!strncasecmp(name + at, parts[i], k))
				return true;
	}
	return false;
}

size_t env_scrub_secrets(void)
{
	extern char **environ;
	size_t n = 0;
	bool again = true;
	while (again) {
		again = false;
		for (char **e = environ; e && *e; e++) {
			char *eq = strchr(*e, '=');
			size_t len = eq ? (size_t)(eq - *e) : strlen(*e);
			if (!env_name_is_secret(*e, len))
				continue;
			char *entry = *e, *name = xstrndup(entry, len);
			size_t all = strlen(entry);
			unsetenv(name); /* changes environ: look again from the start */
			explicit_bzero(entry, all);
			free(name);
			n++;
			again = true;
			break;
		}
	}
	return n;
}

uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int parse_u64(const char *s, uint64_t *out)
{
	if (!*s)
		return -1;
	uint64_t v = 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

int env_u64(const char *var, uint64_t dflt, uint64_t min, uint64_t max, uint64_t *out)
{
	const char *s = getenv(var);
	*out = dflt;
	if (!s || !*s)
		return 0;
	if (parse_u64(s, out) < 0 || *out < min || *out > max) {
		*out = dflt;
		return gg_fail(GG_EUSAGE, "%s=%s: expected a whole number from %llu to %llu", var,
		               s, (unsigned long long)min, (unsigned long long)max);
	}
	return 0;
}

int parse_size(const char *s, uint64_t *out)
{
	size_t n = strlen(s);
	if (!n)
		return -1;
	unsigned shift = 0;
	switch (s[n - 1]) {
	case 'k':
	case 'K': shift = 10; break;
	case 'm':
	case 'M': shift = 20; break;
	case 'g':
	case 'G': shift = 30; break;
	case 't':
	case 'T': shift = 40; break;
	}
	char *num = xstrndup(s, shift ? n - 1 : n);
	uint64_t v;
	int r = parse_u64(num, &v);
	free(num);
	if (r < 0 || (shift && v > (UINT64_MAX >> shift)))
		return -1;
	*out = v << shift;
	return 0;
}

/* v with the largest suffix that writes it exactly: 5M, 200M, 1536K, 0. */
static void size_word(uint64_t v, char out[24])
{
	static const char suffix[] = "KMGT";
	size_t unit = 0;
	while (v && v % 1024 == 0 && unit < sizeof suffix - 1) {
		v /= 1024;
		unit++;
	}
	if (unit)
		snprintf(out, 24, "%llu%c", (unsigned long long)v, suffix[unit - 1]);
	else
		snprintf(out, 24, "%llu", (unsigned long long)v);
}

int env_size(const char *var, uint64_t dflt, uint64_t min, uint64_t max, uint64_t *out)
{
	const char *s = getenv(var);
	*out = dflt;
	if (!s || !*s)
		return 0;
	if (parse_size(s, out) < 0 || *out < min || *out > max) {
		*out = dflt; /* refused: as if unset */
		char lo[24], hi[24];
		size_word(min, lo);
		size_word(max, hi);
		return gg_fail(GG_EUSAGE,
		               "%s=%.40s: expected a size from %s to %s (bytes, or with a K, M, G "
		               "or T suffix)",
		               var, s, lo, hi);
	}
	return 0;
}

static bool shell_safe(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!strchr(
		        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+%@",
		        *s))
			return false;
	return true;
}

char *argv_to_shell(char *const *argv)
{
	struct buf b = BUF_INIT;
	for (size_t i = 0; argv && argv[i]; i++) {
		if (i)
			buf_addc(&b, ' ');
		if (shell_safe(argv[i])) {
			buf_adds(&b, argv[i]);
			continue;
		}
		buf_addc(&b, '\'');
		for (const char *s = argv[i]; *s; s++) {
			if (*s == '\'')
				buf_adds(&b, "'\\''");
			else
				buf_addc(&b, *s);
		}
		buf_addc(&b, '\'');
	}
	return buf_steal(&b);
}

size_t utf8_len(const unsigned char *p, size_t n)
{
	unsigned char c = p[0];
	if (c < 0x80)
		return 1;
	size_t k;
	uint32_t cp, min;
	if ((c & 0xe0) == 0xc0)
		k = 2, cp = c & 0x1f, min = 0x80;
	else if ((c & 0xf0) == 0xe0)
		k = 3, cp = c & 0x0f, min = 0x800;
	else if ((c & 0xf8) == 0xf0)
		k = 4, cp = c & 0x07, min = 0x10000;
	else
		return 0;
	if (k > n)
		return 0;
	for (size_t i = 1; i < k; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return k;
}

uint64_t str_hash(const char *s, size_t n)
{
	uint64_t h = UINT64_C(14695981039346656037);
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * UINT64_C(1099511628211);
	return h;
}

size_t hash_table_size(size_t n)
{
	size_t size = 16;
	while (size < 2 * n)
		size *= 2;
	return size;
}

int copy_fd(int in, int out, uint64_t len)
{
	uint64_t left = len;
	while (left > 0) {
		size_t want = left > (1u << 30) ? (1u << 30) : (size_t)left;
		ssize_t c = copy_file_range(in, NULL, out, NULL, want, 0);
		if (c < 0 && errno == EINTR)
			continue;
		if (c <= 0) {
			/* unsupported here (a pipe, another filesystem), or at the
			 * end: read and write, which tells which */
			char chunk[1 << 16];
			ssize_t m = read(in, chunk, want < sizeof chunk ? want : sizeof chunk);
			if (m < 0 && errno == EINTR)
				continue;
			if (m < 0)
				return gg_error_errno("read");
			if (m == 0)
				return gg_fail(GG_ECORRUPT, "ended after %llu of %llu bytes",
				               (unsigned long long)(len - left),
				               (unsigned long long)len);
			if (write_all(out, chunk, (size_t)m) < 0)
				return gg_error_errno("write");
			c = m;
		}
		left -= (uint64_t)c;
	}
	return 0;
}

uint64_t backoff_wait_ms(unsigned attempt, uint64_t base_ms, uint64_t cap_ms,
                         uint64_t retry_after_ms, uint64_t max_after_ms, uint64_t random)
{
	uint64_t ms = base_ms ? base_ms : 1;
	for (unsigned i = 1; i < attempt && ms < cap_ms; i++)
		ms *= 2;
	if (ms > cap_ms)
		ms = cap_ms;
	uint64_t half = ms / 2;
	ms = half + random % (ms - half + 1);
	if (retry_after_ms) {
		uint64_t after = retry_after_ms < max_after_ms ? retry_after_ms : max_after_ms;
		after += (random >> 32) % (after / 4 + 1);
		if (after > ms)
			ms = after;
	}
	return ms;
}

uint64_t backoff_after_ns(unsigned attempt, uint64_t base_ms, uint64_t cap_ms,
                          uint64_t retry_after_ms, uint64_t max_after_ms)
{
	/* xorshift64, one state per thread: jitter only, not security */
	static _Thread_local uint64_t rng;
	if (!rng)
		rng = now_ns() ^ ((uint64_t)(uintptr_t)&rng << 17) ^ 0x9e3779b97f4a7c15ull;
	rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
	return backoff_wait_ms(attempt, base_ms, cap_ms, retry_after_ms, max_after_ms, rng) *
	       1000000ull;
}

uint64_t backoff_ns(unsigned attempt, uint64_t base_ms, uint64_t cap_ms)
{
	return backoff_after_ns(attempt, base_ms, cap_ms, 0, 0);
}
