/**
 * @file backing.c
 * Kernel passthrough of forced outputs and of writers (Linux 6.9+,
 * FUSE_PASSTHROUGH): an open of a forced output names the store object as the "backing file" of
 * the FUSE file, and the kernel then reads and mmaps it directly, from the
 * store object's own page cache, without a request to ggfs. The FUSE page
 * cache is never filled, so an output is cached once instead of twice, and
 * warm reads run at the speed of the store's filesystem (whose large folios
 * FUSE's page cache lacks, so cached FUSE reads reach only about half of it).
 * Writers of ordinary files get the same (the backing file is SOURCE's own
 * file): their writes and mmaps go to it without a request to ggfs, about
 * 4x faster for large sequential writes. Every open made while such a writer
 * has the file open joins it; others stay cached (may_start_passthrough).
 *
 * libfuse 3.14 predates passthrough, so this module speaks the two missing
 * pieces of the protocol itself, through libfuse's custom I/O hooks: it
 * sees the kernel's INIT request (does the kernel offer FUSE_PASSTHROUGH?),
 * adds FUSE_PASSTHROUGH and max_stack_depth to libfuse's INIT reply (and
 * FUSE_DIRECT_IO_ALLOW_MMAP, with or without passthrough), and
 * writes open replies that carry a backing id. Backing ids come from the
 * FUSE_DEV_IOC_BACKING_OPEN ioctl, which needs CAP_SYS_ADMIN: without it, or
 * with the writeback cache, or on an older kernel, everything stays as
 * before (the FUSE page cache, keep_cache).
 *
 * The kernel's rules, which the open counts below follow: all passthrough
 * opens of an inode share one backing file, and an inode is never open in
 * passthrough and in cached mode at once (the open that would mix them
 * fails with EIO). The kernel forgets an inode's backing file when its last
 * passthrough file is closed, before RELEASE reaches ggfs, so ggfs's counts
 * are never below the kernel's: a count of 0 here means 0 in the kernel.
 */
#include "fs/ggfs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/fuse.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* From the kernel's include/uapi/linux/fuse.h (7.40), newer than the
 * system's headers may be. */
#define GG_FUSE_PASSTHROUGH  (UINT64_C(1) << 37)
#define GG_FUSE_DIO_MMAP     (UINT64_C(1) << 36) /* FUSE_DIRECT_IO_ALLOW_MMAP */
#define GG_FOPEN_PASSTHROUGH (1u << 7)
struct gg_fuse_backing_map {
	int32_t fd;
	uint32_t flags;
	uint64_t padding;
};
#define GG_FUSE_DEV_IOC_BACKING_OPEN  _IOW(229, 1, struct gg_fuse_backing_map)
#define GG_FUSE_DEV_IOC_BACKING_CLOSE _IOW(229, 2, uint32_t)
struct gg_fuse_open_out {
	uint64_t fh;
	uint32_t open_flags;
	int32_t backing_id;
};
/* fuse_init_out as of 7.40: flags2 at 32, max_stack_depth at 36. */
#define INIT_OUT_FLAGS           12
#define INIT_OUT_FLAGS2          32
#define INIT_OUT_MAX_STACK_DEPTH 36
#define INIT_OUT_SIZE            64
/*
 * The backing file's filesystem must be below this depth: 1 allows stores
 * on ordinary filesystems (not on overlayfs), and still lets ggfs itself be
 * a lower layer of an overlay.
 */
#define GGFS_MAX_STACK_DEPTH 1

/* How long an open waits for RELEASEs of the other mode to arrive. */
#define GGFS_MODE_WAIT_NS (UINT64_C(2) * 1000000000)

_Static_assert(sizeof(struct gg_fuse_open_out) == sizeof(struct fuse_open_out),
               "fuse_open_out layout");

/* ---- the custom I/O: plain syscalls, watching INIT go by ---- */

/*
 * Does this request come from a caller without CAP_FSETID, whose write,
 * truncation or O_TRUNC open clears set-ID bits? The kernel says so in
 * flags libfuse 3.14 drops (FUSE_WRITE_KILL_SUIDGID of a direct write
 * always; the others with FUSE_HANDLE_KILLPRIV_V2).
 */
static bool request_kills(const void *buf, size_t len)
{
	const struct fuse_in_header *h = buf;
	const unsigned char *in = (const unsigned char *)buf + sizeof *h;
	len -= sizeof *h;
	switch (h->opcode) {
	case FUSE_WRITE: {
		struct fuse_write_in w;
		return len >= sizeof w &&
		       (memcpy(&w, in, sizeof w), w.write_flags & FUSE_WRITE_KILL_SUIDGID);
	}
	case FUSE_SETATTR: {
		struct fuse_setattr_in a;
		/* Not a chown's: the kernel flags every chown, whoever asks. */
		return len >= sizeof a &&
		       (memcpy(&a, in, sizeof a), (a.valid & (FATTR_KILL_SUIDGID | FATTR_SIZE)) ==
		                                      (FATTR_KILL_SUIDGID | FATTR_SIZE));
	}
	case FUSE_OPEN: {
		struct fuse_open_in o;
		return len >= sizeof o &&
		       (memcpy(&o, in, sizeof o), o.open_flags & FUSE_OPEN_KILL_SUIDGID);
	}
	case FUSE_CREATE: {
		struct fuse_create_in c;
		return len >= sizeof c &&
		       (memcpy(&c, in, sizeof c), c.open_flags & FUSE_OPEN_KILL_SUIDGID);
	}
	default: return false;
	}
}

