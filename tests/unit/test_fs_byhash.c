/**
 * @file test_fs_byhash.c
 * Specification of fs/byhash (MOUNT/.gg and MOUNT/.gg/by-hash/): which names
 * a lookup finds (a stored value or thunk by NAME, a declared output by
 * THUNK#OUTPUT) and which it refuses with ENOENT (malformed, unknown, a
 * value with an output, an undeclared or unsafe output, a lookup below a
 * file); the attributes of each kind (modes, the shared store's group,
 * sizes, the constant time) and how long the kernel may cache them.
 * Linked without a FUSE session: the node table (fs/node.c) and the lazy
 * state (fs/lazy.c) are replaced here by small fakes that record what
 * byhash asks of them. readdir is not covered (it replies to a request).
 */
#include "core/thunk.h"
#include "fs/ggfs.h"
#include "harness.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- fakes of fs/node.c, fs/lazy.c and fs/ops.c ---- */

static struct node made; /* the last node node_get_virtual made */
static int made_count;

struct node *node_get_virtual(struct ggfs *fs, enum node_kind kind, const struct gg_ref *ref)
{
	made_count++;
	free(made.lz.ref.output);
	made.kind = kind;
	made.ino = 1000 + (ino_t)made_count;
	made.lz.ref.name = ref->name;
	made.lz.ref.output = ref->output ? xstrdup(ref->output) : NULL;
	made.nlookup++;
	return &made;
}

fuse_ino_t node_ino(struct ggfs *fs, const struct node *n)
{
	return (fuse_ino_t)n->ino;
}

struct node *node_of(struct ggfs *fs, fuse_ino_t ino)
{
	return NULL;
}

void node_ref_lookup(struct ggfs *fs, struct node *n)
{
	n->nlookup++;
}

void node_forget(struct ggfs *fs, struct node *n, uint64_t nlookup)
{
	n->nlookup -= nlookup;
}

void lazy_adjust_attr(struct ggfs *fs, struct node *n, struct stat *st)
{
	st->st_size = n->lz.forced ? 4242 : 0;
}

bool lazy_is_forced(struct ggfs *fs, struct node *n)
{
	return n->lz.forced;
}

double pass_timeout(struct ggfs *fs, struct node *dir, struct node *n, const struct stat *st)
{
	return 7.5;
}

/* ---- the tests ---- */

static char *dir;
static struct ggfs fs;
static struct node ggdir = {.kind = NODE_GGDIR, .ino = 2}, byhash = {.kind = NODE_BYHASH, .ino = 3};
static struct gg_name value, thunk;
static size_t thunk_len;

static void setup(void)
{
	dir = xstrdup("/tmp/ggtest-byhash-XXXXXX");
	if (!mkdtemp(dir))
		abort();
	char *root = xasprintf("%s/.gg", dir);
	struct store *s = NULL;
	if (store_init(dir, NULL) < 0 || store_open(root, &s) < 0)
		abort();
	free(root);
	fs.store = s;
	fs.root.kind = NODE_PASS;
	fs.root.ino = 1;
	fs.ggdir = &ggdir;
	fs.byhash = &byhash;
	fs.uid = 1234;
	fs.gid = 5678;
	fs.timeout = 2.0;
	if (store_put_buf(s, "hello, by-hash\n", 15, GG_VALUE, &value) < 0)
		abort();
	struct thunk t;
	thunk_init(&t);
	t.exe = xstrdup("prog");
	strvec_push(&t.argv, "prog");
	strvec_push(&t.outputs, "out");
	strvec_push(&t.outputs, "sub/deep");
	struct gg_ref p = {value, NULL};
	thunk_add_input(&t, "prog", &p, true);
	struct buf enc = BUF_INIT;
	if (thunk_name(&t, &thunk, &enc) < 0 ||
	    store_put_buf(s, enc.data, enc.len, GG_THUNK, &thunk) < 0)
		abort();
	thunk_len = enc.len;
	buf_free(&enc);
	thunk_free(&t);
}

