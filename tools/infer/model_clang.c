/**
 * @file model_clang.c
 * The clang/clang++ model. Clang's plan (`clang -###`) is one `clang -cc1`
 * per source, which compiles and assembles in one step, and an `ld` line.
 * Each -cc1 becomes one thunk; the link goes through model_link.c.
 *
 * Unlike gcc's cc1, `clang -cc1` has no built-in include directories: the
 * driver passes every one (-internal-isystem, -internal-externc-isystem,
 * -resource-dir), so mapping them is enough. Headers are found by running the
 * same -cc1 on the host with -E -H -sys-header-deps; when the build asked
 * for a depfile, a second host run without -sys-header-deps writes it as the
 * build expects (-MMD leaves system headers out). The compilation directory
 * the driver passes (-fdebug-compilation-dir, -fcoverage-compilation-dir)
 * stays when the object records it (-g: DW_AT_comp_dir), as the gcc model
 * keeps it, and is "." otherwise and below $GG_INFER_SHARE_DIR. Names stay
 * as the build wrote them, as in the gcc model (model_cc1_input,
 * model_cc1_dir): absolute ones below .gg-sys/root, mapped back by
 * -fmacro-prefix-map and -fdebug-prefix-map (__FILE__ in an assert of a
 * CMake build, which names sources by absolute paths), relative ones from a
 * directory below the base mapped back likewise, "../inc" kept as written.
 * The source is the argument after "-x LANG", which is where the driver
 * always puts it.
 *
 * It falls back to the real clang like the gcc model does, and also for the
 * integrated assembler's own sub-command (-cc1as) and anything else the
 * plan does not look like.
 */
#include "tools/infer/infer_model.h"

#include "core/thunk_build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static bool starts(const char *s, const char *p)
{
	return !strncmp(s, p, strlen(p));
}

enum ckind { C_DIR, C_FILE, C_OUT, C_DROP1, C_DROP0, C_KEEP1 };

static const struct {
	const char *name;
	enum ckind kind;
} cc1_opts[] = {
    {"-I", C_DIR},
    {"-isystem", C_DIR},
    {"-iquote", C_DIR},
    {"-idirafter", C_DIR},
    {"-internal-isystem", C_DIR},
    {"-internal-externc-isystem", C_DIR},
    {"-resource-dir", C_DIR},
    {"-include", C_FILE},
    {"-imacros", C_FILE},
    {"-o", C_OUT},
    {"-dependency-file", C_DROP1},
    {"-MT", C_DROP1},
    {"-MQ", C_DROP1},
    {"-sys-header-deps", C_DROP0},
    {"-MP", C_DROP0},
    {"-MG", C_DROP0},
    {"-main-file-name", C_KEEP1},
    {"-x", C_KEEP1},
    {"-triple", C_KEEP1},
    {"-target-cpu", C_KEEP1},
    {"-tune-cpu", C_KEEP1},
    {"-target-feature", C_KEEP1},
    {"-target-abi", C_KEEP1},
    {"-mllvm", C_KEEP1},
    {"-D", C_KEEP1},
    {"-U", C_KEEP1},
    {"-ferror-limit", C_KEEP1},
    {"-fmessage-length", C_KEEP1},
    {"-mrelocation-model", C_KEEP1},
    {"-pic-level", C_KEEP1},
    {"-stack-protector", C_KEEP1},
    {"-stack-protector-buffer-size", C_KEEP1},
    {"-std", C_KEEP1},
    {"-fvisibility", C_KEEP1},
    {"-mcode-model", C_KEEP1},
    {"-fsanitize-address-field-padding", C_KEEP1},
};

static int opt_index(const char *a)
{
	for (size_t i = 0; i < GG_ARRAY_LEN(cc1_opts); i++)
		if (!strcmp(a, cc1_opts[i].name))
			return (int)i;
	return -1;
}

/* Runs the -cc1 on the host, preprocessing only; reads -H's headers and -v's lists into sc. */
static int host_run(struct model_ctx *m, struct strvec *av, const char *src, struct header_scan *sc)
{
	struct buf err = BUF_INIT;
	int status, r = model_run(m, av->v, NULL, NULL, &err, &status);
	if (r == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
		char *line = model_first_error(&err);
		r = gg_error("the preprocessor fails here (%s)", line);
		free(line);
	}
	if (r == 0 && sc)
		r = header_scan_parse(err.data, src, sc);
	buf_free(&err);
	return r;
}

/*
 * Scan 1 finds every header (-H with -sys-header-deps, the build's own
 * dependency options left out). Scan 2, only when the build asked for a
 * depfile, writes it exactly as the build asked.
 */
