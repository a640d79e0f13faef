#!/usr/bin/env bash
# Many users through one allow_other mount of a root daemon. A second,
# unprivileged user (created by this test, with a group of its own, removed
# at its end) does the same things through the mount and on the directory
# itself, and sees the same: files it creates are its own (umask, setgid
# directories, default ACLs applied), chmod, chgrp to its group but not to
# root's, truncate, link, writes to root's set-ID files (the bits cleared),
# mknod, symlink, renames and removals in a sticky
# directory, ACL-denied files, what root's files refuse it. The policy for
# other users: .gg/by-hash is for who may read the store directly (the
# mount's owner; the group of a shared store), and another user's
# open reads what is forced already but starts no force unless the mount
# has -o others_force (then the force runs as the daemon, not as the user);
# a file is a placeholder only if its owner may read the store (else it
# reads as its bytes: a placeholder of its own would read any object);
# a failed force's account (user.gg.error) is the owner's, its state is not;
# another user's writes never go by kernel passthrough.
. "$(dirname "$0")/lib.sh"
setup "$@"
need fusermount3 useradd userdel groupadd groupdel setpriv setfacl getfacl getfattr setcap getcap python3 fallocate
[ "$(id -u)" = 0 ] || { not_ok "this test must run as root (it creates a user)"; finish; }
user="ggu$$" grp="ggg$$"
groupadd "$grp" || { not_ok "groupadd $grp"; finish; }
at_exit "groupdel $grp"
useradd -M -N -s /bin/false -G "$grp" "$user" || { not_ok "useradd $user"; finish; }
at_exit "userdel $user"
uid=$(id -u "$user") gid=$(id -g "$user")
chmod 0755 "$T"
as_user() { # COMMAND...: as the second user (with its groups), in the current directory
	setpriv --reuid="$uid" --regid="$gid" --init-groups -- \
		env -i PATH="/usr/bin:/bin" HOME=/ "$@"
}
cd "$T"
mkdir src && chmod 0755 src
(cd src && gg init >/dev/null)

# The same starting point twice in SOURCE: one used through the mount, one
# directly.
prepare() { # DIR
	local d=$1
	mkdir -p "$d" && chmod 0777 "$d"
	mkdir "$d/sticky" && chmod 1777 "$d/sticky"
	echo root >"$d/sticky/rootfile" && chmod 0666 "$d/sticky/rootfile"
	echo root >"$d/sticky/rootfile2" && chmod 0666 "$d/sticky/rootfile2"
	mkdir "$d/setgid" && chgrp "$grp" "$d/setgid" && chmod 2775 "$d/setgid"
	echo secret >"$d/acl-denied" && chmod 0644 "$d/acl-denied"
	setfacl -m "u:$user:---" "$d/acl-denied"
	mkdir "$d/acl-dir" && chmod 0755 "$d/acl-dir"
	setfacl -m "u:$user:rwx" "$d/acl-dir"
	setfacl -d -m "u:$user:rwx,g::r-x,o::---" "$d/acl-dir"
	echo root >"$d/rootowned" && chmod 0644 "$d/rootowned"
	# root's set-ID files: writable by all (a write or truncate by the user
	# clears the bits, as the kernel asks), and not writable by the user
	for f in suid suid-trunc suid-ro suid-direct suid-falloc suid-copy sgid-noexec; do
		echo root >"$d/$f"
	done
	chmod 6777 "$d/suid" "$d/suid-trunc" "$d/suid-direct" "$d/suid-falloc" "$d/suid-copy"
	chmod 6755 "$d/suid-ro" && chmod 2767 "$d/sgid-noexec"
	echo root >"$d/cap" && chmod 0777 "$d/cap" && setcap cap_net_raw+ep "$d/cap"
}
prepare src/through
prepare src/direct
check "root's files have their set-ID bits and capabilities to start with" \
	sh -c '[ "$(stat -c %a src/through/suid)" = 6777 ] && getcap src/through/cap | grep -q cap_net_raw'

