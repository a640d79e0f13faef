#!/usr/bin/env bash
# examples/unittests: the project's own unit test binaries, one thunk each,
# plus a deliberately failing test. Reading results/summary.txt through a
# ggfs mount forces them all; the summary lists the failing test as failed
# and the others as passed; each log is readable through the mount, the
# failing one included. Then the same thunks in a fresh store under
# `gg force -j 4 --trace` run in parallel (more than one slot in the trace).
. "$(dirname "$0")/lib.sh"
setup "$@"
need gcc ldd awk sh
ex=$(cd "$(dirname "$0")/../../examples/unittests" && pwd)
passing=(test_hash test_namemap test_placeholder test_scheduler test_util)
# The test binaries to run as thunks: this build's, unless it is a sanitizer
# build (ASan needs /proc, which a sandbox lacks): then the plain build's,
# which `make check` builds first. gg and ggfs are still this build's.
tests_build=$BUILD
if ldd "$BUILD/tests/test_util" 2>/dev/null | grep -q libasan; then
	tests_build=$(cd "$(dirname "$0")/../.." && pwd)/build
	echo "# $BUILD is a sanitizer build: running the unit tests of $tests_build as thunks"
	[ -x "$tests_build/tests/test_util" ] || { not_ok "no plain build of the unit tests in $tests_build (make tests)"; finish; }
fi
# A failed test's own complaints, so that a failure here says which check.
show_failures() { # LOG
	grep -E '^not ok|^== ' "$1" | head -n 20 | sed 's/^/#     /'
	tail -n 3 "$1" | sed 's/^/#     (last) /'
}
cd "$T"
"$ex/make-thunks.sh" "$tests_build" "$T/work" >make.out 2>make.err
check "make-thunks.sh makes the thunks" [ $? -eq 0 ]
check "nothing ran yet: the logs are placeholders" sh -c "head -n1 work/results/test_util.log | grep -q gg-run"

if [ -x "$BUILD/bin/ggfs" ]; then
	echo "# reading the results through a ggfs mount"
	need fusermount3
	if ggfs_mount "$T/work" "$T/mnt" "$T/ggfs.log"; then
		r=$T/mnt/results
		cat "$r/summary.txt" >summary.txt 2>cat.err
		check "cat mnt/results/summary.txt forces the tests" [ -s summary.txt ]
		for t in "${passing[@]}"; do
			check "the summary lists $t as passed" grep -qx "PASS $t" summary.txt
			if tail -n1 "$r/$t.log" | grep -qx "== $t: PASS"; then
				ok "mnt/results/$t.log ends with its verdict"
			else
				not_ok "mnt/results/$t.log ends with its verdict"
				show_failures "$r/$t.log"
			fi
		done
		check "the summary lists test_fails as failed" grep -qx 'FAIL test_fails (exit status 1)' summary.txt
		check "the summary's last line counts them" grep -qx 'passed: 5; failed: 1 (test_fails)' summary.txt
		check "the failing test's log is readable through the mount" grep -q '^not ok - 0.1 + 0.2 == 0.3' "$r/test_fails.log"
		check "test_util's own output is in its log" grep -q ' passed, 0 failed$' "$r/test_util.log"
		check "the source still holds placeholders" sh -c "head -n1 work/results/summary.txt | grep -q gg-run"
		check "ggfs unmounts cleanly" ggfs_umount "$T/mnt"
		check "ggfs logged no sanitizer report" ggfs_log_clean "$T/ggfs.log"
	else
		not_ok "mount the work directory with ggfs"
	fi
else
	not_ok "ggfs is not built ($BUILD/bin/ggfs; make builds it): the mount cannot be tested (forcing with gg force instead)"
	(cd work && gg force --no-progress results/summary.txt results/*.log) 2>force.err
	cp work/results/summary.txt summary.txt
	for t in "${passing[@]}"; do
		check "the summary lists $t as passed" grep -qx "PASS $t" summary.txt
	done
	check "the summary lists test_fails as failed" grep -qx 'FAIL test_fails (exit status 1)' summary.txt
	check "the failing test's log is kept" grep -q '^not ok - 0.1 + 0.2 == 0.3' work/results/test_fails.log
fi

# In parallel: a fresh store, four slots, a trace.
"$ex/make-thunks.sh" "$tests_build" "$T/par" >/dev/null 2>&1
(cd par && gg force -j 4 --no-progress --trace ../par.json results/summary.txt) 2>par.err
check "gg force of the summary succeeds although a test fails" [ $? -eq 0 ]
gg report par.json >par.txt
check "the trace has the 6 tests and the summary" grep -q '^trace par.json: 7 thunk runs' par.txt
check "the tests ran on more than one slot at once" sh -c "grep -q '^trace par.json: 7 thunk runs, 21 events on [2-9] slots' par.txt"
finish
