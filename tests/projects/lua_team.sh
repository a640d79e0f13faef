#!/usr/bin/env bash
# A team's shared cache on a real project: Lua 5.4 (Debian's source, as
# upstream builds it: `make -j2 linux-readline`, see lua.sh), built by one
# client and reused by others, each with its own HOME, tree (at another
# path) and store of the same sources, inferred on its own.
#   - S3 (radosgw on 127.0.0.1): A builds lua and luac through its ggfs
#     mount with --remote-cache readwrite; B forces the same targets with
#     --remote-cache read through a proxy that counts bytes: 0 thunks run
#     (its trace), both programs equal A's; C reads src/lua through a cold
#     mount: 0 thunks run, and C downloads lua's bytes plus at most BOUND
#     bytes (one cache entry and the HTTP headers), nothing else.
#   - Redis, with a gg worker as the engine: W builds through the worker
#     with readwrite; X, through the worker too, with read: 0 thunks run
#     (its trace), the programs equal W's.
# Times are printed, never asserted.
. "$(dirname "$0")/../projects-lib.sh"
proj_setup "${1:?usage: $0 BUILD_DIR}" lua5.4
need patch curl redis-cli fusermount3
trap 'exit 130' INT TERM # so that the EXIT trap stops the servers
servers=$(cd "$(dirname "$0")/../servers" && pwd)
. "$servers/workers.sh"
lua_prepare "$SRC" "$T/prepared" || finish
build='make -j2 linux-readline'
BOUND=4096
cd "$T"

client() { # NAME: its own HOME and store, its tree at $T/NAME/lua5.4, inferred
	mkdir -p "$T/home.$1" "$T/$1" && cp -a "$T/prepared" "$T/$1/lua5.4" &&
		(cd "$T/$1/lua5.4" && gg init . >/dev/null &&
			HOME="$T/home.$1" timeout 600 gg infer bash -c "$build" >"$T/$1.infer" 2>&1) ||
		{ not_ok "client $1: gg infer $build"; tail -20 "$T/$1.infer"; finish; }
}
runs() { # TRACE: how many thunks ran
	proj_trace_runs "$1" | tr ' ' '\n' | awk -F= '{ n += $2 } END { print n + 0 }'
}
ms() { echo $(($(now_ms) - $1)); }

