#!/usr/bin/env bash
# `gg push` / `gg remote-has` / `gg pull` against a real S3 server: Ceph
# radosgw started on 127.0.0.1 by tests/servers/start-ceph-rgw.sh (~15 s) and
# stopped at exit. 1,000 small and 3 large objects round-trip into a fresh
# store byte for byte; a wrong secret, an unknown key, a missing bucket are clear
# errors naming the URI and the cause, not retried; an
# object overwritten on the server is rejected, removed and re-uploaded; an
# emptied bucket is refilled once (no loop). Then faults from a proxy in
# front of radosgw: 500/503 replies, dropped connections and truncated bodies
# are retried to success; a server that always fails or hangs gives a clear
# error after bounded retries and time. The object format: a plain GET (curl)
# of any stored object gives bytes whose SHA-256 and size are its name's, and
# a listing shows true sizes; an object another client put under the right
# key is used, not deleted; one a gg before this one stored gzip-encoded is
# read and rewritten plain by gg remote-migrate. Multipart uploads
# (GG_S3_PART_SIZE=5M): 12 MiB objects go up in 3 parts (ETag "...-3"), as
# they are, and pull back byte for byte; a part failing once is retried;
# a part that always fails, a truncated CreateMultipartUpload answer and a
# 200 <Error> from CompleteMultipartUpload fail clearly, and
# ListMultipartUploads then shows no upload left; a part size under 5 MiB is
# refused.
. "$(dirname "$0")/lib.sh"
setup "$@"
need curl python3 cmp sha256sum
trap 'exit 130' INT TERM # so that the EXIT trap stops the servers
here=$(cd "$(dirname "$0")" && pwd)
servers=$here/../servers
cd "$T"

# ---- the server ----
t0=$SECONDS
. "$servers/rgw.sh"
if ! rgw_up; then
	not_ok "start radosgw (tests/servers/rgw.sh)"
	finish
fi

export GG_S3_ENDPOINT=$S3_ENDPOINT AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY
unset AWS_SESSION_TOKEN AWS_PROFILE GG_S3_REGION AWS_REGION GG_S3_PATH_STYLE
export GG_STORAGE_BACKOFF_MS=20
BUCKET=gg-e2e
URI=s3://$BUCKET/objs

