/**
 * @file model_generic.c
 * The generic model (see model_generic.h) and its command, `gg model-generic
 * SPEC -- COMMAND [ARG...]`. It parses the spec, walks the command line as
 * getopt would, turns file arguments into inputs and outputs, and builds
 * the thunk with thunk_build.h like `gg thunk`. It never runs the command and
 * never guesses: an argument the spec does not describe is an error, so a
 * caller can fall back to running the real tool.
 */
#include "tools/infer/model_generic.h"

#include "core/placeholder.h"
#include "core/thunk.h"
#include "core/thunk_build.h"
#include "core/util.h"
#include "tools/command.h"
#include "tools/infer/infer.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum kind { K_NONE, K_IN, K_OUT }; /* @, @infile, @outfile */

struct mg_option {
	char *name; /* "-o", "--output", "-c:v" */
	bool has_arg;
	enum kind kind;
};

struct mg_spec {
	char *program;
	struct mg_option *opts;
	size_t nopts, opts_cap;
	bool other_has_arg; /* "-*=KIND" */
	enum kind other_kind;
	enum kind *pos; /* positional kinds */
	size_t npos, pos_cap;
	bool pos_repeat; /* the last positional repeats */
};

static void spec_free(struct mg_spec *sp)
{
	free(sp->program);
	for (size_t i = 0; i < sp->nopts; i++)
		free(sp->opts[i].name);
	free(sp->opts);
	free(sp->pos);
	memset(sp, 0, sizeof *sp);
}

static int parse_kind(const char *s, size_t len, enum kind *k)
{
	if (len == 1 && s[0] == '@')
		*k = K_NONE;
	else if (len == 7 && !memcmp(s, "@infile", 7))
		*k = K_IN;
	else if (len == 8 && !memcmp(s, "@outfile", 8))
		*k = K_OUT;
	else
		return gg_error("spec: '%.*s' is not @infile, @outfile or @", (int)len, s);
	return 0;
}

static void add_option(struct mg_spec *sp, const char *name, size_t len, bool has_arg, enum kind k)
{
	ALLOC_GROW(sp->opts, sp->nopts + 1, sp->opts_cap);
	sp->opts[sp->nopts++] = (struct mg_option){xstrndup(name, len), has_arg, k};
}

static int parse_word(struct mg_spec *sp, const char *w)
{
	size_t len = strlen(w);
	if (w[0] == '@') {
		if (sp->pos_repeat)
			return gg_error("spec: '%s' after a repeated (...) positional argument", w);
		bool rep = len > 3 && !strcmp(w + len - 3, "...");
		enum kind k;
		if (parse_kind(w, rep ? len - 3 : len, &k) < 0)
			return -1;
		ALLOC_GROW(sp->pos, sp->npos + 1, sp->pos_cap);
		sp->pos[sp->npos++] = k;
		sp->pos_repeat = rep;
		return 0;
	}
	if (w[0] != '-' || len < 2)
		return gg_error(
		    "spec: '%s' is neither an option (-NAME) nor @infile, @outfile or @", w);
	const char *eq = strchr(w, '=');
	size_t names_len = eq ? (size_t)(eq - w) : len;
	enum kind k = K_NONE;
	if (eq && parse_kind(eq + 1, strlen(eq + 1), &k) < 0)
		return -1;
	if (names_len == 2 && w[1] == '*') {
		sp->other_has_arg = eq != NULL;
		sp->other_kind = k;
		return 0;
	}
	for (const char *p = w; p < w + names_len;) {
		const char *comma = memchr(p, ',', (size_t)(w + names_len - p));
		size_t n = comma ? (size_t)(comma - p) : (size_t)(w + names_len - p);
		if (n < 2 || p[0] != '-' || (n == 2 && p[1] == '-'))
			return gg_error("spec: '%.*s' in '%s' is not an option name", (int)n, p, w);
		add_option(sp, p, n, eq != NULL, k);
		p += n + (comma != NULL);
	}
	return 0;
}

static int spec_parse(const char *spec, struct mg_spec *sp)
{
	memset(sp, 0, sizeof *sp);
	char *copy = xstrdup(spec);
	int r = 0;
	char *save = NULL;
	for (char *w = strtok_r(copy, " \t\n", &save); w && r == 0;
	     w = strtok_r(NULL, " \t\n", &save)) {
		if (!sp->program)
			sp->program = xstrdup(w);
		else
			r = parse_word(sp, w);
	}
	free(copy);
	if (r == 0 && !sp->program)
		r = gg_error("spec: empty (expected: PROGRAM [OPTION=KIND]... [KIND]...)");
	if (r < 0)
		spec_free(sp);
	return r;
}

