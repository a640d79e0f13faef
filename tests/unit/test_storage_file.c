/**
 * @file test_storage_file.c
 * Specification of the storage front end (backend/storage/storage.c) through the
 * file:///DIR back-end: URI dispatch, batch has/put/get round trips,
 * sync_up uploading only what is missing, verification of downloads (a
 * corrupt or truncated remote copy is rejected, reported and removed), and the
 * AWS credentials file parser. The network back-ends have end-to-end tests
 * against real servers (tests/e2e/storage_s3.sh, storage_redis.sh).
 */
#include "backend/aws_credentials.h"
#include "backend/storage/storage.h"
#include "harness.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fixture {
	char *dir;
	struct store *a, *b; /* two local stores */
	char *remote;        /* DIR/remote */
	char *uri;
	struct storage *st;
};

static struct store *make_store(const char *dir, const char *name)
{
	char *d = xasprintf("%s/%s", dir, name), *root;
	struct store *s = NULL;
	if (store_init(d, &root) < 0 || store_open(root, &s) < 0) {
		fprintf(stderr, "cannot make a store in %s: %s\n", d, gg_last_error());
		abort();
	}
	free(root);
	free(d);
	return s;
}

static void setup(struct fixture *f)
{
	f->dir = xstrdup("/tmp/ggtest-storage-XXXXXX");
	if (!mkdtemp(f->dir))
		abort();
	f->a = make_store(f->dir, "a");
	f->b = make_store(f->dir, "b");
	f->remote = xasprintf("%s/remote", f->dir);
	f->uri = xasprintf("file://%s", f->remote);
	if (storage_open(f->uri, &f->st) < 0) {
		fprintf(stderr, "storage_open: %s\n", gg_last_error());
		abort();
	}
}

static void teardown(struct fixture *f)
{
	storage_close(f->st);
	store_close(f->a);
	store_close(f->b);
	remove_tree(f->dir);
	free(f->dir);
	free(f->remote);
	free(f->uri);
}

static char *remote_path(struct fixture *f, const struct gg_name *n)
{
	return xasprintf("%s/%.2s/%s", f->remote, n->s + 1, n->s);
}

/* Replaces a remote object's bytes (keeps the name), like a damaged disk. */
static void overwrite_remote(struct fixture *f, const struct gg_name *n, const char *data,
                             size_t len)
{
	char *p = remote_path(f, n);
	chmod(p, 0644);
	unlink(p);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && write(fd, data, len) == (ssize_t)len);
	close(fd);
	free(p);
}

/* A malformed URI, scheme or endpoint is a usage error (GG_EUSAGE: exit
 * status 2), never a failure of the store. */
#define CHECK_USAGE(call, needle)                                                                  \
	do {                                                                                       \
		CHECK_ERR(call, needle);                                                           \
		CHECK(gg_last_code() == GG_EUSAGE);                                                \
	} while (0)