/* Every request comes through here (gg_init turns splice reading off): the
 * thread that reads one also handles it. */
static ssize_t io_read(int fd, void *buf, size_t len, void *userdata)
{
	struct ggfs *fs = userdata;
	ssize_t r = read(fd, buf, len);
	ident_note_kills(r >= (ssize_t)sizeof(struct fuse_in_header) &&
	                 request_kills(buf, (size_t)r));
	if (r >= (ssize_t)(sizeof(struct fuse_in_header) + sizeof(struct fuse_init_in)) &&
	    !__atomic_load_n(&fs->init_seen, __ATOMIC_ACQUIRE)) {
		const struct fuse_in_header *h = buf;
		if (h->opcode == FUSE_INIT) {
			const struct fuse_init_in *in = (const void *)(h + 1);
			uint64_t flags = in->flags;
			if (in->major == 7 && (flags & FUSE_INIT_EXT))
				flags |= (uint64_t)in->flags2 << 32;
			fs->bk_offered = in->major == 7 && (flags & GG_FUSE_PASSTHROUGH);
			fs->dio_mmap = in->major == 7 && (flags & GG_FUSE_DIO_MMAP);
			fs->killpriv = in->major == 7 && (flags & FUSE_HANDLE_KILLPRIV_V2);
			fs->init_unique = h->unique;
			__atomic_store_n(&fs->init_seen, true, __ATOMIC_RELEASE);
		}
	}
	return r;
}

/*
 * libfuse's INIT reply, with what libfuse 3.14 cannot ask for added:
 * passthrough if gg_init chose it, shared mmaps of direct_io opens if the
 * kernel offers them.
 */
static ssize_t write_init_reply(struct ggfs *fs, int fd, const struct iovec *iov, int count)
{
	unsigned char msg[sizeof(struct fuse_out_header) + 256];
	size_t len = 0;
	for (int i = 0; i < count; i++) {
		if (iov[i].iov_len > sizeof msg - len) {
			fs->bk_on = false;
			fs->dio_mmap = false;
			fs->killpriv = false;
			return writev(fd, iov, count);
		}
		memcpy(msg + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	struct fuse_out_header *h = (void *)msg;
	unsigned char *out = msg + sizeof *h;
	if (h->error == 0 && len >= sizeof *h + INIT_OUT_SIZE && h->len == len) {
		uint32_t flags, flags2, depth = GGFS_MAX_STACK_DEPTH;
		memcpy(&flags, out + INIT_OUT_FLAGS, 4);
		memcpy(&flags2, out + INIT_OUT_FLAGS2, 4);
		flags |= FUSE_INIT_EXT;
		if (fs->bk_on) {
			flags2 |= (uint32_t)(GG_FUSE_PASSTHROUGH >> 32);
			memcpy(out + INIT_OUT_MAX_STACK_DEPTH, &depth, 4);
		}
		if (fs->dio_mmap)
			flags2 |= (uint32_t)(GG_FUSE_DIO_MMAP >> 32);
		if (fs->killpriv)
			flags |= FUSE_HANDLE_KILLPRIV_V2;
		memcpy(out + INIT_OUT_FLAGS, &flags, 4);
		memcpy(out + INIT_OUT_FLAGS2, &flags2, 4);
	} else {
		fs->bk_on = false;
		fs->dio_mmap = false;
		fs->killpriv = false;
	}
	return write(fd, msg, len);
}

static ssize_t io_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	struct ggfs *fs = userdata;
	if (!__atomic_load_n(&fs->init_replied, __ATOMIC_RELAXED) && count >= 1 &&
	    iov[0].iov_len >= sizeof(struct fuse_out_header) &&
	    __atomic_load_n(&fs->init_seen, __ATOMIC_ACQUIRE)) {
		const struct fuse_out_header *h = iov[0].iov_base;
		if (h->unique == fs->init_unique) {
			/* INIT is answered before any other request is sent. */
			__atomic_store_n(&fs->init_replied, true, __ATOMIC_RELAXED);
			ssize_t r = fs->bk_on || fs->dio_mmap || fs->killpriv
			                ? write_init_reply(fs, fd, iov, count)
			                : writev(fd, iov, count);
			/* Said once the reply is out: write_init_reply may turn it off. */
			ggfs_log(FUSE_LOG_INFO, "shared mmaps of uncached opens %s",
			         fs->dio_mmap
			             ? "on"
			             : "off: not offered (Linux 6.6 or later) or not agreed");
			ggfs_log(FUSE_LOG_INFO, "set-ID bits cleared by ggfs %s",
			         fs->killpriv ? "(FUSE_HANDLE_KILLPRIV_V2)"
			                      : "and the kernel (no FUSE_HANDLE_KILLPRIV_V2: Linux "
			                        "5.11 or later)");
			return r;
		}
	}
	return writev(fd, iov, count);
}

static ssize_t io_splice_receive(int fdin, off_t *offin, int fdout, off_t *offout, size_t len,
                                 unsigned int flags, void *userdata)
{
	return splice(fdin, offin, fdout, offout, len, flags);
}

static ssize_t io_splice_send(int fdin, off_t *offin, int fdout, off_t *offout, size_t len,
                              unsigned int flags, void *userdata)
{
	return splice(fdin, offin, fdout, offout, len, flags);
}

void backing_setup(struct ggfs *fs)
{
	fs->devfd = fuse_session_fd(fs->se);
	/* Installed with or without passthrough: INIT's reply is rewritten
	 * for FUSE_DIRECT_IO_ALLOW_MMAP too. */
	static const struct fuse_custom_io io = {
	    .read = io_read,
	    .writev = io_writev,
	    .splice_receive = io_splice_receive,
	    .splice_send = io_splice_send,
	};
	/* After fuse_session_mount: the same /dev/fuse fd, read through io. */
	int r = fuse_session_custom_io(fs->se, &io, fs->devfd);
	fs->sees_requests = r == 0;
	if (r < 0) {
		ggfs_log(FUSE_LOG_WARNING,
		         "no kernel passthrough, no shared mmaps of uncached opens: %s",
		         strerror(-r));
		fs->backing = 0;
	}
}

static bool have_sys_admin(void)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	memset(d, 0, sizeof d);
	if (syscall(SYS_capget, &h, d) < 0)
		return false;
	return (d[CAP_SYS_ADMIN / 32].effective >> (CAP_SYS_ADMIN % 32)) & 1;
}

