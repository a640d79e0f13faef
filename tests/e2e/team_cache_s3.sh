#!/usr/bin/env bash
# Two clients share one radosgw bucket as a shared cache (radosgw started on
# 127.0.0.1 by tests/servers/start-ceph-rgw.sh and stopped at exit). Each
# has its own HOME, tree (at another path) and store of the same sources:
# - A builds the demo's C program with --remote-cache readwrite;
# - B forces the same target with --remote-cache read through a proxy that
#   counts bytes: 0 thunks executed (its --summary), and it downloads the
#   program's bytes plus at most BOUND bytes (one cache entry and the HTTP
#   headers of two answers);
# - a third client reads the program through its ggfs mount, cold: the
#   same bound;
# - lazy remote outputs: a force by thunk name downloads none of the
#   value's bytes; gg cat, or reading it by hash through a mount, downloads
#   the value once (counted at the proxy);
# - an object under a key that cannot be an entry (larger than 1 MiB) is
#   ignored like a malformed entry: the cache stays on, the run repairs it;
# - a client whose credentials may only read (a second radosgw user allowed
#   s3:GetObject and s3:ListBucket by a bucket policy) uses the cache, and
#   cannot write to it: its new thunks run, publishing them fails with a
#   notice naming the refusal, and the bucket has no entry for them.
. "$(dirname "$0")/lib.sh"
setup "$@"
need curl python3 cmp cc make fusermount3
trap 'exit 130' INT TERM # so that the EXIT trap stops the servers
here=$(cd "$(dirname "$0")" && pwd)
servers=$here/../servers
. "$servers/c_project.sh"
cd "$T"
BOUND=2048

. "$servers/rgw.sh"
if ! rgw_up; then
	not_ok "start radosgw (tests/servers/rgw.sh)"
	finish
fi
export GG_S3_ENDPOINT=$S3_ENDPOINT AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY
unset AWS_SESSION_TOKEN AWS_PROFILE GG_S3_REGION AWS_REGION GG_S3_PATH_STYLE GG_REMOTE_CACHE GG_REMOTE_CACHE_KEY
BUCKET=gg-team
export GG_STORAGE=s3://$BUCKET/cache

s3curl() { # METHOD PATH [FILE]: a signed request as the bucket's owner; prints the status
	local -a body=()
	[ $# -gt 2 ] && body=(--data-binary "@$3")
	curl -s -o "$T/curl.out" -w '%{http_code}' --aws-sigv4 "aws:amz:us-east-1:s3" \
		--user "$S3_ACCESS_KEY:$S3_SECRET_KEY" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
		-X "$1" "${body[@]}" "$S3_ENDPOINT$2"
}
s3head() { # KEY: the status of a HEAD of the key, as the bucket's owner
	curl -s -o /dev/null -I -w '%{http_code}' --aws-sigv4 "aws:amz:us-east-1:s3" \
		--user "$S3_ACCESS_KEY:$S3_SECRET_KEY" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
		"$S3_ENDPOINT/$BUCKET/$1"
}
check "create bucket $BUCKET" test "$(s3curl PUT "/$BUCKET")" = 200

# the read-only user: a second radosgw user, given reads by a bucket policy
check "create a second radosgw user" rgw_user reader
READER=$RGW_UID READER_AK=$RGW_AK READER_SK=$RGW_SK
cat >policy.json <<JSON
{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
 "Principal": {"AWS": ["arn:aws:iam:::user/$READER"]},
 "Action": ["s3:GetObject", "s3:ListBucket"],
 "Resource": ["arn:aws:s3:::$BUCKET", "arn:aws:s3:::$BUCKET/*"]}]}
JSON
check "give it s3:GetObject and s3:ListBucket by a bucket policy" test "$(s3curl PUT "/$BUCKET?policy=" policy.json)" = 204

# a proxy in front of radosgw that counts the bytes each way
python3 "$servers/raw_http.py" "$RGW_PORT" count bytes.log >proxy.port 2>proxy.err &
proxy_pid=$!
at_exit "kill $proxy_pid"
wait_for 100 test -s proxy.port
PROXY=http://127.0.0.1:$(head -1 proxy.port)
downloaded() { awk '$1 == "down" { n += $2 } END { print n + 0 }' bytes.log; }

run_force() { # NAME GG-FORCE-OPTION...: forces primes in NAME's tree with its own HOME
	local n=$1
	shift
	(cd "$T/$n" && HOME="$T/home.$n" gg force --summary --no-progress "$@" primes 2>&1 >/dev/null)
}
for c in a b m r o l z p; do mkdir -p "home.$c" && c_project "$c"; done

