#!/usr/bin/env bash
# json-c (Debian's source package) with Debian's compiler flags (-g
# included) through CMake, Makefile generator (and
# Ninja with GG_CMAKE_GENERATOR=Ninja, tests/projects/json-c-ninja.sh):
# inferred and forced through a ggfs mount, its own ctest suite run through
# the mount, every object, library and program equal to a plain build's,
# the shared library's symbolic links (libjson-c.so -> libjson-c.so.5 ->
# libjson-c.so.5.2.0, made for real by cmake -E) there and reading as it,
# and one edit rebuilt equal to a clean plain build. See tests/projects-lib.sh.
. "$(dirname "$0")/../projects-lib.sh"
gen=${GG_CMAKE_GENERATOR:-Unix Makefiles}
proj_setup "${1:?usage: $0 BUILD_DIR}" json-c
need cmake dpkg-buildflags
[ "$gen" != Ninja ] || need ninja
# Debian's compiler flags (dpkg-buildflags, run in the tree: -g -O2,
# -ffile-prefix-map=DIR=., hardening) and build type, as debhelper passes them.
conf="CFLAGS=\"\$(dpkg-buildflags --get CFLAGS)\" LDFLAGS=\"\$(dpkg-buildflags --get LDFLAGS)\" cmake -G '$gen' -S . -B build -DCMAKE_BUILD_TYPE=None"
echo "# generator: $gen"
proj_plain "$conf" 'cmake --build build -j2'
proj_infer "$conf" 'cmake --build build -j2'
proj_links_lazy
proj_mount
t0=$(now_ms)
# Debian's rules run the suite without valgrind too.
proj_in_mount 'cd build && USE_VALGRIND=0 ctest -j2 --output-on-failure' >"$T/test.out" 2>&1
rc=$?
check "json-c: ctest through the mount ($(($(now_ms) - t0)) ms, forcing included): $(grep -o '[0-9]*% tests passed.*' "$T/test.out")" \
	bash -c "[ $rc -eq 0 ] && grep -q '100% tests passed, 0 tests failed' '$T/test.out'"
[ $rc -eq 0 ] || tail -30 "$T/test.out"
proj_still_lazy
proj_compare
proj_links_mount
proj_umount_count
# The edit is rebuilt once, with the Makefile generator (the Ninja run checks the rest).
[ "$gen" = Ninja ] || proj_rebuild 'build/libjson-c.a build/libjson-c.so.5.2.0 build/apps/json_parse build/tests/test1' \
	"$(dirname "$0")/json-c.steps" bash -c "$conf >/dev/null && cmake --build build -j2"
finish
