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

static int cmp_name(const void *a, const void *b)
{
	return memcmp(((const struct gg_name *)a)->s, ((const struct gg_name *)b)->s, GG_NAME_LEN);
}

/* Deletes in batches, so that one request is never huge. */
#define BATCH 256

int remote_gc(struct storage *st, const struct remote_gc_opts *o, struct remote_gc_stats *out)
{
	memset(out, 0, sizeof *out);
	if (!st->ops->list || !st->ops->remove)
		return gg_fail(GG_EUSAGE, "%s: this storage cannot be listed; no remote gc",
		               st->uri);
	struct listing l = {0};
	int r = st->ops->list(st, add_item, &l);
	/* the roots: every name an entry holds (read after the listing, so an
	 * entry published meanwhile names what it needs) */
	struct gg_name *live = NULL;
	size_t nlive = 0, cap = 0;
	for (size_t i = 0; r == 0 && i < l.n; i++) {
		if (!l.v[i].entry) {
			out->objects++;
			continue;
		}
		out->entries++;
		struct buf b = BUF_INIT;
		int g = st->ops->entry_get(st, &l.v[i].name, &b);
		struct memo m;
		/* a signature is not checked: whatever an entry names is kept */
		if (g == STORAGE_ENTRY_FOUND &&
		    remote_cache_decode(&l.v[i].name, b.data, b.len, NULL, 0, &m) == 0) {
			for (size_t k = 0; k < m.n + (m.has_stderr ? 1 : 0); k++) {
				ALLOC_GROW(live, nlive + 1, cap);
				live[nlive++] = k < m.n ? m.v[k].value : m.stderr_value;
			}
			memo_free(&m);
		} else if (g < 0) {
			r = gg_error(
			    "%s: cannot read the cache entry of %s, so nothing is deleted: %s",
			    st->uri, l.v[i].name.s, gg_last_error());
		}
		buf_free(&b);
	}
	if (r < 0) {
		free(live);
		free(l.v);
		return -1;
	}
	if (nlive > 1)
		qsort(live, nlive, sizeof *live, cmp_name);
	struct storage_item *doomed = xcalloc(l.n ? l.n : 1, sizeof *doomed);
	size_t nd = 0;
	for (size_t i = 0; i < l.n; i++) {
		const struct storage_item *it = &l.v[i];
		if (it->entry)
			continue;
		if (nlive && bsearch(&it->name, live, nlive, sizeof *live, cmp_name))
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