static int scan(struct model_ctx *m, char **argv, const char *src, struct header_scan *sc,
                char **depfile)
{
	struct strvec a1 = STRVEC_INIT, a2 = STRVEC_INIT;
	bool deps = false;
	strvec_push(&a1, argv[0]);
	strvec_push(&a2, argv[0]);
	for (size_t i = 1; argv[i]; i++) {
		int k = opt_index(argv[i]);
		if (!strcmp(argv[i], "-o") && argv[i + 1]) {
			i++;
			continue;
		}
		strvec_push(&a2, argv[i]);
		if (k >= 0 && (cc1_opts[k].kind == C_DROP1 || cc1_opts[k].kind == C_DROP0)) {
			if (!strcmp(argv[i], "-dependency-file")) {
				deps = true;
				free(*depfile);
				*depfile = argv[i + 1] ? xstrdup(argv[i + 1]) : NULL;
			}
			if (cc1_opts[k].kind == C_DROP1 && argv[i + 1])
				strvec_push(&a2, argv[++i]);
			continue;
		}
		strvec_push(&a1, argv[i]);
	}
	static const char *const tail1[] = {"-E", "-H",       "-v", "-sys-header-deps",
	                                    "-o", "/dev/null"};
	static const char *const tail2[] = {"-E", "-o", "/dev/null"};
	for (size_t i = 0; i < GG_ARRAY_LEN(tail1); i++)
		strvec_push(&a1, tail1[i]);
	for (size_t i = 0; i < GG_ARRAY_LEN(tail2); i++)
		strvec_push(&a2, tail2[i]);
	int r = host_run(m, &a1, src, sc);
	if (r == 0 && deps)
		r = host_run(m, &a2, src, NULL);
	strvec_free(&a1);
	strvec_free(&a2);
	return r;
}

/*
 * Is a compilation directory the driver gave (-fdebug-compilation-dir=DIR,
 * -fcoverage-compilation-dir=DIR: the host's cwd, or the build's own) kept
 * as it is? It is when the object records it (DW_AT_comp_dir with -g, the
 * coverage mapping's with -fcoverage-mapping), as a plain build's does: the
 * thunk then names it, as the gcc model's do. It is made "." when the
 * object records none (no host path in the thunk) and below
 * $GG_INFER_SHARE_DIR, unless the build chose it.
 */
static bool comp_dir_kept(const struct model_ctx *m, char **argv, const char *a)
{
	bool debug = starts(a, "-fdebug-");
	bool recorded = false;
	for (size_t i = 1; argv[i] && !recorded; i++)
		recorded = starts(argv[i], debug ? "-debug-info-kind=" : "-fcoverage-mapping");
	if (!recorded || !m->share)
		return recorded;
	for (int i = 1; i < m->argc; i++)
		if (starts(m->argv[i], "-ffile-compilation-dir") ||
		    starts(m->argv[i],
		           debug ? "-fdebug-compilation-dir" : "-fcoverage-compilation-dir"))
			return true;
	return false;
}

