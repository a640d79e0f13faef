/**
 * @file model_gcc.c
 * The gcc/g++/cc/c++ model. It asks the real driver for its plan
 * (`gcc -### ARGS`) and turns each sub-command into a thunk: cc1/cc1plus
 * (compile, with the headers found by running the same cc1 on the host with
 * -E -H -v), as (assemble) and collect2 (link, see model_link.c). The
 * driver's temp files become thunk outputs that later stages depend on; the
 * build's own outputs get placeholders. Flags are not whitelisted: unknown
 * ones pass through, and only options known to name files are rewritten.
 *
 * It falls back to the real driver for what it cannot defer faithfully:
 * queries (-print-*, -dump*, --version, -v), preprocessing to stdout, stdin
 * input, configure probes (conftest*), response files, precompiled headers,
 * include-path environment variables, and anything the plan does not look
 * like. A failed model step also falls back, so the build goes on.
 */
#include "tools/infer/infer_model.h"

#include "core/placeholder.h"
#include "core/thunk_build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

static bool starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* ---- reasons not to model, from the command line alone ---- */

const char *model_driver_why_not(struct model_ctx *m)
{
	static const char *const env_vars[] = {
	    "CPATH",
	    "C_INCLUDE_PATH",
	    "CPLUS_INCLUDE_PATH",
	    "OBJC_INCLUDE_PATH",
	    "GCC_EXEC_PREFIX",
	    "COMPILER_PATH",
	    "DEPENDENCIES_OUTPUT",
	    "SUNPRO_DEPENDENCIES",
	    "GCC_COMPARE_DEBUG",
	    "CCC_OVERRIDE_OPTIONS", /* clang: edits its own command line */
	};
	static char buf[128];
	if (getenv(MODEL_ENV_BYPASS))
		return MODEL_ENV_BYPASS " is set";
	for (size_t i = 0; i < GG_ARRAY_LEN(env_vars); i++) {
		const char *v = getenv(env_vars[i]);
		if (v && *v) {
			snprintf(buf, sizeof buf, "$%s is set (it changes what the driver reads)",
			         env_vars[i]);
			return buf;
		}
	}
	if (m->argc < 2)
		return "no arguments";
	for (int i = 1; i < m->argc; i++) {
		const char *a = m->argv[i];
		if (!strcmp(a, "-Xlinker") || !strcmp(a, "-Xassembler") ||
		    !strcmp(a, "-Xpreprocessor")) {
			i++; /* its value is another tool's option (-Xlinker -Bsymbolic) */
			continue;
		}
		/* programs, crt files and specs found in -B directories, and specs
		 * files, are neither inputs nor places the models' memo checks */
		if ((starts(a, "-B") && strcmp(a, "-Bstatic") && strcmp(a, "-Bdynamic")) ||
		    starts(a, "--prefix"))
			return "-B (a directory the driver takes programs, files and specs from)";
		if (starts(a, "-specs") || starts(a, "--specs"))
			return "a specs file (it changes what the driver runs)";
		if (!strcmp(a, "-"))
			return "reads standard input";
		if (!strcmp(a, "-v") || !strcmp(a, "-###") || !strcmp(a, "--version") ||
		    starts(a, "--help") || starts(a, "-print-") || starts(a, "--print") ||
		    (starts(a, "-dump") && !starts(a, "-dumpbase") && !starts(a, "-dumpdir")) ||
		    !strcmp(a, "--target-help"))
			return "a query, not a build step";
		if (!strcmp(a, "-E") || !strcmp(a, "-M") || !strcmp(a, "-MM") ||
		    !strcmp(a, "-fsyntax-only"))
			return "preprocessing or checking only (the output is wanted now)";
		if (a[0] == '@')
			return "a response file";
		if (starts(a, "-save-temps") || starts(a, "-fcompare-debug") ||
		    !strcmp(a, "-wrapper") || starts(a, "-fplugin") || starts(a, "-fprofile-use") ||
		    starts(a, "-fauto-profile") || starts(a, "-fcallgraph-info") ||
		    starts(a, "-fdump-") || starts(a, "-fstack-usage") || starts(a, "-aux-info") ||
		    starts(a, "--sysroot") || starts(a, "-isysroot") || starts(a, "-iprefix") ||
		    starts(a, "-fprofile-generate") || starts(a, "-fprofile-arcs") ||
		    starts(a, "-ftest-coverage") || !strcmp(a, "--coverage") ||
		    starts(a, "-gsplit-dwarf") || starts(a, "-fdump-") || starts(a, "-Wl,-Map") ||
		    starts(a, "-Wl,--Map") || starts(a, "-Wl,--dependency-file") ||
		    starts(a, "-Wl,--out-implib") || starts(a, "-Wl,-M") ||
		    starts(a, "-Wl,--print-map") || starts(a, "-fsave-optimization-record") ||
		    (starts(a, "-fopt-info") && strchr(a, '=')) || starts(a, "-ftime-trace") ||
		    starts(a, "-MJ") || starts(a, "-fdiagnostics-format=sarif-file")) {
			snprintf(buf, sizeof buf,
			         "%.60s reads or writes files the model cannot see", a);
			return buf;
		}
		if (!strcmp(a, "/dev/null") || starts(base_name(a), "conftest"))
			return "a configure probe (its result is wanted now)";
	}
	return NULL;
}

