/**
 * @file cgroup.c
 * Per-run control groups (see cgroup.h): discovery once, then one mkdir,
 * two or four small writes and one rmdir per run.
 */
#include "core/cgroup.h"

#include "core/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CG_ROOT "/sys/fs/cgroup"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int version;
static char *base_mem, *base_pids; /* our own group in each hierarchy */
static char reason[256];
static atomic_uint seq;

static int read_small(const char *path, char *buf, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t r;
	do
		r = read(fd, buf, n - 1);
	while (r < 0 && errno == EINTR);
	close(fd);
	if (r < 0)
		return -1;
	buf[r] = 0;
	return 0;
}

static int write_str(const char *dir, const char *file, const char *val)
{
	char *p = xasprintf("%s/%s", dir, file);
	int fd = open(p, O_WRONLY | O_CLOEXEC), r = -1;
	if (fd >= 0) {
		r = write_all(fd, val, strlen(val));
		close(fd);
	}
	if (r < 0)
		gg_error_errno("cannot write %s", p);
	free(p);
	return r;
}

/* The value after "key " in a flat-keyed file (memory.events, ...); 0 if none. */
static uint64_t keyed(const char *dir, const char *file, const char *key)
{
	char *p = xasprintf("%s/%s", dir, file), buf[4096];
	uint64_t v = 0;
	if (read_small(p, buf, sizeof buf) == 0) {
		size_t k = strlen(key);
		for (char *l = buf; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
			if (!strncmp(l, key, k) && l[k] == ' ')
				v = strtoull(l + k + 1, NULL, 10);
	}
	free(p);
	return v;
}

static uint64_t single(const char *dir, const char *file)
{
	char *p = xasprintf("%s/%s", dir, file), buf[64];
	uint64_t v = 0;
	if (read_small(p, buf, sizeof buf) == 0)
		v = strtoull(buf, NULL, 10);
	free(p);
	return v;
}

/* Our group's path in the hierarchy named by want ("" for v2) from
 * /proc/self/cgroup; malloc'd or NULL. */
static char *own_path(const char *want)
{
	char buf[4096];
	if (read_small("/proc/self/cgroup", buf, sizeof buf) < 0)
		return NULL;
	char *save = NULL; /* strtok_r: other threads may be tokenising too */
	for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(l, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = 0;
		const char *ctl = c1 + 1;
		bool match = !*want ? !*ctl : false;
		for (char *t = (char *)ctl; *want && t && *t;) {
			char *comma = strchr(t, ',');
			size_t n = comma ? (size_t)(comma - t) : strlen(t);
			if (n == strlen(want) && !strncmp(t, want, n))
				match = true;
			t = comma ? comma + 1 : NULL;
		}
		if (match)
			return xstrdup(c2 + 1);
	}
	return NULL;
}

static bool has_word(const char *list, const char *w)
{
	size_t n = strlen(w);
	for (const char *p = list; (p = strstr(p, w)); p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\n' || !p[n]))
			return true;
	return false;
}

static bool usable_dir(const char *dir)
{
	return access(dir, W_OK) == 0;
}

static void probe(void)
{
	/* v2: a delegated subtree with memory and pids enabled for children */
	char *p2 = own_path("");
	const char *mounts[] = {CG_ROOT, CG_ROOT "/unified"};
	for (size_t i = 0; p2 && i < 2 && !version; i++) {
		char *dir = xasprintf("%s%s", mounts[i], strcmp(p2, "/") ? p2 : "");
		char *sc = xasprintf("%s/cgroup.subtree_control", dir), buf[512];
		if (read_small(sc, buf, sizeof buf) == 0 && has_word(buf, "memory") &&
		    has_word(buf, "pids") && usable_dir(dir)) {
			version = 2;
			base_mem = xstrdup(dir);
			base_pids = xstrdup(dir);
		}
		free(sc);
		free(dir);
	}
	free(p2);
	if (version)
		return;
	char *pm = own_path("memory"), *pp = own_path("pids");
	if (pm && pp) {
		char *m = xasprintf(CG_ROOT "/memory%s", strcmp(pm, "/") ? pm : "");
		char *p = xasprintf(CG_ROOT "/pids%s", strcmp(pp, "/") ? pp : "");
		if (usable_dir(m) && usable_dir(p)) {
			version = 1;
			base_mem = m;
			base_pids = p;
		} else {
			snprintf(reason, sizeof reason, "%s or %s is not writable", m, p);
			free(m);
			free(p);
		}
	} else {
		snprintf(reason, sizeof reason,
		         "no delegated cgroup v2 subtree with memory and pids, and no cgroup v1 "
		         "memory and pids hierarchies");
	}
	free(pm);
	free(pp);
}

int cgroup_version(void)
{
	pthread_once(&once, probe);
	return version;
}

/* Removes the empty groups of processes that no longer exist. */
static void sweep(const char *base)
{
	DIR *d = opendir(base);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		long pid;
		if (sscanf(e->d_name, "gg-%ld-", &pid) != 1 || pid <= 0 || (pid_t)pid == getpid() ||
		    kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR);
	}
	closedir(d);
}

static char *make_group(const char *base, const char *name)
{
	char *dir = xasprintf("%s/%s", base, name);
	if (mkdir(dir, 0755) < 0) {
		gg_error_errno("cannot create the cgroup %s", dir);
		free(dir);
		return NULL;
	}
	return dir;
}

/* A limit as the kernel reads it: UINT64_MAX is `none`. */
static char *limit(char *buf, size_t n, uint64_t v, const char *none)
{
	if (v == UINT64_MAX)
		snprintf(buf, n, "%s", none);
	else
		snprintf(buf, n, "%" PRIu64, v);
	return buf;
}

int cgroup_run_create(uint64_t mem_limit, uint64_t pids_limit, struct cgroup_run *cg)
{
	memset(cg, 0, sizeof *cg);
	if (!cgroup_version())
		return gg_error("no cgroups for limits: %s", reason);
	unsigned n = atomic_fetch_add(&seq, 1);
	if (n % 64 == 0) {
		sweep(base_mem);
		if (strcmp(base_mem, base_pids))
			sweep(base_pids);
	}
	char name[64], v[32];
	snprintf(name, sizeof name, "gg-%ld-%u", (long)getpid(), n);
	cg->mem_limit = mem_limit;
	cg->pids_limit = pids_limit;
	if (!(cg->mem = make_group(base_mem, name)))
		return -1;
	if (version == 2) {
		cg->pids = xstrdup(cg->mem);
		if (write_str(cg->mem, "memory.max", limit(v, sizeof v, mem_limit, "max")) < 0 ||
		    write_str(cg->mem, "memory.swap.max", "0") < 0 ||
		    write_str(cg->pids, "pids.max", limit(v, sizeof v, pids_limit, "max")) < 0)
			goto fail;
	} else {
		if (!(cg->pids = make_group(base_pids, name)))
			goto fail;
		if (write_str(cg->mem, "memory.limit_in_bytes",
		              limit(v, sizeof v, mem_limit, "-1")) < 0 ||
		    write_str(cg->pids, "pids.max", limit(v, sizeof v, pids_limit, "max")) < 0)
			goto fail;
		/* No swapping around the limit, where the kernel accounts swap:
		 * memory and swap together get the memory limit. */
		char *sw = xasprintf("%s/memory.memsw.limit_in_bytes", cg->mem);
		int swr = access(sw, F_OK) == 0 ? write_str(cg->mem, "memory.memsw.limit_in_bytes",
		                                            limit(v, sizeof v, mem_limit, "-1"))
		                                : 0;
		free(sw);
		if (swr < 0)
			goto fail;
	}
	cg->version = version;
	return 0;
fail:;
	char *e = xstrdup(gg_last_error());
	cg->version = version; /* for destroy */
	cgroup_run_destroy(cg);
	gg_error("%s", e);
	free(e);
	return -1;
}

int cgroup_run_attach(const struct cgroup_run *cg, pid_t pid)
{
	char v[32];
	snprintf(v, sizeof v, "%ld", (long)pid);
	if (write_str(cg->mem, "cgroup.procs", v) < 0)
		return -1;
	if (strcmp(cg->mem, cg->pids) && write_str(cg->pids, "cgroup.procs", v) < 0)
		return -1;
	return 0;
}

bool cgroup_run_pids_hit(const struct cgroup_run *cg)
{
	return cg->version && keyed(cg->pids, "pids.events", "max") > 0;
}

void cgroup_run_usage(const struct cgroup_run *cg, struct cgroup_usage *u)
{
	memset(u, 0, sizeof *u);
	if (!cg->version)
		return;
	u->pids_hit = cgroup_run_pids_hit(cg);
	u->pids_peak = single(cg->pids, "pids.peak");
	if (cg->version == 2) {
		u->mem_hit = keyed(cg->mem, "memory.events", "oom_kill") > 0;
		u->mem_peak = single(cg->mem, "memory.peak");
	} else {
		u->mem_hit = keyed(cg->mem, "memory.oom_control", "oom_kill") > 0;
		u->mem_peak = single(cg->mem, "memory.max_usage_in_bytes");
	}
}

/* Kills every process listed in dir/cgroup.procs; how many were listed. */
static int kill_members(const char *dir)
{
	char *p = xasprintf("%s/cgroup.procs", dir);
	FILE *f = fopen(p, "re");
	free(p);
	if (!f)
		return 0;
	int n = 0;
	long pid;
	while (fscanf(f, "%ld", &pid) == 1) {
		kill((pid_t)pid, SIGKILL);
		n++;
	}
	fclose(f);
	return n;
}

void cgroup_run_destroy(struct cgroup_run *cg)
{
	char *dirs[2] = {cg->mem,
	                 cg->pids && cg->mem && strcmp(cg->mem, cg->pids) ? cg->pids : NULL};
	for (int i = 0; i < 2; i++) {
		if (!dirs[i])
			continue;
		/* Killed processes leave the group once they are reaped; ours are
		 * (init or the supervisor has been waited for), others by their
		 * parents. Try for about a second. */
		long wait_ns = 100 * 1000; /* 0.1 ms, doubling to 10 ms: about 1 s in all */
		for (int tries = 0; tries < 110; tries++) {
			if (rmdir(dirs[i]) == 0 || errno != EBUSY)
				break;
			kill_members(dirs[i]);
			struct timespec ts = {0, wait_ns};
			nanosleep(&ts, NULL);
			if (wait_ns < 10 * 1000 * 1000)
				wait_ns *= 2;
		}
	}
	free(cg->mem);
	free(cg->pids);
	memset(cg, 0, sizeof *cg);
}
