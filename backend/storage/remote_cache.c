/**
 * @file remote_cache.c
 * The shared action cache (see remote_cache.h): entries in a remote store,
 * checked before use, published after a thunk runs.
 */
#include "backend/storage/remote_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ENTRY_MAGIC "ggcache 1 "
#define HMAC_TAG    "hmac "
/* "hmac " HEX "\n" */
#define HMAC_LINE (sizeof(HMAC_TAG) - 1 + GG_DIGEST_HEX + 1)
/* A team key's least length, in bytes. */
#define KEY_MIN 16

/* The most idle storage connections kept for reuse; more are closed. */
#define POOL_MAX 8

/*
 * A storage object is used by one thread at a time (storage_backends.h), so
 * each call takes one from a pool (opening another when all are in use) and
 * gives it back: the lock guards only the pool and the flags, never a
 * transfer, so a long download (a large value read through the mount) does
 * not hold up lookups, publishing or other downloads.
 */
struct remote_cache {
	pthread_mutex_t mu; /* the pool and the flags below; held for no I/O */
	struct store *local;
	char *uri;   /* as configured (may hold a password): for opening more */
	char *shown; /* the storage's URI as it names itself, for messages */
	struct storage *pool[POOL_MAX];
	size_t npool;
	enum remote_cache_mode mode;
	char *key; /* the team key, or NULL */
	size_t key_len;
	bool write_refused; /* a publish failed (e.g. read-only credentials): no more */
	bool read_failed;   /* the store could not be asked: not again (each would wait) */
	void (*notice)(void *arg, const char *msg);
	void *notice_arg;
};

/* A storage for this thread's call: from the pool, or newly opened (NULL
 * with the error set when it cannot be). */
static struct storage *rc_take(struct remote_cache *rc)
{
	pthread_mutex_lock(&rc->mu);
	struct storage *st = rc->npool ? rc->pool[--rc->npool] : NULL;
	pthread_mutex_unlock(&rc->mu);
	if (!st && storage_open(rc->uri, &st) < 0)
		return NULL;
	return st;
}

static void rc_give(struct remote_cache *rc, struct storage *st)
{
	if (!st)
		return;
	pthread_mutex_lock(&rc->mu);
	if (rc->npool < POOL_MAX) {
		rc->pool[rc->npool++] = st;
		st = NULL;
	}
	pthread_mutex_unlock(&rc->mu);
	storage_close(st);
}

static bool rc_flag(struct remote_cache *rc, bool *flag)
{
	pthread_mutex_lock(&rc->mu);
	bool v = *flag;
	pthread_mutex_unlock(&rc->mu);
	return v;
}

/* Sets *flag; true if this call set it (so the notice is said once). */
static bool rc_set_flag(struct remote_cache *rc, bool *flag)
{
	pthread_mutex_lock(&rc->mu);
	bool was = *flag;
	*flag = true;
	pthread_mutex_unlock(&rc->mu);
	return !was;
}

static int remote_cache_fetch(void *arg, const struct gg_name *n);

int remote_cache_mode_parse(const char *s, enum remote_cache_mode *out)
{
	static const char *const names[] = {"off", "read", "readwrite"};
	for (size_t i = 0; i < GG_ARRAY_LEN(names); i++)
		if (!strcmp(s, names[i])) {
			*out = (enum remote_cache_mode)i;
			return 0;
		}
	return gg_fail(GG_EUSAGE, "remote cache mode '%s': expected off, read or readwrite", s);
}

