/**
 * @file thunk.c
 * Canonical encoding, strict parsing and validation of thunks (see thunk.h).
 * The parser never trusts its input: every length is bounded by what is left,
 * every field is checked, and the result must re-encode to the same bytes.
 */
#include "core/thunk.h"

#include <stdlib.h>
#include <string.h>

void thunk_init(struct thunk *t)
{
	memset(t, 0, sizeof *t);
}

void thunk_free(struct thunk *t)
{
	free(t->exe);
	strvec_free(&t->argv);
	strvec_free(&t->env);
	for (size_t i = 0; i < t->ninputs; i++) {
		free(t->inputs[i].path);
		gg_ref_free(&t->inputs[i].ref);
	}
	free(t->inputs);
	strvec_free(&t->outputs);
	thunk_init(t);
}

static void add_input(struct thunk *t, const char *path, const struct gg_ref *ref, bool exec,
                      bool link)
{
	for (size_t i = 0; i < t->ninputs; i++) {
		if (!strcmp(t->inputs[i].path, path)) {
			gg_ref_free(&t->inputs[i].ref);
			gg_ref_copy(&t->inputs[i].ref, ref);
			t->inputs[i].exec = exec;
			t->inputs[i].link = link;
			return;
		}
	}
	ALLOC_GROW(t->inputs, t->ninputs + 1, t->inputs_cap);
	struct thunk_input *in = &t->inputs[t->ninputs++];
	in->path = xstrdup(path);
	gg_ref_copy(&in->ref, ref);
	in->exec = exec;
	in->link = link;
}

void thunk_add_input(struct thunk *t, const char *path, const struct gg_ref *ref, bool exec)
{
	add_input(t, path, ref, exec, false);
}

void thunk_add_link_input(struct thunk *t, const char *path, const struct gg_ref *ref)
{
	add_input(t, path, ref, false, true);
}

const struct thunk_input *thunk_find_input(const struct thunk *t, const char *path)
{
	for (size_t i = 0; i < t->ninputs; i++)
		if (!strcmp(t->inputs[i].path, path))
			return &t->inputs[i];
	return NULL;
}

bool thunk_has_output(const struct thunk *t, const char *path)
{
	for (size_t i = 0; i < t->outputs.n; i++)
		if (!strcmp(t->outputs.v[i], path))
			return true;
	return false;
}

bool thunk_is_reduced(const struct thunk *t)
{
	for (size_t i = 0; i < t->ninputs; i++)
		if (t->inputs[i].ref.output)
			return false;
	return true;
}

static int cmp_input(const void *a, const void *b)
{
	return strcmp(((const struct thunk_input *)a)->path, ((const struct thunk_input *)b)->path);
}

/* "a" is a directory of "a/b": a file and a directory cannot share a path. */
static bool is_dir_prefix(const char *dir, const char *path)
{
	size_t n = strlen(dir);
	return !strncmp(dir, path, n) && path[n] == '/';
}

/* A path of the thunk: an output (its index) or an input. */
struct tpath {
	const char *p;
	size_t len, idx;
	bool out;
};

/* The entry of v with path p[0..len) in the table, or NULL. */
static const struct tpath *tpath_find(const struct tpath *v, const size_t *table, size_t size,
                                      const char *p, size_t len)
{
	size_t k = (size_t)str_hash(p, len) & (size - 1);
	for (; table[k]; k = (k + 1) & (size - 1)) {
		const struct tpath *e = &v[table[k] - 1];
		if (e->len == len && !memcmp(e->p, p, len))
			return e;
	}
	return NULL;
}

/* The error for a clash of a and b (at least one an output). */
static int clash(struct tpath a, struct tpath b, bool same)
{
	/* Name the output (the later declared of two) first. */
	if (!a.out || (b.out && b.idx > a.idx)) {
		struct tpath c = a;
		a = b;
		b = c;
	}
	if (same && b.out)
		return gg_error("output '%s' is declared twice", a.p);
	return gg_error("output '%s' clashes with %s '%s'", a.p, b.out ? "output" : "input", b.p);
}

/*
 * No output declared twice, none equal to an input, none a directory of
 * another output or an input or beneath one. A hash table of the paths
 * and a look-up of each path's directories: linear in the paths' length,
 * not quadratic in their number, for a thunk with many outputs. Clashes
 * among inputs are thunk_check_order's.
 */
