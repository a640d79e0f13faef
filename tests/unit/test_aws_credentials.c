/**
 * @file test_aws_credentials.c
 * Specification of backend/aws_credentials.c: which credentials gg uses, as
 * the AWS CLI would. The parser reads "[NAME]" and "[profile NAME]" sections
 * of "key = value" lines (comments, blank lines, CRLF, whitespace, '=' in a
 * value, the last of duplicate keys, empty values ignored, a section given
 * twice merged, a huge value kept whole); a profile that is missing or lacks
 * a key, or a section header without its ']', is an error that never quotes
 * a secret. The loader takes both environment keys (and an optional session
 * token) before any file, refuses half of the pair rather than quietly using
 * a profile, then reads AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials
 * for AWS_PROFILE or [default]; errors say where it looked and why it could
 * not read there. Files live in a mkdtemp directory removed at the end.
 */
#include "backend/aws_credentials.h"
#include "core/error.h"
#include "core/util.h"
#include "harness.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char *dir;

static const char *const vars[] = {
    "AWS_ACCESS_KEY_ID",           "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_SHARED_CREDENTIALS_FILE", "AWS_PROFILE",           "HOME",
};

/* Each test starts from an environment with none of the variables set. */
static void clear_env(void)
{
	for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
		unsetenv(vars[i]);
}

static char *put(const char *name, const char *text)
{
	char *p = xasprintf("%s/%s", dir, name);
	CHECK(write_file_atomic(p, text, strlen(text), 0600) == 0);
	return p;
}

static int parse(const char *text, const char *profile, struct aws_credentials *c)
{
	memset(c, 0, sizeof *c);
	return aws_credentials_parse(text, profile, c);
}

static void test_parse_sections(void)
{
	struct aws_credentials c;
	const char *text = "; a comment\n"
	                   "   # an indented comment\n"
	                   "\n"
	                   "[other]\n"
	                   "aws_access_key_id = AKOTHER\n"
	                   "aws_secret_access_key = skother\n"
	                   "  [default]  \n"
	                   "\taws_access_key_id\t=\tAKDEF\t\n"
	                   "# aws_secret_access_key = commented\n"
	                   "aws_secret_access_key=sk=def==\n"
	                   "region = eu-west-1\n"
	                   "not a key value line\n"
	                   "[profile dev]\r\n"
	                   "aws_access_key_id = AKDEV\r\n"
	                   "aws_secret_access_key = skdev\r\n"
	                   "aws_session_token = tok dev\r\n"
	                   "[profile]\n"
	                   "aws_access_key_id = AKP\n"
	                   "aws_secret_access_key = skp";
	CHECK(parse(text, "default", &c) == 0);
	CHECK_STR(c.access_key, "AKDEF");
	CHECK_STR(c.secret_key, "sk=def==");
	CHECK(c.session_token == NULL);
	aws_credentials_free(&c);
	CHECK(!c.access_key && !c.secret_key && !c.session_token);

	CHECK(parse(text, "other", &c) == 0);
	CHECK_STR(c.access_key, "AKOTHER");
	aws_credentials_free(&c);

	/* "[profile dev]" (the config file's spelling) is profile dev; the
	 * trailing CR is not part of any value; inner spaces are */
	CHECK(parse(text, "dev", &c) == 0);
	CHECK_STR(c.access_key, "AKDEV");
	CHECK_STR(c.secret_key, "skdev");
	CHECK_STR(c.session_token, "tok dev");
	aws_credentials_free(&c);

	/* "[profile]" alone is a profile named "profile", without a newline at
	 * the end of the file */
	CHECK(parse(text, "profile", &c) == 0);
	CHECK_STR(c.secret_key, "skp");
	aws_credentials_free(&c);

	/* names match exactly: no prefix, case or "profile " games */
	CHECK_ERR(parse(text, "Default", &c), "no profile [Default]");
	aws_credentials_free(&c);
	CHECK_ERR(parse(text, "def", &c), "no profile [def]");
	aws_credentials_free(&c);
	CHECK_ERR(parse(text, "profile dev", &c), "no profile [profile dev]");
	aws_credentials_free(&c);
	CHECK_ERR(parse("", "default", &c), "no profile [default]");
	aws_credentials_free(&c);
	/* keys outside any section belong to none */
	CHECK_ERR(parse("aws_access_key_id = A\naws_secret_access_key = S\n", "default", &c),
	          "no profile [default]");
	aws_credentials_free(&c);
}

