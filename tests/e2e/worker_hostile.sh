#!/usr/bin/env bash
# `gg worker --listen` on 127.0.0.1 against hostile and careless clients
# (issue 12), while another client's real `gg force -e http=...` keeps
# succeeding: malformed, non-HTTP, oversized (head and body), slow (one byte
# a second), truncated and pipelined requests, GET /health twice on one
# connection, GET /, chunked and other framings, requests naming storage
# the worker does not allow (a canary directory stays byte for byte the
# same, an address of the client's choosing is never connected to); then,
# in phases of their own
# (they refuse everyone), a full worker (admitted requests, body memory,
# connections) answering 503 with Retry-After. Each answer's status is
# asserted; the worker never dies (the same pid at the end), its RSS stays
# below RSS_MAX_KB, and it stops cleanly. Raw sockets: tests/servers/raw_http.py.
. "$(dirname "$0")/lib.sh"
setup "$@"
need curl python3 sh
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/servers/workers.sh"
raw() { python3 "$here/servers/raw_http.py" "$port" "$@" | tr '\n' ' ' | sed 's/ $//'; }
shopt -s lastpipe # `printf ... | expect ...` counts its checks in this shell
cd "$T"

# The worker's VmRSS bound: 32 MiB. What clients can make it hold is 16
# connections x (a 16 KiB head + a 64 KiB read) plus --max-memory 2M of bodies.
# Under AddressSanitizer freed memory sits in its quarantine and shadow memory
# counts too: 128 MiB there.
RSS_MAX_KB=32768
if ldd "$BUILD/bin/gg" 2>/dev/null | grep -q libasan; then RSS_MAX_KB=131072; fi
rss_max=0
rss_sample() {
	local kb
	kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null) || return 0
	[ -n "$kb" ] && [ "$kb" -gt "$rss_max" ] && rss_max=$kb
	return 0
}

mkdir client bucket canary
(cd client && gg init . >/dev/null)
export GG_STORAGE=file://$T/bucket
# A directory outside the worker's storage that requests will name: it must not change.
mkdir -p canary/sub
printf 'precious\n' >canary/a
head -c 4096 /dev/urandom >canary/sub/b
tree_sum() { (cd "$1" && find . -printf '%p %y %m %s\n' | sort && find . -type f -exec sha256sum {} + | sort); }
canary_before=$(tree_sum canary)
workers_hide "$T/client"
worker_start w -j 2 --max-connections 16 --max-inflight 5 --max-body 1M --max-memory 2M \
	--read-timeout 5 --idle-timeout 10 || { not_ok "start the worker"; finish; }
