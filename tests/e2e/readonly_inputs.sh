#!/usr/bin/env bash
# A sandboxed program against its own inputs. In an isolated run each input
# is a read-only bind of its store object: writing, chmod, utimes, removing,
# renaming over, remounting writable and unmounting all fail (and so does
# ptrace of the sandbox's pid 1, which could do them), and the
# object keeps its bytes, mtime and ctime (a hard link would change the
# ctime, and with it make the next run hash the object again). Run as root
# (the sandbox's user is nobody) and as an ordinary user created here, whose
# sandbox is root of its namespace and owns the store's objects: the case a
# hard link left open. A bound input whose directory the program moves away
# and replaces fails the run, naming it.
. "$(dirname "$0")/lib.sh"
setup "$@"
need gg gcc useradd userdel setpriv sha256sum
[ "$(id -u)" = 0 ] || { not_ok "this test must run as root (it creates a user)"; finish; }
cd "$T"

# poke: every way to change "in", one line each: "WHAT: ok" or the error
cat >poke.c <<'C'
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <unistd.h>

static FILE *out;
static void said(const char *what, int r)
{
	fprintf(out, "%s: %s\n", what, r < 0 ? strerror(errno) : "ok");
}

int main(int argc, char **argv)
{
	if (argc > 1) { /* swap: d/in's directory moved away, a file of its own there */
		if (rename("d", "d.old") < 0 || mkdir("d", 0755) < 0)
			return 3;
		FILE *f = fopen("d/in", "w");
		return f && fputs("the input", f) >= 0 && fclose(f) == 0 && fclose(fopen("o", "w")) == 0 ? 0 : 3;
	}
	out = fopen("o", "w");
	if (!out)
		return 3;
	int fd = open("in", O_WRONLY | O_APPEND);
	said("write", fd < 0 ? -1 : (int)write(fd, "x", 1));
	said("chmod", chmod("in", 0666));
	said("utimes", utimensat(AT_FDCWD, "in", NULL, 0));
	said("unlink", unlink("in"));
	int nf = open("new", O_WRONLY | O_CREAT, 0644);
	if (nf >= 0)
		close(nf);
	said("rename over", rename("new", "in"));
	said("remount writable", mount(NULL, "in", NULL, MS_REMOUNT | MS_BIND, NULL));
	said("unmount", umount2("in", MNT_DETACH));
	/* pid 1 of the sandbox keeps its capabilities until the program runs */
	said("ptrace init", (int)ptrace(PTRACE_SEIZE, 1, 0, 0));
	fd = open("in", O_RDONLY);
	char b[64] = "";
	said("read", fd < 0 ? -1 : (int)read(fd, b, sizeof b - 1));
	fprintf(out, "content: %s", b);
	return fclose(out) == 0 ? 0 : 3;
}
C
gcc -O2 -static -o poke poke.c || { not_ok "build the program (gcc -static)"; finish; }
want='write: WRITE_ERROR
chmod: Read-only file system
utimes: Read-only file system
unlink: Device or resource busy
rename over: Device or resource busy
remount writable: Operation not permitted
unmount: Operation not permitted
ptrace init: Operation not permitted
read: ok
content: the input'

user="ggro$$"
useradd -M -N -s /bin/false "$user" || { not_ok "useradd $user"; finish; }
at_exit "userdel $user"
uid=$(id -u "$user") gid=$(id -g "$user")
chmod 0755 "$T"
mkdir "$T/bin" && cp "$BUILD/bin/gg" "$BUILD/bin/gg-run" "$T/poke" "$T/bin/" && chmod 0755 "$T/bin"/*
as_user() { # COMMAND...: as the second user, in the current directory
	setpriv --reuid="$uid" --regid="$gid" --clear-groups -- \
		env -i PATH="$T/bin:/usr/bin:/bin" HOME="$T/$user.home" "$@"
}

# WHO WRITE_ERROR RUN...: a store of WHO's own, the program against its input.
# As root the sandbox's user (nobody) may not write root's 0444 object in
# any case: the permission check comes first.
attack() {
	local who=$1 want=${want/WRITE_ERROR/$2}
	shift 2
	mkdir "$T/$who" && cd "$T/$who" || return
	[ "$who" = root ] || chown "$uid:$gid" .
	"$@" gg init . >/dev/null
	echo "the input" >in.txt
	local ref obj before after
	ref=$("$@" gg thunk -i "in=in.txt" -o o -- "$T/bin/poke")
	obj=$(ls .gg/objects/*/"$("$@" gg hash in.txt)")
	before=$(stat -c '%s %Y %Z %i' "$obj")
	"$@" gg force --no-progress "$ref" >force.out 2>force.err
	check "$who: the force succeeds" [ $? -eq 0 ]
	check "$who: every change of the input fails; it reads the object's bytes" \
		[ "$("$@" gg cat "$ref" 2>&1)" = "$want" ]
	[ "$("$@" gg cat "$ref" 2>&1)" = "$want" ] || diff <(echo "$want") <("$@" gg cat "$ref" 2>&1) | sed 's/^/#   /'
	after=$(stat -c '%s %Y %Z %i' "$obj")
	check "$who: the object keeps its size, mtime, ctime and inode ($before)" [ "$before" = "$after" ]
	check "$who: ... and its bytes" [ "$(cat "$obj")" = "the input" ]
	check "$who: no mount point is left beside the run directories" \
		[ -z "$(find .gg/tmp -name '*.mnt')" ]
	# The bound input's directory moved away, a file of the program's own
	# (with the same bytes) in its place: the run fails, naming the input.
	ref=$("$@" gg thunk -i "d/in=in.txt" -o o -- "$T/bin/poke" swap)
	"$@" gg force --no-progress "$ref" >swap.out 2>swap.err
	check "$who: a bound input replaced by another file fails the run" [ $? -ne 0 ]
	check "$who: ... naming it" grep -q "removed or replaced its input 'd/in' (shown read-only: the store is unchanged)" swap.err
	check "$who: ... and the object stays" [ "$(cat "$obj")" = "the input" ]
	cd "$T" || return
}
attack root "Permission denied"
attack "$user" "Read-only file system" as_user
finish
