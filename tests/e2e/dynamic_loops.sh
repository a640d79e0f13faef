#!/usr/bin/env bash
# Dynamic graphs that loop fail at once with an error naming the thunks of
# the loop, instead of spinning or waiting for ever: a thunk that outputs
# itself, two thunks that output each other, a thunk whose input waits
# (through a thunk's output) for the thunk itself, and a chain deeper than
# --max-depth. The same loop read through a ggfs mount gives EIO and leaves
# the mount answering. `timeout` only guards against a hang; times are printed.
. "$(dirname "$0")/lib.sh"
setup "$@"
need gcc timeout
here=$(cd "$(dirname "$0")" && pwd)
ex=$(cd "$here/../../examples/dynamic" && pwd)
cd "$T"
check "the loop program builds (static)" gcc -O2 -static -I "$ex" -o fib "$here/progs/dynloop.c"
gg init . >/dev/null

force() { # NAME ARGS...: runs gg force, keeps rc, stderr and time
	local name=$1 t0=$SECONDS
	shift
	timeout 60 gg force --no-progress "$@" 2>"$name.err"
	echo $? >"$name.rc"
	echo "$name: rc $(cat "$name.rc") after $((SECONDS - t0)) s: $(head -c 600 "$name.err")"
}

self=$(gg thunk -i fib -o out --placeholder self -- fib self)
force self self
check "a thunk that outputs itself fails (exit 1, not a hang)" [ "$(cat self.rc)" = 1 ]
check "... with the loop named" grep -q "a dynamic graph loops: .* outputs " self.err
inner=$(grep -o '(T[0-9a-f]\{76\})' self.err | sort | uniq -c | sort -rn | head -1 | awk '{print $2}')
check "... naming the thunk that outputs itself at both ends of the loop" \
	grep -q "$inner outputs fib out ${inner:1:9} $inner\$" self.err

gg thunk -i fib -o out --placeholder ab -- fib a >/dev/null
force ab ab
check "two thunks that output each other fail (exit 1)" [ "$(cat ab.rc)" = 1 ]
check "... naming both" grep -q "a dynamic graph loops: fib out T.* outputs fib out T.* outputs fib out T" ab.err

gg thunk -i fib -o out --placeholder k -- fib k >/dev/null
# k outputs thunk n, whose input is k#out: n#out, reached through k, waits for n.
force k k
check "a thunk waiting for itself through a dynamic input fails (exit 1)" [ "$(cat k.rc)" = 1 ]
check "... saying the thunks wait for each other" grep -q "thunks of a dynamic graph wait for each other: fib out T.* waits for fib out T" k.err

gg thunk -i fib -o out --placeholder deep -- fib deep 0 >/dev/null
force deep --max-depth 12 deep
check "a dynamic chain deeper than --max-depth fails (exit 1)" [ "$(cat deep.rc)" = 1 ]
check "... naming the limit" grep -q "a dynamic graph is deeper than 12 thunks" deep.err
check "... after running only about that many thunks" \
	[ "$(find .gg/objects -name 'T*' | wc -l)" -le 20 ]
force depth0 --max-depth 0 deep
check "--max-depth 0 is refused" grep -q -- "--max-depth 0: expected a number from 1" depth0.err

# The same loops through a mount: EIO at once, and the mount still answers.
need fusermount3
mkdir src
gg thunk -i fib -o out --placeholder src/self -- fib self >/dev/null
gg thunk -i fib -o out --placeholder src/k -- fib k >/dev/null
echo plain >src/plain.txt
ggfs_mount src mnt ggfs.log
t0=$SECONDS
timeout 60 cat mnt/self >/dev/null 2>cat.err
rc=$?
echo "cat mnt/self: rc $rc after $((SECONDS - t0)) s: $(cat cat.err)"
check "reading a looping placeholder through the mount fails (not a hang)" [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ]
check "... with EIO" grep -q "Input/output error" cat.err
timeout 60 cat mnt/k >/dev/null 2>cat2.err
rc=$?
check "reading a self-waiting placeholder through the mount fails (not a hang)" [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ]
check "the mount still serves other files" [ "$(timeout 20 cat mnt/plain.txt)" = plain ]
finish
