#!/usr/bin/env bash
# make mutate: runs the mutation catalogue (tests/mutants.txt) and says,
# for each mutant, whether the tests kill it.
#
# Each mutant is a one-line bug a user would feel, put into a check that
# guards a result or a boundary. In a scratch copy of the tree, each one in
# turn is applied (its `find` text, which must occur exactly once in
# `file`, becomes `replace`), the tree is rebuilt (incrementally), and the
# tests named by `tests:` run (GG_TESTS substrings of tests/run.sh); the
# first that fails kills it. A survivor is run against the whole suite when
# GG_MUTATE_FULL=1. A mutant with `equivalent: REASON` cannot change
# behaviour: it is listed, not run. Prints one line per mutant and a
# summary; exits 1 if any mutant survived or is malformed.
#
#   tests/mutate.sh [ID-SUBSTRING]      (make mutate; GG_MUTANT=... likewise)
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
catalogue=${GG_MUTANTS:-$src/tests/mutants.txt}
only=${1:-${GG_MUTANT:-}}
work=$(mktemp -d /tmp/gg-mutate.XXXXXX)
trap 'rm -rf "$work"' EXIT
# The tree as it is (tracked and untracked, not ignored), without builds.
(cd "$src" && git ls-files -z -co --exclude-standard | tar --null -T - -cf -) | tar -C "$work" -xf -
cd "$work"
echo "mutate: building the unmutated tree in $work"
if ! make -j2 BUILD=build tests >build.log 2>&1; then
	tail -20 build.log
	echo "mutate: the unmutated tree does not build"
	exit 1
fi

# The catalogue as records: id, file, find, replace, tests, equivalent (tab-separated
# fields would clash with the text; one file per record instead).
mkdir recs
python3 - "$catalogue" recs <<'PY'
import sys, os
path, out = sys.argv[1], sys.argv[2]
recs, cur = [], {}
for line in open(path, encoding='utf-8').read().split('\n'):
    if not line.strip():
        if cur: recs.append(cur); cur = {}
        continue
    key, sep, val = line.partition(': ')
    if not sep:
        key, sep, val = line.partition(':')
    cur[key.strip()] = val
if cur: recs.append(cur)
for i, r in enumerate(recs):
    d = os.path.join(out, '%04d' % i)
    os.mkdir(d)
    for k in ('id', 'file', 'find', 'replace', 'tests', 'why', 'equivalent'):
        open(os.path.join(d, k), 'w', encoding='utf-8').write(r.get(k, ''))
PY

apply() { # FILE FIND REPLACE: exactly one occurrence, else exit 2
	python3 - "$@" <<'PY'
import sys
f, find, rep = sys.argv[1], open(sys.argv[2]).read(), open(sys.argv[3]).read()
s = open(f, encoding='utf-8').read()
n = s.count(find) if find else 0
if n != 1:
    print("'find' occurs %d times in %s" % (n, f)); sys.exit(2)
open(f, 'w', encoding='utf-8').write(s.replace(find, rep, 1))
PY
}

killed=0 survived=0 stillborn=0 bad=0 equivalent=0 t_start=$SECONDS
survivors=() malformed=()
for r in recs/*; do
	id=$(cat "$r/id") file=$(cat "$r/file") tests=$(cat "$r/tests")
	[ -z "$only" ] || [[ "$id" == *"$only"* ]] || continue
	if [ -s "$r/equivalent" ]; then
		equivalent=$((equivalent + 1))
		echo "EQUIVALENT $id: $(cat "$r/equivalent")"
		continue
	fi
	if [ -z "$id" ] || [ ! -f "$file" ] || [ -z "$tests" ]; then
		bad=$((bad + 1)); malformed+=("$id")
		echo "MALFORMED ${id:-(no id)}: needs id, an existing file and tests"
		continue
	fi
	cp -p "$file" "$r/orig"
	if ! why=$(apply "$file" "$r/find" "$r/replace"); then
		bad=$((bad + 1)); malformed+=("$id")
		echo "MALFORMED $id: $why"
		continue
	fi
	t0=$SECONDS
	if ! make -j2 BUILD=build tests >"$r/build.log" 2>&1; then
		stillborn=$((stillborn + 1))
		echo "STILLBORN $id: does not build (a mutant must compile): $(grep -m1 'error:' "$r/build.log")"
	else
		by=
		for t in $tests; do
			if ! GG_TESTS="$t" timeout 900 tests/run.sh build >"$r/test.log" 2>&1; then
				by=$t
				break
			fi
		done
		if [ -z "$by" ] && [ -n "${GG_MUTATE_FULL:-}" ]; then
			timeout 3600 tests/run.sh build >"$r/test.log" 2>&1 ||
				by="the whole suite ($(grep -m1 '^FAIL' "$r/test.log" | cut -d' ' -f2))"
		fi
		if [ -n "$by" ]; then
			killed=$((killed + 1))
			echo "KILLED $id by $by ($((SECONDS - t0)) s)"
		else
			survived=$((survived + 1)); survivors+=("$id")
			echo "SURVIVED $id ($file): $(cat "$r/why")"
		fi
	fi
	cp -p "$r/orig" "$file"
	touch "$file" # newer than its object: the next build recompiles it
done
live=$((killed + survived))
echo
echo "mutants: $((live + stillborn + bad + equivalent)) in the catalogue; $killed killed, $survived survived," \
	"$stillborn do not build, $bad malformed, $equivalent equivalent ($((SECONDS - t_start)) s)"
[ $live -gt 0 ] && echo "kill ratio: $killed/$live = $((100 * killed / live))%"
[ ${#survivors[@]} -eq 0 ] || echo "survivors: ${survivors[*]}"
[ ${#malformed[@]} -eq 0 ] || echo "malformed: ${malformed[*]}"
[ $survived -eq 0 ] && [ $bad -eq 0 ]
