/**
 * @file storage_file.c
 * The file:///DIR back-end: a directory laid out like .gg/objects
 * (DIR/ab/NAME, ab = the first two digest characters), for tests and shared
 * filesystems (NFS, CephFS). Uploads go to a temp file in DIR/ab and are
 * renamed into place, so readers on other machines see whole objects only.
 * Transfers are sequential: a local filesystem gains nothing from more.
 * Shared cache entries are files DIR/memo/THUNK, written the same way.
 */
#include "backend/storage/incoming.h"
#include "backend/storage/storage_backends.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct file_storage {
	struct storage base;
	char *dir; /* absolute, no trailing slash */
};

static struct file_storage *fs_of(struct storage *st)
{
	return (struct file_storage *)st;
}

static char *remote_path(const struct file_storage *fs, const struct gg_name *n)
{
	return xasprintf("%s/%.2s/%s", fs->dir, n->s + 1, n->s);
}

static int file_open(const char *uri, struct storage **out)
{
	const char *p = uri + strlen("file://");
	if (*p != '/')
		return gg_fail(GG_EUSAGE, "%s: a file URI needs an absolute path (file:///DIR)",
		               uri);
	size_t len = strlen(p);
	while (len > 1 && p[len - 1] == '/')
		len--;
	char *dir = xstrndup(p, len);
	if (mkdir_p(dir, 0755) < 0) {
		gg_error("%s: %s", uri, gg_last_error());
		free(dir);
		return -1;
	}
	struct file_storage *fs = xcalloc(1, sizeof *fs);
	fs->base.ops = &storage_file_ops;
	fs->base.uri = xasprintf("file://%s", dir);
	fs->dir = dir;
	*out = &fs->base;
	return 0;
}

static void file_close(struct storage *st)
{
	struct file_storage *fs = fs_of(st);
	free(fs->dir);
	free(fs->base.uri);
	free(fs);
}

static int file_has(struct storage *st, const struct gg_name *names, size_t n, bool *present)
{
	struct file_storage *fs = fs_of(st);
	for (size_t i = 0; i < n; i++) {
		char *p = remote_path(fs, &names[i]);
		struct stat sb;
		if (stat(p, &sb) == 0) {
			/* a wrong size is damage: report absent so that a put replaces
			 * it; the right size says nothing of the bytes, which every
			 * download checks (fetch_one, storage.h) */
			present[i] =
			    S_ISREG(sb.st_mode) && (uint64_t)sb.st_size == gg_name_size(&names[i]);
		} else if (errno == ENOENT || errno == ENOTDIR) {
			present[i] = false;
		} else {
			gg_error_errno("%s: cannot check %s", st->uri, names[i].s);
			free(p);
			return -1;
		}
		free(p);
	}
	return 0;
}

/* Copies an open local object into a temp file next to dst, then renames. */
static int copy_out(struct file_storage *fs, int in, const struct gg_name *n, const char *dst)
{
	char *dir = xstrdup(dst);
	*strrchr(dir, '/') = 0;
	/* mkdir -p: the remote directory itself may have been removed */
	if (mkdir(dir, 0755) < 0 && errno != EEXIST && mkdir_p(dir, 0755) < 0) {
		int r = gg_error("%s: %s", fs->base.uri, gg_last_error());
		free(dir);
		return r;
	}
	char *tmp;
	int fd = make_temp_in(dir, &tmp);
	free(dir);
	if (fd < 0)
		return gg_error("%s: %s", fs->base.uri, gg_last_error());
	int r = 0;
	if (copy_fd(in, fd, gg_name_size(n)) < 0)
		r = gg_error("%s: cannot copy object %s from the local store: %s", fs->base.uri,
		             n->s, gg_last_error());
	if (r == 0 && fchmod(fd, 0444) < 0)
		r = gg_error_errno("%s: cannot chmod %s", fs->base.uri, tmp);
	if (close(fd) < 0 && r == 0)
		r = gg_error_errno("%s: cannot write %s", fs->base.uri, n->s);
	if (r == 0 && rename(tmp, dst) < 0)
		r = gg_error_errno("%s: cannot rename %s into place", fs->base.uri, n->s);
	if (r < 0)
		unlink(tmp);
	free(tmp);
	return r;
}

/*
 * The code of a failed batch, from that of its first failure: a directory
 * that refuses access stays GG_EDENIED, as S3's refused credentials do (no
 * retry helps); anything else, such as an ENOENT on either side (a local
 * object gone, a fan-out directory removed meanwhile), is GG_EREMOTE as
 * for the other back-ends, never GG_ENOTFOUND, which callers read as "the
 * remote store lacks it" (storage.h). 0 asks storage_batch_error for that.
 */
static enum gg_code batch_code(enum gg_code first)
{
	return first == GG_EDENIED ? GG_EDENIED : 0;
}

