#!/usr/bin/env bash
# gg's exit statuses follow gg(1): 0 ok, 1 a thunk failed, 2 usage, 3 an
# infrastructure failure (here: an input object missing from the store),
# 130 cancelled (tests/e2e/cancel.sh). Each failure also names its cause.
# Every command's usage errors (bad options, values, missing or extra
# arguments) exit 2, naming what is wrong.
. "$(dirname "$0")/lib.sh"
setup "$@"
src=$(cd "$(dirname "$0")/../.." && pwd)
cd "$T"
gg init . >/dev/null
echo hi >in.txt
ok=$(gg thunk -i in.txt -o out.txt -- cp in.txt out.txt)
gg force --no-progress "$ok#out.txt" >/dev/null 2>ok.err
check "a forced thunk: exit 0" [ $? = 0 ]

bad=$(gg thunk -o out.txt -- sh -c 'echo boom >&2; exit 7')
gg force --no-progress "$bad#out.txt" 2>bad.err
check "a failing program: exit 1" [ $? = 1 ]
check "... naming its status and stderr" grep -q "exited with status 7" bad.err

echo gone >lost.txt
lost=$(gg thunk -i lost.txt -o out.txt -- cp lost.txt out.txt)
obj=$(gg hash lost.txt)
find .gg/objects -name "$obj" -delete
gg force --no-progress "$lost#out.txt" 2>lost.err
check "an input missing from the store: exit 3" [ $? = 3 ]
check "... naming the object" grep -q "cannot place input lost.txt ($obj): object $obj is not in the store" lost.err
check "... without retrying what cannot come back" grep -q "after 1 attempt: " lost.err

gg force --no-progress --keep-going "$bad#out.txt" "$lost#out.txt" 2>both.err
check "both at once: the higher status (3)" [ $? = 3 ]

# gg hash of what is not a regular file says so at once: a FIFO with no
# writer must not block it (in the store, which caches hashes, or outside).
mkfifo pipe
timeout 10 gg hash pipe 2>fifo.err
check "gg hash of a FIFO: exit 1, at once" [ $? = 1 ]
check "... saying it is not a regular file" grep -q "pipe is not a regular file" fifo.err
GG_DIR=$T/no-store timeout 10 gg hash pipe 2>fifo2.err
check "... also without a store: exit 1, at once" [ $? = 1 ]
check "... saying so" grep -q "pipe is not a regular file" fifo2.err
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' sock
timeout 10 gg hash sock 2>sock.err
check "gg hash of a socket: exit 1 (not 3: nothing failed but the file's type)" [ $? = 1 ]
check "... saying it is not a regular file" grep -q "sock is not a regular file" sock.err
# gg push takes the same files as gg hash, with the same status for one it
# refuses: a FIFO is not waited on, a directory is not a system error.
mkdir adir
for f in pipe adir; do
	timeout 10 gg hash $f 2>/dev/null
	hs=$?
	timeout 10 gg push "file://$T/pushed" $f >/dev/null 2>push.err
	rc=$?
	check "gg push of $f: exit 1 at once, as gg hash (rc $rc, gg hash $hs)" [ "$rc,$hs" = 1,1 ]
	check "... saying it is not a regular file" grep -q "$f is not a regular file" push.err
done

# A worker URL with a fault is a usage error naming it, never a default
# (curl takes "host:" for port 80).
while IFS=$'\t' read -r msg url; do
	gg force --no-progress -e "http=$url" "$ok#out.txt" >/dev/null 2>url.err
	rc=$?
	check "-e http=$url: exit 2 (rc $rc)" [ $rc = 2 ]
	check "... saying: $msg" grep -qF -- "$msg" url.err
done <<'URLS'
an empty port after ':'	http://127.0.0.1:/execute
bad port '99999'	http://127.0.0.1:99999/execute
no host	http:///execute
URLS
gg push redis://127.0.0.1:/0 in.txt >/dev/null 2>url.err
rc=$?
check "a redis:// storage URI with an empty port: exit 2 (rc $rc)" [ $rc = 2 ]
check "... saying so" grep -qF "an empty port after ':'" url.err
GG_S3_ENDPOINT=http://127.0.0.1:99999 AWS_ACCESS_KEY_ID=k AWS_SECRET_ACCESS_KEY=s gg push s3://b in.txt >/dev/null 2>url.err
rc=$?
check "GG_S3_ENDPOINT with a bad port: exit 2 (rc $rc)" [ $rc = 2 ]
check "... saying so" grep -qF "bad port '99999'" url.err

