/**
 * @file store.c
 * The on-disk store (layout in store.h): objects in fan-out directories
 * written through temp files (O_TMPFILE + link, or a named file + rename)
 * and size-checked on every open, the memo, the stat-keyed hash cache,
 * per-thunk byte-range locks and size-capped gc.
 * It does not talk to remote stores; backends layer on top of it.
 */
#include "core/store.h"

#include "core/discover.h"
#include "core/rundir.h"
#include "core/stamp.h"

#include "core/thunk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

static const char *const store_dirs[] = {"objects", "xobjects", "memo",       "hashcache", "log",
                                         "locks",   "verdicts", "quarantine", "tmp"};

/*
 * The store's format (gg-store(5)), in ROOT/format. A store without the file
 * is format 1: its memo entries (unsealed) read as damaged and are dropped
 * one by one, and the directories format 2 added are made on first open. A
 * newer format is refused, never misread.
 */
#define STORE_FORMAT      2
#define STORE_FORMAT_TEXT "ggstore 2\n"

/* 0 when there is no format file, the format, or -1 (error set). */
static int read_format(const char *root)
{
	char *p = xasprintf("%s/format", root);
	struct buf b = BUF_INIT;
	int r = 0;
	if (read_file(p, &b, 64) == 0) {
		unsigned v;
		char nl;
		if (sscanf(b.data, "ggstore %u%c", &v, &nl) != 2 || nl != '\n' || v < 2 || v > 999)
			r = gg_fail(GG_ECORRUPT, "store %s: %s is malformed", root, p);
		else if (v > STORE_FORMAT)
			r = gg_fail(GG_EUSAGE,
			            "store %s has format %u, newer than this gg understands (%d): "
			            "use a newer gg, or another store (GG_DIR)",
			            root, v, STORE_FORMAT);
		else
			r = (int)v;
	} else if (errno != ENOENT) {
		r = gg_error("store %s: cannot read %s", root, p);
	}
	buf_free(&b);
	free(p);
	return r;
}

static bool is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/*
 * The store directory itself is the boundary (objects are shared by
 * content, so the bytes of a 0600 file become a 0444 object): 0700, or
 * 02770 for a shared store (its group). An existing one must be a real
 * directory of ours (or a shared store of our group): a worker's default
 * directory under /tmp may have been made in advance by someone else.
 */
static int make_root(const char *root, bool shared)
{
	mode_t mode = shared ? 02770 : 0700;
	char *parent = xstrdup(root), *slash = strrchr(parent, '/');
	int r = 0;
	if (slash && slash != parent) {
		*slash = 0;
		r = mkdir_p(parent, 0755);
	}
	free(parent);
	if (r < 0)
		return -1;
	bool made = mkdir(root, mode) == 0;
	if (!made && errno != EEXIST)
		return gg_error_errno("cannot create directory %s", root);
	struct stat st;
	if (lstat(root, &st) < 0)
		return gg_error_errno("cannot stat %s", root);
	if (!S_ISDIR(st.st_mode))
		return gg_error("%s is not a directory (a symbolic link is not accepted)", root);
	if (st.st_uid != geteuid() && !store_shared_ok(&st))
		return gg_error("%s is owned by uid %u, not you (uid %u): someone else may have "
		                "made it in advance; remove it or choose another directory",
		                root, (unsigned)st.st_uid, (unsigned)geteuid());
	if ((made || shared) && chmod(root, mode) < 0) /* exactly: not the umask's */
		return gg_error_errno("cannot set the mode of %s", root);
	return 0;
}

static int make_store(const char *root, bool shared)
{
	/* Never over a store of a newer format (read_format says why). */
	int format = is_dir(root) ? read_format(root) : 0;
	if (format < 0)
		return -1;
	int r = make_root(root, shared);
	for (size_t i = 0; r == 0 && i < GG_ARRAY_LEN(store_dirs); i++) {
		char *p = xasprintf("%s/%s", root, store_dirs[i]);
		r = mkdir_p(p, shared ? 02775 : 0755);
		if (r == 0 && shared && chmod(p, 02775) < 0)
			r = gg_error_errno("cannot set the mode of %s", p);
		free(p);
	}
	if (r == 0 && format < STORE_FORMAT) {
		char *p = xasprintf("%s/format", root);
		r = write_file_atomic(p, STORE_FORMAT_TEXT, strlen(STORE_FORMAT_TEXT), 0644);
		free(p);
	}
	return r;
}

int store_create(const char *root)
{
	return make_store(root, false);
}

int store_init(const char *dir, char **root_out)
{
	return store_init_mode(dir, false, root_out);
}

int store_init_mode(const char *dir, bool shared, char **root_out)
{
	size_t n = strlen(dir);
	char *root =
	    n >= 3 && !strcmp(dir + n - 3, ".gg") ? xstrdup(dir) : xasprintf("%s/.gg", dir);
	int r = make_store(root, shared);
	if (r == 0 && root_out)
		*root_out = root;
	else
		free(root);
	return r;
}

static char *find_root(void)
{
	const char *env = getenv("GG_DIR");
	if (env && *env)
		return xstrdup(env);
	return store_discover("."); /* safely: see discover.h */
}

/*
 * Forks seen by this process: a store's lock pool (see lock_thunk) belongs to
 * the process that opened it. Written only in a child just after a fork,
 * while it has one thread. (The sandbox's raw clone and vfork children do
 * not use the store.)
 */
static unsigned fork_gen;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

static void forked(void)
{
	fork_gen++;
}

static void watch_forks(void)
{
	pthread_atfork(NULL, NULL, forked);
}

/*
 * Whether a file created in dir with mode 0444 gets exactly that mode, so
 * that new objects need no fchmod: the umask keeps the read bits and dir has
 * no default ACL. In doubt, no. (A process that later sets a umask without
 * read bits for someone gets objects without them; nothing here does.)
 */
static bool modes_are_exact(const char *dir)
{
	struct buf b = BUF_INIT;
	bool exact = false;
	if (read_file("/proc/self/status", &b, 1 << 16) == 0) {
		const char *u = strstr(b.data, "\nUmask:");
		unsigned long mask;
		char *end;
		if (u) {
			mask = strtoul(u + 8, &end, 8);
			exact = end != u + 8 && (mask & 0444) == 0;
		}
	}
	buf_free(&b);
	if (exact && (getxattr(dir, "system.posix_acl_default", NULL, 0) >= 0 ||
	              (errno != ENODATA && errno != ENOTSUP)))
		exact = false;
	return exact;
}

int store_open(const char *dir, struct store **out)
{
	char *root = dir ? xstrdup(dir) : find_root();
	if (!root)
		return -1; /* store_discover said why */
	char *abs = realpath(root, NULL);
	if (!abs || !is_dir(abs)) {
		gg_error_errno("store %s is not a directory", root);
		free(root);
		free(abs);
		return -1;
	}
	free(root);
	/* Create any missing subdirectory (an older or hand-made .gg). "tmp"
	 * and then the format file are made last by store_create, so with the
	 * current format all are there. */
	char *tmp = xasprintf("%s/tmp", abs);
	bool complete = is_dir(tmp);
	free(tmp);
	int format = read_format(abs);
	if (format < 0 || ((!complete || format < STORE_FORMAT) && store_create(abs) < 0)) {
		free(abs);
		return -1;
	}
	struct store *s = xcalloc(1, sizeof *s);
	s->root = abs;
	s->root_len = strlen(abs);
	s->tmp = xasprintf("%s/tmp", abs);
	pthread_mutex_init(&s->lock_mu, NULL);
	pthread_once(&fork_once, watch_forks);
	s->fork_gen = fork_gen;
	s->exact_mode = modes_are_exact(s->tmp);
	*out = s;
	return 0;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nlock_pool; i++)
		close(s->lock_pool[i]);
	free(s->lock_pool);
	pthread_mutex_destroy(&s->lock_mu);
	free(s->root);
	free(s->tmp);
	free(s->fetch_from);
	free(s);
}

void store_distrust(struct store *s)
{
	s->distrust = true;
}

/* ROOT/SUB/ab/KEY. Fan-out directories are created on demand by
 * rename_into() and open_creating(), when the first attempt says ENOENT. */
static char *fanout_path(const struct store *s, const char *sub, const char *fan, const char *key,
                         bool create)
{
	(void)create;
	return xasprintf("%s/%s/%.2s/%s", s->root, sub, fan, key);
}

/*
 * ROOT/SUB/ab/NAME (ab = the digest's first two digits) into buf, which has
 * PATH_MAX bytes: no allocation on the hot paths. NULL (errno ENAMETOOLONG)
 * if it does not fit.
 */
static char *name_path(char *buf, const struct store *s, const char *sub, const struct gg_name *n)
{
	size_t sl = strlen(sub);
	if (s->root_len + sl + GG_NAME_LEN + 6 > PATH_MAX) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	char *p = buf;
	memcpy(p, s->root, s->root_len);
	p += s->root_len;
	*p++ = '/';
	memcpy(p, sub, sl);
	p += sl;
	*p++ = '/';
	*p++ = n->s[1];
	*p++ = n->s[2];
	*p++ = '/';
	memcpy(p, n->s, GG_NAME_LEN + 1);
	return buf;
}

