/**
 * @file storefind.c
 * Which store a mount uses: -o store=DIR, else $GG_DIR, else the nearest
 * ".gg" directory at or above SOURCE (not above the current directory, as
 * store_open would look: the daemon serves SOURCE wherever it is started),
 * found as store_open finds one (discover.h).
 * It only finds and opens the store; it never creates one.
 */
#include "fs/ggfs.h"

#include "core/discover.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static bool is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool looks_like_store(const char *dir)
{
	char *objects = xasprintf("%s/objects", dir);
	bool r = is_dir(objects);
	free(objects);
	return r;
}

int ggfs_open_store(const char *source, const char *store_opt, struct store **out)
{
	if (store_opt) {
		char *inner = xasprintf("%s/.gg", store_opt);
		char *dir = NULL;
		size_t n = strlen(store_opt);
		if (looks_like_store(store_opt) || (n >= 3 && !strcmp(store_opt + n - 3, ".gg")))
			dir = xstrdup(store_opt);
		else if (is_dir(inner))
			dir = xstrdup(inner);
		free(inner);
		if (!dir)
			return gg_error(
			    "store=%s: not a store (no objects/ in it, and no .gg in it)",
			    store_opt);
		int r = store_open(dir, out);
		free(dir);
		return r;
	}
	const char *env = getenv("GG_DIR");
	if (env && *env)
		return store_open(env, out);
	/* Safely: not into another user's directory or store (discover.h). */
	char *found = store_discover(source);
	if (!found)
		return gg_error("no store for %s: %s (run 'gg init %s', set GG_DIR or use -o "
		                "store=DIR)",
		                source, gg_last_error(), source);
	int r = store_open(found, out);
	free(found);
	return r;
}
