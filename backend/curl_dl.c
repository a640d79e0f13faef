/**
 * @file curl_dl.c
 * Loads libcurl on first use (see curl_dl.h for why): dlopen() of its soname,
 * dlsym() of each function in GG_CURL_FUNCTIONS, curl_global_init(). It does
 * not unload: libcurl stays until the process exits, as a linked one would.
 */
#include "backend/curl_dl.h"

#include "core/util.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

/* The soname of libcurl's ABI 4, which every libcurl since 7.16 keeps. */
#define GG_CURL_SONAME "libcurl.so.4"

struct gg_curl_api gg_curl;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
/* written only inside load_once; read after pthread_once returns */
static bool loaded;
static char load_failure[512];

static void load(void)
{
	/* RTLD_LOCAL: libcurl's symbols (and its libraries') stay out of the
	 * global scope, where they could satisfy some later dlopen by accident. */
	void *h = dlopen(GG_CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(load_failure, sizeof load_failure, "%s", dlerror());
		return;
	}
	/* dlsym() returns a data pointer; POSIX guarantees it converts to a
	 * function pointer, which is all the cast does. */
#define GG_CURL_SYM(f)                                                                             \
	if (!(gg_curl.f = (__typeof__(gg_curl.f))dlsym(h, "curl_" #f)))                            \
		goto fail;
	GG_CURL_FUNCTIONS(GG_CURL_SYM)
#undef GG_CURL_SYM
	CURLcode rc = gg_curl.global_init(CURL_GLOBAL_DEFAULT);
	if (rc != CURLE_OK) {
		snprintf(load_failure, sizeof load_failure, "curl_global_init: %s",
		         gg_curl.easy_strerror(rc));
		return; /* libcurl may hold state now: keep it loaded, unused */
	}
	loaded = true;
	return;
fail:
	snprintf(load_failure, sizeof load_failure, "%s", dlerror());
	gg_curl = (struct gg_curl_api){0};
	dlclose(h);
}

int gg_curl_load(void)
{
	pthread_once(&load_once, load);
	if (!loaded)
		return gg_error("cannot load libcurl (%s): %s", GG_CURL_SONAME, load_failure);
	return 0;
}
