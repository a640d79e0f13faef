/**
 * @file worker_auth.c
 * Bearer tokens of the worker protocol (see worker_auth.h): loading them from
 * a file or the environment with their checks, and comparing a request's
 * Authorization value in constant time. No I/O beyond reading the file.
 */
#include "backend/remote/worker_auth.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static bool token_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       (c && strchr("-._~+/=", c));
}

/* Checks one token; `where` names it in the error ("FILE line N"). */
static int token_check(const char *t, size_t n, const char *where)
{
	if (n < WORKER_TOKEN_MIN || n > WORKER_TOKEN_MAX)
		return gg_error("%s: a token must be %d to %d characters long (this one has %zu)",
		                where, WORKER_TOKEN_MIN, WORKER_TOKEN_MAX, n);
	for (size_t i = 0; i < n; i++)
		if (!token_char((unsigned char)t[i]))
			return gg_error("%s: a token may hold only A-Z a-z 0-9 - . _ ~ + / =",
			                where);
	return 0;
}

static int load_file(const char *file, struct strvec *out)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return gg_error_errno("token file %s", file);
	struct stat st;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return gg_error_errno("token file %s", file);
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & 0077)) {
		close(fd);
		return gg_error("token file %s: must be a regular file that only its owner can "
		                "read (chmod 600 %s)",
		                file, file);
	}
	struct buf b = BUF_INIT;
	int r = read_fd_all(fd, &b, 1u << 20);
	close(fd);
	if (r < 0) {
		buf_free(&b);
		return gg_error("token file %s: %s", file, gg_last_error());
	}
	size_t before = out->n;
	unsigned line = 0;
	for (size_t i = 0; r == 0 && i < b.len;) {
		const char *nl = memchr(b.data + i, '\n', b.len - i);
		size_t e = nl ? (size_t)(nl - b.data) : b.len, s = i;
		i = e + 1;
		line++;
		while (s < e && (b.data[s] == ' ' || b.data[s] == '\t'))
			s++;
		while (e > s &&
		       (b.data[e - 1] == ' ' || b.data[e - 1] == '\t' || b.data[e - 1] == '\r'))
			e--;
		if (s == e || b.data[s] == '#')
			continue;
		char where[64 + 4096];
		snprintf(where, sizeof where, "token file %s line %u", file, line);
		r = token_check(b.data + s, e - s, where);
		if (r == 0)
			strvec_pushn(out, b.data + s, e - s);
	}
	buf_free(&b);
	if (r == 0 && out->n == before)
		r = gg_error("token file %s: no token in it", file);
	return r;
}

int worker_tokens_load(const char *file, const char *env, struct strvec *out)
{
	if (file && load_file(file, out) < 0)
		return -1;
	if (!env)
		return 0;
	size_t i = 0, n = strlen(env), k = 0;
	while (i < n) {
		while (i < n &&
		       (env[i] == ',' || env[i] == ' ' || env[i] == '\t' || env[i] == '\n'))
			i++;
		size_t s = i;
		while (i < n && env[i] != ',' && env[i] != ' ' && env[i] != '\t' && env[i] != '\n')
			i++;
		if (i == s)
			continue;
		char where[64];
		snprintf(where, sizeof where, "GG_WORKER_TOKENS (token %zu)", ++k);
		if (token_check(env + s, i - s, where) < 0)
			return -1;
		strvec_pushn(out, env + s, i - s);
	}
	if (!k)
		return gg_error("GG_WORKER_TOKENS is set but holds no token");
	return 0;
}

/* Compares a[0..n) with the NUL-terminated b without branching on the bytes. */
static unsigned differs(const char *a, size_t n, const char *b)
{
	size_t m = strlen(b);
	unsigned d = n != m;
	for (size_t i = 0; i < m; i++)
		d |= (unsigned char)b[i] ^ (unsigned char)(i < n ? a[i] : 0);
	return d;
}

bool worker_token_ok(const struct strvec *tokens, const char *v, size_t len)
{
	/* "Bearer" is case-insensitive (RFC 6750 via RFC 9110 11.1), then spaces */
	if (!v || len < 7 || strncasecmp(v, "Bearer ", 7))
		return false;
	size_t i = 7;
	while (i < len && v[i] == ' ')
		i++;
	unsigned ok = 0;
	for (size_t k = 0; k < tokens->n; k++)
		ok |= !differs(v + i, len - i, tokens->v[k]);
	return ok != 0;
}

int worker_token_for_client(char **out)
{
	*out = NULL;
	const char *t = getenv("GG_WORKER_TOKEN");
	if (t && *t) {
		if (token_check(t, strlen(t), "GG_WORKER_TOKEN") < 0)
			return -1;
		*out = xstrdup(t);
		return 0;
	}
	const char *file = getenv("GG_WORKER_TOKEN_FILE");
	if (!file || !*file)
		return 0;
	struct strvec sv = {0};
	if (load_file(file, &sv) < 0) {
		strvec_free(&sv);
		return -1;
	}
	*out = xstrdup(sv.v[0]);
	strvec_free(&sv);
	return 0;
}
