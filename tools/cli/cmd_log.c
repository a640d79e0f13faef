/**
 * @file cmd_log.c
 * `gg log TARGET`: what the last run of a target's thunk left behind — its
 * outputs and what its program wrote on stderr when it succeeded, or how it
 * failed (command, status, stderr's last lines). Follows a dynamic graph:
 * an output that is a thunk is shown in turn.
 */
#include "core/force.h"
#include "tools/cli/commands.h"
#include "tools/command.h"

#include <stdio.h>
#include <string.h>

static const char help[] = "usage: gg log TARGET\n"
                           "\n"
                           "Shows the last run of a placeholder's or THUNK#OUTPUT's thunk: its\n"
                           "outputs and what its program wrote on stderr, or how it failed.\n"
                           "Exit status 0 when a run was recorded, 1 when none was (or\n"
                           "TARGET is a value), 3 when the record cannot be read.\n";

/* memo_resolve's lookup: prints what is known of one thunk on the way.
 * *recorded: 1 if a run was recorded (its entry, then given as memo_get
 * gives it, or its failure), 0 if none was; -1 when its failure record
 * cannot be read (gg_last_error), which ends the walk. */
static int show_thunk(void *recorded, struct store *s, const struct gg_name *thunk, struct memo *m)
{
	int *rec = recorded;
	if (memo_get(s, thunk, m) == 1) {
		printf("%s: succeeded\n", thunk->s);
		for (size_t i = 0; i < m->n; i++)
			printf("  output %s%s: %s\n", m->v[i].path,
			       m->v[i].link   ? " (symbolic link)"
			       : m->v[i].exec ? " (executable)"
			                      : "",
			       m->v[i].value.s);
		if (!m->has_stderr) {
			printf("  nothing on stderr\n");
		} else {
			struct buf b = BUF_INIT;
			if (store_read(s, &m->stderr_value, &b, 1u << 20) < 0) {
				printf("  stderr: cannot be read: %s\n", gg_last_error());
			} else {
				printf("  stderr:\n");
				fwrite(b.data, 1, b.len, stdout);
				if (b.len && b.data[b.len - 1] != '\n')
					putchar('\n');
			}
			buf_free(&b);
		}
		*rec = 1;
		return 1;
	}
	struct buf b = BUF_INIT;
	*rec = store_read_failure(s, thunk, &b);
	if (*rec == 1)
		printf("%s: failed\n%s", thunk->s, b.data);
	else if (*rec == 0)
		printf("%s: no run recorded\n", thunk->s);
	buf_free(&b);
	return *rec < 0 ? -1 : 0;
}

int cmd_log(int argc, char **argv)
{
	int done = read_flags(argc, argv, NULL, help, "usage: gg log TARGET");
	if (done >= 0)
		return done;
	if (argc - optind != 1) {
		fputs(help, stderr);
		return 2;
	}
	const char *target = argv[optind];
	struct store *s;
	if (open_store(false, &s) < 0)
		return report_last();
	struct force_target t;
	int rc = 0;
	if (force_target_peek(s, target, &t) < 0) {
		rc = report_last();
	} else if (t.plain) {
		rc = report_error("%s is an ordinary file, not a placeholder", target);
	} else if (gg_name_kind(&t.ref.name) != GG_THUNK) {
		printf("%s is a value, not a thunk's output: nothing ran\n", t.ref.name.s);
		rc = 1;
	} else {
		/* A dynamic graph is followed. The last thunk shown is the one
		 * TARGET's value comes from: when it never ran, TARGET has no
		 * result yet, whatever ran before it in the graph. */
		int recorded = 0;
		struct memo_output end;
		rc = memo_resolve(s, &t.ref, show_thunk, &recorded, &end) < 0 ? report_last()
		     : recorded == 1                                          ? 0
		                                                              : 1;
	}
	force_target_free(&t);
	store_close(s);
	return rc;
}