cat >ops.sh <<'EOF'
# Run as the second user in a prepared directory; prints what happened.
grp=$1
r() { "$@" >/dev/null 2>&1; echo "$* -> $?"; }
st() { stat -c '%n %U %G %a %s %h %F' "$@"; }
umask 022
r sh -c 'echo mine >f'; st f
r chmod 640 f; st f
r chgrp "$grp" f; st f
r chgrp root f; st f
r truncate -s 2 f; st f
r ln f f.link; st f
r touch -d @1234567890 f; stat -c '%n %Y' f
r truncate -s 1 rootowned; r chmod 777 rootowned; r chown "$(id -u)" rootowned; r touch -d @1 rootowned; st rootowned
r ln rootowned hard
r sh -c 'echo more >>suid'; st suid
r truncate -s 1 suid-trunc; st suid-trunc
r sh -c 'echo more >>suid-ro'; r truncate -s 1 suid-ro; r chmod 755 suid-ro; st suid-ro
# Writes the kernel does not clear set-ID bits for itself: O_DIRECT (an
# uncached write), fallocate, copy_file_range; a set-group-ID file without
# group execute keeps its bit (it marks mandatory locking, not privilege).
r dd if=/dev/zero of=suid-direct bs=4096 count=1 oflag=direct conv=notrunc status=none; st suid-direct
r fallocate -l 65536 suid-falloc; st suid-falloc
r python3 -c 'import os; s = os.open("f", os.O_RDONLY); d = os.open("suid-copy", os.O_WRONLY); os.copy_file_range(s, d, 4, 0, 0)'; st suid-copy
r sh -c 'echo more >>sgid-noexec'; st sgid-noexec
r sh -c 'echo more >>cap'; st cap; PATH=/usr/sbin:/sbin:$PATH getcap cap
r mkdir sub; st sub
r mkfifo fifo; st fifo
r ln -s f sym; st sym
umask 077
r sh -c 'echo x >f077'; st f077
umask 022
r sh -c 'echo s >setgid/f'; st setgid/f
r mkdir setgid/d; st setgid/d
r sh -c 'echo u >sticky/userfile'; st sticky/userfile
r mv sticky/rootfile sticky/moved
r rm -f sticky/rootfile2
r mv sticky/userfile sticky/userfile2
r sh -c 'echo over >sticky/rootfile'; st sticky/rootfile
r cat acl-denied
r sh -c 'echo y >acl-denied'
r sh -c 'echo y >acl-dir/new'; st acl-dir/new
getfacl -c acl-dir/new 2>&1
r mkdir acl-dir/sub; getfacl -c acl-dir/sub 2>&1
r setfacl -m u:root:r f; getfacl -c f 2>&1
r setfacl -m u:root:r rootowned
r rm f.link
r mv f sub/f; st sub/f
r rmdir setgid/d
r rm sticky/userfile2
ls -A . sticky setgid acl-dir sub | tr '\n' ' '; echo
EOF
chmod 0644 ops.sh

ggfs_mount src mnt ggfs.log -o allow_other
(cd src/direct && as_user sh "$T/ops.sh" "$grp") >direct.out 2>&1
(cd mnt/through && as_user sh "$T/ops.sh" "$grp") >through.out 2>&1
sed 's/^/    /' through.out
check "the second user's calls did something (files of its own)" grep -q "^f $user $(id -gn "$user") 644 5 1 regular file" direct.out
check "through the mount, every call gives what it gives on the directory itself" cmp -s direct.out through.out
diff direct.out through.out | sed 's/^/    /'
check "... and SOURCE holds the same owners and modes" sh -c "cd src/direct && find . -printf '%P %u %g %m\n' | sort >../../a && cd ../through && find . -printf '%P %u %g %m\n' | sort >../../b && cmp -s ../../a ../../b"

# A handle opened for writing keeps writing after the owner took the
# permission away; its write clears the set-ID bits as any (the kernel asks
# for that without naming the handle).
held_write() { # DIR: prints what the write did and the file's mode then
	echo root >"$1/suid-held" && chmod 6777 "$1/suid-held"
	as_user sh -c 'exec 3>>suid-held && : >held.open && while [ -e held.open ]; do sleep 0.05; done
		echo more >&3; echo "write -> $?"' >"$T/held.out" 2>&1 &
	wait_for 50 [ -e "$1/held.open" ]
	chmod 6755 "$1/suid-held" && rm -f "$1/held.open"
	wait
	cat "$T/held.out"
	stat -c '%a %s' "$1/suid-held"
}
held_direct=$(cd src/direct && held_write .)
held_through=$(cd mnt/through && held_write .)
check "a write through a handle held after the owner took write permission away, then: $(echo $held_direct)" \
	[ "$held_direct" = "$(printf 'write -> 0\n755 10')" ]
