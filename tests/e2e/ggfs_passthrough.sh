#!/usr/bin/env bash
# ggfs: ordinary files and directories pass through read-write, so `make`
# runs inside the mount; writing to a placeholder's path replaces it; the
# store in SOURCE/.gg stays hidden; SIGTERM unmounts cleanly; mount.fuse3
# (what `mount -t fuse.ggfs` runs) starts ggfs with -o after the paths.
. "$(dirname "$0")/lib.sh"
setup "${1:-}"
need gg ggfs fusermount3 mount.fuse3 getfattr setfattr cc make python3 df sha256sum
cd "$T"
mkdir -p src/proj mnt
(cd src && gg init >/dev/null && echo b >in.txt && echo a >>in.txt &&
	gg thunk -i in.txt -o ph.txt --placeholder ph.txt -- sort -o ph.txt in.txt >/dev/null &&
	gg thunk -i in.txt -o m.txt --placeholder m.txt -- sort -o m.txt in.txt >/dev/null &&
	gg thunk -i in.txt -o wb.txt --placeholder wb.txt -- sort -o wb.txt in.txt >/dev/null)
cat >src/proj/util.h <<'EOC'
#define GREETING "built inside ggfs"
EOC
cat >src/proj/main.c <<'EOC'
#include <stdio.h>
#include "util.h"
int main(void) { puts(GREETING); return 0; }
EOC
printf 'hello: main.o\n\tcc -o hello main.o\nmain.o: main.c util.h\n\tcc -c -o main.o main.c\n' >src/proj/Makefile

# With splice (the writeback cache is refused: ggfs_options): a build exercises it.
ggfs_mount src mnt ggfs.log -o splice || { not_ok "mount"; finish; }

# ---- make over ordinary files ----
check "make builds inside the mount" make -s -C mnt/proj
check "the program built inside the mount runs" [ "$(mnt/proj/hello)" = "built inside ggfs" ]
check "its files are in SOURCE" sh -c "[ -x src/proj/hello ] && [ -f src/proj/main.o ]"
check "make again: up to date (stable mtimes)" make -q -C mnt/proj
sleep 0.01
touch mnt/proj/util.h
check "touch a header: make sees it out of date" sh -c "! make -q -C mnt/proj"
check "and rebuilds" make -s -C mnt/proj

