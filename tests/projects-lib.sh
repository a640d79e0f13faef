# Shared steps of `make check-projects` (tests/projects/*.sh): a real Debian
# source package built lazily through its own build system and checked
# against a plain build of the same tree in the same directory.
#
#   proj_setup BUILD PACKAGE     fetch (tests/fetch-deb-src.sh), make $T; sets SRC, P
#   lua_prepare SRC DEST         Lua's tree as upstream builds it (lua.sh)
#   proj_plain CONF BUILD        plain configure (none if CONF is empty) + build in $P; the libraries,
#                                objects and programs it made (ELF files and
#                                ar archives) are listed in $T/outputs and kept
#                                in $T/plain/; then $P is removed
#   proj_infer CONF BUILD        the same tree again at the same path: gg init,
#                                gg infer CONF, gg infer BUILD; every output of
#                                the plain build must be a placeholder, and what
#                                ran for real must match the allow-list
#   proj_mount                   ggfs $P at $T/mnt, with a trace of every run
#   proj_in_mount CMD            CMD (bash) in $P with the mount bound over $P in
#                                a private mount namespace, so the absolute paths
#                                the build recorded (CTestTestfile.cmake, libtool
#                                wrappers, rpaths) are read through the mount
#   proj_still_lazy              the tests rebuilt nothing in $P
#   proj_compare                 every output read through the mount equals the
#                                plain build's (cmp)
#   proj_links_lazy              the plain build's symbolic links ($T/links) are
#                                there after inference, with the same targets
#   proj_links_mount             ... and through the mount, reading as the bytes
#                                of the plain build's file they lead to
#   proj_trace_runs TRACE        the thunks a trace shows run, by program
#   proj_umount_count            unmount; count the thunks the mount ran, by
#                                program, from its trace: compiles, links and
#                                archives at least as many as the plain build made
#   proj_rebuild TARGETS STEPS CMD...   tests/rebuild-harness.sh -s (plain builds at
#                                the lazy tree's path) on the pristine tree: each
#                                edit of STEPS rebuilt equals a clean plain build
#                                (not run, and said so, when GG_PROJ_NO_EDITS is
#                                set: make check-projects' ASan+UBSan pass)
#
# CONF and BUILD are bash command lines run in $P. Times are printed, never
# asserted.
. "$(dirname "${BASH_SOURCE[0]}")/e2e/lib.sh"

# What may run for real during inference, by reason (gg infer's log): while
# configuring, its probes (their result is wanted at once) and queries
# (--version, -print-*, cc -E); while building, queries only: every compile, link
# and archive must be a thunk. Printed by proj_infer.
PROJ_ALLOW_CONF='a configure probe|a CMake configure probe|a query|preprocessing or checking only'
PROJ_ALLOW_BUILD='a query'

now_ms() { echo $(($(date +%s%N) / 1000000)); }
is_ph() { head -c 64 "$1" 2>/dev/null | grep -aq '^ggfs-placeholder '; }
# ELF file or ar archive?
is_binary() {
	local m
	m=$(head -c 8 "$1" 2>/dev/null | tr -d '\0')
	[ "${m:0:4}" = $'\x7fELF' ] || [ "$m" = '!<arch>' ]
}

proj_setup() { # BUILD PACKAGE
	setup "$1"
	PKG=$2
	need gcc make cmp unshare mount python3 apt-get dpkg-source timeout
	[ -x "$BUILD/bin/ggfs" ] || { not_ok "ggfs is not built ($BUILD/bin/ggfs)"; finish; }
	local here
	here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	SRC=$("$here/fetch-deb-src.sh" "$PKG" 2>"$T/fetch.err")
	if [ $? -ne 0 ] || [ ! -d "$SRC" ]; then
		not_ok "$PKG: fetch the Debian source package"
		cat "$T/fetch.err"
		finish
	fi
	P=$T/$PKG
	HARNESS=$here/rebuild-harness.sh
	echo "# $PKG from $SRC"
}

