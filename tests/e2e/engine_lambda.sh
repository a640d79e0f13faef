#!/usr/bin/env bash
# The lambda engine against the Lambda Runtime API of @vercel/fun (npm) behind
# a small Invoke API (tests/servers/start-lambda.sh), with `gg worker` as the
# custom runtime's bootstrap: every instance has its own fresh store (like a
# Lambda's /tmp) and, as root, cannot see the client's directory. Storage is
# Redis. Requests are SigV4-signed (dummy credentials; the shim does not
# check signatures, it records that they are there).
#   - the gg_graph.sh build through -e lambda=... equals the plain build
#   - throttling (429) and service errors (500) are backed off and retried
#   - a thunk over the input-size cap falls back to the next engine, or
#     fails with the reason when there is none
#   - a bootstrap that crashes: a clear error after bounded retries
. "$(dirname "$0")/lib.sh"
setup "$@"
need gcc as ld cmp sh node npm redis-server
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/servers/c_graph.sh"
cd "$T"
echo "# in $T"

. "$here/servers/redis.sh"
redis_up || { not_ok "start redis (tests/servers/redis.sh)"; finish; }
export GG_STORAGE=redis://127.0.0.1:$REDIS_PORT
export AWS_ACCESS_KEY_ID=AKIDGGTEST AWS_SECRET_ACCESS_KEY=gg-test-secret AWS_REGION=us-east-1
unset AWS_SESSION_TOKEN AWS_PROFILE

mkdir fn broken stores
graph_make || finish

# The function: gg worker as the bootstrap, a fresh store per instance, in a
# mount namespace where the client's directory is an empty tmpfs.
[ "$(id -u)" = 0 ] && unshare --mount --propagation private true 2>/dev/null ||
	{ not_ok "the functions cannot be kept from the client's directory: that needs root and unshare --mount"; finish; }
cat > fn/bootstrap <<EOF
#!/bin/sh
d=$T/stores/\$\$
exec unshare --mount --propagation private sh -c 'mount -t tmpfs -o size=1m gg-hidden "\$1" && shift && exec "\$@"' \\
	sh "$T/lazy" "$BUILD/bin/gg" worker --dir "\$d" -v
EOF
printf '#!/bin/sh\necho "this bootstrap crashes" >&2\nexit 1\n' > broken/bootstrap
# The deployable package (make lambda-package), unpacked as Lambda would.
"$here/../tools/lambda-package.sh" "$BUILD" >pkg.log 2>&1 || { not_ok "tools/lambda-package.sh builds the zip"; cat pkg.log; finish; }
mkdir pkg && (cd pkg && unzip -q "$BUILD/gg-lambda.zip")
chmod +x fn/bootstrap broken/bootstrap

start_lambda() { # LOGVAR [ENV=VALUE...]: starts a shim; sets GG_LAMBDA_ENDPOINT and $LOGVAR
	local var=$1 out
	shift
	out=$(env "$@" "$here/servers/start-lambda.sh" gg-worker="$T/fn" gg-broken="$T/broken" gg-packaged="$T/pkg") || return 1
	eval "$out"
	at_exit "'$here/servers/start-lambda.sh' stop '$LAMBDA_ROOT'"
	export GG_LAMBDA_ENDPOINT
	printf -v "$var" '%s' "$LAMBDA_ROOT/shim.log"
}
start_lambda LOG1 || { not_ok "start the Lambda Invoke API (tests/servers/start-lambda.sh)"; finish; }
ok "the Lambda Runtime API (@vercel/fun) and its Invoke API are up"

graph_force "the lambda engine" -j 6 -e lambda=gg-worker
cd lazy
check "six signed invocations succeeded" [ "$(grep -c 'gg-worker (signed) -> 200 ok' "$LOG1")" -eq 6 ]
check "every thunk ran in a function instance" [ "$(grep -c ' ok in [0-9]* ms$' "$LOG1")" -eq 6 ]
check "instances had their own stores" [ "$(ls ../stores | wc -l)" -ge 1 ]

# Over the input-size cap: the next engine runs it, or the reason is given.
big=$(GG_LAMBDA_MAX_INPUT=1K gg thunk -o o -- sh -c 'echo fell back > o')
n0=$(grep -c 'invoke gg-worker' "$LOG1")
GG_LAMBDA_MAX_INPUT=1K gg force --no-progress -e lambda=gg-worker -e local --stdout "$big#o" >fb.out 2>fb.err
check "a thunk over the cap runs on the next engine (local)" grep -qx 'fell back' fb.out
check "and was not sent to Lambda" [ "$(grep -c 'invoke gg-worker' "$LOG1")" -eq "$n0" ]
check "the fallback is printed with its reason" grep -q "runs on local: lambda: its inputs total" fb.err
big2=$(gg thunk -o o -- sh -c 'echo no engine > o')
GG_LAMBDA_MAX_INPUT=1K gg force --no-progress -e lambda=gg-worker "$big2#o" >/dev/null 2>cap.err
st=$?
check "a limit of the thunk's, not of the machine: exit 1 (got $st)" [ $st -eq 1 ]
check "with no other engine it fails with the reason" grep -q "no engine can run it: lambda: its inputs total [0-9.]* MiB, above the lambda engine.s limit of 1.0 KiB; set GG_LAMBDA_MAX_INPUT" cap.err || cat cap.err

# The packaged function (its own loader, libraries and CA bundle) works too.
t=$(gg thunk -o o -- sh -c 'echo from the package > o')
gg force --no-progress -e lambda=gg-packaged --stdout "$t#o" >pk.out 2>pk.err
check "the package from make lambda-package runs a thunk as a function" grep -qx 'from the package' pk.out || cat pk.err

# A bootstrap that crashes: the function error, after bounded retries.
t=$(gg thunk -o o -- sh -c 'echo never > o')
gg force --no-progress --retries 1 -e lambda=gg-broken "$t#o" >/dev/null 2>broken.err
check "a crashing function: the force fails" [ $? -ne 0 ]
check "naming the function error" grep -q 'the function failed (Unhandled)' broken.err
check "after 2 invocations (1 retry)" [ "$(grep -c 'invoke gg-broken' "$LOG1")" -eq 2 ]
cd ..
cp "$LOG1" shim1.log
LOG1=$T/shim1.log
"$here/servers/start-lambda.sh" stop "$LAMBDA_ROOT"

# Throttling and service errors: backed off, retried, then it runs.
start_lambda LOG2 LAMBDA_FAULT_429=3 LAMBDA_FAULT_500=1 || { not_ok "start the Lambda Invoke API again"; finish; }
cd lazy
t=$(gg thunk -o o -- sh -c 'echo after throttling > o')
s=$(date +%s.%N)
gg force --no-progress -e lambda=gg-worker --stdout "$t#o" >thr.out 2>thr.err
check "the force succeeds through 3 throttles and a service error" grep -qx 'after throttling' thr.out
check "the Invoke API answered 429 three times, 500 once, then ran it" \
	[ "$(grep -c '> 429' "$LOG2")" -eq 3 -a "$(grep -c '> 500' "$LOG2")" -eq 1 -a "$(grep -c '200 ok' "$LOG2")" -eq 1 ]
echo "# backed off 4 times in $(awk "BEGIN{printf \"%.2f\", $(date +%s.%N) - $s}") s"
cd ..
cp "$LOG2" shim2.log
LOG2=$T/shim2.log
check "no sanitizer report from any instance" bash -c "! grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error:' '$LOG1' '$LOG2'"
finish
