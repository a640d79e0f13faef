# The graph the engine tests force remotely (source after tests/e2e/lib.sh's
# setup): the system compiler's real stages, the shape of gg_graph.sh: cc1
# and as for two C files, a static link with ld, then running the program.
#
#   graph_make            the plain build in $T/plain, the thunks (with
#                         placeholders) in $T/lazy, its own store
#   graph_force NAME GG-FORCE-OPTION...
#                         forces it (from $T/lazy) and checks that all six
#                         thunks ran, that every level equals the plain
#                         build byte for byte, and that a second force is all
#                         memo hits; NAME says which engine in the messages

graph_make() {
	mkdir -p "$T/plain" "$T/lazy"
	(
		cd "$T" || exit 1
		cat >a.c <<'C'
#include <stdio.h>
int add(int a, int b);
int main(void) { printf("sum=%d\n", add(2, 40)); return 0; }
C
		echo 'int add(int a, int b) { return a + b; }' >b.c
		gcc -E a.c -o a.i && gcc -E b.c -o b.i || exit 1
		cc1=$(gcc -print-prog-name=cc1)
		f() { gcc -print-file-name="$1"; }
		cd plain || exit 1
		for x in a b; do
			"$cc1" -quiet -fpreprocessed ../$x.i -O2 -o $x.s && as $x.s -o $x.o || exit 1
		done
		ld -static -o prog "$(f crt1.o)" "$(f crti.o)" "$(f crtbeginT.o)" a.o b.o --start-group \
			"$(f libgcc.a)" "$(f libgcc_eh.a)" "$(f libc.a)" --end-group "$(f crtend.o)" "$(f crtn.o)" &&
			./prog >out.txt || exit 1
		cd ../lazy || exit 1
		gg init . >/dev/null
		for x in a b; do
			cp ../$x.i .
			gg thunk -i $x.i -o $x.s --placeholder $x.s -- "$cc1" -quiet -fpreprocessed $x.i -O2 -o $x.s >/dev/null &&
				gg thunk -i $x.s -o $x.o --placeholder $x.o -- as $x.s -o $x.o >/dev/null || exit 1
		done
		ins=()
		for l in crt1.o crti.o crtbeginT.o crtend.o crtn.o libgcc.a libgcc_eh.a libc.a; do
			ins+=(-i "$l=$(f "$l")")
		done
		gg thunk -i a.o -i b.o "${ins[@]}" -o prog --placeholder prog -- ld -static -o prog crt1.o crti.o \
			crtbeginT.o a.o b.o --start-group libgcc.a libgcc_eh.a libc.a --end-group crtend.o crtn.o >/dev/null &&
			gg thunk -i prog -o out.txt --placeholder out.txt -- sh -c './prog > out.txt' >/dev/null || exit 1
		for x in a.s b.s a.o b.o prog out.txt; do cp $x $x.placeholder; done
	) || { not_ok "build the test graph (plain and as thunks)"; return 1; }
	ok "the test graph: plain build and six thunks"
}

graph_force() { # NAME OPTION...
	local name=$1 st s x
	shift
	(
		cd "$T/lazy" || exit 1
		for x in a.s b.s a.o b.o prog out.txt; do cp $x.placeholder $x; done
		s=$(date +%s.%N)
		gg force --summary "$@" out.txt 2>sum1.txt
		st=$?
		echo "# forced the graph through $name in $(awk "BEGIN{printf \"%.2f\", $(date +%s.%N) - $s}") s"
		check "gg force through $name succeeds" [ $st -eq 0 ] || cat sum1.txt
		check "forcing the last level ran the whole graph" grep -q 'executed 6, from memo 0, failed 0' sum1.txt
		check "program output equals the plain build's" cmp out.txt ../plain/out.txt
		gg force "$@" a.s b.s a.o b.o prog 2>sum2.txt
		for x in a.s b.s a.o b.o prog; do
			check "$x equals the plain command's output byte for byte" cmp $x ../plain/$x
		done
		cp out.txt.placeholder again.txt
		gg force --summary "$@" again.txt 2>sum3.txt
		check "the second force is all memo hits" grep -q 'executed 0, from memo 1, failed 0' sum3.txt
		check "no partial objects in the client's store" store_objects_whole .gg
		echo "$t_pass $t_fail" >"$T/.graph-counts"
	)
	# the checks ran in a subshell: carry their counts back
	read -r t_pass t_fail <"$T/.graph-counts"
}
