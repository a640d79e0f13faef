# Shared helpers for the end-to-end tests. Source it, then call setup BUILD.
# Each test prints "ok - NAME" or "not ok - NAME"; finish prints the count and
# exits non-zero if anything failed. Missing tools fail the test, naming them.
set -u
t_fail=0 t_pass=0

setup() {
	local build=${1:?usage: $0 BUILD_DIR}
	BUILD=$(cd "$build" && pwd)
	export PATH="$BUILD/bin:$PATH"
	T=$(mktemp -d /tmp/gg-e2e.XXXXXX)
	unset GG_DIR
	trap cleanup EXIT
}

# Tests may append commands to run at exit (e.g. unmounting).
cleanup_cmds=()
at_exit() { cleanup_cmds+=("$*"); }
cleanup() {
	local c
	for c in "${cleanup_cmds[@]}"; do eval "$c" >/dev/null 2>&1 || true; done
	[ -n "${GG_KEEP_TMP:-}" ] || rm -rf "$T"
}

ok() { t_pass=$((t_pass + 1)); echo "ok - $*"; }
not_ok() { t_fail=$((t_fail + 1)); echo "not ok - $*"; }
check() { # DESCRIPTION COMMAND...
	local d=$1; shift
	if "$@"; then ok "$d"; else not_ok "$d"; fi
}
need() { # TOOL...: fail (never skip) when a tool is missing
	local x
	for x in "$@"; do
		command -v "$x" >/dev/null 2>&1 || { not_ok "required tool '$x' is not installed (tools/deps.sh installs it)"; finish; }
	done
}
finish() {
	echo "$t_pass passed, $t_fail failed"
	[ "$t_fail" -eq 0 ] && exit 0 || exit 1
}

# Every object in a store has the size its name says (no partial objects).
store_objects_whole() { # STORE_DIR
	local f n size want
	for f in "$1"/objects/*/*; do
		[ -e "$f" ] || continue
		n=$(basename "$f")
		size=$(stat -c %s "$f")
		want=$((16#${n: -12}))
		[ "$size" -eq "$want" ] || { echo "partial object $f: $size bytes, name says $want"; return 1; }
	done
	return 0
}
