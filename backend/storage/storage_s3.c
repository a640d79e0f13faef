/**
 * @file storage_s3.c
 * The s3://BUCKET[/PREFIX] back-end: objects at PREFIX/NAME in a bucket of
 * AWS S3 or any S3-compatible store, signed with AWS Signature V4 by libcurl
 * (CURLOPT_AWS_SIGV4), HEAD for has, GET/PUT streamed from and to files,
 * many at once through http_batch. An object is stored as it is, so that
 * what any S3 client downloads under PREFIX/NAME is exactly the value NAME
 * names, and listings show true sizes. Objects that older versions stored
 * gzip'd ("Content-Encoding: gzip") are still read (libcurl undoes the
 * encoding) and are rewritten plain by s3_migrate. Every download is
 * verified against its name (incoming.c), whoever uploaded it.
 *
 * Objects larger than the part size (GG_S3_PART_SIZE, 64 MiB) go up as
 * multipart uploads, in batches of requests: CreateMultipartUpload for a
 * group of objects, then all their parts at once (streamed from the file at
 * their offsets), then CompleteMultipartUpload, and AbortMultipartUpload
 * for every upload that did not complete, so that no parts are left behind
 * (see put_multipart()). Shared cache entries live at PREFIX/memo/THUNK,
 * read and written whole (s3_entry_get, s3_entry_put). It does not list or
 * create buckets.
 *
 * libcurl 7.88 signs what it is given but does not add x-amz-content-sha256,
 * so this file does (see /work/shared/infra.md §E); for a whole object the
 * header's value is the object's own digest, which is in its name, so
 * uploads are signed without an extra read; a part's digest is computed by
 * reading the part once before it is sent, so that the server checks parts
 * end to end too.
 */
#include "backend/aws_credentials.h"
#include "backend/http_batch.h"
#include "backend/storage/incoming.h"
#include "backend/storage/s3_list.h"
#include "backend/storage/s3_multipart.h"
#include "backend/storage/storage_backends.h"
#include "backend/url.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
/* How much of a CreateMultipartUpload or CompleteMultipartUpload answer is
 * kept: both are a few hundred bytes; more is not an answer to parse. */
#define REPLY_MAX 65536
/* The largest ListObjectsV2 page read (1000 keys take about 300 KB). */
#define LIST_REPLY_MAX (8u << 20)

struct s3 {
	struct storage base; /* base.uri: s3://BUCKET[/PREFIX], never credentials */
	char *url_base;      /* ".../BUCKET/PREFIX/" or "...//BUCKET.host/PREFIX/", NAME follows */
	char *bucket_url;    /* ".../BUCKET/" or "...//BUCKET.host/": ListObjectsV2 */
	char *prefix;        /* "PREFIX/" or "": the keys' start */
	char *endpoint;      /* for messages: scheme://host[:port], no user info */
	char *sigv4;         /* "aws:amz:REGION:s3" */
	char *region;
	uint64_t part_size;    /* GG_S3_PART_SIZE: larger objects go up in parts */
	unsigned max_inflight; /* of the batch runner: how many parts keep it busy */
	bool fatal;            /* a batch of this put stopped on e.g. a 403 */
	enum gg_code code;     /* the first permanent failure of the call (s3_permanent) */
	struct aws_credentials cred;
	struct http_batch *hb;
};

enum s3_op {
	S3_HEAD,
	S3_GET,
	S3_PUT,
	S3_DELETE,
	/* multipart upload */
	S3_MP_CREATE,
	S3_MP_PART,
	S3_MP_COMPLETE,
	S3_MP_ABORT,
	/* a shared cache entry, PREFIX/memo/THUNK */
	S3_ENTRY_GET,
	S3_ENTRY_PUT,
	S3_ENTRY_DELETE,
	/* one page of ListObjectsV2 (remote GC); name unused */
	S3_LIST,
};

/*
 * One multipart upload of one object, across the batches of put_group():
 * created, then its parts, then completed, or aborted. It holds what it
 * sends open from the first batch to the last.
 */
struct s3_upload {
	struct gg_name name;
	int fd;        /* the store's file */
	uint64_t size; /* bytes sent */
	uint64_t part_len;
	unsigned n_parts;
	char *id;            /* the UploadId, as the server sent it */
	char **etags;        /* [n_parts], from the answers to UploadPart */
	struct buf complete; /* the body of CompleteMultipartUpload */
	char complete_sha[GG_DIGEST_HEX + 1];
	bool created, completed;
	bool failed;      /* a request failed for good: send no more parts, abort */
	bool uncertain;   /* Complete's answer was lost: HEAD says if it happened */
	char error[1536]; /* the first failure, then why aborting failed too */
};

/* One request about one object; lives for a whole batch, across retries. */
struct s3_job {
	struct http_job http; /* first: the runner hands us this pointer */
	struct s3 *s3;
	enum s3_op op;
	struct gg_name name;
	struct store *local;
	CURL *easy;
	struct curl_slist *headers;
	/* PUT: the local object */
	int fd;
	uint64_t put_size;
	char put_sha[GG_DIGEST_HEX + 1];
	/* GET: the verified sink, and why writing stopped */
	struct incoming in;
	int write_err; /* 0, -1 (I/O) or INCOMING_BAD_CONTENT */
	char write_msg[512];
	unsigned bad_content; /* downloads that did not match the name */
	/* from the answer */
	bool encoded; /* Content-Encoding was set (an object stored gzip'd) */
	char region_hint[40];
	char body[600]; /* start of an error body (S3's XML) */
	size_t body_len;
	/* results */
	bool present, downloaded, remove_remote;
	/* multipart requests */
	struct s3_upload *up;
	unsigned part; /* S3_MP_PART: its index (the part number less one) */
	uint64_t part_off, part_len, part_pos;
	char part_sha[GG_DIGEST_HEX + 1]; /* read and hashed before the first attempt */
	char etag[S3_MAX_ETAG + 1];
	bool skipped;     /* not sent: another request of its upload had failed */
	struct buf reply; /* the answer to Create or Complete, up to REPLY_MAX; an entry */
	/* S3_ENTRY_PUT: what is sent (not owned) and its SHA-256 */
	const char *entry;
	size_t entry_len;
	char entry_sha[GG_DIGEST_HEX + 1];
	bool too_big;      /* S3_ENTRY_GET: the entry is larger than STORAGE_ENTRY_MAX */
	const char *token; /* S3_LIST: the continuation token, or NULL (not owned) */
};

static struct s3 *s3_of(struct storage *st)
{
	return (struct s3 *)st;
}

/* ---- opening: URI, endpoint, region, credentials ---- */

