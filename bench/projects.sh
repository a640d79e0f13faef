#!/usr/bin/env bash
# The projects of `make check-projects`, timed: per project, side by side,
#   plain build             make -j2 (or cmake --build) of a configured tree
#   gg infer                the same build leaving placeholders (fresh store)
#   cold force              gg force of every library and program, empty memo
#   infer + cold force      what a first lazy build costs in all
#   gg warm rebuild         after a one-file edit: gg infer + gg force
#   plain rebuild           the same edit, plain make
#   ccache cold / warm      the build with CC="ccache gcc" (configured so), an
#                           empty cache, then a fresh tree with the cache full
#   ccache rebuild          the one-file edit after the warm build
# Each row is wall and CPU time (user + system, children included) with its
# ratio to the plain build; on a shared machine CPU is the steadier. Not part
# of CI (times are printed, never asserted). Configuring is not timed.
#
#   bench/projects.sh [BUILD_DIR]      GG_BENCH_PROJECTS="zlib json-c libyaml"
#
# Projects: those of make check-projects, built as tests/projects/*.sh build
# them: zlib, zlib-cmake, json-c, libyaml, xz-utils, lua, git (git's plain
# build alone takes minutes on two cores; the default set leaves it out).
#
# Sources come from tests/fetch-deb-src.sh; ccache rows need the ccache
# package (skipped, saying so, without it).
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
export PATH="$build/bin:$PATH"
projects=${GG_BENCH_PROJECTS:-zlib json-c libyaml}
have_ccache=$(command -v ccache || true)
[ -x /usr/bin/time ] || { echo "bench/projects.sh: /usr/bin/time is required (apt-get install time)" >&2; exit 1; }
work=$(mktemp -d /tmp/gg-bench-projects.XXXXXX)
trap 'rm -rf "$work"' EXIT

timed() { # COMMAND (bash) -> "WALL CPU"
	sync
	/usr/bin/time -f '%e %U %S' -o "$work/time.out" bash -c "$1" >"$work/last.log" 2>&1 ||
		{ echo "bench/projects.sh: failed: $1" >&2; tail -n 20 "$work/last.log" >&2; exit 1; }
	awk '{ printf "%s %.2f\n", $1, $2 + $3 }' "$work/time.out"
}
add() { echo "$@" | awk '{ printf "%.2f %.2f\n", $1 + $3, $2 + $4 }'; }
row() { # LABEL "WALL CPU" "BASE_WALL BASE_CPU"
	echo "$2 $3" | awk -v l="$1" '{ printf "  %-24s %7.2f s %6.2fx   cpu %7.2f s %6.2fx\n", l, $1, $1 / $3, $2, $2 / $4 }'
}

# Per project: the source, how to prepare, configure and build, the edit
# (the first edit of the project's tests/projects/*.steps that changes a .c
# file). Configure scripts take the compiler from CC; Makefiles that set CC
# themselves (lua, git) are given $BENCH_CC on make's command line.
flags='CFLAGS="$(dpkg-buildflags --get CFLAGS)" LDFLAGS="$(dpkg-buildflags --get LDFLAGS)"'
export BENCH_CC=gcc
setup_project() { # NAME: sets SRC PREP CONF MK EDIT
	local pkg=$1
	case $1 in zlib-cmake) pkg=zlib ;; lua) pkg=lua5.4 ;; esac
	SRC=$("$here/../tests/fetch-deb-src.sh" "$pkg" | tail -n1)
	PREP=true
	CONF=true
	case $1 in
	zlib)
		CONF="$flags ./configure"
		MK="make -j2"
		EDIT="sed -i 's|^#define NMAX 5552|#define NMAX 5000|' adler32.c && grep -q 'NMAX 5000' adler32.c"
		;;
	zlib-cmake)
		PREP="mkdir -p win32 && : >win32/zlib1.rc"
		CONF="$flags cmake -S . -B build -DCMAKE_BUILD_TYPE=None"
		MK="cmake --build build -j2"
		EDIT="sed -i 's|^#define NMAX 5552|#define NMAX 5000|' adler32.c && grep -q 'NMAX 5000' adler32.c"
		;;
	xz-utils)
		CONF="./configure --disable-nls --disable-doc $flags"
		MK="make -j2 && make -j2 check TESTS="
		EDIT="sed -i 's|^message_version(void)\$|/* edited */\\nmessage_version(void)|' src/xz/message.c && grep -q '^/\\* edited' src/xz/message.c"
		;;
	lua)
		# upstream's Makefiles, as tests/projects-lib.sh's lua_prepare
		PREP="patch -s -R -p1 <debian/patches/0001-build-system.patch &&
			printf '#ifndef _LUA_DEB_MULTIARCH_\\n#define _LUA_DEB_MULTIARCH_\\n#define DEB_HOST_MULTIARCH \"%s\"\\n#endif\\n' \"\$(gcc -print-multiarch)\" >src/lua5.4-deb-multiarch.h"
		MK='make -j2 linux-readline CC="$BENCH_CC -std=gnu99" MYCFLAGS="$(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS)" MYLDFLAGS="$(dpkg-buildflags --get LDFLAGS)"'
		EDIT="sed -i 's|\"invalid capture index|\"bad capture index|' src/lstrlib.c && grep -q 'bad capture index' src/lstrlib.c"
		;;
	git)
		MK='make -j2 git NO_OPENSSL=1 USE_LIBPCRE2=1 prefix=/usr gitexecdir=/usr/lib/git-core DEFAULT_PAGER=pager DEFAULT_EDITOR=editor CC="$BENCH_CC" HOST_CPU="$(dpkg-architecture -qDEB_HOST_GNU_CPU)" CFLAGS="-Wall $(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS)" LDFLAGS="$(dpkg-buildflags --get LDFLAGS)"'
		EDIT="sed -i 's|\"grow, mark and tweak your common history\"|\"grow, mark and tweak your shared history\"|' help.c && grep -q 'your shared history' help.c"
		;;
	json-c)
		CONF="$flags cmake -S . -B build -DCMAKE_BUILD_TYPE=None"
		MK="cmake --build build -j2"
		EDIT="sed -i 's|lh_kchar_table_new(JSON_OBJECT_DEF_HASH_ENTRIES,|lh_kchar_table_new(JSON_OBJECT_DEF_HASH_ENTRIES + 1,|' json_object.c && grep -q 'HASH_ENTRIES + 1,' json_object.c"
		;;
	libyaml)
		PREP="./bootstrap"
		CONF="./configure $flags"
		MK="make -j2"
		EDIT="sed -i 's|^yaml_get_version_string(void)\$|/* edited */\\nyaml_get_version_string(void)|' src/api.c && grep -q '^/\\* edited' src/api.c"
		;;
	*) echo "bench/projects.sh: unknown project $1" >&2; exit 2 ;;
	esac
}