/* ---- the compile stage (cc1, cc1plus) ---- */

enum optkind {
	K_DIR,     /* value is a directory: rewrite */
	K_FILE,    /* value is a file read: input + rewrite */
	K_OUT,     /* -o */
	K_DROP1,   /* drop with its value (dependency output: done on the host) */
	K_DROP0,   /* drop */
	K_KEEP1,   /* keep with its value unchanged */
	K_MAP1,    /* value is a path-like name: rewrite, no input */
	K_PREFIX1, /* value is a path prefix ("dir/" or "name."): rewrite relative */
};

static const struct {
	const char *name;
	enum optkind kind;
} cc1_opts[] = {
    {"-I", K_DIR},
    {"-isystem", K_DIR},
    {"-iquote", K_DIR},
    {"-idirafter", K_DIR},
    {"-include", K_FILE},
    {"-imacros", K_FILE},
    {"-o", K_OUT},
    {"-MD", K_DROP1},
    {"-MMD", K_DROP1},
    {"-MF", K_DROP1},
    {"-MT", K_DROP1},
    {"-MQ", K_DROP1},
    {"-M", K_DROP0},
    {"-MM", K_DROP0},
    {"-MP", K_DROP0},
    {"-MG", K_DROP0},
    {"-dumpbase", K_MAP1},
    {"-dumpbase-ext", K_KEEP1},
    {"-dumpdir", K_PREFIX1},
    {"-auxbase", K_MAP1},
    {"-auxbase-strip", K_MAP1},
    {"-imultilib", K_KEEP1},
    {"-imultiarch", K_KEEP1},
    {"-iwithprefix", K_KEEP1},
    {"-iwithprefixbefore", K_KEEP1},
    {"-D", K_KEEP1},
    {"-U", K_KEEP1},
    {"-A", K_KEEP1},
    {"--param", K_KEEP1},
    {"-G", K_KEEP1},
};

static int cc1_opt(const char *a)
{
	for (size_t i = 0; i < GG_ARRAY_LEN(cc1_opts); i++)
		if (!strcmp(a, cc1_opts[i].name))
			return (int)i;
	return -1;
}

/* Joined forms the driver may pass: -Idir, -iquotedir, ... (directories only). */
static const char *joined_dir(const char *a, const char **opt)
{
	static const char *const names[] = {"-isystem", "-iquote", "-idirafter", "-I"};
	for (size_t i = 0; i < GG_ARRAY_LEN(names); i++)
		if (starts(a, names[i]) && a[strlen(names[i])]) {
			*opt = names[i];
			return a + strlen(names[i]);
		}
	return NULL;
}

/* A value that is a path prefix: "sub/" or "a." relative to cwd. */
static char *map_prefix(struct model_ctx *m, const char *v)
{
	if (v[0] == '/') {
		char *r = model_map(m, v);
		bool dir = v[strlen(v) - 1] == '/';
		char *out = dir ? xasprintf("%s/", r) : xstrdup(r);
		free(r);
		return out;
	}
	return xasprintf("%s%s", m->prefix, v);
}

char *model_first_error(const struct buf *err)
{
	const char *p = err->data ? err->data : "";
	const char *e = strstr(p, "error");
	if (!e)
		e = p;
	while (e > p && e[-1] != '\n')
		e--;
	const char *nl = strchr(e, '\n');
	return xstrndup(e, nl ? (size_t)(nl - e) : strlen(e));
}

/*
 * Runs cc1 on the host as the build would, but preprocessing only, with -H
 * (every header opened) and -v (the search list). The build's own -MD/-MF
 * options stay, so the depfile make expects is written here, by the real
 * preprocessor, with the paths the build uses.
 */
static int scan_headers(struct model_ctx *m, char **argv, const char *src, struct header_scan *sc,
                        const char *out)
{
	struct strvec av = STRVEC_INIT;
	for (size_t i = 0; argv[i]; i++) {
		if (!strcmp(argv[i], "-o") && argv[i + 1]) {
			i++;
			continue;
		}
		strvec_push(&av, argv[i]);
	}
	strvec_push(&av, "-E");
	strvec_push(&av, "-H");
	strvec_push(&av, "-v");
	/* a kept .i must not name the host's cwd (gcc adds it with -g) */
	if (out)
		strvec_push(&av, "-fno-working-directory");
	strvec_push(&av, "-o");
	strvec_push(&av, out ? out : "/dev/null");
	struct buf err = BUF_INIT;
	int status, r = model_run(m, av.v, NULL, NULL, &err, &status);
	strvec_free(&av);
	bool failed = r == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	char *why = failed ? model_first_error(&err) : NULL;
	if (r == 0)
		r = header_scan_parse(err.data, src, sc);
	/* The headers read up to a failure still count: one may be a placeholder. */
	if (r == 0 && failed)
		r = gg_error("the preprocessor fails here (%s)", why);
	free(why);
	buf_free(&err);
	return r;
}

