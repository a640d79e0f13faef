/**
 * @file lazy.c
 * Placeholders and thunk outputs in the mount: recognising a placeholder
 * (never forcing it), showing the real size once its output is known, and
 * forcing on open without blocking a FUSE thread. An open registers an
 * interrupt callback, joins the node's waiters and starts at most one
 * sched_force_async per node; the scheduler's callback queues the result for
 * a "done" thread, which (outside any request handler, so the notification
 * cannot deadlock) invalidates the kernel's cached attributes, optionally
 * materialises the output in SOURCE, and answers every waiter.
 * It does not execute anything itself: the scheduler and the store do.
 *
 * Ownership of a waiting open (struct pending): whoever sets `claimed`
 * (the done thread or the interrupt callback, under fs->mu) replies to the
 * request; the structure is reference counted because the open handler, the
 * interrupt callback and the done thread may all hold it at once.
 *
 * A force lives while someone waits for it: the opens waiting on the node
 * are its reference count. When the last one is interrupted (its reader
 * killed: FUSE_INTERRUPT), the force is withdrawn: its cancel token fires
 * and the scheduler stops what no other request needs (another placeholder
 * of the same thunk, a by-hash read, keep theirs running). The withdrawn
 * job answers nobody; a later open starts a new one.
 */
#include "fs/ggfs.h"

#include "core/beneath.h"
#include "core/placeholder.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct pending {
	struct pending *next; /* in node->lz.waiters, protected by fs->mu */
	struct ggfs *fs;
	struct node *node; /* pinned while the pending exists */
	fuse_req_t req;    /* owned by whoever claims it */
	struct fuse_file_info fi;
	unsigned gen;        /* node->lz.gen when the open arrived */
	unsigned source_seq; /* the node's before the open read the file */
	bool claimed;        /* protected by fs->mu */
	/* lazy_open is registering on_interrupt, which then must not reply:
	 * inside fuse_req_interrupt_func, the reply would free the request
	 * whose mutex that call unlocks after; lazy_open replies instead */
	bool registering; /* protected by fs->mu */
	bool stale;       /* answered ESTALE: its reference is gone (finish) */
	bool may_force;   /* its caller may start a force (lazy_open's may_force) */
	int refs;         /* protected by fs->mu */
};

struct force_job {
	struct force_job *next; /* in the done queue, protected by fs->done_mu */
	struct ggfs *fs;
	struct node *node; /* pinned until the job is finished */
	struct gg_ref ref;
	unsigned gen;
	unsigned source_seq; /* the node's when the job began */
	uint64_t t_start;
	/* the outcome, filled by the scheduler's callback */
	int status;
	struct gg_name value;
	bool exec;
	bool link; /* the value is a symbolic link's target */
	char *error;
	bool again; /* forced a second time: its value was found damaged */
	/* An open that may start a force waits for it (fs->mu). Else it was
	 * started for what the memo holds, and is not forced again when its
	 * value is found damaged or gone: that would run the thunk. */
	bool may_run;
	bool memo_only; /* answered by the memo alone (start_job) */
	/* fired when nobody waits any more (on_interrupt), under fs->mu */
	struct gg_cancel cancel;
	bool withdrawn; /* protected by fs->mu */
};

/* The shortest file that can be a placeholder: the magic line and a name. */
#define PH_MIN_SIZE (sizeof(PLACEHOLDER_MAGIC) - 1 + GG_NAME_LEN)

/* fs->mu held. Forgets everything known about the old reference. */
static void lazy_reset_locked(struct lazy *lz)
{
	gg_ref_free(&lz->ref);
	free(lz->ref_str);
	lz->ref_str = NULL;
	free(lz->error);
	lz->error = NULL;
	lz->is_ref = false;
	lz->forced = lz->link = false;
	lz->kernel_synced = false;
	lz->refused = false;
	lz->gen++;
}

void lazy_free(struct lazy *lz)
{
	gg_ref_free(&lz->ref);
	free(lz->ref_str);
	free(lz->error);
	memset(lz, 0, sizeof *lz);
}

/*
 * May uid read the store directly: root, the daemon's user, the store's
 * owner, or a member of a shared store's group? Only such a user's file is
 * taken for a placeholder: anyone else could otherwise write one naming any
 * object or thunk output of the store (a name is no secret: a hash of
 * guessed content will do) and read it through the mount.
 */
static bool may_read_store(struct ggfs *fs, uid_t uid)
{
	if (uid == 0 || uid == fs->uid || uid == fs->store_uid)
		return true;
	if (!fs->byhash_group)
		return false;
	struct passwd pw, *found = NULL;
	size_t size = 4096;
	char *buf = xmalloc(size);
	int e;
	/* an entry bigger than the buffer is ERANGE: a bigger one */
	while ((e = getpwuid_r(uid, &pw, buf, size, &found)) == ERANGE && size < (1u << 20)) {
		size *= 4;
		buf = xrealloc(buf, size); /* fit */
	}
	if (e != 0 || !found) {
		free(buf);
		return false;
	}
	int n = 64;
	gid_t *groups = xcalloc((size_t)n, sizeof *groups);
	if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &n) < 0) {
		/* as many as it said there are */
		groups = xrealloc(groups, (size_t)n * sizeof *groups); /* fit */
		if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &n) < 0)
			n = 0;
	}
	bool member = false;
	for (int i = 0; i < n && !member; i++)
		member = groups[i] == fs->byhash_gid;
	free(groups);
	free(buf);
	return member;
}