static void notice(struct remote_cache *rc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void notice(struct remote_cache *rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char msg[2048];
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (rc->notice)
		rc->notice(rc->notice_arg, msg);
	else
		fprintf(stderr, "gg: %s\n", msg);
}

/* The team key: the file's bytes less a final newline; only its owner may
 * read it, as ssh asks of a private key. */
static int read_key(const char *path, char **key, size_t *len)
{
	/* Looked at before it is opened: a FIFO there would hold every gg
	 * command, and a ggfs daemon's set-up, in open for ever. */
	int fd = open_regular(path);
	if (fd < 0) {
		/* Its one refusal without an errno ("not a regular file") is, for
		 * a key, a wrong setting, as a mode others can read is. */
		if (gg_last_code() == GG_EFAIL)
			return gg_fail(GG_EUSAGE, "the shared cache key: %s", gg_last_error());
		return gg_error("the shared cache key: %s", gg_last_error());
	}
	struct stat sb;
	struct buf b = BUF_INIT;
	int r = 0;
	if (fstat(fd, &sb) < 0)
		r = gg_error_errno("the shared cache key %s", path);
	else if (sb.st_mode & (S_IRWXG | S_IRWXO))
		r = gg_fail(GG_EUSAGE,
		            "the shared cache key %s can be read by others (mode %03o); "
		            "chmod 600 it",
		            path, (unsigned)(sb.st_mode & 0777));
	else if (read_fd_all(fd, &b, 4096) < 0)
		r = gg_error("the shared cache key %s: %s", path, gg_last_error());
	close(fd);
	while (r == 0 && b.len > 0 && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r'))
		b.len--;
	if (r == 0 && b.len < KEY_MIN)
		r = gg_fail(GG_EUSAGE, "the shared cache key %s is shorter than %d bytes", path,
		            KEY_MIN);
	if (r == 0) {
		*len = b.len;
		*key = buf_steal(&b);
	}
	buf_free(&b);
	return r;
}

int remote_cache_open(struct store *local, const struct remote_cache_opts *o,
                      struct remote_cache **out)
{
	*out = NULL;
	const char *mode = o->mode ? o->mode : getenv("GG_REMOTE_CACHE");
	enum remote_cache_mode m = REMOTE_CACHE_OFF;
	if (mode && *mode && remote_cache_mode_parse(mode, &m) < 0)
		return -1;
	if (m == REMOTE_CACHE_OFF)
		return 0;
	const char *uri = o->uri && *o->uri ? o->uri : getenv("GG_STORAGE");
	if (!uri || !*uri)
		return gg_fail(GG_EUSAGE,
		               "the shared cache (--remote-cache %s) needs a storage: "
		               "--storage URI or GG_STORAGE",
		               mode);
	const char *key_file = o->key_file ? o->key_file : getenv("GG_REMOTE_CACHE_KEY");
	struct remote_cache *rc = xcalloc(1, sizeof *rc);
	pthread_mutex_init(&rc->mu, NULL);
	rc->local = local;
	rc->mode = m;
	rc->notice = o->notice;
	rc->notice_arg = o->notice_arg;
	rc->uri = xstrdup(uri);
	struct storage *st = NULL;
	if ((key_file && *key_file && read_key(key_file, &rc->key, &rc->key_len) < 0) ||
	    storage_open(uri, &st) < 0) {
		remote_cache_close(rc);
		return -1;
	}
	rc->shown = xstrdup(st->uri);
	rc->pool[rc->npool++] = st;
	if (!st->ops->entry_get || !st->ops->entry_put) {
		gg_fail(GG_EUSAGE, "%s: this storage keeps no shared cache", uri);
		remote_cache_close(rc);
		return -1;
	}
	*out = rc;
	return 0;
}

void remote_cache_close(struct remote_cache *rc)
{
	if (!rc)
		return;
	if (rc->local->fetch_arg == rc)
		store_set_fetch(rc->local, NULL, NULL, NULL);
	for (size_t i = 0; i < rc->npool; i++)
		storage_close(rc->pool[i]);
	free(rc->uri);
	free(rc->shown);
	if (rc->key)
		memset(rc->key, 0, rc->key_len);
	free(rc->key);
	pthread_mutex_destroy(&rc->mu);
	free(rc);
}

void remote_cache_attach(struct remote_cache *rc, struct sched_opts *so)
{
	if (!rc)
		return;
	so->remote_lookup = remote_cache_lookup;
	so->remote_publish = remote_cache_publish;
	so->remote_arg = rc;
	store_set_fetch(rc->local, remote_cache_fetch, rc, rc->shown);
}

void remote_cache_encode(const struct gg_name *thunk, const struct memo *m, const char *key,
                         size_t key_len, struct buf *out)
{
	buf_printf(out, ENTRY_MAGIC "%s\n", thunk->s);
	memo_encode(m, out);
	if (key) {
		char mac[GG_DIGEST_HEX + 1];
		gg_hmac_sha256_hex(key, key_len, out->data, out->len, mac);
		buf_printf(out, HMAC_TAG "%s\n", mac);
	}
}

int remote_cache_decode(const struct gg_name *thunk, const char *data, size_t len, const char *key,
                        size_t key_len, struct memo *out)
{
	memset(out, 0, sizeof *out);
	size_t ml = sizeof(ENTRY_MAGIC) - 1, hl = ml + GG_NAME_LEN + 1;
	if (len < hl || memcmp(data, ENTRY_MAGIC, ml) || data[hl - 1] != '\n')
		return gg_fail(GG_ECORRUPT, "malformed (bad header)");
	if (memcmp(data + ml, thunk->s, GG_NAME_LEN))
		return gg_fail(GG_ECORRUPT, "it is the entry of %.*s, not of this thunk",
		               GG_NAME_LEN, data + ml);
	/* a signature, if there is one, is the last line */
	size_t body = len;
	const char *mac = NULL;
	if (len >= hl + HMAC_LINE && data[len - 1] == '\n' &&
	    !memcmp(data + len - HMAC_LINE, HMAC_TAG, sizeof(HMAC_TAG) - 1)) {
		body = len - HMAC_LINE;
		mac = data + body + sizeof(HMAC_TAG) - 1;
	}
	if (key) {
		if (!mac)
			return gg_fail(GG_EDENIED, "not signed, and a team key is configured");
		char want[GG_DIGEST_HEX + 1];
		gg_hmac_sha256_hex(key, key_len, data, body, want);
		if (!gg_secret_eq(want, mac, GG_DIGEST_HEX))
			return gg_fail(GG_EDENIED,
			               "its signature does not match the team key (written with "
			               "another key, or altered)");
	}
	if (memo_parse(data + hl, body - hl, out) < 0)
		return gg_fail(GG_ECORRUPT, "%s", gg_last_error());
	return 0;
}

/* Every object an entry names: its outputs and the stderr value. */
static size_t entry_names(const struct memo *m, struct gg_name **names)
{
	*names = xcalloc(m->n + 1, sizeof **names);
	size_t k = 0;
	for (size_t i = 0; i < m->n; i++)
		(*names)[k++] = m->v[i].value;
	if (m->has_stderr)
		(*names)[k++] = m->stderr_value;
	return k;
}

/*
 * Reads (through st), checks and uses the entry of thunk: 1 with *out when every output
 * it names is now in the local store, verified; 0 otherwise.
 */
static int lookup_with(struct remote_cache *rc, struct storage *st, const struct gg_name *thunk,
                       struct memo *out)
{
	struct buf b = BUF_INIT;
	int r = st->ops->entry_get(st, thunk, &b);
	if (r < 0) {
		if (rc_set_flag(rc, &rc->read_failed))
			notice(rc, "shared cache: %s; not asking it again in this run",
			       gg_last_error());
		buf_free(&b);
		return 0;
	}
	if (r == STORAGE_ENTRY_NONE) {
		buf_free(&b);
		return 0;
	}
	/* a bad key is that entry's fault, like a malformed entry: a miss */
	if (r == STORAGE_ENTRY_BAD)
		r = -1;
	else
		r = remote_cache_decode(thunk, b.data, b.len, rc->key, rc->key_len, out);
	buf_free(&b);
	if (r < 0) {
		notice(rc, "shared cache: the entry of %s at %s is ignored: %s", thunk->s,
		       rc->shown, gg_last_error());
		return 0;
	}
	/* The values stay remote until read (store.h): the store is asked only
	 * whether it has them; their bytes are checked when fetched. */
	struct gg_name *names;
	size_t n = entry_names(out, &names);
	bool *ok = xcalloc(n, sizeof *ok);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (store_has(rc->local, &names[i]) == 1)
			ok[i] = true;
		else
			names[k++] = names[i];
	bool *present = xcalloc(k ? k : 1, sizeof *present);
	r = k ? st->ops->has(st, names, k, present) : 0;
	size_t missing = 0, first = k;
	for (size_t i = 0; r == 0 && i < k; i++)
		if (!present[i] && missing++ == 0)
			first = i;
	for (size_t i = 0; r == 0 && !missing && i < k; i++)
		if (store_mark_remote(rc->local, &names[i]) < 0)
			r = -1;
	if (r < 0 || missing) {
		char why[1200];
		if (r < 0)
			snprintf(why, sizeof why, "%s", gg_last_error());
		else
			snprintf(why, sizeof why, "it names %s, which the store lacks%s",
			         names[first].s, missing > 1 ? " (and more)" : "");
		notice(rc,
		       "shared cache: the entry of %s at %s is ignored (the thunk runs, and its "
		       "result replaces the entry): %s",
		       thunk->s, rc->shown, why);
		memo_free(out);
		r = 0;
	} else if (memo_put(rc->local, thunk, out) < 0) {
		/* the values are known; a later force asks again */
		notice(rc, "shared cache: %s", gg_last_error());
		r = 1;
	} else {
		r = 1;
	}
	free(present);
	free(ok);
	free(names);
	return r;
}

/* The store's fetcher (store_set_fetch): one value recorded as remote,
 * downloaded and verified into the local store (a temp file renamed into
 * place once its bytes match the name: two threads fetching one value each
 * write their own). No lock is held while it downloads. */
static int remote_cache_fetch(void *arg, const struct gg_name *n)
{
	struct remote_cache *rc = arg;
	struct storage *st = rc_take(rc);
	if (!st)
		return -1;
	bool ok = false, present = true;
	int r = st->ops->get(st, rc->local, n, 1, &ok);
	if (r == 0 && !ok)
		r = gg_fail(GG_ENOTFOUND, "%s no longer has it", rc->shown);
	else if (r < 0) {
		/* A copy that fails its name is removed from the store (the
		 * storage contract): gone now, it is damaged, and its record goes;
		 * otherwise (the network, credentials) it may be fetched later. */
		enum gg_code code = gg_last_code();
		char why[1200];
		snprintf(why, sizeof why, "%s", gg_last_error());
		if (st->ops->has(st, n, 1, &present) == 0 && !present) {
			code = GG_ECORRUPT;
			notice(rc, "shared cache: %s; removed from it, and forgotten", why);
		}
		r = gg_fail(code, "%s", why);
	}
	rc_give(rc, st);
	return r;
}

int remote_cache_lookup(void *arg, const struct gg_name *thunk, struct memo *out)
{
	struct remote_cache *rc = arg;
	memset(out, 0, sizeof *out);
	if (rc->mode == REMOTE_CACHE_OFF || rc_flag(rc, &rc->read_failed))
		return 0;
	struct storage *st = rc_take(rc);
	if (!st) {
		if (rc_set_flag(rc, &rc->read_failed))
			notice(rc, "shared cache: %s; not asking it again in this run",
			       gg_last_error());
		return 0;
	}
	int r = lookup_with(rc, st, thunk, out);
	rc_give(rc, st);
	return r;
}

void remote_cache_publish(void *arg, const struct gg_name *thunk, const struct gg_name *reduced,
                          const struct memo *m)
{
	struct remote_cache *rc = arg;
	if (rc->mode != REMOTE_CACHE_READWRITE || rc_flag(rc, &rc->write_refused))
		return;
	struct storage *st = rc_take(rc);
	int r = st ? 0 : -1;
	struct gg_name *names;
	size_t n = entry_names(m, &names);
	/* the outputs first: an entry is never visible before what it names */
	if (r == 0)
		r = storage_sync_up(st, rc->local, names, n);
	const struct gg_name *keys[2] = {thunk, reduced};
	for (int i = 0; i < 2 && r == 0; i++) {
		if (i == 1 && (!reduced || gg_name_eq(thunk, reduced)))
			break;
		struct buf e = BUF_INIT;
		remote_cache_encode(keys[i], m, rc->key, rc->key_len, &e);
		r = st->ops->entry_put(st, keys[i], e.data, e.len);
		buf_free(&e);
	}
	/* refused credentials would refuse every entry: say it once */
	if (r < 0 && rc_set_flag(rc, &rc->write_refused))
		notice(rc,
		       "shared cache: cannot publish %s: %s; publishing nothing more in this run",
		       thunk->s, gg_last_error());
	free(names);
	rc_give(rc, st);
}
