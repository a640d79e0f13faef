/**
 * @file test_worker_exec.c
 * Specification of what a worker does with one request
 * (backend/remote/worker_exec.c, worker_handle), with real sandboxed runs of
 * /bin/sh thunks and a file:// storage in a temporary directory: requests
 * refused (400, 403 without echoing the URI), a thunk checked against its
 * name, fetched from storage or refused when not reduced; inputs fetched in
 * one batch, each checked (a corrupt remote copy is missing, not run), the
 * missing ones listed once; outputs in the thunk's order, inlined up to
 * WIRE_INLINE_EACH each and the request's inline_limit in all, the rest
 * uploaded; relative symbolic links kept as links; hostile outputs (links
 * out of the directory, directories, hard links, a path through a link,
 * none) failing the thunk; exit status, signal, timeout and stderr in a
 * program failure, and no exit status for a program that could not be
 * executed; the memo (trusted only when isolated), the Lambda deadline,
 * cancellation, an upload that fails, fake execution and the corrupt fault.
 */
#include "backend/remote/wire.h"
#include "backend/remote/worker.h"
#include "backend/storage/storage.h"
#include "core/sandbox.h"
#include "core/thunk_build.h"
#include "harness.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *dir, *uri;
static struct store *client; /* where thunks are made (a client's store) */
static struct storage *remote;

static struct store *make_store(const char *name)
{
	char *d = xasprintf("%s/%s", dir, name), *root = NULL;
	struct store *s = NULL;
	int r = store_init(d, &root) == 0 ? store_open(root, &s) : -1;
	free(root), free(d);
	if (r < 0)
		abort();
	return s;
}

static void new_worker(struct worker *w, const char *store_name, bool no_isolation)
{
	memset(w, 0, sizeof *w);
	w->exec.no_isolation = no_isolation;
	w->jobs = 2;
	strvec_push(&w->storage_allow, uri);
	if (worker_init(w, make_store(store_name)) < 0)
		abort();
}

static void end_worker(struct worker *w)
{
	struct store *s = w->store;
	worker_fini(w);
	strvec_free(&w->storage_allow);
	store_close(s);
}

/* A value's name for these bytes. */
static struct gg_name value_of(const char *data, size_t len)
{
	struct gg_name n;
	gg_name_of_buf(data, len, GG_VALUE, &n);
	return n;
}

/* Uploads the thunk's inputs (all but `except`, when given) to storage. */
static void upload_inputs(const struct buf *enc, const struct gg_name *except)
{
	struct thunk t;
	if (thunk_parse(enc->data, enc->len, &t) < 0)
		abort();
	struct gg_name *v = xcalloc(t.ninputs, sizeof *v);
	size_t n = 0;
	for (size_t i = 0; i < t.ninputs; i++)
		if (!except || !gg_name_eq(except, &t.inputs[i].ref.name))
			v[n++] = t.inputs[i].ref.name;
	if (storage_sync_up(remote, client, v, n) < 0)
		abort();
	free(v);
	thunk_free(&t);
}

/* A thunk running `sh -c script` with these outputs (space-separated) and an
 * input "in" holding `in` (when not NULL, also at "in2"); tools: ln, mv,
 * mkdir and chmod on PATH. Stored in the client's store, *enc its bytes;
 * its inputs uploaded to storage, but for "in". */
static struct gg_name make_thunk(const char *script, const char *outs, const char *in, bool tools,
                                 uint64_t timeout_ms, struct buf *enc)
{
	struct thunk t;
	thunk_init(&t);
	char *args[] = {"-c", (char *)script};
	if (tbuild_set_program(client, &t, "sh", "sh", NULL, args, 2) < 0)
		abort();
	if (in) {
		struct gg_ref r = {{{0}}, NULL};
		if (store_put_buf(client, in, strlen(in), GG_VALUE, &r.name) < 0)
			abort();
		thunk_add_input(&t, "in", &r, false);
		thunk_add_input(&t, "in2", &r, false);
	}
	if (tools) {
		const char *names[] = {"ln", "mv", "mkdir", "chmod"};
		for (size_t i = 0; i < GG_ARRAY_LEN(names); i++)
			if (tbuild_add_tool(client, &t, names[i]) < 0)
				abort();
		strvec_push(&t.env, "PATH=" TBUILD_TOOL_PATH);
		strvec_push(&t.env, "LD_LIBRARY_PATH=" TBUILD_TOOL_LIBS);
	}
	char *copy = xstrdup(outs), *save = NULL;
	for (char *o = strtok_r(copy, " ", &save); o; o = strtok_r(NULL, " ", &save))
		strvec_push(&t.outputs, o);
	free(copy);
	t.timeout_ms = timeout_ms;
	struct gg_name name;
	if (tbuild_store(client, &t, &name) < 0)
		abort();
	thunk_free(&t);
	buf_reset(enc);
	if (store_read(client, &name, enc, THUNK_MAX_SIZE) < 0)
		abort();
	struct gg_name inv = value_of(in ? in : "", in ? strlen(in) : 0);
	upload_inputs(enc, in ? &inv : NULL);
	return name;
}