/*
 * A header that is itself a placeholder (made by an earlier thunk) must be
 * forced before the preprocessor can read it; its "#!" line makes the scan
 * fail. Then force the ones the scan reached and scan again, a few rounds at
 * most (each round gets further).
 */
static int scan_with_placeholders(struct model_ctx *m, char **argv, const char *src,
                                  struct header_scan *sc, const char *out)
{
	for (int round = 0;; round++) {
		int r = scan_headers(m, argv, src, sc, out);
		if (r == 0)
			return 0;
		struct strvec ph = STRVEC_INIT;
		for (size_t i = 0; i < sc->headers.n; i++)
			if (model_is_placeholder(sc->headers.v[i], NULL) == 1)
				strvec_push(&ph, sc->headers.v[i]);
		if (ph.n == 0 || round == 8) {
			strvec_free(&ph);
			return r;
		}
		r = model_force_files(m, &ph);
		strvec_free(&ph);
		if (r < 0)
			return -1;
		header_scan_free(sc);
		*sc = (struct header_scan)HEADER_SCAN_INIT;
	}
}

static bool in_list(const struct strvec *v, const char *s)
{
	for (size_t i = 0; i < v->n; i++)
		if (!strcmp(v->v[i], s))
			return true;
	return false;
}

/*
 * The driver's built-in directories: the "<...>" search list minus what the
 * command line put there. A -I dir that cpp dropped because it duplicates a
 * system dir stays a system dir (as cpp treats it).
 */
static void builtin_dirs(char **args, const struct header_scan *sc, struct strvec *out)
{
	struct strvec user = STRVEC_INIT, user_i = STRVEC_INIT;
	for (size_t i = 0; args[i]; i++) {
		const char *opt = NULL, *v = NULL;
		if ((!strcmp(args[i], "-I") || !strcmp(args[i], "-isystem") ||
		     !strcmp(args[i], "-idirafter")) &&
		    args[i + 1]) {
			opt = args[i];
			v = args[++i];
		} else {
			v = joined_dir(args[i], &opt);
		}
		if (!v)
			continue;
		strvec_push(!strcmp(opt, "-I") ? &user_i : &user, v);
	}
	for (size_t i = 0; i < sc->sysdirs.n; i++) {
		const char *d = sc->sysdirs.v[i];
		if (in_list(&user, d))
			continue;
		if (in_list(&user_i, d) && !in_list(&sc->dup_sys, d))
			continue;
		strvec_push(out, d);
	}
	strvec_free(&user);
	strvec_free(&user_i);
}

/* Forces a source that is a placeholder: the host preprocessor needs its bytes. */
static int force_source(struct model_ctx *m, const struct model_temps *temps, const char *src)
{
	if (model_is_temp(temps, src) || model_is_placeholder(src, NULL) != 1)
		return 0;
	struct strvec v = STRVEC_INIT;
	strvec_push(&v, src);
	int r = model_force_files(m, &v);
	strvec_free(&v);
	return r;
}

/* Options only the preprocessor reads: a compile of a .i does without them. */
static bool cpp_only(const char *a, int k)
{
	static const char *const sep[] = {
	    "-I", "-isystem", "-iquote",     "-idirafter", "-include",     "-imacros",
	    "-D", "-U",       "-imultiarch", "-imultilib", "-iwithprefix", "-iwithprefixbefore",
	    "-A"};
	if (k >= 0)
		for (size_t i = 0; i < GG_ARRAY_LEN(sep); i++)
			if (!strcmp(cc1_opts[k].name, sep[i]))
				return true;
	return !strcmp(a, "-nostdinc") || !strcmp(a, "-fworking-directory") ||
	       !strcmp(a, "-fpch-preprocess") || !strcmp(a, "-undef");
}

/*
 * The preprocessed mode (GG_INFER_PREPROCESS=1): the host preprocessing the
 * scan does anyway keeps its output, the .i becomes the compile thunk's only
 * input besides cc1, and the thunk compiles it with -fpreprocessed (as gcc
 * -save-temps does). The thunk then reads no header, and nothing is
 * preprocessed twice. File names in the .i are as the build wrote them, so
 * objects equal a plain build's. Returns 1 when the mode does not apply: a
 * preprocessing command itself, or a .i naming absolute paths inside the base
 * (its thunk would then differ between checkouts; the hermetic mode maps them).
 */
