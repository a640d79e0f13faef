/**
 * @file test_worker_auth.c
 * Specification of the worker's bearer tokens (backend/remote/worker_auth): which
 * Authorization values are accepted, with several tokens at once; token
 * files (comments, blank lines, CRLF, modes, bad tokens named by line) and
 * the GG_WORKER_TOKENS list; the client's token from the environment.
 */
#include "backend/remote/worker_auth.h"
#include "core/util.h"
#include "harness.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define A "token-aaaaaaaaaaaaaaaa"
#define B "token-bbbbbbbbbbbbbbbb"

static bool ok(const struct strvec *t, const char *v)
{
	return worker_token_ok(t, v, v ? strlen(v) : 0);
}

static void test_compare(void)
{
	struct strvec t = {0};
	strvec_push(&t, A);
	strvec_push(&t, B);
	CHECK(ok(&t, "Bearer " A));
	CHECK(ok(&t, "Bearer " B));
	CHECK(ok(&t, "bearer  " A));
	CHECK(!ok(&t, NULL));
	CHECK(!ok(&t, ""));
	CHECK(!ok(&t, "Bearer"));
	CHECK(!ok(&t, "Bearer "));
	CHECK(!ok(&t, A));
	CHECK(!ok(&t, "Basic " A));
	CHECK(!ok(&t, "Bearer token-aaaaaaaaaaaaaaa"));   /* one short */
	CHECK(!ok(&t, "Bearer token-aaaaaaaaaaaaaaaaa")); /* one long */
	CHECK(!ok(&t, "Bearer token-aaaaaaaaaaaaaaab"));  /* last differs */
	CHECK(!ok(&t, "Bearer " A " " B));
	/* explicit length: the bytes after it do not count */
	CHECK(worker_token_ok(&t, "Bearer " A "xyz", strlen("Bearer " A)));
	CHECK(!worker_token_ok(&t, "Bearer " A, strlen("Bearer " A) - 1));
	struct strvec none = {0};
	CHECK(!ok(&none, "Bearer " A));
	strvec_free(&t);
}

static void test_load(void)
{
	char dir[] = "/tmp/gg-test-auth.XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char *f = xasprintf("%s/tokens", dir);
	const char text[] = "# comment\r\n\n  " A "  \r\n" B "\n";
	CHECK(write_file_atomic(f, text, sizeof text - 1, 0600) == 0);
	struct strvec t = {0};
	CHECK(worker_tokens_load(f, NULL, &t) == 0);
	CHECK(t.n == 2 && !strcmp(t.v[0], A) && !strcmp(t.v[1], B));
	CHECK(worker_tokens_load(NULL, " " A ",," B " ", &t) == 0);
	CHECK(t.n == 4 && !strcmp(t.v[3], B));
	strvec_free(&t);
	chmod(f, 0640);
	CHECK_ERR(worker_tokens_load(f, NULL, &t), "only its owner can read");
	strvec_free(&t);
	const char bad[] = A "\nshort\n";
	CHECK(write_file_atomic(f, bad, sizeof bad - 1, 0600) == 0);
	CHECK_ERR(worker_tokens_load(f, NULL, &t), "tokens line 2: a token must be 16 to 256");
	strvec_free(&t);
	const char badc[] = "token-with-a-quote\"-in-it\n";
	CHECK(write_file_atomic(f, badc, sizeof badc - 1, 0600) == 0);
	CHECK_ERR(worker_tokens_load(f, NULL, &t), "line 1: a token may hold only");
	strvec_free(&t);
	CHECK(write_file_atomic(f, "# nothing\n", 10, 0600) == 0);
	CHECK_ERR(worker_tokens_load(f, NULL, &t), "no token in it");
	strvec_free(&t);
	CHECK_ERR(worker_tokens_load(NULL, " , ", &t), "holds no token");
	CHECK_ERR(worker_tokens_load(NULL, A ",short", &t), "GG_WORKER_TOKENS (token 2)");
	strvec_free(&t);

	char *tok;
	unsetenv("GG_WORKER_TOKEN");
	unsetenv("GG_WORKER_TOKEN_FILE");
	CHECK(worker_token_for_client(&tok) == 0 && tok == NULL);
	CHECK(write_file_atomic(f, text, sizeof text - 1, 0600) == 0);
	setenv("GG_WORKER_TOKEN_FILE", f, 1);
	CHECK(worker_token_for_client(&tok) == 0 && tok && !strcmp(tok, A));
	free(tok);
	setenv("GG_WORKER_TOKEN", B, 1);
	CHECK(worker_token_for_client(&tok) == 0 && tok && !strcmp(tok, B));
	free(tok);
	setenv("GG_WORKER_TOKEN", "short", 1);
	CHECK_ERR(worker_token_for_client(&tok), "GG_WORKER_TOKEN: a token must be");
	unsetenv("GG_WORKER_TOKEN");
	unsetenv("GG_WORKER_TOKEN_FILE");
	unlink(f);
	rmdir(dir);
	free(f);
}

TEST_MAIN(test_compare, test_load)
