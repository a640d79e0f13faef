/**
 * @file util.h
 * Small shared helpers: checked allocation, a growable byte buffer, a string
 * vector, and file helpers that never leave a partial file behind (temp file
 * + rename). Errors: see error.h (included here, as every module uses it).
 */
#ifndef GG_UTIL_H
#define GG_UTIL_H

#include "core/error.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#define GG_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Allocation that aborts on out-of-memory: callers never check. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same from a va_list (which it uses up, as vsnprintf does). */
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
/* xrealloc of n elements of size bytes; aborts when n * size overflows. */
void *xreallocarray(void *p, size_t n, size_t size);

/*
 * The one way to grow an array by hand, as git's ALLOC_GROW: makes room in
 * `array` (of `alloc` elements) for at least `nr` elements, growing by half
 * again as much (at least 16) so that appending one at a time is amortised
 * constant time. `alloc` is updated; elements beyond the old alloc are
 * uninitialised.
 *     ALLOC_GROW(v, n + 1, cap);
 *     v[n++] = x;
 */
#define ALLOC_NR(x) (((x) + 16) * 3 / 2)
#define ALLOC_GROW(array, nr, alloc)                                                               \
	do {                                                                                       \
		if ((nr) > (alloc)) {                                                              \
			(alloc) = ALLOC_NR(alloc) < (nr) ? (nr) : ALLOC_NR(alloc);                 \
			(array) = xreallocarray((array), (alloc), sizeof *(array));                \
		}                                                                                  \
	} while (0)

/* A growable byte buffer, always NUL-terminated (data may hold NULs too). */
struct buf {
	char *data;
	size_t len, cap;
};
#define BUF_INIT                                                                                   \
	{                                                                                          \
		NULL, 0, 0                                                                         \
	}
void buf_grow(struct buf *b, size_t extra);
void buf_add(struct buf *b, const void *data, size_t len);
void buf_adds(struct buf *b, const char *s);
void buf_addc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_reset(struct buf *b);
void buf_free(struct buf *b);
/* Hands the (NUL-terminated) data to the caller and resets the buffer. */
char *buf_steal(struct buf *b);

/* A growable array of owned strings, NULL-terminated (usable as argv). */
struct strvec {
	char **v;
	size_t n, cap;
};
#define STRVEC_INIT                                                                                \
	{                                                                                          \
		NULL, 0, 0                                                                         \
	}
void strvec_push(struct strvec *sv, const char *s);
void strvec_push_take(struct strvec *sv, char *s);
void strvec_pushn(struct strvec *sv, const char *s, size_t len);
void strvec_clear(struct strvec *sv);
void strvec_free(struct strvec *sv);
void strvec_sort(struct strvec *sv);

/*
 * Opens path for reading if it is a regular file (following links): the fd,
 * or -1 with the error set ("PATH is not a regular file", or the open's).
 * A FIFO, socket or device is refused without blocking in open or read.
 */
int open_regular(const char *path);
/* Reads a whole file; fails if it is larger than max bytes. */
int read_file(const char *path, struct buf *out, size_t max);
int read_fd_all(int fd, struct buf *out, size_t max);
/* Writes all bytes, retrying on EINTR and short writes. */
int write_all(int fd, const void *data, size_t len);
/*
 * The one fd-copy helper: copies exactly len bytes from in to out, from
 * their current offsets, in the kernel (copy_file_range) where it can, else
 * by read and write (pipes, other filesystems). -1 with the error set: a read
 * or write error (its errno's code), or "ended after N of M bytes" when in
 * is shorter than len (GG_ECORRUPT).
 */
int copy_fd(int in, int out, uint64_t len);
/* Writes path atomically: temp file in the same directory, fsync, rename. */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);
/* The same without the fsync, for caches that check what they read (a crash
 * may leave an empty or torn entry, which reads as a miss). */
int write_cache_file(const char *path, const void *data, size_t len, mode_t mode);
/* mkdir -p; existing directories are fine. */
int mkdir_p(const char *path, mode_t mode);
/* Whether a and b are one file (device and inode). */
bool same_inode(const struct stat *a, const struct stat *b);
/* Whether path is on a FUSE file system (a ggfs mount among them), whose
 * user.gg.* attributes the mount, not the file's owner, answers. */