struct ask {
	const struct gg_name *thunk;
	const struct buf *enc; /* NULL: the worker fetches it */
	const char *storage;   /* NULL: uri */
	uint64_t timeout_ms;
	uint64_t inline_limit; /* 0: the default */
	const struct gg_cancel *cancel;
};

/* Sends a request; the reply parsed into *rs (0), or its HTTP status and
 * raw body when not 200. */
static int ask(struct worker *w, const struct ask *a, struct wire_response *rs, struct buf *raw)
{
	struct wire_request rq = {.thunk = *a->thunk,
	                          .storage = xstrdup(a->storage ? a->storage : uri),
	                          .timeout_ms = a->timeout_ms,
	                          .inline_limit =
	                              a->inline_limit ? a->inline_limit : WIRE_INLINE_TOTAL};
	if (a->enc) {
		rq.has_encoding = true;
		buf_add(&rq.encoding, a->enc->data, a->enc->len);
	}
	struct buf req = BUF_INIT, out = BUF_INIT;
	if (wire_request_encode(&rq, &req) < 0)
		abort();
	wire_request_free(&rq);
	int status = 0;
	worker_handle(w, req.data, req.len, &out, &status, a->cancel);
	buf_free(&req);
	memset(rs, 0, sizeof *rs);
	if (status == 200 && wire_response_parse(out.data, out.len, rs) < 0) {
		fprintf(stderr, "unparsable reply: %s (%.*s)\n", gg_last_error(), (int)out.len,
		        out.data);
		status = -1;
	}
	if (raw) {
		buf_reset(raw);
		buf_add(raw, out.data ? out.data : "", out.len);
		buf_addc(raw, 0);
	}
	buf_free(&out);
	return status == 200 ? 0 : status;
}

static bool has(const char *s, const char *needle)
{
	bool r = s && strstr(s, needle);
	if (!r)
		fprintf(stderr, "    \"%s\" lacks \"%s\"\n", s ? s : "(null)", needle);
	return r;
}

static bool remote_has(const struct gg_name *n)
{
	bool present = false;
	return remote->ops->has(remote, n, 1, &present) == 0 && present;
}

/* The output's inline bytes equal text. */
static bool inline_is(const struct wire_output *o, const char *text)
{
	size_t n = strlen(text);
	return o->has_inline && o->data.len == n && (n == 0 || !memcmp(o->data.data, text, n));
}

static void setup(void)
{
	dir = xstrdup("/tmp/ggtest-wexec-XXXXXX");
	if (!mkdtemp(dir))
		abort();
	client = make_store("client");
	uri = xasprintf("file://%s/remote", dir);
	if (storage_open(uri, &remote) < 0)
		abort();
	if (!sandbox_available())
		fprintf(stderr, "test_worker_exec: no namespaces here: isolated runs are plain\n");
}

