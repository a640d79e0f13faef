/**
 * @file storage_redis.c
 * The redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] back-end: one object per
 * key (the key is the object's name), spoken in RESP over one pipelined TCP
 * connection (resp.c). has = STRLEN (a key of the wrong length counts as
 * absent, so a put repairs it); small objects move with SET/GET, objects over
 * 1 MiB in 1 MiB SETRANGE/GETRANGE chunks. A large upload is written under
 * a temp key that expires in an hour and renamed into place in a MULTI/EXEC,
 * so a crash never leaves a partial object under a real name.
 *
 * Shared cache entries are keys "memo/THUNK", read with GET and written with
 * SET (small, whole: no temp key needed).
 *
 * Remote GC lists with SCAN and asks each key's age with OBJECT IDLETIME
 * (seconds since it was last read or written; it does not touch the key),
 * and deletes with DEL.
 *
 * It does not use hiredis, clusters, TLS or RESP3. Redis strings stop at
 * 512 MiB: larger objects are refused with an error. Connection failures and
 * LOADING/BUSY replies are retried with backoff; wrong credentials are not.
 */
#include "backend/storage/incoming.h"
#include "backend/storage/resp.h"
#include "backend/storage/storage_backends.h"
#include "backend/url.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK               (1u << 20) /* SETRANGE/GETRANGE piece, and the small/large limit */
#define WINDOW_BYTES        (8u << 20) /* payload queued before reading replies */
#define WINDOW_CMDS         256        /* commands queued before reading replies */
#define LARGE_WINDOW_CHUNKS 4          /* chunks of one large object in flight */
#define TEMP_TTL            "3600"     /* seconds a crashed upload's temp key survives */

/* Result of a pass over a batch: REDIS_OK, or a failure kind. */
enum { REDIS_OK = 0, REDIS_RETRY = -1, REDIS_FATAL = -3 };

struct redis_storage {
	struct storage base; /* base.uri: redis://HOST:PORT[/DB], no password */
	char *host, *port, *user, *password, *db;
	int timeout_ms;
	int deadline_ms;   /* GG_STORAGE_DEADLINE: one command's send or reply */
	enum gg_code code; /* a permanent failure of the current call (wrong credentials) */
	unsigned max_attempts, backoff_base_ms;
	uint64_t rng;
	struct resp_conn conn;
};

enum item_state { ITEM_PENDING, ITEM_DONE, ITEM_FAILED };

struct item {
	struct gg_name name;
	enum item_state state;
	bool result;  /* has: present; get: downloaded */
	unsigned bad; /* downloads that did not match the name */
	char error[600];
};

static struct redis_storage *rs_of(struct storage *st)
{
	return (struct redis_storage *)st;
}

/* ---- opening ---- */

static void redis_free(struct redis_storage *rs)
{
	resp_close(&rs->conn);
	free(rs->host);
	free(rs->port);
	free(rs->user);
	if (rs->password) {
		memset(rs->password, 0, strlen(rs->password));
		free(rs->password);
	}
	free(rs->db);
	free(rs->base.uri);
	free(rs);
}

static int parse_uri(struct redis_storage *rs, const char *uri)
{
	const char *p = uri + strlen("redis://");
	struct url_authority a;
	if (url_authority_parse(p, &a) < 0)
		return -1;
	rs->host = a.host, a.host = NULL;
	rs->port = a.port ? xasprintf("%u", a.port) : xstrdup("6379");
	if (a.user && !a.password) {
		rs->password = a.user; /* redis://PASSWORD@HOST */
	} else {
		rs->user = a.user;
		rs->password = a.password;
	}
	a.user = a.password = NULL;
	url_authority_free(&a);
	const char *slash = p + strcspn(p, "/?#");
	if (*slash && *slash != '/')
		return gg_fail(GG_EUSAGE, "unexpected text after the host: '%s'", slash);
	if (*slash && slash[1]) {
		uint64_t v;
		if (parse_u64(slash + 1, &v) < 0 || v > 1000000)
			return gg_fail(GG_EUSAGE, "bad database number '%s'", slash + 1);
		rs->db = xstrdup(slash + 1);
	}
	const char *env_pw = getenv("GG_REDIS_PASSWORD");
	if (!rs->password && env_pw && *env_pw)
		rs->password = xstrdup(env_pw);
	return 0;
}

static int redis_open(const char *uri, struct storage **out)
{
	struct redis_storage *rs = xcalloc(1, sizeof *rs);
	rs->base.ops = &storage_redis_ops;
	rs->conn.fd = -1;
	if (parse_uri(rs, uri) < 0) {
		/* the URI may hold a password: do not echo it */
		gg_error("bad Redis URI: %s (redis://[[USER]:PASSWORD@]HOST[:PORT][/DB])",
		         gg_last_error());
		redis_free(rs);
		return -1;
	}
	bool v6 = strchr(rs->host, ':') != NULL;
	rs->base.uri = xasprintf("redis://%s%s%s:%s%s%s", v6 ? "[" : "", rs->host, v6 ? "]" : "",
	                         rs->port, rs->db ? "/" : "", rs->db ? rs->db : "");
	uint64_t timeout_s, deadline_s, retries, backoff_ms;
	if (env_u64("GG_STORAGE_TIMEOUT", 10, 1, 3600, &timeout_s) < 0 ||
	    env_u64("GG_STORAGE_DEADLINE", 600, 0, 86400, &deadline_s) < 0 ||
	    env_u64("GG_STORAGE_RETRIES", 5, 0, 100, &retries) < 0 ||
	    env_u64("GG_STORAGE_BACKOFF_MS", 100, 1, 60000, &backoff_ms) < 0) {
		gg_error("%s: %s", rs->base.uri, gg_last_error());
		redis_free(rs);
		return -1;
	}
	rs->timeout_ms = (int)timeout_s * 1000;
	rs->deadline_ms = (int)deadline_s * 1000;
	rs->max_attempts = 1 + (unsigned)retries;
	rs->backoff_base_ms = (unsigned)backoff_ms;
	rs->rng = now_ns() ^ ((uint64_t)getpid() << 32) ^ (uintptr_t)rs;
	*out = &rs->base;
	return 0;
}

