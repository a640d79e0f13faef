/**
 * @file model_ctx.c
 * The context every `gg infer` model runs in (infer_model.h): where the
 * build's base directory is, how host paths map into thunks, the infer log,
 * running helper processes with the real PATH, and falling back to the real
 * tool. It models no tool itself.
 */
#include "tools/infer/infer_model.h"

#include "backend/engine/engine.h"
#include "backend/storage/remote_cache.h"
#include "core/closure.h"
#include "core/force.h"
#include "core/placeholder.h"
#include "core/process.h"
#include "core/thunk_build.h"
#include "tools/command.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define MAX_CAPTURE (64u << 20)

/* ---- paths ---- */

/* Lexically normalises an absolute path: no ".", "..", "//" or trailing "/". */
static char *normalise(const char *abs)
{
	struct buf b = BUF_INIT;
	size_t *starts = xmalloc((strlen(abs) / 2 + 2) * sizeof *starts);
	size_t depth = 0;
	for (const char *s = abs;;) {
		while (*s == '/')
			s++;
		if (!*s)
			break;
		const char *e = strchr(s, '/');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		if (n == 1 && s[0] == '.') {
			/* nothing */
		} else if (n == 2 && s[0] == '.' && s[1] == '.') {
			if (depth > 0)
				b.len = starts[--depth];
		} else {
			starts[depth++] = b.len;
			buf_addc(&b, '/');
			buf_add(&b, s, n);
		}
		s += n;
	}
	free(starts);
	if (b.len == 0)
		buf_addc(&b, '/');
	b.data[b.len] = 0;
	return buf_steal(&b);
}

char *model_abs(const struct model_ctx *m, const char *path)
{
	if (path[0] == '/')
		return normalise(path);
	char *j = xasprintf("%s/%s", m->cwd, path);
	char *r = normalise(j);
	free(j);
	return r;
}

/* The part of abs below dir, "" for dir itself, NULL if not below. */
static const char *below(const char *abs, const char *dir)
{
	size_t n = strlen(dir);
	if (!strcmp(dir, "/"))
		return abs + 1;
	if (strncmp(abs, dir, n))
		return NULL;
	if (abs[n] == 0)
		return abs + n;
	return abs[n] == '/' ? abs + n + 1 : NULL;
}

bool model_in_base(const struct model_ctx *m, const char *path)
{
	char *a = model_abs(m, path);
	bool r = below(a, m->base) != NULL;
	free(a);
	return r;
}

char *model_map(const struct model_ctx *m, const char *path)
{
	char *a = model_abs(m, path);
	const char *rel = below(a, m->base);
	char *r;
	if (rel && *rel)
		r = xstrdup(rel);
	else if (rel)
		r = xstrdup(".");
	else if (!strcmp(a, "/"))
		r = xstrdup(MODEL_ROOT);
	else
		r = xasprintf(MODEL_ROOT "%s", a);
	free(a);
	return r;
}

/* ---- context ---- */

/* Is dir one of the models' directories $GG_INFER_MODELS lists (by inode:
 * a PATH entry may name one another way)? Not any directory with a gg-run:
 * an installed gg's bin directory has one, and the build's tools too. */
static bool is_models_dir(const char *dir, const char *models)
{
	struct stat st, m;
	if (stat(*dir ? dir : ".", &st) < 0)
		return false;
	bool is = false;
	for (const char *p = models; !is;) {
		const char *e = strchr(p, ':');
		char *one = e ? xstrndup(p, (size_t)(e - p)) : xstrdup(p);
		is = *one && stat(one, &m) == 0 && m.st_dev == st.st_dev && m.st_ino == st.st_ino;
		free(one);
		if (!e)
			break;
		p = e + 1;
	}
	return is;
}

/*
 * The PATH the tool would search: under gg infer, the command's own PATH
 * less the models' directories (a recipe may have put its own tools first:
 * `export PATH := $(CURDIR)/tools:$(PATH)`); elsewhere (a model run by
 * hand, unit tests) $GG_INFER_REALPATH.
 */
