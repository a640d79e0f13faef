#!/usr/bin/env bash
# `mount -t ggfs`, `mount -t fuse.ggfs` and an fstab line, through the
# mount.ggfs helper (installed by `make install` as /sbin/mount.ggfs and
# /sbin/mount.fuse.ggfs). The test links the helper into /sbin for its run.
. "$(dirname "$0")/lib.sh"
setup "$@"
need mount umount fusermount3 sort
[ "$(id -u)" -eq 0 ] || { not_ok "this test must run as root (it links /sbin/mount.ggfs)"; finish; }
for f in /sbin/mount.ggfs /sbin/mount.fuse.ggfs; do
	[ -e "$f" ] && [ ! -L "$f" ] && { not_ok "$f exists and is not ours"; finish; }
done
here=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$T/bin" "$T/src" "$T/mnt"
cp "$here/tools/mount.ggfs" "$T/bin/mount.ggfs"
ln -s "$BUILD/bin/ggfs" "$T/bin/ggfs"
ln -sfn "$T/bin/mount.ggfs" /sbin/mount.ggfs
ln -sfn "$T/bin/mount.ggfs" /sbin/mount.fuse.ggfs
at_exit "umount '$T/mnt'; rm -f /sbin/mount.ggfs /sbin/mount.fuse.ggfs"

cd "$T/src"
gg init . >/dev/null
printf 'b\na\n' > in.txt
gg thunk -i in.txt -o out.txt --placeholder out.txt -- sort -o out.txt in.txt >/dev/null

mount -t ggfs "$T/src" "$T/mnt" -o jobs=2
check "mount -t ggfs: a placeholder reads as its output" [ "$(cat "$T/mnt/out.txt")" = "$(printf 'a\nb')" ]
umount "$T/mnt"
check "umount unmounts it" bash -c "! mountpoint -q '$T/mnt'"

mount -t fuse.ggfs "$T/src" "$T/mnt"
check "mount -t fuse.ggfs works" [ "$(head -n 1 "$T/mnt/out.txt")" = a ]
umount "$T/mnt"

echo "$T/src $T/mnt ggfs defaults,noauto,jobs=1 0 0" > "$T/fstab"
mount -T "$T/fstab" "$T/mnt"
check "an fstab line works" [ "$(tail -n 1 "$T/mnt/out.txt")" = b ]
umount "$T/mnt"
check "the placeholder in the source is untouched" grep -q ggfs-placeholder "$T/src/out.txt"
finish
