/**
 * @file curl_setup.c
 * Common settings for every libcurl easy handle (see curl_setup.h).
 */
#include "backend/curl_setup.h"

#include "core/util.h"

#include <stdlib.h>

int gg_curl_connect_timeout_ms(long *ms)
{
	uint64_t s;
	int r = env_u64("GG_CONNECT_TIMEOUT", 5, 1, 600, &s);
	*ms = (long)s * 1000;
	return r;
}

void gg_curl_apply(CURL *c, long connect_ms)
{
	/* A host that does not take the connection is down: say so soon. */
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
	const char *ca = getenv("CURL_CA_BUNDLE");
	if (!ca || !*ca)
		ca = getenv("SSL_CERT_FILE");
	if (ca && *ca)
		curl_easy_setopt(c, CURLOPT_CAINFO, ca);
}

CURL *gg_curl_easy(long connect_ms)
{
	if (gg_curl_load() < 0)
		return NULL;
	CURL *c = curl_easy_init();
	if (!c) {
		gg_error("cannot create a libcurl handle");
		return NULL;
	}
	gg_curl_apply(c, connect_ms);
	return c;
}
