#!/usr/bin/env bash
# ggfs: a name missing in SOURCE is a negative entry the kernel caches for
# -o timeout, so that probing the same missing name again (compilers on
# include paths, make) costs no request: with -o timeout=60, ten stats of a
# missing name send the daemon one LOOKUP (counted in the -d log; ten on a
# kernel that cannot expire entries, before Linux 6.2: no miss cached). Never
# silently wrong: a name made after the miss is seen through the mount at
# once, whether made behind the mount (a file, also one still open, a
# symlink, a directory, a hard link, a rename into the name: the
# directory's watch expires the kernel's entry; polled for at most 2 s, not
# the 60 s of the timeout) or through it (a file, a directory, a FIFO, a
# symlink, a hard link, a rename onto the name). The root's ".gg" is never
# missing. With -o timeout=0 nothing is cached: every stat of a missing
# name is a LOOKUP, and a file made behind the mount is seen at once.
. "$(dirname "$0")/lib.sh"
setup "${1:-}"
need gg ggfs fusermount3 stat mkfifo ln
cd "$T"

mkdir -p src/probe outside mnt
(cd src && gg init >/dev/null)
echo there >src/probe/there

# lookups LOG: the LOOKUP requests in a -d log so far.
lookups() { grep -c 'opcode: LOOKUP' "$1"; }
# stats N PATH: N stats of PATH, which must all fail.
stats() {
	local i
	for i in $(seq "$1"); do
		! stat "$2" >/dev/null 2>&1 || return 1
	done
}
# seen_at_once WHAT PATH: PATH shows through the mount within 2 s (a
# timeout of 60 s would not end in that time).
seen_at_once() {
	if wait_for 20 stat "$2" >/dev/null 2>&1; then
		ok "$1: seen through the mount at once"
	else
		not_ok "$1: still missing through the mount after 2 s (a negative entry kept)"
	fi
}

ggfs_mount src mnt debug.log -d -o timeout=60 || { not_ok "mount with -d -o timeout=60"; finish; }
ok "mount with -d -o timeout=60"
check "the directory and a file in it show" stat mnt/probe/there >/dev/null

# (1) the kernel caches the miss: where it can expire an entry (Linux 6.2,
# FUSE_CAP_EXPIRE_ONLY in the INIT the -d log shows), else nothing is cached
cap=$(sed -n 's/.*init: protocol.* capable \(0x[0-9a-f]*\),.*/\1/p' debug.log | head -n 1)
expire_only=0
[ -n "$cap" ] && (((cap >> 26) & 1)) && expire_only=1
[ "$expire_only" = 1 ] || echo "# this kernel cannot expire entries (capable ${cap:-unknown}): no miss is cached"
n0=$(lookups debug.log)
check "a missing name: stat fails" stats 1 mnt/probe/missing
n1=$(lookups debug.log)
check "... nine more stats of it fail too" stats 9 mnt/probe/missing
n2=$(lookups debug.log)
echo "# the first stat of a missing name sent $((n1 - n0)) LOOKUP, the nine next $((n2 - n1))"
check "the first stat of a missing name reaches the daemon" [ $((n1 - n0)) -ge 1 ]
if [ "$expire_only" = 1 ]; then
	check "the nine next stats within -o timeout send no LOOKUP" [ $((n2 - n1)) -eq 0 ]
else
	check "the nine next stats send nine LOOKUPs (no miss cached)" [ $((n2 - n1)) -ge 9 ]
fi

