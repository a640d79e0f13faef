/**
 * @file report_svg.c
 * The SVG timeline of `gg report` (see trace.h), after the figures of gg's
 * paper: time runs left to right, one row per worker slot, one bar per phase
 * of each thunk run coloured by phase, a legend and a time axis. Every bar
 * carries its thunk's label in a <title>, which browsers show as a tooltip.
 * It draws no dependency edges and does not scale rows to fit a page: a
 * trace with many slots makes a tall picture.
 */
#include "tools/trace/report_svg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SVG_WIDTH 1400
#define LEFT      140 /* room for row labels */
#define RIGHT     30
#define TOP       78 /* title and legend */
#define ROW_H     22
#define BAR_H     16

static const char *const phase_colour[TP_COUNT] = {"#4e79a7", "#f28e2b", "#59a14f", "#9c9c9c"};

/*
 * Text for XML character data and attributes: escapes markup characters and
 * replaces what XML 1.0 forbids (control characters, invalid UTF-8) with
 * U+FFFD, so any label gives a well-formed document. At most max bytes of
 * input are used; a cut string ends in "…".
 */
static void add_xml_text(struct buf *b, const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i = 0;
	while (i < n) {
		if (i >= max) {
			buf_adds(b, "\xe2\x80\xa6");
			return;
		}
		unsigned char c = p[i];
		size_t k = utf8_len(p + i, n - i);
		if (k == 0 || (c < 0x20 && c != '\t')) {
			buf_adds(b, "\xef\xbf\xbd");
			i++;
			continue;
		}
		if (k == 1) {
			switch (c) {
			case '&': buf_adds(b, "&amp;"); break;
			case '<': buf_adds(b, "&lt;"); break;
			case '>': buf_adds(b, "&gt;"); break;
			case '"': buf_adds(b, "&quot;"); break;
			case '\'': buf_adds(b, "&apos;"); break;
			default: buf_addc(b, (char)c); break;
			}
		} else {
			buf_add(b, s + i, k);
		}
		i += k;
	}
}

/* The build links no libm: rounding by hand (|x| is far below 2^62 here). */
static double round3(double x)
{
	double y = x * 1e3;
	long long k = (long long)(y < 0 ? y - 0.5 : y + 0.5);
	return (double)k / 1e3;
}

/* Seconds, milliseconds or microseconds, whichever reads best for span. */
static void fmt_time(char *out, size_t n, double us, double span_us)
{
	if (span_us >= 2e6)
		snprintf(out, n, "%g s", round3(us / 1e6));
	else if (span_us >= 2e3)
		snprintf(out, n, "%g ms", round3(us / 1e3));
	else
		snprintf(out, n, "%g µs", round3(us));
}

/* A tick step of 1, 2 or 5 times a power of ten giving about 10 ticks. */
static double tick_step(double span)
{
	double raw = span / 10, mag = 1;
	while (mag > raw)
		mag /= 10;
	while (mag * 10 <= raw)
		mag *= 10;
	for (int m = 1; m <= 10; m = m == 1 ? 2 : m == 2 ? 5 : 10)
		if (m * mag >= raw)
			return m * mag;
	return 10 * mag;
}

static void row_label(char *out, size_t n, long long tid)
{
	if (tid >= 0 && tid < 1000)
		snprintf(out, n, "slot %lld", tid);
	else if (tid >= 0)
		snprintf(out, n, "engine %lld slot %lld", tid / 1000, tid % 1000);
	else
		snprintf(out, n, "tid %lld", tid);
}

