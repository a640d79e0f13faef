/**
 * @file test_engine_lambda.c
 * Specification of the lambda engine (backend/engine/engine_lambda.c, with
 * the libcurl transport's Lambda replies): what engine_create("lambda=...")
 * refuses (no function, a function name or region with a bad character, an
 * empty or overlong one, no credentials, a bad number in the environment)
 * and, against a fake Lambda endpoint in a thread on 127.0.0.1
 * (GG_LAMBDA_ENDPOINT), the request one job makes (the function's ARN and
 * qualifier escaped in the path, SigV4 for the region and "lambda", the
 * session token, never the secret) and what each reply means: a function
 * error (X-Amz-Function-Error) with its message, a timed-out function, a
 * body that is no wire response, 403 (denied, not retried), 404 (no such
 * function, not retried), 429 retried GG_LAMBDA_ATTEMPTS times. Files live
 * in a mkdtemp directory removed at the end.
 */
#include "engine_fixture.h"

/* ---- a fake Lambda endpoint: one canned reply for every request ---- */

static struct {
	pthread_mutex_t mu;
	const char *reply; /* the whole HTTP response */
	int requests;
	char last[16384]; /* the last request's head */
} srv = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void answer(int c, struct buf *req, size_t head)
{
	pthread_mutex_lock(&srv.mu);
	srv.requests++;
	size_t k = head < sizeof srv.last - 1 ? head : sizeof srv.last - 1;
	memcpy(srv.last, req->data, k);
	srv.last[k] = 0;
	const char *reply = srv.reply;
	pthread_mutex_unlock(&srv.mu);
	buf_free(req);
	CHECK(write_all(c, reply, strlen(reply)) == 0);
}

/* Every request is answered with status line and headers head, then body. */
static void server_reply(const char *head, const char *body)
{
	static char *reply;
	pthread_mutex_lock(&srv.mu);
	free(reply);
	reply = xasprintf("%sContent-Length: %zu\r\nConnection: close\r\n\r\n%s", head,
	                  strlen(body), body);
	srv.reply = reply;
	srv.requests = 0;
	srv.last[0] = 0;
	pthread_mutex_unlock(&srv.mu);
}

/* ---- one job through the engine ---- */

/* Runs one job; its rc, *error (malloc'd) and *code. */
static int run_job(const char *spec, char **error, enum gg_code *code)
{
	struct engine *e = NULL;
	*error = NULL;
	*code = 0;
	if (engine_create(spec, 1, &cfg, &e) < 0) {
		*error = xstrdup(gg_last_error());
		return -2;
	}
	struct engine_job job = {.name = tname, .thunk = &thunk};
	ef_run(e, &job);
	engine_destroy(e);
	*error = job.error;
	*code = job.code;
	if (job.rc == 0)
		exec_result_free(&job.result);
	return job.rc;
}