static void test_refused_requests(void)
{
	struct worker w;
	new_worker(&w, "w-refused", false);
	struct buf raw = BUF_INIT, enc = BUF_INIT;
	int status = 0;
	/* not a wire request: 400 and the parser's error */
	worker_handle(&w, "{\"v\":1}", 7, &raw, &status, NULL);
	buf_addc(&raw, 0);
	CHECK(status == 400);
	CHECK(has(raw.data, "{\"v\":1,\"error\":\"wire request: "));
	CHECK(w.served == 0);

	/* a storage not allowed: 403, and the URI (which may hold a password) not echoed */
	struct gg_name th = make_thunk("echo hi > o", "o", NULL, false, 0, &enc);
	struct wire_response rs;
	char *other = xasprintf("file://%s/elsewhere-secret", dir);
	CHECK(ask(&w, &(struct ask){.thunk = &th, .enc = &enc, .storage = other}, &rs, &raw) ==
	      403);
	CHECK(has(raw.data, "the request names a storage this worker does not allow"));
	CHECK(!strstr(raw.data, "elsewhere-secret"));
	/* nor a prefix of an allowed one, nor one with a slash added */
	char *longer = xasprintf("%s/", uri), *shorter = xstrndup(uri, strlen(uri) - 1);
	CHECK(ask(&w, &(struct ask){.thunk = &th, .enc = &enc, .storage = longer}, &rs, NULL) ==
	      403);
	CHECK(ask(&w, &(struct ask){.thunk = &th, .enc = &enc, .storage = shorter}, &rs, NULL) ==
	      403);
	struct stat st;
	char *made = xasprintf("%s/elsewhere-secret", dir);
	CHECK(stat(made, &st) < 0); /* never opened */
	CHECK(w.served == 0);
	free(made), free(other), free(longer), free(shorter);
	buf_free(&raw), buf_free(&enc);
	end_worker(&w);
}

static void test_thunk_checked(void)
{
	struct worker w;
	new_worker(&w, "w-thunk", false);
	struct buf enc = BUF_INIT, enc2 = BUF_INIT;
	struct gg_name a = make_thunk("echo a > o", "o", NULL, false, 0, &enc);
	struct gg_name b = make_thunk("echo b > o", "o", NULL, false, 0, &enc2);
	struct wire_response rs;

	/* the encoding of another thunk */
	CHECK(ask(&w, &(struct ask){.thunk = &a, .enc = &enc2}, &rs, NULL) == 0);
	CHECK(rs.status == WIRE_INFRA && gg_name_eq(&rs.thunk, &a));
	char *want =
	    xasprintf("the request's encoding is not the thunk %s (its name is %s)", a.s, b.s);
	CHECK(has(rs.infra_error, want));
	free(want);
	wire_response_free(&rs);
	CHECK(store_has(w.store, &b) != 1); /* not stored */

	/* bytes named right that are no thunk */
	struct gg_name junk;
	gg_name_of_buf("not a thunk", 11, GG_THUNK, &junk);
	struct buf jb = BUF_INIT;
	buf_adds(&jb, "not a thunk");
	CHECK(ask(&w, &(struct ask){.thunk = &junk, .enc = &jb}, &rs, NULL) == 0);
	CHECK(rs.status == WIRE_INFRA && has(rs.infra_error, "cannot read the thunk: "));
	wire_response_free(&rs);
	buf_free(&jb);

	/* no encoding and not in storage: fetched, missing, named */
	CHECK(ask(&w, &(struct ask){.thunk = &a}, &rs, NULL) == 0);
	CHECK(rs.status == WIRE_INFRA);
	want = xasprintf("cannot fetch the thunk from %s: not there", uri);
	CHECK(has(rs.infra_error, want));
	free(want);
	CHECK(rs.nmissing == 1 && gg_name_eq(&rs.missing[0], &a));
	wire_response_free(&rs);

	/* in storage: fetched and run */
	CHECK(storage_sync_up(remote, client, &a, 1) == 0);
	CHECK(ask(&w, &(struct ask){.thunk = &a}, &rs, NULL) == 0);
	CHECK(rs.status == WIRE_OK && rs.noutputs == 1 && inline_is(&rs.outputs[0], "a\n"));
	wire_response_free(&rs);

	/* not reduced: an input is another thunk's output */
	struct thunk t;
	CHECK(thunk_parse(enc.data, enc.len, &t) == 0);
	struct gg_ref dep = {a, "o"};
	thunk_add_input(&t, "dep", &dep, false);
	struct gg_name nr;
	CHECK(tbuild_store(client, &t, &nr) == 0);
	thunk_free(&t);
	buf_reset(&enc2);
	CHECK(store_read(client, &nr, &enc2, THUNK_MAX_SIZE) == 0);
	CHECK(ask(&w, &(struct ask){.thunk = &nr, .enc = &enc2}, &rs, NULL) == 0);
	CHECK(rs.status == WIRE_INFRA &&
	      has(rs.infra_error, "the thunk is not reduced: an input is still a thunk's output"));
	wire_response_free(&rs);
	buf_free(&enc), buf_free(&enc2);
	end_worker(&w);
}

