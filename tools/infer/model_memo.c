/**
 * @file model_memo.c
 * The models' own memo, so a rebuild of unchanged sources (a fresh checkout
 * at the same path, `make clean && make`) does not ask the driver for its
 * plan, scan headers or resolve closures again.
 *
 * The key is the tool, its arguments, the current and base directories, the
 * real PATH and the environment variables that change what the toolchain
 * does. The entry lists every host file the model read with what it held
 * (sources, headers, the toolchain and its libraries, objects and
 * placeholders), the depfiles it wrote with their bytes, and the
 * placeholders with their references:
 *
 *     ggmodelmemo 4
 *     written TIME               the clock when the model began to read (stamp.h)
 *     read NAME STAMP LEN PATH   a file whose bytes are an input value (in the store)
 *     ph REF STAMP LEN PATH      a placeholder standing for REF
 *     check NAME STAMP LEN PATH  a file that only must not change (the driver,
 *                                which decides the plan, the sources of a .i in
 *                                the preprocessed mode)
 *     side LEN PATH LEN\n BYTES\n
 *     absent LEN PATH            a place the tool looked before what it found
 *     out REF LEN PATH
 *     sum HEX                    SHA-256 of all the above (stamp_seal)
 *
 * STAMP is the file's stamp when the entry was recorded. A file that still
 * has it and had settled by TIME is unchanged (the rule of stamp.h) and costs
 * one stat(2) to check, which matters with hundreds of headers per command;
 * any other is checked by content: hashed again (through the hash cache) or,
 * for a placeholder, read. When that makes a file's stamp trustworthy, the
 * entry is rewritten with the new stamps, so the next replay costs stats only.
 * What a line records is what the model used (thunk_build.c notes it), checked
 * again after the run: a file changed meanwhile leaves no entry. An entry is
 * used only when its checksum holds, every file still holds what it recorded,
 * every value is still in the store and every thunk named is too.
 *
 * A new file can change a command without changing any file it read: a
 * header or library made earlier on a search path shadows the one found
 * further down. The models note where the tool looked first (m->probes: the
 * places cpp searched before each header it opened, ld's -L places before
 * each library, PATH before a program found by name); each that did not
 * exist is an "absent" line and must still not exist for the entry to be
 * used. One that
 * existed was passed over on purpose (#include_next, a quote directory for a
 * <...> include): nothing is recorded for it, unless it is new since the
 * model began, which leaves no entry. Headers __has_include asks for by a
 * literal name count as places too (cpp's -H lists only what it opened).
 * Not noticed: a name __has_include gets from a macro, and a place passed
 * over because it was no regular or executable file that becomes one.
 *
 * Entries live in .gg/infer-memo/ab/KEY; losing one only costs a full model
 * run.
 */
#include "tools/infer/infer_model.h"

#include "core/placeholder.h"
#include "core/stamp.h"
#include "core/thunk_build.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MEMO_MAGIC "ggmodelmemo 4\n"
#define MEMO_MAX   (16u << 20)

/* Environment that changes what the driver, the compiler or the linker does. */
static const char *const key_env[] = {
    "SOURCE_DATE_EPOCH", "LIBRARY_PATH",       "COMPILER_PATH", "GCC_EXEC_PREFIX", "CPATH",
    "C_INCLUDE_PATH",    "CPLUS_INCLUDE_PATH", "LD_RUN_PATH",   "LD_LIBRARY_PATH", "TMPDIR",
    MODEL_ENV_PRE,       MODEL_ENV_SHARE,
};

static char *entry_path(const struct model_ctx *m)
{
	struct buf k = BUF_INIT;
	buf_adds(&k, MEMO_MAGIC);
	const char *parts[] = {m->tool, m->cwd, m->pwd, m->base, m->realpath};
	for (size_t i = 0; i < GG_ARRAY_LEN(parts); i++) {
		buf_adds(&k, parts[i]);
		buf_addc(&k, 0);
	}
	for (size_t i = 0; i < GG_ARRAY_LEN(key_env); i++) {
		const char *v = getenv(key_env[i]);
		buf_printf(&k, "%s=%s", key_env[i], v ? v : "");
		buf_addc(&k, 0);
	}
	for (int i = 1; i < m->argc; i++) {
		buf_adds(&k, m->argv[i]);
		buf_addc(&k, 0);
	}
	struct gg_name n;
	gg_name_of_buf(k.data, k.len, GG_VALUE, &n);
	buf_free(&k);
	char hex[GG_DIGEST_HEX + 1];
	gg_name_digest_hex(&n, hex);
	return xasprintf("%s/infer-memo/%.2s/%s", m->store->root, hex, hex + 2);
}

