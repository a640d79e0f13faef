#!/usr/bin/env bash
# Hermeticity seen from the CLI: undeclared files and the network are out of
# reach; declared inputs are readable; a timeout kills; outputs must exist.
. "$(dirname "$0")/lib.sh"
setup "$@"
need sh python3
cd "$T"
gg init . >/dev/null

check "the host has /etc/passwd (the file the thunk must not see)" test -r /etc/passwd
name=$(gg thunk -o o -- sh -c 'read -r x < /etc/passwd || exit 1; echo "$x" > o')
out=$(gg force --stdout "$name#o" 2>&1)
rc=$?
check "an undeclared host file cannot be read: the force fails (rc $rc)" test $rc -ne 0
check "... because the file does not exist in the sandbox: $(echo "$out" | grep -m1 "No such")" has_text "$out" "/etc/passwd: No such file"

# A listener on the host's loopback; the thunk tries to reach it with sh's
# /dev/tcp-free way: python is not an input, so use bash's /dev/tcp.
python3 -c 'import os,socket,time; s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(); open("port.tmp","w").write("%d\n" % s.getsockname()[1]); os.rename("port.tmp","port"); time.sleep(600)' &
lp=$!
at_exit "kill $lp"
port=$(wait_port_file port $lp) || { not_ok "the listener on the host's loopback did not start"; finish; }
name=$(gg thunk -o o -- bash -c "echo hi > /dev/tcp/127.0.0.1/$port && echo connected > o")
if gg force --stdout "$name#o" >net.out 2>net.err; then
	not_ok "a thunk must not reach the network (it connected)"
else
	ok "a thunk cannot open a network connection"
fi
check "the network failure is reported from the thunk's stderr" grep -qi 'network is unreachable\|connection refused\|cannot assign' net.err

echo data > in.txt
name=$(gg thunk -i in.txt -o o -- sh -c 'read -r x < in.txt; echo "$x" > o')
check "a declared input is readable" [ "$(gg force --stdout "$name#o")" = data ]

name=$(gg thunk --timeout 1 -o o -- sh -c 'while :; do :; done')
gg force --stdout "$name#o" >/dev/null 2>to.err
check "a thunk that runs past its timeout is killed and reported" grep -q 'timed out after 1000 ms' to.err

name=$(gg thunk -o missing -- sh -c 'true')
gg force --stdout "$name#missing" >/dev/null 2>mo.err
check "a missing output is reported" grep -q "did not produce output 'missing'" mo.err

name=$(gg thunk -o o -- sh -c 'echo "$HOME:$PATH:$(echo /* /.*)" > o')
out=$(gg force --stdout "$name#o")
check "the environment is exactly what the thunk declares (empty)" [ "${out%%:*}" = "" ]
listing=${out##*:}
check "the sandbox root holds only the thunk's files, /dev and /tmp" [ "$listing" = "/dev /tmp /. /.. /.gg-sys" ]

name=$(gg thunk -e GREETING=hi -o o -- sh -c 'echo $GREETING > o')
check "declared environment variables are set" [ "$(gg force --stdout "$name#o")" = hi ]

# --keep-going: one failure does not stop an independent thunk.
bad=$(gg thunk -o o -- sh -c 'exit 3')
good=$(gg thunk -o o -- sh -c 'sleep 0.5; echo fine > o')
gg force -j1 --keep-going "$bad#o" "$good#o" >kg.out 2>kg.err
check "--keep-going finishes independent thunks" grep -q '^V' kg.out
check "--keep-going still reports the failure" grep -q 'exited with status 3' kg.err

# The sandbox's one-time probe root of a process killed meanwhile (SIGKILL)
# is swept by the next process's probe once it is surely stale; a fresh one
# (a probe running now), other names and other users' are left.
mkdir -p ptmp/gg-sandbox-probe-stale/dev ptmp/gg-sandbox-probe-fresh ptmp/gg-sandbox-probe-theirs ptmp/other
touch -d '1 hour ago' ptmp/gg-sandbox-probe-stale ptmp/gg-sandbox-probe-theirs ptmp/other
chown nobody ptmp/gg-sandbox-probe-theirs
: >ptmp/gg-sandbox-probe-file && touch -d '1 hour ago' ptmp/gg-sandbox-probe-file
name=$(gg thunk -o o -- sh -c 'echo swept > o')
TMPDIR="$T/ptmp" gg force --stdout "$name#o" >/dev/null 2>probe.err || cat probe.err
check "a stale probe root is swept by the next probe" test ! -e ptmp/gg-sandbox-probe-stale
check "... a fresh one, another user's, a file and other names are left" \
	test -d ptmp/gg-sandbox-probe-fresh -a -d ptmp/gg-sandbox-probe-theirs -a -f ptmp/gg-sandbox-probe-file -a -d ptmp/other
check "... and the probe leaves no root of its own" \
	test "$(ls ptmp | grep -c '^gg-sandbox-probe-')" = 3
finish
