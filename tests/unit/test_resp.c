/**
 * @file test_resp.c
 * Specification of backend/storage/resp (the Redis client's wire): commands are
 * queued and sent in RESP2; replies of every type are read, bulk payloads
 * streamed exactly; a hostile or broken server (a huge length, an unknown
 * type, a line without LF, silence) gives an error naming the cause and a
 * closed connection, never a crash or a hang. A real TCP peer on 127.0.0.1
 * plays the server.
 */
#include "backend/storage/resp.h"
#include "harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A connected pair: the client's conn and the server's fd. */
static int pair(struct resp_conn *c, int timeout_ms)
{
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&a, &len) < 0)
		abort();
	char port[16];
	snprintf(port, sizeof port, "%u", ntohs(a.sin_port));
	if (resp_connect(c, "127.0.0.1", port, timeout_ms, "redis://test") < 0)
		abort();
	int s = accept(l, NULL, NULL);
	close(l);
	if (s < 0)
		abort();
	return s;
}

static void say(int fd, const char *s)
{
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		abort();
}

static int collect(void *arg, const void *data, size_t n)
{
	buf_add(arg, data, n);
	return 0;
}

static void test_commands_are_resp2(void)
{
	struct resp_conn c;
	int s = pair(&c, 2000);
	const char *argv[] = {"SET", "k\r\n", "v\0w"};
	size_t lens[] = {3, 3, 3};
	resp_queue(&c, 3, argv, lens);
	CHECK(resp_queued(&c) > 0);
	CHECK(resp_flush(&c) == 0 && resp_queued(&c) == 0);
	char got[64] = {0};
	const char want[] = "*3\r\n$3\r\nSET\r\n$3\r\nk\r\n\r\n$3\r\nv\0w\r\n";
	ssize_t n = 0, k;
	while (n < (ssize_t)sizeof want - 1 && (k = read(s, got + n, sizeof got - (size_t)n)) > 0)
		n += k;
	CHECK(n == (ssize_t)sizeof want - 1 && !memcmp(got, want, sizeof want - 1));
	resp_close(&c);
	close(s);
}

static void test_every_reply_type(void)
{
	struct resp_conn c;
	int s = pair(&c, 2000);
	say(s,
	    "+OK\r\n-ERR wrong\x01type\r\n:-42\r\n$5\r\nhe\r\no\r\n$-1\r\n*2\r\n:1\r\n$0\r\n\r\n");
	struct resp_reply r;
	CHECK(resp_read(&c, &r) == 0 && r.type == RESP_STATUS && !strcmp(r.text, "OK"));
	CHECK(resp_read(&c, &r) == 0 && r.type == RESP_ERROR);
	CHECK_STR(r.text, "ERR wrong?type"); /* unprintable bytes shown as '?' */
	CHECK(resp_read(&c, &r) == 0 && r.type == RESP_INT && r.n == -42);
	CHECK(resp_read(&c, &r) == 0 && r.type == RESP_BULK && r.n == 5);
	struct buf b = BUF_INIT;
	CHECK(resp_read_bulk(&c, 5, collect, &b) == 0);
	CHECK(b.len == 5 && !memcmp(b.data, "he\r\no", 5)); /* binary-safe */
	buf_free(&b);
	CHECK(resp_read(&c, &r) == 0 && r.type == RESP_NIL);
	CHECK(resp_read(&c, &r) == 0 && r.type == RESP_ARRAY && r.n == 2);
	CHECK(resp_read(&c, &r) == 0 && r.type == RESP_INT && r.n == 1);
	CHECK(resp_read(&c, &r) == 0 && r.type == RESP_BULK && r.n == 0);
	CHECK(resp_read_bulk(&c, 0, NULL, NULL) == 0);
	CHECK(resp_connected(&c));
	resp_close(&c);
	close(s);
}

static void test_expect_helpers(void)
{
	struct resp_conn c;
	int s = pair(&c, 2000);
	say(s, "+OK\r\n:7\r\n-NOAUTH Authentication required.\r\n");
	long long v = 0;
	CHECK(resp_expect_ok(&c, "SET") == 0);
	CHECK(resp_expect_int(&c, "DEL", &v) == 0 && v == 7);
	CHECK_ERR(resp_expect_ok(&c, "SET"), "NOAUTH Authentication required.");
	resp_close(&c);
	close(s);
}

/* Each hostile reply: an error naming it, and the connection closed. */
static void hostile(const char *reply, const char *why)
{
	struct resp_conn c;
	int s = pair(&c, 2000);
	say(s, reply);
	struct resp_reply r;
	CHECK_ERR(resp_read(&c, &r), why);
	CHECK(!resp_connected(&c));
	resp_close(&c);
	close(s);
}

static void test_hostile_server(void)
{
	hostile("$536870913\r\n", "impossible bulk length"); /* 512 MiB + 1 */
	hostile("*99999999999\r\n", "impossible array length");
	hostile("$-2\r\n", "impossible bulk length");
	hostile("?what\r\n", "unexpected reply type 0x3f");
	hostile(":12x\r\n", "bad number in a reply");
	hostile(":1\rX", "CR without LF");
	hostile("\r\n", "empty reply line");
	char *longline = xmalloc(5000);
	memset(longline, 'a', 4999);
	longline[0] = '+';
	longline[4999] = 0;
	hostile(longline, "longer than 4096 bytes");
	free(longline);
}

static void test_silent_or_gone_server(void)
{
	struct resp_conn c;
	int s = pair(&c, 300); /* a server that says nothing: the timeout */
	struct resp_reply r;
	CHECK(resp_read(&c, &r) < 0 && !resp_connected(&c));
	CHECK(strstr(gg_last_error(), "redis://test") != NULL);
	resp_close(&c);
	close(s);
	s = pair(&c, 2000); /* a server that goes away mid-bulk */
	say(s, "$10\r\nabc");
	close(s);
	CHECK(resp_read(&c, &r) == 0 && r.type == RESP_BULK);
	struct buf b = BUF_INIT;
	CHECK(resp_read_bulk(&c, 10, collect, &b) < 0 && !resp_connected(&c));
	buf_free(&b);
	resp_close(&c);
}

TEST_MAIN(test_commands_are_resp2, test_every_reply_type, test_expect_helpers, test_hostile_server,
          test_silent_or_gone_server)
