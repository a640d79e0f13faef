/**
 * @file model_ar.c
 * Archives and their helpers: the ar, ranlib and strip models.
 *
 *  - ar r/q with members of which some are placeholders becomes a thunk
 *    running the real ar. When the archive exists already (a placeholder or
 *    an ar archive), its bytes are an input of the thunk, which copies them to
 *    the output path and runs the real ar there:
 *        sh -c 'cp -- "$1" "$2" && shift 2 && exec "$@"' sh OLD OUT AR KEY OUT ...
 *    so an edited member of an existing archive defers like a new archive.
 *    GNU ar is deterministic here ('D', Debian's default): 'u' is then
 *    ignored (every named member replaced), so the result depends only on
 *    the bytes; 'U' (member dates and owners recorded) runs the real ar, and
 *    so does 'S' (no symbol index): the ranlib model below trusts that an
 *    archive placeholder has its index already.
 *    Anything else (t, x, p, d, m, thin archives, an existing file that is
 *    neither, or no placeholder among the members, where there is nothing
 *    to defer) runs the real ar.
 *  - ranlib on archives that are placeholders does nothing: GNU ar already
 *    writes the symbol index when it creates an archive (unless told 'S'),
 *    so running ranlib on its output changes no byte.
 *  - strip of a placeholder becomes a thunk (strip -o OUT IN, since a thunk
 *    cannot read and write one path); of a real file runs the real strip.
 *  - nm, objdump, readelf, objcopy and size want the bytes now: they run for
 *    real, after the placeholders among their arguments are forced (a build
 *    that inspects its objects, as libtool does, then still works).
 */
#include "tools/infer/infer_model.h"

#include "core/thunk_build.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

static bool is_probe(const char *a)
{
	return !strncmp(base_name(a), "conftest", 8) || !strcmp(a, "/dev/null");
}

static bool is_query(const char *a)
{
	return !strcmp(a, "--version") || !strcmp(a, "-V") || !strcmp(a, "--help") ||
	       !strcmp(a, "-h");
}

static int fall_back_on_error(struct model_ctx *m)
{
	return model_fallback(m, "%s", gg_last_error());
}

/* ---- ar ---- */

/*
 * Is the archive to create or update there already? 0 no, 1 yes (a
 * placeholder or a regular file beginning like an ar archive), -1 when the
 * real ar must handle it (*why says why).
 */
