/**
 * @file incoming.c
 * Verified downloads into the local store: temp file in .gg/tmp, SHA-256 on
 * the fly, size bound from the name, rename into objects/ab/NAME only when the
 * content matches the name. It does not talk to the network and keeps no
 * object in memory; callers feed it whatever chunks their transport yields.
 */
#include "backend/storage/incoming.h"

#include "core/rundir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int incoming_open(struct incoming *in, struct store *s, const struct gg_name *want,
                  const char *from)
{
	memset(in, 0, sizeof *in);
	in->fd = -1;
	in->store = s;
	in->from = from;
	in->want = *want;
	in->fd = rundir_temp_file(s, &in->tmp); /* locked: see rundir.h */
	if (in->fd < 0) {
		in->tmp = NULL;
		return -1;
	}
	gg_hasher_init(&in->h);
	return 0;
}

int incoming_restart(struct incoming *in)
{
	if (in->fd < 0)
		return gg_error("internal: restart of a closed download of %s", in->want.s);
	if (ftruncate(in->fd, 0) < 0 || lseek(in->fd, 0, SEEK_SET) < 0)
		return gg_error_errno("cannot reset a temporary file for %s", in->want.s);
	gg_hasher_init(&in->h);
	in->got = 0;
	return 0;
}

int incoming_write(struct incoming *in, const void *data, size_t len)
{
	uint64_t size = gg_name_size(&in->want);
	if (len > size - in->got) {
		gg_error("object %s from %s is corrupt: longer than the %llu bytes its name says",
		         in->want.s, in->from, (unsigned long long)size);
		return INCOMING_BAD_CONTENT;
	}
	if (write_all(in->fd, data, len) < 0)
		return gg_error_errno("cannot write object %s to %s", in->want.s, in->store->tmp);
	gg_hasher_update(&in->h, data, len);
	in->got += len;
	return 0;
}

/* Moves the verified temp file to objects/ab/NAME (creating "ab" if needed). */
static int install(struct incoming *in)
{
	char *dst = store_object_path(in->store, &in->want);
	int r = rename(in->tmp, dst);
	if (r < 0 && errno == ENOENT) {
		char *dir = xstrdup(dst);
		*strrchr(dir, '/') = 0;
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			r = -1;
		else
			r = rename(in->tmp, dst);
		free(dir);
	}
	if (r < 0)
		gg_error_errno("cannot move object %s into the store", in->want.s);
	free(dst);
	return r;
}

int incoming_commit(struct incoming *in)
{
	uint64_t size = gg_name_size(&in->want);
	int r = 0;
	if (in->fd < 0)
		return gg_error("internal: commit of a closed download of %s", in->want.s);
	if (in->got != size) {
		gg_error("object %s from %s is truncated: %llu of %llu bytes", in->want.s, in->from,
		         (unsigned long long)in->got, (unsigned long long)size);
		r = INCOMING_BAD_CONTENT;
	} else {
		struct gg_name got;
		gg_hasher_final(&in->h, gg_name_kind(&in->want), &got);
		if (!gg_name_eq(&got, &in->want)) {
			gg_error("object %s from %s is corrupt: its content hashes to %s",
			         in->want.s, in->from, got.s);
			r = INCOMING_BAD_CONTENT;
		}
	}
	if (r == 0 && fchmod(in->fd, 0444) < 0)
		r = gg_error_errno("cannot chmod a downloaded object %s", in->want.s);
	if (r == 0)
		r = install(in);
	if (r == 0) /* hashed as written, under a random name in the 0700 store */
		store_vouch(in->store, &in->want, in->fd);
	close(in->fd);
	in->fd = -1;
	if (r < 0)
		unlink(in->tmp);
	free(in->tmp);
	in->tmp = NULL;
	return r;
}

void incoming_discard(struct incoming *in)
{
	if (in->fd >= 0)
		close(in->fd);
	in->fd = -1;
	if (in->tmp)
		unlink(in->tmp);
	free(in->tmp);
	in->tmp = NULL;
}
