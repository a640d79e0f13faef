/**
 * @file fuzz.h
 * What a fuzz target (tests/fuzz/fuzz_*.c) and the driver share: the
 * libFuzzer entry point each target defines, and the one way a target
 * reports a broken property.
 */
#ifndef GG_FUZZ_H
#define GG_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Prints "TARGET: WHAT[: DETAIL]" and the input (its first 4 KiB) on stderr,
 * then aborts, which the driver (or libFuzzer) reports as a crash and saves
 * the input. */
_Noreturn void fuzz_fail(const char *what, const char *detail, const uint8_t *data, size_t size);

/* Runs once() on the input as given (a cache entry's seal must refuse nearly
 * all of it), then on the input with its seal appended (stamp_seal), so the
 * parser behind the seal sees every mutation too. */
void fuzz_given_and_sealed(const uint8_t *data, size_t size,
                           void (*once)(const uint8_t *data, size_t size));

#endif
