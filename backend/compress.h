/**
 * @file compress.h
 * gzip for uploads "where it pays": a cheap test on a sample of an object,
 * and streaming compression of a whole object into a temp file whose size and
 * SHA-256 (what S3's x-amz-content-sha256 wants) come out on the way.
 * Decompression is left to libcurl (Accept-Encoding), which undoes gzip.
 */
#ifndef GG_COMPRESS_H
#define GG_COMPRESS_H

#include <stdbool.h>
#include <stdint.h>

/* Objects smaller than this are sent as they are. */
#define COMPRESS_MIN_SIZE 4096

/*
 * Whether gzip is worth it for the object open at fd (size bytes): deflates
 * a sample from the start and wants it to shrink by a fifth. Reads with
 * pread, so the file offset is unchanged. Never fails: false on any error.
 */
bool compress_pays(int fd, uint64_t size);

/*
 * Compresses fd (from offset 0 to its end) into a new temp file in the local
 * store's .gg/tmp (locked while the descriptor is open: rundir.h).
 * Returns an fd open for reading at offset 0, sets *path (malloc'd), *size and
 * the hex SHA-256 of the compressed bytes. -1 with an error on failure.
 */
struct store;
int compress_to_temp(int fd, struct store *local, char **path, uint64_t *size, char sha256_hex[65]);

#endif
