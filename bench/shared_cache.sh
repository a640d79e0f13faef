#!/usr/bin/env bash
# A team's shared cache on a local S3 store (Ceph radosgw on 127.0.0.1,
# started here by tests/servers/start-ceph-rgw.sh and stopped at exit), on a
# real project: this repository's own sources, `make build/bin/gg`.
#   - plain:  `make -j2 CFLAGS=-O2 build/bin/gg` (the baseline)
#   - A cold: gg infer make, then `gg force -j2 --remote-cache readwrite`
#             (every thunk runs here and is published)
#   - B warm: another copy at another path, its own HOME and store:
#             gg infer make, then `gg force -j2 --remote-cache read`
# Prints the seconds of each, B's and A's against plain, how many thunks B
# executed, and the bytes B downloaded (counted at a relay in front of
# radosgw) against the total size of the build's outputs.
#
#   bench/shared_cache.sh [BUILD]   (also run by `make bench`, or
#                                    GG_BENCH_ONLY=shared_cache bench/run.sh build)
# Needs ~15 s to start radosgw and ~1 GiB of RAM.
set -eu
build=$(cd "${1:-build}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
servers=$here/../tests/servers
export PATH="$build/bin:$PATH"
W=$(mktemp -d /tmp/gg-bench-cache.XXXXXX)
CEPH_ROOT= relay=
cleanup() {
	[ -z "$relay" ] || kill "$relay" 2>/dev/null || true
	[ -z "$CEPH_ROOT" ] || bash "$servers/start-ceph-rgw.sh" stop "$CEPH_ROOT" >/dev/null 2>&1 || true
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cd "$W"

env -u RGW_PORT -u MON_PORT CEPH_ROOT="$W/ceph" bash "$servers/start-ceph-rgw.sh" >ceph.env 2>ceph.log ||
	{ tail -20 ceph.log; exit 1; }
. ./ceph.env
export GG_S3_ENDPOINT=$S3_ENDPOINT AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY
unset GG_REMOTE_CACHE GG_REMOTE_CACHE_KEY AWS_SESSION_TOKEN AWS_PROFILE
export GG_STORAGE=s3://gg-bench/cache
curl -s -o /dev/null --aws-sigv4 aws:amz:us-east-1:s3 --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" \
	-H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -X PUT "$S3_ENDPOINT/gg-bench"
python3 "$servers/raw_http.py" "$RGW_PORT" count bytes.log >relay.port 2>relay.err &
relay=$!
for _ in $(seq 100); do [ -s relay.port ] && break; sleep 0.1; done
down() { awk '$1 == "down" { n += $2 } END { print n + 0 }' bytes.log; }

copy_sources() { # DEST
	mkdir -p "$1"
	(cd "$root" && git ls-files -co --exclude-standard | grep -v '^build' | tar -cf - -T -) |
		tar -xf - -C "$1"
}
ms() { echo $((($(date +%s%N) - $1) / 1000000)); }
for c in plain a b; do copy_sources "$c" && mkdir -p "home.$c"; done

t=$(date +%s%N)
(cd plain && make -j2 CFLAGS=-O2 build/bin/gg >make.out 2>&1)
plain=$(ms "$t")

for c in a b; do
	(cd "$c" && gg init . >/dev/null && HOME="$W/home.$c" gg infer make -j2 CFLAGS=-O2 build/bin/gg \
		>infer.out 2>&1)
done
t=$(date +%s%N)
(cd a && HOME="$W/home.a" gg force -j2 --summary --no-progress --remote-cache readwrite build/bin/gg) \
	2>a.out
cold=$(ms "$t")
d0=$(down)
t=$(date +%s%N)
(cd b && HOME="$W/home.b" GG_S3_ENDPOINT=http://127.0.0.1:$(head -1 "$W/relay.port") \
	gg force -j2 --summary --no-progress --remote-cache read build/bin/gg) 2>b.out
warm=$(ms "$t")
got=$(($(down) - d0))
cmp -s a/build/bin/gg b/build/bin/gg || { echo "B's gg differs from A's"; exit 1; }
# every value A's thunks produced: the sizes in the names of its memo's outputs
total=$(find a/.gg/memo -type f -exec sed -n 's/^out [x-] V[0-9a-f]\{64\}\([0-9a-f]\{12\}\) .*/\1/p' {} + |
	sort -u | while read -r h; do echo $((16#$h)); done | awk '{ n += $1 } END { print n + 0 }')
prog=$(stat -c %s b/build/bin/gg)
echo "plain make -j2:               $plain ms"
echo "A, cold (runs and publishes): $cold ms ($(awk -v a="$cold" -v p="$plain" 'BEGIN { printf "%.2f", a / p }')x plain) — $(tail -1 a.out)"
echo "B, warm (from the cache):     $warm ms ($(awk -v a="$warm" -v p="$plain" 'BEGIN { printf "%.3f", a / p }')x plain) — $(tail -1 b.out)"
echo "B downloaded $got bytes: the program is $prog bytes; all of the build's outputs are $total bytes ($(awk -v a="$got" -v t="$total" 'BEGIN { printf "%.1f", 100 * a / t }')%)"
