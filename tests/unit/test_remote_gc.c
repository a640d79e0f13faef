/**
 * @file test_remote_gc.c
 * Specification of remote garbage collection (backend/storage/remote_gc.c),
 * on a real file:/// store in a temporary directory: an object is deleted
 * only when no cache entry names it (as an output or as its stderr value)
 * and it is at least the grace period old; entries are roots and are kept;
 * --dry-run reports and deletes nothing; the stats count what was listed,
 * kept and deleted; an entry published while the store is listed still
 * protects what it names (the second listing); an entry that cannot be
 * read or understood, or a listing that cannot be finished, stops the
 * collection before anything is deleted; deletions go in batches of at
 * most 256 and a failed batch is reported; a store that cannot be listed is
 * refused, naming it. A thin wrapper around the file back-end injects the
 * races and failures a network store could show.
 */
#include "backend/storage/remote_cache.h"
#include "backend/storage/remote_gc.h"
#include "harness.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HOUR 3600

struct fixture {
	char *dir;
	struct store *local; /* where objects are made before upload */
	char *remote;
	struct storage *st;
};

static void setup(struct fixture *f)
{
	f->dir = xstrdup("/tmp/ggtest-remote-gc-XXXXXX");
	if (!mkdtemp(f->dir))
		abort();
	char *d = xasprintf("%s/local", f->dir), *root;
	if (store_init(d, &root) < 0 || store_open(root, &f->local) < 0) {
		fprintf(stderr, "cannot make a store in %s: %s\n", d, gg_last_error());
		abort();
	}
	free(root);
	free(d);
	f->remote = xasprintf("%s/remote", f->dir);
	char *uri = xasprintf("file://%s", f->remote);
	if (storage_open(uri, &f->st) < 0) {
		fprintf(stderr, "storage_open: %s\n", gg_last_error());
		abort();
	}
	free(uri);
}

static void teardown(struct fixture *f)
{
	storage_close(f->st);
	store_close(f->local);
	remove_tree(f->dir);
	free(f->dir);
	free(f->remote);
}

static void set_age(const char *path, int64_t age)
{
	struct timespec ts[2];
	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= age;
	ts[0].tv_nsec = 0;
	ts[1] = ts[0];
	if (utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW) < 0) {
		fprintf(stderr, "utimensat %s: %s\n", path, strerror(errno));
		abort();
	}
}

/* Uploads an object with that content, last written `age` seconds ago. */
static struct gg_name put_obj(struct fixture *f, const char *text, int64_t age)
{
	struct gg_name n;
	if (store_put_buf(f->local, text, strlen(text), GG_VALUE, &n) < 0 ||
	    f->st->ops->put(f->st, f->local, &n, 1) < 0)
		abort();
	char *p = xasprintf("%s/%.2s/%s", f->remote, n.s + 1, n.s);
	set_age(p, age);
	free(p);
	return n;
}

/* Publishes, `age` seconds ago, an entry for the thunk `tag` naming outputs
 * (and a stderr value when err is not NULL). */
static struct gg_name put_entry(struct fixture *f, const char *tag, const struct gg_name *outs,
                                size_t n, const struct gg_name *err, int64_t age)
{
	struct gg_name t;
	char *text = xasprintf("ggthunk\x01 %s", tag);
	gg_name_of_buf(text, strlen(text), GG_THUNK, &t);
	free(text);
	struct memo m = {0};
	for (size_t i = 0; i < n; i++) {
		char path[32];
		snprintf(path, sizeof path, "out%zu", i);
		memo_add(&m, path, &outs[i], false);
	}
	if (err) {
		m.stderr_value = *err;
		m.has_stderr = true;
	}
	struct buf b = BUF_INIT;
	remote_cache_encode(&t, &m, NULL, 0, &b);
	if (f->st->ops->entry_put(f->st, &t, b.data, b.len) < 0)
		abort();
	buf_free(&b);
	memo_free(&m);
	char *p = xasprintf("%s/memo/%s", f->remote, t.s);
	set_age(p, age);
	free(p);
	return t;
}

static bool present(struct fixture *f, const struct gg_name *n)
{
	bool p = false;
	if (f->st->ops->has(f->st, n, 1, &p) < 0)
		abort();
	return p;
}

static bool entry_present(struct fixture *f, const struct gg_name *t)
{
	struct buf b = BUF_INIT;
	int r = f->st->ops->entry_get(f->st, t, &b);
	buf_free(&b);
	return r == STORAGE_ENTRY_FOUND;
}

