#!/usr/bin/env bash
# gg infer builds ggfs itself: a copy of this repository's sources (git
# ls-files, plus new files not ignored) is built with `gg infer make -j2
# build/bin/gg`, then the lazily built gg runs `gg --version` through a ggfs
# mount (or, before ggfs exists, after gg force). Every object, the archive
# and the program equal a plain `make` of the same copy (both with CFLAGS=-O2,
# no -g, so the compilation directory is not recorded). A second copy at
# another path gives the same thunk names and forces from the memo alone.
. "$(dirname "$0")/lib.sh"
setup "$@"
need git make gcc cc ar cmp pkg-config tar timeout
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$T"

copy_sources() { # DEST
	mkdir -p "$1"
	(cd "$root" && git ls-files -co --exclude-standard | grep -v '^build' | tar -cf - -T -) |
		tar -xf - -C "$1"
}
is_placeholder() { [ "$(head -c 21 "$1" 2>/dev/null | tr -d '\0')" = '#!/usr/bin/env gg-run' ]; }
version=$("$BUILD/bin/gg" --version)

copy_sources plain || not_ok "copy the sources"
copy_sources self
t0=$(date +%s%N)
(cd plain && timeout 600 make -j2 CFLAGS=-O2 build/bin/gg >make.out 2>&1)
rc=$?
plain_ms=$((($(date +%s%N) - t0) / 1000000))
check "plain make -j2 build/bin/gg of the copy (${plain_ms} ms)" [ $rc -eq 0 ]
[ $rc -eq 0 ] || tail -n 20 plain/make.out

cd self
gg init . >/dev/null
t0=$(date +%s%N)
timeout 600 gg infer make -j2 CFLAGS=-O2 build/bin/gg >infer.out 2>&1
rc=$?
infer_ms=$((($(date +%s%N) - t0) / 1000000))
check "gg infer make -j2 build/bin/gg (${infer_ms} ms)" [ $rc -eq 0 ]
[ $rc -eq 0 ] || tail -n 20 infer.out
check "build/bin/gg is a placeholder" is_placeholder build/bin/gg
check "the archive is a placeholder" is_placeholder build/lib/libgg-core.a
real=$(grep -c ': ran the real tool: ' .gg/infer.log || true)
check "no compiler, archiver or linker command ran for real ($real)" [ "$real" = 0 ]
[ "$real" = 0 ] || grep ': ran the real tool: ' .gg/infer.log | head -n 5

if [ -x "$BUILD/bin/ggfs" ]; then
	mkdir "$T/mnt"
	if ggfs_mount "$T/self" "$T/mnt" "$T/ggfs.log"; then
		t0=$(date +%s%N)
		out=$("$T/mnt/build/bin/gg" --version 2>&1)
		ms=$((($(date +%s%N) - t0) / 1000000))
		check "the lazily built gg --version runs through the mount (${ms} ms): $out" [ "$out" = "$version" ]
		fusermount3 -u "$T/mnt"
	else
		not_ok "mount the lazy tree with ggfs"
	fi
else
	not_ok "ggfs is not built ($BUILD/bin/ggfs; make builds it): the mount cannot be tested (forcing with gg force instead)"
fi
t0=$(date +%s%N)
gg force --summary build/bin/gg 2>force.out
force_ms=$((($(date +%s%N) - t0) / 1000000))
check "gg force build/bin/gg (${force_ms} ms)" grep -q 'failed 0' force.out
out=$(build/bin/gg --version 2>&1)
check "the forced gg --version: $out" [ "$out" = "$version" ]
echo "# plain make ${plain_ms} ms; gg infer ${infer_ms} ms + force ${force_ms} ms"

objs=$(cd "$T/plain" && find build -name '*.o' | sort)
gg force $objs build/lib/libgg-core.a >/dev/null 2>&1
diffs=0
for f in $objs build/lib/libgg-core.a build/bin/gg; do
	cmp -s "$f" "$T/plain/$f" || { echo "  differs: $f"; diffs=$((diffs + 1)); }
done
check "$(echo $objs | wc -w) objects, the archive and gg equal plain make's byte for byte" [ $diffs = 0 ]

# A second copy at another path: same thunk names, nothing executes.
cd "$T"
mkdir -p other/place
copy_sources other/place/ggfs
(cd other/place/ggfs && GG_DIR="$T/self/.gg" gg infer make -j2 CFLAGS=-O2 build/bin/gg >/dev/null 2>&1)
copy_sources again
(cd again && GG_DIR="$T/self/.gg" gg infer make -j2 CFLAGS=-O2 build/bin/gg >/dev/null 2>&1)
check "second checkout: the program's placeholder names the same thunk" cmp again/build/bin/gg other/place/ggfs/build/bin/gg
same=0 total=0
for f in $objs; do
	total=$((total + 1))
	cmp -s "again/$f" "other/place/ggfs/$f" && same=$((same + 1))
done
check "second checkout: all $total object placeholders name the same thunks ($same)" [ $same = $total ]
(cd other/place/ggfs && GG_DIR="$T/self/.gg" gg force --summary build/bin/gg 2>force.out)
cat other/place/ggfs/force.out
check "second checkout: forcing is all memo hits" grep -q 'executed 0, from memo [1-9][0-9]*, failed 0' other/place/ggfs/force.out
check "second checkout: its gg runs" [ "$(other/place/ggfs/build/bin/gg --version)" = "$version" ]
finish