static int model_cc1_pre(struct model_ctx *m, const struct plan_cmd *cmd, struct model_temps *temps,
                         struct model_outputs *outputs)
{
	static unsigned seq;
	char **argv = cmd->argv.v;
	const char *src = NULL, *out = NULL;
	char *depfile = NULL;
	for (size_t i = 1; argv[i]; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-E") || !strcmp(a, "-fpreprocessed") ||
		    !strcmp(a, "-fdirectives-only") || !strcmp(a, "-traditional-cpp"))
			return 1;
		int k = cc1_opt(a);
		const char *opt;
		if (k < 0 && joined_dir(a, &opt))
			continue;
		if (k < 0) {
			if (a[0] != '-' && !src)
				src = a;
			else if (a[0] != '-')
				return gg_error("more than one input (%s, %s)", src, a);
			continue;
		}
		if (cc1_opts[k].kind == K_DROP0 || !argv[i + 1])
			continue;
		const char *v = argv[++i];
		if (!strcmp(a, "-o"))
			out = v;
		if (!strcmp(a, "-MF") || ((!strcmp(a, "-MD") || !strcmp(a, "-MMD")) && !depfile)) {
			free(depfile);
			depfile = xstrdup(v);
		}
	}
	if (!src || !out || model_is_temp(temps, src)) {
		free(depfile);
		return 1;
	}
	struct thunk t;
	thunk_init(&t);
	struct temp_names tn = {STRVEC_INIT, STRVEC_INIT};
	struct strvec args = STRVEC_INIT, outs = STRVEC_INIT;
	struct header_scan sc = HEADER_SCAN_INIT;
	char *ipath = xasprintf("%s/pre%u-%d.i", temps->dir, seq++, (int)getpid());
	char *out_where = NULL;
	struct buf text = BUF_INIT;
	int r = force_source(m, temps, src);
	if (r == 0)
		r = source_time_macros(src); /* the forced source's text */
	if (r == 0)
		r = scan_with_placeholders(m, argv, src, &sc, ipath);
	if (r == 0)
		r = read_file(ipath, &text, 1u << 30);
	if (r == 0) {
		char *needle = xasprintf("\"%s/", m->base);
		if (memmem(text.data, text.len, needle, strlen(needle)))
			r = 1;
		free(needle);
	}
	struct gg_ref iref = {0};
	if (r == 0)
		r = store_put_file(m->store, ipath, &iref.name);
	if (r == 0) {
		thunk_add_input(&t, MODEL_TMP "/src.i", &iref, false);
		strvec_push(&args, "-fpreprocessed");
		strvec_push(&args, MODEL_TMP "/src.i");
	}
	for (size_t i = 1; r == 0 && argv[i]; i++) {
		const char *a = argv[i];
		int k = cc1_opt(a);
		const char *opt;
		if (a == src || (k < 0 && joined_dir(a, &opt)) ||
		    (k < 0 && (!strncmp(a, "-D", 2) || !strncmp(a, "-U", 2))))
			continue;
		if (cpp_only(a, k) ||
		    (k >= 0 && (cc1_opts[k].kind == K_DROP0 || cc1_opts[k].kind == K_DROP1))) {
			if (k >= 0 && cc1_opts[k].kind != K_DROP0 && argv[i + 1])
				i++;
			continue;
		}
		if (k < 0) {
			char *w;
			r = model_rewrite_generic(m, &t, a, &w);
			if (r == 0)
				strvec_push_take(&args, w);
			continue;
		}
		const char *v = argv[++i];
		strvec_push(&args, a);
		if (cc1_opts[k].kind == K_OUT) {
			r = model_stage_output(m, v, temps, &tn, &outs, &out_where);
			if (r == 0)
				strvec_push(&args, out_where);
		} else if (cc1_opts[k].kind == K_MAP1) {
			strvec_push_take(&args, model_map(m, v));
		} else if (cc1_opts[k].kind == K_PREFIX1) {
			strvec_push_take(&args, map_prefix(m, v));
		} else {
			strvec_push(&args, v);
		}
	}
	if (r == 0 && outs.n != 1)
		r = gg_error("the compiler's command has no -o");
	if (r == 0)
		r = model_stage_finish(m, &t, argv[0], base_name(argv[0]), &args, outs.v[0],
		                       out_where, temps, outputs);
	if (r == 0) {
		/* what the .i was made of: the models' memo checks it did not change */
		strvec_push(&m->checks, src);
		for (size_t i = 0; i < sc.headers.n; i++)
			strvec_push(&m->checks, sc.headers.v[i]);
		if (m->recording)
			header_scan_includes(&sc, src);
		for (size_t i = 0; i < sc.probes.n; i++)
			strvec_push(&m->probes, sc.probes.v[i]);
		if (depfile)
			strvec_push(&m->sides, depfile);
	}
	unlink(ipath);
	free(ipath);
	buf_free(&text);
	thunk_free(&t);
	temp_names_free(&tn);
	strvec_free(&args);
	strvec_free(&outs);
	header_scan_free(&sc);
	free(out_where);
	free(depfile);
	gg_ref_free(&iref);
	return r;
}

/* Has a relative path a "." or ".." component? */
static bool has_dots(const char *p)
{
	for (const char *c = p; *c; c = strchr(c, '/') ? strchr(c, '/') + 1 : c + strlen(c)) {
		size_t n = strcspn(c, "/");
		if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return true;
	}
	return false;
}

