#!/usr/bin/env bash
# gg infer on a small multi-file C project built by make -j2: a static library
# (ar + ranlib), a shared library with a soname, a program linking both,
# -MMD -MP depfiles, -g -O2. The build leaves placeholders fast; forcing the
# program gives one that runs; without -g every object, the archive, the
# shared library and the program equal a plain make's byte for byte; with -g
# they differ only in DW_AT_comp_dir (each names its own build directory:
# the plain build ran elsewhere; e2e/infer_debug builds both in one), which
# stripping the debug info shows. A second
# checkout at another path gives the same thunk names and forces from the memo.
# Then single commands: compile-and-link of several sources, -pipe, LTO,
# flags no model knows, and the commands that run for real (and are logged).
. "$(dirname "$0")/lib.sh"
setup "$@"
need gcc clang make ar ranlib cmp objcopy readelf timeout
cd "$T"

mkproj() { # DIR
	mkdir -p "$1/src" "$1/include" "$1/lib"
	cat >"$1/include/util.h" <<'EOF'
#ifndef UTIL_H
#define UTIL_H
int util_add(int a, int b);
int util_mul(int a, int b);
#endif
EOF
	cat >"$1/include/shape.h" <<'EOF'
#ifndef SHAPE_H
#define SHAPE_H
struct shape { const char *name; int w, h; };
int shape_area(const struct shape *s);
const char *shape_describe(const struct shape *s);
#endif
EOF
	cat >"$1/lib/add.c" <<'EOF'
#include "util.h"
int util_add(int a, int b) { return a + b; }
EOF
	cat >"$1/lib/mul.c" <<'EOF'
#include "util.h"
int util_mul(int a, int b) { int r = 0; for (int i = 0; i < b; i++) r = util_add(r, a); return r; }
EOF
	cat >"$1/lib/shape.c" <<'EOF'
#include <stdio.h>
#include "shape.h"
int shape_area(const struct shape *s) { return s->w * s->h; }
const char *shape_describe(const struct shape *s)
{
	static char buf[128];
	snprintf(buf, sizeof buf, "%s %dx%d", s->name, s->w, s->h);
	return buf;
}
EOF
	cat >"$1/src/main.c" <<'EOF'
#include <stdio.h>
#include <string.h>
#include "util.h"
#include "shape.h"
int main(int argc, char **argv)
{
	struct shape s = {"rect", 6, 7};
	printf("%s area=%d sum=%d prod=%d args=%d\n", shape_describe(&s), shape_area(&s),
	       util_add(40, 2), util_mul(6, 7), argc - 1);
	return strcmp(shape_describe(&s), "rect 6x7") != 0;
}
EOF
	cat >"$1/Makefile" <<'EOF'
CFLAGS ?= -g -O2
ALL_CFLAGS = -Wall -Iinclude -MMD -MP $(CFLAGS)
OBJDIR ?= obj

all: $(OBJDIR)/prog

$(OBJDIR)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(OBJDIR)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fPIC -c $< -o $@

$(OBJDIR)/libutil.a: $(OBJDIR)/lib/add.o $(OBJDIR)/lib/mul.o
	rm -f $@
	ar rcs $@ $^
	ranlib $@

$(OBJDIR)/libshape.so.1.0: $(OBJDIR)/pic/lib/shape.o
	$(CC) -shared -Wl,-soname,libshape.so.1 -o $@ $^

$(OBJDIR)/libshape.so: $(OBJDIR)/libshape.so.1.0
	ln -sf libshape.so.1.0 $@
	ln -sf libshape.so.1.0 $(OBJDIR)/libshape.so.1

$(OBJDIR)/prog: $(OBJDIR)/src/main.o $(OBJDIR)/libutil.a $(OBJDIR)/libshape.so
	$(CC) -o $@ $(OBJDIR)/src/main.o -L$(OBJDIR) -lutil -lshape -Wl,-rpath,'$$ORIGIN'

clean:
	rm -rf $(OBJDIR)

-include $(shell find $(OBJDIR) -name '*.d' 2>/dev/null)
EOF
}

