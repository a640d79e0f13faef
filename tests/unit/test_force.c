/**
 * @file test_force.c
 * force_target_parse and force_targets: what a user may name, and values
 * delivered into placeholders (with values, which answer at once).
 */
#include "backend/engine/engine.h"
#include "core/force.h"
#include "core/placeholder.h"
#include "harness.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char *make_tmpdir(void)
{
	char *d = xstrdup("/tmp/ggtest-force-XXXXXX");
	if (!mkdtemp(d))
		abort();
	return d;
}

static void test_parse(void)
{
	char *dir = make_tmpdir(), *root = NULL;
	struct store *s = NULL;
	CHECK(store_init(dir, &root) == 0 && store_open(root, &s) == 0);
	struct gg_name v, th;
	CHECK(store_put_buf(s, "hello\n", 6, 'V', &v) == 0);
	char *enc = xasprintf("ggthunk 1\nexe 4 prog\narg 4 prog\nin x %s 4 prog\nout 5 first\n"
	                      "out 6 second\ntimeout 0\n",
	                      v.s);
	struct thunk parsed;
	CHECK(thunk_parse(enc, strlen(enc), &parsed) == 0); /* a valid encoding */
	thunk_free(&parsed);
	CHECK(store_put_buf(s, enc, strlen(enc), 'T', &th) == 0);
	free(enc);
	struct force_target t;

	/* an ordinary file: nothing to force */
	char *plain = xasprintf("%s/plain.txt", dir);
	CHECK(write_file_atomic(plain, "x", 1, 0644) == 0);
	CHECK(force_target_parse(s, plain, &t) == 0 && t.plain && t.is_file);
	force_target_free(&t);

	/* a placeholder */
	char *ph = xasprintf("%s/ph", dir), *refs = xasprintf("%s#first", th.s);
	struct gg_ref r;
	CHECK(gg_ref_parse(refs, strlen(refs), &r) == 0);
	CHECK(placeholder_write(ph, &r) == 0);
	CHECK(force_target_parse(s, ph, &t) == 0 && !t.plain && t.is_file);
	CHECK(gg_name_eq(&t.ref.name, &th) && t.ref.output && !strcmp(t.ref.output, "first"));
	force_target_free(&t);

	/* a malformed placeholder is named, never taken for an ordinary file */
	char *bad = xasprintf("%s/bad", dir);
	const char *badtext = PLACEHOLDER_MAGIC "ggfs-placeholder 1 nonsense\n";
	CHECK(write_file_atomic(bad, badtext, strlen(badtext), 0755) == 0);
	CHECK_ERR(force_target_parse(s, bad, &t), bad);
	CHECK(gg_last_code() == GG_EINVALID);
	/* ... once ("gg: FILE: malformed placeholder: ...") */
	CHECK(!strstr(strstr(gg_last_error(), bad) + strlen(bad), bad));

	/* a bare thunk name is its first output; without a store it is left bare */
	CHECK(force_target_parse(s, th.s, &t) == 0 && t.ref.output &&
	      !strcmp(t.ref.output, "first"));
	force_target_free(&t);
	CHECK(force_target_parse(NULL, th.s, &t) == 0 && !t.ref.output);
	force_target_free(&t);

	/* neither a file nor a name */
	CHECK_ERR(force_target_parse(s, "no-such-file", &t),
	          "no such file, and not an object name");
	CHECK(gg_last_code() == GG_EUSAGE);
	CHECK_ERR(force_target_parse(s, "V0123", &t), "no such file");
	CHECK(gg_last_code() == GG_EUSAGE);
	/* name-like but malformed: the name's own error, a usage error too */
	char bad_ref[GG_NAME_LEN + 8];
	snprintf(bad_ref, sizeof bad_ref, "%s#", th.s);
	CHECK(force_target_parse(s, bad_ref, &t) < 0 && gg_last_code() == GG_EUSAGE);
	/* a path that cannot be looked at is said so, not taken for a name */
	char *loop = xasprintf("%s/loop", dir);
	CHECK(symlink("loop", loop) == 0);
	CHECK_ERR(force_target_parse(s, loop, &t), "Too many levels of symbolic links");
	CHECK(gg_last_code() != GG_EUSAGE);
	free(loop);

	gg_ref_free(&r);
	free(plain), free(ph), free(refs), free(bad);
	store_close(s);
	remove_tree(dir);
	free(root), free(dir);
}

static void test_force_values_into_placeholders(void)
{
	char *dir = make_tmpdir(), *root = NULL;
	struct store *s = NULL;
	CHECK(store_init(dir, &root) == 0 && store_open(root, &s) == 0);
	struct gg_name v;
	CHECK(store_put_buf(s, "forced\n", 7, 'V', &v) == 0);
	char *ph = xasprintf("%s/out.txt", dir), *missing = xasprintf("%s/missing.txt", dir);
	struct gg_ref r = {.name = v}, gone = {.name = v};
	gone.name.s[1] = gone.name.s[1] == '0' ? '1' : '0'; /* a value not in the store */
	CHECK(placeholder_write(ph, &r) == 0 && placeholder_write(missing, &gone) == 0);

	struct force_target t[2];
	CHECK(force_target_parse(s, ph, &t[0]) == 0 && force_target_parse(s, missing, &t[1]) == 0);
	struct engine *local;
	struct engine_config cfg = {.store = s};
	CHECK(engine_local_create(1, &cfg, &local) == 0);
	struct sched_opts so = {
	    .max_retries = -1, .keep_going = true, .engines = &local, .nengines = 1};
	struct force_run run;
	CHECK(force_targets(s, &so, t, 2, true, &run) == 0);
	CHECK(run.failed == 1);
	CHECK(t[0].result.status == 0 && gg_name_eq(&t[0].result.value, &v));
	struct buf b = BUF_INIT;
	CHECK(read_file(ph, &b, 100) == 0 && !strcmp(b.data, "forced\n"));
	CHECK(t[1].result.status != 0 && t[1].result.code == GG_ENOTFOUND);
	CHECK(strstr(t[1].result.error, "is not in the store") != NULL);
	struct gg_ref still;
	CHECK(placeholder_read(missing, &still) == 1); /* a failed target is left as it was */
	gg_ref_free(&still);
	force_run_end(&run);
	engine_destroy(local);
	force_target_free(&t[0]), force_target_free(&t[1]);
	buf_free(&b);
	free(ph), free(missing);
	store_close(s);
	remove_tree(dir);
	free(root), free(dir);
}

TEST_MAIN(test_parse, test_force_values_into_placeholders)
