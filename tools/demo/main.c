#include <stdio.h>
#include <stdlib.h>
#include "primes.h"
int main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], 0, 10) : 100000;
	printf("%u primes below %u\n", count_primes(n), n);
	return 0;
}
