/**
 * @file resp.h
 * A minimal Redis client connection speaking RESP2 over TCP: commands are
 * queued in an output buffer and flushed together (pipelining); replies are
 * read one at a time, bulk payloads streamed to a callback in chunks, so no
 * reply is ever held whole in memory. Every wait is bounded by a timeout and
 * every length read from the wire is bounded, so a broken or hostile server
 * yields an error, never a crash, a hang or a huge allocation.
 *
 * After any error the connection is closed (resp_connected() is false): a
 * reply stream that lost its place cannot be trusted. Callers reconnect.
 */
#ifndef GG_RESP_H
#define GG_RESP_H

#include "core/util.h"

#include <stdint.h>

/* Redis's own limit for a string value (proto-max-bulk-len). */
#define RESP_MAX_BULK (UINT64_C(512) << 20)

struct resp_conn {
	int fd;
	int timeout_ms;    /* the longest wait for a byte to move */
	int deadline_ms;   /* a whole send or reply (its payload too) within this; 0 = none */
	uint64_t until;    /* now_ns() clock: the current send's or reply's deadline */
	const char *where; /* "redis://host:port" for messages (not owned) */
	struct buf out;    /* queued commands */
	char *in;          /* read buffer */
	size_t in_pos, in_len;
};

enum resp_type { RESP_STATUS, RESP_ERROR, RESP_INT, RESP_BULK, RESP_NIL, RESP_ARRAY };

struct resp_reply {
	enum resp_type type;
	long long n;    /* RESP_INT: the value; RESP_BULK: length; RESP_ARRAY: count */
	char text[256]; /* RESP_STATUS / RESP_ERROR: the line (truncated, printable) */
};

/* Connects with a timeout. Returns 0, or -1 with an error naming `where`. */
int resp_connect(struct resp_conn *c, const char *host, const char *port, int timeout_ms,
                 const char *where);
void resp_close(struct resp_conn *c);
static inline bool resp_connected(const struct resp_conn *c)
{
	return c->fd >= 0;
}

/* Queues a command; argument i has lens[i] bytes (binary-safe). */
void resp_queue(struct resp_conn *c, int argc, const char *const *argv, const size_t *lens);
/* Bytes queued and not yet sent. */
static inline size_t resp_queued(const struct resp_conn *c)
{
	return c->out.len;
}
/* Sends everything queued (within deadline_ms, when set). */
int resp_flush(struct resp_conn *c);

/*
 * Reads the next reply's header. A bulk's payload is not consumed: follow
 * with resp_read_bulk. An array's elements are the next replies.
 */
int resp_read(struct resp_conn *c, struct resp_reply *r);
/*
 * Consumes a bulk payload of len bytes (from resp_read), handing it to sink
 * in chunks. If sink fails, the rest is read and dropped (the stream stays in
 * step) and sink's return value is returned. sink may be NULL (discard).
 */
int resp_read_bulk(struct resp_conn *c, uint64_t len,
                   int (*sink)(void *arg, const void *data, size_t n), void *arg);
/* Reads a reply that must be +OK/an integer, or records its error. */
int resp_expect_ok(struct resp_conn *c, const char *what);
int resp_expect_int(struct resp_conn *c, const char *what, long long *out);

#endif