/* What on_delete was told. */
struct deleted {
	struct gg_name v[512];
	size_t n;
	bool entry_seen;
};

static void on_delete(void *arg, const struct storage_item *it)
{
	struct deleted *d = arg;
	if (it->entry)
		d->entry_seen = true;
	if (d->n < sizeof d->v / sizeof d->v[0])
		d->v[d->n++] = it->name;
}

static bool was_deleted(const struct deleted *d, const struct gg_name *n)
{
	for (size_t i = 0; i < d->n; i++)
		if (gg_name_eq(&d->v[i], n))
			return true;
	return false;
}

/* The wrapper: the file back-end, with a hook after each listing, counts,
 * and failures on demand. */
struct wrap {
	struct storage base;
	struct storage_ops ops;
	struct fixture *f;
	int nlist, nentry_get, nremove;
	size_t max_batch;
	void (*after_list)(struct wrap *w); /* after each listing */
	int fail_list;                      /* this listing (1, 2) fails */
	int entry_get_answer;               /* when nonzero: answered instead (-1, NONE) */
	int fail_remove;                    /* this remove call (1, 2, ...) fails */
	struct gg_name published;           /* by after_list */
};

static int wrap_list(struct storage *st, int (*fn)(void *arg, const struct storage_item *it),
                     void *arg)
{
	struct wrap *w = (struct wrap *)st;
	int nth = ++w->nlist;
	int r = w->f->st->ops->list(w->f->st, fn, arg);
	if (r == 0 && nth == w->fail_list)
		r = gg_error("%s: the listing broke off (injected)", st->uri);
	if (w->after_list)
		w->after_list(w);
	return r;
}

#define ANSWER_NONE 100 /* entry_get_answer for STORAGE_ENTRY_NONE */

static int wrap_entry_get(struct storage *st, const struct gg_name *thunk, struct buf *out)
{
	struct wrap *w = (struct wrap *)st;
	w->nentry_get++;
	if (w->entry_get_answer == ANSWER_NONE)
		return STORAGE_ENTRY_NONE;
	if (w->entry_get_answer < 0)
		return gg_error("connection refused (injected)");
	return w->f->st->ops->entry_get(w->f->st, thunk, out);
}

static int wrap_remove(struct storage *st, const struct storage_item *items, size_t n)
{
	struct wrap *w = (struct wrap *)st;
	if (n > w->max_batch)
		w->max_batch = n;
	if (++w->nremove == w->fail_remove)
		return gg_error("%s: cannot delete (injected)", st->uri);
	return w->f->st->ops->remove(w->f->st, items, n);
}

static void wrap_init(struct wrap *w, struct fixture *f)
{
	memset(w, 0, sizeof *w);
	w->f = f;
	w->ops = *f->st->ops;
	w->ops.list = wrap_list;
	w->ops.entry_get = wrap_entry_get;
	w->ops.remove = wrap_remove;
	w->base.ops = &w->ops;
	w->base.uri = f->st->uri;
}

static const struct remote_gc_opts plain_opts = {.grace = HOUR};

static void test_unnamed_old_objects_deleted_others_kept(void)
{
	struct fixture f;
	setup(&f);
	struct gg_name out = put_obj(&f, "an output", 10 * HOUR);
	struct gg_name err = put_obj(&f, "its stderr", 10 * HOUR);
	struct gg_name young = put_obj(&f, "uploaded a moment ago", 60);
	struct gg_name old1 = put_obj(&f, "old and unnamed", 10 * HOUR);
	struct gg_name old2 = put_obj(&f, "old, unnamed, longer", 2 * HOUR);
	struct gg_name t = put_entry(&f, "a", &out, 1, &err, 10 * HOUR);
	struct deleted d = {0};
	struct remote_gc_opts o = {.grace = HOUR, .on_delete = on_delete, .arg = &d};
	struct remote_gc_stats s;
	CHECK(remote_gc(f.st, &o, &s) == 0);
	CHECK(s.objects == 5 && s.entries == 1);
	CHECK(s.named == 2 && s.young == 1);
	CHECK(s.removed == 2);
	CHECK(s.removed_bytes == gg_name_size(&old1) + gg_name_size(&old2));
	/* what an entry names is kept however old (its stderr value too) */
	CHECK(present(&f, &out) && present(&f, &err));
	CHECK(present(&f, &young));
	CHECK(!present(&f, &old1) && !present(&f, &old2));
	/* the entry itself is a root, kept however old */
	CHECK(entry_present(&f, &t));
	CHECK(d.n == 2 && was_deleted(&d, &old1) && was_deleted(&d, &old2) && !d.entry_seen);

	/* a second run finds nothing more to do */
	CHECK(remote_gc(f.st, &plain_opts, &s) == 0);
	CHECK(s.objects == 3 && s.entries == 1 && s.removed == 0 && s.removed_bytes == 0);
	teardown(&f);
}