# ---- the other operations ----
check "mkdir" sh -c "mkdir mnt/d && [ -d src/d ]"
check "create and write" sh -c "echo data >mnt/d/f && [ \"\$(cat src/d/f)\" = data ]"
check "append" sh -c "echo more >>mnt/d/f && [ \"\$(cat mnt/d/f)\" = \"\$(printf 'data\nmore')\" ]"
check "rename" sh -c "mv mnt/d/f mnt/d/g && [ -e src/d/g ] && [ ! -e src/d/f ]"
check "symlink and readlink" sh -c "ln -s g mnt/d/link && [ \"\$(readlink mnt/d/link)\" = g ] && [ \"\$(head -1 mnt/d/link)\" = data ]"
check "hard link" sh -c "ln mnt/d/g mnt/d/hard && [ \"\$(stat -c %h mnt/d/g)\" = 2 ] && [ \"\$(stat -c %i mnt/d/g)\" = \"\$(stat -c %i mnt/d/hard)\" ]"
check "chmod" sh -c "chmod 600 mnt/d/g && [ \"\$(stat -c %a src/d/g)\" = 600 ]"
check "chown" sh -c "chown 12345:54321 mnt/d/g && [ \"\$(stat -c %u:%g src/d/g)\" = 12345:54321 ]"
check "truncate" sh -c "truncate -s 2 mnt/d/g && [ \"\$(stat -c %s src/d/g)\" = 2 ]"
check "utimens" sh -c "touch -d @1234567890 mnt/d/g && [ \"\$(stat -c %Y mnt/d/g)\" = 1234567890 ]"
check "setxattr and getxattr" sh -c "setfattr -n user.test -v hi mnt/d/g && [ \"\$(getfattr --only-values -n user.test mnt/d/g)\" = hi ] &&
	[ \"\$(getfattr --only-values -n user.test src/d/g)\" = hi ]"
check "listxattr" sh -c "getfattr -d mnt/d/g | grep -q '^user.test='"
check "removexattr" sh -c "setfattr -x user.test mnt/d/g && ! getfattr -n user.test src/d/g 2>/dev/null"
check "fsync" python3 -c 'import os; f = os.open("mnt/d/g", os.O_WRONLY); os.fsync(f); os.close(f)'
check "statfs (df)" sh -c "df mnt >/dev/null"
check "an 8 MiB write and read back" sh -c "head -c 8388608 /dev/urandom >big && cp big mnt/d/big &&
	[ \"\$(sha256sum <mnt/d/big)\" = \"\$(sha256sum <big)\" ] && cmp -s big src/d/big"
check "unlink and rmdir" sh -c "rm mnt/d/g mnt/d/hard mnt/d/link mnt/d/big && rmdir mnt/d && [ ! -e src/d ]"

# ---- writing to a placeholder's path writes the file itself ----
printf 'a\nb\n' >sorted.txt
check "a placeholder reads as its output (splice on)" cmp mnt/ph.txt sorted.txt
check "stat shows the output's size (splice on)" [ "$(stat -c %s mnt/ph.txt)" = 4 ]
check "mmap of a forced output (splice on)" python3 -c '
import mmap, sys
with open(sys.argv[1], "rb") as f:
    sys.exit(mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)[:] != b"a\nb\n")' mnt/wb.txt
echo replaced >mnt/ph.txt
check "writing to a placeholder's path replaces it in SOURCE" [ "$(cat src/ph.txt)" = replaced ]
check "then it reads as the written bytes" sh -c "echo replaced | cmp - mnt/ph.txt"
check "and is no placeholder any more" sh -c "! getfattr -n user.gg.state mnt/ph.txt 2>/dev/null"
check "... while another still is" [ "$(getfattr --only-values -n user.gg.state mnt/m.txt)" = unforced ]

# ---- SOURCE's store is hidden, .gg is taken ----
check "SOURCE/.gg is not listed" sh -c "! ls -a mnt | grep -qx .gg"
check "MOUNT/.gg is the virtual directory" [ "$(ls mnt/.gg)" = by-hash ]
out=$(mkdir mnt/.gg 2>&1)
check "mkdir MOUNT/.gg fails: it exists ($out)" has_text "$out" "File exists"
out=$(rm -rf mnt/.gg 2>&1)
check "rm -rf MOUNT/.gg fails: read-only ($out)" has_text "$out" "Read-only file system"
check "... and the store survives" [ -d src/.gg/objects ]
out=$(mv mnt/in.txt mnt/.gg 2>&1)
check "mv into MOUNT/.gg fails: read-only ($out)" has_text "$out" "Read-only file system"
check "... and leaves the file where it was" [ -e src/in.txt ]

# ---- SIGTERM ----
kill -TERM "$GGFS_PID"
wait "$GGFS_PID"
check "SIGTERM: the daemon exits 0" [ $? = 0 ]
check "SIGTERM: unmounted" sh -c "! grep -qs ' $T/mnt ' /proc/mounts"
check "log has no sanitizer report" ggfs_log_clean ggfs.log

# ---- mount.fuse3 "ggfs#SOURCE" MNT -o ...: ggfs SOURCE MNT -o ... as a daemon ----
at_exit "fusermount3 -u -z '$T/mnt'"
check "mount.fuse3 starts ggfs (-o after SOURCE MOUNTPOINT)" mount.fuse3 "$BUILD/bin/ggfs#$T/src" "$T/mnt" -o jobs=1,materialize
check "mounted by mount.fuse3" ggfs_wait_mounted mnt
check "options reached ggfs (materialize)" sh -c "cmp mnt/m.txt sorted.txt && cmp src/m.txt sorted.txt"
check "fusermount3 -u unmounts it" fusermount3 -u mnt
finish
