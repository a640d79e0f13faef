/**
 * @file exec.c
 * The execution contract on this machine (see exec.h): materialise inputs
 * (read-only binds of the store's objects in an isolated run, copies in an
 * unisolated one), run through the sandbox, collect outputs into the store.
 * It does not decide what runs when (sched.c) nor isolate (sandbox.c).
 */
#include "core/exec.h"

#include "core/beneath.h"
#include "core/rundir.h"
#include "core/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define STDERR_TAIL        2048
#define STDERR_KEEP        (1u << 20)
#define DEFAULT_PROCS      4096
#define DEFAULT_TIMEOUT_MS (3600u * 1000u)
#define MAX_PROCS          4194304u /* the kernel's highest pid_max */
/* Inputs bound read-only per run, well below the kernel's mounts per
 * namespace (fs.mount-max, 100,000); the rest are hard links. */
#define MAX_BOUND_INPUTS 20000

/*
 * The inputs of an isolated run shown as read-only binds of the store's
 * objects (sandbox_spec's bind_src/bind_dst). A hard link would change the
 * object's ctime, so that every run made the next one hash its inputs again
 * (the verdict cache is keyed by ctime, store.c), and the program, which
 * owns the object when gg runs as an ordinary user, could write it. Their
 * mount points in ROOT are hard links to one empty file beside it
 * (run-XXXXXX.mnt), which costs no inode per input.
 */
struct bound {
	struct strvec src, dst;
	struct sandbox_file_id *id; /* per bind: the inode src[k] was checked as */
	const char **obj; /* per input: its object's path (in src) when bound, else NULL */
	struct stat *was; /* per input: its object's stat when checked, if bound */
	char *point;      /* the empty file */
	dev_t point_dev;
	ino_t point_ino;
};

static void bound_free(struct bound *b)
{
	free(b->id);
	free(b->obj);
	free(b->was);
	strvec_free(&b->src);
	strvec_free(&b->dst);
	free(b->point);
}

/* Hard-links src, which must still be the inode checked as `checked` (else
 * ESTALE, and no link is left), at dst. */
static int link_input(const char *src, const struct stat *checked, const char *dst)
{
	struct stat st;
	if (link(src, dst) < 0)
		return -1;
	if (lstat(dst, &st) == 0 && same_inode(&st, checked))
		return 0;
	unlink(dst);
	errno = ESTALE;
	return -1;
}

/* Puts input i's object src, checked as b->was[i], at dst as a mount point
 * to bind it over. */
static int bind_input(struct bound *b, const char *root, size_t i, const char *rel, const char *src,
                      const char *dst)
{
	if (!b->point) {
		char *p = xasprintf("%s.mnt", root);
		int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0) {
			int e = errno;
			if (fd >= 0)
				close(fd);
			free(p);
			errno = e;
			return -1;
		}
		close(fd);
		b->point = p, b->point_dev = st.st_dev, b->point_ino = st.st_ino;
	}
	if (link(b->point, dst) < 0)
		return -1;
	b->id[b->src.n] = (struct sandbox_file_id){b->was[i].st_dev, b->was[i].st_ino};
	strvec_push(&b->src, src);
	strvec_push(&b->dst, rel);
	b->obj[i] = b->src.v[b->src.n - 1];
	return 0;
}