void backing_init(struct ggfs *fs, struct fuse_conn_info *conn)
{
	const char *why = NULL;
	if (!fs->backing)
		why = "-o no_passthrough";
	else if (!fs->bk_offered)
		why = "the kernel does not offer it (Linux 6.9 or later)";
	else if (conn->want & FUSE_CAP_WRITEBACK_CACHE)
		why = "the writeback cache excludes it";
	else if (!have_sys_admin())
		why = "it needs CAP_SYS_ADMIN";
	fs->bk_on = why == NULL;
	/* Said once per mount: benchmarks and users need to know which. */
	if (why)
		ggfs_log(FUSE_LOG_INFO,
		         "kernel passthrough (forced outputs, writers of files) off: %s", why);
	else
		ggfs_log(FUSE_LOG_INFO, "kernel passthrough (forced outputs, writers of files) on");
}

static void backing_park_stop(struct ggfs *fs);

void backing_stop(struct ggfs *fs)
{
	backing_park_stop(fs);
	pthread_mutex_lock(&fs->mu);
	fs->devfd = -1;
	fs->bk_on = false;
	pthread_mutex_unlock(&fs->mu);
}

/* fs->mu held. */
static void backing_drop_locked(struct ggfs *fs, struct node *n)
{
	if (n->backing_id > 0 && fs->devfd >= 0) {
		uint32_t id = (uint32_t)n->backing_id;
		if (ioctl(fs->devfd, GG_FUSE_DEV_IOC_BACKING_CLOSE, &id) < 0)
			GGFS_DEBUG(fs, "closing backing id %d: %s", n->backing_id, strerror(errno));
	}
	n->backing_id = 0;
	n->backing_source = false;
}

/* The end of a bounded wait for releases, from now. */
static struct timespec mode_wait_end(void)
{
	struct timespec end;
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += GGFS_MODE_WAIT_NS / 1000000000;
	return end;
}

/* fs->mu held: waits (bounded) until no reader of a forced output has n
 * open; false if one still has (at once with -s: no release can come). */
static bool wait_no_value_opens_locked(struct ggfs *fs, struct node *n)
{
	struct timespec end = mode_wait_end();
	while (n->value_opens > 0)
		if (fs->singlethread ||
		    pthread_cond_timedwait(&fs->mode_cv, &fs->mu, &end) == ETIMEDOUT)
			return n->value_opens == 0;
	return true;
}

