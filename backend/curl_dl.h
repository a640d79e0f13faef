/**
 * @file curl_dl.h
 * libcurl, loaded with dlopen() on first use instead of linked at start-up.
 * Debian's libcurl pulls in some 30 libraries (gnutls, p11-kit, krb5, ldap…)
 * whose loading and constructors cost ~5 ms of every process start, and most
 * gg processes (the models during `gg infer`, gg-run, a local `gg force`)
 * never touch the network.
 *
 * Include this header instead of <curl/curl.h>: after curl's declarations it
 * redirects each libcurl function the code uses to a pointer filled in by
 * gg_curl_load(), so callers read like ordinary libcurl code. A function not
 * in the table fails to link (gg is not linked with -lcurl): add it here.
 *
 * Call gg_curl_load() before any curl_* call. Every handle comes from
 * gg_curl_easy() (curl_setup.h), http_batch_new() or the http transport, and
 * each of those loads first; everything else takes a handle or a result.
 */
#ifndef GG_CURL_DL_H
#define GG_CURL_DL_H

#ifdef CURLINC_CURL_H
#error "include curl_dl.h (or curl_setup.h) instead of <curl/curl.h>"
#endif
/* curl's typecheck-gcc.h defines curl_easy_setopt and curl_easy_getinfo as
 * macros, which the redirections below replace. (Its warnings never showed:
 * gcc suppresses them because they come from a system header.) */
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>

/* The libcurl functions gg uses, without their "curl_" prefix. */
#define GG_CURL_FUNCTIONS(X)                                                                       \
	X(global_init)                                                                             \
	X(easy_init)                                                                               \
	X(easy_setopt)                                                                             \
	X(easy_getinfo)                                                                            \
	X(easy_perform)                                                                            \
	X(easy_reset)                                                                              \
	X(easy_cleanup)                                                                            \
	X(easy_strerror)                                                                           \
	X(multi_init)                                                                              \
	X(multi_setopt)                                                                            \
	X(multi_add_handle)                                                                        \
	X(multi_remove_handle)                                                                     \
	X(multi_perform)                                                                           \
	X(multi_poll)                                                                              \
	X(multi_wakeup)                                                                            \
	X(multi_info_read)                                                                         \
	X(multi_cleanup)                                                                           \
	X(multi_strerror)                                                                          \
	X(slist_append)                                                                            \
	X(slist_free_all)

/* Pointers with the exact prototypes of curl.h; set once by gg_curl_load(). */
struct gg_curl_api {
#define GG_CURL_FIELD(f) __typeof__(curl_##f) *f;
	GG_CURL_FUNCTIONS(GG_CURL_FIELD)
#undef GG_CURL_FIELD
};
extern struct gg_curl_api gg_curl;

/*
 * Loads libcurl.so.4 and calls curl_global_init(), once per process
 * (thread-safe). 0, or -1 with gg_error() saying why (every later call says
 * the same: a failed load is not retried).
 */
int gg_curl_load(void);

/* curl.h's own macros for the three variadic functions (which insist on
 * exactly three arguments, as these do). */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#undef curl_multi_setopt
#define curl_easy_setopt(handle, opt, param)  (gg_curl.easy_setopt)(handle, opt, param)
#define curl_easy_getinfo(handle, info, arg)  (gg_curl.easy_getinfo)(handle, info, arg)
#define curl_multi_setopt(handle, opt, param) (gg_curl.multi_setopt)(handle, opt, param)
/* curl_global_init is the loader's: callers use gg_curl_load(). */
#define curl_easy_init           (gg_curl.easy_init)
#define curl_easy_perform        (gg_curl.easy_perform)
#define curl_easy_reset          (gg_curl.easy_reset)
#define curl_easy_cleanup        (gg_curl.easy_cleanup)
#define curl_easy_strerror       (gg_curl.easy_strerror)
#define curl_multi_init          (gg_curl.multi_init)
#define curl_multi_add_handle    (gg_curl.multi_add_handle)
#define curl_multi_remove_handle (gg_curl.multi_remove_handle)
#define curl_multi_perform       (gg_curl.multi_perform)
#define curl_multi_poll          (gg_curl.multi_poll)
#define curl_multi_wakeup        (gg_curl.multi_wakeup)
#define curl_multi_info_read     (gg_curl.multi_info_read)
#define curl_multi_cleanup       (gg_curl.multi_cleanup)
#define curl_multi_strerror      (gg_curl.multi_strerror)
#define curl_slist_append        (gg_curl.slist_append)
#define curl_slist_free_all      (gg_curl.slist_free_all)

#endif