# ---- storage commands: one exit status per cause ----
# gg push, gg pull (also --outputs), gg remote-has and gg gc --remote say
# the same for the same cause (gg(1), gg-storage(7)): 2 for a malformed
# URI, scheme or NAME; 3 for a storage that cannot be opened, reached,
# listed or asked, refused credentials, a failed transfer, a damaged object,
# an object missing for push or pull; remote-has says 1 for "absent". Each
# cause against file://, a redis-server of this test's own on 127.0.0.1,
# and s3:// for what the URI says wrong (refused before any request).
need redis-cli
. "$src/tests/servers/redis.sh"
mkdir -p "$T/st" && cd "$T/st" || exit 1
gg init . >/dev/null
echo stored >s.txt
S=$(gg hash s.txt)                    # in every store below
printf 'never stored\n' >"$T/a.txt"
A=$(GG_DIR=$T/no-store gg hash "$T/a.txt") # in no store, local or remote
bad_name=V$(printf '%076d' 0 | tr 0 z) # 77 characters, not a name
F=file://$T/st/remote
gg push "$F" s.txt >/dev/null 2>&1
# --outputs: a forced thunk whose output (S) this store holds (what the URI
# or the target says wrong, and a store not opened, come before the memo)
mkdir po && (cd po && gg init . >/dev/null)
PT=$(cd po && gg thunk -o out -- sh -c 'echo stored >out')
(cd po && gg force --no-progress "$PT#out" >/dev/null 2>po.err) || cat po/po.err
st_run() { # COMMAND...: its status in $rc, stderr in st.err
	"$@" >st.out 2>st.err </dev/null
	rc=$?
}
fresh_pull() { # gg pull ARGS... into a store of its own
	rm -rf "$T/st/fresh" && mkdir "$T/st/fresh" && (cd "$T/st/fresh" && gg init . >/dev/null && gg pull "$@")
}
outputs_pull() { # URI: gg pull --outputs URI PT
	(cd "$T/st/po" && gg pull --outputs "$1" "$PT")
}
st_expect() { # STATUS CAUSE COMMAND...
	local want=$1 cause=$2
	shift 2
	st_run "$@"
	check "$cause: $* exits $want (rc $rc: $(head -c 200 st.err | head -1))" [ "$rc" = "$want" ]
}
all_four() { # STATUS CAUSE URI: push, pull, remote-has, gc --remote
	st_expect "$1" "$2" gg push "$3" s.txt
	st_expect "$1" "$2" fresh_pull "$3" "$S"
	st_expect "$1" "$2" gg remote-has "$3" "$S"
	st_expect "$1" "$2" gg gc --remote --storage "$3"
}
all_five() { # STATUS CAUSE URI: all_four and pull --outputs
	all_four "$@"
	st_expect "$1" "$2" outputs_pull "$3"
}
all_five 0 "a sound file:// store" "$F"

# 2: what the URI, scheme or NAME says wrong, whatever the store
all_five 2 "no scheme" no-scheme
all_five 2 "an unknown scheme" ftp://host/dir
all_five 2 "a relative file:// path" file://relative/dir
all_five 2 "a Redis database that is no number" redis://127.0.0.1/abc
all_five 2 "an S3 URI without a bucket" s3://
all_five 2 "an S3 bucket with a bad character" 's3://bad^bucket'
all_five 2 "an S3 key prefix with an empty segment" s3://bucket/a//b
export AWS_ACCESS_KEY_ID=k AWS_SECRET_ACCESS_KEY=s
GG_S3_ENDPOINT=ftp://127.0.0.1:1 all_five 2 "GG_S3_ENDPOINT not http(s)" s3://bucket
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
# credentials that cannot be had: a store not opened (3), never "absent" (1)
mkdir -p "$T/aws" && printf '[default]\naws_access_key_id = k\naws_secret_access_key = s\n' >"$T/aws/credentials"
AWS_SHARED_CREDENTIALS_FILE=$T/aws/credentials AWS_PROFILE=typo GG_S3_ENDPOINT=http://127.0.0.1:9 \
	all_four 3 "an AWS_PROFILE the credentials file lacks" s3://bucket