/*
 * A relative path with "." or ".." as the build wrote it, below cwd's place
 * in the thunk ("src/../include"): the compiler records it unchanged through
 * the cwd map, as a plain build records "../include/yaml.h". The directories
 * a "." or ".." steps from must exist in the sandbox: an empty .gg-dir file
 * is placed in each. A path that climbs above the thunk's root (out of the
 * base directory) goes where model_map() puts it, and a map of its own
 * ("OLD=NEW", appended to maps) gives back the name as written. NULL (use
 * model_map) when the path has no "." or ".." part.
 */
static char *as_written(struct model_ctx *m, struct thunk *t, const char *rel, bool dir,
                        struct strvec *maps)
{
	if (rel[0] == '/' || !has_dots(rel))
		return NULL;
	char *w = xasprintf("%s%s", m->prefix, rel);
	struct strvec dirs = STRVEC_INIT; /* the normalised directory at each step */
	struct buf cur = BUF_INIT;
	bool ok = true;
	for (const char *c = w; *c && ok;) {
		size_t n = strcspn(c, "/");
		bool dot = n == 1 && c[0] == '.', dotdot = n == 2 && c[0] == '.' && c[1] == '.';
		if ((dot || dotdot) && cur.len)
			strvec_pushn(&dirs, cur.data, cur.len);
		if (dotdot) {
			if (!cur.len)
				ok = false;
			while (cur.len && cur.data[cur.len - 1] != '/')
				cur.len--;
			if (cur.len)
				cur.len--;
		} else if (!dot && n) {
			if (cur.len)
				buf_addc(&cur, '/');
			buf_add(&cur, c, n);
		}
		c += n;
		while (*c == '/')
			c++;
	}
	buf_free(&cur);
	struct gg_ref keep = {0};
	for (size_t i = 0; ok && i < dirs.n; i++) {
		char *f = xasprintf("%s/.gg-dir", dirs.v[i]);
		if (!thunk_find_input(t, f)) {
			if (!keep.name.s[0] &&
			    store_put_buf(m->store, "", 0, GG_VALUE, &keep.name) < 0)
				ok = false;
			else
				thunk_add_input(t, f, &keep, false);
		}
		free(f);
	}
	strvec_free(&dirs);
	if (!ok) {
		free(w);
		w = model_map(m, rel);
		size_t n = strlen(rel);
		while (dir && n > 1 && rel[n - 1] == '/')
			n--;
		strvec_push_take(
		    maps, xasprintf("%s%s=%.*s%s", w, dir ? "/" : "", (int)n, rel, dir ? "/" : ""));
	}
	return w;
}

int model_cc1_input(struct model_ctx *m, struct thunk *t, const struct model_temps *temps,
                    struct temp_names *tn, const char *host, char **where, struct strvec *maps)
{
	if (model_is_temp(temps, host))
		return model_stage_input(m, t, temps, tn, host, where);
	if (host[0] == '/')
		return model_add_input_named(m, t, host, where);
	char *w = as_written(m, t, host, false, maps);
	if (!w)
		return model_stage_input(m, t, temps, tn, host, where);
	int r = model_add_input(m, t, host, NULL);
	if (r == 0)
		*where = w;
	else
		free(w);
	return r;
}

char *model_cc1_dir(struct model_ctx *m, struct thunk *t, const char *dir, struct strvec *maps)
{
	char *w = as_written(m, t, dir, true, maps);
	return w ? w : model_map_named(m, dir);
}

/* Is a prefix-map option one GCC applies to debug info (file: both)? */
static const char *prefix_map_of(const char *a, bool *debug)
{
	static const char *const kinds[] = {
	    "-ffile-prefix-map=", "-fdebug-prefix-map=", "-fmacro-prefix-map="};
	for (size_t i = 0; i < GG_ARRAY_LEN(kinds); i++)
		if (starts(a, kinds[i])) {
			*debug = i < 2;
			return a + strlen(kinds[i]);
		}
	return NULL;
}

void model_user_maps(char **argv, struct strvec *args)
{
	for (size_t i = 1; argv[i]; i++) {
		bool dbg;
		const char *v = prefix_map_of(argv[i], &dbg);
		if (v && v[0] == '/' && strchr(v, '='))
			strvec_push_take(args, xasprintf("%.*s" MODEL_ROOT "%s", (int)(v - argv[i]),
			                                 argv[i], v));
	}
}

/*
 * The maps that give the compiler's output the names a plain build records,
 * after the user's own maps (argv): each user map of an absolute OLD again
 * for OLD's place in the thunk (model_user_maps); and with debug info, the sandbox's
 * working directory "/" mapped to the host's, put through the user's maps as
 * GCC would (the last given that matches): DW_AT_comp_dir. That directory
 * then is part of the thunk, as it is part of the output. (With a sandbox
 * that cannot be the root, the working directory is not "/": debug info then
 * names the run directory.)
 */