static bool unreserved(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

/* Percent-encodes a key prefix per segment (RFC 3986; '/' kept), as SigV4
 * wants the path already canonical. Rejects empty segments. */
static int encode_prefix(const char *p, struct buf *out)
{
	const char *seg = p;
	for (const char *c = p;; c++) {
		if (*c == '/' || !*c) {
			if (c == seg)
				return gg_fail(GG_EUSAGE,
				               "empty path segment in the key prefix '%s'", p);
			if ((c - seg == 1 && seg[0] == '.') ||
			    (c - seg == 2 && seg[0] == '.' && seg[1] == '.'))
				return gg_fail(GG_EUSAGE, "'.' or '..' in the key prefix '%s'", p);
			seg = c + 1;
		}
		if (!*c)
			break;
		if (*c == '/' || unreserved(*c))
			buf_addc(out, *c);
		else
			buf_printf(out, "%%%02X", (unsigned char)*c);
	}
	return 0;
}

static bool env_flag(const char *var, bool def)
{
	const char *v = getenv(var);
	if (!v || !*v)
		return def;
	return !(!strcmp(v, "0") || !strcasecmp(v, "no") || !strcasecmp(v, "false") ||
	         !strcasecmp(v, "off"));
}

static const char *env_first(const char *a, const char *b, const char *c, const char *def)
{
	const char *vars[] = {a, b, c};
	for (size_t i = 0; i < GG_ARRAY_LEN(vars); i++) {
		const char *v = vars[i] ? getenv(vars[i]) : NULL;
		if (v && *v)
			return v;
	}
	return def;
}

/* Splits "http[s]://[user@]host[:port][/path]" into scheme, host[:port], path. */
static int parse_endpoint(const char *ep, char **scheme, char **host, char **path)
{
	const char *sep = strstr(ep, "://");
	if (!sep || !((sep - ep == 4 && !strncmp(ep, "http", 4)) ||
	              (sep - ep == 5 && !strncmp(ep, "https", 5))))
		return gg_fail(GG_EUSAGE, "GG_S3_ENDPOINT must start with http:// or https://");
	const char *h = sep + 3;
	/* url_authority_parse stops at '?' and '#': what follows would end up
	 * unchecked in every request's URL (and move its path into a query) */
	if (strpbrk(h, "?#"))
		return gg_fail(GG_EUSAGE,
		               "GG_S3_ENDPOINT=%s: an endpoint has no query or fragment ('?', '#')",
		               ep);
	const char *slash = strchr(h, '/');
	const char *end = slash ? slash : h + strlen(h);
	const char *at = memchr(h, '@', (size_t)(end - h));
	if (at)
		return gg_fail(GG_EUSAGE, "GG_S3_ENDPOINT must not carry credentials (use "
		                          "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)");
	struct url_authority a;
	if (url_authority_parse(h, &a) < 0)
		return gg_error("GG_S3_ENDPOINT=%s: %s", ep, gg_last_error());
	url_authority_free(&a);
	for (const char *c = end; *c; c++)
		if (*c != '/' && !unreserved(*c))
			return gg_fail(GG_EUSAGE,
			               "GG_S3_ENDPOINT=%s: a bad character in its path: '%c'", ep,
			               *c);
	*scheme = xstrndup(ep, (size_t)(sep - ep));
	*host = xstrndup(h, (size_t)(end - h));
	size_t plen = slash ? strlen(slash) : 0;
	while (plen > 0 && slash[plen - 1] == '/')
		plen--;
	*path = xstrndup(slash ? slash : "", plen);
	return 0;
}

static void s3_free(struct s3 *s)
{
	if (!s)
		return;
	http_batch_free(s->hb);
	aws_credentials_free(&s->cred);
	free(s->url_base);
	free(s->bucket_url);
	free(s->prefix);
	free(s->endpoint);
	free(s->sigv4);
	free(s->region);
	free(s->base.uri);
	free(s);
}

static int s3_open(const char *uri, struct storage **out)
{
	if (gg_curl_load() < 0)
		return gg_error("%s: %s", uri, gg_last_error());
	const char *b = uri + strlen("s3://");
	const char *slash = strchr(b, '/');
	size_t blen = slash ? (size_t)(slash - b) : strlen(b);
	if (blen == 0 || blen > 255)
		return gg_fail(GG_EUSAGE, "%s: no bucket name (s3://BUCKET[/PREFIX])", uri);
	for (size_t i = 0; i < blen; i++)
		if (!(unreserved(b[i]) && b[i] != '~'))
			return gg_fail(GG_EUSAGE, "%.*s: bad character '%c' in the bucket name",
			               (int)(blen + 5), uri, b[i]);
	char *bucket = xstrndup(b, blen);
	/* prefix without leading or trailing slashes */
	const char *p = slash ? slash : "";
	while (*p == '/')
		p++;
	size_t plen = strlen(p);
	while (plen > 0 && p[plen - 1] == '/')
		plen--;
	char *prefix = xstrndup(p, plen);
	struct buf enc = BUF_INIT;
	struct s3 *s = xcalloc(1, sizeof *s);
	s->base.ops = &storage_s3_ops;
	s->base.uri =
	    *prefix ? xasprintf("s3://%s/%s", bucket, prefix) : xasprintf("s3://%s", bucket);
	char *scheme = NULL, *host = NULL, *path = NULL;
	int r = 0;
	if (*prefix && encode_prefix(prefix, &enc) < 0)
		r = -1;
	if (*prefix)
		buf_addc(&enc, '/');

	s->region =
	    xstrdup(env_first("GG_S3_REGION", "AWS_REGION", "AWS_DEFAULT_REGION", "us-east-1"));
	for (const char *c = s->region; r == 0 && *c; c++)
		if (!unreserved(*c))
			r = gg_fail(GG_EUSAGE, "bad region '%s'", s->region);
	const char *ep = getenv("GG_S3_ENDPOINT");
	bool path_style;
	if (r == 0 && ep && *ep) {
		r = parse_endpoint(ep, &scheme, &host, &path);
		path_style = env_flag("GG_S3_PATH_STYLE", true);
	} else if (r == 0) {
		scheme = xstrdup("https");
		host = xasprintf("s3.%s.amazonaws.com", s->region);
		path = xstrdup("");
		/* a dotted bucket breaks the TLS name check of virtual-host style */
		path_style = env_flag("GG_S3_PATH_STYLE", strchr(bucket, '.') != NULL);
	}
	if (r == 0) {
		s->endpoint = xasprintf("%s://%s", scheme, host);
		if (path_style)
			s->bucket_url = xasprintf("%s://%s%s/%s/", scheme, host, path, bucket);
		else
			s->bucket_url = xasprintf("%s://%s.%s%s/", scheme, bucket, host, path);
		s->url_base = xasprintf("%s%s", s->bucket_url, enc.data ? enc.data : "");
		s->prefix = *prefix ? xasprintf("%s/", prefix) : xstrdup("");
		s->sigv4 = xasprintf("aws:amz:%s:s3", s->region);
		r = s3_part_size_from_env(&s->part_size);
	}
	struct http_batch_config cfg;
	if (r == 0)
		r = http_batch_config_from_env(&cfg);
	if (r == 0)
		r = aws_credentials_load(&s->cred);
	if (r == 0) {
		s->max_inflight = cfg.max_inflight;
		r = http_batch_new(&cfg, &s->hb);
	}
	free(scheme);
	free(host);
	free(path);
	free(bucket);
	free(prefix);
	buf_free(&enc);
	if (r < 0) {
		gg_error("%s: %s", s->base.uri, gg_last_error());
		s3_free(s);
		return -1;
	}
	*out = &s->base;
	return 0;
}

static void s3_close(struct storage *st)
{
	s3_free(s3_of(st));
}

/* ---- one request ---- */

/* What a request does, for "cannot ..." messages. */
static void job_what(const struct s3_job *j, char *out, size_t size)
{
	const char *n = j->name.s;
	switch (j->op) {
	case S3_HEAD: snprintf(out, size, "check %s", n); return;
	case S3_GET: snprintf(out, size, "download %s", n); return;
	case S3_PUT: snprintf(out, size, "upload %s", n); return;
	case S3_DELETE: snprintf(out, size, "delete %s", n); return;
	case S3_MP_CREATE: snprintf(out, size, "start a multipart upload of %s", n); return;
	case S3_MP_PART:
		snprintf(out, size, "upload part %u of %u of %s", j->part + 1, j->up->n_parts, n);
		return;
	case S3_MP_COMPLETE: snprintf(out, size, "complete the multipart upload of %s", n); return;
	case S3_MP_ABORT: snprintf(out, size, "abort the multipart upload of %s", n); return;
	case S3_ENTRY_GET: snprintf(out, size, "read the cache entry of %s", n); return;
	case S3_ENTRY_PUT: snprintf(out, size, "write the cache entry of %s", n); return;
	case S3_ENTRY_DELETE: snprintf(out, size, "delete the cache entry of %s", n); return;
	case S3_LIST: snprintf(out, size, "list the objects"); return;
	}
	snprintf(out, size, "?");
}

/* Copies the text of <tag>...</tag> from an XML error body. */
static void xml_field(const char *body, size_t len, const char *tag, char *out, size_t size)
{
	char open[32], close[32];
	snprintf(open, sizeof open, "<%s>", tag);
	snprintf(close, sizeof close, "</%s>", tag);
	out[0] = 0;
	const char *a = memmem(body, len, open, strlen(open));
	if (!a)
		return;
	a += strlen(open);
	const char *z = memmem(a, len - (size_t)(a - body), close, strlen(close));
	if (!z)
		return;
	size_t n = (size_t)(z - a);
	if (n >= size)
		n = size - 1;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (a[i] >= 0x20 && a[i] < 0x7f) /* it goes to a terminal */
			out[k++] = a[i];
	out[k] = 0;
}

/* Writes "cannot OP NAME at URI: WHY" into the job's error. */
static void job_error(struct s3_job *j, CURLcode rc, long status, const char *extra)
{
	char code[80], msg[160], detail[260], why[300], what[200];
	xml_field(j->body, j->body_len, "Code", code, sizeof code);
	xml_field(j->body, j->body_len, "Message", msg, sizeof msg);
	snprintf(detail, sizeof detail, "%s%s%s", code, *code && *msg ? ": " : "", msg);
	if (!*detail && status == 403)
		snprintf(detail, sizeof detail, "access denied: check the credentials%s",
		         j->op == S3_HEAD       ? ", and that they allow s3:ListBucket"
		         : j->op == S3_MP_ABORT ? ", and that they allow s3:AbortMultipartUpload"
		                                : "");
	if (!*detail && (status == 301 || status == 307 || status == 400) && j->region_hint[0])
		snprintf(detail, sizeof detail, "the bucket is in region %s; set GG_S3_REGION",
		         j->region_hint);
	http_describe(why, sizeof why, rc, status, detail);
	job_what(j, what, sizeof what);
	snprintf(j->http.error, sizeof j->http.error, "cannot %s at %s: %s%s%s", what,
	         j->s3->base.uri, why, rc != CURLE_OK ? " at " : "",
	         rc != CURLE_OK ? j->s3->endpoint : "");
	if (extra) {
		size_t l = strlen(j->http.error);
		snprintf(j->http.error + l, sizeof j->http.error - l, "%s", extra);
	}
}

static void keep_body(struct s3_job *j, const char *data, size_t len)
{
	size_t room = sizeof j->body - 1 - j->body_len;
	if (len > room)
		len = room;
	memcpy(j->body + j->body_len, data, len);
	j->body_len += len;
	j->body[j->body_len] = 0;
}

/* A successful answer that cannot be used (truncated, garbled): for a
 * multipart request, an error naming the object and what is wrong. */
static enum http_verdict bad_reply(struct s3_job *j, long status, const char *why)
{
	char what[200];
	job_what(j, what, sizeof what);
	snprintf(j->http.error, sizeof j->http.error, "cannot %s at %s: bad reply to HTTP %ld: %s",
	         what, j->s3->base.uri, status, why);
	return HTTP_FAILED;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct s3_job *j = arg;
	size_t len = size * nmemb;
	static const char enc[] = "content-encoding:", reg[] = "x-amz-bucket-region:",
	                  etag[] = "etag:";
	if (j->op == S3_MP_PART && len > sizeof etag - 1 &&
	    !strncasecmp(data, etag, sizeof etag - 1)) {
		/* an unusable value leaves it empty: the answer is then bad */
		s3_etag_parse(data + sizeof etag - 1, len - (sizeof etag - 1), j->etag);
	} else if (len > sizeof enc - 1 && !strncasecmp(data, enc, sizeof enc - 1)) {
		const char *v = data + sizeof enc - 1;
		while (v < data + len && (*v == ' ' || *v == '\t'))
			v++;
		/* "identity" and empty mean nothing was applied */
		j->encoded =
		    v < data + len && *v != '\r' && *v != '\n' &&
		    strncasecmp(v, "identity",
		                (size_t)(data + len - v) < 8 ? (size_t)(data + len - v) : 8);
	} else if (len > sizeof reg - 1 && !strncasecmp(data, reg, sizeof reg - 1)) {
		const char *v = data + sizeof reg - 1;
		size_t k = 0;
		while (v < data + len && *v == ' ')
			v++;
		while (v < data + len && unreserved(*v) && k < sizeof j->region_hint - 1)
			j->region_hint[k++] = *v++;
		j->region_hint[k] = 0;
	}
	return len;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct s3_job *j = arg;
	size_t len = size * nmemb;
	long status = 0;
	curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &status);
	if (j->op == S3_ENTRY_GET && status == 200) {
		if (j->reply.len + len > STORAGE_ENTRY_MAX) {
			j->too_big = true;
			return 0; /* aborts the transfer */
		}
		buf_add(&j->reply, data, len);
		return len;
	}
	if (j->op != S3_GET || status != 200) {
		const char *d = data;
		size_t l = len;
		/* S3 may send blanks before a slow CompleteMultipartUpload's
		 * answer, to keep the connection alive */
		if (j->body_len == 0)
			while (l > 0 && (*d == ' ' || *d == '\t' || *d == '\r' || *d == '\n'))
				d++, l--;
		keep_body(j, d, l);
		if (j->op == S3_LIST && status == 200) {
			if (j->reply.len + l > LIST_REPLY_MAX) {
				j->too_big = true;
				return 0; /* aborts the transfer */
			}
			buf_add(&j->reply, d, l);
		}
		if ((j->op == S3_MP_CREATE || j->op == S3_MP_COMPLETE) && j->reply.len < REPLY_MAX)
			buf_add(&j->reply, d,
			        l < REPLY_MAX - j->reply.len ? l : REPLY_MAX - j->reply.len);
		return len;
	}
	int r = incoming_write(&j->in, data, len);
	if (r < 0) {
		j->write_err = r;
		snprintf(j->write_msg, sizeof j->write_msg, "%s", gg_last_error());
		return 0; /* any other count than len aborts the transfer */
	}
	return len;
}