bool lazy_classify(struct ggfs *fs, struct node *n, const struct stat *st)
{
	if (n->kind == NODE_OUTPUT)
		return true;
	if (n->kind != NODE_PASS)
		return false;
	bool candidate = S_ISREG(st->st_mode) && st->st_size >= (off_t)PH_MIN_SIZE &&
	                 st->st_size <= PLACEHOLDER_MAX_SIZE;
	struct stamp now;
	stamp_of(st, &now);
	pthread_mutex_lock(&fs->mu);
	/* A placeholder rewritten in place within one tick of its times keeps
	 * its stamp: the last answer stands only if the file had settled. */
	if (!candidate || (n->ph_checked && stamp_trusted(&n->ph_stamp, &now, n->ph_checked_at))) {
		if (!candidate && n->lz.is_ref)
			lazy_reset_locked(&n->lz);
		bool r = n->lz.is_ref;
		pthread_mutex_unlock(&fs->mu);
		return r;
	}
	pthread_mutex_unlock(&fs->mu);

	/* Read the first bytes through the O_PATH fd's /proc link, outside the
	 * lock: the clock, then the stamp, then the bytes (stamp.h). */
	int64_t begun = stamp_clock();
	struct gg_ref ref = {0};
	char proc[64], *why = NULL;
	int r = 0, fd = -1, pfd = node_fd(fs, n);
	if (pfd >= 0) {
		fd_proc_path(pfd, proc);
		fd = open(proc, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0 && nodes_shed(fs, errno))
			fd = open(proc, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		node_fd_put(fs, n);
	}
	struct stat fst;
	bool read = fd >= 0 && fstat(fd, &fst) == 0;
	if (read) {
		stamp_of(&fst, &now);
		r = placeholder_read_fd(fd, &ref);
		if (r < 0)
			why = xasprintf("begins like a placeholder but is not one (%s)",
			                gg_last_error());
		/* Strict: a file is a placeholder only if it names something this
		 * store has; anything else (a test corpus of placeholders, a file
		 * that merely starts like one) is served as its bytes, said once
		 * per version of the file (a wrong -o store= shows here). */
		if (r == 1 && store_known(fs->store, &ref.name) != 1) {
			why = xasprintf("a placeholder of %s, which the store %s lacks", ref.name.s,
			                fs->store->root);
			gg_ref_free(&ref);
			memset(&ref, 0, sizeof ref);
			r = 0;
		}
		if (r == 1 && !may_read_store(fs, fst.st_uid)) {
			why = xasprintf(
			    "a placeholder owned by uid %u, who may not read the store %s",
			    (unsigned)fst.st_uid, fs->store->root);
			gg_ref_free(&ref);
			memset(&ref, 0, sizeof ref);
			r = 0;
		}
	}
	if (fd >= 0)
		close(fd);

	pthread_mutex_lock(&fs->mu);
	if (!read) {
		/* Not read (a lease in the way, out of descriptors): nothing is
		 * learnt, and a placeholder is not taken for its bytes. */
		bool was = n->lz.is_ref;
		pthread_mutex_unlock(&fs->mu);
		return was;
	}
	/* said already for this version of the file (it is checked again while unsettled) */
	bool told = n->ph_checked && !n->lz.is_ref && stamp_eq(&n->ph_stamp, &now);
	n->ph_checked = true;
	n->ph_stamp = now;
	n->ph_checked_at = begun;
	if (r == 1) {
		if (!n->lz.is_ref || !gg_ref_eq(&n->lz.ref, &ref)) {
			lazy_reset_locked(&n->lz);
			n->lz.is_ref = n->lz.was_ref = true;
			n->lz.ref = ref;
			n->lz.ref_str = gg_ref_format(&ref);
			ref.output = NULL;
		}
	} else if (n->lz.is_ref) {
		lazy_reset_locked(&n->lz);
	}
	bool is_ref = n->lz.is_ref;
	pthread_mutex_unlock(&fs->mu);
	gg_ref_free(&ref);
	if (why && !told) {
		char *where = node_display_path(fs, n);
		ggfs_log(FUSE_LOG_WARNING, "%s: %s: served as its bytes", where, why);
		free(where);
	}
	free(why);
	return is_ref;
}

bool lazy_classify_now(struct ggfs *fs, struct node *n, struct stat *st)
{
	return n->kind == NODE_PASS && node_fstat(fs, n, st) == 0 && lazy_classify(fs, n, st);
}

static mode_t forced_perm(mode_t mode, bool exec)
{
	mode_t perm = mode & 0666;
	if (exec)
		perm |= (perm & 0444) >> 2;
	return perm;
}

/*
 * fs->mu held (let go meanwhile): does the memo hold n's output, with its
 * value in the store? The open of a caller who may not force is admitted
 * only then, so that its force finds the result and runs nothing; the node
 * counting as forced is not enough (gc may have removed the value since).
 * False too if the file was rewritten meanwhile (it is looked at again).
 */
static bool memo_holds(struct ggfs *fs, struct node *n)
{
	struct gg_ref ref;
	gg_ref_copy(&ref, &n->lz.ref);
	unsigned gen = n->lz.gen;
	pthread_mutex_unlock(&fs->mu);
	struct memo_output end;
	bool held = memo_resolve(fs->store, &ref, NULL, NULL, &end) == 1 &&
	            (!end.link || n->kind == NODE_PASS);
	gg_ref_free(&ref);
	pthread_mutex_lock(&fs->mu);
	if (held && gen == n->lz.gen && n->lz.is_ref && !n->lz.forced) {
		n->lz.forced = true;
		n->lz.value = end.value;
		n->lz.exec = end.exec;
		n->lz.link = end.link;
	}
	return held && gen == n->lz.gen && n->lz.is_ref;
}

void lazy_adjust_attr(struct ggfs *fs, struct node *n, struct stat *st)
{
	pthread_mutex_lock(&fs->mu);
	/* Forced earlier (another mount, gg force): the memo knows the size. */
	bool forced = n->lz.is_ref && (n->lz.forced || memo_holds(fs, n));
	bool exec = n->lz.exec, link = n->lz.link;
	struct gg_name value = n->lz.value;
	pthread_mutex_unlock(&fs->mu);
	if (!forced)
		return;
	st->st_size = (off_t)gg_name_size(&value);
	st->st_blocks = (st->st_size + 511) / 512;
	st->st_mode =
	    link ? S_IFLNK | 0777 : (st->st_mode & S_IFMT) | forced_perm(st->st_mode, exec);
}

int lazy_link_target(struct ggfs *fs, struct node *n, char **target)
{
	pthread_mutex_lock(&fs->mu);
	bool link = n->lz.is_ref && n->lz.forced && n->lz.link;
	struct gg_name v = n->lz.value;
	pthread_mutex_unlock(&fs->mu);
	if (!link)
		return 0;
	return store_read_link(fs->store, &v, target) < 0 ? -1 : 1;
}

bool lazy_is_forced(struct ggfs *fs, struct node *n)
{
	pthread_mutex_lock(&fs->mu);
	bool r = n->lz.is_ref && n->lz.forced;
	pthread_mutex_unlock(&fs->mu);
	return r;
}

/* ---- waiting opens ---- */

/* fs->mu held. */
static void pending_unref_locked(struct ggfs *fs, struct pending *p)
{
	if (--p->refs)
		return;
	node_unpin_locked(fs, p->node);
	free(p);
}

/* fs->mu held. */
static void waiters_remove_locked(struct node *n, struct pending *p)
{
	for (struct pending **pp = &n->lz.waiters; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			return;
		}
}

static struct force_job *new_job_locked(struct ggfs *fs, struct node *n);
static void start_job(struct ggfs *fs, struct force_job *job);

/* fs->mu held: does an open wait for the node's force (of generation gen)? */
static bool anyone_waits_locked(const struct node *n, unsigned gen)
{
	for (const struct pending *q = n->lz.waiters; q; q = q->next)
		if (q->gen == gen)
			return true;
	return false;
}

/*
 * The reader was interrupted (Ctrl-C, or killed): stop waiting and answer
 * EINTR. If nobody else waits for the force, it is withdrawn (see the top
 * of this file); otherwise it goes on for the others.
 */
static void on_interrupt(fuse_req_t req, void *data)
{
	struct pending *p = data;
	struct ggfs *fs = p->fs;
	struct node *n = p->node;
	pthread_mutex_lock(&fs->mu);
	if (p->claimed) {
		pthread_mutex_unlock(&fs->mu);
		return; /* a done thread is answering it */
	}
	p->claimed = true;
	bool reply = !p->registering;
	waiters_remove_locked(n, p);
	struct force_job *job = n->lz.forcing ? n->lz.job : NULL, *newer = NULL;
	bool withdraw = job && !anyone_waits_locked(n, job->gen);
	if (withdraw) {
		/* the job lives until finish(), which takes fs->mu first */
		job->withdrawn = true;
		gg_cancel_fire(&job->cancel);
		n->lz.forcing = false;
		n->lz.job = NULL;
		/* opens of a newer reference (the file was rewritten) waited
		 * for this job to end: they get their own now */
		if (n->lz.is_ref && anyone_waits_locked(n, n->lz.gen))
			newer = new_job_locked(fs, n);
	}
	pthread_mutex_unlock(&fs->mu);
	GGFS_DEBUG(fs, "an open of inode %llu was interrupted%s", (unsigned long long)n->ino,
	           withdraw ? "; nobody else waits: its force is withdrawn" : "");
	if (withdraw)
		sched_withdraw_cancelled(fs->sched);
	if (newer)
		start_job(fs, newer);
	if (reply)
		fuse_reply_err(req, EINTR);
	pthread_mutex_lock(&fs->mu);
	pending_unref_locked(fs, p);
	pthread_mutex_unlock(&fs->mu);
}

/* Scheduler callback: runs on a scheduler or engine thread (never inside
 * sched_force_async), or, for a job the memo alone answers, in start_job on
 * any thread (a FUSE handler, on_interrupt, a done thread); it only queues
 * the outcome, under fs->done_mu alone. */
static void on_forced(void *arg, const struct sched_outcome *o)
{
	struct force_job *job = arg;
	struct ggfs *fs = job->fs;
	job->status = o->status;
	job->value = o->value;
	job->exec = o->exec;
	job->error = o->status != 0 ? xstrdup(o->error ? o->error : "unknown error") : NULL;
	job->link = o->link;
	if (o->status == 0 && o->link && job->node->kind != NODE_PASS) {
		/* Never its target's text served as the file's bytes. */
		job->status = -1;
		job->error = xasprintf("it is a symbolic link (its target is value %s); the mount "
		                       "shows symbolic link outputs only through placeholders: "
		                       "'gg force' makes the link",
		                       o->value.s);
	}
	pthread_mutex_lock(&fs->done_mu);
	FIFO_PUSH(fs->done_head, fs->done_tail, job, next);
	pthread_cond_signal(&fs->done_cv);
	pthread_mutex_unlock(&fs->done_mu);
}

/* fs->mu held: a job for the node's current reference. */
static struct force_job *new_job_locked(struct ggfs *fs, struct node *n)
{
	struct force_job *job = xcalloc(1, sizeof *job);
	job->fs = fs;
	job->node = n;
	node_pin_locked(n);
	gg_ref_copy(&job->ref, &n->lz.ref);
	job->gen = n->lz.gen;
	job->source_seq = n->source_seq;
	job->t_start = now_ns();
	for (const struct pending *q = n->lz.waiters; q; q = q->next)
		job->may_run |= q->gen == job->gen && q->may_force;
	/* without its eventfd (out of descriptors) it works as well: nobody polls it */
	(void)gg_cancel_init(&job->cancel);
	n->lz.forcing = true;
	n->lz.job = job;
	return job;
}

/*
 * A job no open that may force waits for (others' opens admitted by
 * memo_holds) never reaches the scheduler, which would run the thunk if
 * gc removed the value since: the memo alone answers it, here (a few
 * small reads), through the done queue as the scheduler's would.
 */
static void answer_from_memo(struct ggfs *fs, struct force_job *job)
{
	struct memo_output end;
	struct sched_outcome o = {.status = -1, .code = GG_EDENIED};
	int r = memo_resolve(fs->store, &job->ref, NULL, NULL, &end);
	if (r == 1) {
		o = (struct sched_outcome){.value = end.value, .exec = end.exec, .link = end.link};
	} else {
		char *ref = gg_ref_format(&job->ref);
		if (r < 0)
			gg_error("cannot look up the result of %s in the memo: %s", ref,
			         gg_last_error());
		else
			gg_fail(GG_EDENIED,
			        "the result of %s is no longer in the store (gg gc?), and no open "
			        "that waits for it may start its force",
			        ref);
		o.code = gg_last_code();
		o.error = gg_last_error();
		free(ref);
	}
	on_forced(job, &o);
}

static void start_job(struct ggfs *fs, struct force_job *job)
{
	pthread_mutex_lock(&fs->mu);
	job->memo_only = !job->may_run;
	pthread_mutex_unlock(&fs->mu);
	if (job->memo_only) {
		answer_from_memo(fs, job);
		return;
	}
	if (fs->debug) {
		char *r = gg_ref_format(&job->ref);
		ggfs_log(FUSE_LOG_DEBUG, "forcing %s", r);
		free(r);
	}
	sched_force_async_cancel(fs->sched, &job->ref, on_forced, job, &job->cancel);
}

bool lazy_open(struct ggfs *fs, fuse_req_t req, struct node *n, struct fuse_file_info *fi,
               unsigned source_seq, bool may_force)
{
	pthread_mutex_lock(&fs->mu);
	if (!n->lz.is_ref) {
		/* Rewritten since it was classified: no longer a placeholder. */
		pthread_mutex_unlock(&fs->mu);
		return false;
	}
	if (n->lz.forced && n->lz.link && n->kind == NODE_PASS) {
		pthread_mutex_unlock(&fs->mu);
		fuse_reply_err(req, ESTALE); /* see finish() */
		return true;
	}
	if (n->lz.forced && n->lz.kernel_synced && gg_name_eq(&n->lz.kernel_value, &n->lz.value)) {
		/* The fast path: forced, and the kernel already has the right size. */
		struct gg_name v = n->lz.value;
		pthread_mutex_unlock(&fs->mu);
		int fd = store_open_object(fs->store, &v);
		if (fd >= 0) {
			reply_store_open(fs, req, fi, n, &v, fd, source_seq);
			return true;
		}
		GGFS_DEBUG(fs, "%s; forcing again", gg_last_error());
		pthread_mutex_lock(&fs->mu);
		if (gg_name_eq(&n->lz.value, &v))
			n->lz.forced = n->lz.kernel_synced = false; /* gc removed it: force again */
	}
	unsigned gen = n->lz.gen;
	bool held = may_force || memo_holds(fs, n);
	if (gen != n->lz.gen || !n->lz.is_ref) {
		pthread_mutex_unlock(&fs->mu);
		fuse_reply_err(req, ESTALE); /* rewritten meanwhile: the kernel opens again */
		return true;
	}
	if (!held) {
		/* said once per reference and user: a loop of opens floods no log */
		uid_t uid = fuse_req_ctx(req)->uid;
		bool told = n->lz.refused && n->lz.refused_uid == uid;
		n->lz.refused = true;
		n->lz.refused_uid = uid;
		pthread_mutex_unlock(&fs->mu);
		if (!told) {
			char *where = node_display_path(fs, n);
			ggfs_log(FUSE_LOG_NOTICE,
			         "%s: uid %u may not start its force (it is not the mount's owner; "
			         "see -o others_force)",
			         where, (unsigned)uid);
			free(where);
		}
		fuse_reply_err(req, EACCES);
		return true;
	}
	struct pending *p = xcalloc(1, sizeof *p);
	p->fs = fs;
	p->node = n;
	node_pin_locked(n);
	p->req = req;
	p->fi = *fi;
	p->gen = n->lz.gen;
	p->source_seq = source_seq;
	p->may_force = may_force;
	p->refs = 2; /* this handler's, and the one of whoever claims it */
	p->registering = true;
	pthread_mutex_unlock(&fs->mu);

	/*
	 * Register before anyone else can see p: once p is a waiter a done thread
	 * may answer (and free) the request at any time. If the open was already
	 * interrupted, on_interrupt runs inside this call and claims p.
	 */
	fuse_req_interrupt_func(req, on_interrupt, p);

	struct force_job *job = NULL;
	pthread_mutex_lock(&fs->mu);
	p->registering = false;
	bool interrupted = p->claimed; /* not a waiter yet: by on_interrupt */
	/* Rewritten meanwhile (the lock was let go): the look above, and the
	 * policy, were for another reference. The kernel opens again. */
	bool stale =
	    !p->claimed && (p->gen != n->lz.gen || !n->lz.is_ref || (!may_force && !n->lz.forced));
	if (stale) {
		p->claimed = true; /* an on_interrupt now leaves p alone */
	} else if (!p->claimed) {
		p->next = n->lz.waiters;
		n->lz.waiters = p;
		if (!n->lz.forcing)
			job = new_job_locked(fs, n);
		else if (may_force && n->lz.job && n->lz.job->gen == p->gen)
			n->lz.job->may_run = true;
	}
	if (!stale)
		pending_unref_locked(fs, p);
	pthread_mutex_unlock(&fs->mu);
	if (stale) {
		fuse_req_interrupt_func(req, NULL, NULL); /* waits for a running on_interrupt */
		pthread_mutex_lock(&fs->mu);
		p->refs--;                   /* the claimer's (this handler) */
		pending_unref_locked(fs, p); /* and this handler's: frees p */
		pthread_mutex_unlock(&fs->mu);
		fuse_reply_err(req, ESTALE);
	}
	if (interrupted)
		fuse_reply_err(req, EINTR);
	if (job)
		start_job(fs, job);
	return true;
}

/* ---- finishing a force (done threads) ---- */

/* The scheduler's multi-line message as one log line. */
static char *one_line(const char *s)
{
	struct buf b = BUF_INIT;
	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t k = nl ? (size_t)(nl - s) : strlen(s);
		const char *p = s;
		while (k && (*p == ' ' || *p == '\t'))
			p++, k--;
		if (k) {
			if (b.len)
				buf_adds(&b, " | ");
			buf_add(&b, p, k);
		}
		s = nl ? nl + 1 : p + k;
	}
	return buf_steal(&b);
}

