/**
 * @file force.c
 * Forcing named targets (see force.h).
 */
#include "core/force.h"

#include "core/placeholder.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int target_parse(struct store *s, const char *arg, bool peek, struct force_target *t)
{
	memset(t, 0, sizeof *t);
	t->arg = arg;
	if (access(arg, F_OK) == 0) {
		t->is_file = true;
		int r = peek ? placeholder_peek(arg, &t->ref) : placeholder_read(arg, &t->ref);
		if (r < 0) /* the message names the file */
			return gg_fail(GG_EINVALID, "%s", gg_last_error());
		t->plain = r == 0;
		return 0;
	}
	/* A file that cannot be looked at is not taken for a name. */
	if (errno != ENOENT && errno != ENOTDIR)
		return gg_error_errno("%s", arg);
	/* Neither a file nor a well-formed name: an argument mistyped, as gg
	 * pull says of a malformed NAME (2). */
	if (strlen(arg) < GG_NAME_LEN || (arg[0] != 'V' && arg[0] != 'T'))
		return gg_fail(GG_EUSAGE, "%s: no such file, and not an object name", arg);
	if (gg_ref_parse(arg, strlen(arg), &t->ref) < 0)
		return gg_fail(GG_EUSAGE, "%s", gg_last_error());
	if (t->ref.output || gg_name_kind(&t->ref.name) != GG_THUNK)
		return 0;
	if (!s)
		return 0; /* left as it is */
	/* A bare thunk name means its first output. */
	struct buf b = BUF_INIT;
	struct thunk th;
	int r = -1;
	if (store_read(s, &t->ref.name, &b, THUNK_MAX_SIZE) == 0 &&
	    thunk_parse(b.data, b.len, &th) == 0) {
		t->ref.output = xstrdup(th.outputs.v[0]);
		thunk_free(&th);
		r = 0;
	}
	buf_free(&b);
	if (r < 0)
		gg_ref_free(&t->ref);
	return r;
}

int force_target_parse(struct store *s, const char *arg, struct force_target *t)
{
	return target_parse(s, arg, false, t);
}

int force_target_peek(struct store *s, const char *arg, struct force_target *t)
{
	return target_parse(s, arg, true, t);
}

void force_target_free(struct force_target *t)
{
	gg_ref_free(&t->ref);
}

/* Replaces a placeholder file with the forced value: a new file, less the
 * umask, or a symbolic link (never following one already there). */
static int replace_placeholder(struct store *s, const char *path, const struct sched_outcome *o)
{
	if (o->link) {
		const char *slash = strrchr(path, '/');
		char *dir =
		    slash ? xstrndup(path, (size_t)(slash - path + (slash == path))) : xstrdup(".");
		int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		int r = dfd < 0
		            ? gg_error_errno("cannot replace %s: cannot open %s", path, dir)
		            : store_place_link(s, &o->value, dfd, slash ? slash + 1 : path, path);
		if (dfd >= 0)
			close(dfd);
		free(dir);
		return r;
	}
	mode_t um = umask(0);
	umask(um);
	struct placeholder_replace_opts ro = {.perm = (o->exec ? 0777 : 0666) & ~um};
	return placeholder_replace(s, path, &o->value, &ro);
}

/*
 * One pass: forces targets i with want[i] through a new scheduler (kept in
 * *sched) and checks or places each value. A value found damaged fails its
 * target with GG_ECORRUPT (the object is then quarantined, so its memo
 * entries are misses and a second pass recomputes or fetches it).
 */
static int force_pass(struct store *s, const struct sched_opts *o, struct force_target *t, size_t n,
                      const bool *want, bool replace, struct sched **sched,
                      struct sched_stats *stats)
{
	struct gg_ref *refs = xcalloc(n ? n : 1, sizeof *refs);
	struct sched_outcome *outs = xcalloc(n ? n : 1, sizeof *outs);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (want[i])
			refs[k++] = t[i].ref;
	int r = 0;
	if (k && sched_new(s, o, sched) < 0) {
		r = -1;
	} else if (k) {
		sched_force_all(*sched, refs, k, outs);
		sched_progress_end(*sched);
		sched_get_stats(*sched, stats);
	}
	for (size_t i = 0, j = 0; r == 0 && i < n; i++) {
		if (!want[i])
			continue;
		t[i].result = outs[j++];
		if (t[i].result.status != 0)
			continue;
		/* Placing a value checks it; a value that is not placed is
		 * checked here, before the caller hands it out, unless it is
		 * remote: left there, it is checked when it is fetched. */
		const struct gg_name *v = &t[i].result.value;
		int ok = replace && t[i].is_file ? replace_placeholder(s, t[i].arg, &t[i].result)
		         : store_is_remote(s, v) ? 0
		                                 : store_verify(s, v);
		if (ok < 0)
			/* kept until force_run_end, like the scheduler's messages */
			t[i].result = (struct sched_outcome){
			    .status = -1,
			    .code = gg_last_code(),
			    .error = sched_keep_message(*sched, gg_last_error())};
	}
	free(refs);
	free(outs);
	return r;
}

int force_targets(struct store *s, const struct sched_opts *o, struct force_target *t, size_t n,
                  bool replace, struct force_run *run)
{
	memset(run, 0, sizeof *run);
	bool *want = xcalloc(n ? n : 1, sizeof *want);
	for (size_t i = 0; i < n; i++)
		want[i] = !t[i].plain;
	int r = force_pass(s, o, t, n, want, replace, &run->sched, &run->stats);
	/* A damaged value was quarantined: once more, to recompute or fetch it. */
	bool again = false;
	for (size_t i = 0; i < n; i++) {
		want[i] = !t[i].plain && t[i].result.status != 0 && t[i].result.code == GG_ECORRUPT;
		again |= want[i];
	}
	if (r == 0 && again) {
		struct sched_stats st = {0};
		r = force_pass(s, o, t, n, want, replace, &run->again, &st);
		if (r == 0)
			run->stats = st;
	}
	for (size_t i = 0; r == 0 && i < n; i++)
		run->failed += !t[i].plain && t[i].result.status != 0;
	free(want);
	return r;
}

void force_run_end(struct force_run *run)
{
	if (run->sched)
		sched_free(run->sched);
	if (run->again)
		sched_free(run->again);
	run->sched = run->again = NULL;
}
