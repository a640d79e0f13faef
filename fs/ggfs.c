/**
 * @file ggfs.c
 * `ggfs [OPTIONS] SOURCE MOUNTPOINT`: main(). Reads the command line
 * (cmdline.c), finds the store, mounts, daemonizes unless -f, starts the
 * shared scheduler and runs libfuse's multithreaded loop until unmount or
 * SIGINT/SIGTERM. Logs: log.c. The file operations themselves are in ops.c;
 * see ggfs.h.
 */
#include "fs/ggfs.h"

#include "backend/engine/engine.h"
#include "backend/storage/remote_cache.h"
#include "core/config.h"
#include "core/process.h"
#include "core/rundir.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/*
 * The more inodes keep their O_PATH fd open (node.c), the fewer are
 * reopened by path: take the whole hard limit.
 */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int run_loop(struct ggfs *fs, const struct fuse_cmdline_opts *opts)
{
	if (opts->singlethread)
		return fuse_session_loop(fs->se);
	struct fuse_loop_config *cfg = fuse_loop_cfg_create();
	/* One /dev/fuse fd per worker: no contention on a shared fd. */
	fuse_loop_cfg_set_clone_fd(cfg, 1);
	fuse_loop_cfg_set_max_threads(cfg,
	                              fs->max_threads ? fs->max_threads : GGFS_DEFAULT_MAX_THREADS);
	/* libfuse's default (-1, never destroy idle threads) avoids the thread
	 * churn of libfuse PR #652; -o max_idle_threads=N still applies. */
	if (opts->max_idle_threads != UINT_MAX)
		fuse_loop_cfg_set_idle_threads(cfg, opts->max_idle_threads);
	int r = fuse_session_loop_mt(fs->se, cfg);
	fuse_loop_cfg_destroy(cfg);
	return r;
}

/* What a thunk's program wrote on stderr when it ran (gg log shows it all). */
static void log_stderr(void *arg, const char *thunk, const struct gg_name *value)
{
	struct ggfs *fs = arg;
	struct buf b = BUF_INIT;
	if (store_read(fs->store, value, &b, 1u << 20) < 0) {
		ggfs_log(FUSE_LOG_NOTICE, "%s wrote on stderr (%s)", thunk, gg_last_error());
	} else {
		size_t n = b.len > 2000 ? 2000 : b.len;
		while (n && b.data[n - 1] == '\n')
			n--;
		ggfs_log(FUSE_LOG_NOTICE, "%s wrote on stderr:\n%.*s%s", thunk, (int)n, b.data,
		         n < b.len && b.len > 2000 ? "\n[...]" : "");
	}
	buf_free(&b);
}

/*
 * SIGINT, SIGTERM and SIGHUP end the FUSE loop (libfuse's handler, called
 * from ours) and cancel every force, so running thunks are killed rather
 * than waited for. Set once before any thread starts.
 */
static struct gg_cancel *signal_cancel;
static struct sigaction fuse_handlers[3];
static const int cancel_signals[3] = {SIGINT, SIGTERM, SIGHUP};

static void on_signal(int sig)
{
	gg_cancel_fire(signal_cancel);
	for (size_t i = 0; i < GG_ARRAY_LEN(cancel_signals); i++)
		if (cancel_signals[i] == sig && fuse_handlers[i].sa_handler != SIG_DFL &&
		    fuse_handlers[i].sa_handler != SIG_IGN)
			fuse_handlers[i].sa_handler(sig);
}

/* A signal ggfs was started ignoring stays ignored (signals_catch), as
 * libfuse leaves it: after `nohup ggfs -f`, a hangup must not cancel every
 * force for the rest of the mount. */
static void chain_signal_handlers(struct gg_cancel *c)
{
	signal_cancel = c;
	signals_catch(cancel_signals, GG_ARRAY_LEN(cancel_signals), on_signal, fuse_handlers);
}

/* The scheduler's notices go to the daemon's log (stderr, or syslog). */
static void log_fallback(void *arg, const char *thunk, const char *engine, const char *why)
{
	(void)arg;
	ggfs_log(FUSE_LOG_NOTICE, "%s runs on %s: %s", thunk, engine, why);
}

static void log_notice(void *arg, const char *msg)
{
	(void)arg;
	ggfs_log(FUSE_LOG_NOTICE, "%s", msg);
}

static void log_retry(void *arg, const char *thunk, const char *engine, int attempt,
                      const char *why)
{
	(void)arg;
	ggfs_log(FUSE_LOG_WARNING, "%s: attempt %d on %s failed (%s); trying again", thunk, attempt,
	         engine, why);
}

