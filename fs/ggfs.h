/**
 * @file ggfs.h
 * Internal interfaces between the modules of the ggfs daemon:
 *
 *   ggfs.c      main(): the store, the session and the loop
 *   cmdline.c   the command line: options, SOURCE and MOUNTPOINT, --help
 *   node.c      the inode table: (dev, ino) -> struct node, lookup counts
 *   lazy.c      placeholders and thunk outputs: classification, attributes,
 *               forcing on open with deferred replies, xattrs
 *   byhash.c    the virtual ".gg/by-hash/" namespace
 *   ops.c       the FUSE low-level handlers and their table
 *   storefind.c finding the store that belongs to SOURCE
 *   backing.c   kernel passthrough of forced outputs, and the open modes
 *   watch.c     kernel cache timeouts; inotify on SOURCE invalidates them
 *   ident.c     the caller's identity for calls that create or change files
 *   unmount_guard.c  a process that makes a killed ggfs leave no mount
 *
 * Not a public API: nothing outside fs/ includes this header.
 */
#ifndef GGFS_H
#define GGFS_H

#define FUSE_USE_VERSION 312

#include "core/chaintab.h"
#include "core/scheduler.h"
#include "core/stamp.h"
#include "core/store.h"
#include "core/workers.h"

#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/stat.h>

/* The FUSE inode number of a node is its address (as in passthrough_ll). */
_Static_assert(sizeof(fuse_ino_t) >= sizeof(uintptr_t), "fuse_ino_t too small to hold a pointer");

/* Entry and attribute timeouts for content that never changes (by-hash). */
#define GGFS_IMMUTABLE_TIMEOUT 3600.0
/*
 * ... for a forced placeholder in a directory watched for changes (watch.c):
 * a bound for changes inotify cannot report.
 */
#define GGFS_WATCHED_TIMEOUT 60.0

/* Threads that finish forces (reply to opens, notify the kernel). */
#define GGFS_DONE_THREADS 4
/* The most threads waiting for a lease's break (waiting.c) at once. */
#define GGFS_WAITING_THREADS 4

enum node_kind {
	NODE_PASS,   /* a file or directory of SOURCE, reached through an O_PATH fd */
	NODE_GGDIR,  /* the virtual directory MOUNT/.gg */
	NODE_BYHASH, /* the virtual directory MOUNT/.gg/by-hash */
	NODE_OBJECT, /* by-hash/NAME: a stored value, or a thunk's encoding */
	NODE_OUTPUT, /* by-hash/THUNK#OUTPUT: forced when opened */
};

/* What xattr user.gg.state says. */
enum lazy_state { LAZY_UNFORCED, LAZY_RUNNING, LAZY_FORCED, LAZY_FAILED };

struct pending;
struct force_job;

/*
 * The lazy part of a node: what a placeholder (or a by-hash thunk output)
 * refers to and how far forcing it got. All fields are protected by fs->mu,
 * except that the ref and ref_str of a by-hash node (NODE_OBJECT,
 * NODE_OUTPUT) are set when it is made and never change.
 */
struct lazy {
	bool is_ref;       /* a placeholder or a NODE_OUTPUT: the rest is meaningful */
	struct gg_ref ref; /* what it stands for */
	char *ref_str;     /* ref, formatted */
	unsigned gen;      /* bumped when ref changes (the file was rewritten) */
	bool forced;       /* value/exec hold the forced output of ref */
	struct gg_name value;
	bool exec;
	bool link;               /* the value is a symbolic link's target (store.h) */
	bool forcing;            /* a sched_force_async is in flight for gen */
	struct force_job *job;   /* that force (lazy.c), while forcing */
	char *error;             /* the last failure, one line (user.gg.error), or NULL */
	struct pending *waiters; /* opens waiting for the force */
	/*
	 * The kernel has been told the forced size and has dropped any pages
	 * cached for another content (notify_inval_inode, sent from a done
	 * thread): only then may an open be answered at once with keep_cache.
	 */
	bool kernel_synced;
	struct gg_name kernel_value;
	/*
	 * Ever a placeholder while ggfs knew the node: the kernel may still
	 * hold its value's size (stat shows it), so opens of the file itself
	 * are uncached (node_open_source): their reads are never cut to that
	 * size nor padded with zeros to it.
	 */
	bool was_ref;
	bool refused;      /* a user was told it may not force ref: */
	uid_t refused_uid; /* the last one */
};

