/**
 * @file stamp.h
 * What every cache keyed by stat(2) needs, in one place: a file's stamp
 * (device, inode, size, modification and change times), the rule that says
 * when a stamp may stand in for the file's content, and the checksum that
 * seals a cache entry.
 *
 * The rule is git's answer to the "racy git" problem. File times advance in
 * clock ticks (a jiffy, 2 s on FAT, whatever the server says on NFS), so a
 * file changed twice within one tick keeps its stamp although its content
 * changed. A cache that records (stamp, content) at time W may therefore
 * trust the stamp later only if the file's last change, the later of its
 * mtime and ctime, lies safely (STAMP_MARGIN_NS) before W: then any later
 * change falls in a later tick and shows in the stamp. W must be read from
 * the clock before the content is read. Otherwise the entry is checked by
 * content. There is no "unknown" stamp: a file that cannot be stat'ed
 * matches nothing.
 */
#ifndef GG_STAMP_H
#define GG_STAMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

/* Longer than any filesystem's timestamp granularity we know of (FAT: 2 s). */
#define STAMP_MARGIN_NS (INT64_C(2) * 1000000000)

struct stamp_time {
	int64_t sec;
	long nsec;
};
struct stamp {
	uint64_t dev, ino, size;
	struct stamp_time mtime, ctime;
};

/* Text of a stamp: dev-ino-size-mtime-ctime, lowercase hex; at most this long. */
#define STAMP_TEXT_MAX 96

void stamp_of(const struct stat *st, struct stamp *out);
/* stat(2) of path; -1 (with an error naming it) if that fails. */
int stamp_get(const char *path, struct stamp *out);
bool stamp_eq(const struct stamp *a, const struct stamp *b);

void stamp_format(const struct stamp *s, char out[STAMP_TEXT_MAX]);
/* Exactly len bytes of stamp_format's text (only its text); -1 if malformed. */
int stamp_parse(const char *s, size_t len, struct stamp *out);

/* The clock that file times come from (CLOCK_REALTIME), in nanoseconds. */
int64_t stamp_clock(void);
/* Was the file's last change (mtime or ctime) safely before `at`? */
bool stamp_settled(const struct stamp *s, int64_t at);
/*
 * May a file whose stamp is now `now` be taken to hold what an entry written
 * at `written` recorded for stamp `was`? Only if the stamps are equal and
 * `was` was settled then.
 */
bool stamp_trusted(const struct stamp *was, const struct stamp *now, int64_t written);

/*
 * Does the file system holding directory `dir` give every change made after
 * a stat(2) a ctime other than the one that stat saw, even within the same
 * clock tick? Then a stamp read after a file's last change stands for its
 * content from that moment on, with no margin: any later change shows.
 * Linux's multigrain time stamps (6.13+: ext4, xfs, btrfs, tmpfs) do this;
 * coarse ones (ramfs, FAT, NFS, older kernels) do not: there two changes in
 * one tick (a few ms, 2 s on FAT) get the same ctime.
 *
 * Probed, not assumed: a scratch file in dir is written and stat'ed in
 * pairs, and every pair must see a new ctime and mtime. Coarse time stamps
 * give all pairs (microseconds apart) one ctime, save the rare pair that
 * straddles a tick, so STAMP_PROBE_PAIRS of them never all differ. 1 if
 * exact, 0 if not, -1 if the probe could not run (taken as not exact).
 */
#define STAMP_PROBE_PAIRS 8
int stamp_exact_probe(const char *dir);

/* Times in nanoseconds as "SECONDS.NANOSECONDS" (9 digits), as entries record them. */
#define STAMP_TIME_MAX 32
void stamp_time_format(int64_t t, char out[STAMP_TIME_MAX]);
int stamp_time_parse(const char *s, size_t len, int64_t *out);

/*
 * Sealing a cache entry: stamp_seal appends "sum HEX\n", the SHA-256 of
 * everything before it; stamp_unseal returns the length of what was sealed,
 * or -1 if the seal is missing or does not match (a damaged or truncated
 * entry, to be treated as a miss).
 */
struct buf;
void stamp_seal(struct buf *b);
int stamp_unseal(const char *data, size_t len, size_t *sealed_len);

#endif