static void test_dry_run_deletes_nothing(void)
{
	struct fixture f;
	setup(&f);
	struct gg_name out = put_obj(&f, "an output", 10 * HOUR);
	struct gg_name old = put_obj(&f, "old and unnamed", 10 * HOUR);
	put_entry(&f, "a", &out, 1, NULL, 0);
	struct deleted d = {0};
	struct remote_gc_opts o = {
	    .grace = HOUR, .dry_run = true, .on_delete = on_delete, .arg = &d};
	struct remote_gc_stats s;
	CHECK(remote_gc(f.st, &o, &s) == 0);
	/* reported as it would be ... */
	CHECK(s.removed == 1 && s.removed_bytes == gg_name_size(&old));
	CHECK(d.n == 1 && was_deleted(&d, &old));
	/* ... and still there */
	CHECK(present(&f, &old) && present(&f, &out));
	teardown(&f);
}

/* "deleted only when its age is at least the grace period" (gg-gc(1)) */
static void test_grace_period(void)
{
	struct fixture f;
	setup(&f);
	struct gg_name at = put_obj(&f, "exactly as old as the grace", 2 * HOUR);
	struct gg_name within = put_obj(&f, "a little younger", 2 * HOUR - 120);
	struct remote_gc_stats s;
	struct remote_gc_opts o = {.grace = 2 * HOUR};
	CHECK(remote_gc(f.st, &o, &s) == 0);
	CHECK(s.young == 1 && s.removed == 1);
	CHECK(!present(&f, &at) && present(&f, &within));
	/* no grace: whatever no entry names goes, however young */
	struct gg_name fresh = put_obj(&f, "just now", 0);
	o.grace = 0;
	CHECK(remote_gc(f.st, &o, &s) == 0);
	CHECK(s.young == 0 && s.removed == 2);
	CHECK(!present(&f, &within) && !present(&f, &fresh));
	teardown(&f);
}

/* An entry with several outputs keeps every one; an empty store is no error. */
static void test_every_output_kept(void)
{
	struct fixture f;
	setup(&f);
	struct remote_gc_stats s;
	CHECK(remote_gc(f.st, &plain_opts, &s) == 0);
	CHECK(s.objects == 0 && s.entries == 0 && s.removed == 0);
	struct gg_name outs[3] = {put_obj(&f, "first", 5 * HOUR), put_obj(&f, "second", 5 * HOUR),
	                          put_obj(&f, "third", 5 * HOUR)};
	struct gg_name other = put_obj(&f, "fourth", 5 * HOUR);
	put_entry(&f, "x", outs, 2, NULL, 5 * HOUR);
	put_entry(&f, "y", outs + 2, 1, NULL, 5 * HOUR);
	CHECK(remote_gc(f.st, &plain_opts, &s) == 0);
	CHECK(s.entries == 2 && s.named == 3 && s.removed == 1);
	CHECK(present(&f, &outs[0]) && present(&f, &outs[1]) && present(&f, &outs[2]));
	CHECK(!present(&f, &other));
	teardown(&f);
}

/* Publishes, once, an entry naming the old object `published` names. */
static void publish_after_first_listing(struct wrap *w)
{
	if (w->nlist == 1)
		put_entry(w->f, "late", &w->published, 1, NULL, 0);
}

static void test_entry_published_during_listing_protects(void)
{
	struct fixture f;
	setup(&f);
	struct gg_name kept = put_obj(&f, "named from the start", 10 * HOUR);
	struct gg_name late = put_obj(&f, "named by a late entry", 10 * HOUR);
	struct gg_name old = put_obj(&f, "named by nothing", 10 * HOUR);
	put_entry(&f, "early", &kept, 1, NULL, 10 * HOUR);
	put_entry(&f, "early too", &kept, 1, NULL, 10 * HOUR);
	struct wrap w;
	wrap_init(&w, &f);
	w.published = late;
	w.after_list = publish_after_first_listing;
	struct remote_gc_stats s;
	CHECK(remote_gc(&w.base, &plain_opts, &s) == 0);
	CHECK(w.nlist == 2);
	CHECK(s.entries == 3 && s.named == 2 && s.removed == 1);
	CHECK(present(&f, &late) && present(&f, &kept));
	CHECK(!present(&f, &old));
	/* each entry read once: the second listing reads only the new one */
	CHECK(w.nentry_get == 3);
	teardown(&f);
}

