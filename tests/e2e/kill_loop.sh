#!/usr/bin/env bash
# kill -9 of `gg force` and of `ggfs` at random moments of a multi-thunk force
# ($GG_KILLS times each; 3 here, 50 in tests/slow): every time, no thunk
# process is alive 2 s later (found by a marker in the thunks' environment,
# /proc/*/environ), the killed ggfs left no mount behind (within 5 s), the next command
# removes the killed run's directories from .gg/tmp while a concurrent
# force's directory stays (and that force runs on), and forcing the same
# quick targets again gives correct outputs. Every other round runs --no-sandbox.
# Bounded waits only guard against a hang; times are printed.
. "$(dirname "$0")/lib.sh"
setup "$@"
need gg ggfs fusermount3 cc timeout mountpoint
ggfs_helpers || { not_ok "compile the test helpers"; finish; }
kills=${GG_KILLS:-3}
cd "$T"
marker="GG_KILL_TEST=$$.$RANDOM"
live_marker="GG_KILL_LIVE=$$.$RANDOM"

none_marked() { [ -z "$(marked "$marker")" ]; }
live_running() { [ -n "$(marked "$live_marker")" ]; }
run_dirs() { ls src/.gg/tmp 2>/dev/null | grep '^run-' | grep -v '\.' | sort | tr '\n' ' '; }
rand_ms() { echo $((RANDOM % $1)); }

mkdir src
(cd src && gg init >/dev/null && echo x >plain.txt)

# A concurrent force that lasts the whole test: its run directory must survive.
(cd src && gg thunk -e "$live_marker" -o live.txt --placeholder live.txt -- \
	"$T/helpers/slowrand" live.txt 600000 >/dev/null)
(cd src && exec timeout -s KILL 900 gg force --no-progress live.txt >"$T/live.log" 2>&1) &
live=$!
at_exit "kill -INT $live; pkill -INT -P $live"
check "the concurrent force starts its thunk" wait_for 300 live_running
live_dir=$(run_dirs)
echo "# the concurrent force runs in $live_dir"

# Round K's thunks (new ones each round: ITER is part of the thunk): two
# quick ones and two that would run for 10 minutes.
make_thunks() { # K
	local i ms
	for i in 1 2 3 4; do
		ms=$((50 + $(rand_ms 700)))
		[ "$i" -le 2 ] || ms=600000
		(cd src && gg thunk -e "$marker" -e "ITER=$1" -o "t$i" --placeholder "r$1-t$i" -- \
			"$T/helpers/slowrand" "t$i" "$ms" >/dev/null)
	done
}
targets() { echo "r$1-t1 r$1-t2 r$1-t3 r$1-t4"; }
quick_targets() { echo "r$1-t1 r$1-t2"; }
outputs_right() { # K: each quick target forced to 32 hex digits
	local f
	for f in $(quick_targets "$1"); do
		grep -qx '[0-9a-f]\{32\}' "src/$f" || return 1
	done
}

# After a kill: processes, stale directories, the concurrent force, a later force.
after_kill() { # WHAT K
	local what=$1 k=$2 t0
	t0=$(date +%s%N)
	if wait_for 20 none_marked; then
		ok "$what $k: no thunk process left ($(( ($(date +%s%N) - t0) / 1000000 )) ms)"
	else
		not_ok "$what $k: thunk processes left 2 s later: $(marked "$marker" | tr '\n' ' ')"
		kill -9 $(marked "$marker") 2>/dev/null
	fi
	(cd src && gg describe "r$k-t1" >/dev/null 2>"$T/next.err") # the next command
	[ "$(run_dirs)" = "$live_dir" ] && ok "$what $k: the next command removed the stale run directories" ||
		not_ok "$what $k: run directories after the next command: '$(run_dirs)', want '$live_dir'"
	live_running && ok "$what $k: the concurrent force runs on" ||
		not_ok "$what $k: the concurrent force's thunk is gone"
	(cd src && timeout 120 gg force --no-progress $(quick_targets "$k") 2>"$T/later.err")
	outputs_right "$k" && ok "$what $k: a later force is correct" ||
		not_ok "$what $k: a later force: $(cat "$T/later.err")"
}

sandbox_opt() { [ $(($1 % 2)) = 0 ] && echo "$2"; } # K OPTION: every other round

for k in $(seq "$kills"); do
	make_thunks "f$k"
	(cd src && exec gg force --no-progress -j 4 $(sandbox_opt "$k" --no-sandbox) \
		$(targets "f$k") >/dev/null 2>&1) &
	pid=$!
	ms=$(rand_ms 900)
	sleep "$(printf '0.%03d' "$ms")"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	echo "# gg force $k killed after $ms ms"
	after_kill "gg force" "f$k"
done

mkdir mnt
for k in $(seq "$kills"); do
	make_thunks "m$k"
	ggfs -f $(sandbox_opt "$k" "-o no_sandbox") src mnt 2>>ggfs.log &
	GGFS_PID=$!
	at_exit "fusermount3 -u -z '$T/mnt'"
	at_exit "ggfs_reap $GGFS_PID"
	ggfs_wait_mounted mnt "$GGFS_PID" || { not_ok "ggfs $k: mount"; tail ggfs.log; break; }
	# The unmount guard (a child named ggfs) is forked just after the
	# mount; a kill before it is not what this test judges.
	guard_runs() { [ -n "$(pgrep -P "$GGFS_PID" -x ggfs)" ]; }
	wait_for 50 guard_runs || not_ok "ggfs $k: its unmount guard runs"
	readers=()
	for f in $(targets "m$k"); do
		cat "mnt/$f" >/dev/null 2>&1 &
		readers+=($!)
	done
	ms=$(rand_ms 900)
	sleep "$(printf '0.%03d' "$ms")"
	kill -9 "$GGFS_PID"
	wait "$GGFS_PID" 2>/dev/null
	echo "# ggfs $k killed after $ms ms"
	unmounted() { ! grep -qs " $T/mnt " /proc/mounts; }
	# 5 s: the unmount guard waits for the connection to die (a thunk's
	# first process between fork and exec may hold /dev/fuse a moment).
	if wait_for 50 unmounted; then
		ok "ggfs $k: no mount is left"
	else
		not_ok "ggfs $k: no mount is left"
		ggfs_mount_left "$T/mnt" # and who held it; later rounds are judged alone
	fi
	for r in "${readers[@]}"; do wait "$r" 2>/dev/null; done
	after_kill "ggfs" "m$k"
done

# The concurrent force still finishes cleanly when cancelled, and a mount works.
ggfs_mount src mnt ggfs.log || not_ok "a last mount"
check "a last mount reads a forced target" grep -qx '[0-9a-f]\{32\}' "mnt/rf1-t1"
ggfs_umount mnt
check "the concurrent force was still running at the end" live_running
finish