outputs="obj/src/main.o obj/lib/add.o obj/lib/mul.o obj/pic/lib/shape.o obj/libutil.a obj/libshape.so.1.0 obj/prog"
expected="rect 6x7 area=42 sum=42 prod=42 args=2"
is_placeholder() { [ "$(head -c 21 "$1" 2>/dev/null | tr -d '\0')" = '#!/usr/bin/env gg-run' ]; }
real_runs() { grep -c ': ran the real tool: ' "$1/infer.log" 2>/dev/null || true; }
all_same() { # DIR_A DIR_B FILE...
	local a=$1 b=$2 f rc=0
	shift 2
	for f in "$@"; do cmp "$a/$f" "$b/$f" >/dev/null 2>&1 || { echo "  differs: $f"; rc=1; }; done
	return $rc
}

# ---- plain builds to compare with ----
mkproj proj
cp -r proj plain-g && (cd plain-g && make -j2 >/dev/null 2>&1) || not_ok "plain make (-g -O2)"
cp -r proj plain && (cd plain && make -j2 CFLAGS=-O2 >/dev/null 2>&1) || not_ok "plain make (-O2)"

# ---- the lazy build ----
cp -r proj lazy-g
cd lazy-g
gg init . >/dev/null
t0=$(date +%s%N)
timeout 120 gg infer make -j2 >make.out 2>&1
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
check "gg infer make -j2 succeeds (${ms} ms)" [ $rc -eq 0 ]
ph=0
for f in $outputs; do is_placeholder "$f" && ph=$((ph + 1)); done
check "every output is a placeholder ($ph of 7)" [ $ph -eq 7 ]
check "every command was modelled (no real runs in .gg/infer.log)" [ "$(real_runs .gg)" = 0 ]
check "the summary line counts the deferred outputs" grep -q 'gg infer: 7 outputs deferred' make.out
check "the depfile equals the plain build's" cmp obj/src/main.d ../plain-g/obj/src/main.d
check "depfiles exist for every object" [ -f obj/lib/add.d -a -f obj/lib/mul.d -a -f obj/pic/lib/shape.d ]

# make sees the placeholders as up to date; a header change rebuilds its users only
lines=$(wc -l <.gg/infer.log)
gg infer make -j2 >make2.out 2>&1
check "a second make does nothing" [ "$(wc -l <.gg/infer.log)" = "$lines" ]
sleep 1
touch include/util.h
gg infer make -j2 >make3.out 2>&1
rebuilt=$(tail -n +$((lines + 1)) .gg/infer.log | grep -c ' -> T')
check "touching util.h redefers its three objects, the archive and the program ($rebuilt)" [ "$rebuilt" = 5 ]

# force through the mount (or gg force) and run
cd "$T"
mkdir mnt
if [ -x "$BUILD/bin/ggfs" ]; then
	if ggfs_mount "$T/lazy-g" "$T/mnt" "$T/ggfs.log"; then
		ok "mount the lazy tree with ggfs"
		out=$("$T/mnt/obj/prog" a b 2>&1)
		check "the program runs through the mount: $out" [ "$out" = "$expected" ]
		fusermount3 -u "$T/mnt"
	else
		not_ok "mount the lazy tree with ggfs"
	fi
else
	not_ok "ggfs is not built ($BUILD/bin/ggfs; make builds it): the mount cannot be tested (forcing with gg force instead)"
fi
(cd lazy-g && gg force --summary $outputs 2>force.out)
check "gg force of every output" grep -q 'failed 0' lazy-g/force.out
out=$(lazy-g/obj/prog a b 2>&1)
check "the forced program runs: $out" [ "$out" = "$expected" ]
ph=0
for f in $outputs; do is_placeholder "lazy-g/$f" && ph=$((ph + 1)); done
check "everything forced" [ $ph -eq 0 ]

# -g objects: only the compilation directory differs (the plain build ran elsewhere)
comp=$(readelf --debug-dump=info lazy-g/obj/lib/add.o 2>/dev/null | grep -m1 DW_AT_comp_dir | sed 's/.*: //')
check "-g: the lazy objects' DW_AT_comp_dir is the build's directory (got '$comp')" [ "$comp" = "$T/lazy-g" ]
strip_same=0
for f in obj/src/main.o obj/lib/add.o obj/lib/mul.o obj/pic/lib/shape.o; do
	objcopy --strip-debug "lazy-g/$f" a.o && objcopy --strip-debug "plain-g/$f" b.o && cmp a.o b.o && strip_same=$((strip_same + 1))