/* Creates the directory holding path (one level). */
static void make_parent(const char *path)
{
	char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	if (slash) {
		*slash = 0;
		if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
			/* the caller's retry fails and reports */
		}
	}
	free(dir);
}

static int rename_into(const char *from, const char *to)
{
	if (rename(from, to) == 0)
		return 0;
	if (errno != ENOENT)
		return -1;
	make_parent(to);
	return rename(from, to);
}

/*
 * Moves the finished file `from` to `to` unless `to` exists: 0 if moved, 1 if
 * `to` was there (`from` is left for the caller), -1 with errno. Objects are
 * never replaced, although the bytes would be the same: a link(2) of the old
 * path racing with the replacement fails with ENOENT (the replaced inode has
 * no links left), which is how inputs are placed in a sandbox.
 */
static int move_noreplace(const char *from, const char *to)
{
	for (int i = 0; i < 2; i++) {
		if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
			return 0;
		if (errno == EINVAL || errno == ENOSYS) {
			/* no RENAME_NOREPLACE here: link, then drop the temp name */
			if (link(from, to) == 0) {
				unlink(from);
				return 0;
			}
		}
		if (errno == EEXIST)
			return 1;
		if (errno != ENOENT || i == 1)
			return -1;
		make_parent(to);
	}
	return -1;
}

char *store_object_path(const struct store *s, const struct gg_name *n)
{
	return fanout_path(s, "objects", n->s + 1, n->s, false);
}

/* ---- verification on the way out (verdicts and quarantine) ---- */

/* Counts whole-object hashes done to verify objects (store_verify_hashes). */
static uint64_t verify_hashes;

uint64_t store_verify_hashes(void)
{
	return __atomic_load_n(&verify_hashes, __ATOMIC_RELAXED);
}

/*
 * A verdict: "ggverdict 2 STAMP WRITTEN RULE NAME\n" sealed (stamp.h), at
 * verdicts/ab/NAME for the object and verdicts/ab/NAME.x for its executable
 * copy. It says: the file with stamp STAMP held NAME's bytes at WRITTEN,
 * and it stays true while the file's stamp is STAMP, because of RULE:
 *
 *   settled  the file's last change (mtime, ctime) lay STAMP_MARGIN_NS
 *            before WRITTEN, so any later change falls in a later clock
 *            tick and shows in the stamp (the rule of stamp.h);
 *   exact    the store's file system gives every change made after a stat
 *            a new ctime, even within one tick (stamp_exact_probe), and
 *            STAMP was read by a stat after the last change of the file
 *            that the verdict speaks for.
 *
 * Why an exact verdict is sound the moment it is written, also for a file
 * gg has just stored (store_vouch), and what of a change in the same tick:
 * a verdict's STAMP comes from an fstat made after the bytes it vouches for
 * were in the file (after gg wrote, chmod'ed and linked it, and removed
 * the name a run left it under; or, on the way out, before and after
 * hashing it, the two stamps equal). The kernel
 * marks a ctime seen by a stat, and the next change of that inode then gets
 * a fine-grained ctime later than the one seen, instead of the tick's
 * coarse time: so a change one microsecond after the fstat, within the
 * same tick and the same second, still changes the stamp, and the verdict
 * is void (tests: unit/test_store's same-tick tamper; on ramfs, which keeps
 * coarse times, no exact verdict is written and the tamper is found by
 * hashing). Two gaps are left. The kernel may forget the mark: the inode
 * evicted from memory and read again within that tick, and only then
 * changed. And a file gg has just stored is in objects/ (renamed or
 * linked there, which itself changes its ctime) microseconds before the
 * fstat: a change in between is read into STAMP, and a stamp cannot tell
 * that change from gg's own rename or link within one tick (a test that
 * stops gg at store_vouch shows it). A file just written and stat'ed is not
 * evicted within a few milliseconds unless memory is very short, and either
 * change would have to come in those microseconds or milliseconds from
 * someone able to write a 0444 file in a 0700 store (its owner, after a
 * chmod, or root), who could as well write a verdict: a verdict guards
 * against accidents, not against its owner.
 *
 * Verdicts of format 1 ("ggverdict 1 STAMP WRITTEN NAME") are settled ones.
 */
#define VERDICT_MAGIC  "ggverdict 2 "
#define VERDICT_MAGIC1 "ggverdict 1 "

static char *verdict_path(char *buf, const struct store *s, const struct gg_name *n, bool exec)
{
	if (!name_path(buf, s, "verdicts", n))
		return NULL;
	size_t l = strlen(buf);
	if (exec) {
		if (l + 3 > PATH_MAX) {
			errno = ENAMETOOLONG;
			return NULL;
		}
		memcpy(buf + l, ".x", 3);
	}
	return buf;
}

/* The next space-separated field of [*p, end); advances *p past its space. */
static bool next_field(const char **p, const char *end, const char **f, size_t *len)
{
	const char *sp = memchr(*p, ' ', (size_t)(end - *p));
	if (!sp)
		return false;
	*f = *p;
	*len = (size_t)(sp - *p);
	*p = sp + 1;
	return true;
}

static bool verdict_valid(const struct store *s, const struct gg_name *n, bool exec,
                          const struct stamp *now)
{
	char p[PATH_MAX];
	struct buf b = BUF_INIT;
	size_t len, ml = strlen(VERDICT_MAGIC);
	bool ok = false;
	struct gg_error_saved sv; /* a missing or unreadable verdict is no error */
	gg_error_save(&sv);
	bool got = verdict_path(p, s, n, exec) && read_file(p, &b, 512) == 0;
	gg_error_restore(&sv);
	if (got && stamp_unseal(b.data, b.len, &len) == 0 && len > ml && b.data[len - 1] == '\n') {
		bool v1 = !memcmp(b.data, VERDICT_MAGIC1, ml);
		const char *q = b.data + ml, *end = b.data + len - 1, *f[3] = {"settled"};
		size_t fl[3] = {strlen("settled")};
		struct stamp was;
		struct gg_name named;
		int64_t written;
		ok = (v1 || !memcmp(b.data, VERDICT_MAGIC, ml)) &&
		     next_field(&q, end, &f[1], &fl[1]) && next_field(&q, end, &f[2], &fl[2]) &&
		     (v1 || next_field(&q, end, &f[0], &fl[0])) &&
		     stamp_parse(f[1], fl[1], &was) == 0 &&
		     stamp_time_parse(f[2], fl[2], &written) == 0 &&
		     gg_name_parse(q, (size_t)(end - q), &named) == 0 && gg_name_eq(&named, n) &&
		     stamp_eq(&was, now);
		/* exact: any change since STAMP was read would show in it */
		bool exact = fl[0] == strlen("exact") && !memcmp(f[0], "exact", fl[0]);
		bool settled = fl[0] == strlen("settled") && !memcmp(f[0], "settled", fl[0]);
		ok = ok && (exact || (settled && stamp_settled(&was, written)));
	}
	buf_free(&b);
	return ok;
}

bool store_exact_times(struct store *s)
{
	int v = __atomic_load_n(&s->exact_times, __ATOMIC_ACQUIRE);
	if (v == 0) {
		v = stamp_exact_probe(s->tmp) == 1 ? 1 : -1;
		__atomic_store_n(&s->exact_times, v, __ATOMIC_RELEASE);
	}
	return v > 0;
}

/* Records that the file with stamp st held n's bytes when hashing began at
 * `begun`, under the exact rule where the store allows it, else under the
 * settled rule if st had settled then (see above). */
static void verdict_put(struct store *s, const struct gg_name *n, bool exec, const struct stamp *st,
                        int64_t begun)
{
	bool exact = store_exact_times(s);
	if (!exact && !stamp_settled(st, begun))
		return; /* may change within its time's tick, unseen: hash next time */
	char p[PATH_MAX], stamp[STAMP_TEXT_MAX], when[STAMP_TIME_MAX];
	if (!verdict_path(p, s, n, exec))
		return;
	stamp_format(st, stamp);
	stamp_time_format(begun, when);
	struct buf b = BUF_INIT;
	buf_printf(&b, VERDICT_MAGIC "%s %s %s %s\n", stamp, when, exact ? "exact" : "settled",
	           n->s);
	stamp_seal(&b);
	struct gg_error_saved sv; /* a cache: failure is fine, and leaves no message */
	gg_error_save(&sv);
	if (write_cache_file(p, b.data, b.len, 0644) < 0 && errno == ENOENT) {
		/* verdicts/ab/, and verdicts/ itself in a store made before it */
		*strrchr(p, '/') = 0;
		if (mkdir_p(p, 0755) == 0) {
			p[strlen(p)] = '/';
			write_cache_file(p, b.data, b.len, 0644);
		}
	}
	gg_error_restore(&sv);
	buf_free(&b);
}

