/**
 * @file fuzz_infer_memo.c
 * Fuzz target for the models' memo entries (tools/infer/model_memo.c): an
 * accepted entry encodes to bytes that are accepted again and encode to
 * themselves (the entry's lines may come in another order than the writer's,
 * so the first encoding need not be the input), and a refusal writes
 * nothing. Inputs are entries without their seal; each is parsed as given
 * and sealed, as replay reads them (NUL-terminated, like read_file's).
 */
#include "core/stamp.h"
#include "tests/fuzz/fuzz.h"
#include "tools/infer/infer_model.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void parse_once(const uint8_t *data, size_t size)
{
	char *copy = xmalloc(size + 1);
	memcpy(copy, data, size);
	copy[size] = 0;
	struct buf once = BUF_INIT, twice = BUF_INIT;
	if (model_memo_reencode(copy, size, &once) < 0) {
		if (once.len)
			fuzz_fail("refused, but bytes were written", NULL, data, size);
	} else {
		if (model_memo_reencode(once.data, once.len, &twice) < 0)
			fuzz_fail("accepted, but its own encoding is refused", once.data, data,
			          size);
		if (twice.len != once.len || memcmp(twice.data, once.data, once.len))
			fuzz_fail("its encoding encodes to other bytes", twice.data, data, size);
	}
	buf_free(&once);
	buf_free(&twice);
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_given_and_sealed(data, size, parse_once);
	return 0;
}
