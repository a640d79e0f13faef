/**
 * @file engine_lambda.c
 * The `lambda` engine: each thunk is one synchronous AWS Lambda Invoke
 * (POST /2015-03-31/functions/FUNCTION/invocations) of a function whose
 * bootstrap is `gg worker`, signed with SigV4 by libcurl. It only configures
 * the libcurl transport (engine_http.c) and the pipeline (engine_remote.c):
 * the endpoint and region, credentials, Lambda's payload limit (6 MB: big
 * thunks travel through storage, inline outputs stay under 1 MiB), an input
 * size cap, retries of throttling (429) and 5xx, and the price per second
 * for the progress line's cost estimate. It does not create or update
 * functions (see man/gg-worker.1 for deploying one).
 *
 * Environment: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN or
 * the shared credentials file; AWS_REGION or AWS_DEFAULT_REGION when the
 * spec has no @REGION; GG_LAMBDA_ENDPOINT (e.g. http://127.0.0.1:9001) to
 * talk to something other than lambda.REGION.amazonaws.com;
 * GG_LAMBDA_MAX_INPUT (default 200M); GG_LAMBDA_MEMORY_MB (the function's
 * memory, for the cost; default 2048); GG_LAMBDA_ATTEMPTS (default 8);
 * GG_REMOTE_TIMEOUT (seconds, default 900: Lambda's maximum).
 */
#include "backend/aws_credentials.h"
#include "backend/engine/engine_remote.h"
#include "backend/remote/wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* USD per GB-second of x86 Lambda (us-east-1, first tier). */
#define LAMBDA_PRICE_GB_SECOND 0.0000166667
/* The synchronous invocation payload limit is 6 MB each way. */
#define LAMBDA_PAYLOAD_MAX (6u * 1024 * 1024)

static bool valid_function(const char *f)
{
	if (!*f || strlen(f) > 170)
		return false;
	for (const char *p = f; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == ':' || *p == '$'))
			return false;
	return true;
}

static bool valid_region(const char *r)
{
	if (!*r || strlen(r) > 32)
		return false;
	for (const char *p = r; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
			return false;
	return true;
}

/* The function name in a URL path: ':' (ARNs, qualifiers) and '$' escaped. */
static char *escape_function(const char *f)
{
	struct buf b = BUF_INIT;
	for (const char *p = f; *p; p++)
		if (*p == ':' || *p == '$')
			buf_printf(&b, "%%%02X", (unsigned char)*p);
		else
			buf_addc(&b, *p);
	return buf_steal(&b);
}

int engine_lambda_create(const char *args, int limit, const struct engine_config *cfg,
                         struct engine **out)
{
	if (!args || !*args)
		return gg_error("engine 'lambda' needs a function: lambda=FUNCTION[@REGION]");
	char *fn = xstrdup(args), *region = NULL;
	char *at = strrchr(fn, '@');
	if (at) {
		*at = 0;
		region = xstrdup(at + 1);
	} else {
		const char *r = getenv("AWS_REGION");
		if (!r || !*r)
			r = getenv("AWS_DEFAULT_REGION");
		region = xstrdup(r && *r ? r : "us-east-1");
	}
	int rc = 0;
	if (!valid_function(fn))
		rc = gg_error("engine lambda: '%s' is not a function name or ARN", fn);
	else if (!valid_region(region))
		rc = gg_error("engine lambda: '%s' is not a region", region);
	uint64_t max_input = 0, memory_mb = 0, attempts = 0, timeout_ms = 0;
	if (rc == 0)
		rc = env_size("GG_LAMBDA_MAX_INPUT", 200ull << 20, 0, REMOTE_MAX_INPUT_MAX,
		              &max_input);
	if (rc == 0)
		rc = env_u64("GG_LAMBDA_MEMORY_MB", 2048, 128, 10240, &memory_mb);
	if (rc == 0)
		rc = env_u64("GG_LAMBDA_ATTEMPTS", 8, 0, REMOTE_ATTEMPTS_MAX, &attempts);
	if (rc == 0)
		rc = remote_env_timeout_ms(&timeout_ms);
	struct aws_credentials cred = {0};
	if (rc == 0 && aws_credentials_load(&cred) < 0)
		rc = gg_error("engine lambda: %s", gg_last_error());
	if (rc < 0) {
		free(fn);
		free(region);
		return -1;
	}
	const char *ep = getenv("GG_LAMBDA_ENDPOINT");
	char *endpoint =
	    ep && *ep ? xstrdup(ep) : xasprintf("https://lambda.%s.amazonaws.com", region);
	size_t el = strlen(endpoint);
	while (el && endpoint[el - 1] == '/')
		endpoint[--el] = 0;
	char *efn = escape_function(fn);
	char *url = xasprintf("%s/2015-03-31/functions/%s/invocations", endpoint, efn);
	char *sig = xasprintf("aws:amz:%s:lambda", region);
	struct http_transport_config hc = {
	    .urls = &url,
	    .nurls = 1,
	    .sigv4 = sig,
	    .access_key = cred.access_key,
	    .secret_key = cred.secret_key,
	    .session_token = cred.session_token,
	    .lambda = true,
	    .max_attempts = attempts ? (unsigned)attempts : 1,
	    .backoff_ms = 200,
	    .what = "lambda",
	};
	struct remote_transport *t;
	rc = http_transport_create(&hc, &t);
	aws_credentials_free(&cred);
	free(sig);
	free(url);
	free(efn);
	free(endpoint);
	free(fn);
	free(region);
	if (rc < 0)
		return -1;
	struct remote_config rcfg = {
	    .label = "lambda",
	    .max_input_bytes = max_input,
	    .limit_hint = "set GG_LAMBDA_MAX_INPUT to change it",
	    /* base64 makes 4 MiB about 5.3 MiB: the request stays under 6 MB */
	    .max_inline_thunk = LAMBDA_PAYLOAD_MAX / 3 * 2,
	    .inline_limit = WIRE_INLINE_TOTAL,
	    .default_timeout_ms = timeout_ms,
	    .cost_per_second = LAMBDA_PRICE_GB_SECOND * (double)memory_mb / 1024.0,
	};
	return remote_engine_create(t, &rcfg, limit > 0 ? limit : 1000, cfg, out);
}