static int file_put(struct storage *st, struct store *local, const struct gg_name *names, size_t n)
{
	struct file_storage *fs = fs_of(st);
	size_t failed = 0;
	char first[600] = "";
	enum gg_code code = 0;
	for (size_t i = 0; i < n; i++) {
		int in = store_open_object(local, &names[i]);
		int r = -1;
		if (in >= 0) {
			char *dst = remote_path(fs, &names[i]);
			r = copy_out(fs, in, &names[i], dst);
			free(dst);
			close(in);
		}
		if (r < 0 && failed++ == 0) {
			snprintf(first, sizeof first, "cannot upload %s to %s: %s", names[i].s,
			         st->uri, gg_last_error());
			code = batch_code(gg_last_code());
		}
	}
	return storage_batch_error(failed, code, first);
}

/* 1 = downloaded, 0 = absent, -1 = error (recorded). */
static int fetch_one(struct file_storage *fs, struct store *local, const struct gg_name *n)
{
	char *src = remote_path(fs, n);
	int r = -1;
	for (int attempt = 1; attempt <= STORAGE_VERIFY_ATTEMPTS; attempt++) {
		/* Non-blocking: a FIFO planted in a shared directory must not
		 * hang the fetch (and whoever waits for it: a FUSE reader). */
		int in = open(src, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		if (in < 0) {
			if (errno == ENOENT || errno == ENOTDIR)
				r = 0;
			else
				r = gg_error_errno("%s: cannot open %s", fs->base.uri, n->s);
			break;
		}
		struct stat ist;
		if (fstat(in, &ist) < 0 || !S_ISREG(ist.st_mode)) {
			r = gg_error("%s: %s is not a regular file there", fs->base.uri, n->s);
			close(in);
			break;
		}
		struct incoming inc = INCOMING_INIT;
		r = incoming_open(&inc, local, n, fs->base.uri);
		char chunk[1 << 16];
		while (r == 0) {
			ssize_t k = read(in, chunk, sizeof chunk);
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0)
				r = gg_error_errno("%s: cannot read %s", fs->base.uri, n->s);
			if (k <= 0)
				break;
			r = incoming_write(&inc, chunk, (size_t)k);
		}
		close(in);
		if (r == 0)
			r = incoming_commit(&inc);
		incoming_discard(&inc);
		if (r == 0) {
			r = 1;
			break;
		}
		if (r != INCOMING_BAD_CONTENT)
			break; /* an I/O error, not bad content */
		r = -1;
		if (attempt == STORAGE_VERIFY_ATTEMPTS) {
			/* persistent garbage under a content address: remove it so has()
			 * stops reporting it and the next put writes a good copy */
			char why[900];
			snprintf(why, sizeof why, "%s", gg_last_error());
			if (unlink(src) == 0)
				gg_error("%s; removed it from %s", why, fs->base.uri);
			else
				gg_error("%s; could not remove it: %s", why, strerror(errno));
		}
	}
	free(src);
	return r;
}

static int file_get(struct storage *st, struct store *local, const struct gg_name *names, size_t n,
                    bool *ok)
{
	struct file_storage *fs = fs_of(st);
	size_t failed = 0;
	char first[1024] = "";
	enum gg_code code = 0;
	for (size_t i = 0; i < n; i++) {
		ok[i] = false;
		if (store_has(local, &names[i])) {
			ok[i] = true;
			continue;
		}
		int r = fetch_one(fs, local, &names[i]);
		ok[i] = r == 1;
		if (r < 0 && failed++ == 0) {
			snprintf(first, sizeof first, "%s", gg_last_error());
			code = batch_code(gg_last_code());
		}
	}
	return storage_batch_error(failed, code, first);
}

static int file_entry_get(struct storage *st, const struct gg_name *thunk, struct buf *out)
{
	struct file_storage *fs = fs_of(st);
	char *p = xasprintf("%s/memo/%s", fs->dir, thunk->s);
	/* O_NONBLOCK: a FIFO under the key must not hang the reader */
	int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	struct stat sb;
	const char *bad = NULL; /* why what the key holds cannot be an entry */
	char big[64];
	snprintf(big, sizeof big, "it is larger than %u bytes", STORAGE_ENTRY_MAX);
	int r = STORAGE_ENTRY_NONE;
	if (fd < 0 && errno == ELOOP)
		bad = "it is a symbolic link";
	else if (fd < 0 && errno != ENOENT && errno != ENOTDIR)
		r = gg_error_errno("%s: cannot open the cache entry of %s", st->uri, thunk->s);
	else if (fd >= 0 && fstat(fd, &sb) < 0)
		r = gg_error_errno("%s: cannot read the cache entry of %s", st->uri, thunk->s);
	else if (fd >= 0 && !S_ISREG(sb.st_mode))
		bad = "it is not a regular file";
	else if (fd >= 0 && (uint64_t)sb.st_size > STORAGE_ENTRY_MAX)
		bad = big;
	else if (fd >= 0 && (buf_reset(out), read_fd_all(fd, out, STORAGE_ENTRY_MAX) == 0))
		r = STORAGE_ENTRY_FOUND;
	else if (fd >= 0 && out->len > STORAGE_ENTRY_MAX) /* it grew meanwhile */
		bad = big;
	else if (fd >= 0)
		r = gg_error("%s: cannot read the cache entry of %s: %s", st->uri, thunk->s,
		             gg_last_error());
	if (bad) {
		gg_fail(GG_ECORRUPT, "%s", bad);
		r = STORAGE_ENTRY_BAD;
	}
	if (fd >= 0)
		close(fd);
	free(p);
	return r;
}