st_expect 2 "a malformed NAME" gg push "$F" "$bad_name"
st_expect 2 "a malformed NAME" fresh_pull "$F" Vnotaname
st_expect 2 "a malformed NAME" gg remote-has "$F" Vnotaname
st_expect 2 "a malformed target" gg pull --outputs "$F" Tnotaname

# 3 and 1 on file://
touch plain
all_five 3 "a file:// directory that cannot be made" "file://$T/st/plain/sub"
mkdir loop && ln -s "${S:1:2}" "loop/${S:1:2}" # its fan-out directory: ELOOP
all_four 3 "a file:// store that cannot be asked or listed" "file://$T/st/loop"
st_expect 3 "a failed transfer" gg push --force "file://$T/st/loop" s.txt
st_expect 3 "an object missing" gg push "$F" "$A"
st_expect 3 "an object missing" fresh_pull "$F" "$A"
st_expect 1 "absent" gg remote-has "$F" "$A"
echo stored2 >d.txt
D=$(gg hash d.txt)
mkdir -p "remote/${D:1:2}/$D" # a directory where the object should be
st_expect 3 "a failed transfer (not a regular file)" fresh_pull "$F" "$D"
check "... naming the cause" grep -q "is not a regular file there" st.err
rmdir "remote/${D:1:2}/$D"
gg push "$F" d.txt >/dev/null 2>&1
chmod u+w "remote/${D:1:2}/$D" && echo STORED2 >"remote/${D:1:2}/$D"
st_expect 3 "a damaged object" fresh_pull "$F" "$D"
check "... naming the cause" grep -q "is corrupt" st.err

# 3 and 1 on Redis
PW=pw-$RANDOM$RANDOM
if redis_up REDIS_PASSWORD="$PW"; then
	R=redis://:$PW@127.0.0.1:$REDIS_PORT
	rcli() { redis-cli --no-auth-warning -p "$REDIS_PORT" -a "$PW" "$@"; }
	gg push "$R" s.txt >/dev/null 2>&1
	all_four 0 "a sound Redis" "$R"
	GG_STORAGE_RETRIES=0 all_four 3 "a Redis that cannot be reached" redis://127.0.0.1:1
	all_four 3 "refused credentials" "redis://:wrong-$PW@127.0.0.1:$REDIS_PORT"
	check "... saying so" grep -q WRONGPASS st.err
	rcli ACL SETUSER nolist on ">lpw" "~*" "+@all" -scan -strlen -exists >/dev/null
	st_expect 3 "a Redis that cannot be listed" gg gc --remote --storage "redis://nolist:lpw@127.0.0.1:$REDIS_PORT"
	st_expect 3 "a Redis that cannot be asked" gg remote-has "redis://nolist:lpw@127.0.0.1:$REDIS_PORT" "$S"
	st_expect 3 "an object missing" gg push "$R" "$A"
	st_expect 3 "an object missing" fresh_pull "$R" "$A"
	st_expect 1 "absent" gg remote-has "$R" "$A"
	echo upload >u.txt
	rcli CONFIG SET maxmemory 1 >/dev/null
	st_expect 3 "a failed transfer (Redis OOM)" gg push "$R" u.txt
	rcli CONFIG SET maxmemory 0 >/dev/null
	printf 'a list\n' >"$T/w.txt"
	W=$(GG_DIR=$T/no-store gg hash "$T/w.txt")
	rcli RPUSH "$W" x >/dev/null
	st_expect 3 "a failed transfer (a key that is no string)" fresh_pull "$R" "$W"
	gg push "$R" d.txt >/dev/null 2>&1
	printf 'STORED2\n' | rcli -x SET "$D" >/dev/null
	st_expect 3 "a damaged object" fresh_pull "$R" "$D"
	check "... naming the cause" grep -q "is corrupt" st.err
