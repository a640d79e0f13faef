#!/usr/bin/env bash
# Fetches and unpacks Debian source packages into a cache, for the tests and
# benchmarks that build real upstream projects.
#
#   tests/fetch-deb-src.sh PACKAGE...
#
# Prints one line per package: the absolute path of its unpacked source tree
# (e.g. /var/cache/ggfs-src/zlib/zlib-1.2.13.dfsg). The cache is
# $GG_SRC_CACHE (default /var/cache/ggfs-src); a package already there is
# not fetched again. Delete its directory to refetch.
#
# It never touches the system's apt configuration: it writes a private
# deb-src list naming the same Debian mirror the system's
# /etc/apt/sources.list{,.d/*} use (read at run time), keeps the package
# lists in a private directory, and runs
#   apt-get -o Dir::Etc::SourceList=FILE -o Dir::Etc::SourceParts=/dev/null \
#           -o Dir::State::Lists=DIR {update,source}
# dpkg-source (package dpkg-dev) unpacks the sources.
set -euo pipefail

cache=${GG_SRC_CACHE:-/var/cache/ggfs-src}
[ $# -gt 0 ] || { echo "usage: $0 PACKAGE..." >&2; exit 2; }
command -v apt-get >/dev/null || { echo "$0: apt-get is required" >&2; exit 1; }
command -v dpkg-source >/dev/null || { echo "$0: dpkg-source is required (apt-get install dpkg-dev)" >&2; exit 1; }
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)

# The system's first Debian "deb" entry: "URI SUITE... | COMPONENTS | SIGNED-BY".
# One-line lists: deb [options] URI SUITE COMPONENT...; deb822 .sources: stanzas.
system_mirror() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		awk '$1 == "deb" {
			i = 2; opts = ""
			if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) { opts = opts " " $i; i++ } opts = opts " " $i; i++ }
			if ($i ~ /security/) next
			signed = ""
			if (match(opts, /signed-by=[^] ]*/)) signed = substr(opts, RSTART + 10, RLENGTH - 10)
			uri = $i; suite = $(i + 1); comps = ""
			for (j = i + 2; j <= NF; j++) comps = comps " " $j
			print uri "|" suite "|" substr(comps, 2) "|" signed; exit
		}' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk 'function flush() {
			if (types ~ /(^| )deb( |$)/ && uris != "" && uris !~ /security/ && !done) {
				split(uris, u, " "); print u[1] "|" suites "|" comps "|" signed; done = 1
			}
			types = uris = suites = comps = signed = ""
		}
		/^[ \t]*$/ { flush(); next }
		/^#/ { next }
		{ key = $1; sub(/:$/, "", key); val = $0; sub(/^[^:]*:[ \t]*/, "", val)
		  if (key == "Types") types = val; else if (key == "URIs") uris = val
		  else if (key == "Suites") suites = val; else if (key == "Components") comps = val
		  else if (key == "Signed-By") signed = val }
		END { flush() }' "$f"
	done
}

mirror=$(system_mirror | head -n1)
[ -n "$mirror" ] || { echo "$0: no Debian 'deb' entry in /etc/apt/sources.list{,.d/*}" >&2; exit 1; }
IFS='|' read -r uri suites comps signed <<<"$mirror"

apt_dir="$cache/.apt"
mkdir -p "$apt_dir/lists/partial"
list="$apt_dir/sources.list"
{
	for s in $suites; do
		echo "deb-src ${signed:+[signed-by=$signed] }$uri $s ${comps:-main}"
	done
} >"$list.new"
mv "$list.new" "$list"
apt_opts=(-o "Dir::Etc::SourceList=$list" -o "Dir::Etc::SourceParts=/dev/null"
	-o "Dir::State::Lists=$apt_dir/lists" -o "APT::Sandbox::User=root")

updated=
for pkg in "$@"; do
	dir="$cache/$pkg"
	if [ -f "$dir/.complete" ]; then
		cat "$dir/.complete"
		continue
	fi
	if [ -z "$updated" ]; then
		echo "fetch-deb-src: apt-get update with a private deb-src list ($uri $suites)" >&2
		apt-get "${apt_opts[@]}" -qq update >&2
		updated=1
	fi
	rm -rf "$dir.tmp"
	mkdir -p "$dir.tmp"
	(cd "$dir.tmp" && apt-get "${apt_opts[@]}" -qq source "$pkg" >&2)
	src=$(find "$dir.tmp" -mindepth 1 -maxdepth 1 -type d | head -n1)
	[ -n "$src" ] || { echo "$0: apt-get source $pkg unpacked nothing" >&2; exit 1; }
	rm -rf "$dir"
	mv "$dir.tmp" "$dir"
	echo "$dir/$(basename "$src")" >"$dir/.complete"
	cat "$dir/.complete"
done