void store_vouch(struct store *s, const struct gg_name *n, int fd)
{
	struct stat sb;
	if (gg_name_size(n) < STORE_VOUCH_MIN || !store_exact_times(s) || fstat(fd, &sb) < 0 ||
	    !S_ISREG(sb.st_mode) || (uint64_t)sb.st_size != gg_name_size(n))
		return;
	struct stamp st;
	stamp_of(&sb, &st);
	verdict_put(s, n, false, &st, stamp_clock());
}

static void verdict_drop(struct store *s, const struct gg_name *n, bool exec)
{
	char p[PATH_MAX];
	if (verdict_path(p, s, n, exec))
		unlink(p);
}

char *store_quarantine_path(const struct store *s, const struct gg_name *n, bool exec)
{
	return xasprintf("%s/quarantine/%s%s", s->root, n->s, exec ? ".x" : "");
}

/*
 * Moves the damaged file at path (object n, or its executable copy) to
 * quarantine/NAME[.x], replacing an older one there; if it cannot be moved
 * it is removed. Either way it is gone from where it was found.
 */
static void quarantine(struct store *s, const char *path, const struct gg_name *n, bool exec)
{
	char *q = store_quarantine_path(s, n, exec);
	if (rename_into(path, q) < 0)
		unlink(path);
	verdict_drop(s, n, exec);
	free(q);
}

/* The error for a damaged file of object n, moved to quarantine. */
static int damaged(const struct store *s, const struct gg_name *n, bool exec, const char *why)
{
	char *q = store_quarantine_path(s, n, exec);
	gg_fail(GG_ECORRUPT, "%s %s is damaged (%s); moved to %s",
	        exec ? "executable copy of" : "object", n->s, why, q);
	free(q);
	return -1;
}

/*
 * Checks that the file open as fd (found at path: object n, or its
 * executable copy) holds n's bytes: its size always; its content by a
 * valid verdict, else by hashing it once (and recording a verdict). A
 * damaged file is quarantined and is an error (GG_ECORRUPT) naming it.
 * fd's offset is left at 0.
 */
static int verify_fd(struct store *s, const struct gg_name *n, bool exec, const char *path, int fd,
                     bool trust)
{
	struct stat sb;
	if (fstat(fd, &sb) < 0)
		return gg_error_errno("cannot stat object %s", n->s);
	if (!S_ISREG(sb.st_mode) || (uint64_t)sb.st_size != gg_name_size(n)) {
		quarantine(s, path, n, exec);
		return damaged(s, n, exec, "wrong size");
	}
	struct stamp now;
	stamp_of(&sb, &now);
	if (trust && !s->distrust && verdict_valid(s, n, exec, &now))
		return 0;
	/* The clock before the bytes: what the verdict records is true as of then. */
	int64_t begun = stamp_clock();
	struct gg_name got;
	__atomic_add_fetch(&verify_hashes, 1, __ATOMIC_RELAXED);
	if (lseek(fd, 0, SEEK_SET) < 0 || gg_name_of_fd(fd, gg_name_kind(n), &got) < 0 ||
	    lseek(fd, 0, SEEK_SET) < 0)
		return gg_error("cannot check object %s: %s", n->s, gg_last_error());
	if (!gg_name_eq(&got, n)) {
		quarantine(s, path, n, exec);
		char why[GG_NAME_LEN + 32];
		snprintf(why, sizeof why, "its bytes hash to %s", got.s);
		return damaged(s, n, exec, why);
	}
	struct stamp after;
	if (fstat(fd, &sb) == 0 && (stamp_of(&sb, &after), stamp_eq(&after, &now)))
		verdict_put(s, n, exec, &now, begun);
	return 0;
}

/* Opens the file at path (object n, or its executable copy) and verifies it
 * (verify_fd). -1 with errno ENOENT (no error recorded) if it is missing. */
static int open_verified(struct store *s, const char *path, const struct gg_name *n, bool exec,
                         bool trust)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return -1;
		return gg_error_errno("cannot open object %s", n->s);
	}
	if (verify_fd(s, n, exec, path, fd, trust) < 0) {
		int e = gg_last_code();
		close(fd);
		errno = e == GG_ECORRUPT ? EBADMSG : EIO;
		return -1;
	}
	return fd;
}

int store_has(struct store *s, const struct gg_name *n)
{
	char p[PATH_MAX];
	struct stat st;
	if (!name_path(p, s, "objects", n))
		return 0;
	int r = stat(p, &st) == 0 && S_ISREG(st.st_mode);
	if (r && (uint64_t)st.st_size != gg_name_size(n)) {
		quarantine(s, p, n, false);
		r = 0;
	}
	return r;
}

/* ---- lazy remote values (see store.h) ---- */

void store_set_fetch(struct store *s, int (*fetch)(void *arg, const struct gg_name *n), void *arg,
                     const char *from)
{
	/* The fetcher goes first and comes last, so that it is never seen
	 * with another's argument or a freed URI. */
	s->fetch = NULL;
	free(s->fetch_from);
	s->fetch_from = fetch && from ? xstrdup(from) : NULL;
	s->fetch_arg = arg;
	s->fetch = fetch;
}

const char *store_fetch_from(const struct store *s)
{
	return s->fetch ? s->fetch_from : NULL;
}

int store_mark_remote(struct store *s, const struct gg_name *n)
{
	char p[PATH_MAX];
	if (!name_path(p, s, "remote", n))
		return gg_error_errno("cannot record %s as remote", n->s);
	int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0 && errno == ENOENT) {
		char *dir = xasprintf("%s/remote/%.2s", s->root, n->s + 1);
		(void)mkdir_p(dir, 0755);
		free(dir);
		fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	}
	if (fd < 0)
		return gg_error_errno("cannot record %s as remote (%s)", n->s, p);
	/* a record made again is young again: gg gc keeps records made within
	 * the last hour, before the memo entry naming them is written */
	(void)futimens(fd, NULL);
	close(fd);
	return 0;
}

static bool marked_remote(struct store *s, const struct gg_name *n)
{
	char p[PATH_MAX];
	return s->fetch && name_path(p, s, "remote", n) && access(p, F_OK) == 0;
}

static void unmark_remote(struct store *s, const struct gg_name *n)
{
	char p[PATH_MAX];
	if (name_path(p, s, "remote", n))
		unlink(p);
}

int store_is_remote(struct store *s, const struct gg_name *n)
{
	return marked_remote(s, n) && store_has(s, n) != 1;
}

int store_known(struct store *s, const struct gg_name *n)
{
	return store_has(s, n) == 1 || marked_remote(s, n);
}

/*
 * Brings value n, missing here, from the remote store if it is recorded
 * there: 1 fetched (verified by the fetcher against its name), 0 not
 * recorded (nothing to do), -1 with the error set. A value the remote store
 * lacks or has damaged is forgotten (GG_ECORRUPT: memo entries naming it are
 * misses again); one that could not be fetched for another reason (the
 * network) stays recorded.
 */
static int fetch_remote(struct store *s, const struct gg_name *n)
{
	if (!marked_remote(s, n))
		return 0;
	if (s->fetch(s->fetch_arg, n) == 0) {
		unmark_remote(s, n);
		return 1;
	}
	enum gg_code c = gg_last_code();
	if (c == GG_ECORRUPT || c == GG_ENOTFOUND) {
		unmark_remote(s, n);
		c = GG_ECORRUPT;
	}
	return gg_fail(c, "object %s is not in the store, and fetching it failed: %s", n->s,
	               gg_last_error());
}

int store_open_object(struct store *s, const struct gg_name *n)
{
	char p[PATH_MAX];
	if (!name_path(p, s, "objects", n))
		return gg_error_errno("object %s", n->s);
	int fd = open_verified(s, p, n, false, true);
	if (fd < 0 && errno == ENOENT) {
		int f = fetch_remote(s, n);
		if (f < 0)
			return -1;
		if (f == 1)
			fd = open_verified(s, p, n, false, true);
	}
	if (fd < 0 && errno == ENOENT)
		gg_fail(GG_ENOTFOUND, "object %s is not in the store", n->s);
	return fd;
}