static int check_clashes(const struct thunk *t)
{
	size_t n = t->outputs.n + t->ninputs, size = hash_table_size(n);
	struct tpath *v = xmalloc(n * sizeof *v);
	size_t *table = xcalloc(size, sizeof *table);
	for (size_t i = 0; i < t->outputs.n; i++)
		v[i] = (struct tpath){t->outputs.v[i], strlen(t->outputs.v[i]), i, true};
	for (size_t i = 0; i < t->ninputs; i++)
		v[t->outputs.n + i] =
		    (struct tpath){t->inputs[i].path, strlen(t->inputs[i].path), i, false};
	int r = 0;
	for (size_t i = 0; r == 0 && i < n; i++) {
		const struct tpath *e = tpath_find(v, table, size, v[i].p, v[i].len);
		if (e) {
			if (e->out || v[i].out)
				r = clash(*e, v[i], true);
			continue;
		}
		size_t k = (size_t)str_hash(v[i].p, v[i].len) & (size - 1);
		while (table[k])
			k = (k + 1) & (size - 1);
		table[k] = i + 1;
	}
	for (size_t i = 0; r == 0 && i < n; i++)
		for (const char *s = strchr(v[i].p, '/'); r == 0 && s; s = strchr(s + 1, '/')) {
			const struct tpath *d =
			    tpath_find(v, table, size, v[i].p, (size_t)(s - v[i].p));
			if (d && (d->out || v[i].out))
				r = clash(*d, v[i], false);
		}
	free(table);
	free(v);
	return r;
}

static size_t env_name_len(const char *e)
{
	const char *eq = strchr(e, '=');
	return eq ? (size_t)(eq - e) : strlen(e);
}

/* Checks the rules that do not depend on order. */
static int thunk_check(const struct thunk *t)
{
	if (!t->exe)
		return gg_error("thunk has no executable");
	if (path_check_relative(t->exe, "executable") < 0)
		return -1;
	if (t->argv.n == 0)
		return gg_error("thunk has no arguments (argv[0] is required)");
	for (size_t i = 0; i < t->env.n; i++) {
		const char *e = t->env.v[i];
		size_t n = env_name_len(e);
		if (n == 0 || !e[n])
			return gg_error("environment entry '%s' is not NAME=VALUE", e);
	}
	for (size_t i = 0; i < t->ninputs; i++) {
		const struct thunk_input *in = &t->inputs[i];
		if (path_check_relative(in->path, "input") < 0)
			return -1;
		for (const char *c = in->ref.output ? in->ref.output : ""; *c; c++)
			if ((unsigned char)*c <= ' ' || *c == 0x7f)
				return gg_error(
				    "input '%s': the output it refers to has a space or control "
				    "character in its name",
				    in->path);
		if (gg_name_kind(&in->ref.name) == GG_THUNK && !in->ref.output)
			return gg_error(
			    "input '%s': a thunk input must name one of its outputs (THUNK#OUTPUT)",
			    in->path);
		if (in->link && (in->exec || gg_name_kind(&in->ref.name) != GG_VALUE))
			return gg_error("input '%s': a symbolic link input ('l') names a value (a "
			                "thunk output's kind is the one it produced)",
			                in->path);
	}
	const struct thunk_input *exe = thunk_find_input(t, t->exe);
	if (!exe)
		return gg_error("executable '%s' is not one of the inputs", t->exe);
	if (exe->link)
		return gg_error("executable '%s' is a symbolic link, not a program", t->exe);
	if (!exe->exec)
		return gg_error("executable '%s' is an input without the executable bit", t->exe);
	if (t->outputs.n == 0)
		return gg_error("thunk has no outputs");
	for (size_t i = 0; i < t->outputs.n; i++) {
		const char *o = t->outputs.v[i];
		if (path_check_relative(o, "output") < 0)
			return -1;
		for (const char *c = o; *c; c++)
			if ((unsigned char)*c <= ' ' || *c == 0x7f)
				return gg_error(
				    "output '%s': spaces and control characters are not allowed in "
				    "output names (they appear in references, THUNK#OUTPUT)",
				    o);
	}
	return check_clashes(t);
}

