#!/usr/bin/env bash
# The differential rebuild harness (tests/rebuild-harness.sh) on a small
# project: main.c includes msg.h and gen.h, the Makefile makes gen.h from
# gen.in with sed (a file written by one step and read by the next), compiles
# main.o and links prog. After every edit, `gg infer make` + `gg force` give
# exactly what a plain make from scratch gives: a header, a .c file and the
# generated header's input edited at once after the previous build (within
# the same second), an edit reverted, a header touched, edit-revert-edit
# within one second, edits of files the memo had seen settled (trusted by
# stat), an edit the entry records a stamp for that was written within the
# racy margin (a forged entry: the kernel gives a stat'ed file a new ctime),
# a header removed so that another one on the search path is used; an
# unchanged rebuild after `make clean` is served from the models' memo (so a
# memo that is off fails); memo entries damaged or forged (the seal left as
# it was) are dropped, never replayed. A file made where the compiler or the
# linker looks first (a header earlier on the -I path, in a directory that
# did not exist, beside main.c; a library earlier on the -L path) is taken
# after `make clean` although no file the memo recorded changed: made,
# removed and made again with other bytes. So is a header made beside the
# second includer of a guarded header (cpp skips it there, -H lists it once)
# and a linker made first on the PATH the Makefile exports.
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
setup "$@"
need gcc make sed cmp dd stat sha256sum readelf
[ -x /usr/bin/ld.gold ] && [ -x /usr/bin/ld.bfd ] || not_ok "binutils' ld.gold and ld.bfd"
cd "$T"

mkdir proj
cat >proj/main.c <<'EOC'
#include <stdio.h>
#include "msg.h"
#include "gen.h"
#include "cfg.h"
#include "guard.h"
#include "sub/pick.h"
#ifndef PICK
#define PICK "none"
#endif
const char *extra(void);
int main(void)
{
	puts(MSG);
	puts(GEN);
	puts(PICK);
	puts(extra());
	puts(CFG);
	return 0;
}
EOC
mkdir proj/over proj/base
echo '#define CFG "over"' >proj/over/cfg.h
echo '#define CFG "base"' >proj/base/cfg.h
echo '#define MSG "one"' >proj/msg.h
# guard.h is found on the -I path from main.c and again from sub/pick.h,
# which looks in sub/ first; cpp skips it there for its guard
printf '#ifndef GUARD_H\n#define GUARD_H\n#endif\n' >proj/over/guard.h
mkdir proj/sub
echo '#include "guard.h"' >proj/sub/pick.h
# libextra.a in libb/, the second -L directory; one that says "a" to put in liba/
mkdir proj/liba proj/libb
for w in a b; do
	echo "const char *extra(void) { return \"$w\"; }" >extra-$w.c
	gcc -c extra-$w.c -o extra-$w.o && ar rcs extra-$w.a extra-$w.o || exit 1
done
cp extra-b.a proj/libb/libextra.a
echo 'generated one' >proj/gen.in
gold=$(readlink -f /usr/bin/ld.gold)
bfd=$(readlink -f /usr/bin/ld.bfd)
cat >proj/Makefile <<'EOC'
export PATH := $(CURDIR)/tools:$(PATH)
prog: main.o
	$(CC) -o prog main.o -Lliba -Llibb -lextra
main.o: main.c msg.h gen.h
	$(CC) -Inew -Iover -Ibase -c main.c -o main.o
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

# Makes the compile's entry claim msg.h's stamp now, written 0.5 s after
# msg.h's change, and seals it again: what the entry would hold had msg.h
# been rewritten within one tick of its times after it was recorded.
cat >racy.sh <<'EOC'
[ -d .gg ] || exit 0 # in src/: only the edit
f=$(grep -l '^out T[0-9a-f]*#main.o ' .gg/infer-memo/*/*)
read -r dev ino size m c < <(stat -c '%d %i %s %.9Y %.9Z' msg.h)
hex() { printf '%x.%x' "${1%.*}" "$((10#${1#*.}))"; }
st=$(printf '%x-%x-%x' "$dev" "$ino" "$size")-$(hex "$m")-$(hex "$c")
w=$((${c%.*} * 1000000000 + 10#${c#*.} + 500000000))
written=$(printf '%d.%09d' $((w / 1000000000)) $((w % 1000000000)))
sed -e "s/^written .*/written $written/" -e "/ msg\.h\$/ s/^read \([^ ]*\) [^ ]* /read \1 $st /" \
	-e '/^sum /d' "$f" >body
grep -q " $st 5 msg.h\$" body || { echo "racy.sh: no msg.h line in $f" >&2; exit 1; }
printf 'sum %s\n' "$(sha256sum <body | cut -d' ' -f1)" >>body
mv body "$f"
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
edit header edited, the entry claims its new stamp, recorded in the same second | echo '#define MSG "sev"' >msg.h && bash $T/racy.sh
edit a header found first on the search path removed (main.c touched) | rm over/cfg.h && touch main.c
edit a header made again first on the -I path, then make clean | echo '#define CFG "over2"' >over/cfg.h && make clean
edit that header removed again, then make clean | rm over/cfg.h && make clean
edit made, removed and made again with other bytes at once, then make clean | echo '#define CFG "x"' >over/cfg.h && rm over/cfg.h && echo '#define CFG "over3"' >over/cfg.h && make clean
edit a directory first on the -I path that did not exist made, with the header, then make clean | mkdir new && echo '#define CFG "new"' >new/cfg.h && make clean
edit the header made beside main.c (looked at first for "cfg.h"), then make clean | echo '#define CFG "here"' >cfg.h && make clean
edit a library made first on the -L path, then make clean | cp $T/extra-a.a liba/libextra.a && make clean
edit that library removed, then make clean | rm liba/libextra.a && make clean
edit made again, then make clean | cp $T/extra-a.a liba/libextra.a && make clean
edit a guarded header made beside its second includer (sub/guard.h), then make clean | echo '#define PICK "sub"' >sub/guard.h && make clean
edit that header removed, then make clean | rm sub/guard.h && make clean
edit made, removed and made again with other bytes at once, then make clean | echo '#define PICK "x"' >sub/guard.h && rm sub/guard.h && echo '#define PICK "sub2"' >sub/guard.h && make clean
edit a linker (gold) made first on the build's own PATH, then make clean | mkdir -p tools && cp $gold tools/ld && make clean
edit that linker removed, then make clean | rm tools/ld && make clean
edit bfd made there, removed and gold made again at once, then make clean | cp $bfd tools/ld && rm tools/ld && cp $gold tools/ld && make clean
memo unchanged rebuild after make clean | make clean
EOC

bash "$here/../rebuild-harness.sh" -w "$T/work" -t 'gen.h main.o prog' proj steps -- make >harness.out 2>&1
rc=$?
cat harness.out
check "the rebuild harness passes ($(grep -c '^ok' harness.out) checks)" [ $rc -eq 0 ]
check "the issue's example: prog prints what msg.h says" [ "$(work/gg/prog | head -1)" = sev ]
check "and the header made last, beside main.c" [ "$(work/gg/prog | tail -1)" = here ]
check "and the library made first on the -L path" [ "$(work/gg/prog | tail -2 | head -1)" = a ]
check "and the header made beside sub/pick.h" sh -c "work/gg/prog | grep -qx sub2"
check "and linked by the linker made first on the build's PATH (gold)" \
	sh -c "readelf -n work/gg/prog | grep -qi gold"
check "every step ran" [ "$(grep -c '^ok - .*outputs equal' harness.out)" = 37 ]
finish
