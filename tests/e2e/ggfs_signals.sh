#!/usr/bin/env bash
# ggfs and the stop signals (SIGINT, SIGTERM, SIGHUP):
# - a signal ggfs was started ignoring (nohup; a script's background job
#   ignores SIGINT) stays ignored: it neither ends the mount nor cancels
#   forces;
# - as a daemon, the command that waits for the daemon's set-up ends with
#   the signal sent to it, and only it: the daemon mounts, serves and forces
#   ("cancelled" nowhere); a signal that command was started ignoring it
#   keeps ignoring, and it then reports the set-up's outcome;
# - the daemon's fork holds the signals: one that reaches the caller while
#   fork() returns (strace delays it) runs no handler of ggfs's in either
#   process, so the daemon's forces are not cancelled.
# The daemon's set-up is held without timing: the shared cache's S3
# credentials come from a FIFO that the test writes when it chooses.
. "$(dirname "$0")/lib.sh"
setup "${1:-}"
need gg ggfs fusermount3 python3 strace timeout
cd "$T"

mkdir src
(cd src && gg init >/dev/null && printf 'b\na\n' >in.txt)
n=0 seen=
new_placeholder() { # prints the name of a new placeholder: sort of in.txt
	n=$((n + 1))
	(cd src && gg thunk -i in.txt -o "out$n.txt" --placeholder "out$n.txt" -- sort -o "out$n.txt" in.txt >/dev/null)
	echo "out$n.txt"
}
reads_sorted() { # MNT NAME
	[ "$(timeout 60 cat "$1/$2" 2>/dev/null)" = "$(printf 'a\nb')" ]
}
# The daemon of a mount: the ggfs process in a session of its own, started
# with -o log=$T/MNT.log (the log names this test's directory: another run
# of this test beside it has mounts of the same names).
daemon_of() { # MNT (a name in $T)
	local p
	for p in $(pgrep -x ggfs); do
		tr '\0' '\n' <"/proc/$p/cmdline" 2>/dev/null | grep -qxF "log=$T/$1.log" &&
			[ "$(ps -o sid= -p "$p" | tr -d ' ')" = "$p" ] && echo "$p"
	done
}
# Runs COMMAND with the stop signals at their default action (a background
# job of this script would start with SIGINT ignored), or with the named
# ones ignored.
with_signals() { # IGNORED(comma list or -) COMMAND...
	exec python3 -c '
import os, signal, sys
ign = set(s for s in sys.argv[1].split(",") if s and s != "-")
for name in ("SIGINT", "SIGTERM", "SIGHUP"):
    signal.signal(getattr(signal, name), signal.SIG_IGN if name in ign else signal.SIG_DFL)
os.execvp(sys.argv[2], sys.argv[2:])' "$@"
}

# ---- ggfs -f started ignoring SIGHUP (nohup) ----
mkdir mnt0
with_signals SIGHUP ggfs -f src mnt0 2>ggfs0.log &
pid0=$!
at_exit "fusermount3 -u -z '$T/mnt0'"
at_exit "ggfs_reap $pid0"
if ggfs_wait_mounted mnt0 "$pid0"; then
	kill -HUP "$pid0"
	p=$(new_placeholder)
	check "nohup: a SIGHUP leaves ggfs -f serving: a placeholder is forced" reads_sorted mnt0 "$p"
	check "... still mounted" ggfs_mounted mnt0
	check "... nothing was cancelled" sh -c "! grep -qi cancel ggfs0.log"
	kill -TERM "$pid0"
	check "SIGTERM (not ignored) still ends it" wait_for 300 pid_gone "$pid0"
	check "... and the mount" wait_for 50 sh -c "! grep -qs ' $T/mnt0 ' /proc/mounts"
else
	not_ok "mount with ggfs -f (SIGHUP ignored): $(tail -3 ggfs0.log)"
fi

# ---- the daemon's set-up, held on a FIFO; signals to the waiting command ----
# (whatever a failed check leaves waiting on a FIFO goes at exit)
at_exit "pkill -9 -f 'log=$T/'"
export GG_REMOTE_CACHE=read GG_STORAGE=s3://ggfs-test-bucket GG_S3_ENDPOINT=http://127.0.0.1:9
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_PROFILE
creds='[default]
aws_access_key_id = AKIDEXAMPLE
aws_secret_access_key = wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY'
# Starts `ggfs src MNT` (a daemon) whose set-up waits on MNT.fifo; sets
# WAITER (the waiting command) once it waits for the daemon.
start_held() { # MNT IGNORED-SIGNALS
	local i
	mkdir -p "$1"
	rm -f "$1.fifo"
	mkfifo "$1.fifo"
	at_exit "fusermount3 -u -z '$T/$1'"
	AWS_SHARED_CREDENTIALS_FILE="$T/$1.fifo" with_signals "$2" ggfs -o log="$T/$1.log" src "$1" 2>"$1.err" &
	WAITER=$!
	at_exit "kill -9 $WAITER"
	# the daemon reads the FIFO (blocked in open), the command waits on its pipe
	for i in $(seq 300); do
		if [ -n "$(daemon_of "$1")" ] && grep -qsE 'pipe_(read|wait)' "/proc/$WAITER/wchan"; then
			at_exit "kill -9 $(daemon_of "$1")"
			return 0
		fi
		pid_gone "$WAITER" && return 1
		sleep 0.1
	done
	return 1
}
# Unblocks the set-up; then the mount must come and serve.
release_and_serve() { # MNT WHAT
	local d p
	d=$(daemon_of "$1")
	seen="$seen $d"
	timeout 20 sh -c "printf '%s\n' \"\$1\" >'$1.fifo'" _ "$creds" || { not_ok "$2: the set-up never read the FIFO"; return; }
	check "$2: the daemon mounts" wait_for 200 ggfs_mounted "$1"
	p=$(new_placeholder)
	check "$2: the daemon forces a placeholder" reads_sorted "$1" "$p"
	check "$2: nothing was cancelled ($(grep -i cancel "$1.log" | head -2))" sh -c "! grep -qi cancel '$1.log'"
	fusermount3 -u "$1"
	check "$2: the daemon ends once unmounted" wait_for 300 pid_gone "$d"
}

