/**
 * @file worker_auth.h
 * Bearer tokens between the http engine and `gg worker --listen`. The
 * worker accepts any of several tokens (so they can be rotated: add the new
 * one, move clients, remove the old one), read from a file (--token-file)
 * and/or the environment (GG_WORKER_TOKENS), never from its command line,
 * which any local user can read in /proc. The client sends one, from
 * GG_WORKER_TOKEN or the file GG_WORKER_TOKEN_FILE, as
 * "Authorization: Bearer TOKEN".
 *
 * A token is 16 to 256 characters of A-Z a-z 0-9 - . _ ~ + / = (RFC 6750's
 * token68). A token file holds one per line; blank lines and lines starting
 * with '#' are skipped; it must not be readable or writable by others.
 */
#ifndef GG_WORKER_AUTH_H
#define GG_WORKER_AUTH_H

#include "core/util.h"

#define WORKER_TOKEN_MIN 16
#define WORKER_TOKEN_MAX 256

/* Adds the tokens of `file` (if not NULL) and of the list `env` (comma or
 * space separated, if not NULL) to *out: 0, or -1 with an error naming the
 * file or variable and the line. */
int worker_tokens_load(const char *file, const char *env, struct strvec *out);

/* Does the Authorization value v[0..len) carry one of the tokens? Takes the
 * same time whichever token matches, and however much of one matches. */
bool worker_token_ok(const struct strvec *tokens, const char *v, size_t len);

/* The client's token: GG_WORKER_TOKEN, else the first token of the file
 * GG_WORKER_TOKEN_FILE, else *out = NULL. 0, or -1 with an error. */
int worker_token_for_client(char **out);

#endif