static size_t on_read(char *data, size_t size, size_t nmemb, void *arg)
{
	struct s3_job *j = arg;
	for (;;) {
		ssize_t n = read(j->fd, data, size * nmemb);
		if (n >= 0)
			return (size_t)n;
		if (errno != EINTR)
			return CURL_READFUNC_ABORT;
	}
}

static int on_seek(void *arg, curl_off_t offset, int origin)
{
	struct s3_job *j = arg;
	return lseek(j->fd, (off_t)offset, origin) < 0 ? CURL_SEEKFUNC_FAIL : CURL_SEEKFUNC_OK;
}

/* A part's bytes, read with pread at its offset: the parts of one object
 * share one file descriptor and are sent at once. */
static size_t on_read_part(char *data, size_t size, size_t nmemb, void *arg)
{
	struct s3_job *j = arg;
	uint64_t left = j->part_len - j->part_pos;
	size_t want = size * nmemb < left ? size * nmemb : (size_t)left;
	if (want == 0)
		return 0;
	for (;;) {
		ssize_t n = pread(j->up->fd, data, want, (off_t)(j->part_off + j->part_pos));
		if (n > 0) {
			j->part_pos += (uint64_t)n;
			return (size_t)n;
		}
		if (n < 0 && errno == EINTR)
			continue;
		return CURL_READFUNC_ABORT; /* an error, or the file is shorter */
	}
}