int store_verify(struct store *s, const struct gg_name *n)
{
	int fd = store_open_object(s, n);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

int store_check(struct store *s, const struct gg_name *n, bool exec, bool trust)
{
	char p[PATH_MAX];
	if (exec) {
		char *x = fanout_path(s, "xobjects", n->s + 1, n->s, false);
		snprintf(p, sizeof p, "%s", x);
		free(x);
	} else if (!name_path(p, s, "objects", n)) {
		return gg_error_errno("object %s", n->s);
	}
	int fd = open_verified(s, p, n, exec, trust);
	if (fd < 0) {
		if (errno == ENOENT)
			return 1;
		return -1;
	}
	close(fd);
	return 0;
}

/* Copies object n (open and verified as in) to a new 0555 file at x. */
static int make_exec_copy(struct store *s, const struct gg_name *n, int in, const char *x)
{
	char *tmp;
	int fd = rundir_temp_file(s, &tmp);
	int r = fd < 0 ? -1 : 0;
	if (r == 0) {
		if (copy_fd(in, fd, gg_name_size(n)) < 0)
			r = gg_error("cannot copy object %s: %s", n->s, gg_last_error());
		int moved = -1;
		if (r == 0 && (fchmod(fd, 0555) < 0 || (moved = move_noreplace(tmp, x)) < 0))
			r = gg_error_errno("cannot make executable copy of %s", n->s);
		close(fd);
		if (r < 0 || moved == 1)
			unlink(tmp); /* or another thread's copy won: checked when used */
		free(tmp);
	}
	return r;
}

int store_object_path_mode(struct store *s, const struct gg_name *n, bool exec, char **out)
{
	return store_object_path_stat(s, n, exec, out, NULL);
}

/* Closes the verified fd, after fstat into st when st is not NULL. */
static int close_verified(int fd, struct stat *st)
{
	int r = st && fstat(fd, st) < 0 ? gg_error_errno("fstat of a checked object") : 0;
	close(fd);
	return r;
}

int store_object_path_stat(struct store *s, const struct gg_name *n, bool exec, char **out,
                           struct stat *st)
{
	char p[PATH_MAX];
	if (!name_path(p, s, "objects", n))
		return gg_error_errno("object %s", n->s);
	if (!exec) {
		int fd = store_open_object(s, n);
		if (fd < 0 || close_verified(fd, st) < 0)
			return -1;
		*out = xstrdup(p);
		return 0;
	}
	char *x = fanout_path(s, "xobjects", n->s + 1, n->s, true);
	for (int tries = 0; tries < 3; tries++) {
		int fd = open_verified(s, x, n, true, true);
		if (fd >= 0) {
			if (close_verified(fd, st) < 0)
				break;
			*out = x;
			return 0;
		}
		if (errno != ENOENT && errno != EBADMSG)
			break; /* cannot be checked: an error */
		/* Missing, or damaged and quarantined: made again from the object
		 * (a copy, as a hard link would share the mode). */
		int in = store_open_object(s, n);
		if (in < 0)
			break;
		int r = make_exec_copy(s, n, in, x);
		close(in);
		if (r < 0)
			break;
	}
	free(x);
	return -1;
}

/* How new files get their names (struct store's link_mode). */
enum { LINK_UNKNOWN, LINK_EMPTY_PATH, LINK_PROC, LINK_NONE };

static int link_mode(struct store *s)
{
	return __atomic_load_n(&s->link_mode, __ATOMIC_RELAXED);
}

static void set_link_mode(struct store *s, int m)
{
	__atomic_store_n(&s->link_mode, m, __ATOMIC_RELAXED);
}

/*
 * Gives the unnamed file fd (O_TMPFILE) the name dst: linkat(AT_EMPTY_PATH)
 * where this process may (CAP_DAC_READ_SEARCH), else through /proc/self/fd
 * (a few microseconds more). A missing fan-out directory is created. 0, or
 * -1 with errno (EEXIST if dst exists).
 */
static int link_fd(struct store *s, int fd, const char *dst)
{
	int m = link_mode(s);
	if (m == LINK_UNKNOWN || m == LINK_EMPTY_PATH) {
		for (int i = 0; i < 2; i++) {
			if (linkat(fd, "", AT_FDCWD, dst, AT_EMPTY_PATH) == 0) {
				if (m == LINK_UNKNOWN)
					set_link_mode(s, LINK_EMPTY_PATH);
				return 0;
			}
			if (errno != ENOENT && errno != EPERM)
				return -1; /* EEXIST, or a real failure */
			if (i == 0)
				make_parent(dst);
		}
		/* ENOENT with the directory there: not allowed to. */
		set_link_mode(s, LINK_PROC);
	}
	char proc[64];
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	for (int i = 0; i < 2; i++) {
		if (linkat(AT_FDCWD, proc, AT_FDCWD, dst, AT_SYMLINK_FOLLOW) == 0)
			return 0;
		if (errno == EPERM || errno == EOPNOTSUPP) {
			set_link_mode(s, LINK_NONE); /* no hard links here */
			return -1;
		}
		if (errno != ENOENT)
			return -1;
		if (i == 0)
			make_parent(dst);
	}
	if (access("/proc/self/fd", X_OK) < 0)
		set_link_mode(s, LINK_NONE); /* no /proc */
	errno = ENOENT;
	return -1;
}

/* The classic way: a named temp file renamed over dst. */
/* A named temp file moved to dst; an existing dst is replaced if `replace`,
 * else kept (see move_noreplace). */
static int put_named(struct store *s, const char *dst, const void *data, size_t len, mode_t mode,
                     bool replace)
{
	char *tmp;
	int fd = rundir_temp_file(s, &tmp);
	if (fd < 0)
		return -1;
	int r = write_all(fd, data, len);
	if (r == 0 && mode != 0600) /* mkostemp made it 0600 */
		r = fchmod(fd, mode);
	int e = errno;
	/* moved while open: its lock keeps rundir_sweep away until then */
	if (r == 0 && replace)
		r = rename_into(tmp, dst);
	else if (r == 0 && move_noreplace(tmp, dst) != 0)
		r = errno == EEXIST ? 1 : -1;
	if (r != 0) {
		e = errno;
		unlink(tmp);
	}
	close(fd);
	if (r > 0)
		r = 0; /* already there: the same bytes */
	free(tmp);
	errno = e;
	return r;
}

/*
 * Writes a new file at dst (and, if dst2, a second link to it there)
 * atomically: a reader sees all of it or nothing. The file is made unnamed
 * (O_TMPFILE in tmp/) and linked into place: fewer system calls than a named
 * temp file and a rename, and nothing left behind by a crash. Where the file
 * system does not allow that, a named temp file is renamed into place.
 *
 * mode is the file's mode: less the umask (as mkostemp's 0600), or exactly
 * if `exact`. An existing dst is replaced if `replace`, else kept (an
 * object: the same bytes by construction). -1 with errno set on failure.
 */
static int write_new_file(struct store *s, const char *dst, const char *dst2, const void *data,
                          size_t len, mode_t mode, bool exact, bool replace)
{
	int fd = -1;
	if (link_mode(s) != LINK_NONE) {
		fd = open(s->tmp, O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
		if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL))
			set_link_mode(s, LINK_NONE); /* no O_TMPFILE here */
		if (fd >= 0 && (write_all(fd, data, len) < 0 ||
		                (exact && !s->exact_mode && fchmod(fd, mode) < 0))) {
			int e = errno;
			close(fd);
			errno = e;
			return -1;
		}
	}
	int r = -1;
	if (fd >= 0) {
		r = link_fd(s, fd, dst);
		if (r < 0 && errno == EEXIST && !replace) {
			r = 0;
		} else if (r < 0 && errno != EEXIST) {
			close(fd); /* cannot be linked: a named file */
			fd = -1;
		}
	}
	if (r < 0 && put_named(s, dst, data, len, mode, replace) < 0)
		goto fail;
	if (dst2) {
		r = fd >= 0 ? link_fd(s, fd, dst2) : link(dst, dst2);
		if (r < 0 && fd < 0 && errno == ENOENT) {
			make_parent(dst2);
			r = link(dst, dst2);
		}
		if (r < 0 && (errno != EEXIST || replace) &&
		    put_named(s, dst2, data, len, mode, replace) < 0)
			goto fail;
	}
	if (fd >= 0)
		close(fd);
	return 0;
fail:
	if (fd >= 0) {
		int e = errno;
		close(fd);
		errno = e;
	}
	return -1;
}

/* Moves a finished temp file into place as object n (0), or drops it when
 * the object is already there (1: never replaced, see move_noreplace). */
static int install_object(struct store *s, const char *tmp, const struct gg_name *n)
{
	char *dst = fanout_path(s, "objects", n->s + 1, n->s, true);
	int r = move_noreplace(tmp, dst);
	if (r == 1 && !store_has(s, n)) /* a damaged copy, now removed */
		r = move_noreplace(tmp, dst);
	if (r < 0)
		r = gg_error_errno("cannot store object %s", n->s);
	if (r != 0)
		unlink(tmp);
	free(dst);
	return r;
}

int store_put_buf(struct store *s, const void *data, size_t len, char kind, struct gg_name *out)
{
	gg_name_of_buf(data, len, kind, out);
	if (store_has(s, out))
		return 0;
	char p[PATH_MAX];
	if (!name_path(p, s, "objects", out) ||
	    write_new_file(s, p, NULL, data, len, 0444, true, false) < 0)
		return gg_error_errno("cannot store object %s", out->s);
	return 0;
}

