#!/usr/bin/env bash
# A placeholder that names a thunk without an output (T... rather than
# T...#OUT) stands for the thunk's primary output, its first -o, wherever it
# is read: here a thunk of two outputs that differ in size, bytes and mode
# (first: 1 byte; second: 5 bytes, executable), with placeholders for the
# bare thunk and for each output.
#   - forced outside the mount by another name, the mount's stat of the bare
#     placeholder shows the primary output's size and mode before any read,
#     user.gg.state is "forced", and the bytes are the primary output's;
#   - gg log of the bare placeholder shows the run and succeeds;
#   - gg force of the bare placeholder replaces it by the primary output;
#   - a bare placeholder of a thunk never run is forced by a read through
#     the mount and gives the primary output too.
. "$(dirname "$0")/lib.sh"
setup "${1:-}"
need gg ggfs fusermount3 getfattr stat cat
cd "$T"

mkdir -p src mnt
bare() { printf '#!/usr/bin/env gg-run\nggfs-placeholder 1 %s\n' "$1"; } # REF
prog='printf 1 >first; printf 22222 >second; chmod +x second'
(cd src && gg init >/dev/null &&
	gg thunk --tool chmod -o first -o second --placeholder first.ph -- sh -c "$prog" >/dev/null &&
	gg thunk --tool chmod -o first -o second --placeholder never.first.ph -- sh -c "$prog; echo >&2 never" >/dev/null) ||
	{ not_ok "make the thunks"; finish; }
thunk=$(sed -n 's/^ggfs-placeholder 1 \(T[0-9a-f]*\)#first$/\1/p' src/first.ph)
never=$(sed -n 's/^ggfs-placeholder 1 \(T[0-9a-f]*\)#first$/\1/p' src/never.first.ph)
check "the placeholders name each thunk's first output ($thunk)" test -n "$thunk" -a -n "$never"
bare "$thunk" >src/bare.ph
bare "$thunk#second" >src/second.ph
bare "$never" >src/never.ph

out=$(cd src && gg force --no-progress "$thunk#second" 2>&1)
check "the thunk is forced by its second output's name: $out" test $? = 0

ggfs_mount src mnt ggfs.log || { not_ok "mount with ggfs -f"; finish; }
ok "mount with ggfs -f"
check "stat of the bare placeholder: the primary output's size, not executable" \
	test "$(stat -c '%s %A' mnt/bare.ph)" = "1 -rw-r--r--"
check "stat of the second output's placeholder: 5 bytes, executable" \
	test "$(stat -c '%s %A' mnt/second.ph)" = "5 -rwxr-xr-x"
check "user.gg.state of the bare placeholder is forced" \
	test "$(getfattr --only-values -n user.gg.state mnt/bare.ph 2>/dev/null)" = forced
check "the bare placeholder reads as the primary output" test "$(cat mnt/bare.ph)" = 1
check "the second output's placeholder reads as the second output" test "$(cat mnt/second.ph)" = 22222
check "stat of the never-run bare placeholder: not yet forced" \
	test "$(getfattr --only-values -n user.gg.state mnt/never.ph 2>/dev/null)" = unforced
check "a read of it forces the thunk and gives the primary output" test "$(cat mnt/never.ph)" = 1
check "... and its size is then the primary output's" test "$(stat -c %s mnt/never.ph)" = 1
ggfs_umount mnt
check "the mount ends cleanly" test $? = 0

log=$(cd src && gg log bare.ph 2>&1)
check "gg log of the bare placeholder shows the run" has_text "$log" "$thunk: succeeded"
check "... and both outputs" has_text "$log" "output second (executable)"
out=$(cd src && gg force --no-progress bare.ph 2>&1)
check "gg force of the bare placeholder: $out" test $? = 0
check "... replaced it by the primary output" test "$(cat src/bare.ph)" = 1
check "... not executable" test ! -x src/bare.ph
finish
