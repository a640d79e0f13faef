/**
 * @file store.h
 * The on-disk store: content-addressed objects, the memo of results, the
 * stat-keyed hash cache and per-thunk locks, all under one ".gg" directory.
 *
 *     .gg/objects/ab/NAME     every value and thunk, mode 0444 (ab = digest[0..1])
 *     .gg/xobjects/ab/NAME    executable twins (0555) of objects, made on demand
 *     .gg/memo/ab/THUNK       the thunk's outputs: path, kind (file, executable or
 *                             symbolic link) and value name (a
 *                             thunk and its reduced form share one file, hard-linked)
 *     .gg/log/ab/THUNK        the last failure of the thunk's program (for `gg log`)
 *     .gg/format              "ggstore 2": the store's format
 *     .gg/hashcache/ab/DEV-INO  the name of a hashed host file, with its stamp
 *                             (stamp.h) and a checksum
 *     .gg/verdicts/ab/NAME[.x]  that the object (.x: its executable copy) was checked
 *                             against its name: its stamp (stamp.h), when, sealed
 *     .gg/quarantine/NAME[.x] damaged objects and copies, moved aside when found
 *     .gg/locks/thunks        one byte-range lock per executing thunk (single-flight)
 *     .gg/tmp/                temp files and sandbox directories
 *
 * Every write goes to a temp file in .gg/tmp (an unnamed O_TMPFILE linked into
 * place, or, where the file system lacks it, a named one renamed into place),
 * so a reader sees the whole object or nothing. Objects are not fsynced.
 *
 * Every value that leaves the store (store_open_object, store_object_path_mode,
 * store_read) is checked against its name first: its size always, its bytes
 * by a verdict that still holds (any change to the file voids it: see the
 * verdict's rules in store.c), else by hashing it once and recording a
 * verdict; gg vouches for large objects it stores itself (store_vouch).
 * Never per read.
 * A damaged object is moved to quarantine/ and is an error (GG_ECORRUPT)
 * naming it; it is then missing, so a memo entry naming it is a miss and the
 * thunk runs again. A damaged executable copy is made again from the object.
 */
#ifndef GG_STORE_H
#define GG_STORE_H

#include "core/hash.h"
#include "core/util.h"

#include <pthread.h>
#include <sys/stat.h>
#include <sys/types.h>

struct store {
	char *root; /* absolute path of the .gg directory */
	char *tmp;  /* root/tmp */
	/* private to store.c */
	size_t root_len;
	pthread_mutex_t lock_mu; /* guards the pool below */
	int *lock_pool;          /* open descriptions of locks/thunks holding no lock */
	size_t nlock_pool;
	unsigned fork_gen; /* the pool belongs to this process, not to a forked child */
	int link_mode;     /* how new files are linked into place (store.c) */
	bool exact_mode;   /* the umask and ACLs leave a new file's mode as asked */
	int exact_times;   /* stamp_exact_probe of tmp/: 0 not yet probed, 1 yes, -1 no */
	bool distrust;     /* store_distrust: verdicts ignored, every read hashed */
	/* store_set_fetch: what brings a value recorded as remote */
	int (*fetch)(void *arg, const struct gg_name *n);
	void *fetch_arg;
	char *fetch_from; /* the storage it reads (its URI as storage_open names it) */
};

/* Creates DIR/.gg (or DIR itself if it ends in ".gg") if needed, mode 0700:
 * private to its user. An existing one must be ours (or a shared store). */
int store_init(const char *dir, char **root_out);
/* The same; shared: mode 02770 (the group may use it; subdirectories 02775). */
int store_init_mode(const char *dir, bool shared, char **root_out);
/* Creates a store exactly at root (e.g. $GG_DIR) if needed. */
int store_create(const char *root);
/*
 * Opens a store: dir if given, else $GG_DIR, else the nearest ".gg" found by
 * walking up from the current directory.
 */
int store_open(const char *dir, struct store **out);
void store_close(struct store *s);
/*
 * For a store that programs gg runs can write (a worker whose thunks run
 * unisolated, e.g. on Lambda: same uid, no sandbox): a verdict proves
 * nothing there (a thunk can rewrite an object and forge its verdict), so
 * every object read is hashed, whatever its verdict says.
 */
