/**
 * @file infer_fixture.h
 * What the tests of gg infer's models share: a temporary tree W (the base and
 * cwd) with a store in it, fake real tools first on the real PATH (each
 * records its arguments in RAN and exits 0, so a fallback is seen, not run),
 * and one model run in a child (a fallback execs the real tool), whose log
 * line says why it ran the real tool.
 */
#ifndef GG_INFER_FIXTURE_H
#define GG_INFER_FIXTURE_H

#include "core/placeholder.h"
#include "core/store.h"
#include "core/thunk.h"
#include "harness.h"
#include "tools/infer/infer_model.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char *fx_top, *fx_work, *fx_real, *fx_ran, *fx_log, *fx_old_cwd;

/* A fake tool: "-###" (a driver's plan) goes to the real one, the rest is recorded. */
static inline void fx_fake_tool(const char *name, const char *real)
{
	char *path = xasprintf("%s/%s", fx_real, name);
	char *text = xasprintf("#!/bin/sh\n"
	                       "case \"$1\" in -###) exec %s \"$@\";; esac\n"
	                       "echo \"%s $*\" >>'%s'\n",
	                       real, name, fx_ran);
	CHECK(write_file_atomic(path, text, strlen(text), 0755) == 0);
	free(text);
	free(path);
}

static inline void fx_setup(void)
{
	char tmpl[] = "/tmp/gg-infer-model.XXXXXX";
	char cwd[4096];
	CHECK(getcwd(cwd, sizeof cwd) != NULL);
	fx_old_cwd = xstrdup(cwd);
	CHECK(mkdtemp(tmpl) != NULL);
	fx_top = realpath(tmpl, NULL);
	fx_work = xasprintf("%s/w", fx_top);
	fx_real = xasprintf("%s/real", fx_top);
	fx_ran = xasprintf("%s/ran", fx_top);
	fx_log = xasprintf("%s/infer.log", fx_top);
	CHECK(mkdir(fx_work, 0755) == 0);
	CHECK(mkdir(fx_real, 0755) == 0);
	char *store = xasprintf("%s/.gg", fx_top);
	CHECK(store_create(store) == 0);
	setenv("GG_DIR", store, 1);
	free(store);
	static const char *const tools[] = {"gcc", "cc", "clang"};
	for (size_t i = 0; i < GG_ARRAY_LEN(tools); i++) {
		char *real = xasprintf("/usr/bin/%s", tools[i]);
		fx_fake_tool(tools[i], real);
		free(real);
	}
	char *path = xasprintf("%s:/usr/local/bin:/usr/bin:/bin", fx_real);
	setenv(MODEL_ENV_REAL, path, 1);
	free(path);
	setenv(MODEL_ENV_LOG, fx_log, 1);
	setenv(MODEL_ENV_BASE, fx_work, 1);
	unsetenv(MODEL_ENV_BYPASS);
	unsetenv(MODEL_ENV_PRE);
	unsetenv(MODEL_ENV_SHARE);
	unsetenv(MODEL_ENV_VERB);
	unsetenv("CPATH");
	unsetenv("SOURCE_DATE_EPOCH");
	CHECK(chdir(fx_work) == 0);
}

static inline void fx_teardown(void)
{
	CHECK(chdir(fx_old_cwd) == 0);
	CHECK(remove_tree(fx_top) == 0);
	free(fx_top);
	free(fx_work);
	free(fx_real);
	free(fx_ran);
	free(fx_log);
	free(fx_old_cwd);
}