/* The row of a tid: rows are sorted and hold every tid. */
static size_t row_of(const long long *rows, size_t nrows, long long tid)
{
	size_t lo = 0, hi = nrows;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (rows[mid] <= tid)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

void trace_svg(const struct trace *t, const char *title, struct buf *out)
{
	/* Rows: the distinct tids, in order (events are sorted by tid). */
	size_t nrows = 0;
	long long *rows = xcalloc(t->n ? t->n : 1, sizeof *rows);
	double t0 = 0, t1 = 0;
	for (size_t i = 0; i < t->n; i++) {
		if (!nrows || rows[nrows - 1] != t->ev[i].tid)
			rows[nrows++] = t->ev[i].tid;
		double a = t->ev[i].ts, z = a + t->ev[i].dur;
		if (i == 0 || a < t0)
			t0 = a;
		if (i == 0 || z > t1)
			t1 = z;
	}
	double span = t1 - t0 > 0 ? t1 - t0 : 1;
	const double plot_w = SVG_WIDTH - LEFT - RIGHT;
	const int axis_y = TOP + (int)(nrows ? nrows : 1) * ROW_H;
	const int height = axis_y + 44;
#define X(us) (LEFT + ((us)-t0) / span * plot_w)

	buf_printf(out,
	           "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	           "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
	           "viewBox=\"0 0 %d %d\" "
	           "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">\n",
	           SVG_WIDTH, height, SVG_WIDTH, height);
	buf_adds(
	    out,
	    "<style>.bar{stroke:#ffffff;stroke-width:0.5}.bar:hover{stroke:#000000;stroke-width:1}"
	    ".grid{stroke:#d0d0d0;stroke-width:1}.lbl{fill:#333333}</style>\n");
	buf_printf(out, "<rect width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", SVG_WIDTH, height);
	buf_adds(out, "<text x=\"10\" y=\"22\" font-size=\"16\" font-weight=\"bold\">");
	add_xml_text(out, title, 200);
	buf_adds(out, "</text>\n");

	/* Legend, then a one-line summary. */
	buf_adds(out, "<g class=\"legend\">\n");
	int lx = 10;
	bool other = false;
	for (size_t i = 0; i < t->n; i++)
		other |= t->ev[i].phase == TP_OTHER;
	for (int p = 0; p < (other ? TP_COUNT : TP_OTHER); p++) {
		buf_printf(out, "<rect x=\"%d\" y=\"34\" width=\"14\" height=\"14\" fill=\"%s\"/>",
		           lx, phase_colour[p]);
		buf_printf(out, "<text x=\"%d\" y=\"46\">%s</text>\n", lx + 19,
		           trace_phase_names[p]);
		lx += 19 + 7 * (int)strlen(trace_phase_names[p]) + 20;
	}
	char wall[32];
	fmt_time(wall, sizeof wall, span, span);
	buf_printf(
	    out,
	    "<text x=\"%d\" y=\"46\" class=\"lbl\">%zu thunk runs on %zu slots, %s</text>\n</g>\n",
	    lx + 20, t->nruns, nrows, wall);

	/* Row stripes and labels. */
	buf_adds(out, "<g class=\"rows\">\n");
	for (size_t r = 0; r < nrows; r++) {
		int y = TOP + (int)r * ROW_H;
		char lab[64];
		row_label(lab, sizeof lab, rows[r]);
		buf_printf(out,
		           "<rect class=\"row\" x=\"%d\" y=\"%d\" width=\"%.0f\" height=\"%d\" "
		           "fill=\"%s\"/>"
		           "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" class=\"lbl\">%s</text>\n",
		           LEFT, y, plot_w, ROW_H, r % 2 ? "#ffffff" : "#f3f3f3", LEFT - 8,
		           y + ROW_H / 2 + 4, lab);
	}
	buf_adds(out, "</g>\n");

	/* Grid lines and the axis. */
	double step = tick_step(span);
	if (!(step > 0) || span / step > 50)
		step = span; /* a degenerate span: just the two ends */
	buf_adds(out, "<g class=\"axis\">\n");
	buf_printf(out, "<line x1=\"%d\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#333333\"/>\n",
	           LEFT, axis_y, LEFT + plot_w, axis_y);
	for (double v = 0; v <= span * (1 + 1e-9); v += step) {
		double x = X(t0 + v);
		char lab[32];
		fmt_time(lab, sizeof lab, v, span);
		buf_printf(
		    out,
		    "<line class=\"grid\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>"
		    "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#333333\"/>"
		    "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" class=\"lbl\">%s</text>\n",
		    x, TOP, x, axis_y, x, axis_y, x, axis_y + 5, x, axis_y + 19, lab);
	}
	buf_printf(out,
	           "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" class=\"lbl\">time since the "
	           "first thunk started</text>\n",
	           LEFT + plot_w / 2, axis_y + 37);
	buf_adds(out, "</g>\n");

	/* The bars: one per event, in the row of its tid. */
	buf_adds(out, "<g class=\"bars\">\n");
	for (size_t i = 0; i < t->n; i++) {
		const struct trace_event *e = &t->ev[i];
		size_t r = row_of(rows, nrows, e->tid);
		double x = X(e->ts), w = e->dur / span * plot_w;
		if (w < 0.5)
			w = 0.5; /* keep instant phases visible */
		char d[32], at[32];
		fmt_time(d, sizeof d, e->dur, e->dur);
		fmt_time(at, sizeof at, e->ts - t0, span);
		buf_printf(out,
		           "<rect class=\"bar %s\" x=\"%.2f\" y=\"%d\" width=\"%.2f\" "
		           "height=\"%d\" fill=\"%s\"><title>",
		           e->phase == TP_STORE ? "store" : trace_phase_names[e->phase], x,
		           TOP + (int)r * ROW_H + (ROW_H - BAR_H) / 2, w, BAR_H,
		           phase_colour[e->phase]);
		add_xml_text(out, e->name, 400);
		buf_printf(out, "\n%s: %s, at %s</title></rect>\n", trace_phase_names[e->phase], d,
		           at);
	}
	buf_adds(out, "</g>\n");

	/* A run's label inside its bar when there is room for it. */
	buf_adds(
	    out,
	    "<g class=\"labels\" font-size=\"10\" fill=\"#ffffff\" pointer-events=\"none\">\n");
	for (size_t k = 0; k < t->nruns; k++) {
		const struct trace_run *u = &t->runs[k];
		double w = (u->end - u->start) / span * plot_w;
		size_t chars = (size_t)(w / 6.2);
		if (chars < 6)
			continue;
		size_t row = row_of(rows, nrows, u->tid);
		buf_printf(out, "<text x=\"%.2f\" y=\"%d\">", X(u->start) + 3,
		           TOP + (int)row * ROW_H + ROW_H / 2 + 4);
		add_xml_text(out, u->name, chars - 1);
		buf_adds(out, "</text>\n");
	}
	buf_adds(out, "</g>\n</svg>\n");
#undef X
	free(rows);
}

int trace_write_svg(const struct trace *t, const char *path, const char *title)
{
	struct buf b = BUF_INIT;
	trace_svg(t, title, &b);
	int rc = write_file_atomic(path, b.data, b.len, 0644);
	buf_free(&b);
	return rc;
}
