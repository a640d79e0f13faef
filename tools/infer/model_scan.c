/**
 * @file model_scan.c
 * What a preprocessor says about a compile when it runs with -H (each header
 * it opened, one dot a level of nesting) and -v (its search lists): gcc's
 * cc1 and clang's -cc1 print both alike. The headers are inputs of the
 * compile's thunk; the places searched before each was found are what the
 * models' memo must see still empty before it replays the command.
 */
#include "tools/infer/infer_model.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static bool starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

void header_scan_free(struct header_scan *s)
{
	strvec_free(&s->headers);
	strvec_free(&s->sysdirs);
	strvec_free(&s->dup_sys);
	strvec_free(&s->dirs);
	strvec_free(&s->missing);
	strvec_free(&s->probes);
}

/* The part of header below dir, or NULL. */
static const char *below_dir(const char *header, const char *dir)
{
	size_t n = strlen(dir);
	if (n == 0 || strncmp(header, dir, n))
		return NULL;
	if (dir[n - 1] != '/' && header[n] != '/')
		return NULL;
	header += n;
	while (*header == '/')
		header++;
	return *header ? header : NULL;
}

static void probe(struct header_scan *sc, const char *header, char *place)
{
	if (strcmp(place, header))
		strvec_push_take(&sc->probes, place);
	else
		free(place);
}

/*
 * Where cpp looked before it opened `header`: a file made at one of these
 * places later would be taken instead, so the models' memo checks each still
 * holds nothing. For #include "x" cpp searches the includer's directory (the
 * working directory for -include), then the "..." list, then the <...> list;
 * #include_next starts further down; a directory that did not exist is not in
 * the lists at all. -H does not say which form an include had, so every place
 * before the one it was found in counts, and every missing directory (places
 * that exist were passed over on purpose: the memo leaves them alone).
 */
static void scan_probes(struct header_scan *sc, const char *includer, int depth, const char *header)
{
	const char *slash = includer ? strrchr(includer, '/') : NULL;
	int idir = slash ? (int)(slash - includer) : 0;
	for (size_t k = 0; k < sc->dirs.n; k++) {
		const char *name = below_dir(header, sc->dirs.v[k]);
		if (!name)
			continue;
		char *beside = slash ? xasprintf("%.*s/%s", idir, includer, name) : xstrdup(name);
		probe(sc, header, beside);
		if (depth == 1)
			probe(sc, header, xstrdup(name));
		for (size_t j = 0; j < k; j++)
			probe(sc, header, xasprintf("%s/%s", sc->dirs.v[j], name));
		for (size_t j = 0; j < sc->missing.n; j++)
			probe(sc, header, xasprintf("%s/%s", sc->missing.v[j], name));
	}
}

int header_scan_parse(char *err, const char *src, struct header_scan *sc)
{
	int r = 0;
	enum { NONE, QUOTE, ANGLE } list = NONE;
	/* the includers of the current header: headers' indexes, by depth */
	size_t *stack = NULL, stack_n = 0, stack_cap = 0;
	for (char *p = err; r == 0 && p && *p;) {
		char *nl = strchr(p, '\n');
		if (nl)
			*nl = 0;
		if (!strcmp(p, "#include \"...\" search starts here:")) {
			list = QUOTE;
		} else if (!strcmp(p, "#include <...> search starts here:")) {
			list = ANGLE;
		} else if (!strcmp(p, "End of search list.")) {
			list = NONE;
		} else if (list != NONE && p[0] == ' ') {
			if (list == ANGLE)
				strvec_push(&sc->sysdirs, p + 1);
			strvec_push(&sc->dirs, p + 1);
		} else if (starts(p, "ignoring nonexistent directory \"")) {
			char *q = p + strlen("ignoring nonexistent directory \"");
			char *e = strrchr(q, '"');
			if (e)
				strvec_pushn(&sc->missing, q, (size_t)(e - q));
		} else if (starts(p, "ignoring duplicate directory \"")) {
			char *q = p + strlen("ignoring duplicate directory \"");
			char *e = strrchr(q, '"');
			/* the explanation follows on the next line */
			const char *next = nl ? nl + 1 : "";
			const char *next_end = strchr(next, '\n');
			size_t nn = next_end ? (size_t)(next_end - next) : strlen(next);
			if (e && memmem(next, nn, "duplicates a system directory", 29))
				strvec_pushn(&sc->dup_sys, q, (size_t)(e - q));
		} else if (p[0] == '.') {
			char *s = p;
			while (*s == '.')
				s++;
			size_t depth = (size_t)(s - p);
			if (*s == ' ' && s[1]) {
				size_t up = depth >= 2 && depth - 1 <= stack_n ? stack[depth - 2]
				                                               : SIZE_MAX;
				const char *includer = depth == 1       ? src
				                       : up != SIZE_MAX ? sc->headers.v[up]
				                                        : NULL;
				scan_probes(sc, includer, (int)depth, s + 1);
				ALLOC_GROW(stack, depth, stack_cap);
				/* a level skipped (not what cpp prints): its includer unknown */
				while (stack_n + 1 < depth)
					stack[stack_n++] = SIZE_MAX;
				stack[depth - 1] = sc->headers.n;
				stack_n = depth;
				strvec_push(&sc->headers, s + 1);
			}
		} else if ((p[0] == '!' || p[0] == 'x') && p[1] == ' ') {
			r = gg_error("uses a precompiled header (%s)", p + 2);
		}
		p = nl ? nl + 1 : NULL;
	}
	free(stack);
	return r;
}

/* Does place hold anything (as the models' memo judges an absent place)? */
static bool holds_something(const char *place)
{
	struct stat st;
	return stat(place, &st) == 0 || (errno != ENOENT && errno != ENOTDIR);
}