static char *tool_path(void)
{
	const char *real = getenv(MODEL_ENV_REAL), *path = getenv("PATH");
	const char *models = getenv(MODEL_ENV_MODELS);
	if (!models || !*models || !path)
		return xstrdup(real ? real : "/usr/local/bin:/usr/bin:/bin");
	struct buf b = BUF_INIT;
	bool first = true;
	for (const char *p = path;;) {
		const char *e = strchr(p, ':');
		char *dir = e ? xstrndup(p, (size_t)(e - p)) : xstrdup(p);
		if (!is_models_dir(dir, models)) {
			if (!first)
				buf_addc(&b, ':');
			buf_adds(&b, dir); /* "" (the current directory) stays */
			first = false;
		}
		free(dir);
		if (!e)
			break;
		p = e + 1;
	}
	return b.data ? buf_steal(&b) : xstrdup("");
}

int model_ctx_init(struct model_ctx *m, int argc, char **argv)
{
	memset(m, 0, sizeof *m);
	const char *slash = strrchr(argv[0], '/');
	m->tool = slash ? slash + 1 : argv[0];
	m->argc = argc;
	m->argv = argv;
	m->realpath = tool_path();
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof cwd))
		return gg_error_errno("cannot get the current directory");
	m->cwd = normalise(cwd);
	/* gcc's getpwd(): $PWD when it is absolute and the same directory */
	const char *pwd = getenv("PWD");
	struct stat here_st, pwd_st;
	bool logical = pwd && pwd[0] == '/' && stat(pwd, &pwd_st) == 0 &&
	               stat(".", &here_st) == 0 && pwd_st.st_dev == here_st.st_dev &&
	               pwd_st.st_ino == here_st.st_ino;
	m->pwd = xstrdup(logical ? pwd : m->cwd);
	const char *base = getenv(MODEL_ENV_BASE);
	m->base = base && *base ? model_abs(m, base) : xstrdup(m->cwd);
	if (!strcmp(m->base, "/")) {
		free(m->base); /* a base of "/" would put host paths into thunks */
		m->base = xstrdup(m->cwd);
	}
	/* cwd's place in a thunk, as a prefix of the relative paths written there */
	char *here = model_map(m, ".");
	m->prefix = !strcmp(here, ".") ? xstrdup("") : xasprintf("%s/", here);
	free(here);
	const char *v = getenv(MODEL_ENV_VERB);
	m->verbose = v && *v && strcmp(v, "0");
	const char *share = getenv(MODEL_ENV_SHARE);
	if (share && *share) {
		char *d = model_abs(m, share);
		m->share = below(m->cwd, d) != NULL;
		free(d);
	}
	const char *log = getenv(MODEL_ENV_LOG);
	m->log_path = log && *log ? xstrdup(log) : NULL;
	return 0;
}

void model_ctx_free(struct model_ctx *m)
{
	if (m->recording)
		tbuild_note_reads(NULL);
	tbuild_reads_free(&m->reads);
	strvec_free(&m->sides);
	strvec_free(&m->checks);
	strvec_free(&m->probes);
	store_close(m->store);
	free(m->base);
	free(m->cwd);
	free(m->pwd);
	free(m->prefix);
	free(m->realpath);
	free(m->log_path);
	memset(m, 0, sizeof *m);
}

int model_open_store(struct model_ctx *m)
{
	if (m->store)
		return 0;
	if (store_open(NULL, &m->store) < 0)
		return -1;
	if (!m->log_path)
		m->log_path = xasprintf("%s/infer.log", m->store->root);
	return 0;
}

/* ---- log ---- */

