/**
 * @file storage.c
 * The storage front door: picks a back-end by URI scheme, closes it, and
 * implements "upload what the remote store lacks" on top of has() and put().
 * It keeps no index of remote contents (the remote store is always asked,
 * so an emptied bucket is simply refilled) and does no transfer itself.
 */
#include "backend/storage/storage_backends.h"

#include <stdlib.h>
#include <string.h>

static const struct storage_ops *const backends[] = {
    &storage_s3_ops,
    &storage_redis_ops,
    &storage_file_ops,
};

int storage_batch_error(size_t failed, enum gg_code code, const char *first)
{
	if (failed == 0)
		return 0;
	/* explicit, never GG_EFAIL: that would take the code of whatever
	 * error was recorded last (gg_error's wrapping rule) if first
	 * happens to contain it, such as a local ENOENT (GG_ENOTFOUND),
	 * which callers read as "the remote store lacks it" */
	if (!code)
		code = GG_EREMOTE;
	if (failed == 1)
		return gg_fail(code, "%s", first);
	return gg_fail(code, "%s (and %zu more objects failed)", first, failed - 1);
}

int storage_remote_error(void)
{
	enum gg_code c = gg_last_code();
	if (c == GG_EFAIL || c == GG_EINVALID)
		gg_fail(GG_EREMOTE, "%s", gg_last_error());
	return -1;
}

int storage_open(const char *uri, struct storage **out)
{
	const char *sep = strstr(uri, "://");
	if (!sep)
		return gg_fail(
		    GG_EUSAGE,
		    "%s: not a storage URI (s3://BUCKET[/PREFIX], redis://HOST:PORT, file:///DIR)",
		    uri);
	size_t n = (size_t)(sep - uri);
	for (size_t i = 0; i < GG_ARRAY_LEN(backends); i++)
		if (strlen(backends[i]->scheme) == n && !strncmp(uri, backends[i]->scheme, n)) {
			/* unclassified (credentials missing or unreadable, no
			 * libcurl): a store not opened, never "absent" */
			if (backends[i]->open(uri, out) < 0)
				return storage_remote_error();
			return 0;
		}
	return gg_fail(GG_EUSAGE, "%.*s: unknown storage scheme (known: s3, redis, file)",
	               (int)(n < 20 ? n : 20), uri);
}

char *storage_uri_public(const char *uri)
{
	const char *sep = strstr(uri, "://");
	if (!sep)
		return xstrdup(uri);
	const char *auth = sep + 3, *end = auth + strcspn(auth, "/"), *at = NULL;
	for (const char *c = auth; c < end; c++)
		if (*c == '@')
			at = c; /* the last '@' ends the user info */
	if (!at)
		return xstrdup(uri);
	return xasprintf("%.*s%s", (int)(auth - uri), uri, at + 1);
}

void storage_close(struct storage *st)
{
	if (st)
		st->ops->close(st);
}

int storage_sync_up(struct storage *st, struct store *local, const struct gg_name *names, size_t n)
{
	if (n == 0)
		return 0;
	/* ask once per distinct name */
	struct gg_name *uniq = xmalloc(n * sizeof *uniq);
	memcpy(uniq, names, n * sizeof *uniq);
	qsort(uniq, n, sizeof *uniq, gg_name_cmp);
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (m == 0 || !gg_name_eq(&uniq[m - 1], &uniq[i]))
			uniq[m++] = uniq[i];
	bool *present = xcalloc(m, sizeof *present);
	int r = st->ops->has(st, uniq, m, present);
	if (r == 0) {
		size_t k = 0;
		for (size_t i = 0; i < m; i++)
			if (!present[i])
				uniq[k++] = uniq[i];
		if (k > 0)
			r = st->ops->put(st, local, uniq, k);
	}
	free(present);
	free(uniq);
	return r;
}