static void test_inputs_fetched_and_checked(void)
{
	struct worker w;
	new_worker(&w, "w-inputs", false);
	struct buf enc = BUF_INIT;
	const char *text = "fetched input\n";
	struct gg_name in = value_of(text, strlen(text));
	struct gg_name th =
	    make_thunk("read -r l < in2 && printf '%s\\n' \"$l\" > o", "o", text, false, 0, &enc);
	struct thunk t;
	CHECK(thunk_parse(enc.data, enc.len, &t) == 0);
	size_t distinct = t.ninputs - 1; /* "in" and "in2" are one value */
	thunk_free(&t);

	/* the input not in storage: listed once (two paths hold it), all
	 * other inputs asked of storage in the same batch */
	struct wire_response rs;
	CHECK(ask(&w, &(struct ask){.thunk = &th, .enc = &enc}, &rs, NULL) == 0);
	CHECK(rs.status == WIRE_INFRA && rs.nmissing == 1 && gg_name_eq(&rs.missing[0], &in));
	char *want =
	    xasprintf("1 of %zu inputs could not be fetched from %s (not there)", distinct, uri);
	CHECK(has(rs.infra_error, want));
	free(want);
	wire_response_free(&rs);

	/* those fetched were kept: only the missing one is asked for again */
	CHECK(ask(&w, &(struct ask){.thunk = &th, .enc = &enc}, &rs, NULL) == 0);
	CHECK(rs.status == WIRE_INFRA && rs.nmissing == 1 && gg_name_eq(&rs.missing[0], &in));
	want = xasprintf("1 of 1 inputs could not be fetched from %s (not there)", uri);
	CHECK(has(rs.infra_error, want));
	free(want);
	wire_response_free(&rs);

	/* a corrupt remote copy of the input: checked against its name, not run,
	 * and removed from storage (the next upload replaces it) */
	char *sub = xasprintf("%s/remote/%.2s", dir, in.s + 1);
	char *path = xasprintf("%s/%s", sub, in.s);
	mkdir(sub, 0755);
	const char *bad = "fetched inpuT\n"; /* the size its name says */
	CHECK(write_file_atomic(path, bad, strlen(bad), 0644) == 0);
	CHECK(ask(&w, &(struct ask){.thunk = &th, .enc = &enc}, &rs, NULL) == 0);
	CHECK(rs.status == WIRE_INFRA && rs.nmissing == 1 && gg_name_eq(&rs.missing[0], &in));
	CHECK(has(rs.infra_error, "1 of 1 inputs could not be fetched"));
	CHECK(store_has(w.store, &in) != 1);
	CHECK(!remote_has(&in));
	wire_response_free(&rs);

	/* uploaded: runs; the fetch is timed */
	upload_inputs(&enc, NULL);
	CHECK(ask(&w, &(struct ask){.thunk = &th, .enc = &enc}, &rs, NULL) == 0);
	CHECK(rs.status == WIRE_OK && rs.noutputs == 1 && inline_is(&rs.outputs[0], text));
	CHECK(gg_name_eq(&rs.outputs[0].value, &in));
	CHECK(rs.has_times && !rs.cached && rs.worker && strchr(rs.worker, ':'));
	wire_response_free(&rs);
	free(sub), free(path);
	buf_free(&enc);
	end_worker(&w);
}

/* 2^k 'x' characters built by doubling in sh, into variable s */
#define SH_X65536 "s=x; i=0; while [ $i -lt 16 ]; do s=$s$s; i=$((i+1)); done; "