s3curl() { # METHOD PATH [FILE]: a signed request with the curl CLI; prints the status
	local -a body=()
	[ $# -gt 2 ] && body=(--data-binary "@$3")
	curl -s -o "$T/curl.out" -w '%{http_code}' --aws-sigv4 "aws:amz:us-east-1:s3" \
		--user "$S3_ACCESS_KEY:$S3_SECRET_KEY" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
		-X "$1" "${body[@]}" "$S3_ENDPOINT$2"
}
check "create bucket $BUCKET" test "$(s3curl PUT "/$BUCKET")" = 200

# ---- objects: 1,000 small, 3 large (two random, one text that compresses) ----
mkdir -p a/small a/large
(cd a && gg init . >/dev/null)
for i in $(seq 1 1000); do echo "small object $i $RANDOM$RANDOM" >a/small/$i; done
head -c 20M /dev/urandom >a/large/r1
head -c 20M /dev/urandom >a/large/r2
seq 1 2900000 | head -c 20M >a/large/text

t=$SECONDS
(cd a && gg push "$URI" small/* large/*) >push1.out 2>push1.err
rc=$?
check "push 1,003 objects (rc $rc, $((SECONDS - t)) s): $(tail -1 push1.err)" test $rc -eq 0
cut -d' ' -f1 push1.out >names
check "push printed 1,003 names" test "$(sort -u names | wc -l)" -eq 1003
grep -q "pushed 1003 of 1003" push1.err || not_ok "push summary: $(cat push1.err)"

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
fresh_store() { # DIR
	rm -rf "$1" && mkdir -p "$1" && (cd "$1" && gg init . >/dev/null)
}

fresh_store b
t=$SECONDS
(cd b && gg pull "$URI" - <../names) 2>pull1.err
rc=$?
check "pull 1,003 objects into a fresh store (rc $rc, $((SECONDS - t)) s): $(tail -1 pull1.err)" test $rc -eq 0
check "pulled objects equal the originals byte for byte" same_objects a/.gg b/.gg
check "pulling again downloads nothing" bash -c "cd b && gg pull '$URI' - <../names 2>&1 | grep -q 'pulled 0 of 1003'"

# ---- the object format: what any S3 client reads ----
text=$(sed -n 1003p names)
plain_get() { # NAME: a plain signed GET, as any S3 client does it, into got.NAME
	curl -s -o "$T/got.$1" -D "$T/hdr.$1" --aws-sigv4 aws:amz:us-east-1:s3 \
		--user "$S3_ACCESS_KEY:$S3_SECRET_KEY" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
		"$S3_ENDPOINT/$BUCKET/objs/$1"
}
name_of_bytes() { # FILE: the value name of its bytes, from sha256sum and the size
	printf 'V%s%012x' "$(sha256sum <"$1" | cut -c1-64)" "$(stat -c %s "$1")"
}
bad_get=
for n in $(sed -n '1p;500p;1000p;1001p;1002p;1003p' names); do
	plain_get "$n"
	[ "$(name_of_bytes "got.$n")" = "$n" ] || bad_get="$bad_get $n"
	grep -qi '^content-encoding' "hdr.$n" && bad_get="$bad_get $n(encoded)"
done
check "a plain GET of stored objects (small, random, text) gives bytes that hash to their names:${bad_get:- all do}" test -z "$bad_get"
s3curl GET "/$BUCKET?list-type=2&prefix=objs%2F$text" >/dev/null
check "a listing shows the text object's true size ($(stat -c %s a/large/text))" \
	grep -q "<Size>$(stat -c %s a/large/text)</Size>" curl.out

# an object another client put under the right key is used, and kept
seq 1 300000 >other.txt
other=$(name_of_bytes other.txt)
check "another client uploads $other with curl" test "$(s3curl PUT "/$BUCKET/objs/$other" other.txt)" = 200
fresh_store o
out=$(cd o && gg pull "$URI" "$other" 2>&1)
check "gg pulls it, verified: $out" has_text "$out" "pulled 1 of 1"
check "... byte for byte" cmp other.txt "o/.gg/objects/${other:1:2}/$other"
check "... and it is still in the bucket" bash -c "cd a && gg remote-has '$URI' $other >/dev/null"

# an object an older gg stored gzip-encoded: read, then migrated
seq 5 200000 >legacy.txt
legacy=$(name_of_bytes legacy.txt)
gzip -c legacy.txt >legacy.gz
code=$(curl -s -o /dev/null -w '%{http_code}' --aws-sigv4 aws:amz:us-east-1:s3 \
	--user "$S3_ACCESS_KEY:$S3_SECRET_KEY" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
	-H "Content-Encoding: gzip" -X PUT --data-binary @legacy.gz "$S3_ENDPOINT/$BUCKET/objs/$legacy")
check "put a gzip-encoded object as gg used to ($(stat -c %s legacy.gz) of $(stat -c %s legacy.txt) bytes)" test "$code" = 200
fresh_store g
out=$(cd g && gg remote-has "$URI" "$legacy" && gg pull "$URI" "$legacy" 2>&1)
check "gg still reads it: $out" has_text "$out" "pulled 1 of 1"
check "... decoded, byte for byte" cmp legacy.txt "g/.gg/objects/${legacy:1:2}/$legacy"
fresh_store g
out=$(cd g && gg remote-migrate "$URI" "$legacy" "$other" 2>&1)
check "gg remote-migrate rewrites exactly that one: $out" has_text "$out" "rewrote 1 of 2 objects"
plain_get "$legacy"
check "... now a plain GET gives the value itself" test "$(name_of_bytes "got.$legacy")" = "$legacy"
check "... with no Content-Encoding" bash -c "! grep -qi '^content-encoding' 'hdr.$legacy'"
out=$(cd g && gg remote-migrate "$URI" "$legacy" 2>&1)
check "migrating again rewrites nothing: $out" has_text "$out" "rewrote 0 of 1 objects"

check "virtual-host style (BUCKET.localhost)" bash -c "cd b && rm -rf .gg && gg init . >/dev/null &&
	GG_S3_ENDPOINT=http://localhost:$RGW_PORT GG_S3_PATH_STYLE=0 gg pull '$URI' $(sed -n '1p;1001p' names | tr '\n' ' ') 2>/dev/null &&
	test \$(find .gg/objects -type f | wc -l) -eq 2"

# files are released as jobs finish, so a batch larger than the file
# descriptor limit goes through
fresh_store ta
awk 'BEGIN { for (i = 1; i <= 400; i++) { f = "ta/" i; for (j = i; j <= i + 1500; j++) print j >f; close(f) } }'
out=$(cd ta && ulimit -n 200 && gg push "$URI" $(seq 1 400) 2>&1 >../tnames)
check "push 400 objects with 'ulimit -n 200': $out" has_text "$out" "pushed 400 of 400"
fresh_store t
out=$(cd t && ulimit -n 200 && cut -d' ' -f1 ../tnames | gg pull "$URI" - 2>&1)
check "... and pull them back: $out" has_text "$out" "pulled 400 of 400"
check "... byte for byte" same_objects ta/.gg t/.gg

# ---- credentials ----
out=$(cd a && AWS_SECRET_ACCESS_KEY=wrong-secret-xyz gg remote-has "$URI" $(head -3 ../names) 2>&1)
rc=$?
echo "# wrong secret: $out"
check "a wrong secret fails as refused credentials (rc $rc = 3)" test $rc -eq 3
check "... with a clear 403" has_text "$out" "HTTP 403"
check "... naming the URI" has_text "$out" "$URI"
check "... and never shows the secret" lacks_text "$out" wrong-secret-xyz
out=$(cd a && AWS_SECRET_ACCESS_KEY=wrong gg push --force "$URI" - <../names 2>&1)
check "push with a wrong secret stops at the first 403" has_text "$out" "HTTP 403"
check "... naming the cause (SignatureDoesNotMatch): $out" has_text "$out" "SignatureDoesNotMatch.*the secret key is wrong (not retried)"
out=$(cd a && AWS_ACCESS_KEY_ID=AKIDNOBODY gg push --force "$URI" - <../names 2>&1)
check "push with an unknown access key names the cause: $out" has_text "$out" "InvalidAccessKeyId.*the server does not know the access key (not retried)"
out=$(cd a && gg push --force s3://gg-no-such-bucket/x - <../names 2>&1)
check "push to a bucket that does not exist says so: $out" has_text "$out" "NoSuchBucket.*the bucket does not exist (not retried)"
out=$(cd a && env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY HOME="$T/nohome" gg remote-has "$URI" $(head -1 ../names) 2>&1)
check "no credentials at all is a clear error: $out" has_text "$out" "no AWS credentials"
mkdir -p awsdir && printf '[other]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
	"$S3_ACCESS_KEY" "$S3_SECRET_KEY" >awsdir/credentials
check "credentials from a shared credentials file and AWS_PROFILE" bash -c "cd a && env -u AWS_ACCESS_KEY_ID \
	-u AWS_SECRET_ACCESS_KEY AWS_SHARED_CREDENTIALS_FILE='$T/awsdir/credentials' AWS_PROFILE=other \
	gg remote-has '$URI' $(head -1 names) >/dev/null"
out=$(cd a && gg push s3://no-such-bucket-gg "$(head -1 ../names)" 2>&1)
check "push to a missing bucket is a clear error: $out" has_text "$out" NoSuchBucket

# ---- an object overwritten on the server ----
victim=$(sed -n 7p push1.out | cut -d' ' -f1)
victim_file=$(sed -n 7p push1.out | cut -d' ' -f3)
big=$text
tr 'a-z' 'A-Z' <"a/$victim_file" >evil.small # same size, other bytes
head -c 1000 /dev/urandom >evil.big
check "overwrite two objects on the server" test "$(s3curl PUT "/$BUCKET/objs/$victim" evil.small)$(s3curl PUT "/$BUCKET/objs/$big" evil.big)" = 200200
fresh_store c
out=$(cd c && gg pull "$URI" - <../names 2>&1)
rc=$?
echo "# corrupt: $(echo "$out" | head -3)"
check "pull of corrupted objects fails as damaged (rc $rc = 3)" test $rc -eq 3
check "... naming the object" has_text "$out" "$victim"
check "... and saying it is corrupt" has_text "$out" "corrupt"
check "... and nothing unverified entered the store" bash -c "! test -e c/.gg/objects/${victim:1:2}/$victim && ! test -e c/.gg/objects/${big:1:2}/$big"
check "... while the other 1,001 objects arrived" test "$(find c/.gg/objects -type f | wc -l)" -eq 1001
(cd a && gg remote-has "$URI" "$victim" "$big") >has2.out
check "the bad copies were removed from the bucket" test "$(grep -c '^absent' has2.out)" -eq 2
(cd a && gg push "$URI" - <../names) 2>push3.err >/dev/null
check "push re-uploads exactly those two: $(tail -1 push3.err)" grep -q "pushed 2 of 1003" push3.err
check "and now they pull fine" bash -c "cd c && gg pull '$URI' '$victim' '$big' 2>/dev/null"
check "... byte for byte" same_objects a/.gg c/.gg

# ---- an emptied bucket ----
timeout 60 radosgw-admin -c "$CEPH_ROOT/ceph.conf" bucket rm --bucket="$BUCKET" --purge-objects >/dev/null 2>&1
check "re-create the bucket empty" test "$(s3curl PUT "/$BUCKET")" = 200
(cd a && gg remote-has "$URI" - <../names) >has3.out
rc=$?
check "remote-has on the emptied bucket: all absent (rc $rc)" test $rc -eq 1 -a "$(grep -c '^absent ' has3.out)" -eq 1003
t=$SECONDS
(cd a && timeout 120 gg push "$URI" - <../names) 2>push4.err >/dev/null
check "push refills it once ($((SECONDS - t)) s): $(tail -1 push4.err)" grep -q "pushed 1003 of 1003" push4.err
(cd a && gg push "$URI" - <../names) 2>push5.err >/dev/null
check "and then has nothing left to do" grep -q "pushed 0 of 1003" push5.err
fresh_store d
check "pull after the refill" bash -c "cd d && gg pull '$URI' - <../names 2>/dev/null"
check "... byte for byte" same_objects a/.gg d/.gg

# ---- faults, from a proxy in front of radosgw ----
cat >proxy.py <<'PY'
# A fault-injecting HTTP/1.1 proxy: the first request for a path may get a
# 500, a 503 SlowDown, a dropped connection or (GET) a body cut in half;
# mode "always500" answers 500 to everything; "hang" never answers;
# "clean" forwards everything; "echo" logs requests and answers 404.
# Multipart modes, which forward everything else and log each forwarded
# request that has a query: "part2once" answers 503 to the first UploadPart
# of part 2, "part2always" 500 to every one; "badcreate" answers
# CreateMultipartUpload with 200 and a truncated body; "complete200err"
# answers CompleteMultipartUpload with 200 and an <Error> body.
# It listens on a port of its own (port 0), then writes it to PORT_FILE.
import hashlib, http.client, os, socketserver, sys, threading
from http.server import BaseHTTPRequestHandler
log_lock, count_lock = threading.Lock(), threading.Lock()
def log(*a):  # one whole line: print() from two threads interleaves
    with log_lock:
        sys.stderr.write(" ".join(map(str, a)) + "\n"); sys.stderr.flush()
port_file, upstream, mode = sys.argv[1], sys.argv[2], sys.argv[3]
seen = {}
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def fault(self):
        key = self.command + self.path
        with count_lock:  # requests run on threads of their own
            seen[key] = n = seen.get(key, 0) + 1
        if mode == "always500": return "500"
        if mode == "clean": return None
        f = None
        if mode in ("part2once", "part2always"):
            if self.command == "PUT" and "?partNumber=2&" in self.path and (mode == "part2always" or n == 1):
                f = "503" if mode == "part2once" else "500"
        elif mode == "badcreate":
            if self.command == "POST" and self.path.endswith("?uploads="): f = "badcreate"
        elif mode == "complete200err":
            if self.command == "POST" and "?uploadId=" in self.path: f = "200err"
        if mode != "flaky":
            if f: log("fault", f, key)
            return f
        if n > 1: return None
        h = hashlib.sha256(key.encode()).digest()[0]
        if h % 3: return None                     # two thirds pass untouched
        f = ["500", "503", "drop", "cut"][(h // 3) % 4]
        if f == "cut" and self.command != "GET": f = "500"
        log("fault", f, key)
        return f
    def handle_one(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        if mode == "hang":
            import time; time.sleep(3600)
        if mode == "echo":                        # log the request, answer 404
            log("request", self.command, self.path, dict(self.headers))
            self.send_response(404); self.send_header("Content-Length", "0"); self.end_headers(); return
        f = self.fault()
        if f == "drop":
            self.close_connection = True
            self.connection.close()
            return
        if f in ("500", "503"):
            msg = b"<Error><Code>%s</Code><Message></Message></Error>" % (b"InternalError" if f == "500" else b"SlowDown")
            self.send_response(int(f)); self.send_header("Content-Length", str(len(msg))); self.end_headers()
            if self.command != "HEAD": self.wfile.write(msg)
            return
        if f in ("badcreate", "200err"):
            if f == "badcreate":
                msg = b'<?xml version="1.0" encoding="UTF-8"?><InitiateMultipartUploadResult><Bucket>b</Bucket><UploadId>2~abc'
            else:
                msg = b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InvalidPart</Code><Message>injected by the proxy</Message></Error>'
            self.send_response(200); self.send_header("Content-Length", str(len(msg))); self.end_headers()
            self.wfile.write(msg)
            return
        c = http.client.HTTPConnection(upstream, timeout=60)
        hdrs = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "expect")}
        c.request(self.command, self.path, body=body, headers=hdrs)
        r = c.getresponse(); data = r.read()
        if "?" in self.path:
            log("forward", self.command, self.path, r.status)
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("connection", "transfer-encoding", "content-length"):
                self.send_header(k, v)
        if self.command == "HEAD":
            self.send_header("Content-Length", r.getheader("Content-Length") or "0"); self.end_headers(); return
        self.send_header("Content-Length", str(len(data))); self.end_headers()
        if f == "cut" and self.command == "GET" and len(data) > 1:
            self.wfile.write(data[: len(data) // 2]); self.wfile.flush()
            self.close_connection = True; self.connection.close(); return
        self.wfile.write(data)
    do_GET = do_PUT = do_HEAD = do_DELETE = do_POST = handle_one
class S(socketserver.ThreadingMixIn, socketserver.TCPServer):
    allow_reuse_address = True; daemon_threads = True
    request_queue_size = 256  # the default 5 drops SYNs from 64 parallel connects
    def handle_error(self, request, client_address): pass  # dropped connections are the point
srv = S(("127.0.0.1", 0), H)  # binds and listens
with open(port_file + ".tmp", "w") as f: f.write("%d\n" % srv.server_address[1])
os.rename(port_file + ".tmp", port_file)
srv.serve_forever()
PY
start_proxy() { # MODE: sets PROXY_PORT, PROXY_PID once the proxy listens
	rm -f proxy.port
	python3 proxy.py proxy.port "127.0.0.1:$RGW_PORT" "$1" 2>>proxy.log &
	PROXY_PID=$!
	at_exit "kill $PROXY_PID"
	PROXY_PORT=$(wait_port_file proxy.port "$PROXY_PID") || { tail -5 proxy.log; return 1; }
}
stop_proxy() { kill "$PROXY_PID" 2>/dev/null; wait "$PROXY_PID" 2>/dev/null; }

head -200 names >fnames
echo "$(sed -n 1001p names)" >>fnames # a 20 MiB one too
check "start the flaky proxy" start_proxy flaky
fresh_store e
t=$SECONDS
out=$(cd e && GG_S3_ENDPOINT=http://127.0.0.1:$PROXY_PORT gg pull "$URI" - <../fnames 2>&1)
rc=$?
check "pull through 500s, 503s, dropped connections and cut bodies (rc $rc, $((SECONDS - t)) s): $out" test $rc -eq 0
for f in 500 503 drop cut; do
	check "the proxy injected '$f' faults ($(grep -c "^fault $f " proxy.log))" grep -q "^fault $f " proxy.log
done
check "... byte for byte" bash -c "for n in \$(cat fnames); do cmp -s a/.gg/objects/\${n:1:2}/\$n e/.gg/objects/\${n:1:2}/\$n || exit 1; done"
timeout 60 radosgw-admin -c "$CEPH_ROOT/ceph.conf" bucket rm --bucket="$BUCKET" --purge-objects >/dev/null 2>&1
s3curl PUT "/$BUCKET" >/dev/null
out=$(cd a && GG_S3_ENDPOINT=http://127.0.0.1:$PROXY_PORT gg push "$URI" - <../fnames 2>&1 >/dev/null)
rc=$?
check "push through the same faults (rc $rc): $(echo "$out" | tail -1)" test $rc -eq 0
check "... and the server has them all" bash -c "cd a && gg remote-has '$URI' - <../fnames >/dev/null"
stop_proxy

check "start an always-500 proxy" start_proxy always500
t=$SECONDS
out=$(cd a && GG_S3_ENDPOINT=http://127.0.0.1:$PROXY_PORT GG_STORAGE_RETRIES=3 gg remote-has "$URI" $(head -2 ../names) 2>&1)
rc=$?
echo "# always 500: $out"
check "a server that always fails: exit status 3 (rc $rc, $((SECONDS - t)) s)" test $rc -eq 3
check "... an error naming the status after bounded retries" has_text "$out" "HTTP 500, after 4 attempts"
stop_proxy

check "start a hanging proxy" start_proxy hang
t=$SECONDS
out=$(cd a && GG_S3_ENDPOINT=http://127.0.0.1:$PROXY_PORT GG_STORAGE_RETRIES=1 GG_STORAGE_TIMEOUT=2 timeout 60 gg remote-has "$URI" $(head -1 ../names) 2>&1)
rc=$?
echo "# hang: $out"
check "a server that never answers: exit status 3, no hang (rc $rc, $((SECONDS - t)) s)" test $rc -eq 3 -a $((SECONDS - t)) -lt 30
check "... saying it timed out" has_text "$out" "imeout"
stop_proxy

check "start an echo proxy" start_proxy echo
TOKEN=tok-$RANDOM-$(head -c 1500 /dev/zero | tr '\0' x) # session tokens are long
out=$(cd a && GG_S3_ENDPOINT=http://127.0.0.1:$PROXY_PORT AWS_SESSION_TOKEN=$TOKEN gg remote-has "$URI" $(head -1 ../names) 2>&1)
check "with AWS_SESSION_TOKEN: x-amz-security-token is sent whole" grep -q "'x-amz-security-token': '$TOKEN'" proxy.log
check "... and signed" grep -q "SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token" proxy.log
check "... and x-amz-content-sha256 of a HEAD is the empty body's hash" \
	grep -q "'x-amz-content-sha256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'" proxy.log
check "... and the token is never printed" lacks_text "$out" "$TOKEN"
stop_proxy

# ---- multipart uploads ----
t_mp=$SECONDS
# Objects larger than GG_S3_PART_SIZE go up in parts. radosgw, like S3, gives
# a multipart object the ETag "MD5-OF-THE-PARTS'-MD5S-N", N the part count.
s3head() { # KEY: the object's response headers
	curl -s -I --aws-sigv4 aws:amz:us-east-1:s3 --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" \
		-H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$S3_ENDPOINT/$BUCKET/objs/$1" | tr -d '\r'
}
open_uploads() { # how many multipart uploads the bucket has unfinished (ListMultipartUploads)
	local code
	code=$(s3curl GET "/$BUCKET?uploads=")
	if [ "$code" != 200 ] || ! grep -q '<ListMultipartUploadsResult' "$T/curl.out"; then
		echo "error (HTTP $code: $(head -c 300 "$T/curl.out"))"
		return
	fi
	grep -o '<Upload>' "$T/curl.out" | wc -l
}
# first, that the listing sees an unfinished upload at all
curl -s -o probe.out --aws-sigv4 aws:amz:us-east-1:s3 --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" \
	-H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -H "Content-Type: application/octet-stream" \
	--data-binary '' -X POST "$S3_ENDPOINT/$BUCKET/objs/probe?uploads="
probe_id=$(sed -n 's:.*<UploadId>\([^<]*\)</UploadId>.*:\1:p' probe.out)
check "ListMultipartUploads sees an upload started by hand ($(open_uploads))" test "$(open_uploads)" = 1
check "... and an aborted one no more" test "$(s3curl DELETE "/$BUCKET/objs/probe?uploadId=$probe_id")$(open_uploads)" = 2040

head -c 12M /dev/urandom >a/large/mp # 5 + 5 + 2 MiB
python3 -c 'import os, sys; sys.stdout.write(os.urandom(6 << 20).hex())' >a/large/mptext
(cd a && GG_S3_PART_SIZE=5M gg push "$URI" large/mp large/mptext) >mp.out 2>mp.err
rc=$?
check "push a 12 MiB random and a 12 MiB text object with GG_S3_PART_SIZE=5M (rc $rc): $(tail -1 mp.err)" test $rc -eq 0
mp=$(gg hash a/large/mp) mpt=$(gg hash a/large/mptext)
s3head "$mp" >head.mp
s3head "$mpt" >head.mpt
echo "# 12 MiB random: $(grep -i '^etag:' head.mp); 12 MiB hex text: $(grep -i '^etag:' head.mpt)"
check "the random object went up in 3 parts (its ETag ends in -3)" grep -qi '^etag: ".*-3"$' head.mp
check "... as it is (no Content-Encoding)" bash -c "! grep -qi '^content-encoding' head.mp"
check "... its length is the object's" grep -qi "^content-length: $((12 << 20))$" head.mp
check "the text one too, as it is (3 parts, no Content-Encoding)" bash -c "grep -qi '^etag: \".*-3\"' head.mpt && ! grep -qi '^content-encoding' head.mpt"
plain_get "$mpt"
check "... and a plain GET of it gives the value itself" test "$(name_of_bytes "got.$mpt")" = "$mpt"
check "... no temporary file is left" test -z "$(find a/.gg/tmp -type f)"
check "remote-has sees both" bash -c "cd a && gg remote-has '$URI' $mp $mpt >/dev/null"
fresh_store m
out=$(cd m && gg pull "$URI" "$mp" "$mpt" 2>&1)
check "pull both back, verified against their names: $out" has_text "$out" "pulled 2 of 2"
check "... byte for byte" bash -c "cmp a/large/mp m/.gg/objects/${mp:1:2}/$mp && cmp a/large/mptext m/.gg/objects/${mpt:1:2}/$mpt"
check "no multipart upload is left unfinished ($(open_uploads))" test "$(open_uploads)" = 0

check "start a proxy that fails the first UploadPart of part 2" start_proxy part2once
head -c 11M /dev/urandom >a/large/mp2
mp2=$(gg hash a/large/mp2)
out=$(cd a && GG_S3_PART_SIZE=5M GG_S3_ENDPOINT=http://127.0.0.1:$PROXY_PORT gg push "$URI" large/mp2 2>&1 >/dev/null)
rc=$?
check "a part that fails once is retried (rc $rc): $out" test $rc -eq 0
check "... the proxy failed it: $(grep "^fault 503 PUT/.*$mp2" proxy.log | cut -c1-60)..." grep -q "^fault 503 PUT/.*$mp2?partNumber=2&" proxy.log
check "... and forwarded parts 1, 2 and 3 and the Complete" test "$(grep -c "^forward PUT .*$mp2?partNumber=[123]&uploadId=.* 200$" proxy.log)$(grep -c "^forward POST .*$mp2?uploadId=.* 200$" proxy.log)" = 31
stop_proxy
fresh_store m2
check "... and it pulls back byte for byte" bash -c "cd m2 && gg pull '$URI' $mp2 2>/dev/null && cmp ../a/large/mp2 .gg/objects/${mp2:1:2}/$mp2"

check "start a proxy that always fails part 2" start_proxy part2always
head -c 11M /dev/urandom >a/large/mp3
mp3=$(gg hash a/large/mp3)
t=$SECONDS
out=$(cd a && GG_S3_PART_SIZE=5M GG_STORAGE_RETRIES=1 GG_S3_ENDPOINT=http://127.0.0.1:$PROXY_PORT gg push "$URI" large/mp3 2>&1 >/dev/null)
rc=$?
echo "# part 2 always fails ($((SECONDS - t)) s): $out"
check "an upload whose part 2 always fails: push fails, a failed transfer (rc $rc = 3)" test $rc -eq 3
check "... naming the part, the object and the status after bounded retries" has_text "$out" "cannot upload part 2 of 3 of $mp3 at $URI: HTTP 500 (InternalError), after 2 attempts"
check "... and the upload was aborted: $(grep "^forward DELETE .*$mp3?uploadId=" proxy.log | cut -c1-40)..." grep -q "^forward DELETE .*$mp3?uploadId=.* 204$" proxy.log
check "... leaving no unfinished multipart upload ($(open_uploads))" test "$(open_uploads)" = 0
check "... and no object" test "$(cd a && gg remote-has "$URI" "$mp3")" = "absent $mp3"
stop_proxy

check "start a proxy that truncates CreateMultipartUpload's answer" start_proxy badcreate
out=$(cd a && GG_S3_PART_SIZE=5M GG_S3_ENDPOINT=http://127.0.0.1:$PROXY_PORT gg push "$URI" large/mp3 2>&1 >/dev/null)
rc=$?
echo "# truncated reply: $out"
check "a truncated answer to CreateMultipartUpload: push fails (rc $rc = 3)" test $rc -eq 3
check "... with a clear error naming the object" has_text "$out" "cannot start a multipart upload of $mp3 at $URI: bad reply to HTTP 200: the reply ends inside <UploadId>"
stop_proxy

check "start a proxy that answers CompleteMultipartUpload with 200 and an <Error>" start_proxy complete200err
out=$(cd a && GG_S3_PART_SIZE=5M GG_S3_ENDPOINT=http://127.0.0.1:$PROXY_PORT gg push "$URI" large/mp3 2>&1 >/dev/null)
rc=$?
echo "# 200 with an error: $out"
check "200 with an <Error> from CompleteMultipartUpload is a failure (rc $rc = 3)" test $rc -eq 3
check "... saying what S3 said" has_text "$out" "cannot complete the multipart upload of $mp3 at $URI: HTTP 200 (InvalidPart: injected by the proxy)"
check "... and the upload was aborted ($(open_uploads) left)" test "$(open_uploads)" = 0
check "... and there is no object" test "$(cd a && gg remote-has "$URI" "$mp3")" = "absent $mp3"
stop_proxy

out=$(cd a && GG_S3_PART_SIZE=1M gg push "$URI" large/mp3 2>&1 >/dev/null)
rc=$?
check "GG_S3_PART_SIZE=1M is refused as a usage error (rc $rc): $out" test $rc -eq 2
check "... saying why" has_text "$out" "GG_S3_PART_SIZE=1M: expected a size from 5M to 5G"
out=$(cd a && GG_S3_PART_SIZE=lots gg push "$URI" large/mp3 2>&1 >/dev/null)
check "GG_S3_PART_SIZE=lots is refused: $out" has_text "$out" "GG_S3_PART_SIZE=lots: expected a size from 5M to 5G"
out=$(cd a && GG_S3_PART_SIZE=5M gg push "$URI" large/mp3 2>&1 >/dev/null)
check "and with a good setting it goes up: $out" has_text "$out" "pushed 1 of 1"
check "no multipart upload is left unfinished at the end ($(open_uploads))" test "$(open_uploads)" = 0
echo "# multipart tests: $((SECONDS - t_mp)) s"

out=$(cd a && GG_S3_ENDPOINT=http://127.0.0.1:1 GG_STORAGE_RETRIES=2 gg remote-has "$URI" $(head -1 ../names) 2>&1)
check "nothing listening: a clear connection error: $out" has_text "$out" "onnect"

echo "# total $((SECONDS - t0)) s"
finish