static int on_seek_part(void *arg, curl_off_t offset, int origin)
{
	struct s3_job *j = arg;
	if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > j->part_len)
		return CURL_SEEKFUNC_CANTSEEK;
	j->part_pos = (uint64_t)offset;
	return CURL_SEEKFUNC_OK;
}

/*
 * The SHA-256 of a part, for its x-amz-content-sha256, so that the server
 * checks each part as it checks whole objects. This reads the part once
 * more (the bytes are then in the page cache for the send); it runs in the
 * transfer loop, which a 64 MiB part holds for some tens of milliseconds.
 */
static int hash_part(struct s3_job *j)
{
	enum { CHUNK = 1 << 20 };
	char *b = xmalloc(CHUNK);
	struct gg_hasher h;
	gg_hasher_init(&h);
	uint64_t done = 0;
	int r = 0;
	while (done < j->part_len) {
		uint64_t left = j->part_len - done;
		ssize_t n = pread(j->up->fd, b, left < CHUNK ? (size_t)left : CHUNK,
		                  (off_t)(j->part_off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = gg_error_errno("cannot read %s", j->name.s);
			break;
		}
		if (n == 0) {
			r = gg_error("%s is shorter than expected", j->name.s);
			break;
		}
		gg_hasher_update(&h, b, (size_t)n);
		done += (uint64_t)n;
	}
	struct gg_name digest;
	gg_hasher_final(&h, GG_VALUE, &digest);
	free(b);
	if (r == 0)
		gg_name_digest_hex(&digest, j->part_sha);
	return r;
}

/* Appends "NAME: value"; no length limit (session tokens run to kilobytes). */
static void add_header(struct s3_job *j, const char *name, const char *value)
{
	char *line = xasprintf("%s: %s", name, value);
	j->headers = curl_slist_append(j->headers, line);
	free(line);
}

/* PUT: the local object, as it is (larger objects take the multipart path:
 * the part size is at most the 5 GiB that a single PUT takes). */
static int open_upload(struct s3_job *j)
{
	j->fd = store_open_object(j->local, &j->name);
	return j->fd < 0 ? -1 : 0;
}

static int s3_prepare(struct http_job *hj, CURL *e)
{
	struct s3_job *j = (struct s3_job *)hj;
	struct s3 *s = j->s3;
	j->easy = e;
	j->headers = NULL;
	j->body_len = 0;
	j->body[0] = 0;
	j->encoded = false;
	j->region_hint[0] = 0;
	j->write_err = 0;
	j->etag[0] = 0;
	j->part_pos = 0;
	buf_reset(&j->reply);
	const char *sha = EMPTY_SHA256;
	switch (j->op) {
	case S3_HEAD: curl_easy_setopt(e, CURLOPT_NOBODY, 1L); break;
	case S3_GET:
		if (j->in.fd < 0 ? incoming_open(&j->in, j->local, &j->name, j->s3->base.uri) < 0
		                 : incoming_restart(&j->in) < 0)
			return -1;
		curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "gzip");
		break;
	case S3_PUT:
		if (open_upload(j) < 0) {
			snprintf(j->http.error, sizeof j->http.error, "cannot upload %s to %s: %s",
			         j->name.s, s->base.uri, gg_last_error());
			return -1;
		}
		gg_name_digest_hex(&j->name, j->put_sha);
		sha = j->put_sha;
		j->put_size = gg_name_size(&j->name);
		add_header(j, "Content-Type", "application/octet-stream");
		curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)j->put_size);
		curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(e, CURLOPT_READDATA, j);
		curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(e, CURLOPT_SEEKDATA, j);
		break;
	case S3_DELETE: curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "DELETE"); break;
	case S3_MP_CREATE:
		/* what a single PUT would say about the object goes here */
		add_header(j, "Content-Type", "application/octet-stream");
		curl_easy_setopt(e, CURLOPT_POST, 1L);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
		break;
	case S3_MP_PART:
		if (j->up->failed) {
			j->skipped = true;
			snprintf(j->http.error, sizeof j->http.error,
			         "part %u of %s not sent: the upload failed", j->part + 1,
			         j->name.s);
			return -1;
		}
		if (!j->part_sha[0] && hash_part(j) < 0) {
			snprintf(j->http.error, sizeof j->http.error,
			         "cannot upload part %u of %s to %s: %s", j->part + 1, j->name.s,
			         s->base.uri, gg_last_error());
			return -1;
		}
		sha = j->part_sha;
		curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)j->part_len);
		curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read_part);
		curl_easy_setopt(e, CURLOPT_READDATA, j);
		curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, on_seek_part);
		curl_easy_setopt(e, CURLOPT_SEEKDATA, j);
		break;
	case S3_MP_COMPLETE:
		add_header(j, "Content-Type", "application/xml");
		sha = j->up->complete_sha;
		curl_easy_setopt(e, CURLOPT_POST, 1L);
		/* not copied by libcurl: the upload keeps it until the batch ends */
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, j->up->complete.data);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)j->up->complete.len);
		break;
	case S3_MP_ABORT: curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "DELETE"); break;
	case S3_ENTRY_GET: break;
	case S3_ENTRY_DELETE: curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "DELETE"); break;
	case S3_LIST: break;
	case S3_ENTRY_PUT:
		add_header(j, "Content-Type", "text/plain");
		sha = j->entry_sha;
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "PUT");
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, j->entry); /* the caller keeps it */
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)j->entry_len);
		break;
	}
	add_header(j, "x-amz-content-sha256", sha);
	if (s->cred.session_token)
		add_header(j, "x-amz-security-token", s->cred.session_token);
	/* the query is sent as libcurl signs it: parameters sorted by name,
	 * values encoded, and "uploads=" with its '=' (infra.md §E) */
	struct buf url = BUF_INIT;
	bool entry = j->op == S3_ENTRY_GET || j->op == S3_ENTRY_PUT || j->op == S3_ENTRY_DELETE;
	if (j->op == S3_LIST)
		buf_adds(&url, s->bucket_url);
	else
		buf_printf(&url, "%s%s%s", s->url_base, entry ? "memo/" : "", j->name.s);
	if (j->op == S3_LIST) {
		buf_adds(&url, "?");
		if (j->token) {
			buf_adds(&url, "continuation-token=");
			s3_query_encode(&url, j->token);
			buf_adds(&url, "&");
		}
		buf_adds(&url, "list-type=2&prefix=");
		s3_query_encode(&url, s->prefix);
	} else if (j->op == S3_MP_CREATE) {
		buf_adds(&url, "?uploads=");
	} else if (j->op == S3_MP_PART) {
		buf_printf(&url, "?partNumber=%u&uploadId=", j->part + 1);
		s3_query_encode(&url, j->up->id);
	} else if (j->op == S3_MP_COMPLETE || j->op == S3_MP_ABORT) {
		buf_adds(&url, "?uploadId=");
		s3_query_encode(&url, j->up->id);
	}
	curl_easy_setopt(e, CURLOPT_URL, url.data); /* copied by libcurl */
	buf_free(&url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, j->headers);
	curl_easy_setopt(e, CURLOPT_AWS_SIGV4, s->sigv4);
	curl_easy_setopt(e, CURLOPT_USERNAME, s->cred.access_key);
	curl_easy_setopt(e, CURLOPT_PASSWORD, s->cred.secret_key);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, j);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, j);
	return 0;
}

/*
 * What an error answer says about every retry: refused credentials or a
 * clock too far off (401/403), a bucket that does not exist, a bucket in
 * another region stay so. Their code (GG_EDENIED, GG_ENOTFOUND, GG_EUSAGE)
 * and *hint, the cause in words, or 0 for an answer worth another attempt.
 */