int store_put_fd(struct store *s, int in, struct gg_name *out)
{
	char *tmp;
	int fd = rundir_temp_file(s, &tmp);
	if (fd < 0)
		return -1;
	struct gg_hasher h;
	gg_hasher_init(&h);
	char *chunk = xmalloc(1 << 17);
	int r = 0;
	for (;;) {
		ssize_t n = read(in, chunk, 1 << 17);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = gg_error_errno("read failed");
			break;
		}
		if (n == 0)
			break;
		gg_hasher_update(&h, chunk, (size_t)n);
		if (write_all(fd, chunk, (size_t)n) < 0) {
			r = gg_error_errno("cannot write to the store");
			break;
		}
	}
	free(chunk);
	gg_hasher_final(&h, 0, out);
	if (r == 0 && fchmod(fd, 0444) < 0)
		r = gg_error_errno("cannot chmod a new object");
	if (r == 0)
		r = install_object(s, tmp, out);
	else
		unlink(tmp);
	/* What we hashed is what we wrote: only this process knew the temp
	 * file's random name in the 0700 store. */
	if (r == 0)
		store_vouch(s, out, fd);
	close(fd);
	free(tmp);
	return r < 0 ? -1 : 0;
}

int store_put_file(struct store *s, const char *path, struct gg_name *out)
{
	if (store_hash_file(s, path, out) == 0 && store_has(s, out))
		return 0;
	/* As store_hash_file, only a regular file: a directory would fail in
	 * read as a system error (exit 3, not gg hash's 1). */
	int fd = open_regular(path); /* a FIFO: refused, not waited on */
	if (fd < 0)
		return -1;
	int r = store_put_fd(s, fd, out);
	close(fd);
	if (r < 0)
		return gg_error("cannot store %s: %s", path, gg_last_error());
	return 0;
}

/* File capabilities, ACLs, security labels, user attributes: a linked
 * object would keep them, a copy has none. */
static bool has_xattrs(int fd)
{
	ssize_t n = flistxattr(fd, NULL, 0);
	return n != 0 && !(n < 0 && (errno == ENOTSUP || errno == ENOSYS));
}

/* The copying way of store_adopt_fd: from the start of fd. */
static int adopt_copy(struct store *s, int fd, struct gg_name *out)
{
	if (lseek(fd, 0, SEEK_SET) < 0)
		return gg_error_errno("cannot rewind the file");
	return store_put_fd(s, fd, out);
}

int store_adopt_fd(struct store *s, int fd, int dirfd, const char *name, struct gg_name *out)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return gg_error_errno("cannot stat the file");
	if (!S_ISREG(st.st_mode))
		return gg_error("not a regular file");
	/* Another link would see the mode and owner change, and could write
	 * the object; attributes would come along. */
	if (!name || st.st_nlink != 1 || has_xattrs(fd) || link_mode(s) == LINK_NONE)
		return adopt_copy(s, fd, out);
	int r = gg_name_of_fd(fd, 0, out);
	if (r == 0 && (uint64_t)st.st_size != gg_name_size(out))
		r = gg_error("the file changed while it was being stored");
	if (r < 0 || store_has(s, out))
		return r;
	/* Root's, 0444: no setuid/setgid bit, nothing for the sandbox's user.
	 * Through fd only; a failure leaves the copy. */
	if ((geteuid() == 0 && (st.st_uid != 0 || st.st_gid != 0) && fchown(fd, 0, 0) < 0) ||
	    fchmod(fd, 0444) < 0)
		return adopt_copy(s, fd, out);
	char p[PATH_MAX];
	if (!name_path(p, s, "objects", out))
		return gg_error_errno("cannot store object %s", out->s);
	if (link_fd(s, fd, p) == 0) {
		/* Its old name goes first: the stamp store_vouch takes must
		 * follow our last change of the file, or the object's first use
		 * hashes it again. */
		struct stat at;
		if (fstatat(dirfd, name, &at, AT_SYMLINK_NOFOLLOW) == 0 && same_inode(&at, &st))
			unlinkat(dirfd, name, 0);
		/* hashed above while nothing could write it (the caller's promise) */
		store_vouch(s, out, fd);
		return 0;
	}
	if (errno == EEXIST)
		return 0;
	return adopt_copy(s, fd, out); /* no way to link it here */
}

int store_read(struct store *s, const struct gg_name *n, struct buf *out, size_t max)
{
	uint64_t size = gg_name_size(n);
	if (size > max)
		return gg_error("object %s is larger than %zu bytes", n->s, max);
	char p[PATH_MAX];
	int fd = name_path(p, s, "objects", n) ? open(p, O_RDONLY | O_CLOEXEC) : -1;
	if (fd < 0 && errno == ENOENT) {
		int f = fetch_remote(s, n);
		if (f < 0)
			return -1;
		if (f == 1)
			fd = open(p, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0)
		return gg_error_errno("object %s is not in the store", n->s);
	/* The size is in the name: one read of a byte more than that sees a
	 * short or a long object without an fstat (a short read of a regular
	 * file is its end). */
	size_t start = out->len, want = (size_t)size + 1, got = 0;
	buf_grow(out, want);
	for (;;) {
		ssize_t r = read(fd, out->data + start + got, want - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			gg_error_errno("cannot read object %s", n->s);
			close(fd);
			out->data[start] = 0;
			return -1;
		}
		got += (size_t)r;
		if (r == 0 || got == want || (got == size && (size_t)r < want - (got - (size_t)r)))
			break;
	}
	close(fd);
	if (got != size) {
		out->data[start] = 0;
		quarantine(s, p, n, false);
		return damaged(s, n, false, "wrong size");
	}
	struct gg_name check;
	gg_name_of_buf(out->data + start, got, gg_name_kind(n), &check);
	if (!gg_name_eq(&check, n)) {
		out->data[start] = 0;
		quarantine(s, p, n, false);
		char why[GG_NAME_LEN + 32];
		snprintf(why, sizeof why, "its bytes hash to %s", check.s);
		return damaged(s, n, false, why);
	}
	out->len = start + got;
	out->data[out->len] = 0;
	return 0;
}

/* ---- the stat-keyed hash cache ---- */

/*
 * An entry: "gghashcache 2 STAMP WRITTEN NAME\n" sealed (stamp.h). It is
 * written only for a file settled when its hashing began (WRITTEN), and
 * used only while the file's stamp is STAMP and the entry checks out.
 */
#define HASHCACHE_MAGIC "gghashcache 2 "

static char *hashcache_path(struct store *s, const struct stamp *st, bool create)
{
	char fan[3], key[64];
	snprintf(fan, sizeof fan, "%02x", (unsigned)(st->ino & 0xff));
	snprintf(key, sizeof key, "%llx-%llx", (unsigned long long)st->dev,
	         (unsigned long long)st->ino);
	return fanout_path(s, "hashcache", fan, key, create);
}

bool store_hashcache_entry_sound(const char *data, size_t size)
{
	size_t len, ml = strlen(HASHCACHE_MAGIC);
	if (stamp_unseal(data, size, &len) < 0 || len <= ml || memcmp(data, HASHCACHE_MAGIC, ml) ||
	    data[len - 1] != '\n')
		return false;
	const char *p = data + ml, *end = data + len - 1;
	const char *sp1 = memchr(p, ' ', (size_t)(end - p));
	const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1)) : NULL;
	struct stamp was;
	int64_t written;
	struct gg_name name;
	return sp2 && stamp_parse(p, (size_t)(sp1 - p), &was) == 0 &&
	       stamp_time_parse(sp1 + 1, (size_t)(sp2 - sp1 - 1), &written) == 0 &&
	       gg_name_parse(sp2 + 1, (size_t)(end - sp2 - 1), &name) == 0;
}

/* The cached name of a file with this stamp, if the hash cache has a sound entry. */
static int hashcache_get(struct store *s, const struct stamp *now, struct gg_name *out)
{
	char *cp = hashcache_path(s, now, false);
	struct buf b = BUF_INIT;
	size_t len;
	int r = -1;
	struct gg_error_saved sv; /* a missing or unreadable entry is a miss, no error */
	gg_error_save(&sv);
	bool got = read_file(cp, &b, 512) == 0;
	gg_error_restore(&sv);
	if (got && stamp_unseal(b.data, b.len, &len) == 0 && len > strlen(HASHCACHE_MAGIC) &&
	    !memcmp(b.data, HASHCACHE_MAGIC, strlen(HASHCACHE_MAGIC)) && b.data[len - 1] == '\n') {
		const char *p = b.data + strlen(HASHCACHE_MAGIC), *end = b.data + len - 1;
		const char *sp1 = memchr(p, ' ', (size_t)(end - p));
		const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1)) : NULL;
		struct stamp was;
		int64_t written;
		if (sp2 && stamp_parse(p, (size_t)(sp1 - p), &was) == 0 &&
		    stamp_time_parse(sp1 + 1, (size_t)(sp2 - sp1 - 1), &written) == 0 &&
		    stamp_trusted(&was, now, written) &&
		    gg_name_parse(sp2 + 1, (size_t)(end - sp2 - 1), out) == 0)
			r = 0;
	}
	buf_free(&b);
	free(cp);
	return r;
}