/* Writes raw bytes as the entry of the thunk `tag`. */
static struct gg_name put_raw_entry(struct fixture *f, const char *tag, const void *data,
                                    size_t len)
{
	struct gg_name t;
	char *text = xasprintf("ggthunk\x01 %s", tag);
	gg_name_of_buf(text, strlen(text), GG_THUNK, &t);
	free(text);
	if (f->st->ops->entry_put(f->st, &t, data, len) < 0)
		abort();
	return t;
}

static void test_damaged_entry_stops_collection(void)
{
	struct fixture f;
	setup(&f);
	struct gg_name out = put_obj(&f, "an output", 10 * HOUR);
	struct gg_name old = put_obj(&f, "old and unnamed", 10 * HOUR);
	put_entry(&f, "good", &out, 1, NULL, HOUR);
	struct gg_name bad = put_raw_entry(&f, "damaged", "ggcache 9 what?\n", 16);
	struct deleted d = {0};
	struct remote_gc_opts o = {.grace = HOUR, .on_delete = on_delete, .arg = &d};
	struct remote_gc_stats s;
	CHECK_ERR(remote_gc(f.st, &o, &s), "cannot be understood");
	CHECK(gg_last_code() == GG_ECORRUPT);
	CHECK(strstr(gg_last_error(), bad.s) && strstr(gg_last_error(), "nothing is deleted"));
	CHECK(strstr(gg_last_error(), f.st->uri) != NULL);
	CHECK(s.removed == 0 && d.n == 0);
	CHECK(present(&f, &old) && present(&f, &out));

	/* a well-formed entry of another thunk stored under this one's key */
	struct gg_name other;
	gg_name_of_buf("ggthunk\x01 other", 15, GG_THUNK, &other);
	struct memo m = {0};
	memo_add(&m, "o", &out, false);
	struct buf b = BUF_INIT;
	remote_cache_encode(&other, &m, NULL, 0, &b);
	memo_free(&m);
	put_raw_entry(&f, "damaged", b.data, b.len);
	buf_free(&b);
	CHECK_ERR(remote_gc(f.st, &o, &s), "cannot be understood");
	CHECK(present(&f, &old));

	/* what cannot be an entry at all (larger than STORAGE_ENTRY_MAX) */
	size_t big = STORAGE_ENTRY_MAX + 1;
	char *junk = xcalloc(big, 1);
	put_raw_entry(&f, "damaged", junk, big);
	free(junk);
	CHECK_ERR(remote_gc(f.st, &o, &s), "cannot be understood");
	CHECK(gg_last_code() == GG_ECORRUPT);
	CHECK(present(&f, &old) && d.n == 0);

	/* once it is removed, the collection goes on */
	char *p = xasprintf("%s/memo/%s", f.remote, bad.s);
	CHECK(unlink(p) == 0);
	free(p);
	CHECK(remote_gc(f.st, &o, &s) == 0 && s.removed == 1);
	CHECK(!present(&f, &old) && present(&f, &out));
	teardown(&f);
}

static void test_unreadable_entry_stops_collection(void)
{
	struct fixture f;
	setup(&f);
	struct gg_name out = put_obj(&f, "an output", 10 * HOUR);
	struct gg_name old = put_obj(&f, "old and unnamed", 10 * HOUR);
	struct gg_name t = put_entry(&f, "a", &out, 1, NULL, HOUR);
	struct wrap w;
	wrap_init(&w, &f);
	w.entry_get_answer = -1;
	struct remote_gc_stats s;
	CHECK_ERR(remote_gc(&w.base, &plain_opts, &s), "cannot read the cache entry");
	CHECK(strstr(gg_last_error(), t.s) && strstr(gg_last_error(), "connection refused"));
	CHECK(w.nremove == 0 && s.removed == 0);
	CHECK(present(&f, &old) && present(&f, &out));
	teardown(&f);
}

/* An entry removed between the listing and its reading names nothing. */
static void test_vanished_entry_names_nothing(void)
{
	struct fixture f;
	setup(&f);
	struct gg_name out = put_obj(&f, "an output", 10 * HOUR);
	put_entry(&f, "a", &out, 1, NULL, HOUR);
	struct wrap w;
	wrap_init(&w, &f);
	w.entry_get_answer = ANSWER_NONE;
	struct remote_gc_stats s;
	CHECK(remote_gc(&w.base, &plain_opts, &s) == 0);
	CHECK(s.entries == 1 && s.named == 0 && s.removed == 1);
	CHECK(!present(&f, &out));
	teardown(&f);
}