static void redis_close(struct storage *st)
{
	redis_free(rs_of(st));
}

/* ---- connection ---- */

/* The server refuses these credentials, or wants some: no retry changes that. */
static bool auth_refused(const char *text)
{
	return !strncmp(text, "NOAUTH", 6) || !strncmp(text, "NOPERM", 6) ||
	       !strncmp(text, "WRONGPASS", 9) || !strncmp(text, "ERR invalid password", 20) ||
	       !strncmp(text, "ERR AUTH", 8);
}

static bool transient_reply(const char *text)
{
	return !strncmp(text, "LOADING", 7) || !strncmp(text, "BUSY", 4) ||
	       !strncmp(text, "TRYAGAIN", 8) || !strncmp(text, "MASTERDOWN", 10);
}

/* Classifies an error reply to a data command: fatal, retry or the item's own. */
static int reply_error(struct redis_storage *rs, const char *text, struct item *it,
                       const char *verb)
{
	if (!strncmp(text, "NOPERM", 6)) {
		rs->code = GG_EDENIED;
		gg_fail(GG_EDENIED,
		        "cannot %s %s at %s: %s (the user's ACL does not allow it; "
		        "not retried)",
		        verb, it->name.s, rs->base.uri, text);
		return REDIS_FATAL;
	}
	if (auth_refused(text)) {
		rs->code = GG_EDENIED;
		gg_fail(GG_EDENIED,
		        "%s: authentication required or refused (%s); put the password in the URI "
		        "(redis://:PASSWORD@HOST:PORT) or in GG_REDIS_PASSWORD",
		        rs->base.uri, text);
		return REDIS_FATAL;
	}
	if (transient_reply(text)) {
		gg_error("%s: server busy: %s", rs->base.uri, text);
		resp_close(&rs->conn);
		return REDIS_RETRY;
	}
	snprintf(it->error, sizeof it->error, "cannot %s %s at %s: %s", verb, it->name.s,
	         rs->base.uri, text);
	it->state = ITEM_FAILED;
	return REDIS_OK;
}

static int ensure_connected(struct redis_storage *rs)
{
	if (resp_connected(&rs->conn))
		return REDIS_OK;
	if (resp_connect(&rs->conn, rs->host, rs->port, rs->timeout_ms, rs->base.uri) < 0)
		return REDIS_RETRY;
	rs->conn.deadline_ms = rs->deadline_ms;
	int n = 0;
	if (rs->password) {
		const char *argv[3] = {"AUTH"};
		size_t lens[3] = {4};
		int argc = 1;
		if (rs->user) {
			argv[argc] = rs->user;
			lens[argc++] = strlen(rs->user);
		}
		argv[argc] = rs->password;
		lens[argc++] = strlen(rs->password);
		resp_queue(&rs->conn, argc, argv, lens);
		n++;
	}
	if (rs->db) {
		const char *argv[] = {"SELECT", rs->db};
		size_t lens[] = {6, strlen(rs->db)};
		resp_queue(&rs->conn, 2, argv, lens);
	}
	if (resp_flush(&rs->conn) < 0)
		return REDIS_RETRY;
	for (int i = 0; i < n + (rs->db != NULL); i++) {
		struct resp_reply r;
		if (resp_read(&rs->conn, &r) < 0)
			return REDIS_RETRY;
		if (r.type == RESP_ERROR) {
			bool auth = i < n;
			if (auth_refused(r.text))
				rs->code = GG_EDENIED;
			gg_fail(rs->code ? rs->code : GG_EREMOTE, "%s: %s: %s%s", rs->base.uri,
			        auth ? "authentication failed" : "cannot select the database",
			        r.text,
			        rs->code ? " (wrong user or password: check the URI or "
			                   "GG_REDIS_PASSWORD; not retried)"
			                 : "");
			resp_close(&rs->conn);
			return transient_reply(r.text) ? REDIS_RETRY : REDIS_FATAL;
		}
		if (r.type != RESP_STATUS) {
			resp_close(&rs->conn);
			gg_error("%s: protocol error: unexpected reply to %s", rs->base.uri,
			         i < n ? "AUTH" : "SELECT");
			return REDIS_RETRY;
		}
	}
	return REDIS_OK;
}

/*
 * Runs pass() until no item is pending: reconnecting and backing off after
 * connection failures (bounded), stopping at a fatal error. Items still
 * pending at the end fail with the last connection error.
 */
static int run_passes(struct redis_storage *rs, struct item *items, size_t n,
                      int (*pass)(struct redis_storage *rs, struct item *items, size_t n,
                                  void *ctx),
                      void *ctx)
{
	unsigned failures = 0, clean_passes = 0;
	size_t last_pending = SIZE_MAX;
	rs->code = 0;
	for (;;) {
		size_t pending = 0;
		for (size_t i = 0; i < n; i++)
			pending += items[i].state == ITEM_PENDING;
		if (pending == 0)
			return REDIS_OK;
		/* the retry budget is for failures in a row: a connection that
		 * dies after some progress starts it afresh */
		if (pending < last_pending)
			failures = 0;
		last_pending = pending;
		int r = ensure_connected(rs);
		if (r == REDIS_OK)
			r = pass(rs, items, n, ctx);
		/* items left pending after a clean pass want another look (a bad
		 * download, counted in item.bad); that is bounded, but never spin */
		if (r == REDIS_OK && ++clean_passes <= STORAGE_VERIFY_ATTEMPTS + 1)
			continue;
		if (r == REDIS_OK) {
			gg_error("%s: internal error: no progress", rs->base.uri);
			r = REDIS_FATAL;
		}
		if (r == REDIS_FATAL || ++failures >= rs->max_attempts) {
			char why[700];
			if (r == REDIS_FATAL)
				snprintf(why, sizeof why, "%s", gg_last_error());
			else
				snprintf(why, sizeof why, "%s, after %u attempts", gg_last_error(),
				         failures);
			for (size_t i = 0; i < n; i++)
				if (items[i].state == ITEM_PENDING) {
					items[i].state = ITEM_FAILED;
					snprintf(items[i].error, sizeof items[i].error, "%.*s",
					         (int)sizeof items[i].error - 1, why);
				}
			return r;
		}
		resp_close(&rs->conn);
		uint64_t ns = backoff_ns(failures, rs->backoff_base_ms, 5000);
		usleep((useconds_t)(ns / 1000));
	}
}

