/**
 * @file test_fails.c
 * A deliberately failing unit test for examples/unittests: one check passes,
 * one fails, and it exits 1 like the project's tests do on a failure. It
 * shows a failure being reported (with its log) while the others pass.
 */
#include <stdio.h>

static int failures;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (cond) {                                                                        \
			printf("ok - %s\n", #cond);                                                \
		} else {                                                                           \
			printf("not ok - %s (%s:%d)\n", #cond, __FILE__, __LINE__);                \
			failures++;                                                                \
		}                                                                                  \
	} while (0)

int main(void)
{
	CHECK(1 + 1 == 2);
	CHECK(0.1 + 0.2 == 0.3); /* false in binary floating point: the deliberate failure */
	printf("%d passed, %d failed\n", 2 - failures, failures);
	return failures != 0;
}
