/**
 * @file placeholder.h
 * Placeholders: small files that stand where a thunk's output will be.
 *
 *     #!/usr/bin/env gg-run
 *     ggfs-placeholder 1 T...#out.txt
 *
 * The first line makes a placeholder executable: running it runs `gg-run`,
 * which forces the thunk and executes the result with the same arguments.
 * Detection is by the exact first line; the second names the reference.
 */
#ifndef GG_PLACEHOLDER_H
#define GG_PLACEHOLDER_H

#include "core/hash.h"
#include "core/util.h"

#include <sys/stat.h>
#include <sys/types.h>

struct store;

#define PLACEHOLDER_MAGIC    "#!/usr/bin/env gg-run\n"
#define PLACEHOLDER_MAX_SIZE 4096

/* Writes a placeholder atomically, mode 0755. */
int placeholder_write(const char *path, const struct gg_ref *ref);
/* Formats placeholder bytes into a buf. */
void placeholder_format(const struct gg_ref *ref, struct buf *out);
/*
 * Classifies bytes: 1 = a placeholder (fills *ref), 0 = not a placeholder,
 * -1 = has the magic line but is malformed (error says why).
 */
int placeholder_parse(const void *data, size_t len, struct gg_ref *ref);
/* Same for a file; 0 for anything that is not a regular file. */
int placeholder_read(const char *path, struct gg_ref *ref);
/*
 * The extended attribute in which a ggfs mount gives a placeholder's own
 * bytes (opening the file there forces it and reads the value).
 */
#define PLACEHOLDER_XATTR "user.gg.placeholder"
/*
 * Like placeholder_read, but a file a ggfs mount serves as a placeholder is
 * read from PLACEHOLDER_XATTR, never opened: for commands that only look
 * at what a placeholder names (gg log, gg describe), not force it.
 */
int placeholder_peek(const char *path, struct gg_ref *ref);
int placeholder_read_fd(int fd, struct gg_ref *ref);

/* How placeholder_replace makes the file that takes the placeholder's place. */
struct placeholder_replace_opts {
	mode_t perm;             /* its permission bits, as given (no umask applied) */
	const struct stat *like; /* NULL, or the placeholder's stat: keep its owner
	                          * (where permitted) and its access and modification
	                          * times, so `make` sees the same file */
};
/*
 * Replaces the file at path by a copy of the object value, atomically: a temp
 * file in the same directory, then rename. The caller has checked that path
 * is (still) the placeholder. The error names path and the cause.
 */
int placeholder_replace(struct store *s, const char *path, const struct gg_name *value,
                        const struct placeholder_replace_opts *opts);
/* The same for the entry name of the directory dirfd (shown in errors as
 * `shown`): a parent swapped for a link meanwhile cannot redirect it. */
int placeholder_replace_at(struct store *s, int dirfd, const char *name, const char *shown,
                           const struct gg_name *value,
                           const struct placeholder_replace_opts *opts);

#endif
