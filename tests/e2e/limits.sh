#!/usr/bin/env bash
# Limits per thunk: a thunk allocating without end is stopped at a small
# configured memory limit with an error naming the limit and its peak, while
# a trivial thunk beside it finishes; an endless loop stops at a short
# default time limit (set in the configuration file); a fork bomb stops at
# the process limit, in the sandbox and, as root, under --no-sandbox (where
# RLIMIT_NPROC would do nothing); values that are not numbers or would
# overflow are refused with a clear error, a thunk's --timeout (gg thunk,
# gg model-generic) as --default-timeout is. Times are printed, not asserted.
. "$(dirname "$0")/lib.sh"
setup "$@"
need gg cc ggfs fusermount3
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$T"
export GG_TIMEOUT=60 # a bound, should a limit not work
[ "$(id -u)" = 0 ] || not_ok "this test must run as root (a fork bomb under --no-sandbox as root)"
cg=none
[ -w /sys/fs/cgroup/pids ] && cg=v1
grep -qw pids "/sys/fs/cgroup$(sed -n 's/^0:://p' /proc/self/cgroup)/cgroup.subtree_control" 2>/dev/null && cg=v2
[ "$cg" != none ] || not_ok "no writable cgroup (v2 delegated, or v1 memory and pids) for the limits"
echo "# cgroups: $cg"

cat >hog.c <<'EOC'
#include <stdlib.h>
#include <string.h>
int main(void)
{
	for (;;) {
		char *p = malloc(1 << 20);
		if (!p)
			return 3;
		memset(p, 1, 1 << 20);
	}
}
EOC
cat >hog256.c <<'EOC'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* 256 MiB, then done: a hog that ends, for limits that might not hold */
int main(void)
{
	for (int i = 0; i < 256; i++) {
		char *p = malloc(1 << 20);
		if (!p)
			return 3;
		memset(p, 1, 1 << 20);
	}
	FILE *f = fopen("o", "w");
	return !f || fputs("fed\n", f) < 0 || fclose(f) != 0;
}
EOC
cat >bomb.c <<'EOC'
#include <unistd.h>
int main(void)
{
	for (;;)
		fork();
}
EOC
cat >spin.c <<'EOC'
int main(void)
{
	for (;;)
		;
}
EOC
cat >ok.c <<'EOC'
#include <stdio.h>
int main(void)
{
	FILE *f = fopen("o", "w");
	return !f || fputs("fine\n", f) < 0 || fclose(f) != 0;
}
EOC
cat >nap.c <<'EOC'
#include <stdio.h>
#include <time.h>
int main(void)
{
	struct timespec ts = {0, 500000000}; /* longer than a kill's grace */
	nanosleep(&ts, NULL);
	FILE *f = fopen("o", "w");
	return !f || fputs("fine\n", f) < 0 || fclose(f) != 0;
}
EOC
for p in hog hog256 bomb spin ok nap; do cc -O0 -static -o $p $p.c || not_ok "compile $p"; done
gg init >/dev/null
marker="GG_LIMITS_TEST=$$.$RANDOM" # in the thunks' environment, to find their processes
th() { gg thunk -e "$marker" -i "$1" -o o --placeholder "$2" -- "$1" >/dev/null; }
th hog hog.out
th hog256 hog256.out
th ok ok.out
th spin spin.out
th bomb bomb.out
th bomb bomb2.out # the same thunk, forced again under --no-sandbox
timed() { local t0=$(date +%s%N); "$@"; local rc=$?; echo "# $(( ($(date +%s%N) - t0) / 1000000 )) ms: $*"; return $rc; }

# ---- memory ----
timed gg force --no-progress -k -j 2 --memory-limit 64M hog.out ok.out 2>mem.err
rc=$?
cat mem.err
check "memory: the force fails with exit status 1" [ "$rc" = 1 ]
check "... the hog is stopped naming the limit and its peak" \
	grep -q "hog.out: .*stopped at the memory limit of 64.0 MiB (GG_MEMORY_LIMIT): the kernel killed a process of it; peak [0-9.]* MiB" mem.err
check "... the trivial thunk beside it finished" [ "$(cat ok.out)" = fine ]
GG_MEMORY_LIMIT=64M timed gg force --no-progress hog.out 2>mem2.err
check "memory: GG_MEMORY_LIMIT sets it too" grep -q "stopped at the memory limit of 64.0 MiB" mem2.err