check "... is the same through the mount: $(echo $held_through)" [ "$held_through" = "$held_direct" ]

# Root without CAP_FSETID (as in many containers) clears set-ID bits by
# writing, truncating or opening with O_TRUNC, as any caller without it:
# the kernel leaves that to ggfs (FUSE_HANDLE_KILLPRIV_V2), and such a
# file's writers never go by kernel passthrough.
nofsetid_ops() { # DIR: prints each file's mode and size after
	for f in write trunc otrunc direct falloc copy; do
		echo root >"$1/nf-$f" && chmod 6777 "$1/nf-$f"
	done
	# set-group-ID without group execute, of a group root is not in
	echo root >"$1/nf-sgid" && chgrp "$grp" "$1/nf-sgid" && chmod 2767 "$1/nf-sgid"
	# as install -m 4775 does: set-user-ID given while its handle is open
	echo root >"$1/nf-inst" && chmod 0777 "$1/nf-inst"
	(cd "$1" && setpriv --bounding-set=-fsetid -- sh -c 'exec 3>>nf-inst && chmod 4777 nf-inst && echo more >&3; exec 3>&-
		echo more >>nf-write; truncate -s 1 nf-trunc
		: >nf-otrunc; dd if=/dev/zero of=nf-direct bs=4096 count=1 oflag=direct conv=notrunc status=none
		fallocate -l 65536 nf-falloc; echo more >>nf-sgid
		python3 -c "import os; os.copy_file_range(os.open(\"nf-trunc\", 0), os.open(\"nf-copy\", os.O_WRONLY), 1, 0, 0)"' &&
		stat -c '%n %a %s' nf-write nf-trunc nf-otrunc nf-direct nf-falloc nf-copy nf-sgid nf-inst)
}
nf_direct=$(nofsetid_ops src/direct)
nf_through=$(nofsetid_ops mnt/through)
check "root without CAP_FSETID clears the set-ID bits: $(echo $nf_direct)" \
	[ "$nf_direct" = "$(printf 'nf-write 777 10\nnf-trunc 777 1\nnf-otrunc 777 0\nnf-direct 777 4096\nnf-falloc 777 65536\nnf-copy 777 5\nnf-sgid 767 10\nnf-inst 777 10')" ]
check "... the same through the mount: $(echo $nf_through)" [ "$nf_through" = "$nf_direct" ]
# ... and who holds CAP_FSETID keeps them: root writing, chown of a
# set-group-ID file without group execute; another user holding it.
keep_ops() { # DIR
	for f in k-write k-chown u-write u-direct; do echo x >"$1/$f" && chmod 6777 "$1/$f"; done
	chgrp "$grp" "$1/k-chown" && chmod 2745 "$1/k-chown"
	(cd "$1" && echo more >>k-write && chown root k-chown &&
		setpriv --reuid="$uid" --regid="$gid" --init-groups --inh-caps=+fsetid --ambient-caps=+fsetid -- \
			sh -c 'echo more >>u-write; dd if=/dev/zero of=u-direct bs=4096 count=1 oflag=direct conv=notrunc status=none' &&
		stat -c '%n %a' k-write k-chown u-write u-direct)
}
keep_direct=$(keep_ops src/direct)
keep_through=$(keep_ops mnt/through)
check "who holds CAP_FSETID keeps them: $(echo $keep_direct)" \
	[ "$keep_direct" = "$(printf 'k-write 6777\nk-chown 2745\nu-write 6777\nu-direct 6777')" ]
check "... the same through the mount: $(echo $keep_through)" [ "$keep_through" = "$keep_direct" ]

# ---- the policy for other users ----
(cd src && gg thunk -o out --placeholder forced -- sh -c 'echo forced by the owner > out' >/dev/null &&
	gg thunk -o out --placeholder unforced -- sh -c 'echo forced for another user > out' >/dev/null)