int exec_limit_parse(const char *what, const char *name, const char *value, uint64_t *out)
{
	if (!strcmp(value, "none")) {
		*out = EXEC_NO_LIMIT;
		return 0;
	}
	uint64_t v;
	if (!strcmp(what, "memory")) {
		if (parse_size(value, &v) < 0 || v == 0)
			return gg_fail(GG_EUSAGE,
			               "%s=%s: expected a size such as 512M or 4G (or none)", name,
			               value);
		if (v < (1u << 20))
			return gg_fail(GG_EUSAGE,
			               "%s=%s: a memory limit below 1M leaves no room to start a "
			               "program",
			               name, value);
		*out = v;
		return 0;
	}
	if (!strcmp(what, "process")) {
		if (parse_u64(value, &v) < 0 || v == 0)
			return gg_fail(GG_EUSAGE, "%s=%s: expected a number of processes (or none)",
			               name, value);
		if (v > MAX_PROCS)
			return gg_fail(GG_EUSAGE, "%s=%s: too large (at most %u processes)", name,
			               value, MAX_PROCS);
		*out = v;
		return 0;
	}
	if (parse_u64(value, &v) < 0 || v == 0)
		return gg_fail(GG_EUSAGE, "%s=%s: expected whole seconds (or none)", name, value);
	if (v > THUNK_MAX_TIMEOUT_S)
		return gg_fail(GG_EUSAGE, "%s=%s: too large (at most %llu seconds)", name, value,
		               (unsigned long long)THUNK_MAX_TIMEOUT_S);
	*out = v * 1000;
	return 0;
}

int exec_limits_from_env(struct exec_limits *l)
{
	static const struct {
		const char *var, *what;
		size_t off;
	} vars[] = {
	    {"GG_MEMORY_LIMIT", "memory", offsetof(struct exec_limits, memory)},
	    {"GG_PROCESS_LIMIT", "process", offsetof(struct exec_limits, procs)},
	    {"GG_TIMEOUT", "timeout", offsetof(struct exec_limits, timeout_ms)},
	};
	for (size_t i = 0; i < GG_ARRAY_LEN(vars); i++) {
		const char *v = getenv(vars[i].var);
		if (v && *v &&
		    exec_limit_parse(vars[i].what, vars[i].var, v,
		                     (uint64_t *)((char *)l + vars[i].off)) < 0)
			return -1;
	}
	return 0;
}

/* Half the RAM: one runaway thunk cannot take the machine. */
static uint64_t default_memory(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
	if (pages <= 0 || size <= 0)
		return 4ull << 30;
	return (uint64_t)pages * (uint64_t)size / 2;
}

static char *fmt_bytes(uint64_t v)
{
	if (v >= (1ull << 30))
		return xasprintf("%.1f GiB", (double)v / (double)(1ull << 30));
	return xasprintf("%.1f MiB", (double)v / (double)(1u << 20));
}

static pthread_once_t cg_note_once = PTHREAD_ONCE_INIT;
static char cg_note[512];

static void print_cg_note(void)
{
	fprintf(stderr,
	        "gg: note: %s; memory and process limits are rlimits (RLIMIT_NPROC, and "
	        "RLIMIT_AS only for a memory limit set explicitly)\n",
	        cg_note);
}

/* Makes the run's control group, or says once why there is none. */
static void make_cgroup(const struct exec_opts *o, uint64_t mem, uint64_t procs,
                        struct cgroup_run *cg)
{
	if (cgroup_run_create(mem, procs, cg) == 0)
		return;
	snprintf(cg_note, sizeof cg_note, "%s", gg_last_error());
	pthread_once(&cg_note_once, print_cg_note);
	(void)o;
}

/* Why the run was stopped at a limit (malloc'd), or NULL. */
static char *limit_reason(const struct cgroup_run *cg, bool procs_killed, bool failed, uint64_t mem,
                          uint64_t procs)
{
	struct cgroup_usage u;
	cgroup_run_usage(cg, &u);
	if (procs_killed) {
		if (u.pids_peak)
			return xasprintf("stopped at the process limit of %llu (GG_PROCESS_LIMIT): "
			                 "a fork failed; peak %llu processes",
			                 (unsigned long long)procs,
			                 (unsigned long long)u.pids_peak);
		return xasprintf("stopped at the process limit of %llu (GG_PROCESS_LIMIT): a "
		                 "fork failed",
		                 (unsigned long long)procs);
	}
	if (failed && u.mem_hit) {
		char *l = fmt_bytes(mem), *p = fmt_bytes(u.mem_peak);
		char *why = xasprintf("stopped at the memory limit of %s (GG_MEMORY_LIMIT): the "
		                      "kernel killed a process of it; peak %s",
		                      l, p);
		free(l);
		free(p);
		return why;
	}
	return NULL;
}

