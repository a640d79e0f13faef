/**
 * @file infer_model.h
 * What the `gg infer` models share: the context a model runs in, how host
 * paths map to thunk paths, logging, falling back to the real tool, running
 * helper processes, the parsed plan of a compiler driver (`gcc -###`) and the
 * link-thunk builder.
 *
 * Path mapping. A thunk runs with its directory R as root and cwd. R stands
 * for the *base* directory B (where `gg infer` started, or $GG_INFER_BASE):
 *
 *     B/x/y.c                  ->  x/y.c
 *     B itself                 ->  .
 *     any other /abs/path      ->  .gg-sys/root/abs/path
 *
 * Paths are normalised lexically first, so "../inc" seen from B/sub is
 * "inc". A command run in B/sub therefore gets its relative paths prefixed
 * with "sub/", and the compiler is told -ffile-prefix-map=sub/= so file names
 * in its output stay as the build wrote them. Nothing host-specific (no
 * absolute path of B) ever enters a thunk, so two checkouts of the same tree
 * give the same thunk names.
 */
#ifndef GG_INFER_MODEL_H
#define GG_INFER_MODEL_H

#include "core/store.h"
#include "core/thunk.h"
#include "core/thunk_build.h"
#include "core/util.h"

#include <stdbool.h>

#define MODEL_ROOT       ".gg-sys/root"
#define MODEL_TMP        ".gg-sys/tmp"
#define MODEL_ENV_REAL   "GG_INFER_REALPATH"
#define MODEL_ENV_BASE   "GG_INFER_BASE"
#define MODEL_ENV_VERB   "GG_INFER_VERBOSE"
#define MODEL_ENV_LOG    "GG_INFER_LOG"
#define MODEL_ENV_BYPASS "GG_INFER_BYPASS"
#define MODEL_ENV_PRE    "GG_INFER_PREPROCESS"
#define MODEL_ENV_SHARE  "GG_INFER_SHARE_DIR"
#define MODEL_ENV_MODELS "GG_INFER_MODELS" /* set by gg infer: models' directories, ":" */

struct model_ctx {
	const char *tool; /* the name the model was invoked as: "gcc", "ar", ... */
	int argc;
	char **argv;
	struct store *store; /* NULL until model_open_store() */
	char *base;          /* absolute, normalised */
	char *cwd;           /* absolute, normalised */
	char *pwd;           /* what gcc records as the compilation directory: cwd, or
	                      * $PWD when that names it (a path through a symlink) */
	char *prefix;        /* cwd's place in a thunk + "/" ("" when cwd is the base) */
	char *realpath;      /* PATH without the model directory */
	char *log_path;      /* NULL: next to the store, once it is open */
	bool verbose;
	/* cwd is at or below $GG_INFER_SHARE_DIR: debug info records "." for it */
	bool share;
	struct tbuild_reads reads; /* host files the model read (for its memo) */
	struct strvec sides;       /* files it wrote besides placeholders (depfiles) */
	struct strvec checks;      /* files read but not inputs (the .i's sources) */
	struct strvec probes;      /* places looked at before what was found (search paths) */
	bool recording;            /* reads are being noted */
	int64_t recording_since;   /* stamp_clock() before the model read anything */
};

/* ---- model_ctx.c ---- */

int model_ctx_init(struct model_ctx *m, int argc, char **argv);
void model_ctx_free(struct model_ctx *m);
int model_open_store(struct model_ctx *m);

/* Absolute, lexically normalised host path (relative paths against cwd). */
char *model_abs(const struct model_ctx *m, const char *path);
/* Where a host path lives inside a thunk (see the top of this file). */
char *model_map(const struct model_ctx *m, const char *path);
/* Does a host path lie in the base directory (so it maps without host paths)? */
bool model_in_base(const struct model_ctx *m, const char *path);

/*
 * Where a host path goes in a compile thunk: as model_map(), except that an
 * absolute path stays absolute (below MODEL_ROOT, mapped back by the
 * compiler's -ffile-prefix-map), since the compiler records names as the
 * build wrote them (__FILE__, debug info): the directory then becomes part of
 * the thunk, as it is part of the output.
 */
