/**
 * @file fs_fakes.h
 * What the tests of ggfs's modules linked without a FUSE session share: a
 * fake of fs/log.c's ggfs_log that keeps the last message (`logged`) and
 * counts them (`nlogged`, set to 0 before what should or should not log);
 * a fresh directory `dir` (below $TMPDIR, else /tmp, its real path) with
 * at() naming files in it; harness_in_child() for what must not touch this
 * process's identity or log. test_fs_log, which links the real fs/log.c,
 * defines FS_FAKES_REAL_LOG before including it and gets no fake.
 *
 * With FS_FAKES_REPLIES defined first: a fake request (struct fuse_req, its
 * caller's ctx and its session's userdata) and fakes of libfuse's replies,
 * which record the reply in it (`replied`: REPLY_ERR, REPLY_OPEN,
 * REPLY_CREATE, REPLY_IOV, REPLY_BUF, REPLY_ENTRY, REPLY_ATTR,
 * REPLY_READLINK, REPLY_XATTR, REPLY_WRITE, or REPLY_FORGET for
 * fuse_reply_none; the errno, the fuse_file_info, the bytes of the iovs or
 * the buffer, the entry, the attributes, the link's target or the size)
 * and return its `ret` (-ENOENT: the open was interrupted), and its
 * interrupt callback (fuse_req_interrupt_func), run at once when
 * registered on a request already `interrupted`, as libfuse does.
 * wait_replied() waits for a reply sent from another thread.
 *
 * With FS_FAKES_PINS defined first: fakes of fs/node.c's pins, which count
 * them in the node (an unpin of an unpinned node aborts).
 *
 * With FS_FAKES_NODE_FDS defined first: fakes of fs/node.c's fds, for
 * nodes whose O_PATH fd the test opened itself (n->fd; -1 for none, which
 * node_fd refuses EBADF) and never closes behind its back: the inode
 * number is the node's address, node_fstat stats n->fd, an fd is never
 * shed.
 */
#ifndef GG_FS_FAKES_H
#define GG_FS_FAKES_H

#include "fs/ggfs.h"
#include "harness.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef FS_FAKES_REAL_LOG
/* ---- a fake of fs/log.c ---- */

static pthread_mutex_t logged_mu = PTHREAD_MUTEX_INITIALIZER;
static char logged[4096]; /* the last message */
static int nlogged;       /* how many were logged */

void ggfs_log(enum fuse_log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	pthread_mutex_lock(&logged_mu);
	vsnprintf(logged, sizeof logged, fmt, ap);
	nlogged++;
	pthread_mutex_unlock(&logged_mu);
	va_end(ap);
}
#endif

#ifdef FS_FAKES_REPLIES
/* ---- fakes of libfuse's request and replies ---- */

#include <sys/uio.h>
#include <time.h>

enum reply_kind {
	REPLY_NONE, /* none yet */
	REPLY_ERR,
	REPLY_OPEN,
	REPLY_CREATE,
	REPLY_IOV,
	REPLY_BUF,
	REPLY_ENTRY,
	REPLY_ATTR,
	REPLY_READLINK,
	REPLY_XATTR,
	REPLY_WRITE,
	REPLY_FORGET, /* fuse_reply_none */
};

struct fuse_req {
	struct fuse_ctx ctx;
	void *userdata; /* fuse_req_userdata: the session's (struct ggfs) */
	int ret;        /* what the reply returns */
	enum reply_kind replied;
	int nreplies;
	int err;
	struct fuse_file_info fi;
	unsigned char iov[4096]; /* the iovs' or the buffer's bytes, one after the other */
	size_t iov_len;
	int iov_count;
	struct fuse_entry_param entry; /* REPLY_ENTRY, REPLY_CREATE */
	struct stat attr;              /* REPLY_ATTR */
	double attr_timeout;
	char link[256]; /* REPLY_READLINK */
	size_t size;    /* REPLY_XATTR, REPLY_WRITE */
	fuse_interrupt_func_t intr;
	void *intr_data;
	bool interrupted; /* FUSE_INTERRUPT came before the callback was registered */
	/* run when a callback is registered (what another thread may do then) */
	void (*on_register)(struct fuse_req *req);
};

static pthread_mutex_t replies_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t replies_cv = PTHREAD_COND_INITIALIZER;

static int fake_reply(fuse_req_t req, enum reply_kind kind)
{
	pthread_mutex_lock(&replies_mu);
	req->replied = kind;
	req->nreplies++;
	pthread_cond_broadcast(&replies_cv);
	pthread_mutex_unlock(&replies_mu);
	return req->ret;
}

/* Waits up to ms for req's reply: true once it has one. */
static inline bool wait_replied(fuse_req_t req, int ms)
{
	struct timespec end;
	clock_gettime(CLOCK_REALTIME, &end);
	end.tv_sec += ms / 1000;
	end.tv_nsec += (long)(ms % 1000) * 1000000;
	if (end.tv_nsec >= 1000000000) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&replies_mu);
	while (req->replied == REPLY_NONE &&
	       pthread_cond_timedwait(&replies_cv, &replies_mu, &end) == 0)
		;
	bool got = req->replied != REPLY_NONE;
	pthread_mutex_unlock(&replies_mu);
	return got;
}

