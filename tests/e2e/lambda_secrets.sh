#!/usr/bin/env bash
# A thunk on the Lambda path never sees the function's credentials. Our own
# Lambda (tests/servers/lambda_runtime.py) gives the function what Lambda
# gives one (the role's AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
# AWS_SESSION_TOKEN, AWS_LAMBDA_RUNTIME_API, ...) and a secret of its own
# configuration (DB_PASSWORD); gg worker --no-sandbox is the bootstrap (no
# namespaces, as on Lambda). A probe thunk reports its environment, its
# open descriptors (and what it can read through them), whether it can open
# its ancestors' /proc/PID/environ, /proc/PID/mem and fd/, and every
# credential-like variable in every /proc/*/environ it can read:
#   - as an unprivileged user (as on Lambda): no secret anywhere, only fds
#     0-2, and the worker's (and its supervisor's) environ, mem and fd/ are
#     closed to it (PR_SET_DUMPABLE)
#   - as root, which may read any process's environ: still no secret in
#     the worker's (it scrubbed its environment, bytes and all)
. "$(dirname "$0")/lib.sh"
setup "$@"
need python3 curl sh setpriv
[ "$(id -u)" = 0 ] || { not_ok "this test needs root (it runs the function as another user, nobody, as Lambda does)"; finish; }
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$T"
chmod 755 "$T" # the function, as nobody, reaches its directories here
echo "# in $T"
r() { printf '%s%s%s' "$RANDOM" "$RANDOM" "$RANDOM"; }
KEY=AKIDFNROLE$(r) SECRET=fn-role-secret-$(r) TOKEN=fn-session-token-$(r) DBPW=fn-db-password-$(r)
mkdir bucket && (cd bucket && for a in 0 1 2 3 4 5 6 7 8 9 a b c d e f; do for b in 0 1 2 3 4 5 6 7 8 9 a b c d e f; do mkdir -m 1777 $a$b; done; done)
chmod 1777 bucket
# the function's configuration: its role's credentials, a secret of its own
cat >fn.env <<EOF2
AWS_ACCESS_KEY_ID=$KEY
AWS_SECRET_ACCESS_KEY=$SECRET
AWS_SESSION_TOKEN=$TOKEN
DB_PASSWORD=$DBPW
GG_STORAGE=file://$T/bucket
EOF2
chmod 600 fn.env
export GG_STORAGE=file://$T/bucket AWS_ACCESS_KEY_ID=AKIDCLIENT AWS_SECRET_ACCESS_KEY=client-secret
mkdir c && (cd c && gg init . >/dev/null)
cat >c/probe.sh <<'EOF2'
echo "== env"
env
echo "== fds"
# the thunk's program is our parent (sh -c): what it holds is what it inherited
echo "fds: $(ls /proc/$PPID/fd | sort -n | tr '\n' ' ')"
for n in $(ls /proc/$PPID/fd); do
	echo "fd $n -> $(readlink /proc/$PPID/fd/$n)"
	[ "$n" -gt 2 ] && head -c 65536 /proc/$PPID/fd/$n 2>&1 | tr '\0' '\n'
done
echo "== ancestors"
p=$$
for i in 1 2 3; do
	p=$(sed 's/.*) [A-Za-z] \([0-9]*\) .*/\1/' /proc/$p/stat)
	echo "ancestor $i $p $(cat /proc/$p/comm)"
	for f in environ mem; do
		if (exec 3</proc/$p/$f) 2>/dev/null; then echo "$f $i readable"; else echo "$f $i denied"; fi
	done
	if ls /proc/$p/fd >/dev/null 2>&1; then echo "fd $i readable"; else echo "fd $i denied"; fi
	[ $i -eq 3 ] && tr '\0' '\n' </proc/$p/environ 2>&1 | sed 's/^/worker environ: /'
done
echo "== every readable environ"
n=0
for f in /proc/[0-9]*/environ; do
	tr '\0' '\n' <"$f" >/tmp/.e 2>/dev/null || continue
	n=$((n + 1))
	grep -Ei '^[a-z_]*(secret|token|passw|access_key|credential|runtime_api)[a-z_]*=' /tmp/.e | sed "s|^|${f%/environ}: |"
done
rm -f /tmp/.e
echo "readable environs: $n"
EOF2
# the same probe twice, as two thunks (a second force of one would be a memo hit)
probe() { (cd c && gg thunk -i probe.sh -e PATH=/usr/bin:/bin -e "RUN=$1" -o report -- sh -c 'sh probe.sh > report 2>&1'); }

