#!/usr/bin/env bash
# gg gc --remote on Redis (redis-server started on 127.0.0.1 by
# tests/servers/start-redis.sh). An object's age there is its idle time
# (OBJECT IDLETIME: since it was last read or written), which the test
# cannot backdate, so it waits 10 s and uses a grace of 8 s (a client
# publishing asks whether the store has its outputs first, which on Redis
# is a use: the young object is pushed again just before the real run):
# - A builds the demo's C program with --remote-cache readwrite;
# - an object nobody names, idle longer than the grace, is deleted; one
#   uploaded just now (a second client's output, pushed before its entry)
#   survives; the objects entries name survive however long idle;
# - --dry-run prints what it would delete and deletes nothing, and does not
#   make anything look used (listing leaves idle times alone);
# - keys that are neither objects nor entries are left alone;
# - 3000 more unnamed objects: the listing follows SCAN's cursor to its end;
# - B then executes 0 thunks from the cache.
. "$(dirname "$0")/lib.sh"
setup "$@"
need cc make redis-cli
trap 'exit 130' INT TERM # so that the EXIT trap stops the server
here=$(cd "$(dirname "$0")" && pwd)
servers=$here/../servers
. "$servers/c_project.sh"
cd "$T"
. "$servers/redis.sh"
if ! redis_up; then
	not_ok "start redis-server (tests/servers/redis.sh)"
	finish
fi
unset GG_REMOTE_CACHE GG_REMOTE_CACHE_KEY GG_STORAGE
R=redis://127.0.0.1:$REDIS_PORT
rc() { redis-cli -p "$REDIS_PORT" "$@"; }
for c in a b; do mkdir -p "home.$c" && c_project "$c"; done

out=$(cd a && HOME="$T/home.a" gg force --summary --no-progress --storage "$R" --remote-cache readwrite primes 2>&1 >/dev/null)
check "A builds and publishes: $out" has_text "$out" "executed [1-9][0-9]*, from memo 0, failed 0"
bin=$(gg hash a/primes)
echo "old garbage nobody names" >old.txt && echo "a second client's new output" >young.txt
old=$(cd a && gg push "$R" "$T/old.txt" | awk '{ print $1 }')
rc SET unrelated:key "not gg's" >/dev/null
# 3000 more unnamed objects (valid names: SHA-256 and size), so that SCAN
# needs many calls: every one must be followed to its end
python3 -c '
import hashlib
for i in range(3000):
    v = b"garbage %d" % i
    n = "V" + hashlib.sha256(v).hexdigest() + "%012x" % len(v)
    print("SET %s \"%s\"" % (n, v.decode()))
' | rc >/dev/null
objects=$(($(rc DBSIZE) - $(rc --scan --pattern 'memo/*' | wc -l) - 1))
echo "# $objects objects; waiting 10 s so that they are idle longer than an 8 s grace"
sleep 10
young=$(cd a && gg push "$R" "$T/young.txt" | awk '{ print $1 }')

out=$(gg gc --remote --storage "$R" --grace 8s --dry-run 2>&1)
tail -1 <<<"$out" | sed 's/^/# /'
check "--dry-run names the idle unnamed object" has_text "$out" "^would delete $old 25 bytes"
check "... and the 3000 others, each once" test "$(grep '^would delete V' <<<"$out" | sort -u | wc -l)" = 3001 -a "$(grep -c '^would delete V' <<<"$out")" = 3001
check "... summing up: $(tail -1 <<<"$out")" has_text "$out" "would delete 3001 of $((objects + 1)) objects ([0-9]* bytes) from $R; kept $((objects - 3001)) named by [1-9][0-9]* cache entries, 1 within the grace period (8 s)"
check "... and deletes nothing" test "$(rc EXISTS "$old")" = 1
check "... nor makes it look used (its idle time: $(rc OBJECT IDLETIME "$old") s)" test "$(rc OBJECT IDLETIME "$old")" -ge 8

# the young object's client publishes (push asks first: STRLEN, a use)
(cd a && gg push "$R" "$T/young.txt" >/dev/null 2>&1)
out=$(gg gc --remote --storage "$R" --grace 8s 2>&1)
check "gg gc --remote deletes it: $(tail -1 <<<"$out")" has_text "$out" "^deleted $old 25 bytes"
check "... it is gone, with the 3000 others (keys left: $(rc DBSIZE))" test "$(rc EXISTS "$old")" = 0 -a "$(rc DBSIZE)" = $(($(rc --scan --pattern 'memo/*' | wc -l) + objects - 3001 + 1 + 1))
check "... the young unnamed object (a client's upload before its entry) survives" test "$(rc EXISTS "$young")" = 1
check "... and so does the program, idle but named by an entry" test "$(rc EXISTS "$bin")" = 1
check "... and a key that is no object of gg's" test "$(rc GET unrelated:key)" = "not gg's"

out=$(cd b && HOME="$T/home.b" gg force --summary --no-progress --storage "$R" --remote-cache read primes 2>&1 >/dev/null)
check "B still executes 0 thunks from the cache: $out" has_text "$out" "executed 0, from memo 1, failed 0 (1 of them from the shared cache)"
check "... A's program byte for byte" cmp a/primes b/primes
finish