done
check "-g: with debug info stripped, all 4 objects equal the plain build's" [ $strip_same = 4 ]
check "-g: shared library and program equal the plain build's without debug info and build-id" sh -c '
	for f in obj/libshape.so.1.0 obj/prog; do
		for d in lazy-g plain-g; do
			objcopy --strip-debug --remove-section=.note.gnu.build-id $d/$f $d.x || exit 1
		done
		cmp lazy-g.x plain-g.x || exit 1
	done'

# ---- without -g everything equals the plain build byte for byte ----
cp -r proj lazy
(cd lazy && gg init . >/dev/null && gg infer make -j2 CFLAGS=-O2 >/dev/null 2>&1 && gg force --summary --trace trace.json $outputs 2>force.out)
check "-O2: forcing every output" grep -q 'failed 0' lazy/force.out
# cc1's output is an intermediate (.gg-sys/tmp/N.s): its label names the source
check "-O2: the trace labels the compile of main.c after its source" grep -q '"name":"cc1 src/main.c T' lazy/trace.json
check "-O2: objects, archive, shared library and program equal plain make's byte for byte" all_same lazy plain $outputs
check "-O2: the program runs" [ "$(lazy/obj/prog a b)" = "$expected" ]

# ---- clang: the same project, byte for byte ----
cp -r proj plain-clang && (cd plain-clang && make -j2 CC=clang CFLAGS=-O2 >/dev/null 2>&1) || not_ok "plain make CC=clang"
cp -r proj lazy-clang
(cd lazy-clang && gg init . >/dev/null && gg infer make -j2 CC=clang CFLAGS=-O2 >make.out 2>&1 &&
	gg force --summary $outputs 2>force.out)
check "clang: every command was modelled" [ "$(real_runs lazy-clang/.gg)" = 0 ]
check "clang: forcing every output" grep -q 'failed 0' lazy-clang/force.out
check "clang: objects, archive, shared library and program equal plain make's" all_same lazy-clang plain-clang $outputs
check "clang: the depfile equals the plain build's" cmp lazy-clang/obj/src/main.d plain-clang/obj/src/main.d

# ---- the models' memo: a rebuild of the same tree skips the driver and the scan ----
cp -r proj rebuilt && mkdir -p rebuilt-ref
(cd rebuilt && GG_DIR="$T/lazy/.gg" gg infer make -j2 CFLAGS=-O2 >/dev/null 2>&1 && cp -r obj ../rebuilt-ref/ &&
	rm -rf obj && GG_DIR="$T/lazy/.gg" gg infer -v make -j2 CFLAGS=-O2 >make.out 2>&1)
served=$(grep -c 'from the model memo' rebuilt/make.out)
check "after deleting the build tree, make is served from the models' memo ($served of 7)" [ "$served" = 7 ]
check "... with the same placeholders" all_same rebuilt rebuilt-ref $outputs
check "... and the depfiles written again" cmp rebuilt/obj/src/main.d plain/obj/src/main.d

# ---- a second checkout at another path: same thunk names, all from the memo ----
mkdir -p elsewhere/deeper
cp -r proj elsewhere/deeper/checkout
(cd elsewhere/deeper/checkout && GG_DIR="$T/lazy/.gg" gg infer make -j2 CFLAGS=-O2 >/dev/null 2>&1)
# lazy/ was forced in place; compare against a fresh infer of lazy's tree
cp -r proj again && (cd again && GG_DIR="$T/lazy/.gg" gg infer make -j2 CFLAGS=-O2 >/dev/null 2>&1)
check "second checkout: identical placeholders (thunk names)" all_same again elsewhere/deeper/checkout $outputs
(cd elsewhere/deeper/checkout && GG_DIR="$T/lazy/.gg" gg force --summary obj/prog 2>force.out)
check "second checkout: forcing is all memo hits" grep -q 'executed 0, from memo [1-9][0-9]*, failed 0' elsewhere/deeper/checkout/force.out

