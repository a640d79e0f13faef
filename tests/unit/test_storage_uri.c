/**
 * @file test_storage_uri.c
 * Specification of storage_uri_public (backend/storage/storage.c): the user info of
 * a storage URI (a password) is removed, up to the last '@' before the path;
 * everything else is kept as it is.
 */
#include "backend/storage/storage.h"
#include "harness.h"

#include <stdlib.h>

static void same(const char *in, const char *want)
{
	char *got = storage_uri_public(in);
	CHECK_STR(got, want);
	free(got);
}

static void test_public(void)
{
	same("redis://:pw@127.0.0.1:6379", "redis://127.0.0.1:6379");
	same("redis://user:pw@host:1/2", "redis://host:1/2");
	same("redis://:p@ss@host", "redis://host");
	same("redis://host:6379/0", "redis://host:6379/0");
	same("redis://[::1]:6379", "redis://[::1]:6379");
	same("s3://bucket/prefix@v1", "s3://bucket/prefix@v1");
	same("file:///tmp/a@b", "file:///tmp/a@b");
	same("file:///", "file:///");
	same("not a uri", "not a uri");
	same("x://@", "x://");
}

TEST_MAIN(test_public)
