#!/usr/bin/env bash
# Two clients share one Redis as a shared cache (redis-server started on
# 127.0.0.1 by tests/servers/start-redis.sh). Each has its own HOME, tree
# (at another path) and store of the same sources:
# - A builds the demo's C program with --remote-cache readwrite (entries
#   are keys memo/THUNK);
# - B forces the same target with --remote-cache read through a proxy that
#   counts bytes: 0 thunks executed (its --summary), having downloaded the
#   program's bytes plus at most BOUND bytes (one cache entry, RESP framing);
# - lazy remote outputs: a force by thunk name downloads none of the
#   value's bytes; gg cat downloads it once;
# - what a key holds may not be an entry (larger than 1 MiB, a list): it is
#   ignored like a malformed entry, the cache stays on, the run repairs it;
# - a client logged in as a Redis ACL user allowed only GET, GETRANGE,
#   STRLEN and EXISTS uses the cache and cannot write to it: its new thunks
#   run, publishing fails with a notice naming the refusal (NOPERM), and
#   Redis has no entry for them.
# - the same with a gg worker as the engine: W builds a changed program on
#   the worker and publishes it; X, forcing through the worker too, executes
#   nothing;
# - a cache that cannot be reached is said once and not asked again: the
#   force runs every thunk and succeeds.
. "$(dirname "$0")/lib.sh"
setup "$@"
need python3 cmp cc make redis-cli
trap 'exit 130' INT TERM # so that the EXIT trap stops the server
here=$(cd "$(dirname "$0")" && pwd)
servers=$here/../servers
. "$servers/c_project.sh"
. "$servers/workers.sh"
cd "$T"
BOUND=2048

. "$servers/redis.sh"
if ! redis_up; then
	not_ok "start redis-server (tests/servers/redis.sh)"
	finish
fi
unset GG_REMOTE_CACHE GG_REMOTE_CACHE_KEY GG_STORAGE
R=redis://127.0.0.1:$REDIS_PORT

python3 "$servers/raw_http.py" "$REDIS_PORT" count bytes.log >proxy.port 2>proxy.err &
proxy_pid=$!
at_exit "kill $proxy_pid"
wait_for 100 test -s proxy.port
P=redis://127.0.0.1:$(head -1 proxy.port)
downloaded() { awk '$1 == "down" { n += $2 } END { print n + 0 }' bytes.log; }

run_force() { # NAME GG-FORCE-OPTION...: forces primes in NAME's tree with its own HOME
	local n=$1
	shift
	(cd "$T/$n" && HOME="$T/home.$n" gg force --summary --no-progress "$@" primes 2>&1 >/dev/null)
}
for c in a b r u o1 o2 l; do mkdir -p "home.$c" && c_project "$c"; done

out=$(run_force a --storage "$R" --remote-cache readwrite)
check "A builds the program, publishing every thunk: $out" has_text "$out" "executed [1-9][0-9]*, from memo 0, failed 0 (0 of"
top=$(grep -o 'T[0-9a-f]\{76\}' r/primes | head -1)
check "Redis has the entry of the program's thunk (memo/$top)" test "$(redis-cli -p "$REDIS_PORT" EXISTS "memo/$top")" = 1
size=$(stat -c %s a/primes)

d0=$(downloaded)
out=$(run_force b --storage "$P" --remote-cache read)
got=$(($(downloaded) - d0))
echo "# B downloaded $got bytes through the proxy: the program is $size bytes; the bound is $size + $BOUND"
check "B, with another HOME, tree and store, executes 0 thunks: $out" has_text "$out" "executed 0, from memo 1, failed 0 (1 of them from the shared cache)"
check "... and has A's program byte for byte" cmp a/primes b/primes
check "... having downloaded the program and no more than $BOUND bytes besides ($got bytes)" \
	test "$got" -ge "$size" -a "$got" -le $((size + BOUND))

# lazy remote outputs: a force by thunk name downloads none of the value's
# bytes; gg cat downloads it, once
d0=$(downloaded)
out=$(cd l && HOME="$T/home.l" gg force --storage "$P" --remote-cache read "$top" 2>&1)
got=$(($(downloaded) - d0))
echo "# forcing $top by name downloaded $got bytes (its output is $size bytes)"
check "a force by thunk name prints the value ($out)" test "$(tail -1 <<<"$out")" = "$(gg hash a/primes)"
check "... having downloaded none of its bytes ($got bytes)" test "$got" -lt "$BOUND"
d0=$(downloaded)
(cd l && HOME="$T/home.l" GG_STORAGE=$P GG_REMOTE_CACHE=read gg cat "$top" >"$T/cat.out" 2>"$T/cat.err")
got=$(($(downloaded) - d0))
check "gg cat fetches it: A's program byte for byte ($(cat cat.err))" cmp a/primes cat.out
check "... the value's bytes and no more than $BOUND besides ($got bytes)" \
	test "$got" -ge "$size" -a "$got" -le $((size + BOUND))
d0=$(downloaded)
(cd l && HOME="$T/home.l" GG_STORAGE=$P GG_REMOTE_CACHE=read gg cat "$top" >/dev/null 2>&1)
check "... a second gg cat downloads nothing ($(($(downloaded) - d0)) bytes)" test "$(($(downloaded) - d0))" = 0