static enum gg_code s3_permanent(const struct s3_job *j, long status, const char **hint)
{
	char code[80];
	xml_field(j->body, j->body_len, "Code", code, sizeof code);
	*hint = "; not retried";
	if (status == 401 || status == 403) {
		if (!strcmp(code, "RequestTimeTooSkewed"))
			*hint = "; this machine's clock is too far from the server's (not retried)";
		else if (!strcmp(code, "SignatureDoesNotMatch"))
			*hint = "; the secret key is wrong (not retried)";
		else if (!strcmp(code, "InvalidAccessKeyId"))
			*hint = "; the server does not know the access key (not retried)";
		else
			*hint = "; the credentials are refused (not retried)";
		return GG_EDENIED;
	}
	if (status == 404 && !strcmp(code, "NoSuchBucket")) {
		*hint = "; the bucket does not exist (not retried)";
		return GG_ENOTFOUND;
	}
	if ((status == 301 || status == 307) && j->region_hint[0])
		return GG_EUSAGE;
	*hint = NULL;
	return 0;
}

/* Verdict for an answer that is not the success of the operation. */
static enum http_verdict judge_failure(struct s3_job *j, CURLcode rc, long status)
{
	const char *hint = NULL;
	enum gg_code code = rc == CURLE_OK ? s3_permanent(j, status, &hint) : 0;
	job_error(j, rc, status, hint);
	if (code) {
		j->s3->fatal = true; /* every other request would be refused too */
		if (!j->s3->code)
			j->s3->code = code;
		return HTTP_FATAL;
	}
	return http_transient(rc, status) ? HTTP_RETRY : HTTP_FAILED;
}

static enum http_verdict finish_get(struct s3_job *j, CURLcode rc, long status)
{
	bool bad = j->write_err == INCOMING_BAD_CONTENT || rc == CURLE_BAD_CONTENT_ENCODING;
	if (rc == CURLE_OK && status == 404) {
		incoming_discard(&j->in);
		j->present = false;
		return HTTP_DONE;
	}
	if (rc == CURLE_OK && status == 200) {
		int r = incoming_commit(&j->in);
		if (r == 0) {
			j->downloaded = true;
			return HTTP_DONE;
		}
		bad = r == INCOMING_BAD_CONTENT;
		snprintf(j->write_msg, sizeof j->write_msg, "%s", gg_last_error());
		if (!bad) {
			snprintf(j->http.error, sizeof j->http.error, "%s", j->write_msg);
			return HTTP_FAILED;
		}
	} else if (j->write_err == -1) {
		snprintf(j->http.error, sizeof j->http.error, "%s", j->write_msg);
		return HTTP_FAILED; /* the local disk, not the network */
	}
	if (bad) {
		/* keep the sink open for a retry: commit closed it, so reopen then */
		if (rc == CURLE_BAD_CONTENT_ENCODING)
			snprintf(j->write_msg, sizeof j->write_msg,
			         "object %s from %s is corrupt: its gzip encoding is damaged",
			         j->name.s, j->s3->base.uri);
		snprintf(j->http.error, sizeof j->http.error, "%s", j->write_msg);
		if (++j->bad_content < STORAGE_VERIFY_ATTEMPTS)
			return HTTP_RETRY;
		j->remove_remote = true;
		return HTTP_FAILED;
	}
	return judge_failure(j, rc, status);
}

static enum http_verdict finish_create(struct s3_job *j, CURLcode rc, long status)
{
	const char *b = j->reply.data;
	size_t len = j->reply.len;
	if (rc != CURLE_OK || status != 200 || s3_xml_is_error(b, len))
		return judge_failure(j, rc, status);
	char id[S3_MAX_UPLOAD_ID + 1];
	if (s3_xml_text(b, len, "UploadId", id, sizeof id) < 0)
		return bad_reply(j, status, gg_last_error());
	j->up->id = xstrdup(id);
	j->up->created = true;
	return HTTP_DONE;
}

static enum http_verdict finish_part(struct s3_job *j, CURLcode rc, long status)
{
	if (rc == CURLE_OK && status == 200) {
		if (!j->etag[0])
			return bad_reply(j, status, "no usable ETag header");
		free(j->up->etags[j->part]);
		j->up->etags[j->part] = xstrdup(j->etag);
		return HTTP_DONE;
	}
	if (rc == CURLE_OK && status == 400 && strstr(j->body, "XAmzContentSHA256Mismatch")) {
		job_error(j, rc, status, "; the local copy may be damaged");
		return HTTP_FAILED;
	}
	return judge_failure(j, rc, status);
}

/*
 * CompleteMultipartUpload answers 200 at once and the outcome in the body,
 * which can be an <Error>. When the answer is lost (cut short, or the upload
 * is gone when an attempt is repeated), whether the object was made is not
 * known: the upload is marked uncertain and a HEAD decides.
 */
static enum http_verdict finish_complete(struct s3_job *j, CURLcode rc, long status)
{
	const char *b = j->reply.data;
	size_t len = j->reply.len;
	static const char result[] = "<CompleteMultipartUploadResult";
	if (rc == CURLE_OK && status == 200 && !s3_xml_is_error(b, len)) {
		if (b && memmem(b, len, result, sizeof result - 1)) {
			j->up->completed = true;
			return HTTP_DONE;
		}
		j->up->uncertain = true;
		return bad_reply(
		    j, status, len ? "no <CompleteMultipartUploadResult> in it" : "an empty body");
	}
	enum http_verdict v = judge_failure(j, rc, status);
	if (rc != CURLE_OK)
		return v;
	char code[80];
	xml_field(j->body, j->body_len, "Code", code, sizeof code);
	if (!strcmp(code, "NoSuchUpload") && j->http.attempts > 1) {
		j->up->uncertain = true; /* an earlier attempt may have done it */
		return HTTP_FAILED;
	}
	if (status == 200 && (!strcmp(code, "InternalError") || !strcmp(code, "SlowDown") ||
	                      !strcmp(code, "ServiceUnavailable")))
		return HTTP_RETRY; /* what S3 asks clients to retry */
	return v;
}

static enum http_verdict s3_finish(struct http_job *hj, CURL *e, CURLcode rc, long status)
{
	struct s3_job *j = (struct s3_job *)hj;
	curl_slist_free_all(j->headers);
	j->headers = NULL;
	switch (j->op) {
	case S3_HEAD:
		if (rc == CURLE_OK && status == 200) {
			curl_off_t len = -1;
			curl_easy_getinfo(e, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len);
			/* a plain copy of the wrong size is damage: call it absent,
			 * so that a put replaces it */
			j->present =
			    j->encoded || len < 0 || (uint64_t)len == gg_name_size(&j->name);
			return HTTP_DONE;
		}
		if (rc == CURLE_OK && status == 404) {
			j->present = false;
			return HTTP_DONE;
		}
		return judge_failure(j, rc, status);
	case S3_GET: return finish_get(j, rc, status);
	case S3_PUT:
		if (j->fd >= 0)
			close(j->fd);
		j->fd = -1;
		if (rc == CURLE_OK && status == 200)
			return HTTP_DONE;
		if (rc == CURLE_OK && status == 400 &&
		    strstr(j->body, "XAmzContentSHA256Mismatch")) {
			job_error(j, rc, status, "; the local copy may be damaged");
			return HTTP_FAILED;
		}
		return judge_failure(j, rc, status);
	case S3_LIST:
		if (rc == CURLE_OK && status == 200)
			return HTTP_DONE;
		if (j->too_big) {
			snprintf(j->http.error, sizeof j->http.error,
			         "%s: a ListObjectsV2 page larger than %u bytes", j->s3->base.uri,
			         LIST_REPLY_MAX);
			return HTTP_FAILED;
		}
		return judge_failure(j, rc, status);
	case S3_DELETE:
	case S3_ENTRY_DELETE:
	case S3_MP_ABORT:
		/* 404: already gone (for an upload: aborted, or completed) */
		if (rc == CURLE_OK && (status == 200 || status == 204 || status == 404))
			return HTTP_DONE;
		return judge_failure(j, rc, status);
	case S3_MP_CREATE: return finish_create(j, rc, status);
	case S3_MP_PART: return finish_part(j, rc, status);
	case S3_MP_COMPLETE: return finish_complete(j, rc, status);
	case S3_ENTRY_GET:
		if (rc == CURLE_OK && status == 200) {
			j->present = true;
			return HTTP_DONE;
		}
		if (j->too_big) {
			/* this entry is bad, not the store: the caller ignores it */
			buf_reset(&j->reply);
			return HTTP_DONE;
		}
		if (rc == CURLE_OK && status == 404 && !strstr(j->body, "NoSuchBucket")) {
			j->present = false;
			return HTTP_DONE;
		}
		buf_reset(&j->reply);
		return judge_failure(j, rc, status);
	case S3_ENTRY_PUT:
		if (rc == CURLE_OK && status == 200)
			return HTTP_DONE;
		return judge_failure(j, rc, status);
	}
	return HTTP_FAILED;
}

