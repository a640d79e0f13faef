#!/usr/bin/env bash
# How the tests start servers (tests/servers/ports.sh): a server that binds
# port 0 is waited for through the port it writes; a daemon that cannot take
# port 0 is ready when its own process listens on its port (another program
# answering there is no readiness), and a port taken between the check and
# the bind is replaced by another. End to end: redis-server started by
# tests/servers/start-redis.sh on a port someone else holds moves to another.
. "$(dirname "$0")/lib.sh"
setup "$@"
need python3 redis-server
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$T"

# a listener of our own on a port of its own; writes it to FILE once it listens
listen_any() { # FILE
	python3 -c 'import os, socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
open(sys.argv[1] + ".tmp", "w").write("%d\n" % s.getsockname()[1]); os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(600)' "$1" >/dev/null 2>&1 &
}

# ---- port 0 and a port file ----
listen_any l1.port
l1=$!
at_exit "kill $l1"
p1=$(wait_port_file l1.port $l1)
not() { ! "$@"; }
check "wait_port_file prints the port once the server listens ($p1)" grep -Eqx '[0-9]+' <<<"$p1"
check "pid_listens: the server's process listens on it" pid_listens $l1 "$p1"
check "pid_listens: another process (this shell) does not" not pid_listens $$ "$p1"
check "port_busy sees it taken" port_busy "$p1"
check "free_port never hands it out" not free_port "$p1" "$p1"

sh -c 'exit 3' &
out=$(wait_port_file never.port $! 2>&1)
check "a server that exits before writing its port: a clear error at once: $out" has_text "$out" "exited before it wrote its port to never.port"

# ---- a forking daemon: its pid file, its port, its log ----
# fake daemon: writes its pid file; "bind": listens on PORT, or when PORT is
# taken, logs "Address already in use" and exits
cat >daemon.py <<'PY'
import os, socket, sys, time
pidfile, port, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]
open(pidfile, "w").write("%d\n" % os.getpid())
time.sleep(0.3)
s = socket.socket()
try:
    s.bind(("127.0.0.1", port)); s.listen(8)
except OSError as e:
    open(log, "a").write("bind 127.0.0.1:%d: %s\n" % (port, e.strerror)); sys.exit(1)
time.sleep(600)
PY
start_daemon() { # PORT: started like a forking daemon, 0 once it listens
	rm -f d.pid
	local from
	from=$(file_size d.log)
	python3 daemon.py d.pid "$1" d.log >/dev/null 2>&1 &
	at_exit "kill $!"
	wait_daemon_listening d.pid "$1" d.log "$from" "Address already in use" 30
}
# the port is held by another program, which answers there
st=0
start_daemon "$p1" || st=$?
check "a daemon whose port another program holds is not taken as ready: PORT_TAKEN ($st)" [ $st -eq "$PORT_TAKEN" ]

# (not in $(...): the daemon would hold its pipe)
st=0
GG_TEST_PORTS="$p1" start_on_free_port 5 20000 32767 start_daemon 2>sof.err || st=$?
out=$(cat sof.err)
check "start_on_free_port: the taken port is replaced by another (rc $st)" [ $st -eq 0 ]
check "... saying so: $(echo "$out" | head -1)" has_text "$out" "a port ($p1) was taken before it could be bound (try 1 of 5)"
check "... and the daemon listens on the port it got (${STARTED_PORT:-none})" pid_listens "$(cat d.pid)" "${STARTED_PORT:-0}"

st=0
GG_TEST_PORTS="$p1 $p1" start_on_free_port 2 20000 32767 start_daemon 2>sof2.err || st=$?
out=$(cat sof2.err)
check "bounded: when every try meets a taken port, it fails (rc $st)" [ $st -ne 0 ]
check "... saying so: $(echo "$out" | tail -1)" has_text "$out" "every one of 2 ports tried was taken"

# ---- end to end: redis-server on a taken port ----
out=$(GG_TEST_PORTS="$p1" REDIS_ROOT="$T/redis" bash "$here/servers/start-redis.sh" 2>redis.err)
rc=$?
at_exit "bash '$here/servers/start-redis.sh' stop '$T/redis'"
check "start-redis.sh, first given a port someone holds, starts redis (rc $rc)" [ $rc -eq 0 ]
check "... after saying the port was taken" grep -q "a port ($p1) was taken" redis.err
eval "$out"
check "... on another port ($REDIS_PORT), where its own process listens" \
	bash -c "[ '${REDIS_PORT:-}' != '$p1' ] && . '$here/servers/ports.sh' && pid_listens '${REDIS_PID:-0}' '${REDIS_PORT:-0}'"
out=$(REDIS_PORT="$p1" REDIS_ROOT="$T/redis2" bash "$here/servers/start-redis.sh" 2>&1)
check "a busy port given by REDIS_PORT fails, naming it: $out" has_text "$out" "port $p1 on 127.0.0.1 is busy"
finish