/* A file in W with these bytes (its directories made). */
static inline void fx_write(const char *rel, const char *text)
{
	char *p = xasprintf("%s/%s", fx_work, rel);
	for (char *s = strchr(p + strlen(fx_work) + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = 0;
		mkdir(p, 0755);
		*s = '/';
	}
	CHECK(write_file_atomic(p, text, strlen(text), 0644) == 0);
	free(p);
}

/* What the fake real tools ran since the last call ("" for nothing), and the
 * log's last line; both reset. malloc'd. */
static inline char *fx_take(const char *path)
{
	struct buf b = BUF_INIT;
	if (read_file(path, &b, 1 << 20) < 0)
		return xstrdup("");
	unlink(path);
	char *s = xstrndup(b.data ? b.data : "", b.len);
	buf_free(&b);
	return s;
}

static char *fx_ran_text, *fx_log_text;

/*
 * Runs model fn as `tool ARGS...` (NULL-terminated) in a child in W, stdin
 * /dev/null; its exit status, or -1. fx_ran_text and fx_log_text get what the
 * fake real tools ran and what the model logged.
 */
static inline int fx_run(int (*fn)(struct model_ctx *), const char *tool, ...)
{
	char *argv[64];
	int argc = 0;
	argv[argc++] = (char *)tool;
	va_list ap;
	va_start(ap, tool);
	for (char *a; argc < 63 && (a = va_arg(ap, char *));)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open("/dev/null", O_RDONLY);
		dup2(fd, 0);
		struct model_ctx m;
		if (model_ctx_init(&m, argc, argv) < 0)
			_exit(99);
		int rc = fn(&m);
		model_ctx_free(&m);
		_exit(rc);
	}
	int status = 0;
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	free(fx_ran_text);
	free(fx_log_text);
	fx_ran_text = fx_take(fx_ran);
	fx_log_text = fx_take(fx_log);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static inline void fx_free_texts(void)
{
	free(fx_ran_text);
	free(fx_log_text);
	fx_ran_text = fx_log_text = NULL;
}

/* The model ran the real tool, saying why (the log names `why`). */
#define CHECK_FELL_BACK(why)                                                                       \
	do {                                                                                       \
		CHECK(strstr(fx_log_text, "ran the real tool") != NULL);                           \
		if (!strstr(fx_log_text, (why)))                                                   \
			fprintf(stderr, "%s:%d: log \"%s\" lacks \"%s\"\n", __FILE__, __LINE__,    \
			        fx_log_text, (why));                                               \
		CHECK(strstr(fx_log_text, (why)) != NULL);                                         \
	} while (0)

/* The model made thunks and ran no real tool. */
#define CHECK_MODELLED()                                                                           \
	do {                                                                                       \
		if (*fx_ran_text || strstr(fx_log_text, "ran the real tool"))                      \
			fprintf(stderr, "%s:%d: fell back: %s%s\n", __FILE__, __LINE__,            \
			        fx_log_text, fx_ran_text);                                         \
		CHECK(*fx_ran_text == 0);                                                          \
		CHECK(strstr(fx_log_text, "ran the real tool") == NULL);                           \
	} while (0)

/*
 * The thunk whose output the placeholder at W/rel names (t initialised by
 * this), and that output's path in it (*output, malloc'd; may be NULL). 0 or -1.
 */
static inline int fx_thunk_of(const char *rel, struct thunk *t, char **output)
{
	struct gg_ref ref = {0};
	struct store *s = NULL;
	struct buf b = BUF_INIT;
	thunk_init(t);
	int r = placeholder_read(rel, &ref) == 1 && ref.output ? 0 : -1;
	if (r == 0)
		r = store_open(NULL, &s);
	if (r == 0)
		r = store_read(s, &ref.name, &b, 1 << 24);
	if (r == 0) {
		thunk_free(t);
		r = thunk_parse(b.data, b.len, t);
	}
	if (r < 0)
		fprintf(stderr, "    no thunk behind %s: %s\n", rel, gg_last_error());
	if (output)
		*output = r == 0 ? xstrdup(ref.output) : NULL;
	free(ref.output);
	buf_free(&b);
	store_close(s);
	return r;
}

/* Forces the placeholder at W/rel in place, as gg force does (in a child). 0 or -1. */
static inline int fx_force(const char *rel)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		char *argv[] = {(char *)"gg", NULL};
		struct model_ctx m;
		struct strvec v = STRVEC_INIT;
		strvec_push(&v, rel);
		int r = model_ctx_init(&m, 1, argv) == 0 && model_open_store(&m) == 0 &&
		                model_force_files(&m, &v) == 0
		            ? 0
		            : 1;
		if (r)
			fprintf(stderr, "    cannot force %s: %s\n", rel, gg_last_error());
		_exit(r);
	}
	int status = 0;
	return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	               WEXITSTATUS(status) == 0
	           ? 0
	           : -1;
}

static inline bool fx_has_arg(const struct thunk *t, const char *a)
{
	for (size_t i = 0; i < t->argv.n; i++)
		if (!strcmp(t->argv.v[i], a))
			return true;
	return false;
}

/* The argument after the first `a` in t's argv, or NULL. */
static inline const char *fx_arg_after(const struct thunk *t, const char *a)
{
	for (size_t i = 0; i + 1 < t->argv.n; i++)
		if (!strcmp(t->argv.v[i], a))
			return t->argv.v[i + 1];
	return NULL;
}

/* Do two files hold the same bytes? */
static inline bool fx_same_file(const char *a, const char *b)
{
	struct buf x = BUF_INIT, y = BUF_INIT;
	bool r = read_file(a, &x, 1 << 24) == 0 && read_file(b, &y, 1 << 24) == 0 &&
	         x.len == y.len && !memcmp(x.data, y.data, x.len);
	buf_free(&x);
	buf_free(&y);
	return r;
}

static inline bool fx_is_placeholder(const char *rel)
{
	return model_is_placeholder(rel, NULL) == 1;
}

#endif
