#!/usr/bin/env bash
# gg thunk --tool NAME: a script thunk (sh -c) can run the tools it names,
# with what they need to run, found on the thunk's PATH, and nothing else;
# the thunk stays hermetic (the tools are inputs named by content).
. "$(dirname "$0")/lib.sh"
setup "$@"
need sort head mkdir
cd "$T"
gg init . >/dev/null
gg thunk --tool sort --tool head --tool mkdir -o out --placeholder out -- \
	sh -c 'mkdir d && printf "b\na\nc\n" | sort | head -2 > out && test -d d' >/dev/null
gg force --no-progress out 2>out.err
check "a sh -c thunk runs sort, head and mkdir given with --tool" [ "$(cat out)" = "$(printf 'a\nb')" ]
name=$(gg thunk --tool sort -o o2 -- sh -c 'printf "b\na\n" | sort > o2')
check "... the tools are inputs of the thunk" sh -c "gg describe '$name' | grep -q '.gg-sys/bin/sort'"
check "... so is the loader at the path the kernel looks for" sh -c "gg describe '$name' | grep -q 'lib64/ld-linux'"
check "... and PATH finds them" sh -c "gg describe '$name' | grep -q 'PATH=/.gg-sys/bin'"
gg thunk -o o3 --placeholder o3 -- sh -c 'printf "b\na\n" | sort > o3' >/dev/null
gg force --no-progress o3 2>o3.err
check "without --tool, the tool is not there" grep -q "sort: not found" o3.err
gg thunk --tool sort -e PATH=/nowhere -o o4 --placeholder o4 -- sh -c 'sort </dev/null > o4' >/dev/null
gg force --no-progress o4 2>o4.err
check "a PATH given with -e is kept" grep -q "sort: not found" o4.err
gg thunk --tool no-such-tool-here -o o5 -- sh -c 'true' 2>o5.err
check "an unknown tool is named" grep -q "no-such-tool-here: not found on PATH" o5.err
finish
