/**
 * @file model_plan.c
 * Parses what `gcc -###` prints on stderr into the list of sub-commands the
 * driver would run (cc1, as, collect2, ...), each with the
 * COLLECT_GCC_OPTIONS printed before it. The driver quotes an argument that
 * holds anything but [A-Za-z0-9_/.-] as "..." with \ before \, " and $;
 * a command feeding the next through a pipe (-pipe) ends in " |". Lines that
 * are not commands (version banner, COMPILER_PATH=...) are skipped, except
 * the driver's own diagnostics, kept as notes. It interprets no option.
 */
#include "tools/infer/infer_model.h"

#include <stdlib.h>
#include <string.h>

/* Reads one argument at *p (after spaces); NULL at the end of the line. */
static char *next_arg(const char **p, const char *end, int *err)
{
	const char *s = *p;
	while (s < end && *s == ' ')
		s++;
	if (s >= end || *s == '\n') {
		*p = s;
		return NULL;
	}
	struct buf b = BUF_INIT;
	if (*s == '"') {
		s++;
		for (;;) {
			if (s >= end) {
				*err = 1;
				break;
			}
			if (*s == '\\' && s + 1 < end) {
				buf_addc(&b, s[1]);
				s += 2;
				continue;
			}
			if (*s == '"') {
				s++;
				break;
			}
			buf_addc(&b, *s++);
		}
	} else {
		while (s < end && *s != ' ' && *s != '\n')
			buf_addc(&b, *s++);
	}
	*p = s;
	if (!b.data)
		buf_adds(&b, "");
	return buf_steal(&b);
}

static const char *line_end(const char *s, const char *end)
{
	const char *nl = memchr(s, '\n', (size_t)(end - s));
	return nl ? nl : end;
}

int plan_parse(const char *text, size_t len, struct plan *out)
{
	memset(out, 0, sizeof *out);
	const char *p = text, *end = text + len;
	char *options = NULL;
	while (p < end) {
		if (*p != ' ') {
			static const char opts[] = "COLLECT_GCC_OPTIONS=";
			const size_t nopts = sizeof opts - 1;
			const char *e = line_end(p, end);
			size_t n =
			    (size_t)(e - p); /* the line, which may end the text unterminated */
			if (n >= nopts && !memcmp(p, opts, nopts)) {
				free(options);
				options = xstrndup(p + nopts, n - nopts);
			} else if (memmem(p, n, ": warning: ", 11) || memmem(p, n, ": note: ", 8)) {
				strvec_pushn(&out->notes, p, n);
			}
			p = e < end ? e + 1 : e;
			continue;
		}
		struct plan_cmd c = {STRVEC_INIT, NULL, false};
		int err = 0;
		char *a;
		while ((a = next_arg(&p, end, &err)))
			strvec_push_take(&c.argv, a);
		if (p < end)
			p++; /* the newline */
		if (err) {
			strvec_free(&c.argv);
			free(options);
			plan_free(out);
			return gg_error("cannot parse the driver's plan (unterminated quote)");
		}
		if (c.argv.n && !strcmp(c.argv.v[c.argv.n - 1], "|")) {
			free(c.argv.v[--c.argv.n]);
			c.argv.v[c.argv.n] = NULL;
			c.pipe_out = true;
		}
		if (c.argv.n == 0) {
			strvec_free(&c.argv);
			continue;
		}
		c.collect_options = options ? xstrdup(options) : NULL;
		ALLOC_GROW(out->v, out->n + 1, out->cap);
		out->v[out->n++] = c;
	}
	free(options);
	return 0;
}

void plan_free(struct plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		strvec_free(&p->v[i].argv);
		free(p->v[i].collect_options);
	}
	free(p->v);
	strvec_free(&p->notes);
	memset(p, 0, sizeof *p);
}
