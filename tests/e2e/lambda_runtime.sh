#!/usr/bin/env bash
# Our own small Lambda (tests/servers/lambda_runtime.py) behaves as Lambda
# does where the deadline tests rely on it, checked with a shell bootstrap:
#   - every invocation has its own request id and a real
#     Lambda-Runtime-Deadline-Ms (now + the function's timeout)
#   - a response for a request id other than the one being served is
#     rejected (400) and recorded; the right one is accepted once
#   - at the timeout every process of the function is killed, a detached
#     (setsid, double-forked) one too, the client gets Lambda's "Task timed
#     out" error, and the next invocation gets a fresh instance
# and gg worker, as the bootstrap, runs a thunk through -e lambda=... on it,
# and does not answer an invocation whose request id is not one (it would
# have to change it to fit a URL, and could name another invocation): Lambda
# times it out, and the client runs the thunk locally. Against a Runtime API
# that takes no connection, every call of its loop gives up after
# GG_CONNECT_TIMEOUT (the handle is reset before each call).
. "$(dirname "$0")/lib.sh"
setup "$@"
need python3 curl sh setsid
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$T"
echo "# in $T"

# The bootstrap: a Runtime API loop in sh. The payload says what to do:
#   echo WORD        answer WORD
#   stale            first answer for the previous request id, then answer
#   hang             leave a detached grandchild (setsid, double fork), sleep
mkdir fn
cat >fn/bootstrap <<'EOF2'
#!/bin/sh
api=http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/invocation
d=$(mktemp -d)
prev=
while :; do
	curl -sS -D "$d/h" -o "$d/b" "$api/next" || exit 1
	now=$(date +%s%3N)
	id=$(tr -d '\r' <"$d/h" | sed -n 's/^[Ll]ambda-[Rr]untime-[Aa]ws-[Rr]equest-[Ii]d: //p')
	dl=$(tr -d '\r' <"$d/h" | sed -n 's/^[Ll]ambda-[Rr]untime-[Dd]eadline-[Mm]s: //p')
	echo "got $id deadline_ms=$dl now_ms=$now" >>"$MARK_DIR/got"
	set -- $(cat "$d/b")
	case $1 in
	stale)
		code=$(curl -s -o /dev/null -w '%{http_code}' --data '"stale"' "$api/$prev/response")
		echo "stale reply for $prev: HTTP $code" >>"$MARK_DIR/got"
		curl -sS -o /dev/null --data '"fresh"' "$api/$id/response" ;;
	hang)
		setsid sh -c 'sh -c "echo \$\$ >$MARK_DIR/grandchild; exec sleep 1000" &' </dev/null >/dev/null 2>&1
		echo $$ >"$MARK_DIR/bootstrap"
		sleep 1000 ;;
	*)
		curl -sS -o /dev/null --data "\"$2\"" "$api/$id/response" ;;
	esac
	prev=$id
done
EOF2
chmod +x fn/bootstrap
mkdir marks
echo "MARK_DIR=$T/marks" >fn.env

start_rt() { # [OPTION...] -- BOOTSTRAP...: sets LAMBDA_RT_ROOT, GG_LAMBDA_ENDPOINT
	local out
	out=$("$here/servers/start-lambda-runtime.sh" "$@") || return 1
	eval "$out"
	at_exit "'$here/servers/start-lambda-runtime.sh' stop '$LAMBDA_RT_ROOT'"
	export GG_LAMBDA_ENDPOINT
}
start_rt --timeout 2 --env-file "$T/fn.env" -- "$T/fn/bootstrap" ||
	{ not_ok "start our Lambda (tests/servers/start-lambda-runtime.sh)"; finish; }
ok "our Lambda is up at $GG_LAMBDA_ENDPOINT"
EV=$LAMBDA_RT_ROOT/events.log
invoke() { # PAYLOAD: prints the function error header (if any), then the body
	curl -sS -D "$T/inv.h" -o "$T/inv.b" --data "$1" "$GG_LAMBDA_ENDPOINT/2015-03-31/functions/gg-fn/invocations" || return 1
	tr -d '\r' <"$T/inv.h" | sed -n 's/^X-Amz-Function-Error: /function error: /p'
	cat "$T/inv.b"
}

r1=$(invoke 'echo one') r2=$(invoke 'echo two')
check "an invocation is answered with the function's response" [ "$r1" = '"one"' -a "$r2" = '"two"' ]
ids=$(sed -n 's/^got \([^ ]*\) .*/\1/p' marks/got)
check "each invocation has its own request id (a UUID)" \
	[ "$(sort -u <<<"$ids" | grep -Ec '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')" -eq 2 ]
left=$(awk '/^got/ { split($3, a, "="); split($4, b, "="); print a[2] - b[2] }' marks/got)
echo "# deadline - time of receipt, ms: $(echo $left)"
check "Lambda-Runtime-Deadline-Ms is now + the 2 s timeout" \
	awk '{ if ($1 <= 1000 || $1 > 2000) exit 1 }' <<<"$left"

