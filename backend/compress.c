/**
 * @file compress.c
 * zlib gzip of objects for upload (see compress.h). Level 1: on a network
 * of hundreds of MB/s the cheap level is what keeps compression a gain.
 * It does not decompress (libcurl does) and never holds a whole object.
 */
#include "compress.h"

#include "rundir.h"
#include "util.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>

#define SAMPLE 16384

bool compress_pays(int fd, uint64_t size)
{
	if (size < COMPRESS_MIN_SIZE)
		return false;
	unsigned char in[SAMPLE], out[SAMPLE + 1024];
	ssize_t n = pread(fd, in, size < SAMPLE ? (size_t)size : SAMPLE, 0);
	if (n <= 0)
		return false;
	uLongf out_len = sizeof out;
	if (compress2(out, &out_len, in, (uLong)n, 1) != Z_OK)
		return false;
	return out_len * 5 < (uLongf)n * 4;
}

static const char hexdigits[] = "0123456789abcdef";

int compress_to_temp(int fd, struct store *local, char **path, uint64_t *size, char sha256_hex[65])
{
	char *tmp;
	int out = rundir_temp_file(local, &tmp);
	if (out < 0)
		return -1;
	z_stream z = {0};
	/* windowBits 15 + 16: a gzip wrapper, which every HTTP client undoes */
	if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		close(out);
		unlink(tmp);
		free(tmp);
		return gg_error("zlib: cannot initialise compression");
	}
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL))
		abort();
	enum { CHUNK = 1 << 17 };
	unsigned char *ibuf = xmalloc(CHUNK), *obuf = xmalloc(CHUNK);
	uint64_t total = 0;
	off_t off = 0;
	int r = 0, flush = Z_NO_FLUSH;
	while (r == 0 && flush != Z_FINISH) {
		ssize_t n = pread(fd, ibuf, CHUNK, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = gg_error_errno("cannot read an object to compress it");
			break;
		}
		off += n;
		flush = n == 0 ? Z_FINISH : Z_NO_FLUSH;
		z.next_in = ibuf;
		z.avail_in = (uInt)n;
		do {
			z.next_out = obuf;
			z.avail_out = CHUNK;
			int zr = deflate(&z, flush);
			if (zr == Z_STREAM_ERROR) {
				r = gg_error("zlib: compression failed");
				break;
			}
			size_t have = CHUNK - z.avail_out;
			if (have && write_all(out, obuf, have) < 0) {
				r = gg_error_errno("cannot write %s", tmp);
				break;
			}
			EVP_DigestUpdate(md, obuf, have);
			total += have;
		} while (z.avail_out == 0);
	}
	deflateEnd(&z);
	free(ibuf);
	free(obuf);
	unsigned char digest[32];
	unsigned int dlen = 0;
	EVP_DigestFinal_ex(md, digest, &dlen);
	EVP_MD_CTX_free(md);
	if (r == 0 && lseek(out, 0, SEEK_SET) < 0)
		r = gg_error_errno("cannot rewind %s", tmp);
	if (r < 0) {
		close(out);
		unlink(tmp);
		free(tmp);
		return -1;
	}
	for (int i = 0; i < 32; i++) {
		sha256_hex[2 * i] = hexdigits[digest[i] >> 4];
		sha256_hex[2 * i + 1] = hexdigits[digest[i] & 15];
	}
	sha256_hex[64] = 0;
	*path = tmp;
	*size = total;
	return out;
}