chmod 0644 src/forced src/unforced
name=$(gg hash src/rootowned 2>/dev/null || true)
check "the owner reads a placeholder (forcing it)" [ "$(cat mnt/forced)" = "forced by the owner" ]
ref=$(getfattr --only-values -n user.gg.ref mnt/forced)
check "the owner reads .gg/by-hash" [ "$(cat "mnt/.gg/by-hash/$ref")" = "forced by the owner" ]
as_user cat "mnt/.gg/by-hash/$ref" >bh.out 2>bh.err
check "another user cannot read .gg/by-hash (the store's objects are not its to read)" grep -q "Permission denied" bh.err
check "... and gets no bytes" [ ! -s bh.out ]
as_user ls mnt/.gg/by-hash >/dev/null 2>bh2.err
check "... nor list it" grep -q "Permission denied" bh2.err
val=$(cd src && gg force --no-progress "$ref")
obj=$(find src/.gg/objects -type f -name "$val" | head -n 1)
check "the forced output is an object of the store" [ -n "$obj" ]
as_user cat "$obj" >/dev/null 2>direct.err
check "... which another user cannot read in the (private) store either" grep -q "Permission denied" direct.err
check "another user reads a placeholder forced already" [ "$(as_user cat mnt/forced)" = "forced by the owner" ]
as_user cat mnt/unforced >uf.out 2>uf.err
check "another user's open starts no force by default: EACCES" grep -q "Permission denied" uf.err
check "... the log says who and why" grep -q "unforced: uid $uid may not start its force" ggfs.log
check "... and it is still unforced" [ "$(getfattr --only-values -n user.gg.state mnt/unforced)" = unforced ]
# A failed force's account is the owner's.
(cd src && gg thunk -o out --placeholder failing -- sh -c 'echo the owner secret >&2; exit 3' >/dev/null)
chmod 0644 src/failing
check "the owner's read of a failing placeholder fails" sh -c '! cat mnt/failing 2>/dev/null'
check "the owner reads why (user.gg.error)" sh -c 'getfattr --only-values -n user.gg.error mnt/failing | grep -q "owner secret"'
as_user getfattr --only-values -n user.gg.error mnt/failing >err.out 2>err.err
check "another user cannot read user.gg.error: Permission denied" grep -q "Permission denied" err.err
check "... and gets none of it" sh -c '! grep -q secret err.out'
check "... but sees that it failed (user.gg.state)" [ "$(as_user getfattr --only-values -n user.gg.state mnt/failing)" = failed ]
# A placeholder is a placeholder only when its file's owner may read the
# store: another user's copy of the owner's placeholder, or one it wrote
# naming an object of the store, would read objects by-hash refuses it.
as_user sh -c 'cat >mnt/through/copied' <src/forced
printf '#!/usr/bin/env gg-run\nggfs-placeholder 1 %s\n' "$val" >named.ph
as_user sh -c 'cat >mnt/through/named' <named.ph
as_user cat mnt/through/copied >copied.out
check "another user's copy of the owner's placeholder reads as its bytes (to that user)" \
	cmp -s copied.out src/forced
check "... and to the owner" cmp -s mnt/through/copied src/forced
check "... with no user.gg.ref" sh -c '! getfattr -n user.gg.ref mnt/through/copied 2>/dev/null'
as_user cat mnt/through/named >named.out
check "its placeholder naming an object of the store reads as its bytes" cmp -s named.out named.ph
check "... the log says whose and why" grep -q "copied: a placeholder owned by uid $uid, who may not read the store" ggfs.log
check "unmounts" ggfs_umount mnt

ggfs_mount src mnt ggfs2.log -o allow_other,others_force
check "with -o others_force another user's open forces" [ "$(as_user cat mnt/unforced)" = "forced for another user" ]
check "... and the force ran as the daemon: nothing in the store is the user's" [ -z "$(find src/.gg -user "$uid" | head -n 3)" ]
check "unmounts" ggfs_umount mnt
# A shared store (gg init --shared, of the user's group): the group may read
# its objects directly, and so through .gg/by-hash.
gnum=$(getent group "$grp" | cut -d: -f3)
mkdir shared && chmod 0755 shared
(cd shared && setpriv --regid="$gnum" --clear-groups gg init --shared >/dev/null &&
	gg thunk -o out --placeholder p -- sh -c 'echo shared output > out' >/dev/null)
