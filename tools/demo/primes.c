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
