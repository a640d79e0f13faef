/**
 * @file hash.c
 * SHA-256 names and references; see hash.h for the format.
 *
 * Hashing uses OpenSSL's SHA256_Init/Update/Final rather than EVP: the same
 * assembly (measured: 1714 MB/s either way), but the first EVP digest of a
 * process initialises OpenSSL's providers and reads openssl.cnf, about 2 ms
 * of CPU — more than everything else a memo-hit `gg force` or a model
 * invocation does. The low-level functions are deprecated in OpenSSL 3 but
 * present throughout 3.x.
 *
 * They are linked from libcrypto.a (see the Makefile): linking libcrypto.so
 * made every gg start-up relocate and fault in its ~400 KiB of tables, ~2 ms
 * of a memo-hit `gg force`, for the few kilobytes of SHA-256 used here. So
 * this file uses nothing of libcrypto beyond SHA256_* and CRYPTO_memcmp /
 * OPENSSL_cleanse (HMAC is written out below: libcrypto's HMAC() would pull
 * in EVP and its providers), and TLS loads libssl.so on first use
 * (backend/ssl_dl.h).
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "core/hash.h"

#include "core/thunk.h"
#include "core/util.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

_Static_assert(sizeof(SHA256_CTX) <= sizeof(((struct gg_hasher *)0)->ctx),
               "struct gg_hasher has room for a SHA256_CTX");
_Static_assert(GG_NAME_LEN == 77, "name length is part of the on-disk format");
_Static_assert(sizeof(THUNK_MAGIC) - 1 <= sizeof(((struct gg_hasher *)0)->head),
               "the hasher keeps enough bytes to recognise a thunk");

void gg_hasher_init(struct gg_hasher *h)
{
	SHA256_Init((SHA256_CTX *)h->ctx);
	h->size = 0;
	h->head_len = 0;
}

void gg_hasher_update(struct gg_hasher *h, const void *data, size_t len)
{
	if (h->head_len < sizeof h->head) {
		size_t n = sizeof h->head - h->head_len;
		if (n > len)
			n = len;
		memcpy(h->head + h->head_len, data, n);
		h->head_len += n;
	}
	SHA256_Update((SHA256_CTX *)h->ctx, data, len);
	h->size += len;
}

static const char hexdigits[] = "0123456789abcdef";

void gg_hasher_final(struct gg_hasher *h, char kind, struct gg_name *out)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	SHA256_Final(md, (SHA256_CTX *)h->ctx);
	if (!kind) {
		size_t m = sizeof(THUNK_MAGIC) - 1;
		kind = h->head_len >= m && !memcmp(h->head, THUNK_MAGIC, m) ? GG_THUNK : GG_VALUE;
	}
	out->s[0] = kind;
	for (int i = 0; i < 32; i++) {
		out->s[1 + 2 * i] = hexdigits[md[i] >> 4];
		out->s[2 + 2 * i] = hexdigits[md[i] & 15];
	}
	uint64_t size = h->size;
	for (int i = GG_SIZE_HEX - 1; i >= 0; i--) {
		out->s[1 + GG_DIGEST_HEX + i] = hexdigits[size & 15];
		size >>= 4;
	}
	out->s[GG_NAME_LEN] = 0;
}

/* HMAC as RFC 2104 defines it, on SHA-256's 64-byte blocks. */
void gg_hmac_sha256_hex(const void *key, size_t key_len, const void *data, size_t len,
                        char out[GG_DIGEST_HEX + 1])
{
	enum { BLOCK = 64 };
	unsigned char k[BLOCK] = {0}, pad[BLOCK], md[SHA256_DIGEST_LENGTH];
	SHA256_CTX c;
	if (key_len > BLOCK) {
		SHA256_Init(&c);
		SHA256_Update(&c, key, key_len);
		SHA256_Final(k, &c);
	} else if (key_len) {
		memcpy(k, key, key_len);
	}
	for (int i = 0; i < BLOCK; i++)
		pad[i] = k[i] ^ 0x36;
	SHA256_Init(&c);
	SHA256_Update(&c, pad, BLOCK);
	SHA256_Update(&c, data, len);
	SHA256_Final(md, &c);
	for (int i = 0; i < BLOCK; i++)
		pad[i] = k[i] ^ 0x5c;
	SHA256_Init(&c);
	SHA256_Update(&c, pad, BLOCK);
	SHA256_Update(&c, md, sizeof md);
	SHA256_Final(md, &c);
	OPENSSL_cleanse(k, sizeof k);
	OPENSSL_cleanse(pad, sizeof pad);
	OPENSSL_cleanse(&c, sizeof c);
	for (unsigned i = 0; i < sizeof md; i++) {
		out[2 * i] = hexdigits[md[i] >> 4];
		out[2 * i + 1] = hexdigits[md[i] & 15];
	}
	out[GG_DIGEST_HEX] = 0;
}

