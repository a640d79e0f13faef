#!/usr/bin/env bash
# Without a pid namespace (Lambda has none) a process a thunk leaves behind
# could reach the Runtime API and answer the *next* invocation. Against our
# own Lambda (tests/servers/lambda_runtime.py), with gg worker --no-sandbox
# as the function's bootstrap, run as nobody (as on Lambda: no control
# group either), and the server publishing each request id as it starts (an
# attacker that learns ids):
#   - a thunk leaves a forger (setsid, double fork) that waits for the next
#     request id and posts a made-up, well-formed reply for it: the worker
#     ends it before its own reply (it says so), nothing of it is left, and
#     the next invocation's reply is the worker's (the genuine output),
#     accepted for its request id
#   - a thunk that answers its own invocation with a reply for another
#     thunk: the client refuses it, naming both
#   - a thunk that leaves a forger and then kills its run's supervisor (the
#     per-run subreaper that ends what a thunk detaches): it fails saying so,
#     and the worker's own subreaper still ends the forger before it replies
. "$(dirname "$0")/lib.sh"
setup "$@"
need python3 curl sh setsid setpriv base64 sha256sum
[ "$(id -u)" = 0 ] || { not_ok "this test needs root (it runs the function as another user, nobody, as Lambda does)"; finish; }
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$T"
chmod 755 "$T" # the function, as nobody, reaches its directories here
echo "# in $T"
mkdir bucket && (cd bucket && for a in 0 1 2 3 4 5 6 7 8 9 a b c d e f; do for b in 0 1 2 3 4 5 6 7 8 9 a b c d e f; do mkdir -m 1777 $a$b; done; done)
chmod 1777 bucket
mkdir -m 1777 flog
mkdir -p w/fn && chown 65534:65534 w
printf '#!/bin/sh\nexec setpriv --reuid=65534 --regid=65534 --clear-groups -- "%s" worker --dir "%s" --no-sandbox -v\n' \
	"$BUILD/bin/gg" "$T/w/store" >w/fn/bootstrap
chmod 755 w/fn/bootstrap
echo "GG_STORAGE=file://$T/bucket" >fn.env
out=$("$here/servers/start-lambda-runtime.sh" --timeout 60 --env-file "$T/fn.env" --publish-ids "$T/ids" -- "$T/w/fn/bootstrap") ||
	{ not_ok "start our Lambda (tests/servers/start-lambda-runtime.sh)"; finish; }
eval "$out"
at_exit "'$here/servers/start-lambda-runtime.sh' stop '$LAMBDA_RT_ROOT'"
export GG_LAMBDA_ENDPOINT GG_STORAGE=file://$T/bucket AWS_ACCESS_KEY_ID=AKIDCLIENT AWS_SECRET_ACCESS_KEY=client-secret
EV=$LAMBDA_RT_ROOT/events.log
mkdir c && cd c && gg init . >/dev/null

# A well-formed reply for thunk T whose output o is TEXT.
forged_reply() { # T TEXT FILE
	printf '%s\n' "$2" >"$T/.v"
	local v
	v=$(gg hash "$T/.v" | awk '{ print $1 }')
	printf '{"v":1,"thunk":"%s","ok":true,"outputs":[{"path":"o","value":"%s","exec":false,"inline":"%s"}]}' \
		"$1" "$v" "$(base64 -w0 "$T/.v")" >"$3"
	chmod 644 "$3"
}
env_=(-e PATH=/usr/bin:/bin -e "API=127.0.0.1:$LAMBDA_RT_PORT" -e "IDS=$T/ids")

# The next thunk, and a forged reply for it.
t2=$(gg thunk "${env_[@]}" -o o -- sh -c 'sleep 1; echo genuine > o')
forged_reply "$t2" FORGED "$T/forged2.json"
cat >forger.sh <<'EOF2'
first=$(cat "$IDS")
echo "started while $first was served" >>"$FLOG"
while :; do
	id=$(cat "$IDS" 2>/dev/null)
	if [ -n "$id" ] && [ "$id" != "$first" ]; then
		code=$(curl -s -o /dev/null -w '%{http_code}' --data-binary @"$FORGED" "http://$API/2018-06-01/runtime/invocation/$id/response")
		echo "forged a reply for $id: HTTP $code" >>"$FLOG"
		exit 0
	fi
	sleep 0.02
