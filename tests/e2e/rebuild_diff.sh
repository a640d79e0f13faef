#!/usr/bin/env bash
# The differential rebuild harness (tests/rebuild-harness.sh) on a small
# project: main.c includes msg.h and gen.h, the Makefile makes gen.h from
# gen.in with sed (a file written by one step and read by the next), compiles
# main.o and links prog. After every edit, `gg infer make` + `gg force` give
# exactly what a plain make from scratch gives: a header, a .c file and the
# generated header's input edited at once after the previous build (within
# the same second), an edit reverted, a header touched, edit-revert-edit
# within one second, and edits of files the memo had seen settled (trusted
# by stat); an unchanged rebuild after `make clean` is served from the
# models' memo (so a memo that is off fails); memo entries damaged or forged
# (the seal left as it was) are dropped, never replayed.
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
setup "$@"
need gcc make sed cmp dd stat
cd "$T"

mkdir proj
cat >proj/main.c <<'EOC'
#include <stdio.h>
#include "msg.h"
#include "gen.h"
int main(void)
{
	puts(MSG);
	puts(GEN);
	return 0;
}
EOC
echo '#define MSG "one"' >proj/msg.h
echo 'generated one' >proj/gen.in
cat >proj/Makefile <<'EOC'
prog: main.o
	$(CC) -o prog main.o
main.o: main.c msg.h gen.h
	$(CC) -c main.c -o main.o
gen.h: gen.in
	sed 's/.*/#define GEN "&"/' gen.in >gen.h
clean:
	rm -f prog main.o gen.h
EOC

# Damages every models' memo entry of the store in the current directory.
cat >flip.sh <<'EOC'
for f in .gg/infer-memo/*/*; do
	o=$(($(stat -c %s "$f") / 2))
	b=$(dd if="$f" bs=1 skip=$o count=1 status=none)
	if [ "$b" = x ]; then r=y; else r=x; fi
	printf %s "$r" | dd of="$f" bs=1 seek=$o conv=notrunc status=none
done
EOC
# The link's entry claims main.o's output as prog; its seal is left as it was.
cat >forge.sh <<'EOC'
link=$(grep -l '^out T[0-9a-f]*#prog ' .gg/infer-memo/*/*)
main_ref=$(grep -h '^out T[0-9a-f]*#main.o ' .gg/infer-memo/*/* | cut -d' ' -f2)
prog_ref=$(grep -h '^out T[0-9a-f]*#prog ' "$link" | cut -d' ' -f2)
[ -n "$main_ref" ] && [ -n "$prog_ref" ] && sed -i "s/$prog_ref/$main_ref/" "$link"
EOC
# The compile's entry forgets that it read msg.h; its seal is left as it was.
cat >forget.sh <<'EOC'
grep -l '^out T[0-9a-f]*#main.o ' .gg/infer-memo/*/* | xargs sed -i '/ msg\.h$/d'
EOC

cat >steps <<EOC
memo unchanged rebuild after make clean | make clean
edit header edited within the same second as the build | echo '#define MSG "two"' >msg.h
edit .c file edited | sed -i 's/puts(GEN);/puts(GEN); puts("edited");/' main.c
edit generated header's input edited | echo 'generated two' >gen.in
edit header edit reverted | echo '#define MSG "one"' >msg.h
memo header touched, content unchanged | touch msg.h
state time passes: every file settles (2.5 s) | sleep 2.5
memo unchanged rebuild after make clean, with settled files | make clean
edit header edited, after the memo saw it settled | echo '#define MSG "ten"' >msg.h
edit .c file edited, after the memo saw it settled | sed -i 's/"edited"/"EDITED"/' main.c
edit edit-revert-edit within one second (same inode, same size) | for m in uno one dos; do echo "#define MSG \"\$m\"" >msg.h; done
edit reverted at once after the build | echo '#define MSG "one"' >msg.h
edit edited again at once after the build | echo '#define MSG "dos"' >msg.h
memo unchanged rebuild after make clean | make clean
state every memo entry damaged (one byte changed), then make clean | bash $T/flip.sh && make clean
memo unchanged rebuild after make clean, entries written again | make clean
state the link's entry forged (names main.o's output), then make clean | bash $T/forge.sh && make clean
state the compile's entry forged (msg.h left out) | bash $T/forget.sh
edit header edited after the forgery | echo '#define MSG "six"' >msg.h
EOC

bash "$here/../rebuild-harness.sh" -w "$T/work" -t 'gen.h main.o prog' proj steps -- make >harness.out 2>&1
rc=$?
cat harness.out
check "the rebuild harness passes ($(grep -c '^ok' harness.out) checks)" [ $rc -eq 0 ]
check "the issue's example: prog prints what msg.h says" [ "$(work/gg/prog | head -1)" = six ]
check "every step ran" [ "$(grep -c '^ok - .*outputs equal' harness.out)" = 20 ]
finish