static int batch_result(const struct redis_storage *rs, struct item *items, size_t n)
{
	size_t failed = 0;
	const char *first = "";
	for (size_t i = 0; i < n; i++)
		if (items[i].state == ITEM_FAILED && failed++ == 0)
			first = items[i].error;
	char copy[700];
	snprintf(copy, sizeof copy, "%s", first);
	return storage_batch_error(failed, rs->code, copy);
}

static struct item *make_items(const struct gg_name *names, size_t n)
{
	struct item *items = xcalloc(n ? n : 1, sizeof *items);
	for (size_t i = 0; i < n; i++)
		items[i].name = names[i];
	return items;
}

static void queue2(struct resp_conn *c, const char *cmd, const char *arg)
{
	const char *argv[] = {cmd, arg};
	size_t lens[] = {strlen(cmd), strlen(arg)};
	resp_queue(c, 2, argv, lens);
}

/*
 * One pass of put or get: small objects go in windows of pipelined commands,
 * one per item (queued by one(), replies read by replies()); a large object
 * is handled whole by one(), which reads its own replies, so the window before
 * it is flushed and read first.
 */
struct window_ops {
	/* 1: queued the item's command; REDIS_OK: dealt with the item (a large
	 * object, or a failure of its own); else a failure kind */
	int (*one)(struct redis_storage *rs, struct item *it, void *ctx);
	int (*replies)(struct redis_storage *rs, struct item *items, const size_t *win, size_t k,
	               void *ctx);
};

static int window_pass(struct redis_storage *rs, struct item *items, size_t n,
                       const struct window_ops *ops, void *ctx)
{
	size_t win[WINDOW_CMDS], k = 0;
	uint64_t bytes = 0;
	for (size_t i = 0; i <= n; i++) {
		struct item *it = i < n ? &items[i] : NULL;
		if (it && it->state != ITEM_PENDING)
			continue;
		uint64_t size = it ? gg_name_size(&it->name) : 0;
		/* flush the window when full, at the end, or before a large object */
		if (k > 0 &&
		    (!it || k == WINDOW_CMDS || bytes + size > WINDOW_BYTES || size > CHUNK)) {
			if (resp_flush(&rs->conn) < 0)
				return REDIS_RETRY;
			int r = ops->replies(rs, items, win, k, ctx);
			if (r != REDIS_OK)
				return r;
			k = bytes = 0;
		}
		if (!it)
			break;
		int r = ops->one(rs, it, ctx);
		if (r == 1) {
			win[k++] = i;
			bytes += size;
		} else if (r != REDIS_OK) {
			return r;
		}
	}
	return REDIS_OK;
}

/* ---- has ---- */

static int has_pass(struct redis_storage *rs, struct item *items, size_t n, void *ctx)
{
	(void)ctx;
	struct resp_conn *c = &rs->conn;
	size_t i = 0;
	while (i < n) {
		size_t win[WINDOW_CMDS], k = 0;
		for (; i < n && k < WINDOW_CMDS; i++)
			if (items[i].state == ITEM_PENDING) {
				/* STRLEN also checks the size; an empty object needs EXISTS */
				queue2(c, gg_name_size(&items[i].name) ? "STRLEN" : "EXISTS",
				       items[i].name.s);
				win[k++] = i;
			}
		if (k == 0)
			break;
		if (resp_flush(c) < 0)
			return REDIS_RETRY;
		for (size_t w = 0; w < k; w++) {
			struct item *it = &items[win[w]];
			struct resp_reply r;
			if (resp_read(c, &r) < 0)
				return REDIS_RETRY;
			if (r.type == RESP_INT) {
				uint64_t size = gg_name_size(&it->name);
				it->result = size ? (uint64_t)r.n == size : r.n == 1;
				it->state = ITEM_DONE;
			} else if (r.type == RESP_ERROR) {
				if (!strncmp(r.text, "WRONGTYPE", 9)) { /* not a string: not ours */
					it->result = false;
					it->state = ITEM_DONE;
					continue;
				}
				int e = reply_error(rs, r.text, it, "check");
				if (e != REDIS_OK)
					return e;
			} else {
				resp_close(c);
				gg_error("%s: protocol error: unexpected reply to STRLEN",
				         rs->base.uri);
				return REDIS_RETRY;
			}
		}
	}
	return REDIS_OK;
}

static int redis_has(struct storage *st, const struct gg_name *names, size_t n, bool *present)
{
	struct redis_storage *rs = rs_of(st);
	struct item *items = make_items(names, n);
	run_passes(rs, items, n, has_pass, NULL);
	for (size_t i = 0; i < n; i++)
		present[i] = items[i].result;
	int r = batch_result(rs, items, n); /* names the first object and the cause */
	free(items);
	return r;
}

/* ---- put ---- */

struct put_ctx {
	struct store *local;
	char *chunk; /* CHUNK bytes */
};

