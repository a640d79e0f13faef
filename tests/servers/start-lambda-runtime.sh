#!/usr/bin/env bash
# Starts our own small AWS Lambda (tests/servers/lambda_runtime.py: the Invoke
# API and the Runtime API of one function, on 127.0.0.1, on a port of its
# own) with a real Lambda-Runtime-Deadline-Ms and a function timeout that it
# enforces by killing every process of the function, as Lambda does.
#
#   tests/servers/start-lambda-runtime.sh [OPTION...] -- BOOTSTRAP [ARG...]
#       options: --timeout SEC (default 3), --env-file FILE (NAME=VALUE lines
#       for the function), --name NAME (default gg-fn), --publish-ids FILE
#       (each request id as it is handed out: tests of an attacker who
#       learns them), --bad-request-ids N (the first N invocations get an id
#       that is not one); prints KEY=VALUE lines (eval them): LAMBDA_RT_ROOT, LAMBDA_RT_PID, LAMBDA_RT_PORT,
#       GG_LAMBDA_ENDPOINT. Events: $LAMBDA_RT_ROOT/events.log; the
#       function's output: $LAMBDA_RT_ROOT/function.log.
#   tests/servers/start-lambda-runtime.sh stop ROOT
set -euo pipefail

die() { echo "start-lambda-runtime: $*" >&2; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
. "$here/ports.sh"

if [ "${1:-}" = stop ]; then
	d=${2:?usage: $0 stop ROOT}
	[ -f "$d/.gg-lambda-runtime-root" ] || die "$d was not made by this script; not touching it"
	if [ -f "$d/pid" ]; then
		pid=$(cat "$d/pid")
		if [[ "$pid" =~ ^[0-9]+$ ]] && kill -TERM "$pid" 2>/dev/null; then
			for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	rm -rf "$d"
	exit 0
fi
command -v python3 >/dev/null || die "python3 is not installed"
D=$(mktemp -d /tmp/gg-lambda-rt.XXXXXX)
touch "$D/.gg-lambda-runtime-root"
python3 "$here/lambda_runtime.py" --dir "$D" "$@" >"$D/server.log" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$D/pid"
port=$(wait_port_file "$D/port" "$pid") || die "the server did not start: $(tail -5 "$D/server.log")"
wait_listening "$pid" "$port" || die "the server says it listens on $port, but it does not"
echo "LAMBDA_RT_ROOT=$D"
echo "LAMBDA_RT_PID=$pid"
echo "LAMBDA_RT_PORT=$port"
echo "GG_LAMBDA_ENDPOINT=http://127.0.0.1:$port"