chmod 0644 shared/p
mkdir shared/pub && chmod 1777 shared/pub
ggfs_mount shared mnt ggfs3.log -o allow_other
sref=$(getfattr --only-values -n user.gg.ref mnt/p)
check "a shared store: the owner reads a placeholder" [ "$(cat mnt/p)" = "shared output" ]
sval=$(cd shared && gg force --no-progress "$sref")
sobj=$(find shared/.gg/objects -type f -name "$sval" | head -n 1)
check "... whose output the group's user can read in the store directly" [ "$(as_user cat "$sobj")" = "shared output" ]
check "... and so through .gg/by-hash" [ "$(as_user cat "mnt/.gg/by-hash/$sref")" = "shared output" ]
as_user sh -c 'cat >mnt/pub/p-copy' <shared/p
check "... and a placeholder the group's user writes reads as its output" \
	[ "$(as_user cat mnt/pub/p-copy)" = "shared output" ]
check "unmounts" ggfs_umount mnt
# Kernel passthrough of writers (where it is on) is for the daemon's own
# user: the kernel would do another user's writes with the daemon's
# credentials. Counted from the debug log: WRITE requests reach ggfs.
ggfs_mount src mnt ggfs4.log -o allow_other,splice_read -d
writes() { grep -ac 'opcode: WRITE' ggfs4.log; }
# Requests are read whole, never spliced (libfuse's default, which takes
# effect where the pipe can grow to a request's size, or asked for with -o
# splice_read): ggfs must see the flags a WRITE carries.
# FUSE_CAP_SPLICE_READ is 1 << 9.
want=$(grep -ao 'init: .* want 0x[0-9a-f]*' ggfs4.log | sed 's/.* want //')
check "requests are not spliced (want $want, no FUSE_CAP_SPLICE_READ)" \
	sh -c "[ -n '$want' ] && [ \$(( $want & 0x200 )) = 0 ]"
w0=$(writes)
as_user dd if=/dev/zero of=mnt/through/userwrite bs=4k count=8 status=none
w1=$(writes)
check "another user's 8 writes each reach ggfs ($((w1 - w0)) WRITE requests)" [ $((w1 - w0)) -ge 8 ]
check "... and its file is its own" [ "$(stat -c %U src/through/userwrite)" = "$user" ]
if grep -aq 'kernel passthrough (.*) on' ggfs4.log; then
	dd if=/dev/zero of=mnt/through/rootwrite bs=4k count=8 status=none
	check "the daemon's own user's writes do not (passthrough)" [ "$(writes)" = "$w1" ]
	# In passthrough mode the kernel writes with the daemon's credentials,
	# which keep set-ID bits: a writer without CAP_FSETID never writes so to
	# a set-ID file. Root's handle starts passthrough and root makes the file
	# set-user-ID through it (as install -m 4775 does): another user's open
	# for writing is refused, also from a user namespace where it holds
	# every capability, and root's without CAP_FSETID (on the directory
	# their writes would clear the bit) ...
	echo root >src/through/pt-join && chmod 0777 src/through/pt-join
	python3 -c 'import os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND)
os.write(fd, b"root\n")
os.fchmod(fd, 0o4777)
open(sys.argv[2], "w").close()
while os.path.exists(sys.argv[2]):
    time.sleep(0.05)