# ---- v1: memory and swap together get the memory limit ----
# (memory.memsw.limit_in_bytes, where the kernel accounts swap: otherwise a
# thunk swaps around its limit; read while a thunk runs)
mem_base=/sys/fs/cgroup/memory$(sed -n 's/^[0-9]*:memory://p' /proc/self/cgroup)
if [ "$cg" = v1 ] && [ -e "$mem_base/memory.memsw.limit_in_bytes" ]; then
	gg thunk -e "$marker" -i spin -o o --timeout 3 --placeholder spin3.out -- spin >/dev/null
	gg force --no-progress --memory-limit 64M spin3.out 2>spin3.err &
	fp=$!
	sw=
	for _ in $(seq 100); do
		sw=$(cat "$mem_base"/gg-$fp-*/memory.memsw.limit_in_bytes 2>/dev/null | head -1)
		[ -n "$sw" ] && break
		sleep 0.05
	done
	wait $fp
	check "memory (v1): memory and swap together are limited to it (memsw: $sw)" [ "$sw" = 67108864 ]
else
	echo "# no memory.memsw (cgroup $cg, or swap not accounted): memory+swap limit not checked"
fi

# ---- time: the default timeout from the configuration file ----
printf 'GG_TIMEOUT = 2\n' >config
GG_CONFIG=$T/config timed env -u GG_TIMEOUT gg force --no-progress spin.out 2>spin.err
rc=$?
cat spin.err
check "time: an endless loop stops at the configured default time limit" \
	grep -q "spin.out: .*timed out after 2000 ms" spin.err
check "... exit status 1" [ "$rc" = 1 ]

# ---- processes ----
timed gg force --no-progress --process-limit 40 bomb.out 2>bomb.err
cat bomb.err
check "processes: a fork bomb stops at the process limit" \
	grep -q "bomb.out: .*stopped at the process limit of 40 (GG_PROCESS_LIMIT): a fork failed" bomb.err
timed gg force --no-progress --no-sandbox --process-limit 40 bomb2.out 2>bomb2.err
cat bomb2.err
check "... also as root under --no-sandbox" \
	grep -q "bomb2.out: .*stopped at the process limit of 40 (GG_PROCESS_LIMIT): a fork failed" bomb2.err
sleep 0.5
# (zombies do not count: without a namespace, the orphans' reaper is the host's)
alive_bombs() {
	local f p
	for f in /proc/[0-9]*/environ; do
		p=${f#/proc/}
		p=${p%/environ}
		tr '\0' '\n' 2>/dev/null <"$f" | grep -qx "$marker" &&
			grep -qs '^[0-9]* ([^)]*) [^Z]' "/proc/$p/stat" && echo "$p"
	done
}
check "... no process of the bombs is left" [ -z "$(alive_bombs)" ]

# The largest timeout gg thunk takes does not overflow into "at once".
gg thunk --timeout 18446744073 -i nap -o o --placeholder long.out -- nap >/dev/null
gg force --no-progress long.out 2>long.err
check "the largest timeout is no limit, not an overflow" [ "$(cat long.out)" = fine ] || cat long.err

# ---- through a worker: the worker's own limits, from its environment and options ----
. "$here/servers/workers.sh"
export GG_STORAGE=file://$T/bucket
GG_MEMORY_LIMIT=64M worker_start lim --process-limit 40 --default-timeout 2 ||
	not_ok "start a worker with limits"
for t in hog256 bomb spin; do
	timed gg force --no-progress -e "http=${WURL[lim]}" $t.out 2>w$t.err
	cat w$t.err
done
check "worker: GG_MEMORY_LIMIT in its environment stops a 256 MiB hog" \
	grep -q "hog256.out: .*stopped at the memory limit of 64.0 MiB (GG_MEMORY_LIMIT): the kernel killed a process of it; peak [0-9.]* MiB.*worker" whog256.err
check "worker: --process-limit stops the fork bomb" \
	grep -q "bomb.out: .*stopped at the process limit of 40 (GG_PROCESS_LIMIT): a fork failed.*worker" wbomb.err
check "worker: --default-timeout stops the endless loop" \
	grep -q "spin.out: .*timed out after 2000 ms.*worker" wspin.err

# ---- bad values ----
refused() { # DESCRIPTION EXPECTED-MESSAGE COMMAND...
	local d=$1 m=$2
	shift 2
	"$@" >out 2>err && { not_ok "$d: accepted"; return; }
	grep -qF -- "$m" err && ok "$d" || not_ok "$d: $(cat err)"
}
refused "a huge --default-timeout is refused" \
	"--default-timeout=99999999999999: too large (at most 18446744073 seconds)" \
	gg force --default-timeout 99999999999999 ok.out
# A thunk's --timeout, from gg thunk or gg model-generic (one parser): whole
# seconds up to the cap of --default-timeout, 0 for the forcer's default;
# anything else is a usage error (exit 2) naming the option and the value.
tmo() { # COMMAND VALUE: makes a thunk of ./ok with --timeout VALUE
	case $1 in
	thunk) gg thunk --timeout "$2" -o o -- ./ok ;;
	model-generic) gg model-generic --no-placeholders --timeout "$2" 'ok @outfile' -- ./ok o ;;
	esac
}
for c in thunk model-generic; do
	for v in -5 junk 1.5 '' 18446744074 99999999999999; do
		case $v in
		1844* | 9999*) m="too large (at most 18446744073 seconds)" ;;
		*) m="expected whole seconds" ;;
		esac
		st=0
		tmo $c "$v" >out 2>err || st=$?
		check "gg $c --timeout '$v' is a usage error (exit 2: $st)" [ "$st" = 2 ]
		check "... saying: $(cat err)" grep -qF -- "--timeout $v: $m" err
	done
	for v in 0:default 18446744073:18446744073000\ ms; do
		n=$(tmo $c "${v%%:*}" 2>err)
		check "gg $c --timeout ${v%%:*} is taken: $(cat err)" \
			sh -c "gg describe '$n' | grep -qx '  timeout: ${v#*:}'"
	done