static int model_cc1(struct model_ctx *m, const struct plan_cmd *cmd, struct model_temps *temps,
                     struct model_outputs *outputs)
{
	char **argv = cmd->argv.v;
	struct thunk t;
	thunk_init(&t);
	struct temp_names tn = {STRVEC_INIT, STRVEC_INIT};
	struct strvec args = STRVEC_INIT, outs = STRVEC_INIT;
	struct header_scan sc = HEADER_SCAN_INIT;
	struct strvec maps = STRVEC_INIT; /* names climbing out of the base, as written */
	char *out_where = NULL, *depfile = NULL;
	const char *src = NULL;
	int r = 0;
	strvec_push(&args, "-cc1");
	/*
	 * Names in the object (__FILE__, debug info) as the build wrote them:
	 * absolute ones stay absolute below the thunk's root, relative ones are
	 * seen from cwd's place in the thunk, those with ".." or "." as written,
	 * and the build's own maps of absolute names apply to them below the
	 * thunk's root too (clang 14 tries the longest first; later ones try
	 * the last given first, as GCC does, so the maps of names out of the
	 * base come last).
	 */
	strvec_push(&args, "-fmacro-prefix-map=" MODEL_ROOT "/=/");
	strvec_push(&args, "-fdebug-prefix-map=" MODEL_ROOT "/=/");
	if (*m->prefix) {
		strvec_push_take(&args, xasprintf("-fmacro-prefix-map=%s=", m->prefix));
		strvec_push_take(&args, xasprintf("-fdebug-prefix-map=%s=", m->prefix));
	}
	model_user_maps(argv, &args);
	for (size_t i = 2; argv[i] && r == 0; i++) {
		const char *a = argv[i];
		int k = opt_index(a);
		if (starts(a, "-fdebug-compilation-dir=") ||
		    starts(a, "-fcoverage-compilation-dir=")) {
			if (comp_dir_kept(m, argv, a))
				strvec_push(&args, a);
			else
				strvec_push_take(
				    &args, xasprintf("%.*s.", (int)(strchr(a, '=') - a + 1), a));
			continue;
		}
		if (k < 0) {
			char *w;
			r = model_rewrite_generic(m, &t, a, &w);
			if (r == 0)
				strvec_push_take(&args, w);
			continue;
		}
		if (cc1_opts[k].kind == C_DROP0)
			continue;
		const char *v = argv[i + 1];
		if (!v) {
			r = gg_error("%s without its value", a);
			break;
		}
		i++;
		char *w = NULL;
		switch (cc1_opts[k].kind) {
		case C_DIR:
			strvec_push(&args, a);
			strvec_push_take(&args, model_cc1_dir(m, &t, v, &maps));
			break;
		case C_FILE:
			r = model_cc1_input(m, &t, temps, &tn, v, &w, &maps);
			if (r == 0) {
				strvec_push(&args, a);
				strvec_push_take(&args, w);
			}
			break;
		case C_OUT:
			r = model_stage_output(m, v, temps, &tn, &outs, &out_where);
			if (r == 0) {
				strvec_push(&args, a);
				strvec_push(&args, out_where);
			}
			break;
		case C_KEEP1:
			strvec_push(&args, a);
			if (!strcmp(a, "-x") && argv[i + 1]) {
				/* the source follows "-x LANG" */
				strvec_push(&args, v);
				src = argv[++i];
				r = model_cc1_input(m, &t, temps, &tn, src, &w, &maps);
				if (r == 0)
					strvec_push_take(&args, w);
			} else {
				strvec_push(&args, v);
			}
			break;
		case C_DROP1:
		case C_DROP0: break;
		}
	}
	for (size_t i = 0; i < maps.n; i++) {
		strvec_push_take(&args, xasprintf("-fmacro-prefix-map=%s", maps.v[i]));
		strvec_push_take(&args, xasprintf("-fdebug-prefix-map=%s", maps.v[i]));
	}
	if (r == 0 && !src)
		r = gg_error("no input after -x in clang's command");
	if (r == 0 && outs.n != 1)
		r = gg_error("clang's command has no -o");
	if (r == 0)
		r = source_time_macros(src);
	if (r == 0)
		r = scan(m, argv, src, &sc, &depfile);
	if (r == 0 && depfile)
		strvec_push(&m->sides, depfile);
	if (r == 0 && m->recording)
		header_scan_includes(&sc, src);
	for (size_t i = 0; r == 0 && i < sc.probes.n; i++)
		strvec_push(&m->probes, sc.probes.v[i]);
	for (size_t i = 0; r == 0 && i < sc.headers.n; i++)
		r = model_add_input_named(m, &t, sc.headers.v[i], NULL);
	model_pass_source_date_epoch(&t);
	if (r == 0)
		r = model_stage_finish(m, &t, argv[0], "clang", &args, outs.v[0], out_where, temps,
		                       outputs);
	thunk_free(&t);
	temp_names_free(&tn);
	strvec_free(&args);
	strvec_free(&outs);
	header_scan_free(&sc);
	strvec_free(&maps);
	free(out_where);
	free(depfile);
	return r;
}

static int model_ldcmd(struct model_ctx *m, const struct plan_cmd *cmd, struct model_temps *temps,
                       struct model_outputs *outputs)
{
	struct link_job job = {
	    .args = cmd->argv.v + 1,
	    .nargs = cmd->argv.n - 1,
	    .linker = cmd->argv.v[0],
	    .driver = m->tool,
	    .temps = temps,
	};
	int r = model_link_output(m, &job, outputs);
	return r;
}

static int run_plan(struct model_ctx *m, struct plan *plan, struct model_temps *temps,
                    struct model_outputs *outputs)
{
	int r = 0;
	for (size_t i = 0; i < plan->n && r == 0; i++) {
		struct plan_cmd *c = &plan->v[i];
		const char *prog = c->argv.v[0];
		const char *b = strrchr(prog, '/') ? strrchr(prog, '/') + 1 : prog;
		if (!strcmp(prog, "(in-process)"))
			continue;
		if (c->pipe_out)
			r = gg_error("a piped command");
		else if (c->argv.n > 1 && !strcmp(c->argv.v[1], "-cc1"))
			r = model_cc1(m, c, temps, outputs);
		else if (!strcmp(b, "ld") || starts(b, "ld."))
			r = model_ldcmd(m, c, temps, outputs);
		else
			r = gg_error("clang would run %s%s%s, which has no model", b,
			             c->argv.n > 1 ? " " : "", c->argv.n > 1 ? c->argv.v[1] : "");
	}
	return r;
}

int model_clang(struct model_ctx *m)
{
	return model_driver(m, run_plan);
}