static void test_open_dispatch(void)
{
	struct storage *st = NULL;
	CHECK_USAGE(storage_open("ftp://x/y", &st), "unknown storage scheme");
	CHECK_USAGE(storage_open("no-scheme", &st), "not a storage URI");
	CHECK_USAGE(storage_open("file://relative/dir", &st), "absolute path");
	CHECK_USAGE(storage_open("redis://", &st), "no host");
	CHECK_USAGE(storage_open("redis://h:99999", &st), "bad port");
	CHECK_USAGE(storage_open("redis://h/abc", &st), "bad database number");
	/* a password in the URI never shows up in an error */
	CHECK(storage_open("redis://:s3cret@h:0", &st) < 0 && !strstr(gg_last_error(), "s3cret"));
	CHECK_USAGE(storage_open("s3://", &st), "no bucket");
	CHECK_USAGE(storage_open("s3://bad^bucket", &st), "bad character");
	CHECK_USAGE(storage_open("s3://bkt/a//b", &st), "empty path segment");
	CHECK_USAGE(storage_open("s3://bkt/a/../b", &st), "'.' or '..'");
	setenv("AWS_REGION", "us east", 1);
	CHECK_USAGE(storage_open("s3://bkt/pre", &st), "bad region");
	unsetenv("AWS_REGION");
	/* an endpoint's query or fragment would take every request's path */
	setenv("GG_S3_ENDPOINT", "http://127.0.0.1:9#frag", 1);
	CHECK_USAGE(storage_open("s3://bkt/pre", &st), "no query or fragment");
	setenv("GG_S3_ENDPOINT", "http://127.0.0.1:9?x=1", 1);
	CHECK_USAGE(storage_open("s3://bkt/pre", &st), "no query or fragment");
	setenv("GG_S3_ENDPOINT", "http://127.0.0.1:9/a b", 1);
	CHECK_USAGE(storage_open("s3://bkt/pre", &st), "a bad character in its path: ' '");
	setenv("GG_S3_ENDPOINT", "http://h st:9", 1);
	CHECK_USAGE(storage_open("s3://bkt/pre", &st), "a bad character in the host");
	setenv("GG_S3_ENDPOINT", "ftp://127.0.0.1:9", 1);
	CHECK_USAGE(storage_open("s3://bkt/pre", &st), "must start with http:// or https://");
	setenv("GG_S3_ENDPOINT", "http://user@127.0.0.1:9", 1);
	CHECK_USAGE(storage_open("s3://bkt/pre", &st), "must not carry credentials");
	unsetenv("GG_S3_ENDPOINT");
}

static void test_round_trip(void)
{
	struct fixture f;
	setup(&f);
	CHECK_STR(f.st->uri, f.uri);
	enum { N = 20 };
	struct gg_name names[N];
	char buf[300000];
	for (int i = 0; i < N; i++) {
		size_t len =
		    i == 0 ? 0 : (size_t)(i * 13007) % sizeof buf; /* includes an empty object */
		for (size_t k = 0; k < len; k++)
			buf[k] = (char)(k * 31 + (size_t)i);
		CHECK(store_put_buf(f.a, buf, len, 0, &names[i]) == 0);
	}
	bool present[N], ok[N];
	CHECK(f.st->ops->has(f.st, names, N, present) == 0);
	int n_present = 0;
	for (int i = 0; i < N; i++)
		n_present += present[i];
	CHECK(n_present == 0);

	CHECK(f.st->ops->put(f.st, f.a, names, N) == 0);
	CHECK(f.st->ops->has(f.st, names, N, present) == 0);
	for (int i = 0; i < N; i++)
		CHECK(present[i]);

	CHECK(f.st->ops->get(f.st, f.b, names, N, ok) == 0);
	for (int i = 0; i < N; i++) {
		CHECK(ok[i]);
		struct buf x = BUF_INIT, y = BUF_INIT;
		CHECK(store_read(f.a, &names[i], &x, 1 << 20) == 0);
		CHECK(store_read(f.b, &names[i], &y, 1 << 20) == 0);
		CHECK(x.len == y.len && (x.len == 0 || !memcmp(x.data, y.data, x.len)));
		buf_free(&x);
		buf_free(&y);
	}
	/* remote objects are whole and read-only, and no temp file is left */
	char *p = remote_path(&f, &names[5]);
	struct stat sb;
	CHECK(stat(p, &sb) == 0 && (sb.st_mode & 0777) == 0444 &&
	      (uint64_t)sb.st_size == gg_name_size(&names[5]));
	free(p);
	teardown(&f);
}

static void test_get_absent(void)
{
	struct fixture f;
	setup(&f);
	struct gg_name n[2];
	store_put_buf(f.a, "here", 4, 0, &n[0]);
	gg_name_of_buf("never uploaded", 14, 0, &n[1]);
	CHECK(f.st->ops->put(f.st, f.a, n, 1) == 0);
	bool ok[2] = {false, true};
	/* absent is not an error: ok[] says so */
	CHECK(f.st->ops->get(f.st, f.b, n, 2, ok) == 0);
	CHECK(ok[0] && !ok[1]);
	CHECK(store_has(f.b, &n[1]) == 0);
	teardown(&f);
}

