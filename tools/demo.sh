#!/usr/bin/env bash
# The main job, end to end, on the local engine (no cloud account needed):
# describe the build of a small real C program as a graph of thunks (the
# compiler's real stages: cc1, as, ld), mount the directory with ggfs, and
# run the program through the mount. Opening it forces the whole graph in
# parallel; a second run is served from the store.
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

say "describe the build as thunks (nothing is compiled yet)"
gg init . >/dev/null
cc1=$(gcc -print-prog-name=cc1)
f() { gcc -print-file-name="$1"; }
for x in main primes; do
	gcc -E $x.c -o $x.i # preprocessing on the host, in this demo
	gg thunk -i $x.i -o $x.s --placeholder $x.s -- "$cc1" -quiet -fpreprocessed $x.i -O2 -o $x.s >/dev/null
	gg thunk -i $x.s -o $x.o --placeholder $x.o -- as $x.s -o $x.o >/dev/null
done
libs=(crt1.o crti.o crtbeginT.o crtend.o crtn.o libgcc.a libgcc_eh.a libc.a)
ins=()
for l in "${libs[@]}"; do ins+=(-i "$l=$(f "$l")"); done
gg thunk -i main.o -i primes.o "${ins[@]}" -o primes --placeholder primes -- \
	ld -static -o primes crt1.o crti.o crtbeginT.o main.o primes.o \
	--start-group libgcc.a libgcc_eh.a libc.a --end-group crtend.o crtn.o >/dev/null
echo "placeholders: main.s main.o primes.s primes.o primes"
head -c 200 primes; echo

say "mount it: ggfs src mnt"
ggfs "$demo/src" "$mnt"
ls -l "$mnt"
echo "state of mnt/primes: $(getfattr --absolute-names --only-values -n user.gg.state "$mnt/primes" 2>/dev/null || echo '?')"

say "run the program through the mount (forces cc1, as and ld in parallel)"
time "$mnt/primes" 200000

say "run it again (served from the store)"
time "$mnt/primes" 300000
ls -l "$mnt/primes"
echo "state of mnt/primes: $(getfattr --absolute-names --only-values -n user.gg.state "$mnt/primes")"
echo "the placeholder in src is untouched:"
head -c 60 "$demo/src/primes"; echo
say "done: the demo is in $demo"