void store_distrust(struct store *s);

/* malloc'd paths of an object and of its executable twin. */
char *store_object_path(const struct store *s, const struct gg_name *n);
/* Path of the object with the exec bit as wanted (creates the 0555 twin), both
 * checked against the name first (a damaged twin is made again). */
int store_object_path_mode(struct store *s, const struct gg_name *n, bool exec, char **out);
/* The same, and *st: the file as it was checked (fstat of the verified fd),
 * so a caller can tell whether the path still names that inode later. */
int store_object_path_stat(struct store *s, const struct gg_name *n, bool exec, char **out,
                           struct stat *st);

/* 1 if present with the right size, 0 if missing (a short object is quarantined).
 * The content is checked when it is used, not here. */
int store_has(struct store *s, const struct gg_name *n);

/*
 * Lazy remote values: a value whose bytes stay in a remote store until
 * something reads them (a shared-cache hit records its outputs so). The
 * record is an empty file .gg/remote/ab/NAME. While a fetcher is set
 * (store_set_fetch: the shared cache's storage), a recorded value counts as
 * known (store_known, memo_get), and the first read that needs its bytes
 * (store_open_object, store_object_path_mode, store_read: the mount, by-hash,
 * `gg cat`, a placeholder, a thunk's input) fetches just that value, streamed
 * and verified against its name, into the store; the record then goes. A
 * value the remote store no longer has, or has damaged, fails that read with
 * GG_ECORRUPT naming it, and its record goes, so that memo entries naming it
 * are misses again and a second force computes or fetches it anew. Without
 * a fetcher, records are ignored: such entries are misses.
 * Set and cleared while no other thread uses the store (before a force
 * starts, after it ends): the fetcher is read without a lock.
 */
void store_set_fetch(struct store *s, int (*fetch)(void *arg, const struct gg_name *n), void *arg,
                     const char *from);
/* The URI of the storage the fetcher reads (as set), NULL when none is set:
 * a remote engine using that same storage leaves its outputs there, recorded
 * as remote, instead of downloading them at once. */
const char *store_fetch_from(const struct store *s);
/* Records value n as remote (it need not be stored here). */
int store_mark_remote(struct store *s, const struct gg_name *n);
/* 1 if n is stored here or recorded as remote while a fetcher is set, else 0. */
int store_known(struct store *s, const struct gg_name *n);
/* 1 if n is not stored here but recorded as remote while a fetcher is set. */
int store_is_remote(struct store *s, const struct gg_name *n);

/* Adds bytes; kind 0 = detect (thunk magic) . */
int store_put_buf(struct store *s, const void *data, size_t len, char kind, struct gg_name *out);
/* Copies a host file in (using the hash cache to skip known files). */
int store_put_file(struct store *s, const char *path, struct gg_name *out);
/* Copies from an fd to its end. */
int store_put_fd(struct store *s, int fd, struct gg_name *out);
/*
 * Stores the regular file open as fd (e.g. an output a sandbox left; read
 * from its start), never acting on a path but its name. Given its name
 * (name in the directory dirfd; NULL: none), a file with one link and no
 * extended attributes becomes the object itself, without a copy: made
 * root's (when we are root) and 0444 through fd, linked into place, and its
 * name removed while it is still this file, before the object's verdict is
 * taken (removing it changes the file's ctime, which would void the
 * verdict). The caller promises that nothing can write the file or that
 * directory any more (every process that could is gone). Otherwise, and
 * whenever linking is not possible, the bytes are copied and the name is
 * left. Either way the object has no setuid, setgid or other special bit and
 * no file capabilities, ACLs or other extended attributes.
 */
int store_adopt_fd(struct store *s, int fd, int dirfd, const char *name, struct gg_name *out);

/*
 * Opens an object for reading, checked against its name (see above); the
 * offset is 0. -1 if missing (GG_ENOTFOUND) or damaged (GG_ECORRUPT: it is
 * quarantined).
 */
int store_open_object(struct store *s, const struct gg_name *n);
/* store_open_object without keeping it open: 0 if the object is sound. */
int store_verify(struct store *s, const struct gg_name *n);
/*
 * Checks object n (exec: its executable copy) as a use would, or, with
 * !trust, by hashing it whatever its verdict says: 0 sound, 1 missing, -1
 * damaged (quarantined, GG_ECORRUPT) or not checkable (gg_fsck).
 */
