/**
 * @file thunk_build.c
 * Turning host files and programs into thunk inputs (see thunk_build.h).
 * It decides nothing about where files go: callers choose the paths. It does
 * not check that paths avoid .gg-sys/ (a policy of `gg thunk`, not of models,
 * which place toolchain files there on purpose).
 */
#include "core/thunk_build.h"

#include "core/closure.h"
#include "core/placeholder.h"
#include "core/util.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Where host files read are noted (see tbuild_note_reads); single-threaded tools only. */
static struct tbuild_reads *noted_reads;

void tbuild_note_reads(struct tbuild_reads *reads)
{
	noted_reads = reads;
}

void tbuild_reads_free(struct tbuild_reads *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].path);
		gg_ref_free(&r->v[i].ref);
	}
	free(r->v);
	r->v = NULL;
	r->n = r->cap = 0;
}

static void note(const char *file, const struct gg_ref *ref, bool placeholder)
{
	if (!noted_reads)
		return;
	struct tbuild_reads *r = noted_reads;
	ALLOC_GROW(r->v, r->n + 1, r->cap);
	struct tbuild_read *e = &r->v[r->n++];
	e->path = xstrdup(file);
	gg_ref_copy(&e->ref, ref);
	e->placeholder = placeholder;
}

int tbuild_add_file(struct store *s, struct thunk *t, const char *path, const char *file)
{
	if (path_check_relative(path, "input") < 0)
		return -1;
	struct stat st;
	if (stat(file, &st) < 0)
		return gg_error_errno("%s", file);
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(file);
		if (!d)
			return gg_error_errno("%s", file);
		struct dirent *e;
		int r = 0;
		struct strvec names = STRVEC_INIT;
		while ((e = readdir(d)))
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
				strvec_push(&names, e->d_name);
		closedir(d);
		strvec_sort(&names);
		for (size_t i = 0; i < names.n && r == 0; i++) {
			char *p = xasprintf("%s/%s", path, names.v[i]);
			char *f = xasprintf("%s/%s", file, names.v[i]);
			r = tbuild_add_file(s, t, p, f);
			free(p);
			free(f);
		}
		strvec_free(&names);
		return r;
	}
	if (!S_ISREG(st.st_mode))
		return gg_error("%s: not a regular file or directory", file);
	struct gg_ref ref = {0};
	int ph = placeholder_read(file, &ref);
	if (ph < 0)
		return -1;
	if (ph == 0 && store_put_file(s, file, &ref.name) < 0)
		return -1;
	note(file, &ref, ph == 1); /* a placeholder too: what it stands for */
	/* A placeholder's own mode (0755 unless changed) gives the exec bit. */
	thunk_add_input(t, path, &ref, (st.st_mode & 0111) != 0);
	gg_ref_free(&ref);
	return 0;
}

static int add_closure_files(struct store *s, struct thunk *t, const struct closure *c)
{
	for (size_t i = 0; i < c->nfiles; i++) {
		struct gg_ref ref = {0};
		if (store_put_file(s, c->files[i].host_path, &ref.name) < 0)
			return -1;
		note(c->files[i].host_path, &ref, false);
		/* Two closures may share a file; keep the exec bit if either wants it. */
		const struct thunk_input *old = thunk_find_input(t, c->files[i].path);
		bool exec = c->files[i].exec || (old && old->exec);
		thunk_add_input(t, c->files[i].path, &ref, exec);
	}
	return 0;
}

int tbuild_add_closure(struct store *s, struct thunk *t, const char *program,
                       const char *search_path)
{
	struct closure c;
	if (closure_resolve(program, NULL, search_path, &c) < 0)
		return -1;
	int r = add_closure_files(s, t, &c);
	closure_free(&c);
	return r;
}

int tbuild_set_program(struct store *s, struct thunk *t, const char *program, const char *argv0,
                       const char *search_path, char *const *args, size_t nargs)
{
	struct closure c;
	if (closure_resolve(program, argv0, search_path, &c) < 0)
		return -1;
	int r = add_closure_files(s, t, &c);
	if (r == 0) {
		free(t->exe);
		t->exe = xstrdup(c.exe);
		strvec_clear(&t->argv);
		for (size_t i = 0; i < c.argv_prefix.n; i++)
			strvec_push(&t->argv, c.argv_prefix.v[i]);
		for (size_t i = 0; i < nargs; i++)
			strvec_push(&t->argv, args[i]);
	}
	closure_free(&c);
	return r;
}

int tbuild_add_tool(struct store *s, struct thunk *t, const char *program)
{
	struct closure c;
	if (closure_resolve(program, NULL, NULL, &c) < 0)
		return -1;
	int r = add_closure_files(s, t, &c);
	for (size_t i = 0; r == 0 && i < c.interps.n; i++) {
		const char *abs = c.interps.v[i], *rel = abs + strspn(abs, "/");
		struct gg_ref ref = {0};
		if (path_check_relative(rel, "interpreter") < 0 ||
		    store_put_file(s, abs, &ref.name) < 0) {
			r = gg_error("--tool %s: %s", program, gg_last_error());
			break;
		}
		note(abs, &ref, false);
		thunk_add_input(t, rel, &ref, true);
	}
	closure_free(&c);
	return r;
}

int tbuild_store(struct store *s, struct thunk *t, struct gg_name *out)
{
	struct buf enc = BUF_INIT;
	int r = thunk_name(t, out, &enc);
	if (r == 0)
		r = store_put_buf(s, enc.data, enc.len, GG_THUNK, out);
	buf_free(&enc);
	return r;
}

int tbuild_timeout_parse(const char *value, uint64_t *ms)
{
	uint64_t sec;
	if (parse_u64(value, &sec) < 0)
		return gg_fail(GG_EUSAGE, "--timeout %s: expected whole seconds", value);
	if (sec > THUNK_MAX_TIMEOUT_S)
		return gg_fail(GG_EUSAGE, "--timeout %s: too large (at most %llu seconds)", value,
		               (unsigned long long)THUNK_MAX_TIMEOUT_S);
	*ms = sec * 1000;
	return 0;
}
