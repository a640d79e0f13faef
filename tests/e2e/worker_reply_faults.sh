#!/usr/bin/env bash
# The client's checks of a worker's reply, end to end, with the worker's
# test-only --fault-inject switches:
#   - corrupt: an inline output whose bytes do not match its name, also when
#     the claimed object already exists in the client's store (the bytes
#     would then never be looked at again)
#   - other-thunk: a reply that names another thunk (the previous request's
#     reply, whose outputs would be the wrong ones)
#   - drop-reply: the thunk runs, the connection closes without an answer
# Each is caught with its own message, then retried to the right bytes, or,
# when the fault never stops, a clear failure naming it.
. "$(dirname "$0")/lib.sh"
setup "$@"
need sh cmp
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/servers/workers.sh"
cd "$T"
echo "# in $T"

mkdir client bucket
cd client
gg init . >/dev/null
export GG_STORAGE=file://$T/bucket
workers_hide "$T/client"
count() { grep -c -- "$2" "${WLOG[$1]}" || true; }

# ---- an inline output whose bytes do not match its name ----
# The client first gets "same" from a clean worker, so the object the corrupt
# reply claims is already in its store.
worker_start c0 || { not_ok "start worker c0"; finish; }
t0=$(gg thunk -o o -- sh -c 'echo same > o')
gg force --no-progress -e "http=${WURL[c0]}" --stdout "$t0#o" >c0.out 2>c0.err
check "a clean worker computes 'same'" grep -qx same c0.out
worker_stop c0
worker_start c1 --fault-inject corrupt=1 || { not_ok "start worker c1"; finish; }
t1=$(gg thunk -o o -- sh -c 'printf "same\n" > o')
gg force --no-progress -e "http=${WURL[c1]}" --stdout "$t1#o" >c1.out 2>c1.err
st=$?
check "a corrupted inline output (its claimed object already local): the force succeeds" [ $st -eq 0 ]
check "the worker corrupted one reply" [ "$(count c1 'fault-inject corrupt')" -eq 1 ]
check "the client caught it: 'sent output 'o' as NAME, but its bytes are OTHER'" \
	grep -q "worker .* sent output 'o' as V.*, but its bytes are V" c1.err
check "and said it tries again" grep -q 'attempt 1 on http failed.*but its bytes are.*trying again' c1.err
check "the retry gave the right bytes" grep -qx same c1.out
worker_stop c1
worker_start c2 --fault-inject corrupt=1000 || { not_ok "start worker c2"; finish; }
t2=$(gg thunk -o o -- sh -c 'echo never seen before > o')
gg force --no-progress --retries 1 -e "http=${WURL[c2]}" "$t2#o" >c2.out 2>c2.err
st=$?
check "a worker that always corrupts: the force fails (exit 3, infrastructure)" [ $st -eq 3 ]
check "naming the corrupted output" grep -q "could not be run after 2 attempts: http engine: worker .* sent output 'o' as V.*, but its bytes are V" c2.err
check "no memo entry was written for the thunk" [ -z "$(memo_entry .gg "$t2")" ]
worker_stop c2

# ---- a reply naming another thunk ----
worker_start o1 --fault-inject other-thunk=1 || { not_ok "start worker o1"; finish; }
ta=$(gg thunk -o o -- sh -c 'echo alpha > o')
tb=$(gg thunk -o o -- sh -c 'echo beta > o')
gg force --no-progress -e "http=${WURL[o1]}" --stdout "$ta#o" >a.out 2>a.err
check "the first thunk gives 'alpha'" grep -qx alpha a.out
gg force --no-progress -e "http=${WURL[o1]}" --stdout "$tb#o" >b.out 2>b.err
st=$?
check "a reply for another thunk: the force succeeds" [ $st -eq 0 ]
check "the worker answered the second thunk with the first one's reply" [ "$(count o1 'fault-inject other-thunk')" -eq 1 ]
check "the client caught it: 'answered for thunk A instead of B'" grep -q "http engine: .* answered for thunk $ta instead of $tb" b.err
check "the retry gave beta, not alpha" grep -qx beta b.out
worker_stop o1
worker_start o2 --fault-inject other-thunk=1000 || { not_ok "start worker o2"; finish; }
tc=$(gg thunk -o o -- sh -c 'echo gamma > o')
td=$(gg thunk -o o -- sh -c 'echo delta > o')
gg force --no-progress -e "http=${WURL[o2]}" "$tc#o" >/dev/null 2>c.err
gg force --no-progress --retries 1 -e "http=${WURL[o2]}" --stdout "$td#o" >d.out 2>d.err
st=$?
check "a worker that always answers for another thunk: the force fails (exit 3)" [ $st -eq 3 ]
check "naming both thunks" grep -q "could not be run after 2 attempts: http engine: .* answered for thunk $tc instead of $td" d.err
check "and prints no output" [ ! -s d.out ]
worker_stop o2

# ---- a dropped reply ----
worker_start d1 --fault-inject drop-reply=1 || { not_ok "start worker d1"; finish; }
tx=$(gg thunk -o o -- sh -c 'echo dropped once > o')
gg force --no-progress -e "http=${WURL[d1]}" --stdout "$tx#o" >x.out 2>x.err
st=$?
check "a dropped reply: the force succeeds" [ $st -eq 0 ]
check "the worker ran the thunk and dropped its reply once" [ "$(count d1 'fault-inject drop-reply')" -eq 1 ]
check "the second request was answered from the worker's memo" [ "$(count d1 ' ok in .*(memo)')" -eq 1 ]
check "with the right bytes" grep -qx 'dropped once' x.out
worker_stop d1
worker_start d2 --fault-inject drop-reply=1000 || { not_ok "start worker d2"; finish; }
ty=$(gg thunk -o o -- sh -c 'echo never answered > o')
GG_REMOTE_ATTEMPTS=3 gg force --no-progress --retries 0 -e "http=${WURL[d2]}" "$ty#o" >y.out 2>y.err
st=$?
check "a worker that never answers after running: the force fails (exit 3)" [ $st -eq 3 ]
check "naming the empty reply and the attempts" grep -q "POST ${WURL[d2]}: Empty reply from server (after 3 attempts)" y.err
check "after 3 requests (got $(count d2 'fault-inject drop-reply'))" [ "$(count d2 'fault-inject drop-reply')" -eq 3 ]
worker_stop d2

for w in c1 c2 o1 o2 d1 d2; do
	check "worker $w's log has no sanitizer report" worker_log_clean $w
done
finish