int store_check(struct store *s, const struct gg_name *n, bool exec, bool trust);
/*
 * Vouches for object n, which this process has just put in place as the
 * file open as fd, having hashed its bytes as it wrote them (or read them
 * whole while nothing could write the file): records a verdict, so that
 * its first use does not hash it again. Only where the store's file system
 * keeps exact change times (stamp.h, stamp_exact_probe) and for objects of
 * STORE_VOUCH_MIN bytes or more (hashing a smaller one at its first use
 * costs less than the verdict's file); otherwise nothing. fd must have seen
 * this process's last change of the file (its write, chmod and link, and
 * the removal of any other name it had).
 */
#define STORE_VOUCH_MIN (64 * 1024)
void store_vouch(struct store *s, const struct gg_name *n, int fd);
/* Whether the store's file system keeps exact change times (probed once). */
bool store_exact_times(struct store *s);
/* Whether a hash cache entry's bytes are whole and well-formed (gg fsck). */
bool store_hashcache_entry_sound(const char *data, size_t size);
/* Where a damaged object (exec: its executable copy) is moved; malloc'd. */
char *store_quarantine_path(const struct store *s, const struct gg_name *n, bool exec);
/* Whole-object hashes done so far by this process to check objects (tests, bench). */
uint64_t store_verify_hashes(void);
/* Reads a whole object (at most max bytes) and verifies its hash. */
int store_read(struct store *s, const struct gg_name *n, struct buf *out, size_t max);

/*
 * Names a host file, using the stat-keyed cache (an entry is trusted only
 * under the rule of stamp.h). Does not store it.
 */
int store_hash_file(struct store *s, const char *path, struct gg_name *out);

/*
 * Symbolic links: a thunk's output, input or forced value may be a symbolic
 * link. Its value is the link's target, as bytes ("libfoo.so.1"), and its
 * kind is kept beside the name wherever a name goes (memo "out l", thunk
 * "in l", the wire's "link"): the same bytes as a regular file are another
 * thing. gg never follows such a link; it makes it with symlinkat and reads
 * it with readlinkat. A target must be relative, non-empty, at most
 * PATH_MAX - 1 bytes, without NUL and without a ".." component: a value is
 * placed at many paths (an output, inputs of other thunks, placeholders,
 * the mount), so only a target that stays beneath its own directory is
 * harmless wherever it lands. 0, or -1 with the error naming what.
 */
int link_target_check(const char *what, const char *target, size_t len);
/* Reads value n as a link's target (checked as above); *out malloc'd. */
int store_read_link(struct store *s, const struct gg_name *n, char **out);
/*
 * Makes a symbolic link to value n's target at dirfd/name, replacing what is
 * there (a temp name, then renameat, so an existing link at name is replaced,
 * never followed). `what` names the place in errors.
 */
int store_place_link(struct store *s, const struct gg_name *n, int dirfd, const char *name,
                     const char *what);

/* The memo: what a thunk produced. */
struct memo_output {
	char *path;
	struct gg_name value;
	bool exec;
	bool link; /* a symbolic link whose target is the value (never exec) */
};
struct memo {
	struct memo_output *v;
	size_t n;
	/* What the program wrote on stderr, when it wrote anything: shown when
	 * the thunk runs (like a compiler's warnings) and by `gg log`. */
	struct gg_name stderr_value;
	bool has_stderr;
	size_t cap;
	size_t *byname; /* private: a hash table of v's paths (memo_index), if nbyname == n */
	size_t nbyname;
};
void memo_add(struct memo *m, const char *path, const struct gg_name *value, bool exec);
void memo_add_link(struct memo *m, const char *path, const struct gg_name *value);
/* Linear, unless memo_index was called after the last memo_add: then constant. */
const struct memo_output *memo_find(const struct memo *m, const char *path);
/* The output a reference means: the one it names, or without a name the
 * primary one (the first: entries list outputs in the thunk's order). */
