#!/usr/bin/env bash
# Runs the whole suite against one build directory: every unit test binary
# (BUILD/tests/test_*), every fuzz target for a bounded time, and every
# end-to-end script (tests/e2e/*.sh, which get BUILD as their argument).
# Prints one line per test with its time, then the total time and the
# slowest tests, and, last, "N passed, N failed".
set -u
build=${1:?usage: tests/run.sh BUILD_DIR}
build=$(cd "$build" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
export PATH="$build/bin:$PATH"
export GG_FUZZ_SECONDS=${GG_FUZZ_SECONDS:-5}
passed=0 failed=0 failures=() times=() start=$SECONDS
logdir=$(mktemp -d /tmp/gg-test-logs.XXXXXX)

run() { # NAME COMMAND...
	local name=$1; shift
	local log="$logdir/${name//\//_}.log" t0=$SECONDS
	if "$@" >"$log" 2>&1; then
		passed=$((passed + 1)); echo "PASS $name ($((SECONDS - t0))s)"
	else
		failed=$((failed + 1)); failures+=("$name"); echo "FAIL $name ($((SECONDS - t0))s)"
		sed 's/^/    /' "$log" | tail -n 60
	fi
	times+=("$((SECONDS - t0)) $name")
}

only=${GG_TESTS:-}   # a substring to run a subset
for t in "$build"/tests/test_*; do
	[ -x "$t" ] || continue
	[[ -z "$only" || "unit/$(basename "$t")" == *"$only"* ]] || continue
	run "unit/$(basename "$t")" "$t"
done
for f in "$build"/tests/fuzz_*; do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	[[ -z "$only" || "fuzz/$name" == *"$only"* ]] || continue
	run "fuzz/$name" "$f" "$here/fuzz/corpus/${name#fuzz_}"
done
for e in "$here"/e2e/*.sh; do
	[ "$(basename "$e")" = lib.sh ] && continue
	[[ -z "$only" || "e2e/$(basename "$e" .sh)" == *"$only"* ]] || continue
	run "e2e/$(basename "$e" .sh)" bash "$e" "$build"
done
# make check-projects' scripts run here only when named (GG_TESTS=projects/zlib).
for e in "$here"/projects/*.sh; do
	[[ "$only" == projects/* && "projects/$(basename "$e" .sh)" == *"$only"* ]] || continue
	run "projects/$(basename "$e" .sh)" bash "$e" "$build"
done
rm -rf "$logdir"
total=$((SECONDS - start))
slowest=
[ ${#times[@]} -eq 0 ] || slowest="; slowest: $(printf '%s\n' "${times[@]}" | sort -rn | head -n 5 |
	awk '{ printf "%s%s (%ss)", (NR > 1 ? ", " : ""), $2, $1 }')"
echo "total $((total / 60))m$((total % 60))s$slowest"
if [ ${#failures[@]} -gt 0 ]; then echo "failed: ${failures[*]}"; fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
