#!/usr/bin/env bash
# `make install` as an unprivileged user: with PREFIX it succeeds and writes
# only under PREFIX; with DESTDIR every file lands under DESTDIR/PREFIX;
# `make install-mount-helper` puts its /sbin links under DESTDIR, pointing at
# PREFIX/bin/mount.ggfs, and without DESTDIR needs root. The install runs as
# a uid with no account (setpriv), from a copy of the tree and of the build
# in the test's directory (up to date, so nothing is compiled).
. "$(dirname "$0")/lib.sh"
setup "$@"
need make setpriv install find getent cmp
[ "$(id -u)" -eq 0 ] || { not_ok "this test must run as root (to switch to an unprivileged uid)"; finish; }
here=$(cd "$(dirname "$0")/../.." && pwd)
cd "$T"

# a uid and gid that no account and no group uses
uid=
for u in $(seq 61000 61999); do
	getent passwd "$u" >/dev/null || getent group "$u" >/dev/null || { uid=$u; break; }
done
[ -n "$uid" ] || { not_ok "no free uid in 61000-61999"; finish; }
chmod 711 "$T"
mkdir -p repo/build home
cp -a "$here/Makefile" "$here/core" "$here/backend" "$here/fs" "$here/tools" "$here/man" repo/
cp -a "$BUILD/bin" "$BUILD/obj" "$BUILD/lib" repo/build/
chown -R "$uid:$uid" repo home

as_user() { # COMMAND...: run as $uid, with a plain environment
	setpriv --reuid="$uid" --regid="$uid" --clear-groups \
		env -i PATH=/usr/bin:/bin HOME="$T/home" LC_ALL=C "$@"
}
# Files the uid owns in the world-writable places outside $T (it can write
# nowhere else outside $T).
strays() {
	find /tmp /var/tmp /dev/shm /run/lock -xdev -uid "$uid" -not -path "$T" -not -path "$T/*" 2>/dev/null
}
expected() { # ROOT: the files an install under ROOT (a prefix) must have
	local f
	for f in bin/gg bin/gg-run bin/ggfs bin/mount.ggfs; do echo "$1/$f"; done
	for f in "$here"/man/*.[157]; do echo "$1/share/man/man${f##*.}/$(basename "$f")"; done
}
installed() { # DIR: every file and link under DIR
	find "$1" \( -type f -o -type l \) | sort
}

# ---- PREFIX ----
mkdir prefix && chown "$uid:$uid" prefix
out=$(as_user make -C repo install PREFIX="$T/prefix" 2>&1)
rc=$?
check "make install PREFIX=$T/prefix as uid $uid succeeds (rc $rc)" test $rc -eq 0 || echo "$out" | tail -5
check "... and installs gg, gg-run, ggfs, mount.ggfs and the man pages there" \
	cmp -s <(expected "$T/prefix" | sort) <(installed prefix | sed "s|^|$T/|")
check "... gg-run is a link to gg" test "$(readlink prefix/bin/gg-run)" = gg
check "... the installed gg runs" bash -c "'$T/prefix/bin/gg' --version >/dev/null"
s=$(strays)
check "... and it wrote nothing outside the prefix (files of uid $uid: ${s:-none})" test -z "$s"

# ---- DESTDIR ----
mkdir dest && chown "$uid:$uid" dest
out=$(as_user make -C repo install PREFIX=/usr/local DESTDIR="$T/dest" 2>&1)
rc=$?
check "make install PREFIX=/usr/local DESTDIR=$T/dest as uid $uid succeeds (rc $rc)" test $rc -eq 0 || echo "$out" | tail -5
check "... every file lands under DESTDIR/usr/local: $(installed dest | grep -v "^dest/usr/local/" | head -3)" \
	cmp -s <(expected "$T/dest/usr/local" | sort) <(installed dest | sed "s|^|$T/|")
s=$(strays)
check "... and nothing outside DESTDIR (files of uid $uid: ${s:-none})" test -z "$s"

# ---- the /sbin links: a separate target ----
mkdir dest2 && chown "$uid:$uid" dest2
out=$(as_user make -C repo install-mount-helper PREFIX=/usr/local DESTDIR="$T/dest2" 2>&1)
rc=$?
check "make install-mount-helper DESTDIR=$T/dest2 as uid $uid succeeds (rc $rc)" test $rc -eq 0 || echo "$out" | tail -5
check "... linking DESTDIR/sbin/mount.ggfs to PREFIX/bin/mount.ggfs" \
	test "$(readlink dest2/sbin/mount.ggfs)" = /usr/local/bin/mount.ggfs
check "... and DESTDIR/sbin/mount.fuse.ggfs too" \
	test "$(readlink dest2/sbin/mount.fuse.ggfs)" = /usr/local/bin/mount.ggfs
check "... besides the install itself" cmp -s <( (expected "$T/dest2/usr/local"; echo "$T/dest2/sbin/mount.fuse.ggfs"; echo "$T/dest2/sbin/mount.ggfs") | sort) \
	<(installed dest2 | sed "s|^|$T/|")
# (as the unprivileged uid, which can change nothing in /sbin)
sbin_state() { ls -l --time-style=full-iso /sbin/mount.ggfs /sbin/mount.fuse.ggfs 2>&1; }
before=$(sbin_state)
out=$(as_user make -C repo install-mount-helper PREFIX="$T/prefix" 2>&1)
rc=$?
check "without DESTDIR, install-mount-helper needs root: it fails as uid $uid (rc $rc)" test $rc -ne 0
check "... unable to write /sbin: $(echo "$out" | grep -m1 "denied\|not permitted")" has_text "$out" "/sbin.*\(Permission denied\|Operation not permitted\)"
check "... and /sbin is as it was" test "$(sbin_state)" = "$before"
finish
