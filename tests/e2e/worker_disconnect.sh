#!/usr/bin/env bash
# A client that goes away cancels its thunk on the worker (issue 12): a
# `gg force -e http=...` whose thunk sleeps for 10 minutes is killed
# (SIGKILL, so it cannot say goodbye); the worker sees the connection close,
# kills the thunk's program (found by a marker in /proc/*/environ) within a
# few seconds, says so in its log, and then serves the next client. Bounded
# waits only guard against a hang; times are printed.
. "$(dirname "$0")/lib.sh"
setup "$@"
need gg cc timeout
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/servers/workers.sh"
ggfs_helpers || { not_ok "compile the test helpers"; finish; }
cd "$T"
marker="GG_DISCONNECT_TEST=$$.$RANDOM"

some_marked() { [ -n "$(marked "$marker")" ]; }
none_marked() { [ -z "$(marked "$marker")" ]; }

mkdir client bucket
(cd client && gg init . >/dev/null)
export GG_STORAGE=file://$T/bucket
worker_start w -j 2 || { not_ok "start a worker"; finish; }
cd client
t=$(gg thunk -e "$marker" -o o -- "$T/helpers/slowrand" o 600000)
(exec gg force --no-progress -e "http=${WURL[w]}" "$t#o" 2>"$T/force.err") &
force=$!
at_exit "kill -9 $force 2>/dev/null"
check "the thunk starts on the worker" wait_for 600 some_marked
echo "# the thunk's processes: $(marked "$marker" | tr '\n' ' ')"
t1=$SECONDS
kill -9 $force
wait $force 2>/dev/null
check "with the client gone, the worker kills the thunk within a few seconds" wait_for 100 none_marked
echo "# gone $((SECONDS - t1)) s after the client was killed"
# If it survived (the bug), end it here: the worker's clean stop waits for
# running requests, and this one would run for 10 minutes.
for p in $(marked "$marker"); do kill -9 "$p" 2>/dev/null; done
check "the worker says why" grep -q 'the client went away: stopping its thunk' "${WLOG[w]}"
t2=$(gg thunk -o o -- sh -c 'echo next > o')
out=$(timeout 60 gg force --no-progress -e "http=${WURL[w]}" --stdout "$t2#o" 2>&1)
check "the worker then serves the next client (got '$out')" [ "$out" = next ]
cd "$T"
check "the worker stops cleanly" worker_stop w
check "the worker's log has no sanitizer report" worker_log_clean w
finish
