#!/usr/bin/env bash
# The worker uses its own storage credentials (issue 12): with a Redis
# storage that needs a password, the http engine's requests name the storage
# without it (storage_uri_public), and the worker opens its own configured
# URI, with the password. What the client sends is captured by a relay
# (tests/servers/raw_http.py relay) and must not hold the password; the
# force still succeeds, and the password is in no log. A request naming the
# storage with another password is refused (403).
. "$(dirname "$0")/lib.sh"
setup "$@"
need curl python3 sh redis-server
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/servers/workers.sh"
cd "$T"

PW=secret-pw-$RANDOM$RANDOM
. "$here/servers/redis.sh"
if ! redis_up REDIS_PASSWORD="$PW"; then
	not_ok "start redis-server with a password (tests/servers/redis.sh)"
	finish
fi
export GG_STORAGE=redis://:$PW@127.0.0.1:$REDIS_PORT
public=redis://127.0.0.1:$REDIS_PORT

mkdir client
(cd client && gg init . >/dev/null)
workers_hide "$T/client"
worker_start w || { not_ok "start the worker"; finish; }
wport=${WURL[w]#http://127.0.0.1:}
wport=${wport%/execute}
python3 "$here/servers/raw_http.py" "$wport" relay "$T/sent" >relay.port &
at_exit "kill $!"
for i in $(seq 1 50); do [ -s relay.port ] && break; sleep 0.1; done
relay=http://127.0.0.1:$(cat relay.port)/execute

cd client
t1=$(gg thunk -o o -- sh -c 'echo one > o')
t2=$(gg thunk -o o -- sh -c 'echo two > o')
gg force --no-progress -j 2 -e "http=$relay" "$t1#o" "$t2#o" >/dev/null 2>../force.err
check "a force through the relay succeeds" [ $? -eq 0 ]
out=$(gg force --no-progress --stdout "$t2#o" 2>&1)
check "with the right output (got '$out')" [ "$out" = two ]
cd "$T"
check "the worker ran both thunks" [ "$(worker_ran w)" -eq 2 ]
check "the relay saw the requests" grep -q 'POST /execute' sent
check "the requests name the storage without the password" grep -qF "\"storage\":\"$public\"" sent
check "the password is nowhere in what the client sent" sh -c "! grep -qF '$PW' sent"
check "nor in the client's or the worker's messages" sh -c "! grep -qF '$PW' force.err '${WLOG[w]}'"

req() { printf '{"v":1,"thunk":"%s","storage":"%s"}' "$t1" "$1"; }
code() { curl -s -o resp.json -w '%{http_code}' -m 30 --data-binary "$(req "$1")" "${WURL[w]}"; }
check "a request naming the storage with another password: 403" \
	[ "$(code "redis://:other-$PW@127.0.0.1:$REDIS_PORT")" = 403 ]
check "a request naming it with the worker's own password is still accepted (200)" \
	[ "$(code "$GG_STORAGE")" = 200 ]
check "the worker stops cleanly" worker_stop w
check "the worker's log has no sanitizer report" worker_log_clean w
finish