static void teardown(void)
{
	free(made.lz.ref.output);
	store_close(fs.store);
	CHECK(remove_tree(dir) == 0);
	free(dir);
}

/* A lookup below by-hash: 0 or an errno; *e filled on 0. */
static int find(const char *name, struct fuse_entry_param *e)
{
	return virt_lookup(&fs, &byhash, name, e);
}

static void test_virtual_dirs(void)
{
	struct fuse_entry_param e;
	uint64_t before = ggdir.nlookup;
	CHECK(virt_lookup(&fs, &fs.root, ".gg", &e) == 0);
	CHECK(e.ino == 2 && ggdir.nlookup == before + 1);
	CHECK(S_ISDIR(e.attr.st_mode) && (e.attr.st_mode & 07777) == 0555);
	CHECK(e.attr.st_nlink == 2 && e.attr.st_uid == 1234 && e.attr.st_gid == 5678);
	CHECK(e.attr.st_mtim.tv_sec == 1 && e.attr_timeout == GGFS_IMMUTABLE_TIMEOUT &&
	      e.entry_timeout == GGFS_IMMUTABLE_TIMEOUT);
	CHECK(virt_lookup(&fs, &fs.root, ".GG", &e) == ENOENT);
	CHECK(virt_lookup(&fs, &fs.root, "by-hash", &e) == ENOENT); /* only below .gg */
	CHECK(virt_lookup(&fs, &ggdir, "by-hash", &e) == 0);
	CHECK(e.ino == 3 && (e.attr.st_mode & 07777) == 0500 && e.attr.st_gid == 5678);
	CHECK(virt_lookup(&fs, &ggdir, "by-hash/", &e) == ENOENT);
	CHECK(virt_lookup(&fs, &ggdir, ".gg", &e) == ENOENT);
	/* a shared store: its group may read by-hash, and owns it */
	fs.byhash_group = true;
	fs.byhash_gid = 999;
	CHECK(virt_lookup(&fs, &ggdir, "by-hash", &e) == 0);
	CHECK((e.attr.st_mode & 07777) == 0550 && e.attr.st_gid == 999);
	fs.byhash_group = false;
	/* the root's .gg is not found in other directories of SOURCE */
	struct node sub = {.kind = NODE_PASS, .ino = 77};
	CHECK(virt_lookup(&fs, &sub, ".gg", &e) == ENOENT);
}

static void test_objects(void)
{
	struct fuse_entry_param e;
	int n0 = made_count;
	CHECK(find(value.s, &e) == 0);
	CHECK(made_count == n0 + 1 && made.kind == NODE_OBJECT);
	CHECK(!strcmp(made.lz.ref.name.s, value.s) && made.lz.ref.output == NULL);
	CHECK(e.ino == made.ino && S_ISREG(e.attr.st_mode) && (e.attr.st_mode & 07777) == 0444);
	CHECK(e.attr.st_size == 15 && e.attr.st_blocks == 1 && e.attr.st_nlink == 1);
	CHECK(e.attr.st_uid == 1234 && e.attr.st_mtim.tv_sec == 1);
	CHECK(e.attr_timeout == GGFS_IMMUTABLE_TIMEOUT);
	/* a thunk by its name alone: its encoding */
	CHECK(find(thunk.s, &e) == 0);
	CHECK(made.kind == NODE_OBJECT && made.lz.ref.output == NULL);
	CHECK(e.attr.st_size == (off_t)thunk_len && (e.attr.st_mode & 07777) == 0444);
	CHECK(e.attr.st_blocks == (e.attr.st_size + 511) / 512);
}

