#!/usr/bin/env bash
# ggfs: the kernel keeps one page cache and one size for a file, while ggfs
# shows a forced placeholder's output to readers and its own bytes to an open
# for writing. Neither may leak into the other: a read through an open of the
# file itself gets all of its bytes (not cut to the output's size stat shows),
# the next reader of the output gets the output (not the file's bytes left in
# the cache), and a rewrite through the mount waits while the output is read
# (ETXTBSY after 2 s). Both with kernel passthrough (where it is on) and
# without.
. "$(dirname "$0")/lib.sh"
setup "${1:-}"
need gg ggfs fusermount3 stat wc cmp python3
cd "$T"

mkdir src
(cd src && gg init >/dev/null &&
	gg thunk -o out --placeholder f -- sh -c 'echo forced > out' >/dev/null &&
	cp f ../f.ph)
size=$(stat -c %s f.ph)

for mode in default no_passthrough; do
	opts=
	[ $mode = default ] || opts="-o $mode"
	cp f.ph src/f
	rm -rf mnt
	# shellcheck disable=SC2086
	ggfs_mount src mnt "$mode.log" $opts || { not_ok "$mode: mount"; continue; }
	check "$mode: the placeholder reads as its output" [ "$(cat mnt/f)" = forced ]
	check "$mode: stat shows the output's size" [ "$(stat -c %s mnt/f)" = 7 ]
	exec 3<>mnt/f
	n=$(cat <&3 | wc -c)
	exec 3>&-
	check "$mode: an open of the file itself (O_RDWR) reads all its $size bytes (got $n)" [ "$n" = "$size" ]
	check "$mode: ... and the next reader gets the output, not the file's bytes" [ "$(cat mnt/f)" = forced ]
	# The file itself mapped (MAP_PRIVATE, through its own open), then the
	# output read by another open meanwhile: the mapping shows the file's
	# bytes, the reader the output (the output is read uncached meanwhile).
	check "$mode: a mapping of the file itself and a reader of the output, at once, each see their own" \
		python3 -c '
import mmap, os, sys
fd = os.open("mnt/f", os.O_RDWR)
m = mmap.mmap(fd, 7, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ)
out = open("mnt/f", "rb").read()
raw = m[:7]
want = open("f.ph", "rb").read(7)
print("# output %r, mapping %r" % (out, raw))
sys.exit(not (out == b"forced\n" and raw == want))'
	exec 4<mnt/f
	t0=$(date +%s%N)
	err=$( (printf x >mnt/f) 2>&1)
	rc=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	check "$mode: a rewrite while the output is open fails (rc $rc): $err" \
		sh -c "[ $rc != 0 ] && echo '$err' | grep -q 'Text file busy'"
	check "$mode: ... after waiting for it ($ms ms)" [ "$ms" -ge 1500 ]
	check "$mode: ... and the file is unchanged" cmp src/f f.ph
	check "$mode: the open output still reads right" [ "$(cat <&4)" = forced ]
	exec 4<&-
	check "$mode: once closed, the rewrite goes through" sh -c 'printf x >mnt/f'
	check "$mode: ... and the file reads as its new bytes" [ "$(cat mnt/f)" = x ]
	check "$mode: fusermount3 -u: the daemon exits 0" ggfs_umount mnt
	check "$mode: ggfs log has no sanitizer report" ggfs_log_clean "$mode.log"
done
finish