/* Frees what a settled job kept across attempts: its download sink, the
 * answer it kept. A part that failed marks its upload. */
static void s3_release(struct http_job *hj)
{
	struct s3_job *j = (struct s3_job *)hj;
	incoming_discard(&j->in);
	if (j->op != S3_ENTRY_GET && j->op != S3_LIST) /* the caller's to take */
		buf_free(&j->reply);
	/* the rest of the upload's parts are not sent (see s3_prepare) */
	if (j->up && j->http.state == HTTP_JOB_FAILED)
		j->up->failed = true;
}

/* ---- batches ---- */

static void job_init(struct s3_job *j, struct s3 *s, enum s3_op op, struct store *local,
                     const struct gg_name *name)
{
	j->http.prepare = s3_prepare;
	j->http.finish = s3_finish;
	j->http.release = s3_release;
	j->s3 = s;
	j->op = op;
	j->name = *name;
	j->local = local;
	j->fd = -1;
	j->in = (struct incoming)INCOMING_INIT;
	j->reply = (struct buf)BUF_INIT;
}

/* The pointers that http_batch_run() takes. */
static struct http_job **job_ptrs(struct s3_job *jobs, size_t n)
{
	struct http_job **ptrs = xcalloc(n ? n : 1, sizeof *ptrs);
	for (size_t i = 0; i < n; i++)
		ptrs[i] = &jobs[i].http;
	return ptrs;
}

static struct s3_job *make_jobs(struct s3 *s, enum s3_op op, struct store *local,
                                const struct gg_name *names, size_t n, struct http_job ***ptrs)
{
	struct s3_job *jobs = xcalloc(n ? n : 1, sizeof *jobs);
	for (size_t i = 0; i < n; i++)
		job_init(&jobs[i], s, op, local, &names[i]);
	*ptrs = job_ptrs(jobs, n);
	return jobs;
}

static void free_jobs(struct s3_job *jobs, size_t n, struct http_job **ptrs)
{
	for (size_t i = 0; i < n; i++) {
		s3_release(&jobs[i].http); /* settled jobs were released already: a no-op */
		curl_slist_free_all(jobs[i].headers);
	}
	free(jobs);
	free(ptrs);
}

/* Runs the batch; returns the number of failed jobs and the first error. */
static size_t run_jobs(struct s3 *s, struct s3_job *jobs, struct http_job **ptrs, size_t n,
                       char *first, size_t first_size)
{
	size_t failed = http_batch_run(s->hb, ptrs, n);
	first[0] = 0;
	/* report the first real failure, not one skipped after it */
	for (int pass = 0; pass < 2 && !first[0]; pass++)
		for (size_t i = 0; i < n; i++)
			if (jobs[i].http.state == HTTP_JOB_FAILED &&
			    (pass == 1 || jobs[i].http.attempts > 0)) {
				snprintf(first, first_size, "%s", jobs[i].http.error);
				break;
			}
	return failed;
}

static int s3_has(struct storage *st, const struct gg_name *names, size_t n, bool *present)
{
	struct s3 *s = s3_of(st);
	s->code = 0;
	struct http_job **ptrs;
	struct s3_job *jobs = make_jobs(s, S3_HEAD, NULL, names, n, &ptrs);
	char first[512];
	size_t failed = run_jobs(s, jobs, ptrs, n, first, sizeof first);
	for (size_t i = 0; i < n; i++)
		present[i] = jobs[i].present;
	free_jobs(jobs, n, ptrs);
	return storage_batch_error(failed, s->code, first);
}

/* ---- multipart uploads ---- */

static void upload_fail(struct s3_upload *up, const char *why)
{
	up->failed = true;
	if (!up->error[0])
		snprintf(up->error, sizeof up->error, "%s", why);
}

/* Opens what an upload sends and cuts it into parts. */
static int upload_open(struct s3 *s, struct store *local, struct s3_upload *up)
{
	int fd = store_open_object(local, &up->name);
	if (fd < 0)
		return -1;
	up->fd = fd;
	up->size = gg_name_size(&up->name);
	return s3_plan_parts(up->size, s->part_size, &up->part_len, &up->n_parts);
}

/* Releases what an upload holds once it is settled; keeps its outcome. */
static void upload_close(struct s3_upload *up)
{
	if (up->fd >= 0)
		close(up->fd);
	up->fd = -1;
	for (unsigned i = 0; up->etags && i < up->n_parts; i++)
		free(up->etags[i]);
	free(up->etags);
	up->etags = NULL;
	free(up->id);
	up->id = NULL;
	buf_free(&up->complete);
}

/* Runs a batch of multipart requests and records in each upload why it
 * failed: a request's own failure first, not a part skipped after it. */
static void run_upload_jobs(struct s3 *s, struct s3_job *jobs, size_t n)
{
	struct http_job **ptrs = job_ptrs(jobs, n);
	if (n > 0)
		http_batch_run(s->hb, ptrs, n);
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < n; i++)
			if (jobs[i].http.state == HTTP_JOB_FAILED &&
			    (pass == 1 || (jobs[i].http.attempts > 0 && !jobs[i].skipped)))
				upload_fail(jobs[i].up, jobs[i].http.error);
	free_jobs(jobs, n, ptrs);
}

/* A batch of one request per upload for which want() holds. */
static void run_upload_step(struct s3 *s, struct store *local, struct s3_upload *ups, size_t n,
                            enum s3_op op, bool (*want)(const struct s3_upload *))
{
	struct s3_job *jobs = xcalloc(n ? n : 1, sizeof *jobs);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (want(&ups[i])) {
			job_init(&jobs[k], s, op, local, &ups[i].name);
			jobs[k++].up = &ups[i];
		}
	run_upload_jobs(s, jobs, k);
}

static bool wants_create(const struct s3_upload *up)
{
	return !up->failed;
}

static bool wants_complete(const struct s3_upload *up)
{
	return up->created && !up->failed;
}

/*
 * Uploads a group of objects in parts, one batch per step so that each
 * step's requests share the connections: create every upload, send every
 * part of every upload (a part that fails for good stops the rest of its
 * upload's parts), complete what has all its parts, then abort every upload
 * that was created and not completed, leaving no parts behind. (An upload
 * whose Create answer was lost cannot be named, so not aborted; it holds
 * no parts. A bucket lifecycle rule, AbortIncompleteMultipartUpload, clears
 * such leftovers; listing the key's uploads to abort strays could abort
 * another client's upload of the same object.)
 */
