#!/usr/bin/env bash
# libyaml (Debian's source package) through autotools and libtool, with
# Debian's compiler flags (dpkg-buildflags: -g -O2, -ffile-prefix-map=DIR=.,
# hardening): ./bootstrap (autoreconf) once, then ./configure and make,
# inferred (libtool runs for real; its gcc and ar calls are the thunks) and
# forced through a ggfs mount; its own `make check` through the mount; every
# object, library and program, debug info included, equal to a plain
# build's; one edit rebuilt equal to a clean plain build. See
# tests/projects-lib.sh.
. "$(dirname "$0")/../projects-lib.sh"
proj_setup "${1:?usage: $0 BUILD_DIR}" libyaml
need autoreconf libtoolize dpkg-buildflags
cp -a "$SRC" "$T/prepared" && (cd "$T/prepared" && ./bootstrap) >"$T/bootstrap.out" 2>&1 ||
	{ not_ok "libyaml: ./bootstrap (autoreconf)"; tail -20 "$T/bootstrap.out"; finish; }
SRC=$T/prepared
# dpkg-buildflags runs in the tree: its -ffile-prefix-map names it, as in a package build.
conf='./configure CFLAGS="$(dpkg-buildflags --get CFLAGS)" LDFLAGS="$(dpkg-buildflags --get LDFLAGS)"'
# The check programs are built too (TESTS= runs none), so `make check` builds nothing.
build='make -j2 && make -j2 check TESTS='
proj_plain "$conf" "$build"
proj_infer "$conf" "$build"
proj_mount
t0=$(now_ms)
proj_in_mount 'make check' >"$T/test.out" 2>&1
rc=$?
check "libyaml: make check through the mount ($(($(now_ms) - t0)) ms, forcing included): $(grep -E '^# (PASS|FAIL)' "$T/test.out" | tr -s ' ' | paste -sd' ')" \
	bash -c "[ $rc -eq 0 ] && grep -q '^# PASS: *2$' '$T/test.out' && grep -q '^# FAIL: *0$' '$T/test.out'"
[ $rc -eq 0 ] || tail -30 "$T/test.out"
proj_still_lazy
proj_compare
proj_umount_count
cp -a "$SRC" "$T/configured" && (cd "$T/configured" && eval "$conf") >/dev/null 2>&1 || not_ok "libyaml: configure a tree for the rebuild harness"
SRC=$T/configured proj_rebuild 'src/.libs/libyaml.a src/.libs/libyaml-0.so.2.0.9 src/.libs/api.o tests/.libs/run-parser' \
	"$(dirname "$0")/libyaml.steps" make -j2
finish
