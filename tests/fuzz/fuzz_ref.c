/**
 * @file fuzz_ref.c
 * Fuzz target for gg_name_parse and gg_ref_parse: what they accept is
 * canonical (formats back to the same bytes), and the checks they promise
 * hold (kind V or T, lowercase hex, only thunks have outputs, outputs are
 * relative paths).
 */
#include "core/hash.h"
#include "core/util.h"
#include "tests/fuzz/fuzz.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool lower_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;

	struct gg_name n;
	if (gg_name_parse(s, size, &n) == 0) {
		if (size != GG_NAME_LEN || memcmp(n.s, s, size) || n.s[GG_NAME_LEN])
			fuzz_fail("a name that is not its own bytes", n.s, data, size);
		if (n.s[0] != GG_VALUE && n.s[0] != GG_THUNK)
			fuzz_fail("a name of an unknown kind", n.s, data, size);
		for (int i = 1; i < GG_NAME_LEN; i++)
			if (!lower_hex(n.s[i]))
				fuzz_fail("a name with a character that is not lowercase hex", n.s,
				          data, size);
		if (gg_name_size(&n) > GG_MAX_OBJECT_SIZE)
			fuzz_fail("a name with an impossible size", n.s, data, size);
	}

	struct gg_ref r;
	if (gg_ref_parse(s, size, &r) < 0) {
		if (r.output)
			fuzz_fail("rejected, but an output was left allocated", NULL, data, size);
		return 0;
	}
	char *f = gg_ref_format(&r);
	if (strlen(f) != size || memcmp(f, s, size))
		fuzz_fail("a reference that formats back to different bytes", f, data, size);
	if (r.output) {
		if (gg_name_kind(&r.name) != GG_THUNK)
			fuzz_fail("a value reference with an output", f, data, size);
		if (path_check_relative(r.output, "output") < 0)
			fuzz_fail("an output that is not a relative path", gg_last_error(), data,
			          size);
	}
	struct gg_ref c;
	gg_ref_copy(&c, &r);
	if (!gg_ref_eq(&c, &r))
		fuzz_fail("a copy that is not equal", f, data, size);
	gg_ref_free(&c);
	free(f);
	gg_ref_free(&r);
	return 0;
}
