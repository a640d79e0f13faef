#!/usr/bin/env bash
# `gg push` / `gg remote-has` / `gg pull` against a real redis-server started
# on 127.0.0.1 (random port, a password) by tests/servers/start-redis.sh and
# stopped at exit. 1,000 small and 3 large (chunked) objects round-trip into
# a fresh store byte for byte; a wrong or missing password is a clear error;
# an object overwritten in Redis is rejected, removed and re-uploaded; a
# flushed database is refilled once. Then faults: a proxy that drops
# connections mid-reply (retried to success), and fake servers that send
# garbage, absurd lengths, truncated replies or nothing at all (a clear error
# in bounded time, never a crash or a hang).
. "$(dirname "$0")/lib.sh"
setup "$@"
need python3 cmp sha256sum
trap 'exit 130' INT TERM # so that the EXIT trap stops the server
here=$(cd "$(dirname "$0")" && pwd)
servers=$here/../servers
cd "$T"

# ---- the server ----
t0=$SECONDS
PW=pw-$RANDOM$RANDOM
. "$servers/redis.sh"
if ! redis_up REDIS_PASSWORD="$PW"; then
	not_ok "start redis-server (tests/servers/redis.sh)"
	finish
fi
echo "# redis-server up on port $REDIS_PORT in $((SECONDS - t0)) s"
export GG_STORAGE_BACKOFF_MS=20
URI=redis://:$PW@127.0.0.1:$REDIS_PORT
SHOWN=redis://127.0.0.1:$REDIS_PORT

rcmd() { # a raw command, through the password (RESP built by python: binary-safe)
	python3 - "$REDIS_PORT" "$PW" "$@" <<'PY'
import socket, sys
port, pw, args = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
def enc(a):
    a = [x if isinstance(x, bytes) else x.encode() for x in a]
    return b"*%d\r\n" % len(a) + b"".join(b"$%d\r\n%s\r\n" % (len(x), x) for x in a)
args = [open(a[1:], "rb").read() if a.startswith("@") else a for a in args]
s = socket.create_connection(("127.0.0.1", port))
s.sendall(enc(["AUTH", pw]) + enc(args))
data = b""
while data.count(b"\r\n") < 2:
    chunk = s.recv(65536)
    if not chunk: break
    data += chunk
print(data.split(b"\r\n", 1)[1].decode(errors="replace").strip())
PY
}

# ---- objects ----
mkdir -p a/small a/large
(cd a && gg init . >/dev/null)
for i in $(seq 1 1000); do echo "small object $i $RANDOM$RANDOM" >a/small/$i; done
head -c 20M /dev/urandom >a/large/r1
head -c 20M /dev/urandom >a/large/r2
head -c $((5 * 1048576 + 17)) /dev/urandom >a/large/r3 # not a whole number of chunks