static void test_parse_missing_keys(void)
{
	struct aws_credentials c;
	CHECK_ERR(parse("[default]\naws_access_key_id = AKONLY\n", "default", &c), "lacks");
	CHECK(!strstr(gg_last_error(), "AKONLY"));
	aws_credentials_free(&c);
	CHECK_ERR(parse("[default]\naws_secret_access_key = SECRETONLY\n", "default", &c),
	          "profile [default] lacks");
	CHECK(!strstr(gg_last_error(), "SECRETONLY"));
	aws_credentials_free(&c);
	/* an empty value is no value */
	CHECK_ERR(
	    parse("[default]\naws_access_key_id =\naws_secret_access_key = s\n", "default", &c),
	    "lacks");
	aws_credentials_free(&c);
	CHECK(parse("[default]\naws_access_key_id = a\naws_secret_access_key = s\n"
	            "aws_session_token =   \n",
	            "default", &c) == 0);
	CHECK(c.session_token == NULL);
	aws_credentials_free(&c);
	/* an empty section, and one whose keys are in the next */
	CHECK_ERR(parse("[default]\n[x]\naws_access_key_id = a\naws_secret_access_key = s\n",
	                "default", &c),
	          "lacks");
	aws_credentials_free(&c);
	/* keys are spelled in lower case; a ':' is not a delimiter */
	CHECK_ERR(
	    parse("[default]\naws_access_key_id: a\naws_secret_access_key: s\n", "default", &c),
	    "lacks");
	aws_credentials_free(&c);
}

static void test_parse_duplicates(void)
{
	struct aws_credentials c;
	/* the last of duplicate keys wins; an empty one does not erase it */
	CHECK(parse("[default]\naws_access_key_id = first\naws_secret_access_key = s1\n"
	            "aws_access_key_id = second\naws_session_token = t\naws_session_token =\n",
	            "default", &c) == 0);
	CHECK_STR(c.access_key, "second");
	CHECK_STR(c.secret_key, "s1");
	CHECK_STR(c.session_token, "t");
	aws_credentials_free(&c);
	/* a section given twice is merged; others in between do not leak in */
	CHECK(parse("[default]\naws_access_key_id = a\n[x]\naws_secret_access_key = wrong\n"
	            "[default]\naws_secret_access_key = right\n",
	            "default", &c) == 0);
	CHECK_STR(c.access_key, "a");
	CHECK_STR(c.secret_key, "right");
	aws_credentials_free(&c);
}

static void test_parse_malformed(void)
{
	struct aws_credentials c;
	/* a header without ']' does not leave the keys after it in the section
	 * before it: the AWS CLI refuses such a file, and so does gg */
	CHECK_ERR(parse("[default]\naws_access_key_id = a\n[evil\naws_secret_access_key = s\n",
	                "default", &c),
	          "line 3");
	CHECK(strstr(gg_last_error(), "']'") != NULL);
	aws_credentials_free(&c);
	CHECK_ERR(
	    parse("[default\naws_access_key_id = a\naws_secret_access_key = s\n", "default", &c),
	    "line 1");
	aws_credentials_free(&c);
	/* text after the ']' is ignored; a header in a comment is no header */
	CHECK(parse("[default] ; main\n#[x]\naws_access_key_id = a\naws_secret_access_key = s\n",
	            "default", &c) == 0);
	CHECK_STR(c.access_key, "a");
	aws_credentials_free(&c);
	/* a NUL byte ends the text */
	const char nul[] = "[default]\naws_access_key_id = a\0\naws_secret_access_key = s\n";
	CHECK_ERR(parse(nul, "default", &c), "lacks");
	aws_credentials_free(&c);
}

