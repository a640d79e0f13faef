/**
 * @file force.h
 * One way to force targets, for `gg force`, `gg cat`, `gg run` and the
 * inference models: parse what the user named, force it through one
 * scheduler, and put each value where it belongs. The mount forces through
 * the scheduler's asynchronous call instead (it answers FUSE requests as
 * values arrive) but replaces placeholders with the same placeholder_replace.
 */
#ifndef GG_FORCE_H
#define GG_FORCE_H

#include "core/scheduler.h"

struct force_target {
	const char *arg; /* as given: a placeholder's path, a name or THUNK#OUTPUT */
	struct gg_ref ref;
	bool is_file;                /* a placeholder file */
	bool plain;                  /* an ordinary file: nothing to force */
	struct sched_outcome result; /* when forced; .error valid until force_targets_free */
};

/*
 * Parses arg: a placeholder file, an ordinary file (t->plain), a value name,
 * THUNK#OUTPUT, or a bare thunk name, which means the thunk's first output
 * (read from s; with s NULL the name is left as it is, ref.output NULL).
 * -1 with the error set: GG_EUSAGE for an argument that is neither a file
 * nor a well-formed name, GG_EINVALID for a malformed placeholder file.
 */
int force_target_parse(struct store *s, const char *arg, struct force_target *t);
/* The same for commands that only look (gg log, describe, pull --outputs):
 * a placeholder a ggfs mount serves is read without forcing it
 * (placeholder_peek). */
int force_target_peek(struct store *s, const char *arg, struct force_target *t);
void force_target_free(struct force_target *t);

struct force_run {
	struct sched *sched;
	struct sched *again; /* the second pass after a damaged value (force_targets) */
	size_t failed;
	struct sched_stats stats;
};

/*
 * Forces every target that is not plain through one scheduler made with o;
 * with `replace`, each placeholder file is then replaced by its value (less
 * the umask), and a failure to do so fails that target; a value that is not
 * placed is checked against its name. A value found damaged is quarantined
 * and its target forced once more (recomputed or fetched again). Fills run; call
 * force_run_end to release the outcomes' messages. -1 only when the
 * scheduler cannot start.
 */
int force_targets(struct store *s, const struct sched_opts *o, struct force_target *t, size_t n,
                  bool replace, struct force_run *run);
void force_run_end(struct force_run *run);

#endif
