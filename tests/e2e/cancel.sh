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