static void test_config(void)
{
	struct engine *e = NULL;
	CHECK_ERR(engine_create("lambda", 1, &cfg, &e), "needs a function");
	CHECK_ERR(engine_create("lambda=", 1, &cfg, &e), "needs a function");
	CHECK_ERR(engine_create("lambda=my fn", 1, &cfg, &e), "'my fn' is not a function name");
	CHECK_ERR(engine_create("lambda=fn/../x", 1, &cfg, &e), "is not a function name");
	CHECK_ERR(engine_create("lambda=fn?x=1", 1, &cfg, &e), "is not a function name");
	CHECK_ERR(engine_create("lambda=fn\r\nX: y", 1, &cfg, &e), "is not a function name");
	CHECK_ERR(engine_create("lambda=@us-east-1", 1, &cfg, &e), "'' is not a function name");
	char *longfn = xasprintf("lambda=%0171d", 0);
	CHECK_ERR(engine_create(longfn, 1, &cfg, &e), "is not a function name");
	free(longfn);
	CHECK_ERR(engine_create("lambda=fn@", 1, &cfg, &e), "'' is not a region");
	CHECK_ERR(engine_create("lambda=fn@US-EAST-1", 1, &cfg, &e), "'US-EAST-1' is not a region");
	CHECK_ERR(engine_create("lambda=fn@us-east-1.evil.com", 1, &cfg, &e), "is not a region");
	CHECK_ERR(engine_create("lambda=fn@us-east-1/x", 1, &cfg, &e), "is not a region");
	/* the region from the environment is checked the same way */
	setenv("AWS_REGION", "eu-west-1:80", 1);
	CHECK_ERR(engine_create("lambda=fn", 1, &cfg, &e), "'eu-west-1:80' is not a region");
	unsetenv("AWS_REGION");
	/* numbers from the environment */
	setenv("GG_LAMBDA_MEMORY_MB", "lots", 1);
	CHECK(engine_create("lambda=fn", 1, &cfg, &e) < 0);
	CHECK(strstr(gg_last_error(), "GG_LAMBDA_MEMORY_MB") != NULL);
	setenv("GG_LAMBDA_MEMORY_MB", "10241", 1);
	CHECK_ERR(engine_create("lambda=fn", 1, &cfg, &e),
	          "GG_LAMBDA_MEMORY_MB=10241: expected a whole number from 128 to 10240");
	setenv("GG_LAMBDA_MEMORY_MB", "10240", 1);
	CHECK(engine_create("lambda=fn", 1, &cfg, &e) == 0);
	if (e)
		engine_destroy(e);
	unsetenv("GG_LAMBDA_MEMORY_MB");
	setenv("GG_LAMBDA_ATTEMPTS", "1001", 1);
	CHECK_ERR(engine_create("lambda=fn", 1, &cfg, &e),
	          "GG_LAMBDA_ATTEMPTS=1001: expected a whole number from 0 to 1000");
	unsetenv("GG_LAMBDA_ATTEMPTS");
	setenv("GG_LAMBDA_MAX_INPUT", "12Q", 1);
	CHECK_ERR(engine_create("lambda=fn", 1, &cfg, &e),
	          "GG_LAMBDA_MAX_INPUT=12Q: expected a size from 0 to 1T");
	unsetenv("GG_LAMBDA_MAX_INPUT");
	/* no credentials: said so, before any request */
	unsetenv("AWS_ACCESS_KEY_ID");
	char *nofile = xasprintf("%s/no-credentials", dir);
	setenv("AWS_SHARED_CREDENTIALS_FILE", nofile, 1);
	free(nofile);
	server_reply("HTTP/1.1 500 X\r\n", "");
	CHECK_ERR(engine_create("lambda=fn", 1, &cfg, &e), "engine lambda: no AWS credentials");
	CHECK(srv.requests == 0);
	setenv("AWS_ACCESS_KEY_ID", "AKIDTEST", 1);
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");
}

static void test_request(void)
{
	server_reply("HTTP/1.1 200 OK\r\n", "not wire!");
	char *err;
	enum gg_code code;
	CHECK(run_job("lambda=arn:aws:lambda:eu-west-1:123456789012:function:gg:$LATEST@eu-west-1",
	              &err, &code) == -1);
	/* a body that is no wire response */
	CHECK(err && strstr(err, "lambda engine: a bad reply from"));
	free(err);
	CHECK(srv.requests == 1);
	CHECK(!strncmp(
	    srv.last,
	    "POST /2015-03-31/functions/"
	    "arn%3Aaws%3Alambda%3Aeu-west-1%3A123456789012%3Afunction%3Agg%3A%24LATEST"
	    "/invocations HTTP/1.1\r\n",
	    strlen("POST /2015-03-31/functions/arn%3Aaws%3Alambda%3Aeu-west-1%"
	           "3A123456789012%3Afunction%3Agg%3A%24LATEST/invocations HTTP/1.1\r\n")));
	CHECK(strstr(srv.last, "AWS4-HMAC-SHA256 Credential=AKIDTEST/") != NULL);
	CHECK(strstr(srv.last, "/eu-west-1/lambda/aws4_request") != NULL);
	CHECK(strstr(srv.last, "X-Amz-Security-Token: session-tok") != NULL);
	CHECK(strstr(srv.last, "test-secret-value") == NULL);

	/* no @REGION: AWS_REGION, else AWS_DEFAULT_REGION, else us-east-1 */
	setenv("AWS_DEFAULT_REGION", "ap-south-1", 1);
	CHECK(run_job("lambda=plainfn", &err, &code) == -1);
	free(err);
	CHECK(strstr(srv.last, "POST /2015-03-31/functions/plainfn/invocations ") == srv.last);
	CHECK(strstr(srv.last, "/ap-south-1/lambda/aws4_request") != NULL);
	setenv("AWS_REGION", "ca-central-1", 1);
	CHECK(run_job("lambda=plainfn", &err, &code) == -1);
	free(err);
	CHECK(strstr(srv.last, "/ca-central-1/lambda/aws4_request") != NULL);
	unsetenv("AWS_REGION");
	unsetenv("AWS_DEFAULT_REGION");
	CHECK(run_job("lambda=plainfn", &err, &code) == -1);
	free(err);
	CHECK(strstr(srv.last, "/us-east-1/lambda/aws4_request") != NULL);
}

