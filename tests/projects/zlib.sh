#!/usr/bin/env bash
# zlib (Debian's source package) through its own ./configure, with Debian's
# compiler flags (-g included): inferred and
# forced through a ggfs mount, its own `make test` run through the mount,
# every object, library and program equal to a plain build's, and then
# tests/projects/zlib.steps through the rebuild harness (edits of a header
# and a .c file, a revert, an edit, revert and edit again within one second,
# unchanged rebuilds served from the memo), each step equal to a clean plain
# build. See tests/projects-lib.sh.
. "$(dirname "$0")/../projects-lib.sh"
proj_setup "${1:?usage: $0 BUILD_DIR}" zlib
need dpkg-buildflags
# Debian's compiler flags (dpkg-buildflags, run in the tree: -g -O2,
# -ffile-prefix-map=DIR=., hardening): debug info must equal a plain build's.
conf='CFLAGS="$(dpkg-buildflags --get CFLAGS)" LDFLAGS="$(dpkg-buildflags --get LDFLAGS)" ./configure'
proj_plain "$conf" 'make -j2'
proj_infer "$conf" 'make -j2'
proj_mount
t0=$(now_ms)
proj_in_mount 'make test' >"$T/test.out" 2>&1
rc=$?
check "zlib: make test through the mount ($(($(now_ms) - t0)) ms, forcing included)" \
	bash -c "[ $rc -eq 0 ] && grep -q '\*\*\* zlib shared test OK \*\*\*' '$T/test.out' && grep -q '\*\*\* zlib test OK \*\*\*' '$T/test.out'"
[ $rc -eq 0 ] || tail -20 "$T/test.out"
proj_still_lazy
proj_compare
proj_umount_count
cp -a "$SRC" "$T/configured" && (cd "$T/configured" && eval "$conf" >/dev/null) || not_ok "zlib: configure a tree for the rebuild harness"
SRC=$T/configured proj_rebuild 'libz.a libz.so.1.2.13 example minigzip examplesh minigzipsh' \
	"$(dirname "$0")/zlib.steps" make -j2
finish
