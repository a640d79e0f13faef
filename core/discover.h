/**
 * @file discover.h
 * Finding a store by walking up from a directory, safely (as git's
 * safe.directory): the walk stops at a directory owned by another user, and
 * a ".gg" owned by another user is refused, each with a message saying so,
 * unless that directory is listed in $GG_SAFE_DIRECTORY (colon-separated
 * absolute paths, or "*" for any). A shared store (gg init --shared: mode
 * 02770, its group one of ours) is accepted from another owner.
 *
 * It does not open or create stores (store.c does).
 */
#ifndef GG_DISCOVER_H
#define GG_DISCOVER_H

/*
 * The nearest DIR/.gg for DIR = start (a directory) and its ancestors, as a
 * malloc'd path, or NULL with gg_last_error() set: nothing found (saying
 * where the walk stopped, if it stopped early) or a store refused
 * (GG_EDENIED: then no store should be made here instead).
 */
char *store_discover(const char *start);

/* Whether a store directory another user owns may be used as a shared store:
 * setgid, group rwx, no access for others, and its group one of ours. */
struct stat;
int store_shared_ok(const struct stat *st);

#endif
