#!/usr/bin/env bash
# A worker that stops answering in the middle of a thunk (SIGSTOP) is told
# from a long thunk by its heartbeats ("102 Processing" while the thunk runs;
# the http engine gives up on a worker silent for GG_WORKER_SILENCE; the
# default, 30 s, is shown by e2e/worker_stopped; here the limits are short):
#   - a thunk longer than the silence limit is not cut off
#   - stopped with a local engine behind it: the force finishes by fallback,
#     saying why (the time is printed)
#   - stopped with a second worker: the call moves there
#   - stopped with nothing behind it: a clear error naming the worker
. "$(dirname "$0")/lib.sh"
setup "$@"
need cc
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/servers/workers.sh"
cd "$T"
echo "# in $T"

workers_client || { not_ok "set up the client (napper, store, bucket)"; finish; }
wait_running() { # NAME: until the worker runs a thunk (its sandbox directory exists)
	local i
	for i in $(seq 1 400); do
		ls "$T/workers/$1/store/tmp" 2>/dev/null | grep -q '^run-' && return 0
		sleep 0.025
	done
	return 1
}
elapsed() { awk "BEGIN{printf \"%.1f\", $(date +%s.%N) - $1}"; }

# ---- a thunk longer than the silence limit ----
worker_start long || { not_ok "start worker"; finish; }
t=$(gg thunk -o o -- ../napper 5000 o)
s=$(date +%s.%N)
GG_WORKER_SILENCE=3 gg force --no-progress -e "http=${WURL[long]}" --stdout "$t#o" >long.out 2>long.err
st=$?
check "a 5 s thunk under a 3 s silence limit is not cut off (took $(elapsed $s) s)" [ $st -eq 0 ]
check "with the right output" grep -qx 'napped 5000' long.out
check "and ran once" [ "$(worker_ran long)" -eq 1 ]
worker_stop long

# ---- stopped, a local engine behind it ----
worker_start s1 || { not_ok "start worker"; finish; }
t=$(gg thunk -o o -- ../napper 3000 o)
s=$(date +%s.%N)
GG_WORKER_SILENCE=3 timeout 90 gg force --no-progress -e "http=${WURL[s1]}" -e local --stdout "$t#o" >fb.out 2>fb.err &
pid=$!
if wait_running s1; then
	kill -STOP "${WPID[s1]}"
	ok "worker s1 stopped while running the thunk"
else
	not_ok "worker s1 never started the thunk"
fi
wait $pid
st=$?
took=$(elapsed $s)
echo "# a stopped worker, fallback to local: the force ended after $took s (limit 3 s)"
check "the force succeeds by falling back to local" [ $st -eq 0 ]
check "with the right output" grep -qx 'napped 3000' fb.out
check "saying the worker stopped answering" grep -q "POST ${WURL[s1]}: the worker stopped answering: no heartbeat for 3 s while it held the thunk" fb.err
check "and that the thunk runs on local because of it" grep -q "runs on local: http: worker ${WURL[s1]} stopped answering" fb.err
kill -CONT "${WPID[s1]}"
worker_stop s1

# ---- stopped, a second worker ----
worker_start a1 && worker_start a2 || { not_ok "start workers"; finish; }
t=$(gg thunk -o o -- ../napper 2500 o)
s=$(date +%s.%N)
GG_WORKER_SILENCE=3 timeout 90 gg force --no-progress -j 1 -e "http=${WURL[a1]},${WURL[a2]}" --stdout "$t#o" >two.out 2>two.err &
pid=$!
first=
for i in $(seq 1 400); do
	for w in a1 a2; do
		ls "$T/workers/$w/store/tmp" 2>/dev/null | grep -q '^run-' && first=$w
	done
	[ -n "$first" ] && break
	sleep 0.025
done
if [ -n "$first" ]; then
	kill -STOP "${WPID[$first]}"
	ok "worker $first stopped while running the thunk"
else
	not_ok "no worker started the thunk"
fi
wait $pid
st=$?
other=a2
[ "$first" = a2 ] && other=a1
echo "# a stopped worker beside a live one (limit 3 s): the force ended after $(elapsed $s) s"
check "the force succeeds on the other worker" [ $st -eq 0 ]
check "with the right output" grep -qx 'napped 2500' two.out
check "which ran it" [ "$(worker_ran $other)" -eq 1 ]
kill -CONT "${WPID[a1]}" "${WPID[a2]}"
worker_stop a1
worker_stop a2

# ---- stopped, nothing behind it ----
worker_start n1 || { not_ok "start worker"; finish; }
t=$(gg thunk -o o -- ../napper 3100 o)
s=$(date +%s.%N)
GG_WORKER_SILENCE=3 timeout 90 gg force --no-progress -e "http=${WURL[n1]}" "$t#o" >none.out 2>none.err &
pid=$!
if wait_running n1; then
	kill -STOP "${WPID[n1]}"
	ok "worker n1 stopped while running the thunk"
else
	not_ok "worker n1 never started the thunk"
fi
wait $pid
st=$?
echo "# a stopped worker and no other engine (limit 3 s): the force ended after $(elapsed $s) s"
check "the force fails by itself (not killed by the test's timeout; got $st)" [ $st -ne 0 -a $st -ne 124 ]
check "naming the worker and the silence" grep -q "POST ${WURL[n1]}: the worker stopped answering: no heartbeat for 3 s while it held the thunk" none.err
check "and that no engine can take the thunk now" grep -q "worker ${WURL[n1]} stopped answering" none.err
sed 's/^/#   /' none.err
kill -CONT "${WPID[n1]}"
worker_stop n1

for w in long s1 a1 a2 n1; do
	check "worker $w's log has no sanitizer report" worker_log_clean $w
done
finish