bool gg_secret_eq(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}

void gg_name_of_buf(const void *data, size_t len, char kind, struct gg_name *out)
{
	struct gg_hasher h;
	gg_hasher_init(&h);
	gg_hasher_update(&h, data, len);
	gg_hasher_final(&h, kind, out);
}

int gg_name_of_fd(int fd, char kind, struct gg_name *out)
{
	struct gg_hasher h;
	gg_hasher_init(&h);
	static _Thread_local char chunk[1 << 16];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return gg_error_errno("read failed while hashing");
		if (n == 0)
			break;
		gg_hasher_update(&h, chunk, (size_t)n);
	}
	if (h.size > GG_MAX_OBJECT_SIZE)
		return gg_error("object larger than %llu bytes",
		                (unsigned long long)GG_MAX_OBJECT_SIZE);
	gg_hasher_final(&h, kind, out);
	return 0;
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

int gg_name_parse(const char *s, size_t len, struct gg_name *out)
{
	if (len != GG_NAME_LEN)
		return gg_error("bad object name '%.*s': %zu characters, a name has %d",
		                (int)(len > 100 ? 100 : len), s, len, GG_NAME_LEN);
	if (s[0] != GG_VALUE && s[0] != GG_THUNK)
		return gg_error("bad object name '%.*s': it must start with V or T", (int)len, s);
	for (size_t i = 1; i < len; i++)
		if (!is_hex(s[i]))
			return gg_error(
			    "bad object name '%.*s': character %zu is not a lowercase hex digit",
			    (int)len, s, i + 1);
	memcpy(out->s, s, len);
	out->s[len] = 0;
	return 0;
}

uint64_t gg_name_size(const struct gg_name *n)
{
	uint64_t v = 0;
	for (int i = 0; i < GG_SIZE_HEX; i++) {
		char c = n->s[1 + GG_DIGEST_HEX + i];
		v = v << 4 | (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
	}
	return v;
}

void gg_name_digest_hex(const struct gg_name *n, char out[GG_DIGEST_HEX + 1])
{
	memcpy(out, n->s + 1, GG_DIGEST_HEX);
	out[GG_DIGEST_HEX] = 0;
}

int gg_ref_parse(const char *s, size_t len, struct gg_ref *out)
{
	out->output = NULL;
	const char *hash = memchr(s, '#', len);
	size_t nlen = hash ? (size_t)(hash - s) : len;
	if (gg_name_parse(s, nlen, &out->name) < 0)
		return -1;
	if (!hash)
		return 0;
	if (out->name.s[0] != GG_THUNK)
		return gg_error("bad reference '%.*s': only a thunk has outputs", (int)len, s);
	char *output = xstrndup(hash + 1, len - nlen - 1);
	if (strlen(output) != len - nlen - 1) {
		free(output);
		return gg_error("bad reference: the output name contains a NUL byte");
	}
	for (const char *c = output; *c; c++)
		if ((unsigned char)*c <= ' ' || *c == 0x7f) {
			free(output);
			return gg_error(
			    "bad reference: the output name contains a space or control character");
		}
	if (path_check_relative(output, "output in reference") < 0) {
		free(output);
		return -1;
	}
	out->output = output;
	return 0;
}

char *gg_ref_format(const struct gg_ref *r)
{
	if (!r->output)
		return xstrdup(r->name.s);
	return xasprintf("%s#%s", r->name.s, r->output);
}

void gg_ref_copy(struct gg_ref *dst, const struct gg_ref *src)
{
	dst->name = src->name;
	dst->output = src->output ? xstrdup(src->output) : NULL;
}

void gg_ref_free(struct gg_ref *r)
{
	free(r->output);
	r->output = NULL;
}

bool gg_ref_eq(const struct gg_ref *a, const struct gg_ref *b)
{
	if (!gg_name_eq(&a->name, &b->name))
		return false;
	if (!a->output || !b->output)
		return a->output == b->output;
	return !strcmp(a->output, b->output);
}

int gg_name_cmp(const void *a, const void *b)
{
	return memcmp(((const struct gg_name *)a)->s, ((const struct gg_name *)b)->s, GG_NAME_LEN);
}