void model_log(struct model_ctx *m, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	buf_printf(&b, "gg infer: %s: ", m->tool);
	va_list ap;
	va_start(ap, fmt);
	char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	buf_adds(&b, msg);
	free(msg);
	buf_addc(&b, '\n');
	if (m->verbose)
		(void)!write(2, b.data, b.len);
	if (!m->log_path && m->store == NULL) {
		struct store *s;
		if (store_open(NULL, &s) == 0) {
			m->log_path = xasprintf("%s/infer.log", s->root);
			store_close(s);
		}
	}
	if (m->log_path) {
		/* O_APPEND keeps lines whole when parallel models write at once. */
		int fd = open(m->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		if (fd >= 0) {
			(void)!write(fd, b.data, b.len);
			close(fd);
		}
	}
	buf_free(&b);
}

/* ---- processes ---- */

char *model_which(const struct model_ctx *m, const char *name)
{
	return closure_which(name, m->realpath);
}

void model_probe_path(struct model_ctx *m, const char *name)
{
	if (strchr(name, '/'))
		return;
	char *found = model_which(m, name);
	for (const char *s = m->realpath;;) {
		const char *e = strchr(s, ':');
		int n = (int)(e ? (size_t)(e - s) : strlen(s));
		char *place = xasprintf("%.*s/%s", n, n ? s : ".", name); /* "" is cwd (POSIX) */
		char *abs = model_abs(m, place);
		bool here = found && !strcmp(abs, found);
		free(abs);
		if (here) {
			free(place);
			break;
		}
		strvec_push_take(&m->probes, place);
		if (!e)
			break;
		s = e + 1;
	}
	free(found);
}

/* environ with PATH replaced by the real one, plus extra settings. */
static char **child_env(const struct model_ctx *m, char *const extra[], struct strvec *keep)
{
	for (char **e = environ; *e; e++) {
		if (!strncmp(*e, "PATH=", 5))
			continue;
		bool over = false;
		for (size_t i = 0; extra && extra[i]; i++) {
			const char *eq = strchr(extra[i], '=');
			size_t n = eq ? (size_t)(eq - extra[i]) + 1 : strlen(extra[i]);
			over |= !strncmp(*e, extra[i], n);
		}
		if (!over)
			strvec_push(keep, *e);
	}
	strvec_push_take(keep, xasprintf("PATH=%s", m->realpath));
	for (size_t i = 0; extra && extra[i]; i++)
		strvec_push(keep, extra[i]);
	return keep->v;
}

static int drain(int fds[2], struct buf *bufs[2])
{
	struct pollfd p[2];
	int open_n = 0;
	for (int i = 0; i < 2; i++) {
		p[i].fd = fds[i];
		p[i].events = POLLIN;
		open_n += fds[i] >= 0;
	}
	char tmp[65536];
	while (open_n > 0) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return gg_error_errno("poll");
		}
		for (int i = 0; i < 2; i++) {
			if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t k = read(p[i].fd, tmp, sizeof tmp);
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0) {
				close(p[i].fd);
				p[i].fd = -1;
				open_n--;
				continue;
			}
			if (bufs[i]->len + (size_t)k > MAX_CAPTURE)
				return gg_error("a helper process wrote more than %u bytes",
				                MAX_CAPTURE);
			buf_add(bufs[i], tmp, (size_t)k);
		}
	}
	return 0;
}

int model_run(const struct model_ctx *m, char *const argv[], char *const extra_env[],
              struct buf *out, struct buf *err, int *status)
{
	char *prog = strchr(argv[0], '/') ? xstrdup(argv[0]) : model_which(m, argv[0]);
	if (!prog)
		return gg_error("%s: not found on the real PATH", argv[0]);
	int po[2] = {-1, -1}, pe[2] = {-1, -1};
	if ((out && pipe2(po, O_CLOEXEC) < 0) || (err && pipe2(pe, O_CLOEXEC) < 0)) {
		free(prog);
		return gg_error_errno("pipe");
	}
	struct strvec env = STRVEC_INIT;
	struct spawn_opts so = {.path = prog,
	                        .env = child_env(m, extra_env, &env),
	                        .out_fd = out ? po[1] : 0,
	                        .err_fd = err ? pe[1] : 0};
	pid_t pid;
	int e = spawn_start(argv, &so, &pid);
	strvec_free(&env);
	if (po[1] >= 0)
		close(po[1]);
	if (pe[1] >= 0)
		close(pe[1]);
	if (e < 0) {
		if (po[0] >= 0)
			close(po[0]);
		if (pe[0] >= 0)
			close(pe[0]);
		free(prog);
		return -1;
	}
	struct buf dummy = BUF_INIT;
	struct buf *bufs[2] = {out ? out : &dummy, err ? err : &dummy};
	int fds[2] = {po[0], pe[0]};
	int r = drain(fds, bufs);
	buf_free(&dummy);
	if (spawn_wait(pid, status) < 0)
		r = gg_error("%s: %s", prog, gg_last_error());
	free(prog);
	return r;
}

/* ---- placeholders and falling back ---- */

int model_is_placeholder(const char *path, struct gg_ref *ref)
{
	struct stat st;
	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > PLACEHOLDER_MAX_SIZE)
		return 0;
	struct gg_ref tmp = {0};
	int r = placeholder_read(path, ref ? ref : &tmp);
	gg_ref_free(&tmp);
	return r;
}

