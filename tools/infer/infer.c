/**
 * @file infer.c
 * `gg infer BUILD-COMMAND`: runs a real build in which each compiler, linker
 * and archiver step writes thunks and a placeholder instead of doing the
 * work; and the dispatch from a tool to its model.
 *
 * Interception. The build runs in a private mount namespace in which this
 * binary is bind-mounted over the file of each real tool (the end of the
 * symlink chain of /usr/bin/cc, gcc, ar, ...: one bind covers every name that
 * leads there), so a tool is caught however the build names it: by PATH,
 * /usr/bin/cc, /usr/bin/x86_64-linux-gnu-gcc-12, a cached $(CC). Which model
 * runs is decided by the file the exec reached (its real path, listed in
 * $GG_INFER_TOOLS), not by the name it was called by.
 *
 * Two namespaces: `gg infer` first moves into a copy of the mount namespace
 * (A, unshare(CLONE_NEWUSER|CLONE_NEWNS) when not root), the build into a
 * second one (B) with the binds. A model first joins A again (setns through
 * /proc/PID/ns/mnt of `gg infer`, $GG_INFER_NS), where every path means what
 * it means outside: it hashes the real tools, and the real gcc it runs finds
 * the real as, collect2 and ld, so nothing loops back into a model and no
 * file descriptor has to survive the build (make, cmake and Python close
 * theirs). Joining needs CAP_SYS_ADMIN in A's user namespace: without root
 * the build gets it as an ambient capability of that namespace only (it
 * grants nothing outside it), and `gg infer` drops all of its own, which
 * /proc/PID/ns access requires. Measured on a shared 2-core machine:
 * `gg infer true` takes 14 ms with the namespaces (37 ms without; noise), and
 * a model run costs 1.5-2 ms more than through PATH (200 runs of a
 * passthrough model: 1.6-1.8 s against 1.2-1.5 s), small beside a compile.
 * An exec hook (LD_PRELOAD) was not chosen: it misses static binaries and
 * direct syscalls, and must be right for every exec* variant.
 *
 * Where namespaces cannot be made (no user namespaces, a container without
 * CAP_SYS_ADMIN, GG_INFER_NS=off) the models go first on PATH instead, which
 * catches only tools called by name: a note says so.
 *
 * A temp directory of symlinks to this binary is first on PATH in either case
 * for gg-run (placeholders) and $GG_INFER_GENERIC tools; with namespaces it
 * holds no compilers, so nothing temporary is found by configure or CMake.
 * The models find the real PATH on $GG_INFER_REALPATH (and take the
 * command's own PATH less $GG_INFER_MODELS, their directory), the store on $GG_DIR,
 * the base of relative thunk paths on $GG_INFER_BASE, and log to
 * $GG_INFER_LOG. It does not run thunks: forcing is `gg force`'s job.
 */
#include "tools/infer/infer.h"
#include "tools/command.h"

#include "core/closure.h"
#include "core/process.h"
#include "tools/infer/infer_model.h"
#include "tools/infer/model_generic.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const char help[] =
    "usage: gg infer [-v] BUILD-COMMAND [ARG...]\n"
    "\n"
    "Runs the build with models of cc, gcc, g++, c++, clang, clang++, ld, as, ar,\n"
    "ranlib and strip bound over the real tools in a private mount namespace, so\n"
    "absolute paths are caught too (and of nm, objdump, readelf, objcopy and\n"
    "size, which force placeholder arguments). Each model stores thunks and leaves a\n"
    "placeholder where the output would be; `gg force` (or running a placeholder)\n"
    "does the work later. Commands a model cannot defer run for real and are\n"
    "logged to .gg/infer.log.\n"
    "\n"
    "  -v, --verbose   say on stderr what each model does\n"
    "\n"
    "Environment: GG_INFER_BASE (the directory thunk paths are relative to;\n"
    "default: here), GG_INFER_BYPASS=1 (models run the real tools), GG_DIR,\n"
    "GG_INFER_NS=off (models first on PATH: absolute paths are not caught),\n"
    "GG_INFER_SHARE_DIR (-g compiles below it record \".\" as their directory,\n"
    "so checkouts at different paths share results).\n";