static void hashcache_put(struct store *s, const struct stamp *st, int64_t written,
                          const struct gg_name *name)
{
	char stamp[STAMP_TEXT_MAX], when[STAMP_TIME_MAX];
	stamp_format(st, stamp);
	stamp_time_format(written, when);
	struct buf b = BUF_INIT;
	buf_printf(&b, HASHCACHE_MAGIC "%s %s %s\n", stamp, when, name->s);
	stamp_seal(&b);
	struct gg_error_saved sv; /* a cache: failure is fine, and leaves no message */
	gg_error_save(&sv);
	char *cp = hashcache_path(s, st, true);
	make_parent(cp);
	write_cache_file(cp, b.data, b.len, 0644);
	gg_error_restore(&sv);
	free(cp);
	buf_free(&b);
}

int store_hash_file(struct store *s, const char *path, struct gg_name *out)
{
	/* Read before the file is: what the entry records is true as of then. */
	int64_t begun = stamp_clock();
	/* A cache hit needs only a stat: the models check hundreds of files
	 * per command this way. */
	struct stat sb;
	struct stamp was, st;
	bool looked = stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
	if (looked) {
		stamp_of(&sb, &was);
		if (hashcache_get(s, &was, out) == 0)
			return 0;
	}
	int fd = open_regular(path);
	if (fd < 0 || fstat(fd, &sb) < 0) {
		if (fd >= 0) {
			gg_error_errno("cannot stat %s", path);
			close(fd);
		}
		return -1;
	}
	stamp_of(&sb, &st);
	/* Ask the cache again only if the file changed since the stat. */
	int r = looked && stamp_eq(&st, &was) ? -1 : hashcache_get(s, &st, out);
	if (r < 0) {
		r = gg_name_of_fd(fd, 0, out);
		if (r < 0)
			gg_error("cannot hash %s: %s", path, gg_last_error());
		else if (stamp_settled(&st, begun))
			/* else it may change again within its time's tick, unseen */
			hashcache_put(s, &st, begun, out);
	}
	close(fd);
	return r;
}

/* ---- symbolic links (store.h) ---- */

int link_target_check(const char *what, const char *target, size_t len)
{
	if (len == 0)
		return gg_fail(GG_EINVALID, "%s: a symbolic link with an empty target", what);
	if (len >= PATH_MAX)
		return gg_fail(GG_EINVALID, "%s: a symbolic link's target is longer than %d bytes",
		               what, PATH_MAX - 1);
	if (memchr(target, 0, len))
		return gg_fail(GG_EINVALID, "%s: a symbolic link's target holds a NUL byte", what);
	if (target[0] == '/')
		return gg_fail(GG_EINVALID,
		               "%s: a symbolic link to the absolute path '%.*s' (a link's target "
		               "must stay beneath its own directory: relative, without '..')",
		               what, (int)len, target);
	for (size_t i = 0; i < len;) {
		size_t j = i;
		while (j < len && target[j] != '/')
			j++;
		if (j - i == 2 && target[i] == '.' && target[i + 1] == '.')
			return gg_fail(
			    GG_EINVALID,
			    "%s: a symbolic link to '%.*s' climbs out with '..' (a link's "
			    "target must stay beneath its own directory: relative, "
			    "without '..')",
			    what, (int)len, target);
		i = j + 1;
	}
	return 0;
}

int store_read_link(struct store *s, const struct gg_name *n, char **out)
{
	struct buf b = BUF_INIT;
	if (store_read(s, n, &b, PATH_MAX) < 0) {
		buf_free(&b);
		return -1;
	}
	char what[GG_NAME_LEN + 16];
	snprintf(what, sizeof what, "value %s", n->s);
	if (link_target_check(what, b.data, b.len) < 0) {
		buf_free(&b);
		return -1;
	}
	*out = xstrndup(b.data, b.len);
	buf_free(&b);
	return 0;
}

int store_place_link(struct store *s, const struct gg_name *n, int dirfd, const char *name,
                     const char *what)
{
	char *target;
	if (store_read_link(s, n, &target) < 0)
		return gg_error("cannot make the symbolic link %s: %s", what, gg_last_error());
	/* A fresh name beside it (symlinkat never follows nor replaces), then
	 * renameat over the old one: a link already there is replaced as a
	 * name, never followed. */
	static _Atomic unsigned seq;
	char tmp[64];
	int r = -1;
	for (int tries = 0; r < 0 && tries < 100; tries++) {
		snprintf(tmp, sizeof tmp, ".tmp-link-%ld-%u", (long)getpid(), seq++);
		r = symlinkat(target, dirfd, tmp);
		if (r < 0 && errno != EEXIST)
			break;
	}
	if (r == 0 && renameat(dirfd, tmp, dirfd, name) < 0) {
		int e = errno;
		unlinkat(dirfd, tmp, 0);
		errno = e;
		r = -1;
	}
	if (r < 0)
		gg_error_errno("cannot make the symbolic link %s", what);
	free(target);
	return r;
}

/* ---- the memo ---- */

/*
 * Grows from 4, not by ALLOC_GROW (room for 24 at first): a scheduler keeps a
 * memo for every thunk it forced, most of one output, and 24 outputs of 88
 * bytes are more than the 2 KiB a thunk bench/bench_core.c allows.
 */
void memo_add(struct memo *m, const char *path, const struct gg_name *value, bool exec)
{
	if (m->n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 4;
		m->v = xrealloc(m->v, m->cap * sizeof *m->v); /* fit */
	}
	m->v[m->n++] = (struct memo_output){xstrdup(path), *value, exec, false};
}

void memo_add_link(struct memo *m, const char *path, const struct gg_name *value)
{
	memo_add(m, path, value, false);
	m->v[m->n - 1].link = true;
}

/*
 * memo_index's table: hash_table_size(n) slots, each 0 (empty) or an
 * output's index + 1, open addressing with linear probing.
 */
void memo_index(struct memo *m)
{
	if (m->n < 16)
		return; /* a linear search is as fast */
	size_t size = hash_table_size(m->n);
	m->byname = xrealloc(m->byname, size * sizeof *m->byname); /* fit */
	memset(m->byname, 0, size * sizeof *m->byname);
	for (size_t i = 0; i < m->n; i++) {
		size_t k = (size_t)str_hash(m->v[i].path, strlen(m->v[i].path)) & (size - 1);
		while (m->byname[k])
			k = (k + 1) & (size - 1);
		m->byname[k] = i + 1;
	}
	m->nbyname = m->n;
}

const struct memo_output *memo_find(const struct memo *m, const char *path)
{
	if (m->byname && m->nbyname == m->n) {
		size_t size = hash_table_size(m->n);
		size_t k = (size_t)str_hash(path, strlen(path)) & (size - 1);
		for (; m->byname[k]; k = (k + 1) & (size - 1))
			if (!strcmp(m->v[m->byname[k] - 1].path, path))
				return &m->v[m->byname[k] - 1];
		return NULL;
	}
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->v[i].path, path))
			return &m->v[i];
	return NULL;
}

const struct memo_output *memo_output_of(const struct memo *m, const char *output)
{
	return output ? memo_find(m, output) : m->n ? &m->v[0] : NULL;
}

void memo_free(struct memo *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].path);
	free(m->v);
	free(m->byname);
	memset(m, 0, sizeof *m);
}

#define MEMO_MAGIC "ggmemo 2\n"

int memo_encode(const struct memo *m, struct buf *out)
{
	size_t start = out->len;
	buf_adds(out, MEMO_MAGIC);
	for (size_t i = 0; i < m->n; i++) {
		buf_printf(out, "out %c %s %zu ",
		           m->v[i].link   ? 'l'
		           : m->v[i].exec ? 'x'
		                          : '-',
		           m->v[i].value.s, strlen(m->v[i].path));
		buf_adds(out, m->v[i].path);
		buf_addc(out, '\n');
	}
	if (m->has_stderr)
		buf_printf(out, "stderr %s\n", m->stderr_value.s);
	/* The seal covers this entry only, wherever it starts in out. */
	struct buf body = BUF_INIT;
	buf_add(&body, out->data + start, out->len - start);
	stamp_seal(&body);
	buf_add(out, body.data + (out->len - start), body.len - (out->len - start));
	buf_free(&body);
	return 0;
}

/* Reads a canonical decimal (no sign, no leading zero) ending in `term`. */
static const char *memo_number(const char *p, const char *end, char term, size_t *out)
{
	const char *start = p;
	size_t v = 0;
	while (p < end && *p >= '0' && *p <= '9') {
		if (v > (SIZE_MAX - 9) / 10)
			return NULL;
		v = v * 10 + (size_t)(*p++ - '0');
	}
	if (p == start || (p - start > 1 && *start == '0') || p == end || *p != term)
		return NULL;
	*out = v;
	return p + 1;
}