static int read_at(int fd, char *buf, size_t len, uint64_t off, const struct gg_name *n)
{
	size_t got = 0;
	while (got < len) {
		ssize_t k = pread(fd, buf + got, len - got, (off_t)(off + got));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? gg_error_errno("cannot read object %s", n->s)
			             : gg_error("object %s ended early in the local store", n->s);
		got += (size_t)k;
	}
	return 0;
}

/* Reads the replies of a window of small SETs. */
static int read_set_replies(struct redis_storage *rs, struct item *items, const size_t *win,
                            size_t k, void *ctx)
{
	(void)ctx;
	for (size_t w = 0; w < k; w++) {
		struct resp_reply r;
		struct item *it = &items[win[w]];
		if (resp_read(&rs->conn, &r) < 0)
			return REDIS_RETRY;
		if (r.type == RESP_STATUS) {
			it->state = ITEM_DONE;
		} else if (r.type == RESP_ERROR) {
			int e = reply_error(rs, r.text, it, "upload");
			if (e != REDIS_OK)
				return e;
		} else {
			resp_close(&rs->conn);
			gg_error("%s: protocol error: unexpected reply to SET", rs->base.uri);
			return REDIS_RETRY;
		}
	}
	return REDIS_OK;
}

/* Expects n integer replies (SETRANGE/EXPIRE). */
static int read_ints(struct redis_storage *rs, struct item *it, int n, const char *what)
{
	for (int i = 0; i < n; i++) {
		struct resp_reply r;
		if (resp_read(&rs->conn, &r) < 0)
			return REDIS_RETRY;
		if (r.type == RESP_ERROR) {
			int e = reply_error(rs, r.text, it, "upload");
			if (e != REDIS_OK)
				return e;
			/* the item failed; drain what else was sent for it */
			continue;
		}
		if (r.type != RESP_INT) {
			resp_close(&rs->conn);
			gg_error("%s: protocol error: unexpected reply to %s", rs->base.uri, what);
			return REDIS_RETRY;
		}
	}
	return REDIS_OK;
}

/* SETRANGE into a temp key in chunks, then MULTI RENAME PERSIST EXEC. */
static int put_large(struct redis_storage *rs, struct item *it, int fd, char *chunk)
{
	struct resp_conn *c = &rs->conn;
	uint64_t size = gg_name_size(&it->name);
	char tmp[GG_NAME_LEN + 40];
	rs->rng ^= rs->rng << 13, rs->rng ^= rs->rng >> 7, rs->rng ^= rs->rng << 17;
	snprintf(tmp, sizeof tmp, "gg-tmp:%s:%016llx", it->name.s, (unsigned long long)rs->rng);
	uint64_t off = 0;
	bool first = true;
	while (off < size && it->state == ITEM_PENDING) {
		int sent = 0, ints = 0;
		for (; sent < LARGE_WINDOW_CHUNKS && off < size; sent++) {
			size_t len = size - off < CHUNK ? (size_t)(size - off) : CHUNK;
			if (read_at(fd, chunk, len, off, &it->name) < 0) {
				snprintf(it->error, sizeof it->error, "cannot upload %s to %s: %s",
				         it->name.s, rs->base.uri, gg_last_error());
				it->state = ITEM_FAILED;
				break;
			}
			char offs[24];
			snprintf(offs, sizeof offs, "%llu", (unsigned long long)off);
			const char *argv[] = {"SETRANGE", tmp, offs, chunk};
			size_t lens[] = {8, strlen(tmp), strlen(offs), len};
			resp_queue(c, 4, argv, lens);
			ints++;
			if (first) {
				/* a crash mid-upload leaves garbage that goes away by itself */
				const char *ev[] = {"EXPIRE", tmp, TEMP_TTL};
				size_t el[] = {6, strlen(tmp), strlen(TEMP_TTL)};
				resp_queue(c, 3, ev, el);
				ints++;
				first = false;
			}
			off += len;
		}
		if (resp_queued(c) && resp_flush(c) < 0)
			return REDIS_RETRY;
		int r = read_ints(rs, it, ints, "SETRANGE");
		if (r != REDIS_OK)
			return r;
	}
	if (it->state != ITEM_PENDING) {
		queue2(c, "DEL", tmp);
		if (resp_flush(c) < 0)
			return REDIS_RETRY;
		return read_ints(rs, it, 1, "DEL");
	}
	const char *m[] = {"MULTI"}, *e[] = {"EXEC"};
	size_t ml[] = {5}, elen[] = {4};
	const char *rn[] = {"RENAME", tmp, it->name.s};
	size_t rnl[] = {6, strlen(tmp), GG_NAME_LEN};
	resp_queue(c, 1, m, ml);
	resp_queue(c, 3, rn, rnl);
	queue2(c, "PERSIST", it->name.s);
	resp_queue(c, 1, e, elen);
	if (resp_flush(c) < 0)
		return REDIS_RETRY;
	/* +OK +QUEUED +QUEUED *2 [+OK :1] */
	for (int i = 0; i < 3; i++) {
		struct resp_reply r;
		if (resp_read(c, &r) < 0)
			return REDIS_RETRY;
		if (r.type == RESP_ERROR) {
			int er = reply_error(rs, r.text, it, "upload");
			if (er != REDIS_OK)
				return er;
		} else if (r.type != RESP_STATUS) {
			resp_close(c);
			gg_error("%s: protocol error: unexpected reply in MULTI", rs->base.uri);
			return REDIS_RETRY;
		}
	}
	struct resp_reply r;
	if (resp_read(c, &r) < 0)
		return REDIS_RETRY;
	if (r.type == RESP_ERROR) /* EXECABORT after a queued error: already reported */
		return it->state == ITEM_PENDING ? reply_error(rs, r.text, it, "upload") : REDIS_OK;
	if (r.type != RESP_ARRAY || r.n != 2) {
		resp_close(c);
		gg_error("%s: protocol error: unexpected reply to EXEC", rs->base.uri);
		return REDIS_RETRY;
	}
	struct resp_reply a, b;
	if (resp_read(c, &a) < 0 || resp_read(c, &b) < 0)
		return REDIS_RETRY;
	if (a.type == RESP_ERROR) /* e.g. the temp key expired under a very slow upload */
		return reply_error(rs, a.text, it, "upload");
	if (a.type != RESP_STATUS || b.type != RESP_INT) {
		resp_close(c);
		gg_error("%s: protocol error: unexpected reply to EXEC", rs->base.uri);
		return REDIS_RETRY;
	}
	it->state = ITEM_DONE;
	return REDIS_OK;
}

