#!/usr/bin/env bash
# Bearer tokens between `gg force -e http=...` and `gg worker --listen`
# (issue 12): a worker with tokens (two at once, from a file, and from
# GG_WORKER_TOKENS) answers 401 to no token and to a wrong one, /health
# aside; the right token (either) works, sent by the http engine from
# GG_WORKER_TOKEN or GG_WORKER_TOKEN_FILE; a wrong one fails the force with
# the cause. A worker refuses to start on a non-loopback
# address without tokens, from a token file others can read, with a short
# token, and has no command-line option for a token.
. "$(dirname "$0")/lib.sh"
setup "$@"
need curl sh
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/servers/workers.sh"
cd "$T"

old=old-token-0123456789abcdef
new=new-token-fedcba9876543210
printf '# rotation: the new token, and the old one until every client has moved\n%s\n\n%s\n' \
	"$new" "$old" >tokens
chmod 600 tokens
mkdir client bucket
(cd client && gg init . >/dev/null)
export GG_STORAGE=file://$T/bucket
worker_start w --token-file "$T/tokens" || { not_ok "start a worker with --token-file"; finish; }
base=${WURL[w]%/execute}
grep -q 'bearer tokens required' "${WLOG[w]}"
check "the worker says it requires bearer tokens" [ $? -eq 0 ]

code() { curl -s -o /dev/null -w '%{http_code}' -m 10 "$@"; }
check "GET /health needs no token" [ "$(code "$base/health")" = 200 ]
check "POST /execute without a token: 401" [ "$(code -d '{}' "${WURL[w]}")" = 401 ]
check "... with a wrong token: 401" \
	[ "$(code -H "Authorization: Bearer wrong-token-0123456789" -d '{}' "${WURL[w]}")" = 401 ]
check "... with a prefix of the right token: 401" \
	[ "$(code -H "Authorization: Bearer ${new%?}" -d '{}' "${WURL[w]}")" = 401 ]
check "... with the token but not as Bearer: 401" \
	[ "$(code -H "Authorization: Basic $new" -d '{}' "${WURL[w]}")" = 401 ]
check "GET /nothing without a token: 401 (nothing is told before authentication)" \
	[ "$(code "$base/nothing")" = 401 ]
check "... with the new token: through to the request parser (400)" \
	[ "$(code -H "Authorization: Bearer $new" -d '{}' "${WURL[w]}")" = 400 ]
check "... with the old token: 400 too (both accepted during a rotation)" \
	[ "$(code -H "Authorization: bearer $old" -d '{}' "${WURL[w]}")" = 400 ]
hdr=$(curl -s -D - -o /dev/null -m 10 -d '{}' "${WURL[w]}" | tr -d '\r')
check "a 401 says how to authenticate (WWW-Authenticate: Bearer)" has_text "$hdr" '^WWW-Authenticate: Bearer'

cd client
t1=$(gg thunk -o o -- sh -c 'echo one > o')
t2=$(gg thunk -o o -- sh -c 'echo two > o')
t3=$(gg thunk -o o -- sh -c 'echo three > o')
out=$(env -u GG_WORKER_TOKEN gg force --no-progress -e "http=${WURL[w]}" --stdout "$t1#o" 2>&1)
check "a force without a token fails ($(echo $out | head -c 200))" has_text "$out" 'HTTP 401'
check "... saying the worker needs a token" has_text "$out" 'needs \\"Authorization: Bearer TOKEN\\"'
out=$(GG_WORKER_TOKEN=wrong-token-0123456789 gg force --no-progress -e "http=${WURL[w]}" --stdout "$t1#o" 2>&1)
check "a force with a wrong token fails saying so" has_text "$out" 'token is not accepted'
check "... at once: a 401 is not retried ($(echo $out | head -c 300))" lacks_text "$out" 'trying again'
check "... and the message says so and where to look" has_text "$out" 'check GG_WORKER_TOKEN or GG_WORKER_TOKEN_FILE'
check "... after one attempt" has_text "$out" 'after 1 attempt:'
out=$(GG_WORKER_TOKEN=$old gg force --no-progress -e "http=${WURL[w]}" --stdout "$t1#o" 2>&1)
check "a force with the old token (GG_WORKER_TOKEN) works (got '$out')" [ "$out" = one ]
printf '%s\n' "$new" >"$T/client-token"
chmod 600 "$T/client-token"
out=$(GG_WORKER_TOKEN_FILE=$T/client-token gg force --no-progress -e "http=${WURL[w]}" --stdout "$t2#o" 2>&1)
check "a force with the new token (GG_WORKER_TOKEN_FILE) works (got '$out')" [ "$out" = two ]
chmod 644 "$T/client-token"
out=$(GG_WORKER_TOKEN_FILE=$T/client-token gg force --no-progress -e "http=${WURL[w]}" --stdout "$t2#o" 2>&1)
check "a client token file others can read is refused" has_text "$out" 'only its owner can read'
cd "$T"
check "the worker ran the two authenticated thunks" [ "$(worker_ran w)" -eq 2 ]
check "the worker stops cleanly" worker_stop w
check "the worker's log has no sanitizer report" worker_log_clean w
check "no token appears in the worker's log" sh -c "! grep -q -e '$old' -e '$new' '${WLOG[w]}'"

# Tokens from the environment.
GG_WORKER_TOKENS="$old,$new" worker_start e || { not_ok "start a worker with GG_WORKER_TOKENS"; finish; }
check "GG_WORKER_TOKENS: no token gets 401" [ "$(code -d '{}' "${WURL[e]}")" = 401 ]
cd client
out=$(GG_WORKER_TOKEN=$new gg force --no-progress -e "http=${WURL[e]}" --stdout "$t3#o" 2>&1)
check "GG_WORKER_TOKENS: the right token works (got '$out')" [ "$out" = three ]
cd "$T"
worker_stop e

# Refusals at start, with their cause.
out=$(timeout 10 gg worker --listen 0.0.0.0:0 --dir "$T/s1" 2>&1)
check "a non-loopback address without tokens: refused" [ $? -ne 0 ]
check "... saying why and what to do" has_text "$out" 'is not a loopback address.*--token-file FILE or GG_WORKER_TOKENS'
out=$(timeout 10 gg worker --listen '[::]:0' --dir "$T/s1" 2>&1)
check "[::] without tokens: refused" has_text "$out" 'is not a loopback address'
chmod 644 tokens
out=$(timeout 10 gg worker --listen 127.0.0.1:0 --dir "$T/s1" --token-file tokens 2>&1)
check "a token file others can read: refused" has_text "$out" 'token file tokens: must be a regular file that only its owner can read'
echo short >short
chmod 600 short
out=$(timeout 10 gg worker --listen 127.0.0.1:0 --dir "$T/s1" --token-file short 2>&1)
check "a short token: refused, naming the line" has_text "$out" 'token file short line 1: a token must be 16 to 256 characters'
out=$(timeout 10 gg worker --listen 127.0.0.1:0 --dir "$T/s1" --token "$new" 2>&1)
check "no --token option (a command line is readable by every local user)" has_text "$out" \
	'--token: tokens never go on the command line'
check "... and the token is not echoed" lacks_text "$out" "$new"
finish