int memo_parse(const char *data, size_t len, struct memo *out)
{
	memset(out, 0, sizeof *out);
	size_t ml = sizeof(MEMO_MAGIC) - 1;
	if (len < ml || memcmp(data, MEMO_MAGIC, ml))
		return gg_fail(GG_ECORRUPT, "malformed memo entry: bad header");
	size_t sealed;
	if (stamp_unseal(data, len, &sealed) < 0)
		return gg_fail(GG_ECORRUPT,
		               "malformed memo entry: damaged (its checksum does not match)");
	const char *p = data + ml, *end = data + sealed;
	while (p < end) {
		/* "stderr NAME\n", once, last */
		if (!out->has_stderr && (size_t)(end - p) == 8 + GG_NAME_LEN &&
		    !memcmp(p, "stderr ", 7) && p[7 + GG_NAME_LEN] == '\n' &&
		    gg_name_parse(p + 7, GG_NAME_LEN, &out->stderr_value) == 0 &&
		    gg_name_kind(&out->stderr_value) == GG_VALUE) {
			out->has_stderr = true;
			p = end;
			break;
		}
		/* "out X NAME LEN PATH\n", X: '-' file, 'x' executable, 'l' link */
		if ((size_t)(end - p) < 7 + GG_NAME_LEN || memcmp(p, "out ", 4) ||
		    (p[4] != 'x' && p[4] != '-' && p[4] != 'l') || p[5] != ' ')
			goto bad;
		bool exec = p[4] == 'x', link = p[4] == 'l';
		struct gg_name name;
		if (gg_name_parse(p + 6, GG_NAME_LEN, &name) < 0)
			goto bad;
		p += 6 + GG_NAME_LEN;
		if (*p++ != ' ')
			goto bad;
		size_t n;
		p = memo_number(p, end, ' ', &n);
		if (!p || n >= (size_t)(end - p) || p[n] != '\n' || memchr(p, 0, n) || n == 0)
			goto bad;
		if (link && gg_name_kind(&name) != GG_VALUE)
			goto bad;
		char *path = xstrndup(p, n);
		memo_add(out, path, &name, exec);
		out->v[out->n - 1].link = link;
		free(path);
		p += n + 1;
	}
	if (out->n == 0)
		goto bad;
	return 0;
bad:
	memo_free(out);
	return gg_fail(GG_ECORRUPT, "malformed memo entry");
}

int memo_get(struct store *s, const struct gg_name *thunk, struct memo *out)
{
	memset(out, 0, sizeof *out);
	char p[PATH_MAX];
	struct stat st;
	/* The common case is a miss: a failed stat costs less than a failed
	 * open (no file to allocate and free). */
	if (!name_path(p, s, "memo", thunk) || stat(p, &st) < 0)
		return 0;
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	struct buf b = BUF_INIT;
	int r = 0;
	if (read_fd_all(fd, &b, 1 << 20) == 0 && memo_parse(b.data, b.len, out) == 0) {
		r = 1;
		for (size_t i = 0; i < out->n; i++)
			if (!store_known(s, &out->v[i].value))
				r = 0;
		if (out->has_stderr && !store_known(s, &out->stderr_value))
			r = 0;
		if (!r)
			memo_free(out);
	} else {
		unlink(p); /* damaged: forget it, the thunk runs again */
	}
	close(fd);
	buf_free(&b);
	return r;
}

static int memo_lookup_store(void *arg, struct store *s, const struct gg_name *thunk,
                             struct memo *out)
{
	(void)arg;
	return memo_get(s, thunk, out);
}

int memo_resolve(struct store *s, const struct gg_ref *ref, memo_lookup_fn *lookup, void *arg,
                 struct memo_output *end)
{
	*end = (struct memo_output){NULL, ref->name, false, false};
	char *output = ref->output ? xstrdup(ref->output) : NULL;
	int r = 0;
	/* A loop is found by Brent's method: each thunk on the way is compared
	 * with one marked earlier, the mark moved on after 1, 2, 4, ... steps. */
	struct gg_name mark;
	bool marked = false;
	size_t power = 1, since_mark = 0;
	/* the reference's thunk and MEMO_CHAIN_MAX thunks output by thunks (as
	 * many as the scheduler follows); a thunk past them is not looked up */
	for (int depth = 0; depth <= MEMO_CHAIN_MAX + 1; depth++) {
		if (gg_name_kind(&end->value) == GG_VALUE) {
			r = store_known(s, &end->value) == 1;
			break;
		}
		if (depth == MEMO_CHAIN_MAX + 1)
			break;
		struct memo m;
		r = (lookup ? lookup : memo_lookup_store)(arg, s, &end->value, &m);
		if (r != 1)
			break;
		r = 0;
		const struct memo_output *mo = memo_output_of(&m, output);
		if (mo)
			*end = (struct memo_output){NULL, mo->value, mo->exec, mo->link};
		memo_free(&m);
		free(output);
		output = NULL;
		if (!mo || (marked && gg_name_eq(&end->value, &mark)))
			break;
		if (!marked || ++since_mark == power) {
			mark = end->value;
			marked = true;
			power *= 2;
			since_mark = 0;
		}
	}
	free(output);
	return r;
}

int memo_put2(struct store *s, const struct gg_name *a, const struct gg_name *b,
              const struct memo *m)
{
	struct buf enc = BUF_INIT;
	memo_encode(m, &enc);
	char pa[PATH_MAX], pb[PATH_MAX];
	const struct gg_name *bad = a;
	int r = -1;
	/* Memo files are 0600 less the umask, as mkostemp makes them. Under
	 * two names: one file, two links (the second name costs no inode and
	 * no write). An existing entry is replaced, as a rename would. */
	if (name_path(pa, s, "memo", a)) {
		bool two = b && !gg_name_eq(a, b);
		bad = b;
		if (!two || name_path(pb, s, "memo", b)) {
			bad = a;
			r = write_new_file(s, pa, two ? pb : NULL, enc.data, enc.len, 0600, false,
			                   true);
		}
	}
	if (r < 0)
		gg_error_errno("cannot write the memo of %s", bad->s);
	buf_free(&enc);
	return r;
}

#define FAILURE_MAGIC "ggfailure 1\n"

int store_log_failure(struct store *s, const struct gg_name *thunk, const char *text)
{
	char p[PATH_MAX];
	if (!name_path(p, s, "log", thunk))
		return -1;
	struct buf b = BUF_INIT;
	buf_adds(&b, FAILURE_MAGIC);
	buf_adds(&b, text);
	buf_addc(&b, '\n');
	stamp_seal(&b);
	char *dir = xstrndup(p, (size_t)(strrchr(p, '/') - p));
	int r = mkdir_p(dir, 0755) == 0 ? write_cache_file(p, b.data, b.len, 0644) : -1;
	free(dir);
	buf_free(&b);
	return r;
}

int store_read_failure(struct store *s, const struct gg_name *thunk, struct buf *out)
{
	char p[PATH_MAX];
	if (!name_path(p, s, "log", thunk))
		return gg_error_errno("the failure record of %s", thunk->s);
	struct buf b = BUF_INIT;
	size_t len, ml = sizeof(FAILURE_MAGIC) - 1;
	int r = 1;
	if (read_file(p, &b, 1 << 20) < 0)
		r = gg_last_code() == GG_ENOTFOUND
		        ? 0
		        : gg_error("unreadable failure record: %s", gg_last_error());
	else if (stamp_unseal(b.data, b.len, &len) < 0)
		r = gg_fail(GG_ECORRUPT,
		            "unreadable failure record %s: damaged (its checksum does not match)",
		            p);
	else if (len < ml || memcmp(b.data, FAILURE_MAGIC, ml))
		r = gg_fail(GG_ECORRUPT, "unreadable failure record %s: not a failure record", p);
	else
		buf_add(out, b.data + ml, len - ml);
	buf_free(&b);
	return r;
}

int memo_put(struct store *s, const struct gg_name *thunk, const struct memo *m)
{
	return memo_put2(s, thunk, NULL, m);
}

/*
 * Per-thunk locks are byte-range locks on one file (.gg/locks/thunks), at an
 * offset taken from the thunk's digest: no file per thunk to create. They
 * are open-file-description locks, so they exclude other threads of this
 * process as well as other processes, and vanish if the holder dies.
 *
 * Two locks taken through one open file description do not exclude each
 * other, so each held lock has a description of its own. Released ones go
 * back to a small pool instead of being closed (an open per lock costs more
 * than the lock). A forked child does not use the pool: it shares those
 * descriptions with its parent.
 */
#define LOCK_POOL_MAX 64

static int lock_fd_get(struct store *s)
{
	if (s->fork_gen == fork_gen) {
		int fd = -1;
		pthread_mutex_lock(&s->lock_mu);
		if (s->nlock_pool)
			fd = s->lock_pool[--s->nlock_pool];
		pthread_mutex_unlock(&s->lock_mu);
		if (fd >= 0)
			return fd;
	}
	char p[PATH_MAX];
	if ((size_t)snprintf(p, sizeof p, "%s/locks/thunks", s->root) >= sizeof p) {
		errno = ENAMETOOLONG;
		return gg_error_errno("cannot open lock file in %s", s->root);
	}
	int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return gg_error_errno("cannot open lock file %s", p);
	return fd;
}

