/**
 * @file test_placeholder.c
 * Specification of placeholders (core/placeholder): the two-line format,
 * writing (atomic, mode 0755) and the three-way classification: a
 * placeholder (1), not a placeholder (0), or malformed (-1 with a reason),
 * and replacing one by its value (the mode given; owner and times kept on
 * request; nothing left behind on failure).
 */
#include "core/placeholder.h"
#include "core/store.h"
#include "harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define TNAME "T" HEX64 "0000000001a0"
#define VNAME "V" HEX64 "000000000010"
#define MAGIC "#!/usr/bin/env gg-run\n"
#define TAG   "ggfs-placeholder 1 "

static char *make_tmpdir(void)
{
	char *d = xstrdup("/tmp/ggtest-placeholder-XXXXXX");
	if (!mkdtemp(d))
		abort();
	return d;
}

static struct gg_ref ref_of(const char *s)
{
	struct gg_ref r;
	if (gg_ref_parse(s, strlen(s), &r) < 0)
		abort();
	return r;
}

static int parse_text(const char *s, struct gg_ref *ref)
{
	ref->output = NULL;
	int r = placeholder_parse(s, strlen(s), ref);
	if (r != 1)
		CHECK(ref->output == NULL); /* nothing to free unless it is a placeholder */
	return r;
}

static void test_format(void)
{
	struct gg_ref r = ref_of(TNAME "#out/a.txt");
	struct buf b = BUF_INIT;
	placeholder_format(&r, &b);
	CHECK_STR(b.data, "#!/usr/bin/env gg-run\nggfs-placeholder 1 " TNAME "#out/a.txt\n");
	CHECK(!strncmp(b.data, PLACEHOLDER_MAGIC, strlen(PLACEHOLDER_MAGIC)));
	gg_ref_free(&r);

	buf_reset(&b);
	r = ref_of(VNAME);
	placeholder_format(&r, &b);
	CHECK_STR(b.data, MAGIC TAG VNAME "\n");
	buf_free(&b);
}

static void test_write_read_round_trip(void)
{
	char *dir = make_tmpdir();
	char *path = xasprintf("%s/out.txt", dir);
	struct gg_ref r = ref_of(TNAME "#out.txt"), got = {{{0}}, NULL};

	CHECK(placeholder_write(path, &r) == 0);
	struct stat st;
	CHECK(stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0755);
	CHECK(placeholder_read(path, &got) == 1);
	CHECK(gg_ref_eq(&got, &r));
	CHECK_STR(got.output, "out.txt");
	gg_ref_free(&got);

	/* Same through an fd. */
	int fd = open(path, O_RDONLY);
	CHECK(placeholder_read_fd(fd, &got) == 1 && gg_ref_eq(&got, &r));
	gg_ref_free(&got);
	close(fd);

	/* Rewriting replaces it atomically (no temp file left behind). */
	struct gg_ref v = ref_of(VNAME);
	CHECK(placeholder_write(path, &v) == 0);
	CHECK(placeholder_read(path, &got) == 1);
	CHECK(gg_ref_eq(&got, &v) && got.output == NULL);
	gg_ref_free(&got);
	DIR *d = opendir(dir);
	int entries = 0;
	struct dirent *e;
	while (d && (e = readdir(d)))
		entries += e->d_name[0] != '.';
	if (d)
		closedir(d);
	CHECK(entries == 1);

	/* Missing directory. */
	char *bad = xasprintf("%s/missing/x", dir);
	CHECK(placeholder_write(bad, &r) < 0);
	CHECK_ERR(placeholder_read(bad, &got), "cannot open");
	free(bad);

	gg_ref_free(&r);
	free(path);
	remove_tree(dir);
	free(dir);
}

