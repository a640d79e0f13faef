#!/usr/bin/env bash
# ggfs: the kernel keeps a forced placeholder's entry and attributes for long
# (60 s) when its directory's watch reports every change of it (a plain file
# for -o timeout: a change through a hard link made elsewhere makes no event
# there), and is told of each change made behind the mount. After every change below (made directly in
# SOURCE, several within one second: written, put back with its old mtime,
# written again, chmod, xattrs, an ACL, a writer that keeps the file open, a hard
# link made beside it, renames), stat, ls -l, xattrs and bytes through the
# mount equal the directory's at once. The only wait is for the watch thread
# to have handled the events: a marker file, also cached for long, is
# changed last and polled through the mount (events are handled in order).
# A file with a second name elsewhere is cached for -o timeout only: a write
# through that name is seen once that has passed, and so is a placeholder
# forced outside the mount.
. "$(dirname "$0")/lib.sh"
setup "${1:-}"
need gg ggfs fusermount3 getfattr setfattr getfacl setfacl stat touch ln ls cmp
cd "$T"

mkdir -p src/d src/hidden mnt
printf aaaa >src/d/f
printf 1 >src/d/m
printf two >src/d/f2
printf three >src/d/f3
printf four >src/d/f4
printf solo >src/d/solo
ln src/d/f2 src/hidden/g # before the mount ever sees f2: it has two names
touch -d '2020-01-02 03:04:05.123456789' src/d/f
touch -r src/d/f mtime.ref
(cd src && gg init >/dev/null &&
	gg thunk -o out --placeholder d/ph -- sh -c 'echo forced elsewhere >out' >/dev/null &&
	gg thunk -o out --placeholder d/ph2 -- sh -c 'echo first >out' >/dev/null &&
	gg thunk -o out --placeholder ../ph2.next -- sh -c 'echo second one >out' >/dev/null &&
	gg thunk -o out --placeholder d/ph3 -- sh -c 'echo third >out' >/dev/null)
mkdir -p elsewhere
ln src/d/ph2 elsewhere/ph2 # a forced placeholder with a second name nobody watches

ggfs_mount src mnt ggfs.log || { not_ok "mount with ggfs -f"; finish; }
ok "mount with ggfs -f"

fmt='%n %F %s %a %h %u %g %y %z'
same() { # NAME...: stat, bytes and xattrs through the mount equal the directory's
	local n a b
	for n in "$@"; do
		a=$(cd src && stat -c "$fmt" "$n" && getfattr -d --absolute-names "$n" 2>/dev/null && cat "$n")
		b=$(cd mnt && stat -c "$fmt" "$n" && getfattr -d --absolute-names "$n" 2>/dev/null && cat "$n")
		if [ "$a" != "$b" ]; then
			echo "# $n differs: directory / mount:"
			echo "$a" | sed 's/^/#   /'
			echo "$b" | sed 's/^/#   /'
			return 1
		fi
	done
}
# Waits until the watch thread has handled every change made so far.
settle_n=0
settle() {
	settle_n=$((settle_n + 1))
	printf x >>src/d/m
	local want i
	want=$(stat -c %s src/d/m)
	for i in $(seq 200); do
		[ "$(stat -c %s mnt/d/m)" = "$want" ] && return 0
		sleep 0.05
	done
	echo "# the marker's change was not seen through the mount in 10 s"
	return 1
}
listing() { (cd "$1" && ls -l --time-style=full-iso d); }

# The kernel learns everything (lookups, readdirplus), with long timeouts.
check "first view equals the directory" same d/f d/m d/f2 d/f3 d/f4
check "ls -l of the directory equals" [ "$(listing mnt)" = "$(listing src)" ]

t0=$(date +%s%N)
for round in 1 2 3; do
	printf bbbb >src/d/f # same size, same second
	settle
	check "round $round: rewritten behind the mount (same size): seen" same d/f
	printf aaaa >src/d/f
	touch -r mtime.ref src/d/f # put back, old mtime and all
	settle
	check "round $round: put back with its old mtime: seen" same d/f
	printf bbbb >src/d/f
	settle
	check "round $round: and changed again: seen" same d/f
	chmod 600 src/d/f
	settle
	check "round $round: chmod: seen" same d/f
	chmod 644 src/d/f
	setfattr -n user.round -v "$round" src/d/f
	settle
	check "round $round: setxattr: seen" same d/f
	setfattr -x user.round src/d/f
	settle
	check "round $round: removexattr: seen" same d/f
	# A writer that keeps the file open: no close to report it.
	exec 3>>src/d/f
	printf cc >&3
	settle
	check "round $round: appended by a writer that keeps it open: seen" same d/f
	exec 3>&-
	truncate -s 4 src/d/f
	settle
	check "round $round: truncated: seen" same d/f
	check "round $round: ls -l equals" [ "$(listing mnt)" = "$(listing src)" ]
done
t1=$(date +%s%N)
echo "# $settle_n changes seen through the mount in $(((t1 - t0) / 1000000)) ms"

# An ACL set and removed behind the mount (the kernel caches ACLs too).
acl() { getfacl -cp "$1" 2>&1; }
check "an ACL: the same before" [ "$(acl mnt/d/f)" = "$(acl src/d/f)" ]
setfacl -m u:nobody:r src/d/f
settle
check "an ACL set behind the mount: seen" [ "$(acl mnt/d/f)" = "$(acl src/d/f)" ]
check "and its mode's group bits" same d/f
setfacl -b src/d/f
settle
check "an ACL removed behind the mount: seen" [ "$(acl mnt/d/f)" = "$(acl src/d/f)" ]

