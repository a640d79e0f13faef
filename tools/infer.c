/**
 * @file infer.c
 * `gg infer BUILD-COMMAND`: runs a real build with the models first on PATH,
 * so each compiler, linker and archiver step writes thunks and a placeholder
 * instead of doing the work; and the dispatch from a model's name (gg is
 * reached through a symlink called gcc, ar, ...) to the model.
 *
 * The model directory is a temp directory of symlinks to this binary. The
 * models find the real tools on $GG_INFER_REALPATH (the PATH before), the
 * store on $GG_DIR, the base of relative thunk paths on $GG_INFER_BASE, and
 * log to $GG_INFER_LOG. It does not run thunks: forcing is `gg force`'s job.
 */
#include "gg.h"

#include "closure.h"
#include "infer_model.h"
#include "model_generic.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char help[] =
    "usage: gg infer [-v] BUILD-COMMAND [ARG...]\n"
    "\n"
    "Runs the build with models of cc, gcc, g++, c++, clang, clang++, ld, as, ar,\n"
    "ranlib and strip first on PATH (and of nm, objdump, readelf, objcopy and\n"
    "size, which force placeholder arguments). Each model stores thunks and leaves a\n"
    "placeholder where the output would be; `gg force` (or running a placeholder)\n"
    "does the work later. Commands a model cannot defer run for real and are\n"
    "logged to .gg/infer.log.\n"
    "\n"
    "  -v, --verbose   say on stderr what each model does\n"
    "\n"
    "Environment: GG_INFER_BASE (the directory thunk paths are relative to;\n"
    "default: here), GG_INFER_BYPASS=1 (models run the real tools), GG_DIR.\n";

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

/* A tool described by $GG_INFER_GENERIC: the generic model, or the real tool. */
static int model_generic_tool(struct model_ctx *m, const char *spec)
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

int infer_model_main(int argc, char **argv)
{
	struct model_ctx m;
	if (model_ctx_init(&m, argc, argv) < 0) {
		fprintf(stderr, "gg infer: %s\n", gg_last_error());
		return 127;
	}
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

static int make_model_dir(struct store *s, char **dir_out)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0)
		return gg_error_errno("cannot find this program (/proc/self/exe)");
	self[n] = 0;
	char *dir;
	if (store_make_tmpdir(s, "models", &dir) < 0)
		return -1;
	chmod(dir, 0755);
	int r = 0;
	for (size_t i = 0; i <= GG_ARRAY_LEN(models) && r == 0; i++) {
		const char *name = i < GG_ARRAY_LEN(models) ? models[i].name : "gg-run";
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

int cmd_infer(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"verbose", no_argument, 0, 'v'},
	    {"help", no_argument, 0, 'h'},
	    {0},
	};
	bool verbose = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+vh", opts, NULL)) != -1) {
		switch (c) {
		case 'v': verbose = true; break;
		case 'h': fputs(help, stdout); return 0;
		default: fputs(help, stderr); return 2;
		}
	}
	if (optind >= argc)
		return die_msg("infer: no BUILD-COMMAND given (gg infer make -j4)");
	struct store *s;
	if (open_store(true, &s) < 0)
		return die_last();
	char *dir = NULL;
	if (make_model_dir(s, &dir) < 0) {
		store_close(s);
		return die_last();
	}
	/* A nested `gg infer` keeps the real PATH of the outer one. */
	const char *outer = getenv(MODEL_ENV_REAL);
	const char *path = getenv("PATH");
	char *real = xstrdup(outer ? outer : path ? path : "/usr/local/bin:/usr/bin:/bin");
	char *newpath = xasprintf("%s:%s", dir, real);
	char *log = xasprintf("%s/infer.log", s->root);
	char cwd[PATH_MAX];
	if (!getenv(MODEL_ENV_BASE) && getcwd(cwd, sizeof cwd))
		setenv(MODEL_ENV_BASE, cwd, 1);
	setenv(MODEL_ENV_REAL, real, 1);
	setenv("PATH", newpath, 1);
	setenv("GG_DIR", s->root, 1);
	setenv(MODEL_ENV_LOG, log, 1);
	if (verbose)
		setenv(MODEL_ENV_VERB, "1", 1);
	struct stat st;
	off_t from = stat(log, &st) == 0 ? st.st_size : 0;
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		execvp(argv[optind], argv + optind);
		fprintf(stderr, "gg infer: cannot run %s: %s\n", argv[optind], strerror(errno));
		_exit(127);
	}
	int status = 0, rc;
	if (pid < 0) {
		rc = die_msg("infer: cannot fork: %s", strerror(errno));
	} else {
		/* Ctrl-C reaches the build; we wait for it and clean up. */
		signal(SIGINT, SIG_IGN);
		signal(SIGQUIT, SIG_IGN);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		signal(SIGINT, SIG_DFL);
		signal(SIGQUIT, SIG_DFL);
		rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		summary(log, from);
	}
	remove_tree(dir);
	free(dir);
	free(real);
	free(newpath);
	free(log);
	store_close(s);
	return rc;
}
