/**
 * @file rundir.h
 * Run directories under .gg/tmp (one per executing thunk, "run-XXXXXX", with
 * its "run-XXXXXX.stdout", ".stderr" and ".mnt", the empty file its inputs'
 * mount points link to, beside it) and their cleanup after a
 * crash. While a run lasts its directory is flock()ed by the process that
 * made it; the kernel drops that lock when the process dies, even by
 * kill -9. rundir_sweep() removes every run directory whose lock it can
 * take, so a killed gg's leftovers go with the next command while a
 * concurrent force's directories stay. The short window between mkdtemp and
 * the flock is covered by .gg/locks/tmp: creators hold it shared for that
 * window, the sweep holds it exclusively.
 *
 * Named temporary files in .gg/tmp (".tmp-XXXXXX": objects being written
 * where the file system has no O_TMPFILE, copies being stored, downloads,
 * compressed uploads) follow the same rule: each is flock()ed through its
 * descriptor while it is written and used, and the sweep removes those
 * whose lock it can take (the bytes of a process killed mid-write).
 */
#ifndef GG_RUNDIR_H
#define GG_RUNDIR_H

#include "core/store.h"

/* Creates and locks a fresh run directory: *path (malloc'd) and the
 * descriptor that holds its lock (*lock_fd, for rundir_release). */
int rundir_create(struct store *s, char **path, int *lock_fd);
/* Ends the run's claim on its directory (after removing it). */
void rundir_release(int lock_fd);
/* A new temporary file in .gg/tmp, 0600, locked through the returned
 * descriptor while it stays open (close it only after the file is renamed
 * or removed); *path is malloc'd. -1 with gg_last_error() set. */
int rundir_temp_file(struct store *s, char **path);
/* Removes the run directories (and their .stdout/.stderr/.mnt) and temporary
 * files that no live process holds. Returns how many, or -1 with
 * gg_last_error() set. */
int rundir_sweep(struct store *s);

#endif
