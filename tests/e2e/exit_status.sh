#!/usr/bin/env bash
# gg's exit statuses follow gg(1): 0 ok, 1 a thunk failed, 2 usage, 3 an
# infrastructure failure (here: an input object missing from the store),
# 130 cancelled (tests/e2e/cancel.sh). Each failure also names its cause.
. "$(dirname "$0")/lib.sh"
setup "$@"
cd "$T"
gg init . >/dev/null
echo hi >in.txt
ok=$(gg thunk -i in.txt -o out.txt -- cp in.txt out.txt)
gg force --no-progress "$ok#out.txt" >/dev/null 2>ok.err
check "a forced thunk: exit 0" [ $? = 0 ]

bad=$(gg thunk -o out.txt -- sh -c 'echo boom >&2; exit 7')
gg force --no-progress "$bad#out.txt" 2>bad.err
check "a failing program: exit 1" [ $? = 1 ]
check "... naming its status and stderr" grep -q "exited with status 7" bad.err

echo gone >lost.txt
lost=$(gg thunk -i lost.txt -o out.txt -- cp lost.txt out.txt)
obj=$(gg hash lost.txt)
find .gg/objects -name "$obj" -delete
gg force --no-progress "$lost#out.txt" 2>lost.err
check "an input missing from the store: exit 3" [ $? = 3 ]
check "... naming the object" grep -q "cannot place input lost.txt ($obj): object $obj is not in the store" lost.err
check "... without retrying what cannot come back" grep -q "after 1 attempt: " lost.err

gg force --no-progress --keep-going "$bad#out.txt" "$lost#out.txt" 2>both.err
check "both at once: the higher status (3)" [ $? = 3 ]

gg force --no-such-option x 2>usage.err
check "an unknown option: exit 2" [ $? = 2 ]
gg frobnicate 2>usage2.err
check "an unknown command: exit 2" [ $? = 2 ]
finish