/* Checks the order rules: env and inputs sorted, unique, no file/dir clash. */
static int thunk_check_order(const struct thunk *t)
{
	for (size_t i = 1; i < t->env.n; i++) {
		const char *a = t->env.v[i - 1], *b = t->env.v[i];
		size_t na = env_name_len(a), nb = env_name_len(b);
		if (na == nb && !strncmp(a, b, na))
			return gg_error("environment variable '%.*s' is set twice", (int)na, a);
		if (strcmp(a, b) >= 0)
			return gg_error("environment is not sorted ('%s' before '%s')", a, b);
	}
	for (size_t i = 1; i < t->ninputs; i++) {
		const char *a = t->inputs[i - 1].path, *b = t->inputs[i].path;
		int c = strcmp(a, b);
		if (c == 0)
			return gg_error("input '%s' is declared twice", a);
		if (c > 0)
			return gg_error("inputs are not sorted ('%s' before '%s')", a, b);
		if (is_dir_prefix(a, b))
			return gg_error("input '%s' is both a file and the directory of '%s'", a,
			                b);
	}
	/* "a/b" sorts after "a-x" and "a.c", so a dir clash may not be adjacent. */
	for (size_t i = 0; i < t->ninputs; i++)
		for (size_t j = i + 1;
		     j < t->ninputs &&
		     !strncmp(t->inputs[i].path, t->inputs[j].path, strlen(t->inputs[i].path));
		     j++)
			if (is_dir_prefix(t->inputs[i].path, t->inputs[j].path))
				return gg_error(
				    "input '%s' is both a file and the directory of '%s'",
				    t->inputs[i].path, t->inputs[j].path);
	return 0;
}

int thunk_canonicalize(struct thunk *t)
{
	strvec_sort(&t->env);
	if (t->ninputs > 1)
		qsort(t->inputs, t->ninputs, sizeof *t->inputs, cmp_input);
	if (thunk_check(t) < 0 || thunk_check_order(t) < 0)
		return -1;
	return 0;
}

/* Appends v in decimal (no printf: thunks are encoded on the scheduler's hot path). */
static void put_u64(struct buf *b, uint64_t v)
{
	char d[24];
	size_t n = 0;
	do
		d[sizeof d - ++n] = (char)('0' + v % 10);
	while (v /= 10);
	buf_add(b, d + sizeof d - n, n);
}

/* "LEN BYTES\n" */
static void put_lstr(struct buf *b, const char *s)
{
	size_t n = strlen(s);
	put_u64(b, n);
	buf_addc(b, ' ');
	buf_add(b, s, n);
	buf_addc(b, '\n');
}

static void put_str(struct buf *b, const char *key, const char *s)
{
	buf_adds(b, key);
	buf_addc(b, ' ');
	put_lstr(b, s);
}

int thunk_encode(struct thunk *t, struct buf *out)
{
	if (thunk_canonicalize(t) < 0)
		return -1;
	buf_adds(out, THUNK_MAGIC);
	put_str(out, "exe", t->exe);
	for (size_t i = 0; i < t->argv.n; i++)
		put_str(out, "arg", t->argv.v[i]);
	for (size_t i = 0; i < t->env.n; i++)
		put_str(out, "env", t->env.v[i]);
	for (size_t i = 0; i < t->ninputs; i++) {
		const struct thunk_input *in = &t->inputs[i];
		/* "in x|-|l NAME[#OUTPUT] LEN PATH\n" */
		buf_adds(out, in->link ? "in l " : in->exec ? "in x " : "in - ");
		buf_add(out, in->ref.name.s, GG_NAME_LEN);
		if (in->ref.output) {
			buf_addc(out, '#');
			buf_adds(out, in->ref.output);
		}
		buf_addc(out, ' ');
		put_lstr(out, in->path);
	}
	for (size_t i = 0; i < t->outputs.n; i++)
		put_str(out, "out", t->outputs.v[i]);
	buf_adds(out, "timeout ");
	put_u64(out, t->timeout_ms);
	buf_addc(out, '\n');
	return 0;
}

