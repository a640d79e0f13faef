#!/usr/bin/env bash
# What checking values against their names costs (gg-store(5), VERDICTS AND
# QUARANTINE), on a forced output of GG_BENCH_FS_MB MiB (default 1024) read
# through a ggfs mount:
#  1. the first read of an output gg has just stored (where the store's file
#     system keeps exact change times, gg recorded its verdict as it stored
#     it, so the open hashes nothing; elsewhere the open hashes it once,
#     its stamp not having settled);
#  2. the first open 2.5 s later (settled);
#  3. a later open: no hashing (the verdict holds);
#  4. the one-time hash of an object without a verdict (gg fsck, which
#     hashes every object whatever its verdict says), in MiB/s.
# Hashing is counted from outside: the bytes ggfs read (rchar in
# /proc/PID/io) during each read; an open that hashes reads the whole object
# once more. With GG_BENCH_BASE=OTHER_BUILD_DIR the first read is also timed
# with that build's ggfs (e.g. before this change), and the reads of both
# builds alternate GG_BENCH_RUNS times (default 3; medians): goal <= 1.1x
# of a read that hashes nothing.
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

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
runs=${GG_BENCH_RUNS:-3}

# start BIN_DIR TAG: a fresh store in $w/TAG/src mounted on $w/TAG/mnt
start() {
	local bin=$1 d="$w/$2" i
	mkdir -p "$d/src" "$d/mnt"
	(cd "$d/src" && PATH="$bin:$PATH" gg init . >/dev/null)
	PATH="$bin:$PATH" ggfs -f "$d/src" "$d/mnt" >/dev/null 2>"$d/ggfs.log" &
	for i in $(seq 100); do grep -qs " $d/mnt fuse" /proc/mounts && break; sleep 0.05; done
	pgrep -o -f "ggfs -f $d/src" # not its unmount guard (a younger ggfs)
}

# first_read BIN_DIR TAG PID ROUND: an output forced and read at once through
# the mount (its first read), then read again (a plain read: hashes nothing)
first_read() {
	local bin=$1 d="$w/$2" pid=$3 bs=$((1024 >> ($4 - 1)))
	(cd "$d/src" && PATH="$bin:$PATH" gg thunk -o big --placeholder "big$4.ph" -- \
		dd if=/dev/urandom of=big bs=${bs}K count=$((mb * 1024 / bs)) status=none >/dev/null &&
		PATH="$bin:$PATH" gg force --no-progress "$(sed -n 2p "big$4.ph" | cut -d' ' -f3)" >/dev/null)
	local r0 t0 t1 r1 t2
	r0=$(rchar "$pid"); t0=$(ms)
	cat "$d/mnt/big$4.ph" >/dev/null
	t1=$(ms); r1=$(rchar "$pid")
	cat "$d/mnt/big$4.ph" >/dev/null
	t2=$(ms)
	echo "$((t1 - t0)) $(( (r1 - r0) / 1048576 )) $((t2 - t1))"
}

echo "checking values against their names ($mb MiB output, through ggfs; $runs rounds, medians)"
new_pid=$(start "$build/bin" new)
[ -n "${GG_BENCH_BASE:-}" ] && base=$(cd "$GG_BENCH_BASE" && pwd) && old_pid=$(start "$base/bin" old)
for r in $(seq "$runs"); do
	first_read "$build/bin" new "$new_pid" "$r" >>"$w/new.times"
	[ -z "${base:-}" ] || first_read "$base/bin" old "$old_pid" "$r" >>"$w/old.times"
done
report() { # TIMES LABEL
	local first mib plain
	first=$(cut -d' ' -f1 "$1" | median); mib=$(cut -d' ' -f2 "$1" | median)
	plain=$(cut -d' ' -f3 "$1" | median)
	printf "  %-28s %6d ms   ggfs read %6d MiB\n" "first read, just stored$2" "$first" "$mib"
	printf "  %-28s %6d ms   ratio %.2fx (goal <= 1.1x)\n" "a plain read (no hashing)" "$plain" \
		"$(awk -v a="$first" -v b="$plain" 'BEGIN { print a / (b ? b : 1) }')"
}
report "$w/new.times" ""
if [ -n "${base:-}" ]; then
	report "$w/old.times" " ($GG_BENCH_BASE)"
	fusermount3 -u "$w/old/mnt" || true
fi
pid=$new_pid
sleep 2.5 # the stamp rule's margin: now the object has settled
for what in "2.5 s later, cache dropped" "a later open"; do
	drop
	r0=$(rchar "$pid"); t0=$(ms)
	cat "$w/new/mnt/big1.ph" >/dev/null
	t1=$(ms); r1=$(rchar "$pid")
	printf "  %-28s %6d ms   ggfs read %6d MiB%s\n" "$what" $((t1 - t0)) $(( (r1 - r0) / 1048576 )) \
		"$([ "$what" = "a later open" ] && echo "   (no hashing: < $mb MiB)")"
done
fusermount3 -u "$w/new/mnt"
t0=$(ms)
(cd "$w/new/src" && "$build/bin/gg" fsck >/dev/null)
t1=$(ms)
awk -v mb="$((mb * runs))" -v t=$((t1 - t0)) 'BEGIN {
	printf "  one-time hash (gg fsck)      %6d ms   %.0f MiB/s (about SHA-256 speed)\n", t, mb * 1000 / (t ? t : 1) }'