static void put_group(struct s3 *s, struct store *local, struct s3_upload *ups, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct s3_upload *up = &ups[i];
		char why[1024];
		if (s->fatal) {
			upload_fail(up, "not attempted after an earlier fatal error");
		} else if (upload_open(s, local, up) < 0) {
			snprintf(why, sizeof why, "cannot upload %s to %s: %s", up->name.s,
			         s->base.uri, gg_last_error());
			upload_fail(up, why);
		}
	}
	run_upload_step(s, local, ups, n, S3_MP_CREATE, wants_create);

	size_t n_parts = 0;
	for (size_t i = 0; i < n; i++)
		if (wants_complete(&ups[i]))
			n_parts += ups[i].n_parts;
	struct s3_job *jobs = xcalloc(n_parts ? n_parts : 1, sizeof *jobs);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		struct s3_upload *up = &ups[i];
		if (!wants_complete(up))
			continue;
		up->etags = xcalloc(up->n_parts, sizeof *up->etags);
		for (unsigned p = 0; p < up->n_parts; p++) {
			struct s3_job *j = &jobs[k++];
			job_init(j, s, S3_MP_PART, local, &up->name);
			j->up = up;
			j->part = p;
			j->part_off = (uint64_t)p * up->part_len;
			j->part_len = up->size - j->part_off < up->part_len ? up->size - j->part_off
			                                                    : up->part_len;
		}
	}
	run_upload_jobs(s, jobs, k);

	for (size_t i = 0; i < n; i++) {
		struct s3_upload *up = &ups[i];
		if (!wants_complete(up))
			continue;
		/* every part succeeded, so each has an ETag; never trust that blindly */
		for (unsigned p = 0; p < up->n_parts && !up->failed; p++)
			if (!up->etags[p]) {
				char why[300];
				snprintf(why, sizeof why,
				         "cannot upload %s to %s: part %u has no ETag", up->name.s,
				         s->base.uri, p + 1);
				upload_fail(up, why);
			}
		if (up->failed)
			continue;
		s3_complete_body(&up->complete, up->etags, up->n_parts);
		struct gg_name digest;
		gg_name_of_buf(up->complete.data, up->complete.len, GG_VALUE, &digest);
		gg_name_digest_hex(&digest, up->complete_sha);
	}
	run_upload_step(s, local, ups, n, S3_MP_COMPLETE, wants_complete);

	/* Complete's answer was lost: the object is there or the upload is */
	struct gg_name *ask = xcalloc(n, sizeof *ask);
	size_t *index = xcalloc(n, sizeof *index);
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (ups[i].uncertain && !ups[i].completed) {
			index[m] = i;
			ask[m++] = ups[i].name;
		}
	if (m > 0) {
		struct http_job **ptrs;
		struct s3_job *heads = make_jobs(s, S3_HEAD, NULL, ask, m, &ptrs);
		http_batch_run(s->hb, ptrs, m);
		for (size_t i = 0; i < m; i++)
			if (heads[i].http.state == HTTP_JOB_OK && heads[i].present)
				ups[index[i]].completed = true;
		free_jobs(heads, m, ptrs);
	}
	free(ask);
	free(index);

	/* abort what was started and not finished; say so if that fails too */
	jobs = xcalloc(n, sizeof *jobs);
	k = 0;
	for (size_t i = 0; i < n; i++)
		if (ups[i].created && !ups[i].completed) {
			job_init(&jobs[k], s, S3_MP_ABORT, local, &ups[i].name);
			jobs[k++].up = &ups[i];
		}
	struct http_job **ptrs = job_ptrs(jobs, k);
	if (k > 0)
		http_batch_run(s->hb, ptrs, k);
	for (size_t i = 0; i < k; i++) {
		struct s3_upload *up = jobs[i].up;
		if (jobs[i].http.state == HTTP_JOB_OK)
			continue;
		size_t l = strlen(up->error);
		snprintf(up->error + l, sizeof up->error - l,
		         "; aborting the upload failed too, so its parts remain (upload ID %s; "
		         "a bucket lifecycle rule AbortIncompleteMultipartUpload removes "
		         "them): %s",
		         up->id, jobs[i].http.error);
	}
	free_jobs(jobs, k, ptrs);
	for (size_t i = 0; i < n; i++)
		upload_close(&ups[i]);
}

/*
 * Uploads objects larger than the part size, in groups of objects with
 * enough parts between them to keep every connection busy, and not more:
 * each upload of a group holds its file until the
 * group is settled. Returns how many failed; sets first if it is empty.
 */
static size_t put_multipart(struct s3 *s, struct store *local, const struct gg_name *names,
                            size_t n, char *first, size_t first_size)
{
	struct s3_upload *ups = xcalloc(n, sizeof *ups);
	for (size_t i = 0; i < n; i++) {
		ups[i].name = names[i];
		ups[i].fd = -1;
	}
	for (size_t g = 0; g < n;) {
		size_t end = g;
		uint64_t parts = 0;
		while (end < n && (end == g || parts < s->max_inflight)) {
			parts += (gg_name_size(&ups[end].name) + s->part_size - 1) / s->part_size;
			end++;
		}
		put_group(s, local, ups + g, end - g);
		g = end;
	}
	size_t failed = 0;
	for (size_t i = 0; i < n; i++) {
		if (ups[i].completed)
			continue;
		failed++;
		if (!first[0])
			snprintf(first, first_size, "%s",
			         ups[i].error[0] ? ups[i].error
			                         : "a multipart upload did not complete");
	}
	free(ups);
	return failed;
}

/* Objects up to the part size go up in one PUT each, larger ones in parts. */
static int s3_put(struct storage *st, struct store *local, const struct gg_name *names, size_t n)
{
	struct s3 *s = s3_of(st);
	s->code = 0;
	struct gg_name *whole = xcalloc(n ? n : 1, sizeof *whole);
	struct gg_name *parted = xcalloc(n ? n : 1, sizeof *parted);
	size_t n_whole = 0, n_parted = 0;
	for (size_t i = 0; i < n; i++) {
		if (gg_name_size(&names[i]) > s->part_size)
			parted[n_parted++] = names[i];
		else
			whole[n_whole++] = names[i];
	}
	s->fatal = false;
	char first[1536];
	first[0] = 0;
	size_t failed = 0;
	if (n_whole > 0) {
		struct http_job **ptrs;
		struct s3_job *jobs = make_jobs(s, S3_PUT, local, whole, n_whole, &ptrs);
		failed = run_jobs(s, jobs, ptrs, n_whole, first, sizeof first);
		free_jobs(jobs, n_whole, ptrs);
	}
	if (n_parted > 0)
		failed += put_multipart(s, local, parted, n_parted, first, sizeof first);
	free(whole);
	free(parted);
	return storage_batch_error(failed, s->code, first);
}

/* Deletes remote copies that failed verification twice (best effort). */
static void remove_bad(struct s3 *s, struct s3_job *jobs, size_t n, char *first, size_t first_size)
{
	struct gg_name *bad = xcalloc(n ? n : 1, sizeof *bad);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (jobs[i].remove_remote)
			bad[k++] = jobs[i].name;
	if (k > 0) {
		struct http_job **ptrs;
		struct s3_job *del = make_jobs(s, S3_DELETE, NULL, bad, k, &ptrs);
		char why[512];
		bool removed = run_jobs(s, del, ptrs, k, why, sizeof why) == 0;
		size_t l = strlen(first);
		snprintf(first + l, first_size - l, "; %s",
		         removed ? "removed the bad copy from the remote store"
		                 : "could not remove the bad copy");
		free_jobs(del, k, ptrs);
	}
	free(bad);
}

