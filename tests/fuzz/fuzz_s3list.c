/**
 * @file fuzz_s3list.c
 * Fuzz target for the reader of ListObjectsV2 pages (backend/storage/
 * s3_list.c), which remote GC trusts to say what a bucket holds: what it
 * hands on is bounded, NUL-terminated, free of control characters; a
 * truncated page always carries a token; a rejection says why; nothing
 * reads outside the reply.
 */
#include "backend/storage/s3_list.h"

#include "core/error.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t *cur_data;
static size_t cur_size;

static _Noreturn void fail(const char *what)
{
	fprintf(stderr, "fuzz_s3list: %s\ninput (%zu bytes):\n", what, cur_size);
	fwrite(cur_data, 1, cur_size < 4096 ? cur_size : 4096, stderr);
	fprintf(stderr, "\n");
	abort();
}

static void check_text(const char *what, const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);
	if (n == cap)
		fail(what);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			fail(what);
}

static int on_key(void *arg, const char *key, uint64_t size, int64_t mtime)
{
	(void)arg;
	(void)size;
	check_text("a key unbounded or with a control character", key, S3_LIST_KEY_MAX + 1);
	if (!*key)
		fail("an empty key");
	if (mtime < 0)
		fail("a LastModified before 1970");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cur_data = data;
	cur_size = size;
	/* A copy without a terminating NUL: reading past it is an ASan report. */
	char *body = malloc(size ? size : 1);
	memcpy(body, data, size);
	struct s3_list_page pg;
	if (s3_list_parse(body, size, on_key, NULL, &pg) == 0) {
		check_text("a token unbounded or with a control character", pg.token,
		           sizeof pg.token);
		if (pg.truncated && !pg.token[0])
			fail("a truncated page without a token");
	} else if (!*gg_last_error()) {
		fail("rejected without an error");
	}
	free(body);
	return 0;
}
