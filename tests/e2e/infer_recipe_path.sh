#!/usr/bin/env bash
# gg infer models each command with the PATH the build gave it: a Makefile
# that puts a directory of its own tools first (export PATH := ...) gets the
# assembler and linker found there, as a plain make does. Here `ld` there is
# gold (a linker of other bytes than bfd's), which the link thunk takes; `as`
# there is a script that runs the real as by its absolute path, which no
# thunk could hold: that compile runs for real. gg infer make then gg force
# gives the object and the program of a plain make, byte for byte. Both
# removed afterwards, the build run again (the models' memo sees the places
# empty now) equals a plain make's again. The directory also holds a
# gg-run, as an installed gg's does: it is not taken for gg infer's own.
. "$(dirname "$0")/lib.sh"
setup "$@"
need make gcc cmp nm readelf
cd "$T"

mkdir -p proj/tools
printf '#!/bin/sh\nexec /usr/bin/as --defsym WRAPPED_AS=1 "$@"\n' >proj/tools/as
chmod +x proj/tools/as
cp "$(readlink -f /usr/bin/ld.gold)" proj/tools/ld
# a gg-run beside them, as in an installed gg's bin directory: still the
# build's own tools, not gg infer's models' directory
ln -s "$(command -v gg)" proj/tools/gg-run
printf 'int main(void) { return 0; }\n' >proj/m.c
printf '%s\n' 'export PATH := $(CURDIR)/tools:$(PATH)' 'prog: m.o' '	gcc -o prog m.o' \
	'm.o: m.c' '	gcc -O2 -c m.c -o m.o' 'clean:' '	rm -f prog m.o' >proj/Makefile
cp -a proj plain
(cd plain && make >/dev/null 2>&1) || not_ok "a plain make"
check "plain make: the build's as and ld ran" \
	sh -c "nm plain/m.o | grep -q WRAPPED_AS && readelf -n plain/prog | grep -qi gold"

build() { # a gg infer make, then gg force of both outputs
	(cd proj && make clean >/dev/null && gg infer make >"$T/infer.out" 2>&1 &&
		gg force --no-progress prog m.o >"$T/force.out" 2>&1)
}
(cd proj && gg init >/dev/null)
build
rc=$?
check "gg infer make + gg force: $(tail -1 force.out)" test $rc = 0
check "the compile ran for real (the build's as is a script)" \
	grep -q "tools/as) is a script" proj/.gg/infer.log
check "the link was modelled (a placeholder)" grep -q "^gg infer: 1 outputs deferred" infer.out
check "m.o equals the plain build's (assembled by the build's as)" cmp plain/m.o proj/m.o
check "prog equals the plain build's (linked by the build's ld, gold)" cmp plain/prog proj/prog

rm proj/tools/as proj/tools/ld plain/tools/as plain/tools/ld
(cd plain && make clean >/dev/null && make >/dev/null 2>&1)
check "plain make without them: no marker, no gold" \
	sh -c "! nm plain/m.o | grep -q WRAPPED && ! readelf -n plain/prog | grep -qi gold"
build
rc=$?
check "again without them: $(tail -1 force.out)" test $rc = 0
check "... both modelled now" grep -q "^gg infer: 2 outputs deferred" infer.out
check "m.o equals the plain build's again" cmp plain/m.o proj/m.o
check "prog equals the plain build's again" cmp plain/prog proj/prog
finish
