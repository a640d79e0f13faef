int is_prime(unsigned n);
unsigned count_primes(unsigned below);