static int file_entry_put(struct storage *st, const struct gg_name *thunk, const void *data,
                          size_t len)
{
	struct file_storage *fs = fs_of(st);
	char *dir = xasprintf("%s/memo", fs->dir);
	char *p = xasprintf("%s/%s", dir, thunk->s);
	int r = mkdir_p(dir, 0755) < 0 ? -1 : write_cache_file(p, data, len, 0644);
	if (r < 0)
		gg_error("%s: cannot write the cache entry of %s: %s", st->uri, thunk->s,
		         gg_last_error());
	free(p);
	free(dir);
	return r;
}

/* Lists DIR/SUB (a fan-out directory "ab", or "memo") into fn. */
static int list_dir(struct file_storage *fs, const char *sub, bool entry, time_t now,
                    int (*fn)(void *arg, const struct storage_item *it), void *arg)
{
	char *d = xasprintf("%s/%s", fs->dir, sub);
	DIR *dir = opendir(d);
	int r = 0;
	if (!dir) {
		if (errno != ENOENT && errno != ENOTDIR)
			r = gg_error_errno("%s: cannot list %s", fs->base.uri, d);
		free(d);
		return r;
	}
	struct dirent *de;
	errno = 0;
	while (r == 0 && (de = readdir(dir))) {
		struct storage_item it = {.entry = entry};
		struct stat sb;
		if (gg_name_parse(de->d_name, strlen(de->d_name), &it.name) < 0 ||
		    (entry && it.name.s[0] != 'T') ||
		    fstatat(dirfd(dir), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(sb.st_mode))
			continue;
		if (!entry && ((uint64_t)sb.st_size != gg_name_size(&it.name) ||
		               strncmp(sub, it.name.s + 1, 2)))
			continue;
		it.size = (uint64_t)sb.st_size;
		it.age = now > sb.st_mtime ? (int64_t)(now - sb.st_mtime) : 0;
		if (fn(arg, &it))
			r = gg_error("%s: listing stopped", fs->base.uri);
		errno = 0;
	}
	if (r == 0 && errno)
		r = gg_error_errno("%s: cannot list %s", fs->base.uri, d);
	closedir(dir);
	free(d);
	return r;
}

static int file_list(struct storage *st, int (*fn)(void *arg, const struct storage_item *it),
                     void *arg)
{
	struct file_storage *fs = fs_of(st);
	time_t now = time(NULL);
	DIR *dir = opendir(fs->dir);
	if (!dir)
		return gg_error_errno("%s: cannot list it", st->uri);
	struct dirent *de;
	int r = 0;
	errno = 0;
	while (r == 0 && (de = readdir(dir))) {
		const char *n = de->d_name;
		if (strlen(n) == 2 && isxdigit((unsigned char)n[0]) &&
		    isxdigit((unsigned char)n[1]))
			r = list_dir(fs, n, false, now, fn, arg);
		else if (!strcmp(n, "memo"))
			r = list_dir(fs, n, true, now, fn, arg);
		errno = 0;
	}
	if (r == 0 && errno)
		r = gg_error_errno("%s: cannot list it", st->uri);
	closedir(dir);
	return r;
}

static int file_remove(struct storage *st, const struct storage_item *items, size_t n)
{
	struct file_storage *fs = fs_of(st);
	size_t failed = 0;
	char first[1024] = "";
	for (size_t i = 0; i < n; i++) {
		char *p = items[i].entry ? xasprintf("%s/memo/%s", fs->dir, items[i].name.s)
		                         : remote_path(fs, &items[i].name);
		if (unlink(p) < 0 && errno != ENOENT && failed++ == 0)
			snprintf(first, sizeof first, "%s: cannot delete %s: %s", st->uri, p,
			         strerror(errno));
		free(p);
	}
	return storage_batch_error(failed, 0, first);
}

const struct storage_ops storage_file_ops = {
    .scheme = "file",
    .open = file_open,
    .has = file_has,
    .put = file_put,
    .get = file_get,
    .entry_get = file_entry_get,
    .entry_put = file_entry_put,
    .list = file_list,
    .remove = file_remove,
    .close = file_close,
};