bool on_fuse(const char *path);
/* rm -rf; a missing path is fine. */
int remove_tree(const char *path);
/* Opens "<dir>/.tmp-XXXXXX" for writing; returns fd and sets *tmp_path (malloc). */
int make_temp_in(const char *dir, char **tmp_path);
/* The same in the directory dirfd: name gets ".tmp-XXXXXX" (the last
 * component is never followed if it is a link). */
#define TEMP_NAME_MAX 16
int make_temp_at(int dirfd, char name[TEMP_NAME_MAX]);

/*
 * A path that may appear inside a thunk: relative, not empty, no "." or ".."
 * components, no empty components (no "//", no leading or trailing "/"), no
 * NUL. Returns 0 or records why it is not acceptable and returns -1.
 */
int path_check_relative(const char *path, const char *what);

/* Monotonic clock in nanoseconds. */
uint64_t now_ns(void);

/*
 * The one retry backoff: how long to wait (ns) before attempt `attempt` + 1,
 * after `attempt` (1, 2, ...) failures: base_ms doubled each time, at most
 * cap_ms, with "equal jitter" (half of it fixed, half random) so that
 * clients failing together do not retry together.
 */
uint64_t backoff_ns(unsigned attempt, uint64_t base_ms, uint64_t cap_ms);
/* The same, waiting at least a server's Retry-After (retry_after_ms, 0 =
 * none) up to max_after_ms, plus up to a quarter more so that clients told
 * the same do not come back in step; the longer of the two waits wins. */
uint64_t backoff_after_ns(unsigned attempt, uint64_t base_ms, uint64_t cap_ms,
                          uint64_t retry_after_ms, uint64_t max_after_ms);
/* Their computation in ms, pure for tests: random is any random word. */
uint64_t backoff_wait_ms(unsigned attempt, uint64_t base_ms, uint64_t cap_ms,
                         uint64_t retry_after_ms, uint64_t max_after_ms, uint64_t random);

/* Parses a size such as 100, 10K, 5M, 2G (binary units). -1 on bad input. */
int parse_size(const char *s, uint64_t *out);
/* Parses a non-negative decimal integer that fits in uint64_t. */
int parse_u64(const char *s, uint64_t *out);
/*
 * The one way to read a number from the environment: *out = dflt when var
 * is unset or empty, else its value, which must be a whole number from min
 * to max. Anything else (a unit, a sign, a number out of range) is refused,
 * never taken as some other setting: *out = dflt and -1 with GG_EUSAGE,
 * "VAR=VALUE: expected a whole number from MIN to MAX".
 */
int env_u64(const char *var, uint64_t dflt, uint64_t min, uint64_t max, uint64_t *out);
/* The same for a size (parse_size: 200M): anything else is refused with
 * "VAR=VALUE: expected a size from MIN to MAX (bytes, or with a K, M, G or T
 * suffix)", MIN and MAX written with the largest suffix that is exact. */
int env_size(const char *var, uint64_t dflt, uint64_t min, uint64_t max, uint64_t *out);

/* Length of the valid UTF-8 sequence at p (at most n bytes, n > 0), or 0.
 * Rejects overlong forms, surrogates and code points above U+10FFFF. */
size_t utf8_len(const unsigned char *p, size_t n);

/* Shell-quotes argv into one line, for error messages. */
char *argv_to_shell(char *const *argv);

/*
 * Whether an environment variable of this name (len bytes) may hold a
 * secret: AWS credentials and what leads to them (AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_CONTAINER_CREDENTIALS_*,
 * AWS_CONTAINER_AUTHORIZATION_TOKEN, AWS_LAMBDA_RUNTIME_API), gg's own
 * (GG_STORAGE, which may carry a password, GG_REDIS_PASSWORD,
 * GG_WORKER_TOKEN*), and any name containing SECRET, TOKEN, PASSW, CREDENTIAL,
 * PRIVATE, API_KEY, APIKEY, ACCESS_KEY or AUTH, in any case (a function's
 * own configuration, say DB_PASSWORD).
 */
bool env_name_is_secret(const char *name, size_t len);
/*
 * Removes every such variable from this process's environment and
 * overwrites its bytes where they were, so that /proc/PID/environ (the
 * initial environment block) no longer shows them either. Pointers from
 * getenv() to those variables are invalid afterwards. Returns how many.
 */
size_t env_scrub_secrets(void);

/* A hash of n bytes (FNV-1a, 64 bits), for in-memory tables of strings. */
uint64_t str_hash(const char *s, size_t n);
/* The size of an open-addressing table for n entries: a power of two >= 2n. */
size_t hash_table_size(size_t n);

#endif