static void test_unfinished_listing_stops_collection(void)
{
	struct fixture f;
	setup(&f);
	struct gg_name old = put_obj(&f, "old and unnamed", 10 * HOUR);
	for (int nth = 1; nth <= 2; nth++) {
		struct wrap w;
		wrap_init(&w, &f);
		w.fail_list = nth;
		struct remote_gc_stats s;
		CHECK_ERR(remote_gc(&w.base, &plain_opts, &s), "broke off");
		CHECK(w.nremove == 0 && s.removed == 0);
		CHECK(present(&f, &old));
	}
	teardown(&f);
}

static void test_store_that_cannot_be_listed_refused(void)
{
	struct fixture f;
	setup(&f);
	struct gg_name old = put_obj(&f, "old and unnamed", 10 * HOUR);
	struct wrap w;
	wrap_init(&w, &f);
	w.ops.list = NULL;
	struct remote_gc_stats s;
	CHECK_ERR(remote_gc(&w.base, &plain_opts, &s), "cannot be listed");
	CHECK(gg_last_code() == GG_EUSAGE && strstr(gg_last_error(), f.st->uri));
	w.ops.list = wrap_list;
	w.ops.remove = NULL;
	CHECK_ERR(remote_gc(&w.base, &plain_opts, &s), "cannot be listed");
	CHECK(gg_last_code() == GG_EUSAGE);
	CHECK(present(&f, &old));
	teardown(&f);
}

enum { MANY = 300 };

static void make_many(struct fixture *f, struct gg_name *n)
{
	for (int i = 0; i < MANY; i++) {
		char text[32];
		snprintf(text, sizeof text, "object %d", i);
		n[i] = put_obj(f, text, 10 * HOUR);
	}
}

static void test_deleted_in_batches(void)
{
	struct fixture f;
	setup(&f);
	struct gg_name n[MANY];
	make_many(&f, n);
	struct wrap w;
	wrap_init(&w, &f);
	struct deleted d = {0};
	struct remote_gc_opts o = {.grace = HOUR, .on_delete = on_delete, .arg = &d};
	struct remote_gc_stats s;
	CHECK(remote_gc(&w.base, &o, &s) == 0);
	CHECK(s.objects == MANY && s.removed == MANY && d.n == MANY);
	CHECK(w.nremove == 2 && w.max_batch == 256);
	size_t left = 0;
	for (int i = 0; i < MANY; i++)
		left += present(&f, &n[i]);
	CHECK(left == 0);
	teardown(&f);
}

/* A batch that cannot be deleted fails the collection; what was deleted
 * before it is counted, what was not is not. */
static void test_failed_batch_reported(void)
{
	struct fixture f;
	setup(&f);
	struct gg_name n[MANY];
	make_many(&f, n);
	struct wrap w;
	wrap_init(&w, &f);
	w.fail_remove = 2;
	struct deleted d = {0};
	struct remote_gc_opts o = {.grace = HOUR, .on_delete = on_delete, .arg = &d};
	struct remote_gc_stats s;
	CHECK_ERR(remote_gc(&w.base, &o, &s), "cannot delete (injected)");
	CHECK(s.removed == 256 && d.n == 256);
	size_t left = 0;
	for (int i = 0; i < MANY; i++)
		left += present(&f, &n[i]);
	CHECK(left == MANY - 256);
	/* the first batch failing: nothing deleted, nothing reported */
	wrap_init(&w, &f);
	w.fail_remove = 1;
	d.n = 0;
	CHECK_ERR(remote_gc(&w.base, &o, &s), "cannot delete (injected)");
	CHECK(s.removed == 0 && s.removed_bytes == 0 && d.n == 0);
	teardown(&f);
}

TEST_MAIN(test_unnamed_old_objects_deleted_others_kept, test_dry_run_deletes_nothing,
          test_grace_period, test_every_output_kept, test_entry_published_during_listing_protects,
          test_damaged_entry_stops_collection, test_unreadable_entry_stops_collection,
          test_vanished_entry_names_nothing, test_unfinished_listing_stops_collection,
          test_store_that_cannot_be_listed_refused, test_deleted_in_batches,
          test_failed_batch_reported)
