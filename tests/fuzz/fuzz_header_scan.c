/**
 * @file fuzz_header_scan.c
 * Fuzz target for header_scan_parse (tools/infer/model_scan.c), the reader
 * of a preprocessor's -H and -v output: it reads only up to the first NUL,
 * takes exactly the lines of dots and a name as headers (unless a
 * precompiled header stops it), lists every <...> directory among all
 * directories, never gives a header as a place searched before itself, and
 * leaves nothing allocated after header_scan_free.
 */
#include "tests/fuzz/fuzz.h"
#include "tools/infer/infer_model.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Lines of one or more dots, a space and at least one more byte, up to the first NUL. */
static size_t header_lines(const char *s)
{
	size_t n = 0;
	for (const char *p = s; *p;) {
		const char *nl = strchr(p, '\n'), *q = p;
		while (*q == '.')
			q++;
		if (q > p && *q == ' ' && q[1] && q[1] != '\n')
			n++;
		p = nl ? nl + 1 : p + strlen(p);
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xmalloc(size + 1);
	memcpy(text, data, size);
	text[size] = 0;
	size_t want = header_lines(text);
	struct header_scan sc = HEADER_SCAN_INIT;
	int r = header_scan_parse(text, "src/main.c", &sc);
	if (r == 0 && sc.headers.n != want)
		fuzz_fail("headers taken are not the lines of dots and a name", NULL, data, size);
	if (r < 0 && sc.headers.n > want)
		fuzz_fail("more headers than lines of dots and a name", NULL, data, size);
	for (size_t i = 0; i < sc.sysdirs.n; i++) {
		bool in = false;
		for (size_t j = 0; j < sc.dirs.n && !in; j++)
			in = !strcmp(sc.sysdirs.v[i], sc.dirs.v[j]);
		if (!in)
			fuzz_fail("a <...> directory missing from all directories", sc.sysdirs.v[i],
			          data, size);
	}
	/* one header alone: no place searched before it is itself */
	if (sc.headers.n == 1)
		for (size_t i = 0; i < sc.probes.n; i++)
			if (!strcmp(sc.probes.v[i], sc.headers.v[0]))
				fuzz_fail("a header is a place searched before itself",
				          sc.probes.v[i], data, size);
	header_scan_free(&sc);
	free(text);
	return 0;
}
