#!/usr/bin/env bash
# The http engine honours a full worker's "503 + Retry-After" (the worker's
# --fault-inject 503 answers like a full worker, with retry-after=SEC):
#   - two 503s with Retry-After: 2 make the client wait about 2 s before each
#     retry (instead of its own 0.1 s backoff), then the force succeeds
#   - a Retry-After of an hour is bounded by GG_RETRY_AFTER_MAX
# and a real full worker (--max-inflight 1) answers 503 with Retry-After: 1.
. "$(dirname "$0")/lib.sh"
setup "$@"
need sh curl cc
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/servers/workers.sh"
cd "$T"
echo "# in $T"
workers_client || { not_ok "set up the client (napper, store, bucket)"; finish; }
count() { grep -c -- "$2" "${WLOG[$1]}" || true; }
elapsed() { awk "BEGIN{printf \"%.1f\", $(date +%s.%N) - $1}"; }

worker_start r1 --fault-inject 503=2,retry-after=2 || { not_ok "start worker"; finish; }
t=$(gg thunk -o o -- sh -c 'echo waited > o')
s=$(date +%s.%N)
timeout 60 gg force --no-progress -e "http=${WURL[r1]}" --stdout "$t#o" >r1.out 2>r1.err
st=$?
took=$(elapsed $s)
echo "# two 503s with Retry-After: 2, then success: $took s (the client's own backoff would be 0.05-0.3 s)"
check "the force succeeds after two 503s" [ $st -eq 0 ]
check "with the right output" grep -qx waited r1.out
check "the worker answered 503 twice, then ran it" [ "$(count r1 'answering 503')" -eq 2 -a "$(worker_ran r1)" -eq 1 ]
check "the client waited the 2 s it was told, twice (at least 4 s in all: $took s)" awk "BEGIN{exit !($took >= 4)}"
worker_stop r1

worker_start r2 --fault-inject 503=1,retry-after=3600 || { not_ok "start worker"; finish; }
t=$(gg thunk -o o -- sh -c 'echo bounded > o')
s=$(date +%s.%N)
GG_RETRY_AFTER_MAX=1 timeout 60 gg force --no-progress -e "http=${WURL[r2]}" --stdout "$t#o" >r2.out 2>r2.err
st=$?
echo "# a 503 with Retry-After: 3600 under GG_RETRY_AFTER_MAX=1: $(elapsed $s) s"
check "a Retry-After of an hour is bounded: the force succeeds (not the test's 60 s timeout; got $st)" [ $st -eq 0 ]
check "with the right output" grep -qx bounded r2.out
worker_stop r2

# A really full worker says when to come back.
worker_start full --max-inflight 1 -j 1 || { not_ok "start worker"; finish; }
slow=$(gg thunk -o o -- ../napper 3000 o)
gg force --no-progress -e "http=${WURL[full]}" "$slow#o" >/dev/null 2>&1 &
pid=$!
running() { ls "$T/workers/full/store/tmp" 2>/dev/null | grep -q '^run-'; }
check "the worker runs the slow thunk (its one admitted request)" wait_for 200 running
curl -s -i -X POST --data-binary '{}' "${WURL[full]}" >full.txt
check "a full worker answers 503 with Retry-After: 1" bash -c "grep -q '^HTTP/1.1 503' full.txt && grep -qi '^Retry-After: 1' full.txt"
wait $pid
worker_stop full
for w in r1 r2 full; do
	check "worker $w's log has no sanitizer report" worker_log_clean $w
done
finish