/*
 * --materialize: replaces the placeholder in SOURCE by the output, atomically
 * (temp file in the same directory, then rename), if the file at the
 * placeholder's path is still that placeholder. Owner, permissions and mtime
 * are the placeholder's (with the output's exec bit), so `make` sees the
 * same file before and after. Its directory is opened from SOURCE's root
 * without following a link, and everything after is done relative to it:
 * a directory on the way swapped for a link meanwhile (by whoever may
 * write there) cannot make a daemon running as root write elsewhere.
 */
static int materialise(struct ggfs *fs, struct node *n, const struct gg_ref *ref,
                       const struct gg_name *value, bool exec)
{
	char proc[64], path[PATH_MAX];
	int pfd = node_fd(fs, n);
	if (pfd < 0)
		return gg_error("cannot find the placeholder's path: %s", strerror(-pfd));
	fd_proc_path(pfd, proc);
	ssize_t k = readlink(proc, path, sizeof path - 1);
	int err = errno;
	node_fd_put(fs, n);
	errno = err;
	if (k < 0)
		return gg_error_errno("cannot find the placeholder's path");
	path[k] = 0;
	size_t sl = strlen(fs->source);
	if (sl == 1)
		sl = 0; /* SOURCE is / */
	if (strncmp(path, fs->source, sl) || path[sl] != '/' || !path[sl + 1])
		return gg_error("%s is not inside %s; not materialised", path, fs->source);
	const char *last;
	int dirfd = beneath_open_parent(fs->root.fd, path + sl + 1, &last);
	if (dirfd < 0)
		return gg_error("%s: %s (a link or a mount point on the way?); not materialised",
		                path, strerror(errno));
	struct stat st;
	int fd = openat(dirfd, last, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	int r = -1;
	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_dev == n->dev &&
	    st.st_ino == n->ino) {
		struct gg_ref now = {0};
		bool same = placeholder_read_fd(fd, &now) == 1 && gg_ref_eq(&now, ref);
		gg_ref_free(&now);
		struct placeholder_replace_opts ro = {.perm = forced_perm(st.st_mode, exec),
		                                      .like = &st};
		r = same ? placeholder_replace_at(fs->store, dirfd, last, path, value, &ro)
		         : gg_error("%s changed meanwhile; not materialised", path);
	} else {
		r = gg_error("%s was moved or replaced meanwhile; not materialised", path);
	}
	if (fd >= 0)
		close(fd);
	close(dirfd);
	return r;
}