struct node {
	void *hlink; /* in fs->nodes, by (dev, ino); protected by fs->mu */
	void *nlink; /* in fs->names, by (parent, name); protected by fs->mu */
	enum node_kind kind;
	/*
	 * The O_PATH fd of the underlying file, or -1: virtual nodes, and files
	 * whose fd was closed to stay under the fd limit (node.c reopens them
	 * by path). Protected by fs->mu; use node_fd()/node_fd_put().
	 */
	int fd;
	unsigned fd_users;                /* borrowers of fd: it stays open while non-zero */
	bool fd_keep;                     /* never closed: no path leads to the file any more */
	struct node *lru_prev, *lru_next; /* in fs->lru while fd is open */
	/*
	 * The name it was last found by, in directory `parent` (pinned):
	 * the path node_fd() reopens. Follows renames through the mount and
	 * every new lookup. NULL for the root and virtual nodes.
	 */
	struct node *parent;
	char *name;
	dev_t dev;        /* table key: the underlying file's (dev, ino), or */
	ino_t ino;        /* (GGFS_VIRT_DEV, synthetic number) for virtual nodes */
	uint64_t nlookup; /* the kernel's lookup count, protected by fs->mu */
	unsigned pins;    /* references held by ggfs itself, protected by fs->mu */
	/*
	 * When the underlying file was last classified (protected by fs->mu):
	 * its stamp then and the clock before it was read. The result stands
	 * while the stamp does, under the rule of stamp.h.
	 */
	bool ph_checked;
	struct stamp ph_stamp;
	int64_t ph_checked_at;
	struct lazy lz;
	/*
	 * Open regular-file handles (backing.c), protected by fs->mu: in
	 * kernel passthrough mode, sharing backing_id (SOURCE's own file if
	 * backing_source, else the store object of value_open), and in
	 * cached mode. Each handle pins the node. The same handles again by
	 * what they read: SOURCE's file, or a forced value from the store.
	 * The kernel keeps one page cache and one size for the inode, even
	 * for uncached (direct_io) opens once mapped, so the two kinds are
	 * never open at once: each waits a little for the other to be
	 * released (node_open_source, reply_store_open); else the file's
	 * writes, short reads and mappings would show a reader of the value
	 * the file's size and bytes, or zeros, and the other way round. Nor
	 * are readers of two values (the placeholder changed while its old
	 * output is open): the new one waits for the old one's release.
	 */
	unsigned pt_opens, cached_opens;
	unsigned source_opens, value_opens;
	unsigned source_seq; /* bumped by every open of the file itself */
	int backing_id;
	bool backing_source;
	struct gg_name value_open; /* what the value_opens read */
	/*
	 * Handles of the file open for writing, by fd and the opener's uid
	 * (backing.c, protected by fs->mu): the kernel asks to clear a set-ID
	 * file's bits before such a handle's write without naming the handle,
	 * and the opener may still write through it once the file's mode no
	 * longer lets it (chmod_killing_privs). And the thread that opened it:
	 * in kernel passthrough mode the kernel writes with the daemon's
	 * credentials, which keep set-ID bits, so only that thread may give
	 * the file set-ID bits meanwhile (node_setid_chmod_begin;
	 * setid_chmods counts such chmods in flight).
	 */
	struct writer_handle {
		int fd;
		uid_t uid;
		pid_t opener;
	} * writers;
	size_t nwriters, awriters;
	unsigned setid_chmods;
	/* watch.c, protected by fs->mu: the inotify watch of a directory
	 * (0 none, -1 failed), its link in fs->watches, and whether the
	 * kernel was given the long timeout for this file. */
	int wd;
	void *wlink;
	bool long_ttl;
};

/* The device number used as the table key of virtual nodes. */
#define GGFS_VIRT_DEV ((dev_t)-1)