static void cc1_maps(struct model_ctx *m, char **argv, struct strvec *args)
{
	bool debug = false;
	for (size_t i = 1; argv[i]; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-g0"))
			debug = false;
		else if (starts(a, "-g") && !starts(a, "-gno-") && !starts(a, "-gz") &&
		         strcmp(a, "-gtoggle"))
			debug = true;
	}
	size_t n = 0; /* the last argument */
	while (argv[n + 1])
		n++;
	model_user_maps(argv, args);
	char *cwd = NULL;
	for (size_t i = n; i >= 1 && !cwd; i--) {
		bool dbg;
		const char *v = prefix_map_of(argv[i], &dbg);
		const char *eq = v ? strchr(v, '=') : NULL;
		size_t ol = eq ? (size_t)(eq - v) : 0;
		if (eq && dbg && !strncmp(m->pwd, v, ol))
			cwd = xasprintf("%s%s", eq + 1, m->pwd + ol);
	}
	if (!cwd) /* $GG_INFER_SHARE_DIR: relative, so the thunk names no host directory */
		cwd = xstrdup(m->share ? "." : m->pwd);
	if (debug) {
		strvec_push_take(args, xasprintf("-fdebug-prefix-map=/=%s", cwd));
		/* GCC maps DWARF 5's line-table directory 0 (the comp dir) twice:
		 * an absolute one must map to itself (tried first: given last). */
		if (cwd[0] == '/')
			strvec_push_take(args, xasprintf("-fdebug-prefix-map=%s=%s", cwd, cwd));
	}
	free(cwd);
}

/*
 * With -flto GCC names an object's LTO sections with a random number unless
 * -frandom-seed is given, so such an object differs on every compile, plain
 * or lazy. A compile with -flto and no seed gets -frandom-seed=SOURCE (the
 * source as the command names it; Bazel gives its output's name): the thunk
 * then always makes the same bytes, those of a plain compile given the same
 * option. Without -flto, GCC 12's objects (C++ included: anonymous
 * namespaces, templates, static initialisers) do not depend on the seed, and
 * the option would only be recorded in DW_AT_producer, so none is added.
 */
static void lto_seed(char **argv, const char *src, struct strvec *args)
{
	bool lto = false;
	for (size_t i = 1; argv[i]; i++) {
		if (starts(argv[i], "-frandom-seed"))
			return;
		if (!strcmp(argv[i], "-flto") || starts(argv[i], "-flto="))
			lto = true;
		else if (!strcmp(argv[i], "-fno-lto"))
			lto = false;
	}
	if (lto)
		strvec_push_take(args, xasprintf("-frandom-seed=%s", src));
}

static int model_cc1(struct model_ctx *m, const struct plan_cmd *cmd, struct model_temps *temps,
                     struct model_outputs *outputs)
{
	const char *pre = getenv(MODEL_ENV_PRE);
	if (pre && *pre && strcmp(pre, "0")) {
		int r = model_cc1_pre(m, cmd, temps, outputs);
		if (r <= 0)
			return r;
	}
	char **argv = cmd->argv.v;
	struct thunk t;
	thunk_init(&t);
	struct temp_names tn = {STRVEC_INIT, STRVEC_INIT};
	struct strvec args = STRVEC_INIT, outs = STRVEC_INIT, builtins = STRVEC_INIT;
	struct strvec maps = STRVEC_INIT; /* names climbing out of the base, as written */
	struct header_scan sc = HEADER_SCAN_INIT;
	char *out_where = NULL, *src = NULL, *depfile = NULL;
	bool nostdinc = false;
	int r = 0;

	/*
	 * Keep file names in the output as the build wrote them. GCC tries the
	 * last map given first, so cwd's (the longer, when cwd is outside the
	 * base) comes last.
	 */
	strvec_push(&args, "-ffile-prefix-map=" MODEL_ROOT "/=/");
	if (*m->prefix)
		strvec_push_take(&args, xasprintf("-ffile-prefix-map=%s=", m->prefix));