static void free_job(struct ggfs *fs, struct force_job *job)
{
	struct node *n = job->node;
	gg_ref_free(&job->ref);
	free(job->error);
	gg_cancel_destroy(&job->cancel);
	node_unpin(fs, n);
	free(job);
}

/*
 * fs->mu held: takes from n's waiters those a job of generation gen answers
 * (gen: its own; 0 for a withdrawn job, which answers only stale ones) and
 * those whose reference was rewritten since they asked (neither gen's, nor
 * a running job's, nor the file's current one): nothing else would ever
 * answer them, so they are marked stale, to be answered ESTALE (the kernel
 * then opens the file again).
 */
static struct pending *take_answered_locked(struct node *n, unsigned gen)
{
	struct pending *done = NULL;
	bool running = n->lz.forcing && n->lz.job;
	for (struct pending **pp = &n->lz.waiters; *pp;) {
		struct pending *p = *pp;
		bool current_ref = p->gen == n->lz.gen && n->lz.is_ref;
		p->stale = p->gen != gen && !(running && p->gen == n->lz.job->gen) && !current_ref;
		if (p->gen == gen || p->stale) {
			*pp = p->next;
			p->claimed = true;
			p->next = done;
			done = p;
		} else {
			pp = &p->next;
		}
	}
	return done;
}