/* Creates the parent directories of rel inside root. They are world-writable
 * because the sandboxed program runs as another user and may write outputs
 * there; the whole tree is private to .gg/tmp and removed afterwards. */
static int make_parents(const char *root, const char *rel)
{
	const char *slash = strrchr(rel, '/');
	if (!slash)
		return 0;
	char *dir = xasprintf("%s/%.*s", root, (int)(slash - rel), rel);
	int r = 0;
	struct stat st;
	if (stat(dir, &st) < 0) {
		r = mkdir_p(dir, 0777);
		/* chmod each created level: mkdir is subject to the umask */
		for (char *p = dir + strlen(root); r == 0 && p;) {
			char *next = strchr(p + 1, '/');
			if (next)
				*next = 0;
			chmod(dir, 0777);
			if (next)
				*next = '/';
			p = next;
		}
	}
	free(dir);
	return r;
}

/*
 * A copy of the store file src at dst, with src's mode: a reflink (FICLONE)
 * where the file system shares blocks, else copied. Nothing done to dst can
 * reach the store.
 */
/* Copies src, which must still be the inode checked as `checked` (else
 * ESTALE), to a new file dst. */
static int copy_input(const char *src, const struct stat *checked, const char *dst)
{
	int in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	if (in < 0 || fstat(in, &st) < 0 || !same_inode(&st, checked)) {
		if (in >= 0)
			close(in);
		errno = in < 0 ? errno : ESTALE;
		return -1;
	}
	int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	int r = out < 0 ? -1 : 0;
	if (r == 0 && ioctl(out, FICLONE, in) < 0 && copy_fd(in, out, (uint64_t)st.st_size) < 0) {
		r = -1;
		if (gg_last_code() == GG_ECORRUPT)
			errno = EIO; /* shorter than it was */
	}
	if (r == 0 && fchmod(out, st.st_mode & 0555) < 0)
		r = -1;
	int e = errno;
	if (out >= 0)
		close(out);
	close(in);
	errno = e;
	return r;
}

/*
 * Places the inputs under root, each object checked against its name first:
 * read-only binds (b, when not NULL) where the program runs isolated, hard
 * links beyond MAX_BOUND_INPUTS, when the directory is kept for debugging or
 * where the sandbox cannot bind (sandbox_binds_available);
 * copies (reflinks where possible) when it runs unisolated, where a program
 * running as root could change a linked object.
 */
static int materialise(struct store *s, const struct thunk *t, const char *root, bool copies,
                       struct bound *b, struct timespec *mtimes)
{
	for (size_t i = 0; i < t->ninputs; i++) {
		const struct thunk_input *in = &t->inputs[i];
		char *src, *dst = xasprintf("%s/%s", root, in->path);
		int r = make_parents(root, in->path);
		if (r == 0 && in->link) {
			/* a symbolic link: its target is the value (store.h) */
			struct stat st;
			char *target = NULL;
			if (store_read_link(s, &in->ref.name, &target) < 0)
				r = gg_error("cannot place input %s: %s", in->path,
				             gg_last_error());
			else if (symlink(target, dst) < 0)
				r = gg_error_errno("cannot place input %s (%s)", in->path,
				                   in->ref.name.s);
			else if (lstat(dst, &st) == 0)
				mtimes[i] = st.st_mtim;
			free(target);
			free(dst);
			if (r < 0)
				return -1;
			continue;
		}
		bool bind = b && !copies && b->src.n < MAX_BOUND_INPUTS;
		struct stat checked; /* the object's inode as it was checked */
		if (r == 0 &&
		    store_object_path_stat(s, &in->ref.name, in->exec, &src, &checked) < 0)
			r = gg_error("cannot place input %s (%s): %s", in->path, in->ref.name.s,
			             gg_last_error());
		if (r == 0) {
			struct stat st;
			if (bind)
				b->was[i] = checked;
			if ((bind     ? bind_input(b, root, i, in->path, src, dst)
			     : copies ? copy_input(src, &checked, dst)
			              : link_input(src, &checked, dst)) < 0)
				r = errno == ESTALE
				        ? gg_error(
				              "cannot place input %s: its object %s was replaced "
				              "in the store after it was checked",
				              in->path, in->ref.name.s)
				        : gg_error_errno("cannot place input %s (%s)", in->path,
				                         in->ref.name.s);
			else if (bind)
				mtimes[i] = b->was[i].st_mtim;
			else if (stat(dst, &st) == 0)
				mtimes[i] = st.st_mtim;
			free(src);
		}
		free(dst);
		if (r < 0)
			return -1;
	}
	for (size_t i = 0; i < t->outputs.n; i++)
		if (make_parents(root, t->outputs.v[i]) < 0)
			return -1;
	return 0;
}

