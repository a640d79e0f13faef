/**
 * @file fib.c
 * Recursive Fibonacci as a dynamic graph: a thunk whose output is another
 * thunk (gg's examples/fibonacci, without the C++ SDK). Built static, so a
 * thunk needs nothing but this one file as its program.
 *
 *     fib N     N < 2: writes N to "out".
 *               N >= 2: writes three thunk encodings (format: gg-thunk(5)):
 *               "left" = fib(N-1), "right" = fib(N-2), and "out" =
 *               "fib add" with inputs a = left#out and b = right#out.
 *               Forcing continues into "out", which needs left and right.
 *     fib add   writes the sum of the numbers in files "a" and "b" to "out".
 *
 * Thunks refer to each other by name, so the program computes SHA-256
 * names itself, including its own (it hashes the file "fib" it runs as).
 * Equal thunks have equal names: fib(k) is one thunk however many times the
 * recursion asks for it, and forcing fib(N) runs 2N thunks, not 2^N.
 * It does nothing outside a thunk's directory and writes nothing else.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SELF "fib"

/* ---- SHA-256 (FIPS 180-4), enough for names ---- */

struct sha256 {
	uint32_t h[8];
	uint8_t block[64];
	size_t used;
	uint64_t total;
};

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t ror(uint32_t x, int n)
{
	return (x >> n) | (x << (32 - n));
}

static void sha_block(struct sha256 *s, const uint8_t *p)
{
	uint32_t w[64], v[8];
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	memcpy(v, s->h, sizeof v);
	for (int i = 0; i < 64; i++) {
		uint32_t t1 = v[7] + (ror(v[4], 6) ^ ror(v[4], 11) ^ ror(v[4], 25)) +
		              ((v[4] & v[5]) ^ (~v[4] & v[6])) + K[i] + w[i];
		uint32_t t2 = (ror(v[0], 2) ^ ror(v[0], 13) ^ ror(v[0], 22)) +
		              ((v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]));
		memmove(v + 1, v, 7 * sizeof *v);
		v[4] += t1;
		v[0] = t1 + t2;
	}
	for (int i = 0; i < 8; i++)
		s->h[i] += v[i];
}

static void sha_init(struct sha256 *s)
{
	static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	                               0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
	memcpy(s->h, h0, sizeof h0);
	s->used = 0;
	s->total = 0;
}

static void sha_update(struct sha256 *s, const void *data, size_t len)
{
	const uint8_t *p = data;
	s->total += len;
	while (len) {
		size_t n = 64 - s->used < len ? 64 - s->used : len;
		memcpy(s->block + s->used, p, n);
		s->used += n;
		p += n;
		len -= n;
		if (s->used == 64) {
			sha_block(s, s->block);
			s->used = 0;
		}
	}
}

static void sha_hex(struct sha256 *s, char out[65])
{
	uint64_t bits = s->total * 8;
	uint8_t pad = 0x80, zero = 0, len[8];
	sha_update(s, &pad, 1);
	while (s->used != 56)
		sha_update(s, &zero, 1);
	for (int i = 0; i < 8; i++)
		len[i] = (uint8_t)(bits >> (56 - 8 * i));
	sha_update(s, len, 8);
	for (int i = 0; i < 8; i++)
		sprintf(out + 8 * i, "%08x", s->h[i]);
}

/* ---- names and thunk encodings ---- */

struct text {
	char *data;
	size_t len, cap;
};

static void put(struct text *t, const char *s, size_t n)
{
	if (t->len + n + 1 > t->cap) {
		t->cap = (t->len + n + 1) * 2;
		t->data = realloc(t->data, t->cap);
		if (!t->data) {
			perror("fib");
			exit(1);
		}
	}
	memcpy(t->data + t->len, s, n);
	t->len += n;
	t->data[t->len] = 0;
}

static void puts_(struct text *t, const char *s)
{
	put(t, s, strlen(s));
}

