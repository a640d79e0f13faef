#!/usr/bin/env bash
# Starts the AWS Lambda Runtime API (@vercel/fun 1.3.6, from npm) behind a tiny
# Invoke API (tests/servers/lambda/fun-invoke-server.js) on 127.0.0.1 only, for
# functions whose directory holds an executable `bootstrap` (a custom runtime,
# e.g. gg worker). Follows /work/shared/infra.md §B.
#
#   tests/servers/start-lambda.sh NAME=DIR...   start; prints KEY=VALUE lines (eval them)
#   tests/servers/start-lambda.sh stop ROOT     stop the server started with state in ROOT
#
# Environment: LAMBDA_PORT (default: the shim listens on a port of its own,
# port 0, and says which once it listens: no race for a port), LAMBDA_ROOT
# (state dir; default a fresh /tmp/gg-lambda.XXXXXX), LAMBDA_NPM_DIR (where the
# npm package is installed once and reused; default /tmp/gg-lambda-npm),
# LAMBDA_FAULT_429 / LAMBDA_FAULT_500 (answer the first N invocations so).
# GG_*, ASAN_*, UBSAN_*, LSAN_* variables reach the functions' environment.
# Installs node and npm (Debian) and the npm package when they are missing.
# Prints LAMBDA_ROOT=, LAMBDA_PORT=, LAMBDA_PID=, GG_LAMBDA_ENDPOINT=.
set -euo pipefail

die() { echo "start-lambda: $*" >&2; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
. "$here/ports.sh"

if [ "${1:-}" = stop ]; then
	d=${2:?usage: $0 stop LAMBDA_ROOT}
	[ -f "$d/.gg-lambda-root" ] || die "$d was not made by this script; not touching it"
	if [ -f "$d/shim.pid" ]; then
		pid=$(cat "$d/shim.pid")
		if [[ "$pid" =~ ^[0-9]+$ ]] && kill -TERM "$pid" 2>/dev/null; then
			for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		fi
		# the shim was started with setsid: its group holds fun's bootstraps
		[[ "$pid" =~ ^[0-9]+$ ]] && kill -KILL -- "-$pid" 2>/dev/null || true
	fi
	rm -rf "$d"
	exit 0
fi
[ $# -gt 0 ] || die "usage: $0 NAME=DIR... (each DIR holds an executable bootstrap)"
for spec in "$@"; do
	[[ "$spec" == *=* ]] || die "'$spec' is not NAME=DIR"
	[ -x "${spec#*=}/bootstrap" ] || die "${spec#*=}/bootstrap is missing or not executable"
done

sudo=; [ "$(id -u)" -eq 0 ] || sudo=sudo
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	echo "start-lambda: installing nodejs npm" >&2
	$sudo apt-get -o DPkg::Lock::Timeout=600 update -qq >&2 && DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends nodejs npm >&2 ||
		die "cannot install the Debian packages nodejs npm"
fi
NPM_DIR=${LAMBDA_NPM_DIR:-/tmp/gg-lambda-npm}
if [ ! -f "$NPM_DIR/node_modules/@vercel/fun/package.json" ] || ! cmp -s "$here/lambda/package.json" "$NPM_DIR/package.json"; then
	echo "start-lambda: npm install @vercel/fun into $NPM_DIR" >&2
	mkdir -p "$NPM_DIR"
	cp "$here/lambda/package.json" "$NPM_DIR/package.json"
	(cd "$NPM_DIR" && npm install --no-audit --no-fund --loglevel=error >&2) || die "npm install @vercel/fun failed"
fi

PORT=${LAMBDA_PORT:-0}
[ "$PORT" = 0 ] || ! port_busy "$PORT" || die "port $PORT on 127.0.0.1 is busy (set LAMBDA_PORT)"
D=${LAMBDA_ROOT:-$(mktemp -d /tmp/gg-lambda.XXXXXX)}
mkdir -p "$D"
touch "$D/.gg-lambda-root"

NODE_PATH="$NPM_DIR/node_modules" setsid node "$here/lambda/fun-invoke-server.js" "$PORT" "$@" >"$D/shim.out" 2>"$D/shim.log" </dev/null &
pid=$!
echo $pid >"$D/shim.pid"
# it prints "listening PORT" once it listens (a whole line: the port is all there)
end=$((SECONDS + 60))
while ! grep -q '^listening [0-9]*$' "$D/shim.out" 2>/dev/null; do
	kill -0 "$pid" 2>/dev/null || die "the Invoke API shim exited; see $D/shim.log: $(tail -5 "$D/shim.log")"
	[ $SECONDS -lt $end ] || die "the Invoke API shim did not listen within 60 s; see $D/shim.log"
	sleep 0.02
done
PORT=$(sed -n 's/^listening \([0-9]*\)$/\1/p' "$D/shim.out" | head -1)
pid_listens "$pid" "$PORT" || die "the Invoke API shim says it listens on port $PORT, but it does not"
echo "start-lambda: Lambda Invoke API ready on http://127.0.0.1:$PORT (pid $(cat "$D/shim.pid"))" >&2
echo "LAMBDA_ROOT=$D"
echo "LAMBDA_PORT=$PORT"
echo "LAMBDA_PID=$(cat "$D/shim.pid")"
echo "GG_LAMBDA_ENDPOINT=http://127.0.0.1:$PORT"