top=$(grep -o 'T[0-9a-f]\{76\}' a/primes | head -1)
out=$(run_force a --remote-cache readwrite)
check "A builds the program, publishing every thunk: $out" has_text "$out" "executed [1-9][0-9]*, from memo 0, failed 0 (0 of"
size=$(stat -c %s a/primes)
bin=$(gg hash a/primes)

d0=$(downloaded)
out=$(GG_S3_ENDPOINT=$PROXY run_force b --remote-cache read)
got=$(($(downloaded) - d0))
echo "# B downloaded $got bytes through the proxy: the program is $size bytes; the bound is $size + $BOUND"
check "B, with another HOME, tree and store, executes 0 thunks: $out" has_text "$out" "executed 0, from memo 1, failed 0 (1 of them from the shared cache)"
check "... and has A's program byte for byte" cmp a/primes b/primes
check "... having downloaded the program and no more than $BOUND bytes besides ($got bytes)" \
	test "$got" -ge "$size" -a "$got" -le $((size + BOUND))

# cold, through a mount: opening the program downloads just it
d0=$(downloaded)
export GG_REMOTE_CACHE=read GG_S3_ENDPOINT=$PROXY
HOME=$T/home.m ggfs_mount m mnt ggfs.log
export GG_S3_ENDPOINT=$S3_ENDPOINT
unset GG_REMOTE_CACHE
out=$(mnt/primes 1000 2>&1)
got=$(($(downloaded) - d0))
echo "# the mount downloaded $got bytes to run the program ($size bytes)"
check "the program runs through a cold mount: $out" has_text "$out" "168 primes below 1000"
check "... from the shared cache: no thunk ran (no memo entry but the program's)" \
	test "$(find m/.gg/memo -type f | wc -l)" -eq 1
check "... having downloaded the program and no more than $BOUND bytes besides ($got bytes)" \
	test "$got" -ge "$size" -a "$got" -le $((size + BOUND))
check "unmount" ggfs_umount mnt
check "... and the daemon's log is clean" ggfs_log_clean ggfs.log

# lazy remote outputs: forcing the thunk by name (nothing to place) records
# its output as known and leaves the bytes remote; reading it (gg cat, the
# mount's by-hash) fetches just that value, once
d0=$(downloaded)
out=$(cd l && HOME="$T/home.l" GG_S3_ENDPOINT=$PROXY gg force --summary --no-progress --remote-cache read "$top" 2>&1)
got=$(($(downloaded) - d0))
echo "# forcing $top by name downloaded $got bytes (its output is $size bytes)"
check "a force by thunk name executes nothing and prints the value: $out" has_text "$out" "executed 0, from memo 1, failed 0 (1 of them from the shared cache)"
check "... and prints the value's name" test "$(tail -1 <<<"$out")" = "$bin"
check "... having downloaded the entry and none of the value's bytes ($got bytes)" test "$got" -lt "$BOUND"
check "... the value is not in the local store" test ! -e "l/.gg/objects/${bin:1:2}/$bin"
d0=$(downloaded)
(cd l && HOME="$T/home.l" GG_S3_ENDPOINT=$PROXY GG_REMOTE_CACHE=read gg cat "$top" >"$T/cat.out" 2>"$T/cat.err")
got=$(($(downloaded) - d0))
echo "# gg cat downloaded $got bytes"
check "gg cat fetches it: A's program byte for byte ($(cat cat.err))" cmp a/primes cat.out
check "... having downloaded the value and no more than $BOUND bytes besides ($got bytes)" \
	test "$got" -ge "$size" -a "$got" -le $((size + BOUND))
d0=$(downloaded)
(cd l && HOME="$T/home.l" GG_S3_ENDPOINT=$PROXY GG_REMOTE_CACHE=read gg cat "$top" >"$T/cat2.out" 2>&1)
check "... a second gg cat reads the local copy: 0 bytes downloaded ($(($(downloaded) - d0)))" test "$(($(downloaded) - d0))" = 0 -a -s cat2.out
out=$(cd z && HOME="$T/home.z" GG_S3_ENDPOINT=$PROXY gg force --remote-cache read "$top" 2>&1)
check "another client forces it by name: $out" test "$(tail -1 <<<"$out")" = "$bin"
d0=$(downloaded)
export GG_REMOTE_CACHE=read GG_S3_ENDPOINT=$PROXY
HOME=$T/home.z ggfs_mount z mntz ggfsz.log
export GG_S3_ENDPOINT=$S3_ENDPOINT
unset GG_REMOTE_CACHE
got0=$(($(downloaded) - d0))
check "... reading it by hash through its mount fetches it" cmp a/primes "mntz/.gg/by-hash/$bin"
got=$(($(downloaded) - d0))
echo "# the mount downloaded $got0 bytes to start, $got after reading $bin by hash"
check "... the value's bytes and no more than $BOUND besides ($got bytes)" \
	test "$got" -ge "$size" -a "$got" -le $((size + BOUND))
