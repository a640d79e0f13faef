/**
 * @file test_infer_map.c
 * Specification of the inference models' path mapping (tools/infer,
 * model_ctx.c): host paths as a build names them become thunk paths without
 * anything host-specific in them. Paths in the base directory B map below
 * the thunk's root, relative, as seen from B; any other absolute path maps
 * below .gg-sys/root; paths are normalised lexically first; a name that
 * only shares B's spelling as a prefix (B2 beside B) is not in B; and a
 * compile keeps absolute names absolute (model_map_named).
 */
#include "harness.h"
#include "tools/infer/infer_model.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *base, *sub, *old_cwd;

/* A context as `gg infer` gets it when run in B/sub with GG_INFER_BASE=base_env. */
static int ctx_in_sub(struct model_ctx *m, const char *base_env)
{
	static char tool[] = "gcc";
	static char *argv[] = {tool, NULL};
	memset(m, 0, sizeof *m); /* freed as it is if this fails */
	if (chdir(sub) < 0)
		return -1;
	if (base_env)
		setenv(MODEL_ENV_BASE, base_env, 1);
	else
		unsetenv(MODEL_ENV_BASE);
	unsetenv(MODEL_ENV_SHARE);
	return model_ctx_init(m, 1, argv);
}

/* ctx_in_sub, and the base and prefix it should have. */
static void check_ctx(struct model_ctx *m, const char *base_env, const char *want_base,
                      const char *want_prefix)
{
	CHECK(ctx_in_sub(m, base_env) == 0);
	CHECK_STR(m->base, want_base);
	CHECK_STR(m->prefix, want_prefix);
}

/* model_map(m, path) is want (a literal, or with %s for B). */
static void check_map(const struct model_ctx *m, const char *path, const char *want)
{
	char *p = strstr(path, "%s") ? xasprintf(path, base) : xstrdup(path);
	char *w = strstr(want, "%s") ? xasprintf(want, base) : xstrdup(want);
	char *got = model_map(m, p);
	CHECK_STR(got, w);
	if (strcmp(got, w))
		fprintf(stderr, "    (model_map of \"%s\")\n", p);
	free(got);
	free(w);
	free(p);
}

static void test_base_relative_paths(void)
{
	struct model_ctx m;
	check_ctx(&m, base, base, "sub/");
	check_map(&m, "a.c", "sub/a.c");
	check_map(&m, "./a.c", "sub/a.c");
	check_map(&m, "../inc/h.h", "inc/h.h");
	check_map(&m, "x/./y/../z.c", "sub/x/z.c");
	check_map(&m, "x//y", "sub/x/y");
	check_map(&m, "..", ".");
	check_map(&m, ".", "sub");
	check_map(&m, "%s/sub/a.c", "sub/a.c");
	check_map(&m, "%s", ".");
	CHECK(model_in_base(&m, "../inc/h.h"));
	CHECK(model_in_base(&m, ".."));
	CHECK(!model_in_base(&m, "../.."));
	model_ctx_free(&m);
}

static void test_host_paths_go_below_the_root(void)
{
	struct model_ctx m;
	CHECK(ctx_in_sub(&m, base) == 0);
	check_map(&m, "/usr/include/stdio.h", MODEL_ROOT "/usr/include/stdio.h");
	check_map(&m, "/usr//include/../lib/x.a", MODEL_ROOT "/usr/lib/x.a");
	check_map(&m, "/", MODEL_ROOT);
	check_map(&m, "/..", MODEL_ROOT);
	/* A sibling of B whose name starts with B's. */
	check_map(&m, "%s2/y.c", MODEL_ROOT "%s2/y.c");
	CHECK(!model_in_base(&m, "/usr/include/stdio.h"));
	char *sibling = xasprintf("%s2/y.c", base);
	CHECK(!model_in_base(&m, sibling));
	free(sibling);
	model_ctx_free(&m);
}

/* B's parent, reached by "..": named as it is, below the root. */
static void test_parent_of_base_is_normalised(void)
{
	struct model_ctx m;
	CHECK(ctx_in_sub(&m, base) == 0);
	char *got = model_map(&m, "../../z");
	const char *slash = strrchr(base, '/');
	char *want = xasprintf(MODEL_ROOT "%.*s/z", (int)(slash - base), base);
	CHECK_STR(got, want);
	free(want);
	free(got);
	model_ctx_free(&m);
}

static void test_named_paths_stay_absolute(void)
{
	struct model_ctx m;
	CHECK(ctx_in_sub(&m, base) == 0);
	char *in_base = xasprintf("%s/sub/a.c", base);
	char *want = xasprintf(MODEL_ROOT "%s/sub/a.c", base);
	char *got = model_map_named(&m, in_base);
	CHECK_STR(got, want);
	free(got);
	got = model_map_named(&m, "a.c");
	CHECK_STR(got, "sub/a.c");
	free(got);
	got = model_map_named(&m, "/");
	CHECK_STR(got, MODEL_ROOT);
	free(got);
	free(want);
	free(in_base);
	model_ctx_free(&m);
}

static void test_base_defaults(void)
{
	struct model_ctx m;
	/* No base given: the directory gg infer runs in. */
	check_ctx(&m, NULL, sub, "");
	check_map(&m, "a.c", "a.c");
	check_map(&m, "../a.c", MODEL_ROOT "%s/a.c");
	model_ctx_free(&m);
	/* A base of "/" would put host paths into thunks: the cwd instead. */
	check_ctx(&m, "/", sub, "");
	model_ctx_free(&m);
	/* A relative base is taken from the cwd, and normalised. */
	check_ctx(&m, "..//sub/..", base, "sub/");
	model_ctx_free(&m);
}

static void setup(void)
{
	char tmpl[] = "/tmp/gg-infer-map.XXXXXX";
	char cwd[4096];
	CHECK(getcwd(cwd, sizeof cwd) != NULL);
	old_cwd = xstrdup(cwd);
	CHECK(mkdtemp(tmpl) != NULL);
	base = realpath(tmpl, NULL); /* as getcwd will name it */
	sub = xasprintf("%s/sub", base);
	CHECK(mkdir(sub, 0755) == 0);
}

static void teardown(void)
{
	CHECK(chdir(old_cwd) == 0);
	CHECK(rmdir(sub) == 0);
	CHECK(rmdir(base) == 0);
	free(sub);
	free(base);
	free(old_cwd);
}

TEST_MAIN(setup, test_base_relative_paths, test_host_paths_go_below_the_root,
          test_parent_of_base_is_normalised, test_named_paths_stay_absolute, test_base_defaults,
          teardown)
