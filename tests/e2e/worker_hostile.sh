#!/usr/bin/env bash
# `gg worker --listen` on 127.0.0.1 against hostile and careless clients.
. "$(dirname "$0")/lib.sh"
setup "$@"
need curl python3
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/servers/workers.sh"
cd "$T"

worker_start w || { not_ok "start the worker"; finish; }
pid=${WPID[w]}
base=${WURL[w]%/execute}

# The crash of issue 12: after a request the buffer was moved without its
# terminator; the next search found the stale header end and a length wrapped.
out=$(curl -s -m 10 "$base/health")
check "GET /health answers ok (got '$out')" [ "$out" = ok ]
out=$(curl -s -m 10 "$base/health" "$base/health")
check "GET /health twice on one connection answers twice (got '$(echo $out)')" [ "$(echo $out)" = "ok ok" ]
check "the worker is alive after GET /health (pid $pid)" kill -0 "$pid"

check "the worker stops cleanly on SIGTERM" worker_stop w
check "the worker's log has no sanitizer report" worker_log_clean w
finish