/* "KEY LEN STRING\n": the length-prefixed field of gg-thunk(5). */
static void field(struct text *t, const char *key, const char *s)
{
	char head[64];
	snprintf(head, sizeof head, "%s %zu ", key, strlen(s));
	puts_(t, head);
	puts_(t, s);
	puts_(t, "\n");
}

/* K + SHA-256 hex + size as 12 hex digits. */
static void name_of(const void *data, size_t len, char kind, char out[78])
{
	struct sha256 s;
	char hex[65];
	sha_init(&s);
	sha_update(&s, data, len);
	sha_hex(&s, hex);
	snprintf(out, 78, "%c%s%012zx", kind, hex, len);
}

static char self_name[78];

static void name_self(void)
{
	FILE *f = fopen(SELF, "rb");
	if (!f) {
		perror("fib: cannot read my own file " SELF);
		exit(1);
	}
	struct sha256 s;
	sha_init(&s);
	char buf[65536], hex[65];
	size_t n, total = 0;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
		sha_update(&s, buf, n);
		total += n;
	}
	fclose(f);
	sha_hex(&s, hex);
	snprintf(self_name, sizeof self_name, "V%s%012zx", hex, total);
}

/* The thunk "fib k": outputs out (and left, right when it recurses). */
static void fib_thunk(unsigned k, struct text *t)
{
	char arg[32];
	snprintf(arg, sizeof arg, "%u", k);
	puts_(t, "ggthunk 1\n");
	field(t, "exe", SELF);
	field(t, "arg", SELF);
	field(t, "arg", arg);
	puts_(t, "in x ");
	puts_(t, self_name);
	puts_(t, " 3 " SELF "\n");
	field(t, "out", "out");
	if (k >= 2) {
		field(t, "out", "left");
		field(t, "out", "right");
	}
	puts_(t, "timeout 0\n");
}

/* The thunk "fib add": a = left#out, b = right#out (inputs sorted by path). */
static void add_thunk(const char *left, const char *right, struct text *t)
{
	puts_(t, "ggthunk 1\n");
	field(t, "exe", SELF);
	field(t, "arg", SELF);
	field(t, "arg", "add");
	puts_(t, "in - ");
	puts_(t, left);
	puts_(t, "#out 1 a\n");
	puts_(t, "in - ");
	puts_(t, right);
	puts_(t, "#out 1 b\n");
	puts_(t, "in x ");
	puts_(t, self_name);
	puts_(t, " 3 " SELF "\n");
	field(t, "out", "out");
	puts_(t, "timeout 0\n");
}

static void write_out(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

static unsigned long long read_number(const char *path)
{
	FILE *f = fopen(path, "r");
	unsigned long long v;
	if (!f || fscanf(f, "%llu", &v) != 1) {
		fprintf(stderr, "fib: %s: expected a number\n", path);
		exit(1);
	}
	fclose(f);
	return v;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "add")) {
		char s[32];
		int n = snprintf(s, sizeof s, "%llu\n", read_number("a") + read_number("b"));
		write_out("out", s, (size_t)n);
		return 0;
	}
	char *end;
	unsigned long k = argc == 2 ? strtoul(argv[1], &end, 10) : 0;
	if (argc != 2 || !*argv[1] || *end || k > 90) {
		fprintf(stderr, "usage: fib N (0 <= N <= 90) | fib add\n");
		return 2;
	}
	if (k < 2) {
		char s[8];
		int n = snprintf(s, sizeof s, "%lu\n", k);
		write_out("out", s, (size_t)n);
		return 0;
	}
	name_self();
	struct text left = {0}, right = {0}, out = {0};
	fib_thunk((unsigned)k - 1, &left);
	fib_thunk((unsigned)k - 2, &right);
	char ln[78], rn[78];
	name_of(left.data, left.len, 'T', ln);
	name_of(right.data, right.len, 'T', rn);
	add_thunk(ln, rn, &out);
	write_out("left", left.data, left.len);
	write_out("right", right.data, right.len);
	write_out("out", out.data, out.len);
	free(left.data);
	free(right.data);
	free(out.data);
	return 0;
}
