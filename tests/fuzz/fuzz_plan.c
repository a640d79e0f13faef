/**
 * @file fuzz_plan.c
 * Fuzz target for plan_parse (tools/infer/model_plan.c), the reader of what
 * `gcc -###` prints: it reads only its `len` bytes; a refusal says why; an
 * accepted plan has no empty command, and written back in the driver's own
 * quoting (each argument in "...", COLLECT_GCC_OPTIONS before each command,
 * " |" after a piped one) it parses to the same commands.
 */
#include "tests/fuzz/fuzz.h"
#include "tools/infer/infer_model.h"

#include <stdint.h>
#include <string.h>

/* The plan as the driver would print it. */
static void write_plan(const struct plan *p, struct buf *b)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct plan_cmd *c = &p->v[i];
		if (c->collect_options) {
			buf_adds(b, "COLLECT_GCC_OPTIONS=");
			buf_adds(b, c->collect_options);
			buf_addc(b, '\n');
		}
		for (size_t a = 0; a < c->argv.n; a++) {
			buf_adds(b, " \"");
			for (const char *s = c->argv.v[a]; *s; s++) {
				if (*s == '"' || *s == '\\' || *s == '$')
					buf_addc(b, '\\');
				buf_addc(b, *s);
			}
			buf_addc(b, '"');
		}
		buf_adds(b, c->pipe_out ? " |\n" : "\n");
	}
}

static bool same_strs(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static bool same_plans(const struct plan *a, const struct plan *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		const struct plan_cmd *x = &a->v[i], *y = &b->v[i];
		if (x->argv.n != y->argv.n || x->pipe_out != y->pipe_out ||
		    !same_strs(x->collect_options, y->collect_options))
			return false;
		for (size_t j = 0; j < x->argv.n; j++)
			if (strcmp(x->argv.v[j], y->argv.v[j]))
				return false;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct plan p;
	if (plan_parse((const char *)data, size, &p) < 0) {
		if (!strstr(gg_last_error(), "driver's plan"))
			fuzz_fail("a refusal that does not say what it refused", gg_last_error(),
			          data, size);
		if (p.n || p.v || p.notes.n)
			fuzz_fail("a refusal that leaves a plan behind", NULL, data, size);
		return 0;
	}
	for (size_t i = 0; i < p.n; i++)
		if (p.v[i].argv.n == 0 || p.v[i].argv.v[p.v[i].argv.n] != NULL)
			fuzz_fail("an empty or unterminated command", NULL, data, size);
	struct buf b = BUF_INIT;
	write_plan(&p, &b);
	struct plan again;
	if (plan_parse(b.data ? b.data : "", b.len, &again) < 0)
		fuzz_fail("a plan written back is refused", gg_last_error(), data, size);
	if (!same_plans(&p, &again))
		fuzz_fail("a plan written back parses to other commands", b.data, data, size);
	plan_free(&again);
	plan_free(&p);
	buf_free(&b);
	return 0;
}