int model_force_files(struct model_ctx *m, struct strvec *files)
{
	if (files->n == 0)
		return 0;
	if (model_open_store(m) < 0)
		return -1;
	model_log(m, "forcing %zu placeholder(s) the real tool reads", files->n);
	struct force_target *t = xcalloc(files->n, sizeof *t);
	size_t nt = 0;
	int r = 0;
	for (size_t i = 0; r == 0 && i < files->n; i++)
		if ((r = force_target_parse(m->store, files->v[i], &t[nt])) == 0)
			nt++;
	struct engine **engines = NULL;
	size_t nengines = 0;
	struct sched_opts so = {.max_retries = -1};
	struct engine_config cfg = {.store = m->store};
	if (r == 0 && (r = engine_create_from_env(&cfg, 0, &engines, &nengines)) == 0) {
		so.engines = engines;
		so.nengines = nengines;
	}
	/* and the shared cache as configured ($GG_REMOTE_CACHE, $GG_STORAGE) */
	struct remote_cache *cache = NULL;
	if (r == 0)
		r = remote_cache_open(m->store, &(struct remote_cache_opts){0}, &cache);
	remote_cache_attach(cache, &so);
	struct force_run run = {0};
	if (r == 0 && (r = force_targets(m->store, &so, t, nt, true, &run)) == 0 && run.failed) {
		for (size_t i = 0; i < nt; i++)
			if (!t[i].plain && t[i].result.status != 0)
				model_log(m, "%s: %s", t[i].arg, t[i].result.error);
		r = gg_error("%zu failed", run.failed);
	}
	force_run_end(&run);
	remote_cache_close(cache);
	engines_destroy(engines, nengines);
	for (size_t i = 0; i < nt; i++)
		force_target_free(&t[i]);
	free(t);
	return r < 0 ? gg_error("could not force the placeholders the real tool needs: %s",
	                        gg_last_error())
	             : 0;
}

static void push_if_placeholder(struct strvec *v, const char *path)
{
	if (!*path || model_is_placeholder(path, NULL) != 1)
		return;
	for (size_t i = 0; i < v->n; i++)
		if (!strcmp(v->v[i], path))
			return;
	strvec_push(v, path);
}

/*
 * Placeholders the real tool would read: file arguments, "-opt=FILE" values
 * and -lNAME found in -L directories. The -o target is an output, not read.
 */
static void find_placeholder_args(struct model_ctx *m, struct strvec *found)
{
	struct strvec ldirs = STRVEC_INIT;
	for (int i = 1; i < m->argc; i++) {
		const char *a = m->argv[i];
		if (!strcmp(a, "-L") && i + 1 < m->argc)
			strvec_push(&ldirs, m->argv[i + 1]);
		else if (!strncmp(a, "-L", 2) && a[2])
			strvec_push(&ldirs, a + 2);
	}
	for (int i = 1; i < m->argc; i++) {
		const char *a = m->argv[i];
		if (!strcmp(a, "-o")) {
			i++;
			continue;
		}
		if (a[0] != '-') {
			push_if_placeholder(found, a);
		} else if (!strncmp(a, "-l", 2) && a[2]) {
			for (size_t d = 0; d < ldirs.n; d++)
				for (int k = 0; k < 2; k++) {
					char *p = xasprintf("%s/lib%s.%s", ldirs.v[d], a + 2,
					                    k ? "a" : "so");
					push_if_placeholder(found, p);
					free(p);
				}
		} else if (strchr(a, '=') && strncmp(a, "-D", 2) && strncmp(a, "-U", 2)) {
			push_if_placeholder(found, strrchr(a, '=') + 1);
		}
	}
	strvec_free(&ldirs);
}

int model_fallback(struct model_ctx *m, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *why = xvasprintf(fmt, ap);
	va_end(ap);
	char *line = argv_to_shell(m->argv);
	model_log(m, "ran the real tool: %s: %s", why, line);
	free(line);
	free(why);
	struct strvec ph = STRVEC_INIT;
	find_placeholder_args(m, &ph);
	if (ph.n && model_open_store(m) == 0 && model_force_files(m, &ph) < 0)
		fprintf(stderr, "gg infer: %s: %s\n", m->tool, gg_last_error());
	strvec_free(&ph);
	char *real = model_which(m, m->tool);
	if (!real) {
		fprintf(stderr, "gg infer: %s: not found on the real PATH (%s)\n", m->tool,
		        m->realpath);
		return 127;
	}
	setenv("PATH", m->realpath, 1);
	fflush(NULL);
	execv(real, m->argv);
	fprintf(stderr, "gg infer: cannot execute %s: %s\n", real, strerror(errno));
	free(real);
	return 127;
}