fresh() { # DIR [CC]: a configured tree at DIR; CC (default gcc) is BENCH_CC from then on
	BENCH_CC=${2:-gcc}
	rm -rf "$1"
	cp -a "$SRC" "$1"
	(cd "$1" && bash -c "$PREP" && CC=$BENCH_CC bash -c "$CONF") >"$work/conf.log" 2>&1 ||
		{ echo "bench/projects.sh: configuring $1 failed" >&2; tail -n 20 "$work/conf.log" >&2; exit 1; }
}

bench_project() { # NAME
	setup_project "$1"
	echo "== $1 ($(nproc) CPUs)"
	local p pr i c w
	# The same directory for every build: outputs record it.
	local d=$work/tree
	fresh "$d" && p=$(cd "$d" && timed "$MK")
	local outs
	# every library and program the build made (ELF files and ar archives)
	outs=$(cd "$d" && find . -type f -newer "$work/conf.log" ! -name '*.o' | sort | while read -r f; do
		m=$(head -c 8 "$f" | tr -d '\0')
		[ "${m:0:4}" != $'\x7fELF' ] && [ "$m" != '!<arch>' ] || printf '%s ' "$f"
	done)
	(cd "$d" && bash -c "$EDIT") && pr=$(cd "$d" && timed "$MK")
	rm -rf "$work/store" && mkdir "$work/store" && (cd "$work/store" && gg init . >/dev/null)
	export GG_DIR=$work/store/.gg
	fresh "$d"
	(cd "$d" && gg infer bash -c "$CONF" >/dev/null 2>&1) || true
	local mk n
	mk="gg infer bash -c $(printf %q "$MK")"
	i=$(cd "$d" && timed "$mk")
	c=$(cd "$d" && timed "gg force --no-progress --trace $work/cold.json $outs")
	n=$(gg report "$work/cold.json" | sed -n 's/^trace [^:]*: \([0-9]*\) thunk runs.*/\1/p')
	(cd "$d" && bash -c "$EDIT")
	w=$(cd "$d" && timed "$mk && gg force --no-progress $outs")
	unset GG_DIR
	row "plain build" "$p" "$p"
	row "gg infer" "$i" "$p"
	row "cold force" "$c" "$p"
	row "infer + cold force" "$(add $i $c)" "$p"
	# gg's cost beyond the compilers' own work, per thunk the cold force ran
	echo "$(add $i $c) $p ${n:-0}" | awk '$5 > 0 { printf "  %-24s %7.1f ms a thunk (%d thunks; wall, over the plain build)\n", "gg overhead", ($1 - $3) * 1000 / $5, $5 }'
	row "plain rebuild (1 edit)" "$pr" "$p"
	row "gg warm rebuild" "$w" "$p"
	if [ -n "$have_ccache" ]; then
		local cc cw ce
		export CCACHE_DIR=$work/ccache
		rm -rf "$CCACHE_DIR"
		fresh "$d" "ccache gcc" && cc=$(cd "$d" && timed "$MK")
		fresh "$d" "ccache gcc" && cw=$(cd "$d" && timed "$MK")
		(cd "$d" && bash -c "$EDIT") && ce=$(cd "$d" && timed "$MK")
		unset CCACHE_DIR
		row "ccache cold" "$cc" "$p"
		row "ccache warm" "$cw" "$p"
		row "ccache rebuild (1 edit)" "$ce" "$p"
	else
		echo "  ccache: not installed (apt-get install ccache), its rows are left out"
	fi
}

for project in $projects; do
	bench_project "$project"
done
