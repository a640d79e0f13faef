#!/usr/bin/env bash
# A placeholder runs from anywhere (issue 13): its store is the .gg above the
# file it really is, found from the path the kernel hands to gg-run, never
# from a path in its bytes. Run by absolute path from /, through a symlink in
# a directory without a store (by absolute path, relative path and PATH), it
# forces and runs the program with its arguments; a copy of its bytes where
# no store is above fails naming the placeholder and the cause.
. "$(dirname "$0")/lib.sh"
setup "$@"
need make cc
cd "$T"

mkdir -p proj elsewhere/bin nostore
cat >proj/hi.c <<'EOF'
#include <stdio.h>
int main(int argc, char **argv) { printf("hi %d %s\n", argc - 1, argc > 1 ? argv[1] : "-"); return 0; }
EOF
printf 'hi: hi.c\n\tcc -O2 -o hi hi.c\n' >proj/Makefile
(cd proj && gg init . >/dev/null && timeout 120 gg infer make >../infer.out 2>&1) ||
	{ not_ok "gg infer make"; finish; }
check "hi is a placeholder" bash -c 'head -c 64 proj/hi | grep -q "^ggfs-placeholder "'
check "its bytes name no path of this checkout" bash -c "! grep -q '$T' proj/hi"

ln -s "$T/proj/hi" elsewhere/bin/hi
out=$(cd / && timeout 120 "$T/proj/hi" one two 2>"$T/abs.err")
check "by absolute path from /: forced and run with its arguments ($out)" [ "$out" = "hi 2 one" ]
check "still a placeholder after running" bash -c 'head -c 64 proj/hi | grep -q "^ggfs-placeholder "'
out=$(cd / && timeout 120 "$T/elsewhere/bin/hi" x 2>/dev/null)
check "through a symlink elsewhere, by absolute path from /" [ "$out" = "hi 1 x" ]
out=$(cd "$T/elsewhere/bin" && timeout 120 ./hi y 2>/dev/null)
check "through the symlink by relative path" [ "$out" = "hi 1 y" ]
out=$(cd / && PATH="$T/elsewhere/bin:$PATH" timeout 120 hi z 2>/dev/null)
check "through the symlink found on PATH" [ "$out" = "hi 1 z" ]

cp proj/hi nostore/hi
out=$(cd / && timeout 120 "$T/nostore/hi" 2>&1)
rc=$?
check "a copy with no store above it fails (exit $rc)" [ $rc -ne 0 ]
check "naming the placeholder and the cause" \
	grep -q "$T/nostore/hi: no .gg directory above the placeholder" <<<"$out"
finish
