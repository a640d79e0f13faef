#!/usr/bin/env bash
# A value's download from the shared cache holds up nothing else (Redis
# started on 127.0.0.1 by tests/servers/start-redis.sh, a relay between
# the client and it that can hold one download at will):
# - A builds the demo's C program with --remote-cache readwrite;
# - B forces the program's thunk by name (its value stays remote), mounts
#   its tree and reads the value by hash through the mount: the relay holds
#   that download after its first bytes, until the test opens the gate;
# - meanwhile B reads main.o through the mount, whose thunk is looked up in
#   the shared cache and whose (other) value is fetched: that completes
#   while the first download is still held (the relay says "released" only
#   after it, and never "gate timed out": a lookup waiting for the held
#   download would have made it time out first);
# - then the held download completes, with A's bytes.
# Ordering is asserted with markers, not wall-clock times.
. "$(dirname "$0")/lib.sh"
setup "$@"
need python3 cmp cc make redis-cli fusermount3
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
for c in a b; do mkdir -p "home.$c" && c_project "$c"; done

out=$(cd a && HOME="$T/home.a" gg force --summary --no-progress --storage "$R" --remote-cache readwrite primes 2>&1 >/dev/null)
check "A builds the program, publishing every thunk: $out" has_text "$out" "executed [1-9][0-9]*, from memo 0, failed 0"
top=$(grep -o 'T[0-9a-f]\{76\}' b/primes | head -1)
bin=$(gg hash a/primes)
out=$(cd b && HOME="$T/home.b" gg force --storage "$R" --remote-cache read "$top" 2>&1)
check "B forces the program's thunk by name, leaving its value remote" \
	test "$(tail -1 <<<"$out")" = "$bin" -a ! -e "b/.gg/objects/${bin:1:2}/$bin"

# the relay holds the download of the program's bytes (after 4 KiB)
python3 "$servers/raw_http.py" "$REDIS_PORT" gate gate.log "$bin" 4096 "$T/gate" >proxy.port 2>proxy.err &
proxy_pid=$!
at_exit "kill $proxy_pid"
wait_for 100 test -s proxy.port
P=redis://127.0.0.1:$(head -1 proxy.port)

GG_STORAGE=$P GG_REMOTE_CACHE=read HOME=$T/home.b ggfs_mount b mnt ggfs.log
cat "mnt/.gg/by-hash/$bin" >big.out 2>big.err &
big=$!
check "the download of the program's value is held by the relay" wait_for 300 grep -q '^held$' gate.log
head -c 4 mnt/main.o >obj.head 2>obj.err
rc=$?
echo second-done >>gate.log
touch "$T/gate"
wait "$big"
big_rc=$?
echo "# relay: $(tr '\n' ' ' <gate.log)"
check "meanwhile main.o is read through the mount (looked up and fetched, rc $rc: $(cat obj.err))" \
	test "$rc" = 0 -a "$(od -An -c obj.head | tr -d ' ')" = '177ELF'
check "... before the held download was let go: nothing waited for it" \
	test "$(grep -v '^held$' gate.log | head -1)" = second-done
check "... and the relay never gave up holding it" test "$(grep -c 'gate timed out' gate.log)" = 0
check "the held download then completes (rc $big_rc: $(cat big.err))" test "$big_rc" = 0
check "... with A's program byte for byte" cmp a/primes big.out
check "unmount" ggfs_umount mnt
check "... and the daemon's log is clean" ggfs_log_clean ggfs.log
finish
