/**
 * @file curl_setup.c
 * Common settings for every libcurl easy handle (see curl_setup.h).
 */
#include "curl_setup.h"

#include "util.h"

#include <stdlib.h>

void gg_curl_apply(CURL *c)
{
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
