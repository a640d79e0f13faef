#!/usr/bin/env bash
# What a thunk's program writes on stderr is kept with its result: shown
# once when it runs (a script's "not found" is never silent), not on a memo
# hit, and again by `gg log`, which also shows how a run failed. Memo
# entries are sealed: a damaged one is dropped and the thunk runs again.
# The store's format is checked: a newer one is refused, an older one
# (no format file, format-1 memo entries) is taken over without misreading.
. "$(dirname "$0")/lib.sh"
setup "$@"
cd "$T"
gg init . >/dev/null
mk() { gg thunk -o out --placeholder "$1" -- sh -c 'echo "warning: odd input" >&2; nosuchtool; echo done > out' >/dev/null; }
mk p1
gg force --no-progress p1 2>f1.err
rc=$?
cat f1.err
check "a script whose tool is missing still succeeds (exit $rc)" [ $rc = 0 ] && [ "$(cat p1)" = done ]
check "... but its stderr is shown: the warning" grep -q "^warning: odd input$" f1.err
check "... and the shell's 'not found'" grep -q "nosuchtool: not found" f1.err
check "... under a line naming the thunk" grep -q "^gg: sh out T[0-9a-f]* wrote on stderr:$" f1.err
mk p2
gg force --no-progress p2 2>f2.err
check "a memo hit does not show it again" [ ! -s f2.err ]
mk p3
gg log p3 >log.out
check "gg log shows the last run's stderr" grep -q "nosuchtool: not found" log.out
check "... and that it succeeded" grep -q ": succeeded$" log.out

gg thunk -o out --placeholder bad -- sh -c 'echo "it broke" >&2; exit 5' >/dev/null
gg force --no-progress bad 2>/dev/null
gg log bad >bad.out
rc=$?
cat bad.out
check "gg log of a failed run: how it failed" grep -q "failed: exited with status 5" bad.out
check "... its command and stderr" grep -q "it broke" bad.out
check "... exit 0 (a run was recorded)" [ $rc = 0 ]
gg thunk -o out --placeholder never -- sh -c 'echo x > out' >/dev/null
gg log never >never.out
check "gg log of a thunk never run: exit 1" [ $? = 1 ] && grep -q "no run recorded" never.out

# A damaged memo entry is dropped: the thunk runs again, with the same result.
thunk=$(sed -n 2p p3 | cut -d' ' -f3 | cut -d'#' -f1)
entry=$(find .gg/memo -name "$thunk" -type f)
check "the memo entry exists" [ -n "$entry" ]
chmod u+w "$entry"
printf 'X' | dd of="$entry" bs=1 seek=20 conv=notrunc 2>/dev/null
gg force --no-progress p3 2>f3.err
check "a damaged memo entry: the thunk runs again (its stderr shows)" grep -q "nosuchtool: not found" f3.err
check "... with the right result" [ "$(cat p3)" = done ]

# Formats.
mk p4
cp p4 p4.ph
echo "ggstore 3" >.gg/format
gg force --no-progress p4 2>new.err
rc=$?
check "a store of a newer format is refused (exit $rc)" [ $rc != 0 ]
check "... saying so" grep -q "has format 3, newer than this gg understands (2)" new.err
mk p5 2>thunk.err
check "... gg thunk does not make a new store over it" grep -qx "ggstore 3" .gg/format
check "... nor does gg init" sh -c "! gg init . 2>/dev/null && grep -qx 'ggstore 3' .gg/format"
rm .gg/format
thunk=$(sed -n 2p p4.ph | cut -d' ' -f3 | cut -d'#' -f1)
gg force --no-progress p4 2>/dev/null # makes its memo entry
entry=$(find .gg/memo -name "$thunk" -type f)
chmod u+w "$entry"
printf 'ggmemo 1\nout - %s 3 out\n' "$(gg hash p4)" >"$entry"
cp p4.ph p4
gg force --no-progress p4 2>old.err
check "a format-1 store opens and is marked format 2" grep -qx "ggstore 2" .gg/format
check "... its old memo entries are not read (the thunk runs)" grep -q "wrote on stderr" old.err
check "... giving the right result" [ "$(cat p4)" = done ]
# Through a mount: the daemon's log shows it, and gg log on the source's
# placeholder too.
need fusermount3
rm -rf msrc && mkdir msrc && (cd msrc && gg init >/dev/null &&
	gg thunk -o out --placeholder w -- sh -c 'echo "mounted warning" >&2; echo ok > out' >/dev/null)
ggfs_mount msrc mnt ggfs.log
check "read through the mount" [ "$(cat mnt/w)" = ok ]
check "... the daemon's log shows the thunk's stderr" grep -q "mounted warning" ggfs.log
check "... and gg log on the source's placeholder" sh -c "cd msrc && gg log w | grep -q 'mounted warning'"
finish
