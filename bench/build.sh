#!/usr/bin/env bash
# Builds real projects plainly, lazily with gg infer, and with ccache, and
# prints every time as a ratio to plain `make -j2` measured in the same run.
#
#   bench/build.sh [BUILD_DIR]          (default: build)
#
# For each project in $GG_BENCH_BUILD_PROJECTS (default "lua5.4 git": lua,
# and git's ~400 C files, which take about ten minutes more; set it to
# "lua5.4" for a quick run), all from Debian's source packages:
#   plain make -j2            the baseline (a fresh copy of the sources)
#   (store learns toolchain)  once per store: a hello world through gg infer
#                             hashes and copies cc1, as, ld, libc... into it
#   gg infer                  the build leaving placeholders (a store that knows
#                             the toolchain but has nothing of this project)
#   cold force                gg force of the outputs, nothing in the memo
#   infer + cold force        what a first lazy build costs in all
#   warm: infer + force       after deleting the build tree: a fresh copy,
#                             gg infer again, gg force (all memo hits)
#   ccache cold / warm        make -j2 with CC="ccache gcc", empty cache, then
#                             again after deleting the build tree
#   preprocessed: ...         gg infer and cold force with GG_INFER_PREPROCESS=1
#                             (compile thunks read the host-made .i, no headers)
# Goals: infer + cold force <= 1.3x plain; warm <= ccache warm. Each row shows
# wall time and CPU time (user + system, children included), each as a ratio
# to plain make's; on a shared machine the CPU ratio is the steadier one.
# Sources come from tests/fetch-deb-src.sh ($GG_SRC_CACHE); ccache is the
# Debian package of that name. GG_BENCH_BUILD_RUNS repeats each measurement
# (default 1) and keeps the best; GG_BENCH_BUILD_ONLY picks projects by name.
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
export PATH="$build/bin:$PATH"
runs=${GG_BENCH_BUILD_RUNS:-1}
projects=${GG_BENCH_BUILD_PROJECTS:-lua5.4 git}
only=${GG_BENCH_BUILD_ONLY:-}
for t in gg make gcc ccache patch; do
	command -v "$t" >/dev/null || { echo "bench/build.sh: $t is required (ccache: apt-get install ccache)" >&2; exit 1; }
