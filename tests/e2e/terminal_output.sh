#!/usr/bin/env bash
# gg force's output: on a terminal (a pseudo-terminal from script(1)) a
# status line with done/total, then errors and the summary whole on lines
# of their own; not on a terminal, or with --no-progress, plain lines with
# no escape sequence or carriage return at all.
. "$(dirname "$0")/lib.sh"
setup "$@"
need script
cd "$T"
gg init . >/dev/null
for i in 1 2 3; do gg thunk --tool sleep -o "ok$i" --placeholder "ok$i" -- sh -c "sleep 0.3; echo $i > ok$i" >/dev/null; done
gg thunk -o bad --placeholder bad -- sh -c 'echo "the program says no" >&2; exit 3' >/dev/null
cp ok1 ok1.ph; cp bad bad.ph

# Not a terminal: plain lines only.
gg force --summary -k -j 2 ok1 ok2 ok3 bad >plain.out 2>plain.err
rc=$?
cat plain.err
check "a failure exits 1" [ $rc = 1 ]
check "no escape sequence on a non-terminal" sh -c "! grep -q \$(printf '\\033') plain.err"
check "no carriage return on a non-terminal" sh -c "! grep -q \$(printf '\\r') plain.err"
check "the error comes whole on its own line" grep -q '^gg: bad: thunk T[0-9a-f]* (sh bad T[0-9a-f]*) failed: exited with status 3$' plain.err
check "... with the program's stderr" grep -q '^    the program says no$' plain.err
check "the summary comes whole on its own line" grep -qx 'gg: executed 3, from memo 0, failed 1' plain.err
check "-k: the program's stderr is shown once (the failure as it happened; the end names the target in one line)" \
	[ "$(grep -c '^    the program says no$' plain.err)" = 1 ]

# -k: a failure is shown as it happens, while the rest still runs: here
# before a 2 s thunk that started beside it says something at its end.
gg thunk --tool sleep -o late --placeholder late -- sh -c 'sleep 2; echo "late is done" >&2; echo x > late' >/dev/null
cp bad.ph bad
gg force -k -j 2 late bad >k.out 2>k.err
cat k.err
failed_at=$(grep -n '^gg: thunk T[0-9a-f]* (sh bad T[0-9a-f]*) failed: exited with status 3$' k.err | head -1 | cut -d: -f1)
late_at=$(grep -n 'late is done' k.err | head -1 | cut -d: -f1)
check "-k: the failure is shown as it happens, before the other thunk ends (lines ${failed_at:-none}, ${late_at:-none})" \
	test -n "$failed_at" -a -n "$late_at" -a "${failed_at:-0}" -lt "${late_at:-0}"
check "-k: the end still names the failed target" grep -q '^gg: bad: thunk T[0-9a-f]* (sh bad T[0-9a-f]*) failed: exited with status 3$' k.err
check "-k: and the other target was made" [ "$(cat late)" = x ]

# A terminal: the status line, then the results below it.
cp bad.ph bad
gg thunk --tool sleep -o ok4 --placeholder ok4 -- sh -c "sleep 0.5; echo 4 > ok4" >/dev/null
# The typescript holds what the terminal got; the pty turns "\n" into "\r\n".
script -qfec "gg force --summary -k -j 2 ok4 bad; echo rc=\$?" tty.raw >/dev/null
sed 's/\r$//' tty.raw >tty.err
cat -v tty.err
check "on a terminal: a status line with done/total" grep -q '\[gg\] [0-9]*/[0-9]* done' tty.err
check "... whose final state ends its line" grep -q '\[gg\] 2/2 done, 1 failed; running local 0; [0-9.]*s.\[K$' tty.err
# Everything after the status line's final state: whole lines, no escape.
sed -n '/\[gg\] 2\/2 done/,$p' tty.err | tail -n +2 >after.txt
check "... the error below it comes whole" grep -q '^gg: bad: thunk T[0-9a-f]* (sh bad T[0-9a-f]*) failed: exited with status 3$' after.txt
check "... and the summary" grep -qx 'gg: executed 1, from memo 0, failed 1' after.txt
check "... with no escape after the status line" sh -c "! grep -q \$(printf '\\033') after.txt"
check "the exit status is kept under a terminal" grep -qx 'rc=1' after.txt

gg thunk -o np --placeholder np -- sh -c 'echo x > np' >/dev/null
script -qfec "gg force --no-progress np; echo rc=\$?" np.raw >/dev/null
check "--no-progress on a terminal: no escape sequence" sh -c "! grep -q \$(printf '\\033') np.raw"
check "... and the force worked" sh -c "grep -q rc=0 np.raw && [ \"\$(cat np)\" = x ]"
finish
