/**
 * @file dynloop.c
 * Dynamic graphs that loop, for tests/e2e/dynamic_loops.sh. Built static
 * from examples/dynamic/fib.c's SHA-256 and encoding helpers (included
 * below); like fib it runs as the thunk input "fib" and names itself by
 * hashing that file.
 *
 *     dynloop self     writes its own thunk to "out": a thunk that reduces to itself
 *     dynloop a | b    "a" writes thunk "b", which writes thunk "a"
 *     dynloop k        writes thunk "n", whose input k is this thunk's "out":
 *                      "n" then waits for itself
 *     dynloop deep I   writes thunk "deep I+1", without end
 */
#define main fib_main
#include "fib.c"
#undef main

static void loop_thunk(const char *arg, const char *arg2, const char *k_input, struct text *t)
{
	puts_(t, "ggthunk 1\n");
	field(t, "exe", SELF);
	field(t, "arg", SELF);
	field(t, "arg", arg);
	if (arg2)
		field(t, "arg", arg2);
	if (k_input) { /* inputs are sorted by path: "fib" < "k" */
		puts_(t, "in x ");
		puts_(t, self_name);
		puts_(t, " 3 " SELF "\n");
		puts_(t, "in - ");
		puts_(t, k_input);
		puts_(t, "#out 1 k\n");
	} else {
		puts_(t, "in x ");
		puts_(t, self_name);
		puts_(t, " 3 " SELF "\n");
	}
	field(t, "out", "out");
	puts_(t, "timeout 0\n");
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	name_self();
	struct text out = {0};
	char num[32];
	if (!strcmp(argv[1], "self")) {
		loop_thunk("self", NULL, NULL, &out);
	} else if (!strcmp(argv[1], "a") || !strcmp(argv[1], "b")) {
		loop_thunk(argv[1][0] == 'a' ? "b" : "a", NULL, NULL, &out);
	} else if (!strcmp(argv[1], "k")) {
		struct text me = {0};
		char kname[78];
		loop_thunk("k", NULL, NULL, &me);
		name_of(me.data, me.len, 'T', kname);
		loop_thunk("n", NULL, kname, &out);
		free(me.data);
	} else if (!strcmp(argv[1], "deep") && argc == 3) {
		snprintf(num, sizeof num, "%lu", strtoul(argv[2], NULL, 10) + 1);
		loop_thunk("deep", num, NULL, &out);
	} else {
		return 2;
	}
	write_out("out", out.data, out.len);
	free(out.data);
	return 0;
}
