#!/usr/bin/env bash
# Symbolic link outputs (gg-thunk(5), SYMBOLIC LINKS): a thunk that makes a
# shared library's link chain (libfoo.so -> libfoo.so.1 -> libfoo.so.1.0)
# has it stored as links, never followed: gg force makes the same chain a
# plain run makes; a downstream thunk finds links in its directory (in the
# sandbox and without it); gg cat, gg force --stdout and gg run refuse a
# link naming its target; the mount shows a forced one as a link; the kind
# survives gg worker (sandboxed and not) and the shared cache, and an old
# peer's reply without it is never taken for a link's bytes; a small
# shared library build through gg infer gives the chain a plain build gives.
. "$(dirname "$0")/lib.sh"
setup "$@"
need gcc make readelf redis-server ggfs fusermount3
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/servers/workers.sh"
cd "$T"

cat >mk.c <<'C'
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
/* mk TEXT: the library and its two links, as libtool and CMake make them.
 * show LINK OUT: what a program finds at LINK (its target, the bytes through it). */
int main(int argc, char **argv)
{
	if (argc == 2) {
		int fd = open("libfoo.so.1.0", O_WRONLY | O_CREAT | O_TRUNC, 0755);
		if (fd < 0 || write(fd, argv[1], strlen(argv[1])) < 0 || close(fd) < 0)
			return 1;
		return symlink("libfoo.so.1.0", "libfoo.so.1") < 0 ||
		       symlink("libfoo.so.1", "libfoo.so") < 0;
	}
	char t[4096] = {0}, c[4096] = {0};
	ssize_t n = readlink(argv[1], t, sizeof t - 1);
	int fd = open(argv[1], O_RDONLY);
	if (fd >= 0 && read(fd, c, sizeof c - 1) < 0)
		return 1;
	FILE *f = fopen(argv[2], "w");
	fprintf(f, "link=%s content=%s\n", n < 0 ? "(none)" : t, c);
	return fclose(f) != 0;
}
C
gcc -O2 -static -o mk mk.c || { not_ok "build the test program (gcc -static)"; finish; }

# The chain a plain run makes, to compare with.
mkdir plain && (cd plain && ../mk lib) || { not_ok "a plain run of mk"; finish; }
chain() { (cd "$1" && find . -maxdepth 1 -name 'libfoo*' -printf '%p %y %l\n' | sort); }
want_chain=$(chain plain)

gg init . >/dev/null
. "$here/servers/redis.sh"
redis_up || { not_ok "start redis (tests/servers/redis.sh)"; finish; }
export GG_STORAGE=redis://127.0.0.1:$REDIS_PORT
worker_start sb -j 2 || { not_ok "start a sandboxed worker"; finish; }
worker_start nosb -j 2 --no-sandbox || { not_ok "start a --no-sandbox worker"; finish; }

# placeholders DIR THUNK: one per output of the library thunk
placeholders() {
	mkdir -p "$1"
	for o in libfoo.so libfoo.so.1 libfoo.so.1.0; do
		printf '#!/usr/bin/env gg-run\nggfs-placeholder 1 %s#%s\n' "$2" "$o" >"$1/$o"
	done
}

