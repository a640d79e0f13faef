#!/usr/bin/env bash
# Cancelling: SIGINT to `gg force` kills its running thunks, says what
# finished and exits 130, leaving no sandboxed process and the placeholders
# as they were, and a later force works; SIGTERM to `ggfs` during a force
# that would never end kills the thunk, unmounts and exits, while the mount
# answered other requests until then. Leftover processes are found by a
# marker in the thunks' environment (/proc/*/environ). Bounded waits only
# guard against a hang; times are printed.
. "$(dirname "$0")/lib.sh"
setup "$@"
need gg ggfs fusermount3 cc timeout mountpoint
ggfs_helpers || { not_ok "compile the test helpers"; finish; }
cd "$T"
marker="GG_CANCEL_TEST=$$.$RANDOM"

some_marked() { [ -n "$(marked "$marker")" ]; }
none_marked() { [ -z "$(marked "$marker")" ]; }

mkdir src
(cd src && gg init >/dev/null && echo x >plain.txt)
stuck() { # NAME: a placeholder whose thunk sleeps for 10 minutes
	(cd src && gg thunk -e "$marker" -o "$1" --placeholder "$1" -- "$T/helpers/slowrand" "$1" 600000 >/dev/null)
}
stuck a.txt
stuck b.txt
(cd src && gg thunk -o quick.txt --placeholder quick.txt -- "$T/helpers/slowrand" quick.txt 1 >/dev/null)
cp src/a.txt a.before

# ---- gg force and SIGINT ----
(cd src && exec timeout -s KILL 120 gg force --no-progress -j 2 a.txt b.txt 2>"$T/force.err") &
force=$!
check "both thunks start" wait_for 300 some_marked
t0=$(date +%s%N)
kill -INT "$(pgrep -P $force gg || echo $force)"
wait $force
rc=$?
echo "gg force ended $(( ($(date +%s%N) - t0) / 1000000 )) ms after SIGINT, exit $rc: $(cat force.err)"
check "SIGINT: gg force exits with 130" [ "$rc" = 130 ]
check "... saying it was cancelled and what finished before" grep -q "gg: cancelled; before that: executed 0" force.err
check "... each target failed as cancelled" grep -q "a.txt: cancelled" force.err
check "... no thunk process is left" wait_for 20 none_marked
check "... the placeholder is unchanged" cmp -s a.before src/a.txt
check "... no run directory is left in the store" [ -z "$(ls src/.gg/tmp 2>/dev/null | grep -v '^\.' )" ]
(cd src && timeout 60 gg force --no-progress quick.txt)
check "a later force works" [ "$(wc -c <src/quick.txt)" = 33 ]