done
EOF2
t1=$(gg thunk -i forger.sh "${env_[@]}" -e "FORGED=$T/forged2.json" -e "FLOG=$T/flog/forger" -e GG_TEST_MARK=forger-$$ -o o -- \
	sh -c 'setsid sh -c "sh forger.sh </dev/null >/dev/null 2>&1 &"; sleep 0.3; echo planted > o')
gg force --no-progress -e lambda=gg-fn --stdout "$t1#o" >f1.out 2>f1.err
check "the thunk that leaves a forger runs" grep -qx planted f1.out || cat f1.err
leftover=$(marked GG_TEST_MARK=forger-$$)
check "nothing of it is left once its reply is in" [ -z "$leftover" ]
[ -z "$leftover" ] || ps -o pid,ppid,pgid,sid,user,args -p "$(echo $leftover | tr ' ' ,)"
check "the forger had started" grep -q '^started while' "$T/flog/forger"
check "the worker said it ended what the thunk left" grep -Eq 'ended [1-9][0-9]* processes the thunk left running' "$LAMBDA_RT_ROOT/function.log"

gg force --no-progress -e lambda=gg-fn --stdout "$t2#o" >f2.out 2>f2.err
check "the next invocation's reply is the worker's: the genuine output" grep -qx genuine f2.out || { cat f2.out f2.err; }
id2=$(cat "$T/ids")
check "accepted for its request id" grep -q "^response $id2 accepted" "$EV"
check "and no reply for it was rejected" bash -c "! grep -q '^response $id2 rejected' '$EV'"
check "the forger never posted (it was gone)" bash -c "! grep -q '^forged' '$T/flog/forger'"
sed 's/^/# forger: /' "$T/flog/forger"

# A thunk that answers its own invocation, for another thunk.
t4=$(gg thunk "${env_[@]}" -o o -- sh -c 'echo four > o')
forged_reply "$t4" poison "$T/forged4.json"
t3=$(gg thunk "${env_[@]}" -e "FORGED=$T/forged4.json" -o o -- \
	sh -c 'curl -s -o /dev/null --data-binary @"$FORGED" "http://$API/2018-06-01/runtime/invocation/$(cat "$IDS")/response"; sleep 0.5; echo three > o')
gg force --no-progress --retries 0 -e lambda=gg-fn --stdout "$t3#o" >f3.out 2>f3.err
st=$?
check "a reply for another thunk is refused: the force fails" [ $st -ne 0 ]
check "naming both thunks" grep -q "answered for thunk $t4 instead of $t3" f3.err || cat f3.err
check "the worker's own reply came later and was rejected" \
	wait_for 100 grep -q "^response .* rejected (not the invocation being served)" "$EV"
# A thunk that leaves a forger, then kills its supervisor.
t6=$(gg thunk "${env_[@]}" -o o -- sh -c 'sleep 1; echo genuine6 > o')
forged_reply "$t6" FORGED6 "$T/forged6.json"
t5=$(gg thunk -i forger.sh "${env_[@]}" -e "FORGED=$T/forged6.json" -e "FLOG=$T/flog/forger5" -e GG_TEST_MARK=forger5-$$ -o o -- \
	sh -c 'setsid sh -c "sh forger.sh </dev/null >/dev/null 2>&1 &"; sleep 0.3; kill -9 $PPID; echo five > o')
gg force --no-progress --retries 0 -e lambda=gg-fn --stdout "$t5#o" >f5.out 2>f5.err
st=$?
check "a thunk that kills its supervisor fails" [ $st -ne 0 ]
check "saying its supervisor was killed" grep -q 'supervisor was killed' f5.err || cat f5.err
leftover=$(marked GG_TEST_MARK=forger5-$$)
check "its forger is gone all the same once the reply is in" [ -z "$leftover" ]
[ -z "$leftover" ] || ps -o pid,ppid,pgid,sid,user,args -p "$(echo $leftover | tr ' ' ,)"
check "that forger had started" grep -q '^started while' "$T/flog/forger5"
gg force --no-progress -e lambda=gg-fn --stdout "$t6#o" >f6.out 2>f6.err
check "the next invocation's output is genuine" grep -qx genuine6 f6.out || cat f6.out f6.err
check "that forger never posted" bash -c "! grep -q '^forged' '$T/flog/forger5'"
check "no sanitizer report from the worker" bash -c "! grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error:' '$LAMBDA_RT_ROOT/function.log'"
finish
