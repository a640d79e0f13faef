/**
 * @file test_fs_node.c
 * Specification of fs/node (the inode table) without a FUSE session: one
 * node per (dev, ino), the root found by its own; lookup counts and pins
 * (a child pins its parent; a node lives while either is non-zero; a forget
 * of more than was counted frees it); the name index following lookups,
 * renames and other links; the fd cache (at most fd_cap open besides those
 * borrowed or kept, least recently used closed first, reopened by path and
 * checked to be the same file: ESTALE when removed, replaced or moved away
 * behind the mount); nodes first found by ".." (no path to reopen them by)
 * and later by a name; node_unlinking keeping the fd of a last name;
 * nodes_shed on EMFILE (warned once) and nodes_set_fd_budget from
 * RLIMIT_NOFILE; by-hash nodes by reference, virt_ino; node_display_path.
 * The lazy state, the watches and the log are fakes.
 */
#include "fs_fakes.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* ---- fakes of fs/lazy.c and fs/watch.c (fs_fakes.h has the log's) ---- */

static int lazy_freed, watched, unwatched;

void lazy_free(struct lazy *lz)
{
	lazy_freed++;
	free(lz->ref_str);
	free(lz->ref.output);
	lz->ref_str = NULL;
	lz->ref.output = NULL;
}

void watch_dir_locked(struct ggfs *fs, struct node *n, int fd)
{
	watched++;
}

void unwatch_dir_locked(struct ggfs *fs, struct node *n)
{
	unwatched++;
}

/* ---- helpers ---- */

static struct ggfs fs;