int node_open_source(struct ggfs *fs, struct node *n, struct fuse_file_info *fi, bool *pt)
{
	int err = 0;
	pthread_mutex_lock(&fs->mu);
	/* Never beside an open of the forced output (see struct node), which
	 * may also be a passthrough one still releasing. */
	if (!wait_no_value_opens_locked(fs, n)) {
		/* a reader has the forced output open */
		err = open_changes_file(fi->flags) ? ETXTBSY : EBUSY;
	} else {
		*pt = n->pt_opens > 0;
		if (*pt)
			n->pt_opens++;
		else
			n->cached_opens++;
		/* Uncached where the kernel may hold the value's size (struct
		 * lazy, was_ref). */
		if (!*pt && n->lz.was_ref)
			fi->direct_io = 1;
		n->source_opens++;
		n->source_seq++;
		/* The kernel's cache may now hold the file's bytes or size:
		 * the next open of a forced value drops it first (lazy.c). */
		n->lz.kernel_synced = false;
		node_pin_locked(n);
	}
	pthread_mutex_unlock(&fs->mu);
	return err;
}

void node_release(struct ggfs *fs, struct node *n, bool passthrough, bool value, int fd)
{
	pthread_mutex_lock(&fs->mu);
	for (size_t i = 0; fd >= 0 && i < n->nwriters; i++)
		if (n->writers[i].fd == fd) {
			n->writers[i] = n->writers[--n->nwriters];
			break;
		}
	if (passthrough) {
		if (--n->pt_opens == 0)
			backing_drop_locked(fs, n);
	} else {
		n->cached_opens--;
	}
	if (value)
		n->value_opens--;
	else
		n->source_opens--;
	pthread_cond_broadcast(&fs->mode_cv);
	node_unpin_locked(fs, n);
	pthread_mutex_unlock(&fs->mu);
}

bool node_has_writer(struct ggfs *fs, struct node *n, uid_t uid)
{
	bool found = false;
	pthread_mutex_lock(&fs->mu);
	for (size_t i = 0; i < n->nwriters && !found; i++)
		found = n->writers[i].uid == uid;
	pthread_mutex_unlock(&fs->mu);
	return found;
}

/*
 * fs->mu held: a new backing id for the file open as fd, or 0. A refusal
 * that will last turns passthrough off for good: for store objects, or
 * (source) only for SOURCE's files, which may be on another filesystem
 * (overlayfs) than the store.
 */
static int backing_open_locked(struct ggfs *fs, int fd, bool source)
{
	struct gg_fuse_backing_map map = {.fd = fd};
	int id = ioctl(fs->devfd, GG_FUSE_DEV_IOC_BACKING_OPEN, &map);
	if (id > 0)
		return id;
	int err = errno;
	GGFS_DEBUG(fs, "backing open: %s", strerror(err));
	/* EPERM: no CAP_SYS_ADMIN after all; ELOOP: the file is on a stacked
	 * filesystem (overlayfs). Either way, for good. */
	if (err == EPERM || err == ELOOP || err == EINVAL || err == ENOTTY) {
		if (source)
			fs->bk_source_off = true;
		else
			fs->bk_on = false;
		ggfs_log(FUSE_LOG_INFO, "kernel passthrough off%s: %s",
		         source ? " for writers of SOURCE's files" : "", strerror(err));
	}
	return 0;
}

bool other_value_open_locked(const struct node *n, const struct gg_name *value)
{
	return n->value_opens > 0 && !gg_name_eq(&n->value_open, value);
}

/*
 * fs->mu held: may a reader of value open it now? Not beside an open of the
 * file itself (see struct node), nor beside a reader of another value (the
 * placeholder changed while its old output is open: the kernel's one cache
 * would show one of them the other's bytes).
 */
static bool value_open_fits(const struct node *n, const struct gg_name *value)
{
	return n->source_opens == 0 && !other_value_open_locked(n, value);
}

/*
 * fs->mu held, value's object open as fd: if a reader of value fits now, the
 * backing id its readers share (the kernel wants every open of an inode in
 * one mode: even if passthrough was turned off since), or a new one if none
 * is open; 0 to answer in cached mode (passthrough off, or readers of value
 * open cached); -EBUSY if it does not fit (waiting is the parking thread's).
 */
static int value_backing_locked(struct ggfs *fs, struct node *n, const struct gg_name *value,
                                int fd)
{
	if (!value_open_fits(n, value))
		return -EBUSY;
	/* Every open now is a reader of value. */
	if (n->pt_opens > 0)
		return n->backing_id;
	if (!fs->bk_on || n->cached_opens > 0)
		return 0;
	backing_drop_locked(fs, n);
	int id = backing_open_locked(fs, fd, false);
	if (id > 0)
		n->backing_id = id;
	return id > 0 ? id : 0;
}

static uint64_t timeout_sec(double t)
{
	return t <= 0 ? 0 : t >= 1e18 ? UINT64_C(1000000000000000000) : (uint64_t)t;
}

static uint32_t timeout_nsec(double t)
{
	double f = t - (double)timeout_sec(t);
	return f <= 0 ? 0 : f >= 0.999999999 ? 999999999u : (uint32_t)(f * 1e9);
}