# ---- ar rcu updating an archive that is a placeholder (lua's Makefile) ----
mkarproj() { # DIR
	mkdir -p "$1"
	printf 'int a(void) { return 1; }\n' >"$1/a.c"
	printf 'int b(void) { return 2; }\n' >"$1/b.c"
	printf '#include <stdio.h>\nint a(void);\nint b(void);\nint main(void) { printf("%%d\\n", 10 * a() + b()); return 0; }\n' >"$1/main.c"
	# $? names only the changed members: the update keeps b.o from the old archive
	printf 'prog: main.o libab.a\n\t$(CC) -o $@ main.o libab.a\nlibab.a: a.o b.o\n\tar rcu $@ $?\n%%.o: %%.c\n\t$(CC) -O2 -c $< -o $@\n' >"$1/Makefile"
}
edit_a() { sed -i 's/return 1;/return 3;/' "$1/a.c"; }
mkarproj ar-plain && (cd ar-plain && make >/dev/null 2>&1 && edit_a . && make >/dev/null 2>&1) ||
	not_ok "plain make, edit, make (ar rcu)"
mkarproj ar-lazy
cd ar-lazy
gg init . >/dev/null
gg infer make >make1.out 2>&1 && edit_a . && lines=$(wc -l <.gg/infer.log) &&
	gg infer make >make2.out 2>&1
check "ar rcu: gg infer make, edit a.c, gg infer make succeed" [ $? -eq 0 ]
ph=0
for f in a.o b.o main.o libab.a prog; do is_placeholder "$f" && ph=$((ph + 1)); done
check "ar rcu: after the second make every output is still a placeholder ($ph of 5)" [ $ph -eq 5 ]
check "ar rcu: the second make ran nothing for real" grep -q '3 outputs deferred as placeholders, 0 commands ran for real' make2.out
check "ar rcu: the update of the existing archive is deferred" sh -c "tail -n +$((lines + 1)) .gg/infer.log | grep -q 'ar: libab.a -> T'"
gg force --summary prog libab.a 2>force.out
check "ar rcu: forcing the program and the archive" grep -q 'failed 0' force.out
check "ar rcu: the updated archive equals the plain build's byte for byte" cmp libab.a ../ar-plain/libab.a
check "ar rcu: the program equals the plain build's byte for byte" cmp prog ../ar-plain/prog
check "ar rcu: the program runs the edited member" [ "$(./prog)" = 32 ]
# the memo never serves an earlier creation for an update with the same arguments
gg infer gcc -O2 -c b.c -o b2.o 2>/dev/null
gg infer ar rc m.a a.o 2>/dev/null && gg infer ar r m.a b2.o 2>/dev/null && gg infer ar rc m.a a.o 2>/dev/null
gg force m.a 2>/dev/null
check "ar: an update repeating a creation's command keeps the old members ($(ar t m.a | tr '\n' ' '))" [ "$(ar t m.a | tr '\n' ' ')" = "a.o b2.o " ]
gg infer ar rcU u.a b2.o 2>u.err
check "ar U (member dates recorded) runs the real ar, saying why" grep -q "ar: ran the real tool: modifiers of 'ar rcU' are not modelled" .gg/infer.log
cd "$T"

