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

void gg_curl_apply(CURL *c)
{
	/* A host that does not take the connection is down: say so soon. A
	 * bad setting was refused when the handle was made (gg_curl_easy). */
	long ms;
	(void)gg_curl_connect_timeout_ms(&ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, ms);
	const char *ca = getenv("CURL_CA_BUNDLE");
	if (!ca || !*ca)
		ca = getenv("SSL_CERT_FILE");
	if (ca && *ca)
		curl_easy_setopt(c, CURLOPT_CAINFO, ca);
}

CURL *gg_curl_easy(void)
{
	long ms;
	if (gg_curl_load() < 0 || gg_curl_connect_timeout_ms(&ms) < 0)
		return NULL;
	CURL *c = curl_easy_init();
	if (!c) {
		gg_error("cannot create a libcurl handle");
		return NULL;
	}
	gg_curl_apply(c);
	return c;
}
