#!/usr/bin/env bash
# The per-request deadline on S3 calls (GG_STORAGE_DEADLINE): an endpoint
# that keeps trickling an answer (a byte every 0.3 s) never trips the stall
# limit (GG_STORAGE_TIMEOUT), so only the deadline ends the request; the
# batch then stops saying why. (Redis's is in storage_redis.sh; a stopped
# radosgw in engine_http_s3.sh.)
. "$(dirname "$0")/lib.sh"
setup "$@"
need python3
cd "$T"

cat >trickle.py <<'PY'
# Answers every HTTP request with 200 and a 100000-byte body, a byte every 0.3 s.
import os, socket, sys, threading, time
def serve(c):
    try:
        c.recv(65536)
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        for _ in range(100000): c.sendall(b"x"); time.sleep(0.3)
    except OSError: pass
s = socket.socket()
s.bind(("127.0.0.1", 0)); s.listen(64)
with open(sys.argv[1] + ".tmp", "w") as f: f.write("%d\n" % s.getsockname()[1])
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
python3 trickle.py port 2>trickle.log &
pid=$!
at_exit "kill $pid"
port=$(wait_port_file port "$pid") || { not_ok "start the trickling server"; finish; }

mkdir c
cd c
gg init . >/dev/null
head -c 100000 /dev/urandom >obj
name=$(gg hash obj | awk '{print $1}')
s=$SECONDS
out=$(GG_S3_ENDPOINT=http://127.0.0.1:$port AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
	GG_STORAGE_TIMEOUT=2 GG_STORAGE_DEADLINE=3 GG_STORAGE_RETRIES=1 timeout 60 \
	gg pull s3://bucket "$name" 2>&1)
rc=$?
echo "# $out"
check "a download trickling a byte every 0.3 s is stopped at the deadline (rc $rc, $((SECONDS - s)) s; not the test's timeout)" \
	[ $rc -ne 0 -a $rc -ne 124 ]
check "... saying so" has_text "$out" "not done within 3 s (GG_STORAGE_DEADLINE): the store is not answering"
check "... and nothing entered the store" [ -z "$(find .gg/objects -name "$name")" ]
finish