const struct fuse_ctx *fuse_req_ctx(fuse_req_t req)
{
	return &req->ctx;
}

void *fuse_req_userdata(fuse_req_t req)
{
	return req->userdata;
}

void fuse_req_interrupt_func(fuse_req_t req, fuse_interrupt_func_t func, void *data)
{
	pthread_mutex_lock(&replies_mu);
	req->intr = func;
	req->intr_data = data;
	pthread_mutex_unlock(&replies_mu);
	if (func && req->on_register)
		req->on_register(req);
	if (func && req->interrupted)
		func(req, data);
}

int fuse_reply_err(fuse_req_t req, int err)
{
	req->err = err;
	return fake_reply(req, REPLY_ERR);
}

int fuse_reply_open(fuse_req_t req, const struct fuse_file_info *fi)
{
	req->fi = *fi;
	return fake_reply(req, REPLY_OPEN);
}

int fuse_reply_create(fuse_req_t req, const struct fuse_entry_param *e,
                      const struct fuse_file_info *fi)
{
	req->entry = *e;
	req->fi = *fi;
	return fake_reply(req, REPLY_CREATE);
}

int fuse_reply_entry(fuse_req_t req, const struct fuse_entry_param *e)
{
	req->entry = *e;
	return fake_reply(req, REPLY_ENTRY);
}

int fuse_reply_attr(fuse_req_t req, const struct stat *attr, double attr_timeout)
{
	req->attr = *attr;
	req->attr_timeout = attr_timeout;
	return fake_reply(req, REPLY_ATTR);
}

int fuse_reply_readlink(fuse_req_t req, const char *link)
{
	if (strlen(link) >= sizeof req->link)
		abort();
	strcpy(req->link, link);
	return fake_reply(req, REPLY_READLINK);
}

int fuse_reply_xattr(fuse_req_t req, size_t count)
{
	req->size = count;
	return fake_reply(req, REPLY_XATTR);
}

int fuse_reply_write(fuse_req_t req, size_t count)
{
	req->size = count;
	return fake_reply(req, REPLY_WRITE);
}

void fuse_reply_none(fuse_req_t req)
{
	fake_reply(req, REPLY_FORGET);
}

int fuse_reply_buf(fuse_req_t req, const char *buf, size_t size)
{
	if (size > sizeof req->iov)
		abort();
	memcpy(req->iov, buf, size);
	req->iov_len = size;
	req->iov_count = 1;
	return fake_reply(req, REPLY_BUF);
}

int fuse_reply_iov(fuse_req_t req, const struct iovec *iov, int count)
{
	req->iov_len = 0;
	for (int i = 0; i < count; i++) {
		if (iov[i].iov_len > sizeof req->iov - req->iov_len)
			abort();
		memcpy(req->iov + req->iov_len, iov[i].iov_base, iov[i].iov_len);
		req->iov_len += iov[i].iov_len;
	}
	req->iov_count = count;
	return fake_reply(req, REPLY_IOV);
}
#endif

#ifdef FS_FAKES_PINS
/* ---- fakes of fs/node.c's pins ---- */

void node_pin_locked(struct node *n)
{
	n->pins++;
}

void node_unpin_locked(struct ggfs *f, struct node *n)
{
	if (n->pins == 0)
		abort();
	n->pins--;
}

void node_unpin(struct ggfs *f, struct node *n)
{
	pthread_mutex_lock(&f->mu);
	node_unpin_locked(f, n);
	pthread_mutex_unlock(&f->mu);
}
#endif

#ifdef FS_FAKES_NODE_FDS
/* ---- fakes of fs/node.c's fds ---- */

#include <stdio.h>

fuse_ino_t node_ino(struct ggfs *f, const struct node *n)
{
	return (fuse_ino_t)(uintptr_t)n;
}

int node_fd(struct ggfs *f, struct node *n)
{
	return n->fd >= 0 ? n->fd : -EBADF;
}

void node_fd_put(struct ggfs *f, struct node *n)
{
}

bool nodes_shed(struct ggfs *f, int err)
{
	return false;
}

int node_fstat(struct ggfs *f, struct node *n, struct stat *st)
{
	return fstat(n->fd, st) == 0 ? 0 : errno;
}

void fd_proc_path(int fd, char out[64])
{
	snprintf(out, 64, "/proc/self/fd/%d", fd);
}
#endif

/* ---- a directory to work in ---- */

static char *dir;

/* Makes dir, a new directory named prefix-XXXXXX; aborts when it cannot. */
static inline void make_test_dir(const char *prefix)
{
	const char *tmp = getenv("TMPDIR");
	char *d = xasprintf("%s/%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", prefix);
	if (!mkdtemp(d))
		abort();
	dir = realpath(d, NULL);
	free(d);
	if (!dir)
		abort();
}

/* dir/rel (malloc'd). */
static inline char *at(const char *rel)
{
	return xasprintf("%s/%s", dir, rel);
}

#endif