static void test_outputs_inline_or_uploaded(void)
{
	struct worker w;
	new_worker(&w, "w-outputs", false);
	struct buf enc = BUF_INIT;
	struct wire_response rs;
	/* in the thunk's order (not sorted); an empty one; 64 KiB exactly is
	 * inlined, a byte more is uploaded; a relative link stays a link */
	struct gg_name th =
	    make_thunk(SH_X65536 "printf %s \"$s\" > edge; printf %sy \"$s\" > big; "
	                         ": > empty; echo z > z; ln -s z l",
	               "z edge big empty l", NULL, true, 0, &enc);
	CHECK(ask(&w, &(struct ask){.thunk = &th, .enc = &enc}, &rs, NULL) == 0);
	CHECK(rs.status == WIRE_OK && rs.noutputs == 5);
	char *x = xmalloc(65537);
	memset(x, 'x', 65536);
	x[65536] = 'y';
	struct gg_name edge = value_of(x, 65536), big = value_of(x, 65537);
	if (rs.noutputs == 5) {
		CHECK_STR(rs.outputs[0].path, "z");
		CHECK(inline_is(&rs.outputs[0], "z\n") && !rs.outputs[0].link);
		CHECK_STR(rs.outputs[1].path, "edge");
		CHECK(gg_name_eq(&rs.outputs[1].value, &edge) && rs.outputs[1].has_inline &&
		      rs.outputs[1].data.len == 65536);
		CHECK_STR(rs.outputs[2].path, "big");
		CHECK(gg_name_eq(&rs.outputs[2].value, &big) && !rs.outputs[2].has_inline);
		CHECK(remote_has(&big)); /* uploaded */
		CHECK(!remote_has(&edge));
		CHECK_STR(rs.outputs[3].path, "empty");
		CHECK(inline_is(&rs.outputs[3], ""));
		CHECK_STR(rs.outputs[4].path, "l");
		CHECK(rs.outputs[4].link && inline_is(&rs.outputs[4], "z"));
		struct gg_name zl = value_of("z", 1);
		CHECK(gg_name_eq(&rs.outputs[4].value, &zl));
	}
	wire_response_free(&rs);

	/* the request's inline_limit is a budget in order: what does not fit
	 * is uploaded, a smaller one after it still inlined */
	CHECK(ask(&w, &(struct ask){.thunk = &th, .enc = &enc, .inline_limit = 3}, &rs, NULL) == 0);
	CHECK(rs.status == WIRE_OK && rs.noutputs == 5 && rs.cached);
	if (rs.noutputs == 5) {
		CHECK(inline_is(&rs.outputs[0], "z\n"));
		CHECK(!rs.outputs[1].has_inline && remote_has(&edge));
		CHECK(!rs.outputs[2].has_inline);
		CHECK(inline_is(&rs.outputs[3], ""));
		CHECK(inline_is(&rs.outputs[4], "z")); /* 3 - 2 - 0 = 1 byte left */
	}
	wire_response_free(&rs);
	CHECK(ask(&w, &(struct ask){.thunk = &th, .enc = &enc, .inline_limit = 1}, &rs, NULL) == 0);
	CHECK(rs.status == WIRE_OK && rs.noutputs == 5);
	if (rs.noutputs == 5) {
		struct gg_name z = value_of("z\n", 2);
		CHECK(!rs.outputs[0].has_inline && remote_has(&z));
		CHECK(inline_is(&rs.outputs[4], "z"));
	}
	wire_response_free(&rs);
	free(x);
	buf_free(&enc);
	end_worker(&w);
}

struct hostile {
	const char *script, *outs, *why;
};

