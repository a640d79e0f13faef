/**
 * @file report_svg.h
 * `gg report --svg`: a trace's timeline as SVG.
 */
#ifndef GG_TOOLS_REPORT_SVG_H
#define GG_TOOLS_REPORT_SVG_H

#include "core/trace.h"
#include "core/util.h"

/*
 * report_svg.c: writes the timeline of a trace as SVG to path (atomically):
 * one row per slot (tid), one bar per phase event coloured by phase, a time
 * axis with ticks, and each bar's thunk label as a <title> tooltip.
 */
int trace_write_svg(const struct trace *t, const char *path, const char *title);
/* The same document appended to out (always well-formed UTF-8 XML). */
void trace_svg(const struct trace *t, const char *title, struct buf *out);

#endif
