/**
 * @file aws_credentials.h
 * AWS credentials as the AWS CLI finds them: the environment
 * (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), else the
 * shared credentials file (AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials),
 * section [AWS_PROFILE] or [default]. Secrets never enter error messages.
 */
#ifndef GG_AWS_CREDENTIALS_H
#define GG_AWS_CREDENTIALS_H

struct aws_credentials {
	char *access_key;
	char *secret_key;
	char *session_token; /* NULL when there is none */
	const char *source;  /* "environment" or the file's path (static or owned below) */
	char *source_owned;
};

/* Returns 0, or -1 with an error that says where it looked. */
int aws_credentials_load(struct aws_credentials *c);
/* Parses the text of a credentials file for one profile (exposed for tests). */
int aws_credentials_parse(const char *text, const char *profile, struct aws_credentials *c);
/* Wipes and frees the strings. */
void aws_credentials_free(struct aws_credentials *c);

#endif
