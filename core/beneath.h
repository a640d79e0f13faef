/**
 * @file beneath.h
 * Opening files a sandbox (or any other untrusted party) left behind: a
 * relative path resolved beneath a directory descriptor, never following a
 * symbolic link, never leaving the directory, never crossing a mount point.
 * Everything gg does to a run directory after its program ran goes through
 * these functions (or through *at() calls relative to what they return), so
 * a swapped component cannot redirect it to a host file.
 *
 * It does not decide what is acceptable to find there (exec.c does).
 */
#ifndef GG_BENEATH_H
#define GG_BENEATH_H

#include <sys/types.h>

/*
 * Opens rel (relative, no empty, "." or ".." component) beneath the
 * directory dirfd with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
 * RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV), or, where the kernel has no
 * openat2, by beneath_open_walk. flags and mode are open(2)'s; O_NOFOLLOW
 * and O_CLOEXEC are always added, so a symbolic link as the last component
 * is opened as itself with O_PATH and refused (ELOOP) otherwise. Returns an
 * fd, or -1 with errno: ELOOP (a symbolic link on the way), EXDEV (a mount
 * point on the way, or an escape), ENOTDIR, ENOENT, EINVAL (a bad path), ...
 * Records no error message: the caller knows what the path is.
 */
int beneath_open(int dirfd, const char *rel, int flags, mode_t mode);

/*
 * The fallback of beneath_open, callable directly (for tests): one
 * openat(O_PATH | O_NOFOLLOW | O_DIRECTORY) per directory component, each
 * checked to be a directory on dirfd's device, then the last component
 * opened with O_NOFOLLOW.
 */
int beneath_open_walk(int dirfd, const char *rel, int flags, mode_t mode);

/*
 * Opens (O_PATH) the directory that holds rel's last component, beneath
 * dirfd as beneath_open does, and points *last at that component inside
 * rel: rename, link and unlink then act on (fd, *last), which cannot be
 * redirected by a swapped parent. For a single-component rel it is a
 * duplicate of dirfd. -1 with errno as beneath_open.
 */
int beneath_open_parent(int dirfd, const char *rel, const char **last);

#endif
