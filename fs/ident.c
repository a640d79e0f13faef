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
 *
 * Set-ID bits: a write, truncation or O_TRUNC open by a caller without
 * CAP_FSETID clears a file's set-user-ID bit (and set-group-ID, if group
 * execute is set). The kernel leaves that to ggfs (FUSE_HANDLE_KILLPRIV_V2,
 * backing.c) and says which requests come from such a caller (a flag that
 * backing.c's io_read sees and notes here). ggfs then makes the call
 * without CAP_FSETID itself, so SOURCE's filesystem clears the bits as it
 * would for the caller (as virtiofsd does). Capabilities are per thread.
 */
#include "fs/ggfs.h"

#include <errno.h>
#include <linux/capability.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
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

/* Does the request this thread read last come from a caller without
 * CAP_FSETID (ident_note_kills)? Was CAP_FSETID dropped (drop_fsetid)? */
static __thread bool request_kills, fsetid_dropped;

void ident_note_kills(bool kills)
{
	request_kills = kills;
}

bool ident_noted_kills(void)
{
	return request_kills;
}

/* This thread's capability sets: 0 or an errno. */
static int caps(struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3], bool set)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	return syscall(set ? SYS_capset : SYS_capget, &h, d) < 0 ? errno : 0;
}

#define FSETID_BIT (UINT32_C(1) << (CAP_FSETID % 32))

/* CAP_FSETID out of this thread's effective set: 0, or an errno (the call
 * must not be made then: it would keep set-ID bits). */
static int drop_fsetid(void)
{
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	memset(d, 0, sizeof d);
	int err = caps(d, false);
	if (err || fsetid_dropped || !(d[CAP_FSETID / 32].effective & FSETID_BIT))
		return err;
	d[CAP_FSETID / 32].effective &= ~FSETID_BIT;
	err = caps(d, true);
	fsetid_dropped = err == 0;
	return err;
}

static void raise_fsetid(void)
{
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	memset(d, 0, sizeof d);
	if (fsetid_dropped && caps(d, false) == 0) {
		d[CAP_FSETID / 32].effective |= FSETID_BIT;
		caps(d, true);
	}
	fsetid_dropped = false;
}

/* ggfs's own user namespace, looked up once: a process with threads cannot
 * change it (setns and unshare of a user namespace refuse them). */
static struct stat own_ns;
static bool own_ns_known;
static pthread_once_t own_ns_once = PTHREAD_ONCE_INIT;

static void own_ns_look_up(void)
{
	own_ns_known = stat("/proc/self/ns/user", &own_ns) == 0;
}

/* Is pid in ggfs's own user namespace? A capability held in another
 * (`unshare -U -r` gives an unprivileged user all of them there) is no
 * capability over ggfs's files. */
static bool in_own_user_ns(pid_t pid)
{
	char path[64];
	struct stat theirs;
	pthread_once(&own_ns_once, own_ns_look_up);
	snprintf(path, sizeof path, "/proc/%d/ns/user", (int)pid);
	return own_ns_known && stat(path, &theirs) == 0 && theirs.st_dev == own_ns.st_dev &&
	       theirs.st_ino == own_ns.st_ino;
}

/*
 * Does the caller hold CAP_FSETID? Asked of the thread that made the request
 * (capabilities are per thread) with one system call: 6 us here, where
 * reading its /proc status took 53. Only in ggfs's user namespace. False
 * when that cannot be asked (the caller is gone, or in a pid namespace ggfs
 * cannot see: pid 0, which to capget would mean ggfs itself): clearing is
 * the safe side.
 */
bool ident_caller_has_fsetid(fuse_req_t req)
{
	pid_t pid = fuse_req_ctx(req)->pid;
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = pid};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	memset(d, 0, sizeof d);
	return pid > 0 && syscall(SYS_capget, &h, d) == 0 &&
	       (d[CAP_FSETID / 32].effective & FSETID_BIT) && in_own_user_ns(pid);
}

/* The daemon's own filesystem identity back (this thread only). */
static void restore(struct ggfs *fs)
{
	syscall(SYS_setgroups, fs->ngroups, fs->groups);
	setfsgid(getegid());
	setfsuid(geteuid());
	raise_fsetid();
}

int ident_may_change(struct ggfs *fs, fuse_req_t req)
{
	/* Another user's file would be the daemon user's: the owner's, taken
	 * for the owner's placeholder (a way into the owner's store), and not
	 * that user's to chmod. Other users only read. */
	if (fs->as_caller || !ident_is_other(fs, req))
		return 0;
	if (!__atomic_exchange_n(&fs->told_others_read_only, true, __ATOMIC_RELAXED))
		ggfs_log(FUSE_LOG_NOTICE,
		         "uid %u may not create or change files here: the daemon does not run as "
		         "root, so it cannot do it as them (other users only read; said once)",
		         (unsigned)fuse_req_ctx(req)->uid);
	return EACCES;
}

int ident_enter(struct ggfs *fs, fuse_req_t req)
{
	if (!fs->as_caller)
		return ident_may_change(fs, req);
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
	/* After setfsuid, which drops CAP_FSETID for a caller other than
	 * root, and gives it back when going back to root. */
	if (!err && request_kills)
		err = drop_fsetid();
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

int ident_data_begin(struct ggfs *fs, fuse_req_t req, int fd, bool flagged)
{
	struct stat st;
	if (fstat(fd, &st) < 0 || !(st.st_mode & (S_ISUID | S_ISGID)))
		return 0;
	bool kills = !flagged            ? !ident_caller_has_fsetid(req)
	             : fs->sees_requests ? request_kills
	                                 : fuse_req_ctx(req)->uid != 0;
	if (!kills)
		return 0;
	int err = ident_enter(fs, req);
	if (!err) {
		err = drop_fsetid();
		if (err)
			ident_leave(fs);
	}
	return err ? -err : 1;
}

void ident_data_end(struct ggfs *fs, int entered)
{
	if (entered > 0)
		ident_leave(fs);
}

bool ident_is_other(struct ggfs *fs, fuse_req_t req)
{
	uid_t uid = fuse_req_ctx(req)->uid;
	return uid != fs->uid && uid != 0;
}
