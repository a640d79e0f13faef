#!/usr/bin/env bash
# Recursive Fibonacci as a dynamic graph (see README.md):
#   examples/dynamic/run.sh [N] [DIR]
# builds the static helper `fib` into DIR (default: a new temporary
# directory), makes the thunk "fib N" with a placeholder DIR/result, and
# forces it with a trace. Prints the result and the work directory.
set -eu
n=${1:-20}
dir=${2:-$(mktemp -d /tmp/gg-fib.XXXXXX)}
here=$(cd "$(dirname "$0")" && pwd)
for tool in gg gcc; do
	command -v $tool >/dev/null || { echo "run.sh: $tool is not on PATH" >&2; exit 1; }
done
mkdir -p "$dir"
cd "$dir"
# Static, so the thunk's only input is the program itself.
gcc -O2 -static -o fib "$here/fib.c"
[ -d .gg ] || gg init . >/dev/null
# The top thunk: `fib N` with `fib` as an input, so it runs directly. Its
# outputs are the ones fib N >= 2 writes: out (primary), left, right.
outs=(-o out)
[ "$n" -lt 2 ] || outs+=(-o left -o right)
top=$(gg thunk -i fib "${outs[@]}" --placeholder result -- fib "$n")
echo "thunk fib($n): $top"
gg force --no-progress --summary --trace fib.trace.json result
echo "fib($n) = $(cat result)"
echo "work directory: $dir"
