/**
 * @file s3_list.c
 * ListObjectsV2 pages (see s3_list.h), read with the small XML reader of
 * s3_multipart.c: no XML library, since the answer's shape is fixed and
 * flat and every field we take is bounded text.
 */
#include "backend/storage/s3_list.h"

#include "backend/storage/s3_multipart.h"
#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* "2026-12-03T16:58:03.123Z" (the fraction optional): seconds since the epoch. */
static int parse_time(const char *s, int64_t *out)
{
	struct tm tm = {0};
	static const char shape[] = "dddd-dd-ddTdd:dd:dd";
	for (size_t i = 0; i < sizeof shape - 1; i++)
		if (shape[i] == 'd' ? s[i] < '0' || s[i] > '9' : s[i] != shape[i])
			return -1;
	int y, mo, d, h, mi, se;
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &se) != 6)
		return -1;
	const char *p = s + 19;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -1;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (strcmp(p, "Z") || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || se > 60)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	*out = (int64_t)t;
	return 0;
}

int s3_list_parse(const char *body, size_t len,
                  int (*fn)(void *arg, const char *key, uint64_t size, int64_t mtime), void *arg,
                  struct s3_list_page *page)
{
	memset(page, 0, sizeof *page);
	if (!body || !memmem(body, len, "<ListBucketResult", 17))
		return gg_error("not a ListObjectsV2 answer (no <ListBucketResult>)");
	const char *p = body, *end = body + len;
	const char *open = "<Contents>", *close = "</Contents>";
	for (;;) {
		const char *a = memmem(p, (size_t)(end - p), open, strlen(open));
		if (!a)
			break;
		const char *z = memmem(a, (size_t)(end - a), close, strlen(close));
		if (!z)
			return gg_error("the answer ends inside <Contents>");
		size_t blen = (size_t)(z - a);
		char key[S3_LIST_KEY_MAX + 1], size[32], mtime[64];
		uint64_t sz;
		int64_t t;
		if (s3_xml_text(a, blen, "Key", key, sizeof key) < 0 ||
		    s3_xml_text(a, blen, "Size", size, sizeof size) < 0 ||
		    s3_xml_text(a, blen, "LastModified", mtime, sizeof mtime) < 0)
			return -1;
		if (parse_u64(size, &sz) < 0)
			return gg_error("a bad <Size> '%s'", size);
		if (parse_time(mtime, &t) < 0)
			return gg_error("a bad <LastModified> '%s'", mtime);
		if (fn(arg, key, sz, t))
			return gg_error("listing stopped");
		p = z + strlen(close);
	}
	/* (a key cannot hold these tags: the server escapes '<' in text) */
	char trunc[8];
	if (s3_xml_text(body, len, "IsTruncated", trunc, sizeof trunc) < 0)
		return -1;
	if (!strcmp(trunc, "true"))
		page->truncated = true;
	else if (strcmp(trunc, "false"))
		return gg_error("a bad <IsTruncated> '%s'", trunc);
	if (page->truncated &&
	    s3_xml_text(body, len, "NextContinuationToken", page->token, sizeof page->token) < 0)
		return gg_error("more pages follow, but: %s", gg_last_error());
	return 0;
}
