# A small real C project for the shared-cache tests (source after
# tests/e2e/lib.sh's setup): the demo's primes program in two files and a
# Makefile, turned into thunks and placeholders by `gg infer make`.
#
#   c_project DIR   writes the sources into DIR (created), makes its store
#                   (DIR/.gg) and runs `gg infer make` there: primes, main.o
#                   and primes.o become placeholders; nothing is compiled

c_project() {
	mkdir -p "$1"
	(
		cd "$1" || exit 1
		cat >primes.h <<'C'
int is_prime(unsigned n);
unsigned count_primes(unsigned below);
C
		cat >primes.c <<'C'
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
		cat >main.c <<'C'
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
		printf 'CFLAGS = -O2 -Wall\nprimes: main.o primes.o\n\t$(CC) $(CFLAGS) -o $@ main.o primes.o\n%%.o: %%.c primes.h\n\t$(CC) $(CFLAGS) -c $<\n' >Makefile
		gg init . >/dev/null && gg infer make >infer.out 2>&1
	)
}