struct force_job;
struct waiting;
struct remote_cache;

struct ggfs {
	struct engine **engines; /* from $GG_ENGINE, or the local engine */
	size_t nengines;
	struct remote_cache *cache; /* from $GG_REMOTE_CACHE, or NULL */
	/* Configuration: written before the session starts, read-only afterwards. */
	char *source;         /* absolute path of SOURCE */
	char *mountpoint;     /* absolute path of MOUNTPOINT */
	char *store_opt;      /* -o store=DIR */
	char *log_opt;        /* -o log=FILE */
	char *trace_opt;      /* -o trace=FILE */
	int jobs;             /* -o jobs=N (0 = number of CPUs) */
	int materialize;      /* -o materialize / --materialize */
	int no_sandbox;       /* -o no_sandbox */
	int writeback;        /* -o writeback (or writeback_cache): refused, main exits */
	int splice;           /* -o splice */
	double timeout;       /* -o timeout=SEC: entry/attr timeout of SOURCE files */
	unsigned max_threads; /* -o max_threads=N */
	unsigned max_read;    /* -o max_read=N (the mount option and conn->max_read agree) */
	int backing;          /* -o passthrough (default) / no_passthrough */
	int others_force;     /* -o others_force: another user's open may force */
	int debug;            /* -d */
	bool singlethread;    /* -s */
	bool daemon;          /* logs go to syslog */
	struct fuse_conn_info_opts *conn_opts; /* -o max_background=N and the like */
	uid_t uid;                             /* owner shown for virtual nodes */
	gid_t gid;
	/* A shared store (gg init --shared): its group may read by-hash too,
	 * as it may read the store itself. */
	bool byhash_group;
	gid_t byhash_gid;
	uid_t store_uid; /* the store's owner */
	/* ident.c: creating and changing files as the caller (root daemons). */
	bool as_caller;
	bool told_others_read_only; /* logged that other users may not change files */
	gid_t *groups;              /* the daemon's own supplementary groups */
	size_t ngroups;
	bool dont_mask; /* the kernel leaves the umask to ggfs (FUSE_CAP_DONT_MASK) */

	struct store *store;
	struct sched *sched;
	struct fuse_session *se;
	/* Fired by SIGINT/SIGTERM/SIGHUP: running thunks are killed so that the
	 * daemon unmounts at once, even during a force that never ends. */
	struct gg_cancel cancel;

	pthread_mutex_t mu;
	pthread_cond_t mode_cv; /* with mu: an open handle was released */
	struct node root;       /* FUSE_ROOT_ID: SOURCE itself */
	struct node *ggdir;     /* permanent virtual directories */
	struct node *byhash;
	struct chaintab nodes; /* protected by mu: every node but the root, by (dev, ino) */
	struct chaintab names; /* protected by mu: nodes by (parent, name) */
	/*
	 * Open fds of nodes (not the root's), protected by mu: at most fd_cap
	 * besides those borrowed or kept, least recently used first out.
	 */
	struct node *lru_head, *lru_tail;
	size_t nfds, fd_cap;
	bool fd_cap_warned;

	/* Finished forces waiting for a done thread; protected by done_mu. */
	pthread_mutex_t done_mu;
	pthread_cond_t done_cv;
	struct force_job *done_head, *done_tail;
	bool done_stop;
	struct workers done_threads;

	/* Requests waiting for someone else (waiting.c); protected by
	 * waiting_mu. */
	pthread_mutex_t waiting_mu;
	pthread_cond_t waiting_cv;
	struct waiting *waiting_head, *waiting_tail;
	size_t waiting_len;  /* how many wait for a thread */
	size_t waiting_busy; /* threads answering one */
	bool waiting_stop;
	struct workers waiting_threads;

