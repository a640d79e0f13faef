#!/usr/bin/env bash
# zlib (Debian's source package) through its own ./configure: inferred and
# forced through a ggfs mount, its own `make test` run through the mount,
# every object, library and program equal to a plain build's, and one
# edit rebuilt equal to a clean plain build. See tests/projects-lib.sh.
. "$(dirname "$0")/../projects-lib.sh"
proj_setup "${1:?usage: $0 BUILD_DIR}" zlib
proj_plain './configure' 'make -j2'
proj_infer './configure' 'make -j2'
proj_mount
t0=$(now_ms)
proj_in_mount 'make test' >"$T/test.out" 2>&1
rc=$?
check "zlib: make test through the mount ($(($(now_ms) - t0)) ms, forcing included)" \
	bash -c "[ $rc -eq 0 ] && grep -q '\*\*\* zlib shared test OK \*\*\*' '$T/test.out' && grep -q '\*\*\* zlib test OK \*\*\*' '$T/test.out'"
[ $rc -eq 0 ] || tail -20 "$T/test.out"
check "zlib: the tests rebuilt nothing (the outputs are still placeholders)" \
	bash -c "! while read -r f; do is_ph() { head -c 64 \"\$1\" | grep -aq '^ggfs-placeholder '; }; is_ph '$P'/\$f || echo \$f; done <'$T/outputs' | grep -q ."
proj_compare
proj_umount_count
cp -a "$SRC" "$T/configured" && (cd "$T/configured" && ./configure >/dev/null) || not_ok "zlib: configure a tree for the rebuild harness"
SRC=$T/configured proj_rebuild 'libz.a libz.so.1.2.13 example minigzip examplesh minigzipsh' \
	"$(dirname "$0")/zlib.steps" make -j2
finish
