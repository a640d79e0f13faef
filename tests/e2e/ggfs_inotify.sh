#!/usr/bin/env bash
# inotify(7) on the mount: a program watching a directory of the mount (and
# a file in it) sees, for changes made through the mount, the events it would
# see on the directory itself. The same operation script runs once on a
# plain directory and once through the mount while a watcher (python3 and
# ctypes: inotify-tools is not needed) records the events of one inotify
# instance with two watches: the directory (create, write and close, chmod,
# rename within it, hard link, mkdir, unlink, rmdir, a file in a
# subdirectory, which it does not report) and a file of it (IN_MODIFY,
# IN_CLOSE_WRITE, IN_ACCESS, IN_ATTRIB, IN_MOVE_SELF, IN_DELETE_SELF). The
# two lists, normalised, must be the same. Twice: with -o no_passthrough,
# then with kernel passthrough of writers where it is on (the default).
#
# What FUSE cannot give: changes made in SOURCE behind the mount's back make
# no event for watchers of the mount (the kernel makes inotify events for
# the syscalls it serves on the mount's own inodes; ggfs only tells it to
# drop cached names and attributes, which is no event). That is checked to
# stay as documented in ggfs(1) BUGS, not as something that works.
. "$(dirname "$0")/lib.sh"
setup "$@"
need gg ggfs fusermount3 python3 timeout
cd "$T" || exit 1

# watch.py DIR FILE OUT READY: watches DIR and DIR/FILE in one inotify
# instance, creates READY once both watches are added, and records the
# events until the sentinel "zz-end" is created in DIR (or gives up after
# 60 s without it, exit 3, saying so). Normalised: a watch is "dir" or
# "file", masks are names, a cookie is c1, c2... in order of first use
# (a move's two halves share one), and a line equal to the one before it is
# dropped (the kernel itself merges an event with the last one still queued,
# so whether two IN_MODIFYs in a row stay two depends on when the watcher
# read: timing, not the filesystem).
cat >watch.py <<'EOF'
import ctypes, os, select, struct, sys, time
d, f, out, ready = sys.argv[1:5]
libc = ctypes.CDLL(None, use_errno=True)
NAMES = [(0x1, "IN_ACCESS"), (0x2, "IN_MODIFY"), (0x4, "IN_ATTRIB"),
         (0x8, "IN_CLOSE_WRITE"), (0x10, "IN_CLOSE_NOWRITE"), (0x20, "IN_OPEN"),
         (0x40, "IN_MOVED_FROM"), (0x80, "IN_MOVED_TO"), (0x100, "IN_CREATE"),
         (0x200, "IN_DELETE"), (0x400, "IN_DELETE_SELF"), (0x800, "IN_MOVE_SELF"),
         (0x2000, "IN_UNMOUNT"), (0x4000, "IN_Q_OVERFLOW"), (0x8000, "IN_IGNORED"),
         (0x40000000, "IN_ISDIR")]
def masks(m):
    s = [n for b, n in NAMES if m & b]
    rest = m & ~sum(b for b, _ in NAMES)
    return "|".join(s + ([hex(rest)] if rest else []))
fd = libc.inotify_init1(os.O_CLOEXEC)
if fd < 0:
    sys.exit("inotify_init1: " + os.strerror(ctypes.get_errno()))
wds = {}
for label, p in (("dir", d), ("file", os.path.join(d, f))):
    wd = libc.inotify_add_watch(fd, p.encode(), 0xfff)  # IN_ALL_EVENTS
    if wd < 0:
        sys.exit("inotify_add_watch %s: %s" % (p, os.strerror(ctypes.get_errno())))
    wds[wd] = label
with open(ready + ".new", "w") as r:
    r.write("ready\n")
os.rename(ready + ".new", ready)
lines, cookies, deadline, done = [], {}, time.monotonic() + 60, False
while not done:
    left = deadline - time.monotonic()
    if left <= 0 or not select.select([fd], [], [], left)[0]:
        sys.stderr.write("watch.py: no sentinel zz-end in %s after 60 s; events so far:\n%s\n"
                         % (d, "\n".join(lines)))
        sys.exit(3)
    buf = os.read(fd, 65536)
    i = 0
    while i < len(buf):
        wd, mask, cookie, n = struct.unpack_from("iIII", buf, i)
        name = buf[i + 16:i + 16 + n].rstrip(b"\0").decode() or "-"
        i += 16 + n
        if wds.get(wd) == "dir" and mask & 0x100 and name == "zz-end":
            done = True
            break
        c = "-"
        if cookie:
            c = cookies.setdefault(cookie, "c%d" % (len(cookies) + 1))
        line = "%s %s %s %s" % (wds.get(wd, "wd%d" % wd), masks(mask), name, c)
        if not lines or lines[-1] != line:
            lines.append(line)
with open(out, "w") as o:
    o.write("".join(l + "\n" for l in lines))
EOF

# ops.py DIR [END_DIR]: the changes, one after the other; then the sentinel
# zz-end is created in END_DIR (default DIR). DIR/w exists before.
cat >ops.py <<'EOF'
import os, sys
d = sys.argv[1]
end = sys.argv[2] if len(sys.argv) > 2 else d
p = lambda n: os.path.join(d, n)
def write(n, data, flags):
    fd = os.open(p(n), flags, 0o644)
    os.write(fd, data)
    os.close(fd)
