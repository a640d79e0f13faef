#!/usr/bin/env bash
# ggfs: unmodified tools read lazily computed files through a mount (cat, cp,
# sha256sum, diff, tar, python, mmap, execve), stat before and after forcing,
# the user.gg.* attributes, the by-hash namespace, --materialize, and the
# issue's example exactly as written.
. "$(dirname "$0")/lib.sh"
setup "${1:-}"
need gg ggfs fusermount3 getfattr python3 cc sort awk tar sha256sum diff cmp
ggfs_helpers || { not_ok "compile the test helpers"; finish; }
cd "$T"

# ---- the example from issue 3, verbatim (ggfs as a daemon) ----
mkdir src mnt
(cd src && gg init >/dev/null && echo b >in.txt && echo a >>in.txt &&
	gg thunk -i in.txt -o out.txt --placeholder out.txt -- sort -o out.txt in.txt >/dev/null)
placeholder=$(cat src/out.txt)
at_exit "fusermount3 -u -z '$T/mnt'"
if ggfs src mnt && out=$(cat mnt/out.txt); then
	check "example: cat mnt/out.txt prints the sorted lines" [ "$out" = "$(printf 'a\nb')" ]
else
	not_ok "example: ggfs src mnt && cat mnt/out.txt"
fi
check "example: src/out.txt is still the placeholder" [ "$(cat src/out.txt)" = "$placeholder" ]
check "example: fusermount3 -u unmounts the daemon" fusermount3 -u mnt
check "example: not mounted any more" sh -c "! grep -qs ' $T/mnt ' /proc/mounts"

# ---- lazily computed files read by ordinary tools ----
printf 'a\nb\n' >ab.txt
printf 'b\na\n' >ba.txt
seq 1 250000 | awk '{ print ($1 * 7919) % 250007 }' >src/data.txt
LC_ALL=C sort src/data.txt >expected.txt
for tool in cat cp sha256sum diff tar python mmap; do
	(cd src && gg thunk -i data.txt -o "lazy_$tool.txt" --placeholder "lazy_$tool.txt" -- sort -o "lazy_$tool.txt" data.txt >/dev/null)
done
(cd src && gg thunk -i in.txt -o rev.txt --placeholder rev.txt -- sort -r -o rev.txt in.txt >/dev/null &&
	cp "$T/helpers/hello" hello &&
	gg thunk -i hello -o prog --placeholder prog -- cp hello prog >/dev/null &&
	gg thunk -i in.txt -o byhash.txt --placeholder byhash.txt -- sort -o byhash.txt in.txt >/dev/null)
