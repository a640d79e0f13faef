#!/usr/bin/env bash
# examples/dynamic: recursive Fibonacci where each "fib N" thunk outputs the
# thunks fib(N-1), fib(N-2) and an "add" thunk over their outputs. Forcing
# fib(20) must give 6765 by running exactly 40 thunks (equal thunks are one
# thunk); a second force runs none; fib(25) in the same store runs only the
# 10 new ones; the outputs that are thunks are valid encodings gg can read.
. "$(dirname "$0")/lib.sh"
setup "$@"
need gcc
ex=$(cd "$(dirname "$0")/../../examples/dynamic" && pwd)
check "the static libc is installed (gcc -static)" sh -c "echo 'int main(void){return 0;}' | gcc -static -x c -o '$T/static-probe' -"

cd "$T"
"$ex/run.sh" 20 "$T/fib" >run.out 2>run.err
check "run.sh succeeds" [ $? -eq 0 ]
cd "$T/fib"
check "fib(20) = 6765" [ "$(cat result)" = 6765 ]
check "forcing fib(20) ran 2N = 40 thunks" grep -q 'executed 40, from memo 0, failed 0' "$T/run.err"
top=$(gg thunk -i fib -o out -o left -o right -- fib 20)
check "the top thunk's output 'left' is a thunk (fib 19)" sh -c "gg describe --json '$top' | grep -q '\"left\"'"
out=$(gg force "$top#out" 2>/dev/null)
check "forcing a thunk output follows the emitted thunks to a value" [ "$(gg cat "$out")" = 6765 ]
cat >check_emitted.sh <<'SH'
# The object behind top#out (before following) is a "fib add" thunk.
obj=$(find .gg/objects -type f -name 'T*' | while read -r f; do
	if grep -q '^arg 3 add$' "$f" 2>/dev/null; then echo "$f"; break; fi
done)
[ -n "$obj" ] && head -c 10 "$obj" | grep -q '^ggthunk 1' && gg describe "$(basename "$obj")" >/dev/null
SH
check "an emitted add thunk is a valid encoding gg describes" sh check_emitted.sh
gg thunk -i fib -o out -o left -o right --placeholder again -- fib 20 >/dev/null
gg force --no-progress --summary again 2>again.err
check "the second force is a memo hit" grep -q 'executed 0, from memo [1-9][0-9]*, failed 0' again.err
check "... with the same value" [ "$(cat again)" = 6765 ]
gg thunk -i fib -o out -o left -o right --placeholder fib25 -- fib 25 >/dev/null
gg force --no-progress --summary --trace t25.json fib25 2>f25.err
check "fib(25) = 75025" [ "$(cat fib25)" = 75025 ]
check "fib(25) after fib(20) runs only the 10 new thunks" grep -q 'executed 10, ' f25.err
gg report t25.json >report.txt
check "gg report sees the 10 runs" grep -q '^trace t25.json: 10 thunk runs, 30 events' report.txt
gg thunk -i fib -o out --placeholder bad -- fib 100 >/dev/null
gg force --no-progress bad 2>bad.err
check "a failing step fails the force and shows the program's message" grep -q 'usage: fib N' bad.err
finish