int thunk_name(struct thunk *t, struct gg_name *out, struct buf *encoded)
{
	/* Straight into the caller's buffer when it is empty (no copy). */
	struct buf b = BUF_INIT, *e = encoded && !encoded->len ? encoded : &b;
	if (thunk_encode(t, e) < 0) {
		buf_free(&b);
		return -1;
	}
	gg_name_of_buf(e->data, e->len, GG_THUNK, out);
	if (encoded && e != encoded)
		buf_add(encoded, b.data, b.len);
	buf_free(&b);
	return 0;
}

/* The parser's cursor. `line` counts from 1 for error messages. */
struct cursor {
	const char *p, *end;
	int line;
};

static int perr(struct cursor *c, const char *what)
{
	return gg_error("malformed thunk, line %d: %s", c->line, what);
}

/* Reads the keyword at the start of a line; 0 and sets *kw, or 1 at end. */
static int read_keyword(struct cursor *c, char kw[8])
{
	if (c->p == c->end)
		return 1;
	size_t i = 0;
	while (c->p < c->end && *c->p >= 'a' && *c->p <= 'z' && i < 7)
		kw[i++] = *c->p++;
	kw[i] = 0;
	if (c->p == c->end || *c->p != ' ' || i == 0)
		return perr(c, "expected a keyword followed by a space");
	c->p++;
	return 0;
}

static int read_u64(struct cursor *c, uint64_t *v, char term)
{
	const char *s = c->p;
	uint64_t n = 0;
	while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
		uint64_t d = (uint64_t)(*c->p - '0');
		if (n > (UINT64_MAX - d) / 10)
			return perr(c, "number too large");
		n = n * 10 + d;
		c->p++;
	}
	if (c->p == s)
		return perr(c, "expected a number");
	if (c->p - s > 1 && *s == '0')
		return perr(c, "number with a leading zero");
	if (c->p == c->end || *c->p != term)
		return perr(c, term == '\n' ? "expected end of line after number"
		                            : "expected a space after number");
	c->p++;
	*v = n;
	return 0;
}

/* Reads "LEN BYTES\n" into a malloc'd string. */
static int read_lstr(struct cursor *c, char **out, const char *what)
{
	uint64_t len;
	if (read_u64(c, &len, ' ') < 0)
		return -1;
	if (len > (uint64_t)(c->end - c->p) || (uint64_t)(c->end - c->p) - len < 1)
		return perr(c, "string length runs past the end of the thunk");
	if (memchr(c->p, 0, len))
		return gg_error("malformed thunk, line %d: %s contains a NUL byte", c->line, what);
	if (c->p[len] != '\n')
		return gg_error("malformed thunk, line %d: %s is not followed by end of line",
		                c->line, what);
	*out = xstrndup(c->p, len);
	c->p += len + 1;
	c->line++;
	return 0;
}

static int parse_input(struct cursor *c, struct thunk *t)
{
	if (c->end - c->p < 2 || (c->p[0] != 'x' && c->p[0] != '-' && c->p[0] != 'l') ||
	    c->p[1] != ' ')
		return perr(c, "input must start with 'x', '-' or 'l'");
	bool exec = c->p[0] == 'x', link = c->p[0] == 'l';
	c->p += 2;
	const char *sp = memchr(c->p, ' ', (size_t)(c->end - c->p));
	if (!sp)
		return perr(c, "input has no path length");
	struct gg_ref ref;
	if (gg_ref_parse(c->p, (size_t)(sp - c->p), &ref) < 0)
		return gg_error("malformed thunk, line %d: %s", c->line, gg_last_error());
	c->p = sp + 1;
	char *path;
	if (read_lstr(c, &path, "input path") < 0) {
		gg_ref_free(&ref);
		return -1;
	}
	ALLOC_GROW(t->inputs, t->ninputs + 1, t->inputs_cap);
	t->inputs[t->ninputs++] = (struct thunk_input){path, ref, exec, link};
	return 0;
}

/* Field order: exe, arg+, env*, in*, out+, timeout. */
enum field { F_EXE, F_ARG, F_ENV, F_IN, F_OUT, F_TIMEOUT, F_END };

