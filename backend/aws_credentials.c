/**
 * @file aws_credentials.c
 * Finds AWS credentials in the environment or the shared credentials file
 * (INI: "[profile]" sections of "key = value" lines, '#' and ';' comments).
 * It does not run credential_process, SSO or instance-metadata lookups; for
 * those, export the variables (e.g. `eval $(aws configure export-credentials
 * --format env)`). Secrets are wiped on free and never put in messages.
 */
#include "backend/aws_credentials.h"

#include "core/util.h"

#include <stdlib.h>
#include <string.h>

static void wipe_free(char *s)
{
	if (!s)
		return;
	volatile char *p = s;
	while (*p)
		*p++ = 0;
	free(s);
}

void aws_credentials_free(struct aws_credentials *c)
{
	wipe_free(c->access_key);
	wipe_free(c->secret_key);
	wipe_free(c->session_token);
	free(c->source_owned);
	memset(c, 0, sizeof *c);
}

static const char *trim(char *s, char *end)
{
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		end--;
	*end = 0;
	return s;
}

int aws_credentials_parse(const char *text, const char *profile, struct aws_credentials *c)
{
	char *copy = xstrdup(text);
	bool in_section = false, found = false;
	char *line = copy;
	for (int lineno = 1; line && *line; lineno++) {
		char *nl = strchr(line, '\n');
		char *end = nl ? nl : line + strlen(line);
		char *next = nl ? nl + 1 : NULL;
		const char *l = trim(line, end);
		if (*l == '[') {
			const char *close = strchr(l, ']');
			/* Not a header: skipping it would leave the keys after it in
			 * the section before it. The AWS CLI refuses such a file. */
			if (!close) {
				wipe_free(copy);
				return gg_fail(GG_EINVALID, "line %d: a section header without ']'",
				               lineno);
			}
			size_t n = (size_t)(close - l - 1);
			const char *name = l + 1;
			/* ~/.aws/config spells it "[profile NAME]"; accept both */
			if (n > 8 && !strncmp(name, "profile ", 8)) {
				name += 8;
				n -= 8;
			}
			in_section = strlen(profile) == n && !strncmp(name, profile, n);
			found |= in_section;
		} else if (in_section && *l && *l != '#' && *l != ';') {
			char *eq = strchr(l, '=');
			if (eq) {
				const char *v = trim(eq + 1, eq + 1 + strlen(eq + 1));
				const char *k = trim((char *)l, eq);
				char **slot = !strcmp(k, "aws_access_key_id")       ? &c->access_key
				              : !strcmp(k, "aws_secret_access_key") ? &c->secret_key
				              : !strcmp(k, "aws_session_token") ? &c->session_token
				                                                : NULL;
				if (slot && *v) {
					wipe_free(*slot);
					*slot = xstrdup(v);
				}
			}
		}
		line = next;
	}
	wipe_free(copy);
	if (!found)
		return gg_error("no profile [%s]", profile);
	if (!c->access_key || !c->secret_key)
		return gg_error("profile [%s] lacks aws_access_key_id or aws_secret_access_key",
		                profile);
	return 0;
}

int aws_credentials_load(struct aws_credentials *c)
{
	memset(c, 0, sizeof *c);
	const char *ak = getenv("AWS_ACCESS_KEY_ID"), *sk = getenv("AWS_SECRET_ACCESS_KEY");
	bool have_ak = ak && *ak, have_sk = sk && *sk;
	/* Half of the pair is a mistake, not a cue to use a profile: that would
	 * be another identity (the AWS CLI: "Partial credentials found in env"). */
	if (have_ak != have_sk)
		return gg_fail(GG_EUSAGE, "no AWS credentials: %s is set but %s is not",
		               have_ak ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
		               have_ak ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
	if (have_ak && have_sk) {
		const char *tok = getenv("AWS_SESSION_TOKEN");
		c->access_key = xstrdup(ak);
		c->secret_key = xstrdup(sk);
		c->session_token = tok && *tok ? xstrdup(tok) : NULL;
		c->source = "environment";
		return 0;
	}
	const char *file = getenv("AWS_SHARED_CREDENTIALS_FILE");
	const char *home = getenv("HOME");
	char *path = file && *file   ? xstrdup(file)
	             : home && *home ? xasprintf("%s/.aws/credentials", home)
	                             : NULL;
	const char *profile = getenv("AWS_PROFILE");
	if (!profile || !*profile)
		profile = "default";
	if (!path)
		return gg_error(
		    "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
		    "(HOME is not set, so there is no ~/.aws/credentials)");
	struct buf text = BUF_INIT;
	if (read_file(path, &text, 1 << 20) < 0) {
		/* read_file's message names the cause (no such file, too large) */
		gg_error("no AWS credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are not set "
		         "and %s",
		         gg_last_error());
		free(path);
		/* a file cut at the size limit still holds secrets */
		if (text.data)
			memset(text.data, 0, text.len);
		buf_free(&text);
		return -1;
	}
	int r = aws_credentials_parse(text.data, profile, c);
	if (text.data)
		memset(text.data, 0, text.len);
	buf_free(&text);
	if (r < 0) {
		gg_error("no AWS credentials in %s: %s", path, gg_last_error());
		free(path);
		aws_credentials_free(c);
		return -1;
	}
	c->source_owned = path;
	c->source = path;
	return 0;
}
