#!/usr/bin/env bash
# ggfs: a CREATE only creates. The kernel sends CREATE for a name its
# LOOKUP did not find; the name may exist by the time ggfs handles it (made
# behind the mount in between). Made to happen on demand: gdb stops the
# daemon at gg_create and makes the name in SOURCE, then lets it go on. The
# open must then behave as an open of the existing file does: a hard link
# to a placeholder whose output is being read is not truncated under its
# reader (ETXTBSY after 2 s, the file untouched); a symlink is not followed
# with O_NOFOLLOW (ELOOP, its target untouched) and followed without it; a
# FIFO is opened as a FIFO.
. "$(dirname "$0")/lib.sh"
setup "${1:-}"
need gg ggfs fusermount3 gdb python3 cmp
cd "$T"
mkdir src
(cd src && gg init >/dev/null &&
	gg thunk -o out --placeholder p -- sh -c 'echo forced > out' >/dev/null && cp p ../p.ph)
printf 'target\n' >src/target
ggfs_mount src mnt ggfs.log || { not_ok "mount"; finish; }

# in_window SCRIPT PYTHON: runs PYTHON (an open through the mount) while gdb
# runs SCRIPT (sh) when the daemon reaches gg_create, then detaches.
in_window() {
	cat >gdb.cmds <<GDB
set pagination off
set confirm off
handle SIGUSR1 SIGUSR2 SIGPIPE SIGCHLD nostop noprint pass
break gg_create
commands
silent
shell sh $T/behind.sh
detach
quit
end
continue
GDB
	printf '%s\n' "$1" >behind.sh
	gdb -q -batch -x gdb.cmds -p "$GGFS_PID" >gdb.log 2>&1 &
	local gdb_pid=$! i
	for i in $(seq 100); do
		grep -q '^Breakpoint 1 at' gdb.log && break
		sleep 0.1
	done
	grep -q '^Breakpoint 1 at' gdb.log || { echo "# gdb did not stop at gg_create: $(tail -n 3 gdb.log)"; kill "$gdb_pid"; return 1; }
	sleep 0.3
	python3 -c "$2"
	local rc=$?
	wait "$gdb_pid"
	return $rc
}

exec 3<mnt/p
check "the placeholder's output is being read" [ "$(head -c 7 <&3)" = forced ]
check "a hard link to it made in the window: O_CREAT|O_TRUNC fails ETXTBSY after waiting" \
	in_window "ln $T/src/p $T/src/l1" '
import errno, os, sys, time
t0 = time.time()
try:
    os.open("mnt/l1", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    sys.exit("# opened")
except OSError as e:
    print("# %s after %.1f s" % (errno.errorcode[e.errno], time.time() - t0))
    sys.exit(not (e.errno == errno.ETXTBSY and time.time() - t0 >= 1.5))'
check "... and the placeholder is untouched" cmp src/p p.ph
exec 3<&-
check "... which reads as its output" [ "$(cat mnt/p)" = forced ]
check "a symlink made in the window: O_CREAT|O_TRUNC|O_NOFOLLOW fails ELOOP" \
	in_window "ln -s target $T/src/s1" '
import errno, os, sys
try:
    os.open("mnt/s1", os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    sys.exit("# opened")
except OSError as e:
    print("# %s" % errno.errorcode[e.errno])
    sys.exit(e.errno != errno.ELOOP)'
check "... and its target is untouched" [ "$(cat src/target)" = target ]
check "a symlink made in the window: O_CREAT|O_TRUNC follows it and truncates the target" \
	in_window "ln -s target $T/src/s2" '
import os
fd = os.open("mnt/s2", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, b"new\n")
st = os.fstat(fd)
os.close(fd)
print("# fstat size %d" % st.st_size)'
check "... into the target, and the link stays a link" sh -c '[ "$(cat src/target)" = new ] && [ -L mnt/s2 ] && [ "$(readlink mnt/s2)" = target ]'
check "a plain file made in the window: O_CREAT|O_EXCL fails EEXIST" \
	in_window "echo x >$T/src/e1" '
import errno, os, sys
try:
    os.open("mnt/e1", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    sys.exit("# opened")
except OSError as e:
    sys.exit(e.errno != errno.EEXIST)'
check "a FIFO made in the window: O_CREAT|O_WRONLY|O_NONBLOCK fails ENXIO (no reader), as on a directory" \
	in_window "mkfifo $T/src/f1" '
import errno, os, sys
try:
    os.open("mnt/f1", os.O_WRONLY | os.O_CREAT | os.O_NONBLOCK, 0o644)
    sys.exit("# opened")
except OSError as e:
    print("# %s" % errno.errorcode[e.errno])
    sys.exit(e.errno != errno.ENXIO)'
check "... and it stays a FIFO" [ -p src/f1 ]
check "a new name is created as usual (mode kept, set-ID bits too)" python3 -c '
import os, stat, sys
os.umask(0o022)
fd = os.open("mnt/n1", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o4755)
os.close(fd)
m = os.stat("src/n1").st_mode
print("# %o" % m)
sys.exit(stat.S_IMODE(m) != 0o4755)'
check "fusermount3 -u: the daemon exits 0" ggfs_umount mnt
check "ggfs log has no sanitizer report" ggfs_log_clean ggfs.log
finish
