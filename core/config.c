/**
 * @file config.c
 * Reads the configuration file into the environment (see config.h). It
 * knows no variable names: it only sets defaults.
 */
#include "core/config.h"

#include "core/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static char *config_path(void)
{
	const char *p = getenv("GG_CONFIG");
	if (p && *p)
		return xstrdup(p);
	p = getenv("XDG_CONFIG_HOME");
	if (p && *p)
		return xasprintf("%s/gg/config", p);
	p = getenv("HOME");
	return p && *p ? xasprintf("%s/.config/gg/config", p) : NULL;
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = 0;
	return s;
}

int config_load(void)
{
	char *path = config_path();
	if (!path)
		return 0;
	struct buf b = BUF_INIT;
	if (read_file(path, &b, 1 << 20) < 0) {
		int missing = errno == ENOENT;
		char *e = xstrdup(gg_last_error());
		buf_free(&b);
		int r = 0;
		const char *given = getenv("GG_CONFIG"); /* empty: as if unset */
		if (!missing || (given && *given))
			r = gg_error("configuration: %s", e);
		free(e);
		free(path);
		return r;
	}
	int r = 0, line = 0;
	for (char *p = b.data, *next; p && *p && r == 0; p = next) {
		line++;
		next = strchr(p, '\n');
		if (next)
			*next++ = 0;
		char *s = trim(p);
		if (!*s || *s == '#')
			continue;
		char *eq = strchr(s, '=');
		if (!eq) {
			r = gg_error("%s:%d: expected NAME = VALUE", path, line);
			break;
		}
		*eq = 0;
		char *name = trim(s), *value = trim(eq + 1);
		if (!*name ||
		    strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != strlen(name) ||
		    (name[0] >= '0' && name[0] <= '9')) {
			r = gg_error("%s:%d: '%s' is not a variable name (A-Z, 0-9, _)", path, line,
			             name);
			break;
		}
		if (!getenv(name) && setenv(name, value, 0) < 0)
			r = gg_error_errno("%s:%d: cannot set %s", path, line, name);
	}
	buf_free(&b);
	free(path);
	return r;
}