/* Queues a small object's SET; uploads a large one by itself. */
static int put_one(struct redis_storage *rs, struct item *it, void *arg)
{
	struct put_ctx *ctx = arg;
	uint64_t size = gg_name_size(&it->name);
	if (size > RESP_MAX_BULK) {
		snprintf(it->error, sizeof it->error,
		         "cannot upload %s to %s: larger than Redis's 512 MiB string limit",
		         it->name.s, rs->base.uri);
		it->state = ITEM_FAILED;
		return REDIS_OK;
	}
	int fd = store_open_object(ctx->local, &it->name);
	if (fd < 0) {
		snprintf(it->error, sizeof it->error, "cannot upload %s to %s: %s", it->name.s,
		         rs->base.uri, gg_last_error());
		it->state = ITEM_FAILED;
		return REDIS_OK;
	}
	if (size > CHUNK) {
		int r = put_large(rs, it, fd, ctx->chunk);
		close(fd);
		return r;
	}
	if (read_at(fd, ctx->chunk, (size_t)size, 0, &it->name) < 0) {
		snprintf(it->error, sizeof it->error, "cannot upload %s to %s: %s", it->name.s,
		         rs->base.uri, gg_last_error());
		it->state = ITEM_FAILED;
		close(fd);
		return REDIS_OK;
	}
	close(fd);
	const char *argv[] = {"SET", it->name.s, ctx->chunk};
	size_t lens[] = {3, GG_NAME_LEN, (size_t)size};
	resp_queue(&rs->conn, 3, argv, lens); /* copies the bytes: the chunk is reused */
	return 1;
}

static int put_pass(struct redis_storage *rs, struct item *items, size_t n, void *ctx)
{
	static const struct window_ops ops = {put_one, read_set_replies};
	return window_pass(rs, items, n, &ops, ctx);
}

static int redis_put(struct storage *st, struct store *local, const struct gg_name *names, size_t n)
{
	struct redis_storage *rs = rs_of(st);
	struct item *items = make_items(names, n);
	struct put_ctx ctx = {local, xmalloc(CHUNK)};
	run_passes(rs, items, n, put_pass, &ctx);
	int r = batch_result(rs, items, n);
	free(ctx.chunk);
	free(items);
	return r;
}

/* ---- get ---- */

struct get_ctx {
	struct store *local;
	struct gg_name *remove; /* bad remote copies to delete afterwards */
	size_t n_remove;
};

static int sink_incoming(void *arg, const void *data, size_t n)
{
	return incoming_write(arg, data, n);
}

/* After a bad download: fetch again, or give up and mark it for deletion. */
static void bad_content(struct redis_storage *rs, struct item *it, struct get_ctx *ctx)
{
	snprintf(it->error, sizeof it->error, "%s", gg_last_error());
	if (++it->bad < STORAGE_VERIFY_ATTEMPTS)
		return; /* still pending: the next pass fetches it again */
	it->state = ITEM_FAILED;
	ctx->remove[ctx->n_remove++] = it->name;
	(void)rs;
}

/* Streams one bulk reply into in; 1 = streamed, 0 = nil, <0 = failure kind. */
static int read_into(struct redis_storage *rs, struct item *it, struct incoming *in,
                     const char *what)
{
	struct resp_reply r;
	if (resp_read(&rs->conn, &r) < 0)
		return REDIS_RETRY;
	if (r.type == RESP_NIL)
		return 0;
	if (r.type == RESP_ERROR) {
		int e = reply_error(rs, r.text, it, "download");
		return e != REDIS_OK ? e : 2; /* 2: the item failed by itself */
	}
	if (r.type != RESP_BULK) {
		resp_close(&rs->conn);
		gg_error("%s: protocol error: unexpected reply to %s", rs->base.uri, what);
		return REDIS_RETRY;
	}
	int s = resp_read_bulk(&rs->conn, (uint64_t)r.n, in->fd >= 0 ? sink_incoming : NULL, in);
	if (!resp_connected(&rs->conn))
		return REDIS_RETRY;
	if (s == INCOMING_BAD_CONTENT)
		return INCOMING_BAD_CONTENT;
	if (s < 0) {
		snprintf(it->error, sizeof it->error, "%s", gg_last_error());
		it->state = ITEM_FAILED; /* the local disk */
		return 2;
	}
	return 1;
}

