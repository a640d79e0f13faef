#!/usr/bin/env bash
# gg infer catches tools however the build names them (issue 13): a Makefile
# that calls /usr/bin/cc, /usr/bin/ar, /usr/bin/c++, $(CC) and $(CXX) set to
# the compilers' full real file names, and a symlink of its own to gcc. The
# build leaves a placeholder for every object, the archive and both programs;
# nothing ran for real (the log says so, and the objects were placeholders
# before forcing, so no real compile happened); forcing gives programs that
# equal a plain build of the same directory byte for byte, and an archive
# whose members are objects, never placeholder text. Without the private
# mount namespace (GG_INFER_NS=off) a note names what is not caught.
. "$(dirname "$0")/lib.sh"
setup "$@"
need make cc c++ gcc g++ ar cmp readlink
cd "$T"

gcc_file=$(readlink -f "$(command -v gcc)")
gxx_file=$(readlink -f "$(command -v g++)")

mkproj() { # DIR
	mkdir -p "$1/tools"
	ln -s "$gcc_file" "$1/tools/mycc"
	cat >"$1/add.c" <<'EOF'
int add(int a, int b) { return a + b; }
EOF
	cat >"$1/mul.c" <<'EOF'
int add(int a, int b);
int mul(int a, int b) { int r = 0; for (int i = 0; i < b; i++) r = add(r, a); return r; }
EOF
	cat >"$1/main.c" <<'EOF'
#include <stdio.h>
int mul(int a, int b);
int main(void) { printf("%d\n", mul(6, 7)); return 0; }
EOF
	cat >"$1/hello.cc" <<'EOF'
#include <iostream>
#include <string>
extern "C" int mul(int a, int b);
int main() { std::string s = "six times seven is "; std::cout << s << mul(6, 7) << "\n"; }
EOF
	cat >"$1/Makefile" <<EOF
CC = $gcc_file
CXX = $gxx_file
all: prog hello
add.o: add.c
	/usr/bin/cc -O2 -c add.c
mul.o: mul.c
	env -i \$(CC) -O2 -c mul.c
main.o: main.c
	\$(CURDIR)/tools/mycc -O2 -c main.c
hello.o: hello.cc
	env -i /usr/bin/c++ -O2 -c hello.cc
libm6.a: add.o mul.o
	/usr/bin/ar rcs libm6.a add.o mul.o
prog: main.o libm6.a
	\$(CC) -o prog main.o libm6.a
hello: hello.o libm6.a
	\$(CXX) -o hello hello.o libm6.a
EOF
}

outs="add.o mul.o main.o hello.o libm6.a prog hello"
is_ph() { head -c 64 "$1" | grep -q '^ggfs-placeholder '; }

# The plain build, then inference in the same directory (paths in the
# outputs then agree), its outputs kept aside.
mkproj proj
(cd proj && make >../plain.out 2>&1) || { not_ok "plain make"; finish; }
mkdir plain
for f in $outs; do mv "proj/$f" plain/; done

cd proj
gg init . >/dev/null
timeout 120 gg infer make >../infer.out 2>&1
rc=$?
check "gg infer make succeeds" [ $rc -eq 0 ]
for f in $outs; do
	check "$f is a placeholder after inference (no real run)" is_ph "$f"
done
check "nothing ran for real (the log)" bash -c '! grep -q "ran the real tool" .gg/infer.log'
check "the summary counts 7 deferred outputs, 0 real runs" \
	grep -q 'gg infer: 7 outputs deferred as placeholders, 0 commands ran for real' ../infer.out
check "the C++ compile went to the g++-class model" grep -q 'c++: hello.o -> T' .gg/infer.log
check "the symlink of its own reached the gcc model" grep -q ': main.o -> T' .gg/infer.log
check "both compiles started with a cleared environment (env -i) took gg infer's variables from a parent" \
	bash -c '[ "$(grep -c "started with a cleared environment: gg infer.s variables taken from its parent process [0-9]*$" .gg/infer.log)" = 2 ]'

timeout 300 gg force prog hello >../force.out 2>&1
check "forcing prog and hello succeeds" [ $? -eq 0 ]
check "prog runs" bash -c '[ "$(./prog)" = 42 ]'
check "hello runs" bash -c '[ "$(./hello)" = "six times seven is 42" ]'
for f in prog hello; do
	check "$f equals the plain build's byte for byte" cmp "$f" "../plain/$f"
done
timeout 120 gg force libm6.a >/dev/null 2>&1
check "the archive lists both objects" bash -c '[ "$(ar t libm6.a | tr "\n" " ")" = "add.o mul.o " ]'
check "no archive member is placeholder text" bash -c '! ar p libm6.a | grep -aq ggfs-placeholder'
check "the archive equals the plain build's" cmp libm6.a ../plain/libm6.a
cd ..