/* Whether st shows input i's object as it was placed (mtimes[i]). */
static bool object_unchanged(const struct thunk_input *in, const struct stat *st,
                             const struct timespec *mtime)
{
	return S_ISREG(st->st_mode) && (uint64_t)st->st_size == gg_name_size(&in->ref.name) &&
	       st->st_mtim.tv_sec == mtime->tv_sec && st->st_mtim.tv_nsec == mtime->tv_nsec;
}

/*
 * Whether the program changed its inputs; false, or true with the error set.
 * Copies are its own. A linked input is a store object: run as root the
 * sandbox cannot write it, run as an ordinary user it could (the mapped root
 * owns it); a changed size or mtime means it did, so the thunk fails and the
 * damaged object is removed from the store. A bound input cannot be written
 * (read-only), but its mount point can be moved away with its directory.
 */
static bool inputs_changed(struct store *s, const struct thunk *t, int rootfd, bool copies,
                           const struct bound *b, const struct timespec *mtimes)
{
	for (size_t i = 0; i < t->ninputs; i++) {
		const struct thunk_input *in = &t->inputs[i];
		if (in->link)
			continue; /* not a store object: nothing the program can damage */
		/* beneath the directory: a link put in place of a directory
		 * counts as removing the input */
		int fd = beneath_open(rootfd, in->path, O_PATH, 0);
		struct stat st, ost;
		bool there = fd >= 0 && fstat(fd, &st) == 0;
		if (fd >= 0)
			close(fd);
		const char *obj = b && b->obj ? b->obj[i] : NULL;
		bool damaged;
		if (obj) {
			there = there && S_ISREG(st.st_mode) && st.st_dev == b->point_dev &&
			        st.st_ino == b->point_ino;
			/* the inode it was shown, if that is still the object: one
			 * removed or replaced since (gg gc, a quarantine) is not the
			 * program's doing */
			damaged = stat(obj, &ost) == 0 && same_inode(&ost, &b->was[i]) &&
			          !object_unchanged(in, &ost, &mtimes[i]);
		} else {
			damaged = !there || !object_unchanged(in, &st, &mtimes[i]);
		}
		if ((!there || damaged) && copies) {
			gg_error("the program modified, removed or made writable its input '%s' "
			         "(a copy: the store is unchanged)",
			         in->path);
			return true;
		}
		if (damaged) {
			char *path;
			if (store_object_path_mode(s, &in->ref.name, in->exec, &path) == 0) {
				unlink(path);
				free(path);
			}
			gg_error("the program modified, removed or made writable its input '%s'; "
			         "that object "
			         "was removed from the store (run 'gg thunk' again to re-add it)",
			         in->path);
			return true;
		}
		if (!there) {
			gg_error("the program removed or replaced its input '%s' (shown read-only: "
			         "the store is unchanged)",
			         in->path);
			return true;
		}
	}
	return false;
}