static void test_hostile_outputs(void)
{
	struct worker w;
	new_worker(&w, "w-hostile", false);
	static const struct hostile cases[] = {
	    {"ln -s /etc/passwd o", "o",
	     "output 'o': a symbolic link to the absolute path '/etc/passwd' (a link's target "
	     "must stay beneath its own directory"},
	    {"ln -s ../../etc/passwd o", "o",
	     "output 'o': a symbolic link to '../../etc/passwd' climbs out with '..'"},
	    {"ln -s a/../../x o", "o", "climbs out with '..'"},
	    {"mkdir o", "o", "output 'o' is a directory, not a regular file"},
	    {"echo x > a; ln a b", "a b",
	     "output 'a' has 2 hard links: an output must be a file of its own"},
	    {"mv d e; ln -s e d; echo x > e/o", "d/o",
	     "output 'd/o' is reached through a symbolic link (a directory on its path was "
	     "replaced by a link); links are never followed"},
	    {"echo x > a", "a b", "exited with status 0 but did not produce output 'b'"},
	};
	struct buf enc = BUF_INIT;
	for (size_t i = 0; i < GG_ARRAY_LEN(cases); i++) {
		struct gg_name th = make_thunk(cases[i].script, cases[i].outs, NULL, true, 0, &enc);
		struct wire_response rs;
		CHECK(ask(&w, &(struct ask){.thunk = &th, .enc = &enc}, &rs, NULL) == 0);
		if (rs.status != WIRE_FAILED || rs.noutputs != 0 || !has(rs.why, cases[i].why)) {
			harness_failed++;
			fprintf(stderr, "hostile case %zu (%s): status %d, why %s, %s\n", i,
			        cases[i].script, (int)rs.status, rs.why ? rs.why : "-",
			        rs.infra_error ? rs.infra_error : "");
		} else {
			harness_passed++;
		}
		/* a program failure is not memoised */
		struct memo m = {0};
		CHECK(memo_get(w.store, &th, &m) != 1);
		memo_free(&m);
		wire_response_free(&rs);
	}
	buf_free(&enc);
	end_worker(&w);
}

static void test_program_failures(void)
{
	struct worker w;
	new_worker(&w, "w-fail", false);
	struct buf enc = BUF_INIT;
	struct wire_response rs;

	struct gg_name th =
	    make_thunk("echo partial > o; echo boom >&2; exit 3", "o", NULL, false, 0, &enc);
	CHECK(ask(&w, &(struct ask){.thunk = &th, .enc = &enc}, &rs, NULL) == 0);
	CHECK(rs.status == WIRE_FAILED && rs.noutputs == 0);
	CHECK_STR(rs.why, "exited with status 3");
	CHECK(rs.has_exit && !rs.exit_signalled && rs.exit_code == 3 && !rs.timed_out);
	CHECK_STR(rs.stderr_tail, "boom\n");
	wire_response_free(&rs);

	th = make_thunk("kill -KILL $$", "o", NULL, false, 0, &enc);
	CHECK(ask(&w, &(struct ask){.thunk = &th, .enc = &enc}, &rs, NULL) == 0);
	CHECK(rs.status == WIRE_FAILED && has(rs.why, "killed by signal 9"));
	CHECK(rs.has_exit && rs.exit_signalled && rs.exit_code == 9);
	wire_response_free(&rs);

	/* the request's timeout_ms for a thunk without one ... */
	th = make_thunk("echo spinning >&2; while :; do :; done", "o", NULL, false, 0, &enc);
	uint64_t t0 = now_ns();
	CHECK(ask(&w, &(struct ask){.thunk = &th, .enc = &enc, .timeout_ms = 300}, &rs, NULL) == 0);
	CHECK(rs.status == WIRE_FAILED && rs.timed_out);
	CHECK_STR(rs.why, "timed out after 300 ms");
	CHECK_STR(rs.stderr_tail, "spinning\n");
	CHECK(now_ns() - t0 < 3000000000ull);
	wire_response_free(&rs);
	/* ... but the thunk's own comes first */
	th = make_thunk("while :; do :; done", "o", NULL, false, 200, &enc);
	CHECK(ask(&w, &(struct ask){.thunk = &th, .enc = &enc, .timeout_ms = 8000}, &rs, NULL) ==
	      0);
	CHECK(rs.status == WIRE_FAILED && rs.timed_out);
	CHECK_STR(rs.why, "timed out after 200 ms");
	wire_response_free(&rs);

	/* a program that cannot be executed: its failure, and no exit status */
	struct thunk t;
	make_thunk("exit 0", "o", "not a program\n", false, 0, &enc);
	CHECK(thunk_parse(enc.data, enc.len, &t) == 0);
	free(t.exe);
	t.exe = xstrdup("in");
	for (size_t i = 0; i < t.ninputs; i++)
		t.inputs[i].exec |= !strcmp(t.inputs[i].path, "in");
	CHECK(tbuild_store(client, &t, &th) == 0);
	thunk_free(&t);
	buf_reset(&enc);
	CHECK(store_read(client, &th, &enc, THUNK_MAX_SIZE) == 0);
	upload_inputs(&enc, NULL);
	CHECK(ask(&w, &(struct ask){.thunk = &th, .enc = &enc}, &rs, NULL) == 0);
	CHECK(rs.status == WIRE_FAILED && !rs.has_exit && !rs.timed_out);
	CHECK_STR(rs.why, "cannot execute in: Exec format error");
	wire_response_free(&rs);
	buf_free(&enc);
	end_worker(&w);
}

