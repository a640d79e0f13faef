#!/usr/bin/env bash
# make mutate: runs the mutation catalogue (tests/mutants.txt) and says,
# for each mutant, whether the tests kill it.
#
# Each mutant is a one-line bug a user would feel, put into a check that
# guards a result or a boundary. In a scratch copy of the tree, each one in
# turn is applied (its `find` text, which must occur exactly once in
# `file`, becomes `replace`), the tree is rebuilt (incrementally), and the
# tests named by `tests:` run, one at a time (a name that is a test's whole
# name runs that test only; otherwise every test whose name contains it);
# the first that fails kills it. A survivor is run against the whole suite
# when GG_MUTATE_FULL=1. A mutant with `equivalent: REASON` cannot change
# behaviour: it is listed, not run.
#
# First the named tests run once on the unmutated tree (two at a time; one
# that fails runs again alone): a test that fails there would "kill" every
# mutant, so its mutants are not judged (BASELINE FAILS). Its time there gives each mutated run its time limit (twice the
# time plus 30 s; GG_MUTATE_SLACK=N for N times): a mutant that makes a test
# hang is killed by that limit (said so: "by timeout") instead of waiting
# for the test's own much longer guards.
#
# Prints one line per mutant and a summary; exits 1 if any mutant survived
# or is malformed.
#
#   tests/mutate.sh [ID-SUBSTRING]      (make mutate; GG_MUTANT=... likewise)
#                                       GG_MUTATE_JOBS=N: N mutants at once, each
#                                       in a scratch tree of its own (make mutate: 2)
#   tests/mutate.sh --check             only check the catalogue (make check-rules):
#                                       fields present, ids unique, each find
#                                       text once in its file; no build
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
catalogue=${GG_MUTANTS:-$src/tests/mutants.txt}
slack=${GG_MUTATE_SLACK:-2}
[[ $slack =~ ^[1-9][0-9]*$ ]] || { echo "mutate: GG_MUTATE_SLACK=$slack: expected a whole number from 1" >&2; exit 2; }

# The catalogue as records, one directory each (id, file, find, replace,
# tests, why, equivalent, and `problem` when the entry is malformed).
parse() { # CATALOGUE OUT_DIR TREE
	python3 - "$@" <<'PY'
import sys, os
path, out, tree = sys.argv[1], sys.argv[2], sys.argv[3]
recs, cur = [], {}
for line in open(path, encoding='utf-8').read().split('\n'):
    if not line.strip():
        if cur: recs.append(cur); cur = {}
        continue
    key, sep, val = line.partition(': ')
    if not sep:
        key, sep, val = line.partition(':')
    key = key.strip()
    if key in cur:  # two entries run together: a blank line is missing
        cur.setdefault('twice', key)
    cur[key] = val
if cur: recs.append(cur)
seen = {}
for i, r in enumerate(recs):
    d = os.path.join(out, '%04d' % i)
    os.mkdir(d)
    for k in ('id', 'file', 'find', 'replace', 'tests', 'why', 'equivalent'):
        open(os.path.join(d, k), 'w', encoding='utf-8').write(r.get(k, ''))
    problem = ''
    rid, f = r.get('id', ''), r.get('file', '')
    if not rid:
        problem = 'no id'
    elif r.get('twice'):
        problem = "'%s' twice: no blank line between two entries" % r['twice']
    elif rid in seen:
        problem = 'the id is used twice'
    elif not r.get('equivalent'):
        p = os.path.join(tree, f)
        if not f or not os.path.isfile(p):
            problem = "needs an existing file (file: %s)" % f
        elif not r.get('tests', '').strip():
            problem = 'needs tests'
        elif not r.get('find') or r.get('replace') is None:
            problem = 'needs find and replace'
        else:
            n = open(p, encoding='utf-8').read().count(r['find'])
            if n != 1:
                problem = "'find' occurs %d times in %s" % (n, f)
    seen[rid] = 1
    if problem:
        open(os.path.join(d, 'problem'), 'w').write(problem)
PY
}