/*
 * What fuse_reply_open (e NULL) or fuse_reply_create would send, plus the
 * backing id, which libfuse 3.14 cannot send. Not keep_cache: the FUSE page
 * cache is not used at all.
 */
static int reply_passthrough(fuse_req_t req, const struct fuse_entry_param *e, uint64_t fh,
                             uint32_t open_flags, int id)
{
	struct gg_fuse_open_out o = {
	    .fh = fh | GGFS_FH_BACKING,
	    .open_flags = GG_FOPEN_PASSTHROUGH | open_flags,
	    .backing_id = id,
	};
	struct fuse_entry_out eo;
	struct iovec iov[2] = {{&eo, sizeof eo}, {&o, sizeof o}};
	if (!e)
		return fuse_reply_iov(req, iov + 1, 1);
	memset(&eo, 0, sizeof eo);
	eo.nodeid = e->ino;
	eo.generation = e->generation;
	eo.entry_valid = timeout_sec(e->entry_timeout);
	eo.entry_valid_nsec = timeout_nsec(e->entry_timeout);
	eo.attr_valid = timeout_sec(e->attr_timeout);
	eo.attr_valid_nsec = timeout_nsec(e->attr_timeout);
	const struct stat *st = &e->attr;
	eo.attr = (struct fuse_attr){
	    .ino = st->st_ino,
	    .size = (uint64_t)st->st_size,
	    .blocks = (uint64_t)st->st_blocks,
	    .atime = (uint64_t)st->st_atim.tv_sec,
	    .mtime = (uint64_t)st->st_mtim.tv_sec,
	    .ctime = (uint64_t)st->st_ctim.tv_sec,
	    .atimensec = (uint32_t)st->st_atim.tv_nsec,
	    .mtimensec = (uint32_t)st->st_mtim.tv_nsec,
	    .ctimensec = (uint32_t)st->st_ctim.tv_nsec,
	    .mode = st->st_mode,
	    .nlink = (uint32_t)st->st_nlink,
	    .uid = st->st_uid,
	    .gid = st->st_gid,
	    .rdev = (uint32_t)st->st_rdev,
	    .blksize = (uint32_t)st->st_blksize,
	};
	return fuse_reply_iov(req, iov, 2);
}

/* fs->mu held, a reader of value admitted (value_backing_locked gave id >= 0):
 * counts its handle; should it be uncached? */
static bool count_value_open_locked(struct ggfs *fs, struct node *n, const struct gg_name *value,
                                    int id)
{
	/* Uncached while the kernel may still cache the file's bytes or size
	 * (an open of the file itself came during the last invalidation). */
	bool direct = id == 0 && n->kind == NODE_PASS &&
	              !(n->lz.kernel_synced && gg_name_eq(&n->lz.kernel_value, value));
	if (id > 0)
		n->pt_opens++;
	else
		n->cached_opens++;
	n->value_opens++;
	n->value_open = *value;
	node_pin_locked(n);
	return direct;
}

/* Answers an admitted open (id: its backing id, 0 cached, <0 the errno). */
static void reply_admitted(struct ggfs *fs, fuse_req_t req, struct fuse_file_info *fi,
                           struct node *n, int fd, int id, bool direct)
{
	if (id < 0) {
		close(fd);
		fuse_reply_err(req, -id);
		return;
	}
	int r;
	if (id > 0) {
		r = reply_passthrough(req, NULL, (uint64_t)(unsigned)fd | GGFS_FH_STORE,
		                      FOPEN_NOFLUSH, id);
	} else {
		/* The bytes of an object never change: keep the page cache
		 * across opens. No direct_io, so mmap and execve work, unless
		 * that cache may hold the file's bytes (a private mmap works). */
		fi->fh = (uint64_t)(unsigned)fd | GGFS_FH_STORE;
		fi->keep_cache = !direct;
		fi->direct_io = direct;
		fi->noflush = 1;
		r = fuse_reply_open(req, fi);
	}
	/* -ENOENT: the open was interrupted meanwhile; no release will come. */
	if (r == -ENOENT) {
		close(fd);
		node_release(fs, n, id > 0, true, -1);
	}
}

/*
 * An open of a forced output that must wait for releases, parked on
 * fs->parked, where park_main answers it once it fits or its wait ends: the
 * thread that asked (a done thread, which finishes every force, or a FUSE
 * thread) goes on with other work meanwhile. Only park_main answers and
 * frees one; an interrupt only marks it (a reply from the interrupt callback
 * could free the request inside libfuse's fuse_req_interrupt_func, which
 * then unlocks the freed request's mutex).
 */
