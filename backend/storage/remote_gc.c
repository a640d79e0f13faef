/**
 * @file remote_gc.c
 * Remote garbage collection (see remote_gc.h): list, read the entries, and
 * delete what no entry names once it is older than the grace period.
 */
#include "backend/storage/remote_gc.h"

#include "backend/storage/remote_cache.h"

#include <stdlib.h>
#include <string.h>

struct listing {
	struct storage_item *v;
	size_t n, cap;
};

static int add_item(void *arg, const struct storage_item *it)
{
	struct listing *l = arg;
	ALLOC_GROW(l->v, l->n + 1, l->cap);
	l->v[l->n++] = *it;
	return 0;
}

/* Deletes in batches, so that one request is never huge. */
#define BATCH 256

struct roots {
	struct gg_name *v; /* every name an entry holds */
	size_t n, cap;
	struct gg_name *seen; /* the entries read, sorted once the first pass is over */
	size_t nseen, seen_cap;
};

/* Adds what the entry `name` holds to the roots. An entry that cannot be
 * read or understood (a damaged one, or a newer gg's) stops the collection:
 * what it names is unknown, so nothing may be deleted. */
static int read_entry(struct storage *st, const struct gg_name *name, struct roots *rt)
{
	ALLOC_GROW(rt->seen, rt->nseen + 1, rt->seen_cap);
	rt->seen[rt->nseen++] = *name;
	struct buf b = BUF_INIT;
	int g = st->ops->entry_get(st, name, &b);
	struct memo m;
	int r = 0;
	/* a signature is not checked: whatever an entry names is kept */
	if (g == STORAGE_ENTRY_FOUND &&
	    remote_cache_decode(name, b.data, b.len, NULL, 0, &m) == 0) {
		for (size_t k = 0; k < m.n + (m.has_stderr ? 1 : 0); k++) {
			ALLOC_GROW(rt->v, rt->n + 1, rt->cap);
			rt->v[rt->n++] = k < m.n ? m.v[k].value : m.stderr_value;
		}
		memo_free(&m);
	} else if (g < 0) {
		r = gg_error("%s: cannot read the cache entry of %s, so nothing is deleted: %s",
		             st->uri, name->s, gg_last_error());
	} else if (g != STORAGE_ENTRY_NONE) {
		r = gg_fail(GG_ECORRUPT,
		            "%s: the cache entry of %s cannot be understood (damaged, or written "
		            "by a newer gg), so nothing is deleted: %s",
		            st->uri, name->s, gg_last_error());
	}
	buf_free(&b);
	return r;
}

int remote_gc(struct storage *st, const struct remote_gc_opts *o, struct remote_gc_stats *out)
{
	memset(out, 0, sizeof *out);
	if (!st->ops->list || !st->ops->remove)
		return gg_fail(GG_EUSAGE, "%s: this storage cannot be listed; no remote gc",
		               st->uri);
	struct listing l = {0};
	int r = st->ops->list(st, add_item, &l);
	/* the roots: every name an entry holds, read after the listing */
	struct roots rt = {0};
	for (size_t i = 0; r == 0 && i < l.n; i++) {
		if (!l.v[i].entry) {
			out->objects++;
			continue;
		}
		out->entries++;
		r = read_entry(st, &l.v[i].name, &rt);
	}
	/* An entry published while the store was listed names objects the
	 * listing saw as unnamed: list once more and read the entries that are
	 * new, so that only one published after this second listing can lose
	 * an old object it names (gg-gc(1)). */
	if (r == 0 && rt.nseen > 1)
		qsort(rt.seen, rt.nseen, sizeof *rt.seen, gg_name_cmp);
	size_t nfirst = rt.nseen;
	struct listing again = {0};
	if (r == 0)
		r = st->ops->list(st, add_item, &again);
	for (size_t i = 0; r == 0 && i < again.n; i++)
		if (again.v[i].entry && !(nfirst && bsearch(&again.v[i].name, rt.seen, nfirst,
		                                            sizeof *rt.seen, gg_name_cmp))) {
			out->entries++;
			r = read_entry(st, &again.v[i].name, &rt);
		}
	free(again.v);
	free(rt.seen);
	struct gg_name *live = rt.v;
	size_t nlive = rt.n;
	if (r < 0) {
		free(live);
		free(l.v);
		return -1;
	}
	if (nlive > 1)
		qsort(live, nlive, sizeof *live, gg_name_cmp);
	struct storage_item *doomed = xcalloc(l.n ? l.n : 1, sizeof *doomed);
	size_t nd = 0;
	for (size_t i = 0; i < l.n; i++) {
		const struct storage_item *it = &l.v[i];
		if (it->entry)
			continue;
		if (nlive && bsearch(&it->name, live, nlive, sizeof *live, gg_name_cmp))
			out->named++;
		else if (it->age < o->grace)
			out->young++;
		else
			doomed[nd++] = *it;
	}
	for (size_t i = 0; i < nd && r == 0; i += BATCH) {
		size_t k = nd - i < BATCH ? nd - i : BATCH;
		if (!o->dry_run && st->ops->remove(st, doomed + i, k) < 0) {
			r = -1;
			break;
		}
		for (size_t j = i; j < i + k; j++) {
			out->removed++;
			out->removed_bytes += doomed[j].size;
			if (o->on_delete)
				o->on_delete(o->arg, &doomed[j]);
		}
	}
	free(doomed);
	free(live);
	free(l.v);
	return r;
}
