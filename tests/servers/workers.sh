# Helpers for the engine tests (source after tests/e2e/lib.sh's setup): start
# `gg worker --listen` processes on 127.0.0.1, each in its own empty
# directory with its own store, and, after workers_hide, in a private mount
# namespace where the client's directory is an empty tmpfs: the worker cannot
# read the client's store even by accident (that needs root: without it
# worker_start fails, saying so). Stopped at exit.
#
#   worker_start NAME [WORKER OPTION...]   sets WURL[NAME], WPID[NAME], WLOG[NAME]
#   worker_stop NAME                       SIGTERM; 0 if it exited cleanly
#   workers_hide DIR                       hide DIR from workers started later
#   worker_log_clean NAME                  no sanitizer report in its log
#   workers_client                         the engine tests' client: $T/napper
#                                          (progs/napper.c: napper MS OUT [BYTES],
#                                          deterministic output in a known time),
#                                          a store in $T/client (the current
#                                          directory after it), GG_STORAGE
#                                          file://$T/bucket, hidden from workers

declare -A WURL WPID WLOG
WORKERS_HIDE=()

workers_hide() { WORKERS_HIDE+=("$(cd "$1" && pwd)"); }

workers_client() {
	local e2e
	e2e=$(cd "$(dirname "${BASH_SOURCE[0]}")/../e2e" && pwd)
	cc -O2 -o "$T/napper" "$e2e/progs/napper.c" || return 1
	mkdir -p "$T/client" "$T/bucket" && cd "$T/client" && gg init . >/dev/null || return 1
	export GG_STORAGE=file://$T/bucket
	workers_hide "$T/client"
}

# Can we give workers a mount namespace that hides the client's files?
workers_can_hide() {
	[ "$(id -u)" = 0 ] && unshare --mount --propagation private true 2>/dev/null
}

worker_start() { # NAME [OPTION...]
	local name=$1
	shift
	local dir="$T/workers/$name"
	mkdir -p "$dir"
	local log="$dir/log" pf="$dir/port"
	rm -f "$pf"
	local cmd=(gg worker --listen 127.0.0.1:0 --port-file "$pf" --dir "$dir/store" -v "$@")
	if [ ${#WORKERS_HIDE[@]} -gt 0 ] && ! workers_can_hide; then
		echo "worker $name: cannot hide ${WORKERS_HIDE[*]} from it: that needs root and unshare --mount"
		return 1
	fi
	if [ ${#WORKERS_HIDE[@]} -gt 0 ]; then
		# mount tmpfs over each hidden dir, then become the worker (same pid)
		(cd "$dir" && exec unshare --mount --propagation private sh -c '
			n=$1; shift
			while [ "$n" -gt 0 ]; do mount -t tmpfs -o size=1m gg-hidden "$1" || exit 1; shift; n=$((n - 1)); done
			exec "$@"' sh "${#WORKERS_HIDE[@]}" "${WORKERS_HIDE[@]}" "${cmd[@]}" 2>"$log") &
	else
		(cd "$dir" && exec "${cmd[@]}" 2>"$log") &
	fi
	WPID[$name]=$!
	WLOG[$name]=$log
	at_exit "worker_kill ${WPID[$name]}"
	local port
	port=$(wait_port_file "$pf" "${WPID[$name]}") || { echo "worker $name did not start:"; cat "$log"; return 1; }
	WURL[$name]="http://127.0.0.1:$port/execute"
}

# Cleanup: a worker this test started, if still there.
worker_kill() { # PID
	kill -CONT "$1" 2>/dev/null
	kill "$1" 2>/dev/null || return 0
	local i
	for i in $(seq 1 50); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
	kill -9 "$1" 2>/dev/null
	return 0
}

worker_stop() { # NAME: stop it; its exit status (0 = clean, no leak report under ASan)
	local pid=${WPID[$1]}
	kill -CONT "$pid" 2>/dev/null
	kill -TERM "$pid" 2>/dev/null || return 1
	local st=0
	wait "$pid" || st=$?
	return $st
}

worker_log_clean() { # NAME
	! grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error:' "${WLOG[$1]}"
}

# How many thunks a worker ran (not from its memo), from its -v log.
worker_ran() { # NAME
	grep -c ' ok in [0-9]* ms$' "${WLOG[$1]}" || true
}
