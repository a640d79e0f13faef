#!/usr/bin/env bash
# The slurm engine against a single-node Slurm on 127.0.0.1 (slurmctld,
# slurmd and munged started by tests/servers/start-slurm.sh), with workers
# (`gg worker --once`, one batch job per thunk) sharing a Redis storage
# back-end with the client and keeping their own store.
#   - the gg_graph.sh build through -e slurm equals the plain build
#   - every thunk was a Slurm job
#   - a job that ends without a response: a clear error with its log
. "$(dirname "$0")/lib.sh"
setup "$@"
need gcc as ld cmp sh redis-server
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$T"
echo "# in $T"
[ "$(id -u)" = 0 ] || { not_ok "this test needs root to run the Slurm daemons"; finish; }

eval "$("$here/servers/start-redis.sh")" || { not_ok "start redis (tests/servers/start-redis.sh)"; finish; }
at_exit "'$here/servers/start-redis.sh' stop '$REDIS_ROOT'"
s=$(date +%s.%N)
out=$("$here/servers/start-slurm.sh") || { not_ok "start Slurm (tests/servers/start-slurm.sh)"; finish; }
eval "$out"
at_exit "'$here/servers/start-slurm.sh' stop '$SLURM_ROOT'"
export SLURM_CONF
ok "single-node Slurm is up in $(awk "BEGIN{printf \"%.1f\", $(date +%s.%N) - $s}") s"
export GG_STORAGE=redis://127.0.0.1:$REDIS_PORT
export GG_SLURM_WORKER_DIR=$T/slurm-worker GG_SLURM_DIR=$T/slurm-jobs

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

s=$(date +%s.%N)
gg force --summary -j 4 -e "slurm=$SLURM_PARTITION" out.txt 2>sum1.txt
st=$?
echo "# forced the graph through Slurm in $(awk "BEGIN{printf \"%.2f\", $(date +%s.%N) - $s}") s"
check "gg force -e slurm succeeds" [ $st -eq 0 ] || cat sum1.txt
check "forcing the last level ran the whole graph" grep -q 'executed 6, from memo 0, failed 0' sum1.txt
check "program output equals the plain build's" cmp out.txt ../plain/out.txt
gg force -e slurm a.s b.s a.o b.o prog 2>sum2.txt
for x in a.s b.s a.o b.o prog; do
	check "$x equals the plain command's output byte for byte" cmp $x ../plain/$x
done
jobs=$(squeue -h -t all -o '%j %T' | grep -c '^gg-.* COMPLETED')
# (a job slower than the speculation threshold may have had a copy)
check "every thunk was a completed Slurm job (6 or a few more, got $jobs)" [ "$jobs" -ge 6 -a "$jobs" -le 12 ]
check "the workers kept their own store" [ -n "$(ls "$T/slurm-worker/objects" 2>/dev/null)" ]
check "request and response files were cleaned up" [ -z "$(ls "$T/slurm-jobs")" ]

# A job that cannot start a worker ends without a response: a clear error.
t=$(gg thunk -o o -- sh -c 'echo never > o')
GG_SLURM_GG=/nonexistent/gg gg force --no-progress --retries 0 -e slurm "$t#o" 2>nogg.txt
check "a job without a response fails the force" [ $? -ne 0 ]
check "naming the job and its log" grep -q 'slurm job [0-9]* ended (.*) without a response; its log: .*nonexistent/gg' nogg.txt || cat nogg.txt
cd ..
finish