run_as() { # WHO (nobody|root): runs the probe on a function running as WHO; the report in $T/report.WHO
	local who=$1 pre=() out
	mkdir -p "$T/w-$who/fn"
	if [ "$who" = nobody ]; then
		chown 65534:65534 "$T/w-$who"
		pre=(setpriv --reuid=65534 --regid=65534 --clear-groups --)
	fi
	printf '#!/bin/sh\nexec %s "%s" worker --dir "%s" --no-sandbox -v\n' "${pre[*]}" "$BUILD/bin/gg" "$T/w-$who/store" >"$T/w-$who/fn/bootstrap"
	chmod 755 "$T/w-$who/fn/bootstrap"
	out=$("$here/servers/start-lambda-runtime.sh" --timeout 60 --env-file "$T/fn.env" -- "$T/w-$who/fn/bootstrap") || return 1
	eval "$out"
	at_exit "'$here/servers/start-lambda-runtime.sh' stop '$LAMBDA_RT_ROOT'"
	local t
	t=$(probe "$who")
	(cd "$T/c" && GG_LAMBDA_ENDPOINT=$GG_LAMBDA_ENDPOINT gg force --no-progress -e lambda=gg-fn --stdout "$t#report") >"$T/report.$who" 2>"$T/force.$who.err"
	local st=$?
	WPID=$(sed -n 's/^start pid=//p' "$LAMBDA_RT_ROOT/events.log" | head -1)
	cp "$LAMBDA_RT_ROOT/function.log" "$T/function.$who.log"
	"$here/servers/start-lambda-runtime.sh" stop "$LAMBDA_RT_ROOT"
	[ $st -eq 0 ] || { cat "$T/force.$who.err"; return 1; }
}
no_secret() { ! grep -qF -e "$KEY" -e "$SECRET" -e "$TOKEN" -e "$DBPW" "$1"; }

check "the probe ran on the function as nobody" run_as nobody
R=$T/report.nobody
sed -n '/^== ancestors/,/^== every/p;/^readable environs/p;/^fds:/p' "$R" | sed 's/^/# /'
check "its environment is what the thunk declares" bash -c "sed -n '/^== env/,/^== fds/p' '$R' | grep -qx PATH=/usr/bin:/bin && sed -n '/^== env/,/^== fds/p' '$R' | grep -qx RUN=nobody"
check "no AWS or other secret in its environment" bash -c "! sed -n '/^== env/,/^== fds/p' '$R' | grep -Eiq 'AWS_|PASSW|TOKEN|SECRET'"
# (sh keeps copies of 1 and 2 above 9 while it redirects)
check "its program holds only /dev/null and its own run's files: no socket, pipe or file of the worker" \
	bash -c "grep '^fd [0-9]* -> ' '$R' | grep -Ev -- '-> (/dev/null|.*/run-[^/]*\.(stdout|stderr)|.*/run-[^/]*/report)\$' | grep . && exit 1 || exit 0"
check "its stdin is /dev/null" grep -qx 'fd 0 -> /dev/null' "$R"
check "from 0, 1 and 2" grep -qx 'fds: 0 1 2 [0-9 ]*' "$R"
check "above its program: the worker's supervisor of it, then the worker (the function's process)" \
	bash -c "grep -q '^ancestor 2 [0-9]* gg$' '$R' && grep -q '^ancestor 3 $WPID gg$' '$R'"
for i in 2 3; do
	what=$([ $i = 2 ] && echo "the supervisor" || echo "the worker")
	check "$what: /proc/PID/environ denied to it" grep -qx "environ $i denied" "$R"
	check "$what: /proc/PID/mem denied to it" grep -qx "mem $i denied" "$R"
	check "$what: /proc/PID/fd denied to it" grep -qx "fd $i denied" "$R"
done
check "no function secret in anything it could read (environs, fds)" no_secret "$R"
check "the worker said it removed the secret variables" grep -q 'secret variables removed from the environment' "$T/function.nobody.log"

check "the probe ran on the function as root" run_as root
R=$T/report.root
sed -n '/^readable environs/p;/^fds:/p' "$R" | sed 's/^/# /'
check "as root it could read the worker's environ and the supervisor's" bash -c "grep -qx 'environ 2 readable' '$R' && grep -qx 'environ 3 readable' '$R'"
check "which holds no secret: the worker removed them, bytes and all" no_secret "$R"
check "nor the runtime API's address" bash -c "! grep -q '^worker environ: AWS_LAMBDA_RUNTIME_API' '$R'"
check "but what is not secret is still there" grep -q '^worker environ: AWS_LAMBDA_FUNCTION_NAME=gg-fn' "$R"
check "no sanitizer report from the workers" bash -c "! grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error:' '$T'/function.*.log"
finish
