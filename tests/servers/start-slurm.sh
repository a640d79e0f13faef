#!/usr/bin/env bash
# Starts a throwaway single-node Slurm (slurmctld + slurmd, and its own munged)
# on 127.0.0.1 only, with all state in one directory. Follows
# /work/shared/infra.md §D (Debian's Slurm 22.05, no systemd, no cgroups).
#
#   tests/servers/start-slurm.sh            start; prints KEY=VALUE lines (eval them)
#   tests/servers/start-slurm.sh stop DIR   stop the daemons started in DIR, remove DIR
#
# Environment: SLURM_ROOT (state dir; default a fresh /tmp/gg-slurm.XXXXXX),
# SLURM_CPUS (CPUs the node offers; default the machine's). Ports are free ones
# picked at random; neither daemon can take port 0, so when another process
# takes one before a daemon binds it, both daemons are started again on other
# ports (up to 10 times). Each daemon is ready when it listens on its port,
# then the node when it is idle: never a fixed wait. Needs root (the daemons
# and munge). Installs the Debian
# packages slurmctld slurmd slurm-client munge when they are missing.
# Prints SLURM_ROOT=, SLURM_CONF= (export it: every Slurm command needs it),
# SLURM_PARTITION=.
set -euo pipefail

die() { echo "start-slurm: $*" >&2; exit 1; }
. "$(dirname "$0")/ports.sh"

