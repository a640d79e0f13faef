#!/usr/bin/env bash
# On Lambda the worker stops a thunk before Lambda-Runtime-Deadline-Ms and
# replies "deadline"; the client then runs the thunk on its next engine and
# says why. Against our own Lambda (tests/servers/lambda_runtime.py), which
# sets a real deadline and kills the function at its timeout as Lambda does,
# with gg worker --no-sandbox as the bootstrap (no namespaces, as on Lambda):
#   - a thunk longer than the function's 4 s timeout: stopped by the worker
#     before the deadline (the server never had to kill the function), one
#     invocation only, the reply accepted for its request id; the force
#     falls back to local (even with --retries 0: handing a thunk on is not
#     a retry), prints why, and gives the right output; the time to the
#     fallback is printed
#   - with no other engine the force fails, naming the deadline
#   - nothing of the stopped thunk is left running on the worker
#   - a function that Lambda itself times out (here one that never answers):
#     not invoked again, the thunk runs locally, saying why
. "$(dirname "$0")/lib.sh"
setup "$@"
need python3 curl sh
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$T"
echo "# in $T"
mkdir fn bucket
cat >fn/bootstrap <<EOF2
#!/bin/sh
exec "$BUILD/bin/gg" worker --dir "$T/wstore" --no-sandbox -v
EOF2
chmod +x fn/bootstrap
echo "GG_STORAGE=file://$T/bucket" >fn.env
out=$("$here/servers/start-lambda-runtime.sh" --timeout 4 --env-file "$T/fn.env" -- "$T/fn/bootstrap") ||
	{ not_ok "start our Lambda (tests/servers/start-lambda-runtime.sh)"; finish; }
eval "$out"
at_exit "'$here/servers/start-lambda-runtime.sh' stop '$LAMBDA_RT_ROOT'"
export GG_LAMBDA_ENDPOINT GG_STORAGE=file://$T/bucket AWS_ACCESS_KEY_ID=AKIDCLIENT AWS_SECRET_ACCESS_KEY=client-secret
EV=$LAMBDA_RT_ROOT/events.log
mkdir c && cd c && gg init . >/dev/null

stamp() { while IFS= read -r l; do printf '%s %s\n' "$(date +%s.%N)" "$l"; done; }
t=$(gg thunk --tool sleep -e GG_TEST_MARK=deadline-$$ -o o -- sh -c 'sleep 7; echo slow > o')
s=$(date +%s.%N)
gg force --no-progress --retries 0 -e lambda=gg-fn -e local --stdout "$t#o" >f.out 2> >(stamp >f.err)
st=$?
e=$(date +%s.%N)
sleep 0.2 # the stamping of stderr ends
sed 's/^/# /' f.err
fb=$(awk '/runs on local/ { print $1; exit }' f.err)
echo "# the fallback to local began $(awk "BEGIN{printf \"%.2f\", ${fb:-$s} - $s}") s after the start (function timeout 4 s, worker margin 1.5 s); the force took $(awk "BEGIN{printf \"%.2f\", $e - $s}") s"
check "the force succeeds" [ $st -eq 0 ]
check "with the thunk's output, from local" grep -qx slow f.out
check "the worker said why it stopped the thunk" grep -q 'it ran past the Lambda deadline: stopped after' f.err
check "the client says it runs it locally, and why" \
	grep -q "runs on local: lambda: it exceeded the lambda deadline on an earlier attempt" f.err
check "Lambda was invoked once (no retries there)" [ "$(grep -c '^invoke ' "$EV")" -eq 1 ]
check "the worker's reply was accepted for its request id, before the deadline" \
	[ "$(grep -c '^response .* accepted' "$EV")" -eq 1 ]
check "the server never had to kill the function at its timeout" bash -c "! grep -q '^timeout ' '$EV'"
check "nothing of the thunk is left running" bash -c "[ -z \"\$(. '$here/e2e/lib.sh'; marked GG_TEST_MARK=deadline-$$)\" ]"

t2=$(gg thunk --tool sleep -o o -- sh -c 'sleep 8; echo never > o')
gg force --no-progress -e lambda=gg-fn --stdout "$t2#o" >g.out 2>g.err
st=$?
check "with no other engine the force fails" [ $st -ne 0 ]
check "naming the deadline" grep -q "no engine can run it: lambda: it exceeded the lambda deadline" g.err || cat g.err
check "still without a kill by the server" bash -c "! grep -q '^timeout ' '$EV'"
check "no sanitizer report from the worker" bash -c "! grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error:' '$LAMBDA_RT_ROOT/function.log'"
"$here/servers/start-lambda-runtime.sh" stop "$LAMBDA_RT_ROOT"

# A function that takes the invocation and never answers: Lambda's timeout.
mkdir "$T/mute"
cat >"$T/mute/bootstrap" <<'EOF2'
#!/bin/sh
curl -s -o /dev/null "http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/invocation/next"
exec sleep 1000
EOF2
chmod +x "$T/mute/bootstrap"
out=$("$here/servers/start-lambda-runtime.sh" --timeout 2 -- "$T/mute/bootstrap") ||
	{ not_ok "start our Lambda with a function that never answers"; finish; }
eval "$out"
at_exit "'$here/servers/start-lambda-runtime.sh' stop '$LAMBDA_RT_ROOT'"
EV=$LAMBDA_RT_ROOT/events.log
t3=$(gg thunk -o o -- sh -c 'echo ran here > o')
s=$(date +%s.%N)
GG_LAMBDA_ENDPOINT=http://127.0.0.1:$LAMBDA_RT_PORT gg force --no-progress -e lambda=gg-fn -e local --stdout "$t3#o" >h.out 2>h.err
st=$?
echo "# with a function Lambda times out after 2 s, the force took $(awk "BEGIN{printf \"%.2f\", $(date +%s.%N) - $s}") s"
check "a function that Lambda times out: the force succeeds" [ $st -eq 0 ]
check "locally" grep -qx 'ran here' h.out
check "Lambda timed it out once, and was not invoked again" \
	[ "$(grep -c '^timeout ' "$EV")" -eq 1 -a "$(grep -c '^invoke ' "$EV")" -eq 1 ]
check "saying why it runs locally" grep -q "runs on local: lambda: it exceeded the lambda deadline" h.err || cat h.err
finish