r3=$(invoke stale)
check "the reply for the request id being served is accepted" [ "$r3" = '"fresh"' ]
check "a reply for an earlier request id gets 400" grep -q 'stale reply for .*: HTTP 400' marks/got
old=$(sed -n 2p <<<"$ids")
check "and is recorded as rejected" grep -q "^response $old rejected (not the invocation being served)" "$EV"

s=$(date +%s.%N)
r4=$(invoke hang)
echo "# the hanging invocation ended after $(awk "BEGIN{printf \"%.2f\", $(date +%s.%N) - $s}") s (timeout 2 s)"
check "at the timeout the client gets Lambda's function error" has_text "$r4" 'function error: Unhandled'
check "saying the task timed out" has_text "$r4" 'Task timed out after 2.00 seconds'
check "the server killed the function's processes" grep -Eq '^timeout .* killed [2-9][0-9]* processes' "$EV"
gone() { ! kill -0 "$(cat "marks/$1")" 2>/dev/null; }
check "the bootstrap is gone" gone bootstrap
check "its detached grandchild (setsid, double fork) is gone" gone grandchild
r5=$(invoke 'echo again')
check "the next invocation gets a fresh instance" [ "$r5" = '"again"' -a "$(grep -c '^start pid=' "$EV")" -eq 2 ]
"$here/servers/start-lambda-runtime.sh" stop "$LAMBDA_RT_ROOT"

# gg worker as the bootstrap: a thunk through the lambda engine.
mkdir wfn bucket
cat >wfn/bootstrap <<EOF2
#!/bin/sh
exec "$BUILD/bin/gg" worker --dir "$T/wstore" -v
EOF2
chmod +x wfn/bootstrap
echo "GG_STORAGE=file://$T/bucket" >w.env
start_rt --timeout 20 --env-file "$T/w.env" -- "$T/wfn/bootstrap" ||
	{ not_ok "start our Lambda with gg worker"; finish; }
export GG_STORAGE=file://$T/bucket AWS_ACCESS_KEY_ID=AKIDCLIENT AWS_SECRET_ACCESS_KEY=client-secret
mkdir c && cd c && gg init . >/dev/null
t=$(gg thunk -o o -- sh -c 'echo from our lambda > o')
gg force --no-progress -e lambda=gg-fn --stdout "$t#o" >f.out 2>f.err
check "gg worker on our Lambda runs a thunk (-e lambda=gg-fn)" grep -qx 'from our lambda' f.out || cat f.err
check "its reply was accepted for its request id" grep -q '^response .* accepted' "$LAMBDA_RT_ROOT/events.log"
check "no sanitizer report from the worker" bash -c "! grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error:' '$LAMBDA_RT_ROOT/function.log'"
"$here/servers/start-lambda-runtime.sh" stop "$LAMBDA_RT_ROOT"

start_rt --timeout 3 --bad-request-ids 1 --env-file "$T/w.env" -- "$T/wfn/bootstrap" ||
	{ not_ok "start our Lambda with gg worker, handing out a bad request id"; finish; }
t=$(gg thunk -o o -- sh -c 'echo not answered there > o')
gg force --no-progress -e lambda=gg-fn -e local --stdout "$t#o" >b.out 2>b.err
check "an invocation with a bad request id: the thunk runs locally" grep -qx 'not answered there' b.out || cat b.err
check "the worker said it would not answer it" grep -q 'is not a request id .*: not answered' "$LAMBDA_RT_ROOT/function.log"
check "and posted nothing for an id it was not given" bash -c "! grep -q ' rejected ' '$LAMBDA_RT_ROOT/events.log'"
check "Lambda timed it out" grep -q '^timeout bad.id.' "$LAMBDA_RT_ROOT/events.log"
"$here/servers/start-lambda-runtime.sh" stop "$LAMBDA_RT_ROOT"

# A Runtime API whose listen queue is full (one connection waits, none is
# taken): the kernel drops the worker's SYN, so its connect waits for its
# timeout. Each call of the loop follows a curl_easy_reset: with
# GG_CONNECT_TIMEOUT=1 each gives up after 1 s (not libcurl's 300 s), and
# after its ten tries (about 20 s) the worker exits naming the timeout.
python3 - "$T/stuck.port" <<'PY' &
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(0)
fill = socket.create_connection(s.getsockname())
with open(sys.argv[1], "w") as f:
    f.write("%d\n" % s.getsockname()[1])
time.sleep(300)
PY
stuck=$!
at_exit "kill $stuck"
if port=$(wait_port_file "$T/stuck.port" "$stuck"); then
	GG_CONNECT_TIMEOUT=1 AWS_LAMBDA_RUNTIME_API=127.0.0.1:$port timeout 90 \
		gg worker --dir "$T/stuckstore" 2>"$T/stuck.err"
	rc=$?
	check "a Runtime API that takes no connection: every call gives up after GG_CONNECT_TIMEOUT" \
		[ "$rc" -ne 124 ] || cat "$T/stuck.err"
	check "and the worker exits naming the timeout" grep -q 'Runtime API at .*: Timeout was reached' "$T/stuck.err"
else
	not_ok "start a Runtime API that takes no connection"
fi
kill "$stuck" 2>/dev/null
finish