struct parked_open {
	struct parked_open *next; /* in fs->parked, protected by fs->mu */
	struct ggfs *fs;
	fuse_req_t req;
	struct fuse_file_info fi;
	struct node *n; /* pinned while parked */
	struct gg_name value;
	int fd;
	struct timespec end;
	/* The file was read again (park_recheck_locked) and still named value
	 * then, with source_seq the node's: unless it was opened itself since,
	 * p may be let in. Until then it may have been rewritten meanwhile,
	 * through the mount or in SOURCE behind it. */
	bool checked;
	unsigned source_seq;
	bool interrupted; /* protected by fs->mu */
	bool decided;     /* id is the answer (park_recheck_locked) */
	bool as_file;     /* decided: the answer is the file itself */
	int id;           /* once answered: as value_backing_locked */
	bool direct;
};

/* The reader was interrupted (Ctrl-C, or killed) while parked: EINTR. */
static void park_interrupt(fuse_req_t req, void *data)
{
	struct parked_open *p = data;
	struct ggfs *fs = p->fs;
	pthread_mutex_lock(&fs->mu);
	p->interrupted = true;
	pthread_cond_broadcast(&fs->mode_cv);
	pthread_mutex_unlock(&fs->mu);
}

static bool ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* fs->mu held: may the file have changed since p's file was last read? */
static bool parked_file_changed_locked(struct parked_open *p)
{
	return p->n->kind == NODE_PASS && (!p->checked || p->source_seq != p->n->source_seq);
}

/*
 * fs->mu held; p, taken off fs->parked, fits but its file may have changed
 * while it waited: reads the file again without the lock, like finish()
 * does when a force ends, and parks p again, to be let in if the file
 * still names p's value. Else p is answered with the file as it is now: an
 * ordinary file is opened as such (as_file, unless readers of the output
 * still have it open: that open would wait for them on this thread); a
 * placeholder of something else, or a file that cannot be read (never the
 * old output: it may be stale), ESTALE, and the kernel opens it again.
 */
static void park_recheck_locked(struct ggfs *fs, struct parked_open *p)
{
	p->source_seq = p->n->source_seq;
	pthread_mutex_unlock(&fs->mu);
	struct stat st;
	bool read = node_fstat(fs, p->n, &st) == 0;
	if (read)
		lazy_classify(fs, p->n, &st);
	pthread_mutex_lock(&fs->mu);
	struct lazy *lz = &p->n->lz;
	p->checked = read && lz->is_ref && lz->forced && gg_name_eq(&lz->value, &p->value);
	if (!p->checked) {
		p->decided = true;
		p->id = -ESTALE;
		p->as_file = read && !lz->is_ref && p->n->value_opens == 0;
	}
	p->next = fs->parked;
	fs->parked = p;
}

static void *park_main(void *arg)
{
	struct ggfs *fs = arg;
	pthread_mutex_lock(&fs->mu);
	for (;;) {
		struct timespec now, next = {0};
		clock_gettime(CLOCK_MONOTONIC, &now);
		struct parked_open *ready = NULL, **pp = &fs->parked;
		while (*pp) {
			struct parked_open *p = *pp;
			bool fits = value_open_fits(p->n, &p->value);
			bool ending = p->decided || p->interrupted || fs->park_stop;
			if (!ending && !fits && ts_before(&now, &p->end)) {
				if (next.tv_sec == 0 || ts_before(&p->end, &next))
					next = p->end;
				pp = &p->next;
				continue;
			}
			*pp = p->next;
			if (!ending && fits && parked_file_changed_locked(p)) {
				park_recheck_locked(fs, p);
				pp = &fs->parked; /* the lock was dropped */
				continue;
			}
			if (p->interrupted) {
				p->id = -EINTR;
				p->as_file = false;
			} else if (!p->decided) {
				p->id = fits && !fs->park_stop
				            ? value_backing_locked(fs, p->n, &p->value, p->fd)
				            : -EBUSY;
			}
			if (p->id >= 0)
				p->direct = count_value_open_locked(fs, p->n, &p->value, p->id);
			p->next = ready;
			ready = p;
		}
		if (ready) {
			pthread_mutex_unlock(&fs->mu);
			for (struct parked_open *p = ready; p; p = p->next) {
				/* Waits for a running park_interrupt. */
				fuse_req_interrupt_func(p->req, NULL, NULL);
				if (p->as_file) {
					close(p->fd);
					open_source_file(fs, p->req, p->n, &p->fi);
				} else {
					reply_admitted(fs, p->req, &p->fi, p->n, p->fd, p->id,
					               p->direct);
				}
			}
			pthread_mutex_lock(&fs->mu);
			while (ready) {
				struct parked_open *p = ready;
				ready = p->next;
				node_unpin_locked(fs, p->n);
				free(p);
			}
			continue;
		}
		if (fs->park_stop)
			break;
		if (fs->parked)
			pthread_cond_timedwait(&fs->mode_cv, &fs->mu, &next);
		else
			pthread_cond_wait(&fs->mode_cv, &fs->mu);
	}
	pthread_mutex_unlock(&fs->mu);
	return NULL;
}

int backing_park_start(struct ggfs *fs)
{
	fs->park_stop = false;
	fs->park_started = pthread_create(&fs->park_thread, NULL, park_main, fs) == 0;
	return fs->park_started ? 0 : gg_error("cannot start a thread");
}

