/**
 * @file error.h
 * What went wrong, as a code and one line of text.
 *
 * Library functions never print. A failing function records a message
 * naming the object and the cause, and a code saying what kind of failure
 * it is (in the manner of curl's CURLcode), then returns a negative value;
 * the front end prints gg_last_error() and turns gg_last_code() into an exit
 * status. The code decides what a caller does next: a program's failure is
 * never retried, a remote hiccup is, a denied request is not.
 *
 * gg_error() records GG_EFAIL, except when the new message wraps the
 * previous one (gg_error("reading %s: %s", path, gg_last_error())): the
 * code of the cause is kept.
 */
#ifndef GG_ERROR_H
#define GG_ERROR_H

enum gg_code {
	GG_OK = 0,
	GG_EFAIL,      /* not classified */
	GG_EUSAGE,     /* bad arguments, options or configuration */
	GG_EINVALID,   /* malformed input: a thunk, placeholder, name, request or reply */
	GG_ENOTFOUND,  /* no such object, file or entry */
	GG_ECORRUPT,   /* bytes that do not match their name; a damaged entry */
	GG_EPROGRAM,   /* a thunk's program failed or produced no output: not retried */
	GG_ELIMIT,     /* a limit was reached: time, memory, processes, graph depth */
	GG_EDENIED,    /* a boundary refused it: permissions, credentials, an escape */
	GG_ESYSTEM,    /* this machine: I/O, resources, a system call */
	GG_EREMOTE,    /* a remote engine or storage failed: retry or route elsewhere */
	GG_ECANCELLED, /* a signal, a reader that went away, a closed connection */
};

/* Records code and message as the thread's last error; returns -1. */
int gg_fail(enum gg_code code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* GG_EFAIL (or the wrapped message's code) and the message; returns -1. */
int gg_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Like gg_error, with ": strerror(errno)" appended and the code from errno
 * (ENOENT: GG_ENOTFOUND, EACCES/EPERM: GG_EDENIED, else GG_ESYSTEM). */
int gg_error_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *gg_last_error(void);
enum gg_code gg_last_code(void);

/* The thread's last error, set aside around work whose failure is fine (a
 * cache write): gg_error_restore puts it back, so that a best-effort step
 * that failed leaves no message of its own behind a caller that goes on. */
struct gg_error_saved {
	enum gg_code code;
	char msg[1024];
};
void gg_error_save(struct gg_error_saved *sv);
void gg_error_restore(const struct gg_error_saved *sv);
/* A short name: "program failed", "cancelled", ... */
const char *gg_code_str(enum gg_code code);

#endif
