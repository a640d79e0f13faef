/**
 * @file cmd_fsck.c
 * gg fsck: checks a store (objects, executable copies, memo entries, hash
 * cache entries) and the placeholders in given directories, reports what
 * is wrong and quarantines or drops it (see gg-fsck(1)). The checks
 * themselves are the store's (store_check, memo_get,
 * store_hashcache_entry_sound); this walks the store and counts.
 */
#include "tools/cli/commands.h"
#include "tools/command.h"

#include "core/placeholder.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char fsck_help[] =
    "usage: gg fsck [--quick] [DIR...]\n"
    "Checks the store: every object and executable copy against its name, every\n"
    "memo entry and hash cache entry; and every placeholder under each DIR.\n"
    "What is damaged is reported, and quarantined or dropped.\n"
    "  -q, --quick        trust valid verdicts instead of hashing every object\n"
    "Exit status: 0 nothing wrong, 3 damage found (or the check failed).\n";

struct fsck {
	struct store *s;
	bool trust;
	size_t objects, copies, memos, hashcache, placeholders;
	size_t damaged, errors;
};

__attribute__((format(printf, 2, 3))) static void damage(struct fsck *f, const char *fmt, ...)
{
	f->damaged++;
	va_list ap;
	va_start(ap, fmt);
	fputs("damaged: ", stdout);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
}

/* Calls fn for every file ROOT/SUB/ab/KEY. */
struct each {
	struct fsck *f;
	void (*fn)(struct fsck *, const char *path, const char *key);
};

static int each_one(void *arg, const char *path, const char *name)
{
	struct each *e = arg;
	e->fn(e->f, path, name);
	return 0;
}

static void each_entry(struct fsck *f, const char *sub,
                       void (*fn)(struct fsck *, const char *path, const char *key))
{
	struct each e = {f, fn};
	store_walk(f->s, sub, each_one, &e);
}

static bool name_of_key(const char *key, struct gg_name *n)
{
	return strlen(key) == GG_NAME_LEN && gg_name_parse(key, GG_NAME_LEN, n) == 0;
}

static void check_object(struct fsck *f, const char *path, const char *key, bool exec)
{
	struct gg_name n;
	if (!name_of_key(key, &n)) {
		damage(f, "%s: not an object name (left in place)", path);
		return;
	}
	exec ? f->copies++ : f->objects++;
	int r = store_check(f->s, &n, exec, f->trust);
	if (r < 0 && gg_last_code() == GG_ECORRUPT)
		damage(f, "%s", gg_last_error());
	else if (r < 0) {
		f->errors++;
		fprintf(stderr, "gg: fsck: %s\n", gg_last_error());
	}
}

static void check_plain(struct fsck *f, const char *path, const char *key)
{
	check_object(f, path, key, false);
}

static void check_copy(struct fsck *f, const char *path, const char *key)
{
	check_object(f, path, key, true);
}

static void check_memo(struct fsck *f, const char *path, const char *key)
{
	struct gg_name t;
	if (!name_of_key(key, &t)) {
		damage(f, "%s: not a thunk name (left in place)", path);
		return;
	}
	f->memos++;
	struct memo m;
	if (memo_get(f->s, &t, &m) == 1) {
		memo_free(&m);
		return;
	}
	/* A miss: an entry that reads back damaged is dropped by memo_get; one
	 * naming a value no longer stored (gc, quarantine) is kept, a miss. */
	if (access(path, F_OK) < 0 && errno == ENOENT)
		damage(f, "memo entry of %s is damaged; dropped (%s)", t.s, path);
}

static void check_hashcache(struct fsck *f, const char *path, const char *key)
{
	(void)key;
	f->hashcache++;
	struct buf b = BUF_INIT;
	if (read_file(path, &b, 4096) < 0 || !store_hashcache_entry_sound(b.data, b.len)) {
		if (unlink(path) == 0 || errno == ENOENT)
			damage(f, "hash cache entry %s is damaged; dropped", path);
		else
			damage(f, "hash cache entry %s is damaged; cannot drop it: %s", path,
			       strerror(errno));
	}
	buf_free(&b);
}

/* Every placeholder under dir (no symbolic link followed, no .gg entered). */
static void check_tree(struct fsck *f, const char *dir)
{
	DIR *d = opendir(dir);
	if (!d) {
		f->errors++;
		fprintf(stderr, "gg: fsck: cannot open %s: %s\n", dir, strerror(errno));
		return;
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
		    !strcmp(e->d_name, ".gg"))
			continue;
		char *p = xasprintf("%s/%s", dir, e->d_name);
		struct stat st;
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
			check_tree(f, p);
		} else if (lstat(p, &st) == 0 && S_ISREG(st.st_mode) &&
		           st.st_size <= PLACEHOLDER_MAX_SIZE) {
			struct gg_ref ref;
			int r = placeholder_read(p, &ref);
			if (r < 0) {
				damage(f, "%s: %s", p, gg_last_error());
			} else if (r == 1) {
				f->placeholders++;
				/* the thunk's (or value's) bytes checked, whatever their
				 * size, and quarantined if damaged */
				if (store_verify(f->s, &ref.name) < 0)
					damage(f, "placeholder %s cannot be forced: %s", p,
					       gg_last_error());
				gg_ref_free(&ref);
			}
		}
		free(p);
	}
	closedir(d);
}

/* --quick (-q), the only option that is not -h. */
static int take_quick(void *ctx, int opt, const char *arg)
{
	(void)opt;
	(void)arg;
	((struct fsck *)ctx)->trust = true;
	return -1;
}

int cmd_fsck(int argc, char **argv)
{
	static const struct option opts[] = {{"quick", no_argument, 0, 'q'}, {0}};
	struct fsck f = {0};
	f.trust = false;
	int done = read_options(argc, argv, opts, fsck_help, "usage: gg fsck [--quick] [DIR...]",
	                        take_quick, &f);
	if (done >= 0)
		return done;
	if (open_store(false, &f.s) < 0)
		return report_last();
	each_entry(&f, "objects", check_plain);
	each_entry(&f, "xobjects", check_copy);
	each_entry(&f, "memo", check_memo);
	each_entry(&f, "hashcache", check_hashcache);
	for (int i = optind; i < argc; i++)
		check_tree(&f, argv[i]);
	printf("checked %zu objects, %zu executable copies, %zu memo entries, %zu hash cache "
	       "entries, %zu placeholders: %zu damaged\n",
	       f.objects, f.copies, f.memos, f.hashcache, f.placeholders, f.damaged);
	store_close(f.s);
	return f.damaged || f.errors ? 3 : 0;
}
