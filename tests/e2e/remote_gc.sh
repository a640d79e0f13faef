#!/usr/bin/env bash
# gg gc --remote on a file:// store (no server needed):
# - A builds the demo's C program with --remote-cache readwrite; every
#   object it published is named by a cache entry;
# - an object nobody names, ten days old, is deleted; one nobody names yet,
#   uploaded just now (a second client's output, pushed before the entry
#   that will name it), survives the default grace period (7 days); the
#   objects entries name survive however old they are;
# - --dry-run prints what it would delete, and deletes nothing;
# - --grace changes the period: the two-hour-old unnamed object goes with
#   --grace 1h;
# - afterwards B still executes 0 thunks from the cache;
# - gc runs again and again beside a force that publishes: the force
#   succeeds, old garbage goes, every object an entry names stays;
# - a bad grace period and a storage that cannot be listed are refused.
. "$(dirname "$0")/lib.sh"
setup "$@"
need cc make
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../servers/c_project.sh"
cd "$T"
R=file://$T/remote
for c in a b; do mkdir -p "home.$c" && c_project "$c"; done
force() { # NAME GG-FORCE-OPTION...
	local n=$1
	shift
	(cd "$T/$n" && HOME="$T/home.$n" gg force --summary --no-progress "$@" primes 2>&1 >/dev/null)
}
obj() { echo "remote/${1:1:2}/$1"; } # NAME: its path in the remote store

out=$(force a --storage "$R" --remote-cache readwrite)
check "A builds and publishes: $out" has_text "$out" "executed [1-9][0-9]*, from memo 0, failed 0"
bin=$(gg hash a/primes)
named=$(find remote -path remote/memo -prune -o -type f -print | wc -l)
echo "old garbage nobody names" >old.txt && echo "a second client's new output" >young.txt
old=$(cd a && gg push "$R" "$T/old.txt" | awk '{ print $1 }')
find remote -type f -exec touch -d '10 days ago' {} +
young=$(cd a && gg push "$R" "$T/young.txt" | awk '{ print $1 }')
check "two unnamed objects are in the remote store" test -f "$(obj "$old")" -a -f "$(obj "$young")"

out=$(gg gc --remote --storage "$R" --dry-run 2>&1)
echo "$out" | sed 's/^/# /'
check "--dry-run names the ten-day-old unnamed object" has_text "$out" "^would delete $old 25 bytes"
check "... and only it" test "$(grep -c '^would delete V' <<<"$out")" = 1
check "... summing up: $(tail -1 <<<"$out")" has_text "$out" "would delete 1 of $((named + 2)) objects (25 bytes) from $R; kept $named named by [1-9][0-9]* cache entries, 1 within the grace period (604800 s)"
check "... and deletes nothing" test -f "$(obj "$old")"

out=$(GG_STORAGE=$R gg gc --remote 2>&1)
check "gg gc --remote deletes it: $(tail -1 <<<"$out")" has_text "$out" "^deleted $old 25 bytes"
check "... it is gone" test ! -e "$(obj "$old")"
check "... the young unnamed object (a client's upload before its entry) survives" test -f "$(obj "$young")"
check "... and so does the ten-day-old program, which an entry names" test -f "$(obj "$bin")"
check "... every named object is kept" test "$(find remote -path remote/memo -prune -o -type f -print | wc -l)" = $((named + 1))

touch -d '2 hours ago' "$(obj "$young")"
out=$(gg gc --remote --storage "$R" --grace 3h 2>&1)
check "with --grace 3h the two-hour-old object stays: $(tail -1 <<<"$out")" test -f "$(obj "$young")"
out=$(gg gc --remote --storage "$R" --grace 1h 2>&1)
check "with --grace 1h it goes: $(tail -1 <<<"$out")" bash -c "grep -q '^deleted $young' <<<'$out' && test ! -e '$(obj "$young")'"

out=$(force b --storage "$R" --remote-cache read)
check "B still executes 0 thunks from the cache: $out" has_text "$out" "executed 0, from memo 1, failed 0 (1 of them from the shared cache)"
check "... A's program byte for byte" cmp a/primes b/primes

# An entry gc cannot understand (damaged, or a newer gg's) names what it
# names: nothing is deleted, and the error says which entry.
echo "garbage nobody names, again" >old2.txt
old2=$(cd a && gg push "$R" "$T/old2.txt" | awk '{ print $1 }')
touch -d '10 days ago' "$(obj "$old2")"
entry=$(find remote/memo -type f | head -n 1)
cp "$entry" entry.saved
printf 'not an entry\n' >"$entry"
out=$(gg gc --remote --storage "$R" 2>&1)
check "an entry that cannot be understood stops gc, naming it: $out" \
	has_text "$out" "cache entry of T[0-9a-f]* cannot be understood (damaged, or written by a newer gg), so nothing is deleted"