if [ "${1:-}" = --check ]; then
	recs=$(mktemp -d /tmp/gg-mutants.XXXXXX)
	trap 'rm -rf "$recs"' EXIT
	parse "$catalogue" "$recs" "$src" || exit 1
	bad=0
	for r in "$recs"/*; do
		[ -s "$r/problem" ] || continue
		echo "tests/mutants.txt: mutant ${r##*/} ($(cat "$r/id")): $(cat "$r/problem")"
		bad=$((bad + 1))
	done
	echo "mutate --check: $(ls "$recs" | wc -l) mutants, $bad malformed"
	[ $bad -eq 0 ]
	exit
fi

only=${1:-${GG_MUTANT:-}}
jobs=${GG_MUTATE_JOBS:-1}
[[ $jobs =~ ^[1-9][0-9]*$ ]] || { echo "mutate: GG_MUTATE_JOBS=$jobs: expected a whole number from 1" >&2; exit 2; }
shard=${GG_MUTATE_SHARD:-} # K/N: this run takes every Nth mutant from the Kth (set by a parent run)
work=$(mktemp -d /tmp/gg-mutate.XXXXXX)
trap 'rm -rf "$work"' EXIT
# tests that run gg as another user (nobody) reach the build through it
chmod 755 "$work"
# The tree as it is (tracked and untracked, not ignored), without builds.
(cd "$src" && git ls-files -z -co --exclude-standard | tar --null -T - -cf -) | tar -C "$work" -xf -
cd "$work"
# the catalogue as it is now: the parts read this copy, not a file that may
# change during the run
[ -n "$shard" ] || { cp "$catalogue" "$work/catalogue" && catalogue=$work/catalogue; }
mkdir recs
parse "$catalogue" recs . || exit 1
echo "mutate: building the unmutated tree in $work"
if ! make -j2 BUILD=build tests >build.log 2>&1; then
	tail -20 build.log
	echo "mutate: the unmutated tree does not build"
	exit 1
fi

# Every test's name, as tests/run.sh names them.
all_tests() {
	local f
	for f in build/tests/test_*; do [ -x "$f" ] && echo "unit/${f##*/}"; done
	for f in build/tests/fuzz_*; do [ -x "$f" ] && echo "fuzz/${f##*/}"; done
	for f in tests/e2e/*.sh; do [ "${f##*/}" = lib.sh ] || echo "e2e/$(basename "$f" .sh)"; done
	for f in tests/projects/*.sh; do echo "projects/$(basename "$f" .sh)"; done
}
all_tests >all-tests
resolve() { # WORD: the test names it stands for (itself if it is one)
	if grep -qxF -- "$1" all-tests; then echo "$1"; else grep -F -- "$1" all-tests; fi
}

# The mutants to run, and the tests they name.
todo=()
i=0
for r in recs/*; do
	id=$(cat "$r/id")
	[ -z "$only" ] || [[ "$id" == *"$only"* ]] || continue
	i=$((i + 1))
	[ -z "$shard" ] || [ $(((i - 1) % ${shard#*/})) -eq "${shard%/*}" ] || continue
	todo+=("$r")
	[ -s "$r/equivalent" ] || [ -s "$r/problem" ] && continue
	for w in $(cat "$r/tests"); do resolve "$w"; done >"$r/names"
