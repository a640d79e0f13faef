#!/usr/bin/env bash
# Starts a throwaway redis-server on 127.0.0.1 only: no persistence, state in
# its own temp dir. Follows /work/shared/infra.md §C.
#
#   tests/servers/start-redis.sh            start; prints KEY=VALUE lines (eval them)
#   tests/servers/start-redis.sh stop DIR   stop the server started in DIR, remove DIR
#
# Environment: REDIS_PORT (default: a random free port in 20000-29999; a
# given port that is busy fails, naming it), REDIS_ROOT (state dir; default a
# fresh /tmp/gg-redis.XXXXXX), REDIS_PASSWORD (optional: --requirepass).
# Installs the Debian package redis-server when it is missing.
# On success prints REDIS_ROOT=, REDIS_PORT=, REDIS_PID= on stdout.
set -euo pipefail

die() { echo "start-redis: $*" >&2; exit 1; }
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

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
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends redis-server >&2 ||
		{ $sudo apt-get update -qq >&2 &&
		  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends redis-server >&2; } ||
		die "cannot install the Debian package redis-server"
fi
command -v redis-server >/dev/null || die "required program 'redis-server' is missing"

if [ -n "${REDIS_PORT:-}" ]; then
	port_busy "$REDIS_PORT" && die "port $REDIS_PORT on 127.0.0.1 is busy (set REDIS_PORT)"
	PORT=$REDIS_PORT
else
	PORT=
	for _ in $(seq 1 50); do
		p=$((20000 + RANDOM % 10000))
		port_busy "$p" || { PORT=$p; break; }
	done
	[ -n "$PORT" ] || die "found no free port in 20000-29999"
fi

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

args=(--bind 127.0.0.1 --port "$PORT" --save '' --appendonly no --daemonize yes
	--pidfile "$D/redis.pid" --dir "$D" --logfile "$D/redis.log" --protected-mode yes)
[ -n "${REDIS_PASSWORD:-}" ] && args+=(--requirepass "$REDIS_PASSWORD")
redis-server "${args[@]}" || die "redis-server did not start; see $D/redis.log"

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
for _ in $(seq 1 50); do [ -s "$D/redis.pid" ] && break; sleep 0.02; done
echo "start-redis: redis-server ready on 127.0.0.1:$PORT (pid $(cat "$D/redis.pid"))" >&2
echo "REDIS_ROOT=$D"
echo "REDIS_PORT=$PORT"
echo "REDIS_PID=$(cat "$D/redis.pid")"
