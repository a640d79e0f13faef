/**
 * @file curl_setup.c
 * Common settings for every libcurl easy handle (see curl_setup.h).
 */
#include "backend/curl_setup.h"

#include "core/util.h"

#include <stdlib.h>

long gg_curl_connect_timeout_ms(void)
{
	const char *s = getenv("GG_CONNECT_TIMEOUT");
	uint64_t v;
	if (!s || !*s || parse_u64(s, &v) < 0 || v == 0)
		return 5000;
	return v > 600 ? 600000L : (long)v * 1000;
}

void gg_curl_apply(CURL *c)
{
	/* A host that does not take the connection is down: say so soon. */
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, gg_curl_connect_timeout_ms());
	const char *ca = getenv("CURL_CA_BUNDLE");
	if (!ca || !*ca)
		ca = getenv("SSL_CERT_FILE");
	if (ca && *ca)
		curl_easy_setopt(c, CURLOPT_CAINFO, ca);
}

CURL *gg_curl_easy(void)
{
	if (gg_curl_load() < 0)
		return NULL;
	CURL *c = curl_easy_init();
	if (!c) {
		gg_error("cannot create a libcurl handle");
		return NULL;
	}
	gg_curl_apply(c);
	return c;
}