/* Answers ESTALE to the stale opens of a withdrawn job's node. */
static void answer_stale(struct ggfs *fs, struct pending *done)
{
	while (done) {
		struct pending *p = done;
		done = p->next;
		fuse_req_interrupt_func(p->req, NULL, NULL);
		fuse_reply_err(p->req, ESTALE);
		pthread_mutex_lock(&fs->mu);
		pending_unref_locked(fs, p);
		pthread_mutex_unlock(&fs->mu);
	}
}

/* Classifies a NODE_PASS node's file again, from a fresh stat. */
static void finish(struct ggfs *fs, struct force_job *job)
{
	struct node *n = job->node;
	pthread_mutex_lock(&fs->mu);
	bool withdrawn = job->withdrawn;
	struct pending *stale = withdrawn ? take_answered_locked(n, 0) : NULL;
	pthread_mutex_unlock(&fs->mu);
	if (withdrawn) {
		/* nobody waited any more: it answers nobody (a newer job may be
		 * under way for the same reference) but opens of a reference
		 * rewritten since */
		GGFS_DEBUG(fs, "a withdrawn force of inode %llu ended: %s",
		           (unsigned long long)n->ino, job->status == 0 ? "done" : job->error);
		answer_stale(fs, stale);
		free_job(fs, job);
		return;
	}
	/* The value is checked against its name before anyone sees it (once
	 * for all the opens waiting). A damaged one was quarantined: forced
	 * once more, it is recomputed or fetched again. */
	int vfd = -1;
	bool damaged = false;
	if (job->status == 0 && (vfd = store_open_object(fs->store, &job->value)) < 0) {
		damaged = gg_last_code() == GG_ECORRUPT;
		job->status = -1;
		free(job->error);
		job->error = xstrdup(gg_last_error());
	}
	bool ok = job->status == 0;
	char *msg = ok ? NULL : one_line(job->error);
	struct pending *done = NULL;
	struct force_job *again = NULL;

	/* The file may have changed since this force began (seen rewritten,
	 * or opened through the mount, maybe to be written): read it again, so
	 * that the opens waiting are answered with the output only if the file
	 * still names this reference. */
	pthread_mutex_lock(&fs->mu);
	bool changed = job->gen != n->lz.gen || job->source_seq != n->source_seq;
	unsigned read_seq = n->source_seq; /* the file as read below */
	pthread_mutex_unlock(&fs->mu);
	struct stat st;
	if (changed)
		lazy_classify_now(fs, n, &st);

	pthread_mutex_lock(&fs->mu);
	/*
	 * Forced (again) only if an open that may force waits for it, decided
	 * under the lock that takes the waiters (one that joins later starts
	 * a job of its own): a value found damaged (quarantined) is forced
	 * once more, recomputed or fetched again; a job the memo alone
	 * answered (start_job), its entry gone, is forced after all.
	 */
	if (job->may_run && ((damaged && !job->again) || (!ok && !damaged && job->memo_only))) {
		pthread_mutex_unlock(&fs->mu);
		if (damaged)
			ggfs_log(FUSE_LOG_WARNING, "%s; forcing it again", job->error);
		job->again |= damaged;
		free(msg);
		free(job->error);
		job->error = NULL;
		start_job(fs, job);
		return;
	}
	bool current = job->gen == n->lz.gen;
	bool same_ref = n->lz.is_ref && gg_ref_eq(&n->lz.ref, &job->ref);
	if (n->lz.job == job) { /* else withdrawn since, and maybe replaced */
		n->lz.forcing = false;
		n->lz.job = NULL;
	}
	if (current) {
		n->lz.forced = ok;
		free(n->lz.error);
		n->lz.error = NULL;
		if (ok) {
			n->lz.value = job->value;
			n->lz.exec = job->exec;
			n->lz.link = job->link;
		} else {
			n->lz.error = xstrdup(msg);
		}
	}
	bool notify =
	    ok && current && !(n->lz.kernel_synced && gg_name_eq(&n->lz.kernel_value, &job->value));
	/* The kernel's cache is only known clean if nothing that may refill it
	 * with other bytes was open from the invalidation on: an open of the
	 * file itself (its writes), or a reader of another value (the
	 * placeholder's old output, read through the same cache). */
	unsigned source_seq = n->source_seq;
	bool other_open = n->source_opens > 0 || other_value_open_locked(n, &job->value);
	/*
	 * Answer the opens that asked for this reference; a newer one starts
	 * anew. An open that asked for a reference rewritten since (neither
	 * this job's, nor a running job's, nor the file's current one) has
	 * nothing that will answer it: ESTALE, and the kernel opens again. The
	 * opens of this reference, if the file no longer names it, get the
	 * file as it is now (the kernel holds its size, which would cut the
	 * output): opened as it is if it is no placeholder any more, else
	 * ESTALE.
	 */
	done = take_answered_locked(n, job->gen);
	bool moved_on = !current && !same_ref;
	bool as_file = moved_on && !n->lz.is_ref;
	for (struct pending *p = done; p && moved_on && !as_file; p = p->next)
		p->stale = true;
	if (anyone_waits_locked(n, n->lz.gen) && n->lz.is_ref && !n->lz.forcing)
		again = new_job_locked(fs, n);
	pthread_mutex_unlock(&fs->mu);

	char *where = node_display_path(fs, n);
	if (!ok) {
		/* One line: the file, the reference, then the scheduler's account
		 * (thunk, command, exit status, stderr tail). */
		char *ref = gg_ref_format(&job->ref);
		ggfs_log(FUSE_LOG_ERR, "%s: cannot force %s: %s", where, ref, msg);
		free(ref);
	} else {
		GGFS_DEBUG(fs, "%s: forced to %s in %.3f s", where, job->value.s,
		           (double)(now_ns() - job->t_start) / 1e9);
		if (fs->materialize && n->kind == NODE_PASS && current && !job->link &&
		    materialise(fs, n, &job->ref, &job->value, job->exec) < 0)
			ggfs_log(FUSE_LOG_WARNING, "%s: %s", where, gg_last_error());
	}
	if (notify) {
		/* Not in a request handler: replying to the opens comes after. */
		int e = fuse_lowlevel_notify_inval_inode(fs->se, node_ino(fs, n), 0, 0);
		if (e < 0 && e != -ENOENT)
			ggfs_log(FUSE_LOG_WARNING, "%s: cannot invalidate the kernel's cache: %s",
			         where, strerror(-e));
		pthread_mutex_lock(&fs->mu);
		if (job->gen == n->lz.gen && n->lz.forced && !other_open &&
		    source_seq == n->source_seq && gg_name_eq(&n->lz.value, &job->value)) {
			n->lz.kernel_synced = true;
			n->lz.kernel_value = job->value;
		}
		pthread_mutex_unlock(&fs->mu);
	}
	while (done) {
		struct pending *p = done;
		done = p->next;
		/* Waits for a running on_interrupt, which sees `claimed` and leaves. */
		fuse_req_interrupt_func(p->req, NULL, NULL);
		bool raw = as_file && !p->stale;
		int fd =
		    ok && !job->link && !p->stale && !raw ? fcntl(vfd, F_DUPFD_CLOEXEC, 0) : -1;
		if (raw) {
			open_source_file(fs, p->req, n, &p->fi);
		} else if (p->stale) {
			fuse_reply_err(p->req, ESTALE);
		} else if (ok && job->link) {
			/* The kernel took the placeholder for a regular file: ESTALE
			 * makes it look the path up once more (LOOKUP_REVAL asks us
			 * whatever the entry's timeout), find the link and follow it.
			 * No entry invalidation here: from a request handler (the fast
			 * path) it could wait on a lookup only this thread answers. */
			fuse_reply_err(p->req, ESTALE);
		} else if (fd >= 0) {
			/* Parked if it must wait for the file's opens: this thread
			 * finishes other forces meanwhile. */
			reply_store_open(fs, p->req, &p->fi, n, &job->value, fd,
			                 changed ? read_seq : p->source_seq);
		} else {
			if (ok)
				ggfs_log(FUSE_LOG_ERR, "%s: cannot open %s: %s", where,
				         job->value.s, strerror(errno));
			fuse_reply_err(p->req, EIO);
		}
		pthread_mutex_lock(&fs->mu);
		pending_unref_locked(fs, p);
		pthread_mutex_unlock(&fs->mu);
	}
	if (vfd >= 0)
		close(vfd);
	free(where);
	free(msg);
	if (again)
		start_job(fs, again);
	free_job(fs, job);
}