static const struct {
	const char *name;
	int (*fn)(struct model_ctx *);
	bool optional; /* only linked when installed */
} models[] = {
    {"cc", model_gcc, false},
    {"gcc", model_gcc, false},
    {"g++", model_gcc, false},
    {"c++", model_gcc, false},
    {"clang", model_clang, true},
    {"clang++", model_clang, true},
    {"ld", model_ld, false},
    {"as", model_as, false},
    {"ar", model_ar, false},
    {"ranlib", model_ranlib, false},
    {"strip", model_strip, false},
    {"nm", model_passthrough, false},
    {"objdump", model_passthrough, false},
    {"readelf", model_passthrough, false},
    {"objcopy", model_passthrough, false},
    {"size", model_passthrough, false},
};

/* The spec of a tool described in $GG_INFER_GENERIC (malloc'd), or NULL. */
static char *generic_spec(const char *tool)
{
	const char *specs = getenv("GG_INFER_GENERIC");
	return specs && *specs ? model_generic_find(specs, tool) : NULL;
}

bool infer_is_model(const char *name)
{
	for (size_t i = 0; i < GG_ARRAY_LEN(models); i++)
		if (!strcmp(models[i].name, name))
			return true;
	char *spec = generic_spec(name);
	free(spec);
	return spec != NULL;
}

static char *generic_map(void *ctx, const char *host_path)
{
	return model_map(ctx, host_path);
}

int model_generic_tool(struct model_ctx *m, const char *spec)
{
	if (model_open_store(m) < 0)
		return model_fallback(m, "no store: %s", gg_last_error());
	struct model_generic_opts o = {
	    .search_path = m->realpath, .map = generic_map, .map_ctx = m};
	struct gg_name name;
	if (model_generic(m->store, spec, m->argc, m->argv, &o, &name) < 0)
		return model_fallback(m, "generic model: %s", gg_last_error());
	model_log(m, "generic model -> %s", name.s);
	return 0;
}

/* ---- the private mount namespace ---- */

#define ENV_NS    "GG_INFER_NS"
#define ENV_TOOLS "GG_INFER_TOOLS"

/* Capability sets of this process in its user namespace. */
static int caps_get(struct __user_cap_data_struct d[2])
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	return (int)syscall(SYS_capget, &h, d);
}

static int caps_set(struct __user_cap_data_struct d[2])
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	return (int)syscall(SYS_capset, &h, d);
}

/* What setns(CLONE_NEWNS) needs, kept across the build's execs (not root). */
static const int ns_caps[] = {CAP_SYS_ADMIN, CAP_SYS_CHROOT};

static int raise_ambient(void)
{
	struct __user_cap_data_struct d[2];
	if (caps_get(d) < 0)
		return gg_error_errno("capget");
	for (size_t i = 0; i < GG_ARRAY_LEN(ns_caps); i++)
		d[ns_caps[i] / 32].inheritable |= 1u << (ns_caps[i] % 32);
	if (caps_set(d) < 0)
		return gg_error_errno("capset");
	for (size_t i = 0; i < GG_ARRAY_LEN(ns_caps); i++)
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, (unsigned long)ns_caps[i], 0, 0) <
		    0)
			return gg_error_errno("cannot keep capability %d for the build",
			                      ns_caps[i]);
	return 0;
}

static int write_small(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return gg_error_errno("cannot open %s", path);
	int r = write_all(fd, text, strlen(text));
	close(fd);
	return r < 0 ? gg_error_errno("cannot write %s", path) : 0;
}

/*
 * Moves `gg infer` into namespace A (see the top of this file). 1 when done,
 * 0 when namespaces are unavailable here (the caller falls back to PATH;
 * *why says why), -1 on an error after the point of no return.
 */
static int ns_enter_a(const char **why)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	int flags = uid == 0 ? CLONE_NEWNS : CLONE_NEWUSER | CLONE_NEWNS;
	if (unshare(flags) < 0) {
		*why = strerror(errno);
		return 0;
	}
	if (uid != 0) {
		char map[64];
		if (write_small("/proc/self/setgroups", "deny") < 0)
			return -1;
		snprintf(map, sizeof map, "%u %u 1", (unsigned)uid, (unsigned)uid);
		if (write_small("/proc/self/uid_map", map) < 0)
			return -1;
		snprintf(map, sizeof map, "%u %u 1", (unsigned)gid, (unsigned)gid);
		if (write_small("/proc/self/gid_map", map) < 0)
			return -1;
	}
	/* Nothing mounted in B may propagate back into A or the host. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return gg_error_errno("cannot make the mounts private");
	return 1;
}

/* Is `name` a model's name (the table's own string) or NULL. */
static const char *model_name(const char *name, size_t len)
{
	for (size_t i = 0; i < GG_ARRAY_LEN(models); i++)
		if (strlen(models[i].name) == len && !strncmp(models[i].name, name, len))
			return models[i].name;
	return NULL;
}

