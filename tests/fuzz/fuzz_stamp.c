/**
 * @file fuzz_stamp.c
 * Fuzz target for the texts of core/stamp: stamp_parse and stamp_time_parse
 * accept only their own canonical text (what they accept formats back to
 * the same bytes), and stamp_unseal accepts only what stamp_seal wrote (the
 * sealed part seals again to the same bytes).
 */
#include "core/stamp.h"
#include "core/util.h"
#include "tests/fuzz/fuzz.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct stamp st;
	if (stamp_parse(s, size, &st) == 0) {
		char t[STAMP_TEXT_MAX];
		stamp_format(&st, t);
		if (strlen(t) != size || memcmp(t, s, size))
			fuzz_fail("a stamp that formats back to different bytes", NULL, data, size);
		if (st.mtime.nsec < 0 || st.mtime.nsec >= 1000000000 || st.ctime.nsec < 0 ||
		    st.ctime.nsec >= 1000000000)
			fuzz_fail("a stamp with impossible nanoseconds", NULL, data, size);
	}
	int64_t t;
	if (stamp_time_parse(s, size, &t) == 0) {
		char f[STAMP_TIME_MAX];
		stamp_time_format(t, f);
		if (t < 0 || strlen(f) != size || memcmp(f, s, size))
			fuzz_fail("a time that formats back to different bytes", NULL, data, size);
	}
	size_t len;
	if (stamp_unseal(s, size, &len) == 0) {
		struct buf b = BUF_INIT;
		buf_add(&b, s, len);
		stamp_seal(&b);
		if (b.len != size || memcmp(b.data, s, size))
			fuzz_fail("an accepted seal that is not the seal of what it seals", NULL,
			          data, size);
		buf_free(&b);
	}
	return 0;
}
