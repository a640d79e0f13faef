#!/usr/bin/env bash
# gg doctor reports real facts of this machine and names the fix of each
# problem: each verdict is compared with what the shell finds itself, then
# checks are made to fail for real (a PATH without a compiler, an
# unprivileged user, a user namespace allowed no more namespaces, a
# fuse.conf and a /dev/fuse bound over the real ones in a private mount
# namespace, a store that is not writable, storage and a worker that do not
# answer) and each is reported as such, with status 3; a usage error is 2.
. "$(dirname "$0")/lib.sh"
setup "$@"
need gg setpriv unshare mount
[ "$(id -u)" = 0 ] || { not_ok "this test must run as root (it runs gg doctor as another user)"; finish; }
cd "$T"
chmod 0755 "$T"
mkdir bin && cp "$BUILD/bin/gg" bin/ && chmod 0755 bin/gg
GG=$T/bin/gg
line() { grep -E "^$1 +$2 " "$3"; } # VERDICT CHECK FILE: the check's line, if it has that verdict

# ---- this machine as it is ----
(cd / && "$GG" doctor) >plain.out 2>plain.err
rc=$?
cat plain.out
for c in namespaces fuse fusermount allow_other cgroups compiler store storage engines; do
	check "a line for $c" grep -qE "^(ok|warn|FAIL) +$c " plain.out
done
nfail=$(grep -c '^FAIL' plain.out)
check "exit status 3 when something failed, else 0 (rc $rc, $nfail failures)" \
	[ $(((nfail > 0) * 3)) = $rc ]
check "the last line counts the problems" grep -q "^gg doctor: \(no problems\|$nfail problems\?\), " plain.out
if unshare --user --map-root-user --mount --pid --net --fork true 2>/dev/null; then
	check "namespaces work here (unshare says so): ok" line ok namespaces plain.out
else
	check "namespaces fail here (unshare says so): FAIL" line FAIL namespaces plain.out
fi
check "/dev/fuse (a character device here: $([ -c /dev/fuse ] && echo yes)) opens as root" \
	sh -c "[ -c /dev/fuse ] && grep -qE '^ok +fuse +/dev/fuse opens' plain.out"
check "the compiler line names $(command -v gcc)" grep -qE "^ok +compiler .*$(command -v gcc)" plain.out
check "no store above / (none configured)" grep -qE "^ok +store +none: no .gg directory here or in any parent" plain.out

# ---- no compiler on PATH ----
PATH=/nonexistent "$GG" doctor >nocc.out 2>&1
rc=$?
check "PATH without a compiler: exit 3 (rc $rc)" [ $rc = 3 ]
check "... FAIL compiler, saying none is on PATH" grep -qE "^FAIL +compiler +no C compiler \(cc, gcc or clang\) on PATH" nocc.out
check "... with the fix" grep -q "^      fix: apt-get install gcc" nocc.out
check "... and the other lines as before" \
	cmp <(grep -v compiler plain.out | grep -v '^ *fix:' | grep -v '^gg doctor:') \
	<(grep -v compiler nocc.out | grep -v '^ *fix:' | grep -v '^gg doctor:')

# ---- an unprivileged user (nobody) ----
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups -- env -i PATH=/usr/bin:/bin HOME=/nonexistent "$@"; }
(cd / && as_nobody "$GG" doctor) >nobody.out 2>&1
cat nobody.out
if [ "$(($(stat -c '0%a' /dev/fuse) & 6))" = 6 ]; then
	check "nobody: /dev/fuse is rw for others here: ok" line ok fuse nobody.out
else
	check "nobody: /dev/fuse is not rw for others here: FAIL, Permission denied" \
		grep -qE "^FAIL +fuse +/dev/fuse: Permission denied" nobody.out
	check "... with the fix chmod 0666" grep -q "fix: chmod 0666 /dev/fuse" nobody.out
fi
check "nobody: fusermount3 is setuid root here: ok" grep -qE "^ok +fusermount +/usr/bin/fusermount3 \(setuid root\)" nobody.out
if grep -qx ' *user_allow_other *' /etc/fuse.conf 2>/dev/null; then
	check "nobody: /etc/fuse.conf has user_allow_other: ok" line ok allow_other nobody.out
else
	check "nobody: /etc/fuse.conf lacks user_allow_other: warn" line warn allow_other nobody.out
	check "... with the fix" grep -q 'fix: add a line "user_allow_other" to /etc/fuse.conf' nobody.out
fi

# fuse.conf and /dev/fuse replaced in a private mount namespace (nothing
# outside it sees them)
printf '# mount_max = 1000\nuser_allow_other\n' >fuse.conf
printf '#user_allow_other\n' >fuse-off.conf
: >notfuse
ns() { # FUSE_CONF DEV_FUSE: gg doctor as nobody with those bound over the real ones
	unshare --mount --propagation private sh -c \
		'mount --bind "$1" /etc/fuse.conf && mount --bind "$2" /dev/fuse && shift 2 && exec "$@"' \
		sh "$1" "$2" setpriv --reuid=65534 --regid=65534 --clear-groups -- env -i PATH=/usr/bin:/bin "$GG" doctor
}
(cd / && ns "$T/fuse.conf" "$T/notfuse") >ns1.out 2>&1
check "a fuse.conf with user_allow_other: ok" grep -qE "^ok +allow_other +user_allow_other is set in /etc/fuse.conf" ns1.out
check "a /dev/fuse that is not the device: FAIL, saying so" grep -qE "^FAIL +fuse +/dev/fuse is not the FUSE device" ns1.out
(cd / && ns "$T/fuse-off.conf" /dev/fuse) >ns2.out 2>&1
check "a fuse.conf where the line is commented out: warn" line warn allow_other ns2.out

