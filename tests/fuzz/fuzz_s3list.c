/**
 * @file fuzz_s3list.c
 * Fuzz target for the reader of ListObjectsV2 pages (backend/storage/
 * s3_list.c), which remote GC trusts to say what a bucket holds: what it
 * hands on is bounded, NUL-terminated, free of control characters; a
 * truncated page always carries a token; a rejection says why; nothing
 * reads outside the reply.
 */
#include "backend/storage/s3_list.h"
#include "tests/fuzz/fuzz.h"

#include "core/error.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t *cur_data;
static size_t cur_size;

static void check_text(const char *what, const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);
	if (n == cap)
		fuzz_fail(what, NULL, cur_data, cur_size);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			fuzz_fail(what, NULL, cur_data, cur_size);
}

static int on_key(void *arg, const char *key, uint64_t size, int64_t mtime)
{
	(void)arg;
	(void)size;
	check_text("a key unbounded or with a control character", key, S3_LIST_KEY_MAX + 1);
	if (!*key)
		fuzz_fail("an empty key", NULL, cur_data, cur_size);
	if (mtime < 0)
		fuzz_fail("a LastModified before 1970", NULL, cur_data, cur_size);
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
			fuzz_fail("a truncated page without a token", NULL, cur_data, cur_size);
	} else if (!*gg_last_error()) {
		fuzz_fail("rejected without an error", NULL, cur_data, cur_size);
	}
	free(body);
	return 0;
}