	for (size_t i = 1; argv[i] && r == 0; i++) {
		const char *a = argv[i];
		int k = cc1_opt(a);
		const char *opt;
		const char *jd = k < 0 ? joined_dir(a, &opt) : NULL;
		if (!strcmp(a, "-nostdinc"))
			nostdinc = true;
		if (jd) {
			char *w = model_cc1_dir(m, &t, jd, &maps);
			strvec_push_take(&args, xasprintf("%s%s", opt, w));
			free(w);
			continue;
		}
		if (k < 0) {
			if (a[0] != '-' && !src) {
				src = xstrdup(a);
				char *w;
				if ((r = force_source(m, temps, a)) < 0)
					break;
				r = model_cc1_input(m, &t, temps, &tn, a, &w, &maps);
				if (r == 0)
					strvec_push_take(&args, w);
				continue;
			}
			if (a[0] != '-') {
				r = gg_error("more than one input (%s, %s)", src, a);
				break;
			}
			char *w;
			r = model_rewrite_generic(m, &t, a, &w);
			if (r == 0)
				strvec_push_take(&args, w);
			continue;
		}
		enum optkind kind = cc1_opts[k].kind;
		if (kind == K_DROP0)
			continue;
		const char *v = argv[i + 1];
		if (!v) {
			r = gg_error("%s without its value", a);
			break;
		}
		i++;
		char *w = NULL;
		switch (kind) {
		case K_DROP1:
			/* the depfile the host scan writes (-MF wins over -MD's name) */
			if (!strcmp(a, "-MF") ||
			    ((!strcmp(a, "-MD") || !strcmp(a, "-MMD")) && !depfile)) {
				free(depfile);
				depfile = xstrdup(v);
			}
			break;
		case K_KEEP1:
			strvec_push(&args, a);
			strvec_push(&args, v);
			break;
		case K_DIR:
		case K_MAP1:
			w = kind == K_DIR ? model_cc1_dir(m, &t, v, &maps) : model_map(m, v);
			strvec_push(&args, a);
			strvec_push_take(&args, w);
			break;
		case K_PREFIX1:
			strvec_push(&args, a);
			strvec_push_take(&args, map_prefix(m, v));
			break;
		case K_FILE:
			r = model_cc1_input(m, &t, temps, &tn, v, &w, &maps);
			if (r == 0) {
				strvec_push(&args, a);
				strvec_push_take(&args, w);
			}
			break;
		case K_OUT:
			r = model_stage_output(m, v, temps, &tn, &outs, &out_where);
			if (r == 0) {
				strvec_push(&args, "-o");
				strvec_push(&args, out_where);
			}
			break;
		case K_DROP0: break;
		}
	}
	if (r == 0) {
		cc1_maps(m, argv, &args);
		for (size_t i = 0; i < maps.n; i++) /* tried first: given last */
			strvec_push_take(&args, xasprintf("-ffile-prefix-map=%s", maps.v[i]));
	}
	if (r == 0 && !src)
		r = gg_error("no input file in the compiler's command");
	if (r == 0)
		r = source_time_macros(src);
	if (r == 0)
		lto_seed(argv, src, &args);
	if (r == 0 && outs.n != 1)
		r = gg_error("the compiler's command has no -o");
	if (r == 0)
		r = scan_with_placeholders(m, argv, src, &sc, NULL);
	if (r == 0 && depfile)
		strvec_push(&m->sides, depfile);
	if (r == 0 && m->recording)
		header_scan_includes(&sc, src);
	for (size_t i = 0; r == 0 && i < sc.probes.n; i++)
		strvec_push(&m->probes, sc.probes.v[i]);
	for (size_t i = 0; r == 0 && i < sc.headers.n; i++)
		if (!model_is_temp(temps, sc.headers.v[i]))
			r = model_add_input_named(m, &t, sc.headers.v[i], NULL);
	/* cc1's implicit pre-include (glibc's stdc-predef.h) is read but -H does not list it. */
	for (size_t i = 0; r == 0 && i < sc.sysdirs.n; i++) {
		char *p = xasprintf("%s/stdc-predef.h", sc.sysdirs.v[i]);
		bool found = access(p, R_OK) == 0;
		if (found)
			r = model_add_input(m, &t, p, NULL);
		free(p);
		if (found)
			break;
	}
	if (r == 0 && !nostdinc) {
		builtin_dirs(argv + 1, &sc, &builtins);
		strvec_push(&args, "-nostdinc");
		for (size_t i = 0; i < builtins.n; i++) {
			strvec_push(&args, "-isystem");
			strvec_push_take(&args, model_map(m, builtins.v[i]));
		}
	}
	model_pass_source_date_epoch(&t);
	if (r == 0)
		r = model_stage_finish(m, &t, argv[0], base_name(argv[0]), &args, outs.v[0],
		                       out_where, temps, outputs);
	thunk_free(&t);
	temp_names_free(&tn);
	strvec_free(&args);
	strvec_free(&outs);
	strvec_free(&builtins);
	strvec_free(&maps);
	header_scan_free(&sc);
	free(out_where);
	free(src);
	free(depfile);
	return r;
}

/* ---- the link stage ---- */

static int model_collect2(struct model_ctx *m, const struct plan_cmd *cmd,
                          struct model_temps *temps, struct model_outputs *outputs)
{
	/* collect2 consumes these itself and hands the rest to ld unchanged. */
	struct strvec args = STRVEC_INIT;
	char *linker = xstrdup("ld");
	for (size_t i = 1; i < cmd->argv.n; i++) {
		const char *a = cmd->argv.v[i];
		if (starts(a, "-fuse-ld=")) {
			free(linker);
			linker = xasprintf("ld.%s", a + 9);
			continue;
		}
		if (starts(a, "-flto") || starts(a, "-fno-lto") || !strcmp(a, "-debug"))
			continue;
		strvec_push(&args, a);
	}
	struct link_job job = {
	    .args = args.v,
	    .nargs = args.n,
	    .linker = linker,
	    .collect_options = cmd->collect_options,
	    .driver = NULL,
	    .temps = temps,
	};
	int r = model_link_output(m, &job, outputs);
	free(linker);
	strvec_free(&args);
	return r;
}

