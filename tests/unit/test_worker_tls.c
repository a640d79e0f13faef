/**
 * @file test_worker_tls.c
 * Specification of backend/remote/worker_tls.c without a network: loading
 * a certificate and key (each kind of bad file refused with an error naming
 * it; a key others can read refused as GG_EDENIED; a key that is not the
 * certificate's), client CA files, a handshake that fails or times out on
 * a socketpair, and the plain-TCP byte stream (non-blocking reads, whole
 * writes, a gone peer an error and no SIGPIPE, dontwait giving up).
 */
#include "backend/remote/worker_tls.h"
#include "core/util.h"
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* A self-signed P-256 certificate valid until 2126, its key, and another key. */
static const char c1_pem[] = "-----BEGIN CERTIFICATE-----\n"
                             "MIIBfDCCASGgAwIBAgIUVGXEM9YxWuKzt3+GCnxAn/w7yrgwCgYIKoZIzj0EAwIw\n"
                             "EjEQMA4GA1UEAwwHZ2ctdGVzdDAgFw0yNjEyMDQyMzM4MDVaGA8yMTI2MTExMDIz\n"
                             "MzgwNVowEjEQMA4GA1UEAwwHZ2ctdGVzdDBZMBMGByqGSM49AgEGCCqGSM49AwEH\n"
                             "A0IABPRr20Z3ahQMvv/kSDNso7ZHK/Xpx4mQC3q79VWrZlYj7Y+hdgutnG2mwM3c\n"
                             "qaKpvKImoIbUbN1d+hltiOisky6jUzBRMB0GA1UdDgQWBBS/Ey16bA8ypngnF8Zv\n"
                             "CZgtPszotzAfBgNVHSMEGDAWgBS/Ey16bA8ypngnF8ZvCZgtPszotzAPBgNVHRMB\n"
                             "Af8EBTADAQH/MAoGCCqGSM49BAMCA0kAMEYCIQCeSIiZeEebQ794XhP/xUeHoGD5\n"
                             "jS6RUMFm03hhpInpSAIhAN5LItge39eRoTqlbn5DV+2RU5T7lB97BYKgt5fxrUi9\n"
                             "-----END CERTIFICATE-----\n";
static const char k1_pem[] = "-----BEGIN PRIVATE KEY-----\n"
                             "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgBsnZaiXia7CAH0x9\n"
                             "U70Ifs3GzETpYisjjNMoQ7GbaNqhRANCAAT0a9tGd2oUDL7/5EgzbKO2Ryv16ceJ\n"
                             "kAt6u/VVq2ZWI+2PoXYLrZxtpsDN3KmiqbyiJqCG1GzdXfoZbYjorJMu\n"
                             "-----END PRIVATE KEY-----\n";
static const char k2_pem[] = "-----BEGIN PRIVATE KEY-----\n"
                             "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgI3yP6CjtGqPRJMY/\n"
                             "rwKaHidqGjv5/zA4rAHsEGCfiImhRANCAARIbLtAzapeFJDqW0jAu9KJcLFYxXls\n"
                             "R0n5K2eKpLisS63C8pw04XjAoI8aS/rAkVn2dCfZ3OIiGIStkbP4ll3z\n"
                             "-----END PRIVATE KEY-----\n";

static char *dir;

static char *file(const char *name, const char *text, mode_t mode)
{
	char *p = xasprintf("%s/%s", dir, name);
	if (write_file_atomic(p, text, strlen(text), mode) < 0 || chmod(p, mode) < 0)
		abort();
	return p;
}

static void test_create(void)
{
	char *cert = file("cert.pem", c1_pem, 0644), *key = file("key.pem", k1_pem, 0600);
	char *other = file("other.pem", k2_pem, 0600), *open_key = file("open.pem", k1_pem, 0640);
	char *junk = file("junk.pem", "not a PEM file\n", 0600);
	char *missing = xasprintf("%s/missing.pem", dir);
	struct worker_tls *t = NULL;

	CHECK(worker_tls_create(cert, key, NULL, &t) == 0 && t);
	worker_tls_free(t);
	t = NULL;
	CHECK(worker_tls_create(cert, key, cert, &t) == 0 && t); /* its own CA */
	worker_tls_free(t);
	worker_tls_free(NULL);

	t = NULL;
	CHECK_ERR(worker_tls_create(cert, missing, NULL, &t), "--tls-key");
	CHECK(strstr(gg_last_error(), "missing.pem") != NULL);
	CHECK_ERR(worker_tls_create(cert, open_key, NULL, &t), "is open to other users");
	CHECK(gg_last_code() == GG_EDENIED);
	CHECK_ERR(worker_tls_create(missing, key, NULL, &t), "--tls-cert");
	CHECK(strstr(gg_last_error(), "missing.pem") != NULL);
	CHECK_ERR(worker_tls_create(junk, key, NULL, &t), "--tls-cert");
	CHECK(strstr(gg_last_error(), "junk.pem") != NULL);
	CHECK_ERR(worker_tls_create(key, key, NULL, &t), "--tls-cert"); /* a key is no cert */
	CHECK_ERR(worker_tls_create(cert, junk, NULL, &t), "--tls-key");
	CHECK(strstr(gg_last_error(), "junk.pem") != NULL);
	/* OpenSSL 3 finds the mismatch as it loads the key; older ones at the check */
	CHECK_ERR(worker_tls_create(cert, other, NULL, &t), "other.pem");
	CHECK(strstr(gg_last_error(), "mismatch") ||
	      strstr(gg_last_error(), "is not the key of --tls-cert"));
	CHECK_ERR(worker_tls_create(cert, key, junk, &t), "--tls-client-ca");
	CHECK(strstr(gg_last_error(), "junk.pem") != NULL);
	CHECK_ERR(worker_tls_create(cert, key, missing, &t), "--tls-client-ca");
	CHECK(t == NULL); /* nothing given back on a failure */
	free(cert), free(key), free(other), free(open_key), free(junk), free(missing);
}

