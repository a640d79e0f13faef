#!/usr/bin/env bash
# mount(8) and ggfs, every documented way (ggfs(1), MOUNTING): `mount -t ggfs`,
# `mount -t fuse.ggfs` and an fstab line through the mount.ggfs helper linked
# into /sbin (as `make install-mount-helper` links it); with no link at all,
# `mount -t fuse.ggfs` with ggfs in /usr/local/bin (through Debian's
# mount.fuse3) and `mount -t fuse PREFIX/bin/ggfs#SRC` from any prefix.
# The test runs in a private mount namespace: its /sbin and /usr/local/bin
# are overlays with its own files on top, so nothing installed is touched.
if [ -z "${GG_MOUNT_HELPER_NS:-}" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "not ok - this test must run as root (mount(8) and a private mount namespace)"
		exit 1
	fi
	command -v unshare >/dev/null || { echo "not ok - required tool 'unshare' is not installed"; exit 1; }
	GG_MOUNT_HELPER_NS=1 exec unshare --mount --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
setup "$@"
need mount umount fusermount3 mount.fuse3 sort mountpoint
here=$(cd "$(dirname "$0")/../.." && pwd)
cd "$T"

# a prefix of our own, as `make install PREFIX=$T/prefix` makes it
mkdir -p prefix/bin src mnt sbin localbin
cp "$BUILD/bin/ggfs" prefix/bin/ggfs
install -m 0755 "$here/tools/mount.ggfs" prefix/bin/mount.ggfs
# the links `make install-mount-helper PREFIX=$T/prefix` makes
ln -s "$T/prefix/bin/mount.ggfs" sbin/mount.ggfs
ln -s "$T/prefix/bin/mount.ggfs" sbin/mount.fuse.ggfs

# /sbin (-> /usr/sbin on Debian 12) and /usr/local/bin with our files on top,
# in this namespace only
sbin=$(readlink -f /sbin)
check "overlay $sbin with the helper's links (this namespace only)" \
	mount -t overlay gg-sbin -o "lowerdir=$T/sbin:$sbin" "$sbin"
at_exit "umount -l '$sbin'"
check "/sbin/mount.ggfs is ours here" test "$(readlink /sbin/mount.ggfs)" = "$T/prefix/bin/mount.ggfs"

(cd src && gg init . >/dev/null && printf 'b\na\n' >in.txt &&
	gg thunk -i in.txt -o out.txt --placeholder out.txt -- sort -o out.txt in.txt >/dev/null)
at_exit "umount -l '$T/mnt'"

mounted_ggfs() { grep -qs " $T/mnt fuse.ggfs " /proc/mounts; }
try_mount() { # DESCRIPTION FIRST-LINE MOUNT-ARGS...: mount, read, unmount
	local d=$1 want=$2 out
	shift 2
	if ! out=$(mount "$@" 2>&1); then
		not_ok "$d: mount failed: $out"
		return
	fi
	check "$d: mounted as fuse.ggfs" mounted_ggfs
	check "$d: a placeholder reads as its output" test "$(head -n 1 "$T/mnt/out.txt")" = "$want"
	umount "$T/mnt"
	check "$d: umount unmounts it" bash -c "! mountpoint -q '$T/mnt'"
}

try_mount "mount -t ggfs (/sbin/mount.ggfs)" a -t ggfs "$T/src" "$T/mnt" -o jobs=2
try_mount "mount -t fuse.ggfs (/sbin/mount.fuse.ggfs)" a -t fuse.ggfs "$T/src" "$T/mnt"
echo "$T/src $T/mnt ggfs defaults,noauto,jobs=1 0 0" >fstab
try_mount "an fstab line of type ggfs" a -T "$T/fstab" "$T/mnt"

# no link: mount.fuse3 runs ggfs from the standard search path
umount -l "$sbin"
check "without the links /sbin/mount.ggfs is gone again" test ! -e /sbin/mount.ggfs
cp "$BUILD/bin/ggfs" localbin/ggfs
check "overlay /usr/local/bin with ggfs (this namespace only)" \
	mount -t overlay gg-localbin -o "lowerdir=$T/localbin:/usr/local/bin" /usr/local/bin
at_exit "umount -l /usr/local/bin"
try_mount "no link: mount -t fuse.ggfs with ggfs in /usr/local/bin" a -t fuse.ggfs "$T/src" "$T/mnt" -o jobs=2
umount -l /usr/local/bin
try_mount "no link, any prefix: mount -t fuse PREFIX/bin/ggfs#SRC" a -t fuse "$T/prefix/bin/ggfs#$T/src" "$T/mnt"
out=$(mount -t ggfs "$T/src" "$T/mnt" 2>&1)
check "with neither, mount -t ggfs fails, saying it knows no such type: $out" has_text "$out" "unknown filesystem type 'ggfs'"
mountpoint -q "$T/mnt" && umount "$T/mnt"

check "the placeholder in the source is untouched" grep -q ggfs-placeholder "$T/src/out.txt"
finish
