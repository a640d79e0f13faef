/**
 * @file curl_setup.h
 * One place to make libcurl easy handles, so every transfer gets the same
 * settings: the CA bundle from $CURL_CA_BUNDLE or $SSL_CERT_FILE when set
 * (a Lambda runtime has no /etc/ssl/certs of Debian's layout; the lambda
 * package ships its own bundle and points these at it). libcurl itself is
 * loaded on first use (curl_dl.h); gg_curl_easy() loads it.
 */
#ifndef GG_CURL_SETUP_H
#define GG_CURL_SETUP_H

#include "curl_dl.h"

/* curl_easy_init() plus the common settings; NULL with gg_error() if libcurl
 * cannot be loaded or cannot make a handle. */
CURL *gg_curl_easy(void);
/* Applies the common settings again (after curl_easy_reset). */
void gg_curl_apply(CURL *c);

#endif
