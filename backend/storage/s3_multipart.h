/**
 * @file s3_multipart.h
 * The parts of S3's multipart upload that need no network: the part size
 * setting (GG_S3_PART_SIZE), how an object is cut into parts, the body of
 * CompleteMultipartUpload, and defensive reading of the XML and headers
 * that S3 answers with. storage_s3.c sends the requests; nothing here does
 * I/O or keeps state.
 *
 * S3's limits: parts of 5 MiB to 5 GiB (the last may be smaller), at most
 * 10,000 of them, objects up to 5 TiB. A single PUT takes up to 5 GiB.
 */
#ifndef GG_S3_MULTIPART_H
#define GG_S3_MULTIPART_H

#include "core/util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define S3_MIN_PART_SIZE     (UINT64_C(5) << 20)
#define S3_MAX_PART_SIZE     (UINT64_C(5) << 30) /* and the single-PUT limit */
#define S3_DEFAULT_PART_SIZE (UINT64_C(64) << 20)
#define S3_MAX_PARTS         10000
#define S3_MAX_OBJECT_SIZE   (UINT64_C(5) << 40)
/* Longest UploadId and ETag accepted from a server (AWS's are ~150 and 34). */
#define S3_MAX_UPLOAD_ID 1024
#define S3_MAX_ETAG      256

/*
 * The part size from GG_S3_PART_SIZE (bytes, or with a K, M or G suffix),
 * S3_DEFAULT_PART_SIZE when unset. -1 with an error naming the variable when
 * it is not a size or is outside S3's 5 MiB..5 GiB.
 */
int s3_part_size_from_env(uint64_t *out);

/*
 * Cuts size bytes into *n_parts parts of *part_len bytes (the last one
 * shorter): part_size, or larger when that would take more than S3's
 * 10,000 parts. -1 with an error when size is beyond S3's 5 TiB.
 */
int s3_plan_parts(uint64_t size, uint64_t part_size, uint64_t *part_len, unsigned *n_parts);

/*
 * Copies the text of the first <tag>...</tag> of an XML reply into out
 * (size bytes with the NUL), with the five predefined entities decoded.
 * -1 with an error saying what is wrong when the element is missing or
 * unterminated (a truncated reply), empty, longer than size - 1, or holds a
 * control character or an entity other than those five.
 */
int s3_xml_text(const char *body, size_t len, const char *tag, char *out, size_t size);

/* Whether a reply body is S3's <Error> document (which CompleteMultipartUpload
 * may send with status 200, having already committed to that status). */
bool s3_xml_is_error(const char *body, size_t len);

/*
 * Copies an ETag header's value (without the surrounding blanks and CRLF;
 * the quotes kept, as CompleteMultipartUpload wants them back). -1 when it
 * is empty, longer than S3_MAX_ETAG or holds a control character.
 */
int s3_etag_parse(const char *value, size_t len, char out[S3_MAX_ETAG + 1]);

/* Appends the body of CompleteMultipartUpload: etags[i] is part i + 1's. */
void s3_complete_body(struct buf *out, char *const *etags, unsigned n);

/* Appends s percent-encoded for a query string (RFC 3986: only A-Za-z0-9-._~
 * stay literal), as libcurl's SigV4 signs the query as it is sent. */
void s3_query_encode(struct buf *out, const char *s);

#endif