# what a key holds may not be an entry (anyone who may write one key can
# put it there): larger than 1 MiB, or not a string. That entry is ignored
# like a malformed one, naming the cause; the cache stays on for the rest,
# and the thunk's run repairs it
bin=$(gg hash a/primes)
entries=$(grep -rl "$bin" a/.gg/memo | xargs -n1 basename)
check "A's memo names the program's entries (the link thunk's, its reduced thunk's): $(echo $entries | wc -w)" test "$(echo $entries | wc -w)" = 2
for e in $entries; do head -c $((1024 * 1024 + 1)) /dev/zero | redis-cli -p "$REDIS_PORT" -x SET "memo/$e" >/dev/null; done
out=$(run_force o1 --storage "$R" --remote-cache readwrite)
check "an entry larger than 1 MiB is ignored, saying so: $out" has_text "$out" "entry of $top at $R is ignored: it is larger than 1048576 bytes"
check "... the cache is still used for the rest: only that thunk runs" has_text "$out" "executed 1, from memo [1-9]"
check "... with the right result" cmp a/primes o1/primes
check "... and the entry is repaired" has_text "$(redis-cli -p "$REDIS_PORT" GET "memo/$top" | head -1)" "^ggcache 1 $top\$"
for e in $entries; do
	redis-cli -p "$REDIS_PORT" DEL "memo/$e" >/dev/null
	redis-cli -p "$REDIS_PORT" RPUSH "memo/$e" x >/dev/null
done
out=$(run_force o2 --storage "$R" --remote-cache readwrite)
check "a key holding a list is ignored, saying so: $out" has_text "$out" "entry of $top at $R is ignored: the key holds no string (WRONGTYPE"
check "... only that thunk runs, with the right result" bash -c "grep -q 'executed 1, from memo [1-9]' <<<'$out' && cmp a/primes o2/primes"
check "... and the entry is repaired" has_text "$(redis-cli -p "$REDIS_PORT" GET "memo/$top" | head -1)" "^ggcache 1 $top\$"

# a read-only ACL user
check "create a read-only ACL user" test "$(redis-cli -p "$REDIS_PORT" ACL SETUSER reader on '>readerpw' '~*' -@all +get +getrange +strlen +exists)" = OK
RO=redis://reader:readerpw@127.0.0.1:$REDIS_PORT
out=$(run_force r --storage "$RO" --remote-cache read)
check "a reader with read-only credentials uses the cache: $out" has_text "$out" "executed 0, from memo 1, failed 0 (1 of them"
sed -i 's/primes below/primes under/' r/main.c
(cd r && gg infer make >/dev/null 2>&1)
new=$(grep -o 'T[0-9a-f]\{76\}' r/primes | head -1)
out=$(run_force r --storage "$RO" --remote-cache readwrite)
rc=$?
echo "# read-only publish: $out"
check "... its changed program builds (rc $rc)" test "$rc" = 0
check "... running its new thunks" has_text "$out" "executed [1-9]"
check "... and works" has_text "$(r/primes 100)" "25 primes under 100"
check "... publishing is refused (NOPERM), and said once" \
	test "$(grep -c 'shared cache: cannot publish .*NOPERM.*the user.s ACL does not allow it; not retried.*publishing nothing more in this run' <<<"$out")" = 1
check "Redis has no entry for the reader's new thunk" test "$(redis-cli -p "$REDIS_PORT" EXISTS "memo/$new")" = 0

# a gg worker as the engine
for c in w x; do
	mkdir -p "home.$c" && c_project "$c"
	sed -i 's/primes below/primes beneath/' "$c/main.c"
	(cd "$c" && gg infer make >/dev/null 2>&1)
done
GG_STORAGE=$R
export GG_STORAGE
worker_start w1 -j 2 || not_ok "start a gg worker"
unset GG_STORAGE
out=$(run_force w -e "http=${WURL[w1]}" --storage "$R" --remote-cache readwrite)
check "W builds a changed program on a gg worker, publishing it: $out" has_text "$out" "executed [1-9][0-9]*, from memo [0-9]*, failed 0"
out=$(run_force x -e "http=${WURL[w1]}" --storage "$R" --remote-cache read)
check "X, with the worker as its engine, executes 0 thunks: $out" has_text "$out" "executed 0, from memo 1, failed 0 (1 of them from the shared cache)"
check "... and has W's program" cmp w/primes x/primes
check "... which works" has_text "$(x/primes 100)" "25 primes beneath 100"

# a cache nobody answers for (connections refused)
out=$(GG_STORAGE_BACKOFF_MS=20 run_force u --storage redis://127.0.0.1:1 --remote-cache readwrite)
rc=$?
echo "# unreachable: $out"
check "with the cache unreachable, the force runs every thunk (rc $rc)" has_text "$out" "executed [1-9][0-9]*, from memo 0, failed 0"
check "... saying once that it is not asked again" \
	test "$(grep -c 'shared cache: .*127.0.0.1:1.*not asking it again in this run' <<<"$out")" = 1
check "... and its program works" has_text "$(u/primes 100)" "25 primes below 100"
finish