static void test_memo_trusted_only_isolated(void)
{
	struct buf enc = BUF_INIT;
	struct gg_name th = make_thunk("echo memo > o", "o", NULL, false, 0, &enc);
	struct wire_response rs;
	struct worker w;
	new_worker(&w, "w-memo", false);
	if (!w.unisolated) {
		CHECK(ask(&w, &(struct ask){.thunk = &th, .enc = &enc}, &rs, NULL) == 0);
		CHECK(rs.status == WIRE_OK && !rs.cached);
		wire_response_free(&rs);
		CHECK(ask(&w, &(struct ask){.thunk = &th, .enc = &enc}, &rs, NULL) == 0);
		CHECK(rs.status == WIRE_OK && rs.cached && rs.noutputs == 1 &&
		      inline_is(&rs.outputs[0], "memo\n"));
		wire_response_free(&rs);
		CHECK(w.served == 2);
	}
	end_worker(&w);

	/* unisolated, a thunk could have written the memo: it runs again */
	new_worker(&w, "w-plain", true);
	CHECK(w.unisolated);
	for (int i = 0; i < 2; i++) {
		CHECK(ask(&w, &(struct ask){.thunk = &th, .enc = &enc}, &rs, NULL) == 0);
		CHECK(rs.status == WIRE_OK && !rs.cached && rs.noutputs == 1 &&
		      inline_is(&rs.outputs[0], "memo\n"));
		wire_response_free(&rs);
	}
	end_worker(&w);
	buf_free(&enc);
}

static void test_lambda_deadline(void)
{
	struct worker w;
	new_worker(&w, "w-deadline", false);
	struct buf enc = BUF_INIT;
	struct wire_response rs;
	struct gg_name th = make_thunk("while :; do :; done", "o", NULL, false, 0, &enc);

	/* passed already: not run */
	w.deadline_ns = now_ns() - 1;
	CHECK(ask(&w, &(struct ask){.thunk = &th, .enc = &enc}, &rs, NULL) == 0);
	CHECK(rs.status == WIRE_INFRA && rs.deadline);
	CHECK(has(rs.infra_error, "no time was left before the Lambda deadline to run it"));
	wire_response_free(&rs);

	/* reached while it runs: an infrastructure error (run it elsewhere),
	 * not the thunk's failure, however long its own timeout */
	w.deadline_ns = now_ns() + 300000000ull;
	uint64_t t0 = now_ns();
	CHECK(ask(&w, &(struct ask){.thunk = &th, .enc = &enc, .timeout_ms = 8000}, &rs, NULL) ==
	      0);
	CHECK(rs.status == WIRE_INFRA && rs.deadline && !rs.why);
	CHECK(has(rs.infra_error, "it ran past the Lambda deadline: stopped after "));
	CHECK(has(rs.infra_error, "s, 1.5 s before Lambda-Runtime-Deadline-Ms"));
	CHECK(now_ns() - t0 < 3000000000ull);
	wire_response_free(&rs);
	buf_free(&enc);
	end_worker(&w);
}

struct firing {
	struct gg_cancel *c;
	unsigned ms;
};

static void *fire_later(void *p)
{
	struct firing *f = p;
	usleep(f->ms * 1000);
	gg_cancel_fire(f->c);
	return NULL;
}

static void test_cancel_kills(void)
{
	struct worker w;
	new_worker(&w, "w-cancel", false);
	struct buf enc = BUF_INIT;
	struct wire_response rs;
	struct gg_name th = make_thunk("while :; do :; done", "o", NULL, false, 0, &enc);
	struct gg_cancel c;
	CHECK(gg_cancel_init(&c) == 0);
	struct firing f = {&c, 200};
	pthread_t tid;
	CHECK(pthread_create(&tid, NULL, fire_later, &f) == 0);
	uint64_t t0 = now_ns();
	/* (a timeout, so that a cancel that does not kill fails the test, not hangs it) */
	CHECK(ask(&w, &(struct ask){.thunk = &th, .enc = &enc, .cancel = &c, .timeout_ms = 8000},
	          &rs, NULL) == 0);
	pthread_join(tid, NULL);
	CHECK(now_ns() - t0 < 3000000000ull);
	CHECK(rs.status == WIRE_FAILED);
	CHECK_STR(rs.why, "cancelled");
	wire_response_free(&rs);
	gg_cancel_destroy(&c);
	buf_free(&enc);
	end_worker(&w);
}

