/**
 * @file storage_backends.h
 * What the storage back-ends share with storage.c (not a public header):
 * their operation tables and a few helpers for URIs and batch errors.
 *
 * Contract of every back-end, beyond storage.h:
 *  - has(): 0 with present[] filled, or -1 when any answer is unknown.
 *  - put(): 0 when every object was uploaded; -1 names the first failure and
 *    how many others failed (the rest were still attempted).
 *  - get(): ok[i] = downloaded and verified (or already local). An object the
 *    remote store lacks is ok[i] = false and no error; 0 is returned when all
 *    others succeeded. A remote copy whose content does not match its name is
 *    fetched once more, then deleted from the remote store (it is garbage by
 *    definition, and leaving it would make has() lie forever) and reported.
 *  - One storage object is used by one thread at a time.
 */
#ifndef GG_STORAGE_BACKENDS_H
#define GG_STORAGE_BACKENDS_H

#include "backend/storage/storage.h"

extern const struct storage_ops storage_s3_ops;
extern const struct storage_ops storage_redis_ops;
extern const struct storage_ops storage_file_ops;

/* How many times a download that fails verification is tried in all. */
#define STORAGE_VERIFY_ATTEMPTS 2

/*
 * Records "<first>" or "<first> (and N more objects failed)" as the last
 * error, with code (0: GG_EREMOTE, a failure worth another attempt), and
 * returns -1; returns 0 when failed is 0. A code a retry cannot change
 * (GG_EDENIED for refused credentials, GG_ENOTFOUND for a missing bucket)
 * keeps the scheduler from trying again.
 */
int storage_batch_error(size_t failed, enum gg_code code, const char *first);

/* Returns -1 with the last error, recorded as GG_EREMOTE when it was not
 * classified (GG_EFAIL) or is a reply that cannot be read (GG_EINVALID):
 * how an operation that fails outside storage_batch_error (list, remove)
 * says that the store failed. A precise code (GG_EDENIED...) is kept. */
int storage_remote_error(void);

#endif