static char *read_tail(const char *path, size_t max)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return xstrdup("");
	struct stat st;
	off_t off = 0;
	if (fstat(fd, &st) == 0 && (uint64_t)st.st_size > max)
		off = st.st_size - (off_t)max;
	lseek(fd, off, SEEK_SET);
	struct buf b = BUF_INIT;
	read_fd_all(fd, &b, max + 1);
	close(fd);
	/* keep it printable: NULs would cut the message */
	for (size_t i = 0; i < b.len; i++)
		if (b.data[i] == 0)
			b.data[i] = '?';
	return buf_steal(&b);
}

/*
 * What a successful program wrote on stderr (its last STDERR_KEEP bytes) is
 * kept with its outputs, so that it is shown when the thunk runs and by
 * `gg log`, as make shows a compiler's warnings.
 */
static int keep_stderr(struct store *s, const char *err, struct exec_result *r)
{
	struct stat st;
	if (stat(err, &st) < 0 || st.st_size == 0)
		return 0;
	char *text = read_tail(err, STDERR_KEEP);
	int ret = store_put_buf(s, text, strlen(text), GG_VALUE, &r->outputs.stderr_value);
	r->outputs.has_stderr = ret == 0;
	free(text);
	return ret;
}

static char *describe_status(int st, bool timed_out, uint64_t timeout_ms)
{
	if (timed_out)
		return xasprintf("timed out after %llu ms", (unsigned long long)timeout_ms);
	if (WIFEXITED(st))
		return xasprintf("exited with status %d", WEXITSTATUS(st));
	if (WIFSIGNALED(st))
		return xasprintf("killed by signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
	return xasprintf("ended with wait status %d", st);
}

/* Why output o, opened beneath the directory, cannot be stored (malloc'd),
 * or NULL. Refused: anything but a regular file of its own or a symbolic
 * link (collect_link). */
static char *refuse_output(const char *o, const struct stat *st)
{
	if (S_ISLNK(st->st_mode))
		return NULL;
	const char *what = S_ISDIR(st->st_mode)                           ? "a directory"
	                   : S_ISFIFO(st->st_mode)                        ? "a FIFO"
	                   : S_ISSOCK(st->st_mode)                        ? "a socket"
	                   : S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode) ? "a device node"
	                   : S_ISREG(st->st_mode)                         ? NULL
	                                                                  : "of an unknown type";
	if (what)
		return xasprintf("output '%s' is %s, not a regular file", o, what);
	if (st->st_nlink != 1)
		return xasprintf("output '%s' has %llu hard links: an output must be a file of its "
		                 "own, not a link to an input or to another file",
		                 o, (unsigned long long)st->st_nlink);
	return NULL;
}

/* Why opening output o beneath the directory failed with err (malloc'd). */
static char *unreachable_output(const char *o, int err)
{
	switch (err) {
	case ENOENT:
	case ENOTDIR: return xasprintf("exited with status 0 but did not produce output '%s'", o);
	case ELOOP:
		return xasprintf(
		    "output '%s' is reached through a symbolic link (a directory on its "
		    "path was replaced by a link); links are never followed",
		    o);
	case EXDEV: return xasprintf("output '%s' is reached through a mount point", o);
	case EINVAL: return xasprintf("output '%s' is not a path inside the thunk's directory", o);
	default: return xasprintf("cannot open output '%s': %s", o, strerror(err));
	}
}

/*
 * Opens for reading the regular file the O_PATH descriptor pfd refers to,
 * never anything else: through /proc/self/fd, or, without /proc, as the name
 * last in its directory dfd again (O_NONBLOCK: a FIFO swapped in meanwhile
 * cannot block) and checked to be the same file.
 */
static int reopen_output(int pfd, int dfd, const char *last, const struct stat *st)
{
	char proc[64];
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", pfd);
	int fd = open(proc, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 && errno == ENOENT)
		fd = beneath_open(dfd, last, O_RDONLY | O_NOCTTY | O_NONBLOCK, 0);
	struct stat now;
	if (fd >= 0 &&
	    (fstat(fd, &now) < 0 || now.st_dev != st->st_dev || now.st_ino != st->st_ino)) {
		close(fd);
		errno = ESTALE;
		return -1;
	}
	return fd;
}

