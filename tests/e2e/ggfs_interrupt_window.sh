#!/usr/bin/env bash
# ggfs: an open interrupted before ggfs registered its interrupt callback.
# libfuse then calls the callback inside fuse_req_interrupt_func, holding
# the request's mutex; a reply from there would free the request (its last
# reference) before that mutex is unlocked. Made to happen on demand: gdb
# holds the open's thread at the registration while the reader is killed
# and the FUSE_INTERRUPT is handled. The reader must end, the daemon go on (under AddressSanitizer: no
# use after free in its log), and the placeholder then read as its output.
. "$(dirname "$0")/lib.sh"
setup "${1:-}"
need gg ggfs fusermount3 gdb cat
cd "$T"
mkdir src
# a force of a second or so: a shell loop, as the sandbox has no sleep
(cd src && gg init >/dev/null &&
	gg thunk -o out --placeholder slow -- \
		sh -c 'i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; echo slow > out' >/dev/null)
ggfs_mount src mnt ggfs.log || { not_ok "mount"; finish; }

# At the registration: the reader is killed, and the thread waits in
# usleep while the others run (an inferior call resumes them all) and
# handle the FUSE_INTERRUPT; then the thread goes on, and the backtrace of
# the reply to that request shows who answered it. (AddressSanitizer cannot
# see the use after free: it happens in libfuse, which is not instrumented.)
cat >gdb.cmds <<GDB
set pagination off
set confirm off
handle SIGUSR1 SIGUSR2 SIGPIPE SIGCHLD nostop noprint pass
break fuse_req_interrupt_func if \$rsi == on_interrupt
break fuse_reply_err if \$rdi == \$req
disable 2
commands 1
silent
set \$req = \$rdi
shell kill -TERM \$(cat $T/reader.pid)
call (int)usleep(500000)
shell echo stopped >$T/window.seen
enable 2
continue
end
commands 2
silent
echo reply:\\n
bt
detach
quit
end
continue
GDB
gdb -q -batch -x gdb.cmds -p "$GGFS_PID" >gdb.log 2>&1 &
gdb_pid=$!
for i in $(seq 100); do
	grep -q '^Breakpoint 1 at' gdb.log && break
	sleep 0.1
done
check "gdb holds the daemon's open at its interrupt registration" grep -q '^Breakpoint 1 at' gdb.log
sleep 0.3
sh -c 'echo $$ >reader.pid; exec cat mnt/slow' >reader.out 2>reader.err &
reader=$!
for i in $(seq 100); do
	[ -e window.seen ] && break
	sleep 0.1
done
check "the reader was killed while its open was held there" [ -e window.seen ]
timeout 20 tail --pid="$gdb_pid" -f /dev/null || kill -CONT "$GGFS_PID"
timeout 20 tail --pid="$reader" -f /dev/null
wait "$reader"
rc=$?
sed -n '/^reply:/,$p' gdb.log | grep '^#' | head -n 4 | sed 's/^/# /'
check "the reader ended by its signal (status $rc)" [ "$rc" = 143 ]
check "its open was answered (EINTR) after the registration, not from inside it" \
	sh -c "sed -n '/^reply:/,\$p' gdb.log | grep -q '^#0 .*fuse_reply_err' &&
		! sed -n '/^reply:/,\$p' gdb.log | grep -q fuse_req_interrupt_func"
check "the daemon is still serving" kill -0 "$GGFS_PID"
check "the placeholder then reads as its output" [ "$(timeout 20 cat mnt/slow)" = slow ]
check "fusermount3 -u: the daemon exits 0" ggfs_umount mnt
check "ggfs log has no sanitizer report" ggfs_log_clean ggfs.log
finish
