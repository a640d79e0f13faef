#!/usr/bin/env bash
# The http engine against three `gg worker --listen` processes on 127.0.0.1,
# each in its own empty directory with its own store and (as root) unable to
# see the client's directory at all, sharing a Redis storage back-end
# (tests/servers/start-redis.sh). A three-level graph of the system
# compiler's real stages (cc1, as, ld, then running the program; the shape of
# gg_graph.sh) forced through -e http=... equals the plain build byte for
# byte; every thunk ran on a worker; a second force is all memo hits; the
# workers stop cleanly.
. "$(dirname "$0")/lib.sh"
setup "$@"
need gcc as ld cmp sh redis-server
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/servers/workers.sh"
cd "$T"

eval "$("$here/servers/start-redis.sh")" || { not_ok "start redis (tests/servers/start-redis.sh)"; finish; }
at_exit "'$here/servers/start-redis.sh' stop '$REDIS_ROOT'"
export GG_STORAGE=redis://127.0.0.1:$REDIS_PORT

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

(cd plain && for x in a b; do
	"$cc1" -quiet -fpreprocessed ../$x.i -O2 -o $x.s && as $x.s -o $x.o
done && ld -static -o prog $(f crt1.o) $(f crti.o) $(f crtbeginT.o) a.o b.o --start-group $(f libgcc.a) $(f libgcc_eh.a) $(f libc.a) --end-group $(f crtend.o) $(f crtn.o) && ./prog > out.txt) || not_ok "plain build"

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
cd ..

# Workers must not see the client's store: hide the whole test directory
# except their own (they live under $T/workers, mounted over by nothing).
workers_hide "$T/lazy"
workers_can_hide && ok "workers run in a mount namespace where the client's directory is empty" ||
	echo "# note: not root: workers have their own stores but could see $T/lazy"
for w in w1 w2 w3; do
	worker_start $w -j 2 || { not_ok "start worker $w"; finish; }
done
urls="${WURL[w1]},${WURL[w2]},${WURL[w3]}"

cd lazy
t0=$(date +%s.%N)
gg force --summary -j 8 -e "http=$urls" out.txt 2>sum1.txt
st=$?
t1=$(date +%s.%N)
echo "# forced the graph through 3 http workers in $(awk "BEGIN{printf \"%.2f\", $t1 - $t0}") s"
check "gg force -e http=... succeeds" [ $st -eq 0 ]
check "forcing the last level ran the whole graph" grep -q 'executed 6, from memo 0, failed 0' sum1.txt
check "program output equals the plain build's" cmp out.txt ../plain/out.txt
gg force -e "http=$urls" a.s b.s a.o b.o prog 2>sum2.txt
for x in a.s b.s a.o b.o prog; do
	check "$x equals the plain command's output byte for byte" cmp $x ../plain/$x
done
ran=0
for w in w1 w2 w3; do ran=$((ran + $(worker_ran $w))); done
check "every thunk ran on a worker (6 executions, got $ran)" [ "$ran" -eq 6 ]
cp out.placeholder again.txt
gg force --summary -e "http=$urls" again.txt 2>sum3.txt
check "the second force is all memo hits" grep -q 'executed 0, from memo 1, failed 0' sum3.txt
check "no partial objects in the client's store" store_objects_whole .gg
for w in w1 w2 w3; do
	check "worker $w's store is its own (objects there)" [ -n "$(ls "$T/workers/$w/store/objects" 2>/dev/null)" ]
done

# A program failure on a worker is reported with its status and stderr, not retried.
bad=$(gg thunk -o o -- sh -c 'echo "broken on purpose" >&2; exit 3')
gg force -e "http=$urls" "$bad#o" 2>fail.txt
check "a failing thunk fails the force" [ $? -ne 0 ]
check "the failure names the exit status and the worker" grep -q 'exited with status 3 (on http worker' fail.txt
check "the failure shows the remote stderr" grep -q 'broken on purpose' fail.txt
fails=$(cat "$T"/workers/*/log | grep -c ' failed in ')
check "a program failure is not retried (ran once, got $fails)" [ "$fails" -eq 1 ]

# Misconfiguration is a clear error.
env -u GG_STORAGE gg force -e "http=$urls" "$bad#o" 2>nostorage.txt
check "no storage: a clear error" grep -q 'needs a storage back-end' nostorage.txt
gg force -e "http=ftp://x" "$bad#o" 2>badurl.txt
check "a bad URL: a clear error" grep -q 'not an http:// or https:// URL' badurl.txt
cd ..

for w in w1 w2 w3; do
	check "worker $w stops cleanly on SIGTERM" worker_stop $w
	check "worker $w's log has no sanitizer report" worker_log_clean $w
done
finish
