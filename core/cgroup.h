/**
 * @file cgroup.h
 * One control group per thunk run, for its memory and process-count limits.
 *
 * cgroup v2 is used where our own cgroup has the memory and pids
 * controllers enabled for its children (a delegated subtree); else the v1
 * memory and pids hierarchies where we may create groups in them. A run's
 * group is "gg-PID-N" beside nothing else of ours: in our own group's
 * directory of each hierarchy. Groups left by a killed process (its PID
 * gone) are removed when the next group is made. Where neither works,
 * cgroup_run_create says so and the caller falls back to rlimits.
 *
 * It does not start or wait for processes (sandbox.c does).
 */
#ifndef GG_CGROUP_H
#define GG_CGROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct cgroup_run {
	int version;      /* 0: none (limits not enforced by a cgroup), 1 or 2 */
	char *mem, *pids; /* the group's directories (the same one for v2) */
	uint64_t mem_limit, pids_limit;
};

struct cgroup_usage {
	bool mem_hit;                 /* the kernel killed a process at the memory limit */
	bool pids_hit;                /* a fork failed at the process limit */
	uint64_t mem_peak, pids_peak; /* 0 where the kernel does not say */
};

/* Whether per-run groups can be made here (probed once). */
int cgroup_version(void);
/* Makes the run's group with the two limits. -1 with gg_last_error() set
 * (and cg->version 0) when no group can be made. */
int cgroup_run_create(uint64_t mem_limit, uint64_t pids_limit, struct cgroup_run *cg);
/* Moves pid into the group; -1 with gg_last_error() set. */
int cgroup_run_attach(const struct cgroup_run *cg, pid_t pid);
/* Whether a fork has failed at the process limit (cheap: one small read). */
bool cgroup_run_pids_hit(const struct cgroup_run *cg);
void cgroup_run_usage(const struct cgroup_run *cg, struct cgroup_usage *u);
/* Kills whatever is left in the group, waits (briefly) until it is empty
 * and removes it. */
void cgroup_run_destroy(struct cgroup_run *cg);

#endif
