/**
 * @file fuzz_placeholder.c
 * Fuzz target for placeholder_parse: the three answers must be consistent
 * with the bytes (0 exactly when the magic line is missing), a placeholder
 * must format back to the same bytes, and a rejection must say why.
 */
#include "core/placeholder.h"
#include "tests/fuzz/fuzz.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t m = strlen(PLACEHOLDER_MAGIC);
	bool magic = size >= m && !memcmp(data, PLACEHOLDER_MAGIC, m);
	struct gg_ref ref = {{{0}}, NULL};
	int r = placeholder_parse(data, size, &ref);
	if (r == 0) {
		if (magic)
			fuzz_fail("starts with the magic line but is \"not a placeholder\"", NULL,
			          data, size);
		if (ref.output)
			fuzz_fail("not a placeholder, but a reference was allocated", NULL, data,
			          size);
		return 0;
	}
	if (!magic)
		fuzz_fail("no magic line, but not answered 0", NULL, data, size);
	if (r < 0) {
		if (strncmp(gg_last_error(), "malformed placeholder", 21))
			fuzz_fail("a rejection that does not say \"malformed placeholder\"",
			          gg_last_error(), data, size);
		if (ref.output)
			fuzz_fail("rejected, but a reference was allocated", NULL, data, size);
		return 0;
	}
	if (r != 1)
		fuzz_fail("an answer other than -1, 0 or 1", NULL, data, size);
	struct buf b = BUF_INIT;
	placeholder_format(&ref, &b);
	if (b.len != size || memcmp(b.data, data, size))
		fuzz_fail("a placeholder that formats back to different bytes", b.data, data, size);
	if (size > PLACEHOLDER_MAX_SIZE)
		fuzz_fail("a placeholder larger than PLACEHOLDER_MAX_SIZE", NULL, data, size);
	if (ref.output && gg_name_kind(&ref.name) != GG_THUNK)
		fuzz_fail("a value reference with an output", NULL, data, size);
	buf_free(&b);
	gg_ref_free(&ref);
	return 0;
}
