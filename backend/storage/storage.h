/**
 * @file storage.h
 * Remote storage back-ends behind one small table of functions (like
 * sqlite3_vfs): objects are keyed by their names, moved between the local
 * store and a remote one in batches, streamed (never a whole object in
 * memory), with many transfers in flight. What is missing remotely is asked
 * of the remote store itself; nothing local can go stale. Every download is
 * verified against its name before it enters the local store.
 *
 *   s3://BUCKET[/PREFIX]   AWS S3 or S3-compatible (SigV4 through libcurl)
 *   redis://HOST:PORT[/DB] Redis (RESP over TCP)
 *   file:///DIR            a directory laid out like .gg/objects (tests, NFS)
 *
 * Configuration beyond the URI comes from the environment (documented in
 * man/gg-storage.7): GG_S3_ENDPOINT (e.g. http://127.0.0.1:8000), GG_S3_REGION
 * (default us-east-1), GG_S3_PATH_STYLE (1 = path-style URLs), credentials
 * from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN or the
 * shared credentials file (~/.aws/credentials, AWS_PROFILE) — never logged.
 *
 * Failures carry a code (core/error.h) that engines base retries on and
 * commands their exit status: GG_EUSAGE for a malformed URI or setting
 * (storage_open); GG_EDENIED for refused credentials or a directory that
 * refuses access; GG_ENOTFOUND for a bucket that does not exist; any other
 * failure of the store or of a transfer, a download that does not match its
 * name included, GG_EREMOTE (or, for a file:// directory that cannot be
 * read or made, the system's GG_ESYSTEM): worth another attempt. An object
 * the remote store lacks is no error (has() and get() say so per object),
 * and no other failure is GG_ENOTFOUND, which callers take for "gone for
 * good" (backend/engine/engine_remote.c, core/store.c's fetch_remote).
 */
#ifndef GG_STORAGE_H
#define GG_STORAGE_H

#include "core/hash.h"
#include "core/store.h"

struct storage;

/* What list() reports of one key. */
struct storage_item {
	bool entry;          /* a shared cache entry (memo/THUNK); else an object */
	struct gg_name name; /* the object's name, or the entry's thunk */
	uint64_t size;
	/* Seconds since the key was last written (S3's LastModified, a file's
	 * mtime) or, on Redis, last read or written (OBJECT IDLETIME). */
	int64_t age;
};

struct storage_ops {
	const char *scheme; /* "s3", "redis", "file" */
	int (*open)(const char *uri, struct storage **out);
	/* present[i] = whether names[i] is in the remote store: by its key (and
	 * size where the store tells it), never by its content, so present is
	 * no promise that the bytes are sound. Whoever uses the bytes downloads
	 * them through get(), which checks them against the name and removes a
	 * bad copy, so that has() stops reporting it and the next put (a
	 * worker's "missing" reply makes the client upload again) replaces it. */
	int (*has)(struct storage *st, const struct gg_name *names, size_t n, bool *present);
	/* Uploads objects from the local store (they must be there). */
	int (*put)(struct storage *st, struct store *local, const struct gg_name *names, size_t n);
	/* Downloads into the local store, verifying each name; ok[i] set per object. */
	int (*get)(struct storage *st, struct store *local, const struct gg_name *names, size_t n,
	           bool *ok);
	/*
	 * The shared action cache: one small entry per thunk, under
	 * "memo/THUNK" beside the objects (gg-storage(7)). entry_get answers
	 * STORAGE_ENTRY_FOUND with out filled, STORAGE_ENTRY_NONE, -1 when
	 * the store could not be asked (unreachable, credentials refused), or
	 * STORAGE_ENTRY_BAD with the last error naming the cause when what is
	 * stored under that key cannot be an entry (larger than
	 * STORAGE_ENTRY_MAX, not a string or a file): a fault of that one key,
	 * which anyone allowed to write one key can make, so it must never
	 * pass for a fault of the store. Entries are not verified here
	 * (backend/storage/remote_cache.c does).
	 */
	int (*entry_get)(struct storage *st, const struct gg_name *thunk, struct buf *out);
	int (*entry_put)(struct storage *st, const struct gg_name *thunk, const void *data,
	                 size_t len);
	/* Optional (S3): rewrites those of names stored in an older format
	 * (gzip-encoded) as plain objects; *rewritten counts them. */
	int (*migrate)(struct storage *st, struct store *local, const struct gg_name *names,
	               size_t n, size_t *rewritten);
	/*
	 * Optional (remote GC): calls fn for every object and cache entry the
	 * store holds (keys that are neither are skipped, and so are objects
	 * whose size is not the one their name says, which has() treats as
	 * absent). 0 when the whole store was listed; -1 with the error set
	 * when the listing could not be finished, in which case nothing may be
	 * deleted on its strength. fn returning nonzero stops it (then -1).
	 */
	int (*list)(struct storage *st, int (*fn)(void *arg, const struct storage_item *it),
	            void *arg);
	/* Optional (remote GC): deletes the items; one already gone is no
	 * error. -1 names the first failure (the rest are still attempted). */
	int (*remove)(struct storage *st, const struct storage_item *items, size_t n);
	void (*close)(struct storage *st);
};

struct storage {
	const struct storage_ops *ops;
	char *uri;
};

/* The largest cache entry read; a larger one is STORAGE_ENTRY_BAD. */
#define STORAGE_ENTRY_MAX (1u << 20)

/* entry_get's answers besides -1 */
enum storage_entry { STORAGE_ENTRY_NONE = 0, STORAGE_ENTRY_FOUND = 1, STORAGE_ENTRY_BAD = 2 };

/* Opens by URI scheme. Errors name the URI and the cause. */
int storage_open(const char *uri, struct storage **out);
void storage_close(struct storage *st);

/*
 * The URI without its user info (a password): "redis://:PW@HOST:PORT/1" ->
 * "redis://HOST:PORT/1"; other URIs as they are. A new string. What remote
 * engines put in requests: a worker opens its own configured URI, with the
 * credentials, whose public form this is (backend/remote/worker_exec.c).
 */
char *storage_uri_public(const char *uri);

/* Uploads those of names that the remote store lacks (asks it first). */
int storage_sync_up(struct storage *st, struct store *local, const struct gg_name *names, size_t n);

#endif
