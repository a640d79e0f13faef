#!/usr/bin/env bash
# Unit tests as thunks (see README.md):
#   examples/unittests/make-thunks.sh BUILD_DIR WORK_DIR [TEST...]
# makes, in WORK_DIR, one thunk per test binary (default: the project's unit
# tests that need no host files or privileges, plus the deliberately failing
# test_fails built here) with a placeholder WORK_DIR/results/TEST.log, and a
# summary thunk with a placeholder WORK_DIR/results/summary.txt. Nothing is
# run: read the files through a ggfs mount, or `gg force` them.
set -eu
build=$(cd "${1:?usage: make-thunks.sh BUILD_DIR WORK_DIR [TEST...]}" && pwd)
work=${2:?usage: make-thunks.sh BUILD_DIR WORK_DIR [TEST...]}
shift 2
here=$(cd "$(dirname "$0")" && pwd)
tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=(test_hash test_namemap test_placeholder test_scheduler test_util test_fails)
for tool in gg gcc ldd awk; do
	command -v $tool >/dev/null || { echo "make-thunks.sh: $tool is not installed" >&2; exit 1; }
done
mkdir -p "$work/results" "$work/.bin"
work=$(cd "$work" && pwd)
cd "$work"
[ -d .gg ] || gg init . >/dev/null
# Compiled from its own folder, so no host path ends up in the binary.
(cd "$here" && gcc -O2 -o "$work/.bin/test_fails" test_fails.c)

# A test binary is dynamically linked: its loader and libraries are inputs
# under lib/, and it runs through the loader explicitly, as gg thunk runs
# PROGRAM. (gg thunk adds only PROGRAM's closure, and PROGRAM here is sh.)
lib_inputs() { # BINARY
	ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
		while read -r l; do printf -- '-i\nlib/%s=%s\n' "$(basename "$l")" "$l"; done
}

logs=()
for t in "${tests[@]}"; do
	bin=$build/tests/$t
	[ "$t" != test_fails ] || bin=$work/.bin/test_fails
	[ -x "$bin" ] || { echo "make-thunks.sh: no test binary $bin (make tests)" >&2; exit 1; }
	loader=$(ldd "$bin" | awk '$1 ~ /^\// { print $1 }')
	mapfile -t libs < <(lib_inputs "$bin")
	# A sanitizer build (make SAN=1) cannot run in a sandbox: ASan reads its
	# options and LeakSanitizer the threads from /proc, which is not there.
	if ldd "$bin" | grep -q libasan; then
		echo "make-thunks.sh: $bin is built with ASan, which needs /proc (not in a sandbox); use a plain build" >&2
		exit 1
	fi
	# The test's status would decide whether the thunk's outputs are kept, so
	# the wrapper always exits 0 and writes the verdict as the log's last line.
	gg thunk -i "bin/$t=$bin" "${libs[@]}" -o "results/$t.log" --placeholder "results/$t.log" \
		--timeout 120 -- sh -c "lib/$(basename "$loader") --library-path lib bin/$t >results/$t.log 2>&1
s=\$?
if [ \$s -eq 0 ]; then echo '== $t: PASS' >>results/$t.log
else echo \"== $t: FAIL (exit status \$s)\" >>results/$t.log; fi" >/dev/null
	logs+=(-i "results/$t.log")
done

# The summary reads each log's last line with shell builtins only.
gg thunk "${logs[@]}" -o results/summary.txt --placeholder results/summary.txt -- sh -c '
pass=0 fail=0 failed=
for f in results/*.log; do
	last=
	while IFS= read -r line || [ -n "$line" ]; do last=$line; done <"$f"
	name=${f#results/}
	name=${name%.log}
	case "$last" in
	"== $name: PASS") pass=$((pass + 1)); echo "PASS $name" ;;
	"== $name: FAIL"*) fail=$((fail + 1)); failed="$failed $name"; echo "FAIL $name ${last#*FAIL }" ;;
	*) fail=$((fail + 1)); failed="$failed $name"; echo "FAIL $name (no verdict: the test was killed?)" ;;
	esac
done >results/summary.txt
echo "passed: $pass; failed: $fail${failed:+ (}${failed# }${failed:+)}" >>results/summary.txt' >/dev/null
echo "made ${#tests[@]} test thunks and results/summary.txt in $work"