done
refused "an overflowing --memory-limit is refused" \
	"--memory-limit=99999999999999T: expected a size such as 512M or 4G (or none)" \
	gg force --memory-limit 99999999999999T ok.out
refused "a GG_PROCESS_LIMIT that is not a number is refused" \
	"GG_PROCESS_LIMIT=many: expected a number of processes (or none)" \
	env GG_PROCESS_LIMIT=many gg force ok.out
refused "a process limit above the kernel's is refused" \
	"--process-limit=5000000: too large (at most 4194304 processes)" \
	gg force --process-limit 5000000 ok.out
refused "worker: an overflowing --memory-limit is refused" \
	"--memory-limit=99999999999999T: expected a size such as 512M or 4G (or none)" \
	gg worker --listen 127.0.0.1:0 --memory-limit 99999999999999T
# A bad value, from the environment or an option, is a usage error (exit 2).
st=0; env GG_PROCESS_LIMIT=many gg force ok.out 2>/dev/null || st=$?
check "a bad GG_PROCESS_LIMIT exits 2 (usage), as a bad option does" [ "$st" = 2 ]
st=0; env GG_TIMEOUT=x gg worker --listen 127.0.0.1:0 2>/dev/null || st=$?
check "worker: a bad GG_TIMEOUT exits 2" [ "$st" = 2 ]
st=0; gg worker --listen 127.0.0.1:0 --memory-limit lots 2>/dev/null || st=$?
check "worker: a bad --memory-limit exits 2" [ "$st" = 2 ]
# ggfs as a daemon reads them after its fork: its parent waits for that.
mkdir -p dsrc dmnt && (cd dsrc && gg init . >/dev/null)
at_exit "fusermount3 -u -z '$T/dmnt' 2>/dev/null"
refused "ggfs: a bad GG_MEMORY_LIMIT fails the ggfs command itself, not only the daemon" \
	"GG_MEMORY_LIMIT=lots: expected a size such as 512M or 4G (or none)" \
	env GG_MEMORY_LIMIT=lots ggfs dsrc dmnt
# at once: the daemon reports its failure once its mount is gone
check "... and leaves no mount when the command returns" sh -c "! grep -qs ' $T/dmnt ' /proc/mounts"
refused "ggfs: so does a bad GG_REMOTE_CACHE" "remote cache mode 'bogus'" \
	env GG_REMOTE_CACHE=bogus ggfs dsrc dmnt
check "... leaving no mount either" sh -c "! grep -qs ' $T/dmnt ' /proc/mounts"
# In the foreground too, it leaves the directory it started in, as
# fuse_daemonize did: it keeps no filesystem busy.
ggfs -f dsrc dmnt 2>fg.log &
fgpid=$!
at_exit "ggfs_reap $fgpid"
ggfs_wait_mounted dmnt $fgpid || not_ok "ggfs -f mounts"
check "ggfs -f works in / (its cwd: $(readlink /proc/$fgpid/cwd))" [ "$(readlink /proc/$fgpid/cwd)" = / ]
fusermount3 -u dmnt
finish
