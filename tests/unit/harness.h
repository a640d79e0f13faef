/**
 * @file harness.h
 * A tiny test harness: CHECK macros count failures and print the failing
 * expression with its file and line; TEST_MAIN runs the listed test functions
 * and prints "N passed, N failed" (checks) for the runner to add up.
 */
#ifndef GG_HARNESS_H
#define GG_HARNESS_H

#include <stdio.h>
#include <string.h>

static int harness_passed, harness_failed;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (cond) {                                                                        \
			harness_passed++;                                                          \
		} else {                                                                           \
			harness_failed++;                                                          \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
		}                                                                                  \
	} while (0)

#define CHECK_STR(a, b)                                                                            \
	do {                                                                                       \
		const char *a_ = (a), *b_ = (b);                                                   \
		if (a_ && b_ && !strcmp(a_, b_)) {                                                 \
			harness_passed++;                                                          \
		} else {                                                                           \
			harness_failed++;                                                          \
			fprintf(stderr, "%s:%d: CHECK_STR failed: %s == %s (\"%s\" vs \"%s\")\n",  \
			        __FILE__, __LINE__, #a, #b, a_ ? a_ : "(null)",                    \
			        b_ ? b_ : "(null)");                                               \
		}                                                                                  \
	} while (0)

/* A failing call whose last error must mention `needle`. */
#define CHECK_ERR(call, needle)                                                                    \
	do {                                                                                       \
		int r_ = (call);                                                                   \
		const char *e_ = gg_last_error();                                                  \
		if (r_ < 0 && strstr(e_, (needle))) {                                              \
			harness_passed++;                                                          \
		} else {                                                                           \
			harness_failed++;                                                          \
			fprintf(stderr,                                                            \
			        "%s:%d: CHECK_ERR failed: %s returned %d, error \"%s\", "          \
			        "wanted \"%s\"\n",                                                 \
			        __FILE__, __LINE__, #call, r_, e_, (needle));                      \
		}                                                                                  \
	} while (0)

#define TEST_MAIN(...)                                                                             \
	int main(void)                                                                             \
	{                                                                                          \
		void (*tests_[])(void) = {__VA_ARGS__};                                            \
		for (size_t i_ = 0; i_ < sizeof tests_ / sizeof tests_[0]; i_++)                   \
			tests_[i_]();                                                              \
		printf("%d passed, %d failed\n", harness_passed, harness_failed);                  \
		return harness_failed ? 1 : 0;                                                     \
	}

#endif