const struct memo_output *memo_output_of(const struct memo *m, const char *output);
/* Makes memo_find fast for a memo with many outputs (until the next memo_add). */
void memo_index(struct memo *m);
void memo_free(struct memo *m);
/*
 * 1 and fills *out on a hit, 0 on a miss. An entry whose output objects are
 * no longer in the store is a miss (gc may have removed them), unless they
 * are known remote (store_known).
 */
int memo_get(struct store *s, const struct gg_name *thunk, struct memo *out);

/*
 * Where a reference comes to without running anything: its thunk's entry
 * gives the output it means (memo_output_of); while that output is a thunk
 * (a dynamic graph), that thunk's entry gives its primary output; and so on,
 * at most MEMO_CHAIN_MAX thunks output by thunks (as far as the scheduler
 * follows one); a loop ends the walk (0) within a few rounds of it. lookup
 * gives a thunk's entry as memo_get does (1 with *out filled, which the walk
 * frees; 0 for none, *out untouched); NULL means memo_get. Any other result of lookup
 * (*out untouched) ends the walk and is returned.
 * 1 and *end when the reference comes to a value the store knows (end->path
 * is NULL), else 0.
 */
#define MEMO_CHAIN_MAX 10000
typedef int memo_lookup_fn(void *arg, struct store *s, const struct gg_name *thunk,
                           struct memo *out);
int memo_resolve(struct store *s, const struct gg_ref *ref, memo_lookup_fn *lookup, void *arg,
                 struct memo_output *end);
int memo_put(struct store *s, const struct gg_name *thunk, const struct memo *m);
int memo_encode(const struct memo *m, struct buf *out);
int memo_parse(const char *data, size_t len, struct memo *out);

/*
 * The failure log (.gg/log/ab/THUNK): the last failure of a thunk's program,
 * as the scheduler reported it (command, status, stderr's last lines), for
 * `gg log`. A cache: writing may fail silently. Reading returns 1 with the
 * text in out, 0 when there is none, -1 when there is one that cannot be
 * read or is damaged (the message names the file and the cause; GG_ECORRUPT
 * for a damaged one): not taken for "none".
 */
int store_log_failure(struct store *s, const struct gg_name *thunk, const char *text);
int store_read_failure(struct store *s, const struct gg_name *thunk, struct buf *out);

/*
 * memo_put under two names at once: a thunk and the reduced thunk it ran as
 * (b may be NULL or equal to a). One file, two hard links.
 */
int memo_put2(struct store *s, const struct gg_name *a, const struct gg_name *b,
              const struct memo *m);

/*
 * Blocks until this process holds the thunk's lock; returns an fd. Release
 * it with store_unlock_thunk (which keeps the descriptor for the next lock)
 * or by closing it.
 */
int store_lock_thunk(struct store *s, const struct gg_name *thunk);
/* Like store_lock_thunk without waiting: -2 if someone else holds it. */
int store_trylock_thunk(struct store *s, const struct gg_name *thunk);
/* Releases a lock taken by the two above; fd < 0 is ignored. */
void store_unlock_thunk(struct store *s, int fd);

/* Creates a fresh directory under .gg/tmp; malloc'd path. */
int store_make_tmpdir(struct store *s, const char *prefix, char **out);

/*
 * The one walk over the store's fan-out directories: calls fn for every
 * entry of SUB/XX/ (SUB: "objects", "xobjects", "memo", "hashcache", ...),
 * with its path and its name; entries starting with '.' (temporary files)
 * are skipped. A missing SUB or fan-out directory holds nothing. Stops when
 * fn returns nonzero, and returns that.
 */
int store_walk(struct store *s, const char *sub,
               int (*fn)(void *arg, const char *path, const char *name), void *arg);

/*
 * Removes least-recently-used values until the objects take at most max_size
 * bytes. Thunks (small, and needed to describe placeholders) are kept. Then
 * forgets the records of remote values (.gg/remote) that no memo entry
 * names, unless made within STORE_RECORD_GRACE seconds.
 */
#define STORE_RECORD_GRACE 3600
struct gc_stats {
	uint64_t before, after, removed_objects;
	uint64_t removed_records; /* .gg/remote records forgotten */
};
int store_gc(struct store *s, uint64_t max_size, struct gc_stats *st);

#endif
