/**
 * @file ident.c
 * The caller's identity for calls that create or change files of SOURCE.
 * With allow_other, a daemon running as root creates a user's files as that
 * user: around each such call the FUSE thread takes the caller's filesystem
 * uid and gid (setfsuid/setfsgid, which are per thread) and supplementary
 * groups (the raw setgroups syscall: glibc's wrapper changes every thread of
 * the process), so SOURCE's own filesystem applies its rules (ownership,
 * setgid directories, default ACLs, sticky directories, who may chown what)
 * exactly as for the user. The thread takes back the daemon's identity
 * before it replies, and forcing never runs under a caller's identity (reads
 * are not switched; see ops.c). A daemon that is not root cannot switch:
 * files created through the mount are then its user's.
 */
#include "fs/ggfs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Supplementary groups a caller may bring (the kernel's NGROUPS_MAX is 65536). */
#define GGFS_MAX_GROUPS 4096

void ident_init(struct ggfs *fs)
{
	fs->as_caller = geteuid() == 0;
	int n = getgroups(0, NULL);
	if (n > 0) {
		fs->groups = xcalloc((size_t)n, sizeof *fs->groups);
		n = getgroups(n, fs->groups);
	}
	fs->ngroups = n > 0 ? (size_t)n : 0;
}

void ident_free(struct ggfs *fs)
{
	free(fs->groups);
	fs->groups = NULL;
	fs->ngroups = 0;
}

/* The daemon's own filesystem identity back (this thread only). */
static void restore(struct ggfs *fs)
{
	syscall(SYS_setgroups, fs->ngroups, fs->groups);
	setfsgid(getegid());
	setfsuid(geteuid());
}

int ident_enter(struct ggfs *fs, fuse_req_t req)
{
	if (!fs->as_caller)
		return 0;
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	gid_t stack[64], *groups = stack;
	int n = fuse_req_getgroups(req, (int)GG_ARRAY_LEN(stack), stack);
	if (n > (int)GG_ARRAY_LEN(stack)) {
		int room = n < GGFS_MAX_GROUPS ? n : GGFS_MAX_GROUPS;
		groups = xcalloc((size_t)room, sizeof *groups);
		/* The count of all the caller's groups, which may be more than
		 * were stored (over the limit, or gained since the first ask). */
		n = fuse_req_getgroups(req, room, groups);
		if (n > room)
			n = room;
	}
	/* Unknown (the caller exited, another pid namespace): its primary
	 * group only, which can only allow less. */
	if (n < 0)
		n = 0;
	int err = 0;
	if (syscall(SYS_setgroups, (size_t)n, groups) < 0)
		err = errno;
	if (groups != stack)
		free(groups);
	/* setfsuid reports no error: ask again what it is now. */
	if (!err) {
		setfsgid(ctx->gid);
		setfsuid(ctx->uid);
		if ((gid_t)setfsgid((gid_t)-1) != ctx->gid ||
		    (uid_t)setfsuid((uid_t)-1) != ctx->uid)
			err = EPERM;
	}
	if (err) {
		restore(fs);
		ggfs_log(FUSE_LOG_ERR, "cannot take the identity of uid %u gid %u: %s",
		         (unsigned)ctx->uid, (unsigned)ctx->gid, strerror(err));
		return err;
	}
	return 0;
}

void ident_leave(struct ggfs *fs)
{
	if (fs->as_caller)
		restore(fs);
}

bool ident_is_other(struct ggfs *fs, fuse_req_t req)
{
	uid_t uid = fuse_req_ctx(req)->uid;
	return uid != fs->uid && uid != 0;
}