stop_daemons() { # DIR [PIDFILE...]: stop the daemons named in these pid files (default all)
	local d=$1 f pid pids=()
	shift
	[ $# -gt 0 ] || set -- "$d/slurmd.pid" "$d/slurmctld.pid" "$d/munge/munged.pid"
	for f in "$@"; do
		[ -f "$f" ] || continue
		pid=$(cat "$f" 2>/dev/null) || continue
		[[ "$pid" =~ ^[0-9]+$ ]] || continue
		kill "$pid" 2>/dev/null && pids+=("$pid")
	done
	for _ in $(seq 1 50); do
		local alive=0
		for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
		[ $alive = 0 ] && break
		sleep 0.1
	done
	for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
	rm -f "$@"
}

stop_dir() {
	local d=$1
	[ -f "$d/.gg-slurm-root" ] || die "$d was not made by this script; not touching it"
	stop_daemons "$d"
	# Job steps outlive slurmd (proctrack/linuxproc): each slurmstepd and the
	# job under it carry this cluster's SLURM_CONF (the job also its
	# SLURM_JOB_ID; the test that started the cluster has only the former);
	# none may outlive the cluster (a job a test left running spins for ever).
	local e pid env
	for e in /proc/[0-9]*/environ; do
		pid=${e#/proc/}
		pid=${pid%/environ}
		env=$(tr '\0' '\n' <"$e" 2>/dev/null) || continue
		grep -qxF "SLURM_CONF=$d/slurm.conf" <<<"$env" || continue
		if grep -q '^SLURM_JOB_ID=' <<<"$env" || [[ "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" == slurmstepd:* ]]; then
			kill -9 "$pid" 2>/dev/null || true
		fi
	done
	rm -rf "$d"
}

if [ "${1:-}" = stop ]; then
	stop_dir "${2:?usage: $0 stop SLURM_ROOT}"
	exit 0
fi

[ "$(id -u)" -eq 0 ] || die "needs root (slurmd, slurmctld and munged run as daemons)"
need=()
for p in slurmctld slurmd slurm-client munge; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
	echo "start-slurm: installing ${need[*]}" >&2
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}" >&2 ||
		{ apt-get -o DPkg::Lock::Timeout=600 update -qq >&2 &&
		  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}" >&2; } ||
		die "cannot install the Debian packages ${need[*]}"
fi
for x in munged slurmctld slurmd sbatch squeue scancel sinfo; do
	command -v "$x" >/dev/null || die "required program '$x' is missing"
done
[ -f /etc/munge/munge.key ] || die "/etc/munge/munge.key is missing (the munge package makes it)"

D=${SLURM_ROOT:-$(mktemp -d /tmp/gg-slurm.XXXXXX)}
if [ -d "$D" ] && [ -n "$(ls -A "$D")" ]; then
	[ -f "$D/.gg-slurm-root" ] || die "$D exists, is not empty and was not made by this script"
	stop_dir "$D"
fi
mkdir -p "$D"/{state,spool,log,munge}
touch "$D/.gg-slurm-root"
chmod 755 "$D"
chown munge:munge "$D/munge"
chmod 755 "$D/munge"

# Our own munged, on our own socket: nothing shared with the host's.
sock=$D/munge/munge.socket
runuser -u munge -- munged --socket="$sock" --pid-file="$D/munge/munged.pid" \
	--log-file="$D/munge/munged.log" --seed-file="$D/munge/munged.seed" --key-file=/etc/munge/munge.key ||
	die "munged did not start; see $D/munge/munged.log"
chmod 755 "$D/munge"
for _ in $(seq 1 100); do [ -S "$sock" ] && break; sleep 0.02; done
[ -S "$sock" ] || die "munged made no socket; see $D/munge/munged.log"

H=$(hostname)
CPUS=${SLURM_CPUS:-$(nproc)}
C=$D/slurm.conf
export SLURM_CONF=$C
write_conf() { # from CTLD_PORT and SLURMD_PORT
	cat >"$C" <<EOC
ClusterName=gg
SlurmctldHost=$H(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
AuthType=auth/munge
AuthInfo=socket=$sock
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/backfill
# schedule batch jobs at submission, not up to 3 s later (the default)
SchedulerParameters=batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
MinJobAge=300
NodeName=$H NodeAddr=127.0.0.1 CPUs=$CPUS State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
EOC
}

# Starts slurmctld on CTLD_PORT and slurmd on a free port of its own; each
# daemon forks, so ready is the process in its pid file listening on its
# port. PORT_TAKEN (with both stopped) when either could not bind.
start_daemons() { # CTLD_PORT
	CTLD_PORT=$1
	SLURMD_PORT=$(free_port) || return 1
	[ "$SLURMD_PORT" != "$CTLD_PORT" ] || return $PORT_TAKEN
	write_conf
	local st=0 from bind_error="Address already in use"
	from=$(file_size "$D/log/slurmctld.log")
	slurmctld || { echo "start-slurm: slurmctld did not start; see $D/log/slurmctld.log" >&2; return 1; }
	wait_daemon_listening "$D/slurmctld.pid" "$CTLD_PORT" "$D/log/slurmctld.log" "$from" "$bind_error" || st=$?
	if [ $st = 0 ]; then
		from=$(file_size "$D/log/slurmd.log")
		if slurmd; then
			wait_daemon_listening "$D/slurmd.pid" "$SLURMD_PORT" "$D/log/slurmd.log" "$from" "$bind_error" || st=$?
		else
			echo "start-slurm: slurmd did not start; see $D/log/slurmd.log" >&2
			st=1
		fi
	fi
	[ $st = 0 ] || stop_daemons "$D" "$D/slurmd.pid" "$D/slurmctld.pid"
	return $st
}
start_on_free_port 10 20000 32767 start_daemons || die "Slurm did not start; see $D/log/"
for _ in $(seq 1 300); do
	sinfo -h -o %T 2>/dev/null | grep -q idle && break
	sleep 0.1
done
sinfo -h -o %T 2>/dev/null | grep -q idle || die "the node did not become idle; see $D/log/"
echo "start-slurm: single-node Slurm ready (controller port $CTLD_PORT, node $H, $CPUS CPUs)" >&2
echo "SLURM_ROOT=$D"
echo "SLURM_CONF=$C"
echo "SLURM_PARTITION=debug"
