/**
 * @file stamp.c
 * File stamps, the "racy git" rule and sealed cache entries (see stamp.h).
 * It keeps no cache itself: the hash cache (store.c), the models' memo
 * (tools/infer/model_memo.c) and the mount's placeholder check (fs/lazy.c) use it.
 */
#include "core/stamp.h"

#include "core/hash.h"
#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NS_PER_S INT64_C(1000000000)

void stamp_of(const struct stat *st, struct stamp *out)
{
	*out = (struct stamp){
	    .dev = (uint64_t)st->st_dev,
	    .ino = (uint64_t)st->st_ino,
	    .size = (uint64_t)st->st_size,
	    .mtime = {(int64_t)st->st_mtim.tv_sec, st->st_mtim.tv_nsec},
	    .ctime = {(int64_t)st->st_ctim.tv_sec, st->st_ctim.tv_nsec},
	};
}

int stamp_get(const char *path, struct stamp *out)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return gg_error_errno("cannot stat %s", path);
	stamp_of(&st, out);
	return 0;
}

static bool time_eq(const struct stamp_time *a, const struct stamp_time *b)
{
	return a->sec == b->sec && a->nsec == b->nsec;
}

bool stamp_eq(const struct stamp *a, const struct stamp *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       time_eq(&a->mtime, &b->mtime) && time_eq(&a->ctime, &b->ctime);
}

void stamp_format(const struct stamp *s, char out[STAMP_TEXT_MAX])
{
	snprintf(out, STAMP_TEXT_MAX, "%llx-%llx-%llx-%llx.%lx-%llx.%lx",
	         (unsigned long long)s->dev, (unsigned long long)s->ino,
	         (unsigned long long)s->size, (unsigned long long)s->mtime.sec,
	         (unsigned long)s->mtime.nsec, (unsigned long long)s->ctime.sec,
	         (unsigned long)s->ctime.nsec);
}

/* 1 to 16 lowercase hex digits, no leading zero (one text per stamp), up
 * to the end or `stop`; advances *p. */
static int take_hex(const char **p, const char *end, char stop, uint64_t *out)
{
	uint64_t v = 0;
	int n = 0;
	const char *s = *p;
	for (; s < end && *s != stop; s++, n++) {
		int d = *s >= '0' && *s <= '9'   ? *s - '0'
		        : *s >= 'a' && *s <= 'f' ? *s - 'a' + 10
		                                 : -1;
		if (d < 0 || n == 16 || (n == 1 && v == 0))
			return -1;
		v = v << 4 | (uint64_t)d;
	}
	if (n == 0 || (stop && s == end))
		return -1;
	*p = stop ? s + 1 : s;
	*out = v;
	return 0;
}

int stamp_parse(const char *s, size_t len, struct stamp *out)
{
	const char *p = s, *end = s + len;
	uint64_t msec, mnsec, csec, cnsec;
	if (take_hex(&p, end, '-', &out->dev) < 0 || take_hex(&p, end, '-', &out->ino) < 0 ||
	    take_hex(&p, end, '-', &out->size) < 0 || take_hex(&p, end, '.', &msec) < 0 ||
	    take_hex(&p, end, '-', &mnsec) < 0 || take_hex(&p, end, '.', &csec) < 0 ||
	    take_hex(&p, end, 0, &cnsec) < 0 || p != end || mnsec >= NS_PER_S || cnsec >= NS_PER_S)
		return -1;
	out->mtime = (struct stamp_time){(int64_t)msec, (long)mnsec};
	out->ctime = (struct stamp_time){(int64_t)csec, (long)cnsec};
	return 0;
}

