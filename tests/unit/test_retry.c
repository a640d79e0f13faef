/**
 * @file test_retry.c
 * Specification of the one retry rule of the HTTP clients
 * (core/util: backoff_wait_ms; backend/http_batch: http_retry_after): exponential
 * backoff with equal jitter and a cap; a server's Retry-After honoured,
 * bounded and jittered; which header lines are a Retry-After.
 */
#include "backend/http_batch.h"
#include "core/util.h"
#include "harness.h"

#include <string.h>

static void test_backoff(void)
{
	/* attempt 1: between half and all of the base; doubling; capped */
	for (uint64_t r = 0; r < 2000; r += 7) {
		uint64_t w1 = backoff_wait_ms(1, 100, 10000, 0, 30000, r * 0x9e3779b97f4a7c15u);
		uint64_t w3 = backoff_wait_ms(3, 100, 10000, 0, 30000, r * 0x9e3779b97f4a7c15u);
		uint64_t w20 = backoff_wait_ms(20, 100, 10000, 0, 30000, r * 0x9e3779b97f4a7c15u);
		CHECK(w1 >= 50 && w1 <= 100);
		CHECK(w3 >= 200 && w3 <= 400);
		CHECK(w20 >= 5000 && w20 <= 10000);
	}
	/* the jitter does vary */
	CHECK(backoff_wait_ms(1, 100, 10000, 0, 0, 0) != backoff_wait_ms(1, 100, 10000, 0, 0, 49));
}

static void test_retry_after(void)
{
	bool spread = false;
	uint64_t first = backoff_wait_ms(1, 100, 10000, 2000, 30000, 0);
	for (uint64_t r = 0; r < 2000; r += 7) {
		uint64_t rnd = r * 0x9e3779b97f4a7c15u;
		/* honoured, plus at most a quarter */
		uint64_t w = backoff_wait_ms(1, 100, 10000, 2000, 30000, rnd);
		CHECK(w >= 2000 && w <= 2500);
		spread |= w != first;
		/* bounded by max_after_ms */
		w = backoff_wait_ms(1, 100, 10000, 3600000, 1000, rnd);
		CHECK(w >= 1000 && w <= 1250);
		/* never shorter than the backoff already due */
		w = backoff_wait_ms(6, 100, 10000, 1000, 30000, rnd);
		CHECK(w >= 1600 && w <= 3200);
	}
	CHECK(spread);
}

static bool after(const char *line, uint64_t *ms)
{
	return http_retry_after(line, strlen(line), ms);
}

static void test_header(void)
{
	uint64_t ms = 0;
	CHECK(after("Retry-After: 1\r\n", &ms) && ms == 1000);
	CHECK(after("retry-after:120\r\n", &ms) && ms == 120000);
	CHECK(after("RETRY-AFTER: \t 7 \r\n", &ms) && ms == 7000);
	CHECK(after("Retry-After: 99999999999999999999\r\n", &ms) && ms >= 1000000000u);
	CHECK(!after("Retry-After: Wed, 21 Oct 2015 07:28:00 GMT\r\n", &ms));
	CHECK(!after("Retry-After: \r\n", &ms));
	CHECK(!after("Retry-After: 5s\r\n", &ms));
	CHECK(!after("Retry-Afterwards: 5\r\n", &ms));
	CHECK(!after("Content-Length: 5\r\n", &ms));
	CHECK(!after("Retry-After", &ms));
}

TEST_MAIN(test_backoff, test_retry_after, test_header)