else
	not_ok "start redis-server (tests/servers/redis.sh)"
fi
cd "$T" || exit 1

gg force --no-such-option x 2>usage.err
check "an unknown option: exit 2" [ $? = 2 ]
gg frobnicate 2>usage2.err
check "an unknown command: exit 2" [ $? = 2 ]

# Usage errors: status 2 from every command, each message naming what is
# wrong (a line of stderr). One line per case: MESSAGE<TAB>COMMAND...
usage_cases=$(cat <<'CASES'
usage: gg COMMAND	gg
unknown command 'nosuch'	gg help nosuch
usage: gg init	gg init a b
usage: gg init	gg init --bogus
usage: gg hash	gg hash
thunk: no PROGRAM given	gg thunk -o x
thunk: at least one output	gg thunk -- true
-e NOEQ: expected NAME=VALUE	gg thunk -e NOEQ -o x -- true
--timeout z: expected whole seconds	gg thunk --timeout z -o x -- true
unrecognized option '--bogus'	gg thunk --bogus -o x -- true
option requires an argument -- 'j'	gg force -j
-j 0: expected a number of jobs	gg force -j 0 x
-j many: expected a number of jobs	gg force -j many x
--max-depth 0: expected a number from 1	gg force --max-depth 0 x
--max-depth abc: expected a number from 1	gg force --max-depth abc x
--retries 1000: expected a number from 0 to 100	gg force --retries 1000 x
--speculate 0: expected milliseconds	gg force --speculate 0 x
unknown engine 'bogus'	gg force -e bogus x
--memory-limit=lots: expected a size	gg force --memory-limit lots x
--process-limit=-3: expected a number of processes	gg force --process-limit -3 x
--default-timeout=x: expected whole seconds	gg force --default-timeout x x
force: no TARGET given	gg force
usage: gg cat TARGET	gg cat
usage: gg cat TARGET	gg cat a b
usage: gg describe	gg describe
usage: gg describe	gg describe a b
usage: gg gc	gg gc
gc: bad size 'zz'	gg gc --max-size zz
usage: gg gc	gg gc --max-size 1G extra
unrecognized option '--bogus'	gg fsck --bogus
usage: gg run	gg run
usage: gg worker	gg worker
worker --once needs REQUEST_FILE and RESPONSE_FILE	gg worker --once a
-j 0: expected a number from 1 to 10000	gg worker -j 0
tokens never go on the command line	gg worker --token abc
worker: --listen and --once exclude each other	gg worker --listen 127.0.0.1:0 --once a b
usage: gg push	gg push
usage: gg pull	gg pull
usage: gg remote-has	gg remote-has
usage: gg remote-migrate	gg remote-migrate
usage: gg report	gg report
--top x: expected a number	gg report --top x t.json
usage: gg model-generic	gg model-generic
--timeout x: expected whole seconds	gg model-generic --timeout x a -- b
infer: no BUILD-COMMAND given	gg infer
unrecognized option '--bogus'	gg infer --bogus
usage: gg log TARGET	gg log
usage: gg log TARGET	gg log a b
no-such: no such file, and not an object name	gg force no-such
no-such: no such file, and not an object name	gg cat no-such
no-such: no such file, and not an object name	gg describe no-such
no-such: no such file, and not an object name	gg log no-such
no-such: no such file, and not an object name	gg run no-such
no-such: no such file, and not an object name	gg pull --outputs file:///nonexistent no-such
doctor: unexpected argument 'x'	gg doctor x
CASES
)
while IFS=$'\t' read -r msg cmd; do
	# shellcheck disable=SC2086 # the command's words
	$cmd >usage.out 2>usage.err </dev/null
	rc=$?
	check "$cmd: exit 2 (rc $rc)" [ $rc = 2 ]
	check "... saying: $msg" grep -qF -- "$msg" usage.err
done <<<"$usage_cases"
# Every command gg dispatches has a usage case above.
for c in $(grep -o '{"[a-z-]*", cmd_[a-z_]*}' "$src/tools/cli/gg.c" | cut -d'"' -f2); do
	check "a usage case for gg $c" grep -q "	gg $c\b" <<<"$usage_cases"
done
finish
