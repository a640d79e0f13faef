/**
 * @file discover.c
 * Safe store discovery (see discover.h).
 */
#include "core/discover.h"

#include "core/util.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

/* dir is listed in $GG_SAFE_DIRECTORY. */
static bool listed_safe(const char *dir)
{
	const char *list = getenv("GG_SAFE_DIRECTORY");
	if (!list || !*list)
		return false;
	size_t n = strlen(dir);
	for (const char *p = list; p && *p;) {
		const char *colon = strchr(p, ':');
		size_t len = colon ? (size_t)(colon - p) : strlen(p);
		if ((len == 1 && *p == '*') || (len == n && !strncmp(p, dir, n)))
			return true;
		p = colon ? colon + 1 : NULL;
	}
	return false;
}

static bool in_group(gid_t g)
{
	if (getegid() == g)
		return true;
	gid_t groups[256];
	int n = getgroups(256, groups);
	for (int i = 0; i < n; i++)
		if (groups[i] == g)
			return true;
	return false;
}

int store_shared_ok(const struct stat *st)
{
	return (st->st_mode & 07777) == 02770 && in_group(st->st_gid);
}

/*
 * A ggfs mount's ".gg" is its read-only view of the store (by-hash); its
 * user.gg.store attribute names the store itself, which a command run inside
 * the mount uses instead, under the same ownership checks (made on the
 * store, not on the mount). Honoured only on a FUSE file system (anyone who
 * may write an ordinary .gg may set a user.* attribute on it) and only for
 * an existing store (one with its format file), never made there. NULL for
 * an ordinary store.
 */
static char *mounted_store(const char *ggdir)
{
	if (!on_fuse(ggdir))
		return NULL;
	char buf[PATH_MAX];
	ssize_t n = getxattr(ggdir, "user.gg.store", buf, sizeof buf - 1);
	if (n <= 1 || buf[0] != '/' || memchr(buf, 0, (size_t)n))
		return NULL;
	buf[n] = 0;
	char *format = xasprintf("%s/format", buf);
	struct stat st;
	bool store = lstat(format, &st) == 0 && S_ISREG(st.st_mode);
	free(format);
	return store ? xstrdup(buf) : NULL;
}

char *store_discover(const char *start)
{
	char *dir = realpath(start, NULL);
	if (!dir) {
		gg_error_errno("cannot resolve %s", start);
		return NULL;
	}
	uid_t me = geteuid();
	for (;;) {
		struct stat st;
		if (stat(dir, &st) < 0) {
			gg_error_errno("cannot stat %s", dir);
			break;
		}
		if (st.st_uid != me && !listed_safe(dir)) {
			gg_fail(
			    GG_ENOTFOUND,
			    "no .gg directory found: the search stopped at %s, owned by uid %u, "
			    "not you (uid %u); set GG_SAFE_DIRECTORY=%s to look there too, or "
			    "GG_DIR to name a store",
			    dir, (unsigned)st.st_uid, (unsigned)me, dir);
			break;
		}
		char *p = xasprintf("%s/.gg", strcmp(dir, "/") ? dir : "");
		char *behind = lstat(p, &st) == 0 && S_ISDIR(st.st_mode) ? mounted_store(p) : NULL;
		/* the directory holding the store: what GG_SAFE_DIRECTORY must list */
		char *holder = xstrdup(dir);
		if (behind) {
			free(p);
			p = behind;
			free(holder);
			holder = xstrdup(p);
			char *cut = strrchr(holder, '/');
			cut[cut == holder ? 1 : 0] = 0;
		}
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
			if (st.st_uid == me || store_shared_ok(&st) || listed_safe(holder)) {
				free(holder);
				free(dir);
				return p;
			}
			gg_fail(
			    GG_EDENIED,
			    "refusing the store %s: it is owned by uid %u, not you (uid %u), and "
			    "is not a shared store of your group; set GG_SAFE_DIRECTORY=%s to "
			    "use it anyway",
			    p, (unsigned)st.st_uid, (unsigned)me, holder);
			free(holder);
			free(p);
			break;
		}
		free(holder);
		free(p);
		if (!strcmp(dir, "/")) {
			gg_fail(
			    GG_ENOTFOUND,
			    "no .gg directory here or in any parent (run 'gg init' or set GG_DIR)");
			break;
		}
		char *slash = strrchr(dir, '/');
		slash[slash == dir ? 1 : 0] = 0;
	}
	free(dir);
	return NULL;
}
