#!/usr/bin/env bash
# Runs every benchmark of the project against one build directory and prints
# each result as a ratio to a baseline measured in the same run.
#   make bench            (or: bench/run.sh build)
# Environment: GG_BENCH_RUNS (sandbox runs, default 300), GG_BENCH_THUNKS
# (graph size, default 10000), GG_BENCH_ONLY (core|force|fs|... substrings,
# separated by spaces),
# GG_BENCH_SETTLE (seconds of `sync` and pause before a measurement that
# creates many files, default 6: this machine's ext4 has no journal, and its
# inode allocator then skips every inode freed in the last 5-35 s, one by one,
# so creates right after deletions — ours or another process's — cost up to
# 20x more; numbers that are mostly system time vary with that).
set -eu
build=$(cd "${1:-build}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
export PATH="$build/bin:$PATH"
work=$(mktemp -d /tmp/gg-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
only=${GG_BENCH_ONLY:-}
want() {
	[ -z "$only" ] && return 0
	for w in $only; do [[ "$1" == *"$w"* ]] && return 0; done
	return 1
}

# A trivial static program: writes argv[2] to the file argv[1].
cat > "$work/trivial.c" <<'C'
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
gcc -O2 -static -o "$work/trivial" "$work/trivial.c"

if want core; then
	echo "== core: sandbox overhead and a 10,000-thunk graph"
	"$build/bench/bench_core" "$work/core" "$work/trivial" "${GG_BENCH_RUNS:-300}" "${GG_BENCH_THUNKS:-10000}"
fi

if want force; then ( # a subshell: its cd and CCACHE_DIR stay in it
	echo "== force: latency of 'gg force' on an already-forced target"
	# Commands are started by a small spawner (posix_spawn, as make does),
	# not by this shell, whose own fork of itself would add ~1 ms to each.
	cat > "$work/spawn.c" <<'C'
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
/* spawn N PROGRAM [ARG...]: runs it N times, stdout to /dev/null; prints
 * the mean wall time of a run in ns, or fails if a run fails. */
extern char **environ;
int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	long n = atol(argv[1]);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++) {
		pid_t pid;
		int st;
		if (posix_spawnp(&pid, argv[2], &fa, NULL, argv + 2, environ) != 0 ||
		    waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "spawn: %s failed\n", argv[2]);
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.0f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n);
	return 0;
}
C
	cc -O2 -o "$work/spawn" "$work/spawn.c"
	mkdir -p "$work/f" && cd "$work/f"
	gg init . >/dev/null
	echo hi > in.txt
	name=$(gg thunk -i in.txt -o out.txt -- sort -o out.txt in.txt)
	gg force "$name#out.txt" >/dev/null
	n=200
	base=$("$work/spawn" $n /bin/true)
	forced=$("$work/spawn" $n gg force "$name#out.txt")
	awk -v b="$base" -v f="$forced" 'BEGIN {
		printf "  exec of /bin/true    %8.3f ms   (baseline: process start-up)\n", b / 1e6
		printf "  gg force (memo hit)  %8.3f ms   ratio %.2fx   (goal <= 5 ms)\n", f / 1e6, f / b }'
	# What a build user compares it with: a ccache hit on a one-line file.
	if command -v ccache >/dev/null; then
		echo 'int f(void) { return 1; }' > one.c
		export CCACHE_DIR="$work/ccache"
		ccache cc -c one.c -o one.o && ccache cc -c one.c -o one.o
		hit=$("$work/spawn" $n ccache cc -c one.c -o one.o)
		awk -v c="$hit" -v f="$forced" 'BEGIN {
			printf "  ccache hit           %8.3f ms   gg force / ccache %.2fx\n", c / 1e6, f / c }'
	else
		echo "  ccache hit: not measured (no ccache on PATH)"
	fi
) fi

for b in "$here"/*.sh; do
	case "$(basename "$b")" in run.sh | compare.sh) continue ;; esac
	want "$(basename "$b" .sh)" || continue
	echo "== $(basename "$b" .sh)"
	bash "$b" "$build"
done
