# Starting servers on 127.0.0.1 without races (source this file; bash).
# Used by tests/servers/start-*.sh and, through tests/e2e/lib.sh, the tests.
#
# A server is started in one of two ways, never by waiting a fixed time:
# - it binds port 0 itself and writes the port it got to a file after it
#   listens: wait_port_file FILE PID reads it;
# - it cannot take port 0 (radosgw, redis, slurm): start_on_free_port picks
#   a free port, starts it, and when the start fails because someone took
#   the port in between, picks another and tries again (bounded).
# Readiness is "this process listens on the port" (pid_listens), not "someone
# answers on the port", which another program holding it would also do.

# Is TCP PORT in use here (a socket listening on it or connected from it, on
# any address), so that binding it would fail? Read from /proc: no probe
# connection, which a listener that does not accept would leave hanging.
port_busy() { # PORT
	awk -v p="$(printf ':%04X' "$1")" 'FNR > 1 && substr($2, length($2) - 4) == p { f = 1 } END { exit !f }' \
		/proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# Prints a TCP port that no socket uses right now (port_busy), from LO-HI
# (default 20000-32767: below Linux's ephemeral ports, 32768-60999, which
# outgoing connections take without listening). Another process may take it
# before the caller binds it: start the server with start_on_free_port.
free_port() { # [LO HI]
	local lo=${1:-20000} hi=${2:-32767} p
	for _ in $(seq 1 100); do
		p=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo + 1)))
		port_busy "$p" || { echo "$p"; return 0; }
	done
	echo "free_port: found no free port in $lo-$hi" >&2
	return 1
}

# Does process PID (any of its threads) hold a socket listening on TCP PORT
# (on 127.0.0.1 or any address)? Reads /proc: PID must be ours (or we root).
pid_listens() { # PID PORT
	local hex inode fds
	hex=$(printf '%04X' "$2")
	fds=$(ls -l "/proc/$1/fd" 2>/dev/null) || return 1
	for inode in $(awk -v p=":$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { print $10 }' \
		/proc/net/tcp /proc/net/tcp6 2>/dev/null); do
		[[ "$fds" == *"socket:[$inode]"* ]] && return 0
	done
	return 1
}

# Waits until process PID has written a port number and a newline to FILE (it
# does so after it listens) and prints the port. Fails, saying why, when PID exits first or
# after SECONDS (default 60: a bound for a machine under load, not a start
# window; the wait ends as soon as the port is there).
wait_port_file() { # FILE PID [SECONDS]
	local f=$1 pid=$2 end=$((SECONDS + ${3:-60})) p
	while :; do
		# a whole line: a port being written is not read half
		if read -r p 2>/dev/null <"$f" && [[ "$p" =~ ^[0-9]+$ ]]; then
			echo "$p"
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || { echo "process $pid exited before it wrote its port to $f" >&2; return 1; }
		[ $SECONDS -lt $end ] || { echo "process $pid wrote no port to $f within ${3:-60} s" >&2; return 1; }
		sleep 0.02
	done
}

# Waits until FILE holds a process id (a daemon's pid file) and prints it.
# Fails after SECONDS (default 60).
wait_pid_file() { # FILE [SECONDS]
	local f=$1 end=$((SECONDS + ${2:-60})) p
	while :; do
		if read -r p 2>/dev/null <"$f" && [[ "$p" =~ ^[0-9]+$ ]]; then
			echo "$p"
			return 0
		fi
		[ $SECONDS -lt $end ] || { echo "no process id in $f within ${2:-60} s" >&2; return 1; }
		sleep 0.02
	done
}

# Waits until process PID listens on PORT. Returns 0 then; 1, saying why, when
# PID exits first or after SECONDS (default 60).
wait_listening() { # PID PORT [SECONDS]
	local pid=$1 port=$2 end=$((SECONDS + ${3:-60}))
	while :; do
		pid_listens "$pid" "$port" && return 0
		kill -0 "$pid" 2>/dev/null || { echo "process $pid exited before it listened on port $port" >&2; return 1; }
		[ $SECONDS -lt $end ] || { echo "process $pid did not listen on port $port within ${3:-60} s" >&2; return 1; }
		sleep 0.02
	done
}

# The size of FILE in bytes (0 if it does not exist): where to start reading
# a log for what a daemon started after this wrote.
file_size() { # FILE
	stat -c %s "$1" 2>/dev/null || echo 0
}

# For a daemon that forks and writes a pid file: waits until the process named
# in PIDFILE listens on PORT. Returns PORT_TAKEN (after that process is gone)
# when LOG, past its first FROM bytes, matches BIND_ERROR (grep -E), 1 saying
# why when the process exited otherwise or after SECONDS (default 60).
wait_daemon_listening() { # PIDFILE PORT LOG FROM BIND_ERROR [SECONDS]
	local pidf=$1 port=$2 log=$3 from=$4 re=$5 end=$((SECONDS + ${6:-60})) pid=
	while :; do
		[ -n "$pid" ] || read -r pid 2>/dev/null <"$pidf" || pid=
		[ -n "$pid" ] && pid_listens "$pid" "$port" && return 0
		if tail -c "+$((from + 1))" "$log" 2>/dev/null | grep -Eq -- "$re"; then
			while [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $end ]; do sleep 0.05; done
			return $PORT_TAKEN
		fi
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			echo "process $pid (from $pidf) exited before it listened on port $port: $(tail -c "+$((from + 1))" "$log" 2>/dev/null | tail -3)" >&2
			return 1
		fi
		[ $SECONDS -lt $end ] || { echo "no process from $pidf listened on port $port within ${6:-60} s" >&2; return 1; }
		sleep 0.05
	done
}

# The exit status a start function returns when its port was taken.
PORT_TAKEN=75

# Calls FUNCTION PORT [ARG...] with a free port (from free_port LO HI). When
# it returns $PORT_TAKEN (the server could not bind: another process took the
# port since free_port saw it free), tries again with another port, up to
# TRIES times. Returns FUNCTION's status; sets STARTED_PORT on success.
# GG_TEST_PORTS="P1 P2 ...": ports to try first, as they are (a test's way to
# make a start meet a port that is taken).
start_on_free_port() { # TRIES LO HI FUNCTION [ARG...]
	local tries=$1 lo=$2 hi=$3 fn=$4 i p st first
	shift 4
	read -r -a first <<<"${GG_TEST_PORTS:-}"
	for i in $(seq 1 "$tries"); do
		if [ "$i" -le ${#first[@]} ]; then
			p=${first[i - 1]}
		else
			p=$(free_port "$lo" "$hi") || return 1
		fi
		st=0
		"$fn" "$p" "$@" || st=$?
		[ $st -eq 0 ] && { STARTED_PORT=$p; return 0; }
		[ $st -eq $PORT_TAKEN ] || return $st
		echo "$fn: a port ($p) was taken before it could be bound (try $i of $tries); trying others" >&2
	done
	echo "$fn: every one of $tries ports tried was taken" >&2
	return 1
}
