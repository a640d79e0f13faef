/**
 * @file storage_s3.c
 * The s3://BUCKET[/PREFIX] back-end: objects at PREFIX/NAME in a bucket of
 * AWS S3 or any S3-compatible store, signed with AWS Signature V4 by libcurl
 * (CURLOPT_AWS_SIGV4), HEAD for has, GET/PUT streamed from and to files,
 * many at once through http_batch. Objects that compress well are stored
 * gzip'd with "Content-Encoding: gzip" and undone by libcurl on download;
 * every download is verified against its name (incoming.c).
 *
 * It does not list buckets, create them, or do multipart uploads (objects
 * up to S3's 5 GiB single-PUT limit). libcurl 7.88 signs what it is given
 * but does not add x-amz-content-sha256, so this file does (see
 * /work/shared/infra.md §E); the header's value is the object's own digest,
 * which is in its name, so uploads are signed without an extra read.
 */
#include "aws_credentials.h"
#include "compress.h"
#include "http_batch.h"
#include "incoming.h"
#include "storage_backends.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define S3_MAX_PUT   (UINT64_C(5) << 30)

struct s3 {
	struct storage base; /* base.uri: s3://BUCKET[/PREFIX], never credentials */
	char *url_base;      /* ".../BUCKET/PREFIX/" or "...//BUCKET.host/PREFIX/", NAME follows */
	char *endpoint;      /* for messages: scheme://host[:port], no user info */
	char *sigv4;         /* "aws:amz:REGION:s3" */
	char *region;
	bool compress;
	struct aws_credentials cred;
	struct http_batch *hb;
};

enum s3_op { S3_HEAD, S3_GET, S3_PUT, S3_DELETE };

