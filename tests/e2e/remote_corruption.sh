#!/usr/bin/env bash
# A value damaged in remote storage (issue 10's (e)) for the stores remote
# engines share: S3 (Ceph radosgw) and Redis, each used by the client and a
# `gg worker`. The remote copy is overwritten with other bytes of the same
# size, so that a presence check (which looks at the size only) still finds
# it: presence never stands in for content, since whoever uses the bytes
# downloads and checks them against their name.
#  - a damaged input: a fresh worker downloads it, finds it corrupt, removes
#    it and says which input is missing; the client uploads it again and the
#    force gives the right bytes;
#  - a damaged output: the client, having lost its own copy, runs the thunk
#    again; the worker answers from its memo, the download of its output is
#    found corrupt and removed, the retry uploads it again: the right bytes.
# Each time the remote copy holds the right bytes afterwards.
. "$(dirname "$0")/lib.sh"
setup "$@"
need gg curl python3 sha256sum sort tr
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/servers/workers.sh"
cd "$T"

t0=$SECONDS
PW=pw-$RANDOM$RANDOM
. "$here/servers/redis.sh"
if ! redis_up REDIS_PASSWORD="$PW"; then
	not_ok "start redis-server (tests/servers/redis.sh)"
	finish
fi
. "$here/servers/rgw.sh"
if ! rgw_up; then
	not_ok "start radosgw (tests/servers/rgw.sh)"
	finish
fi
echo "# redis on $REDIS_PORT, radosgw on $S3_ENDPOINT, up in $((SECONDS - t0)) s"
export GG_S3_ENDPOINT=$S3_ENDPOINT GG_S3_PATH_STYLE=1 AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY
unset AWS_SESSION_TOKEN AWS_PROFILE GG_S3_REGION AWS_REGION GG_STORAGE_BACKOFF_MS
BUCKET=gg-corruption

s3curl() { # METHOD PATH [FILE]: a signed request; the body goes to $T/curl.out; prints the status
	local -a body=()
	[ $# -gt 2 ] && body=(--data-binary "@$3")
	curl -s --compressed -o "$T/curl.out" -w "%{http_code}" --aws-sigv4 "aws:amz:us-east-1:s3" \
		--user "$S3_ACCESS_KEY:$S3_SECRET_KEY" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
		-X "$1" "${body[@]}" "$S3_ENDPOINT$2"
}
rcmd() { # a raw Redis command through the password (binary-safe; @FILE: a file's bytes; >FILE: the reply's bulk to FILE)
	python3 - "$REDIS_PORT" "$PW" "$@" <<'PY'
import socket, sys
port, pw, args = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
out = None
if args and args[-1].startswith(">"):
    out = args.pop()[1:]
def enc(a):
    a = [x if isinstance(x, bytes) else x.encode() for x in a]
    return b"*%d\r\n" % len(a) + b"".join(b"$%d\r\n%s\r\n" % (len(x), x) for x in a)
args = [open(a[1:], "rb").read() if a.startswith("@") else a for a in args]
s = socket.create_connection(("127.0.0.1", port))
s.sendall(enc(["AUTH", pw]) + enc(args))
f = s.makefile("rb")
f.readline()  # +OK of AUTH
line = f.readline()
if line.startswith(b"$") and out:
    n = int(line[1:])
    data = f.read(n) if n >= 0 else b""
    open(out, "wb").write(data)
    print("$%d" % n)
else:
    print(line.decode(errors="replace").strip())
PY
}
check "create bucket $BUCKET" test "$(s3curl PUT "/$BUCKET")" = 200

# damage KIND NAME FILE: the remote copy of NAME becomes FILE's bytes
damage() {
	case $1 in
	s3) [ "$(s3curl PUT "/$BUCKET/objs/$2" "$3")" = 200 ] ;;
	redis) [ "$(rcmd SET "$2" "@$3")" = "+OK" ] ;;
	esac
}
# remote_sum KIND NAME: the SHA-256 of the remote copy's bytes
remote_sum() {
	rm -f "$T/remote.bin"
	case $1 in
	s3) [ "$(s3curl GET "/$BUCKET/objs/$2")" = 200 ] && mv "$T/curl.out" "$T/remote.bin" ;;
	redis) rcmd GET "$2" ">$T/remote.bin" >/dev/null ;;
	esac
	[ -f "$T/remote.bin" ] && sha256sum <"$T/remote.bin" | cut -c1-64
}
# other_bytes FILE OUT: the same size, other bytes
other_bytes() { tr 'a-z0-9' 'A-Z9876543210' <"$1" >"$2" && ! cmp -s "$1" "$2"; }

