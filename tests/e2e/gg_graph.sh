#!/usr/bin/env bash
# A three-level graph from the system compiler's real stages: cc1 and as for
# two C files, a static link with ld, then running the linked program. Every
# stage's output must equal the plain commands' output byte for byte, the
# second force must be all memo hits, and two concurrent forces of a fresh
# thunk must execute it once.
. "$(dirname "$0")/lib.sh"
setup "$@"
need gcc as ld cmp sh bash
cd "$T"
mkdir plain lazy
cat > a.c <<'C'
#include <stdio.h>
int add(int a, int b);
int main(void) { printf("sum=%d\n", add(2, 40)); return 0; }
C
echo 'int add(int a, int b) { return a + b; }' > b.c
gcc -E a.c -o a.i && gcc -E b.c -o b.i
cc1=$(gcc -print-prog-name=cc1)
f() { gcc -print-file-name="$1"; }
libs=(crt1.o crti.o crtbeginT.o crtend.o crtn.o libgcc.a libgcc_eh.a libc.a)

# The plain commands.
(cd plain && for x in a b; do
	"$cc1" -quiet -fpreprocessed ../$x.i -O2 -o $x.s && as $x.s -o $x.o
done && ld -static -o prog $(f crt1.o) $(f crti.o) $(f crtbeginT.o) a.o b.o --start-group $(f libgcc.a) $(f libgcc_eh.a) $(f libc.a) --end-group $(f crtend.o) $(f crtn.o) && ./prog > out.txt) || not_ok "plain build"

# The same as thunks.
cd lazy
gg init . >/dev/null
for x in a b; do
	cp ../$x.i .
	gg thunk -i $x.i -o $x.s --placeholder $x.s -- "$cc1" -quiet -fpreprocessed $x.i -O2 -o $x.s >/dev/null
	gg thunk -i $x.s -o $x.o --placeholder $x.o -- as $x.s -o $x.o >/dev/null
done
ins=()
for l in "${libs[@]}"; do ins+=(-i "$l=$(f "$l")"); done
gg thunk -i a.o -i b.o "${ins[@]}" -o prog --placeholder prog -- ld -static -o prog crt1.o crti.o crtbeginT.o a.o b.o --start-group libgcc.a libgcc_eh.a libc.a --end-group crtend.o crtn.o >/dev/null
gg thunk -i prog -o out.txt --placeholder out.txt -- sh -c './prog > out.txt' >/dev/null
cp out.txt out.placeholder
cp a.s a.s.placeholder

gg force --summary out.txt 2>sum1.txt
check "forcing the last level forces the whole graph" grep -q 'executed 6, from memo 0, failed 0' sum1.txt
check "program output equals the plain build's" cmp out.txt ../plain/out.txt
gg force a.s b.s a.o b.o prog 2>sum2.txt
for x in a.s b.s a.o b.o prog; do
	check "$x equals the plain command's output byte for byte" cmp $x ../plain/$x
done
cp out.placeholder again.txt
gg force --summary again.txt 2>sum3.txt
check "the second force is all memo hits" grep -q 'executed 0, from memo 1, failed 0' sum3.txt
check "memo hit gives the same bytes" cmp again.txt ../plain/out.txt
check "no partial objects in the store" store_objects_whole .gg

# Two processes force one fresh thunk at once: it runs once. The thunk's
# output is random, so a second execution would give different bytes.
name=$(gg thunk -o r -- bash -c 'for ((i = 0; i < 200000; i++)); do :; done; echo $RANDOM$RANDOM$RANDOM > r')
gg force --stdout "$name#r" > r1 2>e1 &
p1=$!
gg force --stdout "$name#r" > r2 2>e2 &
p2=$!
wait $p1; s1=$?
wait $p2; s2=$?
check "both concurrent forces succeed" [ $s1 -eq 0 -a $s2 -eq 0 ]
check "both see one execution's output" cmp r1 r2
check "the output is not empty" [ -s r1 ]
finish
