#!/usr/bin/env bash
# xz-utils (Debian's source package) through autotools and libtool, with
# Debian's compiler flags (dpkg-buildflags: -g -O2, -ffile-prefix-map=DIR=.,
# hardening): its shipped ./configure and make (liblzma, xz, xzdec, lzmainfo,
# the test programs), inferred (libtool runs for real; its gcc and ar calls
# are the thunks) and forced through a ggfs mount; its own `make check` (the
# test programs and test_*.sh scripts) through the mount; every
# object, library and program, debug info included, equal to a plain
# build's; one edit rebuilt equal to a clean plain build. See
# tests/projects-lib.sh.
. "$(dirname "$0")/../projects-lib.sh"
proj_setup "${1:?usage: $0 BUILD_DIR}" xz-utils
need dpkg-buildflags
# dpkg-buildflags runs in the tree: its -ffile-prefix-map names it, as in a package build.
conf='./configure --disable-nls --disable-doc CFLAGS="$(dpkg-buildflags --get CFLAGS)" LDFLAGS="$(dpkg-buildflags --get LDFLAGS)"'
# The check programs are built too (TESTS= runs none), so `make check` builds nothing.
build='make -j2 && make -j2 check TESTS='
proj_plain "$conf" "$build"
proj_infer "$conf" "$build"
proj_mount
t0=$(now_ms)
proj_in_mount 'make check' >"$T/test.out" 2>&1
rc=$?
check "xz-utils: make check through the mount ($(($(now_ms) - t0)) ms, forcing included): $(grep -E '^# (PASS|FAIL)' "$T/test.out" | tr -s ' ' | paste -sd' ')" \
	bash -c "[ $rc -eq 0 ] && grep -q '^# PASS: *[1-9]' '$T/test.out' && grep -q '^# FAIL: *0$' '$T/test.out'"
[ $rc -eq 0 ] || tail -30 "$T/test.out"
proj_still_lazy
proj_compare
proj_umount_count
cp -a "$SRC" "$T/configured" && (cd "$T/configured" && eval "$conf") >/dev/null 2>&1 || not_ok "xz-utils: configure a tree for the rebuild harness"
SRC=$T/configured proj_rebuild 'src/liblzma/.libs/liblzma.so.5.4.1 src/liblzma/.libs/liblzma.a src/xz/.libs/xz src/xzdec/xzdec' \
	"$(dirname "$0")/xz-utils.steps" make -j2
finish
