#!/usr/bin/env bash
# Faults around the http engine and its workers, each ending with the right
# output or a clear error after bounded retries:
#   - a worker killed (SIGKILL) in the middle of a thunk: retried on another
#   - a worker that hangs (SIGSTOP): a speculative copy on another finishes
#     the job, the hung request is cancelled and gg force exits promptly
#   - 429 and 500 replies and a dropped connection: backed off and retried;
#     when they never stop, a clear error after the bounded attempts
#   - a corrupted object in storage: caught by its name, uploaded again
#   - storage emptied in the middle of a build: re-uploaded, no endless loop
# Storage is file:// (a directory laid out like a bucket), so the test can
# corrupt and empty it directly; the same code paths serve s3:// and redis://.
. "$(dirname "$0")/lib.sh"
setup "$@"
need cc cmp sh
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/servers/workers.sh"
cd "$T"
echo "# in $T"

workers_client || { not_ok "set up the client (napper, store, bucket)"; finish; }

# The number of a worker's requests that ended in each way (from its -v log).
count() { grep -c "$2" "${WLOG[$1]}" || true; }
# Waits until a worker is running a thunk (its sandbox directory exists).
wait_running() { # NAME
	local i
	for i in $(seq 1 200); do
		ls "$T/workers/$1/store/tmp" 2>/dev/null | grep -q '^run-' && return 0
		sleep 0.025
	done
	return 1
}
elapsed() { awk "BEGIN{printf \"%.1f\", $(date +%s.%N) - $1}"; }

# ---- a worker killed in the middle of a thunk ----
worker_start k1 && worker_start k2 || { not_ok "start workers"; finish; }
t=$(gg thunk -o o -- ../napper 1500 o)
gg force --no-progress -j 1 -e "http=${WURL[k1]},${WURL[k2]}" --stdout "$t#o" >killed.out 2>killed.err &
pid=$!
if wait_running k1; then
	kill -9 "${WPID[k1]}"
	wait "${WPID[k1]}" 2>/dev/null
	ok "worker k1 was killed while running the thunk"
else
	not_ok "worker k1 never started the thunk"
fi
wait $pid
check "the force succeeds after the worker was killed" [ $? -eq 0 ]
check "with the right output" grep -qx 'napped 1500' killed.out
check "the thunk ran again on the other worker" [ "$(count k2 ' ok in ')" -eq 1 ]
worker_stop k2

# ---- a worker that hangs: speculation finishes the job ----
worker_start h1 && worker_start h2 || { not_ok "start workers"; finish; }
kill -STOP "${WPID[h1]}"
t=$(gg thunk -o o -- ../napper 200 o)
s=$(date +%s.%N)
timeout 60 gg force --no-progress -j 2 --speculate 500 -e "http=${WURL[h1]},${WURL[h2]}" --stdout "$t#o" >hang.out 2>hang.err
st=$?
took=$(elapsed $s)
check "the force succeeds although worker h1 hangs" [ $st -eq 0 ]
check "with the right output" grep -qx 'napped 200' hang.out
check "the hung request was given up well before the 60 s timeout (took ${took}s)" awk "BEGIN{exit !($took < 30)}"
check "the speculative copy ran on h2" [ "$(count h2 ' ok in ')" -eq 1 ]
kill -CONT "${WPID[h1]}"
worker_stop h1
worker_stop h2

# ---- 429 and 500 replies ----
worker_start f1 --fault-inject 429=2,500=1,drop=1 || { not_ok "start worker"; finish; }
t=$(gg thunk -o o -- ../napper 10 o)
s=$(date +%s.%N)
gg force --no-progress -e "http=${WURL[f1]}" --stdout "$t#o" >throttle.out 2>throttle.err
check "the force succeeds through two 429s, a 500 and a dropped connection" [ $? -eq 0 ]
check "with the right output" grep -qx 'napped 10' throttle.out
check "the worker answered 429 twice, 500 once, and dropped one" \
	[ "$(count f1 'answering 429')" -eq 2 -a "$(count f1 'answering 500')" -eq 1 -a "$(count f1 'without an answer')" -eq 1 ]
check "then ran it once" [ "$(count f1 ' ok in ')" -eq 1 ]
echo "# 4 faulty replies, backed off and retried within one call, in $(elapsed $s) s"
worker_stop f1
worker_start f2 --fault-inject 500=1000 || { not_ok "start worker"; finish; }
t=$(gg thunk -o o -- ../napper 11 o)
GG_REMOTE_ATTEMPTS=3 gg force --no-progress --retries 1 -e "http=${WURL[f2]}" "$t#o" >never.out 2>never.err
check "a worker that always answers 500: the force fails" [ $? -ne 0 ]
check "with a clear error naming HTTP 500 and the attempts" grep -q 'HTTP 500.*(after 3 attempts)' never.err
check "after a bounded number of requests (2 x 3, got $(count f2 'answering 500'))" [ "$(count f2 'answering 500')" -eq 6 ]
worker_stop f2

# ---- a corrupted object in storage ----
echo "precious payload" > data.txt
d=$(gg hash data.txt | awk '{print $1}')
gg push "$GG_STORAGE" data.txt >/dev/null 2>&1
obj=$(ls "$T/bucket"/*/"$d" 2>/dev/null)
check "the input is in storage" [ -n "$obj" ]
chmod u+w "$obj"
printf 'PRECIOUS PAYLOAD\n' >"$obj" # same size, wrong bytes
worker_start c1 || { not_ok "start worker"; finish; }
t=$(gg thunk -i data.txt -o o -- sh -c 'read -r x < data.txt; echo "$x$x" > o')
gg force --no-progress -e "http=${WURL[c1]}" --stdout "$t#o" >corrupt.out 2>corrupt.err
check "the force succeeds although storage held a corrupted input" [ $? -eq 0 ]
check "with the right output" grep -qx 'precious payloadprecious payload' corrupt.out
check "the worker caught the corruption (an infrastructure error)" [ "$(count c1 'infra error')" -ge 1 ]
check "storage holds the right bytes again" cmp "$(ls "$T/bucket"/*/"$d")" data.txt
worker_stop c1

# ---- storage emptied in the middle of a build ----
worker_start e1 && worker_start e2 || { not_ok "start workers"; finish; }
gg thunk -o big --placeholder big -- ../napper 1500 big 200000 >/dev/null
sum=$(gg thunk -i big -o sum -- sh -c 'IFS= read -r l < big; echo ${#l} > sum')
gg force --no-progress -j 1 -e "http=${WURL[e1]},${WURL[e2]}" --stdout "$sum#sum" >empty.out 2>empty.err &
pid=$!
if wait_running e1; then
	rm -rf "$T/bucket"/*
	ok "storage emptied while the first level ran"
else
	not_ok "the first level never started on e1"
fi
wait $pid
check "the force succeeds after storage was emptied" [ $? -eq 0 ]
check "with the right output" [ "$(tr -d ' \n' < empty.out)" = 200000 ]
check "the second level found inputs missing once, then they were uploaded again" \
	[ "$(cat "${WLOG[e1]}" "${WLOG[e2]}" | grep -c 'could not be fetched')" -eq 1 ]
check "storage holds the objects again" [ -n "$(ls "$T/bucket")" ]
worker_stop e1
worker_stop e2

for w in k2 h1 h2 f1 f2 c1 e1 e2; do
	check "worker $w's log has no sanitizer report" worker_log_clean $w
done
finish
