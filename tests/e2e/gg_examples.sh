#!/usr/bin/env bash
# The foundation issue's examples, exactly as written, plus describe/cat/hash
# and executing a placeholder directly (gg-run).
. "$(dirname "$0")/lib.sh"
setup "$@"
need sort cp sh
cd "$T"

out=$(bash -c 'echo b > in.txt; echo a >> in.txt; gg thunk -i in.txt -o out.txt --placeholder out.txt -- sort -o out.txt in.txt && gg force out.txt && cat out.txt' 2>err.txt)
check "sort example prints the thunk's name, then a, then b" [ "$(echo "$out" | tail -n 2)" = "$(printf 'a\nb')" -a "$(echo "$out" | head -c 1)" = T ]
check "forced file is an ordinary file now" bash -c '! grep -q ggfs-placeholder out.txt'

if bash -c 'gg thunk -o o --placeholder p -- cp /etc/hostname o && gg force p' >out2.txt 2>err2.txt; then
	not_ok "reading an undeclared host file must fail"
else
	ok "reading an undeclared host file fails"
fi
check "the failure names the command" grep -q 'command: cp /etc/hostname o' err2.txt
check "the failure shows the exit status" grep -q 'exited with status 1' err2.txt
check "the failure shows the program's stderr" grep -q "cannot stat '/etc/hostname'" err2.txt
check "the placeholder is left in place after a failure" grep -q ggfs-placeholder p

# describe and cat
printf 'zz\nyy\n' > in2.txt
name=$(gg thunk -i in.txt=in2.txt -o out.txt --placeholder p2 -- sort -o out.txt in.txt)
check "describe shows the command" bash -c "gg describe p2 | grep -q 'command: sort -o out.txt in.txt'"
check "describe shows the input" bash -c "gg describe $name | grep -q ' in.txt  V'"
check "describe --json is one JSON object" bash -c "gg describe --json $name | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"kind\"]==\"thunk\" and d[\"outputs\"][0][\"path\"]==\"out.txt\"'"
check "gg cat forces a thunk output" [ "$(gg cat "$name#out.txt")" = "$(printf 'yy\nzz')" ]
check "gg cat of a bare thunk name gives the primary output" [ "$(gg cat "$name")" = "$(printf 'yy\nzz')" ]
v=$(gg hash in2.txt)
check "gg hash names a value with its size" [ "${v:0:1}" = V -a "$((16#${v: -12}))" -eq 6 ]
check "gg cat prints a value" [ "$(gg cat "$v")" = "$(printf 'zz\nyy')" ]
check "describe --json after forcing shows the value" bash -c "gg describe --json $name | grep -q '\"value\":\"V'"

# A placeholder is executable: running it forces it and runs the result.
cat > hello.sh <<'S'
#!/bin/sh
echo "hello $1"
S
chmod +x hello.sh
gg thunk -i hello.sh -o greet --placeholder greet -- cp hello.sh greet >/dev/null
check "executing a placeholder runs its forced output with the arguments" [ "$(./greet world)" = "hello world" ]

# Malformed inputs get clear errors.
check "an absolute -i path is rejected with a hint" bash -c "gg thunk -i /abs -o x -- true 2>&1 | grep -q 'absolute paths are not allowed.*use -i RELATIVE-PATH=/abs'"
check "missing program is named" bash -c "gg thunk -o x -- no-such-program-xyz 2>&1 | grep -q 'no-such-program-xyz'"
check "a name with bad characters is rejected" bash -c "gg cat Tzz 2>&1 | grep -q 'no such file, and not an object name'"
printf '#!/usr/bin/env gg-run\nggfs-placeholder 1 Tnothex\n' > bad.ph
check "a malformed placeholder gets a clear error" bash -c "gg force bad.ph 2>&1 | grep -q 'malformed placeholder'"
finish