/* Reads "LEN " then LEN bytes; advances *p. NULL on a malformed entry. */
static char *take_str(const char **p, const char *end)
{
	char *e;
	unsigned long n = strtoul(*p, &e, 10);
	if (e == *p || e >= end || *e != ' ' || n > (unsigned long)(end - e - 1))
		return NULL;
	char *s = xstrndup(e + 1, n);
	*p = e + 1 + n;
	return s;
}

static const char *take_word(const char **p, const char *end, size_t *len)
{
	const char *s = *p, *e = s;
	while (e < end && *e != ' ' && *e != '\n')
		e++;
	*len = (size_t)(e - s);
	*p = e < end ? e + 1 : e;
	return s;
}

/* A file the model read: what it held, and its stamp when that was checked. */
enum line_kind { LINE_READ, LINE_PH, LINE_CHECK };
static const char *const line_word[] = {"read", "ph", "check"};

struct line {
	enum line_kind kind;
	char *id; /* a value's name (read, check) or a placeholder's reference (ph) */
	struct stamp st;
	char *path;
};

struct entry {
	int64_t written;
	struct line *lines;
	size_t nlines, lines_cap;
	struct strvec side_path, side_data, out_path, out_ref;
	struct strvec absent; /* places that must still hold nothing */
};

static void entry_free(struct entry *e)
{
	for (size_t i = 0; i < e->nlines; i++) {
		free(e->lines[i].id);
		free(e->lines[i].path);
	}
	free(e->lines);
	strvec_free(&e->side_path);
	strvec_free(&e->side_data);
	strvec_free(&e->out_path);
	strvec_free(&e->out_ref);
	strvec_free(&e->absent);
}

static void entry_add_line(struct entry *e, enum line_kind kind, const char *id,
                           const struct stamp *st, const char *path)
{
	ALLOC_GROW(e->lines, e->nlines + 1, e->lines_cap);
	e->lines[e->nlines++] = (struct line){kind, xstrdup(id), *st, xstrdup(path)};
}

static void entry_encode(const struct entry *e, struct buf *b)
{
	char when[STAMP_TIME_MAX];
	stamp_time_format(e->written, when);
	buf_adds(b, MEMO_MAGIC);
	buf_printf(b, "written %s\n", when);
	for (size_t i = 0; i < e->nlines; i++) {
		const struct line *l = &e->lines[i];
		char st[STAMP_TEXT_MAX];
		stamp_format(&l->st, st);
		buf_printf(b, "%s %s %s %zu %s\n", line_word[l->kind], l->id, st, strlen(l->path),
		           l->path);
	}
	for (size_t i = 0; i < e->side_path.n; i++) {
		buf_printf(b, "side %zu %s %zu ", strlen(e->side_path.v[i]), e->side_path.v[i],
		           strlen(e->side_data.v[i]));
		buf_adds(b, e->side_data.v[i]);
		buf_addc(b, '\n');
	}
	for (size_t i = 0; i < e->absent.n; i++)
		buf_printf(b, "absent %zu %s\n", strlen(e->absent.v[i]), e->absent.v[i]);
	for (size_t i = 0; i < e->out_ref.n; i++)
		buf_printf(b, "out %s %zu %s\n", e->out_ref.v[i], strlen(e->out_path.v[i]),
		           e->out_path.v[i]);
	stamp_seal(b);
}