static int existing_archive(const char *archive, const char **why)
{
	struct stat st;
	if (lstat(archive, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		*why = "cannot stat the archive";
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		*why = "the existing archive is not a regular file";
		return -1;
	}
	int ph = model_is_placeholder(archive, NULL);
	if (ph != 0) {
		*why = "cannot read the existing archive";
		return ph == 1 ? 1 : -1;
	}
	char head[8];
	int fd = open(archive, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, head, sizeof head);
	if (fd >= 0)
		close(fd);
	if (n == (ssize_t)sizeof head && !memcmp(head, "!<arch>\n", sizeof head))
		return 1;
	*why = n == (ssize_t)sizeof head && !memcmp(head, "!<thin>\n", sizeof head)
	           ? "updates a thin archive"
	           : "the existing file is not an ar archive";
	return -1;
}

/*
 * Turns the ar command in t (args: its arguments) into one updating a copy
 * of the old archive: the old bytes go in at .gg-sys/tmp/old/NAME, and the
 * program becomes sh copying them to the output path (where) before it runs
 * ar there. On return args holds sh's arguments.
 */
static int wrap_update(struct model_ctx *m, struct thunk *t, const char *archive, const char *where,
                       struct strvec *args)
{
	if (tbuild_set_program(m->store, t, m->tool, m->tool, m->realpath, args->v, args->n) < 0)
		return -1;
	char *cp = model_which(m, "cp");
	if (!cp)
		return gg_error("cp not found on the real PATH");
	int r = tbuild_add_tool(m->store, t, cp);
	free(cp);
	char *in = xasprintf(MODEL_TMP "/old/%s", base_name(archive));
	if (r == 0)
		r = tbuild_add_file(m->store, t, in, archive);
	if (r == 0) {
		struct strvec w = STRVEC_INIT;
		strvec_push(&w, "-c");
		strvec_push(&w, "cp -- \"$1\" \"$2\" && shift 2 && exec \"$@\"");
		strvec_push(&w, "sh");
		strvec_push(&w, in);
		strvec_push(&w, where);
		/* ar as the thunk would have run it: its program, then argv[1...] */
		strvec_push(&w, t->exe);
		for (size_t j = 1; j < t->argv.n; j++)
			strvec_push(&w, t->argv.v[j]);
		strvec_free(args);
		*args = w;
		strvec_push(&t->env, "PATH=" TBUILD_TOOL_PATH);
		strvec_push(&t->env, "LD_LIBRARY_PATH=" TBUILD_TOOL_LIBS);
	}
	free(in);
	return r;
}

int model_ar(struct model_ctx *m)
{
	if (getenv(MODEL_ENV_BYPASS))
		return model_fallback(m, MODEL_ENV_BYPASS " is set");
	int i = 1;
	struct strvec lead = STRVEC_INIT; /* --plugin X, --target=X, ... before the key */
	while (i < m->argc && !strncmp(m->argv[i], "--", 2)) {
		const char *a = m->argv[i++];
		if (!strcmp(a, "--help") || !strcmp(a, "--version")) {
			strvec_free(&lead);
			return model_fallback(m, "a query");
		}
		strvec_push(&lead, a);
		if ((!strcmp(a, "--plugin") || !strcmp(a, "--target") || !strcmp(a, "--output")) &&
		    i < m->argc)
			strvec_push(&lead, m->argv[i++]);
	}
	if (i >= m->argc) {
		strvec_free(&lead);
		return model_fallback(m, "no operation");
	}
	const char *key = m->argv[i++];
	const char *k = key[0] == '-' ? key + 1 : key;
	const char *op = strpbrk(k, "dmpqrstx");
	if (!op || (*op != 'r' && *op != 'q')) {
		strvec_free(&lead);
		return model_fallback(m, "ar %s reads or changes an archive now", key);
	}
	if (strchr(k, 'T') || strchr(k, 'N') || strchr(k, 'P') || strchr(k, 'a') ||
	    strchr(k, 'b') || strchr(k, 'i') || strchr(k, 'l') || strchr(k, 'O') ||
	    strchr(k, 'U') || strchr(k, 'S')) {
		strvec_free(&lead);
		return model_fallback(m, "modifiers of 'ar %s' are not modelled", key);
	}
	if (i >= m->argc) {
		strvec_free(&lead);
		return model_fallback(m, "no archive named");
	}
	const char *archive = m->argv[i++];
	bool any_ph = false;
	for (int j = i; j < m->argc; j++) {
		if (is_probe(m->argv[j])) {
			strvec_free(&lead);
			return model_fallback(m, "a configure probe");
		}
		any_ph |= model_is_placeholder(m->argv[j], NULL) == 1;
	}
	if (!any_ph) {
		strvec_free(&lead);
		return model_fallback(m, "no member is a placeholder: nothing to defer");
	}
	const char *why = NULL;
	int old = existing_archive(archive, &why);
	if (old < 0) {
		strvec_free(&lead);
		return model_fallback(m, "%s", why);
	}
	if (model_open_store(m) < 0) {
		strvec_free(&lead);
		return fall_back_on_error(m);
	}
	/* The memo's key does not say whether the archive existed: an update
	 * is never served from it (nor recorded), or a creation's entry could
	 * stand for it. */
	if (!old && model_memo_replay(m)) {
		strvec_free(&lead);
		return 0;
	}
	struct thunk t;
	thunk_init(&t);
	struct strvec args = STRVEC_INIT;
	int r = 0;
	for (size_t j = 0; j < lead.n && r == 0; j++) {
		char *w;
		r = model_rewrite_generic(m, &t, lead.v[j], &w);
		if (r == 0)
			strvec_push_take(&args, w);
	}
	strvec_push(&args, key);
	char *where = model_map(m, archive);
	strvec_push(&args, where);
	for (int j = i; j < m->argc && r == 0; j++) {
		char *w;
		r = model_add_input(m, &t, m->argv[j], &w);
		if (r == 0)
			strvec_push_take(&args, w);
	}
	struct model_outputs outs = {STRVEC_INIT, NULL, 0};
	struct model_temps temps = {0};
	if (r == 0 && old)
		r = wrap_update(m, &t, archive, where, &args);
	if (r == 0)
		r = model_stage_finish(m, &t, old ? "sh" : m->tool, old ? "sh" : m->tool, &args,
		                       archive, where, &temps, &outs);
	if (r == 0)
		r = model_outputs_write(m, &outs);
	if (r == 0 && !old)
		model_memo_record(m, &outs);
	model_outputs_free(&outs);
	thunk_free(&t);
	strvec_free(&args);
	strvec_free(&lead);
	free(where);
	return r < 0 ? fall_back_on_error(m) : 0;
}

/* ---- ranlib ---- */

int model_ranlib(struct model_ctx *m)
{
	int nfiles = 0, nph = 0;
	for (int i = 1; i < m->argc; i++) {
		const char *a = m->argv[i];
		if (a[0] == '-') {
			if (is_query(a))
				return model_fallback(m, "a query");
			if (strcmp(a, "-D") && strcmp(a, "-U") && strcmp(a, "-t"))
				return model_fallback(m, "option %s", a);
			continue;
		}
		nfiles++;
		nph += model_is_placeholder(a, NULL) == 1;
	}
	if (nfiles == 0 || nph != nfiles)
		return model_fallback(m, "not every archive is a placeholder");
	model_log(m, "nothing to do: ar already wrote the symbol index of these placeholders");
	return 0;
}

/* ---- strip ---- */

static const char *const strip_sep[] = {
    "-F", "--target",         "-I", "--input-target", "-O", "--output-target",
    "-R", "--remove-section", "-K", "--keep-symbol",  "-N", "--strip-symbol",
    "-o",
};

int model_strip(struct model_ctx *m)
{
	if (getenv(MODEL_ENV_BYPASS))
		return model_fallback(m, MODEL_ENV_BYPASS " is set");
	struct strvec opts = STRVEC_INIT, files = STRVEC_INIT;
	const char *out = NULL;
	for (int i = 1; i < m->argc; i++) {
		const char *a = m->argv[i];
		bool sep = false;
		for (size_t k = 0; k < GG_ARRAY_LEN(strip_sep); k++)
			sep |= !strcmp(a, strip_sep[k]);
		if (sep && i + 1 < m->argc) {
			if (!strcmp(a, "-o")) {
				out = m->argv[++i];
				continue;
			}
			strvec_push(&opts, a);
			strvec_push(&opts, m->argv[++i]);
		} else if (a[0] == '-') {
			if (!strcmp(a, "--help") || !strcmp(a, "--version") || !strcmp(a, "-V") ||
			    !strcmp(a, "-p") || !strcmp(a, "--preserve-dates") || a[0] == '@' ||
			    !strncmp(a, "--keep-symbols", 14) ||
			    !strncmp(a, "--strip-symbols", 15)) {
				strvec_free(&opts);
				strvec_free(&files);
				return model_fallback(m, "option %s", a);
			}
			strvec_push(&opts, a);
		} else {
			strvec_push(&files, a);
		}
	}
	bool any_ph = false;
	for (size_t i = 0; i < files.n; i++)
		any_ph |= model_is_placeholder(files.v[i], NULL) == 1;
	if (!any_ph || (out && files.n != 1) || model_open_store(m) < 0) {
		strvec_free(&opts);
		strvec_free(&files);
		return model_fallback(m, "no placeholder to strip");
	}
	struct model_outputs outs = {STRVEC_INIT, NULL, 0};
	struct model_temps temps = {0};
	int r = 0;
	for (size_t i = 0; i < files.n && r == 0; i++) {
		const char *dst = out ? out : files.v[i];
		struct thunk t;
		thunk_init(&t);
		struct strvec args = STRVEC_INIT;
		for (size_t k = 0; k < opts.n; k++)
			strvec_push(&args, opts.v[k]);
		char *where = model_map(m, dst);
		char *in = xasprintf(MODEL_TMP "/in/%s", base_name(files.v[i]));
		r = tbuild_add_file(m->store, &t, in, files.v[i]);
		strvec_push(&args, "-o");
		strvec_push(&args, where);
		strvec_push(&args, in);
		if (r == 0)
			r = model_stage_finish(m, &t, m->tool, m->tool, &args, dst, where, &temps,
			                       &outs);
		thunk_free(&t);
		strvec_free(&args);
		free(where);
		free(in);
	}
	if (r == 0)
		r = model_outputs_write(m, &outs);
	model_outputs_free(&outs);
	strvec_free(&opts);
	strvec_free(&files);
	return r < 0 ? fall_back_on_error(m) : 0;
}

/* ---- tools that read their inputs now ---- */

int model_passthrough(struct model_ctx *m)
{
	for (int i = 1; i < m->argc; i++)
		if (is_query(m->argv[i]))
			return model_fallback(m, "a query");
	return model_fallback(m, "%s reads its inputs now", m->tool);
}
