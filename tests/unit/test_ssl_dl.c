/**
 * @file test_ssl_dl.c
 * Specification of the libssl loader (backend/ssl_dl.c), with the real
 * libssl.so.3 of this machine.
 *  - gg_ssl_load() loads libssl only when called (a process that never calls
 *    it has no libssl) and sets every pointer of the table to the function
 *    of that name in libssl or, through its handle, libcrypto.so.3 (the ERR_
 *    ones too: a failed TLS call's reason is in the error queue they read,
 *    not in the statically linked libcrypto's); a second call and eight
 *    threads calling at once all succeed and see the whole table, which a
 *    later call never rewrites. (How many times it was dlopen()ed cannot be
 *    counted, as test_curl_dl does: libcrypto.so.3 makes itself and so
 *    libssl undeletable, so dlclose() does not unload it.)
 *  - When libssl.so.3 cannot be loaded the call fails naming the soname and
 *    dlopen's reason, and every later call says the same even once the
 *    library is back (not retried); a library with only some of the
 *    functions (libcrypto in libssl's place) leaves the table empty. The soname is fixed
 * (GG_SSL_SONAME; no variable or parameter chooses it), so these run in a child that hides the real
 *    file under a bind mount in a mount namespace of its own.
 */
#include "backend/ssl_dl.h"
#include "core/error.h"
#include "dl_fixture.h"

#include <dlfcn.h>
#include <sys/mount.h>
#include <sys/wait.h>

#define SONAME "libssl.so.3"

static bool table_empty(void)
{
	bool empty = true;
#define EMPTY(f) empty = empty && !gg_ssl.p_##f;
	GG_SSL_FUNCTIONS(EMPTY)
#undef EMPTY
	return empty;
}

/* Every pointer is the function of that name found through libssl. */
static void check_table_is_libssls(void)
{
	void *h = dlopen(SONAME, RTLD_NOW | RTLD_NOLOAD);
	CHECK(h);
	if (!h)
		return;
#define SAME(f)                                                                                    \
	if (!gg_ssl.p_##f || (void *)gg_ssl.p_##f != dlsym(h, #f)) {                               \
		fprintf(stderr, "%s not set to libssl's\n", #f);                                   \
		CHECK(!"every pointer set to libssl's function");                                  \
	}
	GG_SSL_FUNCTIONS(SAME)
#undef SAME
	dlclose(h);
}

static void load_once_in_fresh_process(void)
{
	CHECK(!dlopen(SONAME, RTLD_NOW | RTLD_NOLOAD)); /* not loaded at start */
	CHECK(table_empty());
	CHECK(gg_ssl_load() == 0);
	check_table_is_libssls();
	struct gg_ssl_api first = gg_ssl;
	CHECK(gg_ssl_load() == 0);
	CHECK(!memcmp(&first, &gg_ssl, sizeof first));
	/* a second call does not load again: it does not rewrite the table */
	gg_ssl.p_SSL_shutdown = NULL;
	CHECK(gg_ssl_load() == 0);
	CHECK(gg_ssl.p_SSL_shutdown == NULL);
	gg_ssl = first;
}

static void test_load_is_lazy_sets_every_function_and_happens_once(void)
{
	/* in a child: its loader state starts as this process\'s (not yet loaded) */
	CHECK(harness_in_child(load_once_in_fresh_process));
}

static void load_from_threads(void)
{
	dl_fixture_load_from_threads(gg_ssl_load, &gg_ssl, sizeof gg_ssl);
	check_table_is_libssls();
}

static void test_threads_loading_at_once_all_succeed_and_load_once(void)
{
	/* in a child: its loader state starts as this process\'s (not yet loaded) */
	CHECK(harness_in_child(load_from_threads));
}

static void load_without_libssl(void)
{
	char *real = dl_fixture_hide(SONAME, "/dev/null");
	CHECK_ERR(gg_ssl_load(), "cannot load OpenSSL's TLS library (" SONAME "): ");
	char *first = xstrdup(gg_last_error());
	CHECK(strlen(strstr(first, SONAME "): ")) > strlen(SONAME "): ")); /* why */
	CHECK(gg_last_code() == GG_EFAIL);
	CHECK(table_empty());
	/* the library back: still the same failure, not a second try */
	gg_error("something else");
	CHECK(real && umount(real) == 0);
	CHECK(gg_ssl_load() < 0);
	CHECK_STR(gg_last_error(), first);
	CHECK(table_empty());
	CHECK(!dlopen(SONAME, RTLD_NOW | RTLD_NOLOAD));
	free(first);
	free(real);
}

static void test_a_missing_libssl_is_an_error_every_call_repeats(void)
{
	/* in a child: its loader state starts as this process\'s (not yet loaded) */
	CHECK(harness_in_child(load_without_libssl));
}

/* libcrypto in libssl's place: the ERR_, OPENSSL_sk_ and X509_ functions
 * are found, the first of libssl's is not, and none of them stays set. */
static void load_libcrypto_as_libssl(void)
{
	char *crypto = realpath("/lib/x86_64-linux-gnu/libcrypto.so.3", NULL);
	if (!crypto)
		crypto = realpath("/usr/lib/libcrypto.so.3", NULL);
	CHECK(crypto);
	char *real = dl_fixture_hide(SONAME, crypto ? crypto : "/dev/null");
	CHECK_ERR(gg_ssl_load(), "cannot load OpenSSL's TLS library (" SONAME "): ");
	CHECK(strstr(gg_last_error(), "TLS_server_method")); /* dlerror's */
	CHECK(table_empty());
	CHECK(gg_ssl_load() < 0);
	CHECK(table_empty());
	free(real);
	free(crypto);
}

static void test_a_library_with_only_some_functions_leaves_the_table_empty(void)
{
	/* in a child: its loader state starts as this process\'s (not yet loaded) */
	CHECK(harness_in_child(load_libcrypto_as_libssl));
}

/* After the tests in children: this process loads it for good. */
static void test_the_loaded_functions_work_and_share_one_error_queue(void)
{
	CHECK(gg_ssl_load() == 0);
	CHECK(gg_ssl_load() == 0);
	check_table_is_libssls();
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	CHECK(ctx);
	if (!ctx)
		return;
	CHECK(SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1); /* SSL_CTX_ctrl */
	ERR_clear_error();
	CHECK(ERR_peek_last_error() == 0);
	CHECK(SSL_CTX_use_certificate_chain_file(ctx, "/nonexistent/gg-test.pem") != 1);
	unsigned long e = ERR_peek_last_error();
	CHECK(e != 0); /* libssl's failure, read through the loaded ERR_ */
	char msg[256] = "";
	ERR_error_string_n(e, msg, sizeof msg);
	CHECK(!strncmp(msg, "error:", 6));
	ERR_clear_error();
	CHECK(ERR_peek_last_error() == 0);
	SSL *s = SSL_new(ctx);
	CHECK(s);
	SSL_free(s);
	SSL_CTX_free(ctx);
}

TEST_MAIN(test_load_is_lazy_sets_every_function_and_happens_once,
          test_threads_loading_at_once_all_succeed_and_load_once,
          test_a_missing_libssl_is_an_error_every_call_repeats,
          test_a_library_with_only_some_functions_leaves_the_table_empty,
          test_the_loaded_functions_work_and_share_one_error_queue)
