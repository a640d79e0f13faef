/**
 * @file engine.c
 * Creating engines from their specs ("local", "http=URL", ...). Each engine
 * lives in its own engine_NAME.c; this file only dispatches.
 */
#include "backend/engine/engine.h"
#include "backend/engine/engine_remote.h"

#include <stdlib.h>
#include <string.h>

struct engine_kind {
	const char *name;
	int (*create)(const char *args, int limit, const struct engine_config *cfg,
	              struct engine **out);
};

static int create_local(const char *args, int limit, const struct engine_config *cfg,
                        struct engine **out)
{
	if (args)
		return gg_error("engine 'local' takes no arguments (got '%s')", args);
	return engine_local_create(limit, cfg, out);
}

/* Remote engines register here as they are added. */
static const struct engine_kind kinds[] = {
    {"local", create_local},
    {"http", engine_http_create},
    {"lambda", engine_lambda_create},
    {"slurm", engine_slurm_create},
};

int engine_create(const char *spec, int limit, const struct engine_config *cfg, struct engine **out)
{
	if (engine_spec_check(spec) < 0)
		return -1;
	const char *eq = strchr(spec, '=');
	size_t n = eq ? (size_t)(eq - spec) : strlen(spec);
	size_t i = 0;
	while (strlen(kinds[i].name) != n || strncmp(kinds[i].name, spec, n))
		i++;
	return kinds[i].create(eq ? eq + 1 : NULL, limit, cfg, out);
}

int engine_spec_check(const char *spec)
{
	const char *eq = strchr(spec, '=');
	size_t n = eq ? (size_t)(eq - spec) : strlen(spec);
	for (size_t i = 0; i < GG_ARRAY_LEN(kinds); i++)
		if (strlen(kinds[i].name) == n && !strncmp(kinds[i].name, spec, n))
			return 0;
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < GG_ARRAY_LEN(kinds); i++)
		buf_printf(&b, "%s%s", i ? ", " : "", kinds[i].name);
	gg_error("unknown engine '%.*s' (known: %s)", (int)n, spec, b.data);
	buf_free(&b);
	return -1;
}

void engine_destroy(struct engine *e)
{
	if (e)
		e->ops->destroy(e);
}

/* Parses $GG_ENGINE: specs separated by spaces, each optionally "N:SPEC". */
int engine_specs_parse(const char *env, struct engine_spec **v, size_t *n, size_t *cap)
{
	char *copy = xstrdup(env), *save = NULL;
	int r = 0;
	for (char *w = strtok_r(copy, " \t\n", &save); w && r == 0;
	     w = strtok_r(NULL, " \t\n", &save)) {
		int limit = 0;
		char *colon = strchr(w, ':');
		if (colon && colon > w && strspn(w, "0123456789") == (size_t)(colon - w)) {
			*colon = 0;
			uint64_t j;
			if (parse_u64(w, &j) < 0 || j == 0 || j > 100000) {
				r = gg_error("bad limit '%s' in '%s:%s'", w, w, colon + 1);
				break;
			}
			limit = (int)j;
			w = colon + 1;
		}
		ALLOC_GROW(*v, *n + 1, *cap);
		(*v)[(*n)++] = (struct engine_spec){xstrdup(w), limit};
	}
	free(copy);
	return r;
}

void engine_specs_free(struct engine_spec *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].spec);
	free(v);
}

/* Creates the engines; on failure destroys those made. */
int engine_create_all(const struct engine_spec *specs, size_t n, const struct engine_config *cfg,
                      struct engine ***out)
{
	struct engine **v = xcalloc(n ? n : 1, sizeof *v);
	for (size_t i = 0; i < n; i++)
		if (engine_create(specs[i].spec, specs[i].limit, cfg, &v[i]) < 0) {
			char *e = xstrdup(gg_last_error());
			for (size_t k = 0; k < i; k++)
				engine_destroy(v[k]);
			free(v);
			gg_error("-e %s: %s", specs[i].spec, e);
			free(e);
			return -1;
		}
	*out = v;
	return 0;
}

int engine_create_from_env(const struct engine_config *cfg, int jobs, struct engine ***out,
                           size_t *n)
{
	*out = NULL;
	*n = 0;
	const char *env = getenv("GG_ENGINE");
	if (!env || !*env) {
		struct engine **v = xcalloc(1, sizeof *v);
		if (engine_local_create(jobs, cfg, &v[0]) < 0) {
			free(v);
			return -1;
		}
		*out = v;
		*n = 1;
		return 0;
	}
	struct engine_spec *specs = NULL;
	size_t k = 0, cap = 0;
	int r = engine_specs_parse(env, &specs, &k, &cap);
	if (r == 0)
		r = engine_create_all(specs, k, cfg, out);
	engine_specs_free(specs, k);
	if (r < 0)
		return gg_error("GG_ENGINE: %s", gg_last_error());
	*n = k;
	return 0;
}

void engines_destroy(struct engine **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		engine_destroy(v[i]);
	free(v);
}

bool engine_starts_at_once(const struct engine *e)
{
	/* Function engines start work at once, so a straggler is an outlier
	 * worth a copy; a Slurm job may just be waiting in the queue. */
	return !strcmp(e->label, "http") || !strcmp(e->label, "lambda");
}