# Lua 5.4 as upstream builds it (lua.sh, lua_team.sh): Debian's patches stay
# applied except 0001-build-system.patch, which is reverted; the header
# debian/rules generates, lua5.4-deb-multiarch.h, is written the same way.
lua_prepare() { # SRC DEST
	cp -a "$1" "$2" &&
		(cd "$2" && patch -s -R -p1 <debian/patches/0001-build-system.patch &&
			printf '#ifndef _LUA_DEB_MULTIARCH_\n#define _LUA_DEB_MULTIARCH_\n#define DEB_HOST_MULTIARCH "%s"\n#endif\n' \
				"$(gcc -print-multiarch)" >src/lua5.4-deb-multiarch.h) >"$T/prepare.out" 2>&1 ||
		{ not_ok "lua5.4: revert Debian's build-system patch"; tail -20 "$T/prepare.out"; return 1; }
}

proj_plain() { # CONF BUILD
	local t0 rc
	rm -rf "$P" && cp -a "$SRC" "$P" || { not_ok "$PKG: copy the source"; finish; }
	(cd "$P" && eval "$1") >"$T/plain-conf.out" 2>&1 || { not_ok "$PKG: plain configure: $1"; tail -20 "$T/plain-conf.out"; finish; }
	touch "$T/stamp"
	t0=$(now_ms)
	(cd "$P" && eval "$2") >"$T/plain-build.out" 2>&1
	rc=$?
	PLAIN_MS=$(($(now_ms) - t0))
	check "$PKG: plain build: $2 ($PLAIN_MS ms)" [ $rc -eq 0 ]
	[ $rc -eq 0 ] || { tail -20 "$T/plain-build.out"; finish; }
	local f
	: >"$T/outputs"
	while IFS= read -r f; do
		is_binary "$P/$f" && echo "$f" >>"$T/outputs"
	done < <(cd "$P" && find . -type f -newer "$T/stamp" ! -path './.gg/*' | sed 's|^\./||' | sort)
	NOUT=$(wc -l <"$T/outputs")
	check "$PKG: the plain build made libraries, objects and programs ($NOUT)" [ "$NOUT" -gt 0 ]
	mkdir -p "$T/plain"
	(cd "$P" && tar cf - -T "$T/outputs") | (cd "$T/plain" && tar xf -)
	# The symbolic links it made (a shared library's libx.so -> libx.so.1 ->
	# libx.so.1.2.3), "PATH TARGET" a line, for proj_links_lazy/proj_links_mount.
	(cd "$P" && find . -type l -newer "$T/stamp" ! -path './.gg/*' -printf '%P %l\n' | sort) >"$T/links"
	rm -rf "$P"
}

proj_infer() { # CONF BUILD
	local t0 rc
	cp -a "$SRC" "$P" || { not_ok "$PKG: copy the source"; finish; }
	(cd "$P" && gg init . >/dev/null) || { not_ok "$PKG: gg init"; finish; }
	t0=$(now_ms)
	if [ -n "$1" ]; then
		(cd "$P" && timeout 600 gg infer bash -c "$1") >"$T/infer-conf.out" 2>&1
		rc=$?
		check "$PKG: gg infer $1 ($(($(now_ms) - t0)) ms)" [ $rc -eq 0 ]
		[ $rc -eq 0 ] || { tail -20 "$T/infer-conf.out"; finish; }
	fi
	CONF_LINES=$(cat "$P/.gg/infer.log" 2>/dev/null | wc -l) # no log: nothing was logged
	t0=$(now_ms)
	(cd "$P" && timeout 600 gg infer bash -c "$2") >"$T/infer-build.out" 2>&1
	rc=$?
	INFER_MS=$(($(now_ms) - t0))
	check "$PKG: gg infer $2 ($INFER_MS ms; plain build $PLAIN_MS ms)" [ $rc -eq 0 ]
	[ $rc -eq 0 ] || { tail -20 "$T/infer-build.out"; finish; }
	local f missing=0
	while IFS= read -r f; do
		is_ph "$P/$f" || { echo "    not a placeholder after inference: $f"; missing=$((missing + 1)); }
	done <"$T/outputs"
	check "$PKG: every library, object and program of the plain build is a placeholder ($NOUT)" [ $missing -eq 0 ]
	# What ran for real, by phase, tool and reason; anything off the allow-lists fails.
	proj_real "configuring" "$PROJ_ALLOW_CONF" 1 "$CONF_LINES"
	proj_real "building" "$PROJ_ALLOW_BUILD" $((CONF_LINES + 1)) ''
}