/* Answers what is still parked (EBUSY) and ends the parking thread. */
static void backing_park_stop(struct ggfs *fs)
{
	if (!fs->park_started)
		return;
	pthread_mutex_lock(&fs->mu);
	fs->park_stop = true;
	pthread_cond_broadcast(&fs->mode_cv);
	pthread_mutex_unlock(&fs->mu);
	pthread_join(fs->park_thread, NULL);
	pthread_mutex_lock(&fs->mu);
	fs->park_started = false;
	pthread_mutex_unlock(&fs->mu);
}

void reply_store_open(struct ggfs *fs, fuse_req_t req, struct fuse_file_info *fi, struct node *n,
                      const struct gg_name *value, int fd, unsigned source_seq)
{
	pthread_mutex_lock(&fs->mu);
	/* Opened itself since value was read from it: maybe rewritten. */
	bool opened = n->kind == NODE_PASS && n->source_seq != source_seq;
	if (fs->park_started && !fs->park_stop && (opened || !value_open_fits(n, value))) {
		struct parked_open *p = xcalloc(1, sizeof *p);
		*p = (struct parked_open){.fs = fs,
		                          .req = req,
		                          .fi = *fi,
		                          .n = n,
		                          .value = *value,
		                          .fd = fd,
		                          .end = mode_wait_end()};
		node_pin_locked(n);
		pthread_mutex_unlock(&fs->mu);
		/* Before park_main can see p (park_interrupt runs inside this
		 * call if the open was interrupted already). */
		fuse_req_interrupt_func(req, park_interrupt, p);
		pthread_mutex_lock(&fs->mu);
		bool parked = !fs->park_stop; /* else park_main may have ended */
		if (parked) {
			p->next = fs->parked;
			fs->parked = p;
			pthread_cond_broadcast(&fs->mode_cv);
		} else {
			node_unpin_locked(fs, n);
		}
		pthread_mutex_unlock(&fs->mu);
		if (parked)
			return;
		fuse_req_interrupt_func(req, NULL, NULL);
		free(p);
		reply_admitted(fs, req, fi, n, fd, -EBUSY, false);
		return;
	}
	int id = opened ? -ESTALE : value_backing_locked(fs, n, value, fd);
	bool direct = id >= 0 && count_value_open_locked(fs, n, value, id);
	pthread_mutex_unlock(&fs->mu);
	reply_admitted(fs, req, fi, n, fd, id, direct);
}

/*
 * May this writer's open start passthrough of SOURCE's file? Only for a
 * caller who is the daemon's own user (the kernel does the writes with the
 * backing file's credentials; another user may still join an open one, as
 * the kernel wants every open of the inode in one mode). Not with O_DIRECT
 * (the kernel would ask it of SOURCE's filesystem, which may refuse it:
 * ggfs serves it without), and not for a placeholder opened without
 * O_TRUNC (a reader forcing it meanwhile could not be answered), and not
 * for a set-ID file (a write there by a caller without CAP_FSETID must
 * clear the bits, which the kernel leaves to ggfs: ident.c), nor by a
 * caller without CAP_FSETID (its writes would keep bits a chmod gives the
 * file meanwhile, as the daemon's do). Readers
 * never start it: cached reads are as fast, and a backing file is an open
 * for writing, which makes an exec of the file in SOURCE fail (ETXTBSY).
 */
static bool has_setid(mode_t mode)
{
	/* Set-group-ID without group execute too: Linux 6.2+ clears it for
	 * a writer outside the file's group. */
	return (mode & (S_ISUID | S_ISGID)) != 0;
}

static bool may_start_passthrough(struct ggfs *fs, fuse_req_t req, const struct fuse_file_info *fi,
                                  struct node *n, int fd)
{
	struct stat st;
	return fs->bk_on && (fi->flags & O_ACCMODE) != O_RDONLY && !(fi->flags & O_DIRECT) &&
	       fuse_req_ctx(req)->uid == geteuid() && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	       !has_setid(st.st_mode) && ident_caller_has_fsetid(req) &&
	       ((fi->flags & O_TRUNC) || !lazy_classify(fs, n, &st));
}

/*
 * fs->mu held: may a writer without CAP_FSETID join n's file open in
 * passthrough mode (fd: its handle)? Not while the file has set-ID bits or
 * a chmod is giving them: the kernel would write with the daemon's
 * credentials, keeping them where the writer's own write clears them.
 */
static bool setid_free_locked(const struct node *n, int fd)
{
	struct stat st;
	return n->setid_chmods == 0 && fstat(fd, &st) == 0 && !has_setid(st.st_mode);
}