static int parse_body(struct cursor *c, struct thunk *t)
{
	enum field last = F_EXE;
	bool have_exe = false, have_timeout = false;
	char kw[8];
	for (;;) {
		int r = read_keyword(c, kw);
		if (r < 0)
			return -1;
		if (r == 1)
			break;
		enum field f;
		if (!strcmp(kw, "exe"))
			f = F_EXE;
		else if (!strcmp(kw, "arg"))
			f = F_ARG;
		else if (!strcmp(kw, "env"))
			f = F_ENV;
		else if (!strcmp(kw, "in"))
			f = F_IN;
		else if (!strcmp(kw, "out"))
			f = F_OUT;
		else if (!strcmp(kw, "timeout"))
			f = F_TIMEOUT;
		else
			return gg_error("malformed thunk, line %d: unknown field '%s'", c->line,
			                kw);
		if (have_timeout)
			return perr(c, "nothing may follow the timeout");
		if (f < last || (f == F_EXE && have_exe))
			return gg_error("malformed thunk, line %d: field '%s' is out of order",
			                c->line, kw);
		if (f != F_EXE && !have_exe)
			return perr(c, "the first field must be 'exe'");
		last = f;
		char *s;
		switch (f) {
		case F_EXE:
			if (read_lstr(c, &t->exe, "executable") < 0)
				return -1;
			have_exe = true;
			break;
		case F_ARG:
		case F_ENV:
		case F_OUT:
			if (read_lstr(c, &s, kw) < 0)
				return -1;
			strvec_push_take(f == F_ARG   ? &t->argv
			                 : f == F_ENV ? &t->env
			                              : &t->outputs,
			                 s);
			break;
		case F_IN:
			if (parse_input(c, t) < 0)
				return -1;
			break;
		case F_TIMEOUT:
			if (read_u64(c, &t->timeout_ms, '\n') < 0)
				return -1;
			c->line++;
			have_timeout = true;
			break;
		case F_END: break;
		}
	}
	if (!have_timeout)
		return perr(c, "missing 'timeout' (it must be the last field)");
	return 0;
}

int thunk_parse(const void *data, size_t len, struct thunk *out)
{
	thunk_init(out);
	size_t m = sizeof(THUNK_MAGIC) - 1;
	if (len > THUNK_MAX_SIZE)
		return gg_error("malformed thunk: %zu bytes, the limit is %u", len, THUNK_MAX_SIZE);
	if (len < m || memcmp(data, THUNK_MAGIC, m))
		return gg_error("malformed thunk: it does not start with \"ggthunk 1\"");
	struct cursor c = {(const char *)data + m, (const char *)data + len, 2};
	if (parse_body(&c, out) < 0 || thunk_check(out) < 0 || thunk_check_order(out) < 0) {
		if (strncmp(gg_last_error(), "malformed thunk", 15)) {
			char *e = xstrdup(gg_last_error());
			gg_error("malformed thunk: %s", e);
			free(e);
		}
		thunk_free(out);
		return -1;
	}
	/* Trim the growth slack: a scheduler may hold many parsed thunks. */
	if (out->ninputs && out->inputs_cap > out->ninputs) {
		out->inputs = xrealloc(out->inputs, out->ninputs * sizeof *out->inputs); /* fit */
		out->inputs_cap = out->ninputs;
	}
	struct strvec *vs[] = {&out->argv, &out->env, &out->outputs};
	for (size_t i = 0; i < GG_ARRAY_LEN(vs); i++)
		if (vs[i]->v && vs[i]->cap > vs[i]->n + 1) {
			vs[i]->v = xrealloc(vs[i]->v, (vs[i]->n + 1) * sizeof *vs[i]->v); /* fit */
			vs[i]->cap = vs[i]->n + 1;
		}
	return 0;
}

char *thunk_command_line(const struct thunk *t)
{
	char *const *v = t->argv.v;
	size_t n = t->argv.n;
	if (n >= 6 && !strcmp(v[1], "--library-path") && !strcmp(v[3], "--argv0")) {
		struct strvec sv = STRVEC_INIT;
		strvec_push(&sv, v[4]);
		for (size_t i = 6; i < n; i++)
			strvec_push(&sv, v[i]);
		char *s = argv_to_shell(sv.v);
		strvec_free(&sv);
		return s;
	}
	return argv_to_shell(v);
}
