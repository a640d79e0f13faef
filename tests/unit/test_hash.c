/**
 * @file test_hash.c
 * Specification of object names and references (core/hash).
 *
 * A name is 'V' or 'T', 64 lowercase hex digits of SHA-256, then the size as
 * 12 lowercase hex digits. A reference is a name, or a thunk name followed by
 * "#OUTPUT" where OUTPUT is a relative thunk path.
 */
#include "core/hash.h"
#include "core/thunk.h"
#include "core/util.h"
#include "harness.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SHA_EMPTY    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHA_ABC      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define SHA_4K_ZEROS "ad7facb2586fc6e966c004d7d1d16b024f5805ff7cb47c7a85dabd8b48892ca7"
#define SHA_MAGIC    "dd83fba0422e5d79c9ab8709fd78cd016b0bd514d360f8ab87d9187d0d54c92e"

/* A syntactically valid name of each kind (the digest is arbitrary). */
#define VNAME "V" SHA_ABC "000000000003"
#define TNAME "T" SHA_ABC "0000000000ff"
_Static_assert(sizeof(VNAME) - 1 == GG_NAME_LEN, "VNAME is a name");
_Static_assert(sizeof(TNAME) - 1 == GG_NAME_LEN, "TNAME is a name");

static int parse_name(const char *s, struct gg_name *out)
{
	return gg_name_parse(s, strlen(s), out);
}

static int parse_ref(const char *s, struct gg_ref *out)
{
	return gg_ref_parse(s, strlen(s), out);
}

static void test_name_of_known_bytes(void)
{
	struct gg_name n;
	gg_name_of_buf("", 0, GG_VALUE, &n);
	CHECK_STR(n.s, "V" SHA_EMPTY "000000000000");
	gg_name_of_buf("abc", 3, GG_VALUE, &n);
	CHECK_STR(n.s, "V" SHA_ABC "000000000003");
	CHECK(strlen(n.s) == GG_NAME_LEN);

	char *zeros = xcalloc(4096, 1);
	gg_name_of_buf(zeros, 4096, 0, &n);
	CHECK_STR(n.s, "V" SHA_4K_ZEROS "000000001000"); /* size is hex: 0x1000 */
	CHECK(gg_name_size(&n) == 4096);
	free(zeros);
}

static void test_kind(void)
{
	struct gg_name n;
	/* An explicit kind wins. */
	gg_name_of_buf("abc", 3, GG_THUNK, &n);
	CHECK_STR(n.s, "T" SHA_ABC "000000000003");
	CHECK(gg_name_kind(&n) == GG_THUNK);

	/* Kind 0: a thunk iff the bytes start with the thunk magic. */
	gg_name_of_buf(THUNK_MAGIC, strlen(THUNK_MAGIC), 0, &n);
	CHECK_STR(n.s, "T" SHA_MAGIC "00000000000a");
	gg_name_of_buf("ggthunk 1", 9, 0, &n); /* no newline: not the magic */
	CHECK(gg_name_kind(&n) == GG_VALUE);
	gg_name_of_buf("ggthunk 2\nexe", 13, 0, &n);
	CHECK(gg_name_kind(&n) == GG_VALUE);
	gg_name_of_buf("xggthunk 1\n", 11, 0, &n);
	CHECK(gg_name_kind(&n) == GG_VALUE);
	gg_name_of_buf("", 0, 0, &n);
	CHECK(gg_name_kind(&n) == GG_VALUE);

	/* The detection works however the bytes are split across updates. */
	const char *text = "ggthunk 1\nexe 2 cc\n";
	struct gg_name whole, pieces;
	gg_name_of_buf(text, strlen(text), 0, &whole);
	struct gg_hasher h;
	gg_hasher_init(&h);
	for (size_t i = 0; text[i]; i++)
		gg_hasher_update(&h, text + i, 1);
	gg_hasher_final(&h, 0, &pieces);
	CHECK(gg_name_eq(&whole, &pieces));
	CHECK(gg_name_kind(&pieces) == GG_THUNK);
}

