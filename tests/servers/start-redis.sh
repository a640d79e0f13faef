#!/usr/bin/env bash
# Starts a throwaway redis-server on 127.0.0.1 only: no persistence, state in
# its own temp dir. Follows /work/shared/infra.md §C.
#
#   tests/servers/start-redis.sh            start; prints KEY=VALUE lines (eval them)
#   tests/servers/start-redis.sh stop DIR   stop the server started in DIR, remove DIR
#
# Environment: REDIS_PORT (default: a free port; redis cannot take port 0, so
# when another process takes the port before redis binds it, another is
# tried, up to 10 times; a given port that is busy fails, naming it),
# REDIS_ROOT (state dir; default a fresh /tmp/gg-redis.XXXXXX),
# REDIS_PASSWORD (optional: --requirepass). Ready is the server's process
# listening on the port and answering PING, not a fixed wait.
# Installs the Debian package redis-server when it is missing.
# On success prints REDIS_ROOT=, REDIS_PORT=, REDIS_PID= on stdout.
set -euo pipefail

die() { echo "start-redis: $*" >&2; exit 1; }
. "$(dirname "$0")/ports.sh"

if [ "${1:-}" = stop ]; then
	d=${2:?usage: $0 stop REDIS_ROOT}
	[ -f "$d/.gg-redis-root" ] || die "$d was not made by this script; not touching it"
	if [ -f "$d/redis.pid" ]; then
		pid=$(cat "$d/redis.pid")
		if [[ "$pid" =~ ^[0-9]+$ ]] && kill "$pid" 2>/dev/null; then
			for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
			kill -9 "$pid" 2>/dev/null || true
		fi
	fi
	rm -rf "$d"
	exit 0
fi

if ! dpkg-query -W -f='${Status}' redis-server 2>/dev/null | grep -q 'install ok installed'; then
	echo "start-redis: installing redis-server" >&2
	sudo=; [ "$(id -u)" -eq 0 ] || sudo=sudo
	DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends redis-server >&2 ||
		{ $sudo apt-get -o DPkg::Lock::Timeout=600 update -qq >&2 &&
		  DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends redis-server >&2; } ||
		die "cannot install the Debian package redis-server"
fi
command -v redis-server >/dev/null || die "required program 'redis-server' is missing"

if [ -n "${REDIS_ROOT:-}" ]; then
	D=$REDIS_ROOT
	if [ -d "$D" ] && [ -n "$(ls -A "$D")" ]; then
		[ -f "$D/.gg-redis-root" ] || die "$D exists, is not empty and was not made by this script"
		rm -rf "$D"
	fi
	mkdir -p "$D"
else
	D=$(mktemp -d /tmp/gg-redis.XXXXXX)
fi
touch "$D/.gg-redis-root"

# Runs redis-server on PORT in the background, detached, and waits until it
# listens there. Returns PORT_TAKEN when it could not bind the port.
start_server() { # PORT
	PORT=$1
	local args=(--bind 127.0.0.1 --port "$PORT" --save '' --appendonly no --daemonize no
		--dir "$D" --logfile "$D/redis.log" --protected-mode yes) pid from
	[ -n "${REDIS_PASSWORD:-}" ] && args+=(--requirepass "$REDIS_PASSWORD")
	from=$(stat -c %s "$D/redis.log" 2>/dev/null || echo 0)
	setsid redis-server "${args[@]}" </dev/null >>"$D/redis.out" 2>&1 &
	pid=$!
	echo "$pid" >"$D/redis.pid"
	wait_listening "$pid" "$PORT" 60 && return 0
	wait "$pid" 2>/dev/null
	rm -f "$D/redis.pid"
	tail -c "+$((from + 1))" "$D/redis.log" | grep -q "Address already in use" && return $PORT_TAKEN
	echo "start-redis: redis-server did not start: $(tail -c "+$((from + 1))" "$D/redis.log" | tail -3)" >&2
	return 1
}
if [ -n "${REDIS_PORT:-}" ]; then
	port_busy "$REDIS_PORT" && die "port $REDIS_PORT on 127.0.0.1 is busy (set REDIS_PORT)"
	start_server "$REDIS_PORT" || die "redis-server did not start on port $REDIS_PORT; see $D/redis.log"
else
	start_on_free_port 10 20000 32767 start_server || die "redis-server did not start; see $D/redis.log"
fi

# ready = it answers PING (+PONG, or -NOAUTH when a password is set)
for _ in $(seq 1 200); do
	if exec 3<>"/dev/tcp/127.0.0.1/$PORT" 2>/dev/null; then
		printf 'PING\r\n' >&3
		line=
		read -r -t 1 line <&3 || true
		exec 3<&- 3>&-
		case "$line" in "+PONG"* | "-NOAUTH"*) ready=1; break ;; esac
	fi
	sleep 0.05
done
[ "${ready:-0}" = 1 ] || die "redis-server on port $PORT did not answer PING; see $D/redis.log"
echo "start-redis: redis-server ready on 127.0.0.1:$PORT (pid $(cat "$D/redis.pid"))" >&2
echo "REDIS_ROOT=$D"
echo "REDIS_PORT=$PORT"
echo "REDIS_PID=$(cat "$D/redis.pid")"
