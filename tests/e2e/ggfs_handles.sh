#!/usr/bin/env bash
# Handles, not fds: a tree with many more files than the daemon may open fds
# is read and stat'ed through the mount without an error, the same as the
# directory itself, with ggfs limited by prlimit (at start, and lowered on a
# running daemon). The fds of inodes are a cache: closed least recently used
# first and reopened by path, following renames through the mount and
# outside it; an open file unlinked through the mount keeps its attributes.
# GG_HANDLES_FILES and GG_HANDLES_FDS size it (tests/slow: 100,000 and 1,024).
. "$(dirname "$0")/lib.sh"
setup "$@"
need fusermount3 prlimit python3
files=${GG_HANDLES_FILES:-5000} fds=${GG_HANDLES_FDS:-256}
cd "$T"
mkdir src
t0=$SECONDS
python3 - "$files" <<'EOF'
import os, sys
n = int(sys.argv[1])
per = 100
for i in range(n):
    d = "src/d%d" % (i // per)
    if i % per == 0:
        os.makedirs(d, exist_ok=True)
    with open("%s/f%d" % (d, i), "w") as f:
        f.write("file %d\n" % i * (1 + i % 7))
EOF
echo "# made $files files in $((SECONDS - t0)) s"
mkdir src/ph
(cd src && gg init >/dev/null && gg thunk -o out --placeholder ph/forced -- sh -c 'echo forced > out' >/dev/null)

# What the tree looks like: every name, size, mode, link count, mtime; and
# every file's bytes. Run in the directory to describe; .gg is left out (in
# SOURCE it is the store, in the mount the virtual namespace), and so is the
# placeholder in ph/ (checked on its own).
describe() {
	find . \( -path ./.gg -o -path ./ph \) -prune -o -printf '%P %y %s %m %n %T@\n' | LC_ALL=C sort
}
contents() {
	find . \( -path ./.gg -o -path ./ph \) -prune -o -type f -print0 | LC_ALL=C sort -z | xargs -0 cat | cksum
}
fdcount() { ls "/proc/$1/fd" | wc -l; }

walk() { # MNT LABEL: stat and read everything; compare with src
	local mnt=$1 what=$2 t=$SECONDS
	(cd "$mnt" && describe) >"m.desc" 2>"m.err"
	(cd "$mnt" && contents) >"m.sum" 2>>"m.err"
	echo "# $what: $((SECONDS - t)) s, daemon holds $(fdcount "$GGFS_PID") fds"
	check "$what: no error" [ ! -s m.err ]
	sed 's/^/    /' m.err | head -n 5
	check "$what: every name, size, mode, link count and mtime as in the directory" cmp -s m.desc src.desc
	check "$what: every byte as in the directory" cmp -s m.sum src.sum
}


# 1. Limited from the start.
mkdir mnt
prlimit --nofile="$fds:$fds" ggfs -f src mnt 2>>ggfs.log &
GGFS_PID=$!
at_exit "fusermount3 -u -z '$T/mnt'"
at_exit "ggfs_reap $GGFS_PID"
check "ggfs mounts with $fds fds" ggfs_wait_mounted mnt "$GGFS_PID"
check "the limit is the daemon's" grep -q "^Max open files *$fds *$fds" "/proc/$GGFS_PID/limits"
check "a placeholder in the tree reads as its output" [ "$(cat mnt/ph/forced)" = forced ]
exec 3<mnt/d0/f0
rm mnt/d0/f0
# A file with two names loses the one it was found by.
exec 5<mnt/d6/f600
ln mnt/d6/f600 mnt/d6/f600-link
rm mnt/d6/f600
(cd src && describe) >src.desc
(cd src && contents) >src.sum
walk mnt "first walk of $files files"
exec 4<mnt/d5/f500
walk mnt "second walk (inodes known, fds closed)"
check "the placeholder still reads as its output" [ "$(cat mnt/ph/forced)" = forced ]
check "the daemon stays under its limit" [ "$(fdcount "$GGFS_PID")" -le "$fds" ]
check "an open file unlinked through the mount still reads" [ "$(cat <&3)" = "file 0" ]
check "... and stat shows it unlinked" [ "$(stat -L -c %h /dev/fd/3)" = 0 ]
exec 3<&-
check "an open file that lost the name it was found by (another link remains) keeps its attributes" [ "$(stat -L -c %h /dev/fd/5)" = 1 ]
exec 5<&-
# A file replaced in SOURCE behind the mount: its old inode's path now leads
# to another file, which must not be taken for it.
rm src/d5/f500
echo "another file, longer than the old one" >src/d5/f500
sleep 1.1 # the kernel's attribute timeout
check "the old inode of a file replaced in SOURCE is stale, not the new file" sh -c "! stat -L -c %s /dev/fd/4 2>/dev/null && stat -L /dev/fd/4 2>&1 | grep -q 'Stale file handle'"
exec 4<&-
rm src/d5/f500

# Renames through the mount and in SOURCE are followed by reopening paths.
mv mnt/d1 mnt/d1-renamed
mv mnt/d2/f201 mnt/d3/f201-moved
mv src/d4 src/d4-outside
sleep 1.1 # the top directory's change in SOURCE: seen after the timeout
(cd src && describe) >src.desc
(cd src && contents) >src.sum
walk mnt "after renames"
check "no fd shortage in the log: the budget kept it under the limit" sh -c "! grep -Ei 'too many open|EMFILE|the fd limit was reached' ggfs.log"
check "unmounts cleanly" ggfs_umount mnt
check "the log is clean" ggfs_log_clean ggfs.log

# 2. Lowered on a running daemon: it sheds fds when it meets the limit.
ggfs_mount src mnt2 ggfs2.log
walk mnt2 "unlimited walk"
big=$(fdcount "$GGFS_PID")
prlimit --pid "$GGFS_PID" --nofile="$fds:$fds"
# Files it has never seen: their lookups need fds it no longer may open
# (the known ones may all be served from fds it holds, needing none).
mkdir src/new && for i in $(seq 50); do echo "new $i" >"src/new/n$i"; done
# The walk before it cached the top directory's attributes: a directory's
# change in SOURCE shows after the timeout (ggfs(1), -o timeout).
sleep 1.1
(cd src && describe) >src.desc
(cd src && contents) >src.sum
walk mnt2 "walk after prlimit lowered the limit to $fds (it held $big fds)"
check "the daemon said it met the limit" grep -q "the fd limit was reached" ggfs2.log
check "unmounts cleanly" ggfs_umount mnt2
check "the log is clean" ggfs_log_clean ggfs2.log
finish
