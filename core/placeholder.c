/**
 * @file placeholder.c
 * Writing and recognising placeholder files (format in placeholder.h).
 */
#include "placeholder.h"

#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
		return gg_error("malformed placeholder: the second line must start with \"%.*s\"", (int)t - 1,
				PLACEHOLDER_TAG);
	p += t;
	len -= t;
	const char *nl = memchr(p, '\n', len);
	if (!nl || (size_t)(nl - p) + 1 != len)
		return gg_error("malformed placeholder: the reference must end the file with a newline");
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
