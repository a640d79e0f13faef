/**
 * @file cmd_describe.c
 * `gg describe`: what a thunk, value, reference or placeholder is, readable
 * or as JSON. It never forces anything; it reports the memo if forced.
 */
#include "core/force.h"
#include "core/json.h"
#include "tools/cli/commands.h"
#include "tools/command.h"

#include "core/thunk.h"
#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void describe_value(const struct gg_name *n, struct store *s, bool json, struct buf *b)
{
	int have = store_has(s, n);
	if (json) {
		buf_printf(b,
		           "{\"name\":\"%s\",\"kind\":\"value\",\"size\":%llu,\"in_store\":%s}\n",
		           n->s, (unsigned long long)gg_name_size(n), have ? "true" : "false");
		return;
	}
	buf_printf(b, "value %s\n  size: %llu bytes\n  in store: %s\n", n->s,
	           (unsigned long long)gg_name_size(n), have ? "yes" : "no");
}

static void describe_thunk(const struct gg_name *n, const struct thunk *t, const struct memo *m,
                           bool json, struct buf *b)
{
	char *cmd = thunk_command_line(t);
	if (json) {
		buf_printf(b, "{\"name\":\"%s\",\"kind\":\"thunk\",\"command\":", n->s);
		json_add_cstring(b, cmd);
		buf_adds(b, ",\"exe\":");
		json_add_cstring(b, t->exe);
		buf_adds(b, ",\"argv\":[");
		for (size_t i = 0; i < t->argv.n; i++) {
			buf_adds(b, i ? "," : "");
			json_add_cstring(b, t->argv.v[i]);
		}
		buf_adds(b, "],\"env\":[");
		for (size_t i = 0; i < t->env.n; i++) {
			buf_adds(b, i ? "," : "");
			json_add_cstring(b, t->env.v[i]);
		}
		buf_adds(b, "],\"inputs\":[");
		for (size_t i = 0; i < t->ninputs; i++) {
			char *ref = gg_ref_format(&t->inputs[i].ref);
			buf_adds(b, i ? ",{\"path\":" : "{\"path\":");
			json_add_cstring(b, t->inputs[i].path);
			buf_printf(b, ",\"ref\":\"%s\",\"exec\":%s%s}", ref,
			           t->inputs[i].exec ? "true" : "false",
			           t->inputs[i].link ? ",\"link\":true" : "");
			free(ref);
		}
		buf_adds(b, "],\"outputs\":[");
		for (size_t i = 0; i < t->outputs.n; i++) {
			const struct memo_output *mo = m ? memo_find(m, t->outputs.v[i]) : NULL;
			buf_adds(b, i ? ",{\"path\":" : "{\"path\":");
			json_add_cstring(b, t->outputs.v[i]);
			if (mo)
				buf_printf(b, ",\"value\":\"%s\",\"exec\":%s%s", mo->value.s,
				           mo->exec ? "true" : "false",
				           mo->link ? ",\"link\":true" : "");
			buf_addc(b, '}');
		}
		buf_printf(b, "],\"timeout_ms\":%llu,\"forced\":%s}\n",
		           (unsigned long long)t->timeout_ms, m ? "true" : "false");
		free(cmd);
		return;
	}
	buf_printf(b, "thunk %s\n  command: %s\n  executable: %s\n", n->s, cmd, t->exe);
	free(cmd);
	buf_adds(b, "  argv:");
	for (size_t i = 0; i < t->argv.n; i++) {
		char *one[] = {t->argv.v[i], NULL};
		char *q = argv_to_shell(one);
		buf_printf(b, " %s", q);
		free(q);
	}
	buf_printf(b, "\n  environment:%s\n", t->env.n ? "" : " (empty)");
	for (size_t i = 0; i < t->env.n; i++)
		buf_printf(b, "    %s\n", t->env.v[i]);
	buf_printf(b, "  inputs (%zu):\n", t->ninputs);
	for (size_t i = 0; i < t->ninputs; i++) {
		char *ref = gg_ref_format(&t->inputs[i].ref);
		buf_printf(b, "    %c %s  %s\n",
		           t->inputs[i].link   ? 'l'
		           : t->inputs[i].exec ? 'x'
		                               : '-',
		           t->inputs[i].path, ref);
		free(ref);
	}
	buf_adds(b, "  outputs:\n");
	for (size_t i = 0; i < t->outputs.n; i++) {
		const struct memo_output *mo = m ? memo_find(m, t->outputs.v[i]) : NULL;
		buf_printf(b, "    %s  %s%s\n", t->outputs.v[i], mo ? mo->value.s : "(not forced)",
		           mo && mo->link ? " (symbolic link)" : "");
	}
	if (t->timeout_ms)
		buf_printf(b, "  timeout: %llu ms\n", (unsigned long long)t->timeout_ms);
	else
		buf_adds(b, "  timeout: default\n");
}

int cmd_describe(int argc, char **argv)
{
	static const char help[] =
	    "usage: gg describe [--json] TARGET\n"
	    "TARGET is a placeholder file, an object name or THUNK#OUTPUT.\n";
	int json = 0;
	const struct option flags[] = {{"json", no_argument, &json, 1}, {0}};
	int done = read_flags(argc, argv, flags, help, "usage: gg describe [--json] TARGET");
	if (done >= 0)
		return done;
	if (argc - optind != 1)
		return report_usage("usage: gg describe [--json] TARGET");
	const char *target = argv[optind];
	struct force_target tg;
	if (force_target_peek(NULL, target, &tg) < 0)
		return report_last();
	if (tg.plain)
		return report_error("%s is an ordinary file, not a placeholder", target);
	struct gg_ref ref = tg.ref;
	struct store *s;
	if (open_store(false, &s) < 0) {
		gg_ref_free(&ref);
		return report_last();
	}
	struct buf b = BUF_INIT;
	int rc = 0;
	if (gg_name_kind(&ref.name) == GG_VALUE) {
		describe_value(&ref.name, s, json, &b);
	} else {
		struct buf enc = BUF_INIT;
		struct thunk t;
		if (store_read(s, &ref.name, &enc, THUNK_MAX_SIZE) < 0 ||
		    thunk_parse(enc.data, enc.len, &t) < 0) {
			rc = report_last();
		} else {
			struct memo m;
			bool forced = memo_get(s, &ref.name, &m) == 1;
			describe_thunk(&ref.name, &t, forced ? &m : NULL, json, &b);
			if (forced)
				memo_free(&m);
			thunk_free(&t);
		}
		buf_free(&enc);
	}
	fwrite(b.data ? b.data : "", 1, b.len, stdout);
	buf_free(&b);
	gg_ref_free(&ref);
	store_close(s);
	return rc;
}
