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
		command -v "$x" >/dev/null 2>&1 || { not_ok "required tool '$x' is not installed (tools/deps.sh test installs it)"; finish; }
	done
}
finish() {
	echo "$t_pass passed, $t_fail failed"
	[ "$t_fail" -eq 0 ] && exit 0 || exit 1
}

# Processes whose environment holds MARKER (a NAME=VALUE a test gives its
# thunks with `gg thunk -e`): how tests find what a force left running.
marked() { # MARKER: prints their pids
	local f
	for f in /proc/[0-9]*/environ; do
		tr '\0' '\n' 2>/dev/null <"$f" | grep -qx "$1" && echo "${f#/proc/}" | cut -d/ -f1
	done
}
wait_for() { # TRIES COMMAND...: polls every 0.1 s; 0 once COMMAND succeeds
	local n=$1
	shift
	for _ in $(seq "$n"); do "$@" && return 0; sleep 0.1; done
	return 1
}

# Has the process ended? A zombie (not reaped yet by its parent) has.
pid_gone() { # PID
	! kill -0 "$1" 2>/dev/null || grep -qs '^State:.*Z' "/proc/$1/status"
}

has_text() { grep -q -- "$2" <<<"$1"; } # OUTPUT PATTERN
lacks_text() { ! grep -q -- "$2" <<<"$1"; }

# port_busy, free_port, pid_listens, wait_port_file, wait_listening,
# start_on_free_port: starting servers without races.
. "$(dirname "${BASH_SOURCE[0]}")/../servers/ports.sh"

# Every object in a store has the size its name says (no partial objects).
# One find for the sizes, shell arithmetic for the names: no process a file.
store_objects_whole() { # STORE_DIR
	local size n want bad=0
	[ -d "$1/objects" ] || return 0
	while read -r size n; do
		want=$((16#${n: -12}))
		[ "$size" -eq "$want" ] || { echo "partial object $n: $size bytes, name says $want"; bad=1; }
	done < <(find "$1/objects" -mindepth 2 -maxdepth 2 -type f ! -name '.*' -printf '%s %f\n')
	return $bad
}

# ---- ggfs helpers (tests/e2e/ggfs_*.sh) ----

# Starts `ggfs -f [OPTION...] SOURCE MNT` in the background with its stderr in
# LOG and waits until the mount is up. Sets GGFS_PID. Unmounted at exit.
ggfs_mount() { # SOURCE MNT LOG [OPTION...]
	local src=$1 mnt=$2 log=$3
	shift 3
	mkdir -p "$mnt"
	ggfs -f "$@" "$src" "$mnt" 2>>"$log" &
	GGFS_PID=$!
	at_exit "fusermount3 -u -z '$mnt'"
	at_exit "ggfs_reap $GGFS_PID"
	ggfs_wait_mounted "$mnt" "$GGFS_PID"
}

# Is MNT a ggfs mount?
ggfs_mounted() { # MNT
	local m
	m=$(realpath -s "$1")
	grep -qs " $m fuse.ggfs " /proc/mounts
}

ggfs_wait_mounted() { # MNT [PID]
	local i
	for i in $(seq 200); do
		ggfs_mounted "$1" && return 0
		[ -z "${2:-}" ] || kill -0 "$2" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# Unmounts with fusermount3 -u; the daemon (started by ggfs_mount) must then
# exit with status 0 within 10 s (under ASan that also means no leak report).
ggfs_umount() { # MNT
	fusermount3 -u "$1" || return 1
	local i
	for i in $(seq 200); do
		kill -0 "$GGFS_PID" 2>/dev/null || break
		sleep 0.05
	done
	wait "$GGFS_PID"
}

# Kills a ggfs this test started, if it is still running (cleanup only).
ggfs_reap() { # PID
	if grep -qs ggfs "/proc/$1/cmdline"; then
		kill "$1"
		sleep 0.2
		kill -9 "$1"
	fi
	return 0
}

# When a killed ggfs left its mount behind: prints who holds /dev/fuse
# (what keeps a dead daemon's connection alive) and unmounts MNT lazily, so
# that later rounds are judged alone.
ggfs_mount_left() { # MNT
	local f p
	echo "# a mount is left at $1; /dev/fuse is held by:"
	for f in $(find /proc/[0-9]*/fd -lname /dev/fuse 2>/dev/null); do
		p=${f#/proc/}
		p=${p%%/*}
		echo "#   pid $p fd ${f##*/}: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
	done
	fusermount3 -u -z "$1" 2>/dev/null || umount -l "$1"
}

# A log with no sanitizer report.
ggfs_log_clean() { # LOG
	! grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error:' "$1"
}

# Compiles the test programs into $T/helpers: slowrand OUT MS (sleeps MS ms,
# then writes 16 random bytes in hex: different on every execution), fail
# (prints its arguments to stderr, exits 3) and hello (prints a line).
ggfs_helpers() {
	mkdir -p "$T/helpers"
	cat >"$T/helpers/slowrand.c" <<'EOC'
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	long ms = atol(argv[2]);
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
	FILE *r = fopen("/dev/urandom", "rb"), *o = fopen(argv[1], "w");
	if (!r || !o)
		return 3;
	for (int i = 0; i < 16; i++)
		fprintf(o, "%02x", (unsigned)fgetc(r));
	fputc('\n', o);
	return fclose(o) != 0;
}
EOC
	cat >"$T/helpers/hello.c" <<'EOC'
#include <stdio.h>
int main(int argc, char **argv)
{
	printf("hello from %s\n", argc > 1 ? argv[1] : "a forced binary");
	return 0;
}
EOC
	cc -O2 -o "$T/helpers/slowrand" "$T/helpers/slowrand.c" &&
		cc -O2 -o "$T/helpers/hello" "$T/helpers/hello.c"
}

# The path of a thunk's memo entry in a store, or nothing if it has none.
memo_entry() { # STORE_DIR THUNK
	find "$1/memo" -name "$2" -type f 2>/dev/null
}
