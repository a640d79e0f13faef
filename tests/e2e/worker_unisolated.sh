#!/usr/bin/env bash
# A worker whose thunks run unisolated (--no-sandbox here; on Lambda there
# is no sandbox at all) runs them as its own user, so a thunk can write the
# worker's store. Its memo entries are then no evidence: a poisoner thunk
# copies the memo entry of a thunk that printed "evil" to where another
# thunk's entry belongs (entries name outputs, not their thunk), and a later
# request for that other thunk must still get its own output, computed.
. "$(dirname "$0")/lib.sh"
setup "$@"
need sh cp find mkdir
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/servers/workers.sh"
cd "$T"
echo "# in $T"

mkdir client bucket
cd client
gg init . >/dev/null
export GG_STORAGE=file://$T/bucket
workers_hide "$T/client"
worker_start u --no-sandbox || {
	not_ok "start an unisolated worker"
	finish
}
ws=$T/workers/u/store
force() { gg force --no-progress -e "http=${WURL[u]}" --stdout "$1#o" 2>>force.err; }

te=$(gg thunk -o o -- sh -c 'echo evil > o')
tg=$(gg thunk -o o -- sh -c 'echo good > o')
check "the evil thunk runs on the worker" [ "$(force "$te")" = evil ]
check "... which keeps its memo entry" [ -n "$(memo_entry "$ws" "$te")" ]

# The poisoner: unisolated, it reaches the worker's store and plants evil's
# entry under good's name (a real one would find the store from its cwd).
fan=${tg:1:2}
tp=$(gg thunk --tool sh --tool cp --tool find --tool mkdir -o o -- sh -c \
	"mkdir -p '$ws/memo/$fan' && cp \"\$(find '$ws/memo' -name '$te')\" '$ws/memo/$fan/$tg' && echo planted > o")
check "the poisoner ran" [ "$(force "$tp")" = planted ]
check "... and planted an entry for the good thunk" [ -n "$(memo_entry "$ws" "$tg")" ]
check "the good thunk gives its own output, not the planted one" [ "$(force "$tg")" = good ]
check "it was computed, not answered from the worker's memo" \
	grep -q "gg worker: $tg ok in [0-9]* ms\$" "${WLOG[u]}"
check "the worker's log has no sanitizer report" worker_log_clean u
worker_stop u
finish