/* A FIFO (or anything but a regular file) where a value should be is an
 * error naming it, at once: never a fetch that waits for a writer. */
static void test_fifo_refused(void)
{
	struct fixture f;
	setup(&f);
	struct gg_name n;
	store_put_buf(f.a, "fifo", 4, 0, &n);
	CHECK(f.st->ops->put(f.st, f.a, &n, 1) == 0);
	char *p = remote_path(&f, &n);
	chmod(p, 0644);
	unlink(p);
	CHECK(mkfifo(p, 0644) == 0);
	bool ok = false;
	CHECK_ERR(f.st->ops->get(f.st, f.b, &n, 1, &ok), "not a regular file");
	CHECK(gg_last_code() == GG_EREMOTE); /* the store failed: worth another try */
	CHECK(store_has(f.b, &n) == 0);
	free(p);
	teardown(&f);
}

/* A transfer that fails on the local side (ENOENT) is GG_EREMOTE, as on
 * S3 and Redis: never GG_ENOTFOUND, which an engine takes for "gone for
 * good" (not retried) and the store for "the remote store lacks it". */
static void test_put_missing_local(void)
{
	struct fixture f;
	setup(&f);
	struct gg_name n;
	gg_name_of_buf("not in the local store", 22, 0, &n);
	CHECK_ERR(f.st->ops->put(f.st, f.a, &n, 1), n.s);
	CHECK(gg_last_code() == GG_EREMOTE);
	/* and in a batch, after one that went through */
	struct gg_name two[2];
	store_put_buf(f.a, "here", 4, 0, &two[0]);
	two[1] = n;
	CHECK_ERR(f.st->ops->put(f.st, f.a, two, 2), n.s);
	CHECK(gg_last_code() == GG_EREMOTE);
	/* a download whose temporary file cannot be made here (the local
	 * store's tmp gone: ENOENT) likewise */
	CHECK(f.st->ops->put(f.st, f.a, two, 1) == 0);
	CHECK(remove_tree(f.b->tmp) == 0);
	bool ok = true;
	CHECK(f.st->ops->get(f.st, f.b, two, 1, &ok) < 0 && !ok);
	CHECK(gg_last_code() == GG_EREMOTE);
	teardown(&f);
}

static void test_corrupt_rejected(void)
{
	struct fixture f;
	setup(&f);
	struct gg_name n[3];
	store_put_buf(f.a, "the right bytes", 15, 0, &n[0]);
	store_put_buf(f.a, "fine", 4, 0, &n[1]);
	store_put_buf(f.a, "will be cut short", 17, 0, &n[2]);
	CHECK(f.st->ops->put(f.st, f.a, n, 3) == 0);
	overwrite_remote(&f, &n[0], "the wrong bytes", 15); /* same size, other content */
	overwrite_remote(&f, &n[2], "will be", 7);          /* truncated */
	bool ok[3];
	CHECK_ERR(f.st->ops->get(f.st, f.b, n, 3, ok), "corrupt");
	CHECK(strstr(gg_last_error(), n[0].s) != NULL);
	CHECK(strstr(gg_last_error(), f.uri) != NULL);
	CHECK(strstr(gg_last_error(), "1 more") != NULL);
	CHECK(!ok[0] && ok[1] && !ok[2]);
	/* nothing unverified entered the local store */
	CHECK(store_has(f.b, &n[0]) == 0 && store_has(f.b, &n[2]) == 0);
	struct buf x = BUF_INIT;
	CHECK(store_read(f.b, &n[1], &x, 100) == 0);
	buf_free(&x);

	/* the bad remote copy was removed, so has() says absent and sync_up repairs it */
	bool present[3];
	CHECK(f.st->ops->has(f.st, n, 3, present) == 0);
	CHECK(!present[0] && present[1]);
	CHECK(storage_sync_up(f.st, f.a, n, 3) == 0);
	CHECK(f.st->ops->get(f.st, f.b, n, 3, ok) == 0);
	CHECK(ok[0] && ok[1] && ok[2]);
	teardown(&f);
}

