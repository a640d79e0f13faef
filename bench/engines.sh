#!/usr/bin/env bash
# The coordinator at scale: N trivial, independent thunks (default 10,000)
# forced through the http engine with 1,000 in flight against local
# `gg worker --listen` processes, storage on a local file:// directory.
#
# The workers run with --fake-exec (they answer with made-up outputs instead
# of running anything): on this 2-core machine real workers would share the
# CPUs with the coordinator and measure the sandbox, not the coordinator.
# Everything else is real: HTTP/1.1 with keep-alive through libcurl's multi
# interface on one thread, the wire format both ways, per-thunk input checks
# against storage, inline outputs verified by name and stored, the memo.
#
# Prints dispatches per second, the coordinator's CPU per thunk, and its peak
# memory, each against its goal; then the same with workers that really run
# the thunks (fewer of them: GG_BENCH_REAL, default 1,000), for scale.
#
#   bench/engines.sh [BUILD]     (also run by `make bench`, or
#                                 GG_BENCH_ONLY=engines bench/run.sh build)
# Environment: GG_BENCH_ENGINE_THUNKS (default 10000), GG_BENCH_INFLIGHT
# (default 1000), GG_BENCH_WORKERS (default 4), GG_BENCH_REAL (default 1000).
set -eu
build=$(cd "${1:-build}" && pwd)
export PATH="$build/bin:$PATH"
n=${GG_BENCH_ENGINE_THUNKS:-10000} inflight=${GG_BENCH_INFLIGHT:-1000}
nworkers=${GG_BENCH_WORKERS:-4} nreal=${GG_BENCH_REAL:-1000}
W=$(mktemp -d "${GG_BENCH_DIR:-/tmp}/gg-bench-engines.XXXXXX")
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cd "$W"

cat > trivial.c <<'C'
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	return fd < 0 || write(fd, argv[2], strlen(argv[2])) < 0;
}
C
gcc -O2 -static -o trivial trivial.c

# N thunks "trivial out XNNNNNN", made from one template by changing the
# fixed-width argument (lengths stay the same, so the encoding stays canonical).
make_thunks() { # DIR COUNT SALT: prints the targets file
	local dir=$1 count=$2 salt=$3
	mkdir -p "$dir" && (cd "$dir" && gg init . >/dev/null)
	local tmpl
	tmpl=$(cd "$dir" && gg thunk -i trivial="$W/trivial" -o out -- ./trivial out "X${salt}000000")
	python3 - "$dir/.gg" "$tmpl" "$count" "$salt" "$dir/thunks" <<'PY'
import glob, os, sys
store, tmpl, count, salt, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
data = open(glob.glob(f"{store}/objects/*/{tmpl}")[0], "rb").read()
key = f"X{salt}000000".encode()
assert data.count(key) == 1
os.makedirs(out)
for i in range(count):
    with open(f"{out}/{i}", "wb") as f:
        f.write(data.replace(key, f"X{salt}{i:06d}".encode()))
PY
	# into the local store (gg push adds files first); prints their names
	(cd "$dir" && ls thunks | sed 's|^|thunks/|' | gg push "file://$dir/scratch" - 2>/dev/null |
		awk '{print $1}' | grep '^T' | sed 's/$/#out/' > targets)
	# (kept until the end: deleting 10,000 files now would slow the next
	# file creations on a no-journal ext4, which skips recently freed inodes)
}

start_workers() { # BASE COUNT OPTION...: workers in BASE/wN; sets urls
	local base=$1 count=$2 i
	shift 2
	urls=
	for i in $(seq 1 "$count"); do
		mkdir -p "$base/w$i"
		(cd "$base/w$i" && exec gg worker --listen 127.0.0.1:0 --port-file port --dir store --max-connections 8192 "$@" 2>log) &
		pids+=($!)
	done
	for i in $(seq 1 "$count"); do
		for _ in $(seq 1 200); do [ -s "$base/w$i/port" ] && break; sleep 0.02; done
		urls="$urls${urls:+,}http://127.0.0.1:$(cat "$base/w$i/port")/execute"
	done
}