rev_ref=$(sed -n 2p src/rev.txt | cut -d' ' -f3)
rev_thunk=${rev_ref%%#*}

ggfs_mount src mnt ggfs.log || { not_ok "mount with ggfs -f"; finish; }
ok "mount with ggfs -f"

# stat before forcing: the placeholder's own size, nothing runs
check "ls -l before forcing: the placeholder's size" [ "$(stat -c %s mnt/rev.txt)" = "$(stat -c %s src/rev.txt)" ]
ls -l mnt >/dev/null
check "ls -l before forcing: state unforced" [ "$(getfattr --only-values -n user.gg.state mnt/rev.txt)" = unforced ]
check "ls -l before forcing: no thunk ran (no memo entry)" [ -z "$(memo_entry src/.gg "$rev_thunk")" ]
check "user.gg.ref is the placeholder's reference" [ "$(getfattr --only-values -n user.gg.ref mnt/rev.txt)" = "$rev_ref" ]
check "user.gg.error is absent unless failed" sh -c "! getfattr -n user.gg.error mnt/rev.txt 2>/dev/null"
ino_before=$(stat -c %i mnt/rev.txt)
mtime_before=$(stat -c %Y mnt/rev.txt)
check "inode number is the underlying file's" [ "$ino_before" = "$(stat -c %i src/rev.txt)" ]

check "cat forces a placeholder" cmp mnt/rev.txt ba.txt
check "after forcing: stat shows the real size" [ "$(stat -c %s mnt/rev.txt)" = 4 ]
check "after forcing: no exec bit for a plain output" [ "$(stat -c %A mnt/rev.txt)" = "-rw-r--r--" ]
check "after forcing: the same inode number" [ "$(stat -c %i mnt/rev.txt)" = "$ino_before" ]
check "after forcing: the placeholder's mtime" [ "$(stat -c %Y mnt/rev.txt)" = "$mtime_before" ]
check "after forcing: state forced" [ "$(getfattr --only-values -n user.gg.state mnt/rev.txt)" = forced ]
check "after forcing: a memo entry" [ -n "$(memo_entry src/.gg "$rev_thunk")" ]
check "after forcing: SOURCE still holds the placeholder" grep -q '^ggfs-placeholder 1 ' src/rev.txt
# user.gg.* are read by name, never listed: a copying tool would set them
# on its copy, which the mount refuses (EPERM)
check "getfattr -d lists no user.gg.*" sh -c "! getfattr -d -m - mnt/rev.txt 2>/dev/null | grep -q '^user.gg'"
check "cp --preserve=xattr of a placeholder through the mount" cp --preserve=xattr mnt/rev.txt mnt/rev-copy.txt
check "... copies its output" cmp -s mnt/rev.txt mnt/rev-copy.txt
check "... as an ordinary file" [ -z "$(getfattr --only-values -n user.gg.ref mnt/rev-copy.txt 2>/dev/null)" ]
rm -f mnt/rev-copy.txt

check "cat of a 1.6 MB lazy output" cmp -s <(cat mnt/lazy_cat.txt) expected.txt
check "cp of a lazy output" sh -c "cp mnt/lazy_cp.txt copy.txt && cmp -s copy.txt expected.txt"
check "sha256sum of a lazy output" [ "$(sha256sum <mnt/lazy_sha256sum.txt)" = "$(sha256sum <expected.txt)" ]
check "diff of a lazy output" diff mnt/lazy_diff.txt expected.txt
check "python3 open().read() of a lazy output" python3 -c '
import sys
sys.exit(open(sys.argv[1]).read() != open(sys.argv[2]).read())' mnt/lazy_python.txt expected.txt
check "mmap of a lazy output" python3 -c '
import mmap, sys
with open(sys.argv[1], "rb") as f:
    m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
    sys.exit(m[:] != open(sys.argv[2], "rb").read())' mnt/lazy_mmap.txt expected.txt
# tar records the size it stats before reading: open (force) first.
head -c 1 mnt/lazy_tar.txt >/dev/null
check "tar -c of forced outputs" sh -c "tar -cf a.tar -C mnt lazy_tar.txt rev.txt && mkdir x && tar -xf a.tar -C x &&
	cmp -s x/lazy_tar.txt expected.txt && cmp -s x/rev.txt ba.txt"
check "execute a forced binary" [ "$(./mnt/prog)" = "hello from a forced binary" ]
check "execute it with arguments" [ "$(mnt/prog again)" = "hello from again" ]
check "a forced program keeps its exec bit" [ "$(stat -c %A mnt/prog)" = "-rwxr-xr-x" ]

# ---- .gg/by-hash ----
in_name=$(cd src && gg hash in.txt | cut -d' ' -f1)
bh_ref=$(sed -n 2p src/byhash.txt | cut -d' ' -f3)
bh_thunk=${bh_ref%%#*}
check "the root's readdir does not list .gg" sh -c "! ls -a mnt | grep -qx .gg"
check "by-hash: a value" cmp "mnt/.gg/by-hash/$in_name" src/in.txt
check "by-hash: a value's size from its name" [ "$(stat -c %s "mnt/.gg/by-hash/$in_name")" = 4 ]
check "by-hash: a thunk shows its encoding" [ "$(head -c 9 "mnt/.gg/by-hash/$bh_thunk")" = "ggthunk 1" ]
check "by-hash: THUNK#OUTPUT unforced" [ "$(getfattr --only-values -n user.gg.state "mnt/.gg/by-hash/$bh_ref")" = unforced ]
check "by-hash: THUNK#OUTPUT forces the thunk" cmp "mnt/.gg/by-hash/$bh_ref" ab.txt
check "by-hash: then shows the real size" [ "$(stat -c %s "mnt/.gg/by-hash/$bh_ref")" = 4 ]
check "by-hash: the placeholder sees it forced" [ "$(getfattr --only-values -n user.gg.state mnt/byhash.txt)" = forced ]
check "by-hash: readdir lists . and .. only" [ "$(ls -a mnt/.gg/by-hash | tr '\n' ' ')" = ". .. " ]
out=$(stat mnt/.gg/by-hash/V$(printf '%064d%012d' 0 5) 2>&1)
check "by-hash: an unknown name does not exist" has_text "$out" "No such file or directory"
out=$(stat "mnt/.gg/by-hash/$bh_thunk#nope" 2>&1)
check "by-hash: an undeclared output does not exist" has_text "$out" "No such file or directory"
out=$(touch mnt/.gg/by-hash/new 2>&1)
check "by-hash is read-only ($out)" has_text "$out" "Read-only file system"

check "fusermount3 -u: the daemon exits 0" ggfs_umount mnt
check "ggfs log has no sanitizer report" ggfs_log_clean ggfs.log

# ---- --materialize, and -o options after the positional arguments ----
(cd src && gg thunk -i in.txt -o mat.txt --placeholder mat.txt -- sort -o mat.txt in.txt >/dev/null)
chmod 0640 src/mat.txt
touch -d @1000000000 src/mat.txt
ggfs -f src mnt -o jobs=2 --materialize 2>>ggfs2.log &
GGFS_PID=$!
at_exit "ggfs_reap $GGFS_PID"
check "-o options after SOURCE MOUNTPOINT (as mount.fuse3 passes them)" ggfs_wait_mounted mnt $GGFS_PID
check "--materialize: cat works" cmp mnt/mat.txt ab.txt
check "--materialize: SOURCE now holds the output" cmp src/mat.txt ab.txt
check "--materialize: the placeholder's mode and mtime are kept" [ "$(stat -c '%a %Y' src/mat.txt)" = "640 1000000000" ]
check "--materialize: the daemon exits 0" ggfs_umount mnt
check "--materialize: log has no sanitizer report" ggfs_log_clean ggfs2.log
finish