static void test_name_of_fd_hashes_from_offset(void)
{
	char path[] = "/tmp/ggtest-hash-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	CHECK(write(fd, "xyzabc", 6) == 6);
	CHECK(lseek(fd, 3, SEEK_SET) == 3);
	struct gg_name n;
	CHECK(gg_name_of_fd(fd, 0, &n) == 0);
	CHECK_STR(n.s, "V" SHA_ABC "000000000003");

	/* A large file, read in many chunks. */
	CHECK(lseek(fd, 0, SEEK_SET) == 0 && ftruncate(fd, 0) == 0);
	size_t big = 300000;
	char *data = xmalloc(big);
	for (size_t i = 0; i < big; i++)
		data[i] = (char)(i * 7 + i / 251);
	CHECK(write(fd, data, big) == (ssize_t)big);
	CHECK(lseek(fd, 0, SEEK_SET) == 0);
	struct gg_name want;
	gg_name_of_buf(data, big, GG_VALUE, &want);
	CHECK(gg_name_of_fd(fd, GG_VALUE, &n) == 0);
	CHECK(gg_name_eq(&n, &want));
	CHECK(gg_name_size(&n) == big);
	free(data);

	/* A read error is reported. */
	int wo = open(path, O_WRONLY);
	CHECK_ERR(gg_name_of_fd(wo, 0, &n), "read failed while hashing");
	close(wo);
	close(fd);
	unlink(path);
}

static void test_name_size_encoding(void)
{
	struct gg_name n;
	CHECK(parse_name("V" SHA_ABC "000000000000", &n) == 0 && gg_name_size(&n) == 0);
	CHECK(parse_name("V" SHA_ABC "0000000fffff", &n) == 0 && gg_name_size(&n) == 0xfffff);
	CHECK(parse_name("V" SHA_ABC "123456789abc", &n) == 0 &&
	      gg_name_size(&n) == UINT64_C(0x123456789abc));
	CHECK(parse_name("T" SHA_ABC "ffffffffffff", &n) == 0 &&
	      gg_name_size(&n) == GG_MAX_OBJECT_SIZE);
	gg_name_of_buf("hello, world\n", 13, GG_VALUE, &n);
	CHECK(!strcmp(n.s + 1 + GG_DIGEST_HEX, "00000000000d"));
}

static void test_name_parse_accepts_exactly_len_bytes(void)
{
	struct gg_name n;
	CHECK(parse_name(VNAME, &n) == 0);
	CHECK_STR(n.s, VNAME);
	CHECK(gg_name_kind(&n) == GG_VALUE);
	CHECK(parse_name(TNAME, &n) == 0 && gg_name_kind(&n) == GG_THUNK);

	/* Only len bytes are looked at: a name inside a longer line parses. */
	const char *line = VNAME " 12 rest";
	CHECK(gg_name_parse(line, GG_NAME_LEN, &n) == 0);
	CHECK_STR(n.s, VNAME);
}

static void test_name_parse_errors(void)
{
	struct gg_name n;
	CHECK_ERR(parse_name("", &n), "0 characters, a name has 77");
	CHECK_ERR(parse_name(VNAME "0", &n), "78 characters, a name has 77");
	CHECK_ERR(gg_name_parse(VNAME, GG_NAME_LEN - 1, &n), "76 characters");
	CHECK_ERR(parse_name("X" SHA_ABC "000000000003", &n), "it must start with V or T");
	CHECK_ERR(parse_name("v" SHA_ABC "000000000003", &n), "must start with V or T");
	CHECK_ERR(parse_name("t" SHA_ABC "000000000003", &n), "must start with V or T");
	/* Uppercase hex is not the canonical spelling. */
	CHECK_ERR(
	    parse_name(
	        "VBA7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad000000000003",
	        &n),
	    "character 2 is not a lowercase hex digit");
	CHECK_ERR(parse_name("V" SHA_ABC "00000000000A", &n),
	          "character 77 is not a lowercase hex digit");
	CHECK_ERR(parse_name("V" SHA_ABC "00000000000g", &n),
	          "character 77 is not a lowercase hex digit");
	CHECK_ERR(parse_name("V" SHA_ABC "0000000 0003", &n),
	          "character 73 is not a lowercase hex digit");
	char with_nul[GG_NAME_LEN];
	memcpy(with_nul, VNAME, GG_NAME_LEN);
	with_nul[10] = 0;
	CHECK_ERR(gg_name_parse(with_nul, GG_NAME_LEN, &n),
	          "character 11 is not a lowercase hex digit");

	/* A very long bad name is quoted, but not in full. */
	char *longname = xmalloc(5001);
	memset(longname, 'a', 5000);
	longname[5000] = 0;
	CHECK_ERR(parse_name(longname, &n), "5000 characters");
	CHECK(strlen(gg_last_error()) < 300);
	free(longname);
}

