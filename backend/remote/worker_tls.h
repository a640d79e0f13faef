/**
 * @file worker_tls.h
 * The byte stream of one `gg worker --listen` connection: plain TCP, or TLS
 * (OpenSSL) with --tls-cert and --tls-key, and client certificates checked
 * against --tls-client-ca. worker_http.c reads and writes through these
 * calls only, so everything it bounds (sizes, times, connections) holds the
 * same with TLS. Reads never block (poll the fd, or ask conn_buffered(),
 * first); writes wait at most the timeout given.
 */
#ifndef GG_WORKER_TLS_H
#define GG_WORKER_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct worker_tls; /* a server's TLS settings: certificate, key, client CAs */

/* Loads the certificate chain and key (and, when client_ca is not NULL, the
 * CAs whose client certificates are required). -1 with an error naming the file. */
int worker_tls_create(const char *cert, const char *key, const char *client_ca,
                      struct worker_tls **out);
void worker_tls_free(struct worker_tls *t);

struct conn_io {
	int fd;
	void *ssl;           /* SSL *, or NULL for plain TCP */
	unsigned timeout_ms; /* a write's longest wait (plain TCP: SO_SNDTIMEO does it) */
};

/* The TLS handshake on an accepted socket (made non-blocking), within
 * timeout_ms. -1 with why (for the log) when it fails or times out. */
int conn_tls_accept(struct worker_tls *t, struct conn_io *c, unsigned timeout_ms, char *why,
                    size_t why_len);
/* Bytes already decrypted and waiting (a read will not block). */
bool conn_buffered(const struct conn_io *c);
/* One read without blocking: > 0 bytes, 0 at EOF, -1 with errno (EAGAIN: nothing yet). */
ssize_t conn_recv(struct conn_io *c, void *p, size_t n);
/* Writes all n bytes: 0, or -1 when the peer is gone or it took longer than
 * c->timeout_ms. dontwait: give up rather than wait (plain TCP only). */
int conn_send_all(struct conn_io *c, const void *p, size_t n, bool dontwait);
/* Before closing: TLS says goodbye (close_notify), then no more writing. */
void conn_shutdown_write(struct conn_io *c);
void conn_free(struct conn_io *c);

#endif
