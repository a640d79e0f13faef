/**
 * @file fail.c
 * The one way a fuzz target reports a broken property (fuzz.h), and the
 * helpers targets share; linked with the built-in driver and with libFuzzer
 * alike.
 */
#include "tests/fuzz/fuzz.h"

#include "core/stamp.h"
#include "core/util.h"

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

void fuzz_given_and_sealed(const uint8_t *data, size_t size,
                           void (*once)(const uint8_t *data, size_t size))
{
	once(data, size);
	struct buf sealed = BUF_INIT;
	buf_add(&sealed, data, size);
	stamp_seal(&sealed);
	once((const uint8_t *)sealed.data, sealed.len);
	buf_free(&sealed);
}