char *model_map_named(const struct model_ctx *m, const char *path)
{
	if (path[0] != '/')
		return model_map(m, path);
	char *a = model_abs(m, path);
	char *r = !strcmp(a, "/") ? xstrdup(MODEL_ROOT) : xasprintf(MODEL_ROOT "%s", a);
	free(a);
	return r;
}

static int add_input_at(struct model_ctx *m, struct thunk *t, const char *path, char *w,
                        char **where);

int model_add_input(struct model_ctx *m, struct thunk *t, const char *path, char **where)
{
	return add_input_at(m, t, path, model_map(m, path), where);
}

int model_add_input_named(struct model_ctx *m, struct thunk *t, const char *path, char **where)
{
	return add_input_at(m, t, path, model_map_named(m, path), where);
}

/* Adds host file `path` at thunk path w (taken). */
static int add_input_at(struct model_ctx *m, struct thunk *t, const char *path, char *w,
                        char **where)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		free(w);
		return gg_error_errno("%s", path);
	}
	if (!S_ISREG(st.st_mode)) {
		free(w);
		return gg_error("%s: not a regular file", path);
	}
	int r = -1;
	if (!strcmp(w, "."))
		gg_error("%s: cannot place the base directory as a file", path);
	else
		r = tbuild_add_file(m->store, t, w, path);
	if (r == 0 && where)
		*where = w;
	else
		free(w);
	return r;
}

/* ---- temps ---- */

const struct model_temp *model_temp_find(const struct model_temps *ts, const char *host)
{
	for (size_t i = 0; i < ts->n; i++)
		if (!strcmp(ts->v[i].host, host))
			return &ts->v[i];
	return NULL;
}

void model_temp_add(struct model_temps *ts, const char *host, const struct gg_ref *ref)
{
	/* The driver reuses one temp name for every source's .s: the latest writer wins. */
	for (size_t i = 0; i < ts->n; i++)
		if (!strcmp(ts->v[i].host, host)) {
			gg_ref_free(&ts->v[i].ref);
			gg_ref_copy(&ts->v[i].ref, ref);
			return;
		}
	ALLOC_GROW(ts->v, ts->n + 1, ts->cap);
	ts->v[ts->n].host = xstrdup(host);
	gg_ref_copy(&ts->v[ts->n].ref, ref);
	ts->n++;
}

bool model_is_temp(const struct model_temps *ts, const char *path)
{
	size_t n = ts->dir ? strlen(ts->dir) : 0;
	return n && !strncmp(path, ts->dir, n) && path[n] == '/';
}

void model_temps_free(struct model_temps *ts)
{
	for (size_t i = 0; i < ts->n; i++) {
		free(ts->v[i].host);
		gg_ref_free(&ts->v[i].ref);
	}
	free(ts->v);
	free(ts->dir);
	memset(ts, 0, sizeof *ts);
}

const char *temp_name(struct temp_names *tn, const char *host)
{
	for (size_t i = 0; i < tn->host.n; i++)
		if (!strcmp(tn->host.v[i], host))
			return tn->local.v[i];
	const char *base = strrchr(host, '/');
	base = base ? base + 1 : host;
	const char *dot = strrchr(base, '.');
	strvec_push(&tn->host, host);
	strvec_push_take(&tn->local, xasprintf(MODEL_TMP "/%zu%s", tn->host.n, dot ? dot : ""));
	return tn->local.v[tn->local.n - 1];
}

void temp_names_free(struct temp_names *tn)
{
	strvec_free(&tn->host);
	strvec_free(&tn->local);
}

/* ---- stages ---- */

void model_outputs_add(struct model_outputs *o, const char *host, const struct gg_ref *ref)
{
	ALLOC_GROW(o->refs, o->host.n + 1, o->refs_cap);
	gg_ref_copy(&o->refs[o->host.n], ref);
	strvec_push(&o->host, host);
}

