/**
 * @file test_fs_storefind.c
 * Specification of fs/storefind (which store a mount uses): -o store=DIR
 * (the store itself, or a directory holding .gg), else $GG_DIR, else the
 * nearest .gg at or above SOURCE — not above the current directory; never
 * a store created; a clear error when there is none.
 */
#include "fs/ggfs.h"
#include "harness.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *dir;

static void setup(void)
{
	dir = xstrdup("/tmp/ggtest-storefind-XXXXXX");
	if (!mkdtemp(dir))
		abort();
	char *real = realpath(dir, NULL);
	free(dir);
	dir = real;
	unsetenv("GG_DIR");
}

static void teardown(void)
{
	remove_tree(dir);
	free(dir);
}

static char *at(const char *rel)
{
	return xasprintf("%s/%s", dir, rel);
}

/* Opens as the mount would and says which root it got (malloc'd), or NULL. */
static char *found(const char *source, const char *opt)
{
	struct store *s = NULL;
	if (ggfs_open_store(source, opt, &s) < 0)
		return NULL;
	char *root = xstrdup(s->root);
	store_close(s);
	return root;
}

static void test_store_option(void)
{
	char *proj = at("proj"), *store = at("proj/.gg"), *src = at("src");
	CHECK(mkdir_p(src, 0755) == 0 && store_init(proj, NULL) == 0);
	char *r = found(src, store); /* the store itself */
	CHECK(r && strstr(r, "/proj/.gg"));
	free(r);
	r = found(src, proj); /* a directory holding .gg */
	CHECK(r && strstr(r, "/proj/.gg"));
	free(r);
	/* neither: an error naming it, and nothing created */
	struct store *s = NULL;
	CHECK_ERR(ggfs_open_store(src, src, &s),
	          "not a store (no objects/ in it, and no .gg in it)");
	char *made = at("src/.gg");
	struct stat st;
	CHECK(stat(made, &st) < 0);
	free(made);
	free(proj), free(store), free(src);
}

static void test_discovered_above_source_not_cwd(void)
{
	char *a = at("a"), *deep = at("a/src/sub"), *b = at("b");
	CHECK(mkdir_p(deep, 0755) == 0 && mkdir_p(b, 0755) == 0);
	CHECK(store_init(a, NULL) == 0 && store_init(b, NULL) == 0);
	char cwd[4096];
	CHECK(getcwd(cwd, sizeof cwd) != NULL);
	CHECK(chdir(b) == 0); /* the daemon may start anywhere */
	char *r = found(deep, NULL);
	CHECK(r && strstr(r, "/a/.gg") && !strstr(r, "/b/"));
	free(r);
	/* $GG_DIR wins */
	char *bstore = at("b/.gg");
	setenv("GG_DIR", bstore, 1);
	r = found(deep, NULL);
	CHECK(r && strstr(r, "/b/.gg"));
	free(r);
	unsetenv("GG_DIR");
	CHECK(chdir(cwd) == 0);
	/* none at or above SOURCE: an error that says what to do */
	char *lone = at("lone");
	CHECK(mkdir_p(lone, 0755) == 0);
	struct store *s = NULL;
	CHECK_ERR(ggfs_open_store(lone, NULL, &s), "run 'gg init");
	free(lone), free(bstore), free(a), free(deep), free(b);
}

TEST_MAIN(setup, test_store_option, test_discovered_above_source_not_cwd, teardown)
