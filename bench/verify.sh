#!/usr/bin/env bash
# What checking values against their names costs (gg-store(5), VERDICTS AND
# QUARANTINE), on a forced output of GG_BENCH_FS_MB MiB (default 1024) read
# through a ggfs mount:
#  1. the first read of an output gg has just stored (its stamp has not
#     settled, so the open hashes it);
#  2. the first open once it has settled (hashed once, a verdict recorded);
#  3. a later open: no hashing (the verdict holds);
#  4. the one-time hash of an object without a verdict (gg fsck, which
#     hashes every object whatever its verdict says), in MiB/s.
# Hashing is counted from outside: the bytes ggfs read (rchar in
# /proc/PID/io) during each read; an open that hashes reads the whole object
# once more. With GG_BENCH_BASE=OTHER_BUILD_DIR the first read is also timed
# with that build's ggfs (e.g. before this change): goal <= 1.1x.
# usage: bench/verify.sh BUILD_DIR
set -eu
build=$(cd "${1:-build}" && pwd)
mb=${GG_BENCH_FS_MB:-1024}
w=$(mktemp -d /tmp/gg-bench-verify.XXXXXX)
cleanup() {
	fusermount3 -u "$w/mnt" 2>/dev/null || true
	chmod -R u+w "$w" 2>/dev/null || true
	rm -rf "$w"
}
trap cleanup EXIT
ms() { echo $(( $(date +%s%N) / 1000000 )); }
rchar() { awk '/^rchar:/ { print $2 }' "/proc/$1/io"; }
drop() { sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true; }

# first_read BIN_DIR TAG: a fresh store, an output forced and read at once
first_read() {
	local bin=$1 tag=$2 d="$w/$2"
	mkdir -p "$d/src" "$d/mnt"
	(cd "$d/src" && PATH="$bin:$PATH" gg init . >/dev/null &&
		PATH="$bin:$PATH" gg thunk -o big --placeholder big.ph -- \
			dd if=/dev/urandom of=big bs=1M count="$mb" status=none >/dev/null)
	PATH="$bin:$PATH" ggfs -f "$d/src" "$d/mnt" 2>"$d/ggfs.log" &
	local pid=$! i
	for i in $(seq 100); do grep -qs " $d/mnt fuse" /proc/mounts && break; sleep 0.05; done
	(cd "$d/src" && PATH="$bin:$PATH" gg force --no-progress "$(sed -n 2p big.ph | cut -d' ' -f3)" >/dev/null)
	local r0 t0 t1 r1
	r0=$(rchar $pid); t0=$(ms)
	cat "$d/mnt/big.ph" >/dev/null
	t1=$(ms); r1=$(rchar $pid)
	echo "$tag $((t1 - t0)) $(( (r1 - r0) / 1048576 ))"
	eval "${tag}_pid=$pid"
}

echo "checking values against their names ($mb MiB output, through ggfs)"
read -r _ new_ms new_mib < <(first_read "$build/bin" new)
printf "  first read, just stored      %6d ms   ggfs read %6d MiB\n" "$new_ms" "$new_mib"
if [ -n "${GG_BENCH_BASE:-}" ]; then
	base=$(cd "$GG_BENCH_BASE" && pwd)
	read -r _ old_ms old_mib < <(first_read "$base/bin" old)
	printf "  ... with %s      %6d ms   ggfs read %6d MiB   ratio %.2fx (goal <= 1.1x)\n" \
		"$(basename "$base")" "$old_ms" "$old_mib" "$(awk -v a="$new_ms" -v b="$old_ms" 'BEGIN { print a / (b ? b : 1) }')"
	fusermount3 -u "$w/old/mnt" || true
fi
pid=$(pgrep -f "ggfs -f $w/new/src" | head -1)
sleep 2.5 # the stamp rule's margin: now the object has settled
for what in "settled, first open" "a later open"; do
	drop
	r0=$(rchar "$pid"); t0=$(ms)
	cat "$w/new/mnt/big.ph" >/dev/null
	t1=$(ms); r1=$(rchar "$pid")
	printf "  %-28s %6d ms   ggfs read %6d MiB%s\n" "$what" $((t1 - t0)) $(( (r1 - r0) / 1048576 )) \
		"$([ "$what" = "a later open" ] && echo "   (no hashing: < $mb MiB)")"
done
fusermount3 -u "$w/new/mnt"
t0=$(ms)
(cd "$w/new/src" && "$build/bin/gg" fsck >/dev/null)
t1=$(ms)
awk -v mb="$mb" -v t=$((t1 - t0)) 'BEGIN {
	printf "  one-time hash (gg fsck)      %6d ms   %.0f MiB/s (about SHA-256 speed)\n", t, mb * 1000 / (t ? t : 1) }'
