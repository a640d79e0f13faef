#!/usr/bin/env bash
# A hostile thunk against gg's own handling of its run directory: collection
# and cleanup must act by descriptor beneath the directory, never through a
# path the program could redirect. Each attack, run locally and through
# `gg worker` (sandboxed, and with --no-sandbox where the attack needs it),
# must leave a canary directory (in this test's temp dir, outside the store
# and the run directory) identical in content, owner, mode and link count,
# and fail the force with the specific error. Attacks: an output directory
# swapped for a link to the canary (also racing the collection in a loop,
# without a sandbox); an output that is a link to a canary file (absolute,
# or climbing with '..'), a declared output beneath a climbing link; an output
# hard-linked to an input or to a canary file; /dev and .gg-sys replaced by
# links to the canary; outputs named with '..'; a FIFO, a device node and a
# setuid file (stored without the bit) and a file with xattrs (stored
# without them) as outputs.
. "$(dirname "$0")/lib.sh"
setup "$@"
need gcc python3 redis-server sha256sum
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/servers/workers.sh"
cd "$T"

# The hostile program: attack MODE CANARY [DONE-FILE]; its output's bytes
# are $TAG (one object per engine and mode).
cat > attack.c <<'C'
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "attack: %s: %s\n", what, strerror(errno));
	exit(3);
}

static void put(const char *p)
{
	const char *text = getenv("TAG") ? getenv("TAG") : "mine";
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, text, strlen(text)) < 0)
		die(p);
	close(fd);
}

static char *at(const char *dir, const char *name)
{
	static char buf[4096];
	snprintf(buf, sizeof buf, "%s/%s", dir, name);
	return buf;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	const char *m = argv[1], *canary = argv[2];
	if (!strcmp(m, "swapdir")) { /* output d/x; d becomes a link to the canary */
		put("d/x");
		if (rename("d", "d.real") < 0 || symlink(canary, "d") < 0)
			die("swap d");
	} else if (!strcmp(m, "race")) { /* d and a link swapped while gg collects */
		put("d/x");
		if (symlink(canary, "d.lnk") < 0)
			die("symlink");
		pid_t racer = fork();
		if (racer == 0) {
			for (int i = 0; i < 200000; i++)
				if (renameat2(AT_FDCWD, "d", AT_FDCWD, "d.lnk", RENAME_EXCHANGE) < 0)
					break; /* the run directory is gone */
			_exit(0);
		}
		FILE *pf = fopen(argv[3], "w"); /* its pid, for the test to wait on */
		if (racer < 0 || !pf || fprintf(pf, "%d\n", (int)racer) < 0 || fclose(pf) != 0)
			die("racer");
	} else if (!strcmp(m, "outlink")) {
		if (symlink(at(canary, "file"), "o") < 0)
			die("symlink o");
	} else if (!strcmp(m, "outdotdot")) { /* climbs from anywhere to the canary */
		char up[8192];
		snprintf(up, sizeof up, "../../../../../../../../../../../../..%s", at(canary, "file"));
		if (symlink(up, "o") < 0)
			die("symlink o");
	} else if (!strcmp(m, "parentlink")) { /* output d/file, d a climbing link */
		char up[8192];
		snprintf(up, sizeof up, "../../../../../../../../../../../../..%s", canary);
		if (rmdir("d") < 0 || symlink(up, "d") < 0)
			die("symlink d");
	} else if (!strcmp(m, "linkinput")) {
		if (link("in", "o") < 0)
			die("link in o");
	} else if (!strcmp(m, "linkcanary")) {
		if (link(at(canary, "file"), "o") < 0)
			die("link canary o");
	} else if (!strcmp(m, "dev") || !strcmp(m, "ggsys")) {
		const char *d = !strcmp(m, "dev") ? "dev" : ".gg-sys";
		static const char *const devs[] = {"/dev/null", "/dev/zero", "/dev/urandom"};
		for (size_t i = 0; d[0] == 'd' && i < 3; i++)
			umount2(devs[i], MNT_DETACH); /* nothing is mounted without a sandbox */
		/* relative names: without a sandbox "/" is the host's */
		if (rename(d, "moved") < 0 || symlink(canary, d) < 0)
			die("swap");
		put("o");
	} else if (!strcmp(m, "fifo")) {
		if (mkfifo("o", 0644) < 0)
			die("mkfifo o");
	} else if (!strcmp(m, "device")) {
		if (mknod("o", S_IFCHR | 0644, makedev(1, 3)) < 0)
			die("mknod o");
	} else if (!strcmp(m, "setuid")) {
		put("o");
		if (chmod("o", 06755) < 0)
			die("chmod o");
	} else if (!strcmp(m, "xattr")) {
		put("o");
		if (setxattr("o", "user.gg-attack", "1", 1, 0) < 0)
			die("setxattr o");
	} else {
		return 2;
	}
	return 0;
}
C
gcc -O2 -static -o attack attack.c || { not_ok "build the attack program (gcc -static)"; finish; }
ATTACK=$T/attack