static int get_large(struct redis_storage *rs, struct item *it, struct get_ctx *ctx)
{
	struct resp_conn *c = &rs->conn;
	uint64_t size = gg_name_size(&it->name);
	queue2(c, "STRLEN", it->name.s);
	if (resp_flush(c) < 0)
		return REDIS_RETRY;
	struct resp_reply rl;
	if (resp_read(c, &rl) < 0)
		return REDIS_RETRY;
	if (rl.type == RESP_ERROR)
		return reply_error(rs, rl.text, it, "download");
	if (rl.type != RESP_INT) {
		resp_close(c);
		gg_error("%s: protocol error: unexpected reply to STRLEN", rs->base.uri);
		return REDIS_RETRY;
	}
	long long len = rl.n;
	if (len == 0) {
		it->result = false;
		it->state = ITEM_DONE;
		return REDIS_OK;
	}
	struct incoming in = INCOMING_INIT;
	if (incoming_open(&in, ctx->local, &it->name, rs->base.uri) < 0) {
		snprintf(it->error, sizeof it->error, "%s", gg_last_error());
		it->state = ITEM_FAILED;
		return REDIS_OK;
	}
	int bad = 0;
	uint64_t off = 0;
	while (off < size) {
		int sent = 0;
		for (; sent < LARGE_WINDOW_CHUNKS && off < size; sent++) {
			uint64_t last = (size - off < CHUNK ? size : off + CHUNK) - 1;
			char a[24], b[24];
			snprintf(a, sizeof a, "%llu", (unsigned long long)off);
			snprintf(b, sizeof b, "%llu", (unsigned long long)last);
			const char *argv[] = {"GETRANGE", it->name.s, a, b};
			size_t lens[] = {8, GG_NAME_LEN, strlen(a), strlen(b)};
			resp_queue(c, 4, argv, lens);
			off = last + 1;
		}
		if (resp_flush(c) < 0) {
			incoming_discard(&in);
			return REDIS_RETRY;
		}
		for (int i = 0; i < sent; i++) {
			int r = read_into(rs, it, &in, "GETRANGE");
			if (r == INCOMING_BAD_CONTENT) {
				bad = 1;
				continue; /* keep reading the replies already asked for */
			}
			if (r < 0 || r == 2) {
				incoming_discard(&in);
				return r < 0 ? r : REDIS_OK;
			}
		}
		if (bad)
			break;
	}
	int r = bad ? INCOMING_BAD_CONTENT : incoming_commit(&in);
	incoming_discard(&in);
	if (r == 0) {
		it->result = true;
		it->state = ITEM_DONE;
	} else if (r == INCOMING_BAD_CONTENT) {
		bad_content(rs, it, ctx);
	} else {
		snprintf(it->error, sizeof it->error, "%s", gg_last_error());
		it->state = ITEM_FAILED;
	}
	return REDIS_OK;
}

/* Reads the replies of a window of small GETs. */
static int read_get_replies(struct redis_storage *rs, struct item *items, const size_t *win,
                            size_t k, void *arg)
{
	struct get_ctx *ctx = arg;
	for (size_t w = 0; w < k; w++) {
		struct item *it = &items[win[w]];
		struct incoming in = INCOMING_INIT;
		if (incoming_open(&in, ctx->local, &it->name, rs->base.uri) < 0) {
			snprintf(it->error, sizeof it->error, "%s", gg_last_error());
			it->state = ITEM_FAILED; /* read_into still consumes the reply */
		}
		int r = read_into(rs, it, &in, "GET");
		if (r == 0) {
			it->result = false;
			it->state = it->state == ITEM_PENDING ? ITEM_DONE : it->state;
		} else if (r == 1 && it->state == ITEM_PENDING) {
			int c = incoming_commit(&in);
			if (c == 0) {
				it->result = true;
				it->state = ITEM_DONE;
			} else if (c == INCOMING_BAD_CONTENT) {
				bad_content(rs, it, ctx);
			} else {
				snprintf(it->error, sizeof it->error, "%s", gg_last_error());
				it->state = ITEM_FAILED;
			}
		} else if (r == INCOMING_BAD_CONTENT) {
			bad_content(rs, it, ctx);
		}
		incoming_discard(&in);
		if (r < 0 && r != INCOMING_BAD_CONTENT)
			return r;
	}
	return REDIS_OK;
}

/* Queues a small object's GET; downloads a large one by itself. */
static int get_one(struct redis_storage *rs, struct item *it, void *ctx)
{
	if (gg_name_size(&it->name) > CHUNK)
		return get_large(rs, it, ctx);
	queue2(&rs->conn, "GET", it->name.s);
	return 1;
}

static int get_pass(struct redis_storage *rs, struct item *items, size_t n, void *ctx)
{
	static const struct window_ops ops = {get_one, read_get_replies};
	return window_pass(rs, items, n, &ops, ctx);
}

/* Deletes remote copies that failed verification (best effort). */
static void remove_bad(struct redis_storage *rs, struct get_ctx *ctx, struct item *items, size_t n)
{
	if (ctx->n_remove == 0 || ensure_connected(rs) != REDIS_OK)
		return;
	for (size_t i = 0; i < ctx->n_remove; i++)
		queue2(&rs->conn, "DEL", ctx->remove[i].s);
	bool ok = resp_flush(&rs->conn) == 0;
	for (size_t i = 0; ok && i < ctx->n_remove; i++) {
		long long v;
		ok = resp_expect_int(&rs->conn, "DEL", &v) == 0;
	}
	for (size_t i = 0; i < n; i++)
		if (items[i].state == ITEM_FAILED && items[i].bad >= STORAGE_VERIFY_ATTEMPTS) {
			size_t l = strlen(items[i].error);
			snprintf(items[i].error + l, sizeof items[i].error - l, "; %s",
			         ok ? "removed the bad copy from the remote store"
			            : "could not remove the bad copy");
		}
}

static int redis_get(struct storage *st, struct store *local, const struct gg_name *names, size_t n,
                     bool *ok)
{
	struct redis_storage *rs = rs_of(st);
	struct item *items = make_items(names, n);
	struct get_ctx ctx = {local, xcalloc(n ? n : 1, sizeof(struct gg_name)), 0};
	for (size_t i = 0; i < n; i++)
		if (store_has(local, &names[i]) == 1) {
			items[i].state = ITEM_DONE;
			items[i].result = true;
		}
	run_passes(rs, items, n, get_pass, &ctx);
	remove_bad(rs, &ctx, items, n);
	for (size_t i = 0; i < n; i++)
		ok[i] = items[i].state == ITEM_DONE && items[i].result;
	int r = batch_result(rs, items, n);
	free(ctx.remove);
	free(items);
	return r;
}

/* ---- shared cache entries ---- */