stop_workers() { # BASE
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	pids=()
	rm -rf "$1"/w[0-9]*
}

# Runs gg force on DIR's targets; prints "wall user sys maxrss_kib executed".
measure() { # DIR JOBS URLS
	local dir=$1 jobs=$2 u=$3
	(cd "$dir" && ${GG_BENCH_WRAP:-} /usr/bin/time -f '%e %U %S %M' -o time.txt \
		gg force --no-progress --summary -j "$jobs" -e "http=$u" $(cat targets) >/dev/null 2>sum.txt) ||
		{ echo "gg force failed:" >&2; tail -5 "$dir/sum.txt" >&2; exit 1; }
	echo "$(cat "$dir/time.txt") $(grep -o 'executed [0-9]*' "$dir/sum.txt" | awk '{print $2}')"
}

fake_run() { # DIR (where the stores live)
	local d=$1
	echo "engines: $n trivial thunks through -e http, $inflight in flight, $nworkers local workers (--fake-exec),"
	echo "         file:// storage; stores on $(df -T "$d" | awk 'NR==2 {print $2}') ($d)"
	local t0
	t0=$(date +%s.%N)
	make_thunks "$d/fake" "$n" 1
	echo "  (made $n thunks in $(awk "BEGIN{printf \"%.1f\", $(date +%s.%N) - $t0}") s)"
	export GG_STORAGE=file://$d/bucket
	start_workers "$d" "$nworkers" --fake-exec -j 512
	read -r wall user sys rss executed <<<"$(measure "$d/fake" "$inflight" "$urls")"
	[ "$executed" = "$n" ] || { echo "  expected $n executions, got $executed" >&2; exit 1; }
	awk -v n="$n" -v w="$wall" -v u="$user" -v s="$sys" -v m="$rss" 'BEGIN {
		printf "  wall                 %8.2f s\n", w
		printf "  dispatches           %8.0f /s      ratio to goal %.2fx (goal >= 2000/s)\n", n / w, n / w / 2000
		printf "  coordinator CPU      %8.1f us/thunk (user %.2f s + sys %.2f s)\n", (u + s) * 1e6 / n, u, s
		printf "  peak memory          %8.1f MB       ratio to goal %.2fx (goal <= 200 MB)\n", m / 1024, m / 1024 / 200 }'
	stop_workers "$d"
}
fake_run "$W"
# The same with every store in memory: what the coordinator costs without
# the filesystem (creating files dominates above on a disk filesystem).
if [ -z "${GG_BENCH_DIR:-}" ] && [ "$(df -T /dev/shm 2>/dev/null | awk 'NR==2 {print $2}')" = tmpfs ]; then
	S=$(mktemp -d /dev/shm/gg-bench-engines.XXXXXX)
	trap 'cleanup; rm -rf "$S"' EXIT
	fake_run "$S"
	rm -rf "$S"
fi

echo "engines: $nreal trivial thunks through -e http with real execution ($nworkers workers, -j 2 each, $((nworkers * 4)) in flight; for scale)"
make_thunks "$W/real" "$nreal" 2
start_workers "$W" "$nworkers" -j 2
read -r wall user sys rss executed <<<"$(measure "$W/real" $((nworkers * 4)) "$urls")"
awk -v n="$nreal" -v w="$wall" -v u="$user" -v s="$sys" -v m="$rss" 'BEGIN {
	printf "  wall                 %8.2f s        %.0f thunks/s (the workers share the same 2 CPUs)\n", w, n / w
	printf "  coordinator CPU      %8.1f us/thunk\n", (u + s) * 1e6 / n
	printf "  peak memory          %8.1f MB\n", m / 1024 }'
stop_workers "$W"
