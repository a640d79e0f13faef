/**
 * @file remote_cache.h
 * The shared action cache: memo entries (thunk name -> output names) kept in
 * a remote store beside its objects, so that a team's machines and CI do not
 * compute what one of them already computed (man gg-storage(7), SHARED
 * CACHE).
 *
 * A force asks it before running a thunk, after a miss of the local memo,
 * and publishes (read-write mode) every thunk that ran: its outputs first,
 * then the entry, under the thunk's name and the reduced name it ran as.
 * Nothing read is trusted: an entry must be well formed, name the thunk it
 * is stored under, carry a valid HMAC when a team key is configured, and
 * every output it names is downloaded and verified against its name; any
 * failure makes it a miss (with a notice), and the thunk runs and its
 * result replaces the entry. A hash check cannot catch a wrong entry with
 * right hashes (a poisoned cache), so writers must be trusted.
 *
 * Entry format (text):
 *
 *     ggcache 1 THUNK\n
 *     ggmemo 2\n ... sum HEX\n      (a sealed memo entry, gg-store(5))
 *     hmac HEX\n                    (when written with a team key)
 *
 * The HMAC-SHA256, under the key, covers every byte before its line.
 *
 * Thread-safety: all calls may come from any thread at once: each takes a
 * storage connection of its own from a pool, and no lock is held while one
 * transfers (a long download holds up nothing else).
 */
#ifndef GG_REMOTE_CACHE_H
#define GG_REMOTE_CACHE_H

#include "backend/storage/storage.h"
#include "core/scheduler.h"

enum remote_cache_mode { REMOTE_CACHE_OFF, REMOTE_CACHE_READ, REMOTE_CACHE_READWRITE };

/* "off", "read" or "readwrite"; -1 with an error naming the choices. */
int remote_cache_mode_parse(const char *s, enum remote_cache_mode *out);

struct remote_cache;

struct remote_cache_opts {
	const char *mode;     /* NULL: $GG_REMOTE_CACHE, else off */
	const char *uri;      /* NULL: $GG_STORAGE */
	const char *key_file; /* NULL: $GG_REMOTE_CACHE_KEY, else none */
	/* Where notices go (an entry ignored, publishing refused); NULL: stderr. */
	void (*notice)(void *arg, const char *msg);
	void *notice_arg;
};

/*
 * Opens the shared cache for the local store. *out is NULL when the mode is
 * off. Errors: a bad mode, no storage URI, a storage that cannot be opened,
 * a key file that cannot be read, is too short or can be read by others.
 */
int remote_cache_open(struct store *local, const struct remote_cache_opts *o,
                      struct remote_cache **out);
void remote_cache_close(struct remote_cache *rc);

/* Sets the scheduler's hooks (remote_lookup, remote_publish) to rc. */
void remote_cache_attach(struct remote_cache *rc, struct sched_opts *so);

/* The scheduler's hooks (see sched_opts). */
int remote_cache_lookup(void *rc, const struct gg_name *thunk, struct memo *out);
void remote_cache_publish(void *rc, const struct gg_name *thunk, const struct gg_name *reduced,
                          const struct memo *m);

/* The text of an entry for thunk (signed when key is not NULL). */
void remote_cache_encode(const struct gg_name *thunk, const struct memo *m, const char *key,
                         size_t key_len, struct buf *out);
/*
 * Parses an entry read under thunk's name: 0 and *out, or -1 with an error
 * saying what is wrong (malformed, another thunk's, not signed, a signature
 * that does not match). With key NULL a signature is not checked.
 */
int remote_cache_decode(const struct gg_name *thunk, const char *data, size_t len, const char *key,
                        size_t key_len, struct memo *out);

#endif