/*
 * The real tool files to bind over and $GG_INFER_TOOLS: "FILE=MODEL" lines,
 * one for each model name whose real program (on the real PATH, symlinks
 * resolved) is FILE. `self` (this binary) is never a tool.
 */
static void ns_tools(const char *search, const char *self, struct strvec *files, struct buf *env)
{
	struct stat me;
	bool have_me = stat(self, &me) == 0;
	for (size_t i = 0; i < GG_ARRAY_LEN(models); i++) {
		char *w = closure_which(models[i].name, search);
		char real[PATH_MAX];
		struct stat st;
		if (w && realpath(w, real) && stat(real, &st) == 0 && S_ISREG(st.st_mode) &&
		    !(have_me && same_inode(&st, &me))) {
			buf_printf(env, "%s=%s\n", real, models[i].name);
			bool seen = false;
			for (size_t k = 0; k < files->n; k++)
				seen |= !strcmp(files->v[k], real);
			if (!seen)
				strvec_push(files, real);
		}
		free(w);
	}
}

/* The parent of process `pid` (/proc/PID/stat), or 0. */
static pid_t parent_of(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	struct buf b = BUF_INIT;
	int ppid = 0;
	if (read_file(path, &b, 4096) == 0 && b.len) {
		/* "PID (COMM) STATE PPID ...": COMM may hold spaces and ')' */
		const char *r = memrchr(b.data, ')', b.len);
		char state;
		if (!r || sscanf(r + 1, " %c %d", &state, &ppid) != 2)
			ppid = 0;
	}
	buf_free(&b);
	return (pid_t)ppid;
}

/* Does a $GG_INFER_TOOLS list ("FILE=MODEL" lines) name FILE `real`? */
static bool tools_list_names(const char *list, const char *real)
{
	size_t n = strlen(real);
	for (const char *p = list; *p;) {
		const char *nl = strchr(p, '\n');
		const char *end = nl ? nl : p + strlen(p);
		if ((size_t)(end - p) > n && p[n] == '=' && !strncmp(p, real, n))
			return true;
		p = nl ? nl + 1 : end;
	}
	return false;
}

/* The process whose environment gave gg infer's variables (0: our own). */
static pid_t env_donor;

/*
 * A tool the build started with a cleared environment (`env -i /usr/bin/cc`)
 * still reaches this binary through its bind, but without $GG_INFER_*. Takes
 * gg infer's variables (GG_INFER_* and GG_DIR, nothing else: the rest stays
 * as the build set it) from the nearest ancestor that has $GG_INFER_TOOLS,
 * if that list names the file the exec reached (`real`). A process detached
 * from the build is adopted by the build's first process (a subreaper, see
 * enter_build_ns), which has them. False when no ancestor has it (a process
 * that outlived the build).
 */
static bool env_recover(const char *real)
{
	pid_t p = getppid();
	for (int depth = 0; p > 1 && depth < 256; p = parent_of(p), depth++) {
		char path[64];
		snprintf(path, sizeof path, "/proc/%d/environ", (int)p);
		struct buf b = BUF_INIT;
		if (read_file(path, &b, 1u << 22) < 0) {
			buf_free(&b); /* not ours to read: look further up */
			continue;
		}
		const char *tools = NULL;
		for (size_t i = 0; i < b.len; i += strnlen(b.data + i, b.len - i) + 1)
			if (!strncmp(b.data + i, ENV_TOOLS "=", strlen(ENV_TOOLS) + 1))
				tools = b.data + i + strlen(ENV_TOOLS) + 1;
		bool ours = tools && b.data[b.len - 1] == 0 && tools_list_names(tools, real);
		for (size_t i = 0; ours && i < b.len; i += strlen(b.data + i) + 1) {
			char *e = b.data + i, *eq = strchr(e, '=');
			if (!eq || (strncmp(e, "GG_INFER_", 9) && strncmp(e, "GG_DIR=", 7)))
				continue;
			*eq = 0;
			setenv(e, eq + 1, 1);
			*eq = '=';
		}
		buf_free(&b);
		if (tools) {
			env_donor = ours ? p : 0;
			return ours;
		}
	}
	return false;
}