	/* Kernel passthrough (backing.c). */
	int devfd;       /* the session's /dev/fuse fd; -1 once unmounting */
	bool init_seen;  /* INIT was read (atomic): bk_offered, init_unique */
	bool bk_offered; /* the kernel offers FUSE_PASSTHROUGH */
	/* The kernel offers FUSE_DIRECT_IO_ALLOW_MMAP (Linux 6.6): a shared
	 * mmap of a direct_io open works; cleared if INIT's reply cannot
	 * carry it. */
	bool dio_mmap;
	/* The kernel offers FUSE_HANDLE_KILLPRIV_V2 (Linux 5.11): it leaves
	 * clearing set-ID bits to ggfs (ident.c), which spares a GETXATTR of
	 * security.capability before every write; cleared as dio_mmap. */
	bool killpriv;
	/* Every request is read through backing.c's io_read (its custom I/O
	 * is installed), which notes the kernel's flags (ident_note_kills). */
	bool sees_requests;
	uint64_t init_unique;
	bool init_replied;  /* only the thread answering INIT writes before it */
	bool bk_on;         /* passthrough in use; may turn off, under mu */
	bool bk_source_off; /* ... but not for SOURCE's files (overlayfs), under mu */
	/* Opens of forced outputs waiting for releases (backing.c), under mu. */
	struct parked_open *parked;
	pthread_t park_thread;
	bool park_started, park_stop;

	/* Watching SOURCE (watch.c); the flags and watches are protected by mu. */
	int watch_fd;   /* inotify, or -1: nothing is watched */
	int watch_wake; /* eventfd that stops the watch thread */
	pthread_t watch_thread;
	bool watch_running;
	bool watch_stop;         /* unmounting: send no more notifications */
	bool watch_lost;         /* events were lost: long timeouts no more */
	bool watch_warned;       /* a watch could not be added (logged once) */
	bool expire_only;        /* the kernel can expire an entry (FUSE_CAP_EXPIRE_ONLY) */
	struct chaintab watches; /* watch descriptor -> directory node */
};

/* ---- cmdline.c ---- */
/* Worker threads of the FUSE loop unless -o max_threads says otherwise. */
#define GGFS_DEFAULT_MAX_THREADS 64
/*
 * Reads ggfs's command line into fs (SOURCE and MOUNTPOINT made absolute)
 * and opts (libfuse's own: -f, -d, -s, ...), leaving in args what
 * fuse_session_new takes, with the mount options ggfs always wants first.
 * -1 to go on; else the exit status, having said why: 0 after --help or
 * --version, 2 for a usage error, 1 for an unusable SOURCE or MOUNTPOINT.
 */
int ggfs_cmdline(struct ggfs *fs, struct fuse_args *args, struct fuse_cmdline_opts *opts);

/* ---- log.c ---- */
/* Sends libfuse's messages through ggfs's log (before any thread starts). */
void log_init(void);
/*
 * Also appends every message, timestamped, to path (-1 and errno if not):
 * a regular file of one link, never reached through a symbolic link as its
 * last component (ELOOP), made 0600 and, by a root daemon, given to owner
 * ((uid_t)-1: kept).
 */
