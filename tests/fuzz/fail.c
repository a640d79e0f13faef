/**
 * @file fail.c
 * The one way a fuzz target reports a broken property (fuzz.h), linked with
 * the built-in driver and with libFuzzer alike.
 */
#include "tests/fuzz/fuzz.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

_Noreturn void fuzz_fail(const char *what, const char *detail, const uint8_t *data, size_t size)
{
	fprintf(stderr, "%s: %s%s%s\ninput (%zu bytes):\n", program_invocation_short_name, what,
	        detail ? ": " : "", detail ? detail : "", size);
	fwrite(data, 1, size < 4096 ? size : 4096, stderr);
	fprintf(stderr, "\n");
	abort();
}