struct entry_ctx {
	struct buf *out;  /* get: the entry */
	const void *data; /* put: the entry */
	size_t len;
	char bad[300]; /* get: why what the key holds cannot be an entry */
};

static int sink_buf(void *arg, const void *data, size_t n)
{
	buf_add(arg, data, n);
	return 0;
}

static int entry_pass(struct redis_storage *rs, struct item *items, size_t n, void *arg)
{
	struct entry_ctx *ctx = arg;
	struct item *it = &items[0];
	bool get = ctx->out != NULL;
	char key[8 + GG_NAME_LEN];
	snprintf(key, sizeof key, "memo/%s", it->name.s);
	const char *argv[] = {get ? "GET" : "SET", key, ctx->data};
	size_t lens[] = {3, strlen(key), ctx->len};
	resp_queue(&rs->conn, get ? 2 : 3, argv, lens);
	if (resp_flush(&rs->conn) < 0)
		return REDIS_RETRY;
	struct resp_reply r;
	if (resp_read(&rs->conn, &r) < 0)
		return REDIS_RETRY;
	const char *verb = get ? "read the cache entry of" : "write the cache entry of";
	if (get && r.type == RESP_ERROR && !strncmp(r.text, "WRONGTYPE", 9)) {
		/* the key holds a list, a set...: that key is bad, not the store */
		snprintf(ctx->bad, sizeof ctx->bad, "the key holds no string (%.200s)", r.text);
		it->state = ITEM_DONE;
		return REDIS_OK;
	}
	if (r.type == RESP_ERROR)
		return reply_error(rs, r.text, it, verb);
	if (get && r.type == RESP_NIL) {
		it->state = ITEM_DONE;
		return REDIS_OK;
	}
	if (get && r.type == RESP_BULK) {
		bool big = (uint64_t)r.n > STORAGE_ENTRY_MAX;
		buf_reset(ctx->out);
		if (resp_read_bulk(&rs->conn, (uint64_t)r.n, big ? NULL : sink_buf, ctx->out) < 0)
			return REDIS_RETRY;
		if (big) {
			snprintf(ctx->bad, sizeof ctx->bad, "it is larger than %u bytes",
			         STORAGE_ENTRY_MAX);
			it->state = ITEM_DONE;
			return REDIS_OK;
		}
		it->result = true;
		it->state = ITEM_DONE;
		return REDIS_OK;
	}
	if (!get && r.type == RESP_STATUS) {
		it->state = ITEM_DONE;
		return REDIS_OK;
	}
	resp_close(&rs->conn);
	gg_error("%s: protocol error: unexpected reply to %s", rs->base.uri, argv[0]);
	(void)n;
	return REDIS_RETRY;
}

static int redis_entry_get(struct storage *st, const struct gg_name *thunk, struct buf *out)
{
	struct redis_storage *rs = rs_of(st);
	struct item it = {.name = *thunk};
	struct entry_ctx ctx = {.out = out};
	run_passes(rs, &it, 1, entry_pass, &ctx);
	int r = batch_result(rs, &it, 1);
	if (r == 0 && ctx.bad[0]) {
		gg_fail(GG_ECORRUPT, "%s", ctx.bad);
		return STORAGE_ENTRY_BAD;
	}
	return r < 0 ? r : it.result ? STORAGE_ENTRY_FOUND : STORAGE_ENTRY_NONE;
}

static int redis_entry_put(struct storage *st, const struct gg_name *thunk, const void *data,
                           size_t len)
{
	struct redis_storage *rs = rs_of(st);
	struct item it = {.name = *thunk};
	struct entry_ctx ctx = {.data = data, .len = len};
	run_passes(rs, &it, 1, entry_pass, &ctx);
	return batch_result(rs, &it, 1);
}

/* ---- listing and deleting (remote GC) ---- */

/* At most this many SCAN pages of up to 1000 keys: a billion keys. */
#define SCAN_MAX_PAGES (1ul << 20)

/* The longest key SCAN may hand us that we look at ("memo/" + a name). */
#define KEY_MAX (5 + GG_NAME_LEN)

/* Reads one bulk string of at most KEY_MAX bytes into key (NUL-terminated;
 * a longer one is consumed and left empty). */
static int read_key(struct redis_storage *rs, char *key)
{
	struct resp_reply r;
	struct buf b = BUF_INIT;
	key[0] = 0;
	if (resp_read(&rs->conn, &r) < 0)
		return -1;
	if (r.type != RESP_BULK) {
		resp_close(&rs->conn);
		return gg_error("%s: protocol error: SCAN answered a key that is not a string",
		                rs->base.uri);
	}
	bool fits = (uint64_t)r.n <= KEY_MAX;
	if (resp_read_bulk(&rs->conn, (uint64_t)r.n, fits ? sink_buf : NULL, &b) < 0) {
		buf_free(&b);
		return -1;
	}
	if (fits && b.len) {
		memcpy(key, b.data, b.len);
		key[b.len] = 0;
	}
	buf_free(&b);
	return 0;
}

/* What a key is: 1 (an object or an entry, *it filled but its age), 0 another key. */
static int classify_key(const char *key, struct storage_item *it)
{
	memset(it, 0, sizeof *it);
	size_t len = strlen(key);
	if (len > 5 && !memcmp(key, "memo/", 5)) {
		it->entry = true;
		key += 5;
		len -= 5;
	}
	if (gg_name_parse(key, len, &it->name) < 0 || (it->entry && it->name.s[0] != 'T'))
		return 0;
	it->size = it->entry ? 0 : gg_name_size(&it->name);
	return 1;
}

/* The ages of keys: OBJECT IDLETIME, which (unlike STRLEN or GET) leaves
 * the key's access time alone. A key gone meanwhile drops out (n shrinks). */