static void test_outputs(void)
{
	struct fuse_entry_param e;
	char *ref = xasprintf("%s#out", thunk.s);
	CHECK(find(ref, &e) == 0);
	CHECK(made.kind == NODE_OUTPUT && made.lz.ref.output && !strcmp(made.lz.ref.output, "out"));
	CHECK(!strcmp(made.lz.ref.name.s, thunk.s));
	CHECK(S_ISREG(e.attr.st_mode) && (e.attr.st_mode & 07777) == 0444 && e.attr.st_size == 0);
	/* unforced: its size will change, so the mount's timeout, not an hour */
	CHECK(e.attr_timeout == 2.0 && e.entry_timeout == 2.0);
	made.lz.forced = true;
	struct stat st;
	virt_attr(&fs, &made, &st);
	CHECK(st.st_size == 4242 && st.st_blocks == 9);
	CHECK(node_timeout(&fs, &made, NULL) == GGFS_IMMUTABLE_TIMEOUT);
	made.lz.forced = false;
	free(ref);
	/* an output whose path has '/' is not one path component: not found here */
	ref = xasprintf("%s#sub", thunk.s);
	CHECK(find(ref, &e) == ENOENT);
	free(ref);
}

static void test_refused(void)
{
	struct fuse_entry_param e;
	int n0 = made_count;
	char *s;
	CHECK(find("", &e) == ENOENT);
	CHECK(find("hello", &e) == ENOENT);
	CHECK(find(".", &e) == ENOENT);
	CHECK(find("..", &e) == ENOENT);
	/* a well-formed name of nothing stored */
	s = xstrdup(value.s);
	s[5] = s[5] == '0' ? '1' : '0';
	CHECK(find(s, &e) == ENOENT);
	free(s);
	/* a name cut short, one too long, in capitals, of another kind */
	s = xstrndup(value.s, GG_NAME_LEN - 1);
	CHECK(find(s, &e) == ENOENT);
	free(s);
	s = xasprintf("%s0", value.s);
	CHECK(find(s, &e) == ENOENT);
	free(s);
	s = xstrdup(value.s);
	for (char *c = s + 1; *c; c++)
		if (*c >= 'a' && *c <= 'f')
			*c = (char)(*c - 'a' + 'A');
	CHECK(find(s, &e) == ENOENT);
	free(s);
	s = xstrdup(value.s);
	s[0] = 'X';
	CHECK(find(s, &e) == ENOENT);
	free(s);
	/* a value has no outputs; a thunk only those it declares */
	s = xasprintf("%s#out", value.s);
	CHECK(find(s, &e) == ENOENT);
	free(s);
	s = xasprintf("%s#", thunk.s);
	CHECK(find(s, &e) == ENOENT);
	free(s);
	s = xasprintf("%s#nope", thunk.s);
	CHECK(find(s, &e) == ENOENT);
	free(s);
	s = xasprintf("%s#OUT", thunk.s);
	CHECK(find(s, &e) == ENOENT);
	free(s);
	s = xasprintf("%s#out#out", thunk.s);
	CHECK(find(s, &e) == ENOENT);
	free(s);
	s = xasprintf("%s#..", thunk.s);
	CHECK(find(s, &e) == ENOENT);
	free(s);
	s = xasprintf("%s#out ", thunk.s);
	CHECK(find(s, &e) == ENOENT);
	free(s);
	s = xasprintf("%s#\tout", thunk.s);
	CHECK(find(s, &e) == ENOENT);
	free(s);
	/* a thunk's output named through another thunk's name */
	s = xasprintf("%s#out", value.s);
	s[0] = 'T';
	CHECK(find(s, &e) == ENOENT);
	free(s);
	CHECK(made_count == n0); /* no node made for any of them */
	/* nothing is found below a file */
	struct node file = {.kind = NODE_OBJECT};
	CHECK(virt_lookup(&fs, &file, value.s, &e) == ENOENT);
	CHECK(made_count == n0);
}

static void test_pass_timeout(void)
{
	struct node n = {.kind = NODE_PASS};
	CHECK(node_timeout(&fs, &n, NULL) == 7.5); /* SOURCE's files: ops.c decides */
	CHECK(node_timeout(&fs, &ggdir, NULL) == GGFS_IMMUTABLE_TIMEOUT);
	CHECK(node_timeout(&fs, &byhash, NULL) == GGFS_IMMUTABLE_TIMEOUT);
}

TEST_MAIN(setup, test_virtual_dirs, test_objects, test_outputs, test_refused, test_pass_timeout,
          teardown)