/* 0 and a whole entry, or -1 for a damaged, truncated or older one (a miss). */
static int entry_parse(const char *data, size_t len, struct entry *e)
{
	size_t ml = strlen(MEMO_MAGIC);
	if (stamp_unseal(data, len, &len) < 0 || len < ml || memcmp(data, MEMO_MAGIC, ml))
		return -1;
	const char *p = data + ml, *end = data + len;
	size_t kl, tl;
	const char *kw = take_word(&p, end, &kl);
	const char *when = take_word(&p, end, &tl);
	if (kl != 7 || memcmp(kw, "written", 7) || p > end || p[-1] != '\n' ||
	    stamp_time_parse(when, tl, &e->written) < 0)
		return -1;
	while (p < end) {
		kw = take_word(&p, end, &kl);
		int kind = -1;
		for (int k = 0; k < (int)GG_ARRAY_LEN(line_word); k++)
			if (kl == strlen(line_word[k]) && !memcmp(kw, line_word[k], kl))
				kind = k;
		if (kind >= 0) {
			size_t il, sl;
			const char *id = take_word(&p, end, &il);
			const char *st = take_word(&p, end, &sl);
			struct stamp stamp;
			struct gg_ref ref;
			char *path = NULL;
			if (il == 0 || gg_ref_parse(id, il, &ref) < 0)
				return -1;
			bool ok = (kind == LINE_PH || !ref.output) &&
			          stamp_parse(st, sl, &stamp) == 0 &&
			          (path = take_str(&p, end)) != NULL && p < end && *p == '\n';
			gg_ref_free(&ref);
			if (!ok) {
				free(path);
				return -1;
			}
			p++;
			char *ids = xstrndup(id, il);
			entry_add_line(e, (enum line_kind)kind, ids, &stamp, path);
			free(ids);
			free(path);
		} else if (kl == 4 && !memcmp(kw, "side", 4)) {
			char *path = take_str(&p, end);
			char *bytes = path ? take_str(&p, end) : NULL;
			if (!bytes || p >= end || *p != '\n') {
				free(path);
				free(bytes);
				return -1;
			}
			p++;
			strvec_push_take(&e->side_path, path);
			strvec_push_take(&e->side_data, bytes);
		} else if (kl == 6 && !memcmp(kw, "absent", 6)) {
			char *path = take_str(&p, end);
			if (!path || !*path || p >= end || *p != '\n') {
				free(path);
				return -1;
			}
			p++;
			strvec_push_take(&e->absent, path);
		} else if (kl == 3 && !memcmp(kw, "out", 3)) {
			size_t rl;
			const char *ref = take_word(&p, end, &rl);
			char *path = take_str(&p, end);
			if (!path || p >= end || *p != '\n') {
				free(path);
				return -1;
			}
			p++;
			strvec_pushn(&e->out_ref, ref, rl);
			strvec_push_take(&e->out_path, path);
		} else {
			return -1;
		}
	}
	return 0;
}

/* Does the file hold what `id` says, by its content? */
static bool holds(struct model_ctx *m, enum line_kind kind, const char *id, const char *path)
{
	struct gg_ref want, got = {0};
	if (gg_ref_parse(id, strlen(id), &want) < 0)
		return false;
	bool same;
	if (kind == LINE_PH)
		same = placeholder_read(path, &got) == 1 && gg_ref_eq(&got, &want);
	else
		same = store_hash_file(m->store, path, &got.name) == 0 &&
		       gg_name_eq(&got.name, &want.name);
	gg_ref_free(&got);
	gg_ref_free(&want);
	return same;
}

static bool is_absent_errno(int e)
{
	return e == ENOENT || e == ENOTDIR;
}

/* Is nothing at path? One that cannot be looked up for another reason may hold something. */
static bool absent(const char *path)
{
	struct stat st;
	return stat(path, &st) < 0 && is_absent_errno(errno);
}

/*
 * Is the entry still true? Every file the same, nothing new where the tool
 * looked first, every object present. A line
 * checked by content gets the file's stamp now; *refresh tells whether that
 * stamp has settled by `begun`, so rewriting the entry saves that work next time.
 */
static bool entry_valid(struct model_ctx *m, struct entry *e, int64_t begun, bool *refresh)
{
	*refresh = false;
	for (size_t i = 0; i < e->nlines; i++) {
		struct line *l = &e->lines[i];
		struct stamp now;
		if (stamp_get(l->path, &now) < 0)
			return false;
		if (!stamp_trusted(&l->st, &now, e->written)) {
			if (!holds(m, l->kind, l->id, l->path))
				return false;
			l->st = now;
			*refresh |= stamp_settled(&now, begun);
		}
		struct gg_name n;
		/* a placeholder is not stored itself; anything else is an input value */
		if (l->kind == LINE_READ &&
		    (gg_name_parse(l->id, strlen(l->id), &n) < 0 || store_has(m->store, &n) != 1))
			return false;
	}
	for (size_t i = 0; i < e->absent.n; i++)
		if (!absent(e->absent.v[i]))
			return false;
	for (size_t i = 0; i < e->out_ref.n; i++) {
		struct gg_ref ref;
		if (gg_ref_parse(e->out_ref.v[i], strlen(e->out_ref.v[i]), &ref) < 0)
			return false;
		bool ok = store_has(m->store, &ref.name) == 1;
		gg_ref_free(&ref);
		if (!ok)
			return false;
	}
	return e->out_ref.n > 0;
}

