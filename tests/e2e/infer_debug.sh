#!/usr/bin/env bash
# Objects and programs built lazily with debug information equal a plain
# build's of the same tree in the same directory, byte for byte (issue 13):
# DW_AT_comp_dir and the line table name the build's directory, names the
# build wrote with ".." stay so (__FILE__, debug info), inside the base
# directory or out of it, a source named by an
# absolute path stays absolute, and the user's own -ffile-prefix-map
# (Debian's DIR=.) applies as in a plain build. Three builds of one tree:
# -g with relative paths from a subdirectory, -g with the user's map, and
# -g with absolute paths.
. "$(dirname "$0")/lib.sh"
setup "$@"
need make gcc cmp readelf
cd "$T"

mkdir -p proj/include proj/src
cat >proj/include/util.h <<'EOF2'
static inline const char *where(void) { return __FILE__; }
int twice(int);
EOF2
cat >proj/src/util.c <<'EOF2'
#include "util.h"
int twice(int x) { return 2 * x; }
EOF2
cat >proj/src/main.c <<'EOF2'
#include <stdio.h>
#include "util.h"
int main(void) { printf("%s %s %d\n", __FILE__, where(), twice(21)); return 0; }
EOF2
# FLAGS and the way files are named come from make's command line.
cat >proj/src/Makefile <<'EOF2'
FLAGS = -g -O2
SRCDIR = .
INC = ../include
prog: main.o util.o
	gcc $(FLAGS) -o prog main.o util.o
main.o: main.c
	gcc $(FLAGS) -I$(INC) -c $(SRCDIR)/main.c -o main.o
util.o: util.c
	gcc $(FLAGS) -I$(INC) -c $(SRCDIR)/util.c -o util.o
EOF2

outs="src/main.o src/util.o src/prog"
variant() { # NAME DIR MAKE-ARGS...: make and gg infer run in p/DIR
	local name=$1 dir=$2 f
	shift 2
	rm -rf p && cp -a proj p
	(cd "p/$dir" && make "$@" >/dev/null 2>&1) || { not_ok "$name: plain make"; return; }
	rm -rf "plain-$name" && mkdir "plain-$name"
	for f in $outs; do cp "p/$f" "plain-$name/"; done
	rm -rf p && cp -a proj p
	(cd p && gg init . >/dev/null && cd "$dir" && timeout 120 gg infer make "$@" >"$T/infer.out" 2>&1)
	check "$name: gg infer make: 3 outputs deferred, nothing ran for real" \
		grep -q '3 outputs deferred as placeholders, 0 commands ran for real' infer.out
	(cd p && timeout 300 gg force $outs >/dev/null 2>&1)
	for f in $outs; do
		check "$name: $f equals the plain build's" cmp "p/$f" "plain-$name/$(basename "$f")"
	done
}
# -I../include from src/: DW_AT_comp_dir is .../p/src, the header "../include/util.h"
# (gg infer in src/: ../include is outside the base directory)
variant relative src
check "relative: the lazy program names ../include/util.h as written" \
	bash -c "[ \"\$(p/src/prog)\" = './main.c ../include/util.h 42' ]"
check "relative: DW_AT_comp_dir is the build's directory" \
	bash -c "readelf --debug-dump=info p/src/main.o | grep -q 'DW_AT_comp_dir.*: $T/p/src\$'"
# the same from the top (gg infer make -C src: ../include is inside the base)
variant from-top . -C src
check "from-top: the lazy program names ../include/util.h as written" \
	bash -c "[ \"\$(p/src/prog)\" = './main.c ../include/util.h 42' ]"
# Debian's map: the build's directory recorded as "./src"
variant user-map src FLAGS="-g -O2 -ffile-prefix-map=$T/p=."
check "user-map: DW_AT_comp_dir is ./src, as the user's map makes it" \
	bash -c "readelf --debug-dump=info p/src/main.o | grep -q 'DW_AT_comp_dir.*: ./src\$'"
# absolute names, as CMake gives them
variant absolute . -C src SRCDIR="$T/p/src" INC="$T/p/include"
check "absolute: the lazy program names the absolute paths" \
	bash -c "[ \"\$(p/src/prog)\" = '$T/p/src/main.c $T/p/include/util.h 42' ]"
# absolute names and the user's map: ./src/main.c, as a plain build has it
variant absolute-user-map . -C src SRCDIR="$T/p/src" INC="$T/p/include" FLAGS="-g -O2 -ffile-prefix-map=$T/p=."
check "absolute-user-map: the lazy program names the paths the user's map gives" \
	bash -c "[ \"\$(p/src/prog)\" = './src/main.c ./include/util.h 42' ]"
finish
