/**
 * @file test_s3_multipart.c
 * Specification of the network-free half of S3 multipart uploads
 * (backend/storage/s3_multipart): the part size setting, cutting an object into
 * parts within S3's limits, the CompleteMultipartUpload body, and reading
 * replies (truncated, empty, with entities, S3's <Error> sent with 200).
 */
#include "backend/storage/s3_multipart.h"
#include "core/util.h"
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#define MIB (UINT64_C(1) << 20)

static void test_part_size_setting(void)
{
	uint64_t v;
	unsetenv("GG_S3_PART_SIZE");
	CHECK(s3_part_size_from_env(&v) == 0 && v == S3_DEFAULT_PART_SIZE);
	setenv("GG_S3_PART_SIZE", "8M", 1);
	CHECK(s3_part_size_from_env(&v) == 0 && v == 8 * MIB);
	setenv("GG_S3_PART_SIZE", "1M", 1);
	CHECK_ERR(s3_part_size_from_env(&v), "GG_S3_PART_SIZE=1M: expected a size from 5M to 5G");
	setenv("GG_S3_PART_SIZE", "5G", 1);
	CHECK(s3_part_size_from_env(&v) == 0 && v == S3_MAX_PART_SIZE);
	setenv("GG_S3_PART_SIZE", "6G", 1);
	CHECK_ERR(s3_part_size_from_env(&v), "GG_S3_PART_SIZE=6G: expected a size from 5M to 5G");
	setenv("GG_S3_PART_SIZE", "lots", 1);
	CHECK_ERR(s3_part_size_from_env(&v), "GG_S3_PART_SIZE=lots: expected a size");
	unsetenv("GG_S3_PART_SIZE");
}

static void test_plan_parts(void)
{
	uint64_t len;
	unsigned n;
	CHECK(s3_plan_parts(12 * MIB, 5 * MIB, &len, &n) == 0 && len == 5 * MIB && n == 3);
	CHECK(s3_plan_parts(10 * MIB, 5 * MIB, &len, &n) == 0 && n == 2); /* exact fit */
	CHECK(s3_plan_parts(10 * MIB + 1, 5 * MIB, &len, &n) == 0 && n == 3);
	/* 1 TiB in 5 MiB parts would be 209,716 parts: parts grow to fit 10,000 */
	uint64_t tib = UINT64_C(1) << 40;
	CHECK(s3_plan_parts(tib, 5 * MIB, &len, &n) == 0);
	CHECK(n <= S3_MAX_PARTS && len * n >= tib && len % MIB == 0 && len <= S3_MAX_PART_SIZE);
	CHECK(s3_plan_parts(S3_MAX_OBJECT_SIZE + 1, 64 * MIB, &len, &n) < 0 &&
	      strstr(gg_last_error(), "5 TiB"));
}

static void test_complete_body(void)
{
	char *etags[] = {"\"a1\"", "\"b<2>\""};
	struct buf b = BUF_INIT;
	s3_complete_body(&b, etags, 2);
	CHECK(b.data &&
	      strstr(b.data, "<Part><PartNumber>1</PartNumber><ETag>\"a1\"</ETag>"
	                     "</Part>") &&
	      strstr(b.data, "<PartNumber>2</PartNumber><ETag>\"b&lt;2&gt;\"</ETag>"));
	buf_free(&b);
}

static int text(const char *body, const char *tag, char *out, size_t size)
{
	return s3_xml_text(body, strlen(body), tag, out, size);
}

static void test_reading_replies(void)
{
	char out[64];
	CHECK(text("<R><UploadId>2~x&amp;y</UploadId></R>", "UploadId", out, sizeof out) == 0 &&
	      !strcmp(out, "2~x&y"));
	CHECK(text("<R><UploadId>2~x", "UploadId", out, sizeof out) < 0); /* truncated */
	CHECK(text("<R><UploadId></UploadId></R>", "UploadId", out, sizeof out) < 0);
	CHECK(text("<R></R>", "UploadId", out, sizeof out) < 0);
	CHECK(text("<R><UploadId>0123456789</UploadId></R>", "UploadId", out, 5) <
	      0); /* too long */
	CHECK(text("<R><UploadId>a&bogus;b</UploadId></R>", "UploadId", out, sizeof out) < 0);
	const char *err = "<?xml version=\"1.0\"?>\n<Error><Code>InternalError</Code></Error>";
	CHECK(s3_xml_is_error(err, strlen(err)));
	const char *ok = "<CompleteMultipartUploadResult><ETag>\"x-2\"</ETag>"
	                 "</CompleteMultipartUploadResult>";
	CHECK(!s3_xml_is_error(ok, strlen(ok)));
	char etag[S3_MAX_ETAG + 1];
	const char *h = " \"08c483fc-3\"\r\n";
	CHECK(s3_etag_parse(h, strlen(h), etag) == 0 && !strcmp(etag, "\"08c483fc-3\""));
	CHECK(s3_etag_parse("\r\n", 2, etag) < 0);
	CHECK(s3_etag_parse("a\x01z", 3, etag) < 0);
}

TEST_MAIN(test_part_size_setting, test_plan_parts, test_complete_body, test_reading_replies)
