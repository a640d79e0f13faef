/**
 * @file cli_fixture.h
 * What the tests of gg's commands (test_cli_*) share: a temporary directory,
 * the current one, with a store in it ($GG_DIR points there, `store` is it
 * open), and run(), which calls a command's entry point in this process with
 * the words of a line and catches what it prints (`out`, `err`).
 */
#ifndef GG_CLI_FIXTURE_H
#define GG_CLI_FIXTURE_H

#include "harness.h"
#include "tools/cli/commands.h"
#include "tools/command.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct store *store;
static char *dir, *out_path, *err_path;
static struct buf out_b, err_b;
static const char *out, *err; /* what the last command wrote */

/* What a command wrote to path, in b (NUL-terminated). */
static inline const char *take(const char *path, struct buf *b)
{
	buf_reset(b);
	CHECK(read_file(path, b, 1 << 20) == 0);
	buf_addc(b, 0);
	return b->data;
}

/* fd (1 or 2) to path from now on; the old one, to put back with put_back. */
static inline int redirect(int fd, const char *path)
{
	int to = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int saved = dup(fd);
	CHECK(to >= 0 && saved >= 0 && dup2(to, fd) == fd);
	close(to);
	return saved;
}

static inline void put_back(int fd, int saved)
{
	CHECK(dup2(saved, fd) == fd);
	close(saved);
}

/* Runs cmd with the words of line (split at spaces); its exit status, what it
 * printed in out and err. */
static inline int run(int (*cmd)(int, char **), const char *line)
{
	char *words = xstrdup(line), *argv[16];
	int argc = 0;
	for (char *w = strtok(words, " "); w && argc < 15; w = strtok(NULL, " "))
		argv[argc++] = w;
	argv[argc] = NULL;
	fflush(NULL);
	int saved_out = redirect(1, out_path), saved_err = redirect(2, err_path);
	int rc = cmd(argc, argv);
	fflush(NULL);
	put_back(1, saved_out);
	put_back(2, saved_err);
	free(words);
	out = take(out_path, &out_b);
	err = take(err_path, &err_b);
	return rc;
}

static inline void cli_setup(void)
{
	char tmpl[] = "/tmp/gg-test-cli-XXXXXX";
	CHECK(mkdtemp(tmpl) != NULL);
	dir = xstrdup(tmpl);
	CHECK(chdir(dir) == 0);
	char *root = xasprintf("%s/.gg", dir);
	CHECK(store_create(root) == 0);
	setenv("GG_DIR", root, 1);
	CHECK(store_open(root, &store) == 0);
	free(root);
	out_path = xasprintf("%s/out", dir);
	err_path = xasprintf("%s/err", dir);
}

static inline void cli_teardown(void)
{
	store_close(store);
	CHECK(chdir("/") == 0);
	CHECK(remove_tree(dir) == 0);
	free(dir);
	free(out_path);
	free(err_path);
	buf_free(&out_b);
	buf_free(&err_b);
}

#endif
