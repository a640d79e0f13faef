/**
 * @file remote_gc.h
 * Remote garbage collection (`gg gc --remote`, man gg-gc(1)): deletes the
 * objects of a remote store that no shared cache entry names and that are
 * older than a grace period. Cache entries are the roots and are kept.
 *
 * The grace period is what makes it safe beside clients at work: a client
 * uploads a result's objects before the entry naming them (remote_cache.c),
 * and pushes a thunk's inputs before a worker reads them, so an object no
 * entry names yet is young; only objects unnamed and older than the grace
 * are deleted. The listing comes first and the entries are read after it,
 * then a second listing's new entries too, so an entry published meanwhile
 * is seen. Nothing is deleted unless the whole store was listed and every
 * entry could be read and understood.
 */
#ifndef GG_REMOTE_GC_H
#define GG_REMOTE_GC_H

#include "backend/storage/storage.h"

/* The default grace period: 7 days, in seconds. */
#define REMOTE_GC_GRACE_DEFAULT (7 * 24 * 3600)

struct remote_gc_opts {
	int64_t grace; /* seconds */
	bool dry_run;  /* report, delete nothing */
	/* Called for each object deleted (or that would be); may be NULL. */
	void (*on_delete)(void *arg, const struct storage_item *it);
	void *arg;
};

struct remote_gc_stats {
	size_t objects, entries; /* listed */
	size_t named, young;     /* kept: named by an entry; unnamed but within the grace */
	size_t removed;          /* deleted (or, dry run, that would be) */
	uint64_t removed_bytes;
};

/* 0 with *out filled; -1 with the error set (then nothing was deleted, or,
 * when deleting failed part way, some were). A store without list/remove
 * is refused, naming it. */
int remote_gc(struct storage *st, const struct remote_gc_opts *o, struct remote_gc_stats *out);

#endif