proj_real() { # PHASE ALLOWED FIRST-LINE LAST-LINE (empty: to the end)
	local lines bad
	lines=$(awk -v a="$3" -v b="$4" 'NR >= a && (b == "" || NR <= b + 0)' "$P/.gg/infer.log" 2>/dev/null |
		grep ': ran the real tool: ')
	echo "    ran for real while $1 (allowed: $2):"
	[ -z "$lines" ] || sed -E 's/^gg infer: ([^:]*): ran the real tool: (a query|a configure probe|a CMake configure probe|[^:(]*).*/\1: \2/' <<<"$lines" |
		sort | uniq -c | sed 's/^/    /'
	bad=$(grep -Ev ": ran the real tool: ($2)" <<<"$lines")
	check "$PKG: while $1 nothing but $(sed 's/|/, /g' <<<"$2") ran for real" [ -z "$bad" ]
	[ -z "$bad" ] || head -n 20 <<<"$bad" | sed 's/^/    /'
}

proj_mount() {
	MNT=$T/mnt
	ggfs_mount "$P" "$MNT" "$T/ggfs.log" -o "trace=$T/trace.json" >/dev/null ||
		{ not_ok "$PKG: mount $P with ggfs"; finish; }
}

proj_in_mount() { # CMD
	local ns=(unshare -m)
	[ "$(id -u)" = 0 ] || ns=(unshare -r -m)
	"${ns[@]}" bash -c 'mount --bind "$1" "$2" && cd "$2" && eval "$3"' _ "$MNT" "$P" "$1"
}

# The tests through the mount rebuilt nothing: every output is still a placeholder.
proj_still_lazy() {
	local f left=0
	while IFS= read -r f; do
		is_ph "$P/$f" || { echo "    no longer a placeholder: $f"; left=$((left + 1)); }
	done <"$T/outputs"
	check "$PKG: the tests rebuilt nothing (every output is still a placeholder)" [ $left -eq 0 ]
}

proj_compare() {
	local f bad=0 t0
	t0=$(now_ms)
	while IFS= read -r f; do
		cmp -s "$MNT/$f" "$T/plain/$f" || { echo "    differs: $f"; bad=$((bad + 1)); }
	done <"$T/outputs"
	check "$PKG: every library, object and program read through the mount equals the plain build's ($NOUT files, $(($(now_ms) - t0)) ms)" [ $bad -eq 0 ]
}

# The thunks a trace shows run (events of category "run"), by program:
# "ar=1 cc1=30 ld=2" (empty when none ran).
proj_trace_runs() { # TRACE
	python3 - "$1" <<'EOF'
import json, sys, collections
ev = json.load(open(sys.argv[1]))["traceEvents"]
c = collections.Counter(e["name"].split()[0] for e in ev if e.get("cat") == "run")
print(" ".join("%s=%d" % kv for kv in sorted(c.items())))
EOF
}