int model_generic_check(const char *spec)
{
	struct mg_spec sp;
	if (spec_parse(spec, &sp) < 0)
		return -1;
	spec_free(&sp);
	return 0;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

char *model_generic_find(const char *specs, const char *tool)
{
	const char *p = specs;
	while (p && *p) {
		size_t n = strcspn(p, ";\n");
		char *one = xstrndup(p, n);
		char *w = one + strspn(one, " \t");
		size_t wl = strcspn(w, " \t");
		char *prog = xstrndup(w, wl);
		bool match = wl && !strcmp(base_name(prog), base_name(tool));
		free(prog);
		if (match)
			return one;
		free(one);
		p += n + (p[n] != 0);
	}
	return NULL;
}

/* ---- paths ---- */

/* The absolute, lexically normalised form of path (relative to cwd). */
static char *normalise(const char *cwd, const char *path)
{
	char *joined = path[0] == '/' ? xstrdup(path) : xasprintf("%s/%s", cwd, path);
	struct strvec parts = STRVEC_INIT;
	char *save = NULL;
	for (char *c = strtok_r(joined, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (!strcmp(c, "."))
			continue;
		if (!strcmp(c, "..")) {
			if (parts.n) {
				free(parts.v[--parts.n]);
				parts.v[parts.n] = NULL;
			}
			continue;
		}
		strvec_push(&parts, c);
	}
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < parts.n; i++) {
		buf_addc(&b, '/');
		buf_adds(&b, parts.v[i]);
	}
	if (!b.len)
		buf_addc(&b, '/');
	strvec_free(&parts);
	free(joined);
	return buf_steal(&b);
}

static char *default_map(void *ctx, const char *host)
{
	const char *cwd = ctx;
	if (path_check_relative(host, "file") == 0)
		return xstrdup(host);
	char *abs = normalise(cwd, host);
	size_t n = strlen(cwd);
	char *r;
	if (!strncmp(abs, cwd, n) && abs[n] == '/' && abs[n + 1])
		r = xstrdup(abs + n + 1);
	else if (!strcmp(cwd, "/") && abs[1])
		r = xstrdup(abs + 1);
	else
		r = xasprintf(".gg-sys/root%s", abs);
	free(abs);
	if (path_check_relative(r, "file") < 0) {
		free(r);
		return NULL;
	}
	return r;
}

/* ---- the command line ---- */

struct mg_build {
	struct store *s;
	struct thunk *t;
	const struct model_generic_opts *o;
	char *cwd;
	struct strvec out_hosts; /* host paths of outputs, in t->outputs order */
};

/* A file argument: returns its spelling in the thunk (malloc'd). */
static char *file_arg(struct mg_build *b, enum kind k, const char *host)
{
	if (!*host || !strcmp(host, "-")) {
		gg_error("'%s' as a file: standard input and output cannot be modelled", host);
		return NULL;
	}
	char *mapped = b->o->map ? b->o->map(b->o->map_ctx, host) : default_map(b->cwd, host);
	if (!mapped)
		return NULL;
	if (!strncmp(mapped, ".gg-sys/", 8) && strncmp(mapped, ".gg-sys/root/", 13)) {
		gg_error("%s: .gg-sys/ is reserved for the program's own files", host);
		free(mapped);
		return NULL;
	}
	int r;
	if (k == K_IN) {
		r = tbuild_add_file(b->s, b->t, mapped, host);
		if (r < 0)
			gg_error("@infile '%s': %s", host, gg_last_error());
	} else if (thunk_has_output(b->t, mapped)) {
		r = gg_error("%s: named as an output twice", host);
	} else {
		strvec_push(&b->t->outputs, mapped);
		strvec_push(&b->out_hosts, host);
		r = 0;
	}
	if (r < 0) {
		free(mapped);
		return NULL;
	}
	return mapped;
}

/* Pushes an argument of kind k; a file is mapped (prefix is kept as is). */
static int push_arg(struct mg_build *b, struct strvec *args, enum kind k, const char *prefix,
                    const char *value)
{
	if (k == K_NONE) {
		strvec_push_take(args, xasprintf("%s%s", prefix, value));
		return 0;
	}
	char *m = file_arg(b, k, value);
	if (!m)
		return -1;
	strvec_push_take(args, xasprintf("%s%s", prefix, m));
	free(m);
	return 0;
}

static const struct mg_option *find_option(const struct mg_spec *sp, const char *w, size_t len)
{
	for (size_t i = 0; i < sp->nopts; i++)
		if (strlen(sp->opts[i].name) == len && !memcmp(sp->opts[i].name, w, len))
			return &sp->opts[i];
	return NULL;
}

static int walk_args(struct mg_build *b, const struct mg_spec *sp, int argc, char **argv,
                     struct strvec *args)
{
	size_t npos = 0;
	bool options = true;
	for (int i = 1; i < argc; i++) {
		const char *w = argv[i];
		if (options && !strcmp(w, "--")) {
			options = false;
			strvec_push(args, w);
			continue;
		}
		if (options && w[0] == '-' && w[1]) {
			const struct mg_option *op = find_option(sp, w, strlen(w));
			const char *eq = strchr(w, '=');
			if (!op && !strncmp(w, "--", 2) && eq) { /* --long=VALUE */
				op = find_option(sp, w, (size_t)(eq - w));
				if (op && !op->has_arg)
					return gg_error("%s: the spec says %.*s takes no argument",
					                w, (int)(eq - w), w);
				if (op) {
					char *prefix = xstrndup(w, (size_t)(eq - w + 1));
					int r = push_arg(b, args, op->kind, prefix, eq + 1);
					free(prefix);
					if (r < 0)
						return -1;
					continue;
				}
			}
			if (!op && w[1] != '-') { /* -xVALUE */
				const struct mg_option *s1 = find_option(sp, w, 2);
				if (s1 && s1->has_arg) {
					char prefix[3] = {w[0], w[1], 0};
					if (push_arg(b, args, s1->kind, prefix, w + 2) < 0)
						return -1;
					continue;
				}
			}
			bool has_arg = op ? op->has_arg : sp->other_has_arg;
			enum kind k = op ? op->kind : sp->other_kind;
			strvec_push(args, w);
			if (has_arg) {
				if (i + 1 >= argc)
					return gg_error("%s: missing its argument", w);
				if (push_arg(b, args, k, "", argv[++i]) < 0)
					return -1;
			}
			continue;
		}
		if (npos >= sp->npos && !(sp->pos_repeat && sp->npos))
			return gg_error("'%s': more arguments than the spec describes (%zu)", w,
			                sp->npos);
		enum kind k = sp->pos[npos < sp->npos ? npos : sp->npos - 1];
		npos++;
		if (push_arg(b, args, k, "", w) < 0)
			return -1;
	}
	return 0;
}

static int add_extra(struct mg_build *b)
{
	for (size_t i = 0; i < b->o->nextra; i++) {
		const char *x = b->o->extra_inputs[i];
		const char *eq = strchr(x, '=');
		char *path = eq ? xstrndup(x, (size_t)(eq - x)) : xstrdup(x);
		int r = path_check_relative(path, "extra input");
		if (r == 0 && !strncmp(path, ".gg-sys/", 8))
			r = gg_error(
			    "extra input %s: .gg-sys/ is reserved for the program's own files",
			    path);
		if (r == 0)
			r = tbuild_add_file(b->s, b->t, path, eq ? eq + 1 : x);
		free(path);
		if (r < 0)
			return -1;
	}
	return 0;
}

int model_generic(struct store *s, const char *spec, int argc, char **argv,
                  const struct model_generic_opts *o, struct gg_name *name)
{
	static const struct model_generic_opts none = {0};
	if (!o)
		o = &none;
	if (argc < 1 || !argv[0] || !*argv[0])
		return gg_error("no command to model");
	struct mg_spec sp;
	if (spec_parse(spec, &sp) < 0)
		return -1;
	struct thunk t;
	thunk_init(&t);
	struct mg_build b = {s, &t, o, getcwd(NULL, 0), STRVEC_INIT};
	struct strvec args = STRVEC_INIT;
	int r = 0;
	if (!b.cwd)
		r = gg_error_errno("cannot get the current directory");
	else if (strcmp(base_name(argv[0]), base_name(sp.program)))
		r = gg_error("%s: the spec describes %s", argv[0], sp.program);
	if (r == 0)
		r = walk_args(&b, &sp, argc, argv, &args);
	if (r == 0 && t.outputs.n == 0)
		r = gg_error("%s: no @outfile argument in this command, so nothing to compute",
		             argv[0]);
	if (r == 0)
		r = add_extra(&b);
	for (size_t i = 0; r == 0 && i < o->nenv; i++) {
		if (!strchr(o->env[i], '=') || o->env[i][0] == '=')
			r = gg_error("environment '%s': expected NAME=VALUE", o->env[i]);
		else
			strvec_push(&t.env, o->env[i]);
	}
	t.timeout_ms = o->timeout_ms;
	if (r == 0)
		r = tbuild_set_program(s, &t, argv[0], base_name(argv[0]), o->search_path, args.v,
		                       args.n);
	if (r == 0)
		r = tbuild_store(s, &t, name);
	for (size_t i = 0; r == 0 && !o->no_placeholders && i < t.outputs.n; i++) {
		struct gg_ref ref = {*name, t.outputs.v[i]};
		r = placeholder_write(b.out_hosts.v[i], &ref);
	}
	strvec_free(&args);
	strvec_free(&b.out_hosts);
	free(b.cwd);
	thunk_free(&t);
	spec_free(&sp);
	return r;
}

/* ---- gg model-generic ---- */

static const char help[] =
    "usage: gg model-generic [-i PATH[=FILE]]... [-e NAME=VALUE]... [--timeout SEC]\n"
    "                        [--no-placeholders] SPEC -- COMMAND [ARG...]\n"
    "\n"
    "Makes COMMAND a thunk without running it. SPEC describes COMMAND's files:\n"
    "  'PROGRAM [NAME[,NAME]...[=KIND]]... [-*[=KIND]] [KIND[...]]...'\n"
    "with KIND @infile (an input file or placeholder), @outfile (an output: a\n"
    "placeholder is written there) or @ (not a file), e.g.\n"
    "  gg model-generic 'ffmpeg -y -i=@infile -*=@ @outfile' -- ffmpeg -y -i in.nut -c:v libx264 "
    "out.mp4\n"
    "Prints the thunk's name.\n"
    "\n"
    "  -i, --input PATH[=FILE]  also place FILE (default: PATH) at PATH in the sandbox\n"
    "  -e, --env NAME=VALUE     an environment variable (the environment is empty otherwise)\n"
    "  --timeout SEC            kill the program after SEC seconds\n"
    "  --no-placeholders        do not write placeholders at the outputs\n";

int cmd_model_generic(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"input", required_argument, 0, 'i'},   {"env", required_argument, 0, 'e'},
	    {"timeout", required_argument, 0, 't'}, {"no-placeholders", no_argument, 0, 'P'},
	    {"help", no_argument, 0, 'h'},          {0},
	};
	struct strvec extra = STRVEC_INIT, env = STRVEC_INIT;
	struct model_generic_opts mo = {0};
	int c, rc = 1;
	/* Its own getopt loop, not read_options: "+" ends the options at
	 * the first operand (before "--"). optind 0, not 1: getopt starts
	 * afresh (see read_options), "+" included. */
	optind = 0;
	while ((c = getopt_long(argc, argv, "+i:e:h", opts, NULL)) != -1) {
		switch (c) {
		case 'i': strvec_push(&extra, optarg); break;
		case 'e': strvec_push(&env, optarg); break;
		case 't':
			if (tbuild_timeout_parse(optarg, &mo.timeout_ms) < 0) {
				rc = report_last();
				goto out;
			}
			break;
		case 'P': mo.no_placeholders = true; break;
		case 'h':
			fputs(help, stdout);
			rc = 0;
			goto out;
		default:
			fputs(help, stderr);
			rc = 2;
			goto out;
		}
	}
	if (argc - optind < 3 || strcmp(argv[optind + 1], "--")) {
		fputs(help, stderr);
		rc = 2;
		goto out;
	}
	mo.extra_inputs = extra.v;
	mo.nextra = extra.n;
	mo.env = env.v;
	mo.nenv = env.n;
	struct store *s;
	if (open_store(true, &s) < 0) {
		report_last();
		goto out;
	}
	struct gg_name name;
	if (model_generic(s, argv[optind], argc - optind - 2, argv + optind + 2, &mo, &name) < 0) {
		report_error("model-generic: %s", gg_last_error());
	} else {
		printf("%s\n", name.s);
		rc = 0;
	}
	store_close(s);
out:
	strvec_free(&extra);
	strvec_free(&env);
	return rc;
}
