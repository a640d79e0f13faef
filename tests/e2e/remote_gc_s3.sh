#!/usr/bin/env bash
# gg gc --remote on S3 (radosgw started on 127.0.0.1 by tests/servers/rgw.sh).
# An object's age there is its LastModified, which the test cannot backdate,
# so it waits 10 s and uses a grace of 8 s:
# - A builds the demo's C program with --remote-cache readwrite, under a
#   prefix; an object outside the prefix is another tool's;
# - 1200 unnamed objects are pushed: the listing takes two pages of
#   ListObjectsV2 (1000 keys each), joined by the continuation token;
# - --dry-run names them all and deletes nothing;
# - a second client's output uploaded just now (before its entry) survives
#   the real run; the 1200 go; what entries name stays; the object outside
#   the prefix stays;
# - B then executes 0 thunks from the cache.
. "$(dirname "$0")/lib.sh"
setup "$@"
need curl cc make
trap 'exit 130' INT TERM # so that the EXIT trap stops the servers
here=$(cd "$(dirname "$0")" && pwd)
servers=$here/../servers
. "$servers/c_project.sh"
cd "$T"
. "$servers/rgw.sh"
if ! rgw_up; then
	not_ok "start radosgw (tests/servers/rgw.sh)"
	finish
fi
export GG_S3_ENDPOINT=$S3_ENDPOINT AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY
unset AWS_SESSION_TOKEN AWS_PROFILE GG_S3_REGION AWS_REGION GG_S3_PATH_STYLE GG_REMOTE_CACHE GG_REMOTE_CACHE_KEY GG_STORAGE
BUCKET=gg-gc
R=s3://$BUCKET/cache
s3curl() { # METHOD PATH [FILE]: a signed request as the bucket's owner; prints the status
	local -a body=()
	[ $# -gt 2 ] && body=(--data-binary "@$3")
	curl -s -o "$T/curl.out" -w '%{http_code}' --aws-sigv4 "aws:amz:us-east-1:s3" \
		--user "$S3_ACCESS_KEY:$S3_SECRET_KEY" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
		-X "$1" "${body[@]}" "$S3_ENDPOINT$2"
}
s3head() { # KEY: the status of a HEAD of the key
	curl -s -o /dev/null -I -w '%{http_code}' --aws-sigv4 "aws:amz:us-east-1:s3" \
		--user "$S3_ACCESS_KEY:$S3_SECRET_KEY" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
		"$S3_ENDPOINT/$BUCKET/$1"
}
check "create bucket $BUCKET" test "$(s3curl PUT "/$BUCKET")" = 200
for c in a b g; do mkdir -p "home.$c" && c_project "$c"; done

out=$(cd a && HOME="$T/home.a" gg force --summary --no-progress --storage "$R" --remote-cache readwrite primes 2>&1 >/dev/null)
check "A builds and publishes: $out" has_text "$out" "executed [1-9][0-9]*, from memo 0, failed 0"
bin=$(gg hash a/primes)
echo "another tool's" >other.txt
other=$(gg hash other.txt)
check "an object outside the prefix (another tool's)" test "$(s3curl PUT "/$BUCKET/$other" other.txt)" = 200
mkdir garbage
for i in $(seq 1200); do echo "garbage $i" >"garbage/$i"; done
out=$(cd g && gg push "$R" "$T"/garbage/* 2>&1 >/dev/null)
check "1200 unnamed objects pushed: $out" has_text "$out" "pushed 1200 of 1200 objects"
echo "# waiting 10 s so that they are older than an 8 s grace"
sleep 10

out=$(gg gc --remote --storage "$R" --grace 8s --dry-run 2>&1)
tail -1 <<<"$out" | sed 's/^/# /'
check "--dry-run names the 1200 unnamed objects, from both pages, each once" \
	test "$(grep '^would delete V' <<<"$out" | sort -u | wc -l)" = 1200 -a "$(grep -c '^would delete V' <<<"$out")" = 1200
check "... summing up: $(tail -1 <<<"$out")" has_text "$out" "^would delete 1200 of [0-9]* objects ([0-9]* bytes) from $R; kept [1-9][0-9]* named by [1-9][0-9]* cache entries, 0 within the grace period (8 s)"
g1=$(gg hash garbage/1)
check "... and deletes nothing" test "$(s3head "cache/$g1")" = 200

echo "a second client's new output" >young.txt
young=$(cd g && gg push "$R" "$T/young.txt" 2>/dev/null | awk '{ print $1 }')
out=$(gg gc --remote --storage "$R" --grace 8s 2>&1)
check "gg gc --remote deletes the 1200: $(tail -1 <<<"$out")" has_text "$out" "^deleted 1200 of [0-9]* objects"
check "... they are gone" test "$(s3head "cache/$g1")" = 404 -a "$(s3head "cache/$(gg hash garbage/1200)")" = 404
check "... the young unnamed object (a client's upload before its entry) survives" test "$(s3head "cache/$young")" = 200
check "... and so does the program, named by an entry" test "$(s3head "cache/$bin")" = 200
check "... and the object outside the prefix" test "$(s3head "$other")" = 200

out=$(cd b && HOME="$T/home.b" gg force --summary --no-progress --storage "$R" --remote-cache read primes 2>&1 >/dev/null)
check "B still executes 0 thunks from the cache: $out" has_text "$out" "executed 0, from memo 1, failed 0 (1 of them from the shared cache)"
check "... A's program byte for byte" cmp a/primes b/primes
finish