done
work=$(mktemp -d /tmp/gg-bench-build.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"

# Prints "WALL CPU" seconds COMMAND... takes, CPU being user + system time of
# it and its children (output goes to $work/last.log). The machine may be
# shared: CPU time is the steadier of the two.
#
# Each measurement starts on a settled filesystem: `sync`, then a pause of
# $GG_BENCH_SETTLE seconds (default 6). On ext4 without a journal (this
# machine's root) the inode allocator skips inodes freed in the last 5 seconds
# (35 while their table block is dirty), reading each one's table entry, so
# right after the `cp -r`/`rm -rf` of preparing a tree every file creation
# costs milliseconds (measured: 0.6 ms vs 27 us per create). Unsettled, the
# step that creates the most files pays for the preparation's churn.
timed() {
	sync
	sleep "${GG_BENCH_SETTLE:-6}"
	/usr/bin/time -f '%e %U %S' -o "$work/time.out" "$@" >"$work/last.log" 2>&1 ||
		{ echo "bench/build.sh: failed: $*" >&2; tail -n 20 "$work/last.log" >&2; exit 1; }
	awk '{ printf "%s %.2f\n", $1, $2 + $3 }' "$work/time.out"
}
# The best (smallest wall time) of several "WALL CPU" measurements.
best() { printf '%s\n' "$@" | sort -g | head -n1; }
add() { echo "$@" | awk '{ printf "%.2f %.2f\n", $1 + $3, $2 + $4 }'; }
row() { # LABEL "WALL CPU" "BASE_WALL BASE_CPU"
	echo "$2 $3" | awk -v l="$1" '{ printf "  %-26s %7.2f s %6.2fx   cpu %7.2f s %6.2fx\n", l, $1, $1 / $3, $2, $2 / $4 }'
}

# ---- lua5.4: upstream's Makefile (prepared as tests/projects/lua.sh does) ----
lua_src=
lua_prep() { # DEST
	[ -n "$lua_src" ] || lua_src=$("$here/../tests/fetch-deb-src.sh" lua5.4 | tail -n1)
	rm -rf "$1"
	cp -r "$lua_src" "$1"
	(cd "$1" && patch -s -R -p1 <debian/patches/0001-build-system.patch &&
		printf '#ifndef _LUA_DEB_MULTIARCH_\n#define _LUA_DEB_MULTIARCH_\n#define DEB_HOST_MULTIARCH "%s"\n#endif\n' \
			"$(gcc -print-multiarch)" >src/lua5.4-deb-multiarch.h)
}
lua_make="make -j2 linux"
lua_outputs="src/lua src/luac"

# A fresh store learns the toolchain (cc1, as, ld, libc, crt files: hashed and
# copied in) the first time a model uses it. That happens once per store, not
# per project: it is measured apart, on a hello world.
fresh_store() { # -> prints "WALL CPU" of teaching it the toolchain
	rm -rf "$work/store" "$work/hello"
	mkdir -p "$work/store" "$work/hello"
	(cd "$work/store" && gg init . >/dev/null)
	printf '#include <stdio.h>\nint main(void) { puts("hi"); return 0; }\n' >"$work/hello/h.c"
	(cd "$work/hello" && timed gg infer gcc -O2 h.c -o h)
}

bench_project() { # NAME PREP MAKE OUTPUTS CCACHE-CC
	local name=$1 prep=$2 mk=$3 outs=$4 ccc=$5
	local plain=() infer=() cold=() warm=() ccold=() cwarm=() pinfer=() pcold=() ingest=()
	echo "== $name ($(nproc) CPUs)"
	for ((r = 0; r < runs; r++)); do
		$prep "$work/p" && plain+=("$(cd "$work/p" && timed $mk)")

		$prep "$work/l"
		export GG_DIR="$work/store/.gg"
		ingest+=("$(fresh_store)")
		infer+=("$(cd "$work/l" && timed gg infer $mk)")
		cold+=("$(cd "$work/l" && timed gg force --no-progress --trace "$work/$name.trace.json" $outs)")
		$prep "$work/l"
		warm+=("$(cd "$work/l" && timed sh -c "gg infer $mk && gg force --no-progress $outs")")
		unset GG_DIR

		# the preprocessed mode: compile thunks read a host-made .i, no headers
		$prep "$work/l"
		export GG_DIR="$work/store/.gg" GG_INFER_PREPROCESS=1
		fresh_store >/dev/null
		pinfer+=("$(cd "$work/l" && timed gg infer $mk)")
		pcold+=("$(cd "$work/l" && timed gg force --no-progress $outs)")
		unset GG_DIR GG_INFER_PREPROCESS

		rm -rf "$work/ccache"
		export CCACHE_DIR="$work/ccache" CCACHE_NOHASHDIR=1 CCACHE_BASEDIR="$work"
		$prep "$work/c" && ccold+=("$(cd "$work/c" && timed $mk CC="$ccc")")
		$prep "$work/c" && cwarm+=("$(cd "$work/c" && timed $mk CC="$ccc")")
		unset CCACHE_DIR CCACHE_NOHASHDIR CCACHE_BASEDIR
	done
	local p i c w cc cw
	p=$(best "${plain[@]}") i=$(best "${infer[@]}") c=$(best "${cold[@]}") w=$(best "${warm[@]}")
	cc=$(best "${ccold[@]}") cw=$(best "${cwarm[@]}")
	local ic pi pc pic
	ic=$(add $i $c)
	pi=$(best "${pinfer[@]}") pc=$(best "${pcold[@]}")
	pic=$(add $pi $pc)
	row "plain make -j2" "$p" "$p"
	row "(store learns the toolchain)" "$(best "${ingest[@]}")" "$p"
	row "gg infer" "$i" "$p"
	row "cold force" "$c" "$p"
	row "infer + cold force" "$ic" "$p"
	row "warm: infer + force" "$w" "$p"
	row "preprocessed: gg infer" "$pi" "$p"
	row "preprocessed: cold force" "$pc" "$p"
	row "preprocessed: infer + cold" "$pic" "$p"
	row "ccache cold" "$cc" "$p"
	row "ccache warm" "$cw" "$p"
	# The same cold build, modelled on 1,000 cloud functions from its trace
	# (parameters are printed; see bench/cloud_model.py).
	python3 "$here/cloud_model.py" "$work/$name.trace.json" | sed 's/^/  /'
	echo "$ic $p $w $cw $pic" | awk 'function ok(x) { return x ? "met" : "missed" } {
		printf "  goal infer + cold force <= 1.3x plain: wall %s (%.2fx), cpu %s (%.2fx)\n",
			ok($1 <= 1.3 * $3), $1 / $3, ok($2 <= 1.3 * $4), $2 / $4
		printf "    (preprocessed mode):                 wall %s (%.2fx), cpu %s (%.2fx)\n",
			ok($9 <= 1.3 * $3), $9 / $3, ok($10 <= 1.3 * $4), $10 / $4
		printf "  goal warm <= ccache warm:               wall %s (%.2f vs %.2f s), cpu %s (%.2f vs %.2f s)\n",
			ok($5 <= $7), $5, $7, ok($6 <= $8), $6, $8 }'
}

[ -x /usr/bin/time ] || { echo "bench/build.sh: /usr/bin/time is required (apt-get install time)" >&2; exit 1; }
# ---- git: ~400 C files, its own Makefile (no configure), optional ----
git_src=
git_prep() { # DEST
	rm -rf "$1"
	cp -r "$git_src" "$1"
}
git_make="make -j2 NO_OPENSSL=1 NO_CURL=1 NO_EXPAT=1 NO_GETTEXT=1 NO_TCLTK=1 NO_PERL=1 NO_PYTHON=1 git"

for project in $projects; do
	[ -z "$only" ] || [[ $project == *"$only"* ]] || continue
	case $project in
	lua5.4) bench_project lua5.4 lua_prep "$lua_make" "$lua_outputs" "ccache gcc -std=gnu99" ;;
	git)
		git_src=$("$here/../tests/fetch-deb-src.sh" git | tail -n1)
		bench_project git git_prep "$git_make" git "ccache gcc"
		;;
	*) echo "bench/build.sh: unknown project $project" >&2 ;;
	esac
done