# in the directory
write("a", b"hello\n", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
write("a", b"more\n", os.O_WRONLY | os.O_APPEND)
os.chmod(p("a"), 0o600)
os.rename(p("a"), p("b"))
os.mkdir(p("sub"))
write("sub/x", b"x\n", os.O_CREAT | os.O_WRONLY)  # not DIR's: no event
os.unlink(p("sub/x"))
os.rmdir(p("sub"))
os.unlink(p("b"))
# the watched file w
write("w", b"appended\n", os.O_WRONLY | os.O_APPEND)
write("w", b"rewritten\n", os.O_WRONLY | os.O_TRUNC)
fd = os.open(p("w"), os.O_RDONLY)
os.read(fd, 100)
os.close(fd)
os.chmod(p("w"), 0o640)
os.utime(p("w"), (1000000000, 1000000000))
os.truncate(p("w"), 3)
os.setxattr(p("w"), "user.test", b"v")
os.link(p("w"), p("hl"))
os.unlink(p("hl"))
os.rename(p("w"), p("w2"))
os.unlink(p("w2"))
# the end
os.close(os.open(os.path.join(end, "zz-end"), os.O_CREAT | os.O_WRONLY, 0o644))
EOF

# watched DIR OUT OPS_DIR [END_DIR]: runs ops.py on OPS_DIR while watching
# DIR, the watcher ready before the first change; OUT gets the events.
watched() {
	local dir=$1 out=$2 wpid rc ops=0
	rm -f "$out" "$out.ready" "$dir/zz-end"
	timeout 120 python3 watch.py "$dir" w "$out" "$out.ready" 2>"$out.err" &
	wpid=$!
	wait_for 600 ready_or_gone "$out.ready" "$wpid"
	if ! [ -e "$out.ready" ]; then
		echo "# the watcher of $dir was not ready after 60 s (or failed):"
		sed 's/^/#   /' "$out.err"
		kill "$wpid" 2>/dev/null
		wait "$wpid"
		return 1
	fi
	# (if it fails half-way, the sentinel still ends the watcher at once)
	python3 ops.py "${@:3}" || { echo "# ops.py on $3 failed"; ops=1; touch "${4:-$3}/zz-end"; }
	wait "$wpid"
	rc=$?
	[ "$rc" -eq 0 ] || { echo "# the watcher of $dir exited $rc:"; sed 's/^/#   /' "$out.err"; }
	[ "$rc" -eq 0 ] && [ "$ops" -eq 0 ]
}
ready_or_gone() { [ -e "$1" ] || pid_gone "$2"; } # READY PID
fresh() { # DIR: empty, but for the file w
	rm -rf "$1" && mkdir -p "$1" && echo first >"$1/w"
}

mkdir -p src
(cd src && gg init >/dev/null)
fresh src/plain
check "the watcher records the events on the plain directory" watched src/plain plain.events src/plain
echo "# on the directory itself:"
sed 's/^/#   /' plain.events
# What the task asks to see, on the directory itself first (so that a
# difference below is the mount's, not a kernel that reports otherwise).
has() { # EVENTS LINE...
	local f=$1 l
	shift
	for l in "$@"; do grep -qx -- "$l" "$f" || { echo "# $f lacks: $l"; return 1; }; done
}
want=('dir IN_CREATE a -' 'dir IN_CLOSE_WRITE a -' 'dir IN_ATTRIB a -'
	'dir IN_MOVED_FROM a c1' 'dir IN_MOVED_TO b c1' 'dir IN_CREATE|IN_ISDIR sub -'
	'dir IN_DELETE|IN_ISDIR sub -' 'dir IN_DELETE b -'
	'file IN_MODIFY - -' 'file IN_CLOSE_WRITE - -' 'file IN_ATTRIB - -'
	'file IN_MOVE_SELF - -' 'file IN_DELETE_SELF - -' 'file IN_IGNORED - -')
check "the directory reports every event asked for" has plain.events "${want[@]}"

for mode in no_passthrough default; do
	opts=()
	[ "$mode" = default ] || opts=(-o "$mode")
	ggfs_mount src mnt "ggfs.$mode.log" "${opts[@]}" || { not_ok "mount ($mode)"; continue; }
	fresh src/mounted
	check "($mode) the watcher records the events through the mount" \
		watched mnt/mounted "mnt.$mode.events" mnt/mounted
	check "($mode) every event asked for is reported through the mount" \
		has "mnt.$mode.events" "${want[@]}"
	check "($mode) the events through the mount are the directory's, in order" \
		cmp -s plain.events "mnt.$mode.events"
	diff plain.events "mnt.$mode.events" | sed 's/^/#   /'
	if [ "$mode" = default ]; then
		# Documented difference (ggfs(1) BUGS): the same changes made in
		# SOURCE behind the mount's back are no event through the mount;
		# only the sentinel, made through the mount, is seen (and ends it).
		# (A directory the mount has not shown yet: no stale entry.)
		fresh src/behind
		check "changes behind the mount's back: the watcher of the mount ends" \
			watched mnt/behind behind.events src/behind mnt/behind
		check "... and saw no event (FUSE cannot report them: ggfs(1) BUGS)" \
			sh -c '[ -e behind.events ] && [ ! -s behind.events ]'
		sed 's/^/#   behind: /' behind.events 2>/dev/null
		# (a name the kernel still holds goes once ggfs's own watch of
		# SOURCE tells it, or after -o timeout: a bounded wait)
		check "... though the mount shows the changes" \
			wait_for 100 sh -c '! [ -e mnt/behind/w ] && [ -e mnt/behind/zz-end ] && [ -e src/behind/zz-end ]'
	fi
	check "($mode) unmounts cleanly" ggfs_umount mnt
done
check "the logs are clean" sh -c "! grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error:' ggfs.*.log"
finish