/*
 * A symbolic link output, open as the O_PATH descriptor pfd (the link
 * itself): its target is read from the descriptor (never followed, never
 * looked up by path), checked (store.h: relative, no ".."), and stored as a
 * value of kind link. NULL, or why not (malloc'd; a store failure too).
 */
static char *collect_link(struct store *s, int pfd, const char *o, struct exec_result *r)
{
	char target[PATH_MAX];
	ssize_t n = readlinkat(pfd, "", target, sizeof target);
	if (n < 0)
		return xasprintf("cannot read the symbolic link output '%s': %s", o,
		                 strerror(errno));
	char *what = xasprintf("output '%s'", o);
	struct gg_name v;
	int rc = (size_t)n >= sizeof target ? gg_error("output '%s': a symbolic link's target "
	                                               "is longer than %d bytes",
	                                               o, PATH_MAX - 1)
	                                    : link_target_check(what, target, (size_t)n);
	free(what);
	if (rc == 0 && store_put_buf(s, target, (size_t)n, GG_VALUE, &v) < 0)
		return xasprintf("cannot store output '%s': %s", o, gg_last_error());
	if (rc < 0)
		return xstrdup(gg_last_error());
	memo_add_link(&r->outputs, o, &v);
	return NULL;
}

/*
 * Stores every declared output, by descriptors only: each output's directory
 * is opened beneath the run directory (no link followed, no mount crossed),
 * once, and the output itself as its last name there (beneath_open of one
 * component: a mount point there is refused too). It must be a regular file
 * with one link, stored from its descriptor, or a symbolic link, stored as
 * its target (collect_link). may_link: nothing can write the directory any
 * more (an isolated run, all of its processes gone), so an output may become
 * its object without a copy (and then leaves the directory at once:
 * store_adopt_fd, given its name in that same directory).
 */
static int collect(struct store *s, const struct thunk *t, int rootfd, bool may_link,
                   struct exec_result *r)
{
	for (size_t i = 0; i < t->outputs.n; i++) {
		const char *o = t->outputs.v[i];
		struct stat st;
		char *why = NULL;
		const char *last = NULL;
		int fd = -1, pfd = -1, dfd = beneath_open_parent(rootfd, o, &last);
		if (dfd < 0 || (pfd = beneath_open(dfd, last, O_PATH, 0)) < 0)
			why = unreachable_output(o, errno);
		else if (fstat(pfd, &st) < 0)
			why = xasprintf("cannot stat output '%s': %s", o, strerror(errno));
		else if (!(why = refuse_output(o, &st)) && !S_ISLNK(st.st_mode) &&
		         (fd = reopen_output(pfd, dfd, last, &st)) < 0)
			why = xasprintf("cannot open output '%s': %s", o, strerror(errno));
		if (!why && S_ISLNK(st.st_mode)) {
			why = collect_link(s, pfd, o, r);
			close(pfd);
			close(dfd);
			if (!why)
				continue;
			pfd = dfd = -1;
		}
		if (pfd >= 0)
			close(pfd);
		if (why) {
			if (dfd >= 0)
				close(dfd);
			r->outcome = EXEC_PROGRAM_FAILED;
			r->why = why;
			memo_free(&r->outputs);
			return 0;
		}
		struct gg_name n;
		int rc = store_adopt_fd(s, fd, may_link ? dfd : -1, may_link ? last : NULL, &n);
		close(dfd);
		close(fd);
		if (rc < 0)
			return gg_error("cannot store output '%s': %s", o, gg_last_error());
		memo_add(&r->outputs, o, &n, (st.st_mode & 0100) != 0);
	}
	r->outcome = EXEC_OK;
	return 0;
}

