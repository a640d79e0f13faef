#!/usr/bin/env bash
# tools/deps.sh, with apt-get and dpkg-query replaced on PATH by stand-ins
# that log what they are asked (nothing is installed): each group installs
# only its missing packages (build: building and the demo; test: the whole
# suite), nothing runs when nothing is missing, apt waits for dpkg's lock
# (DPkg::Lock::Timeout), and `apt-get update` finding the package lists
# locked is retried with a message instead of failing.
. "$(dirname "$0")/lib.sh"
setup "$@"
need bash grep sed
here=$(cd "$(dirname "$0")/../.." && pwd)
cd "$T"
mkdir fake
cat >fake/dpkg-query <<'EOF'
#!/bin/sh
# dpkg-query -W -f='${Status}' PKG: installed unless PKG is in $FAKE_MISSING
for a; do pkg=$a; done
for p in $FAKE_MISSING; do [ "$p" = "$pkg" ] && exit 1; done
printf 'install ok installed'
EOF
cat >fake/apt-get <<'EOF'
#!/bin/sh
# logs its arguments; `update` fails with the lists' lock while $FAKE_LOCKED
# (a count in a file) is above 0
echo "$*" >>"$FAKE_LOG"
case " $* " in *" update "*)
	n=$(cat "$FAKE_LOCKED" 2>/dev/null || echo 0)
	if [ "$n" -gt 0 ]; then
		echo $((n - 1)) >"$FAKE_LOCKED"
		echo "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 4242 (apt-get)" >&2
		exit 100
	fi
esac
exit 0
EOF
chmod +x fake/*
deps() { # [GROUP]: tools/deps.sh with the stand-ins; output in deps.out, status in rc
	rm -f apt.log
	PATH="$T/fake:$PATH" FAKE_LOG="$T/apt.log" FAKE_LOCKED="$T/locked" "$here/tools/deps.sh" "$@" >deps.out 2>&1
	rc=$?
}
installs() { grep ' install ' apt.log 2>/dev/null; }

export FAKE_MISSING="libfuse3-dev ffmpeg"
deps
check "no argument: the build group (rc $rc): $(head -1 deps.out)" has_text "$(cat deps.out)" "deps (build): installing libfuse3-dev$"
check "... installs only the missing build package, not the test one: $(installs)" \
	bash -c "grep ' install ' apt.log | grep -q ' libfuse3-dev$'"
check "... apt waits for dpkg's lock (install)" bash -c "grep ' install ' apt.log | grep -q 'DPkg::Lock::Timeout=600'"
check "... and for the lists (update)" bash -c "grep ' update ' apt.log | grep -q 'DPkg::Lock::Timeout=600'"
deps build
check "'build' is the same" bash -c "grep ' install ' apt.log | grep -q ' libfuse3-dev$'"
deps test
check "'test': the test group, with the build group, installs both missing ones (rc $rc): $(installs)" \
	bash -c "grep ' install ' apt.log | grep -q ' libfuse3-dev ffmpeg$'"

FAKE_MISSING=ffmpeg deps
check "the build group does not install ffmpeg (rc $rc, apt-get not run)" test $rc -eq 0 -a ! -e apt.log -a ! -s deps.out
FAKE_MISSING= deps test
check "nothing missing: nothing runs, nothing is printed (rc $rc)" test $rc -eq 0 -a ! -e apt.log -a ! -s deps.out

echo 1 >locked
deps
check "the package lists locked once: deps.sh waits and goes on (rc $rc)" test $rc -eq 0
check "... saying why: $(grep waiting deps.out)" has_text "$(cat deps.out)" "deps: waiting (up to 10 minutes): Could not get lock /var/lib/apt/lists/lock. It is held by process 4242"
check "... then updates and installs" test "$(grep -c ' update' apt.log)$(grep -c ' install ' apt.log)" = 21

deps nonsense
check "an unknown group is a usage error (rc $rc): $(cat deps.out)" test $rc -eq 2
check "... naming the groups" has_text "$(cat deps.out)" "usage: tools/deps.sh \[build|test\]"
finish
