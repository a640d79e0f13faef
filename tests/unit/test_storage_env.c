/**
 * @file test_storage_env.c
 * Specification of the storage settings read from the environment
 * (GG_STORAGE_PARALLEL, GG_STORAGE_RETRIES, GG_STORAGE_TIMEOUT,
 * GG_STORAGE_DEADLINE, GG_STORAGE_BACKOFF_MS, GG_CONNECT_TIMEOUT):
 * http_batch_config_from_env
 * (backend/http_batch.c) takes a whole number in the variable's range and
 * refuses anything else with an error naming the variable, its value and the
 * range; opening S3 or Redis storage with such a value fails with that error
 * (after the store's URI) instead of running with some other setting. The
 * connect timeout holds for every attempt, the retries on a reused handle too.
 */
#include "backend/http_batch.h"
#include "backend/storage/storage.h"
#include "harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *const vars[] = {"GG_STORAGE_PARALLEL",   "GG_STORAGE_RETRIES",
                                   "GG_STORAGE_TIMEOUT",    "GG_STORAGE_DEADLINE",
                                   "GG_STORAGE_BACKOFF_MS", "GG_CONNECT_TIMEOUT"};

static void unset_all(void)
{
	for (size_t i = 0; i < GG_ARRAY_LEN(vars); i++)
		unsetenv(vars[i]);
}

/* The environment as it is gives this configuration. */
static void batch_taken(unsigned inflight, unsigned attempts, unsigned timeout_s,
                        unsigned deadline_s, unsigned backoff_ms, long connect_ms)
{
	struct http_batch_config cfg = {0};
	CHECK(http_batch_config_from_env(&cfg) == 0);
	CHECK(cfg.max_inflight == inflight);
	CHECK(cfg.max_attempts == attempts);
	CHECK(cfg.timeout_s == timeout_s);
	CHECK(cfg.deadline_s == deadline_s);
	CHECK(cfg.backoff_base_ms == backoff_ms);
	CHECK(cfg.backoff_cap_ms == 10000);
	CHECK(cfg.connect_ms == connect_ms);
}

static void test_batch_config_defaults(void)
{
	unset_all();
	batch_taken(64, 6, 10, 600, 100, 5000);
}

static void test_batch_config_taken(void)
{
	unset_all();
	setenv("GG_STORAGE_PARALLEL", "1024", 1);
	setenv("GG_STORAGE_RETRIES", "0", 1);
	setenv("GG_STORAGE_TIMEOUT", "3600", 1);
	setenv("GG_STORAGE_DEADLINE", "0", 1);
	setenv("GG_STORAGE_BACKOFF_MS", "60000", 1);
	setenv("GG_CONNECT_TIMEOUT", "600", 1);
	batch_taken(1024, 1, 3600, 0, 60000, 600000);
	unset_all();
}

/* Values refused, with the range each message must name. */
static const struct {
	const char *var, *value, *range;
} bad[] = {
    {"GG_STORAGE_PARALLEL", "0", "from 1 to 1024"},
    {"GG_STORAGE_PARALLEL", "1025", "from 1 to 1024"},
    {"GG_STORAGE_RETRIES", "abc", "from 0 to 100"},
    {"GG_STORAGE_RETRIES", "101", "from 0 to 100"},
    {"GG_STORAGE_TIMEOUT", "0", "from 1 to 3600"},
    {"GG_STORAGE_TIMEOUT", "10s", "from 1 to 3600"},
    {"GG_STORAGE_DEADLINE", "86401", "from 0 to 86400"},
    {"GG_STORAGE_DEADLINE", "1d", "from 0 to 86400"},
    {"GG_STORAGE_BACKOFF_MS", "-5", "from 1 to 60000"},
    {"GG_STORAGE_BACKOFF_MS", "0", "from 1 to 60000"},
    {"GG_CONNECT_TIMEOUT", "0", "from 1 to 600"},
    {"GG_CONNECT_TIMEOUT", "601", "from 1 to 600"},
    {"GG_CONNECT_TIMEOUT", "5s", "from 1 to 600"},
};

static char *bad_message(const char *uri, size_t i)
{
	return xasprintf("%s%s%s=%s: expected a whole number %s", uri ? uri : "", uri ? ": " : "",
	                 bad[i].var, bad[i].value, bad[i].range);
}

static void test_batch_config_refused(void)
{
	for (size_t i = 0; i < GG_ARRAY_LEN(bad); i++) {
		unset_all();
		setenv(bad[i].var, bad[i].value, 1);
		struct http_batch_config cfg = {0};
		char *want = bad_message(NULL, i);
		CHECK_ERR(http_batch_config_from_env(&cfg), want);
		CHECK(gg_last_code() == GG_EUSAGE);
		free(want);
	}
	unset_all();
}

/* Opening uri fails with each bad value, naming the store first. GG_STORAGE_PARALLEL
 * and GG_CONNECT_TIMEOUT (libcurl's) are not Redis's. */