/* One request about one object; lives for a whole batch, across retries. */
struct s3_job {
	struct http_job http; /* first: the runner hands us this pointer */
	struct s3 *s3;
	enum s3_op op;
	struct gg_name name;
	struct store *local;
	CURL *easy;
	struct curl_slist *headers;
	/* PUT: the local object, or its gzip'd temp copy */
	int fd;
	uint64_t put_size;
	char put_sha[GG_DIGEST_HEX + 1];
	char *gz_path; /* compressed copy, made on the first attempt */
	int gz_fd;
	uint64_t gz_size;
	char gz_sha[GG_DIGEST_HEX + 1];
	/* GET: the verified sink, and why writing stopped */
	struct incoming in;
	int write_err; /* 0, -1 (I/O) or INCOMING_BAD_CONTENT */
	char write_msg[512];
	unsigned bad_content; /* downloads that did not match the name */
	/* from the answer */
	bool encoded; /* Content-Encoding was set */
	char region_hint[40];
	char body[600]; /* start of an error body (S3's XML) */
	size_t body_len;
	/* results */
	bool present, downloaded, remove_remote;
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
				return gg_error("empty path segment in the key prefix '%s'", p);
			if ((c - seg == 1 && seg[0] == '.') ||
			    (c - seg == 2 && seg[0] == '.' && seg[1] == '.'))
				return gg_error("'.' or '..' in the key prefix '%s'", p);
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
		return gg_error("GG_S3_ENDPOINT must start with http:// or https://");
	const char *h = sep + 3;
	const char *slash = strchr(h, '/');
	const char *end = slash ? slash : h + strlen(h);
	const char *at = memchr(h, '@', (size_t)(end - h));
	if (at)
		return gg_error("GG_S3_ENDPOINT must not carry credentials (use "
		                "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)");
	if (end == h)
		return gg_error("GG_S3_ENDPOINT has no host");
	for (const char *c = h; c < end; c++)
		if (!(unreserved(*c) || *c == ':' || *c == '[' || *c == ']'))
			return gg_error("GG_S3_ENDPOINT has a bad character in its host");
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
		return gg_error("%s: no bucket name (s3://BUCKET[/PREFIX])", uri);
	for (size_t i = 0; i < blen; i++)
		if (!(unreserved(b[i]) && b[i] != '~'))
			return gg_error("%.*s: bad character '%c' in the bucket name",
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
			r = gg_error("bad region '%s'", s->region);
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
			s->url_base = xasprintf("%s://%s%s/%s/%s", scheme, host, path, bucket,
			                        enc.data ? enc.data : "");
		else
			s->url_base = xasprintf("%s://%s.%s%s/%s", scheme, bucket, host, path,
			                        enc.data ? enc.data : "");
		s->sigv4 = xasprintf("aws:amz:%s:s3", s->region);
		s->compress = env_flag("GG_S3_COMPRESS", true);
		r = aws_credentials_load(&s->cred);
	}
	if (r == 0) {
		struct http_batch_config cfg;
		http_batch_config_from_env(&cfg);
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

static const char *op_verb(enum s3_op op)
{
	switch (op) {
	case S3_HEAD: return "check";
	case S3_GET: return "download";
	case S3_PUT: return "upload";
	case S3_DELETE: return "delete";
	}
	return "?";
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
	char code[80], msg[160], detail[260], why[300];
	xml_field(j->body, j->body_len, "Code", code, sizeof code);
	xml_field(j->body, j->body_len, "Message", msg, sizeof msg);
	snprintf(detail, sizeof detail, "%s%s%s", code, *code && *msg ? ": " : "", msg);
	if (!*detail && status == 403)
		snprintf(detail, sizeof detail, "access denied: check the credentials%s",
		         j->op == S3_HEAD ? ", and that they allow s3:ListBucket" : "");
	if (!*detail && (status == 301 || status == 307 || status == 400) && j->region_hint[0])
		snprintf(detail, sizeof detail, "the bucket is in region %s; set GG_S3_REGION",
		         j->region_hint);
	http_describe(why, sizeof why, rc, status, detail);
	snprintf(j->http.error, sizeof j->http.error, "cannot %s %s at %s: %s%s%s", op_verb(j->op),
	         j->name.s, j->s3->base.uri, why, rc != CURLE_OK ? " at " : "",
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

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct s3_job *j = arg;
	size_t len = size * nmemb;
	static const char enc[] = "content-encoding:", reg[] = "x-amz-bucket-region:";
	if (len > sizeof enc - 1 && !strncasecmp(data, enc, sizeof enc - 1)) {
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
	if (j->op != S3_GET || status != 200) {
		keep_body(j, data, len);
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

/* Appends "NAME: value"; no length limit (session tokens run to kilobytes). */
static void add_header(struct s3_job *j, const char *name, const char *value)
{
	char *line = xasprintf("%s: %s", name, value);
	j->headers = curl_slist_append(j->headers, line);
	free(line);
}

/* PUT: the local object, gzip'd on the first attempt when that pays. */
static int open_upload(struct s3_job *j)
{
	j->fd = -1;
	if (j->gz_path) {
		if (lseek(j->gz_fd, 0, SEEK_SET) < 0)
			return gg_error_errno("cannot rewind a compressed copy of %s", j->name.s);
		j->fd = j->gz_fd;
		return 0;
	}
	int fd = store_open_object(j->local, &j->name);
	if (fd < 0)
		return -1;
	uint64_t size = gg_name_size(&j->name);
	if (size > S3_MAX_PUT) {
		close(fd);
		return gg_error("object %s is larger than S3's 5 GiB single-upload limit",
		                j->name.s);
	}
	if (j->http.attempts == 1 && j->s3->compress && compress_pays(fd, size)) {
		int gz = compress_to_temp(fd, j->local->tmp, &j->gz_path, &j->gz_size, j->gz_sha);
		if (gz >= 0) {
			close(fd);
			j->gz_fd = j->fd = gz;
			return 0;
		}
		/* could not compress (e.g. disk full): send it as it is */
		j->gz_path = NULL;
	}
	j->fd = fd;
	return 0;
}

static int s3_prepare(struct http_job *hj, CURL *e)
{
	struct s3_job *j = (struct s3_job *)hj;
	struct s3 *s = j->s3;
	char url[1024];
	if ((size_t)snprintf(url, sizeof url, "%s%s", s->url_base, j->name.s) >= sizeof url)
		return gg_error("%s: URL too long", s->base.uri);
	j->easy = e;
	j->headers = NULL;
	j->body_len = 0;
	j->body[0] = 0;
	j->encoded = false;
	j->region_hint[0] = 0;
	j->write_err = 0;
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
		if (j->fd == j->gz_fd) {
			sha = j->gz_sha;
			j->put_size = j->gz_size;
			add_header(j, "Content-Encoding", "gzip");
		} else {
			gg_name_digest_hex(&j->name, j->put_sha);
			sha = j->put_sha;
			j->put_size = gg_name_size(&j->name);
		}
		add_header(j, "Content-Type", "application/octet-stream");
		curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)j->put_size);
		curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(e, CURLOPT_READDATA, j);
		curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(e, CURLOPT_SEEKDATA, j);
		break;
	case S3_DELETE: curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "DELETE"); break;
	}
	add_header(j, "x-amz-content-sha256", sha);
	if (s->cred.session_token)
		add_header(j, "x-amz-security-token", s->cred.session_token);
	curl_easy_setopt(e, CURLOPT_URL, url);
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

/* Verdict for an answer that is not the success of the operation. */
static enum http_verdict judge_failure(struct s3_job *j, CURLcode rc, long status)
{
	job_error(j, rc, status, NULL);
	if (rc == CURLE_OK && (status == 401 || status == 403))
		return HTTP_FATAL; /* every other request would be refused too */
	if (rc == CURLE_OK && (status == 301 || status == 307) && j->region_hint[0])
		return HTTP_FATAL;
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
		if (j->fd >= 0 && j->fd != j->gz_fd)
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
	case S3_DELETE:
		if (rc == CURLE_OK && (status == 200 || status == 204 || status == 404))
			return HTTP_DONE;
		return judge_failure(j, rc, status);
	}
	return HTTP_FAILED;
}

/* Frees what a settled job kept across attempts: its download sink and
 * its compressed copy. */
static void s3_release(struct http_job *hj)
{
	struct s3_job *j = (struct s3_job *)hj;
	incoming_discard(&j->in);
	if (j->gz_fd >= 0)
		close(j->gz_fd);
	j->gz_fd = -1;
	if (j->gz_path)
		unlink(j->gz_path);
	free(j->gz_path);
	j->gz_path = NULL;
}

/* ---- batches ---- */

static struct s3_job *make_jobs(struct s3 *s, enum s3_op op, struct store *local,
                                const struct gg_name *names, size_t n, struct http_job ***ptrs)
{
	struct s3_job *jobs = xcalloc(n ? n : 1, sizeof *jobs);
	*ptrs = xcalloc(n ? n : 1, sizeof **ptrs);
	for (size_t i = 0; i < n; i++) {
		struct s3_job *j = &jobs[i];
		j->http.prepare = s3_prepare;
		j->http.finish = s3_finish;
		j->http.release = s3_release;
		j->s3 = s;
		j->op = op;
		j->name = names[i];
		j->local = local;
		j->fd = j->gz_fd = -1;
		j->in = (struct incoming)INCOMING_INIT;
		(*ptrs)[i] = &j->http;
	}
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
	struct http_job **ptrs;
	struct s3_job *jobs = make_jobs(s, S3_HEAD, NULL, names, n, &ptrs);
	char first[512];
	size_t failed = run_jobs(s, jobs, ptrs, n, first, sizeof first);
	for (size_t i = 0; i < n; i++)
		present[i] = jobs[i].present;
	free_jobs(jobs, n, ptrs);
	return storage_batch_error(failed, first);
}

static int s3_put(struct storage *st, struct store *local, const struct gg_name *names, size_t n)
{
	struct s3 *s = s3_of(st);
	struct http_job **ptrs;
	struct s3_job *jobs = make_jobs(s, S3_PUT, local, names, n, &ptrs);
	char first[512];
	size_t failed = run_jobs(s, jobs, ptrs, n, first, sizeof first);
	free_jobs(jobs, n, ptrs);
	return storage_batch_error(failed, first);
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
	return storage_batch_error(failed, first);
}

const struct storage_ops storage_s3_ops = {
    .scheme = "s3",
    .open = s3_open,
    .has = s3_has,
    .put = s3_put,
    .get = s3_get,
    .close = s3_close,
};