static void test_not_a_placeholder(void)
{
	struct gg_ref r;
	CHECK(parse_text("", &r) == 0);
	CHECK(parse_text("hello world\n", &r) == 0);
	CHECK(parse_text("#!/bin/sh\necho hi\n", &r) == 0);
	CHECK(parse_text("#!/usr/bin/env gg-run", &r) == 0); /* the magic line is incomplete */
	CHECK(parse_text("#!/usr/bin/env gg-run2\n", &r) == 0);
	CHECK(parse_text(" #!/usr/bin/env gg-run\n" TAG VNAME "\n", &r) == 0);
	CHECK(parse_text("\x7f"
	                 "ELF\x02\x01\x01",
	                 &r) == 0);

	char *dir = make_tmpdir();
	/* Files and other things that are not placeholders. */
	CHECK(placeholder_read(dir, &r) == 0); /* a directory */
	char *empty = xasprintf("%s/empty", dir);
	CHECK(write_file_atomic(empty, "", 0, 0644) == 0);
	CHECK(placeholder_read(empty, &r) == 0);
	char *script = xasprintf("%s/script", dir);
	CHECK(write_file_atomic(script, "#!/bin/sh\n", 10, 0755) == 0);
	CHECK(placeholder_read(script, &r) == 0);
	char *fifo = xasprintf("%s/fifo", dir);
	CHECK(mkfifo(fifo, 0644) == 0);
	CHECK(placeholder_read(fifo, &r) == 0); /* and it does not block */
	CHECK(placeholder_read("/dev/null", &r) == 0);
	free(fifo);
	free(script);
	free(empty);
	remove_tree(dir);
	free(dir);
}

static void test_malformed(void)
{
	struct gg_ref r;
	CHECK_ERR(parse_text(MAGIC, &r),
	          "malformed placeholder: the second line must start with \"ggfs-placeholder 1\"");
	CHECK_ERR(parse_text(MAGIC "hello\n", &r), "the second line must start with");
	CHECK_ERR(parse_text(MAGIC "ggfs-placeholder 2 " VNAME "\n", &r),
	          "the second line must start with");
	CHECK_ERR(parse_text(MAGIC TAG VNAME, &r),
	          "the reference must end the file with a newline");
	CHECK_ERR(parse_text(MAGIC TAG VNAME "\n\n", &r),
	          "the reference must end the file with a newline");
	CHECK_ERR(parse_text(MAGIC TAG VNAME "\nmore\n", &r), "must end the file with a newline");
	CHECK_ERR(parse_text(MAGIC TAG "Vxyz\n", &r),
	          "malformed placeholder: bad object name 'Vxyz'");
	CHECK_ERR(parse_text(MAGIC TAG VNAME "#out\n", &r), "malformed placeholder: bad reference");
	CHECK_ERR(parse_text(MAGIC TAG VNAME "#out\n", &r), "only a thunk has outputs");
	CHECK_ERR(parse_text(MAGIC TAG TNAME "#/etc/passwd\n", &r),
	          "absolute paths are not allowed");
	CHECK_ERR(parse_text(MAGIC TAG TNAME "#a/../b\n", &r), "'.' and '..'");
	CHECK_ERR(parse_text(MAGIC TAG "\n", &r), "bad object name");
	CHECK_ERR(parse_text(MAGIC TAG TNAME " \n", &r), "bad object name");
	const char nul[] = MAGIC TAG TNAME "#a\0b\n";
	r.output = NULL;
	CHECK_ERR(placeholder_parse(nul, sizeof nul - 1, &r), "NUL");
	CHECK(r.output == NULL);

	/* Through a file, the message names the file. */
	char *dir = make_tmpdir();
	char *path = xasprintf("%s/bad", dir);
	const char *text = MAGIC "not a reference\n";
	CHECK(write_file_atomic(path, text, strlen(text), 0755) == 0);
	r.output = NULL;
	CHECK_ERR(placeholder_read(path, &r), "the second line must start with");
	CHECK(strstr(gg_last_error(), path) != NULL);
	free(path);
	remove_tree(dir);
	free(dir);
}

static void test_oversized(void)
{
	/* Bytes that start like a placeholder but are far too long are malformed. */
	size_t len = PLACEHOLDER_MAX_SIZE + 1000;
	char *big = xmalloc(len);
	memset(big, 'x', len);
	memcpy(big, MAGIC, strlen(MAGIC));
	struct gg_ref r = {{{0}}, NULL};
	CHECK_ERR(placeholder_parse(big, len, &r), "malformed placeholder: 5096 bytes");
	CHECK(r.output == NULL);
	/* The limit itself is still parsed (and here rejected for its content). */
	CHECK_ERR(placeholder_parse(big, PLACEHOLDER_MAX_SIZE, &r), "second line");

	/* A big file is not read into memory: as a file it is simply not a placeholder. */
	char *dir = make_tmpdir();
	char *path = xasprintf("%s/big", dir);
	CHECK(write_file_atomic(path, big, len, 0755) == 0);
	CHECK(placeholder_read(path, &r) == 0);
	CHECK(r.output == NULL);
	free(path);
	remove_tree(dir);
	free(dir);
	free(big);

	/* A placeholder whose reference is long but legal, within the limit. */
	struct buf b = BUF_INIT;
	buf_adds(&b, MAGIC TAG TNAME "#");
	while (b.len < PLACEHOLDER_MAX_SIZE - 10)
		buf_adds(&b, "d/");
	buf_adds(&b, "f\n");
	CHECK(b.len <= PLACEHOLDER_MAX_SIZE);
	CHECK(placeholder_parse(b.data, b.len, &r) == 1);
	gg_ref_free(&r);
	buf_free(&b);
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	int entries = 0;
	struct dirent *e;
	while (d && (e = readdir(d)))
		entries += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	if (d)
		closedir(d);
	return entries;
}

