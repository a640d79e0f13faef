/**
 * @file s3_multipart.c
 * S3 multipart upload without the network (see s3_multipart.h): the part
 * size setting, the part plan, the CompleteMultipartUpload body and the
 * readers of S3's replies. The readers are deliberately not an XML parser:
 * they find one element by its literal tags and check what they copy, so a
 * truncated or hostile reply yields an error, never a crash or a silently
 * shortened value.
 */
#include "backend/storage/s3_multipart.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int s3_part_size_from_env(uint64_t *out)
{
	/* S3's limits for a part: 5M to 5G */
	return env_size("GG_S3_PART_SIZE", S3_DEFAULT_PART_SIZE, S3_MIN_PART_SIZE, S3_MAX_PART_SIZE,
	                out);
}

int s3_plan_parts(uint64_t size, uint64_t part_size, uint64_t *part_len, unsigned *n_parts)
{
	if (size > S3_MAX_OBJECT_SIZE)
		return gg_error("%llu bytes is more than S3's 5 TiB object limit",
		                (unsigned long long)size);
	uint64_t len = part_size < S3_MIN_PART_SIZE ? S3_MIN_PART_SIZE : part_size;
	if (size > len * S3_MAX_PARTS) {
		/* the smallest whole MiB that fits in 10,000 parts (<= 525 MiB) */
		uint64_t mib = UINT64_C(1) << 20;
		len = (size + S3_MAX_PARTS - 1) / S3_MAX_PARTS;
		len = (len + mib - 1) / mib * mib;
	}
	uint64_t n = size == 0 ? 1 : (size + len - 1) / len;
	*part_len = len;
	*n_parts = (unsigned)n;
	return 0;
}

/* The five entities XML predefines; 0 (and *step = 0) for any other. */
static char xml_entity(const char *p, size_t left, size_t *step)
{
	static const struct {
		const char *s;
		char c;
	} ents[] = {
	    {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
	for (size_t i = 0; i < GG_ARRAY_LEN(ents); i++) {
		size_t l = strlen(ents[i].s);
		if (left >= l && !memcmp(p, ents[i].s, l)) {
			*step = l;
			return ents[i].c;
		}
	}
	*step = 0;
	return 0;
}

int s3_xml_text(const char *body, size_t len, const char *tag, char *out, size_t size)
{
	char open[64], close[64];
	snprintf(open, sizeof open, "<%s>", tag);
	snprintf(close, sizeof close, "</%s>", tag);
	out[0] = 0;
	const char *a = body ? memmem(body, len, open, strlen(open)) : NULL;
	if (!a)
		return gg_error("no <%s> in the reply", tag);
	a += strlen(open);
	size_t left = len - (size_t)(a - body);
	const char *z = memmem(a, left, close, strlen(close));
	if (!z)
		return gg_error("the reply ends inside <%s>", tag);
	size_t k = 0;
	for (const char *p = a; p < z;) {
		char c = *p;
		size_t step = 1;
		if (c == '&') {
			c = xml_entity(p, (size_t)(z - p), &step);
			if (!step)
				return gg_error("an unexpected entity in <%s>", tag);
		} else if ((unsigned char)c < 0x20 || c == 0x7f) {
			return gg_error("a control character in <%s>", tag);
		}
		if (k + 1 >= size)
			return gg_error("<%s> is longer than %zu bytes", tag, size - 1);
		out[k++] = c;
		p += step;
	}
	out[k] = 0;
	if (k == 0)
		return gg_error("<%s> is empty", tag);
	return 0;
}

bool s3_xml_is_error(const char *body, size_t len)
{
	return body && memmem(body, len, "<Error>", 7) != NULL;
}

int s3_etag_parse(const char *value, size_t len, char out[S3_MAX_ETAG + 1])
{
	while (len > 0 && (*value == ' ' || *value == '\t'))
		value++, len--;
	while (len > 0 && (value[len - 1] == '\r' || value[len - 1] == '\n' ||
	                   value[len - 1] == ' ' || value[len - 1] == '\t'))
		len--;
	out[0] = 0;
	if (len == 0 || len > S3_MAX_ETAG)
		return -1;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)value[i] < 0x20 || value[i] == 0x7f)
			return -1;
	memcpy(out, value, len);
	out[len] = 0;
	return 0;
}

/* Escapes what XML text may not hold literally; quotes are left as S3
 * documents ETags ("<ETag>\"...\"</ETag>"). */
static void xml_escape(struct buf *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': buf_adds(out, "&amp;"); break;
		case '<': buf_adds(out, "&lt;"); break;
		case '>': buf_adds(out, "&gt;"); break;
		default: buf_addc(out, *s);
		}
	}
}

void s3_complete_body(struct buf *out, char *const *etags, unsigned n)
{
	buf_adds(out, "<CompleteMultipartUpload "
	              "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
	for (unsigned i = 0; i < n; i++) {
		buf_printf(out, "<Part><PartNumber>%u</PartNumber><ETag>", i + 1);
		xml_escape(out, etags[i]);
		buf_adds(out, "</ETag></Part>");
	}
	buf_adds(out, "</CompleteMultipartUpload>");
}

void s3_query_encode(struct buf *out, const char *s)
{
	for (; *s; s++) {
		char c = *s;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~')
			buf_addc(out, c);
		else
			buf_printf(out, "%%%02X", (unsigned char)c);
	}
}
