/**
 * @file curl_setup.h
 * One place to make libcurl easy handles, so every transfer gets the same
 * settings: the connect timeout ($GG_CONNECT_TIMEOUT), the CA bundle from
 * $CURL_CA_BUNDLE or $SSL_CERT_FILE when set
 * (a Lambda runtime has no /etc/ssl/certs of Debian's layout; the lambda
 * package ships its own bundle and points these at it). libcurl itself is
 * loaded on first use (curl_dl.h); gg_curl_easy() loads it.
 */
#ifndef GG_CURL_SETUP_H
#define GG_CURL_SETUP_H

#include "backend/curl_dl.h"

/* $GG_CONNECT_TIMEOUT (seconds, 1 to 600, default 5) in milliseconds: how
 * long any remote call waits for its connection. -1 with GG_EUSAGE (and the
 * default in *ms) for any other value (env_u64). Read once, where a
 * transfer's settings are read, and handed to the two below. */
int gg_curl_connect_timeout_ms(long *ms);
/* curl_easy_init() plus the common settings; NULL with gg_error() if libcurl
 * cannot be loaded or cannot make a handle. */
CURL *gg_curl_easy(long connect_ms);
/* Applies the common settings again (after curl_easy_reset): the CA bundle,
 * the connect timeout. */
void gg_curl_apply(CURL *c, long connect_ms);

#endif
