#!/usr/bin/env bash
# git (Debian's source package) through its own Makefile, build only (its
# test suite is too long): `make -j2 git` with the make variables
# debian/rules passes (NO_OPENSSL=1, USE_LIBPCRE2=1, prefix=/usr,
# gitexecdir=/usr/lib/git-core, Debian's compiler flags: -Wall, -g -O2,
# -ffile-prefix-map=DIR=., hardening). The target `git` is the program
# every built-in is linked into: libgit.a, xdiff/lib.a and
# reftable/libreftable.a (ar rcs) and some 400 objects, with the headers
# the Makefile generates by shell script (command-list.h, config-list.h,
# hook-list.h) and GIT-VERSION-FILE. (`all` would add the curl and expat
# programs, whose -dev packages are installed, and ~150 hard links of
# built-ins to git; NO_CURL/NO_EXPAT are not needed. NO_GETTEXT, NO_TCLTK,
# NO_PERL and NO_PYTHON concern only `all`'s scripts and po files.)
# Inferred and forced through a ggfs mount; the lazily built git, by its
# absolute path in the mount, makes a repository, adds and commits, giving
# the commit ids a plain build's git gives; every object, archive and the
# program equal a plain build's, debug info included; then
# tests/projects/git.steps through the rebuild harness (a .c file, a
# header every object includes, its revert, an edit, revert and edit again
# within one second), each step equal to a clean plain build. See tests/projects-lib.sh.
. "$(dirname "$0")/../projects-lib.sh"
proj_setup "${1:?usage: $0 BUILD_DIR}" git
need dpkg-buildflags dpkg-architecture
# git's Makefile probes the compiler whenever make reads it (dep_check:
# cc -c -MF /dev/null ... -x c /dev/null -o /dev/null, whether -MMD works);
# it reads and writes only /dev/null and its exit status is wanted at once,
# so it runs for real. Nothing else may while building.
PROJ_ALLOW_BUILD='a query|a configure probe \(its result is wanted now\): .* -c -MF /dev/null -MQ /dev/null -MMD -MP -x c /dev/null -o /dev/null$'
# dpkg-buildflags runs in the tree: its -ffile-prefix-map names it, as in a package build.
build='make -j2 git V=1 NO_OPENSSL=1 USE_LIBPCRE2=1 prefix=/usr gitexecdir=/usr/lib/git-core \
	DEFAULT_PAGER=pager DEFAULT_EDITOR=editor CC=gcc HOST_CPU="$(dpkg-architecture -qDEB_HOST_GNU_CPU)" \
	CFLAGS="-Wall $(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS)" LDFLAGS="$(dpkg-buildflags --get LDFLAGS)"'
proj_plain "" "$build"
proj_infer "" "$build"
proj_mount

# A repository made, added to and committed twice with GIT (its absolute
# path), with a fixed identity and dates: the commit ids, the tree and the
# diff depend only on what git computes. No system or user configuration
# but the one written here (no automatic gc/maintenance, which would start
# the git of gitexecdir).
cat >"$T/commit.sh" <<'SH'
set -e
g=$1 r=$2
export HOME=$r.home GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=gg GIT_AUTHOR_EMAIL=gg@example.org \
	GIT_COMMITTER_NAME=gg GIT_COMMITTER_EMAIL=gg@example.org \
	GIT_AUTHOR_DATE='2026-01-01T00:00:00Z' GIT_COMMITTER_DATE='2026-01-01T00:00:00Z'
mkdir -p "$HOME" "$r"
printf '[init]\n\tdefaultBranch = main\n[gc]\n\tauto = 0\n[maintenance]\n\tauto = false\n' >"$HOME/.gitconfig"
cd "$r"
"$g" init -q --template=
printf 'lazy builds with gg infer\n' >README
mkdir src && seq 1 500 >src/numbers
"$g" add .
"$g" commit -q -m 'first'
seq 1 3 500 >src/numbers && printf 'x\n' >src/new
"$g" add src/new
"$g" commit -q -a -m 'second'
"$g" log --format='%H %T %s'
"$g" diff --stat HEAD~1 HEAD
"$g" fsck --strict --no-progress
"$g" status --porcelain=v2 --branch
SH
want=$(bash "$T/commit.sh" "$T/plain/git" "$T/repo-plain" 2>&1)
echo "$want" | sed 's/^/    plain git: /'
wantv=$("$T/plain/git" --version 2>&1)
t0=$(now_ms)
out=$("$MNT/git" --version 2>&1)
check "git: the lazily built git runs through the mount ($(($(now_ms) - t0)) ms incl. forcing): $out" \
	[ -n "$wantv" -a "$out" = "$wantv" ]
out=$(bash "$T/commit.sh" "$MNT/git" "$T/repo-lazy" 2>&1)
check "git: by its absolute path in the mount it inits, adds and commits with the plain git's commit ids" \
	[ "$(grep -c ' second$\| first$' <<<"$want")" = 2 -a "$out" = "$want" ]
[ "$out" = "$want" ] || diff <(echo "$want") <(echo "$out") | head -20 | sed 's/^/    /'
proj_still_lazy
proj_compare
proj_umount_count
proj_rebuild 'git libgit.a help.o wildmatch.o' "$(dirname "$0")/git.steps" bash -c "$build"
finish