static void *done_main(void *arg)
{
	struct ggfs *fs = arg;
	pthread_mutex_lock(&fs->done_mu);
	for (;;) {
		struct force_job *job;
		WORKERS_NEXT(fs->done_head, fs->done_tail, next, job, fs->done_stop, &fs->done_cv,
		             &fs->done_mu);
		if (!job)
			break;
		pthread_mutex_unlock(&fs->done_mu);
		finish(fs, job);
		pthread_mutex_lock(&fs->done_mu);
	}
	pthread_mutex_unlock(&fs->done_mu);
	return NULL;
}

int lazy_start(struct ggfs *fs)
{
	for (int i = 0; i < GGFS_DONE_THREADS; i++)
		if (workers_add(&fs->done_threads, done_main, fs) < 0)
			break;
	return fs->done_threads.n ? 0 : gg_error("cannot start threads");
}

void lazy_stop(struct ggfs *fs)
{
	workers_stop(&fs->done_threads, &fs->done_mu, &fs->done_cv, &fs->done_stop);
}

/* ---- extended attributes ---- */

static enum lazy_state state_of(struct ggfs *fs, struct node *n)
{
	pthread_mutex_lock(&fs->mu);
	if (n->lz.forcing || n->lz.forced) {
		enum lazy_state st = n->lz.forcing ? LAZY_RUNNING : LAZY_FORCED;
		pthread_mutex_unlock(&fs->mu);
		return st;
	}
	bool failed = n->lz.error != NULL;
	struct gg_ref ref;
	gg_ref_copy(&ref, &n->lz.ref);
	pthread_mutex_unlock(&fs->mu);
	/* Another node (or by-hash) may be forcing the same thunk; a memo hit is forced. */
	enum sched_state s = sched_state_of(fs->sched, &ref);
	gg_ref_free(&ref);
	if (s == SCHED_RUNNING)
		return LAZY_RUNNING;
	if (s == SCHED_FORCED)
		return LAZY_FORCED;
	return failed ? LAZY_FAILED : LAZY_UNFORCED;
}

