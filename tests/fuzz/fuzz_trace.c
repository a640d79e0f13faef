/**
 * @file fuzz_trace.c
 * Fuzz target for `gg report`'s trace reader (core/trace.c) and SVG writer
 * (tools/trace/report_svg.c): an accepted trace gives runs that partition its
 * events, and an SVG that is valid UTF-8 with no stray control bytes; a
 * rejected one says where ("line L, column C: ..."). report_svg.c is
 * included for its UTF-8 check (a static function) the SVG is judged by.
 */
#include "tests/fuzz/fuzz.h"
#include "tools/trace/report_svg.c"
#include "tools/trace/report_svg.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct trace t;
	if (trace_parse((const char *)data, size, &t) < 0) {
		if (strncmp(gg_last_error(), "line ", 5))
			fuzz_fail("an error without a position", gg_last_error(), data, size);
		if (t.n || t.ev || t.runs)
			fuzz_fail("rejected, but events were left", NULL, data, size);
		return 0;
	}
	size_t covered = 0;
	for (size_t i = 0; i < t.nruns; i++) {
		const struct trace_run *u = &t.runs[i];
		if (!u->nev || u->first + u->nev > t.n)
			fuzz_fail("a run outside the events", u->name, data, size);
		if (u->end < u->start)
			fuzz_fail("a run that ends before it starts", u->name, data, size);
		for (size_t k = 0; k < u->nev; k++)
			if (t.ev[u->first + k].tid != u->tid)
				fuzz_fail("a run across slots", u->name, data, size);
		covered += u->nev;
	}
	if (covered != t.n)
		fuzz_fail("runs that do not partition the events", NULL, data, size);
	struct buf svg = BUF_INIT;
	trace_svg(&t, "fuzz", &svg);
	const unsigned char *s = (const unsigned char *)svg.data;
	for (size_t i = 0; i < svg.len;) {
		if (s[i] < 0x20 && s[i] != '\n' && s[i] != '\t')
			fuzz_fail("a control byte in the SVG", NULL, data, size);
		size_t k = utf8_len(s + i, svg.len - i);
		if (!k)
			fuzz_fail("invalid UTF-8 in the SVG", NULL, data, size);
		i += k;
	}
	buf_free(&svg);
	trace_free(&t);
	return 0;
}