static void test_handshake_fails(void)
{
	char *cert = file("cert.pem", c1_pem, 0644), *key = file("key.pem", k1_pem, 0600);
	struct worker_tls *t = NULL;
	CHECK(worker_tls_create(cert, key, NULL, &t) == 0);
	char why[300];
	int sv[2];

	/* plain HTTP where a ClientHello should be */
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	const char req[] = "GET /health HTTP/1.1\r\n\r\n";
	CHECK(write(sv[1], req, sizeof req - 1) == (ssize_t)(sizeof req - 1));
	struct conn_io c = {.fd = sv[0], .timeout_ms = 1000};
	why[0] = 0;
	CHECK(t && conn_tls_accept(t, &c, 1000, why, sizeof why) < 0);
	CHECK(why[0] != 0);
	conn_free(&c);
	CHECK(c.ssl == NULL);
	close(sv[0]), close(sv[1]);

	/* a client that says nothing: refused at the deadline */
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	c = (struct conn_io){.fd = sv[0], .timeout_ms = 200};
	uint64_t t0 = now_ns();
	CHECK(t && conn_tls_accept(t, &c, 200, why, sizeof why) < 0);
	uint64_t took = now_ns() - t0;
	CHECK_STR(why, "the handshake did not finish within 0 s");
	CHECK(took >= 150000000u && took < 5000000000u);
	conn_free(&c);
	close(sv[0]), close(sv[1]);

	/* a client that goes away */
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	close(sv[1]);
	c = (struct conn_io){.fd = sv[0], .timeout_ms = 1000};
	CHECK(t && conn_tls_accept(t, &c, 1000, why, sizeof why) < 0);
	CHECK(strstr(why, "within") == NULL);
	conn_free(&c);
	close(sv[0]);
	worker_tls_free(t);
	free(cert), free(key);
}

static void test_plain_stream(void)
{
	int sv[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	struct conn_io c = {.fd = sv[0], .timeout_ms = 1000};
	char buf[64];
	/* reads never block */
	errno = 0;
	CHECK(conn_recv(&c, buf, sizeof buf) == -1 && errno == EAGAIN);
	CHECK(!conn_buffered(&c));
	CHECK(conn_send_all(&c, "hello", 5, false) == 0);
	CHECK(read(sv[1], buf, sizeof buf) == 5 && !memcmp(buf, "hello", 5));
	CHECK(write(sv[1], "abc", 3) == 3);
	CHECK(conn_recv(&c, buf, 2) == 2 && !memcmp(buf, "ab", 2));
	CHECK(conn_recv(&c, buf, sizeof buf) == 1 && buf[0] == 'c');
	/* no more writing: the peer reads EOF, and can still send */
	conn_shutdown_write(&c);
	CHECK(read(sv[1], buf, sizeof buf) == 0);
	CHECK(write(sv[1], "z", 1) == 1);
	CHECK(conn_recv(&c, buf, sizeof buf) == 1 && buf[0] == 'z');
	close(sv[1]);
	CHECK(conn_recv(&c, buf, sizeof buf) == 0); /* EOF */
	conn_free(&c);                              /* plain: the fd stays open */
	CHECK(fcntl(sv[0], F_GETFD) >= 0);
	close(sv[0]);

	/* a peer gone: an error, not SIGPIPE */
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	close(sv[1]);
	c = (struct conn_io){.fd = sv[0], .timeout_ms = 1000};
	signal(SIGPIPE, SIG_DFL); /* plain TCP needs no SIG_IGN */
	CHECK(conn_send_all(&c, "x", 1, false) == -1);
	signal(SIGPIPE, SIG_IGN);
	close(sv[0]);

	/* dontwait: more than the socket holds is given up, not waited for */
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	c = (struct conn_io){.fd = sv[0], .timeout_ms = 1000};
	size_t n = 16u << 20;
	char *big = calloc(1, n);
	CHECK(big && conn_send_all(&c, big, n, true) == -1);
	/* and a whole write (no dontwait) is all of it, read as it goes */
	struct pollfd p = {.fd = sv[1], .events = POLLIN};
	size_t drained = 0;
	while (poll(&p, 1, 0) > 0) {
		ssize_t k = read(sv[1], big, n);
		if (k <= 0)
			break;
		drained += (size_t)k;
	}
	CHECK(drained > 0 && drained < n);
	free(big);
	close(sv[0]), close(sv[1]);
}

static void setup(void)
{
	/* As in the server (worker_http_serve): OpenSSL writes alerts with write(2),
	 * so a peer gone during a handshake would otherwise kill the process. */
	signal(SIGPIPE, SIG_IGN);
	dir = xstrdup("/tmp/ggtest-worker-tls-XXXXXX");
	if (!mkdtemp(dir))
		abort();
}

static void teardown(void)
{
	CHECK(remove_tree(dir) == 0);
	free(dir);
}

TEST_MAIN(setup, test_create, test_handshake_fails, test_plain_stream, teardown)
