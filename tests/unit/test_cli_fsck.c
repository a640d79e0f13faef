/**
 * @file test_cli_fsck.c
 * Specification of `gg fsck [--quick] [DIR...]` (gg-fsck(1)) at its entry
 * point (cli_fixture.h): a sound store and sound placeholders are 0 with a
 * count of what was checked, whatever the size of the object a placeholder
 * names (a value of more than 16 MiB too); each of these is a "damaged:"
 * line and exit 3: an object whose bytes do not match its name (moved to
 * quarantine/), a file in objects/ whose name is no object name (left in
 * place), a damaged hash cache entry (dropped), a placeholder naming a
 * thunk not in the store, a malformed placeholder; a DIR that cannot be
 * read is 3 with the cause on stderr; an unknown option is 2.
 */
#include "cli_fixture.h"
#include "core/placeholder.h"

#include <sys/stat.h>

static struct gg_name put(const void *data, size_t len, char kind)
{
	struct gg_name n;
	CHECK(store_put_buf(store, data, len, kind, &n) == 0);
	return n;
}

static void placeholder(const char *path, const struct gg_name *n, const char *output)
{
	struct gg_ref ref = {*n, (char *)output};
	CHECK(placeholder_write(path, &ref) == 0);
}

static bool exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

static void test_sound(void)
{
	CHECK(mkdir_p("src/sub", 0755) == 0);
	struct gg_name t = put("ggthunk-ish bytes\n", 18, GG_THUNK);
	placeholder("src/a", &t, "o");
	placeholder("src/sub/b", &t, NULL);
	/* a value larger than 16 MiB: sound, not "cannot be forced" */
	size_t big = (16u << 20) + 1000;
	char *bytes = xcalloc(1, big);
	struct gg_name v = put(bytes, big, GG_VALUE);
	free(bytes);
	placeholder("src/big", &v, NULL);
	CHECK(write_file_atomic("src/plain", "x\n", 2, 0644) == 0);
	CHECK(run(cmd_fsck, "fsck src") == 0);
	CHECK(!strstr(out, "damaged:"));
	CHECK(strstr(out, "checked 2 objects, 0 executable copies, 0 memo entries, ") &&
	      strstr(out, "3 placeholders: 0 damaged\n"));
	CHECK_STR(err, "");
	CHECK(run(cmd_fsck, "fsck --quick src") == 0 && strstr(out, "3 placeholders: 0 damaged\n"));
	CHECK(remove_tree("src") == 0);
}

/* The first entry's path (malloc'd). */
static int first_path(void *arg, const char *path, const char *name)
{
	*(char **)arg = xstrdup(path);
	return 1;
}

static void test_damage(void)
{
	/* an object whose bytes no longer match its name: quarantined */
	struct gg_name v = put("sound\n", 6, GG_VALUE);
	char *path = store_object_path(store, &v), *q = store_quarantine_path(store, &v, false);
	CHECK(chmod(path, 0644) == 0 && write_file_atomic(path, "SOUND\n", 6, 0444) == 0);
	CHECK(run(cmd_fsck, "fsck") == 3);
	CHECK(strstr(out, "damaged: ") && strstr(out, v.s) && strstr(out, ": 1 damaged\n"));
	CHECK(!exists(path) && exists(q));
	free(path);
	free(q);
	/* now it is gone: nothing damaged */
	CHECK(run(cmd_fsck, "fsck") == 0 && strstr(out, ": 0 damaged\n"));

	/* a file whose name is no object name: reported, left in place */
	char *fan = xasprintf("%s/objects/ab", store->root);
	char *odd = xasprintf("%s/not-a-name", fan);
	CHECK(mkdir_p(fan, 0755) == 0);
	free(fan);
	CHECK(write_file_atomic(odd, "?", 1, 0644) == 0);
	CHECK(run(cmd_fsck, "fsck") == 3 && strstr(out, "not an object name (left in place)"));
	CHECK(exists(odd) && unlink(odd) == 0);
	free(odd);

	/* a damaged hash cache entry: dropped */
	struct gg_name h;
	CHECK(write_file_atomic("h.txt", "hashed\n", 7, 0644) == 0);
	/* an entry is kept once the file's change time has settled (stamp.h) */
	char *entry = NULL;
	for (int i = 0; i < 60 && !entry; i++) {
		usleep(50000);
		(void)store_hash_file(store, "h.txt", &h);
		store_walk(store, "hashcache", first_path, &entry);
	}
	CHECK(entry != NULL);
	CHECK(run(cmd_fsck, "fsck") == 0 && strstr(out, "1 hash cache entries"));
	CHECK(write_file_atomic(entry, "garbage", 7, 0644) == 0);
	CHECK(run(cmd_fsck, "fsck") == 3 && strstr(out, "damaged: hash cache entry ") &&
	      strstr(out, "is damaged; dropped"));
	CHECK(!exists(entry));
	free(entry);

	/* placeholders: a thunk not in the store, a malformed one */
	CHECK(mkdir_p("src", 0755) == 0);
	struct gg_name gone;
	gg_name_of_buf("never stored\n", 13, GG_THUNK, &gone);
	placeholder("src/gone", &gone, "o");
	CHECK(run(cmd_fsck, "fsck src") == 3);
	CHECK(strstr(out, "damaged: placeholder src/gone cannot be forced: ") &&
	      strstr(out, "1 placeholders: 1 damaged\n"));
	CHECK(unlink("src/gone") == 0);
	CHECK(write_file_atomic("src/bad", "#!/usr/bin/env gg-run\nggfs-placeholder 1 Tnope\n", 46,
	                        0644) == 0);
	CHECK(run(cmd_fsck, "fsck src") == 3 && strstr(out, "damaged: src/bad: "));
	CHECK(remove_tree("src") == 0);

	/* a DIR that cannot be read: not checked, so 3, the cause on stderr */
	CHECK(run(cmd_fsck, "fsck no-such-dir") == 3);
	CHECK(strstr(err, "cannot open no-such-dir") && strstr(out, ": 0 damaged\n"));
	CHECK(run(cmd_fsck, "fsck --bogus") == 2 && strstr(err, "unrecognized option '--bogus'"));
}

TEST_MAIN(cli_setup, test_sound, test_damage, cli_teardown)
