/**
 * @file fuzz_memo.c
 * Fuzz target for memo_parse: an accepted memo entry must encode back to
 * exactly the input bytes (one memo, one encoding), and a rejection must
 * leave nothing allocated. Inputs are entries without their seal; each is
 * parsed as given and sealed.
 */
#include "core/stamp.h"
#include "core/store.h"
#include "tests/fuzz/fuzz.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One parse: a rejection says so and leaves nothing; an acceptance
 * re-encodes to exactly the bytes given. */
static void parse_once(const uint8_t *data, size_t size)
{
	struct memo m;
	if (memo_parse((const char *)data, size, &m) < 0) {
		if (strncmp(gg_last_error(), "malformed memo entry", 20))
			fuzz_fail("a rejection that does not say \"malformed memo entry\"",
			          gg_last_error(), data, size);
		if (m.n || m.v || m.has_stderr)
			fuzz_fail("rejected, but outputs were left allocated", NULL, data, size);
		return;
	}
	if (m.n == 0)
		fuzz_fail("accepted a memo with no outputs", NULL, data, size);
	struct buf b = BUF_INIT;
	if (memo_encode(&m, &b) < 0)
		fuzz_fail("parsed, but does not encode", gg_last_error(), data, size);
	if (b.len != size || memcmp(b.data, data, size))
		fuzz_fail("parsed, but re-encodes to different bytes", b.data, data, size);
	for (size_t i = 0; i < m.n; i++)
		if (memo_find(&m, m.v[i].path) == NULL)
			fuzz_fail("an output that memo_find cannot find", m.v[i].path, data, size);
	buf_free(&b);
	memo_free(&m);
}

/*
 * The input as it is (the seal must reject nearly everything), then sealed
 * (so that the parser behind the seal sees every mutation too).
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_given_and_sealed(data, size, parse_once);
	return 0;
}