/* Is `path` the root of a mount (a file gg infer bound this binary over)? */
static bool is_mount_point(const char *path)
{
	struct statx stx;
	return statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, 0, &stx) == 0 &&
	       (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
	       (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

/* Was this process started as a tool gg infer bound over, found no variables? */
static bool bound_orphan;

bool infer_bound_orphan(void)
{
	return bound_orphan;
}

const char *infer_bound_model(const char *argv0)
{
	const char *list = getenv(ENV_TOOLS);
	const char *fn = (const char *)getauxval(AT_EXECFN);
	char real[PATH_MAX];
	if (!fn)
		return NULL;
	if (!list || !*list) {
		/* Quick for gg itself: only a program not called gg may be a bound tool. */
		const char *b = strrchr(fn, '/');
		if (!strcmp(b ? b + 1 : fn, "gg") || !realpath(fn, real))
			return NULL;
		b = strrchr(real, '/');
		if (!strcmp(b ? b + 1 : real, "gg"))
			return NULL;
		if (!env_recover(real)) {
			bound_orphan = is_mount_point(real);
			return NULL;
		}
		list = getenv(ENV_TOOLS);
	} else if (!realpath(fn, real)) {
		return NULL;
	}
	/* The name the build used when it names this program, else the first. */
	const char *base = strrchr(argv0, '/');
	base = base ? base + 1 : argv0;
	const char *first = NULL;
	size_t n = strlen(real);
	for (const char *p = list; *p;) {
		const char *nl = strchr(p, '\n');
		const char *end = nl ? nl : p + strlen(p);
		const char *eq = end;
		while (eq > p && eq[-1] != '=')
			eq--;
		if (eq > p && (size_t)(eq - 1 - p) == n && !strncmp(p, real, n)) {
			const char *name = model_name(eq, (size_t)(end - eq));
			if (name && !first)
				first = name;
			if (name && !strcmp(name, base))
				return name;
		}
		p = nl ? nl + 1 : end;
	}
	return first;
}

/*
 * A model joins namespace A, where no tool is bound over: it reads the real
 * tools and runs them, and their children (gcc's as, collect2, ld) are the
 * real ones. Its own children keep no capabilities.
 */
static int ns_join_a(void)
{
	const char *ns = getenv(ENV_NS);
	if (!ns || !*ns || !strcmp(ns, "off"))
		return 0;
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof cwd))
		return gg_error_errno("cannot get the current directory");
	int fd = open(ns, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return gg_error_errno("cannot open %s (gg infer's mount namespace; has it exited?)",
		                      ns);
	int r = setns(fd, CLONE_NEWNS);
	close(fd);
	if (r < 0)
		return gg_error_errno("cannot join gg infer's mount namespace %s", ns);
	if (chdir(cwd) < 0)
		return gg_error_errno("cannot return to %s", cwd);
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	return 0;
}

/* A path in CMake's probe directories (compiler identification, try_compile)? */
static bool in_cmake_probe(const char *path)
{
	char *slashed = xasprintf("/%s", path);
	bool r = false;
	for (const char *p = strstr(slashed, "/CMakeFiles/"); p && !r;
	     p = strstr(p + 1, "/CMakeFiles/")) {
		const char *c = p + strlen("/CMakeFiles/");
		r = !strncmp(c, "CMakeScratch/", 13) || !strncmp(c, "CMakeTmp/", 9) ||
		    !strcmp(c, "CMakeTmp") || (*c >= '0' && *c <= '9');
	}
	free(slashed);
	return r;
}

/*
 * Is the parent process a configure script ("sh ./configure ...")? Its
 * compiles are probes whatever their files are called (zlib's ztestNNN.c).
 */
static bool parent_is_configure(void)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/cmdline", (int)getppid());
	struct buf b = BUF_INIT;
	bool r = false;
	if (read_file(path, &b, 1u << 16) == 0 && b.len) {
		/* argv[0] (a script run directly) or argv[1] (sh SCRIPT) */
		const char *a0 = b.data, *a1 = memchr(b.data, 0, b.len);
		a1 = a1 && a1 + 1 < b.data + b.len ? a1 + 1 : "";
		for (int i = 0; i < 2 && !r; i++) {
			const char *a = i ? a1 : a0, *slash = strrchr(a, '/');
			r = !strcmp(slash ? slash + 1 : a, "configure");
		}
	}
	buf_free(&b);
	return r;
}

