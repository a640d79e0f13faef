/**
 * @file ssl_dl.h
 * libssl, loaded with dlopen() on first use instead of linked at start-up,
 * as libcurl is (curl_dl.h). Linking libssl.so brings libcrypto.so, whose
 * relocation costs ~2 ms of every gg start; only `gg worker --tls-cert`
 * needs TLS of its own (SHA-256 comes from libcrypto.a: core/hash.c).
 *
 * Include this header instead of <openssl/ssl.h> and <openssl/err.h>: after
 * their declarations it redirects each OpenSSL function the code uses to a
 * pointer filled in by gg_ssl_load(). A function missing from the table
 * would be linked from libcrypto.a, a second copy with its own state (an
 * error queue no TLS call fills): the Makefile refuses a gg that holds one.
 *
 * Call gg_ssl_load() before any other call: worker_tls_create() does, and
 * every TLS object comes from the context it makes.
 */
#ifndef GG_SSL_DL_H
#define GG_SSL_DL_H

#include <openssl/err.h>
#include <openssl/ssl.h>

/* The OpenSSL functions gg uses, including those its macros expand to
 * (SSL_CTX_set_min_proto_version: SSL_CTX_ctrl; sk_X509_NAME_pop_free:
 * OPENSSL_sk_pop_free). ERR_, X509_ and OPENSSL_sk_ are libcrypto's, found
 * through libssl's handle. */
#define GG_SSL_FUNCTIONS(X)                                                                        \
	X(ERR_clear_error)                                                                         \
	X(ERR_error_string_n)                                                                      \
	X(ERR_peek_last_error)                                                                     \
	X(OPENSSL_sk_pop_free)                                                                     \
	X(X509_NAME_free)                                                                          \
	X(TLS_server_method)                                                                       \
	X(SSL_CTX_new)                                                                             \
	X(SSL_CTX_free)                                                                            \
	X(SSL_CTX_ctrl)                                                                            \
	X(SSL_CTX_use_certificate_chain_file)                                                      \
	X(SSL_CTX_use_PrivateKey_file)                                                             \
	X(SSL_CTX_check_private_key)                                                               \
	X(SSL_CTX_load_verify_locations)                                                           \
	X(SSL_CTX_set_client_CA_list)                                                              \
	X(SSL_CTX_set_verify)                                                                      \
	X(SSL_CTX_set_session_id_context)                                                          \
	X(SSL_load_client_CA_file)                                                                 \
	X(SSL_new)                                                                                 \
	X(SSL_free)                                                                                \
	X(SSL_set_fd)                                                                              \
	X(SSL_accept)                                                                              \
	X(SSL_read)                                                                                \
	X(SSL_write)                                                                               \
	X(SSL_pending)                                                                             \
	X(SSL_get_error)                                                                           \
	X(SSL_shutdown)

/* Pointers with the exact prototypes of OpenSSL's headers. A field is the
 * function's name with p_ before it: the macros below take the bare name. */
struct gg_ssl_api {
#define GG_SSL_FIELD(f) __typeof__(f) *p_##f;
	GG_SSL_FUNCTIONS(GG_SSL_FIELD)
#undef GG_SSL_FIELD
};
extern struct gg_ssl_api gg_ssl;

/*
 * Loads libssl.so.3, once per process (thread-safe). 0, or -1 with
 * gg_error() saying why (every later call says the same).
 */
int gg_ssl_load(void);

#define ERR_clear_error                    (gg_ssl.p_ERR_clear_error)
#define ERR_error_string_n                 (gg_ssl.p_ERR_error_string_n)
#define ERR_peek_last_error                (gg_ssl.p_ERR_peek_last_error)
#define OPENSSL_sk_pop_free                (gg_ssl.p_OPENSSL_sk_pop_free)
#define X509_NAME_free                     (gg_ssl.p_X509_NAME_free)
#define TLS_server_method                  (gg_ssl.p_TLS_server_method)
#define SSL_CTX_new                        (gg_ssl.p_SSL_CTX_new)
#define SSL_CTX_free                       (gg_ssl.p_SSL_CTX_free)
#define SSL_CTX_ctrl                       (gg_ssl.p_SSL_CTX_ctrl)
#define SSL_CTX_use_certificate_chain_file (gg_ssl.p_SSL_CTX_use_certificate_chain_file)
#define SSL_CTX_use_PrivateKey_file        (gg_ssl.p_SSL_CTX_use_PrivateKey_file)
#define SSL_CTX_check_private_key          (gg_ssl.p_SSL_CTX_check_private_key)
#define SSL_CTX_load_verify_locations      (gg_ssl.p_SSL_CTX_load_verify_locations)
#define SSL_CTX_set_client_CA_list         (gg_ssl.p_SSL_CTX_set_client_CA_list)
#define SSL_CTX_set_verify                 (gg_ssl.p_SSL_CTX_set_verify)
#define SSL_CTX_set_session_id_context     (gg_ssl.p_SSL_CTX_set_session_id_context)
#define SSL_load_client_CA_file            (gg_ssl.p_SSL_load_client_CA_file)
#define SSL_new                            (gg_ssl.p_SSL_new)
#define SSL_free                           (gg_ssl.p_SSL_free)
#define SSL_set_fd                         (gg_ssl.p_SSL_set_fd)
#define SSL_accept                         (gg_ssl.p_SSL_accept)
#define SSL_read                           (gg_ssl.p_SSL_read)
#define SSL_write                          (gg_ssl.p_SSL_write)
#define SSL_pending                        (gg_ssl.p_SSL_pending)
#define SSL_get_error                      (gg_ssl.p_SSL_get_error)
#define SSL_shutdown                       (gg_ssl.p_SSL_shutdown)

#endif
