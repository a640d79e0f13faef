#!/usr/bin/env bash
# ggfs: a failing thunk gives EIO to the reader, one log line (stderr in the
# foreground, -o log=FILE, the store's ggfs.log as a daemon) naming the file,
# the thunk, the command, the exit status and the tail of stderr, and
# user.gg.error; the next open tries again; after the input is fixed (a new
# thunk and placeholder at the same path) the file reads fine.
. "$(dirname "$0")/lib.sh"
setup "${1:-}"
need gg ggfs fusermount3 getfattr
cd "$T"
mkdir src mnt
script='read l <in.txt; [ "$l" = ok ] || { echo "bad input: $l" >&2; exit 3; }; echo "$l" >out.txt'
make_thunk() {
	(cd src && gg thunk -i in.txt -o out.txt --placeholder out.txt -- sh -c "$script")
}
(cd src && gg init >/dev/null && echo broken >in.txt)
thunk=$(make_thunk) || { not_ok "gg thunk"; finish; }

# timeout=0: no kernel caching of SOURCE's entries, so the rewritten
# placeholder is seen at once (the default, 1 s, would show it a second later).
ggfs_mount src mnt ggfs.log -o timeout=0,log="$T/file.log" || { not_ok "mount"; finish; }
cat mnt/out.txt >cat.out 2>cat.err
check "a failed force: cat fails" [ $? -ne 0 ]
check "a failed force: the error is EIO" grep -q "Input/output error" cat.err
lines=$(grep -c "mnt/out.txt: cannot force" ggfs.log)
check "one log line per failure" [ "$lines" = 1 ]
line=$(grep "mnt/out.txt: cannot force" ggfs.log)
check "the log line names the file" grep -q "$T/mnt/out.txt" <<<"$line"
check "the log line names the thunk" grep -q "$thunk" <<<"$line"
check "the log line has the command" grep -q 'command: sh -c' <<<"$line"
check "the log line has the exit status" grep -q 'exited with status 3' <<<"$line"
check "the log line has the stderr tail" grep -q 'bad input: broken' <<<"$line"
check "user.gg.state is failed" [ "$(getfattr --only-values -n user.gg.state mnt/out.txt)" = failed ]
error=$(getfattr --only-values -n user.gg.error mnt/out.txt 2>/dev/null)
check "user.gg.error says what failed" grep -q 'exited with status 3.*bad input: broken' <<<"$error"
check "getfattr -d lists no user.gg.* (read by name only)" sh -c "! getfattr -d -m - mnt/out.txt 2>/dev/null | grep -q '^user.gg'"

# Concurrent readers of a failing placeholder: all get EIO (those that arrive
# while a force runs share it and its log line).
pids=()
for i in $(seq 8); do
	cat mnt/out.txt >/dev/null 2>"c.$i.err" &
	pids+=($!)
done
wait "${pids[@]}"
check "8 concurrent readers all get EIO" [ "$(grep -l 'Input/output error' c.*.err | wc -l)" = 8 ]
lines=$(grep -c "mnt/out.txt: cannot force" ggfs.log)
check "the next open tries again (runs it again: another line)" [ "$lines" -ge 2 ]

check "-o log=FILE: the failure is in the file too" grep -q "cannot force.*exited with status 3" file.log
check "... with its time and pid" grep -q "^[0-9-]* [0-9:]* ggfs\[[0-9]*\]: " file.log
(cd src && gg log out.txt) >gglog.out
check "gg log of the source's placeholder: how it failed" grep -q "exited with status 3" gglog.out
check "... and the program's stderr" grep -q "bad input: broken" gglog.out
# Through the mount, gg log and gg describe read the placeholder from its
# xattr: opening the file would force it (run the failing thunk once more)
# and fail with EIO.
runs=$(grep -c "mnt/out.txt: cannot force" ggfs.log)
(cd mnt && gg log out.txt) >gglog.mnt.out 2>&1
check "gg log of the file through the mount: how it failed" grep -q "exited with status 3" gglog.mnt.out
(cd mnt && gg describe out.txt) >describe.mnt.out 2>&1
check "gg describe of the file through the mount: its thunk" grep -q "^thunk $thunk" describe.mnt.out
check "... neither forced it again" [ "$(grep -c 'mnt/out.txt: cannot force' ggfs.log)" = "$runs" ]
# Fix the input: a new thunk, its placeholder written at the same path.
echo ok >src/in.txt
fixed=$(make_thunk)
check "after fixing the input: a new thunk" [ "$fixed" != "$thunk" ]
check "after fixing the input: cat succeeds" [ "$(cat mnt/out.txt 2>&1)" = ok ]
check "after fixing the input: state forced" [ "$(getfattr --only-values -n user.gg.state mnt/out.txt)" = forced ]
check "after fixing the input: no user.gg.error" sh -c "! getfattr -n user.gg.error mnt/out.txt 2>/dev/null"

# A placeholder naming an output its (forced, successful) thunk does not
# have: the read fails, and the state says failed, not forced.
printf '#!/usr/bin/env gg-run\nggfs-placeholder 1 %s#wrong.txt\n' "$fixed" >src/wrong
cat mnt/wrong >/dev/null 2>wrong.err
check "an output the thunk lacks: cat fails with EIO" grep -q "Input/output error" wrong.err
check "... user.gg.state is failed, though its thunk is forced" \
	[ "$(getfattr --only-values -n user.gg.state mnt/wrong)" = failed ]
check "... user.gg.error names the missing output" \
	sh -c "getfattr --only-values -n user.gg.error mnt/wrong | grep -q \"has no output 'wrong.txt'\""

# A thunk output that fails in by-hash gives EIO too.
cat "mnt/.gg/by-hash/$thunk#out.txt" >/dev/null 2>bh.err
check "by-hash: a failing THUNK#OUTPUT fails" [ $? -ne 0 ]
check "by-hash: with EIO" grep -q "Input/output error" bh.err
check "the daemon exits 0" ggfs_umount mnt
check "log has no sanitizer report" ggfs_log_clean ggfs.log
# A daemon (no -f) logs to ggfs.log in the store, found where no syslog runs.
mkdir -p mnt2
echo broken >src/in.txt
make_thunk >/dev/null
ggfs src mnt2 -o timeout=0
at_exit "fusermount3 -u -z '$T/mnt2'"
check "a fresh mount (the thunk only in the memo): an output it lacks is not shown forced" \
	[ "$(getfattr --only-values -n user.gg.state mnt2/wrong)" = unforced ]
cat mnt2/out.txt >/dev/null 2>&1
fusermount3 -u mnt2
for _ in $(seq 50); do grep -q "cannot force" src/.gg/ggfs.log 2>/dev/null && break; sleep 0.1; done
check "as a daemon: failures are in the store's ggfs.log" grep -q "mnt2/out.txt: cannot force.*exited with status 3" src/.gg/ggfs.log
finish
