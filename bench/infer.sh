#!/usr/bin/env bash
# What gg infer costs a command, against plain compiles measured in the
# same run (issue 13's target: inference and forcing overhead <= 5 ms a
# command). A generated project of N small C files (GG_BENCH_INFER_N,
# default 200), each including three of its own headers and two system
# headers, compiled one by one (make -j1, so times add up per command) and
# linked into one program:
#   make -j1 (no-op commands)  make starting `true` for each file: the cost
#                              of a process per command, the floor
#   plain make -j1             real compiles: the baseline
#   gg infer make -j1          the models, memo empty (the store already
#                              knows the toolchain: a one-file infer first)
#   gg infer after make clean  every command answered by the models' memo
#   gg force (cold)            the thunks run in the sandbox
# Each is the best of GG_BENCH_INFER_RUNS (default 3). Printed: wall time,
# ms a command, the ratio to plain make, and the overheads per command:
# inference alone (infer - no-op make) and inference plus forcing beyond a
# plain compile ((infer + force - plain) / N).
#
#   bench/infer.sh [BUILD_DIR]          (default: build)
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
export PATH="$build/bin:$PATH"
n=${GG_BENCH_INFER_N:-200}
runs=${GG_BENCH_INFER_RUNS:-3}
for t in gg make gcc; do
	command -v "$t" >/dev/null || { echo "bench/infer.sh: $t is required" >&2; exit 1; }
done
work=$(mktemp -d /tmp/gg-bench-infer.XXXXXX)
trap 'rm -rf "$work"' EXIT

mkdir "$work/src"
for h in a b c; do
	printf '#ifndef H_%s\n#define H_%s\nstatic inline int %s_of(int x) { return x * %d; }\n#endif\n' \
		$h $h $h ${#h} >"$work/src/$h.h"
done
objs=
for ((i = 0; i < n; i++)); do
	printf '#include <stdio.h>\n#include <string.h>\n#include "a.h"\n#include "b.h"\n#include "c.h"\nint f%d(const char *s) { return a_of((int)strlen(s)) + b_of(%d) + c_of(%d); }\n' \
		$i $i $i >"$work/src/f$i.c"
	objs="$objs f$i.o"
done
{
	printf 'int main(void) { return 0; }\n'
} >"$work/src/main.c"
cat >"$work/src/Makefile" <<MK
CC = cc
OBJS = $objs main.o
prog: \$(OBJS)
	\$(CC) -o prog \$(OBJS)
%.o: %.c a.h b.h c.h
	\$(CC) -O2 -c \$< -o \$@
clean:
	rm -f prog \$(OBJS)
MK

ms() { echo $(($(date +%s%N) / 1000000)); }
# best of $runs: prints the smallest wall time (ms) of PREP; then CMD in DIR
best_ms() { # PREP CMD
	local best='' t0 t r
	for ((r = 0; r < runs; r++)); do
		eval "$1" >/dev/null 2>&1
		sync
		t0=$(ms)
		(cd "$work/t" && eval "$2") >"$work/last.log" 2>&1 ||
			{ echo "bench/infer.sh: failed: $2" >&2; tail -n 20 "$work/last.log" >&2; exit 1; }
		t=$(($(ms) - t0))
		[ -n "$best" ] && [ "$best" -le "$t" ] || best=$t
	done
	echo "$best"
}
fresh() { rm -rf "$work/t" && cp -a "$work/src" "$work/t"; }
fresh_store() {
	rm -rf "$work/store" && mkdir "$work/store" && (cd "$work/store" && gg init . >/dev/null)
	printf 'int x;\n' >"$work/store/warm.c"
	(cd "$work/store" && GG_DIR="$work/store/.gg" gg infer cc -c warm.c -o warm.o >/dev/null 2>&1)
}
export GG_DIR="$work/store/.gg"
cmds=$((n + 2))
noop=$(best_ms fresh 'make -j1 CC=true')
plain=$(best_ms fresh 'make -j1')
infer=$(best_ms 'fresh; fresh_store' 'gg infer make -j1')
warm=$(best_ms 'fresh; fresh_store; (cd "$work/t" && gg infer make -j1 && make clean)' 'gg infer make -j1')
force=$(best_ms 'fresh; fresh_store; (cd "$work/t" && gg infer make -j1)' 'gg force --no-progress prog')
echo "  $n C files + main.c + the link ($cmds commands), make -j1, best of $runs:"
awk -v c="$cmds" -v p="$plain" -v z="$noop" -v i="$infer" -v w="$warm" -v f="$force" 'BEGIN {
	row("make, no-op commands", z); row("plain make (baseline)", p); row("gg infer, memo empty", i)
	row("gg infer, memo hits", w); row("gg force, cold", f)
	printf "  inference overhead a command (infer - no-op make):     %6.2f ms   (goal <= 5 ms)\n", (i - z) / c
	printf "  memo-hit overhead a command (infer - no-op make):      %6.2f ms\n", (w - z) / c
	printf "  infer + force beyond a plain compile, a command:       %6.2f ms\n", (i + f - p) / c
}
function row(l, t) { printf "  %-26s %8d ms  %6.2f ms a command  %5.2fx plain\n", l, t, t / c, t / p }'
