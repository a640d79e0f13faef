#!/usr/bin/env bash
# Runs the whole suite against one build directory: every unit test binary
# (BUILD/tests/test_*), every fuzz target for a bounded time, and every
# end-to-end script (tests/e2e/*.sh, which get BUILD as their argument).
# Prints one line per test with its time as it ends, then the total time
# and the slowest tests, and, last, "N passed, N failed".
#
#   tests/run.sh [-j N] BUILD_DIR      (also GG_TEST_JOBS=N; GG_TESTS=SUBSTRING...)
#
# -j N runs up to N tests at once. The tests listed in tests/serial.list
# (they start servers or use a resource of the whole machine) never run
# beside each other (at most one of them at a time, beside other tests),
# unless a group is given there (group=NAME): then never beside another test
# of that group, nor beside one with no group.
# The tests listed in tests/slow.list are the slower tier: left out (and
# named at the end) unless GG_TIER=slow, which runs only them.
set -u
jobs=${GG_TEST_JOBS:-1}
while getopts j: opt; do
	case $opt in
	j) jobs=$OPTARG ;;
	*) echo "usage: tests/run.sh [-j N] BUILD_DIR" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[[ $jobs =~ ^[1-9][0-9]*$ ]] || { echo "tests/run.sh: -j $jobs: expected a number from 1" >&2; exit 2; }