/*
 * Why a command is a configure probe, or NULL. A probe runs for real:
 * configure reads its result at once (CMake scans the compiler-id binary for
 * its strings), and nothing lazy may stay behind in the configured tree.
 */
static const char *probe_why(const struct model_ctx *m)
{
	if (in_cmake_probe(m->cwd))
		return "a CMake configure probe";
	if (parent_is_configure())
		return "a configure probe (run by configure)";
	for (int i = 1; i < m->argc; i++) {
		const char *a = m->argv[i];
		const char *eq = a[0] == '-' ? strchr(a, '=') : NULL;
		const char *path = eq ? eq + 1 : a;
		const char *base = strrchr(path, '/');
		base = base ? base + 1 : path;
		if (in_cmake_probe(path))
			return "a CMake configure probe";
		if (!strncmp(base, "conftest", 8))
			return "a configure probe (conftest)";
	}
	return NULL;
}

int infer_model_main(const char *tool, int argc, char **argv)
{
	struct model_ctx m;
	if (ns_join_a() < 0 || model_ctx_init(&m, argc, argv) < 0) {
		fprintf(stderr, "gg infer: %s: %s\n", tool, gg_last_error());
		return 127;
	}
	m.tool = tool;
	const char *probe = probe_why(&m);
	if (probe) {
		int prc = model_fallback(&m, "%s", probe);
		model_ctx_free(&m);
		return prc;
	}
	if (env_donor)
		model_log(&m,
		          "started with a cleared environment: gg infer's variables taken "
		          "from its parent process %d",
		          (int)env_donor);
	int rc = 127;
	bool found = false;
	for (size_t i = 0; i < GG_ARRAY_LEN(models); i++)
		if (!strcmp(models[i].name, m.tool)) {
			rc = models[i].fn(&m);
			found = true;
		}
	char *spec = found ? NULL : generic_spec(m.tool);
	if (spec)
		rc = model_generic_tool(&m, spec);
	free(spec);
	model_ctx_free(&m);
	return rc;
}

/* Counts the log lines written since offset: outputs deferred and real runs. */
static void summary(const char *log, off_t from)
{
	struct buf b = BUF_INIT;
	if (read_file(log, &b, 1u << 30) < 0 || (size_t)from > b.len) {
		buf_free(&b);
		return;
	}
	size_t deferred = 0, real = 0;
	for (char *p = b.data + from; p && *p;) {
		char *nl = strchr(p, '\n');
		if (nl)
			*nl = 0;
		if (strstr(p, ": ran the real tool: "))
			real++;
		else if (strstr(p, " -> T"))
			deferred++;
		p = nl ? nl + 1 : NULL;
	}
	buf_free(&b);
	fprintf(stderr,
	        "gg infer: %zu outputs deferred as placeholders, %zu commands ran for real (%s)\n",
	        deferred, real, log);
}