# (2) made behind the mount after a miss
stats 2 mnt/probe/b-file
echo b >src/probe/b-file
seen_at_once "a file made in SOURCE after a miss" mnt/probe/b-file
check "... with its bytes" [ "$(cat mnt/probe/b-file 2>/dev/null)" = b ]
# (a file written and closed also makes IN_CLOSE_WRITE; one still open,
# being written, only IN_CREATE)
stats 2 mnt/probe/b-open
exec 5>src/probe/b-open
seen_at_once "a file made in SOURCE after a miss, still open" mnt/probe/b-open
exec 5>&-
stats 2 mnt/probe/b-sym
ln -s there src/probe/b-sym
seen_at_once "a symlink made in SOURCE after a miss" mnt/probe/b-sym
stats 2 mnt/probe/b-dir
mkdir src/probe/b-dir
seen_at_once "a directory made in SOURCE after a miss" mnt/probe/b-dir
stats 2 mnt/probe/b-link
ln src/probe/there src/probe/b-link
seen_at_once "a hard link made in SOURCE after a miss" mnt/probe/b-link
stats 2 mnt/probe/b-moved
echo moved >outside/m
mv outside/m src/probe/b-moved
seen_at_once "a file renamed into the name in SOURCE after a miss" mnt/probe/b-moved
check "... with its bytes" [ "$(cat mnt/probe/b-moved 2>/dev/null)" = moved ]
# and once more, the name having been there and gone
rm src/probe/b-file
wait_for 20 sh -c '! stat mnt/probe/b-file >/dev/null 2>&1' || not_ok "a file removed in SOURCE still shows after 2 s"
stats 2 mnt/probe/b-file
echo again >src/probe/b-file
seen_at_once "a file made again in SOURCE after it was removed and missed" mnt/probe/b-file

# (3) made through the mount after a miss: seen at once, no wait
made_at_once() { # WHAT PATH COMMAND...
	local what=$1 p=$2
	shift 2
	stats 2 "$p"
	if ! "$@"; then
		not_ok "$what through the mount after a miss: failed"
	elif stat "$p" >/dev/null 2>&1 && stat "src/${p#mnt/}" >/dev/null 2>&1; then
		ok "$what through the mount after a miss: seen at once"
	else
		not_ok "$what through the mount after a miss: missing right after"
	fi
}
made_at_once "a file made" mnt/probe/m-file sh -c 'echo m >mnt/probe/m-file'
made_at_once "a directory made" mnt/probe/m-dir mkdir mnt/probe/m-dir
made_at_once "a FIFO made" mnt/probe/m-fifo mkfifo mnt/probe/m-fifo
made_at_once "a symlink made" mnt/probe/m-sym ln -s there mnt/probe/m-sym
made_at_once "a hard link made" mnt/probe/m-link ln mnt/probe/there mnt/probe/m-link
made_at_once "a file renamed onto the name" mnt/probe/m-moved mv mnt/probe/m-file mnt/probe/m-moved
check "... and its old name is missing at once" sh -c '! stat mnt/probe/m-file >/dev/null 2>&1'
check "... and its bytes moved with it" [ "$(cat mnt/probe/m-moved 2>/dev/null)" = m ]

# The root's ".gg" is the virtual namespace, never missing (SOURCE's own
# store is hidden behind it).
check "the root's .gg shows (twice)" sh -c 'stat mnt/.gg/by-hash >/dev/null && stat mnt/.gg >/dev/null'
check "fusermount3 -u: the daemon exits 0" ggfs_umount mnt

# (4) -o timeout=0: nothing cached
ggfs_mount src mnt debug0.log -d -o timeout=0 || { not_ok "mount with -d -o timeout=0"; finish; }
ok "mount with -d -o timeout=0"
stat mnt/probe >/dev/null
n0=$(lookups debug0.log)
check "timeout=0: a missing name: ten stats fail" stats 10 mnt/probe/zero
n1=$(lookups debug0.log)
echo "# with -o timeout=0, ten stats of a missing name sent $((n1 - n0)) LOOKUP"
check "timeout=0: each stat of a missing name reaches the daemon" [ $((n1 - n0)) -ge 10 ]
echo z >src/probe/zero
check "timeout=0: a file made in SOURCE after a miss is seen at once (no wait)" stat mnt/probe/zero >/dev/null
check "fusermount3 -u: the daemon exits 0 (timeout=0)" ggfs_umount mnt
check "ggfs logs have no sanitizer report" sh -c "! grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error:' debug.log debug0.log"
finish
