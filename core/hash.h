/**
 * @file hash.h
 * Object names and references.
 *
 * A name is the kind ('V' value or 'T' thunk), the lowercase hex SHA-256 of
 * the object's bytes, and the byte size as 12 hex digits:
 *
 *     V5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03000000000004
 *
 * Carrying the size lets stat() and the scheduler know sizes without I/O.
 * A reference is a value's name, or a thunk's name plus "#OUTPUT" naming
 * one of its outputs (forced lazily).
 */
#ifndef GG_HASH_H
#define GG_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GG_DIGEST_HEX      64
#define GG_SIZE_HEX        12
#define GG_NAME_LEN        (1 + GG_DIGEST_HEX + GG_SIZE_HEX)
#define GG_MAX_OBJECT_SIZE ((UINT64_C(1) << 48) - 1)

enum gg_kind { GG_VALUE = 'V', GG_THUNK = 'T' };

struct gg_name {
	char s[GG_NAME_LEN + 1];
};

/* Incremental hashing of an object's bytes. */
struct gg_hasher {
	_Alignas(8) unsigned char ctx[112]; /* OpenSSL's SHA256_CTX (size checked in hash.c) */
	uint64_t size;
	unsigned char head[16]; /* first bytes, to detect thunks */
	size_t head_len;
};
void gg_hasher_init(struct gg_hasher *h);
void gg_hasher_update(struct gg_hasher *h, const void *data, size_t len);
/* kind 0 means: 'T' if the bytes start with the thunk magic, else 'V'. */
void gg_hasher_final(struct gg_hasher *h, char kind, struct gg_name *out);

void gg_name_of_buf(const void *data, size_t len, char kind, struct gg_name *out);
/* Hashes an open file from its current offset to the end. */
int gg_name_of_fd(int fd, char kind, struct gg_name *out);

/* Validates exactly len bytes as a name. Returns 0 or -1 with an error. */
int gg_name_parse(const char *s, size_t len, struct gg_name *out);
static inline char gg_name_kind(const struct gg_name *n)
{
	return n->s[0];
}
uint64_t gg_name_size(const struct gg_name *n);
/* Orders names (struct gg_name *) for qsort and bsearch. */
int gg_name_cmp(const void *a, const void *b);
static inline bool gg_name_eq(const struct gg_name *a, const struct gg_name *b)
{
	for (int i = 0; i < GG_NAME_LEN; i++)
		if (a->s[i] != b->s[i])
			return false;
	return true;
}
/* Hex SHA-256 of the name (no kind or size), for S3's x-amz-content-sha256. */
void gg_name_digest_hex(const struct gg_name *n, char out[GG_DIGEST_HEX + 1]);

/* HMAC-SHA256 of data under key, as 64 lowercase hex digits. */
void gg_hmac_sha256_hex(const void *key, size_t key_len, const void *data, size_t len,
                        char out[GG_DIGEST_HEX + 1]);
/* a and b (len bytes each) are equal; takes the same time wherever they differ. */
bool gg_secret_eq(const void *a, const void *b, size_t len);

struct gg_ref {
	struct gg_name name;
	char *output; /* NULL for a value; the output path for a thunk output */
};
/* Parses "NAME" or "TNAME#OUTPUT". output is malloc'd. */
int gg_ref_parse(const char *s, size_t len, struct gg_ref *out);
/* Formats into a malloc'd string. */
char *gg_ref_format(const struct gg_ref *r);
void gg_ref_copy(struct gg_ref *dst, const struct gg_ref *src);
void gg_ref_free(struct gg_ref *r);
bool gg_ref_eq(const struct gg_ref *a, const struct gg_ref *b);

#endif