int model_memo_reencode(const char *data, size_t len, struct buf *out)
{
	struct entry e = {0,           NULL,        0,           0,          STRVEC_INIT,
	                  STRVEC_INIT, STRVEC_INIT, STRVEC_INIT, STRVEC_INIT};
	int r = entry_parse(data, len, &e);
	if (r == 0)
		entry_encode(&e, out);
	entry_free(&e);
	return r;
}

static void entry_write(struct model_ctx *m, const struct entry *e)
{
	struct buf b = BUF_INIT;
	entry_encode(e, &b);
	char *path = entry_path(m);
	char *dir = xstrndup(path, (size_t)(strrchr(path, '/') - path));
	/* Not synced: a torn entry fails its seal and is a miss. A cache:
	 * failure is fine, and leaves no message. */
	struct gg_error_saved sv;
	gg_error_save(&sv);
	if (mkdir_p(dir, 0755) == 0)
		(void)write_cache_file(path, b.data, b.len, 0644);
	gg_error_restore(&sv);
	free(dir);
	free(path);
	buf_free(&b);
}

static void start_recording(struct model_ctx *m)
{
	m->recording = true;
	/* before the model reads anything: what it reads is true as of then */
	m->recording_since = stamp_clock();
	tbuild_note_reads(&m->reads);
}

int model_memo_replay(struct model_ctx *m)
{
	if (!m->store)
		return 0;
	int64_t begun = stamp_clock();
	char *path = entry_path(m);
	struct buf b = BUF_INIT;
	struct entry e = {0,           NULL,        0,           0,          STRVEC_INIT,
	                  STRVEC_INIT, STRVEC_INIT, STRVEC_INIT, STRVEC_INIT};
	int served = 0;
	bool refresh = false;
	if (read_file(path, &b, MEMO_MAX) == 0 && entry_parse(b.data, b.len, &e) == 0 &&
	    entry_valid(m, &e, begun, &refresh)) {
		served = 1;
		for (size_t i = 0; served && i < e.side_path.n; i++)
			if (write_file_atomic(e.side_path.v[i], e.side_data.v[i],
			                      strlen(e.side_data.v[i]), 0644) < 0)
				served = 0;
		for (size_t i = 0; served && i < e.out_ref.n; i++) {
			struct gg_ref ref;
			if (gg_ref_parse(e.out_ref.v[i], strlen(e.out_ref.v[i]), &ref) < 0 ||
			    placeholder_write(e.out_path.v[i], &ref) < 0)
				served = 0;
			else
				model_log(m, "%s -> %s (from the model memo)", e.out_path.v[i],
				          e.out_ref.v[i]);
			gg_ref_free(&ref);
		}
		if (served && refresh) {
			e.written = begun;
			entry_write(m, &e);
		}
	}
	entry_free(&e);
	buf_free(&b);
	free(path);
	if (!served)
		start_recording(m);
	return served;
}

static int read_cmp(const void *a, const void *b)
{
	const struct tbuild_read *x = a, *y = b;
	return strcmp(x->path, y->path);
}

/* A line for a file the model did not note (a check): its stamp, then its name. */
static int add_check(struct model_ctx *m, struct entry *e, const char *path)
{
	struct stamp st;
	struct gg_name n;
	/* the stamp first: a change after it shows as another stamp */
	if (stamp_get(path, &st) < 0 || store_hash_file(m->store, path, &n) < 0)
		return -1;
	entry_add_line(e, LINE_CHECK, n.s, &st, path);
	return 0;
}

/* Is this file one the entry records (a place that is the file found, by another name)? */
static bool read_by_model(const struct entry *e, const struct stamp *s)
{
	for (size_t i = 0; i < e->nlines; i++)
		if (e->lines[i].st.dev == s->dev && e->lines[i].st.ino == s->ino)
			return true;
	return false;
}

/*
 * The highest of path and its parents that is absent, path itself absent:
 * while that one stays absent, so does everything below it, so one line
 * stands for every header a missing -I directory would have held. Never
 * climbs over a "." or ".." (lexically, a parent of "a/.." is not "a").
 */
static char *absent_top(char *path)
{
	for (;;) {
		char *slash = strrchr(path, '/');
		if (!slash || slash == path || !strcmp(slash, "/.") || !strcmp(slash, "/.."))
			return path;
		*slash = 0;
		struct stat st;
		bool gone = stat(path, &st) < 0 && is_absent_errno(errno);
		if (!gone) {
			*slash = '/';
			return path;
		}
	}
}