t=$SECONDS
(cd a && gg push "$URI" small/* large/*) >push1.out 2>push1.err
rc=$?
check "push 1,003 objects (rc $rc, $((SECONDS - t)) s): $(tail -1 push1.err)" test $rc -eq 0
cut -d' ' -f1 push1.out >names
check "push printed 1,003 names" test "$(sort -u names | wc -l)" -eq 1003
check "the URI in messages has no password" lacks_text "$(cat push1.err)" "$PW"
check "no temp key is left" test "$(rcmd KEYS 'gg-tmp:*')" = "*0"
check "large objects have no expiry" test "$(rcmd TTL "$(sed -n 1001p names)")" = ":-1"

(cd a && gg remote-has "$URI" - <../names) >has1.out
rc=$?
check "remote-has: all 1,003 present (rc $rc)" test $rc -eq 0 -a "$(grep -c '^present ' has1.out)" -eq 1003
(cd a && gg push "$URI" - <../names) 2>push2.err >/dev/null
check "second push uploads nothing: $(tail -1 push2.err)" grep -q "pushed 0 of 1003" push2.err

same_objects() { # STORE_A STORE_B: the same object files, byte for byte
	(cd "$1/objects" && find . -type f | sort | xargs sha256sum) >"$T/sum.a"
	(cd "$2/objects" && find . -type f | sort | xargs sha256sum) >"$T/sum.b"
	cmp -s "$T/sum.a" "$T/sum.b" && store_objects_whole "$2"
}
fresh_store() { rm -rf "$1" && mkdir -p "$1" && (cd "$1" && gg init . >/dev/null); }

fresh_store b
t=$SECONDS
(cd b && gg pull "$URI" - <../names) 2>pull1.err
rc=$?
check "pull 1,003 objects into a fresh store (rc $rc, $((SECONDS - t)) s): $(tail -1 pull1.err)" test $rc -eq 0
check "pulled objects equal the originals byte for byte" same_objects a/.gg b/.gg

# ---- credentials ----
out=$(cd a && gg remote-has "redis://:wrong-pw-xyz@127.0.0.1:$REDIS_PORT" $(head -2 ../names) 2>&1)
rc=$?
echo "# wrong password: $out"
check "a wrong password fails as refused credentials (rc $rc = 3)" test $rc -eq 3
check "... saying so" has_text "$out" "WRONGPASS"
check "... naming the server" has_text "$out" "$SHOWN"
check "... never showing the password" lacks_text "$out" wrong-pw-xyz
out=$(cd a && gg remote-has "$SHOWN" $(head -1 ../names) 2>&1)
check "no password: a clear error: $out" has_text "$out" "NOAUTH"
check "GG_REDIS_PASSWORD works too" bash -c "cd a && GG_REDIS_PASSWORD='$PW' gg remote-has '$SHOWN' $(head -1 names) >/dev/null"

# ---- objects overwritten in Redis ----
victim=$(sed -n 7p push1.out | cut -d' ' -f1)
victim_file=$(sed -n 7p push1.out | cut -d' ' -f3)
big=$(sed -n 1002p names)
tr 'a-z' 'A-Z' <"a/$victim_file" >evil.small # same size, other bytes
head -c 20M /dev/urandom >evil.big
check "overwrite two objects in Redis" test "$(rcmd SET "$victim" @evil.small)$(rcmd SET "$big" @evil.big)" = "+OK+OK"
fresh_store c
out=$(cd c && gg pull "$URI" - <../names 2>&1)
rc=$?
echo "# corrupt: $(echo "$out" | head -3)"
check "pull of corrupted objects fails as damaged (rc $rc = 3)" test $rc -eq 3
check "... naming the object" has_text "$out" "$victim"
check "... saying it is corrupt" has_text "$out" "corrupt"
check "... and nothing unverified entered the store" bash -c "! test -e c/.gg/objects/${victim:1:2}/$victim && ! test -e c/.gg/objects/${big:1:2}/$big"
check "... while the other 1,001 objects arrived" test "$(find c/.gg/objects -type f | wc -l)" -eq 1001
(cd a && gg remote-has "$URI" "$victim" "$big") >has2.out
check "the bad copies were removed" test "$(grep -c '^absent' has2.out)" -eq 2
(cd a && gg push "$URI" - <../names) 2>push3.err >/dev/null
check "push re-uploads exactly those two: $(tail -1 push3.err)" grep -q "pushed 2 of 1003" push3.err
check "and now they pull fine" bash -c "cd c && gg pull '$URI' '$victim' '$big' 2>/dev/null"
check "... byte for byte" same_objects a/.gg c/.gg

# ---- a flushed database ----
check "FLUSHALL" test "$(rcmd FLUSHALL)" = "+OK"
(cd a && gg remote-has "$URI" - <../names) >has3.out
rc=$?
check "remote-has after FLUSHALL: all absent (rc $rc)" test $rc -eq 1 -a "$(grep -c '^absent ' has3.out)" -eq 1003
fresh_store nb
out=$(cd nb && gg pull "$URI" "$(head -1 ../names)" 2>&1)
check "pull of an object Redis lacks says so (GET's nil reply): $out" has_text "$out" "$(head -1 names): not in redis://127.0.0.1:"
(cd a && timeout 120 gg push "$URI" - <../names) 2>push4.err >/dev/null
check "push refills it once: $(tail -1 push4.err)" grep -q "pushed 1003 of 1003" push4.err
(cd a && gg push "$URI" - <../names) 2>push5.err >/dev/null
check "and then has nothing left to do" grep -q "pushed 0 of 1003" push5.err
check "database 3 is another namespace" bash -c "cd a && gg remote-has '$URI/3' $(head -1 names) | grep -q '^absent'"

# ---- faults ----
cat >fake.py <<'PY'
# A TCP proxy in front of redis that drops its first connections part-way
# through a reply ("drop"), or a fake Redis that misbehaves: "garbage",
# "hugebulk", "negbulk", "truncate", "hang", "close", "longline".
# It listens on a port of its own (port 0), then writes it to PORT_FILE.
import os, socket, sys, threading, time
log_lock, count_lock = threading.Lock(), threading.Lock()
def log(*a):  # one whole line: print() from two threads interleaves
    with log_lock:
        sys.stderr.write(" ".join(map(str, a)) + "\n"); sys.stderr.flush()
port_file, mode, upstream = sys.argv[1], sys.argv[2], int(sys.argv[3])
conns = [0]
def pipe(a, b, limit):
    sent = 0
    try:
        while True:
            d = a.recv(65536)
            if not d: break
            if limit and sent + len(d) > limit:
                b.sendall(d[: limit - sent]); break
            b.sendall(d); sent += len(d)
    except OSError: pass
    for s in (a, b):
        try: s.shutdown(socket.SHUT_RDWR)
        except OSError: pass
def serve(c):
    with count_lock:  # connections are served on threads of their own
        conns[0] += 1
        k = conns[0]
    if mode == "drop":
        u = socket.create_connection(("127.0.0.1", upstream))
        limit = 300000 * k if k <= 3 else 0      # the first three die mid-reply
        if k <= 3: log("drop after", limit)
        threading.Thread(target=pipe, args=(c, u, 0), daemon=True).start()
        pipe(u, c, limit); return
    if mode == "close": c.close(); return
    c.recv(65536)                                # the first command(s)
    if mode == "hang": time.sleep(3600)
    if mode == "trickle":                        # a byte every 0.3 s, for hours
        try:
            c.sendall(b"$100000\r\n")
            for _ in range(100000): c.sendall(b"x"); time.sleep(0.3)
        except OSError: pass
        return
    reply = {"garbage": b"hello world\r\n", "hugebulk": b"$99999999999999\r\n",
             "negbulk": b"$-7\r\n", "truncate": b"$1000\r\nonly a little",
             "longline": b"+" + b"x" * 200000}[mode]
    try: c.sendall(reply)
    except OSError: pass
    time.sleep(0.5); c.close()
s = socket.socket()
s.bind(("127.0.0.1", 0)); s.listen(64)
with open(port_file + ".tmp", "w") as f: f.write("%d\n" % s.getsockname()[1])
os.rename(port_file + ".tmp", port_file)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
start_fake() { # MODE: sets FAKE_PORT, FAKE_PID once it listens
	rm -f fake.port
	python3 fake.py fake.port "$1" "$REDIS_PORT" 2>>fake.log &
	FAKE_PID=$!
	at_exit "kill $FAKE_PID"
	FAKE_PORT=$(wait_port_file fake.port "$FAKE_PID") || { tail -5 fake.log; return 1; }
}
stop_fake() { kill "$FAKE_PID" 2>/dev/null; wait "$FAKE_PID" 2>/dev/null; }

head -200 names >fnames
sed -n 1001p names >>fnames # a 20 MiB one too
check "start a proxy that drops connections" start_fake drop
fresh_store e
t=$SECONDS
out=$(cd e && gg pull "redis://:$PW@127.0.0.1:$FAKE_PORT" - <../fnames 2>&1)
rc=$?
check "pull through dropped connections (rc $rc, $((SECONDS - t)) s): $out" test $rc -eq 0
check "... which did happen ($(grep -c '^drop' fake.log))" test "$(grep -c '^drop' fake.log)" -ge 3
check "... byte for byte" bash -c "for n in \$(cat fnames); do cmp -s a/.gg/objects/\${n:1:2}/\$n e/.gg/objects/\${n:1:2}/\$n || exit 1; done"
check "FLUSHALL" test "$(rcmd FLUSHALL)" = "+OK"
stop_fake
start_fake drop
out=$(cd a && gg push "redis://:$PW@127.0.0.1:$FAKE_PORT" - <../fnames 2>&1 >/dev/null)
rc=$?
check "push through dropped connections (rc $rc): $(echo "$out" | tail -1)" test $rc -eq 0
check "... and Redis has them all" bash -c "cd a && gg remote-has '$URI' - <../fnames >/dev/null"
stop_fake

fresh_store f
for mode in garbage hugebulk negbulk truncate longline close hang; do
	start_fake $mode
	t=$SECONDS
	out=$(cd f && GG_STORAGE_TIMEOUT=2 GG_STORAGE_RETRIES=1 timeout 60 gg pull "redis://127.0.0.1:$FAKE_PORT" $(head -1 ../names) 2>&1)
	rc=$?
	echo "# $mode: $out"
	check "a server sending '$mode': a clear error in bounded time (rc $rc = 3, $((SECONDS - t)) s)" \
		test $rc -eq 3 -a $((SECONDS - t)) -lt 20
	check "... naming the server" has_text "$out" "redis://127.0.0.1:$FAKE_PORT"
	check "... and nothing entered the store" test ! -e "f/.gg/objects/$(head -1 names | cut -c2-3)/$(head -1 names)"
	stop_fake
done

# A reply that keeps trickling never stalls long enough for GG_STORAGE_TIMEOUT:
# the per-request deadline ends it.
start_fake trickle
t=$SECONDS
out=$(cd f && GG_STORAGE_TIMEOUT=2 GG_STORAGE_DEADLINE=3 GG_STORAGE_RETRIES=1 timeout 60 gg pull "redis://127.0.0.1:$FAKE_PORT" $(head -1 ../names) 2>&1)
rc=$?
echo "# trickle: $out"
check "a reply trickling a byte every 0.3 s is stopped at the deadline (rc $rc, $((SECONDS - t)) s; not the test's timeout)" \
	test $rc -ne 0 -a $rc -ne 124
check "... saying so" has_text "$out" "still not done at the deadline, GG_STORAGE_DEADLINE"
stop_fake

# Wrong credentials are permanent for a force too: named, not retried.
echo "an input" >f/input.txt
(cd f && t=$(gg thunk -i input.txt -o o -- sh -c 'cat input.txt > o') &&
	gg force --no-progress -e http=http://127.0.0.1:9/execute --storage "redis://:wrong-pw-xyz@127.0.0.1:$REDIS_PORT" "$t#o") >force.out 2>force.err
rc=$?
echo "# force with a wrong Redis password: $(tail -1 force.err)"
check "a force with a wrong Redis password fails as denied (rc $rc = 3)" test $rc -eq 3
check "... naming the refusal" grep -q "WRONGPASS" force.err
check "... without trying again" bash -c "! grep -q 'trying again' force.err"
check "... never showing the password" bash -c "! grep -q wrong-pw-xyz force.err"

echo "# total $((SECONDS - t0)) s"
finish
