/**
 * @file fuzz_thunk.c
 * Fuzz target for thunk_parse. The parser is strict, so anything it accepts
 * is canonical: re-encoding a parsed thunk must give back exactly the input
 * bytes, and naming it must give the name of those bytes. Rejections must
 * say "malformed thunk". Works with tests/fuzz/driver.c or with libFuzzer.
 */
#include "core/thunk.h"
#include "tests/fuzz/fuzz.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct thunk t;
	if (thunk_parse(data, size, &t) < 0) {
		if (strncmp(gg_last_error(), "malformed thunk", 15))
			fuzz_fail("a rejection that does not say \"malformed thunk\"",
			          gg_last_error(), data, size);
		if (t.exe || t.argv.n || t.env.n || t.ninputs || t.outputs.n)
			fuzz_fail("a rejected thunk was left half-filled", NULL, data, size);
		return 0;
	}
	struct buf b = BUF_INIT;
	if (thunk_encode(&t, &b) < 0)
		fuzz_fail("parsed, but does not encode", gg_last_error(), data, size);
	if (b.len != size || memcmp(b.data, data, size))
		fuzz_fail("parsed, but re-encodes to different bytes", b.data, data, size);

	struct gg_name n, want;
	if (thunk_name(&t, &n, NULL) < 0)
		fuzz_fail("parsed, but cannot be named", gg_last_error(), data, size);
	gg_name_of_buf(data, size, 0, &want);
	if (!gg_name_eq(&n, &want) || gg_name_kind(&n) != GG_THUNK)
		fuzz_fail("its name is not the name of its bytes", n.s, data, size);

	bool reduced = true;
	for (size_t i = 0; i < t.ninputs; i++)
		reduced &= t.inputs[i].ref.output == NULL;
	if (thunk_is_reduced(&t) != reduced)
		fuzz_fail("thunk_is_reduced is wrong", NULL, data, size);
	if (!thunk_find_input(&t, t.exe) || !thunk_has_output(&t, t.outputs.v[0]))
		fuzz_fail("the executable or the primary output cannot be found", NULL, data, size);

	char *cl = thunk_command_line(&t);
	if (!cl)
		fuzz_fail("no command line", NULL, data, size);
	free(cl);
	buf_free(&b);
	thunk_free(&t);
	return 0;
}