# Without namespaces only names on PATH are caught, and gg infer says so.
mkproj proj2
cd proj2
gg init . >/dev/null
GG_INFER_NS=off timeout 120 gg infer make add.o >../off.out 2>&1
check "GG_INFER_NS=off: the build still succeeds" [ $? -eq 0 ]
check "GG_INFER_NS=off: a note names what is not caught" \
	grep -q 'no private mount namespace here (GG_INFER_NS=off): tools are modelled only when called by name through PATH; /usr/bin/cc and other absolute paths run for real' ../off.out
check "GG_INFER_NS=off: /usr/bin/cc itself is not modelled (only the as it runs by name)" \
	bash -c '! grep -q "cc: add.o" .gg/infer.log && grep -q "as: add.o -> T" .gg/infer.log'
cd ..

# A compile with a cleared environment whose parents are gone (detached from
# the build, reparented) while the build still runs: the build's first
# process (make) adopts it, and it takes gg infer's variables from there: it
# is modelled (a placeholder, nothing run for real), never "unknown command",
# never a failure.
mkdir orphan
cat >orphan/add.c <<'EOF'
int add(int a, int b) { return a + b; }
EOF
cat >orphan/detach.sh <<'EOF'
#!/bin/sh
# Starts the compile with an empty environment, once this script has exited.
env -i /bin/sh -c 'while [ "$(cut -d" " -f4 /proc/$$/stat)" = "$1" ]; do sleep 0.02; done
/usr/bin/cc -c add.c -o add.o 2>detached.err; echo $? >detached.rc' _ $$ &
EOF
printf 'all:\n\tsh ./detach.sh && while [ ! -s detached.rc ]; do sleep 0.05; done\n' >orphan/Makefile
(cd orphan && gg init . >/dev/null && timeout 120 gg infer make >../orphan.out 2>&1)
check "a detached compile with a cleared environment, adopted by the build (make), is modelled: add.o a placeholder" \
	bash -c '[ "$(cat orphan/detached.rc)" = 0 ] && head -c 64 orphan/add.o | grep -q "^ggfs-placeholder "'
[ "$(cat orphan/detached.rc 2>/dev/null)" = 0 ] || sed 's/^/    /' orphan/detached.err
check "... taking gg infer's variables from make, nothing run for real" \
	bash -c 'grep -q "cc: add.o -> T" orphan/.gg/infer.log && grep -q "started with a cleared environment: gg infer.s variables taken from its parent process" orphan/.gg/infer.log && ! grep -q "ran the real tool" orphan/.gg/infer.log'
(cd orphan && timeout 120 gg force add.o >/dev/null 2>&1)
check "... and forced, equals a plain compile of it" bash -c 'cd orphan && cc -c add.c -o plain-add.o && cmp add.o plain-add.o'

# A detached compile that outlives the build (it starts once make has
# exited): nothing can give it gg infer's variables. It fails with a message
# saying so, never "unknown command" or a silent real run.
mkdir late
cp orphan/add.c late/
cat >late/detach.sh <<'EOF'
#!/bin/sh
# Starts the compile with an empty environment, once make ($1) has exited.
env -i /bin/sh -c 'while kill -0 "$1" 2>/dev/null; do sleep 0.02; done
/usr/bin/cc -c add.c -o add.o 2>detached.err; echo $? >detached.rc.tmp; mv detached.rc.tmp detached.rc' _ "$1" &
EOF
printf 'all:\n\tsh ./detach.sh $$PPID\n' >late/Makefile
(cd late && gg init . >/dev/null && timeout 120 gg infer make >../late.out 2>&1)
for i in $(seq 600); do [ -s late/detached.rc ] && break; sleep 0.05; done
check "a detached compile that outlives the build fails (127), saying why" \
	bash -c '[ "$(cat late/detached.rc)" = 127 ] && grep -q "^gg: /usr/bin/cc is gg bound over a tool by gg infer, started without gg infer.s environment (GG_INFER_TOOLS), and no parent process has it (a process detached from the build that outlived it?)" late/detached.err && [ ! -e late/add.o ]'
[ "$(cat late/detached.rc 2>/dev/null)" = 127 ] || cat late/detached.rc late/detached.err 2>/dev/null | sed 's/^/    /'

# Without root: a user namespace, and the models keep only what returning to
# gg infer's namespace needs. As root, the same as user nobody.
if [ "$(id -u)" = 0 ]; then
	need setpriv
	mkproj proj3
	chmod 755 "$T"
	chown -R 65534:65534 proj3
	(cd proj3 && timeout 120 setpriv --reuid=65534 --regid=65534 --clear-groups \
		env HOME="$T/proj3" sh -c 'gg init . >/dev/null && gg infer make prog && head -c 64 prog >prog.head && gg force prog && ./prog' \
		>../nobody.out 2>&1 </dev/null)
	check "as a user without root: infer, force and run (42)" \
		bash -c '[ "$(tail -n 1 nobody.out)" = 42 ] && grep -q "^ggfs-placeholder" proj3/prog.head && grep -q "5 outputs deferred as placeholders, 0 commands ran for real" nobody.out'
fi
finish