int node_setid_chmod_begin(struct ggfs *fs, fuse_req_t req, struct node *n, mode_t mode)
{
	if (!has_setid(mode))
		return 0;
	pid_t caller = fuse_req_ctx(req)->pid;
	int err = 0;
	pthread_mutex_lock(&fs->mu);
	for (size_t i = 0; n->pt_opens > 0 && i < n->nwriters && !err; i++)
		if (n->writers[i].opener != caller)
			err = EBUSY;
	if (!err)
		n->setid_chmods++;
	pthread_mutex_unlock(&fs->mu);
	if (err) {
		char *where = node_display_path(fs, n);
		ggfs_log(
		    FUSE_LOG_NOTICE,
		    "%s: refused a chmod giving set-ID bits (EBUSY): another thread has it open "
		    "for writing in kernel passthrough mode",
		    where);
		free(where);
	}
	return err;
}

void node_setid_chmod_end(struct ggfs *fs, struct node *n)
{
	pthread_mutex_lock(&fs->mu);
	n->setid_chmods--;
	pthread_mutex_unlock(&fs->mu);
}

void reply_source_open(struct ggfs *fs, fuse_req_t req, struct fuse_file_info *fi,
                       const struct fuse_entry_param *e, struct node *n, int fd, bool pt)
{
	/*
	 * The backing file is opened read-write by the daemon, so that readers
	 * joining later (O_RDONLY handles: the kernel lets them only read) and
	 * this writer share one; opened before taking the lock.
	 */
	int rw = -1;
	if (!pt && may_start_passthrough(fs, req, fi, n, fd)) {
		char proc[64];
		fd_proc_path(fd, proc);
		rw = open(proc, O_RDWR | O_CLOEXEC);
	}
	bool writer = (fi->flags & O_ACCMODE) != O_RDONLY;
	/* Whether a passthrough writer's own writes keep set-ID bits: the
	 * starter does (may_start_passthrough); a joiner is asked, outside the
	 * lock and only when the file has them (or is being given them). */
	bool keeps = rw >= 0;
	pthread_mutex_lock(&fs->mu);
	bool ask = writer && pt && !keeps && !setid_free_locked(n, fd);
	if (ask) {
		pthread_mutex_unlock(&fs->mu);
		keeps = ident_caller_has_fsetid(req);
		pthread_mutex_lock(&fs->mu);
	}
	if (writer && pt && !keeps && !setid_free_locked(n, fd)) {
		pthread_mutex_unlock(&fs->mu);
		char *where = node_display_path(fs, n);
		ggfs_log(
		    FUSE_LOG_NOTICE,
		    "%s: refused uid %u's open for writing (ETXTBSY): the file has set-ID bits "
		    "and is open in kernel passthrough mode, where its writes would keep them",
		    where, (unsigned)fuse_req_ctx(req)->uid);
		free(where);
		node_release(fs, n, pt, false, -1);
		close(fd);
		if (e)
			node_forget(fs, n, 1);
		fuse_reply_err(req, ETXTBSY);
		return;
	}
	if (writer) {
		ALLOC_GROW(n->writers, n->nwriters + 1, n->awriters);
		n->writers[n->nwriters++] = (struct writer_handle){
		    .fd = fd, .uid = fuse_req_ctx(req)->uid, .opener = fuse_req_ctx(req)->pid};
	}
	/*
	 * A reader opening while the file is open for writing through the
	 * mount reads uncached. Outside writeback mode the kernel zero-fills a
	 * READ that comes back short (a writer truncated the file meanwhile)
	 * up to the size it holds, and keeps that size while a write is in
	 * flight, so cached readers of a file rewritten with O_TRUNC read
	 * zeros (man ggfs, BUGS). A direct read returns what the file holds.
	 */
	if (!pt && !open_changes_file(fi->flags) && n->nwriters > 0)
		fi->direct_io = 1;
	int id = pt ? n->backing_id : 0;
	/* Starts only as the sole handle: the kernel refuses to mix modes. */
	if (rw >= 0 && fs->bk_on && !fs->bk_source_off && n->cached_opens == 1 &&
	    n->pt_opens == 0) {
		backing_drop_locked(fs, n);
		id = backing_open_locked(fs, rw, true);
		if (id > 0) {
			n->backing_id = id;
			n->backing_source = true;
			n->cached_opens--;
			n->pt_opens++;
			pt = true;
		}
	}
	pthread_mutex_unlock(&fs->mu);
	if (rw >= 0)
		close(rw);
	int r;
	if (pt) {
		r = reply_passthrough(req, e, (uint64_t)(unsigned)fd, 0, id);
	} else {
		/* No keep_cache: SOURCE may have changed since the last open
		 * (close-to-open consistency, like NFS). */
		fi->fh = (uint64_t)(unsigned)fd;
		r = e ? fuse_reply_create(req, e, fi) : fuse_reply_open(req, fi);
	}
	/* -ENOENT: the open was interrupted meanwhile; no release will come. */
	if (r == -ENOENT) {
		node_release(fs, n, pt, false, fd);
		close(fd);
		if (e)
			node_forget(fs, n, 1);
	}
}
