#!/usr/bin/env bash
# GG_INFER_SHARE_DIR, in the manner of ccache's base_dir (issue 13): a -g
# compile in a directory at or below it records its compilation directory
# as "." instead of the directory, so its thunk names no host directory and
# two checkouts at different paths share thunks, memo and store. Two
# checkouts of one project below a shared store: with the option, the same
# thunk names, the second checkout's force runs nothing (all from the memo),
# DW_AT_comp_dir is ".", and the objects are equal; without it (the
# default), each checkout's thunks name its own directory (DW_AT_comp_dir
# absolute, as a plain build's), as with the option outside its directory.
# Turning the option off again is not answered from the models' memo with
# the shared thunk.
. "$(dirname "$0")/lib.sh"
setup "$@"
need make gcc cmp readelf
cd "$T"
mkdir ws
(cd ws && gg init . >/dev/null)
for d in a b; do
	mkdir -p "ws/$d/src"
	cat >"ws/$d/src/m.c" <<'EOF2'
#include <stdio.h>
int main(void) { puts(__FILE__); return 0; }
EOF2
	printf 'prog: m.o\n\tcc -g -O2 -o prog m.o\nm.o: m.c\n\tcc -g -O2 -c m.c\n' >"ws/$d/src/Makefile"
done
thunk_of() { # DIR FILE: the thunk the placeholder FILE names
	head -c 200 "$1/$2" | sed -n 's/^ggfs-placeholder [0-9]* \(T[0-9a-f]*\).*/\1/p'
}
comp_dir() { readelf --debug-dump=info "$1" | sed -n 's/.*DW_AT_comp_dir *:.*: //p' | head -n1; }

for d in a b; do
	(cd "ws/$d/src" && GG_INFER_SHARE_DIR="$T/ws" timeout 120 gg infer make >"$T/infer-$d.out" 2>&1) ||
		not_ok "gg infer make in $d (GG_INFER_SHARE_DIR)"
done
for f in m.o prog; do
	ta=$(thunk_of ws/a/src $f) tb=$(thunk_of ws/b/src $f)
	check "shared: $f has the same thunk in both checkouts ($ta)" [ -n "$ta" -a "$ta" = "$tb" ]
done
(cd ws/a/src && timeout 300 gg force --summary prog m.o >/dev/null 2>"$T/force-a.out")
(cd ws/b/src && timeout 300 gg force --summary prog m.o >/dev/null 2>"$T/force-b.out")
check "shared: the first checkout's force runs its thunks" grep -q 'executed [1-9][0-9]*, from memo 0, failed 0' force-a.out
check "shared: the second checkout's force runs nothing (from the memo)" grep -q 'executed 0, from memo 2, failed 0' force-b.out
check "shared: the program runs" bash -c '[ "$(ws/b/src/prog)" = m.c ]'
check "shared: DW_AT_comp_dir is \".\" (relative debug paths)" [ "$(comp_dir ws/b/src/m.o)" = . ]
check "shared: both checkouts' objects are equal" cmp ws/a/src/m.o ws/b/src/m.o

# A checkout outside the share directory keeps its absolute directory.
mkdir -p other && cp -a ws/a/src other/src && rm -f other/src/m.o other/src/prog
(cd other/src && GG_DIR="$T/ws/.gg" GG_INFER_SHARE_DIR="$T/ws" timeout 120 gg infer make >"$T/infer-other.out" 2>&1 &&
	GG_DIR="$T/ws/.gg" timeout 300 gg force m.o >/dev/null 2>&1) || not_ok "gg infer make and force outside the share directory"
check "outside the share directory: DW_AT_comp_dir is the directory" [ "$(comp_dir other/src/m.o)" = "$T/other/src" ]

# The default: a -g compile's thunk holds its directory, as its output does.
for d in a b; do
	(cd "ws/$d/src" && timeout 120 gg infer make -B >"$T/infer2-$d.out" 2>&1) || not_ok "gg infer make -B in $d"
done
ta=$(thunk_of ws/a/src m.o) tb=$(thunk_of ws/b/src m.o)
check "default: the checkouts' m.o thunks differ (each names its directory)" [ -n "$ta" -a -n "$tb" -a "$ta" != "$tb" ]
(cd ws/a/src && timeout 300 gg force m.o >/dev/null 2>&1)
check "default: DW_AT_comp_dir is the checkout's directory" [ "$(comp_dir ws/a/src/m.o)" = "$T/ws/a/src" ]
finish
