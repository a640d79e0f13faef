#!/usr/bin/env bash
# ggfs: a placeholder rewritten in place behind the mount's back (same inode,
# same size, another thunk's reference) is read again, never served from what
# ggfs learnt about the old one; also right after the previous read (within
# one tick of the file's times) and with its old mtime put back.
. "$(dirname "$0")/lib.sh"
setup "${1:-}"
need gg ggfs fusermount3 getfattr sort cmp stat touch
cd "$T"

mkdir src mnt
printf 'b\na\nc\n' >src/in.txt
printf 'a\nb\nc\n' >up.txt
printf 'c\nb\na\n' >down.txt
(cd src && gg init >/dev/null &&
	gg thunk -i in.txt -o out.txt --placeholder out.txt -- sort -o out.txt in.txt >/dev/null &&
	gg thunk -i in.txt -o out.txt --placeholder down.ph -- sort -r -o out.txt in.txt >/dev/null &&
	cp out.txt up.ph)
check "the two placeholders have the same size" [ "$(stat -c %s src/up.ph)" = "$(stat -c %s src/down.ph)" ]
check "and differ" sh -c "! cmp -s src/up.ph src/down.ph"
ino=$(stat -c %i src/out.txt)

ggfs_mount src mnt ggfs.log || { not_ok "mount with ggfs -f"; finish; }
ok "mount with ggfs -f"
check "the placeholder reads as sort's output" cmp mnt/out.txt up.txt

# In place (O_TRUNC, then the same number of bytes), at once after the read.
cat src/down.ph >src/out.txt
check "rewritten in place: the same inode" [ "$(stat -c %i src/out.txt)" = "$ino" ]
check "rewritten in place: read as the new thunk's output" cmp mnt/out.txt down.txt
check "rewritten in place: user.gg.ref is the new reference" \
	[ "$(getfattr --only-values -n user.gg.ref mnt/out.txt)" = "$(sed -n 2p src/down.ph | cut -d' ' -f3)" ]

# Without truncation, with the old mtime put back: only the ctime tells.
touch -r src/out.txt mtime.ref
dd if=src/up.ph of=src/out.txt conv=notrunc status=none
touch -r mtime.ref src/out.txt
check "rewritten with dd conv=notrunc and the mtime put back: read as the new output" cmp mnt/out.txt up.txt
cat src/down.ph >src/out.txt
check "and back again at once" cmp mnt/out.txt down.txt
check "stat shows the output's size" [ "$(stat -c %s mnt/out.txt)" = 6 ]

# Rewritten twice while an open waits for a force: the open that asked for
# the reference in between has no force left to answer it. It gets ESTALE,
# so the kernel opens again and reads the file as it is now (empty), never
# waiting for ever. The first open, whose force ends when the file is no
# placeholder any more, reads the file as it is then too (empty), not the
# output cut to the file's size the kernel holds.
# (A thunk of ~4 s: a shell loop, as the sandbox has no sleep.)
(cd src && gg thunk -o out --placeholder slow.ph -- sh -c 'i=0; while [ $i -lt 3000000 ]; do i=$((i+1)); done; echo slow > out' >/dev/null)
cp src/slow.ph src/slow
cat mnt/slow >r1.out 2>&1 &
r1=$!
sleep 0.5
: >mnt/slow && cat mnt/slow >/dev/null
cp src/slow.ph mnt/slow
timeout 30 cat mnt/slow >r2.out 2>&1 &
r2=$!
sleep 0.5
: >mnt/slow && cat mnt/slow >/dev/null
wait $r1
check "the first open, of the first reference, is answered with the file as it is when its force ends: empty" [ ! -s r1.out ]
wait $r2
rc=$?
check "the open of a reference rewritten since is answered (exit $rc, not 124)" [ $rc = 0 ]
check "... and read the file as it is now: empty" [ ! -s r2.out ]

check "fusermount3 -u: the daemon exits 0" ggfs_umount mnt
check "ggfs log has no sanitizer report" ggfs_log_clean ggfs.log
finish