/* fd holds no lock: keep it for the next one. */
static void lock_fd_put(struct store *s, int fd)
{
	if (s->fork_gen == fork_gen) {
		pthread_mutex_lock(&s->lock_mu);
		if (s->nlock_pool < LOCK_POOL_MAX) {
			if (!s->lock_pool)
				s->lock_pool = xmalloc(LOCK_POOL_MAX * sizeof *s->lock_pool);
			s->lock_pool[s->nlock_pool++] = fd;
			fd = -1;
		}
		pthread_mutex_unlock(&s->lock_mu);
	}
	if (fd >= 0)
		close(fd);
}

static int lock_thunk(struct store *s, const struct gg_name *thunk, bool wait)
{
	int fd = lock_fd_get(s);
	if (fd < 0)
		return -1;
	uint64_t off = 0;
	for (int i = 1; i <= 15; i++)
		off = off << 4 |
		      (uint64_t)(thunk->s[i] <= '9' ? thunk->s[i] - '0' : thunk->s[i] - 'a' + 10);
	struct flock fl = {
	    .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = (off_t)(off >> 2), .l_len = 1};
	while (fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl) < 0) {
		int e = errno;
		if (e == EINTR)
			continue;
		if (!wait && (e == EAGAIN || e == EACCES)) {
			lock_fd_put(s, fd);
			return -2;
		}
		close(fd);
		errno = e;
		return gg_error_errno("cannot lock thunk %s", thunk->s);
	}
	return fd;
}

int store_lock_thunk(struct store *s, const struct gg_name *thunk)
{
	return lock_thunk(s, thunk, true);
}

int store_trylock_thunk(struct store *s, const struct gg_name *thunk)
{
	return lock_thunk(s, thunk, false);
}

void store_unlock_thunk(struct store *s, int fd)
{
	if (fd < 0)
		return;
	/* The description holds just this lock: unlock the whole file. */
	struct flock fl = {.l_type = F_UNLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
	if (fcntl(fd, F_OFD_SETLK, &fl) < 0)
		close(fd);
	else
		lock_fd_put(s, fd);
}

int store_make_tmpdir(struct store *s, const char *prefix, char **out)
{
	char *p = xasprintf("%s/%s-XXXXXX", s->tmp, prefix);
	if (!mkdtemp(p)) {
		gg_error_errno("cannot create a directory in %s", s->tmp);
		free(p);
		return -1;
	}
	*out = p;
	return 0;
}

/* ---- garbage collection ---- */

struct gc_entry {
	char *path;
	uint64_t size;
	struct timespec atime;
	bool thunk;
};

static int cmp_atime(const void *a, const void *b)
{
	const struct gc_entry *x = a, *y = b;
	if (x->atime.tv_sec != y->atime.tv_sec)
		return x->atime.tv_sec < y->atime.tv_sec ? -1 : 1;
	if (x->atime.tv_nsec != y->atime.tv_nsec)
		return x->atime.tv_nsec < y->atime.tv_nsec ? -1 : 1;
	return strcmp(x->path, y->path);
}

int store_walk(struct store *s, const char *sub,
               int (*fn)(void *arg, const char *path, const char *name), void *arg)
{
	char *top = xasprintf("%s/%s", s->root, sub);
	DIR *d = opendir(top);
	struct dirent *fan;
	int r = 0;
	while (r == 0 && d && (fan = readdir(d))) {
		if (fan->d_name[0] == '.')
			continue;
		char *dir = xasprintf("%s/%s", top, fan->d_name);
		DIR *e = opendir(dir);
		struct dirent *ent;
		while (r == 0 && e && (ent = readdir(e))) {
			if (ent->d_name[0] == '.')
				continue;
			char *p = xasprintf("%s/%s", dir, ent->d_name);
			r = fn(arg, p, ent->d_name);
			free(p);
		}
		if (e)
			closedir(e);
		free(dir);
	}
	if (d)
		closedir(d);
	free(top);
	return r;
}

struct gc_scan {
	struct gc_entry *v;
	size_t n, cap;
};

static int gc_scan(void *arg, const char *path, const char *name)
{
	struct gc_scan *g = arg;
	struct stat st;
	if (stat(path, &st) < 0)
		return 0;
	ALLOC_GROW(g->v, g->n + 1, g->cap);
	g->v[g->n++] =
	    (struct gc_entry){xstrdup(path), (uint64_t)st.st_size, st.st_atim, name[0] == 'T'};
	return 0;
}

/* Every value the memo names (outputs and stderr values), sorted. */
struct name_set {
	struct gg_name *v;
	size_t n, cap;
};

static void names_add(struct name_set *ns, const struct gg_name *n)
{
	ALLOC_GROW(ns->v, ns->n + 1, ns->cap);
	ns->v[ns->n++] = *n;
}

static int collect_memo_values(void *arg, const char *path, const char *name)
{
	struct name_set *ns = arg;
	struct buf b = BUF_INIT;
	struct memo m;
	if (read_file(path, &b, 1 << 20) == 0 && memo_parse(b.data, b.len, &m) == 0) {
		for (size_t i = 0; i < m.n; i++)
			names_add(ns, &m.v[i].value);
		if (m.has_stderr)
			names_add(ns, &m.stderr_value);
		memo_free(&m);
	}
	buf_free(&b);
	return 0;
}

struct record_sweep {
	struct name_set *live;
	time_t before; /* records made since are kept (a force may be writing their entry) */
	uint64_t removed;
};

static int sweep_record(void *arg, const char *path, const char *name)
{
	struct record_sweep *rs = arg;
	struct gg_name n;
	struct stat sb;
	if (gg_name_parse(name, strlen(name), &n) < 0 || lstat(path, &sb) < 0 ||
	    sb.st_mtime > rs->before)
		return 0;
	if (rs->live->n && bsearch(&n, rs->live->v, rs->live->n, sizeof n, gg_name_cmp))
		return 0;
	if (unlink(path) == 0)
		rs->removed++;
	return 0;
}

/* Forgets the remote records (.gg/remote) no memo entry names: nothing
 * would ever look for those values. Records younger than
 * STORE_RECORD_GRACE are kept: a force records its outputs as remote just
 * before it writes the memo entry naming them. */
static uint64_t gc_remote_records(struct store *s)
{
	struct name_set live = {0};
	store_walk(s, "memo", collect_memo_values, &live);
	if (live.n > 1)
		qsort(live.v, live.n, sizeof *live.v, gg_name_cmp);
	struct record_sweep rs = {&live, time(NULL) - STORE_RECORD_GRACE, 0};
	store_walk(s, "remote", sweep_record, &rs);
	free(live.v);
	return rs.removed;
}

/* Is the object at path a value some memo entry names (names sorted)? */
static bool gc_is_output(const struct name_set *outputs, const char *path)
{
	const char *base = strrchr(path, '/') + 1;
	struct gg_name n;
	return outputs->n && gg_name_parse(base, strlen(base), &n) == 0 &&
	       bsearch(&n, outputs->v, outputs->n, sizeof n, gg_name_cmp);
}

int store_gc(struct store *s, uint64_t max_size, struct gc_stats *st)
{
	struct gc_scan g = {0};
	store_walk(s, "objects", gc_scan, &g);
	store_walk(s, "xobjects", gc_scan, &g);
	struct gc_entry *v = g.v;
	size_t n = g.n;
	uint64_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += v[i].size;
	memset(st, 0, sizeof *st);
	st->before = total;
	if (n > 1)
		qsort(v, n, sizeof *v, cmp_atime);
	/* Two passes, each least recently used first: values a memo entry names
	 * (a force computes them again, from inputs that stay), then the rest —
	 * sources, headers and tools that only the build that stored them can
	 * store again, without which its placeholders cannot be forced. */
	struct name_set outputs = {0};
	store_walk(s, "memo", collect_memo_values, &outputs);
	if (outputs.n > 1)
		qsort(outputs.v, outputs.n, sizeof *outputs.v, gg_name_cmp);
	for (size_t k = 0; k < 2 * n && total > max_size; k++) {
		size_t i = k % n;
		if (v[i].thunk || !v[i].path || (k < n && !gc_is_output(&outputs, v[i].path)))
			continue;
		if (unlink(v[i].path) == 0) {
			total -= v[i].size;
			st->removed_objects++;
			/* and its verdict (a later copy is another inode: void anyway) */
			const char *base = strrchr(v[i].path, '/') + 1;
			struct gg_name vn;
			if (gg_name_parse(base, strlen(base), &vn) == 0)
				verdict_drop(s, &vn, strstr(v[i].path, "/xobjects/") != NULL);
			free(v[i].path);
			v[i].path = NULL;
		}
	}
	free(outputs.v);
	st->after = total;
	for (size_t i = 0; i < n; i++)
		free(v[i].path);
	free(v);
	/* Memo entries pointing at removed objects are misses (memo_get checks). */
	st->removed_records = gc_remote_records(s);
	return 0;
}
