/**
 * @file incoming.h
 * An object arriving from a remote store: its bytes are streamed into a temp
 * file in the local store's tmp directory and hashed on the way; the object
 * enters the store (by rename) only if its bytes hash to the expected name.
 * Used by every storage back-end, so no back-end can install unverified bytes.
 */
#ifndef GG_INCOMING_H
#define GG_INCOMING_H

#include "core/hash.h"
#include "core/store.h"

struct incoming {
	struct store *store;
	struct gg_name want;
	const char *from; /* the remote store's URI, for messages (not owned) */
	char *tmp;        /* temp file path, NULL when closed */
	int fd;
	struct gg_hasher h;
	uint64_t got;
};

/* Returned (besides -1 for I/O errors) when the bytes do not match the name. */
#define INCOMING_BAD_CONTENT (-2)

/* Zero state: discard is a no-op on it. */
#define INCOMING_INIT                                                                              \
	{                                                                                          \
		.fd = -1                                                                           \
	}

/* Creates the temp file. `from` names the source in messages (no credentials). */
int incoming_open(struct incoming *in, struct store *s, const struct gg_name *want,
                  const char *from);
/* Starts over (a retried transfer): empties the file and the hash. */
int incoming_restart(struct incoming *in);
/*
 * Appends bytes. Past the size the name says it writes nothing and returns
 * INCOMING_BAD_CONTENT with an error saying "corrupt".
 */
int incoming_write(struct incoming *in, const void *data, size_t len);
/*
 * Checks size and hash and renames the file into the store. On a mismatch
 * the file is removed and INCOMING_BAD_CONTENT returned, the error saying
 * "corrupt" or "truncated" and naming the object and where it came from.
 * Always closes.
 */
int incoming_commit(struct incoming *in);
/* Removes the temp file; safe on a closed or never-opened incoming. */
void incoming_discard(struct incoming *in);

#endif
