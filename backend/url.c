/*
 * URL authorities (url.h).
 */
#include "backend/url.h"

#include "core/error.h"
#include "core/util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

char *url_pct_decode(const char *s, size_t len)
{
	char *out = xmalloc(len + 1);
	size_t k = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%' && i + 2 < len && isxdigit((unsigned char)s[i + 1]) &&
		    isxdigit((unsigned char)s[i + 2])) {
			char hex[3] = {s[i + 1], s[i + 2], 0};
			out[k++] = (char)strtol(hex, NULL, 16);
			i += 2;
		} else {
			out[k++] = s[i];
		}
	}
	out[k] = 0;
	return out;
}

void url_authority_free(struct url_authority *a)
{
	if (a->password)
		memset(a->password, 0, strlen(a->password));
	free(a->user);
	free(a->password);
	free(a->host);
	*a = (struct url_authority){0};
}

/* A host name's characters (RFC 3986's unreserved ones: no IDN, no
 * %-encoding), or an IPv6 address's, with its zone (fe80::1%25eth0). A
 * space, a control character or a quote would end up in a Host header or a
 * signed request. */
static int check_host(const char *h, bool ipv6)
{
	for (const unsigned char *c = (const unsigned char *)h; *c; c++) {
		bool ok = isalnum(*c) || *c == '-' || *c == '.' || *c == '_' || *c == '~' ||
		          (ipv6 && (*c == ':' || *c == '%'));
		if (!ok && *c >= 0x80)
			return gg_fail(GG_EUSAGE,
			               "a bad character in the host: byte 0x%02x (write an "
			               "international name in its ASCII form, xn--...)",
			               *c);
		if (!ok)
			return gg_fail(GG_EUSAGE,
			               isprint(*c) ? "a bad character in the host: '%c'"
			                           : "a bad character in the host: byte 0x%02x",
			               *c);
	}
	return 0;
}

static int parse(const char *p, const char *end, struct url_authority *a)
{
	const char *at = NULL;
	for (const char *c = p; c < end; c++)
		if (*c == '@')
			at = c; /* the last '@' ends the user info */
	if (at) {
		a->userinfo = true;
		const char *colon = memchr(p, ':', (size_t)(at - p));
		if (colon) {
			if (colon > p)
				a->user = url_pct_decode(p, (size_t)(colon - p));
			a->password = url_pct_decode(colon + 1, (size_t)(at - colon - 1));
		} else if (at > p) {
			a->user = url_pct_decode(p, (size_t)(at - p));
		}
		p = at + 1;
	}
	bool ipv6 = *p == '[';
	if (ipv6) { /* [IPv6]:port */
		const char *close = memchr(p, ']', (size_t)(end - p));
		if (!close)
			return gg_fail(GG_EUSAGE, "an IPv6 address without its closing ']'");
		a->host = xstrndup(p + 1, (size_t)(close - p - 1));
		p = close + 1;
	} else {
		const char *colon = memchr(p, ':', (size_t)(end - p));
		const char *host_end = colon ? colon : end;
		a->host = xstrndup(p, (size_t)(host_end - p));
		p = host_end;
	}
	if (!*a->host)
		return gg_fail(GG_EUSAGE, "no host");
	if (check_host(a->host, ipv6) < 0)
		return -1;
	if (p == end)
		return 0;
	if (*p != ':')
		return gg_fail(GG_EUSAGE, "unexpected text after the host: '%.*s'", (int)(end - p),
		               p);
	if (++p == end) /* curl would take port 80 */
		return gg_fail(GG_EUSAGE, "an empty port after ':' (give one, or no ':')");
	char *port = xstrndup(p, (size_t)(end - p));
	uint64_t v;
	int ok = parse_u64(port, &v) == 0 && v >= 1 && v <= 65535;
	if (!ok)
		gg_fail(GG_EUSAGE, "bad port '%s' (expected 1 to 65535)", port);
	free(port);
	if (!ok)
		return -1;
	a->port = (unsigned)v;
	return 0;
}

int url_authority_parse(const char *s, struct url_authority *out)
{
	*out = (struct url_authority){0};
	if (parse(s, s + strcspn(s, "/?#"), out) < 0) {
		url_authority_free(out);
		return -1;
	}
	return 0;
}
