/**
 * @file fuzz_stamp.c
 * Fuzz target for the texts of core/stamp: stamp_parse and stamp_time_parse
 * accept only their own canonical text (what they accept formats back to
 * the same bytes), and stamp_unseal accepts only what stamp_seal wrote (the
 * sealed part seals again to the same bytes).
 */
#include "core/stamp.h"
#include "core/util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static _Noreturn void fail(const char *what, const uint8_t *data, size_t size)
{
	fprintf(stderr, "fuzz_stamp: %s\ninput (%zu bytes):\n", what, size);
	fwrite(data, 1, size < 4096 ? size : 4096, stderr);
	fprintf(stderr, "\n");
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct stamp st;
	if (stamp_parse(s, size, &st) == 0) {
		char t[STAMP_TEXT_MAX];
		stamp_format(&st, t);
		if (strlen(t) != size || memcmp(t, s, size))
			fail("a stamp that formats back to different bytes", data, size);
		if (st.mtime.nsec < 0 || st.mtime.nsec >= 1000000000 || st.ctime.nsec < 0 ||
		    st.ctime.nsec >= 1000000000)
			fail("a stamp with impossible nanoseconds", data, size);
	}
	int64_t t;
	if (stamp_time_parse(s, size, &t) == 0) {
		char f[STAMP_TIME_MAX];
		stamp_time_format(t, f);
		if (t < 0 || strlen(f) != size || memcmp(f, s, size))
			fail("a time that formats back to different bytes", data, size);
	}
	size_t len;
	if (stamp_unseal(s, size, &len) == 0) {
		struct buf b = BUF_INIT;
		buf_add(&b, s, len);
		stamp_seal(&b);
		if (b.len != size || memcmp(b.data, s, size))
			fail("an accepted seal that is not the seal of what it seals", data, size);
		buf_free(&b);
	}
	return 0;
}
