#!/usr/bin/env bash
# ggfs read and stat performance, side by side in one run:
#  1. a 1 GiB forced output read sequentially, first (cold page cache) and
#     second time (warm), through ggfs, directly from the store, and through
#     libfuse's passthrough_ll example (the reference FUSE filesystem, built
#     from libfuse3-dev's examples) over the same store directory;
#  2. stat of 10,000 placeholders through the mount, a first pass and later
#     ones, vs directly.
# Goals: warm reads >= 0.9x direct; first read no slower than passthrough_ll;
# second stat pass within 1.2x of direct. Warm reads and later stat passes
# are the median of GG_BENCH_FS_REPS runs (default 5), taken in turns with
# the baseline's: single runs vary by half on a loaded machine.
# usage: bench/fs.sh BUILD_DIR   (make bench runs it; GG_BENCH_FS_MB=1024)
set -eu
build=$(cd "${1:-build}" && pwd)
export PATH="$build/bin:$PATH"
mb=${GG_BENCH_FS_MB:-1024}
reps=${GG_BENCH_FS_REPS:-5}
w=$(mktemp -d /tmp/gg-bench-fs.XXXXXX)
cleanup() {
	for m in "$w/mnt" "$w/pt"; do fusermount3 -u "$m" 2>/dev/null || true; done
	rm -rf "$w"
}
trap cleanup EXIT
mkdir -p "$w/src" "$w/mnt" "$w/pt"
cd "$w/src"
gg init . >/dev/null

ex=/usr/share/doc/libfuse3-dev/examples
cc -O2 -Wall -D_FILE_OFFSET_BITS=64 -I"$ex" "$ex/passthrough_ll.c" $(pkg-config --cflags --libs fuse3) -o "$w/passthrough_ll"

# A thunk producing $mb MiB of incompressible data, forced once.
gg thunk -o big --placeholder big.ph -- dd if=/dev/urandom of=big bs=1M count="$mb" status=none >/dev/null
name=$(gg force --no-progress "$(sed -n 2p big.ph | cut -d' ' -f3)")
obj=$(find .gg/objects -name "$name")
drop() { sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || echo "(cannot drop caches: first reads may be warm)"; }
readtime() { # FILE -> seconds
	local t0 t1
	t0=$(date +%s%N); cat "$1" > /dev/null; t1=$(date +%s%N)
	echo $(( (t1 - t0) / 1000000 ))
}
median() { # MS... -> their median
	printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
ggfs "$w/src" "$w/mnt"
"$w/passthrough_ll" -o source="$w/src/.gg" -o cache=always "$w/pt"
rel=${obj#.gg/}
cat "$w/mnt/big.ph" > /dev/null # force through the mount (a memo hit)
drop; d1=$(readtime "$obj")
drop; g1=$(readtime "$w/mnt/big.ph")
drop; p1=$(readtime "$w/pt/$rel")
# Warm reads taken in turns, so that a burst of load elsewhere hits all three.
dw=; gw=; pw=
for i in $(seq "$reps"); do
	dw="$dw $(readtime "$obj")"; gw="$gw $(readtime "$w/mnt/big.ph")"; pw="$pw $(readtime "$w/pt/$rel")"
done
d2=$(median $dw); g2=$(median $gw); p2=$(median $pw)
awk -v mb="$mb" -v d1="$d1" -v d2="$d2" -v g1="$g1" -v g2="$g2" -v p1="$p1" -v p2="$p2" 'BEGIN {
	printf "read %d MiB       first (ms)  warm (ms)     MiB/s warm\n", mb
	printf "  direct         %8d  %8d     %8.0f   (baseline)\n", d1, d2, mb * 1000 / (d2 ? d2 : 1)
	printf "  passthrough_ll %8d  %8d     %8.0f\n", p1, p2, mb * 1000 / (p2 ? p2 : 1)
	printf "  ggfs           %8d  %8d     %8.0f\n", g1, g2, mb * 1000 / (g2 ? g2 : 1)
	printf "  ggfs warm read / direct: %.2fx of direct throughput (goal >= 0.9)\n", (d2 ? d2 : 1) / (g2 ? g2 : 1)
	printf "  ggfs first read / passthrough_ll first read: %.2fx the time (goal <= 1.0)\n", g1 / (p1 ? p1 : 1) }'
fusermount3 -u "$w/mnt"; fusermount3 -u "$w/pt"

# 10,000 placeholders
mkdir -p many
ph=$(cat big.ph)
for i in $(seq 10000); do printf '%s\n' "$ph" > "many/p$i"; done
ggfs "$w/src" "$w/mnt"
statpass() { local t0 t1; t0=$(date +%s%N); find "$1" -type f -exec stat -c %s {} + > /dev/null; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000000 )); }
s1=$(statpass "$w/src/many"); m1=$(statpass "$w/mnt/many")
sw=; mw=
for i in $(seq "$reps"); do sw="$sw $(statpass "$w/src/many")"; mw="$mw $(statpass "$w/mnt/many")"; done
s2=$(median $sw); m2=$(median $mw)
awk -v s1="$s1" -v s2="$s2" -v m1="$m1" -v m2="$m2" 'BEGIN {
	printf "stat of 10,000 placeholders   first (ms)  later (ms)\n"
	printf "  direct                      %8d  %8d   (baseline)\n", s1, s2
	printf "  ggfs                        %8d  %8d\n", m1, m2
	printf "  later passes through ggfs / direct: %.2fx (goal <= 1.2)\n", m2 / (s2 ? s2 : 1) }'
