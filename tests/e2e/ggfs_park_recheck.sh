#!/usr/bin/env bash
# ggfs: an open of a forced placeholder that waited (parked) for other opens
# of the file to be released is let in with the output only if the file
# still names it then. Here the file changes behind the waiting open: it is
# rewritten in SOURCE (behind the mount) while the open waits for a reader
# of the file's old output, and rewritten through the mount between the
# moment the open read the output's name and its reply. Each time the open
# must get the file as it is now ("plain"), never the output it asked for.
# The windows are made with gdb: it counts the ESTALE answers (an ordinary
# file is opened as such, the kernel retries an ESTALE open only once), makes
# the waiting open's second reading of the file fail (never the old output
# then), and holds the open of a forced placeholder, after it read the file
# or the output's name, while a writer rewrites the file through the mount.
. "$(dirname "$0")/lib.sh"
setup "${1:-}"
need gg ggfs fusermount3 gdb python3 cat
cd "$T"
mkdir src
(cd src && gg init >/dev/null &&
	gg thunk -o out --placeholder a -- sh -c 'echo first-output > out' >/dev/null &&
	gg thunk -o out --placeholder b -- sh -c 'echo second-output > out' >/dev/null &&
	mv a ../a.ph && mv b ../b.ph)
ggfs_mount src mnt ggfs.log || { not_ok "mount"; finish; }
cp b.ph src/b
check "the second placeholder reads as its output (forced, in the memo)" \
	[ "$(cat mnt/b)" = second-output ]

# gdb_run CMDS: gdb attached to the daemon runs CMDS (breakpoints and their
# commands, numbered from 1) and a last breakpoint at gg_mkdir that detaches
# (gdb_end makes the directory); waits until it is in place.
gdb_run() {
	{
		printf '%s\n' 'set pagination off' 'set confirm off' \
			'handle SIGUSR1 SIGUSR2 SIGPIPE SIGCHLD nostop noprint pass'
		printf '%s\n' "$1"
		printf '%s\n' 'break gg_mkdir' 'commands' 'silent' 'detach' 'quit' 'end' \
			'echo armed\n' 'continue'
	} >gdb.cmds
	: >gdb.log
	gdb -q -batch -x gdb.cmds -p "$GGFS_PID" >gdb.log 2>&1 &
	GDB_PID=$!
	wait_for 100 grep -q '^armed' gdb.log ||
		{ echo "# gdb is not ready: $(tail -n 3 gdb.log)"; kill -TERM "$GDB_PID"; return 1; }
}
gdb_end() { # N
	mkdir "mnt/.gdb-end-$1"
	timeout 20 tail --pid="$GDB_PID" -f /dev/null || kill -CONT "$GGFS_PID"
	wait "$GDB_PID"
	cp gdb.log "gdb.$1.log"
}

# A reader holds the placeholder's first output open; the file is rewritten
# in SOURCE to name the second one, whose open waits for that reader; the
# file is rewritten in SOURCE once more, to an ordinary file; then the first
# reader closes and the waiting open is let in.
behind_source() { # NAME
	python3 - "$1" <<'PY'
import os, subprocess, sys, time
name = sys.argv[1]
path, src = "mnt/" + name, "src/" + name
def rewrite(data):  # in place, behind the mount
    with open(src, "r+b") as f:
        f.write(data)
        f.truncate()
a = os.open(path, os.O_RDONLY)
first = os.read(a, 100)
rewrite(open("b.ph", "rb").read())
r = subprocess.Popen(["cat", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
time.sleep(0.8)  # parked by then (its wait ends 2 s after)
rewrite(b"plain\n")
time.sleep(0.4)
waited = r.poll() is None
os.close(a)
out, err = r.communicate()
print("# first reader %r; the waiting one (waited: %s) got %r %r" % (first, waited, out, err))
sys.exit(not (first == b"first-output\n" and waited and out == b"plain\n"))
PY
}

cp a.ph src/q1
check "a placeholder reads as its first output" [ "$(cat mnt/q1)" = first-output ]
gdb_run 'break fuse_reply_err if $rsi == 116
commands
silent
shell echo estale >>'"$T"'/estale.1
continue
end' || not_ok "gdb attached"
check "a waiting open of a file rewritten behind the mount (to an ordinary file) gets the file" \
	behind_source q1
gdb_end 1
check "... opened at once: not answered ESTALE ($(cat estale.1 2>/dev/null | wc -l) times)" \
	[ ! -e estale.1 ]

# The same, but the waiting open's second reading of the file fails (gdb
# makes node_fstat fail once on the parking thread): ESTALE, and the kernel's
# second open gets the file, not the output of the file as read before.
cp a.ph src/q2
check "a second placeholder reads as its first output" [ "$(cat mnt/q2)" = first-output ]
gdb_run 'set $failed = 0
break node_fstat if !$failed && $_any_caller_is("park_main", 3)
commands
silent
set $failed = 1
shell echo failed >>'"$T"'/fstat.2
return 5
continue
end' || not_ok "gdb attached"
check "a waiting open whose reading of the file fails gets an error, then the file" \
	behind_source q2
gdb_end 2
check "... (the reading was made to fail once: $(cat fstat.2 2>/dev/null | wc -l))" \
	[ "$(cat fstat.2 2>/dev/null | wc -l)" = 1 ]

# An open of a forced placeholder read the file (gg_open) or its output's
# name (the fast path of lazy_open); before it is answered (gdb holds it at
# FUNCTION; usleep lets the other threads run, until the writer is done), a
# writer opens the file through the mount, rewrites it and closes it.
cat >writer.py <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_TRUNC)
os.write(fd, b"plain\n")
os.close(fd)
open(sys.argv[2], "w").write("written\n")
PY
writer_window() { # FUNCTION NAME
	cp a.ph "src/$2"
	check "$2: the placeholder reads as its first output (twice: forced, the kernel's size synced)" \
		sh -c '[ "$(cat "mnt/$1")" = first-output ] && [ "$(cat "mnt/$1")" = first-output ]' sh "$2"
	gdb_run "break $1
commands
silent
disable 1
shell python3 $T/writer.py $T/mnt/$2 $T/written.$2 &
python
import os
for i in range(200):
    if os.path.exists('$T/written.$2'):
        break
    gdb.execute('call (int)usleep(100000)')
end
continue
end" || not_ok "gdb attached"
	local got
	got=$(timeout 20 cat "mnt/$2")
	gdb_end "$2"
	check "$2: the writer rewrote the file while the open was held at $1" [ -e "written.$2" ]
	check "$2: the open gets the file as rewritten (got '$got'), not the old output" \
		[ "$got" = plain ]
}
writer_window reply_store_open q3
writer_window lazy_open q4
check "the daemon is still serving" [ "$(cat mnt/b)" = second-output ]
check "fusermount3 -u: the daemon exits 0" ggfs_umount mnt
check "ggfs log has no sanitizer report" ggfs_log_clean ggfs.log
finish
