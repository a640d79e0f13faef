#!/usr/bin/env bash
# ggfs: which store a mount uses (the nearest .gg at or above SOURCE, $GG_DIR,
# -o store=DIR), option errors, --help and --version.
. "$(dirname "$0")/lib.sh"
setup "${1:-}"
need gg ggfs fusermount3 getfattr
cd "$T"
mkdir -p top/sub mnt other
printf 'a\nb\n' >ab.txt
(cd top && gg init >/dev/null && printf 'b\na\n' >sub/in.txt &&
	cd sub && gg thunk -i in.txt -o out.txt --placeholder out.txt -- sort -o out.txt in.txt >/dev/null)

# The store is found by walking up from SOURCE, not from the current directory.
env -C / ggfs -f "$T/top/sub" "$T/mnt" 2>"$T/walk.log" &
GGFS_PID=$!
at_exit "fusermount3 -u -z '$T/mnt'"
at_exit "ggfs_reap $GGFS_PID"
ggfs_wait_mounted mnt $GGFS_PID
check "the store is the nearest .gg above SOURCE" cmp mnt/out.txt ab.txt
check "the log names the store" grep -q "store $T/top/.gg" walk.log
# gg run inside the mount: the mount's .gg is its view of the store, and its
# user.gg.store names the store itself, which gg then uses
check "the mount's .gg names its store" \
	[ "$(getfattr --only-values -n user.gg.store mnt/.gg)" = "$T/top/.gg" ]
(cd mnt && gg thunk -i in.txt -o o2 --placeholder o2 -- sort -o o2 in.txt) >inside.out 2>inside.err
check "gg thunk inside the mount works (not the read-only view)" [ -s inside.out ] || cat inside.err
check "... its thunk is in the mount's store: the mount forces it" cmp mnt/o2 ab.txt
check "unmount" ggfs_umount mnt

# -o store=DIR (a directory holding .gg) from somewhere else entirely.
mv top/.gg other/.gg
env -C / ggfs -f -o store="$T/other" "$T/top/sub" "$T/mnt" 2>"$T/store.log" &
GGFS_PID=$!
at_exit "ggfs_reap $GGFS_PID"
ggfs_wait_mounted mnt $GGFS_PID
check "-o store=DIR" cmp mnt/out.txt ab.txt
check "unmount" ggfs_umount mnt
GG_DIR="$T/other/.gg" ggfs_mount top/sub mnt env.log
check "GG_DIR" cmp mnt/out.txt ab.txt
check "unmount" ggfs_umount mnt

# Errors are reported before mounting, with a non-zero status.
ggfs -f top/sub mnt 2>nostore.err
check "no store: fails" [ $? -ne 0 ]
check "no store: says so" grep -q "no store for" nostore.err
check "no store: nothing mounted" sh -c "! grep -qs ' $T/mnt ' /proc/mounts"
ggfs -f -o store="$T/ab.txt" top/sub mnt 2>badstore.err
check "store=FILE: fails, naming it" grep -q "not a store" badstore.err
ggfs -f -o store="$T/other" top top/sub 2>inside.err
check "MOUNTPOINT inside SOURCE is refused" grep -q "must not be SOURCE" inside.err
timeout -k 5 20 ggfs -f -o store="$T/other" top/sub top 2>around.err
check "SOURCE inside MOUNTPOINT is refused (it would hang on its own mount)" \
	grep -q "SOURCE $T/top/sub must not be inside MOUNTPOINT $T/top" around.err
check "... nothing mounted on it" sh -c "! grep -qs ' $T/top ' /proc/mounts" ||
	fusermount3 -u -z top
: >afile
ggfs -f -o store="$T/other" top afile 2>onfile.err
check "a MOUNTPOINT that is a file is refused, naming it" grep -q "MOUNTPOINT $T/afile is not a directory" onfile.err
check "... nothing mounted on it" sh -c "! grep -qs ' $T/afile ' /proc/mounts"
ggfs -f -o store="$T/other" top 2>usage.err
check "a missing MOUNTPOINT prints the usage" grep -q "usage: ggfs" usage.err
ggfs -f -o store="$T/other" top mnt extra 2>extra.err
check "an extra argument is refused" grep -q "unexpected argument 'extra'" extra.err
ggfs -f -o store="$T/other",jobs=-1 top mnt 2>jobs.err
check "jobs=-1 is refused" grep -q "jobs must be" jobs.err
for o in writeback writeback_cache; do
	# (timeout: were it accepted, the foreground daemon would serve on)
	timeout 10 ggfs -f -o store="$T/other",$o top mnt 2>wb.err
	rc=$?
	fusermount3 -u mnt 2>/dev/null
	check "-o $o is refused before mounting (status 2), saying why" sh -c "[ $rc -eq 2 ] && grep -q 'writeback_cache) is not supported' wb.err && ! grep -qs ' $T/mnt ' /proc/mounts"
done
ggfs --help >help.out
check "--help lists the ggfs options" sh -c "grep -q 'jobs=N' help.out && grep -q 'store=DIR' help.out &&
	grep -q materialize help.out && grep -q no_sandbox help.out"
check "--help says ggfs's defaults win over libfuse's text after them" sh -c "grep -q 'max_threads=N .*(default: 64)' help.out &&
	grep -q \"^FUSE options (libfuse's text; ggfs's defaults above win: max_threads is 64\" help.out"
check "--version" sh -c "ggfs --version | grep -q '^ggfs '"
finish