os.close(fd)' mnt/through/pt-join "$T/join.open" &
	root_pid=$!
	wait_for 50 [ -e "$T/join.open" ]
	check "root's own write and fchmod 4777 through one handle, by passthrough: $(stat -c %a src/through/pt-join)" \
		sh -c "[ $(writes) = $w1 ] && [ $(stat -c %a src/through/pt-join) = 4777 ]"
	as_user sh -c 'echo user >>mnt/through/pt-join' 2>join.err
	check "another user's open for writing is refused: $(cat join.err)" grep -q "Text file busy" join.err
	check "... the log says why" grep -q "pt-join: refused uid $uid's open for writing" ggfs4.log
	as_user unshare -U -r sh -c 'echo user >>mnt/through/pt-join' 2>join-ns.err
	check "... so is its open from a user namespace where it has CAP_FSETID: $(cat join-ns.err)" grep -q "Text file busy" join-ns.err
	setpriv --bounding-set=-fsetid sh -c 'echo nofsetid >>mnt/through/pt-join' 2>join-nf.err
	check "... and root's without CAP_FSETID: $(cat join-nf.err)" grep -q "Text file busy" join-nf.err
	check "... and nothing was written with the bit kept: $(stat -c '%a %s' src/through/pt-join)" \
		[ "$(stat -c '%a %s' src/through/pt-join)" = "4777 10" ]
	rm -f "$T/join.open"
	wait "$root_pid"
	as_user sh -c 'echo user >>mnt/through/pt-join'
	check "once root's handle is closed, the user's write clears the bit: $(stat -c '%a %s' src/through/pt-join)" \
		[ "$(stat -c '%a %s' src/through/pt-join)" = "777 15" ]
	# ... and a chmod giving set-ID bits is refused (EBUSY) while the file
	# is open for writing by passthrough by another process (whose writes
	# may be made without CAP_FSETID).
	echo root >src/through/pt-other && chmod 0777 src/through/pt-other
	exec 7>>mnt/through/pt-other
	echo root >&7
	chmod 4777 mnt/through/pt-other 2>other.err
	check "a chmod giving set-ID bits beside another process's passthrough writer is refused: $(cat other.err)" \
		grep -q "Device or resource busy" other.err
	setpriv --bounding-set=-fsetid sh -c 'echo more >&7'
	exec 7>&-
	check "... so a write through the handle without CAP_FSETID keeps no bit: $(stat -c %a src/through/pt-other)" \
		[ "$(stat -c %a src/through/pt-other)" = 777 ]
	# A capability held in a user namespace of the user's own is no
	# capability over root's file: fallocate there clears the bits.
	for d in src/direct mnt/through; do
		echo root >"$d/ns-falloc" && chmod 6777 "$d/ns-falloc"
		(cd "$d" && as_user unshare -U -r fallocate -l 65536 ns-falloc)
	done
	check "another user's fallocate from its own user namespace clears the bits: $(stat -c %a src/direct/ns-falloc) $(stat -c %a src/through/ns-falloc)" \
		[ "$(stat -c %a src/direct/ns-falloc) $(stat -c %a src/through/ns-falloc)" = "777 777" ]
	# Root's handle of a file that is set-user-ID already stays out of
	# passthrough: another user writes beside it, clearing the bit.
	echo root >src/through/pt-suid && chmod 4777 src/through/pt-suid
	exec 7>>mnt/through/pt-suid
	as_user sh -c 'echo user >>mnt/through/pt-suid'
	exec 7>&-
	check "another user's write beside root's handle of a set-user-ID file clears the bit: $(stat -c '%a %s' src/through/pt-suid)" \
		[ "$(stat -c '%a %s' src/through/pt-suid)" = "777 10" ]
	# ... and while another user's handle has joined root's, a chmod giving
	# set-ID bits is refused (EBUSY).
	echo root >src/through/pt-chmod && chmod 0777 src/through/pt-chmod
	exec 7>>mnt/through/pt-chmod
	(cd mnt/through && as_user sh -c 'exec 3>>pt-chmod && : >chmod.open && while [ -e chmod.open ]; do sleep 0.05; done
		echo user >&3') &
	user_pid=$!
	wait_for 50 [ -e src/through/chmod.open ]
	chmod 4777 mnt/through/pt-chmod 2>chmod.err
	check "a chmod giving set-ID bits beside another user's passthrough handle is refused: $(cat chmod.err)" \
		grep -q "Device or resource busy" chmod.err
	check "... the log says why" grep -q "pt-chmod: refused a chmod giving set-ID bits" ggfs4.log
	check "... and the file has none: $(stat -c %a src/through/pt-chmod)" [ "$(stat -c %a src/through/pt-chmod)" = 777 ]
	check "... while other chmods are done" chmod 0775 mnt/through/pt-chmod
	rm -f src/through/chmod.open
	wait "$user_pid"
	exec 7>&-
	check "... and the user's write went through: $(stat -c '%a %s' src/through/pt-chmod)" \
		[ "$(stat -c '%a %s' src/through/pt-chmod)" = "775 10" ]
else
	echo "# SKIP the owner's writes in passthrough: $(grep -ao 'kernel passthrough (.*' ggfs4.log | tail -n 1)"
fi
check "unmounts" ggfs_umount mnt
check "the logs are clean" sh -c "! grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error:|cannot take the identity' ggfs.log ggfs2.log ggfs3.log ggfs4.log"
finish