# A hard link made beside a cached file changes its link count.
ln src/d/f3 src/d/f3.link
settle
check "a hard link made behind the mount: the link count is seen" same d/f3 d/f3.link
# A rename behind the mount.
mv src/d/f4 src/d/f5
settle
check "renamed behind the mount: the old name is gone" sh -c '! stat mnt/d/f4 2>/dev/null'
check "renamed behind the mount: the new name is seen" same d/f5
check "renamed behind the mount: ls -l equals" [ "$(listing mnt)" = "$(listing src)" ]
# Removed behind the mount while open through it: its link count drops to 0.
exec 6<mnt/d/f5
check "open through the mount: one link" [ "$(stat -L -c %h /dev/fd/6)" = 1 ]
rm src/d/f5
settle
check "removed behind the mount while open through it: no link left" [ "$(stat -L -c %h /dev/fd/6)" = 0 ]
exec 6<&-

# f2's other name is in a directory the mount never showed, so nothing
# watches it: f2 is kept for -o timeout (1 s) only.
printf 'written elsewhere' >src/hidden/g
sleep 1.5
check "a file with a second name elsewhere: a write there is seen after -o timeout" same d/f2

# A placeholder not forced yet: a force outside the mount changes what
# A plain file is cached for -o timeout only, even with one name: a hard
# link made after the mount looked it up, in a directory nobody watches,
# and a write through it make no event in its directory.
cat mnt/d/solo >/dev/null
ln src/d/solo elsewhere/g5 && printf ' and more' >>elsewhere/g5
sleep 1.5
check "a write through a link made elsewhere is seen after -o timeout" \
	[ "$(stat -c '%s %h' mnt/d/solo)" = "$(stat -c '%s %h' src/d/solo)" ]
check "its bytes too" cmp -s mnt/d/solo src/d/solo
# A forced placeholder with a second name is not kept long either: rewritten
# in place through that name (now another thunk's), its new output is served
# after -o timeout.
check "a placeholder with two names, forced through the mount" grep -qx first mnt/d/ph2
sleep 1.2 # the entry expires: looked up again, now forced
stat mnt/d/ph2 >/dev/null
cat ph2.next >elsewhere/ph2
sleep 1.5
check "rewritten through its other name: after -o timeout stat shows the new, unforced placeholder" \
	[ "$(stat -c %s mnt/d/ph2)" = "$(stat -c %s src/d/ph2)" ]
check "and its bytes" grep -qx 'second one' mnt/d/ph2
# A forced placeholder open through the mount, then moved out of its
# watched directory and rewritten there: its long timeout ends with its
# name, so the open file shows the change after -o timeout.
check "a third placeholder, forced through the mount" grep -qx third mnt/d/ph3
sleep 1.2 # looked up again, now forced: kept long
stat mnt/d/ph3 >/dev/null
exec 7<mnt/d/ph3
mv src/d/ph3 elsewhere/ph3
sleep 0.5 # the watch has seen the move (and invalidated the file)
stat -L /proc/self/fd/7 >/dev/null # attributes cached again, after the move
cat ph2.next >elsewhere/ph3
sleep 1.5
# (now ph2.next's thunk, which is known: its output's size)
check "moved away and rewritten: the open file shows it after -o timeout" \
	[ "$(stat -L -c %s /proc/self/fd/7)" = "$(printf 'second one\n' | wc -c)" ]
exec 7<&-
# stat shows (the output's size) without a change in SOURCE, so it is kept
# for -o timeout only.
phsize=$(stat -c %s mnt/d/ph)
check "an unforced placeholder shows its own size" [ "$phsize" = "$(stat -c %s src/d/ph)" ]
ref=$(sed -n 2p src/d/ph | cut -d' ' -f3)
check "forced outside the mount" sh -c "cd src && gg force --no-progress '$ref' >/dev/null"
sleep 1.5
check "then stat through the mount shows the output's size after -o timeout" \
	[ "$(stat -c %s mnt/d/ph)" = "$(printf 'forced elsewhere\n' | wc -c)" ]

check "fusermount3 -u: the daemon exits 0" ggfs_umount mnt

# What it saves: a warm ls -l asks the daemon no getxattr a file, where it
# asked two: readdirplus leaves the names the kernel holds be, so their
# cached ACLs stay; security.selinux, which FUSE never caches, is not
# supported (ggfs(1)), so ls asks it once for the mount. Counted from the
# daemon's debug log (requests, not times).
mkdir src/many
for i in $(seq 50); do echo "$i" >"src/many/f$i"; done
ggfs_mount src mnt debug.log -d || { not_ok "mount with ggfs -f -d"; finish; }
ls -l mnt/many >/dev/null
n0=$(grep -c 'opcode: GETXATTR' debug.log)
ls -l mnt/many >/dev/null
n1=$(grep -c 'opcode: GETXATTR' debug.log)
echo "# the first ls -l of 50 files asked $n0 getxattr, the second $((n1 - n0))"
check "a warm ls -l of 50 files asks one getxattr (the label, once), not one a file" [ $((n1 - n0)) -le 1 ]
check "fusermount3 -u: the daemon exits 0 (-d)" ggfs_umount mnt
check "ggfs logs have no sanitizer report" sh -c "! grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error:' ggfs.log debug.log"
finish