for kind in s3 redis; do
	case $kind in
	s3) export GG_STORAGE=s3://$BUCKET/objs ;;
	redis) export GG_STORAGE=redis://:$PW@127.0.0.1:$REDIS_PORT ;;
	esac
	mkdir "$T/c-$kind"
	cd "$T/c-$kind"
	gg init . >/dev/null
	# an input and an output larger than a reply carries inline (64 KiB)
	seq 1 40000 | sed "s/^/$kind line /" >in.txt
	workers_hide "$T/c-$kind"
	worker_start "$kind-a" || { not_ok "$kind: start a worker"; finish; }
	t1=$(gg thunk -i in.txt -o out.txt -- sort -o out.txt in.txt)
	v1=$(gg force --no-progress -e "http=${WURL[$kind-a]}" "$t1#out.txt" 2>f1.err)
	check "$kind: forced through a worker" [ "$(gg cat "$v1" | sha256sum)" = "$(sort in.txt | sha256sum)" ] ||
		cat f1.err
	vin=$(gg hash in.txt)
	check "$kind: the input is in remote storage" [ "$(remote_sum $kind "$vin")" = "${vin:1:64}" ]
	check "$kind: the output is in remote storage" [ "$(remote_sum $kind "$v1")" = "${v1:1:64}" ]

	# ---- a damaged input, fetched by a fresh worker ----
	other_bytes in.txt bad.in
	check "$kind: the remote input overwritten (same size, other bytes)" damage $kind "$vin" bad.in
	worker_start "$kind-b" || { not_ok "$kind: start a fresh worker"; finish; }
	t2=$(gg thunk -i in.txt -o rev.txt -- sort -r -o rev.txt in.txt)
	v2=$(timeout 120 gg force --no-progress -e "http=${WURL[$kind-b]}" "$t2#rev.txt" 2>f2.err)
	check "$kind: a damaged remote input: the right bytes" \
		[ "$(gg cat "$v2" 2>/dev/null | sha256sum)" = "$(sort -r in.txt | sha256sum)" ] || cat f2.err
	check "$kind: ... the worker found the input corrupt" \
		grep -q "object $vin from .* is corrupt" "${WLOG[$kind-b]}"
	check "$kind: ... the client was told which input was missing and uploaded it again" \
		grep -q "could not be fetched" f2.err
	check "$kind: ... the remote copy is sound again" [ "$(remote_sum $kind "$vin")" = "${vin:1:64}" ]

	# ---- a damaged output, downloaded by the client ----
	gg cat "$v1" >out.good
	other_bytes out.good bad.out
	check "$kind: the remote output overwritten (same size, other bytes)" damage $kind "$v1" bad.out
	o=".gg/objects/${v1:1:2}/$v1"
	chmod u+w "$o" && rm -f "$o" ".gg/verdicts/${v1:1:2}/$v1"
	v1b=$(timeout 120 gg force --no-progress -e "http=${WURL[$kind-a]}" "$t1#out.txt" 2>f3.err)
	check "$kind: a damaged remote output: the same value" [ "$v1b" = "$v1" ] || cat f3.err
	check "$kind: ... the right bytes" cmp -s "$o" out.good
	check "$kind: ... the client found the download corrupt" grep -q "object $v1 from .* is corrupt" f3.err
	check "$kind: ... the remote copy is sound again" [ "$(remote_sum $kind "$v1")" = "${v1:1:64}" ]
	check "$kind: gg fsck: the client's store is sound" gg fsck
done
finish