# The canary: what the attacks aim at. As root its files belong to another
# user, so a chown would show too.
host=$T/host
mkdir -p "$host/bin"
for f in x file null zero urandom bin/attack; do echo "canary $f" > "$host/$f"; done
chmod 0640 "$host/file"
[ "$(id -u)" = 0 ] && chown -R 4321:4321 "$host"
snap() { # every entry's type, owner, mode, size, links and target; every file's hash
	(cd "$host" && find . -printf '%p %y %u:%g %m %s %n %i %l\n' | sort &&
		find . -type f -exec sha256sum {} + | sort)
}
before=$(snap)
canary_same() { [ "$(snap)" = "$before" ]; }

gg init . >/dev/null
. "$here/servers/redis.sh"
redis_up || { not_ok "start redis (tests/servers/redis.sh)"; finish; }
export GG_STORAGE=redis://127.0.0.1:$REDIS_PORT
worker_start sb -j 2 || { not_ok "start a sandboxed worker"; finish; }
worker_start nosb -j 2 --no-sandbox || { not_ok "start a --no-sandbox worker"; finish; }

# thunk ENGINE MODE OUTPUT [THUNK OPTION...]: a thunk of the attack, distinct per engine
thunk() {
	local e=$1 m=$2 o=$3
	shift 3
	gg thunk -e "TAG=$e-$m" "$@" -o "$o" -- "$ATTACK" "$m" "$host"
}

# refused DESCRIPTION PATTERN REF FORCE-OPTION...: the force fails naming
# the cause, and the canary is untouched.
refused() {
	local desc=$1 pat=$2 ref=$3 err
	shift 3
	if err=$(gg force "$@" "$ref" 2>&1 >/dev/null); then
		not_ok "$desc: the force succeeded"
	elif has_text "$err" "$pat"; then
		ok "$desc"
	else
		not_ok "$desc: wanted '$pat', got: $err"
	fi
	check "$desc: the canary is untouched" canary_same
}

