#!/usr/bin/env bash
# The main job, end to end, on the local engine (no cloud account needed):
# `gg infer make` turns the build of a small real C program into a graph of
# thunks (the compiler's real stages: cc1, as, ld) in seconds, ggfs mounts the
# directory, and the program runs through the mount. Opening it forces the
# whole graph in parallel; a second run is served from the store.
set -eu
build=$(cd "${1:-build}" && pwd)
export PATH="$build/bin:$PATH"
demo=$(mktemp -d /tmp/ggfs-demo.XXXXXX)
mnt="$demo/mnt"
cleanup() { fusermount3 -u "$mnt" 2>/dev/null || true; }
trap cleanup EXIT
mkdir -p "$demo/src" "$mnt"
cd "$demo/src"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "a small C program in $demo/src"
cat > primes.h <<'C'
int is_prime(unsigned n);
unsigned count_primes(unsigned below);
C
cat > primes.c <<'C'
#include "primes.h"
int is_prime(unsigned n)
{
	if (n < 2)
		return 0;
	for (unsigned d = 2; d * d <= n; d++)
		if (n % d == 0)
			return 0;
	return 1;
}
unsigned count_primes(unsigned below)
{
	unsigned c = 0;
	for (unsigned n = 0; n < below; n++)
		c += is_prime(n);
	return c;
}
C
cat > main.c <<'C'
#include <stdio.h>
#include <stdlib.h>
#include "primes.h"
int main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], 0, 10) : 100000;
	printf("%u primes below %u\n", count_primes(n), n);
	return 0;
}
C
ls -l

cat > Makefile <<'MK'
CFLAGS = -O2 -Wall
primes: main.o primes.o
	$(CC) $(CFLAGS) -o $@ main.o primes.o
%.o: %.c primes.h
	$(CC) $(CFLAGS) -c $<
MK

say "gg infer make -j2: the real build runs with model compilers (nothing is compiled yet)"
gg init . >/dev/null
time gg infer make -j2
echo "main.o, primes.o and primes are placeholders:"
head -c 200 primes; echo

say "mount it: ggfs src mnt"
ggfs "$demo/src" "$mnt"
ls -l "$mnt"
echo "state of mnt/primes: $(getfattr --absolute-names --only-values -n user.gg.state "$mnt/primes" 2>/dev/null || echo '?')"

say "run the program through the mount (forces cc1, as and the link, in parallel)"
time "$mnt/primes" 200000

say "run it again (served from the store)"
time "$mnt/primes" 300000
ls -l "$mnt/primes"
echo "state of mnt/primes: $(getfattr --absolute-names --only-values -n user.gg.state "$mnt/primes")"
echo "the placeholder in src is untouched:"
head -c 60 "$demo/src/primes"; echo
say "done: the demo is in $demo"