int exec_thunk(struct store *s, const struct thunk *t, const struct exec_opts *o,
               struct exec_result *r)
{
	memset(r, 0, sizeof *r);
	r->t_start = now_ns();
	if (!thunk_is_reduced(t))
		return gg_error("internal error: executing a thunk with unresolved inputs");
	char *root;
	int lock_fd; /* held while the run lasts: see rundir.h */
	if (rundir_create(s, &root, &lock_fd) < 0)
		return -1;
	chmod(root, 0755);
	/* Everything after the run goes through this descriptor (beneath.h). */
	int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		int e = errno;
		remove_tree(root);
		rundir_release(lock_fd);
		errno = e;
		gg_error_errno("cannot open %s", root);
		free(root);
		return -1;
	}
	char *out = xasprintf("%s.stdout", root), *err = xasprintf("%s.stderr", root);
	struct timespec *mtimes = xcalloc(t->ninputs ? t->ninputs : 1, sizeof *mtimes);
	/* Unisolated, the program could write a linked object (as root, even
	 * a 0444 one, and reset its mtime): it gets copies. */
	bool copies = o->no_isolation || !sandbox_available();
	struct bound bound = {.src = STRVEC_INIT, .dst = STRVEC_INIT};
	bool binds = !copies && !o->keep_dir && sandbox_binds_available();
	if (binds) {
		bound.obj = xcalloc(t->ninputs ? t->ninputs : 1, sizeof *bound.obj);
		bound.was = xcalloc(t->ninputs ? t->ninputs : 1, sizeof *bound.was);
		bound.id = xcalloc(t->ninputs ? t->ninputs : 1, sizeof *bound.id);
	}
	int ret = materialise(s, t, root, copies, binds ? &bound : NULL, mtimes);
	r->t_ran = now_ns();
	uint64_t mem = o->limits.memory ? o->limits.memory : default_memory();
	uint64_t procs = o->limits.procs ? o->limits.procs : DEFAULT_PROCS;
	struct cgroup_run cg = {0};
	if (ret == 0) {
		uint64_t timeout = t->timeout_ms           ? t->timeout_ms
		                   : o->default_timeout_ms ? o->default_timeout_ms
		                   : o->limits.timeout_ms  ? o->limits.timeout_ms
		                                           : DEFAULT_TIMEOUT_MS;
		if (timeout == EXEC_NO_LIMIT)
			timeout = 0;
		/* the carrier's deadline comes first when it is nearer */
		bool by_deadline = false;
		if (o->deadline_ns) {
			uint64_t now = now_ns();
			uint64_t left =
			    o->deadline_ns > now ? (o->deadline_ns - now) / 1000000u : 0;
			if (!timeout || left < timeout) {
				timeout = left;
				by_deadline = true;
			}
		}
		make_cgroup(o, mem, procs, &cg);
		struct sandbox_spec spec = {
		    .root = root,
		    .exe = t->exe,
		    .argv = t->argv.v,
		    .env = t->env.v ? t->env.v : (char *[]){NULL},
		    .timeout_ms = timeout,
		    .stdout_path = out,
		    .stderr_path = err,
		    .no_isolation = o->no_isolation,
		    .cancel = o->cancel,
		    .cgroup = &cg,
		    /* rlimits: the last fallback (see exec.h) */
		    .max_procs = cg.version ? 0 : procs,
		    .max_memory =
		        cg.version || o->limits.memory == EXEC_NO_LIMIT ? 0 : o->limits.memory,
		    .bind_src = (const char *const *)bound.src.v,
		    .bind_dst = (const char *const *)bound.dst.v,
		    .nbinds = bound.src.n,
		    .bind_id = bound.id,
		};
		struct sandbox_result sr;
		memset(&sr, 0, sizeof sr);
		if (by_deadline && timeout == 0) {
			/* nothing left of the time the carrier gives: not started */
			ret = 0;
			sr.timed_out = true;
		} else {
			ret = sandbox_run(&spec, &sr);
		}
		r->t_run_end = now_ns();
		r->leftovers = sr.leftovers;
		if (ret == 0 && by_deadline && sr.timed_out) {
			r->outcome = EXEC_PROGRAM_FAILED;
			r->deadline_hit = r->timed_out = true;
			r->why =
			    xasprintf("stopped at the deadline of its carrier after %llu ms",
			              (unsigned long long)((r->t_run_end - r->t_ran) / 1000000u));
			r->stderr_tail = read_tail(err, STDERR_TAIL);
		} else if (ret < 0 && sr.exec_errno) {
			/* Deterministic (e.g. a script whose interpreter is not an
			 * input): a program failure, not worth retrying. */
			r->outcome = EXEC_PROGRAM_FAILED;
			r->why = xstrdup(gg_last_error());
			r->stderr_tail = xstrdup("");
			ret = 0;
		} else if (ret == 0 && inputs_changed(s, t, rootfd, copies, &bound, mtimes)) {
			r->outcome = EXEC_PROGRAM_FAILED;
			r->why = xstrdup(gg_last_error());
			r->stderr_tail = read_tail(err, STDERR_TAIL);
		} else if (ret == 0) {
			r->wait_status = sr.wait_status;
			r->has_status = true;
			r->timed_out = sr.timed_out;
			r->isolated = sr.isolated;
			r->stderr_tail = read_tail(err, STDERR_TAIL);
			bool failed = sr.timed_out || sr.procs_limit ||
			              !WIFEXITED(sr.wait_status) ||
			              WEXITSTATUS(sr.wait_status) != 0;
			char *limit = cg.version && !sr.cancelled
			                  ? limit_reason(&cg, sr.procs_limit, failed, mem, procs)
			                  : NULL;
			if (sr.cancelled) {
				r->outcome = EXEC_PROGRAM_FAILED;
				r->why = xstrdup("cancelled");
			} else if (limit) {
				r->outcome = EXEC_PROGRAM_FAILED;
				r->limit_hit = true;
				r->why = limit;
			} else if (sr.supervisor_lost) {
				r->outcome = EXEC_PROGRAM_FAILED;
				r->why =
				    xstrdup("its supervisor was killed before the program's end "
				            "was seen (unsandboxed, the program runs as you and "
				            "can do that): what it started may still run");
			} else if (sr.timed_out || !WIFEXITED(sr.wait_status) ||
			           WEXITSTATUS(sr.wait_status) != 0) {
				r->outcome = EXEC_PROGRAM_FAILED;
				r->why = describe_status(sr.wait_status, sr.timed_out, timeout);
			} else {
				/* a kept directory keeps its outputs (not linked
				 * into the store, which would remove them) */
				ret = collect(s, t, rootfd, sr.isolated && !o->keep_dir, r);
				if (ret == 0 && r->outcome == EXEC_OK)
					ret = keep_stderr(s, err, r);
			}
		}
	} else {
		r->t_run_end = r->t_ran;
	}
	if (!o->keep_dir) {
		char *keep = ret < 0 ? xstrdup(gg_last_error()) : NULL;
		unlink(out); /* first: a .stdout never outlives its directory */
		unlink(err);
		if (bound.point)
			unlink(bound.point); /* before: once the directory is gone, the name may be
			                        another run's */
		remove_tree(root);
		if (keep) {
			gg_error("%s", keep);
			free(keep);
		}
	}
	/* After collection and cleanup: without a namespace, processes the
	 * program left running end only now (they may have raced both). */
	if (cg.version)
		cgroup_run_destroy(&cg);
	bound_free(&bound);
	close(rootfd);
	rundir_release(lock_fd);
	free(mtimes);
	free(out);
	free(err);
	free(root);
	r->t_end = now_ns();
	return ret;
}

void exec_result_free(struct exec_result *r)
{
	free(r->stderr_tail);
	free(r->why);
	memo_free(&r->outputs);
	memset(r, 0, sizeof *r);
}