/*
 * The places looked at first that held nothing, as absent lines (each the
 * highest missing directory above it, once). NULL, or the place that holds
 * something new since the model began (it may have been made after the tool
 * looked: no entry then).
 */
static const char *add_absent(struct model_ctx *m, struct entry *e)
{
	strvec_sort(&m->probes);
	const char *top = NULL; /* the last line added */
	for (size_t i = 0; i < m->probes.n; i++) {
		const char *p = m->probes.v[i];
		if (i > 0 && !strcmp(p, m->probes.v[i - 1]))
			continue;
		/* relative to cwd, as the tool looked; not normalised: ".." after a symlink */
		char *abs = p[0] == '/' ? xstrdup(p) : xasprintf("%s/%s", m->cwd, p);
		size_t tl = top ? strlen(top) : 0;
		if (top && !strncmp(abs, top, tl) && abs[tl] == '/') {
			free(abs); /* below a missing directory already listed */
			continue;
		}
		struct stat st;
		struct stamp s;
		if (stat(abs, &st) < 0) {
			if (!is_absent_errno(errno)) {
				free(abs);
				return p;
			}
			abs = absent_top(abs);
			if (top && !strcmp(abs, top)) {
				free(abs);
				continue;
			}
			strvec_push_take(&e->absent, abs);
			top = e->absent.v[e->absent.n - 1];
			continue;
		}
		free(abs);
		stamp_of(&st, &s);
		if (!stamp_settled(&s, m->recording_since) && !read_by_model(e, &s))
			return p;
	}
	return NULL;
}

void model_memo_record(struct model_ctx *m, const struct model_outputs *outs)
{
	if (!m->recording || !m->store || outs->host.n == 0)
		return;
	tbuild_note_reads(NULL);
	m->recording = false;
	struct entry e = {m->recording_since, NULL,        0,           0,          STRVEC_INIT,
	                  STRVEC_INIT,        STRVEC_INIT, STRVEC_INIT, STRVEC_INIT};
	struct tbuild_reads *rd = &m->reads;
	const char *changed = NULL;
	if (rd->n)
		qsort(rd->v, rd->n, sizeof *rd->v, read_cmp);
	for (size_t i = 0; i < rd->n; i++) {
		const struct tbuild_read *r = &rd->v[i];
		if (i > 0 && !strcmp(r->path, rd->v[i - 1].path)) {
			if (r->placeholder != rd->v[i - 1].placeholder ||
			    !gg_ref_eq(&r->ref, &rd->v[i - 1].ref)) {
				changed = r->path; /* read twice, different each time */
				goto out;
			}
			continue;
		}
		enum line_kind kind = r->placeholder ? LINE_PH : LINE_READ;
		char *id = gg_ref_format(&r->ref);
		struct stamp st;
		/* The stamp, then the content again: the entry pairs the stamp with
		 * what the model used only if the file still held that. */
		bool same = stamp_get(r->path, &st) == 0 && holds(m, kind, id, r->path);
		if (same)
			entry_add_line(&e, kind, id, &st, r->path);
		free(id);
		if (!same) {
			changed = r->path;
			goto out;
		}
	}
	/* Read to make an input (a .i), but not inputs themselves. */
	strvec_sort(&m->checks);
	for (size_t i = 0; i < m->checks.n; i++) {
		if (i > 0 && !strcmp(m->checks.v[i], m->checks.v[i - 1]))
			continue;
		if (add_check(m, &e, m->checks.v[i]) < 0)
			goto out; /* vanished: do not record */
	}
	/* The driver itself decides the plan. */
	char *driver = model_which(m, m->tool);
	if (driver) {
		(void)add_check(m, &e, driver);
		model_probe_path(m, m->tool);
	}
	free(driver);
	changed = add_absent(m, &e);
	if (changed)
		goto out;
	for (size_t i = 0; i < m->sides.n; i++) {
		struct buf d = BUF_INIT;
		if (read_file(m->sides.v[i], &d, MEMO_MAX) < 0 || memchr(d.data, 0, d.len)) {
			buf_free(&d);
			goto out;
		}
		strvec_push(&e.side_path, m->sides.v[i]);
		strvec_push_take(&e.side_data, buf_steal(&d));
	}
	for (size_t i = 0; i < outs->host.n; i++) {
		strvec_push_take(&e.out_ref, gg_ref_format(&outs->refs[i]));
		strvec_push(&e.out_path, outs->host.v[i]);
	}
	entry_write(m, &e);
out:
	if (changed)
		model_log(m, "%s changed while the command was modelled: not memoised", changed);
	entry_free(&e);
}