static void test_name_digest_and_eq(void)
{
	struct gg_name a, b;
	gg_name_of_buf("abc", 3, GG_VALUE, &a);
	char hex[GG_DIGEST_HEX + 1];
	gg_name_digest_hex(&a, hex);
	CHECK_STR(hex, SHA_ABC);

	gg_name_of_buf("abc", 3, GG_THUNK, &b);
	CHECK(!gg_name_eq(&a, &b)); /* the kind is part of the name */
	gg_name_digest_hex(&b, hex);
	CHECK_STR(hex, SHA_ABC);
	gg_name_of_buf("abc", 3, GG_VALUE, &b);
	CHECK(gg_name_eq(&a, &b));
	gg_name_of_buf("abd", 3, GG_VALUE, &b);
	CHECK(!gg_name_eq(&a, &b));
}

static void test_ref_value(void)
{
	struct gg_ref r;
	CHECK(parse_ref(VNAME, &r) == 0);
	CHECK_STR(r.name.s, VNAME);
	CHECK(r.output == NULL);
	char *s = gg_ref_format(&r);
	CHECK_STR(s, VNAME);
	free(s);
	gg_ref_free(&r);

	/* A thunk name without an output is a valid reference (to the thunk itself). */
	CHECK(parse_ref(TNAME, &r) == 0);
	CHECK(r.output == NULL && gg_name_kind(&r.name) == GG_THUNK);
	gg_ref_free(&r);
}

static void test_ref_thunk_output(void)
{
	struct gg_ref r;
	CHECK(parse_ref(TNAME "#out.txt", &r) == 0);
	CHECK_STR(r.name.s, TNAME);
	CHECK_STR(r.output, "out.txt");
	char *s = gg_ref_format(&r);
	CHECK_STR(s, TNAME "#out.txt");
	free(s);

	struct gg_ref c;
	gg_ref_copy(&c, &r);
	CHECK(gg_ref_eq(&c, &r));
	CHECK(c.output != r.output); /* a deep copy */
	gg_ref_free(&r);
	CHECK(r.output == NULL);
	CHECK_STR(c.output, "out.txt");
	gg_ref_free(&c);

	CHECK(parse_ref(TNAME "#dir/sub/a.o", &r) == 0);
	CHECK_STR(r.output, "dir/sub/a.o");
	gg_ref_free(&r);

	/* Only the first '#' separates: the output may contain '#'. */
	CHECK(parse_ref(TNAME "#a#b", &r) == 0);
	CHECK_STR(r.output, "a#b");
	gg_ref_free(&r);

	/* Only len bytes are parsed. */
	const char *line = TNAME "#out.txt\nnext line";
	CHECK(gg_ref_parse(line, strlen(TNAME "#out.txt"), &r) == 0);
	CHECK_STR(r.output, "out.txt");
	gg_ref_free(&r);
}