/* Every place a search for `name` from a file at `from` tries, in order, up
 * to the first that holds something (where it stops), and every directory
 * that was missing (each would be somewhere in that order). "x" looks beside
 * `from` first, then in the "..." and the <...> lists; <x> in the latter. */
static void probe_everywhere(struct header_scan *sc, const char *from, const char *name,
                             bool quoted)
{
	for (size_t j = 0; j < sc->missing.n; j++)
		probe(sc, "", xasprintf("%s/%s", sc->missing.v[j], name));
	const struct strvec *list = quoted ? &sc->dirs : &sc->sysdirs;
	const char *slash = strrchr(from, '/');
	for (size_t j = quoted ? 0 : 1; j <= list->n; j++) {
		char *place = j == 0 ? slash ? xasprintf("%.*s/%s", (int)(slash - from), from, name)
		                             : xstrdup(name)
		                     : xasprintf("%s/%s", list->v[j - 1], name);
		bool found = holds_something(place);
		probe(sc, "", place);
		if (found)
			break;
	}
}

/* From p at a literal name ("x" or <x>): probes every place it may be looked
 * for. The name ends at its closing mark on the same line. */
static void probe_literal(struct header_scan *sc, const char *from, const char *p, const char *end)
{
	if (p == end || (*p != '<' && *p != '"'))
		return; /* a macro: not seen */
	char close = *p == '<' ? '>' : '"';
	const char *s = ++p;
	while (p < end && *p != close && *p != '\n')
		p++;
	if (p < end && *p == close && p > s) {
		char *name = xstrndup(s, (size_t)(p - s));
		probe_everywhere(sc, from, name, close == '"');
		free(name);
	}
}

static const char *skip_blanks(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/* The names `__has_include` (or _next) asks for in text. */
static void has_include_names(struct header_scan *sc, const char *from, const char *text,
                              size_t len)
{
	static const char word[] = "__has_include";
	const char *end = text + len;
	for (const char *p = text; (p = memmem(p, (size_t)(end - p), word, sizeof word - 1));) {
		p += sizeof word - 1;
		if (end - p >= 5 && !memcmp(p, "_next", 5))
			p += 5;
		p = skip_blanks(p, end);
		if (p < end && *p == '(')
			probe_literal(sc, from, skip_blanks(p + 1, end), end);
	}
}

/* The names #include, #include_next and #import lines ask for in text. */
static void include_names(struct header_scan *sc, const char *from, const char *text, size_t len)
{
	static const char *const words[] = {"include_next", "include", "import"};
	const char *end = text + len;
	for (const char *p = text; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *q = skip_blanks(p, end);
		if (q < end && *q == '#') {
			q = skip_blanks(q + 1, end);
			for (size_t k = 0; k < GG_ARRAY_LEN(words); k++) {
				size_t n = strlen(words[k]);
				if ((size_t)(end - q) > n && !memcmp(q, words[k], n)) {
					probe_literal(sc, from, skip_blanks(q + n, end), end);
					break;
				}
			}
		}
		p = nl ? nl + 1 : end;
	}
}

void header_scan_includes(struct header_scan *sc, const char *src)
{
	struct gg_error_saved sv;
	gg_error_save(&sv);
	for (size_t i = 0; i <= sc->headers.n; i++) {
		const char *f = i < sc->headers.n ? sc->headers.v[i] : src;
		struct buf b = BUF_INIT;
		if (f && read_file(f, &b, 64u << 20) == 0 && b.len) {
			has_include_names(sc, f, b.data, b.len);
			include_names(sc, f, b.data, b.len);
		}
		buf_free(&b);
	}
	gg_error_restore(&sv);
}

/* Is the identifier `word` used in text as code (not in a comment, a string
 * or a character literal)? A rough C lexer: enough to tell a use of a
 * macro from a mention of its name. */
static bool ident_char(char c, bool first)
{
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (!first && c >= '0' && c <= '9');
}

static bool uses_identifier(const char *text, size_t len, const char *word)
{
	size_t wl = strlen(word);
	const char *p = text, *end = text + len;
	while (p < end) {
		if (p + 1 < end && p[0] == '/' && p[1] == '/') {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			p = nl ? nl + 1 : end;
		} else if (p + 1 < end && p[0] == '/' && p[1] == '*') {
			const char *c = memmem(p + 2, (size_t)(end - p - 2), "*/", 2);
			p = c ? c + 2 : end;
		} else if (*p == '"' || *p == '\'') {
			char q = *p++;
			while (p < end && *p != q && *p != '\n')
				p += *p == '\\' && p + 1 < end ? 2 : 1;
			p = p < end ? p + 1 : end;
		} else if (ident_char(*p, true)) {
			const char *s = p;
			while (p < end && ident_char(*p, false))
				p++;
			if ((size_t)(p - s) == wl && !memcmp(s, word, wl))
				return true;
		} else {
			p++;
		}
	}
	return false;
}

int source_time_macros(const char *src)
{
	static const char *const macros[] = {"__TIMESTAMP__", "__DATE__", "__TIME__"};
	struct buf b = BUF_INIT;
	int r = read_file(src, &b, 1u << 30); /* unread: not modelled (the compiler will say) */
	if (r == 0) {
		const char *sde = getenv("SOURCE_DATE_EPOCH");
		size_t n = sde && *sde ? 1 : GG_ARRAY_LEN(macros); /* gcc takes those two from it */
		for (size_t i = 0; i < n && r == 0; i++)
			if (uses_identifier(b.data, b.len, macros[i]))
				r = gg_error("%s uses %s (a value of this compile's time, or of "
				             "the source's "
				             "modification time, that a thunk would keep)",
				             src, macros[i]);
	}
	buf_free(&b);
	return r;
}
