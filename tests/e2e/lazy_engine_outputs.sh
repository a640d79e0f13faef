#!/usr/bin/env bash
# A remote engine's outputs stay remote until something reads them, when the
# store fetches from the engine's own storage (the shared cache is on, on
# that storage): a gg worker computes a 2 MB value and, from it, its size.
#   - forcing the size with --remote-cache readwrite brings back the size,
#     records the big value as remote (.gg/remote) and downloads none of it;
#   - gg cat of the big value's placeholder then fetches it, verified: the
#     bytes the program wrote;
#   - a remote copy damaged before it is read is refused on that read, its
#     name in the error, no byte of it served, forgotten and removed (gg cat
#     would then run the thunk again; here nothing can run);
#   - without the shared cache the same kind of force downloads the output
#     at once (and a worker that claims an output it never uploaded fails
#     the force either way: e2e/worker_reply_faults).
. "$(dirname "$0")/lib.sh"
setup "$@"
need cc cmp wc sh
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/servers/workers.sh"
workers_client || { not_ok "set up the client (napper, store, bucket)"; finish; }
worker_start w || { not_ok "start a gg worker"; finish; }
W=${WURL[w]}
obj() { echo ".gg/objects/${1:1:2}/$1"; } # NAME: where the local store keeps it
record() { find .gg/remote -type f -printf '%f\n' | grep -vxF "${1:-none}" | head -1; }

# chain BYTES NAME: NAME.ph (napper's BYTES) and NAME.size.ph (its size, by wc)
chain() {
	gg thunk -o o --placeholder "$2.ph" -- ../napper 10 o "$1" >/dev/null &&
		gg thunk --tool wc -i "in=$2.ph" -o o --placeholder "$2.size.ph" -- sh -c 'wc -c <in >o' >/dev/null
}
chain 2000000 big && chain 2000001 bad && chain 2000002 eager ||
	{ not_ok "make the thunks"; finish; }

out=$(gg force --no-progress --summary -e "http=$W" --remote-cache readwrite big.size.ph 2>&1)
check "the size is forced on the worker: $(tail -1 <<<"$out")" test "$(tr -d ' \n' <big.size.ph)" = 2000000
check "... both thunks ran on the worker" test "$(worker_ran w)" = 2
big=$(record)
../napper 0 want.out 2000000
check "... the 2 MB value is recorded as remote ($big)" test "$big" = "$(gg hash want.out | cut -d' ' -f1)"
check "... and was not downloaded" test ! -e "$(obj "$big")"
out=$(gg force --no-progress -e "http=$W" --remote-cache readwrite bad.size.ph 2>&1)
check "a second chain is forced: $out" test "$(tr -d ' \n' <bad.size.ph)" = 2000001
bad=$(record "$big")
check "... its value recorded as remote ($bad)" test -n "$bad" -a -f "$T/bucket/${bad:1:2}/$bad"

out=$(gg force --no-progress -e "http=$W" eager.size.ph 2>&1)
check "without the shared cache: forced ($out)" test "$(tr -d ' \n' <eager.size.ph)" = 2000002
../napper 0 eager.want 2000002
eager=$(gg hash eager.want | cut -d' ' -f1)
check "... the output was downloaded at once" test -f "$(obj "$eager")"

# From here on nothing can run here: napper's own object leaves the local
# store, so a read that gets the bytes has fetched them.
rm "$(obj "$(gg hash ../napper | cut -d' ' -f1)")"
GG_REMOTE_CACHE=read gg cat big.ph >big.out 2>cat.err
check "gg cat fetches the value: the bytes the program wrote" cmp big.out want.out
check "... now in the local store, the record gone" test -f "$(obj "$big")" -a ! -e ".gg/remote/${big:1:2}/$big"

printf 'X' | dd of="$T/bucket/${bad:1:2}/$bad" bs=1 seek=1000 conv=notrunc status=none
GG_REMOTE_CACHE=read gg cat bad.ph >bad.out 2>bad.err
rc=$?
sed 's/^/#   /' bad.err
check "a remote copy damaged before the read is refused, naming it (rc $rc)" \
	grep -q "object $bad from file://$T/bucket is corrupt" bad.err
check "... none of its bytes served" test ! -s bad.out
check "... its record forgotten" test ! -e ".gg/remote/${bad:1:2}/$bad"
check "... and the damaged copy removed" test ! -e "$T/bucket/${bad:1:2}/$bad"
worker_stop w
check "the worker's log is clean" worker_log_clean w
finish
