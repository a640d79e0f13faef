#!/usr/bin/env bash
# A -g build run in a directory reached through a symbolic link: gcc
# records $PWD (the path through the link) as DW_AT_comp_dir when it names
# the working directory, as getpwd() does; so must the model's thunk. gg
# infer make then gg force there gives a plain make's object, byte for byte;
# the same build run through the real path records that path, also as a
# plain make does, and is not answered from the models' memo entry of the
# other (the two differ only in $PWD).
. "$(dirname "$0")/lib.sh"
setup "$@"
need make gcc cmp readelf
cd "$T"

mkdir -p real
ln -s real link
printf 'int f(void) { return 42; }\n' >real/f.c
printf 'f.o: f.c\n\tgcc -g -O2 -c f.c -o f.o\nclean:\n\trm -f f.o\n' >real/Makefile
(cd real && gg init >/dev/null)
comp_dir() { readelf --debug-dump=info "$1" | sed -n 's/.*DW_AT_comp_dir *:.*: //p' | head -n1; }

for via in link real; do
	cd "$T/$via"
	make clean >/dev/null && make >/dev/null 2>&1 && mv f.o "$T/plain-$via.o"
	check "plain make through $via records $T/$via" test "$(comp_dir "$T/plain-$via.o")" = "$T/$via"
	make clean >/dev/null
	gg infer make >"$T/infer-$via.out" 2>&1 && gg force --no-progress f.o >"$T/force-$via.out" 2>&1
	rc=$?
	check "gg infer make + gg force through $via" test $rc = 0
	check "... modelled" grep -q "^gg infer: 1 outputs deferred" "$T/infer-$via.out"
	check "... the object equals the plain build's ($(comp_dir f.o))" cmp "$T/plain-$via.o" f.o
	cd "$T"
done
finish
