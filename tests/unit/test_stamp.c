/**
 * @file test_stamp.c
 * Specification of file stamps (core/stamp): the "racy git" rule every
 * cache keyed by stat(2) follows, the stamp's text, and sealed entries.
 */
#include "core/stamp.h"
#include "core/util.h"
#include "harness.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S INT64_C(1000000000)

static struct stamp at(int64_t mtime_ns, int64_t ctime_ns)
{
	return (struct stamp){.dev = 0xfe00,
	                      .ino = 42,
	                      .size = 100,
	                      .mtime = {mtime_ns / S, (long)(mtime_ns % S)},
	                      .ctime = {ctime_ns / S, (long)(ctime_ns % S)}};
}

static void test_settled_needs_both_times_safely_old(void)
{
	const int64_t w = 1700000000 * S + 500000000; /* when the entry was written */
	struct stamp old = at(w - 3 * S, w - 3 * S);
	CHECK(stamp_settled(&old, w));
	CHECK(stamp_trusted(&old, &old, w));

	/* changed in the same second the entry was written: never by stat */
	struct stamp same_second = at(w - S / 2, w - S / 2);
	CHECK(!stamp_settled(&same_second, w));
	CHECK(!stamp_trusted(&same_second, &same_second, w));
	/* ... nor within the margin, nor exactly at it */
	struct stamp in_margin = at(w - S - S / 2, w - S - S / 2);
	CHECK(!stamp_settled(&in_margin, w));
	struct stamp on_margin = at(w - STAMP_MARGIN_NS, w - STAMP_MARGIN_NS);
	CHECK(!stamp_settled(&on_margin, w));
	struct stamp past_margin = at(w - STAMP_MARGIN_NS - 1, w - STAMP_MARGIN_NS - 1);
	CHECK(stamp_settled(&past_margin, w));

	/* the later of the two times counts: an old mtime put back (touch -d,
	 * cp -p, tar) over a fresh change is not settled */
	struct stamp fresh_ctime = at(w - 1000 * S, w - S / 2);
	CHECK(!stamp_settled(&fresh_ctime, w));
	CHECK(!stamp_trusted(&fresh_ctime, &fresh_ctime, w));
	struct stamp fresh_mtime = at(w - S / 2, w - 1000 * S);
	CHECK(!stamp_settled(&fresh_mtime, w));

	/* times after the entry (a clock set back, a file from the future) */
	struct stamp future = at(w + 10 * S, w + 10 * S);
	CHECK(!stamp_settled(&future, w));
	struct stamp far = old;
	far.mtime.sec = INT64_MAX;
	CHECK(!stamp_settled(&far, w));
	CHECK(!stamp_settled(&old, INT64_MIN));
	struct stamp early = at(-5 * S, -5 * S); /* before 1970 */
	CHECK(stamp_settled(&early, w));
}

static void test_trusted_needs_every_field_equal(void)
{
	const int64_t w = 1700000000 * S;
	struct stamp was = at(w - 10 * S, w - 10 * S);
	CHECK(stamp_trusted(&was, &was, w));
	struct stamp now;
	now = was, now.dev++;
	CHECK(!stamp_trusted(&was, &now, w));
	now = was, now.ino++;
	CHECK(!stamp_trusted(&was, &now, w));
	now = was, now.size++;
	CHECK(!stamp_trusted(&was, &now, w));
	now = was, now.mtime.nsec++;
	CHECK(!stamp_trusted(&was, &now, w));
	now = was, now.mtime.sec--;
	CHECK(!stamp_trusted(&was, &now, w));
	now = was, now.ctime.nsec++;
	CHECK(!stamp_trusted(&was, &now, w));
	now = was, now.ctime.sec--;
	CHECK(!stamp_trusted(&was, &now, w));
}

/* The rule on a real file: written now, it is not settled now, whatever the
 * filesystem's time granularity; an entry recorded now is checked by content. */
static void test_fresh_file_is_never_trusted_by_stat(void)
{
	char dir[] = "/tmp/ggtest-stamp-XXXXXX";
	if (!mkdtemp(dir))
		abort();
	char *p = xasprintf("%s/f", dir);
	int64_t before = stamp_clock();
	CHECK(write_file_atomic(p, "x", 1, 0644) == 0);
	struct stamp st, again;
	CHECK(stamp_get(p, &st) == 0);
	int64_t written = stamp_clock();
	CHECK(!stamp_settled(&st, written));
	CHECK(!stamp_trusted(&st, &st, written));
	/* and its times are what the clock said (the rule compares them) */
	CHECK(st.mtime.sec >= before / S - 1 && st.mtime.sec <= written / S + 1);
	CHECK(stamp_get(p, &again) == 0 && stamp_eq(&st, &again));
	CHECK_ERR(stamp_get("/nonexistent-gg-stamp", &st), "cannot stat /nonexistent-gg-stamp");
	unlink(p);
	rmdir(dir);
	free(p);
}

