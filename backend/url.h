/*
 * The authority part of a URL — [user[:password]@]host[:port], between
 * "scheme://" and the first '/', '?' or '#' — split and checked, once for every URL a
 * user gives gg (worker URLs, GG_S3_ENDPOINT, redis:// storage): no host,
 * a host with a character no host name has (a space, a control character),
 * an empty or bad port, an unclosed IPv6 bracket are errors naming the
 * part, never a silent default (curl takes "host:" for port 80).
 */
#ifndef GG_URL_H
#define GG_URL_H

#include <stdbool.h>
#include <stddef.h>

struct url_authority {
	char *user;     /* %-decoded; NULL when none given */
	char *password; /* %-decoded; NULL when none given */
	bool userinfo;  /* an '@' was there (even "@host" with nothing before it) */
	char *host;     /* without the brackets of an IPv6 address */
	unsigned port;  /* 1-65535, 0 when none given */
};

/* Splits the authority at the start of `s` (up to the first '/', '?' or
 * '#', or its end). 0, or -1 (GG_EUSAGE) with the error naming the fault. */
int url_authority_parse(const char *s, struct url_authority *out);
/* Clears the password's bytes and frees what parsing kept. */
void url_authority_free(struct url_authority *a);

/* %XX-decodes len bytes of s (malloc'd): user info may hold '@' or ':'. */
char *url_pct_decode(const char *s, size_t len);

#endif