int64_t stamp_clock(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

/* A file time in nanoseconds, saturated: a time past 2262 is simply never settled. */
static int64_t time_ns(const struct stamp_time *t)
{
	if (t->sec >= INT64_MAX / NS_PER_S)
		return INT64_MAX;
	if (t->sec <= INT64_MIN / NS_PER_S)
		return INT64_MIN;
	return t->sec * NS_PER_S + t->nsec;
}

bool stamp_settled(const struct stamp *s, int64_t at)
{
	int64_t m = time_ns(&s->mtime), c = time_ns(&s->ctime);
	int64_t last = m > c ? m : c;
	return at > INT64_MIN + STAMP_MARGIN_NS && last < at - STAMP_MARGIN_NS;
}

bool stamp_trusted(const struct stamp *was, const struct stamp *now, int64_t written)
{
	return stamp_eq(was, now) && stamp_settled(was, written);
}

int stamp_exact_probe(const char *dir)
{
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) { /* no O_TMPFILE here: a named file, removed at once */
		char *tmp;
		fd = make_temp_in(dir, &tmp);
		if (fd < 0)
			return -1;
		unlink(tmp);
		free(tmp);
	}
	int r = 1;
	for (int i = 0; i < STAMP_PROBE_PAIRS && r == 1; i++) {
		struct stat a, b;
		if (write(fd, "x", 1) != 1 || fstat(fd, &a) < 0 || write(fd, "y", 1) != 1 ||
		    fstat(fd, &b) < 0)
			r = -1;
		else if ((a.st_ctim.tv_sec == b.st_ctim.tv_sec &&
		          a.st_ctim.tv_nsec == b.st_ctim.tv_nsec) ||
		         (a.st_mtim.tv_sec == b.st_mtim.tv_sec &&
		          a.st_mtim.tv_nsec == b.st_mtim.tv_nsec))
			r = 0;
	}
	close(fd);
	return r;
}

void stamp_time_format(int64_t t, char out[STAMP_TIME_MAX])
{
	/* Only clock readings are recorded: never before 1970. */
	if (t < 0)
		t = 0;
	snprintf(out, STAMP_TIME_MAX, "%lld.%09lld", (long long)(t / NS_PER_S),
	         (long long)(t % NS_PER_S));
}

int stamp_time_parse(const char *s, size_t len, int64_t *out)
{
	const char *dot = memchr(s, '.', len);
	if (!dot || dot == s || dot - s > 10 || s + len - dot != 10 || (s[0] == '0' && dot - s > 1))
		return -1;
	int64_t sec = 0, nsec = 0;
	for (const char *p = s; p < s + len; p++) {
		if (p == dot)
			continue;
		if (*p < '0' || *p > '9')
			return -1;
		if (p < dot)
			sec = sec * 10 + (*p - '0');
		else
			nsec = nsec * 10 + (*p - '0');
	}
	if (sec >= INT64_MAX / NS_PER_S) /* past 2262 */
		return -1;
	*out = sec * NS_PER_S + nsec;
	return 0;
}

#define SEAL_WORD "sum "
#define SEAL_LEN  (sizeof SEAL_WORD - 1 + GG_DIGEST_HEX + 1)

static void seal_of(const char *data, size_t len, char hex[GG_DIGEST_HEX + 1])
{
	struct gg_name n;
	gg_name_of_buf(data, len, GG_VALUE, &n);
	gg_name_digest_hex(&n, hex);
}

void stamp_seal(struct buf *b)
{
	char hex[GG_DIGEST_HEX + 1];
	seal_of(b->data ? b->data : "", b->len, hex);
	buf_printf(b, SEAL_WORD "%s\n", hex);
}

int stamp_unseal(const char *data, size_t len, size_t *sealed_len)
{
	if (len < SEAL_LEN)
		return -1;
	size_t body = len - SEAL_LEN;
	const char *seal = data + body;
	char hex[GG_DIGEST_HEX + 1];
	if (memcmp(seal, SEAL_WORD, sizeof SEAL_WORD - 1) || seal[SEAL_LEN - 1] != '\n')
		return -1;
	seal_of(data, body, hex);
	if (memcmp(seal + sizeof SEAL_WORD - 1, hex, GG_DIGEST_HEX))
		return -1;
	*sealed_len = body;
	return 0;
}