static void test_parse_huge(void)
{
	struct aws_credentials c;
	size_t n = 900 * 1024;
	char *big = malloc(n + 1);
	memset(big, 'k', n);
	big[n] = 0;
	char *text = xasprintf("[default]\naws_access_key_id = a\naws_secret_access_key = s\n"
	                       "aws_session_token = %s\n",
	                       big);
	CHECK(parse(text, "default", &c) == 0);
	CHECK(c.session_token && strlen(c.session_token) == n);
	aws_credentials_free(&c);
	/* a huge line of garbage before the section does not get in the way */
	free(text);
	text = xasprintf("%s\n[default]\naws_access_key_id = a\naws_secret_access_key = s\n", big);
	CHECK(parse(text, "default", &c) == 0);
	CHECK_STR(c.secret_key, "s");
	aws_credentials_free(&c);
	free(text);
	free(big);
}

static void test_load_environment(void)
{
	struct aws_credentials c;
	clear_env();
	char *file = put("env-creds", "[default]\naws_access_key_id = AKFILE\n"
	                              "aws_secret_access_key = skfile\n");
	setenv("AWS_SHARED_CREDENTIALS_FILE", file, 1);
	setenv("AWS_ACCESS_KEY_ID", "AKENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "skenv", 1);
	CHECK(aws_credentials_load(&c) == 0);
	CHECK_STR(c.access_key, "AKENV");
	CHECK_STR(c.secret_key, "skenv");
	CHECK(c.session_token == NULL);
	CHECK_STR(c.source, "environment");
	aws_credentials_free(&c);
	setenv("AWS_SESSION_TOKEN", "tokenv", 1);
	CHECK(aws_credentials_load(&c) == 0);
	CHECK_STR(c.session_token, "tokenv");
	aws_credentials_free(&c);
	setenv("AWS_SESSION_TOKEN", "", 1);
	CHECK(aws_credentials_load(&c) == 0);
	CHECK(c.session_token == NULL);
	aws_credentials_free(&c);

	/* half of the pair is refused, not completed from a profile (the AWS
	 * CLI: "Partial credentials found in env") */
	unsetenv("AWS_SECRET_ACCESS_KEY");
	CHECK_ERR(aws_credentials_load(&c), "AWS_SECRET_ACCESS_KEY");
	CHECK(!strstr(gg_last_error(), "AKENV"));
	aws_credentials_free(&c);
	setenv("AWS_SECRET_ACCESS_KEY", "", 1);
	CHECK_ERR(aws_credentials_load(&c), "AWS_SECRET_ACCESS_KEY");
	aws_credentials_free(&c);
	unsetenv("AWS_ACCESS_KEY_ID");
	setenv("AWS_SECRET_ACCESS_KEY", "skenv", 1);
	CHECK_ERR(aws_credentials_load(&c), "AWS_ACCESS_KEY_ID");
	CHECK(!strstr(gg_last_error(), "skenv"));
	aws_credentials_free(&c);

	/* both empty: as if unset, so the file; an env token does not join it */
	setenv("AWS_ACCESS_KEY_ID", "", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "", 1);
	setenv("AWS_SESSION_TOKEN", "tokenv", 1);
	CHECK(aws_credentials_load(&c) == 0);
	CHECK_STR(c.access_key, "AKFILE");
	CHECK(c.session_token == NULL);
	CHECK_STR(c.source, file);
	aws_credentials_free(&c);
	free(file);
	clear_env();
}

static void test_load_file(void)
{
	struct aws_credentials c;
	clear_env();
	char *file =
	    put("creds", "[default]\naws_access_key_id = AKD\naws_secret_access_key = skd\n"
	                 "[ci]\naws_access_key_id = AKCI\naws_secret_access_key = skci\n"
	                 "aws_session_token = tokci\n"
	                 "[half]\naws_access_key_id = AKHALF\n");
	setenv("AWS_SHARED_CREDENTIALS_FILE", file, 1);
	CHECK(aws_credentials_load(&c) == 0);
	CHECK_STR(c.access_key, "AKD");
	CHECK_STR(c.source, file);
	aws_credentials_free(&c);
	CHECK(c.source == NULL && c.source_owned == NULL);
	setenv("AWS_PROFILE", "", 1);
	CHECK(aws_credentials_load(&c) == 0);
	CHECK_STR(c.access_key, "AKD");
	aws_credentials_free(&c);
	setenv("AWS_PROFILE", "ci", 1);
	CHECK(aws_credentials_load(&c) == 0);
	CHECK_STR(c.access_key, "AKCI");
	CHECK_STR(c.session_token, "tokci");
	aws_credentials_free(&c);
	setenv("AWS_PROFILE", "half", 1);
	CHECK_ERR(aws_credentials_load(&c), "profile [half] lacks");
	CHECK(strstr(gg_last_error(), file) != NULL);
	CHECK(!strstr(gg_last_error(), "AKHALF"));
	CHECK(!c.access_key && !c.source);
	setenv("AWS_PROFILE", "nope", 1);
	CHECK_ERR(aws_credentials_load(&c), "no profile [nope]");
	unsetenv("AWS_PROFILE");

	/* ~/.aws/credentials when no file is named (an empty name is none) */
	char *home = xasprintf("%s/home", dir), *aws = xasprintf("%s/home/.aws", dir);
	CHECK(mkdir_p(aws, 0700) == 0);
	free(put("home/.aws/credentials",
	         "[default]\naws_access_key_id = AKHOME\naws_secret_access_key = skhome\n"));
	setenv("HOME", home, 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", "", 1);
	CHECK(aws_credentials_load(&c) == 0);
	CHECK_STR(c.access_key, "AKHOME");
	CHECK(strstr(c.source, "/home/.aws/credentials") != NULL);
	aws_credentials_free(&c);
	/* a named file wins over HOME's */
	setenv("AWS_SHARED_CREDENTIALS_FILE", file, 1);
	CHECK(aws_credentials_load(&c) == 0);
	CHECK_STR(c.access_key, "AKD");
	aws_credentials_free(&c);
	free(home);
	free(aws);
	free(file);
	clear_env();
}

static void test_load_unreadable(void)
{
	struct aws_credentials c;
	clear_env();
	CHECK_ERR(aws_credentials_load(&c), "HOME is not set");
	CHECK(!c.access_key && !c.source);

	/* the message names the file and the cause */
	char *missing = xasprintf("%s/no-such-file", dir);
	setenv("AWS_SHARED_CREDENTIALS_FILE", missing, 1);
	CHECK_ERR(aws_credentials_load(&c), missing);
	CHECK(strstr(gg_last_error(), "No such file") != NULL);
	CHECK(strstr(gg_last_error(), "AWS_ACCESS_KEY_ID") != NULL);
	free(missing);
	setenv("HOME", dir, 1);
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");
	CHECK_ERR(aws_credentials_load(&c), "/.aws/credentials");

	/* a directory, and a file over 1 MiB, are refused with their cause */
	setenv("AWS_SHARED_CREDENTIALS_FILE", dir, 1);
	CHECK_ERR(aws_credentials_load(&c), dir);
	CHECK(!c.access_key);
	size_t n = (1u << 20) + 16;
	char *big = malloc(n + 1);
	memset(big, '#', n);
	memcpy(big, "[default]\naws_access_key_id = a\naws_secret_access_key = s\n#", 58);
	big[n] = 0;
	char *file = put("big", big);
	setenv("AWS_SHARED_CREDENTIALS_FILE", file, 1);
	CHECK_ERR(aws_credentials_load(&c), "larger than 1048576 bytes");
	CHECK(strstr(gg_last_error(), file) != NULL);
	CHECK(!c.access_key && !c.source);
	free(file);
	free(big);
	/* an empty file has no profile */
	file = put("empty", "");
	setenv("AWS_SHARED_CREDENTIALS_FILE", file, 1);
	CHECK_ERR(aws_credentials_load(&c), "no profile [default]");
	free(file);
	clear_env();
}

static void setup(void)
{
	char tmpl[] = "/tmp/gg-test-aws-XXXXXX";
	CHECK(mkdtemp(tmpl) != NULL);
	dir = xstrdup(tmpl);
}

static void teardown(void)
{
	CHECK(remove_tree(dir) == 0);
	free(dir);
}

TEST_MAIN(setup, test_parse_sections, test_parse_missing_keys, test_parse_duplicates,
          test_parse_malformed, test_parse_huge, test_load_environment, test_load_file,
          test_load_unreadable, teardown)
