/**
 * @file log.c
 * ggfs's log (ggfs.h): libfuse's messages and ours, to stderr in the
 * foreground, to syslog as a daemon, and to a file the user can find
 * (-o log=FILE, or STORE/ggfs.log as a daemon).
 */
#include "fs/ggfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/*
 * libfuse's log callback carries no user data, so where logs go is the one
 * piece of state that lives outside struct ggfs. Written before any thread
 * starts.
 */
static bool to_syslog;
static FILE *log_file;                /* -o log=FILE, or STORE/ggfs.log as a daemon */
static bool log_at_line_start = true; /* cosmetic: where to put "ggfs: " */

/*
 * One message, one entry: what a message carries (a file name may hold any
 * byte, a thunk's stderr any line) cannot pass for an entry of its own. A
 * control character is shown as '?', and each line after the first is
 * indented.
 */
static void defang(const char *in, char *out, size_t cap)
{
	size_t o = 0, i = 0;
	for (; in[i] && o + 6 < cap; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c == '\n') {
			out[o++] = '\n';
			if (in[i + 1]) {
				memcpy(out + o, "    ", 4);
				o += 4;
			}
		} else {
			out[o++] = (c < 0x20 && c != '\t') || c == 0x7f ? '?' : (char)c;
		}
	}
	if (in[i] && o && out[o - 1] != '\n')
		out[o++] = '\n'; /* cut: the line still ends */
	out[o] = 0;
}

static void log_func(enum fuse_log_level level, const char *fmt, va_list ap)
{
	char raw[4096], msg[5120];
	/* A message cut to fit still ends its line: else the next message
	 * would be glued to it, without its prefix. */
	if (vsnprintf(raw, sizeof raw, fmt, ap) >= (int)sizeof raw)
		raw[sizeof raw - 2] = '\n';
	defang(raw, msg, sizeof msg);
	if (log_file) {
		/* A file the user can find even where no syslog runs. */
		char when[32];
		time_t now = time(NULL);
		struct tm tm;
		strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime_r(&now, &tm));
		size_t n = strlen(msg);
		flockfile(log_file);
		fprintf(log_file, "%s ggfs[%d]: %s%s", when, (int)getpid(), msg,
		        n && msg[n - 1] == '\n' ? "" : "\n");
		fflush(log_file);
		funlockfile(log_file);
	}
	if (to_syslog) {
		syslog((int)level, "%s", msg);
		return;
	}
	/* libfuse writes some messages in pieces: prefix only new lines. */
	flockfile(stderr);
	if (log_at_line_start)
		fputs("ggfs: ", stderr);
	fputs(msg, stderr);
	size_t n = strlen(msg);
	log_at_line_start = n && msg[n - 1] == '\n';
	funlockfile(stderr);
}

void ggfs_log(enum fuse_log_level level, const char *fmt, ...)
{
	char msg[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fuse_log(level, "%s\n", msg);
}

void log_init(void)
{
	fuse_set_log_func(log_func);
}

int log_open_file(const char *path, uid_t owner)
{
	/* The owner's only: it holds failed commands and their stderr. Not
	 * through a link, nor into another file's inode: a root daemon opens
	 * it in a store its owner (or a shared store's group) controls. */
	int fd =
	    open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW, 0600);
	struct stat st;
	int err = fd < 0 ? errno : fstat(fd, &st) < 0 ? errno : 0;
	if (!err && (!S_ISREG(st.st_mode) || st.st_nlink != 1))
		err = S_ISDIR(st.st_mode) ? EISDIR : EPERM;
	if (!err && owner != (uid_t)-1 && geteuid() == 0 && st.st_uid != owner &&
	    fchown(fd, owner, (gid_t)-1) < 0)
		err = errno;
	if (!err && !(log_file = fdopen(fd, "a")))
		err = errno;
	if (err) {
		if (fd >= 0)
			close(fd);
		errno = err;
		return -1;
	}
	return 0;
}

void log_to_syslog(void)
{
	openlog("ggfs", LOG_PID, LOG_DAEMON);
	to_syslog = true;
}

void log_close(void)
{
	if (log_file)
		fclose(log_file);
	log_file = NULL;
}