for e in local local-nosb http-sb http-nosb; do
	case $e in
	local) opts=() ;;
	local-nosb) opts=(--no-sandbox) ;;
	http-sb) opts=(-e "http=${WURL[sb]}") ;;
	http-nosb) opts=(-e "http=${WURL[nosb]}") ;;
	esac
	lib=$(gg thunk -o libfoo.so -o libfoo.so.1 -o libfoo.so.1.0 -- ./mk "lib-$e")
	placeholders "$e" "$lib"
	if err=$(gg force "${opts[@]}" "$e"/libfoo.so* 2>&1); then
		ok "$e: a thunk whose outputs are a library and two links is forced"
	else
		not_ok "$e: forcing the library thunk: $err"
		continue
	fi
	check "$e: gg force made the chain a plain run makes ($(chain "$e" | tr '\n' ' '))" \
		[ "$(chain "$e")" = "$want_chain" ]
	check "$e: the chain leads to the library's bytes" [ "$(cat "$e/libfoo.so")" = "lib-$e" ]
	memo=$(cat "$(memo_entry .gg "$lib")")
	check "$e: the memo records the links with kind l" has_text "$memo" "^out l V[0-9a-f]* 9 libfoo.so$"
	check "$e: ... and the library as an executable file" has_text "$memo" "^out x V[0-9a-f]* 13 libfoo.so.1.0$"

	# gg cat, --stdout and gg run refuse a link, naming its target
	err=$(gg cat "$lib#libfoo.so" 2>&1) && not_ok "$e: gg cat printed a link: $err" ||
		check "$e: gg cat refuses a link, naming its target" has_text "$err" "$lib#libfoo.so is a symbolic link to 'libfoo.so.1'"
	err=$(gg force --stdout "$lib#libfoo.so.1" 2>&1) && not_ok "$e: gg force --stdout printed a link: $err" ||
		check "$e: gg force --stdout refuses a link" has_text "$err" "$lib#libfoo.so.1 is a symbolic link (its target is value V"
	check "$e: gg force --stdout prints the library itself" [ "$(gg force --stdout "$lib#libfoo.so.1.0")" = "lib-$e" ]
	placeholders "$e.run" "$lib"
	err=$(gg run "$e.run/libfoo.so" 2>&1) && not_ok "$e: gg run ran a link: $err" ||
		check "$e: gg run refuses a link" has_text "$err" "is a symbolic link to 'libfoo.so.1'"
	check "$e: gg describe marks the link" has_text "$(gg describe "$lib")" "libfoo.so  V[0-9a-f]* (symbolic link)"

	# a downstream thunk finds a link in its directory, resolved beside it
	use=$(gg thunk -e "E=$e" -i "libfoo.so=$e.run/libfoo.so" -i "libfoo.so.1=$e.run/libfoo.so.1" \
		-i "libfoo.so.1.0=$e.run/libfoo.so.1.0" -o seen -- ./mk libfoo.so seen)
	out=$(gg force "${opts[@]}" --stdout "$use#seen" 2>&1)
	check "$e: a downstream thunk sees its input libfoo.so as a link to libfoo.so.1, reading the library through it ($out)" \
		[ "$out" = "link=libfoo.so.1 content=lib-$e" ]
done

# The kind survives the shared cache: a second store gets links from it.
mkdir b && (cd b && gg init . >/dev/null)
lib=$(gg thunk -o libfoo.so -o libfoo.so.1 -o libfoo.so.1.0 -- ./mk lib-shared)
gg force --remote-cache readwrite "$lib" >/dev/null 2>&1 || not_ok "publish the library thunk to the shared cache"
cp -r "$T/.gg/objects/${lib:1:2}" b/.gg/objects/ 2>/dev/null
placeholders b/shared "$lib"
out=$(cd b && gg force --summary --remote-cache read shared/libfoo.so* 2>&1)
check "shared cache: the second store ran nothing ($out)" has_text "$out" "executed 0, from memo 1"
check "shared cache: ... and made the same chain" [ "$(chain b/shared)" = "$want_chain" ]

# An old worker (or an attacker) that returns a link's target as a regular
# file cannot be told apart, but a reply with "link" is refused by a reader
# that does not know it, and a malformed link reply is refused by this one:
# checked in unit/test_wire.

# The mount shows a placeholder forced to a link as that link: the first
# open finds out (the kernel looks the path up again and follows the link),
# later lookups and a new mount see a link at once; never the target's text.
mkdir src && (cd src && gg init . >/dev/null)
lib=$(cd src && gg thunk -o libfoo.so -o libfoo.so.1 -o libfoo.so.1.0 -- ../mk lib-mount)
placeholders src "$lib"
ggfs_mount src mnt ggfs.log || { not_ok "mount with ggfs -f"; finish; }
check "mount: before forcing, libfoo.so is the placeholder file" [ "$(stat -c %F mnt/libfoo.so)" = "regular file" ]
out=$(cat mnt/libfoo.so 2>&1)
check "mount: reading libfoo.so forces it and follows the chain to the library ($out)" [ "$out" = "lib-mount" ]
check "mount: libfoo.so is now a symbolic link ($(stat -c %F mnt/libfoo.so))" [ "$(stat -c %F mnt/libfoo.so)" = "symbolic link" ]
check "mount: readlink libfoo.so is libfoo.so.1" [ "$(readlink mnt/libfoo.so)" = libfoo.so.1 ]
check "mount: readlink libfoo.so.1 is libfoo.so.1.0" [ "$(readlink mnt/libfoo.so.1)" = libfoo.so.1.0 ]
check "mount: the chain a plain run makes" [ "$(chain mnt)" = "$want_chain" ]
links=$(cd mnt && find . -maxdepth 1 -type l | sort | tr '\n' ' ')
check "mount: find -type l (readdir's d_type) lists the forced links ($links)" \
	[ "$links" = "./libfoo.so ./libfoo.so.1 " ]
check "mount: the source still holds the placeholders" [ "$(stat -c %F src/libfoo.so)" = "regular file" ]
check "mount: unmounts cleanly" ggfs_umount mnt
ggfs_mount src mnt ggfs.log || { not_ok "mount again"; finish; }
check "mount again: the memo makes libfoo.so a link at once" [ "$(readlink mnt/libfoo.so)" = libfoo.so.1 ]
check "mount again: the chain a plain run makes" [ "$(chain mnt)" = "$want_chain" ]
check "mount again: ... leading to the library" [ "$(cat mnt/libfoo.so)" = "lib-mount" ]
err=$(cat "mnt/.gg/by-hash/$lib#libfoo.so" 2>&1) && not_ok "mount: by-hash served a link output as a file: $err" ||
	check "mount: by-hash refuses a link output ($err)" has_text "$err" "Input/output error"
check "mount: ... and the log says why" grep -q "it is a symbolic link (its target is value V[0-9a-f]*); the mount shows symbolic link outputs only through placeholders" ggfs.log
check "mount again: unmounts cleanly" ggfs_umount mnt

# A libtool/CMake-style shared library build through gg infer, the links
# made by `ln -sf` thunks (the generic model): forced, the chain and the
# library's soname match a plain make run.
mkdir -p inferb/plain inferb/gg
echo 'int foo(void) { return 42; }' >inferb/foo.c
cat >inferb/Makefile <<'MK'
all: libfoo.so
libfoo.so.1.0: foo.c
	gcc -shared -fPIC -Wl,-soname,libfoo.so.1 -o libfoo.so.1.0 foo.c
libfoo.so.1: libfoo.so.1.0
	ln -sf libfoo.so.1.0 libfoo.so.1
libfoo.so: libfoo.so.1
	ln -sf libfoo.so.1 libfoo.so
MK
for d in plain gg; do cp inferb/foo.c inferb/Makefile "inferb/$d/"; done
(cd inferb/plain && make -s >/dev/null) || not_ok "infer: the plain make run"
(cd inferb/gg && gg init . >/dev/null && GG_INFER_GENERIC='ln -s,-f @ @outfile' gg infer make >infer.out 2>&1) ||
	not_ok "infer: gg infer make: $(cat inferb/gg/infer.out)"
check "infer: the links are deferred as placeholders" grep -q ggfs-placeholder inferb/gg/libfoo.so
out=$(cd inferb/gg && gg force libfoo.so libfoo.so.1 libfoo.so.1.0 2>&1) || not_ok "infer: gg force of the library and its links: $out"
check "infer: the forced chain matches the plain build ($(chain inferb/gg | tr '\n' ' '))" [ "$(chain inferb/gg)" = "$(chain inferb/plain)" ]
soname() { readelf -d "$1" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p'; }
check "infer: the library reached through libfoo.so has the plain build's soname ($(soname inferb/gg/libfoo.so))" \
	[ "$(soname inferb/gg/libfoo.so)" = "$(soname inferb/plain/libfoo.so)" ]

for w in sb nosb; do
	check "worker $w stops cleanly on SIGTERM" worker_stop $w
	check "worker $w's log has no sanitizer report" worker_log_clean $w
done
finish