echo in > in
mkdir -p dev && echo keep > dev/keep
for e in local http; do
	if [ $e = local ]; then sb=() nosb=(--no-sandbox); else
		sb=(-e "http=${WURL[sb]}") nosb=(-e "http=${WURL[nosb]}")
	fi
	# (a) an output directory swapped for a link to the canary
	ref="$(thunk $e swapdir d/x)#d/x"
	refused "$e: output directory swapped for a link" "output 'd/x' is reached through a symbolic link" "$ref" "${sb[@]}"
	ref="$(thunk $e-nosb swapdir d/x)#d/x"
	refused "$e --no-sandbox: output directory swapped for a link" "output 'd/x' is reached through a symbolic link" "$ref" "${nosb[@]}"

	# (b) without a sandbox, the swap runs on in a loop during collection
	# and cleanup: whatever the moment, the thunk's own bytes or a refusal
	stored=0 refusedn=0
	for i in $(seq 10); do
		done_file=$T/race-$e-$i
		ref="$(gg thunk -e "TAG=$e-race-$i" -o d/x -- "$ATTACK" race "$host" "$done_file")#d/x"
		if out=$(gg force --stdout "${nosb[@]}" "$ref" 2>race.err); then
			[ "$out" = "$e-race-$i" ] && stored=$((stored + 1)) || not_ok "$e race $i: stored '$out'"
		elif grep -q "output 'd/x' is reached through a symbolic link\|did not produce output 'd/x'" race.err; then
			refusedn=$((refusedn + 1))
		else
			not_ok "$e race $i: unexpected failure: $(cat race.err)"
		fi
		# It ends when the directory is gone, or gg ends it after the run
		# (its control group); either way before the next round.
		racer_gone() { # (a zombie is gone: its reaper may be slow)
			[ -s "$done_file" ] && ! grep -qs '^[0-9]* ([^)]*) [^Z]' "/proc/$(cat "$done_file")/stat"
		}
		for _ in $(seq 200); do racer_gone && break; sleep 0.05; done
		racer_gone || not_ok "$e race $i: the racing process did not finish"
	done
	echo "# $e race: $stored stored the thunk's bytes, $refusedn refused"
	check "$e --no-sandbox: 10 forces racing a swap loop stored only the thunk's bytes or refused ($stored + $refusedn)" [ $((stored + refusedn)) -eq 10 ]
	check "$e --no-sandbox: after the races the canary is untouched" canary_same

	# (c) an output that is a link to a canary file: absolute, or climbing
	# with '..'; a declared output beneath a climbing link
	abs="output 'o': a symbolic link to the absolute path '$host/file'"
	ref="$(thunk $e outlink o)#o"
	refused "$e: output is an absolute symbolic link to a host file" "$abs" "$ref" "${sb[@]}"
	ref="$(thunk $e-nosb outlink o)#o"
	refused "$e --no-sandbox: output is an absolute symbolic link to a host file" "$abs" "$ref" "${nosb[@]}"
	ref="$(thunk $e outdotdot o)#o"
	refused "$e: output is a symbolic link climbing to a host file" "output 'o': a symbolic link to '\.\./.*' climbs out with '\.\.'" "$ref" "${sb[@]}"
	ref="$(thunk $e-nosb outdotdot o)#o"
	refused "$e --no-sandbox: output is a symbolic link climbing to a host file" "output 'o': a symbolic link to '\.\./.*' climbs out with '\.\.'" "$ref" "${nosb[@]}"
	ref="$(thunk $e parentlink d/file)#d/file"
	refused "$e: output's directory is a symbolic link climbing to the host" "output 'd/file' is reached through a symbolic link" "$ref" "${sb[@]}"
	ref="$(thunk $e-nosb parentlink d/file)#d/file"
	refused "$e --no-sandbox: output's directory is a symbolic link climbing to the host" "output 'd/file' is reached through a symbolic link" "$ref" "${nosb[@]}"

	# (d) an output hard-linked to an input, to a canary file
	ref="$(thunk $e linkinput o -i in)#o"
	# in the sandbox an input is a read-only bind of its object: another mount
	refused "$e: output hard-linked to an input (the sandbox cannot even make the link)" "link in o: Invalid cross-device link" "$ref" "${sb[@]}"
	ref="$(thunk $e-nosb linkinput o -i in)#o"
	refused "$e --no-sandbox: output hard-linked to an input" "output 'o' has [0-9]* hard links: an output must be a file of its own" "$ref" "${nosb[@]}"
	ref="$(thunk $e-nosb linkcanary o)#o"
	refused "$e --no-sandbox: output hard-linked to a canary file" "output 'o' has 2 hard links" "$ref" "${nosb[@]}"

	# (e) /dev and the tools directory replaced by links to the canary:
	# cleanup removes the links, not what they point to
	ref="$(thunk $e dev o -i dev/keep)#o"
	refused "$e: /dev replaced by a link" "its input 'dev/keep'" "$ref" "${sb[@]}"
	ref="$(thunk $e-nosb dev o -i dev/keep)#o"
	refused "$e --no-sandbox: dev replaced by a link" "its input 'dev/keep'" "$ref" "${nosb[@]}"
	ref="$(thunk $e ggsys o)#o"
	refused "$e: .gg-sys replaced by a link" "its input '.gg-sys/bin/attack'" "$ref" "${sb[@]}"
	ref="$(thunk $e-nosb ggsys o)#o"
	refused "$e --no-sandbox: .gg-sys replaced by a link" "its input '.gg-sys/bin/attack'" "$ref" "${nosb[@]}"

	# (g) a FIFO (the force must not block), a device node
	ref="$(thunk $e fifo o)#o"
	refused "$e: a FIFO as output" "output 'o' is a FIFO, not a regular file" "$ref" "${sb[@]}"
	ref="$(thunk $e device o)#o"
	# in the sandbox's user namespace mknod of a device is not allowed at all
	refused "$e: a device node as output (the sandbox cannot make one)" "mknod o: Operation not permitted" "$ref" "${sb[@]}"
	ref="$(thunk $e-nosb device o)#o"
	if [ "$(id -u)" = 0 ]; then
		refused "$e --no-sandbox: a device node as output" "output 'o' is a device node, not a regular file" "$ref" "${nosb[@]}"
	else
		refused "$e --no-sandbox: a device node as output (only root can make one)" "mknod o: Operation not permitted" "$ref" "${nosb[@]}"
	fi

	# a setuid file is stored without the bit; a file's xattrs stay behind
	for how in sb nosb; do
		[ $how = sb ] && opts=("${sb[@]}") || opts=("${nosb[@]}")
		rm -f ph
		thunk $e-$how setuid o --placeholder ph >/dev/null
		if gg force "${opts[@]}" ph 2>su.err; then
			check "$e $how: a setuid output arrives without setuid/setgid bits (mode $(stat -c %a ph))" [ $(((8#$(stat -c %a ph) & 8#6000))) -eq 0 ]
			check "$e $how: ... and keeps its execute bit" [ -x ph ]
			check "$e $how: ... with the thunk's bytes" [ "$(cat ph)" = "$e-$how-setuid" ]
		else
			not_ok "$e $how: a setuid output is stored (bit stripped): $(cat su.err)"
		fi
		name=$(gg force "${opts[@]}" "$(thunk $e-$how setuid o)#o")
		objs=("$T/.gg/objects/${name:1:2}/$name")
		[ $e = http ] && objs+=("$T/workers/$how/store/objects/${name:1:2}/$name")
		for obj in "${objs[@]}"; do
			check "$e $how: the stored object in ${obj#$T/} is 0444 (got $(stat -c %a "$obj" 2>&1))" [ "$(stat -c %a "$obj" 2>&1)" = 444 ]
			[ "$(id -u)" = 0 ] && check "$e $how: ... and root's" [ "$(stat -c %u "$obj")" = 0 ]
		done
		ref="$(thunk $e-$how xattr o)#o"
		if name=$(gg force "${opts[@]}" "$ref" 2>xa.err); then
			objs=("$T/.gg/objects/${name:1:2}/$name")
			[ $e = http ] && objs+=("$T/workers/$how/store/objects/${name:1:2}/$name")
			for obj in "${objs[@]}"; do
				check "$e $how: an output's xattrs are not stored ($(python3 -c 'import os,sys; print(os.listxattr(sys.argv[1]))' "$obj"))" \
					python3 -c 'import os,sys; sys.exit(1 if os.listxattr(sys.argv[1]) else 0)' "$obj"
			done
		elif grep -q 'setxattr o: Operation not supported' xa.err; then
			not_ok "$e $how: user xattrs are not supported on this file system ($T): cannot test"
		else
			not_ok "$e $how: an output with xattrs is stored: $(cat xa.err)"
		fi
	done
done

# (f) outputs named with '..' or absolute: refused when the thunk is made,
# and when a thunk from elsewhere (written straight into the store) says so
err=$(gg thunk -o ../x -- "$ATTACK" fifo "$host" 2>&1) && not_ok "an output '../x' is accepted" ||
	check "an output named '../x' is refused" has_text "$err" "output '../x': '.' and '..' are not allowed in a thunk path"
err=$(gg thunk -o "$host/x" -- "$ATTACK" fifo "$host" 2>&1) && not_ok "an absolute output is accepted" ||
	check "an absolute output is refused" has_text "$err" "absolute paths are not allowed in a thunk"
good=$(thunk local fifo o)
obj=$T/.gg/objects/${good:1:2}/$good
sed 's|^out 1 o$|out 7 ../file\nout 1 o|' "$obj" > crafted
bad=$(gg hash crafted)
check "a crafted thunk is a thunk object (${bad:0:12}...)" [ "${bad:0:1}" = T ]
mkdir -p "$T/.gg/objects/${bad:1:2}" && cp crafted "$T/.gg/objects/${bad:1:2}/$bad"
for opt in "" "-e http=${WURL[sb]}"; do
	err=$(gg force $opt "$bad#o" 2>&1) && not_ok "a thunk with an output '../file' was forced" ||
		check "a stored thunk with an output '../file' is refused${opt:+ (http engine)}" has_text "$err" "output '../file': '.' and '..' are not allowed"
done
check "after everything the canary is untouched" canary_same

for w in sb nosb; do
	check "worker $w stops cleanly on SIGTERM" worker_stop $w
	check "worker $w's log has no sanitizer report" worker_log_clean $w
done
finish
