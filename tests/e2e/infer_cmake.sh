#!/usr/bin/env bash
# gg infer in front of CMake as it is used (issue 13): `gg infer cmake -S .
# -B build` runs CMake's probes for real (the compilers are identified as
# GNU, no placeholder is left in the configured tree) and records the real
# compilers, nothing of gg's temporary directories; `gg infer cmake --build
# build` leaves placeholders for the library and both programs with nothing
# run for real; forced, the programs equal a plain CMake build of the same
# directory byte for byte (__FILE__ of the absolute source path CMake gives
# included); later builds (plain, and inferred again) work
# after the temporary directory is gone.
. "$(dirname "$0")/lib.sh"
setup "$@"
need cmake make cc c++ cmp
cd "$T"

mkdir proj
cd proj
cat >CMakeLists.txt <<'EOF'
cmake_minimum_required(VERSION 3.10)
project(tiny C CXX)
add_library(m6 STATIC add.c mul.c)
add_executable(prog main.c)
target_link_libraries(prog m6)
add_executable(hello hello.cc)
target_link_libraries(hello m6)
EOF
echo 'int add(int a, int b) { return a + b; }' >add.c
printf 'int add(int, int);\nint mul(int a, int b) { int r = 0; while (b--) r = add(r, a); return r; }\n' >mul.c
# __FILE__ is the absolute path CMake names the source by, as in a plain build.
printf '#include <stdio.h>\nint mul(int, int);\nstatic const char *file = __FILE__;\nint main(void) { printf("%%d\\n", mul(6, 7)); return !file[0]; }\n' >main.c
printf '#include <iostream>\nextern "C" int mul(int, int);\nint main() { std::cout << "c++ " << mul(6, 7) << "\\n"; }\n' >hello.cc
# mul is C, called from C++ as extern "C": the C file needs no guard.

# A plain build in this very directory, its programs kept aside.
(cmake -S . -B build && cmake --build build) >../plain.out 2>&1 || { not_ok "plain cmake build"; finish; }
mkdir ../plain
cp build/prog build/hello ../plain/
rm -rf build

is_ph() { head -c 64 "$1" | grep -q '^ggfs-placeholder '; }
gg init . >/dev/null
timeout 300 gg infer cmake -S . -B build >../conf.out 2>&1
check "gg infer cmake -S . -B build succeeds" [ $? -eq 0 ]
check "the C compiler was identified (its probe ran for real)" \
	grep -q 'set(CMAKE_C_COMPILER_ID "GNU")' build/CMakeFiles/*/CMakeCCompiler.cmake
check "the C++ compiler was identified" \
	grep -q 'set(CMAKE_CXX_COMPILER_ID "GNU")' build/CMakeFiles/*/CMakeCXXCompiler.cmake
check "the probes are listed as run for real, with the reason" \
	grep -q 'ran the real tool: a CMake configure probe: ' .gg/infer.log
check "no placeholder is left in the configured tree" \
	bash -c '! grep -rlq "^ggfs-placeholder " build'
check "CMakeCache.txt names the real compilers" \
	bash -c 'grep -q "^CMAKE_C_COMPILER:[A-Z]*=/usr/bin/cc$" build/CMakeCache.txt && grep -q "^CMAKE_CXX_COMPILER:[A-Z]*=/usr/bin/c++$" build/CMakeCache.txt'
check "nothing of gg's temporary directories in the build tree" \
	bash -c '! grep -rqE "\.gg/|models-" build'

timeout 300 gg infer cmake --build build >../build.out 2>&1
check "gg infer cmake --build build succeeds" [ $? -eq 0 ]
for f in build/libm6.a build/prog build/hello; do
	check "$f is a placeholder" is_ph "$f"
done
check "the build ran nothing for real" \
	grep -q 'gg infer: 7 outputs deferred as placeholders, 0 commands ran for real' ../build.out
check "gg infer's temporary directory is gone" bash -c '! ls -d .gg/tmp/models-* 2>/dev/null | grep -q .'

timeout 300 gg force build/prog build/hello >/dev/null 2>&1
check "forced prog runs" bash -c '[ "$(build/prog)" = 42 ]'
check "forced hello runs" bash -c '[ "$(build/hello)" = "c++ 42" ]'
check "prog equals the plain build's" cmp build/prog ../plain/prog
check "hello equals the plain build's" cmp build/hello ../plain/hello

# Later builds: plain CMake (every placeholder forced first: plain tools
# read files, not placeholders), and gg infer again, the temp dir long gone.
timeout 300 gg force $(grep -rl '^ggfs-placeholder ' build) >/dev/null 2>&1
check "every placeholder in the tree forced" bash -c '! grep -rlq "^ggfs-placeholder " build'
echo 'int add(int a, int b) { return b + a; }' >add.c
cmake --build build >../later.out 2>&1
rc=$?
check "a later plain cmake --build works" bash -c "[ $rc -eq 0 ] && [ \"\$(build/prog)\" = 42 ]"
echo 'int add(int a, int b) { return a + b + 0; }' >add.c
timeout 300 gg infer cmake --build build >../again.out 2>&1
rc=$?
check "a later gg infer cmake --build works" bash -c "[ $rc -eq 0 ] && head -c 64 build/prog | grep -q '^ggfs-placeholder '"
finish