/* The models' directory; `all`: every model, else gg-run and generic tools. */
static int make_model_dir(struct store *s, const char *self, bool all, char **dir_out)
{
	char *dir;
	if (store_make_tmpdir(s, "models", &dir) < 0)
		return -1;
	chmod(dir, 0755);
	int r = 0;
	for (size_t i = 0; i <= GG_ARRAY_LEN(models) && r == 0; i++) {
		const char *name = i < GG_ARRAY_LEN(models) ? models[i].name : "gg-run";
		if (i < GG_ARRAY_LEN(models) && !all)
			continue;
		if (i < GG_ARRAY_LEN(models) && models[i].optional) {
			char *real = closure_which(name, NULL);
			free(real);
			if (!real)
				continue;
		}
		char *link = xasprintf("%s/%s", dir, name);
		if (symlink(self, link) < 0)
			r = gg_error_errno("cannot create %s", link);
		free(link);
	}
	/* Tools described in $GG_INFER_GENERIC ("PROGRAM ..." specs). */
	const char *specs = getenv("GG_INFER_GENERIC");
	char *copy = specs ? xstrdup(specs) : NULL, *save = NULL;
	for (char *sp = copy ? strtok_r(copy, ";\n", &save) : NULL; sp && r == 0;
	     sp = strtok_r(NULL, ";\n", &save)) {
		while (*sp == ' ' || *sp == '\t')
			sp++;
		size_t plen = strcspn(sp, " \t");
		if (!plen)
			continue;
		char *prog = xstrndup(sp, plen), *slash = strrchr(prog, '/');
		char *link = xasprintf("%s/%s", dir, slash ? slash + 1 : prog);
		if (model_generic_check(sp) < 0)
			r = gg_error("GG_INFER_GENERIC: %s", gg_last_error());
		else if (symlink(self, link) < 0 && errno != EEXIST)
			r = gg_error_errno("cannot create %s", link);
		free(link);
		free(prog);
	}
	free(copy);
	if (r < 0) {
		remove_tree(dir);
		free(dir);
		return -1;
	}
	*dir_out = dir;
	return 0;
}

/* The build's own mount namespace (run in its process before exec). */
struct build_ns {
	const char *self;
	const struct strvec *bind;
	int *go;
};

