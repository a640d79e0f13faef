/**
 * @file test_url.c
 * Specification of url_authority_parse (backend/url.c): the authority of
 * every URL a user gives gg is split into user info, host and port, and
 * each fault (no host, a bad character in it, an empty or bad port, an
 * unclosed IPv6 bracket, text after the host) is an error naming it, never
 * a silent default.
 */
#include "backend/url.h"
#include "core/error.h"
#include "harness.h"

#include <string.h>

static void test_split(void)
{
	struct url_authority a;
	CHECK(url_authority_parse("127.0.0.1:9000/execute", &a) == 0);
	CHECK_STR(a.host, "127.0.0.1");
	CHECK(a.port == 9000 && !a.user && !a.password && !a.userinfo);
	url_authority_free(&a);
	CHECK(url_authority_parse("example.com", &a) == 0);
	CHECK_STR(a.host, "example.com");
	CHECK(a.port == 0);
	url_authority_free(&a);
	CHECK(url_authority_parse("h:1?x=y", &a) == 0);
	CHECK(a.port == 1);
	url_authority_free(&a);
	CHECK(url_authority_parse("[::1]:65535#f", &a) == 0);
	CHECK_STR(a.host, "::1");
	CHECK(a.port == 65535);
	url_authority_free(&a);
	/* user info: the last '@' ends it, %XX decoded */
	CHECK(url_authority_parse("us%40er:p@ss:w@host:6379/0", &a) == 0);
	CHECK(a.userinfo);
	CHECK_STR(a.user, "us@er");
	CHECK_STR(a.password, "p@ss:w");
	CHECK_STR(a.host, "host");
	CHECK(a.port == 6379);
	url_authority_free(&a);
	CHECK(url_authority_parse(":pw@h", &a) == 0);
	CHECK(!a.user && a.password && !strcmp(a.password, "pw"));
	url_authority_free(&a);
}

static void test_faults(void)
{
	struct url_authority a;
	CHECK_ERR(url_authority_parse("127.0.0.1:/execute", &a), "an empty port after ':'");
	CHECK(gg_last_code() == GG_EUSAGE);
	CHECK_ERR(url_authority_parse("h:", &a), "an empty port");
	CHECK_ERR(url_authority_parse("h:0", &a), "bad port '0'");
	CHECK_ERR(url_authority_parse("h:65536", &a), "bad port '65536'");
	CHECK_ERR(url_authority_parse("h:80x", &a), "bad port '80x'");
	CHECK_ERR(url_authority_parse("h:-1", &a), "bad port '-1'");
	CHECK_ERR(url_authority_parse(":9000", &a), "no host");
	CHECK_ERR(url_authority_parse("/execute", &a), "no host");
	CHECK_ERR(url_authority_parse("u:p@", &a), "no host");
	CHECK_ERR(url_authority_parse("[::1", &a), "closing ']'");
	CHECK_ERR(url_authority_parse("[::1]x", &a), "unexpected text after the host");
	CHECK_ERR(url_authority_parse("[]:80", &a), "no host");
	/* what would end up in a Host header or a signed request */
	CHECK_ERR(url_authority_parse("ho st:80", &a), "a bad character in the host: ' '");
	CHECK_ERR(url_authority_parse("host\r\nX-Evil: 1", &a), "byte 0x0d");
	CHECK_ERR(url_authority_parse("h\"x", &a), "a bad character in the host: '\"'");
	CHECK_ERR(url_authority_parse("h^x:1", &a), "'^'");
	CHECK_ERR(url_authority_parse("b\xc3\xbc"
	                              "cher.example",
	                              &a),
	          "its ASCII form, xn--");
	CHECK_ERR(url_authority_parse("[::1 ]:1", &a), "a bad character in the host: ' '");
	CHECK_ERR(url_authority_parse("a:b", &a), "bad port 'b'");
	CHECK(url_authority_parse("my-host_1.example~x:8080", &a) == 0);
	url_authority_free(&a);
	CHECK(url_authority_parse("[fe80::1%25eth0]:80", &a) == 0);
	CHECK_STR(a.host, "fe80::1%25eth0");
	url_authority_free(&a);
}

TEST_MAIN(test_split, test_faults)