static void test_text_round_trip_and_no_unknown(void)
{
	struct stamp s = at(1700000000 * S + 123456789, 1700000001 * S + 5), back;
	char t[STAMP_TEXT_MAX];
	stamp_format(&s, t);
	CHECK_STR(t, "fe00-2a-64-6553f100.75bcd15-6553f101.5");
	CHECK(stamp_parse(t, strlen(t), &back) == 0 && stamp_eq(&s, &back));
	struct stamp neg = at(-5 * S, -5 * S);
	neg.dev = neg.ino = neg.size = UINT64_MAX;
	stamp_format(&neg, t);
	CHECK(stamp_parse(t, strlen(t), &back) == 0 && stamp_eq(&neg, &back));

	/* There is no "unknown" stamp: "-" (what ggmodelmemo 2 wrote for a
	 * fresh file) and anything malformed is refused, so it equals nothing. */
	const char *bad[] = {"-",
	                     "",
	                     "fe00-2a-64-6553f100.75bcd15-6553f101",
	                     "fe00-2a-64-6553f100.75bcd15-6553f101.",
	                     "fe00-2a-64-6553f100.75bcd15-6553f101.5-",
	                     "fe00-2a-64-6553f100.3b9aca00-6553f101.5", /* nsec = 1e9 */
	                     "FE00-2a-64-6553f100.75bcd15-6553f101.5",
	                     "fe00--64-6553f100.75bcd15-6553f101.5",
	                     "10000000000000000-2a-64-6553f100.75bcd15-6553f101.5",
	                     "fe00-2a-64-6553f100.75bcd15-6553f101.5 ",
	                     "0fe00-2a-64-6553f100.75bcd15-6553f101.5", /* not canonical */
	                     "fe00-2a-64-6553f100.75bcd15-6553f101.05"};
	for (size_t i = 0; i < GG_ARRAY_LEN(bad); i++)
		CHECK(stamp_parse(bad[i], strlen(bad[i]), &back) < 0);
	/* exactly len bytes: a good stamp cut short is refused or another stamp */
	s.ctime.nsec = 0x15;
	stamp_format(&s, t);
	CHECK(stamp_parse(t, strlen(t) - 1, &back) == 0 && !stamp_eq(&s, &back));
	CHECK(stamp_parse(t, strlen(t) - 2, &back) < 0);
}

static void test_time_text(void)
{
	char t[STAMP_TIME_MAX];
	int64_t v;
	stamp_time_format(1700000000 * S + 5, t);
	CHECK_STR(t, "1700000000.000000005");
	CHECK(stamp_time_parse(t, strlen(t), &v) == 0 && v == 1700000000 * S + 5);
	const char *bad[] = {"",
	                     "-",
	                     "1700000000",
	                     "1700000000.5",
	                     ".000000005",
	                     "1700000000.00000000x",
	                     "17000000000.000000005",
	                     "-1.000000000",
	                     "01.000000000",         /* not canonical */
	                     "9701000000.000000005", /* past 2262: no int64 nanoseconds */
	                     "9223372036.000000000"};
	CHECK(stamp_time_parse("0.000000000", 11, &v) == 0 && v == 0);
	CHECK(stamp_time_parse("9223372035.999999999", 20, &v) == 0 &&
	      v == INT64_C(9223372035999999999));
	for (size_t i = 0; i < GG_ARRAY_LEN(bad); i++)
		CHECK(stamp_time_parse(bad[i], strlen(bad[i]), &v) < 0);
}

static void test_seal_catches_any_damage(void)
{
	struct buf b = BUF_INIT;
	buf_adds(&b, "ggmodelmemo 3\nread V00 stamp 3 a.c\n");
	size_t body = b.len;
	stamp_seal(&b);
	size_t len = 0;
	CHECK(stamp_unseal(b.data, b.len, &len) == 0 && len == body);
	int missed = 0;
	/* every single byte flipped, anywhere, is seen */
	for (size_t i = 0; i < b.len; i++) {
		b.data[i] ^= 0x20;
		missed += stamp_unseal(b.data, b.len, &len) == 0;
		b.data[i] ^= 0x20;
	}
	CHECK(missed == 0);
	/* every truncation is seen, and so is a byte added at either end */
	for (size_t n = 0; n < b.len; n++)
		missed += stamp_unseal(b.data, n, &len) == 0;
	CHECK(missed == 0);
	buf_addc(&b, '\n');
	CHECK(stamp_unseal(b.data, b.len, &len) < 0);
	CHECK(stamp_unseal(b.data + 1, b.len - 2, &len) < 0);
	buf_free(&b);
	/* an empty body seals too */
	struct buf e = BUF_INIT;
	stamp_seal(&e);
	CHECK(stamp_unseal(e.data, e.len, &len) == 0 && len == 0);
	buf_free(&e);
}

TEST_MAIN(test_settled_needs_both_times_safely_old, test_trusted_needs_every_field_equal,
          test_fresh_file_is_never_trusted_by_stat, test_text_round_trip_and_no_unknown,
          test_time_text, test_seal_catches_any_damage)