static void test_replace(void)
{
	char *dir = make_tmpdir();
	char *root = NULL;
	struct store *s = NULL;
	CHECK(store_init(dir, &root) == 0 && store_open(root, &s) == 0);
	char *work = xasprintf("%s/work", dir);
	CHECK(mkdir_p(work, 0755) == 0);
	char *path = xasprintf("%s/out.txt", work);
	struct gg_ref r = ref_of(TNAME "#out.txt");
	struct gg_name v;
	CHECK(store_put_buf(s, "forced\n", 7, 'V', &v) == 0);

	/* Like `gg force`: the bytes and exactly the mode given. */
	CHECK(placeholder_write(path, &r) == 0);
	struct placeholder_replace_opts o = {.perm = 0640};
	CHECK(placeholder_replace(s, path, &v, &o) == 0);
	struct buf b = BUF_INIT;
	CHECK(read_file(path, &b, 100) == 0);
	CHECK_STR(b.data, "forced\n");
	struct stat st;
	CHECK(lstat(path, &st) == 0 && (st.st_mode & 07777) == 0640);
	CHECK(count_entries(work) == 1);

	/* Like ggfs --materialize: the placeholder's owner and times are kept. */
	CHECK(placeholder_write(path, &r) == 0);
	struct timespec old[2] = {{1000000000, 5}, {1000000100, 7}};
	CHECK(utimensat(AT_FDCWD, path, old, 0) == 0);
	struct stat ph;
	CHECK(lstat(path, &ph) == 0);
	o = (struct placeholder_replace_opts){.perm = 0755, .like = &ph};
	CHECK(placeholder_replace(s, path, &v, &o) == 0);
	CHECK(lstat(path, &st) == 0 && (st.st_mode & 07777) == 0755);
	CHECK(st.st_ino != ph.st_ino && st.st_uid == ph.st_uid && st.st_gid == ph.st_gid);
	CHECK(st.st_mtim.tv_sec == 1000000100 && st.st_mtim.tv_nsec == 7);
	CHECK(st.st_atim.tv_sec == 1000000000 && st.st_atim.tv_nsec == 5);
	buf_reset(&b);
	CHECK(read_file(path, &b, 100) == 0);
	CHECK_STR(b.data, "forced\n");

	/* A value not in the store: the error names the file and the cause, the
	 * placeholder stays and no temp file is left. */
	CHECK(placeholder_write(path, &r) == 0);
	struct gg_name missing;
	CHECK(gg_name_parse(VNAME, strlen(VNAME), &missing) == 0);
	o = (struct placeholder_replace_opts){.perm = 0644};
	CHECK_ERR(placeholder_replace(s, path, &missing, &o), "is not in the store");
	CHECK(strstr(gg_last_error(), path) != NULL);
	struct gg_ref got = {{{0}}, NULL};
	CHECK(placeholder_read(path, &got) == 1 && gg_ref_eq(&got, &r));
	gg_ref_free(&got);
	CHECK(count_entries(work) == 1);

	/* A directory that is gone. */
	char *bad = xasprintf("%s/missing/out.txt", work);
	CHECK_ERR(placeholder_replace(s, bad, &v, &o), "cannot create a temporary file");
	CHECK(strstr(gg_last_error(), bad) != NULL);
	free(bad);

	buf_free(&b);
	gg_ref_free(&r);
	free(path);
	free(work);
	store_close(s);
	free(root);
	remove_tree(dir);
	free(dir);
}

TEST_MAIN(test_format, test_write_read_round_trip, test_not_a_placeholder, test_malformed,
          test_oversized, test_replace)
