#!/usr/bin/env bash
# The slurm engine against a single-node Slurm on 127.0.0.1 (slurmctld,
# slurmd and munged started by tests/servers/start-slurm.sh), with workers
# (`gg worker --once`, one batch job per thunk) sharing a Redis storage
# back-end with the client and keeping their own store.
#   - the gg_graph.sh build through -e slurm equals the plain build
#   - every thunk was a Slurm job
#   - a job that ends without a response: a clear error with its log
#   - a controller that does not answer (slurmctld stopped): sbatch is
#     killed after GG_SLURM_COMMAND_TIMEOUT, nothing of it is left, and the
#     thunk runs on the next engine
. "$(dirname "$0")/lib.sh"
setup "$@"
need gcc as ld cmp sh redis-server
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/servers/c_graph.sh"
cd "$T"
echo "# in $T"
[ "$(id -u)" = 0 ] || { not_ok "this test needs root to run the Slurm daemons"; finish; }

. "$here/servers/redis.sh"
redis_up || { not_ok "start redis (tests/servers/redis.sh)"; finish; }
s=$(date +%s.%N)
out=$("$here/servers/start-slurm.sh") || { not_ok "start Slurm (tests/servers/start-slurm.sh)"; finish; }
eval "$out"
at_exit "'$here/servers/start-slurm.sh' stop '$SLURM_ROOT'"
export SLURM_CONF
ok "single-node Slurm is up in $(awk "BEGIN{printf \"%.1f\", $(date +%s.%N) - $s}") s"
export GG_STORAGE=redis://127.0.0.1:$REDIS_PORT
export GG_SLURM_WORKER_DIR=$T/slurm-worker GG_SLURM_DIR=$T/slurm-jobs

graph_make || finish
cd lazy

graph_force "Slurm" -j 4 -e "slurm=$SLURM_PARTITION"
# Job names carry the thunk's name: six distinct thunks ran as Slurm jobs. A
# seventh job can only be an infrastructure retry of one of them (the Slurm
# engine never speculates; gg force prints why an attempt is retried); more
# would be a bug.
jobs=$(squeue -h -t all -o '%j %T' | grep -c '^gg-.* COMPLETED')
thunks=$(squeue -h -t all -o '%j %T' | grep '^gg-.* COMPLETED' | cut -d' ' -f1 | sort -u | wc -l)
check "every thunk ran as a completed Slurm job (6 thunks, got $thunks in $jobs jobs)" [ "$thunks" -eq 6 -a "$jobs" -le 7 ]
[ "$jobs" -eq 6 ] || { echo "# note: $jobs jobs for 6 thunks: one was retried:"; grep 'trying again' sum1.txt | sed 's/^/#   /'; }
check "the workers kept their own store" [ -n "$(ls "$T/slurm-worker/objects" 2>/dev/null)" ]
check "request and response files were cleaned up" [ -z "$(ls "$T/slurm-jobs")" ]

# A job that cannot start a worker ends without a response: a clear error.
t=$(gg thunk -o o -- sh -c 'echo never > o')
GG_SLURM_GG=/nonexistent/gg gg force --no-progress --retries 0 -e slurm "$t#o" 2>nogg.txt
check "a job without a response fails the force" [ $? -ne 0 ]
check "naming the job and its log" grep -q 'slurm job [0-9]* ended (.*) without a response; its log: .*nonexistent/gg' nogg.txt || cat nogg.txt

# A controller that does not answer: each sbatch is killed at the limit
# and the thunk runs locally, saying why.
ctld=$(cat "$SLURM_ROOT/slurmctld.pid")
t=$(gg thunk -o o -- sh -c 'echo local > o')
kill -STOP "$ctld"
s=$(date +%s)
GG_SLURM_COMMAND_TIMEOUT=2 timeout 300 gg force --no-progress -e "slurm=$SLURM_PARTITION" -e local "$t#o" >stopped.out 2>stopped.txt
rc=$?
took=$(($(date +%s) - s))
left=$(pgrep -f "^sbatch .*$T/slurm-jobs")
kill -CONT "$ctld"
check "a stopped slurmctld: the thunk ran on the next engine (rc $rc, ${took} s)" [ $rc = 0 ]
check "saying that sbatch was killed at its limit" grep -q 'sbatch did not end within 2 s: killed (the limit is GG_SLURM_COMMAND_TIMEOUT)' stopped.txt || cat stopped.txt
check "no sbatch left running ($left)" [ -z "$left" ]

# Cancelling gg force (SIGINT, SIGTERM) cancels its Slurm jobs.
for sig in INT TERM; do
	t=$(gg thunk -o o -- sh -c "while :; do :; done; echo $sig > o")
	gg force --no-progress -e "slurm=$SLURM_PARTITION" "$t#o" 2>"cancel.$sig" &
	force=$!
	job=
	for _ in $(seq 300); do
		# running, and its thunk's loop started (a job still pending when
		# gg force ends would find no request and end by itself)
		job=$(squeue -h -o '%i %j %T' | grep " gg-${t:1:12}" | grep -E 'RUNNING' | cut -d' ' -f1)
		[ -n "$job" ] && pgrep -f "while :; do :; done; echo $sig" >/dev/null && break
		sleep 0.1
	done
	check "SIG$sig: the job was running its thunk ($job)" [ -n "$job" ]
	req=$(ls "$T"/slurm-jobs/*.req 2>/dev/null | head -1)
	check "SIG$sig: its request file is private: 0600 in a 0700 directory" \
		[ -n "$req" -a "$(stat -c %a "$req" 2>/dev/null)" = 600 -a "$(stat -c %a "$T/slurm-jobs")" = 700 ]
	kill -$sig $force
	wait $force
	rc=$?
	check "SIG$sig: gg force exits 130 (got $rc)" [ $rc = 130 ]
	left=
	for _ in $(seq 100); do
		left=$(squeue -h -o '%i %T' | grep -E "^$job (RUNNING|PENDING|CONFIGURING|COMPLETING)")
		[ -z "$left" ] && break
		sleep 0.1
	done
	check "SIG$sig: its Slurm job is gone within 10 s" [ -z "$left" ]
done
cd ..
finish
