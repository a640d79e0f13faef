#!/usr/bin/env bash
# Every figure of bench/run.sh for two builds side by side: this tree's
# benchmarks (bench/run.sh of this checkout) run against BASE_BUILD and
# NEW_BUILD alternately, GG_BENCH_ROUNDS times each (default 5), and each
# figure's median is printed for both with the change in percent. A figure
# more than 5 % worse is marked "worse": lower is better, except for rates
# (a unit ending in /s), speed-ups, throughputs and figures whose goal is
# ">= N"; baselines (lines saying "baseline") are printed too, since the
# machine itself can move that much between rounds. Each side runs its own
# build's bench_core: where bench/bench_core.c changed between the two, say
# so beside the figures.
#
#   bench/compare.sh BASE_BUILD NEW_BUILD
#   GG_BENCH_ONLY=core bench/compare.sh ...     (the parts, as bench/run.sh)
#
# To compare with an older commit: git worktree add /tmp/base REV &&
# make -C /tmp/base all tests, then bench/compare.sh /tmp/base/build build.
set -eu
base=$(cd "${1:?usage: bench/compare.sh BASE_BUILD NEW_BUILD}" && pwd)
new=$(cd "${2:?usage: bench/compare.sh BASE_BUILD NEW_BUILD}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
rounds=${GG_BENCH_ROUNDS:-5}
out=$(mktemp -d /tmp/gg-bench-compare.XXXXXX)
trap 'rm -rf "$out"' EXIT

for r in $(seq "$rounds"); do
	for side in base new; do
		dir=$base
		[ $side = new ] && dir=$new
		echo "round $r of $rounds: $side ($dir)" >&2
		bash "$here/run.sh" "$dir" > "$out/$side.$r" 2> "$out/$side.$r.err" ||
			{ echo "bench/run.sh $dir failed:" >&2; tail -20 "$out/$side.$r.err" >&2; exit 1; }
	done
done

python3 - "$out" "$rounds" <<'PY'
import re, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
num = re.compile(r'(?<![\w.])(-?\d+(?:\.\d+)?)\s*([A-Za-z%/µ]+(?:/[A-Za-z]+)?)?')

def figures(path):
    """key -> (value, unit, is a baseline): each number of an indented line,
    named by its section, the line's label, the words before it and its
    unit. Parenthesised remarks (goals, explanations) are not figures."""
    figs, section = {}, ''
    for line in open(path, errors='replace'):
        line = line.rstrip('\n')
        if not line.strip():
            continue
        if not line.startswith(' '):
            section = re.sub(r'\d+', 'N', line.split('(')[0]).strip()[:60]
            continue
        is_base = 'baseline' in line
        text = re.sub(r'\([^)]*\)', ' ', line)
        label, pos = None, 0
        for m in num.finditer(text):
            words = text[pos:m.start()].strip()
            pos = m.end()
            unit = m.group(2) or ''
            if label is None and unit in ('outputs', 'runs', 'thunks'):
                label = f'{words} {m.group(0).strip()}'.strip()  # "1000 outputs"
                continue
            if label is None:
                label = words
                key = words
            else:
                key = f'{label}, {words}' if words else f'{label}, then'
            if not label:
                continue
            higher = (unit.endswith('/s') or 'goal >=' in line or 'speed-up' in line
                      or 'throughput' in line)
            figs[f'{section} | {key} ({unit})'] = (float(m.group(1)), higher, is_base)
    return figs

runs = {s: [figures(f'{out}/{s}.{r}') for r in range(1, rounds + 1)] for s in ('base', 'new')}
keys = []
for s in ('base', 'new'):
    for f in runs[s]:
        keys += [k for k in f if k not in keys]
worse = 0
print(f'{"figure":<78} {"base":>10} {"new":>10} {"change":>8}')
for k in keys:
    med = {}
    for s in ('base', 'new'):
        vals = [f[k][0] for f in runs[s] if k in f]
        med[s] = statistics.median(vals) if vals else None
    if med['base'] is None or med['new'] is None:
        side = 'new' if med['base'] is None else 'base'
        print(f'{k[:78]:<78} {"-" if side == "new" else med["base"]:>10} '
              f'{"-" if side == "base" else med["new"]:>10}   only in {side}')
        continue
    higher_better = next(f[k][1] for f in runs['new'] if k in f)
    b, n = med['base'], med['new']
    if not b:
        print(f'{k[:78]:<78} {b:>10.3f} {n:>10.3f}      n/a')
        continue
    change = (n - b) / b * 100
    bad = (change < -5) if higher_better else (change > 5)
    is_base = any(f[k][2] for f in runs['new'] if k in f)
    mark = '  baseline' if is_base else ('  worse' if bad else '')
    worse += bad and not is_base
    print(f'{k[:78]:<78} {b:>10.3f} {n:>10.3f} {change:>+7.1f}%{mark}')
print(f'\n{worse} figure(s) more than 5 % worse (medians of {rounds} alternating rounds)')
PY