# ---- gg force started ignoring SIGINT and SIGHUP ----
# (as a script's background job ignores SIGINT, and nohup SIGHUP; no
# timeout(1) in between: it would give the signals back their defaults)
# A hangup leaves it running; SIGINT still cancels it.
stuck c.txt
(cd src && exec python3 -c 'import os, signal, sys
for s in (signal.SIGINT, signal.SIGHUP): signal.signal(s, signal.SIG_IGN)
os.execvp(sys.argv[1], sys.argv[1:])' gg force --no-progress c.txt 2>"$T/ignoring.err") &
ignoring=$!
at_exit "kill -9 $ignoring"
check "ignoring SIGINT and SIGHUP: its thunk starts" wait_for 300 some_marked
kill -HUP "$ignoring"
sleep 1
check "... a hangup leaves the force running (nohup)" eval "! pid_gone $ignoring"
kill -INT "$ignoring"
if wait_for 300 pid_gone "$ignoring"; then
	wait "$ignoring"
	rc=$?
else
	kill -9 "$ignoring"
	rc="still running 30 s after"
fi
check "... SIGINT still cancels it (130; got $rc)" [ "$rc" = 130 ]
check "... no thunk process is left" wait_for 20 none_marked

# ---- a reader killed while its open forces (FUSE_INTERRUPT) ----
# The force stops when nobody else waits for it; another reader of the same
# placeholder, or of another placeholder of the same thunk, keeps it alive.
ggfs_mount src mnt ggfs.log -d || { not_ok "mount"; finish; }
stuck_m() { # NAME MARK [PLACEHOLDER]: like stuck, its own marker
	(cd src && gg thunk -e "$marker.$2" -o "$1" --placeholder "${3:-$1}" -- "$T/helpers/slowrand" "$1" 600000 >/dev/null)
}
runs() { [ -n "$(marked "$marker.$1")" ]; }
still() { [ -n "$2" ] && [ "$(marked "$marker.$1")" = "$2" ]; } # MARK PIDS: the same processes run
kill_reader() { kill -9 "$1" && wait "$1" 2>/dev/null; } # quietly: no "Killed" line
gone_m() { [ -z "$(marked "$marker.$1")" ]; }
stuck_m c.txt c
cat mnt/c.txt >/dev/null 2>&1 &
r1=$!
check "killed reader: the open starts the thunk" wait_for 300 runs c
t0=$(date +%s%N)
kill_reader $r1
check "... killed alone: its thunk is gone" wait_for 100 gone_m c
echo "the thunk was gone $(( ($(date +%s%N) - t0) / 1000000 )) ms after the reader was killed"
check "... the mount says it withdrew the force" grep -q "nobody else waits: its force is withdrawn" ggfs.log
cat mnt/c.txt >/dev/null 2>&1 &
r1=$!
check "... a later open starts it again" wait_for 300 runs c
kill_reader $r1
check "... and that one is withdrawn as well" wait_for 100 gone_m c

stuck_m d.txt d
cat mnt/d.txt >/dev/null 2>&1 &
r1=$!
check "two readers: the thunk starts" wait_for 300 runs d
cat mnt/d.txt >d2.out 2>&1 &
r2=$!
sleep 0.5
pids=$(marked "$marker.d")
kill_reader $r1
sleep 2
check "... one killed: the other's force goes on (the same process: $pids)" still d "$pids"
check "... and the other still waits" kill -0 $r2
kill_reader $r2
check "... the last killed: the thunk is gone" wait_for 100 gone_m d

# two placeholders of one thunk: two requests to the scheduler
stuck_m e.txt e e1.txt
stuck_m e.txt e e2.txt
cat mnt/e1.txt >/dev/null 2>&1 &
r1=$!
check "two placeholders of one thunk: it starts" wait_for 300 runs e
cat mnt/e2.txt >/dev/null 2>&1 &
r2=$!
sleep 0.5
pids=$(marked "$marker.e")
kill_reader $r1
sleep 2
check "... the first reader killed: the thunk goes on for the second (the same process: $pids)" \
	still e "$pids"
kill_reader $r2
check "... the second killed: the thunk is gone" wait_for 100 gone_m e
check "the mount answers afterwards" [ "$(timeout 20 cat mnt/plain.txt)" = x ]
fusermount3 -u mnt
wait "$GGFS_PID"

# ---- ggfs and SIGTERM during a force that never ends ----
ggfs_mount src mnt ggfs.log || { not_ok "mount"; finish; }
cat mnt/a.txt >reader.out 2>reader.err &
reader=$!
check "reading a stuck placeholder starts its thunk" wait_for 300 some_marked
check "the mount answers other requests meanwhile" [ "$(timeout 20 cat mnt/plain.txt)" = x ]
t0=$(date +%s%N)
kill -TERM "$GGFS_PID"
gone() { ! kill -0 "$GGFS_PID" 2>/dev/null; }
check "SIGTERM: ggfs exits" wait_for 300 gone
echo "ggfs ended $(( ($(date +%s%N) - t0) / 1000000 )) ms after SIGTERM"
check "... unmounted" wait_for 50 eval '! mountpoint -q mnt'
check "... no thunk process is left" wait_for 20 none_marked
wait $reader
check "... the reader got an error, not bytes" [ ! -s reader.out ]
tail -5 ggfs.log
finish