# ---- S3 ----
. "$servers/rgw.sh"
rgw_up || { not_ok "start radosgw (tests/servers/rgw.sh)"; finish; }
export GG_S3_ENDPOINT=$S3_ENDPOINT AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY
unset AWS_SESSION_TOKEN AWS_PROFILE GG_S3_REGION AWS_REGION GG_S3_PATH_STYLE GG_REMOTE_CACHE GG_REMOTE_CACHE_KEY GG_ENGINE
export GG_STORAGE=s3://gg-lua-team/cache
st=$(curl -s -o /dev/null -w '%{http_code}' --aws-sigv4 "aws:amz:us-east-1:s3" --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" \
	-H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -X PUT "$S3_ENDPOINT/gg-lua-team")
check "create the bucket ($st)" [ "$st" = 200 ]
python3 "$servers/raw_http.py" "$RGW_PORT" count "$T/bytes.log" >"$T/proxy.port" 2>"$T/proxy.err" &
at_exit "kill $!"
wait_for 100 test -s "$T/proxy.port"
PROXY=http://127.0.0.1:$(head -1 "$T/proxy.port")
downloaded() { awk '$1 == "down" { n += $2 } END { print n + 0 }' "$T/bytes.log"; }

for c in a b c; do client $c; done
t0=$(now_ms)
HOME=$T/home.a GG_REMOTE_CACHE=readwrite ggfs_mount a/lua5.4 mnt.a a.log -o trace="$T/a.json" ||
	{ not_ok "mount A's tree"; finish; }
cp mnt.a/src/lua lua.a && cp mnt.a/src/luac luac.a
check "A reads lua and luac through its mount, building them ($(ms "$t0") ms)" test -s lua.a -a -s luac.a
out=$(./lua.a -e 'print(("lazy"):upper(), 6 * 7)' 2>&1)
check "A's lua runs: $out" test "$out" = "LAZY	42"
check "unmount A" ggfs_umount mnt.a
check "... its log is clean" ggfs_log_clean a.log
n=$(runs a.json)
check "A ran the build's thunks ($n) and published them" [ "$n" -gt 30 ]

t0=$(now_ms)
d0=$(downloaded)
out=$(cd b/lua5.4 && HOME=$T/home.b GG_S3_ENDPOINT=$PROXY gg force --summary --no-progress --remote-cache read \
	--trace "$T/b.json" src/lua src/luac 2>&1)
rc=$?
echo "# B: $(tail -1 <<<"$out") ($(ms "$t0") ms, $(($(downloaded) - d0)) bytes downloaded)"
check "B forces lua and luac from the cache (rc $rc)" [ $rc = 0 ]
check "... 0 thunks run (its trace: $(runs b.json))" [ "$(runs b.json)" = 0 ]
check "... lua equals A's byte for byte" cmp lua.a b/lua5.4/src/lua
check "... luac too" cmp luac.a b/lua5.4/src/luac

size=$(stat -c %s lua.a)
d0=$(downloaded)
HOME=$T/home.c GG_REMOTE_CACHE=read GG_S3_ENDPOINT=$PROXY ggfs_mount c/lua5.4 mnt.c c.log -o trace="$T/c.json" ||
	{ not_ok "mount C's tree"; finish; }
cp mnt.c/src/lua lua.c
check "unmount C" ggfs_umount mnt.c
got=$(($(downloaded) - d0))
echo "# C's cold mount downloaded $got bytes to read lua ($size bytes); the bound is $size + $BOUND"
check "C reads lua through a cold mount: A's byte for byte" cmp lua.a lua.c
check "... 0 thunks run (its trace: $(runs c.json))" [ "$(runs c.json)" = 0 ]
check "... having downloaded lua and no more than $BOUND bytes besides ($got bytes)" \
	test "$got" -ge "$size" -a "$got" -le $((size + BOUND))
check "... its log is clean" ggfs_log_clean c.log
unset GG_STORAGE

# ---- Redis, with a gg worker as the engine ----
. "$servers/redis.sh"
if redis_up; then
	R=redis://127.0.0.1:$REDIS_PORT
	for c in w x; do client $c; done
	GG_STORAGE=$R worker_start w1 -j 2 || { not_ok "start a gg worker"; finish; }
	t0=$(now_ms)
	out=$(cd w/lua5.4 && HOME=$T/home.w gg force --summary --no-progress -e "http=${WURL[w1]}" --storage "$R" \
		--remote-cache readwrite --trace "$T/w.json" src/lua src/luac 2>&1)
	rc=$?
	echo "# W: $(tail -1 <<<"$out") ($(ms "$t0") ms)"
	check "W builds lua and luac on the worker, publishing to Redis (rc $rc, $(runs w.json) run)" \
		[ $rc = 0 -a "$(runs w.json)" -gt 30 ]
	t0=$(now_ms)
	out=$(cd x/lua5.4 && HOME=$T/home.x gg force --summary --no-progress -e "http=${WURL[w1]}" --storage "$R" \
		--remote-cache read --trace "$T/x.json" src/lua src/luac 2>&1)
	rc=$?
	echo "# X: $(tail -1 <<<"$out") ($(ms "$t0") ms)"
	check "X forces them through the worker from the cache (rc $rc)" [ $rc = 0 ]
	check "... 0 thunks run (its trace: $(runs x.json))" [ "$(runs x.json)" = 0 ]
	check "... lua and luac equal W's" bash -c 'cmp w/lua5.4/src/lua x/lua5.4/src/lua && cmp w/lua5.4/src/luac x/lua5.4/src/luac'
	check "... and A's (the same sources)" cmp lua.a x/lua5.4/src/lua
	worker_stop w1
	check "the worker's log is clean" worker_log_clean w1
else
	not_ok "start redis-server (tests/servers/redis.sh)"
fi
finish