char *model_map_named(const struct model_ctx *m, const char *path);

/*
 * Adds host file `path` (as the build names it) at model_map(path); a
 * placeholder makes a dependency. *where gets the thunk path (malloc'd) if
 * not NULL. Only regular files (or symlinks to them) are accepted.
 */
int model_add_input(struct model_ctx *m, struct thunk *t, const char *path, char **where);
/* The same at model_map_named(path). */
int model_add_input_named(struct model_ctx *m, struct thunk *t, const char *path, char **where);

/* One line to the infer log (and to stderr when verbose). */
void model_log(struct model_ctx *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Runs the real tool with the original arguments (after forcing any
 * placeholder among them) because the model cannot model this command; the
 * reason goes to the log. Returns only if the tool could not be executed
 * (exit status 127).
 */
int model_fallback(struct model_ctx *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The real tool's path (malloc'd) or NULL. */
char *model_which(const struct model_ctx *m, const char *name);
/* Notes the real PATH's places before the one `name` is found in (all, if
 * it is not): a program made there later would run instead (m->probes). */
void model_probe_path(struct model_ctx *m, const char *name);

/*
 * Runs argv (argv[0] a path or a name on the real PATH) with the real PATH
 * and extra "NAME=VALUE" settings, stdin /dev/null; captures stdout and/or
 * stderr (NULL = inherit). Returns 0 and the wait status, or -1.
 */
int model_run(const struct model_ctx *m, char *const argv[], char *const extra_env[],
              struct buf *out, struct buf *err, int *status);

/* Is a file a placeholder? 1 yes (ref filled if not NULL), 0 no, -1 error. */
int model_is_placeholder(const char *path, struct gg_ref *ref);

/* Forces placeholder files in place (like `gg force FILE...`). */
int model_force_files(struct model_ctx *m, struct strvec *files);

/* ---- intermediate files of one model run ---- */

/*
 * Files one command of a plan produces for a later one (the driver's temp
 * files): the host name the plan uses and the reference to the thunk output
 * that will hold it.
 */
struct model_temp {
	char *host;
	struct gg_ref ref;
};
struct model_temps {
	struct model_temp *v;
	size_t n, cap;
	char *dir; /* the driver's private TMPDIR; names under it are temps */
};
const struct model_temp *model_temp_find(const struct model_temps *ts, const char *host);
void model_temp_add(struct model_temps *ts, const char *host, const struct gg_ref *ref);
bool model_is_temp(const struct model_temps *ts, const char *path);
void model_temps_free(struct model_temps *ts);

/*
 * Per-thunk names for temps: the N-th distinct temp a thunk mentions is
 * ".gg-sys/tmp/N.EXT" (EXT from the host name), so the same command gives the
 * same thunk whatever the random temp names were.
 */
struct temp_names {
	struct strvec host, local;
};
const char *temp_name(struct temp_names *tn, const char *host);
void temp_names_free(struct temp_names *tn);

/* ---- stages: one thunk per sub-command of a plan ---- */

/* The build's own outputs: where a placeholder goes and what it names. */
struct model_outputs {
	struct strvec host;
	struct gg_ref *refs; /* one for each host path */
	size_t refs_cap;
};
void model_outputs_add(struct model_outputs *o, const char *host, const struct gg_ref *ref);
/* Writes every placeholder (only once all thunks are stored). */
int model_outputs_write(struct model_ctx *m, const struct model_outputs *o);
void model_outputs_free(struct model_outputs *o);

/* An input of a stage: a temp (an earlier stage's output) or a host file. */
int model_stage_input(struct model_ctx *m, struct thunk *t, const struct model_temps *temps,
                      struct temp_names *tn, const char *host, char **where);
/* The output of a stage: where it goes in the thunk; host is appended to outs. */
int model_stage_output(struct model_ctx *m, const char *host, const struct model_temps *temps,
                       struct temp_names *tn, struct strvec *outs, char **where);
/*
 * Gives t its program (`program` as the command names it, `tool` the name it
 * is known by, found on the real PATH) and arguments, and its one output
 * `where`; stores it and records it as a temp or an output (host_out).
 */
/*
 * The thunk's program, found as the tool would find it (on the build's
 * PATH), with the PATH places before it as the memo's probes. A script is
 * refused: what it runs (often by absolute path: a wrapper around the real
 * as or ld) would not be in the thunk.
 */
int model_set_program(struct model_ctx *m, struct thunk *t, const char *program, const char *tool,
                      const struct strvec *args);
int model_stage_finish(struct model_ctx *m, struct thunk *t, const char *program, const char *tool,
                       const struct strvec *args, const char *host_out, const char *where,
                       struct model_temps *temps, struct model_outputs *outs);

/* A compile's thunk gets the build's SOURCE_DATE_EPOCH (what __DATE__ and
 * __TIME__ expand to, for reproducible builds), when it has one. */
void model_pass_source_date_epoch(struct thunk *t);

/* The assembler stage (model_as.c): argv[0] is the assembler as the plan names it. */
int model_as_stage(struct model_ctx *m, char **argv, const char *stdin_temp,
                   struct model_temps *temps, struct model_outputs *outs);

/*
 * "-opt=/abs/file" or a bare absolute file: the file becomes an input and the
 * argument names its mapped place. Anything else is copied.
 */
int model_rewrite_generic(struct model_ctx *m, struct thunk *t, const char *a, char **out);

/* ---- model_memo.c: the models' own memo ---- */

/*
 * Serves a command seen before (same tool, arguments, directory and
 * environment) whose every file read still has the same content: writes the
 * recorded depfiles and placeholders. 1 when served, 0 when the model must
 * run (it then starts noting what it reads).
 */
int model_memo_replay(struct model_ctx *m);
/* Records the result of a model run that succeeded. Failures are ignored. */
void model_memo_record(struct model_ctx *m, const struct model_outputs *outs);
/* For the fuzz target: a sealed entry parsed and encoded again into out;
 * 0, or -1 for bytes a replay would take for a miss (out left alone). */
int model_memo_reencode(const char *data, size_t len, struct buf *out);

/* ---- model_plan.c: a driver's plan (`gcc -###`) ---- */

struct plan_cmd {
	struct strvec argv;
	char *collect_options; /* the COLLECT_GCC_OPTIONS printed before it, or NULL */
	bool pipe_out;         /* writes to the next command through a pipe */
};
struct plan {
	struct plan_cmd *v;
	size_t n, cap;
	struct strvec notes; /* driver diagnostics ("gcc: warning: ...") */
};
int plan_parse(const char *text, size_t len, struct plan *out);
void plan_free(struct plan *p);

/* ---- model_scan.c: a preprocessor's -H and -v ---- */

struct header_scan {
	struct strvec headers; /* every header opened, as opened */
	struct strvec sysdirs; /* the "#include <...>" search list */
	struct strvec dup_sys; /* -I dirs dropped as duplicates of system dirs */
	struct strvec dirs;    /* the "..." list, then the <...> list */
	struct strvec missing; /* directories dropped from them: they did not exist */
	struct strvec probes;  /* places searched before a header was found */
};
#define HEADER_SCAN_INIT                                                                           \
	{                                                                                          \
		STRVEC_INIT, STRVEC_INIT, STRVEC_INIT, STRVEC_INIT, STRVEC_INIT, STRVEC_INIT       \
	}
void header_scan_free(struct header_scan *sc);
/*
 * Reads the preprocessor's stderr (err is cut into lines); src is the main
 * source as the command names it (the first includer). Headers up to a
 * failure count too. -1 for a precompiled header (gcc's "!" and "x" lines).
 */
int header_scan_parse(char *err, const char *src, struct header_scan *sc);
/*
 * Adds to sc->probes every place where a header that an #include,
 * #include_next, #import or `__has_include` (or _next) line of src or a
 * header names may be looked for. -H lists only what was opened: a header
 * found missing is not listed, nor is one a second #include found again
 * (from another includer, whose directory is searched first) and skipped
 * for its include guard or #pragma once. Literal names only ("x", <x>); one
 * a macro makes is not seen.
 */
void header_scan_includes(struct header_scan *sc, const char *src);
/*
 * -1 (the error names the macro) when the source src uses __TIMESTAMP__ (its
 * modification time is no input of a thunk), or __DATE__ or __TIME__ while
 * $SOURCE_DATE_EPOCH is not set: a thunk's result would keep the value of
 * the day it ran (ccache, likewise, does not cache by __TIME__). Headers are
 * not looked at. -1 too when src cannot be read.
 */
int source_time_macros(const char *src);

/* ---- model_gcc.c: shared with the clang model ---- */

/* Why a compiler-driver command cannot be modelled at all, or NULL. */
const char *model_driver_why_not(struct model_ctx *m);
/* Runs `DRIVER -### ARGS` with TMPDIR=tmpdir and parses the plan. */
int model_driver_plan(struct model_ctx *m, const char *tmpdir, struct plan *plan);
/* The first line of a tool's stderr that says "error" (malloc'd). */
char *model_first_error(const struct buf *err);
/*
 * A file a compiler proper (cc1, clang -cc1) reads and a directory it
 * searches, placed in the thunk where the compiler records the name the
 * build gave: a temp staged, an absolute path below MODEL_ROOT, a relative
 * one with "." or ".." kept as written below cwd's place ("../inc/f.h" as a
 * plain build records it). A name climbing out of the base appends its own
 * "OLD=NEW" prefix map to maps, which the compiler must be given after the
 * others. *where gets the thunk path (malloc'd).
 */
int model_cc1_input(struct model_ctx *m, struct thunk *t, const struct model_temps *temps,
                    struct temp_names *tn, const char *host, char **where, struct strvec *maps);
char *model_cc1_dir(struct model_ctx *m, struct thunk *t, const char *dir, struct strvec *maps);
/*
 * Each of the build's prefix maps (-ffile-, -fdebug-, -fmacro-prefix-map in
 * argv) of an absolute OLD again for OLD's place in the thunk, appended to
 * args: only one map applies to a name, so the compiler's map of MODEL_ROOT
 * back to / cannot be chained with the build's.
 */
void model_user_maps(char **argv, struct strvec *args);
/*
 * The whole life of a driver model (gcc, clang): the models' memo, the
 * driver's plan, `run` turning each planned command into thunks, then the
 * placeholders and the memo; the real tool runs instead when any step fails.
 */
typedef int (*model_plan_runner)(struct model_ctx *m, struct plan *plan, struct model_temps *temps,
                                 struct model_outputs *outputs);
int model_driver(struct model_ctx *m, model_plan_runner run);

/* ---- model_link.c ---- */

struct link_job {
	char **args; /* the linker's arguments (not argv[0]) */
	size_t nargs;
	const char *linker;          /* program to run: "ld", "ld.gold", ... */
	const char *collect_options; /* COLLECT_GCC_OPTIONS when the driver linked */
	const char *driver;          /* the driver's name when the driver linked */
	const struct model_temps *temps;
};
/*
 * Builds and stores the link thunk. *output gets the host path of the output
 * (as the build names it) and *thunk_out its thunk path. 0, or -1 with the
 * reason the link cannot be modelled.
 */
int model_link(struct model_ctx *m, const struct link_job *job, struct gg_name *name, char **output,
               char **thunk_out);
/* model_link, and its output added to outs (a link that writes one of the
 * job's temps is refused). */
int model_link_output(struct model_ctx *m, const struct link_job *job, struct model_outputs *outs);

/* ---- the models (each returns the exit status) ---- */

int model_gcc(struct model_ctx *m);
int model_ld(struct model_ctx *m);
int model_ar(struct model_ctx *m);
int model_ranlib(struct model_ctx *m);
int model_strip(struct model_ctx *m);
int model_as(struct model_ctx *m);
int model_clang(struct model_ctx *m);
int model_passthrough(struct model_ctx *m);
/* A tool described by $GG_INFER_GENERIC with spec (model_generic.h): the
 * generic model (infer.c), or the real tool with the reason. */
int model_generic_tool(struct model_ctx *m, const char *spec);

#endif