# ---- no namespaces allowed (inside a user namespace whose limit is 0) ----
(cd / && unshare --user --map-root-user sh -c 'echo 0 >/proc/sys/user/max_user_namespaces && exec "$1" doctor' sh "$GG") >nons.out 2>&1
rc=$?
check "namespaces forbidden: exit 3 (rc $rc)" [ $rc = 3 ]
check "... FAIL namespaces: thunks run NOT isolated" grep -qE "^FAIL +namespaces +cannot create the sandbox's namespaces .*thunks run NOT isolated" nons.out
check "... the fix names user.max_user_namespaces" grep -q "fix: user.max_user_namespaces is 0 here: sysctl -w user.max_user_namespaces=" nons.out

# ---- the store ----
mkdir st && cd st && gg init >/dev/null && cd ..
(cd st && "$GG" doctor) >st.out 2>&1
check "a store of our own: ok, writable" grep -qE "^ok +store +$T/st/.gg: readable and writable by you" st.out
(cd st && as_nobody "$GG" doctor) >st-nobody.out 2>&1
check "nobody in root's directory: the search for a store stops there, saying so" \
	grep -qE "^ok +store +none: no .gg directory found: the search stopped at $T/st, owned by uid 0" st-nobody.out
(cd st && as_nobody GG_DIR="$T/st/.gg" "$GG" doctor) >st-nobody2.out 2>&1
check "root's store named by GG_DIR, for nobody: FAIL naming it" grep -qE "^FAIL +store +store $T/st/.gg: cannot read" st-nobody2.out
check "... with a fix" grep -q "fix: use a store of your own (gg init DIR, or GG_DIR=DIR)" st-nobody2.out
mkdir ns-store && chown 65534:65534 ns-store
(cd ns-store && as_nobody "$GG" init >/dev/null)
chmod 0555 ns-store/.gg/objects
(cd ns-store && as_nobody "$GG" doctor) >st-ro.out 2>&1
rc=$?
check "nobody's store with objects/ read-only: exit 3 (rc $rc)" [ $rc = 3 ]
check "... FAIL store, naming objects/ not writable" grep -qE "^FAIL +store +$T/ns-store/.gg/objects: not writable by you \(owner uid 65534, mode 0555\)" st-ro.out
check "... with the fix" grep -q "fix: chown -R 65534 $T/ns-store/.gg" st-ro.out

chmod 0755 ns-store/.gg/objects
rmdir ns-store/.gg/verdicts
(cd ns-store && as_nobody "$GG" doctor) >st-gone.out 2>&1
check "a store directory missing: FAIL store, naming it" grep -qE "^FAIL +store +$T/ns-store/.gg/verdicts: No such file or directory" st-gone.out
check "... with the fix" grep -q "fix: mkdir $T/ns-store/.gg/verdicts" st-gone.out

# ---- remote storage and workers ----
mkdir remote
GG_STORAGE="file://$T/remote" "$GG" doctor >file.out 2>&1
check "file:// storage: ok, answers" grep -qE "^ok +storage +file://$T/remote answers" file.out
port=$(free_port)
GG_STORAGE=s3://gg-doctor/x GG_S3_ENDPOINT=http://127.0.0.1:$port AWS_ACCESS_KEY_ID=k AWS_SECRET_ACCESS_KEY=s \
	GG_ENGINE="http=http://127.0.0.1:$port/execute" "$GG" doctor >down.out 2>&1
rc=$?
check "S3 and a worker at a closed port: exit 3 (rc $rc)" [ $rc = 3 ]
check "... FAIL storage, could not connect" grep -qE "^FAIL +storage +s3://gg-doctor/x does not answer: .*Couldn't connect" down.out
check "... FAIL engines, the worker's /health" grep -qE "^FAIL +engines +http worker http://127.0.0.1:$port/execute does not answer: http://127.0.0.1:$port/health" down.out
check "... with the fix" grep -q "fix: start the worker (gg worker --listen" down.out
. "$(dirname "$0")/../servers/workers.sh"
if GG_STORAGE="file://$T/remote" worker_start w1; then
	GG_ENGINE="2:http=${WURL[w1]} local" "$GG" doctor >up.out 2>&1
	check "a running worker: ok, answers" grep -qE "^ok +engines +http worker ${WURL[w1]} answers" up.out
	check "... and local: ok" grep -qE "^ok +engines +local: thunks run here" up.out
	check "worker stops cleanly" worker_stop w1
else
	not_ok "start a worker"
fi

# ---- usage ----
"$GG" doctor extra >usage.out 2>usage.err
check "an unexpected argument: exit 2" [ $? = 2 ]
check "... naming it" grep -q "gg: doctor: unexpected argument 'extra'" usage.err
check "gg help doctor = gg doctor --help" cmp <("$GG" help doctor) <("$GG" doctor --help)
finish