pid=${WPID[w]}
base=${WURL[w]%/execute}
port=${base##*:}
rss_sample
echo "# worker pid $pid on port $port, VmRSS at start ${rss_max} kB"

# The crash of issue 12: after a request the buffer was moved without its
# terminator; the next search found the stale header end and a length wrapped.
out=$(curl -s -m 10 "$base/health")
check "GET /health answers ok (got '$out')" [ "$out" = ok ]
out=$(curl -s -m 10 "$base/health" "$base/health" | tr '\n' ' ')
check "GET /health twice on one connection answers twice (got '$out')" [ "$out" = "ok ok " ]
check "the worker is alive after GET /health (pid $pid)" kill -0 "$pid"

# ---- the other client: rounds of three small thunks through the worker ----
legit_round() { # N: forces three new thunks on the worker; 0 if their outputs are right
	local n=$1 ts=() k t
	for k in 1 2 3; do
		t=$(gg thunk -o o -- sh -c "echo round $n thunk $k > o") || return 1
		ts+=("$t#o")
	done
	gg force --no-progress -j 3 -e "http=${WURL[w]}" "${ts[@]}" 2>>"$T/legit.err" || return 1
	[ "$(gg force --no-progress --stdout "${ts[2]}" 2>>"$T/legit.err")" = "round $n thunk 3" ]
}
legit_loop() { # rounds until $T/legit.stop exists (at most 300); a line per round
	local n=0
	while [ ! -e "$T/legit.stop" ] && [ $n -lt 300 ]; do
		n=$((n + 1))
		if legit_round "$n"; then echo "ok $n"; else echo "failed $n"; fi
	done >"$T/legit.log"
}
cd client
legit_loop &
legit_pid=$!
cd "$T"
for i in $(seq 1 100); do [ -s legit.log ] && break; sleep 0.1; done

# ---- hostile requests, each answered with its status (or closed without one) ----
expect() { # DESCRIPTION EXPECTED MODE...; the payload on stdin
	local d=$1 want=$2 got t0=$SECONDS
	shift 2
	got=$(raw "$@")
	rss_sample
	check "$d: '$want' (got '$got', $((SECONDS - t0)) s)" [ "$got" = "$want" ]
}
printf 'HELLO\r\n\r\n' | expect "a malformed request line" "status 400 closed" send
printf '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03' | expect "a TLS ClientHello (not HTTP)" "status 400 closed" send --keep
printf 'SSH-2.0-OpenSSH_9.6\r\n' | expect "an SSH banner (not HTTP)" "status 400 closed" send --keep
head -c 64 /dev/zero | expect "NUL bytes (not HTTP)" "status 400 closed" send --keep
printf 'GET /health HTTP/1.1\nHost: x\n\n' | expect "bare LF line ends" "status 400 closed" send
printf 'GET /health HTTP/2.0\r\n\r\n' | expect "HTTP/2.0 in a request line" "status 505 closed" send
printf 'GET /health HTTP/1.1\r\nX: a\r\n b\r\n\r\n' | expect "a folded header" "status 400 closed" send
{ printf 'GET /health HTTP/1.1\r\nX-Big: '; head -c 20000 /dev/zero | tr '\0' a; printf '\r\n\r\n'; } |
	expect "a 20 kB header" "status 431 closed" send
{ printf 'GET /'; head -c 10000 /dev/zero | tr '\0' a; printf ' HTTP/1.1\r\n\r\n'; } |
	expect "a 10 kB request line" "status 414 closed" send
{ printf 'GET /health HTTP/1.1\r\n'; for i in $(seq 1 100); do printf 'X-%d: y\r\n' "$i"; done; printf '\r\n'; } |
	expect "100 header fields" "status 431 closed" send
printf 'POST /execute HTTP/1.1\r\nContent-Length: 2097152\r\n\r\n' |
	expect "a 2 MiB Content-Length (--max-body 1M), body not sent" "status 413 closed" send --keep
{ printf 'POST /execute HTTP/1.1\r\nContent-Length: 4194304\r\n\r\n'; head -c 4194304 /dev/zero; } |
	expect "a 4 MiB body sent along (--max-body 1M)" "status 413 closed" send
printf 'POST /execute HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n{}GET /health HTTP/1.1\r\n\r\n' |
	expect "two Content-Lengths (then a request that must not be read)" "status 400 closed" send
printf 'POST /execute HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n' |
	expect "a chunked body" "status 411 closed" send
printf 'POST /execute HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n' |
	expect "another Transfer-Encoding" "status 501 closed" send
printf 'POST /execute HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n{}' |
	expect "Transfer-Encoding and Content-Length (smuggling)" "status 400 closed" send
printf 'POST /execute HTTP/1.1\r\n\r\n' | expect "POST without a Content-Length" "status 411 closed" send
printf 'POST /execute HTTP/1.1\r\nExpect: tea\r\nContent-Length: 2\r\n\r\n{}' |
	expect "an unknown Expect" "status 417 closed" send
printf 'POST /execute HTTP/1.1\r\nContent-Length: 100\r\n\r\n{"v":1,' |
	expect "a truncated body, then EOF: closed without an answer" "closed" send
printf 'GET /hea' | expect "a truncated head, then EOF: closed without an answer" "closed" send
printf 'GET /nothing HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n' |
	expect "a final answer to Expect: 100-continue closes (the body may never come)" "status 404 closed" send --keep
printf 'GET /health HTTP/1.0\r\n\r\n' | expect "HTTP/1.0 without keep-alive" "status 200 closed" send --keep
printf 'GET /health HTTP/1.1\r\n\r\nGET /health HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\nGET /nothing HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcPOST /execute HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}GET /health HTTP/1.1\r\n\r\n' |
	expect "six pipelined requests: health, health, GET /, 404 with a body, bad JSON, health" \
		"status 200 status 200 status 405 status 404 status 400 status 200 closed" send
printf 'GET /health HTTP/1.1\r\n\r\nGET /health HTTP/1.1\r\n\r\nHELLO\r\n\r\nGET /health HTTP/1.1\r\n\r\n' |
	expect "pipelined, then garbage: answers up to it, then 400 and close" \
		"status 200 status 200 status 400 closed" send
# The worker chooses its storage: a request naming another one is refused (403)
# before any storage is opened, the same request naming the worker's runs.
t=$(cd client && gg thunk -o o -- sh -c 'echo pwned > o')
enc=$(base64 -w0 "$(find client/.gg/objects -name "$t")")
wire() { printf '{"v":1,"thunk":"%s","storage":"%s","encoding":"%s"}' "$t" "$1" "$enc"; }
post() { # STORAGE-URI: the HTTP status of that request
	wire "$1" >req.json
	curl -s -o resp.json -w '%{http_code}' -m 30 -H 'Content-Type: application/json' \
		--data-binary @req.json "${WURL[w]}"
}
check "a request naming file://\$T/canary (outside the allow-list): 403" [ "$(post "file://$T/canary")" = 403 ]
check "... saying why, without echoing the URI" \
	sh -c "grep -q 'names a storage this worker does not allow' resp.json && ! grep -q canary resp.json"
check "a request naming file:///: 403" [ "$(post "file:///")" = 403 ]
check "a request naming \$GG_STORAGE with a trailing slash (not the same URI): 403" \
	[ "$(post "$GG_STORAGE/")" = 403 ]
python3 -c 'import socket,sys
s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(1); print(s.getsockname()[1], flush=True)
s.settimeout(3)
try: s.accept(); print("connected", flush=True)
except socket.timeout: print("none", flush=True)' >listener.out &
lpid=$!
for i in $(seq 1 50); do [ -s listener.out ] && break; sleep 0.1; done
lport=$(head -n1 listener.out)
check "a request naming redis://127.0.0.1:$lport (any address of the client's choosing): 403" \
	[ "$(post "redis://127.0.0.1:$lport")" = 403 ]
wait "$lpid"
check "... and the worker made no connection there ($(tail -n1 listener.out))" [ "$(tail -n1 listener.out)" = none ]
check "the same request naming the worker's GG_STORAGE runs (200)" [ "$(post "$GG_STORAGE")" = 200 ]
check "... and succeeds" grep -q '"ok":true' resp.json

out=$(curl -s -o /dev/null -w '%{http_code}' -m 10 "$base/")
check "GET / answers 405 (got $out)" [ "$out" = 405 ]
out=$(curl -s -o /dev/null -w '%{http_code}' -m 10 "$base/nothing")
check "GET /nothing answers 404 (got $out)" [ "$out" = 404 ]
printf 'GET /health HTTP/1.1\r\n\r\n' |
	expect "a client sending one byte a second is dropped at --read-timeout 5" "status 408 closed" slow 2>slow.err
sent=$(sed -n 's/^sent \([0-9]*\) of.*/\1/p' slow.err)
check "... before it sent its whole request ($(cat slow.err))" [ "${sent:-24}" -lt 24 ]
rss_sample

touch legit.stop
wait "$legit_pid"
oks=$(grep -c '^ok' legit.log)
fails=$(grep -c '^failed' legit.log)
check "the other client's forces all succeeded meanwhile ($oks rounds of 3 thunks, $fails failed)" \
	test "$oks" -ge 1 -a "$fails" -eq 0
[ "$fails" -eq 0 ] || tail -n 20 legit.err
check "the worker ran the other client's thunks ($(worker_ran w) runs)" [ "$(worker_ran w)" -ge $((3 * oks)) ]

# ---- a full worker: 503 with Retry-After, in phases of their own ----
printf 'POST /execute HTTP/1.1\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}' |
	expect "5 requests admitted (--max-inflight 5), a 6th" "status 503 retry-after 1 closed" hold 5 1000
printf 'POST /execute HTTP/1.1\r\nConnection: close\r\nContent-Length: 1000\r\n\r\n' |
	expect "2 MiB of bodies admitted (--max-memory 2M), one more" "status 503 retry-after 1 closed" hold 2 1048576
for i in $(seq 1 50); do
	[ "$(curl -s -m 5 "$base/health")" = ok ] && break
	sleep 0.1
done
out=$(raw conns 24)
rss_sample
check "24 connections at once (--max-connections 16): the extra ones get 503 ($out)" \
	test "${out#refused }" -ge 1 -a "${out#refused }" -le 8
for i in $(seq 1 50); do
	[ "$(curl -s -m 5 "$base/health")" = ok ] && break
	sleep 0.1
done
cd client
legit_round 1000 >/dev/null
check "once the full phases end, the other client's thunks run again" [ $? -eq 0 ]
cd "$T"

# The options of `gg worker --help` are the ones its manual describes.
missing=
for o in $(gg worker --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
	sed 's/\\-/-/g' "$here/../man/gg-worker.1" | grep -q -- "$o" || missing="$missing $o"
done
check "every option of gg worker --help is in gg-worker(1) (missing:${missing:- none})" [ -z "$missing" ]

check "the canary directory is byte for byte as before" [ "$(tree_sum canary)" = "$canary_before" ]
out=$(env -u GG_STORAGE timeout 10 gg worker --listen 127.0.0.1:0 --dir "$T/s2" 2>&1)
check "a worker with no storage to allow refuses to start, saying what to set" \
	has_text "$out" 'no storage to allow requests: set GG_STORAGE=URI'

rss_sample
check "the worker never died (pid $pid alive)" kill -0 "$pid"
echo "# worker VmRSS at most ${rss_max} kB"
check "its RSS stayed below $RSS_MAX_KB kB (at most ${rss_max} kB)" [ "$rss_max" -lt "$RSS_MAX_KB" ]
check "the worker stops cleanly on SIGTERM" worker_stop w
check "the worker's log has no sanitizer report" worker_log_clean w
finish
