/**
 * @file worker_tls.c
 * A worker connection's bytes, plain or through OpenSSL (see worker_tls.h).
 * TLS connections are non-blocking: every wait is a poll() with a deadline,
 * so a client that stalls a handshake or a write holds its thread no longer
 * than the server's read timeout, as a plain one does.
 */
#include "backend/remote/worker_tls.h"

#include "backend/ssl_dl.h"

#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

struct worker_tls {
	SSL_CTX *ctx;
};

/* OpenSSL's reason for the last failure, or `dflt`. */
static const char *ssl_reason(char *buf, size_t len, const char *dflt)
{
	unsigned long e = ERR_peek_last_error();
	if (!e)
		return dflt;
	ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return buf;
}

int worker_tls_create(const char *cert, const char *key, const char *client_ca,
                      struct worker_tls **out)
{
	char why[256];
	struct stat st;
	if (stat(key, &st) < 0)
		return gg_error_errno("--tls-key %s", key);
	if (st.st_mode & (S_IRWXG | S_IRWXO))
		return gg_fail(GG_EDENIED,
		               "--tls-key %s is open to other users: chmod 600 it (the key "
		               "is what lets clients trust this worker)",
		               key);
	if (gg_ssl_load() < 0)
		return -1;
	ERR_clear_error();
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx)
		return gg_error("cannot make a TLS context: %s", ssl_reason(why, sizeof why, "?"));
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	int r = 0;
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
		r = gg_error("--tls-cert %s: %s", cert,
		             ssl_reason(why, sizeof why, "not a PEM certificate"));
	else if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
		r = gg_error("--tls-key %s: %s", key, ssl_reason(why, sizeof why, "not a PEM key"));
	else if (SSL_CTX_check_private_key(ctx) != 1)
		r = gg_error("--tls-key %s is not the key of --tls-cert %s", key, cert);
	if (r == 0 && client_ca) {
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(client_ca);
		if (SSL_CTX_load_verify_locations(ctx, client_ca, NULL) != 1 || !names) {
			if (names)
				sk_X509_NAME_pop_free(names, X509_NAME_free);
			r = gg_error("--tls-client-ca %s: %s", client_ca,
			             ssl_reason(why, sizeof why, "no PEM certificate in it"));
		} else {
			SSL_CTX_set_client_CA_list(ctx, names);
			SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
			                   NULL);
			/* without it, a TLS 1.2 client resuming a session fails its
			 * handshake instead of starting a new session */
			SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"gg-worker", 9);
		}
	}
	if (r < 0) {
		SSL_CTX_free(ctx);
		return r;
	}
	*out = xmalloc(sizeof **out);
	(*out)->ctx = ctx;
	return 0;
}

void worker_tls_free(struct worker_tls *t)
{
	if (!t)
		return;
	SSL_CTX_free(t->ctx);
	free(t);
}

/* 1 when fd is ready for ev, 0 at the deadline or on an error. */
static int wait_fd(int fd, short ev, uint64_t deadline)
{
	for (;;) {
		uint64_t now = now_ns();
		if (now >= deadline)
			return 0;
		uint64_t ms = (deadline - now + 999999) / 1000000;
		struct pollfd p = {.fd = fd, .events = ev};
		int r = poll(&p, 1, ms > INT_MAX ? INT_MAX : (int)ms);
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return 0;
	}
}

/* What an SSL call that returned r waits for: POLLIN, POLLOUT, or 0 (failed). */
static short ssl_wants(SSL *s, int r)
{
	switch (SSL_get_error(s, r)) {
	case SSL_ERROR_WANT_READ: return POLLIN;
	case SSL_ERROR_WANT_WRITE: return POLLOUT;
	default: return 0;
	}
}

int conn_tls_accept(struct worker_tls *t, struct conn_io *c, unsigned timeout_ms, char *why,
                    size_t why_len)
{
	SSL *s = SSL_new(t->ctx);
	if (!s) {
		snprintf(why, why_len, "cannot make a TLS session");
		return -1;
	}
	int fl = fcntl(c->fd, F_GETFL);
	if (fl < 0 || fcntl(c->fd, F_SETFL, fl | O_NONBLOCK) < 0 || SSL_set_fd(s, c->fd) != 1) {
		SSL_free(s);
		snprintf(why, why_len, "cannot set up the socket: %s", strerror(errno));
		return -1;
	}
	c->ssl = s;
	uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000u;
	for (;;) {
		ERR_clear_error();
		int r = SSL_accept(s);
		if (r == 1)
			return 0;
		short ev = ssl_wants(s, r);
		if (!ev) {
			char buf[256];
			const char *reason =
			    ssl_reason(buf, sizeof buf, "the client closed the connection");
			snprintf(why, why_len, "%s", reason);
			return -1;
		}
		if (!wait_fd(c->fd, ev, deadline)) {
			snprintf(why, why_len, "the handshake did not finish within %u s",
			         timeout_ms / 1000);
			return -1;
		}
	}
}

bool conn_buffered(const struct conn_io *c)
{
	return c->ssl && SSL_pending(c->ssl) > 0;
}

ssize_t conn_recv(struct conn_io *c, void *p, size_t n)
{
	if (!c->ssl)
		return recv(c->fd, p, n, MSG_DONTWAIT);
	ERR_clear_error();
	int k = SSL_read(c->ssl, p, n > INT_MAX ? INT_MAX : (int)n);
	if (k > 0)
		return k;
	int e = SSL_get_error(c->ssl, k);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		errno = EAGAIN;
		return -1;
	}
	ERR_clear_error();
	if (e == SSL_ERROR_ZERO_RETURN)
		return 0;
	errno = ECONNRESET;
	return -1;
}

int conn_send_all(struct conn_io *c, const void *p, size_t n, bool dontwait)
{
	const char *b = p;
	if (!c->ssl) {
		while (n) {
			ssize_t k = send(c->fd, b, n, MSG_NOSIGNAL | (dontwait ? MSG_DONTWAIT : 0));
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0)
				return -1;
			b += k;
			n -= (size_t)k;
		}
		return 0;
	}
	uint64_t deadline = now_ns() + (uint64_t)c->timeout_ms * 1000000u;
	while (n) {
		ERR_clear_error();
		int k = SSL_write(c->ssl, b, n > INT_MAX ? INT_MAX : (int)n);
		if (k > 0) {
			b += k;
			n -= (size_t)k;
			continue;
		}
		short ev = ssl_wants(c->ssl, k);
		ERR_clear_error();
		if (!ev || !wait_fd(c->fd, ev, deadline))
			return -1;
	}
	return 0;
}

void conn_shutdown_write(struct conn_io *c)
{
	if (c->ssl) {
		ERR_clear_error();
		SSL_shutdown(c->ssl); /* close_notify, not waiting for the client's */
		ERR_clear_error();
	}
	shutdown(c->fd, SHUT_WR);
}

void conn_free(struct conn_io *c)
{
	if (c->ssl)
		SSL_free(c->ssl);
	c->ssl = NULL;
}
