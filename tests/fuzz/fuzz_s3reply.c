/**
 * @file fuzz_s3reply.c
 * Fuzz target for the readers of S3's multipart replies (backend/
 * s3_multipart.c): s3_xml_text, s3_xml_is_error and s3_etag_parse. What they
 * accept is bounded, NUL-terminated and free of control characters; what
 * they reject says why; nothing reads outside the reply.
 */
#include "backend/storage/s3_multipart.h"
#include "tests/fuzz/fuzz.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check_text(const char *what, const char *out, size_t cap, const uint8_t *data,
                       size_t size)
{
	size_t n = strnlen(out, cap);
	if (n == cap)
		fuzz_fail(what, "not NUL-terminated within its buffer", data, size);
	if (n == 0)
		fuzz_fail(what, "accepted as empty", data, size);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			fuzz_fail(what, "holds a control character", data, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy without a terminating NUL: reading past it is an ASan report. */
	char *body = malloc(size ? size : 1);
	memcpy(body, data, size);
	static const char *const tags[] = {"UploadId", "Code", "Message", "ETag"};
	for (size_t i = 0; i < sizeof tags / sizeof *tags; i++) {
		char big[S3_MAX_UPLOAD_ID + 1], small[8];
		if (s3_xml_text(body, size, tags[i], big, sizeof big) == 0)
			check_text(tags[i], big, sizeof big, data, size);
		else if (!*gg_last_error())
			fuzz_fail(tags[i], "rejected without an error", data, size);
		if (s3_xml_text(body, size, tags[i], small, sizeof small) == 0)
			check_text(tags[i], small, sizeof small, data, size);
	}
	(void)s3_xml_is_error(body, size);
	char etag[S3_MAX_ETAG + 1];
	if (s3_etag_parse(body, size, etag) == 0)
		check_text("ETag header", etag, sizeof etag, data, size);
	free(body);
	return 0;
}