static const char *const state_names[] = {"unforced", "running", "forced", "failed"};

int lazy_getxattr(struct ggfs *fs, struct node *n, const char *name, char **value, size_t *len)
{
	char *v = NULL;
	if (!strcmp(name, "user.gg.ref")) {
		pthread_mutex_lock(&fs->mu);
		v = n->lz.ref_str ? xstrdup(n->lz.ref_str) : NULL;
		pthread_mutex_unlock(&fs->mu);
	} else if (!strcmp(name, "user.gg.state")) {
		v = xstrdup(state_names[state_of(fs, n)]);
	} else if (!strcmp(name, PLACEHOLDER_XATTR)) {
		/* The placeholder's own bytes (at most PLACEHOLDER_MAX_SIZE). */
		pthread_mutex_lock(&fs->mu);
		if (n->lz.is_ref) {
			struct buf b = BUF_INIT;
			placeholder_format(&n->lz.ref, &b);
			*len = b.len;
			v = buf_steal(&b);
		}
		pthread_mutex_unlock(&fs->mu);
		if (!v)
			return ENODATA;
		*value = v;
		return 0;
	} else if (!strcmp(name, "user.gg.error")) {
		if (state_of(fs, n) == LAZY_FAILED) {
			pthread_mutex_lock(&fs->mu);
			v = n->lz.error ? xstrdup(n->lz.error) : NULL;
			pthread_mutex_unlock(&fs->mu);
		}
	}
	if (!v)
		return ENODATA;
	*value = v;
	*len = strlen(v);
	return 0;
}