static void test_replies(void)
{
	char *err;
	enum gg_code code;
	/* the function failed: its error type and message */
	server_reply("HTTP/1.1 200 OK\r\nX-Amz-Function-Error: Unhandled\r\n",
	             "{\"errorMessage\":\"boom\",\"errorType\":\"Runtime\"}");
	CHECK(run_job("lambda=fn", &err, &code) == -1);
	CHECK(err && strstr(err, "the function failed (Unhandled): {\"errorMessage\":\"boom\""));
	free(err);
	CHECK(srv.requests == 1); /* not retried here */

	/* timed out there: a failure the scheduler may send elsewhere */
	server_reply("HTTP/1.1 200 OK\r\nx-amz-function-error: Unhandled\r\n",
	             "{\"errorMessage\":\"Task timed out after 900.00 seconds\"}");
	CHECK(run_job("lambda=fn", &err, &code) == -1);
	CHECK(err && strstr(err, "the function failed (Unhandled)") &&
	      strstr(err, "Task timed out after 900.00 seconds"));
	CHECK(code == 0);
	free(err);

	/* refused: denied, not retried, with the hint; the body quoted */
	setenv("GG_LAMBDA_ATTEMPTS", "3", 1);
	server_reply("HTTP/1.1 403 Forbidden\r\n", "{\"message\":\"bad sig\"}\x01\x02\r\n\r\n");
	CHECK(run_job("lambda=fn", &err, &code) == -1);
	CHECK(err && strstr(err, "HTTP 403: {\"message\":\"bad sig\"}") &&
	      strstr(err, "check the AWS credentials"));
	CHECK(code == GG_EDENIED);
	CHECK(srv.requests == 1);
	free(err);

	server_reply("HTTP/1.1 404 Not Found\r\n", "");
	CHECK(run_job("lambda=fn", &err, &code) == -1);
	CHECK(err && strstr(err, "HTTP 404") && strstr(err, "no such function in that region"));
	CHECK(code == GG_ENOTFOUND);
	CHECK(srv.requests == 1);
	free(err);

	/* throttled: tried GG_LAMBDA_ATTEMPTS times */
	server_reply("HTTP/1.1 429 Too Many Requests\r\n", "");
	CHECK(run_job("lambda=fn", &err, &code) == -1);
	CHECK(err && strstr(err, "HTTP 429") && strstr(err, "(after 3 attempts)"));
	CHECK(srv.requests == 3);
	free(err);
	unsetenv("GG_LAMBDA_ATTEMPTS");
}

static void setup(void)
{
	ef_setup("gg-test-lambda");
	ep_start(answer);
	char *ep_url = xasprintf("http://127.0.0.1:%d/", ep.port);
	setenv("GG_LAMBDA_ENDPOINT", ep_url, 1);
	free(ep_url);
	setenv("AWS_ACCESS_KEY_ID", "AKIDTEST", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "test-secret-value", 1);
	setenv("AWS_SESSION_TOKEN", "session-tok", 1);
	unsetenv("AWS_REGION");
	unsetenv("AWS_DEFAULT_REGION");
	unsetenv("AWS_PROFILE");
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");
	unsetenv("GG_LAMBDA_ATTEMPTS");
	unsetenv("GG_LAMBDA_MAX_INPUT");
	unsetenv("GG_LAMBDA_MEMORY_MB");
	unsetenv("GG_REMOTE_TIMEOUT");
	unsetenv("http_proxy");
	unsetenv("HTTP_PROXY");
	unsetenv("all_proxy");
	unsetenv("ALL_PROXY");
}

static void teardown(void)
{
	ep_stop();
	ef_teardown();
}

TEST_MAIN(setup, test_config, test_request, test_replies, teardown)