static void test_longer_remote_rejected(void)
{
	struct fixture f;
	setup(&f);
	struct gg_name n;
	store_put_buf(f.a, "short", 5, 0, &n);
	CHECK(f.st->ops->put(f.st, f.a, &n, 1) == 0);
	overwrite_remote(&f, &n, "short and then some", 19);
	bool present, ok;
	/* a copy of the wrong size counts as absent */
	CHECK(f.st->ops->has(f.st, &n, 1, &present) == 0 && !present);
	CHECK_ERR(f.st->ops->get(f.st, f.b, &n, 1, &ok), "longer than");
	CHECK(!ok && store_has(f.b, &n) == 0);
	teardown(&f);
}

static void test_sync_up(void)
{
	struct fixture f;
	setup(&f);
	struct gg_name n[4];
	store_put_buf(f.a, "one", 3, 0, &n[0]);
	store_put_buf(f.a, "two", 3, 0, &n[1]);
	store_put_buf(f.a, "three", 5, 0, &n[2]);
	n[3] = n[1]; /* a duplicate is uploaded once */
	CHECK(f.st->ops->put(f.st, f.a, n, 1) == 0);
	char *p0 = remote_path(&f, &n[0]);
	struct stat before, after;
	CHECK(stat(p0, &before) == 0);
	CHECK(storage_sync_up(f.st, f.a, n, 4) == 0);
	CHECK(stat(p0, &after) == 0 && before.st_ino == after.st_ino); /* not rewritten */
	bool present[4];
	CHECK(f.st->ops->has(f.st, n, 4, present) == 0);
	CHECK(present[0] && present[1] && present[2] && present[3]);
	/* an emptied remote store is refilled: nothing local claims it is there */
	CHECK(remove_tree(f.remote) == 0);
	CHECK(f.st->ops->has(f.st, n, 4, present) == 0 && !present[0] && !present[2]);
	CHECK(storage_sync_up(f.st, f.a, n, 4) == 0);
	CHECK(f.st->ops->has(f.st, n, 4, present) == 0 && present[0] && present[2]);
	free(p0);
	teardown(&f);
}

static void test_aws_credentials_file(void)
{
	const char *text = "# comment\n"
	                   "[default]\n"
	                   "aws_access_key_id = AKIDDEFAULT\n"
	                   "aws_secret_access_key=secretdefault\n"
	                   "\n"
	                   "[profile ci]\r\n"
	                   "  aws_access_key_id = AKIDCI  \r\n"
	                   "aws_secret_access_key = secret=with=equals\r\n"
	                   "aws_session_token = tok\r\n"
	                   "[broken]\n"
	                   "aws_access_key_id = only\n";
	struct aws_credentials c = {0};
	CHECK(aws_credentials_parse(text, "default", &c) == 0);
	CHECK_STR(c.access_key, "AKIDDEFAULT");
	CHECK_STR(c.secret_key, "secretdefault");
	CHECK(c.session_token == NULL);
	aws_credentials_free(&c);
	CHECK(aws_credentials_parse(text, "ci", &c) == 0);
	CHECK_STR(c.access_key, "AKIDCI");
	CHECK_STR(c.secret_key, "secret=with=equals");
	CHECK_STR(c.session_token, "tok");
	aws_credentials_free(&c);
	CHECK_ERR(aws_credentials_parse(text, "broken", &c), "lacks");
	CHECK(!strstr(gg_last_error(), "only"));
	aws_credentials_free(&c);
	CHECK_ERR(aws_credentials_parse(text, "nope", &c), "no profile [nope]");
	aws_credentials_free(&c);
}

TEST_MAIN(test_open_dispatch, test_round_trip, test_get_absent, test_fifo_refused,
          test_put_missing_local, test_corrupt_rejected, test_longer_remote_rejected, test_sync_up,
          test_aws_credentials_file)