static void open_refused(const char *uri)
{
	for (size_t i = 0; i < GG_ARRAY_LEN(bad); i++) {
		if (!strncmp(uri, "redis:", 6) && (!strcmp(bad[i].var, "GG_STORAGE_PARALLEL") ||
		                                   !strcmp(bad[i].var, "GG_CONNECT_TIMEOUT")))
			continue;
		unset_all();
		setenv(bad[i].var, bad[i].value, 1);
		struct storage *st = NULL;
		char *want = bad_message(uri, i);
		CHECK_ERR(storage_open(uri, &st), want);
		CHECK(gg_last_code() == GG_EUSAGE);
		CHECK(st == NULL);
		free(want);
	}
	unset_all();
}

/* Opening does not connect: a store that is not there still opens. */
static void open_taken(const char *uri, const char *var, const char *value)
{
	unset_all();
	setenv(var, value, 1);
	struct storage *st = NULL;
	int r = storage_open(uri, &st);
	CHECK(r == 0 && st != NULL);
	if (r < 0)
		fprintf(stderr, "storage_open(%s) with %s=%s: %s\n", uri, var, value,
		        gg_last_error());
	if (st)
		storage_close(st);
	unset_all();
}

static void test_redis_open(void)
{
	open_refused("redis://127.0.0.1:1");
	open_taken("redis://127.0.0.1:1", "GG_STORAGE_RETRIES", "100");
	open_taken("redis://127.0.0.1:1", "GG_STORAGE_TIMEOUT", "1");
}

static void test_s3_open(void)
{
	/* no credentials are looked for before the settings are read */
	setenv("GG_S3_ENDPOINT", "http://127.0.0.1:1", 1);
	setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "secret", 1);
	open_refused("s3://bucket/prefix");
	open_taken("s3://bucket/prefix", "GG_STORAGE_RETRIES", "3");
	open_taken("s3://bucket/prefix", "GG_STORAGE_PARALLEL", "1");
	open_taken("s3://bucket/prefix", "GG_CONNECT_TIMEOUT", "600");
}

/* A port that never completes a connection: a listener whose queue of one
 * is full (a connection made and never accepted) drops further SYNs, as a
 * host that is down does. */
static int blackhole(int *port, int *filler)
{
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t n = sizeof a;
	CHECK(l >= 0 && bind(l, (struct sockaddr *)&a, sizeof a) == 0 && listen(l, 0) == 0 &&
	      getsockname(l, (struct sockaddr *)&a, &n) == 0);
	*port = ntohs(a.sin_port);
	*filler = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(connect(*filler, (struct sockaddr *)&a, sizeof a) == 0);
	return l;
}

static void on_alarm(int sig)
{
	(void)sig;
	static const char msg[] = "FAIL: a connection to a host that never answers outlived "
	                          "GG_CONNECT_TIMEOUT=1 (libcurl's default of 300 s?)\n";
	(void)!write(2, msg, sizeof msg - 1);
	_exit(1);
}

/* Two calls, the second on the first one's handle again (kept, reset), each
 * give up on the connection after GG_CONNECT_TIMEOUT (not libcurl's 300 s,
 * and no other timeout could end them sooner) and say which timeout it was. */
static void test_s3_connect_timeout(void)
{
	int port, filler, l = blackhole(&port, &filler);
	char *endpoint = xasprintf("http://127.0.0.1:%d", port);
	unset_all();
	setenv("GG_S3_ENDPOINT", endpoint, 1);
	setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "secret", 1);
	setenv("GG_CONNECT_TIMEOUT", "1", 1);
	setenv("GG_STORAGE_PARALLEL", "1", 1);
	setenv("GG_STORAGE_TIMEOUT", "3600", 1);
	setenv("GG_STORAGE_DEADLINE", "0", 1);
	struct storage *st = NULL;
	CHECK(storage_open("s3://bucket/prefix", &st) == 0 && st);
	for (int call = 0; st && call < 2; call++) {
		struct gg_name empty;
		gg_name_of_buf("", 0, 'V', &empty);
		bool present = true;
		signal(SIGALRM, on_alarm);
		alarm(60); /* 1 s, with room for a loaded machine */
		CHECK(st->ops->has(st, &empty, 1, &present) < 0);
		alarm(0);
		const char *want = "no connection within 1 s (GG_CONNECT_TIMEOUT)";
		CHECK(strstr(gg_last_error(), want) != NULL);
		if (!strstr(gg_last_error(), want))
			fprintf(stderr, "has() #%d: %s\n", call + 1, gg_last_error());
	}
	if (st)
		storage_close(st);
	unset_all();
	unsetenv("GG_S3_ENDPOINT");
	free(endpoint);
	close(filler);
	close(l);
}

TEST_MAIN(test_batch_config_defaults, test_batch_config_taken, test_batch_config_refused,
          test_redis_open, test_s3_open, test_s3_connect_timeout)
