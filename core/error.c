/**
 * @file error.c
 * The thread's last error (see error.h).
 */
#include "core/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char last_error[sizeof((struct gg_error_saved *)0)->msg];
static _Thread_local enum gg_code last_code;

static void record(enum gg_code code, const char *suffix, const char *fmt, va_list ap)
{
	/* Format into a scratch buffer first: the arguments may include the
	 * previous message (gg_error("...: %s", gg_last_error())). */
	char tmp[sizeof last_error];
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	if (suffix && n >= 0 && (size_t)n < sizeof tmp)
		snprintf(tmp + n, sizeof tmp - (size_t)n, ": %s", suffix);
	/* A message that wraps the previous one keeps its cause's code. */
	bool wraps = code == GG_EFAIL && last_error[0] && strstr(tmp, last_error);
	if (!wraps)
		last_code = code;
	memcpy(last_error, tmp, sizeof tmp);
}

int gg_fail(enum gg_code code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	record(code, NULL, fmt, ap);
	va_end(ap);
	return -1;
}

int gg_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	record(GG_EFAIL, NULL, fmt, ap);
	va_end(ap);
	return -1;
}

int gg_error_errno(const char *fmt, ...)
{
	int e = errno;
	enum gg_code code = e == ENOENT                 ? GG_ENOTFOUND
	                    : e == EACCES || e == EPERM ? GG_EDENIED
	                                                : GG_ESYSTEM;
	va_list ap;
	va_start(ap, fmt);
	record(code, strerror(e), fmt, ap);
	va_end(ap);
	errno = e;
	return -1;
}

const char *gg_last_error(void)
{
	return last_error[0] ? last_error : "unknown error";
}

enum gg_code gg_last_code(void)
{
	return last_error[0] ? last_code : GG_EFAIL;
}

void gg_error_save(struct gg_error_saved *sv)
{
	sv->code = last_code;
	memcpy(sv->msg, last_error, sizeof sv->msg);
}

void gg_error_restore(const struct gg_error_saved *sv)
{
	last_code = sv->code;
	memcpy(last_error, sv->msg, sizeof last_error);
}

const char *gg_code_str(enum gg_code code)
{
	static const char *const names[] = {
	    [GG_OK] = "ok",
	    [GG_EFAIL] = "failed",
	    [GG_EUSAGE] = "usage error",
	    [GG_EINVALID] = "malformed input",
	    [GG_ENOTFOUND] = "not found",
	    [GG_ECORRUPT] = "damaged data",
	    [GG_EPROGRAM] = "program failed",
	    [GG_ELIMIT] = "limit reached",
	    [GG_EDENIED] = "denied",
	    [GG_ESYSTEM] = "system error",
	    [GG_EREMOTE] = "remote failure",
	    [GG_ECANCELLED] = "cancelled",
	};
	return (unsigned)code < sizeof names / sizeof *names && names[code] ? names[code]
	                                                                    : "unknown";
}
