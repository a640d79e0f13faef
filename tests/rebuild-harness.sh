#!/usr/bin/env bash
# A differential rebuild harness: does `gg infer` + `gg force` give what a
# plain build from scratch gives, after every edit of a project?
#
#   tests/rebuild-harness.sh [-w WORKDIR] [-s] -t 'TARGET...' PROJECT STEPS -- BUILD_COMMAND...
#
# PROJECT is a source tree (never modified: it is copied). Two copies are
# kept: gg/, built incrementally with `gg infer BUILD_COMMAND` and then
# `gg force TARGET...` (placeholders only), and src/, never built, which
# gets the same edits. Before the first step and after every step, src/ is
# copied to plain-N/ and built there with BUILD_COMMAND, and every TARGET
# of gg/ must equal plain-N/'s byte for byte (cmp). With -s each plain
# build runs at gg/'s own path (gg/ is moved aside meanwhile), for builds
# whose outputs record their directory (CMake's rpaths, debug info).
#
# STEPS is a file of lines "KIND DESCRIPTION | COMMAND" (blank lines and
# lines starting with # are skipped). COMMAND runs with bash in the copy,
# at once after the previous build (no sleep: an edit within the same second
# as the build that read the file is the case that matters). KIND is
#   edit   COMMAND changes the sources: it runs in gg/ and then in src/
#   memo   as edit, and the build must be served from the models' memo:
#          the "(from the model memo)" lines gg infer logs must be > 0
#          (e.g. after "make clean" at an unchanged state)
#   state  COMMAND changes only gg/'s build state (e.g. damages .gg/); not
#          the sources, so it does not run in src/
#
# Prints "ok - ..." / "not ok - ..." lines (times are printed, never
# asserted) and exits 1 if any step failed. Needs gg on PATH, cmp, and
# whatever BUILD_COMMAND needs. WORKDIR (default: a new mktemp directory,
# removed at the end unless GG_KEEP_TMP is set) must not exist or be empty.
set -u
usage() {
	echo "usage: $0 [-w WORKDIR] [-s] -t 'TARGET...' PROJECT STEPS -- BUILD_COMMAND..." >&2
	exit 2
}
work='' targets='' same=''
while getopts "w:t:s" o; do
	case $o in
	w) work=$OPTARG ;;
	s) same=1 ;;
	t) targets=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 4 ] && [ "$3" = -- ] && [ -n "$targets" ] || usage
project=$(cd "$1" && pwd) || exit 2
steps=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
shift 3
build=("$@")
[ -r "$steps" ] || { echo "$0: cannot read $steps" >&2; exit 2; }
for x in gg cmp; do
	command -v "$x" >/dev/null || { echo "not ok - required tool '$x' is not on PATH"; exit 1; }
done
if [ -z "$work" ]; then
	work=$(mktemp -d /tmp/gg-rebuild.XXXXXX)
	[ -n "${GG_KEEP_TMP:-}" ] || trap 'rm -rf "$work"' EXIT
else
	mkdir -p "$work" && [ -z "$(ls -A "$work")" ] || { echo "$0: $work is not empty" >&2; exit 2; }
	work=$(cd "$work" && pwd)
fi

passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok - $*"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $*"; }
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
is_placeholder() { [ "$(head -c 21 "$1" 2>/dev/null | tr -d '\0')" = '#!/usr/bin/env gg-run' ]; }

cp -a "$project" "$work/src" && cp -a "$project" "$work/gg" || exit 2
(cd "$work/gg" && gg init . >/dev/null) || { not_ok "gg init in $work/gg"; exit 1; }
log=${GG_INFER_LOG:-$work/gg/.gg/infer.log}

# Builds gg/ and plain-N/ at the current state and compares; sets `hits`.
n=0
build_and_compare() { # WHAT
	local what=$1 t0 lines f rc=0 out
	n=$((n + 1))
	lines=$(cat "$log" 2>/dev/null | wc -l)
	t0=$(date +%s%N)
	if ! out=$(cd "$work/gg" && gg infer "${build[@]}" 2>&1); then
		not_ok "$what: gg infer ${build[*]} failed"
		sed 's/^/    /' <<<"$out" | tail -n 20
		hits=0
		return 1
	fi
	local infer_ms
	infer_ms=$(ms_since "$t0")
	hits=$(tail -n +$((lines + 1)) "$log" 2>/dev/null | grep -c '(from the model memo)')
	local force=()
	for f in $targets; do is_placeholder "$work/gg/$f" && force+=("$f"); done
	t0=$(date +%s%N)
	if [ ${#force[@]} -gt 0 ] && ! out=$(cd "$work/gg" && gg force --no-progress "${force[@]}" 2>&1); then
		not_ok "$what: gg force ${force[*]} failed"
		sed 's/^/    /' <<<"$out" | tail -n 20
		return 1
	fi
	local force_ms
	force_ms=$(ms_since "$t0")
	local pdir=$work/plain-$n prc=0
	if [ -n "$same" ]; then
		mv "$work/gg" "$work/gg.lazy" || return 1
		pdir=$work/gg
	fi
	cp -a "$work/src" "$pdir" || return 1
	out=$(cd "$pdir" && "${build[@]}" 2>&1) || prc=1
	if [ -n "$same" ]; then
		mv "$work/gg" "$work/plain-$n" && mv "$work/gg.lazy" "$work/gg" || return 1
	fi
	if [ $prc -ne 0 ]; then
		not_ok "$what: the plain build (${build[*]}) failed"
		sed 's/^/    /' <<<"$out" | tail -n 20
		return 1
	fi
	for f in $targets; do
		if ! cmp "$work/gg/$f" "$work/plain-$n/$f" >/dev/null 2>&1; then
			echo "    $f differs from a clean build's (see $work/gg and $work/plain-$n)"
			rc=1
		fi
	done
	[ -n "${GG_KEEP_TMP:-}" ] || rm -rf "$work/plain-$n"
	if [ $rc -eq 0 ]; then
		ok "$what: outputs equal a clean build's (infer ${infer_ms} ms, force ${force_ms} ms, $hits memo hits)"
	else
		not_ok "$what: outputs equal a clean build's"
	fi
	return $rc
}

build_and_compare "initial build" </dev/null
exec 3<"$steps"
while IFS= read -r line <&3 || [ -n "$line" ]; do
	case $line in '' | '#'*) continue ;; esac
	kind=${line%% *}
	rest=${line#* }
	desc=${rest%% | *}
	cmd=${rest#* | }
	[ "$desc" != "$rest" ] || { not_ok "malformed step (no ' | '): $line"; continue; }
	case $kind in
	edit | memo | state) ;;
	*) not_ok "unknown step kind '$kind': $line"; continue ;;
	esac
	(cd "$work/gg" && bash -c "$cmd" </dev/null >/dev/null) || { not_ok "$desc: the command failed in gg/: $cmd"; continue; }
	if [ "$kind" != state ]; then
		(cd "$work/src" && bash -c "$cmd" </dev/null >/dev/null) || { not_ok "$desc: the command failed in src/: $cmd"; continue; }
	fi
	build_and_compare "$desc" </dev/null || continue
	if [ "$kind" = memo ]; then
		if [ "$hits" -gt 0 ]; then
			ok "$desc: served from the models' memo ($hits outputs)"
		else
			not_ok "$desc: served from the models' memo (no '(from the model memo)' line in $log)"
		fi
	fi
done
exec 3<&-
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