static int s3_get(struct storage *st, struct store *local, const struct gg_name *names, size_t n,
                  bool *ok)
{
	struct s3 *s = s3_of(st);
	s->code = 0;
	/* fetch only what is not already here */
	struct gg_name *want = xcalloc(n ? n : 1, sizeof *want);
	size_t *index = xcalloc(n ? n : 1, sizeof *index);
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		ok[i] = store_has(local, &names[i]) == 1;
		if (!ok[i]) {
			index[m] = i;
			want[m++] = names[i];
		}
	}
	struct http_job **ptrs;
	struct s3_job *jobs = make_jobs(s, S3_GET, local, want, m, &ptrs);
	char first[1024];
	size_t failed = run_jobs(s, jobs, ptrs, m, first, sizeof first);
	for (size_t i = 0; i < m; i++)
		ok[index[i]] = jobs[i].downloaded;
	remove_bad(s, jobs, m, first, sizeof first);
	free_jobs(jobs, m, ptrs);
	free(want);
	free(index);
	return storage_batch_error(failed, s->code, first);
}

/* One request about a cache entry; the entry's bytes stay in j->reply. */
static int entry_request(struct s3 *s, struct s3_job *j)
{
	s->code = 0;
	s->fatal = false;
	struct http_job *p = &j->http;
	char first[1024];
	size_t failed = run_jobs(s, j, &p, 1, first, sizeof first);
	curl_slist_free_all(j->headers);
	j->headers = NULL;
	return storage_batch_error(failed, s->code, first);
}

static int s3_entry_get(struct storage *st, const struct gg_name *thunk, struct buf *out)
{
	struct s3 *s = s3_of(st);
	struct s3_job j = {0};
	job_init(&j, s, S3_ENTRY_GET, NULL, thunk);
	int r = entry_request(s, &j);
	if (r == 0 && j.too_big) {
		gg_fail(GG_ECORRUPT, "it is larger than %u bytes", STORAGE_ENTRY_MAX);
		r = STORAGE_ENTRY_BAD;
	} else if (r == 0 && j.present) {
		buf_reset(out);
		buf_add(out, j.reply.data ? j.reply.data : "", j.reply.len);
		r = STORAGE_ENTRY_FOUND;
	}
	buf_free(&j.reply);
	return r;
}

static int s3_entry_put(struct storage *st, const struct gg_name *thunk, const void *data,
                        size_t len)
{
	struct s3 *s = s3_of(st);
	struct s3_job j = {0};
	job_init(&j, s, S3_ENTRY_PUT, NULL, thunk);
	j.entry = data;
	j.entry_len = len;
	struct gg_name digest;
	gg_name_of_buf(data, len, GG_VALUE, &digest);
	gg_name_digest_hex(&digest, j.entry_sha);
	int r = entry_request(s, &j);
	buf_free(&j.reply);
	return r;
}

/*
 * Rewrites objects that older versions stored gzip'd as plain objects: HEAD
 * says which are encoded; those are downloaded (decoded by libcurl and
 * verified against their names) unless the local store has them, then put
 * again as they are, which replaces the encoded copies.
 */
static int s3_migrate(struct storage *st, struct store *local, const struct gg_name *names,
                      size_t n, size_t *rewritten)
{
	struct s3 *s = s3_of(st);
	s->code = 0;
	*rewritten = 0;
	struct http_job **ptrs;
	struct s3_job *jobs = make_jobs(s, S3_HEAD, NULL, names, n, &ptrs);
	char first[1024];
	size_t failed = run_jobs(s, jobs, ptrs, n, first, sizeof first);
	struct gg_name *enc = xcalloc(n ? n : 1, sizeof *enc);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (jobs[i].http.state == HTTP_JOB_OK && jobs[i].present && jobs[i].encoded)
			enc[k++] = names[i];
	free_jobs(jobs, n, ptrs);
	int r = storage_batch_error(failed, s->code, first);
	bool *ok = xcalloc(k ? k : 1, sizeof *ok);
	if (r == 0 && k > 0)
		r = s3_get(st, local, enc, k, ok);
	if (r == 0 && k > 0)
		r = s3_put(st, local, enc, k);
	if (r == 0)
		*rewritten = k;
	free(ok);
	free(enc);
	return r;
}

/* ---- listing and deleting (remote GC) ---- */

struct list_ctx {
	struct s3 *s;
	int (*fn)(void *arg, const struct storage_item *it);
	void *arg;
	time_t now;
};

/* A key of the page: PREFIX/NAME (an object of the size its name says) or
 * PREFIX/memo/THUNK (an entry); other keys are skipped. */
static int list_key(void *arg, const char *key, uint64_t size, int64_t mtime)
{
	struct list_ctx *c = arg;
	size_t pl = strlen(c->s->prefix);
	if (strncmp(key, c->s->prefix, pl))
		return 0;
	key += pl;
	struct storage_item it = {.size = size};
	if (!strncmp(key, "memo/", 5)) {
		it.entry = true;
		key += 5;
	}
	if (gg_name_parse(key, strlen(key), &it.name) < 0 || (it.entry && it.name.s[0] != 'T') ||
	    (!it.entry && size != gg_name_size(&it.name)))
		return 0;
	it.age = (int64_t)c->now > mtime ? (int64_t)c->now - mtime : 0;
	return c->fn(c->arg, &it);
}

static int s3_list(struct storage *st, int (*fn)(void *arg, const struct storage_item *it),
                   void *arg)
{
	struct s3 *s = s3_of(st);
	struct list_ctx c = {s, fn, arg, time(NULL)};
	char token[S3_LIST_TOKEN_MAX + 1] = "";
	static const struct gg_name none;
	for (unsigned page = 1;; page++) {
		struct s3_job j = {0};
		job_init(&j, s, S3_LIST, NULL, &none);
		j.token = token[0] ? token : NULL;
		int r = entry_request(s, &j);
		struct s3_list_page pg;
		if (r == 0 && s3_list_parse(j.reply.data, j.reply.len, list_key, &c, &pg) < 0)
			r = gg_error("%s: page %u of the listing: %s", st->uri, page,
			             gg_last_error());
		buf_free(&j.reply);
		if (r < 0) /* a page not answered or not understood: the store's failure */
			return storage_remote_error();
		if (!pg.truncated)
			return 0;
		/* the same token again would list forever */
		if (!strcmp(pg.token, token)) {
			gg_error("%s: page %u of the listing repeats the token of the page before",
			         st->uri, page);
			return storage_remote_error();
		}
		snprintf(token, sizeof token, "%s", pg.token);
	}
}

static int s3_remove(struct storage *st, const struct storage_item *items, size_t n)
{
	struct s3 *s = s3_of(st);
	s->code = 0;
	struct s3_job *jobs = xcalloc(n ? n : 1, sizeof *jobs);
	struct http_job **ptrs = xcalloc(n ? n : 1, sizeof *ptrs);
	for (size_t i = 0; i < n; i++) {
		job_init(&jobs[i], s, items[i].entry ? S3_ENTRY_DELETE : S3_DELETE, NULL,
		         &items[i].name);
		ptrs[i] = &jobs[i].http;
	}
	char first[1024];
	size_t failed = run_jobs(s, jobs, ptrs, n, first, sizeof first);
	free_jobs(jobs, n, ptrs);
	return storage_batch_error(failed, s->code, first);
}

const struct storage_ops storage_s3_ops = {
    .scheme = "s3",
    .open = s3_open,
    .has = s3_has,
    .put = s3_put,
    .get = s3_get,
    .migrate = s3_migrate,
    .entry_get = s3_entry_get,
    .entry_put = s3_entry_put,
    .list = s3_list,
    .remove = s3_remove,
    .close = s3_close,
};
