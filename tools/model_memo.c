/**
 * @file model_memo.c
 * The models' own memo, so a rebuild of unchanged sources (a fresh checkout
 * at the same path, `make clean && make`) does not ask the driver for its
 * plan, scan headers or resolve closures again.
 *
 * The key is the tool, its arguments, the current and base directories, the
 * real PATH and the environment variables that change what the toolchain
 * does. The entry lists every host file the model read with the name of its
 * content then (sources, headers, the toolchain and its libraries, objects
 * and placeholders), the depfiles it wrote with their bytes, and the
 * placeholders with their references:
 *
 *     ggmodelmemo 2
 *     read NAME STAT LEN PATH   a file whose bytes are an input value (in the store)
 *     check NAME STAT LEN PATH  a file that only must not change (a placeholder,
 *                               the driver, which decides the plan, the sources
 *                               of a .i in the preprocessed mode)
 *     side LEN PATH LEN\n BYTES\n
 *     out REF LEN PATH
 *
 * STAT is the file's device, inode, size, modification and change times
 * then: a file that still has them is unchanged (the hash cache's rule) and
 * costs one stat(2) to check, which matters with hundreds of headers per
 * command; otherwise it is hashed again (the stat-keyed hash cache makes that
 * cheap too). An entry is used only when every file still has its name,
 * every value is still in the store and every thunk named is too. Like ccache's direct mode it does
 * not notice a new file that would shadow a header or library found further down a search path.
 * Entries live in .gg/infer-memo/ab/KEY; losing one only costs a full model run.
 */
#include "infer_model.h"

#include "placeholder.h"
#include "thunk_build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define MEMO_MAGIC "ggmodelmemo 2\n"
#define MEMO_MAX   (16u << 20)

/* Environment that changes what the driver, the compiler or the linker does. */
static const char *const key_env[] = {
    "SOURCE_DATE_EPOCH", "LIBRARY_PATH",       "COMPILER_PATH", "GCC_EXEC_PREFIX", "CPATH",
    "C_INCLUDE_PATH",    "CPLUS_INCLUDE_PATH", "LD_RUN_PATH",   "LD_LIBRARY_PATH", "TMPDIR",
    MODEL_ENV_PRE,
};

static char *entry_path(const struct model_ctx *m)
{
	struct buf k = BUF_INIT;
	buf_adds(&k, MEMO_MAGIC);
	const char *parts[] = {m->tool, m->cwd, m->base, m->realpath};
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

/* STAT of an entry line: what identifies a file's content without reading it.
 * A file changed in the last two seconds could change again with the same
 * times (they advance in clock ticks): its STAT is "-", which never matches. */
static int stat_word(const char *path, char *out, size_t n)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return -1;
	if (st.st_ctim.tv_sec >= time(NULL) - 1) {
		snprintf(out, n, "-");
		return 0;
	}
	snprintf(out, n, "%llx-%llx-%llx-%llx.%lx-%llx.%lx", (unsigned long long)st.st_dev,
	         (unsigned long long)st.st_ino, (unsigned long long)st.st_size,
	         (unsigned long long)st.st_mtim.tv_sec, (unsigned long)st.st_mtim.tv_nsec,
	         (unsigned long long)st.st_ctim.tv_sec, (unsigned long)st.st_ctim.tv_nsec);
	return 0;
}

struct entry {
	struct strvec read_path, read_name, read_stat, side_path, side_data, out_path, out_ref;
	struct strvec read_kind; /* "read" or "check" */
};

static void entry_free(struct entry *e)
{
	strvec_free(&e->read_path);
	strvec_free(&e->read_name);
	strvec_free(&e->read_stat);
	strvec_free(&e->side_path);
	strvec_free(&e->side_data);
	strvec_free(&e->out_path);
	strvec_free(&e->out_ref);
	strvec_free(&e->read_kind);
}