done
names=$(cat recs/*/names 2>/dev/null | sort -u | tr '\n' ' ')
declare -A base_time
if [ -n "${GG_MUTATE_BASE:-}" ]; then # a parent run's baseline
	while read -r name t; do base_time[$name]=$t; done <"$GG_MUTATE_BASE"
elif [ -n "$names" ]; then
	echo "mutate: the named tests on the unmutated tree: $names"
	t0=$SECONDS
	GG_TESTS="$names" GG_TESTS_EXACT=1 tests/run.sh -j 2 build >baseline.log 2>&1 </dev/null
	if ! grep -qE '^(PASS|FAIL) ' baseline.log; then
		tail -n 20 baseline.log
		echo "mutate: the baseline run of the tests did not run them (above: its output)"
		exit 1
	fi
	while read -r verdict name t; do
		t=${t#(}
		t=${t%s)}
		if [ "$verdict" = FAIL ]; then
			# beside another test it may have met a flake: alone once more,
			# as the mutated runs run it
			GG_TESTS="$name" GG_TESTS_EXACT=1 tests/run.sh build >baseline-again.log 2>&1 &&
				verdict=$(grep -oE "^PASS $name \([0-9]+s\)$" baseline-again.log) &&
				t=${verdict##*(} && t=${t%s)} && verdict=PASS &&
				echo "mutate: $name failed beside another test on the unmutated tree, passed alone (${t} s): flaky?"
		fi
		[ "$verdict" = PASS ] && base_time[$name]=$t
		[ "$verdict" = FAIL ] && echo "mutate: BASELINE FAILS: $name fails on the unmutated tree (twice); its mutants are not judged" &&
			awk -v n="FAIL $name " 'index($0, n) == 1 { p = 1; next } /^[^ ]/ { p = 0 } p' baseline.log | tail -n 20
	done < <(grep -E '^(PASS|FAIL) [^ ]+ \([0-9]+s\)$' baseline.log)
	echo "mutate: baseline took $((SECONDS - t0)) s"
fi
for n in "${!base_time[@]}"; do echo "$n ${base_time[$n]}"; done >base

# One line per mutant (also into `lines`, which the summary counts).
say() { echo "$*" | tee -a lines; }
summary() { # SECONDS: from the lines; 1 if any survived, is malformed or not judged
	local k s sb m e u t
	k=$(grep -c '^KILLED ' lines) s=$(grep -c '^SURVIVED ' lines) sb=$(grep -c '^STILLBORN ' lines)
	m=$(grep -c '^MALFORMED ' lines) e=$(grep -c '^EQUIVALENT ' lines) u=$(grep -c '^NOT JUDGED ' lines)
	t=$(grep -c '^KILLED .*, by timeout ' lines)
	echo
	echo "mutants: $((k + s + sb + m + e + u)) run of $(ls recs | wc -l) in the catalogue; $k killed ($t of them by timeout)," \
		"$s survived, $sb do not build, $m malformed, $e equivalent, $u not judged ($1 s, and the baseline)"
	[ $((k + s)) -gt 0 ] && echo "kill ratio: $k/$((k + s)) = $((100 * k / (k + s)))%"
	[ "$s" -eq 0 ] || echo "survivors: $(grep '^SURVIVED ' lines | cut -d' ' -f2 | tr '\n' ' ')"
	[ "$m" -eq 0 ] || echo "malformed: $(grep '^MALFORMED ' lines | cut -d' ' -f2 | tr -d : | tr '\n' ' ')"
	[ "$u" -eq 0 ] || echo "not judged (their tests fail unmutated): $(grep '^NOT JUDGED ' lines | cut -d' ' -f3 | tr -d : | tr '\n' ' ')"
	[ "$sb" -eq 0 ] || echo "do not build: $(grep '^STILLBORN ' lines | cut -d' ' -f2 | tr -d : | tr '\n' ' ')"
	[ "$s" -eq 0 ] && [ "$m" -eq 0 ] && [ "$u" -eq 0 ] && [ "$sb" -eq 0 ]
}
: >lines

# Several at once: each part in a scratch tree of its own, with this baseline.
if [ "$jobs" -gt 1 ] && [ -z "$shard" ]; then
	echo "mutate: ${#todo[@]} mutants, $jobs at once"
	t_start=$SECONDS
	for k in $(seq 0 $((jobs - 1))); do
		GG_MUTATE_SHARD=$k/$jobs GG_MUTATE_BASE=$work/base GG_MUTANTS=$catalogue \
			bash "$src/tests/mutate.sh" "$only" </dev/null >"part$k.log" 2>&1 &
		tail -n +1 -F --pid=$! "part$k.log" 2>/dev/null |
			grep --line-buffered -E '^(KILLED|SURVIVED|STILLBORN|MALFORMED|EQUIVALENT|NOT JUDGED) ' | tee -a lines &
	done
	wait
	rc=0
	summary $((SECONDS - t_start)) || rc=1
	# A part that stopped (its tree did not build, the disk filled) judged
	# fewer mutants than it was given: never a pass.
	judged=$(wc -l <lines)
	if [ "$judged" -ne "${#todo[@]}" ]; then
		echo "mutate: only $judged of ${#todo[@]} mutants were judged: a part stopped early (its last lines:)"
		for k in $(seq 0 $((jobs - 1))); do tail -n 5 "part$k.log" | sed "s/^/  part $k: /"; done
		rc=1
	fi
	exit $rc
fi

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

t_start=$SECONDS
for r in "${todo[@]}"; do
	id=$(cat "$r/id") file=$(cat "$r/file")
	if [ -s "$r/equivalent" ]; then
		say "EQUIVALENT $id: $(cat "$r/equivalent")"
		continue
	fi
	if [ -s "$r/problem" ] || [ ! -s "$r/names" ]; then
		say "MALFORMED ${id:-(no id)}: $(cat "$r/problem" 2>/dev/null || echo "no test is named $(cat "$r/tests")")"
		continue
	fi
	missing=
	while read -r n; do [ -n "${base_time[$n]:-}" ] || missing+=" $n"; done <"$r/names"
	if [ -n "$missing" ]; then
		say "NOT JUDGED $id: its tests fail on the unmutated tree:$missing"
		continue
	fi
	cp -p "$file" "$r/orig"
	if ! why=$(apply "$file" "$r/find" "$r/replace"); then
		say "MALFORMED $id: $why"
		continue
	fi
	t0=$SECONDS
	if ! make -j2 BUILD=build tests >"$r/build.log" 2>&1; then
		say "STILLBORN $id: does not build (a mutant must compile): $(grep -m1 'error:' "$r/build.log")"
	else
		tb=$((SECONDS - t0))
		by=
		while read -r n; do
			limit=$((slack * base_time[$n] + 30))
			# alone it starts its own radosgw, which the baseline's shared
			# one spared it: allow for that start (up to a minute here)
			grep -qw rgw_up "tests/$n.sh" 2>/dev/null && limit=$((limit + 90))
			# tests/run.sh stops the test at the limit: it runs each test
			# in a process group of its own (timeout(1)), which a timeout
			# around run.sh would not reach, leaving a hung test running.
			# The outer timeout only guards run.sh itself.
			timeout -k 60 $((limit + 120)) env GG_TEST_TIMEOUT="$limit" GG_TESTS="$n" GG_TESTS_EXACT=1 \
				tests/run.sh build >"$r/test.log" 2>&1 </dev/null
			rc=$?
			if [ $rc -eq 124 ] || [ $rc -eq 137 ] || grep -q '(stopped: still running after' "$r/test.log"; then
				by="$n, by timeout (over $limit s; ${base_time[$n]} s unmutated)"
				break
			elif [ $rc -ne 0 ]; then
				by=$n
				break
			fi
		done <"$r/names"
		if [ -z "$by" ] && [ -n "${GG_MUTATE_FULL:-}" ]; then
			timeout -k 60 3600 tests/run.sh -j 2 build >"$r/test.log" 2>&1 </dev/null ||
				by="the whole suite ($(grep -m1 '^FAIL' "$r/test.log" | cut -d' ' -f2))"
		fi
		if [ -n "$by" ]; then
			say "KILLED $id by $by (build ${tb} s, all $((SECONDS - t0)) s)"
		else
			say "SURVIVED $id ($file, $((SECONDS - t0)) s): $(cat "$r/why")"
		fi
	fi
	cp -p "$r/orig" "$file"
	touch "$file" # newer than its object: the next build recompiles it
done
summary $((SECONDS - t_start))
