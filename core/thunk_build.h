/**
 * @file thunk_build.h
 * Helpers shared by everything that builds thunks from host files: `gg thunk`
 * and the `gg infer` models. A host file becomes a value input (stored), a
 * placeholder becomes a dependency on its thunk's output, and a program
 * becomes its closure (closure.h) plus the explicit-loader argv prefix.
 */
#ifndef GG_THUNK_BUILD_H
#define GG_THUNK_BUILD_H

#include "core/store.h"
#include "core/thunk.h"

/*
 * Places host `file` at relative `path`: a placeholder makes a dependency on
 * its thunk output; a regular file is stored as a value; a directory adds
 * every file below it (sorted). The exec bit follows the file's mode.
 */
int tbuild_add_file(struct store *s, struct thunk *t, const char *path, const char *file);

/*
 * Makes `program` (a name looked up on search_path, NULL = $PATH, or a path)
 * the thunk's executable: its closure becomes inputs under .gg-sys/, t->exe is
 * set, and t->argv gets the loader prefix followed by args (argv0 is what the
 * program sees as argv[0]; NULL = its base name). Existing argv is replaced.
 */
int tbuild_set_program(struct store *s, struct thunk *t, const char *program, const char *argv0,
                       const char *search_path, char *const *args, size_t nargs);

/* Adds only the closure's files (a program another program will run). */
int tbuild_add_closure(struct store *s, struct thunk *t, const char *program,
                       const char *search_path);

/* A host file the functions above read, and what it held then. */
struct tbuild_read {
	char *path;        /* absolute or as given */
	struct gg_ref ref; /* its value's name, or the reference a placeholder holds */
	bool placeholder;
};
struct tbuild_reads {
	struct tbuild_read *v;
	size_t n, cap;
};
void tbuild_reads_free(struct tbuild_reads *r);

/*
 * Adds a tool that the program runs by name (e.g. `sort` in a `sh -c`
 * script): its closure under .gg-sys/, and each ELF interpreter also at the
 * absolute path the kernel looks for it. The caller sets PATH and
 * LD_LIBRARY_PATH (TBUILD_TOOL_PATH, TBUILD_TOOL_LIBS) so they are found.
 */
int tbuild_add_tool(struct store *s, struct thunk *t, const char *program);
/* Directories relative to the thunk's root, as absolute paths (the sandbox's
 * root) and relative ones (the working directory of a plain run). */
#define TBUILD_TOOL_PATH "/.gg-sys/bin:.gg-sys/bin"
#define TBUILD_TOOL_LIBS "/.gg-sys/lib:.gg-sys/lib"

/*
 * When set (non-NULL), every host file the functions above read is also
 * appended to *reads: the `gg infer` models use it to know what a cached
 * result depends on. Not thread-safe; NULL turns it off.
 */
void tbuild_note_reads(struct tbuild_reads *reads);

/* Names the thunk and puts its encoding into the store. */
int tbuild_store(struct store *s, struct thunk *t, struct gg_name *out);

/*
 * The one parser of a thunk's --timeout (gg thunk, gg model-generic): whole
 * seconds, at most THUNK_MAX_TIMEOUT_S; 0 leaves the limit to the forcer.
 * *ms gets it in milliseconds; -1 with a usage error naming the option and
 * the value.
 */
int tbuild_timeout_parse(const char *value, uint64_t *ms);

#endif