static void test_upload_fails(void)
{
	struct worker w;
	new_worker(&w, "w-upload", false);
	struct buf enc = BUF_INIT;
	struct wire_response rs;
	/* an output whose directory in storage is a file: the upload fails */
	char text[32];
	struct gg_name v;
	char *sub = NULL;
	struct stat st;
	for (int i = 0;; i++) {
		snprintf(text, sizeof text, "upload %d\n", i);
		v = value_of(text, strlen(text));
		free(sub);
		sub = xasprintf("%s/remote/%.2s", dir, v.s + 1);
		if (stat(sub, &st) < 0)
			break;
	}
	char *script = xasprintf("printf '%s' > o", text);
	struct gg_name th = make_thunk(script, "o", NULL, false, 0, &enc);
	CHECK(write_file_atomic(sub, "x", 1, 0644) == 0);
	CHECK(ask(&w, &(struct ask){.thunk = &th, .enc = &enc, .inline_limit = 1}, &rs, NULL) == 0);
	char *want = xasprintf("cannot upload outputs to %s: ", uri);
	CHECK(rs.status == WIRE_INFRA && rs.noutputs == 0 && has(rs.infra_error, want));
	wire_response_free(&rs);
	/* once it can be uploaded, the memo answers */
	CHECK(unlink(sub) == 0);
	CHECK(ask(&w, &(struct ask){.thunk = &th, .enc = &enc, .inline_limit = 1}, &rs, NULL) == 0);
	CHECK(rs.status == WIRE_OK && rs.noutputs == 1 && !rs.outputs[0].has_inline);
	CHECK(gg_name_eq(&rs.outputs[0].value, &v) && remote_has(&v));
	wire_response_free(&rs);
	free(want), free(script), free(sub);
	buf_free(&enc);
	end_worker(&w);
}

static void test_fake_exec_and_corrupt_fault(void)
{
	struct worker w;
	new_worker(&w, "w-fake", false);
	w.fake_exec = true;
	w.faults.corrupt = 1;
	struct buf enc = BUF_INIT;
	struct wire_response rs;
	struct gg_name th = make_thunk("exit 1", "a b", NULL, false, 0, &enc);
	char *a = xasprintf("%s a\n", th.s), *b = xasprintf("%s b\n", th.s);
	struct gg_name av = value_of(a, strlen(a));
	CHECK(ask(&w, &(struct ask){.thunk = &th, .enc = &enc}, &rs, NULL) == 0);
	CHECK(rs.status == WIRE_OK && rs.noutputs == 2);
	if (rs.noutputs == 2) {
		/* the first inline output's first byte flipped, its name kept */
		CHECK(gg_name_eq(&rs.outputs[0].value, &av));
		CHECK(rs.outputs[0].has_inline && rs.outputs[0].data.len == strlen(a) &&
		      rs.outputs[0].data.data[0] == (a[0] ^ 0x20) &&
		      !memcmp(rs.outputs[0].data.data + 1, a + 1, strlen(a) - 1));
		CHECK(inline_is(&rs.outputs[1], b));
	}
	CHECK(w.faults.corrupt == 0);
	wire_response_free(&rs);
	free(a), free(b);
	buf_free(&enc);
	end_worker(&w);
}

static void teardown(void)
{
	storage_close(remote);
	store_close(client);
	remove_tree(dir);
	free(dir);
	free(uri);
}

TEST_MAIN(setup, test_refused_requests, test_thunk_checked, test_inputs_fetched_and_checked,
          test_outputs_inline_or_uploaded, test_hostile_outputs, test_program_failures,
          test_memo_trusted_only_isolated, test_lambda_deadline, test_cancel_kills,
          test_upload_fails, test_fake_exec_and_corrupt_fault, teardown)
