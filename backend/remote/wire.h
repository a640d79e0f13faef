/**
 * @file wire.h
 * The request and response that remote engines send to `gg worker` (over
 * HTTP, the Lambda Invoke API or a file for Slurm), version 1. Documented
 * for people in man/gg-worker.1 (WIRE FORMAT); this is the reference.
 *
 * Request (an object; keys in any order, each at most once, none unknown):
 *     "v": 1                      required: the format's version
 *     "thunk": "T..."             required: the reduced thunk's name
 *     "encoding": "<base64>"      optional: the thunk's bytes (else the worker
 *                                 fetches the thunk from storage by name)
 *     "storage": "<uri>"          required: where inputs are, outputs go
 *     "timeout_ms": N             optional: for a thunk whose own timeout is 0
 *     "inline_limit": N           optional: output bytes the reply may carry
 *                                 inline in total (default WIRE_INLINE_TOTAL)
 *
 * Response, one of three shapes, told apart by "ok" and the keys present:
 *     success:          "ok": true, "outputs": [{"path", "value", "exec",
 *                       "link"?, "inline"?}, ...] (every declared output, in
 *                       order; "link": true for a symbolic link, whose value
 *                       is its target: a reader that does not know the key
 *                       refuses the reply rather than take the target for
 *                       the file's bytes)
 *     program failure:  "ok": false, "why": "...", "exit"?: {"status": N} or
 *                       {"signal": N}, "timed_out"?: bool
 *     infrastructure:   "ok": false, "infra_error": "...", "missing"?: [names],
 *                       "deadline"?: true (stopped before its carrier's
 *                       deadline, Lambda's: run it elsewhere)
 * and always "v": 1, "thunk": "T..." (echoed); optionally "stderr_tail",
 * "cached" (answered from the worker's memo), "worker" (who answered) and
 * "times": {"fetch_ms", "run_ms", "upload_ms"}.
 *
 * Strings are byte strings (core/json.h): valid UTF-8 passes through, any
 * other byte is written as the escape \udcXX (a lone low surrogate, as
 * Python's "surrogateescape" does) and read back as that byte, so paths and
 * stderr round-trip exactly. Numbers are non-negative integers below 2^53. The
 * writer's output is canonical (fixed key order, no spaces); the reader
 * accepts any JSON whitespace but nothing beyond this schema, and says at
 * which byte and why it stopped. Sizes are bounded (WIRE_MAX_*), and parsing
 * allocates at most a small multiple of the input's size.
 */
#ifndef GG_WIRE_H
#define GG_WIRE_H

#include "core/hash.h"
#include "core/util.h"

#define WIRE_VERSION 1
/* A request carries at most the thunk (THUNK_MAX_SIZE) in base64. */
#define WIRE_MAX_REQUEST (96u << 20)
/* A response carries small outputs inline and a stderr tail. */
#define WIRE_MAX_RESPONSE (16u << 20)
/* Outputs at most this big may be inlined, up to WIRE_INLINE_TOTAL in all
 * (AWS Lambda's payload limit is 6 MB, base64 costs a third more). */
#define WIRE_INLINE_EACH  (64u << 10)
#define WIRE_INLINE_TOTAL (1u << 20)
#define WIRE_INLINE_MAX   (4u << 20) /* what a request may ask for at most */

struct wire_request {
	struct gg_name thunk;
	bool has_encoding;
	struct buf encoding; /* the thunk's bytes, decoded */
	char *storage;
	uint64_t timeout_ms;
	uint64_t inline_limit; /* WIRE_INLINE_TOTAL when absent */
};

struct wire_output {
	char *path;
	struct gg_name value;
	bool exec;
	bool link; /* a symbolic link: the value is its target (never exec) */
	bool has_inline;
	struct buf data; /* the inline bytes, decoded */
};

enum wire_status {
	WIRE_OK,     /* ran (or was memoised); every output listed */
	WIRE_FAILED, /* the program failed: not worth retrying */
	WIRE_INFRA,  /* the worker could not run it: may be retried */
};

struct wire_response {
	struct gg_name thunk;
	enum wire_status status;
	struct wire_output *outputs; /* WIRE_OK */
	size_t noutputs, outputs_cap;
	char *why; /* WIRE_FAILED */
	bool has_exit, exit_signalled, timed_out;
	uint64_t exit_code;      /* the status, or the signal number */
	char *infra_error;       /* WIRE_INFRA */
	struct gg_name *missing; /* WIRE_INFRA: objects storage did not have */
	size_t nmissing;
	bool deadline;     /* WIRE_INFRA: stopped before the carrier's deadline (Lambda) */
	char *stderr_tail; /* may be NULL */
	bool cached;
	char *worker; /* may be NULL */
	bool has_times;
	uint64_t fetch_ms, run_ms, upload_ms;
};

/* Canonical encodings; fail only on a malformed struct (e.g. no outputs). */
int wire_request_encode(const struct wire_request *r, struct buf *out);
int wire_response_encode(const struct wire_response *r, struct buf *out);

/*
 * Strict parsers: 0, or -1 with an error "wire request: at byte N: ..."
 * and *out left empty (nothing to free). At most WIRE_MAX_* bytes.
 */
int wire_request_parse(const char *data, size_t len, struct wire_request *out);
int wire_response_parse(const char *data, size_t len, struct wire_response *out);

void wire_request_free(struct wire_request *r);
void wire_response_free(struct wire_response *r);
void wire_response_add_output(struct wire_response *r, const char *path,
                              const struct gg_name *value, bool exec);

/* Standard base64 with padding; decoding is strict (no whitespace, no
 * non-zero padding bits). */
void wire_base64_encode(struct buf *out, const void *data, size_t len);
int wire_base64_decode(const char *s, size_t len, struct buf *out);

#endif