proj_umount_count() {
	local rc
	ggfs_umount "$MNT"
	rc=$?
	check "$PKG: ggfs unmounts and exits cleanly" [ $rc -eq 0 ]
	check "$PKG: the mount's log has no sanitizer report" ggfs_log_clean "$T/ggfs.log"
	[ -s "$T/trace.json" ] || { not_ok "$PKG: the mount wrote its trace ($T/trace.json)"; return; }
	# Files the plain build made, by kind: objects, archives, linked files.
	local nobj=0 nar=0 nlink=0 f
	while IFS= read -r f; do
		case $(head -c 8 "$T/plain/$f" | tr -d '\0') in
		'!<arch>') nar=$((nar + 1)) ;;
		*) if [ "$(od -An -j16 -N2 -tu2 "$T/plain/$f" | tr -d ' ')" = 1 ]; then nobj=$((nobj + 1)); else nlink=$((nlink + 1)); fi ;;
		esac
	done <"$T/outputs"
	local counts
	counts=$(proj_trace_runs "$T/trace.json")
	echo "    thunks the mount ran, by program: $counts"
	echo "    the plain build made $nobj objects, $nar archives, $nlink linked files"
	count() { grep -o "\\b$1=[0-9]*" <<<"$counts" | cut -d= -f2; }
	local cc as ld ar
	cc=$(($(count cc1) + $(count cc1plus) + 0))
	as=$(($(count as) + 0))
	ld=$(($(count ld) + 0))
	ar=$(($(count ar) + 0))
	check "$PKG: every compile was a thunk run by the mount (cc1: $cc, as: $as >= $nobj objects)" \
		[ "$cc" -ge "$nobj" -a "$as" -ge "$nobj" ]
	check "$PKG: every archive was a thunk run by the mount (ar: $ar >= $nar)" [ "$ar" -ge "$nar" ]
	check "$PKG: every link was a thunk run by the mount (ld: $ld >= $nlink)" [ "$ld" -ge "$nlink" ]
}

# Every symbolic link the plain build made is there after inference, naming
# the same target (made for real, or a thunk's output).
proj_links_lazy() {
	local l t got bad=0 n
	n=$(wc -l <"$T/links")
	check "$PKG: the plain build made symbolic links ($n: $(cut -d' ' -f1 "$T/links" | tr '\n' ' '))" [ "$n" -gt 0 ]
	while read -r l t; do
		got=$(readlink "$P/$l") || got='(none)'
		[ "$got" = "$t" ] || { echo "    $l: $got after inference, $t in the plain build"; bad=$((bad + 1)); }
	done <"$T/links"
	check "$PKG: after inference every symbolic link names what the plain build's names" [ $bad -eq 0 ]
}

# Through the mount every symbolic link names the same target, and reading
# through it gives the plain build's bytes (the file at the end of its chain).
proj_links_mount() {
	local l t got bad=0 end hops
	while read -r l t; do
		got=$(readlink "$MNT/$l") || got='(none)'
		[ "$got" = "$t" ] || { echo "    $l: $got through the mount, $t in the plain build"; bad=$((bad + 1)); }
		# The plain build's file at the end of the chain (relative targets in one directory).
		end=$l hops=0
		while [ $hops -lt 8 ] && t=$(awk -v l="$end" '$1 == l { print $2; f = 1 } END { exit !f }' "$T/links"); do
			case $t in /* | */*) break ;; esac
			end=$(dirname "$end")/$t end=${end#./} hops=$((hops + 1))
		done
		[ -f "$T/plain/$end" ] && cmp -s "$MNT/$l" "$T/plain/$end" ||
			{ echo "    $l: read through the mount differs from the plain build's $end"; bad=$((bad + 1)); }
	done <"$T/links"
	check "$PKG: through the mount every symbolic link names the plain build's target and reads as its bytes" [ $bad -eq 0 ]
}

proj_rebuild() { # TARGETS STEPS CMD...
	local targets=$1 steps=$2 out rc
	shift 2
	if [ -n "${GG_PROJ_NO_EDITS:-}" ]; then # said, never silent: make check-projects' ASan pass
		echo "# $PKG: $(basename "$steps") not run in this pass (GG_PROJ_NO_EDITS is set; the plain pass runs it)"
		return
	fi
	out=$("$HARNESS" -s -t "$targets" "$SRC" "$steps" -- "$@" 2>&1)
	rc=$?
	sed 's/^/    /' <<<"$out"
	check "$PKG: after each edit of $(basename "$steps") the rebuild equals a clean plain build (tests/rebuild-harness.sh)" [ $rc -eq 0 ]
}