static int ages(struct redis_storage *rs, struct storage_item *v, size_t *n)
{
	for (size_t i = 0; i < *n; i++) {
		char key[KEY_MAX + 1];
		snprintf(key, sizeof key, "%s%s", v[i].entry ? "memo/" : "", v[i].name.s);
		const char *argv[] = {"OBJECT", "IDLETIME", key};
		size_t lens[] = {6, 8, strlen(key)};
		resp_queue(&rs->conn, 3, argv, lens);
	}
	if (resp_flush(&rs->conn) < 0)
		return -1;
	size_t k = 0;
	int r = 0;
	for (size_t i = 0; i < *n; i++) {
		struct resp_reply rep;
		if (resp_read(&rs->conn, &rep) < 0)
			return -1;
		if (rep.type == RESP_INT && rep.n >= 0) {
			v[i].age = rep.n;
			v[k++] = v[i];
		} else if (rep.type == RESP_ERROR && r == 0) {
			r = gg_fail(GG_EREMOTE,
			            "%s: OBJECT IDLETIME refused (%s): without idle times no "
			            "object's age is known (an LFU maxmemory-policy keeps none)",
			            rs->base.uri, rep.text);
		} else if (rep.type != RESP_NIL && r == 0) {
			resp_close(&rs->conn);
			return gg_error("%s: protocol error: unexpected reply to OBJECT IDLETIME",
			                rs->base.uri);
		}
	}
	*n = k;
	return r;
}

static int redis_list(struct storage *st, int (*fn)(void *arg, const struct storage_item *it),
                      void *arg)
{
	struct redis_storage *rs = rs_of(st);
	rs->code = 0;
	char cursor[32] = "0";
	struct storage_item *v = NULL;
	size_t cap = 0;
	int r = 0;
	unsigned long pages = 0;
	do {
		/* a SCAN ends within about keys/COUNT pages; a server whose cursor
		 * never comes back to 0 must not keep gc listing for ever */
		if (++pages > SCAN_MAX_PAGES) {
			r = gg_fail(
			    GG_EREMOTE,
			    "%s: the listing did not end after %lu SCAN pages (a cursor that "
			    "never returns to 0)",
			    rs->base.uri, (unsigned long)SCAN_MAX_PAGES);
			break;
		}
		/* one failure ends the listing: nothing is deleted on a partial one */
		if (ensure_connected(rs) != REDIS_OK) {
			r = -1;
			break;
		}
		const char *argv[] = {"SCAN", cursor, "COUNT", "1000"};
		size_t lens[] = {4, strlen(cursor), 5, 4};
		resp_queue(&rs->conn, 4, argv, lens);
		struct resp_reply rep;
		if (resp_flush(&rs->conn) < 0 || resp_read(&rs->conn, &rep) < 0) {
			r = -1;
			break;
		}
		if (rep.type == RESP_ERROR) {
			r = gg_fail(!strncmp(rep.text, "NOPERM", 6) ? GG_EDENIED : GG_EREMOTE,
			            "%s: cannot list the keys (SCAN): %s", rs->base.uri, rep.text);
			break;
		}
		char next[KEY_MAX + 1];
		if (rep.type != RESP_ARRAY || rep.n != 2 || read_key(rs, next) < 0 ||
		    strlen(next) >= sizeof cursor || strspn(next, "0123456789") != strlen(next) ||
		    !*next || resp_read(&rs->conn, &rep) < 0 || rep.type != RESP_ARRAY ||
		    rep.n < 0) {
			resp_close(&rs->conn);
			r = gg_error("%s: protocol error: unexpected reply to SCAN", rs->base.uri);
			break;
		}
		snprintf(cursor, sizeof cursor, "%s", next);
		size_t n = 0;
		for (long long i = 0; i < rep.n && r == 0; i++) {
			char key[KEY_MAX + 1];
			if (read_key(rs, key) < 0) {
				r = -1;
				break;
			}
			ALLOC_GROW(v, n + 1, cap);
			n += (size_t)classify_key(key, &v[n]);
		}
		if (r == 0 && n)
			r = ages(rs, v, &n);
		for (size_t i = 0; i < n && r == 0; i++)
			if (fn(arg, &v[i]))
				r = gg_error("%s: listing stopped", st->uri);
	} while (r == 0 && strcmp(cursor, "0"));
	free(v);
	/* a connection that failed, a reply that makes no sense: the store's */
	return r < 0 ? storage_remote_error() : 0;
}

static int redis_remove(struct storage *st, const struct storage_item *items, size_t n)
{
	struct redis_storage *rs = rs_of(st);
	rs->code = 0;
	if (ensure_connected(rs) != REDIS_OK)
		return storage_remote_error();
	for (size_t i = 0; i < n; i++) {
		char key[KEY_MAX + 1];
		snprintf(key, sizeof key, "%s%s", items[i].entry ? "memo/" : "", items[i].name.s);
		queue2(&rs->conn, "DEL", key);
	}
	if (resp_flush(&rs->conn) < 0)
		return storage_remote_error();
	size_t failed = 0;
	char first[600] = "";
	for (size_t i = 0; i < n; i++) {
		struct resp_reply rep;
		if (resp_read(&rs->conn, &rep) < 0)
			return storage_remote_error();
		if (rep.type == RESP_ERROR && failed++ == 0)
			snprintf(first, sizeof first, "%s: cannot delete %s: %s", st->uri,
			         items[i].name.s, rep.text);
		else if (rep.type != RESP_INT && rep.type != RESP_ERROR) {
			resp_close(&rs->conn);
			gg_error("%s: protocol error: unexpected reply to DEL", st->uri);
			return storage_remote_error();
		}
	}
	return storage_batch_error(failed, 0, first);
}

const struct storage_ops storage_redis_ops = {
    .scheme = "redis",
    .open = redis_open,
    .has = redis_has,
    .put = redis_put,
    .get = redis_get,
    .entry_get = redis_entry_get,
    .entry_put = redis_entry_put,
    .list = redis_list,
    .remove = redis_remove,
    .close = redis_close,
};