check "... nothing is deleted" test -f "$(obj "$old2")"
cp entry.saved "$entry"

# gc beside a force: client E builds a 24-file program, publishing as it
# goes (outputs, then the entries naming them), while gg gc --remote with
# its default grace runs again and again; garbage planted ten days ago goes,
# the force succeeds, every object any entry names is still there, and F
# (same sources, another tree) executes 0 thunks from the cache.
many_files() { # DIR: 24 small C files, a main and a Makefile, inferred
	mkdir -p "$1" || return 1
	local i objs=main.o
	{
		echo '#include <stdio.h>'
		for i in $(seq 24); do
			printf 'int f%d(int x) { return x * %d + 1; }\n' "$i" "$i" >"$1/f$i.c"
			echo "int f$i(int);"
			objs+=" f$i.o"
		done
		echo 'int main(void) { int s = 0;'
		for i in $(seq 24); do echo "s += f$i($i);"; done
		echo 'printf("%d\n", s); return 0; }'
	} >"$1/main.c"
	printf 'prog: %s\n\t$(CC) -o $@ %s\n%%.o: %%.c\n\t$(CC) -O2 -c $< -o $@\n' "$objs" "$objs" >"$1/Makefile"
	(cd "$1" && gg init . >/dev/null && gg infer make >infer.out 2>&1)
}
check "E's and F's trees of 25 files are inferred" bash -c "$(declare -f many_files); many_files e && many_files f"
mkdir -p home.e home.f
echo "garbage from long ago" >old3.txt
old3=$(cd a && gg push "$R" "$T/old3.txt" | awk '{ print $1 }')
touch -d '10 days ago' "$(obj "$old3")"
(cd e && HOME="$T/home.e" gg force -j 2 --summary --no-progress --storage "$R" --remote-cache readwrite prog \
	>/dev/null 2>"$T/e.out") &
epid=$!
rounds=0
while kill -0 "$epid" 2>/dev/null; do
	gg gc --remote --storage "$R" >>gc-beside.out 2>&1 || echo "gc failed: $?" >>gc-beside.out
	rounds=$((rounds + 1))
done
wait "$epid"
rc=$?
echo "# gg gc --remote ran $rounds times beside E's force: $(tail -1 e.out)"
check "E's force succeeds beside gc (rc $rc): $(tail -1 e.out)" has_text "$(cat e.out)" "executed [1-9][0-9]*, from memo 0, failed 0"
check "... gc ran beside it ($rounds times), each run fine" [ "$rounds" -ge 1 -a "$(grep -c 'gc failed' gc-beside.out)" = 0 ]
gg gc --remote --storage "$R" >>gc-beside.out 2>&1
check "... the garbage planted before it is gone" test ! -e "$(obj "$old3")"
missing=0 named2=0
for v in $(find remote/memo -type f -exec cat {} + | awk '$1 == "out" { print $3 }' | sort -u); do
	test -f "$(obj "$v")" || { echo "# named but gone: $v"; missing=$((missing + 1)); }
	named2=$((named2 + 1))
done
check "... every object an entry names is there ($named2 named, $missing gone)" [ "$missing" = 0 -a "$named2" -gt 25 ]
out=$(cd f && HOME="$T/home.f" gg force --summary --no-progress --storage "$R" --remote-cache read prog 2>&1 >/dev/null)
check "F executes 0 thunks from the cache: $out" has_text "$out" "executed 0, from memo 1, failed 0 (1 of them from the shared cache)"
check "... E's program byte for byte, and it runs" bash -c 'cmp e/prog f/prog && test "$(f/prog)" = 4924'

out=$(gg gc --remote --storage "$R" --grace soon 2>&1)
check "a bad grace period is refused: $out" has_text "$out" "gc: bad grace period 'soon' (e.g. 7d, 12h, 30m, 0)"
out=$(gg gc --remote --max-size 1G --storage "$R" 2>&1)
check "--remote with --max-size is refused: $out" has_text "$out" "usage: gg gc --remote"
out=$(env -u GG_STORAGE gg gc --remote 2>&1)
check "--remote without a storage is refused: $out" has_text "$out" "gc --remote: which storage? --storage URI or GG_STORAGE"
finish