check "unmount" ggfs_umount mntz
check "... and the daemon's log is clean" ggfs_log_clean ggfsz.log
out=$(cd p && HOME="$T/home.p" gg force --remote-cache read "$top" 2>&1)
check "a third client forces it by name, leaving it remote" test "$(tail -1 <<<"$out")" = "$bin" -a ! -e "p/.gg/objects/${bin:1:2}/$bin"
d0=$(downloaded)
out=$(cd p && HOME="$T/home.p" GG_S3_ENDPOINT=$PROXY gg pull --outputs "$GG_STORAGE" "$top" 2>&1)
got=$(($(downloaded) - d0))
check "gg pull --outputs fetches it eagerly: $out" has_text "$out" "pulled 1 of 1 objects"
check "... A's program byte for byte" cmp a/primes "p/.gg/objects/${bin:1:2}/$bin"
check "... the value's bytes and no more than $BOUND besides ($got bytes)" \
	test "$got" -ge "$size" -a "$got" -le $((size + BOUND))
out=$(cd p && HOME="$T/home.p" gg pull --outputs "$GG_STORAGE" main.o 2>&1)
check "... a target not forced here is refused, naming it: $out" has_text "$out" "is not forced here (no memo entry); gg force it first"
check "... and the daemon's log is clean" ggfs_log_clean ggfsz.log

# what a key holds may not be an entry (anyone who may write one key can
# put it there): an object larger than 1 MiB is ignored like a malformed
# entry, naming the cause; the cache stays on for the rest, and the thunk's
# run repairs it
entries=$(grep -rl "$bin" a/.gg/memo | xargs -n1 basename)
check "A's memo names the program's entries (the link thunk's, its reduced thunk's): $(echo $entries | wc -w)" test "$(echo $entries | wc -w)" = 2
head -c $((1024 * 1024 + 1)) /dev/zero >big
for e in $entries; do
	check "put an object of 1 MiB + 1 byte under cache/memo/$e" test "$(s3curl PUT "/$BUCKET/cache/memo/$e" big)" = 200
done
out=$(run_force o --remote-cache readwrite)
check "an entry larger than 1 MiB is ignored, saying so: $out" has_text "$out" "entry of $top at $GG_STORAGE is ignored: it is larger than 1048576 bytes"
check "... the cache is still used for the rest: only that thunk runs" has_text "$out" "executed 1, from memo [1-9]"
check "... with the right result" cmp a/primes o/primes
check "... and the entry is repaired" has_text "$(s3curl GET "/$BUCKET/cache/memo/$top" >/dev/null; head -1 curl.out)" "^ggcache 1 $top\$"

# read-only credentials: the cache is used, and cannot be written
export AWS_ACCESS_KEY_ID=$READER_AK AWS_SECRET_ACCESS_KEY=$READER_SK
out=$(run_force r --remote-cache read)
check "a reader with read-only credentials uses the cache: $out" has_text "$out" "executed 0, from memo 1, failed 0 (1 of them"
sed -i 's/primes below/primes under/' r/main.c
(cd r && gg infer make >/dev/null 2>&1)
new=$(grep -o 'T[0-9a-f]\{76\}' r/primes | head -1)
out=$(run_force r --remote-cache readwrite)
rc=$?
echo "# read-only publish: $out"
check "... its changed program builds (rc $rc)" test "$rc" = 0
check "... running its new thunks" has_text "$out" "executed [1-9]"
check "... and works" has_text "$(r/primes 100)" "25 primes under 100"
check "... publishing is refused, and said once" \
	test "$(grep -c 'shared cache: cannot publish .*HTTP 403.*AccessDenied.*publishing nothing more in this run' <<<"$out")" = 1
out=$(cd r && gg push "$GG_STORAGE" main.c 2>&1)
check "... a direct write is refused too: $out" has_text "$out" "HTTP 403"
export AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY
check "the bucket has no entry for the reader's new thunk" test "$(s3head "cache/memo/$new")" = 404
check "... while it has A's ($top)" test "$(s3head "cache/memo/$top")" = 200
finish
