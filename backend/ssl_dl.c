/**
 * @file ssl_dl.c
 * Loads libssl on first use (see ssl_dl.h for why): dlopen() of its soname
 * and dlsym() of each function in GG_SSL_FUNCTIONS. It does not unload.
 */
#include "backend/ssl_dl.h"

#include "core/util.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

/* OpenSSL 3's ABI; libcrypto.so.3 comes with it as its dependency. */
#define GG_SSL_SONAME "libssl.so.3"

struct gg_ssl_api gg_ssl;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
/* written only inside load_once; read after pthread_once returns */
static bool loaded;
static char load_failure[512];

static void load(void)
{
	/* RTLD_LOCAL, as for libcurl: its symbols stay out of the global scope. */
	void *h = dlopen(GG_SSL_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(load_failure, sizeof load_failure, "%s", dlerror());
		return;
	}
	/* dlsym() on a handle also searches its dependencies (libcrypto). f is
	 * only pasted and quoted, never expanded: it names a redirecting macro. */
#define GG_SSL_SYM(f)                                                                              \
	if (!(gg_ssl.p_##f = (__typeof__(gg_ssl.p_##f))dlsym(h, #f)))                              \
		goto fail;
	GG_SSL_FUNCTIONS(GG_SSL_SYM)
#undef GG_SSL_SYM
	loaded = true;
	return;
fail:
	snprintf(load_failure, sizeof load_failure, "%s", dlerror());
	gg_ssl = (struct gg_ssl_api){0};
	dlclose(h);
}

int gg_ssl_load(void)
{
	pthread_once(&load_once, load);
	if (!loaded)
		return gg_error("cannot load OpenSSL's TLS library (%s): %s", GG_SSL_SONAME,
		                load_failure);
	return 0;
}
