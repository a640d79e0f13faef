#!/usr/bin/env bash
# zlib (Debian's source package) through its CMakeLists.txt (Makefile
# generator, `cmake -S . -B build` then `cmake --build build -j2`, as a user
# runs them) with Debian's compiler flags (-g included): inferred and forced
# through a ggfs mount; its own ctest suite (example, example64, linked to
# the shared library through its rpath) run through the mount; every object,
# the static and shared libraries and the programs equal a plain build's;
# the shared library's symbolic links (libz.so -> libz.so.1 ->
# libz.so.1.2.13) are there and read as its bytes; then
# tests/projects/zlib-cmake.steps through the rebuild harness (edits of a
# header, a .c file, the header CMake configures, CMakeLists.txt itself, a
# revert, an edit, revert and edit again within one second, unchanged
# rebuilds served from the memo), each step equal to a clean plain build.
# See tests/projects-lib.sh.
#
# The symbolic links are made by `cmake -E cmake_symlink_library`, a step of
# the generated Makefile that runs for real (cmake is not a modelled tool),
# not by a thunk: they need no symlink outputs.
. "$(dirname "$0")/../projects-lib.sh"
proj_setup "${1:?usage: $0 BUILD_DIR}" zlib
need cmake ctest dpkg-buildflags
# Debian's repacked source drops win32/, but CMakeLists.txt lists
# win32/zlib1.rc as a source of the shared library on every platform but
# MinGW (a resource file, compiled on Windows only): an empty one stands in.
cp -a "$SRC" "$T/prepared" && mkdir -p "$T/prepared/win32" && : >"$T/prepared/win32/zlib1.rc" ||
	{ not_ok "zlib: prepare the source tree"; finish; }
SRC=$T/prepared
# Debian's compiler flags (dpkg-buildflags, run in the tree: -g -O2,
# -ffile-prefix-map=DIR=., hardening) and build type, as debhelper passes them.
conf='CFLAGS="$(dpkg-buildflags --get CFLAGS)" LDFLAGS="$(dpkg-buildflags --get LDFLAGS)" cmake -S . -B build -DCMAKE_BUILD_TYPE=None'
proj_plain "$conf" 'cmake --build build -j2'
proj_infer "$conf" 'cmake --build build -j2'
proj_links_lazy
proj_mount
t0=$(now_ms)
proj_in_mount 'cd build && ctest -j2 --output-on-failure' >"$T/test.out" 2>&1
rc=$?
check "zlib: ctest through the mount ($(($(now_ms) - t0)) ms, forcing included): $(grep -o '[0-9]*% tests passed.*' "$T/test.out")" \
	bash -c "[ $rc -eq 0 ] && grep -q '100% tests passed, 0 tests failed out of 2' '$T/test.out'"
[ $rc -eq 0 ] || tail -30 "$T/test.out"
# The lazily built example loads the lazily built libz.so.1 (its rpath, the symlink chain).
proj_in_mount 'LD_TRACE_LOADED_OBJECTS=1 build/example' >"$T/ldd.out" 2>&1
check "zlib: the lazily built example loads libz.so.1 from the build directory, through the mount" \
	grep -q "libz\.so\.1 => $P/build/libz\.so\.1 " "$T/ldd.out"
grep -q "libz\.so\.1 => $P/build/libz\.so\.1 " "$T/ldd.out" || sed 's/^/    /' "$T/ldd.out"
proj_still_lazy
proj_compare
proj_links_mount
proj_umount_count
# The harness's builds configure a fresh copy once; later builds in gg/ leave
# reconfiguring to CMake's own check (a CMakeLists.txt or a configured header
# edited), as a user's `cmake --build` does.
proj_rebuild 'build/libz.a build/libz.so.1.2.13 build/example build/minigzip build/example64 build/minigzip64' \
	"$(dirname "$0")/zlib-cmake.steps" bash -c "{ [ -f build/CMakeCache.txt ] || $conf >/dev/null; } && cmake --build build -j2"
finish