int model_outputs_write(struct model_ctx *m, const struct model_outputs *o)
{
	for (size_t i = 0; i < o->host.n; i++) {
		if (placeholder_write(o->host.v[i], &o->refs[i]) < 0)
			return -1;
		char *r = gg_ref_format(&o->refs[i]);
		model_log(m, "%s -> %s", o->host.v[i], r);
		free(r);
	}
	return 0;
}

void model_outputs_free(struct model_outputs *o)
{
	for (size_t i = 0; i < o->host.n; i++)
		gg_ref_free(&o->refs[i]);
	free(o->refs);
	strvec_free(&o->host);
	o->refs = NULL;
	o->refs_cap = 0;
}

int model_stage_input(struct model_ctx *m, struct thunk *t, const struct model_temps *temps,
                      struct temp_names *tn, const char *host, char **where)
{
	if (model_is_temp(temps, host)) {
		const struct model_temp *tmp = model_temp_find(temps, host);
		if (!tmp)
			return gg_error("%s: a temp file no earlier stage writes", host);
		const char *local = temp_name(tn, host);
		thunk_add_input(t, local, &tmp->ref, false);
		*where = xstrdup(local);
		return 0;
	}
	return model_add_input(m, t, host, where);
}

int model_stage_output(struct model_ctx *m, const char *host, const struct model_temps *temps,
                       struct temp_names *tn, struct strvec *outs, char **where)
{
	if (!strcmp(host, "-"))
		return gg_error("writes to standard output");
	if (model_is_temp(temps, host))
		*where = xstrdup(temp_name(tn, host));
	else
		*where = model_map(m, host);
	if (!strcmp(*where, ".")) {
		free(*where);
		*where = NULL;
		return gg_error("%s: not a file", host);
	}
	strvec_push(outs, host);
	return 0;
}

int model_set_program(struct model_ctx *m, struct thunk *t, const char *program, const char *tool,
                      const struct strvec *args)
{
	/* a path as given (as exec would take it, through any symlink), a name on PATH */
	char *path = strchr(program, '/') ? xstrdup(program) : model_which(m, program);
	char head[2] = {0};
	int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	bool script = fd >= 0 && read(fd, head, 2) == 2 && head[0] == '#' && head[1] == '!';
	if (fd >= 0)
		close(fd);
	int r = script
	            ? gg_error("%s (%s) is a script: the programs it runs would not be in the "
	                       "thunk",
	                       program, path)
	            : tbuild_set_program(m->store, t, program, tool, m->realpath, args->v, args->n);
	free(path);
	if (r == 0)
		model_probe_path(m, program);
	return r;
}

int model_stage_finish(struct model_ctx *m, struct thunk *t, const char *program, const char *tool,
                       const struct strvec *args, const char *host_out, const char *where,
                       struct model_temps *temps, struct model_outputs *outs)
{
	if (model_set_program(m, t, program, tool, args) < 0)
		return -1;
	strvec_push(&t->outputs, where);
	struct gg_name name;
	if (tbuild_store(m->store, t, &name) < 0)
		return -1;
	struct gg_ref ref = {name, (char *)where};
	if (model_is_temp(temps, host_out))
		model_temp_add(temps, host_out, &ref);
	else
		model_outputs_add(outs, host_out, &ref);
	if (m->verbose) {
		char *line = thunk_command_line(t);
		model_log(m, "thunk %s: %s", name.s, line);
		free(line);
	}
	return 0;
}

void model_pass_source_date_epoch(struct thunk *t)
{
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	if (sde && *sde)
		strvec_push_take(&t->env, xasprintf("SOURCE_DATE_EPOCH=%s", sde));
}

int model_rewrite_generic(struct model_ctx *m, struct thunk *t, const char *a, char **out)
{
	const char *eq = a[0] == '-' ? strchr(a, '=') : NULL;
	const char *v = eq ? eq + 1 : a[0] == '-' ? NULL : a;
	struct stat st;
	if (!v || v[0] != '/' || stat(v, &st) < 0 || !S_ISREG(st.st_mode)) {
		*out = xstrdup(a);
		return 0;
	}
	char *where;
	if (model_add_input(m, t, v, &where) < 0)
		return -1;
	*out = eq ? xasprintf("%.*s%s", (int)(eq - a + 1), a, where) : xstrdup(where);
	free(where);
	return 0;
}