static int enter_build_ns(void *arg)
{
	struct build_ns *b = arg;
	/* B: this binary over each real tool; A stays as it was. */
	if (unshare(CLONE_NEWNS) < 0) {
		fprintf(stderr, "gg infer: cannot make the build's mount namespace: %s\n",
		        strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < b->bind->n; i++)
		if (mount(b->self, b->bind->v[i], NULL, MS_BIND, NULL) < 0) {
			fprintf(stderr, "gg infer: cannot bind the model over %s: %s\n",
			        b->bind->v[i], strerror(errno));
			return -1;
		}
	if (geteuid() != 0 && raise_ambient() < 0) {
		fprintf(stderr, "gg infer: %s\n", gg_last_error());
		return -1;
	}
	/* The build's first process (it keeps this across its exec) adopts what
	 * its descendants leave behind: a tool started detached with an emptied
	 * environment then still has a parent with gg infer's variables
	 * (env_recover), for as long as the build runs. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
		fprintf(stderr, "gg infer: cannot make the build adopt its orphans: %s\n",
		        strerror(errno));
		return -1;
	}
	/* Until `gg infer` has dropped its capabilities (see the top). */
	char byte;
	close(b->go[1]);
	return read(b->go[0], &byte, 1) == 1 ? 0 : -1;
}

int cmd_infer(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"verbose", no_argument, 0, 'v'},
	    {"help", no_argument, 0, 'h'},
	    {0},
	};
	bool verbose = false;
	int c;
	/* Its own getopt loop, not read_options: "+" ends the options at
	 * BUILD-COMMAND, whose options are its own. optind 0, not 1: getopt starts
	 * afresh (see read_options), "+" included. */
	optind = 0;
	while ((c = getopt_long(argc, argv, "+vh", opts, NULL)) != -1) {
		switch (c) {
		case 'v': verbose = true; break;
		case 'h': fputs(help, stdout); return 0;
		default: fputs(help, stderr); return 2;
		}
	}
	if (optind >= argc)
		return report_usage("infer: no BUILD-COMMAND given (gg infer make -j4)");
	char self[PATH_MAX];
	ssize_t sn = readlink("/proc/self/exe", self, sizeof self - 1);
	if (sn <= 0) {
		gg_error_errno("infer: cannot find this program (/proc/self/exe)");
		return report_last();
	}
	self[sn] = 0;
	struct store *s;
	if (open_store(true, &s) < 0)
		return report_last();
	/* A nested `gg infer` keeps the real PATH of the outer one. */
	const char *outer = getenv(MODEL_ENV_REAL);
	const char *path = getenv("PATH");
	char *real = xstrdup(outer ? outer : path ? path : "/usr/local/bin:/usr/bin:/bin");
	/* The namespaces: made here, inherited from an outer `gg infer`, or none. */
	const char *ns_env = getenv(ENV_NS);
	bool nested = ns_env && *ns_env && strcmp(ns_env, "off");
	bool ns = false;
	struct strvec bind = STRVEC_INIT;
	if (!nested) {
		const char *why = "GG_INFER_NS=off";
		int r = ns_env && !strcmp(ns_env, "off") ? 0 : ns_enter_a(&why);
		if (r < 0) {
			store_close(s);
			free(real);
			gg_fail(GG_ESYSTEM, "infer: cannot set up the private mount namespace: %s",
			        gg_last_error());
			return report_last();
		}
		if (r == 0)
			fprintf(
			    stderr,
			    "gg infer: note: no private mount namespace here (%s): tools are "
			    "modelled only when called by name through PATH; /usr/bin/cc and other "
			    "absolute paths run for real\n",
			    why);
		ns = r == 1;
	}
	if (ns) {
		struct buf tools = BUF_INIT;
		ns_tools(real, self, &bind, &tools);
		char *nspath = xasprintf("/proc/%d/ns/mnt", (int)getpid());
		setenv(ENV_NS, nspath, 1);
		setenv(ENV_TOOLS, tools.data ? tools.data : "", 1);
		free(nspath);
		buf_free(&tools);
	}
	char *dir = NULL;
	if (make_model_dir(s, self, !ns && !nested, &dir) < 0) {
		store_close(s);
		free(real);
		strvec_free(&bind);
		return report_last();
	}
	char *newpath = xasprintf("%s:%s", dir, real);
	char *log = xasprintf("%s/infer.log", s->root);
	char cwd[PATH_MAX];
	if (!getenv(MODEL_ENV_BASE) && getcwd(cwd, sizeof cwd))
		setenv(MODEL_ENV_BASE, cwd, 1);
	setenv(MODEL_ENV_REAL, real, 1);
	/* every models' directory up to here: an outer gg infer's too */
	const char *outer_models = getenv(MODEL_ENV_MODELS);
	char *dirs =
	    outer_models && *outer_models ? xasprintf("%s:%s", dir, outer_models) : xstrdup(dir);
	setenv(MODEL_ENV_MODELS, dirs, 1);
	free(dirs);
	setenv("PATH", newpath, 1);
	setenv("GG_DIR", s->root, 1);
	setenv(MODEL_ENV_LOG, log, 1);
	if (verbose)
		setenv(MODEL_ENV_VERB, "1", 1);
	struct stat st;
	off_t from = stat(log, &st) == 0 ? st.st_size : 0;
	fflush(NULL);
	int go[2] = {-1, -1};
	if (ns && pipe2(go, O_CLOEXEC) < 0) {
		gg_error_errno("infer: cannot make a pipe");
		return report_last();
	}
	struct build_ns bns = {self, &bind, go};
	struct spawn_opts so = {.search = true,
	                        .inherit_stdin = true,
	                        .child = ns ? enter_build_ns : NULL,
	                        .child_arg = &bns};
	pid_t pid = -1;
	char *failed = spawn_start(argv + optind, &so, &pid) < 0 ? xstrdup(gg_last_error()) : NULL;
	if (ns) {
		/* Models open /proc/PID/ns/mnt of this process: that needs it to hold
		 * no capability they lack. It needs none any more. */
		struct __user_cap_data_struct none[2] = {{0}};
		if (geteuid() != 0 && caps_set(none) < 0)
			fprintf(stderr, "gg infer: cannot drop capabilities: %s\n",
			        strerror(errno));
		close(go[0]);
		if (write(go[1], "g", 1) != 1)
			fprintf(stderr, "gg infer: cannot start the build: %s\n", strerror(errno));
		close(go[1]);
	}
	int status = 0, rc;
	if (failed) {
		fprintf(stderr, "gg infer: %s\n", failed); /* as a shell says it: status 127 */
		free(failed);
		rc = 127;
	} else {
		/* Ctrl-C reaches the build; we wait for it and clean up. */
		signal(SIGINT, SIG_IGN);
		signal(SIGQUIT, SIG_IGN);
		spawn_wait(pid, &status);
		signal(SIGINT, SIG_DFL);
		signal(SIGQUIT, SIG_DFL);
		rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		summary(log, from);
	}
	remove_tree(dir);
	free(dir);
	free(real);
	strvec_free(&bind);
	free(newpath);
	free(log);
	store_close(s);
	return rc;
}
