/**
 * @file engine.c
 * Creating engines from their specs ("local", "http=URL", ...). Each engine
 * lives in its own engine_NAME.c; this file only dispatches.
 */
#include "engine.h"
#include "engine_remote.h"

#include <stdlib.h>
#include <string.h>

struct engine_kind {
	const char *name;
	int (*create)(const char *args, int limit, const struct engine_config *cfg, struct engine **out);
};

static int create_local(const char *args, int limit, const struct engine_config *cfg, struct engine **out)
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
	const char *eq = strchr(spec, '=');
	size_t n = eq ? (size_t)(eq - spec) : strlen(spec);
	for (size_t i = 0; i < GG_ARRAY_LEN(kinds); i++)
		if (strlen(kinds[i].name) == n && !strncmp(kinds[i].name, spec, n))
			return kinds[i].create(eq ? eq + 1 : NULL, limit, cfg, out);
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
