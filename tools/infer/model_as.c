/**
 * @file model_as.c
 * The assembler: the stage the gcc model uses for `as` in a driver's plan,
 * and the `as` model for a build that runs the assembler itself. One thunk
 * runs the real as on the .s (a temp from cc1, a placeholder or a host file)
 * and writes the object. A hand-written .s that uses .include or .incbin, a
 * dependency file (--MD, -MD, --MD=FILE: as reads options with
 * getopt_long_only) or reading standard input falls back to the real as.
 */
#include "tools/infer/infer_model.h"

#include "core/thunk_build.h"

#include <stdlib.h>
#include <string.h>

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

/* A hand-written .s that pulls in other files cannot be described by its name alone. */
static int check_asm_source(const char *path)
{
	struct buf b = BUF_INIT;
	if (read_file(path, &b, 64u << 20) < 0)
		return -1;
	int r = 0;
	if (memmem(b.data, b.len, ".include", 8) || memmem(b.data, b.len, ".incbin", 7))
		r = gg_error("%s uses .include/.incbin", path);
	buf_free(&b);
	return r;
}

/* Options of as that take a separate value. */
static const char *const sep_opts[] = {"-I", "--defsym", "-o", "-march", "-mtune"};

int model_as_stage(struct model_ctx *m, char **argv, const char *stdin_temp,
                   struct model_temps *temps, struct model_outputs *outputs)
{
	struct thunk t;
	thunk_init(&t);
	struct temp_names tn = {STRVEC_INIT, STRVEC_INIT};
	struct strvec args = STRVEC_INIT, outs = STRVEC_INIT;
	char *out_where = NULL;
	size_t ninputs = 0;
	int r = 0;
	for (size_t i = 1; argv[i] && r == 0; i++) {
		const char *a = argv[i];
		/* as reads its options with getopt_long_only: -MD and --MD=FILE too */
		if (!strncmp(a, "--MD", 4) || !strncmp(a, "-MD", 3)) {
			r = gg_error("%s (a dependency file) is not modelled for as", a);
			break;
		}
		if (a[0] == '-' && a[1] == 'a') { /* -a[cdghlmns][=FILE], also from gcc -Wa, */
			r = gg_error("writes a listing (%s)", a);
			break;
		}
		if (!strncmp(a, "-o", 2) && a[2]) { /* -oOBJFILE */
			r = model_stage_output(m, a + 2, temps, &tn, &outs, &out_where);
			strvec_push(&args, "-o");
			if (r == 0)
				strvec_push(&args, out_where);
			continue;
		}
		bool sep = false;
		for (size_t k = 0; k < GG_ARRAY_LEN(sep_opts); k++)
			sep |= !strcmp(a, sep_opts[k]);
		if (sep && !argv[i + 1]) {
			r = gg_error("%s without its value", a);
			break;
		}
		if (sep) {
			const char *v = argv[++i];
			if (!strcmp(a, "-o")) {
				r = model_stage_output(m, v, temps, &tn, &outs, &out_where);
				strvec_push(&args, a);
				if (r == 0)
					strvec_push(&args, out_where);
			} else if (!strcmp(a, "-I")) {
				strvec_push(&args, a);
				strvec_push_take(&args, model_map(m, v));
			} else {
				strvec_push(&args, a);
				strvec_push(&args, v);
			}
			continue;
		}
		if (!strcmp(a, "--")) {
			r = gg_error("the assembler would read standard input");
			break;
		}
		if (a[0] == '-' && a[1]) {
			char *w;
			r = model_rewrite_generic(m, &t, a, &w);
			if (r == 0)
				strvec_push_take(&args, w);
			continue;
		}
		if (!model_is_temp(temps, a) && model_is_placeholder(a, NULL) != 1)
			r = check_asm_source(a);
		char *w;
		if (r == 0)
			r = model_stage_input(m, &t, temps, &tn, a, &w);
		if (r == 0) {
			strvec_push_take(&args, w);
			ninputs++;
		}
	}
	if (r == 0 && stdin_temp) {
		char *w;
		r = model_stage_input(m, &t, temps, &tn, stdin_temp, &w);
		if (r == 0) {
			strvec_push_take(&args, w);
			ninputs++;
		}
	}
	if (r == 0 && ninputs == 0)
		r = gg_error("the assembler would read standard input");
	if (r == 0 && outs.n == 0) {
		/* as writes a.out by default */
		r = model_stage_output(m, "a.out", temps, &tn, &outs, &out_where);
		if (r == 0) {
			strvec_push(&args, "-o");
			strvec_push(&args, out_where);
		}
	}
	if (r == 0 && outs.n != 1)
		r = gg_error("the assembler's command has two outputs");
	if (r == 0)
		r = model_stage_finish(m, &t, argv[0], base_name(argv[0]), &args, outs.v[0],
		                       out_where, temps, outputs);
	thunk_free(&t);
	temp_names_free(&tn);
	strvec_free(&args);
	strvec_free(&outs);
	free(out_where);
	return r;
}

int model_as(struct model_ctx *m)
{
	if (getenv(MODEL_ENV_BYPASS))
		return model_fallback(m, MODEL_ENV_BYPASS " is set");
	for (int i = 1; i < m->argc; i++) {
		const char *a = m->argv[i];
		if (!strcmp(a, "-v") || !strcmp(a, "--version") || !strncmp(a, "--help", 6) ||
		    !strcmp(a, "-") || a[0] == '@')
			return model_fallback(m, "a query or standard input");
		if (!strncmp(base_name(a), "conftest", 8) || !strcmp(a, "/dev/null"))
			return model_fallback(m, "a configure probe (its result is wanted now)");
	}
	if (model_open_store(m) < 0)
		return model_fallback(m, "no store: %s", gg_last_error());
	struct model_temps temps = {0};
	struct model_outputs outs = {STRVEC_INIT, NULL, 0};
	int r = model_as_stage(m, m->argv, NULL, &temps, &outs);
	if (r == 0)
		r = model_outputs_write(m, &outs);
	model_temps_free(&temps);
	model_outputs_free(&outs);
	if (r < 0) {
		return model_fallback(m, "%s", gg_last_error());
	}
	return 0;
}
