#!/usr/bin/env bash
# A lease on a file of SOURCE (fcntl F_SETLEASE, as Samba or an NFS server
# takes one, or any owner of the file) holds an open of it through the
# mount until the holder lets go, as on the directory itself; but only that
# open: with one FUSE thread, the rest of the mount still answers meanwhile
# (the open waits on a thread of its own). Before, a user with a lease on a
# file of its own and as many opens of it as the mount has threads stalled
# the mount for everyone for the lease-break time (45 s). So does a
# truncation by path.
. "$(dirname "$0")/lib.sh"
setup "$@"
need fusermount3 python3 timeout
check "leases are on (/proc/sys/fs/leases-enable)" [ "$(cat /proc/sys/fs/leases-enable)" = 1 ]
cd "$T"
mkdir -p src
(cd src && gg init >/dev/null)
echo leased >src/leased
echo other >src/other
ggfs_mount src mnt ggfs.log -o max_threads=1
tasks() { ls "/proc/$GGFS_PID/task" | wc -l; }
tasks0=$(tasks) # the mount's threads before any open waits for a lease
# The holder takes a read lease (once no writer has the file open: the
# mount lets its file go when the kernel says so, a moment after the
# writer closed it), says so, and keeps it (the lease-break signal
# ignored) until told to let go.
cat >holder.py <<'EOF'
import fcntl, os, signal, sys, time
signal.signal(signal.SIGIO, signal.SIG_IGN)
fd = os.open(sys.argv[1], os.O_RDONLY)
for _ in range(400):
    try:
        fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_RDLCK)
        break
    except BlockingIOError:
        time.sleep(0.05)
else:
    sys.exit("no lease")
open(sys.argv[2], "w").close()
while not os.path.exists(sys.argv[3]):
    time.sleep(0.02)
fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_UNLCK)
EOF
python3 holder.py src/leased ready release &
holder=$!
at_exit "touch '$T/release'; kill $holder 2>/dev/null"
wait_for() { # what, then a command that says when
	local what=$1 i
	shift
	for i in $(seq 400); do
		"$@" && return 0
		sleep 0.05
	done
	echo "never: $what" >&2
	return 1
}
check "the holder has its lease" wait_for "the lease" test -e ready
# A writer (which a read lease is in the way of) opens through the mount.
(
	echo written >>mnt/leased
	echo $? >writer.rc
) &
ino=$(stat -c %i src/leased)
breaking() { grep -q "LEASE  *BREAKING .*:$ino " /proc/locks; }
check "the writer's open asks the holder to let go" wait_for "the lease breaking" breaking
check "... and waits" [ ! -e writer.rc ]
check "meanwhile the mount answers another open" sh -c "[ \"\$(timeout 20 cat mnt/other)\" = other ]"
check "... and a listing" sh -c "timeout 20 ls mnt | grep -q other"
check "... while the writer still waits" [ ! -e writer.rc ]
touch release
check "once the holder lets go, the writer's open goes on" wait_for "the writer" test -e writer.rc
check "... and writes" [ "$(cat writer.rc)" = 0 ]
check "... into SOURCE's file" [ "$(cat src/leased)" = "$(printf 'leased\nwritten')" ]
# An open that asks not to wait is told so, as on the directory.
python3 holder.py src/leased ready2 release2 &
holder2=$!
at_exit "touch '$T/release2'; kill $holder2 2>/dev/null"
check "a second holder has its lease" wait_for "the lease" test -e ready2
check "an O_NONBLOCK writer gets EWOULDBLOCK" python3 -c '
import errno, os, sys
try:
    os.open(sys.argv[1], os.O_WRONLY | os.O_NONBLOCK)
except OSError as e:
    sys.exit(0 if e.errno == errno.EWOULDBLOCK else 1)
sys.exit(1)' mnt/leased
touch release2
wait $holder2 2>/dev/null
# A truncation by path (truncate(2), which a lease is in the way of as of
# an open for writing) waits on a thread of its own too.
python3 holder.py src/leased ready3 release3 &
holder3=$!
at_exit "touch '$T/release3'; kill $holder3 2>/dev/null"
check "a third holder has its lease" wait_for "the lease" test -e ready3
(
	python3 -c 'import os, sys; os.truncate(sys.argv[1], 3)' mnt/leased
	echo $? >truncate.rc
) &
check "a truncation by path asks the holder to let go" wait_for "the lease breaking" breaking
check "meanwhile the mount answers a listing" sh -c "timeout 20 ls mnt | grep -q other"
check "... while the truncation still waits" [ ! -e truncate.rc ]
touch release3
check "once the holder lets go, the truncation goes on" wait_for "the truncation" test -e truncate.rc
check "... and truncates SOURCE's file" [ "$(cat truncate.rc):$(cat src/leased)" = 0:lea ]
# A writer killed while its open waits its turn (every waiting thread,
# 4, busy with a writer before it) is gone at once, not after a lease-break
# (45 s): the interrupt takes its open out of the queue.
python3 holder.py src/leased ready4 release4 &
holder4=$!
at_exit "touch '$T/release4'; kill $holder4 2>/dev/null"
check "a fourth holder has its lease" wait_for "the lease" test -e ready4
writers=
for i in 1 2 3 4; do
	python3 -c 'import sys; open(sys.argv[1], "a")' mnt/leased &
	writers="$writers $!"
done
at_exit "kill $writers 2>/dev/null"
check "four writers wait, each on a thread of its own" wait_for "4 waiting threads" \
	sh -c "[ \$(ls /proc/$GGFS_PID/task | wc -l) -eq $((tasks0 + 4)) ]"
python3 -c 'import sys; open(sys.argv[1], "a")' mnt/leased &
fifth=$!
sleep 1 # its open reaches the mount (killed before, the kernel drops it alone)
kill -9 $fifth
gone() { [ ! -d "/proc/$1" ] || grep -q '^State:.*Z' "/proc/$1/status"; }
check "a fifth writer, killed while its open waits its turn, is gone at once" \
	wait_for "the killed writer gone" gone $fifth
check "... while the four still wait" sh -c "for p in $writers; do kill -0 \$p || exit 1; done"
touch release4
check "once the holder lets go, the four go on" wait_for "the four writers" \
	sh -c "for p in $writers; do ! kill -0 \$p 2>/dev/null || exit 1; done"
finish