# ---- single commands ----
mkdir one && cd one
gg init . >/dev/null
printf '#include <stdio.h>\nint f(int);\nint main(void) { printf("%%d\\n", f(21)); return 0; }\n' >m.c
printf 'int f(int x) { return 2 * x; }\n' >f.c
gg infer gcc -O2 m.c f.c -o two 2>/dev/null
check "compile and link of two sources in one command leaves a placeholder" is_placeholder two
gg force two && check "... which runs" [ "$(./two)" = 42 ]
gg infer gcc -O2 -pipe -c f.c -o piped.o 2>/dev/null
check "-pipe is modelled" is_placeholder piped.o
gcc -O2 -c f.c -o plain_f.o
gg force piped.o && check "-pipe gives the plain object" cmp piped.o plain_f.o
gg infer sh -c 'gcc -O2 -flto -c m.c -o lm.o && gcc -O2 -flto -c f.c -o lf.o && gcc -O2 -flto lm.o lf.o -o lto' 2>/dev/null
check "-flto: placeholders" is_placeholder lto
gg force --summary lto 2>lto.out
check "-flto: the LTO link runs lto-wrapper and lto1 in the sandbox" grep -q 'failed 0' lto.out
check "-flto: the program runs" [ "$(./lto)" = 42 ]
gcc -O2 -flto -c m.c -o plm.o && gcc -O2 -flto -c f.c -o plf.o && gcc -O2 -flto plm.o plf.o -o plto
check "-flto: the program equals the plain LTO build's" cmp lto plto
gg infer sh -c 'clang -O2 -flto -c m.c -o clm.o && clang -O2 -flto -c f.c -o clf.o && clang -O2 -flto clm.o clf.o -o cllto' 2>/dev/null
gg force --summary cllto 2>cllto.out
check "clang -flto: the link loads LLVMgold.so (with libLLVM) in the sandbox" grep -q 'failed 0' cllto.out
clang -O2 -flto -c m.c -o pclm.o && clang -O2 -flto -c f.c -o pclf.o && clang -O2 -flto pclm.o pclf.o -o pcllto
check "clang -flto: the program equals the plain build's" cmp cllto pcllto
gg infer gcc -O2 -fstack-protector-strong -D_FORTIFY_SOURCE=2 -Wformat -Werror=format-security \
	-fno-plt -Wl,-z,relro -Wl,-z,now -Wl,--build-id=sha1 -Wl,--hash-style=both m.c f.c -o hardened 2>/dev/null
check "flags no model lists are passed through, not refused" is_placeholder hardened
gg force hardened && check "... and the program runs" [ "$(./hardened)" = 42 ]
printf '#define VAL 9\n\t.text\n\t.globl sx\nsx:\n\tmovl $VAL, %%eax\n\tret\n' >sx.S
gg infer gcc -c sx.S -o sx.o 2>/dev/null
check "an assembler-with-cpp source (.S) is modelled" is_placeholder sx.o
gcc -c sx.S -o plain_sx.o
gg force sx.o && check "... and gives the plain object" cmp sx.o plain_sx.o
printf '#include "gen.h"\nint g(void) { return GEN; }\n' >ug.c
gg thunk -o gen.h --placeholder gen.h -- sh -c 'echo "#define GEN 7" > gen.h' >/dev/null
gg infer gcc -O2 -c ug.c -o ug.o 2>/dev/null
check "a header that is a placeholder is forced before the scan" sh -c '! grep -q gg-run gen.h'
check "... and the compile is still deferred" is_placeholder ug.o
gg force ug.o && check "... and the object uses it" sh -c "nm ug.o | grep -q ' T g'"
gg infer gcc -O2 -c f.c -o nm_f.o 2>/dev/null
check "nm on a placeholder forces it and reads the object" sh -c "gg infer nm nm_f.o 2>/dev/null | grep -q ' T f'"
before=$(real_runs .gg)
out=$(gg infer gcc -E -P m.c 2>/dev/null | grep -c 'int main')
check "-E to stdout runs the real preprocessor" [ "$out" = 1 ]
check "-print-file-name runs for real" [ -f "$(gg infer gcc -print-file-name=libc.so.6 2>/dev/null)" ]
cp m.c conftest.c
gg infer gcc -O2 conftest.c f.c -o conftest 2>/dev/null
check "a configure probe (conftest) is built for real" sh -c '! head -c2 conftest | grep -q "#!" && ./conftest | grep -q 42'
gg infer gcc -O2 -c missing.c -o missing.o 2>missing.err
check "a command that fails for real still fails (the model does not hide it)" [ $? -ne 0 ]
check "... with the compiler's own error: $(head -c 200 missing.err)" grep -q "missing.c: No such file or directory" missing.err
check "each real run is one line in .gg/infer.log" [ "$(real_runs .gg)" -ge $((before + 4)) ]
check "the log says why" grep -q 'configure probe' .gg/infer.log
finish