build=${1:?usage: tests/run.sh [-j N] BUILD_DIR}
build=$(cd "$build" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
export PATH="$build/bin:$PATH"
export GG_FUZZ_SECONDS=${GG_FUZZ_SECONDS:-5}
passed=0 failed=0 failures=() times=() start=$SECONDS
logdir=$(mktemp -d /tmp/gg-test-logs.XXXXXX)
declare -A serial slow
while read -r name group _; do
	[[ -z "$name" || "$name" == \#* ]] && continue
	[[ $group == group=?* ]] && serial[$name]=${group#group=} || serial[$name]=all
done <"$here/serial.list"
while read -r name _; do
	[[ -z "$name" || "$name" == \#* ]] || slow[$name]=1
done <"$here/slow.list"
tier=${GG_TIER:-check}
[[ $tier == check || $tier == slow ]] || { echo "tests/run.sh: GG_TIER=$tier: expected check or slow" >&2; exit 2; }

# The tests, in order: NAME<TAB>COMMAND (words separated by tabs too).
tests=() other_tier=()
# GG_TESTS: substrings (separated by spaces) to run a subset; with
# GG_TESTS_EXACT=1, whole test names (run whatever their tier).
read -r -a only <<<"${GG_TESTS:-}"
selected() { # NAME: is it named by GG_TESTS?
	[ ${#only[@]} -eq 0 ] && return 0
	local w
	for w in "${only[@]}"; do
		if [ -n "${GG_TESTS_EXACT:-}" ]; then
			[ "$1" = "$w" ] && return 0
		else
			[[ "$1" == *"$w"* ]] && return 0
		fi
	done
	return 1
}
add() { # NAME COMMAND...
	selected "$1" || return 0
	local want=check
	[ -z "${slow[$1]:-}" ] || want=slow
	# a test named exactly runs whatever its tier
	if [ "$want" != "$tier" ] && [ -z "${GG_TESTS_EXACT:-}" ]; then
		other_tier+=("$1")
		return 0
	fi
	local IFS=$'\t'
	tests+=("$*")
}
for t in "$build"/tests/test_*; do
	[ -x "$t" ] && add "unit/$(basename "$t")" "$t"
done
for f in "$build"/tests/fuzz_*; do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	add "fuzz/$name" "$f" "$here/fuzz/corpus/${name#fuzz_}"
done
for e in "$here"/e2e/*.sh; do
	[ "$(basename "$e")" = lib.sh ] && continue
	add "e2e/$(basename "$e" .sh)" bash "$e" "$build"
done

is_serial() { [ -n "${serial[$1]:-}" ]; }
# The serial tests running now, by group (pid); a test of group "all" runs
# beside no other serial test, the others beside no test of their group.
# (nserial counts them: bash 5.2 takes an associative array whose last
# element was unset for unset, and ${#group_pid[@]} then fails under set -u.)
declare -A group_pid
nserial=0
may_start_serial() { # NAME
	local g=${serial[$1]}
	[ -z "${group_pid[all]:-}" ] || return 1
	if [ "$g" = all ]; then [ $nserial -eq 0 ]; else [ -z "${group_pid[$g]:-}" ]; fi
}

# One radosgw for the whole run (tests/servers/rgw.sh), started in the
# background when a selected test uses it: Ceph takes 15-30 s to start,
# once instead of once per test. Each test gets its own radosgw user.
rgw_dir= rgw_pid=
for t in "${tests[@]}"; do
	n=${t%%$'\t'*}
	[[ $n == e2e/* ]] && grep -qw rgw_up "$here/$n.sh" 2>/dev/null || continue
	rgw_dir=$logdir/rgw
	mkdir "$rgw_dir"
	(env -u RGW_PORT -u MON_PORT -u S3_ACCESS_KEY -u S3_SECRET_KEY CEPH_ROOT="$rgw_dir/ceph" \
		bash "$here/servers/start-ceph-rgw.sh" >"$rgw_dir/env.new" 2>"$rgw_dir/log" </dev/null
	rc=$?
	mv "$rgw_dir/env.new" "$rgw_dir/env"
	echo $rc >"$rgw_dir/rc") &
	rgw_pid=$!
	export GG_RGW_SHARED=$rgw_dir
	break
done
rgw_stop() {
	[ -n "$rgw_dir" ] || return 0
	[ -s "$rgw_dir/rc" ] || kill "$rgw_pid" 2>/dev/null
	wait "$rgw_pid" 2>/dev/null
	[ -f "$rgw_dir/ceph/.gg-ceph-root" ] && bash "$here/servers/start-ceph-rgw.sh" stop "$rgw_dir/ceph"
	rgw_dir=
}

# One test in the background; its status and time go to files in logdir.
# A test that hangs is stopped after $GG_TEST_TIMEOUT seconds (default 1200:
# ten times the slowest test under ASan on a loaded machine) and fails
# saying so: the suite never hangs. timeout(1) signals the test's whole
# process group (its EXIT traps clean up), then kills it 30 s later.
test_limit=${GG_TEST_TIMEOUT:-1200}
[[ $test_limit =~ ^[1-9][0-9]*$ ]] || { echo "tests/run.sh: GG_TEST_TIMEOUT=$test_limit: expected seconds" >&2; exit 2; }
declare -A pid_of_name name_of_pid t0_of_pid
start_test() { # NAME<TAB>COMMAND...
	local IFS=$'\t'
	local words=($1)
	local name=${words[0]} log="$logdir/${words[0]//\//_}"
	(timeout -k 30 "$test_limit" "${words[@]:1}" >"$log.log" 2>&1 </dev/null; echo $? >"$log.rc") &
	name_of_pid[$!]=$name
	t0_of_pid[$!]=$SECONDS
}
# Reports a test that ended (by its pid).
report() { # PID
	local name=${name_of_pid[$1]} log t
	log="$logdir/${name//\//_}"
	t=$((SECONDS - t0_of_pid[$1]))
	if [ "$(cat "$log.rc" 2>/dev/null)" = 0 ]; then
		passed=$((passed + 1)); echo "PASS $name (${t}s)"
	else
		failed=$((failed + 1)); failures+=("$name"); echo "FAIL $name (${t}s)"
		sed 's/^/    /' "$log.log" | tail -n 60
		case $(cat "$log.rc" 2>/dev/null) in
		124 | 137) echo "    (stopped: still running after ${test_limit}s, GG_TEST_TIMEOUT)" ;;
		esac
	fi
	times+=("$t $name")
	unset "name_of_pid[$1]" "t0_of_pid[$1]"
}

# Up to $jobs at once; a serial test waits until no other serial test of its group runs.
# Serial tests are taken first when a slot is free (they are the long ones).
running=0
pending=("${tests[@]}")
# Interrupted: the tests running now are stopped too (their own EXIT traps
# clean up).
trap 'kill ${!name_of_pid[*]} 2>/dev/null; wait; rgw_stop; rm -rf "$logdir"; exit 130' INT TERM
while [ ${#pending[@]} -gt 0 ] || [ $running -gt 0 ]; do
	while [ $running -lt "$jobs" ] && [ ${#pending[@]} -gt 0 ]; do
		pick=-1
		for i in "${!pending[@]}"; do
			n=${pending[$i]%%$'\t'*}
			if is_serial "$n"; then
				may_start_serial "$n" && { pick=$i; break; }
			elif [ $pick -lt 0 ]; then
				pick=$i
				[ "$jobs" = 1 ] && break # one at a time: in order
			fi
		done
		[ $pick -ge 0 ] || break
		start_test "${pending[$pick]}"
		n=${pending[$pick]%%$'\t'*}
		is_serial "$n" && group_pid[${serial[$n]}]=$! && nserial=$((nserial + 1))
		unset "pending[$pick]"
		pending=("${pending[@]}")
		running=$((running + 1))
	done
	wait -n -p done_pid
	[ -n "${done_pid:-}" ] && [ -n "${name_of_pid[$done_pid]:-}" ] || continue
	report "$done_pid"
	for g in "${!group_pid[@]}"; do
		[ "${group_pid[$g]}" = "$done_pid" ] && unset "group_pid[$g]" && nserial=$((nserial - 1))
	done
	running=$((running - 1))
done
# make check-projects' scripts run here only when named (GG_TESTS=projects/zlib).
for e in "$here"/projects/*.sh; do
	[[ " ${only[*]:-} " == *" projects/"* ]] && selected "projects/$(basename "$e" .sh)" || continue
	start_test "projects/$(basename "$e" .sh)"$'\t'bash$'\t'"$e"$'\t'"$build"
	pid=$!
	wait "$pid"
	report "$pid"
done
rgw_stop
rm -rf "$logdir"
total=$((SECONDS - start))
slowest=
[ ${#times[@]} -eq 0 ] || slowest="; slowest: $(printf '%s\n' "${times[@]}" | sort -rn | head -n 5 |
	awk '{ printf "%s%s (%ss)", (NR > 1 ? ", " : ""), $2, $1 }')"
echo "total $((total / 60))m$((total % 60))s (-j $jobs)$slowest"
[ ${#other_tier[@]} -eq 0 ] || [ $tier = slow ] ||
	echo "not run here, in make check-slow (tests/slow.list): ${other_tier[*]}"
if [ ${#failures[@]} -gt 0 ]; then echo "failed: ${failures[*]}"; fi
echo "$passed passed, $failed failed"
# A selection that names no test (a typo in GG_TESTS) is no pass.
[ $((passed + failed)) -gt 0 ] || { echo "no test was selected (GG_TESTS='$only')"; exit 1; }
[ "$failed" -eq 0 ]