/* ---- the driver ---- */

enum stage { ST_CC1, ST_AS, ST_LINK, ST_OTHER };

static enum stage stage_of(const char *prog)
{
	const char *b = base_name(prog);
	if (!strcmp(b, "cc1") || !strcmp(b, "cc1plus") || !strcmp(b, "cc1obj") ||
	    !strcmp(b, "cc1objplus"))
		return ST_CC1;
	if (!strcmp(b, "as") || (strlen(b) > 3 && !strcmp(b + strlen(b) - 3, "-as")))
		return ST_AS;
	if (!strcmp(b, "collect2"))
		return ST_LINK;
	return ST_OTHER;
}

/* Turns "-o -" of a piped command into a temp the next command reads. */
static char *unpipe(struct plan_cmd *c, const char *tmpdir, size_t idx)
{
	for (size_t i = 1; i + 1 < c->argv.n; i++)
		if (!strcmp(c->argv.v[i], "-o") && !strcmp(c->argv.v[i + 1], "-")) {
			free(c->argv.v[i + 1]);
			c->argv.v[i + 1] = xasprintf("%s/pipe%zu.s", tmpdir, idx);
			return xstrdup(c->argv.v[i + 1]);
		}
	return NULL;
}

int model_driver_plan(struct model_ctx *m, const char *tmpdir, struct plan *plan)
{
	struct strvec av = STRVEC_INIT;
	strvec_push(&av, m->tool);
	strvec_push(&av, "-###");
	for (int i = 1; i < m->argc; i++)
		strvec_push(&av, m->argv[i]);
	char *tmpenv = xasprintf("TMPDIR=%s", tmpdir);
	char *const extra[] = {tmpenv, NULL};
	struct buf err = BUF_INIT;
	int status, r = model_run(m, av.v, extra, NULL, &err, &status);
	strvec_free(&av);
	free(tmpenv);
	if (r == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
		char *line = model_first_error(&err);
		r = gg_error("the driver rejects the command (%s)", line);
		free(line);
	}
	if (r == 0)
		r = plan_parse(err.data ? err.data : "", err.len, plan);
	buf_free(&err);
	return r;
}

static int run_plan(struct model_ctx *m, struct plan *plan, struct model_temps *temps,
                    struct model_outputs *outputs)
{
	char *piped = NULL;
	int r = 0;
	for (size_t i = 0; i < plan->n && r == 0; i++) {
		struct plan_cmd *c = &plan->v[i];
		char *in_pipe = piped;
		piped = c->pipe_out ? unpipe(c, temps->dir, i) : NULL;
		if (c->pipe_out && !piped)
			r = gg_error("a piped command the model does not understand");
		enum stage st = stage_of(c->argv.v[0]);
		if (r == 0 && in_pipe && st != ST_AS)
			r = gg_error("%s reads a pipe", base_name(c->argv.v[0]));
		else if (r == 0 && st == ST_CC1)
			r = model_cc1(m, c, temps, outputs);
		else if (r == 0 && st == ST_AS)
			r = model_as_stage(m, c->argv.v, in_pipe, temps, outputs);
		else if (r == 0 && st == ST_LINK)
			r = model_collect2(m, c, temps, outputs);
		else if (r == 0)
			r = gg_error("the driver would run %s, which has no model",
			             base_name(c->argv.v[0]));
		free(in_pipe);
	}
	free(piped);
	return r;
}

int model_driver(struct model_ctx *m, model_plan_runner run)
{
	const char *why = model_driver_why_not(m);
	if (why)
		return model_fallback(m, "%s", why);
	if (model_open_store(m) < 0)
		return model_fallback(m, "no store: %s", gg_last_error());
	if (model_memo_replay(m))
		return 0;
	struct model_temps temps = {0};
	if (store_make_tmpdir(m->store, "infer", &temps.dir) < 0)
		return model_fallback(m, "%s", gg_last_error());
	struct plan plan = {0};
	struct model_outputs outputs = {STRVEC_INIT, NULL, 0};
	int r = model_driver_plan(m, temps.dir, &plan);
	if (r == 0 && plan.n == 0)
		r = gg_error("the driver would run nothing");
	if (r == 0)
		r = run(m, &plan, &temps, &outputs);
	if (r == 0 && outputs.host.n == 0)
		r = gg_error("the driver would write nothing");
	remove_tree(temps.dir);
	/* Placeholders only once every thunk is stored: a failure leaves no half-done outputs. */
	if (r == 0)
		r = model_outputs_write(m, &outputs);
	if (r == 0) {
		for (size_t i = 0; i < plan.notes.n; i++)
			fprintf(stderr, "%s\n", plan.notes.v[i]);
		model_memo_record(m, &outputs);
	}
	model_temps_free(&temps);
	plan_free(&plan);
	model_outputs_free(&outputs);
	if (r < 0) {
		return model_fallback(m, "%s", gg_last_error());
	}
	return 0;
}

int model_gcc(struct model_ctx *m)
{
	return model_driver(m, run_plan);
}
