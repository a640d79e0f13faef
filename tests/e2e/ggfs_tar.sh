#!/usr/bin/env bash
# `tar c` through the mount in every cache mode it accepts (default, with
# kernel passthrough where it is on; no_passthrough; splice; timeout=0;
# materialize, which also writes the outputs into SOURCE; the writeback cache
# is refused, see ggfs_options) gives the same archive as
# `tar c` of the plain tree (a copy whose placeholders `gg force` replaced by
# their outputs, with the placeholders' times): byte for byte, headers (size,
# mode, mtime, owner) and contents. Also before anything was forced
# but with the results in the memo (stat shows the real size), and for a
# tree never forced, where tar must either archive the outputs or fail
# loudly, never archive wrong sizes silently.
. "$(dirname "$0")/lib.sh"
setup "$@"
need fusermount3 tar
cd "$T"
mkdir -p src/ph src/lib
(
	cd src && gg init >/dev/null
	seq 1 20 >lib/plain.txt
	head -c 70000 /dev/zero | tr '\0' 'z' >lib/zeds
	gg thunk -o out --placeholder ph/small -- sh -c 'echo small output > out' >/dev/null
	gg thunk -o out --placeholder ph/empty -- sh -c ': > out' >/dev/null
	gg thunk -o out --placeholder ph/big -- sh -c 'i=0; while [ $i -lt 3000 ]; do echo "line $i"; i=$((i + 1)); done > out' >/dev/null
	gg thunk -o out --tool chmod --placeholder ph/exe -- sh -c 'printf "#!/bin/sh\necho hi\n" > out && chmod +x out' >/dev/null
)
cp -a src pristine # never forced: its store has no memo entries
cp -a src plain
(cd plain && gg force ph/* >/dev/null)
# The mount shows a placeholder's times (ggfs(1)); gg force gives the file
# it writes the time of forcing.
for f in plain/ph/*; do touch -r "pristine/ph/${f##*/}" "$f"; done

archive() { # DIR OUT: tar of every file (not directories: forcing in place changes their mtimes)
	(cd "$1" && find . -path ./.gg -prune -o -type f -print | LC_ALL=C sort) >"$2.list"
	tar -C "$1" -c --no-recursion --numeric-owner --format=gnu -T "$2.list" -f "$2" 2>"$2.err"
}
archive plain plain.tar
check "the plain tree is archived" [ ! -s plain.tar.err ]
check "... with the outputs in it" sh -c "tar -xOf plain.tar ./ph/small | grep -q 'small output'"

modes=(default no_passthrough splice timeout=0 materialize)
n=0
for mode in "${modes[@]}"; do
	n=$((n + 1))
	opts=()
	[ "$mode" = default ] || opts=(-o "$mode")
	# Forced through the mount first.
	rm -rf "s$n" && cp -a pristine "s$n"
	ggfs_mount "s$n" "m$n" "ggfs$n.log" "${opts[@]}"
	cat "m$n"/ph/* >/dev/null
	archive "m$n" "forced$n.tar"
	check "$mode: tar of a forced tree: no error" [ ! -s "forced$n.tar.err" ]
	sed 's/^/    /' "forced$n.tar.err" | head -3
	check "$mode: tar of a forced tree is the plain tree's, byte for byte" cmp -s plain.tar "forced$n.tar"
	check "$mode: unmounts" ggfs_umount "m$n"
	if [ "$mode" = materialize ]; then
		check "materialize: SOURCE holds the outputs now" cmp -s "s$n/ph/big" plain/ph/big
		archive "s$n" "source$n.tar"
		check "materialize: tar of SOURCE itself is the plain tree's" cmp -s plain.tar "source$n.tar"
	fi
	# Never forced through this mount, but the memo knows (same store):
	# stat shows the real size and mode before any open.
	ggfs_mount "s$n" "m$n" "ggfs$n.log" "${opts[@]}"
	check "$mode: stat of a placeholder the memo knows shows the output's size" \
		[ "$(stat -c %s "m$n/ph/big")" = "$(stat -c %s plain/ph/big)" ]
	check "$mode: ... and its mode" [ "$(stat -c %a "m$n/ph/exe")" = "$(stat -c %a plain/ph/exe)" ]
	archive "m$n" "memo$n.tar"
	check "$mode: tar of a tree whose results the memo knows is the plain tree's" cmp -s plain.tar "memo$n.tar"
	check "$mode: unmounts" ggfs_umount "m$n"
	# Never forced anywhere: the sizes stat shows are the placeholders'.
	rm -rf "u$n" && cp -a pristine "u$n"
	ggfs_mount "u$n" "mu$n" "ggfsu$n.log" "${opts[@]}"
	if archive "mu$n" "unforced$n.tar"; then
		check "$mode: tar of a never-forced tree that succeeds is the plain tree's" cmp -s plain.tar "unforced$n.tar"
	else
		check "$mode: tar of a never-forced tree fails loudly, naming a placeholder" grep -q "ph/" "unforced$n.tar.err"
	fi
	sed 's/^/    /' "unforced$n.tar.err" | head -2
	check "$mode: unmounts" ggfs_umount "mu$n"
	check "$mode: the logs are clean" sh -c "ggfs_log_clean() { ! grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error:' \"\$1\"; }; ggfs_log_clean ggfs$n.log && ggfs_log_clean ggfsu$n.log"
done
finish
