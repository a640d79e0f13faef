/**
 * @file placeholder.c
 * Writing and recognising placeholder files (format in placeholder.h), and
 * replacing one by its forced value (shared by `gg force` and ggfs
 * --materialize, which differ only in the mode, owner and times they give it).
 */
#include "core/placeholder.h"

#include "core/store.h"
#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#define PLACEHOLDER_TAG "ggfs-placeholder 1 "

void placeholder_format(const struct gg_ref *ref, struct buf *out)
{
	char *r = gg_ref_format(ref);
	buf_adds(out, PLACEHOLDER_MAGIC);
	buf_adds(out, PLACEHOLDER_TAG);
	buf_adds(out, r);
	buf_addc(out, '\n');
	free(r);
}

int placeholder_write(const char *path, const struct gg_ref *ref)
{
	struct buf b = BUF_INIT;
	placeholder_format(ref, &b);
	int r = write_file_atomic(path, b.data, b.len, 0755);
	buf_free(&b);
	return r;
}

int placeholder_parse(const void *data, size_t len, struct gg_ref *ref)
{
	size_t m = sizeof(PLACEHOLDER_MAGIC) - 1, t = sizeof(PLACEHOLDER_TAG) - 1;
	const char *p = data;
	if (len < m || memcmp(p, PLACEHOLDER_MAGIC, m))
		return 0;
	if (len > PLACEHOLDER_MAX_SIZE)
		return gg_error("malformed placeholder: %zu bytes", len);
	p += m;
	len -= m;
	if (len < t || memcmp(p, PLACEHOLDER_TAG, t))
		return gg_error("malformed placeholder: the second line must start with \"%.*s\"",
		                (int)t - 1, PLACEHOLDER_TAG);
	p += t;
	len -= t;
	const char *nl = memchr(p, '\n', len);
	if (!nl || (size_t)(nl - p) + 1 != len)
		return gg_error(
		    "malformed placeholder: the reference must end the file with a newline");
	if (gg_ref_parse(p, (size_t)(nl - p), ref) < 0)
		return gg_error("malformed placeholder: %s", gg_last_error());
	return 1;
}

int placeholder_read_fd(int fd, struct gg_ref *ref)
{
	char data[PLACEHOLDER_MAX_SIZE + 1];
	size_t len = 0;
	for (;;) {
		ssize_t n = pread(fd, data + len, sizeof data - len, (off_t)len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return gg_error_errno("read failed");
		if (n == 0 || (len += (size_t)n) == sizeof data)
			break;
	}
	return placeholder_parse(data, len, ref);
}

int placeholder_read(const char *path, struct gg_ref *ref)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return gg_error_errno("cannot open %s", path);
	struct stat st;
	int r = 0;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= PLACEHOLDER_MAX_SIZE)
		r = placeholder_read_fd(fd, ref);
	close(fd);
	if (r < 0)
		return gg_error("%s: %s", path, gg_last_error());
	return r;
}

int placeholder_peek(const char *path, struct gg_ref *ref)
{
	char data[PLACEHOLDER_MAX_SIZE + 1];
	ssize_t n = -1;
	if (on_fuse(path))
		n = getxattr(path, PLACEHOLDER_XATTR, data, sizeof data);
	if (n < 0) /* not a mount's placeholder: its bytes are its own */
		return placeholder_read(path, ref);
	int r = placeholder_parse(data, (size_t)n, ref);
	if (r == 0)
		r = gg_fail(GG_EINVALID, "not a placeholder");
	if (r < 0)
		return gg_error("%s: %s: %s", path, PLACEHOLDER_XATTR, gg_last_error());
	return r;
}

/* Copies the object into out: in the kernel if it can, else read and write. */
static int copy_object(struct store *s, const struct gg_name *value, int out)
{
	int in = store_open_object(s, value);
	if (in < 0)
		return -1;
	int r = copy_fd(in, out, gg_name_size(value));
	if (r < 0)
		r = gg_error("cannot copy object %s: %s", value->s, gg_last_error());
	close(in);
	return r;
}

int placeholder_replace_at(struct store *s, int dirfd, const char *name, const char *shown,
                           const struct gg_name *value, const struct placeholder_replace_opts *opts)
{
	char tmp_name[TEMP_NAME_MAX];
	int fd = make_temp_at(dirfd, tmp_name);
	if (fd < 0)
		return gg_error("cannot replace %s: %s", shown, gg_last_error());
	const struct stat *like = opts->like;
	int r = copy_object(s, value, fd);
	/* Only root may give a file away; anyone else keeps it as their own. */
	if (r == 0 && like && fchown(fd, like->st_uid, like->st_gid) < 0 && geteuid() == 0)
		r = gg_error_errno("cannot set the owner");
	if (r == 0 && fchmod(fd, opts->perm) < 0)
		r = gg_error_errno("cannot set the mode");
	if (r == 0 && like) {
		/* Last: writing the bytes set the times. */
		struct timespec times[2] = {like->st_atim, like->st_mtim};
		if (futimens(fd, times) < 0)
			r = gg_error_errno("cannot set the times");
	}
	close(fd);
	if (r < 0)
		gg_error("cannot replace %s: %s", shown, gg_last_error());
	else if (renameat(dirfd, tmp_name, dirfd, name) < 0)
		r = gg_error_errno("cannot replace %s", shown);
	if (r < 0)
		unlinkat(dirfd, tmp_name, 0);
	return r;
}

int placeholder_replace(struct store *s, const char *path, const struct gg_name *value,
                        const struct placeholder_replace_opts *opts)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? xstrndup(path, (size_t)(slash - path + (slash == path))) : xstrdup(".");
	int dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		gg_error_errno("cannot replace %s: cannot create a temporary file in %s", path,
		               dir);
	free(dir);
	if (dirfd < 0)
		return -1;
	int r = placeholder_replace_at(s, dirfd, slash ? slash + 1 : path, path, value, opts);
	close(dirfd);
	return r;
}
