#!/usr/bin/env bash
# Transfer to and from a local S3 store (Ceph radosgw on 127.0.0.1, started
# here by tests/servers/start-ceph-rgw.sh and stopped at exit): 1,000 small
# objects (1-4 KiB) and 10 large ones (16 MiB), uploaded and downloaded by
#   - gg push / gg pull (libcurl multi: up to GG_STORAGE_PARALLEL=64 in flight,
#     connections reused, every download verified against its name), and
#   - the baseline: one `curl` process at a time (a shell loop of signed
#     `curl --aws-sigv4` PUTs and GETs, what a script without gg would do).
# Prints the seconds, objects/s and MB/s of each and the speed-up ratio.
#
#   bench/storage.sh [BUILD]      (also run by `make bench`, or
#                                  GG_BENCH_ONLY=storage bench/run.sh build)
# Environment: GG_BENCH_SMALL (default 1000), GG_BENCH_LARGE (10),
# GG_BENCH_LARGE_MB (16). Needs ~15 s to start radosgw and ~1 GiB of RAM.
set -eu
build=$(cd "${1:-build}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
servers=$here/../tests/servers
export PATH="$build/bin:$PATH"
small=${GG_BENCH_SMALL:-1000} large=${GG_BENCH_LARGE:-10} large_mb=${GG_BENCH_LARGE_MB:-16}
W=$(mktemp -d /tmp/gg-bench-storage.XXXXXX)
CEPH_ROOT=
cleanup() {
	[ -z "$CEPH_ROOT" ] || bash "$servers/start-ceph-rgw.sh" stop "$CEPH_ROOT" >/dev/null 2>&1 || true
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cd "$W"

echo "starting radosgw (about 15 s)..."
env -u RGW_PORT -u MON_PORT CEPH_ROOT="$W/ceph" \
	bash "$servers/start-ceph-rgw.sh" >ceph.env 2>ceph.log || { cat ceph.log; exit 1; }
. ./ceph.env
export GG_S3_ENDPOINT=$S3_ENDPOINT AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY
SIG=(--aws-sigv4 "aws:amz:us-east-1:s3" --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD")
for b in bench-gg bench-curl; do
	curl -sf -o /dev/null "${SIG[@]}" -X PUT "$S3_ENDPOINT/$b"
done

mkdir -p src && (cd src && gg init . >/dev/null)
for i in $(seq 1 "$small"); do head -c $((1024 + RANDOM % 3072)) /dev/urandom >"src/s$i"; done
for i in $(seq 1 "$large"); do head -c $((large_mb * 1048576)) /dev/urandom >"src/l$i"; done
# put them in the local store (a push to a scratch directory does that), so
# that the timed transfers below move objects that are already named
(cd src && gg push "file://$W/scratch" s* l* >../names.out 2>/dev/null) && rm -rf "$W/scratch"
cut -d' ' -f1 names.out >names
total=0
while read -r name _; do total=$((total + 16#${name:65:12})); done <names.out
count=$(wc -l <names)
awk -v s="$small" -v l="$large" -v m="$large_mb" -v t="$total" \
	'BEGIN { printf "objects: %d small (1-4 KiB) + %d large (%d MiB), %.1f MB in all\n", s, l, m, t / 1e6 }'

now() { date +%s.%N; }
minus() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }
report() { # LABEL SECONDS
	awk -v l="$1" -v s="$2" -v n="$count" -v b="$total" \
		'BEGIN { printf "  %-34s %7.2f s  %8.0f objects/s  %7.1f MB/s\n", l, s, n / s, b / s / 1e6 }'
}

t0=$(now)
(cd src && gg push s3://bench-gg - <../names >/dev/null 2>&1)
t1=$(now)
mkdir -p dst && (cd dst && gg init . >/dev/null)
(cd dst && gg pull s3://bench-gg - <../names 2>/dev/null)
t2=$(now)

# the baseline: one curl at a time, the same objects under the same keys
t3=$(now)
while read -r name file; do
	curl -sf -o /dev/null "${SIG[@]}" -T "src/$file" "$S3_ENDPOINT/bench-curl/$name"
done <names.out
t4=$(now)
mkdir -p curl-dst
while read -r name; do
	curl -sf -o "curl-dst/$name" "${SIG[@]}" "$S3_ENDPOINT/bench-curl/$name"
done <names
t5=$(now)

# both downloads must be right
(cd dst/.gg/objects && find . -type f -printf '%f\n' | sort) >got.gg
sort names >want
cmp -s want got.gg || { echo "gg pull did not fetch every object"; exit 1; }
for n in $(head -3 names) $(tail -3 names); do cmp -s "curl-dst/$n" "dst/.gg/objects/${n:1:2}/$n" || { echo "curl download differs: $n"; exit 1; }; done

up_gg=$(minus "$t1" "$t0") down_gg=$(minus "$t2" "$t1")
up_curl=$(minus "$t4" "$t3") down_curl=$(minus "$t5" "$t4")
echo "upload:"
report "gg push (multi, 64 in flight)" "$up_gg"
report "curl, one process at a time" "$up_curl"
awk -v a="$up_curl" -v b="$up_gg" 'BEGIN { printf "  speed-up %.1fx\n", a / b }'
echo "download (gg verifies every object against its name):"
report "gg pull (multi, 64 in flight)" "$down_gg"
report "curl, one process at a time" "$down_curl"
awk -v a="$down_curl" -v b="$down_gg" 'BEGIN { printf "  speed-up %.1fx\n", a / b }'
echo "small objects only (the case batching is for):"
head -n "$small" names >snames
(cd dst && rm -rf .gg && gg init . >/dev/null)
t6=$(now)
(cd dst && gg pull s3://bench-gg - <../snames 2>/dev/null)
t7=$(now)
head -n "$small" names | while read -r name; do curl -sf -o /dev/null "${SIG[@]}" "$S3_ENDPOINT/bench-curl/$name"; done
t8=$(now)
awk -v g="$(minus "$t7" "$t6")" -v c="$(minus "$t8" "$t7")" -v n="$small" 'BEGIN {
	printf "  gg pull %.2f s (%.0f/s), curl loop %.2f s (%.0f/s): speed-up %.1fx\n", g, n / g, c, n / c, c / g }'