static void test_ref_errors(void)
{
	struct gg_ref r = {{{0}}, NULL};
	CHECK_ERR(parse_ref(VNAME "#x", &r), "only a thunk has outputs");
	CHECK(r.output == NULL);
	CHECK_ERR(parse_ref(TNAME "#", &r), "empty path");
	CHECK_ERR(parse_ref(TNAME "#/etc/passwd", &r), "absolute paths are not allowed");
	CHECK_ERR(parse_ref(TNAME "#..", &r), "'.' and '..' are not allowed");
	CHECK_ERR(parse_ref(TNAME "#a/../b", &r), "'.' and '..' are not allowed");
	CHECK_ERR(parse_ref(TNAME "#./a", &r), "'.' and '..' are not allowed");
	CHECK_ERR(parse_ref(TNAME "#a//b", &r), "empty path component");
	CHECK_ERR(parse_ref(TNAME "#a/", &r), "empty path component");
	CHECK_ERR(parse_ref("T1234#out", &r), "bad object name");
	CHECK_ERR(parse_ref("#out", &r), "0 characters");
	CHECK_ERR(parse_ref("", &r), "0 characters");
	CHECK_ERR(parse_ref("X" SHA_ABC "000000000003#x", &r), "must start with V or T");
	CHECK(r.output == NULL);

	/* Outputs in references have no spaces or control characters (a
	 * reference is one word in thunks, placeholders and command lines). */
	CHECK_ERR(parse_ref(TNAME "#a b", &r),
	          "the output name contains a space or control character");
	CHECK_ERR(parse_ref(TNAME "#a\nb", &r), "space or control character");
	CHECK_ERR(parse_ref(TNAME "#a\tb", &r), "space or control character");
	CHECK_ERR(parse_ref(TNAME "#a\x7f", &r), "space or control character");
	CHECK(r.output == NULL);
	CHECK(parse_ref(TNAME "#\xc3\xa9t\xc3\xa9", &r) == 0); /* UTF-8 is fine */
	gg_ref_free(&r);

	const char nul[] = TNAME "#a\0b";
	CHECK_ERR(gg_ref_parse(nul, sizeof nul - 1, &r), "NUL");
	CHECK(r.output == NULL);
}

static void test_ref_eq(void)
{
	struct gg_ref a, b, c, v;
	CHECK(parse_ref(TNAME "#x", &a) == 0);
	CHECK(parse_ref(TNAME "#y", &b) == 0);
	CHECK(parse_ref(TNAME, &c) == 0);
	CHECK(parse_ref(VNAME, &v) == 0);
	CHECK(gg_ref_eq(&a, &a));
	CHECK(!gg_ref_eq(&a, &b));
	CHECK(!gg_ref_eq(&a, &c) && !gg_ref_eq(&c, &a));
	CHECK(gg_ref_eq(&c, &c));
	CHECK(!gg_ref_eq(&c, &v));
	gg_ref_free(&a);
	gg_ref_free(&b);
	gg_ref_free(&c);
	gg_ref_free(&v);
}

/* RFC 4231's cases 1, 2 and 6 (a key longer than SHA-256's block), a key of
 * exactly one block and an empty key (the last two from Python's hmac). */
static void test_hmac_sha256(void)
{
	char mac[GG_DIGEST_HEX + 1];
	char k20[20], k64[64], k131[131];
	memset(k20, 0x0b, sizeof k20);
	memset(k64, 0xaa, sizeof k64);
	memset(k131, 0xaa, sizeof k131);
	gg_hmac_sha256_hex(k20, sizeof k20, "Hi There", 8, mac);
	CHECK_STR(mac, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	gg_hmac_sha256_hex("Jefe", 4, "what do ya want for nothing?", 28, mac);
	CHECK_STR(mac, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	const char *d6 = "Test Using Larger Than Block-Size Key - Hash Key First";
	gg_hmac_sha256_hex(k131, sizeof k131, d6, strlen(d6), mac);
	CHECK_STR(mac, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
	gg_hmac_sha256_hex(k64, sizeof k64, "abc", 3, mac);
	CHECK_STR(mac, "2f8cff867f2668ca93d3c5b03ba9f816746742eda349b3bc4bb35aa27816754c");
	gg_hmac_sha256_hex(NULL, 0, "", 0, mac);
	CHECK_STR(mac, "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
	CHECK(gg_secret_eq("abc", "abc", 3));
	CHECK(!gg_secret_eq("abc", "abd", 3));
}

TEST_MAIN(test_name_of_known_bytes, test_kind, test_name_of_fd_hashes_from_offset,
          test_name_size_encoding, test_name_parse_accepts_exactly_len_bytes,
          test_name_parse_errors, test_name_digest_and_eq, test_ref_value, test_ref_thunk_output,
          test_ref_errors, test_ref_eq, test_hmac_sha256)