for sig in INT TERM HUP; do
	m=mnt_$sig
	if ! start_held "$m" -; then
		not_ok "SIG$sig: the daemon's set-up waits on the FIFO: $(cat "$m.err")"
		continue
	fi
	kill -"$sig" "$WAITER"
	# (bounded: a waiting command that survived would wait for the FIFO)
	wait_for 100 pid_gone "$WAITER" || kill -9 "$WAITER"
	wait "$WAITER"
	st=$?
	check "SIG$sig to the waiting command ends it with the signal (status $st)" [ "$st" = $((128 + $(kill -l "$sig"))) ]
	check "... the daemon goes on" [ -n "$(daemon_of "$m")" ]
	release_and_serve "$m" "SIG$sig"
done

# ---- started ignoring SIGHUP: the waiting command keeps waiting ----
m=mnt_nohup
if start_held "$m" SIGHUP; then
	kill -HUP "$WAITER"
	sleep 0.3
	check "nohup: a SIGHUP does not end the waiting command" sh -c "! grep -qs '^State:.*Z' /proc/$WAITER/status && kill -0 $WAITER"
	release_and_serve "$m" "nohup"
	wait "$WAITER"
	st=$?
	check "nohup: the waiting command reports the set-up's success (status $st)" [ "$st" = 0 ]
else
	not_ok "nohup: the daemon's set-up waits on the FIFO: $(cat "$m.err")"
fi

unset GG_REMOTE_CACHE GG_STORAGE GG_S3_ENDPOINT

# ---- a SIGINT while fork() returns in the caller ----
# strace holds the caller's return from each fork for 2 s (fusermount3's, then
# the daemon's; the children are not traced); the SIGINT comes once the
# daemon exists, while the caller's fork has not returned. Without the fork holding the signal, ggfs's handler would run in
# the caller and fire the cancel token the daemon shares.
m=mnt_fork
mkdir -p "$m"
at_exit "fusermount3 -u -z '$T/$m'"
with_signals - strace -o strace.out -e trace=clone,clone3 -e inject=clone,clone3:delay_exit=2000000 \
	ggfs -o log="$T/$m.log" src "$m" 2>"$m.err" &
tracer=$!
at_exit "kill -9 $tracer"
waiter=
for _ in $(seq 300); do
	waiter=$(pgrep -P "$tracer" -x ggfs)
	[ -n "$waiter" ] && [ -n "$(daemon_of "$m")" ] && break
	sleep 0.05
done
if [ -n "$waiter" ] && [ -n "$(daemon_of "$m")" ]; then
	kill -INT "$waiter"
	wait "$tracer"
	# (strace reports how its tracee ended; a handler of ggfs's would
	# have taken the signal, and the caller would wait on and exit 0)
	check "SIGINT while fork returns: the caller is ended by it (strace: $(tail -1 strace.out))" \
		grep -q 'killed by SIGINT' strace.out
	check "... the daemon mounts" wait_for 200 ggfs_mounted "$m"
	p=$(new_placeholder)
	check "... and forces (no cancelled token)" reads_sorted "$m" "$p"
	check "... nothing was cancelled" sh -c "! grep -qi cancel '$m.log'"
	d=$(daemon_of "$m")
	seen="$seen $d"
	fusermount3 -u "$m"
	check "... the daemon ends once unmounted" wait_for 300 pid_gone "$d"
else
	not_ok "the daemon forks under strace: $(cat "$m.err") $(tail -3 strace.out)"
	fusermount3 -u "$m"
fi

all_gone() { # PID...
	local p
	for p in "$@"; do pid_gone "$p" || return 1; done
}
check "no process of this test's ggfs is left (daemons:$seen)" wait_for 50 all_gone $pid0 $seen
no_fusermount() { ! pgrep -f "fusermount3.*$T/" >/dev/null; }
if wait_for 100 no_fusermount; then
	ok "... nor a fusermount3 of its mounts"
else
	not_ok "... nor a fusermount3 of its mounts: $(pgrep -af "fusermount3.*$T/")"
fi
finish