static int entry_parse(const char *data, size_t len, struct entry *e)
{
	const char *p = data, *end = data + len;
	size_t ml = strlen(MEMO_MAGIC);
	if (len < ml || memcmp(p, MEMO_MAGIC, ml))
		return -1;
	p += ml;
	while (p < end) {
		size_t kl;
		const char *kw = take_word(&p, end, &kl);
		if ((kl == 4 && !memcmp(kw, "read", 4)) || (kl == 5 && !memcmp(kw, "check", 5))) {
			size_t nl, sl;
			const char *name = take_word(&p, end, &nl);
			const char *st = take_word(&p, end, &sl);
			char *path = take_str(&p, end);
			if (!path || nl != GG_NAME_LEN || sl == 0 || sl > 100 || p >= end ||
			    *p != '\n') {
				free(path);
				return -1;
			}
			p++;
			strvec_pushn(&e->read_name, name, nl);
			strvec_pushn(&e->read_stat, st, sl);
			strvec_push_take(&e->read_path, path);
			strvec_pushn(&e->read_kind, kw, kl);
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

/* Is the entry still true? Every file the same, every object present. */
static bool entry_valid(struct model_ctx *m, const struct entry *e)
{
	for (size_t i = 0; i < e->read_path.n; i++) {
		struct gg_name now, was;
		char st[128];
		if (gg_name_parse(e->read_name.v[i], GG_NAME_LEN, &was) < 0)
			return false;
		bool same = stat_word(e->read_path.v[i], st, sizeof st) == 0 &&
		            !strcmp(st, e->read_stat.v[i]);
		if (!same && (store_hash_file(m->store, e->read_path.v[i], &now) < 0 ||
		              !gg_name_eq(&now, &was)))
			return false;
		/* a placeholder is not stored itself; anything else is an input value */
		if (!strcmp(e->read_kind.v[i], "read") && store_has(m->store, &was) != 1)
			return false;
	}
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

static void start_recording(struct model_ctx *m)
{
	m->recording = true;
	tbuild_note_reads(&m->reads);
}

int model_memo_replay(struct model_ctx *m)
{
	if (!m->store)
		return 0;
	char *path = entry_path(m);
	struct buf b = BUF_INIT;
	struct entry e = {STRVEC_INIT, STRVEC_INIT, STRVEC_INIT, STRVEC_INIT,
	                  STRVEC_INIT, STRVEC_INIT, STRVEC_INIT, STRVEC_INIT};
	int served = 0;
	if (read_file(path, &b, MEMO_MAX) == 0 && entry_parse(b.data, b.len, &e) == 0 &&
	    entry_valid(m, &e)) {
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
	}
	entry_free(&e);
	buf_free(&b);
	free(path);
	if (!served)
		start_recording(m);
	return served;
}

void model_memo_record(struct model_ctx *m, const struct model_outputs *outs)
{
	if (!m->recording || !m->store || outs->host.n == 0)
		return;
	tbuild_note_reads(NULL);
	m->recording = false;
	struct buf b = BUF_INIT;
	buf_adds(&b, MEMO_MAGIC);
	strvec_sort(&m->reads);
	for (size_t i = 0; i < m->reads.n; i++) {
		if (i > 0 && !strcmp(m->reads.v[i], m->reads.v[i - 1]))
			continue;
		struct gg_name n;
		char st[128];
		/* STAT first: a change after it shows as a different STAT */
		if (stat_word(m->reads.v[i], st, sizeof st) < 0 ||
		    store_hash_file(m->store, m->reads.v[i], &n) < 0)
			goto out; /* vanished: do not record */
		bool ph = model_is_placeholder(m->reads.v[i], NULL) == 1;
		buf_printf(&b, "%s %s %s %zu %s\n", ph ? "check" : "read", n.s, st,
		           strlen(m->reads.v[i]), m->reads.v[i]);
	}
	/* Read to make an input (a .i), but not inputs themselves. */
	strvec_sort(&m->checks);
	for (size_t i = 0; i < m->checks.n; i++) {
		if (i > 0 && !strcmp(m->checks.v[i], m->checks.v[i - 1]))
			continue;
		struct gg_name n;
		char st[128];
		if (stat_word(m->checks.v[i], st, sizeof st) < 0 ||
		    store_hash_file(m->store, m->checks.v[i], &n) < 0)
			goto out;
		buf_printf(&b, "check %s %s %zu %s\n", n.s, st, strlen(m->checks.v[i]),
		           m->checks.v[i]);
	}
	/* The driver itself decides the plan. */
	char *driver = model_which(m, m->tool);
	struct gg_name dn;
	char dst[128];
	if (driver && stat_word(driver, dst, sizeof dst) == 0 &&
	    store_hash_file(m->store, driver, &dn) == 0)
		buf_printf(&b, "check %s %s %zu %s\n", dn.s, dst, strlen(driver), driver);
	free(driver);
	for (size_t i = 0; i < m->sides.n; i++) {
		struct buf d = BUF_INIT;
		if (read_file(m->sides.v[i], &d, MEMO_MAX) < 0 || memchr(d.data, 0, d.len)) {
			buf_free(&d);
			goto out;
		}
		buf_printf(&b, "side %zu %s %zu ", strlen(m->sides.v[i]), m->sides.v[i], d.len);
		buf_add(&b, d.data, d.len);
		buf_addc(&b, '\n');
		buf_free(&d);
	}
	for (size_t i = 0; i < outs->host.n; i++) {
		char *r = gg_ref_format(&outs->refs[i]);
		buf_printf(&b, "out %s %zu %s\n", r, strlen(outs->host.v[i]), outs->host.v[i]);
		free(r);
	}
	char *path = entry_path(m);
	char *dir = xstrndup(path, (size_t)(strrchr(path, '/') - path));
	if (mkdir_p(dir, 0755) == 0)
		(void)write_file_atomic(path, b.data, b.len, 0644);
	free(dir);
	free(path);
out:
	buf_free(&b);
}
