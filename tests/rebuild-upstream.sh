#!/usr/bin/env bash
# The slower tier of the differential rebuild harness: zlib and Lua 5.4 from
# Debian's source packages (tests/fetch-deb-src.sh; the first run needs the
# network), prepared as tests/e2e/infer_upstream.sh prepares them, then
# tests/rebuild-harness.sh with tests/rebuild/{zlib,lua}.steps. Needs gg on
# PATH (or BUILD_DIR/bin). Takes a few minutes; not part of `make check`.
#
#   tests/rebuild-upstream.sh [BUILD_DIR]
set -u
here=$(cd "$(dirname "$0")" && pwd)
[ -z "${1:-}" ] || export PATH="$(cd "$1" && pwd)/bin:$PATH"
for x in gg gcc make patch cmp; do
	command -v "$x" >/dev/null || { echo "not ok - required tool '$x' is not installed"; exit 1; }
done
T=$(mktemp -d /tmp/gg-rebuild-upstream.XXXXXX)
[ -n "${GG_KEEP_TMP:-}" ] || trap 'rm -rf "$T"' EXIT
srcs=$("$here/fetch-deb-src.sh" zlib lua5.4) || { echo "not ok - fetch the zlib and lua5.4 sources"; exit 1; }
zlib_src=$(echo "$srcs" | sed -n 1p)
lua_src=$(echo "$srcs" | sed -n 2p)
rc=0

cp -r "$zlib_src" "$T/zlib" && (cd "$T/zlib" && ./configure >/dev/null) || { echo "not ok - zlib: ./configure"; exit 1; }
echo "# zlib"
"$here/rebuild-harness.sh" -w "$T/zlib-work" -t 'libz.a libz.so.1.2.13 example minigzip' \
	"$T/zlib" "$here/rebuild/zlib.steps" -- make -j2 libz.a libz.so.1.2.13 example minigzip || rc=1

# Upstream's own Makefiles (Debian's build-system patch reverted) and the
# header debian/rules generates, as tests/e2e/infer_upstream.sh does.
cp -r "$lua_src" "$T/lua" &&
	(cd "$T/lua" && patch -s -R -p1 <debian/patches/0001-build-system.patch &&
		printf '#ifndef _LUA_DEB_MULTIARCH_\n#define _LUA_DEB_MULTIARCH_\n#define DEB_HOST_MULTIARCH "%s"\n#endif\n' \
			"$(gcc -print-multiarch)" >src/lua5.4-deb-multiarch.h) || { echo "not ok - lua: prepare the tree"; exit 1; }
echo "# lua5.4"
"$here/rebuild-harness.sh" -w "$T/lua-work" -t 'src/liblua.a src/lua src/luac' \
	"$T/lua" "$here/rebuild/lua.steps" -- make -j2 linux || rc=1
exit $rc