static void make_file(const char *rel)
{
	char *p = at(rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	free(p);
}

static void make_dir(const char *rel)
{
	char *p = at(rel);
	CHECK(mkdir(p, 0755) == 0);
	free(p);
}

/* A lookup of name in parent (as ops.c's: "." and ".." record no path). */
static struct node *lookup(struct node *parent, const char *name)
{
	int dfd = node_fd(&fs, parent);
	CHECK(dfd >= 0);
	int fd = openat(dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	node_fd_put(&fs, parent);
	struct stat st;
	CHECK(fd >= 0 && fstat(fd, &st) == 0);
	if (fd < 0)
		return NULL;
	bool dot = !strcmp(name, ".") || !strcmp(name, "..");
	return node_get_pass(&fs, dot ? NULL : parent, name, fd, &st);
}

static bool fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

/* The fd cache's list is whole: as long both ways, each link mirrored. */
static bool lru_ok(void)
{
	pthread_mutex_lock(&fs.mu);
	size_t fwd = 0, bound = fs.nfds + 2;
	struct node *last = NULL;
	bool ok = true;
	for (struct node *n = fs.lru_head; n && ok; n = n->lru_next) {
		ok = n->lru_prev == last && n->fd >= 0 && !n->fd_keep && ++fwd <= bound;
		last = n;
	}
	ok = ok && last == fs.lru_tail;
	size_t back = 0;
	for (struct node *n = fs.lru_tail; n && ok; n = n->lru_prev)
		ok = ++back <= bound;
	ok = ok && back == fwd;
	pthread_mutex_unlock(&fs.mu);
	return ok;
}

static size_t nfds(void)
{
	pthread_mutex_lock(&fs.mu);
	size_t n = fs.nfds;
	pthread_mutex_unlock(&fs.mu);
	return n;
}

static void setup(void)
{
	make_test_dir("ggtest-node");
	CHECK(pthread_mutex_init(&fs.mu, NULL) == 0);
	int root_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	CHECK(root_fd >= 0);
	nodes_init(&fs, root_fd);
	struct stat st;
	CHECK(fstat(root_fd, &st) == 0);
	fs.root.dev = st.st_dev;
	fs.root.ino = st.st_ino;
	fs.source = dir;
	fs.mountpoint = "/mnt/point";
}

static void teardown(void)
{
	int root_fd = fs.root.fd;
	nodes_free_all(&fs);
	close(root_fd);
	pthread_mutex_destroy(&fs.mu);
	CHECK(remove_tree(dir) == 0);
	free(dir);
}

/* ---- the tests ---- */

static void test_init(void)
{
	CHECK(fs.root.kind == NODE_PASS && fs.root.nlookup == 2 && fs.root.pins == 1);
	CHECK(fs.fd_cap == 1024 && fs.nfds == 0);
	CHECK(node_of(&fs, FUSE_ROOT_ID) == &fs.root && node_ino(&fs, &fs.root) == FUSE_ROOT_ID);
}

static void test_lookup_counts(void)
{
	make_dir("d");
	make_file("d/f");
	struct node *d = lookup(&fs.root, "d");
	CHECK(d && d != &fs.root && d->kind == NODE_PASS && d->nlookup == 1);
	CHECK(d->parent == &fs.root && !strcmp(d->name, "d") && watched == 1);
	CHECK(node_of(&fs, node_ino(&fs, d)) == d);
	/* the same file again: the same node, counted, the new fd closed */
	int dfd = node_fd(&fs, &fs.root);
	int fd = openat(dfd, "d", O_PATH | O_CLOEXEC);
	node_fd_put(&fs, &fs.root);
	struct stat st;
	CHECK(fstat(fd, &st) == 0);
	CHECK(node_get_pass(&fs, &fs.root, "d", fd, &st) == d && d->nlookup == 2);
	CHECK(!fd_open(fd));
	CHECK(watched == 1); /* watched once */
	struct node *f = lookup(d, "f");
	CHECK(f && f->parent == d && d->pins == 1); /* the child pins its directory */
	pthread_mutex_lock(&fs.mu);
	CHECK(node_find_locked(&fs, f->dev, f->ino) == f);
	CHECK(node_find_name_locked(&fs, d, "f") == f);
	CHECK(node_find_name_locked(&fs, d, "g") == NULL);
	CHECK(node_find_name_locked(&fs, &fs.root, "f") == NULL);
	pthread_mutex_unlock(&fs.mu);
	/* the root by its own (dev, ino): "." and ".." of SOURCE */
	CHECK(lookup(&fs.root, ".") == &fs.root && fs.root.nlookup == 3);
	CHECK(lookup(d, "..") == &fs.root && fs.root.nlookup == 4);
	node_forget(&fs, &fs.root, 2);
	CHECK(fs.root.nlookup == 2);
	/* forgotten by the kernel, but pinned by its child: kept */
	node_forget(&fs, d, 2);
	pthread_mutex_lock(&fs.mu);
	CHECK(node_find_locked(&fs, d->dev, d->ino) == d);
	pthread_mutex_unlock(&fs.mu);
	/* a pin of ggfs's own keeps f after the forget */
	pthread_mutex_lock(&fs.mu);
	node_pin_locked(f);
	pthread_mutex_unlock(&fs.mu);
	int freed = lazy_freed;
	node_forget(&fs, f, 5); /* more than counted: 0 */
	CHECK(f->nlookup == 0 && lazy_freed == freed);
	dev_t fdev = f->dev, ddev = d->dev;
	ino_t fino = f->ino, dino = d->ino;
	size_t before = nfds();
	node_unpin(&fs, f); /* frees f, which frees d (its last pin) */
	CHECK(lazy_freed == freed + 2 && unwatched >= 2);
	CHECK(nfds() == before - 2);
	pthread_mutex_lock(&fs.mu);
	CHECK(node_find_locked(&fs, fdev, fino) == NULL &&
	      node_find_locked(&fs, ddev, dino) == NULL);
	CHECK(node_find_name_locked(&fs, &fs.root, "d") == NULL);
	pthread_mutex_unlock(&fs.mu);
	CHECK(lru_ok());
}

static void test_paths(void)
{
	make_dir("p");
	make_dir("q");
	make_file("p/a");
	struct node *p = lookup(&fs.root, "p"), *q = lookup(&fs.root, "q");
	struct node *a = lookup(p, "a");
	/* another link: the name it was last found by */
	char *from = at("p/a"), *to = at("q/b");
	CHECK(link(from, to) == 0);
	CHECK(lookup(q, "b") == a && a->parent == q && !strcmp(a->name, "b"));
	CHECK(p->pins == 0 && q->pins == 1);
	pthread_mutex_lock(&fs.mu);
	CHECK(node_find_name_locked(&fs, q, "b") == a &&
	      node_find_name_locked(&fs, p, "a") == NULL);
	pthread_mutex_unlock(&fs.mu);
	/* a rename through the mount */
	char *moved = at("p/c");
	CHECK(rename(to, moved) == 0);
	node_moved(&fs, a->dev, a->ino, p, "c");
	CHECK(a->parent == p && !strcmp(a->name, "c") && p->pins == 1 && q->pins == 0);
	/* an unknown file: nothing */
	node_moved(&fs, a->dev, a->ino + 999999, q, "x");
	/* reopened by that path once its fd was closed */
	pthread_mutex_lock(&fs.mu);
	fs.fd_cap = 0;
	pthread_mutex_unlock(&fs.mu);
	(void)lookup(&fs.root, "q"); /* sheds what nobody borrows */
	pthread_mutex_lock(&fs.mu);
	CHECK(a->fd == -1 && p->fd == -1);
	fs.fd_cap = 1024;
	pthread_mutex_unlock(&fs.mu);
	int fd = node_fd(&fs, a);
	struct stat st;
	CHECK(fd >= 0 && fstat(fd, &st) == 0 && st.st_ino == a->ino);
	CHECK(p->fd >= 0); /* its directory reopened on the way */
	node_fd_put(&fs, a);
	CHECK(node_fstat(&fs, a, &st) == 0 && st.st_ino == a->ino && S_ISREG(st.st_mode));
	/* removed behind the mount: ESTALE */
	pthread_mutex_lock(&fs.mu);
	fs.fd_cap = 0;
	pthread_mutex_unlock(&fs.mu);
	node_forget(&fs, lookup(&fs.root, "q"), 1);
	CHECK(a->fd == -1);
	CHECK(unlink(moved) == 0 && unlink(from) == 0);
	CHECK(node_fd(&fs, a) == -ESTALE);
	CHECK(node_fstat(&fs, a, &st) == ESTALE);
	/* replaced by another file: ESTALE, not the other file (the old one
	 * held open meanwhile, so that its inode number is not reused) */
	make_file("p/c");
	pthread_mutex_lock(&fs.mu);
	fs.fd_cap = 1024;
	pthread_mutex_unlock(&fs.mu);
	struct node *c = lookup(p, "c");
	int held = open(moved, O_PATH | O_CLOEXEC);
	make_file("p/c2");
	char *c2 = at("p/c2");
	CHECK(rename(c2, moved) == 0);
	free(c2);
	pthread_mutex_lock(&fs.mu);
	fs.fd_cap = 0;
	pthread_mutex_unlock(&fs.mu);
	node_forget(&fs, lookup(&fs.root, "q"), 1);
	CHECK(c->fd == -1);
	CHECK(node_fd(&fs, c) == -ESTALE);
	close(held);
	node_forget(&fs, c, 1);
	/* its directory gone: ESTALE */
	char *pc = at("p/c"), *pd = at("p");
	CHECK(unlink(pc) == 0 && rmdir(pd) == 0);
	pthread_mutex_lock(&fs.mu);
	fs.fd_cap = 0;
	pthread_mutex_unlock(&fs.mu);
	node_forget(&fs, lookup(&fs.root, "q"), 1);
	CHECK(node_fd(&fs, p) == -ESTALE && node_fd(&fs, a) == -ESTALE);
	pthread_mutex_lock(&fs.mu);
	fs.fd_cap = 1024;
	pthread_mutex_unlock(&fs.mu);
	CHECK(lru_ok());
	node_forget(&fs, a, 2);
	node_forget(&fs, p, 1);
	node_forget(&fs, q, 2);
	free(pc);
	free(pd);
	free(from);
	free(to);
	free(moved);
}

static void test_fd_budget(void)
{
	make_dir("many");
	struct node *m = lookup(&fs.root, "many");
	struct node *v[40];
	pthread_mutex_lock(&fs.mu);
	fs.fd_cap = 16;
	pthread_mutex_unlock(&fs.mu);
	for (int i = 0; i < 40; i++) {
		char name[32];
		snprintf(name, sizeof name, "many/f%d", i);
		make_file(name);
		v[i] = lookup(m, name + 5);
		CHECK(nfds() <= 16);
	}
	CHECK(lru_ok());
	/* least recently used first: the last ones are open, the first not */
	CHECK(v[39]->fd >= 0 && v[0]->fd == -1);
	/* borrowed fds stay open beyond the budget */
	int fds[20];
	for (int i = 0; i < 20; i++)
		fds[i] = node_fd(&fs, v[i]);
	for (int i = 0; i < 20; i++) {
		CHECK(fds[i] >= 0 && fd_open(fds[i]));
		struct stat st;
		CHECK(fstat(fds[i], &st) == 0 && st.st_ino == v[i]->ino);
	}
	CHECK(nfds() >= 20);
	for (int i = 0; i < 20; i++)
		node_fd_put(&fs, v[i]);
	(void)lookup(m, "f39");
	node_forget(&fs, v[39], 1);
	CHECK(nfds() <= 16 && lru_ok());
	/* the fd limit met (EMFILE): half of what is open is kept, the
	 * budget lowered, warned once */
	pthread_mutex_lock(&fs.mu);
	fs.fd_cap = 1024;
	pthread_mutex_unlock(&fs.mu);
	for (int i = 0; i < 40; i++)
		if (node_fd(&fs, v[i]) >= 0) /* opened again */
			node_fd_put(&fs, v[i]);
	size_t open_now = nfds();
	CHECK(open_now >= 40);
	nlogged = 0;
	CHECK(!nodes_shed(&fs, EACCES) && nfds() == open_now && nlogged == 0);
	CHECK(nodes_shed(&fs, EMFILE));
	CHECK(nfds() <= open_now / 2 + 1 && fs.fd_cap <= open_now / 2);
	CHECK(nlogged == 1 && strstr(logged, "fd limit") && strstr(logged, strerror(EMFILE)));
	(void)nodes_shed(&fs, ENFILE);
	CHECK(nlogged == 1);
	CHECK(lru_ok());
	/* never under 16 */
	for (int i = 0; i < 10; i++)
		(void)nodes_shed(&fs, EMFILE);
	CHECK(fs.fd_cap == 16);
	for (int i = 0; i < 40; i++)
		node_forget(&fs, v[i], 1);
	node_forget(&fs, m, 1);
	CHECK(lru_ok());
}

static void test_fd_budget_from_limit(void)
{
	struct rlimit old;
	CHECK(getrlimit(RLIMIT_NOFILE, &old) == 0);
	struct ggfs f = {0};
	CHECK(pthread_mutex_init(&f.mu, NULL) == 0);
	struct rlimit rl = old;
	rl.rlim_cur = 1000 < old.rlim_max ? 1000 : old.rlim_max;
	CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
	nodes_set_fd_budget(&f);
	CHECK(f.fd_cap == rl.rlim_cur / 2);
	rl.rlim_cur = 20;
	CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
	nodes_set_fd_budget(&f);
	CHECK(f.fd_cap == 16);
	CHECK(setrlimit(RLIMIT_NOFILE, &old) == 0);
	pthread_mutex_destroy(&f.mu);
}

static void test_dotdot_then_name(void)
{
	/* a directory first found by "..": kept (no path to reopen it by) */
	make_dir("up");
	make_dir("up/down");
	make_file("up/x");
	struct node *up = lookup(&fs.root, "up");
	struct node *down = lookup(up, "down");
	node_forget(&fs, up, 1); /* pinned by down */
	/* forget it for good, keep down: look down up through its fd */
	pthread_mutex_lock(&fs.mu);
	node_pin_locked(down);
	pthread_mutex_unlock(&fs.mu);
	struct node *x = lookup(up, "x");
	struct node *up2 = lookup(down, "..");
	CHECK(up2 == up && up->nlookup == 1);
	CHECK(lru_ok());
	/* many lookups, then found by its name: evictable again, the fd
	 * cache's list stays whole */
	CHECK(lookup(&fs.root, "up") == up && up->parent == &fs.root && !up->fd_keep);
	CHECK(lru_ok());
	for (int i = 0; i < 5; i++) {
		CHECK(lookup(up, "x") == x);
		CHECK(lookup(&fs.root, "up") == up);
		CHECK(lru_ok());
	}
	pthread_mutex_lock(&fs.mu);
	fs.fd_cap = 0;
	pthread_mutex_unlock(&fs.mu);
	node_forget(&fs, lookup(&fs.root, "up"), 1);
	CHECK(lru_ok());
	pthread_mutex_lock(&fs.mu);
	fs.fd_cap = 1024;
	pthread_mutex_unlock(&fs.mu);
	node_unpin(&fs, down);
	node_forget(&fs, x, 6);
	node_forget(&fs, down, 1);
	node_forget(&fs, up, 20);
	CHECK(lru_ok());
}

static void test_new_by_dotdot(void)
{
	/* a node made by a ".." lookup (the kernel forgot the directory):
	 * no path, so its fd is never closed; later found by a name */
	make_dir("top");
	make_dir("top/sub");
	struct node *top = lookup(&fs.root, "top");
	struct node *sub = lookup(top, "sub");
	/* sub's fd is borrowed while top is forgotten and freed */
	int sfd = node_fd(&fs, sub);
	CHECK(sfd >= 0);
	int keep = dup(sfd);
	node_fd_put(&fs, sub);
	node_forget(&fs, top, 1);
	node_forget(&fs, sub, 1); /* frees sub, then top */
	/* now ".." of a directory the table does not know: found without
	 * a path. (A file known by its fd only is made the same way.) */
	int fd = openat(keep, "..", O_PATH | O_CLOEXEC);
	struct stat st;
	CHECK(fd >= 0 && fstat(fd, &st) == 0);
	struct node *t = node_get_pass(&fs, NULL, "..", fd, &st);
	CHECK(t && t->parent == NULL && t->name == NULL && t->fd_keep);
	CHECK(lru_ok());
	/* never shed: nothing could reopen it */
	pthread_mutex_lock(&fs.mu);
	fs.fd_cap = 0;
	pthread_mutex_unlock(&fs.mu);
	struct node *other = lookup(&fs.root, "top");
	CHECK(other == t);
	CHECK(t->parent == &fs.root && !strcmp(t->name, "top"));
	CHECK(lru_ok());
	pthread_mutex_lock(&fs.mu);
	fs.fd_cap = 1024;
	pthread_mutex_unlock(&fs.mu);
	for (int i = 0; i < 3; i++) {
		make_file(i == 0 ? "top/f0" : i == 1 ? "top/f1" : "top/f2");
		struct node *c = lookup(t, i == 0 ? "f0" : i == 1 ? "f1" : "f2");
		CHECK(lookup(&fs.root, "top") == t);
		CHECK(lru_ok());
		node_forget(&fs, c, 1);
	}
	node_forget(&fs, t, 10);
	close(keep);
	CHECK(lru_ok());
}

static void test_unlinking(void)
{
	make_dir("u");
	make_file("u/last");
	make_file("u/one");
	struct node *u = lookup(&fs.root, "u");
	struct node *last = lookup(u, "last");
	int dfd = node_fd(&fs, u);
	/* its last name: its fd is kept, not shed */
	node_unlinking(&fs, u, dfd, "last");
	CHECK(last->fd_keep && last->fd >= 0 && last->fd_users == 0);
	CHECK(lru_ok());
	CHECK(unlinkat(dfd, "last", 0) == 0);
	pthread_mutex_lock(&fs.mu);
	fs.fd_cap = 0;
	pthread_mutex_unlock(&fs.mu);
	node_forget(&fs, lookup(&fs.root, "u"), 1);
	CHECK(last->fd >= 0);
	struct stat st;
	CHECK(node_fstat(&fs, last, &st) == 0 && st.st_nlink == 0);
	pthread_mutex_lock(&fs.mu);
	fs.fd_cap = 1024;
	pthread_mutex_unlock(&fs.mu);
	/* another link remains, not the name it is reopened by: nothing */
	struct node *one = lookup(u, "one");
	char *o = at("u/one"), *o2 = at("u/two");
	CHECK(link(o, o2) == 0);
	node_unlinking(&fs, u, dfd, "two");
	CHECK(!one->fd_keep);
	/* ... the name it is reopened by: kept, though another link remains */
	node_unlinking(&fs, u, dfd, "one");
	CHECK(one->fd_keep && lru_ok());
	/* found by a name again: evictable again */
	CHECK(lookup(u, "two") == one && !one->fd_keep);
	CHECK(lru_ok());
	/* a name that does not exist: nothing */
	node_unlinking(&fs, u, dfd, "nothing");
	node_fd_put(&fs, u);
	node_forget(&fs, one, 2);
	node_forget(&fs, last, 1);
	node_forget(&fs, u, 1);
	CHECK(lru_ok());
	free(o);
	free(o2);
}

static void test_virtual(void)
{
	struct gg_name nm;
	gg_name_of_buf("hello", 5, GG_VALUE, &nm);
	struct gg_ref r = {nm, NULL}, ro = {nm, "out"};
	struct node *a = node_get_virtual(&fs, NODE_OBJECT, &r);
	CHECK(a && a->kind == NODE_OBJECT && a->dev == GGFS_VIRT_DEV && a->fd == -1);
	CHECK(!a->lz.is_ref && a->lz.ref_str && a->nlookup == 1);
	CHECK(a->ino == virt_ino(a->lz.ref_str) && (a->ino & ((ino_t)1 << 63)));
	CHECK(node_get_virtual(&fs, NODE_OBJECT, &r) == a && a->nlookup == 2);
	struct node *b = node_get_virtual(&fs, NODE_OUTPUT, &ro);
	CHECK(b != a && b->lz.is_ref && b->lz.ref.output && !strcmp(b->lz.ref.output, "out"));
	CHECK(strstr(b->lz.ref_str, "#out") != NULL);
	char *p = node_display_path(&fs, b);
	char *want = xasprintf("/mnt/point/.gg/by-hash/%s", b->lz.ref_str);
	CHECK_STR(p, want);
	free(p);
	free(want);
	CHECK(virt_ino("a") != virt_ino("b") && virt_ino("") == virt_ino(""));
	struct node *g = node_new_dir(&fs, NODE_GGDIR, virt_ino(".gg"));
	CHECK(g->pins == 1 && g->nlookup == 0);
	node_forget(&fs, g, 1); /* pinned: kept */
	pthread_mutex_lock(&fs.mu);
	CHECK(node_find_locked(&fs, GGFS_VIRT_DEV, virt_ino(".gg")) == g);
	pthread_mutex_unlock(&fs.mu);
	p = node_display_path(&fs, g);
	CHECK_STR(p, "/mnt/point/.gg");
	free(p);
	CHECK(node_fd(&fs, g) == -ESTALE);
	node_forget(&fs, a, 2);
	node_forget(&fs, b, 1);
}

static void test_display_path(void)
{
	make_dir("show");
	make_file("show/me");
	struct node *s = lookup(&fs.root, "show"), *m = lookup(s, "me");
	char *p = node_display_path(&fs, m);
	CHECK_STR(p, "/mnt/point/show/me");
	free(p);
	p = node_display_path(&fs, &fs.root);
	CHECK_STR(p, "/mnt/point");
	free(p);
	/* gone: its inode number */
	char *f = at("show/me");
	CHECK(unlink(f) == 0);
	pthread_mutex_lock(&fs.mu);
	fs.fd_cap = 0;
	pthread_mutex_unlock(&fs.mu);
	node_forget(&fs, lookup(&fs.root, "show"), 1);
	pthread_mutex_lock(&fs.mu);
	fs.fd_cap = 1024;
	pthread_mutex_unlock(&fs.mu);
	p = node_display_path(&fs, m);
	char *want = xasprintf("/mnt/point/(inode %llu)", (unsigned long long)m->ino);
	CHECK_STR(p, want);
	free(p);
	free(want);
	free(f);
	node_forget(&fs, m, 1);
	node_forget(&fs, s, 1);
}

int main(void)
{
	setup();
	test_init();
	test_lookup_counts();
	test_paths();
	test_fd_budget();
	test_fd_budget_from_limit();
	test_dotdot_then_name();
	test_new_by_dotdot();
	test_unlinking();
	test_virtual();
	test_display_path();
	teardown();
	printf("%d passed, %d failed\n", harness_passed, harness_failed);
	return harness_failed ? 1 : 0;
}