int log_open_file(const char *path, uid_t owner);
/* As a daemon: messages go to syslog instead of stderr. */
void log_to_syslog(void);
void log_close(void);
/* Logs one line (no trailing newline needed) at a syslog-like level. */
void ggfs_log(enum fuse_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
#define GGFS_DEBUG(fs, ...)                                                                        \
	do {                                                                                       \
		if ((fs)->debug)                                                                   \
			ggfs_log(FUSE_LOG_DEBUG, __VA_ARGS__);                                     \
	} while (0)

/* ---- state.c ---- */
/* A struct ggfs before a mount: its defaults, no fd open, its locks made. */
void ggfs_init(struct ggfs *fs);

/* ---- node.c ---- */
void nodes_init(struct ggfs *fs, int root_fd);
/* How many fds of nodes to keep open: from RLIMIT_NOFILE, after raising it. */
void nodes_set_fd_budget(struct ggfs *fs);
void nodes_free_all(struct ggfs *fs);
struct node *node_of(struct ggfs *fs, fuse_ino_t ino);
fuse_ino_t node_ino(struct ggfs *fs, const struct node *n);
/*
 * Finds or adds the node of an underlying file found as `name` in `dir`
 * (fd is its O_PATH fd, consumed; dir NULL for "." and "..": the path is not
 * recorded) and counts one kernel lookup. Never fails (allocation aborts).
 */
struct node *node_get_pass(struct ggfs *fs, struct node *dir, const char *name, int fd,
                           const struct stat *st);
/*
 * Borrows the O_PATH fd of a NODE_PASS node, reopening it by its path if it
 * was closed (checked to be the same file): the fd, or -errno (ESTALE when
 * the path no longer leads to it). Every success is paired with node_fd_put.
 */
int node_fd(struct ggfs *fs, struct node *n);
void node_fd_put(struct ggfs *fs, struct node *n);
/* The stat of n's own file (not a symlink's target): 0 or an errno. */
int node_fstat(struct ggfs *fs, struct node *n, struct stat *st);
/*
 * After a call failed with err: if err is EMFILE or ENFILE, closes fds of
 * nodes that nobody borrows and lowers the budget; true if the call is
 * worth retrying.
 */
bool nodes_shed(struct ggfs *fs, int err);
/* A rename through the mount moved the file (dev, ino) to newname in newdir. */
void node_moved(struct ggfs *fs, dev_t dev, ino_t ino, struct node *newdir, const char *newname);
/*
 * Before name in dir is removed or replaced (dirfd: dir's borrowed fd): if
 * that takes the last name of a file the kernel knows, or the name it is
 * reopened by, its fd is kept open until it is found by a name again (an
 * open, unlinked file still has attributes).
 */
void node_unlinking(struct ggfs *fs, struct node *dir, int dirfd, const char *name);
/* Finds or adds a by-hash node for ref (kind NODE_OBJECT or NODE_OUTPUT); counts a lookup. */
struct node *node_get_virtual(struct ggfs *fs, enum node_kind kind, const struct gg_ref *ref);
/* A permanent virtual directory (pinned, never freed before unmount). */
struct node *node_new_dir(struct ggfs *fs, enum node_kind kind, ino_t ino);
/* The node of an underlying file, if known (fs->mu held). */
struct node *node_find_locked(struct ggfs *fs, dev_t dev, ino_t ino);
/* The node last found as name in dir, if any (fs->mu held). */
struct node *node_find_name_locked(struct ggfs *fs, struct node *dir, const char *name);
/* Counts one more kernel lookup of a node already known. */
void node_ref_lookup(struct ggfs *fs, struct node *n);
void node_forget(struct ggfs *fs, struct node *n, uint64_t nlookup);
/* Internal references; the _locked variants expect fs->mu held. */
void node_pin_locked(struct node *n);
void node_unpin_locked(struct ggfs *fs, struct node *n);
void node_unpin(struct ggfs *fs, struct node *n);
/* "/proc/self/fd/N" of an fd (a node's, borrowed with node_fd). */
void fd_proc_path(int fd, char out[64]);
/*
 * The path of a node as the user sees it (MOUNTPOINT/...), for messages;
 * malloc'd, never NULL.
 */
char *node_display_path(struct ggfs *fs, const struct node *n);
/* A 64-bit FNV-1a hash with the top bit set: inode numbers of virtual nodes. */
ino_t virt_ino(const char *s);

/* ---- lazy.c ---- */
/*
 * Classifies a NODE_PASS node from a fresh stat of its file (reading the
 * first bytes of small regular files, cached by size/mtime/ctime). True for
 * placeholders and NODE_OUTPUT nodes. Never forces.
 */
bool lazy_classify(struct ggfs *fs, struct node *n, const struct stat *st);
/* lazy_classify of n's file as it is now (stat'ed into st); false for
 * other kinds of node and if the stat fails. */
bool lazy_classify_now(struct ggfs *fs, struct node *n, struct stat *st);
/* For a lazy node whose output is known (in this mount or in the memo):
 * the real size, and the exec bit from the memo. mtime and ino are kept. */
void lazy_adjust_attr(struct ggfs *fs, struct node *n, struct stat *st);
/*
 * A placeholder forced to a symbolic link: 1 and its target (malloc'd),
 * 0 if it is not one, -1 (error set) if the target cannot be read.
 */
int lazy_link_target(struct ggfs *fs, struct node *n, char **target);
/* True if the node's attributes may be cached for long (forced by-hash output). */
bool lazy_is_forced(struct ggfs *fs, struct node *n);
/*
 * Opens a lazy node for reading: forces it and replies, now or later from a
 * done thread. False (nothing replied) if the node is no longer lazy.
 * source_seq: n's before its file was read for this open (any for a node
 * without a file of its own): if the file was opened itself since, it is
 * read again before the output is let in (reply_store_open). may_force:
 * may the caller start a force (the policy for other users, ops.c)? If not,
 * only a reference forced already is served, else EACCES; decided under
 * the lock that starts the force, for the reference it would force.
 */
bool lazy_open(struct ggfs *fs, fuse_req_t req, struct node *n, struct fuse_file_info *fi,
               unsigned source_seq, bool may_force);
/*
 * user.gg.* of a lazy node. Returns 0 and a malloc'd value, or an errno
 * (ENODATA when the attribute does not exist).
 */
int lazy_getxattr(struct ggfs *fs, struct node *n, const char *name, char **value, size_t *len);
/* Starts and stops the done threads. */
int lazy_start(struct ggfs *fs);
void lazy_stop(struct ggfs *fs);
/* Frees the lazy state of a node being freed (fs->mu held). */
void lazy_free(struct lazy *lz);

/* A read-only open of a store object: fh carries this bit (see ops.c). */
#define GGFS_FH_STORE (UINT64_C(1) << 32)
/* ... opened in kernel passthrough mode (backing.c). */
#define GGFS_FH_BACKING (UINT64_C(1) << 33)

/* ---- byhash.c ---- */
/*
 * Looks up a name in a virtual directory (or ".gg" in the root); counts a
 * lookup. 0 and *e filled, or an errno.
 */
int virt_lookup(struct ggfs *fs, struct node *parent, const char *name, struct fuse_entry_param *e);
/* readdir(plus) of a virtual directory. */
void virt_readdir(struct ggfs *fs, fuse_req_t req, struct node *dir, size_t size, off_t off,
                  bool plus);
/* Attributes of a virtual node. */
void virt_attr(struct ggfs *fs, struct node *n, struct stat *st);
/* Timeout for a node's attributes and entry (st: its file's, for NODE_PASS). */
double node_timeout(struct ggfs *fs, struct node *n, const struct stat *st);

/* ---- backing.c ---- */
/* After fuse_session_mount: routes the session's I/O through backing.c. */
void backing_setup(struct ggfs *fs);
/* From the init handler: is passthrough possible and wanted? */
void backing_init(struct ggfs *fs, struct fuse_conn_info *conn);
/* Before fuse_session_unmount: no more ioctls on the session's fd, no
 * parked opens. */
void backing_stop(struct ggfs *fs);
/*
 * Replies to a read-only open of n with fd, a store object holding value: in
 * kernel passthrough mode when possible, else cached (keep_cache), or
 * uncached (direct_io) while the kernel's cache may hold the file's bytes.
 * Counts the handle; gg_release calls node_release. An open that must wait
 * for opens of n's own file (or of another value) to be released is handed
 * to the parking thread, so that the caller's thread does not wait; it is
 * answered EBUSY after a little while, EINTR if interrupted. So is an
 * open of a file opened itself since value was read from it (source_seq:
 * n's then; any for a node without a file of its own). Before a parked open of a file
 * is let in, the file is read again: if it no longer names value (rewritten
 * through the mount or in SOURCE), the open gets the file as it is now, an
 * ordinary file opened as such, else ESTALE (the kernel opens it again),
 * also if the file cannot be read.
 */
void reply_store_open(struct ggfs *fs, fuse_req_t req, struct fuse_file_info *fi, struct node *n,
                      const struct gg_name *value, int fd, unsigned source_seq);
/* The parking thread of reply_store_open: started after the fork, before
 * the done threads; backing_stop answers what is still parked (EBUSY) and
 * stops it. */
int backing_park_start(struct ggfs *fs);
/* May an open with these flags change the file: for writing, or truncating? */
static inline bool open_changes_file(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
}
/*
 * Counts an open (fi->flags) of n's own file in SOURCE, before open(2)
 * (which may truncate it), after waiting a little for handles of a forced
 * output to be released: 0, or ETXTBSY (a writer; EBUSY a reader) while a
 * reader has the forced output open. Where the kernel may hold the output's
 * size it gets fi->direct_io. *pt: the open joins SOURCE's file already
 * open in passthrough mode (the kernel wants every open of such an inode in
 * that mode). Each counted open is followed by reply_source_open or
 * node_release.
 */
int node_open_source(struct ggfs *fs, struct node *n, struct fuse_file_info *fi, bool *pt);
/*
 * Opens n's own file in SOURCE for req (an open or a reader whose
 * placeholder stopped being one while it waited) and replies.
 */
void open_source_file(struct ggfs *fs, fuse_req_t req, struct node *n, struct fuse_file_info *fi);
/*
 * Replies to that open with fd, SOURCE's file, in passthrough mode if it
 * joined it or if it may start it (a writer whose writes the kernel may do
 * with the daemon's credentials, and no other handle open), else cached. e:
 * the entry of a create, or NULL for an open.
 */
void reply_source_open(struct ggfs *fs, fuse_req_t req, struct fuse_file_info *fi,
                       const struct fuse_entry_param *e, struct node *n, int fd, bool pt);
/*
 * A handle of n was released: passthrough or not, of a value or the file;
 * fd: its fd, not yet closed, or -1.
 */
void node_release(struct ggfs *fs, struct node *n, bool passthrough, bool value, int fd);
/* fs->mu held: is a forced value other than value open (n's old output)? */
bool other_value_open_locked(const struct node *n, const struct gg_name *value);
/* Does uid hold a handle of n's file open for writing? */
bool node_has_writer(struct ggfs *fs, struct node *n, uid_t uid);
/*
 * Around a chmod of n's file to mode: if mode has set-ID bits, EBUSY while
 * another thread than the caller has the file open for writing in
 * passthrough mode (install's own handle is the caller's): the kernel
 * writes there with the daemon's credentials, which keep them, whoever
 * writes through the handle. Else 0, and if mode has set-ID bits
 * node_setid_chmod_end follows the chmod (meanwhile writers without
 * CAP_FSETID do not join: reply_source_open).
 */
int node_setid_chmod_begin(struct ggfs *fs, fuse_req_t req, struct node *n, mode_t mode);
void node_setid_chmod_end(struct ggfs *fs, struct node *n);

/* ---- unmount_guard.c ---- */
/* A process's open descriptors, from /proc/self/fd. */
struct fd_list {
	int *fd;
	size_t n;
};
/* 0, or -1 with the error set (*l is then empty). */
int fd_list_read(struct fd_list *l);
void fd_list_free(struct fd_list *l);
/*
 * After fuse_session_mount (before was read just before it): libfuse's
 * socket to the fusermount3 that stays for auto_unmount, made close-on-exec.
 * It is the one new descriptor that is a socket pair whose other end is
 * still open; none or several: -1 with the error set.
 */
int unmount_guard_find(const struct fd_list *before);
/*
 * After the daemon's fork, before any thread starts: forks the guard, which
 * keeps a copy of sock and exits once this process is gone and the FUSE
 * connection with it (or 60 s later), so that fusermount3, seeing the
 * socket close, finds a dead mount and unmounts it. 0, or -1 with the
 * error set (no guard).
 */
int unmount_guard_start(int sock, const char *mountpoint);

/* ---- watch.c ---- */
/* After daemonizing: watch SOURCE if changes there can be seen. */
void watch_start(struct ggfs *fs);
/* Before unmounting: no more notifications. */
void watch_quiesce(struct ggfs *fs);
/* After unmounting: stop the watch thread. */
void watch_stop(struct ggfs *fs);
/* Watch a directory node (fd: its O_PATH fd), or stop (fs->mu held). */
void watch_dir_locked(struct ggfs *fs, struct node *n, int fd);
void unwatch_dir_locked(struct ggfs *fs, struct node *n);
/*
 * Entry and attribute timeout of a file of SOURCE (st: its fresh stat)
 * looked up in dir (NULL: for getattr): GGFS_WATCHED_TIMEOUT for a file
 * whose every change its directory's watch reports (one link, not a
 * directory, not an unforced placeholder), else -o timeout.
 */
double pass_timeout(struct ggfs *fs, struct node *dir, struct node *n, const struct stat *st);
/*
 * Does the kernel hold an entry for name in dir, found by ino, with the long
 * timeout? readdirplus then leaves it be (its cached ACLs stay too).
 */
bool watch_entry_cached(struct ggfs *fs, struct node *dir, const char *name, ino_t ino);

/* ---- ident.c ---- */
/* At start: may the daemon take callers' identities (it runs as root)? */
void ident_init(struct ggfs *fs);
void ident_free(struct ggfs *fs);
/*
 * Takes the caller's fsuid, fsgid and supplementary groups on this thread,
 * for a call that creates or changes a file: 0 (ident_leave must follow),
 * or an errno (nothing to undo). A daemon that is not root changes files
 * as itself: for the mount's owner and root (0, nothing to undo); another
 * user is refused (EACCES).
 */
int ident_enter(struct ggfs *fs, fuse_req_t req);
/* ident_enter's refusal alone, for a call to make before it does anything
 * else: 0, or EACCES for another user of a daemon that is not root. */
int ident_may_change(struct ggfs *fs, fuse_req_t req);
void ident_leave(struct ggfs *fs);
/*
 * Notes whether the request this thread just read comes from a caller
 * without CAP_FSETID (backing.c's io_read): ident_enter then drops
 * CAP_FSETID too (a caller other than root has none as it is), so a write,
 * truncation or O_TRUNC open clears set-ID bits as for the caller.
 */
void ident_note_kills(bool kills);
/* What ident_note_kills last noted on this thread (for a request answered
 * on another thread: waiting.c). */
bool ident_noted_kills(void);
/*
 * Around a call that changes a file's data with a handle the daemon holds:
 * if the file has set-ID bits and the caller has no CAP_FSETID, takes the
 * caller's identity without CAP_FSETID, so SOURCE's filesystem clears the
 * bits exactly as for the caller (set-group-ID by its groups too). flagged:
 * the kernel says which callers have none (a WRITE); else (fallocate,
 * copy_file_range) the caller's process is asked. 1: ident_data_end must
 * leave; 0: nothing taken; a negative errno: the call must fail.
 */
int ident_data_begin(struct ggfs *fs, fuse_req_t req, int fd, bool flagged);
/* Does the caller hold CAP_FSETID (its process asked; false if unknown)? */
bool ident_caller_has_fsetid(fuse_req_t req);
void ident_data_end(struct ggfs *fs, int entered);
/* Is the caller another user than the mount's owner (and not root)? */
bool ident_is_other(struct ggfs *fs, fuse_req_t req);

/* ---- waiting.c ---- */
/* A request's handler that may wait long for someone else (a lease); it
 * answers req and frees arg. interrupted: the caller gave up (FUSE_INTERRUPT)
 * while the request waited its turn: answer EINTR, undo what it holds. */
typedef void waiting_fn(struct ggfs *fs, fuse_req_t req, void *arg, bool interrupted);
/* Runs fn(fs, req, arg) on a thread of its own (started when needed); here,
 * if no thread can start. */
void waiting_run(struct ggfs *fs, waiting_fn *fn, fuse_req_t req, void *arg);
/* Answers what waits, then stops the threads (at unmount). */
void waiting_stop(struct ggfs *fs);

/* ---- ops.c ---- */
extern const struct fuse_lowlevel_ops ggfs_ops;

/* ---- storefind.c ---- */
/*
 * The store for SOURCE: -o store=DIR if given (DIR or DIR/.gg), else
 * $GG_DIR, else the nearest ".gg" directory at or above SOURCE.
 * Returns 0 or -1 with gg_last_error() set.
 */
int ggfs_open_store(const char *source, const char *store_opt, struct store **out);

#endif
