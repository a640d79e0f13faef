#!/usr/bin/env bash
# ggfs killed with SIGKILL leaves no mount behind, even when its /dev/fuse
# connection outlives it for a while: fusermount3 (auto_unmount) unmounts
# only if the mount is dead by the time its socket to ggfs closes, so ggfs's
# unmount guard (a second ggfs process, child of the daemon) holds a copy of
# that socket until the connection is gone (man ggfs(1)).
#   - held rounds (3): a holder takes a copy of ggfs's /dev/fuse descriptors
#     with pidfd_getfd(2) before the kill -9 and keeps it 5 s, as a child
#     between fork and exec would for a moment; once it lets go, the mount is
#     gone within 5 s. Without the guard, fusermount3 asks the still-live
#     connection, gets ECONNABORTED, and leaves the mount (3 rounds in 3
#     when this was written; 2 in 3 on another machine).
#     pidfd_getfd needs PTRACE_MODE_ATTACH_REALCREDS over ggfs: the same uid
#     and a Yama ptrace_scope that allows it, or root (CAP_SYS_PTRACE); the
#     round fails, saying so, when that is refused;
#   - a plain kill -9: the mount is gone within 5 s;
#   - the guard runs beside a mounted ggfs (each round kills ggfs only once
#     it runs), and is gone after a normal unmount and after each kill;
#   - at the end no process of this test's mounts is left.
. "$(dirname "$0")/lib.sh"
setup "$@"
need gg ggfs fusermount3 python3 pgrep
cd "$T"
mkdir src mnt
(cd src && gg init >/dev/null && echo x >plain.txt)

cat >holder.py <<'EOF'
# holder.py PID SECONDS READY: copies PID's /dev/fuse fds, writes READY, holds them.
import ctypes, os, sys, time
pid, secs, ready = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
SYS_pidfd_getfd = 438  # x86_64 (and every architecture's generic table)
pidfd = os.pidfd_open(pid)
held = []
for name in os.listdir("/proc/%d/fd" % pid):
    try:
        if os.readlink("/proc/%d/fd/%s" % (pid, name)) != "/dev/fuse":
            continue
    except OSError:
        continue
    fd = libc.syscall(SYS_pidfd_getfd, pidfd, int(name), 0)
    if fd < 0:
        e = ctypes.get_errno()
        sys.exit("pidfd_getfd(%d, fd %s): %s (needs ptrace rights over it)" % (pid, name, os.strerror(e)))
    held.append(fd)
if not held:
    sys.exit("no /dev/fuse descriptor in process %d" % pid)
with open(ready, "w") as f:
    f.write("%d\n" % len(held))
time.sleep(secs)
EOF

guard_of() { pgrep -P "$1" -x ggfs; } # PID of ggfs: its guard's pid
guard_runs() { [ -n "$(guard_of "$1")" ]; }
unmounted() { ! grep -qs " $T/mnt " /proc/mounts; }

# Mounts in the foreground and waits for the guard: 0 with GGFS_PID and GUARD set.
mount_guarded() { # WHAT
	ggfs_mount src mnt ggfs.log || { not_ok "$1: mount"; tail ggfs.log; return 1; }
	if ! wait_for 50 guard_runs "$GGFS_PID"; then
		not_ok "$1: the unmount guard runs beside ggfs"
		tail -3 ggfs.log
		return 1
	fi
	GUARD=$(guard_of "$GGFS_PID")
	ok "$1: the unmount guard runs beside ggfs (pid $GUARD)"
}

# After a kill: the mount goes within 5 s, and the guard with it.
judge_kill() { # WHAT T0
	if wait_for 50 unmounted; then
		ok "$1: no mount is left ($(( ($(date +%s%N) - $2) / 1000000 )) ms)"
	else
		not_ok "$1: no mount is left"
		ggfs_mount_left "$T/mnt"
	fi
	check "$1: the guard is gone" wait_for 50 pid_gone "$GUARD"
}

for k in 1 2 3; do
	what="held round $k"
	mount_guarded "$what" || { ggfs_reap "$GGFS_PID"; fusermount3 -u -z mnt 2>/dev/null; continue; }
	rm -f ready
	python3 holder.py "$GGFS_PID" 5 ready 2>holder.err &
	holder=$!
	if ! wait_for 50 test -s ready; then
		not_ok "$what: the holder copies ggfs's /dev/fuse descriptors: $(cat holder.err)"
		wait "$holder"
		ggfs_umount mnt
		continue
	fi
	kill -9 "$GGFS_PID"
	wait "$GGFS_PID" 2>/dev/null
	wait "$holder" # 5 s: the connection outlives ggfs
	check "$what: the holder held $(cat ready | tr -d '\n') descriptors for 5 s" [ -z "$(cat holder.err)" ]
	judge_kill "$what" "$(date +%s%N)"
done

mount_guarded "plain kill" && {
	t0=$(date +%s%N)
	kill -9 "$GGFS_PID"
	wait "$GGFS_PID" 2>/dev/null
	judge_kill "plain kill" "$t0"
}

if mount_guarded "normal unmount"; then
	check "normal unmount: ggfs exits 0" ggfs_umount mnt
	check "normal unmount: the guard is gone" wait_for 50 pid_gone "$GUARD"
	check "normal unmount: no mount is left" unmounted
fi

left() { pgrep -f -- "$T/mnt"; }
check "no process of the mounts is left" wait_for 50 eval '[ -z "$(left)" ]'
[ -z "$(left)" ] || ps -o pid,ppid,args -p "$(left | tr '\n' ,)"
check "ggfs's log has no sanitizer report" ggfs_log_clean ggfs.log
finish