int main(int argc, char **argv)
{
	if (config_load() < 0) {
		fprintf(stderr, "ggfs: %s\n", gg_last_error());
		return 1;
	}
	struct ggfs fs;
	ggfs_init(&fs);
	log_init();

	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts opts;
	memset(&opts, 0, sizeof opts);
	int rc = 1, root_fd = -1, ready_fd = -1;
	char *setup_error = NULL; /* a daemon's, for its waiting parent */
	char *guard_error = NULL; /* why there is no unmount guard */
	struct stat st;
	rc = ggfs_cmdline(&fs, &args, &opts);
	if (rc >= 0)
		goto out_args;
	rc = 1;
	fs.uid = getuid();
	fs.gid = getgid();
	ident_init(&fs);
	if (ggfs_open_store(fs.source, fs.store_opt, &fs.store) < 0) {
		fprintf(stderr, "ggfs: %s\n", gg_last_error());
		goto out_args;
	}
	/* Who may read the store directly may read .gg/by-hash: its owner, and
	 * the group of a shared store (setgid, the group may enter and read). */
	if (stat(fs.store->root, &st) < 0) {
		fprintf(stderr, "ggfs: %s: %s\n", fs.store->root, strerror(errno));
		goto out_store;
	}
	fs.store_uid = st.st_uid;
	if ((st.st_mode & S_ISGID) && (st.st_mode & (S_IRGRP | S_IXGRP)) == (S_IRGRP | S_IXGRP)) {
		fs.byhash_group = true;
		fs.byhash_gid = st.st_gid;
	}
	/* What a killed gg or ggfs left in .gg/tmp (rundir.h). */
	if (rundir_sweep(fs.store) < 0)
		fprintf(stderr, "ggfs: note: cannot clean %s: %s\n", fs.store->tmp,
		        gg_last_error());
	root_fd = open(fs.source, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0 || fstat(root_fd, &st) < 0) {
		fprintf(stderr, "ggfs: %s: %s\n", fs.source, strerror(errno));
		goto out_store;
	}
	nodes_init(&fs, root_fd);
	fs.root.dev = st.st_dev;
	fs.root.ino = st.st_ino;
	fs.ggdir = node_new_dir(&fs, NODE_GGDIR, virt_ino(".gg"));
	fs.byhash = node_new_dir(&fs, NODE_BYHASH, virt_ino(".gg/by-hash"));
	raise_fd_limit();
	nodes_set_fd_budget(&fs);
	/* The kernel applies the caller's umask already. */
	umask(0);

	fs.se = fuse_session_new(&args, &ggfs_ops, sizeof ggfs_ops, &fs);
	if (!fs.se)
		goto out_nodes;
	if (gg_cancel_init(&fs.cancel) < 0) {
		fprintf(stderr, "ggfs: %s\n", gg_last_error());
		goto out_session;
	}
	if (fuse_set_signal_handlers(fs.se) != 0)
		goto out_session;
	chain_signal_handlers(&fs.cancel);
	struct fd_list fds_before;
	bool fds_read = fd_list_read(&fds_before) == 0;
	if (fuse_session_mount(fs.se, fs.mountpoint) != 0) {
		fd_list_free(&fds_before);
		goto out_signals;
	}
	int guard_sock = fds_read ? unmount_guard_find(&fds_before) : -1;
	if (guard_sock < 0)
		guard_error = xstrdup(gg_last_error());
	fd_list_free(&fds_before);
	backing_setup(&fs);
	if (fs.log_opt || !opts.foreground) {
		char *path =
		    fs.log_opt ? xstrdup(fs.log_opt) : xasprintf("%s/ggfs.log", fs.store->root);
		/* the store's log is its owner's to read (a root daemon's too) */
		if (log_open_file(path, fs.log_opt ? (uid_t)-1 : fs.store_uid) < 0) {
			fprintf(stderr, "ggfs: log %s: %s\n", path, strerror(errno));
			free(path);
			goto out_unmount;
		}
		free(path);
	}
	if (!opts.foreground) {
		log_to_syslog();
		fs.daemon = true;
	}
	/* Check $GG_ENGINE now, while errors still reach the terminal; the
	 * engines themselves start threads, so they are made after the fork. */
	if (getenv("GG_ENGINE") && *getenv("GG_ENGINE")) {
		struct engine_spec *specs = NULL;
		size_t n = 0, cap = 0;
		int er = engine_specs_parse(getenv("GG_ENGINE"), &specs, &n, &cap);
		for (size_t i = 0; er == 0 && i < n; i++)
			er = engine_spec_check(specs[i].spec);
		engine_specs_free(specs, n);
		if (er < 0) {
			fprintf(stderr, "ggfs: GG_ENGINE: %s\n", gg_last_error());
			goto out_unmount;
		}
	}
	/* Forks: threads are started only after it. */
	if (!opts.foreground && daemon_fork("ggfs", &ready_fd) < 0) {
		fprintf(stderr, "ggfs: %s\n", gg_last_error()); /* the log is syslog's now */
		goto out_unmount;
	}
	if (opts.foreground && chdir("/") < 0) {
		/* as fuse_daemonize: keeps no filesystem busy; cannot fail */
	}
	/* Also forks: before any thread, in the daemon (the process to watch). */
	if (guard_sock >= 0 && unmount_guard_start(guard_sock, fs.mountpoint) < 0) {
		free(guard_error);
		guard_error = xstrdup(gg_last_error());
	}
	if (guard_error)
		ggfs_log(FUSE_LOG_WARNING,
		         "no unmount guard (a kill -9 may leave a dead mount): %s", guard_error);
	struct exec_limits limits = {0};
	if (exec_limits_from_env(&limits) < 0) {
		ggfs_log(FUSE_LOG_ERR, "%s", gg_last_error());
		goto out_unmount;
	}
	struct sched_opts so = {
	    .on_fallback = log_fallback,
	    .on_retry = log_retry,
	    .on_stderr = log_stderr,
	    .fallback_arg = &fs,
	    .keep_going = true, /* one failed placeholder must not fail the others */
	    .max_retries = -1,
	    .exec = {.no_isolation = fs.no_sandbox != 0, .limits = limits},
	    .cancel = &fs.cancel,
	    .trace_path = fs.trace_opt,
	};
	/* Like gg force: $GG_ENGINE (and $GG_STORAGE) choose where thunks run;
	 * without it, the local engine with -o jobs slots. */
	struct engine **engines = NULL;
	size_t nengines = 0;
	struct engine_config cfg = {.store = fs.store, .exec = so.exec};
	if (engine_create_from_env(&cfg, fs.jobs, &engines, &nengines) < 0) {
		ggfs_log(FUSE_LOG_ERR, "%s", gg_last_error());
		goto out_unmount;
	}
	so.engines = engines;
	so.nengines = nengines;
	fs.engines = engines; /* destroyed on every way out from here */
	fs.nengines = nengines;
	/* and $GG_REMOTE_CACHE the shared cache */
	struct remote_cache_opts co = {.notice = log_notice, .notice_arg = &fs};
	if (remote_cache_open(fs.store, &co, &fs.cache) < 0) {
		ggfs_log(FUSE_LOG_ERR, "%s", gg_last_error());
		goto out_unmount;
	}
	remote_cache_attach(fs.cache, &so);
	for (size_t i = 0; i < nengines; i++)
		so.speculate |= engine_starts_at_once(engines[i]);
	if (sched_new(fs.store, &so, &fs.sched) < 0) {
		ggfs_log(FUSE_LOG_ERR, "%s", gg_last_error());
		goto out_unmount;
	}
	if (backing_park_start(&fs) < 0 || lazy_start(&fs) < 0) {
		ggfs_log(FUSE_LOG_ERR, "%s", gg_last_error());
		goto out_sched;
	}
	watch_start(&fs);
	ggfs_log(FUSE_LOG_INFO, "serving %s at %s (store %s)", fs.source, fs.mountpoint,
	         fs.store->root);
	daemon_ready(&ready_fd, NULL);
	int r = run_loop(&fs, &opts);
	rc = r < 0 ? 1 : 0;
	ggfs_log(FUSE_LOG_INFO, "unmounting %s", fs.mountpoint);
	/* Opens parked for a release are answered (EBUSY) while the
	 * connection is still there. */
	backing_stop(&fs);
	watch_quiesce(&fs);
	fuse_session_unmount(fs.se);
	/* Running thunks finish (their results go to the memo) unless a
	 * signal cancelled them; opens still waiting are answered, into a
	 * closed connection. */
	sched_free(fs.sched);
	fs.sched = NULL;
	lazy_stop(&fs);
	waiting_stop(&fs);
	/* After unmounting: a notification it may be sending returns. */
	watch_stop(&fs);
	goto out_signals;

out_sched:
	/* The set-up's error, before the teardown's may replace it. */
	setup_error = ready_fd >= 0 ? xstrdup(gg_last_error()) : NULL;
	sched_free(fs.sched);
out_unmount:
	if (ready_fd >= 0 && !setup_error)
		setup_error = xstrdup(gg_last_error());
	backing_stop(&fs);
	fuse_session_unmount(fs.se);
	/* Only now: the waiting parent exits once the mount is gone. */
	daemon_ready(&ready_fd, setup_error);
	free(setup_error);
out_signals:
	free(guard_error);
	engines_destroy(fs.engines, fs.nengines);
	remote_cache_close(fs.cache);
	fuse_remove_signal_handlers(fs.se);
out_session:
	gg_cancel_destroy(&fs.cancel);
	fuse_session_destroy(fs.se);
out_nodes:
	nodes_free_all(&fs);
	close(root_fd);
out_store:
	store_close(fs.store);
out_args:
	fuse_opt_free_args(&args);
	free(opts.mountpoint);
	free(fs.source);
	free(fs.mountpoint);
	free(fs.store_opt);
	free(fs.log_opt);
	free(fs.trace_opt);
	log_close();
	free(fs.conn_opts);
	ident_free(&fs);
	return rc;
}
