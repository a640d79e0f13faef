# A redis-server of a test's own (source after tests/e2e/lib.sh's setup):
#
#   redis_up [VAR=VALUE...]   starts one with tests/servers/start-redis.sh,
#                             its state in $T/redis, VAR=VALUE in its
#                             environment (REDIS_PASSWORD=...); sets what
#                             start-redis.sh prints (REDIS_ROOT, REDIS_PORT,
#                             REDIS_PID); stopped when the test exits. When it
#                             cannot start: its log printed, status 1.
redis_servers=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

redis_up() {
	at_exit "bash '$redis_servers/start-redis.sh' stop '$T/redis' 2>/dev/null"
	if ! env -u REDIS_PORT REDIS_ROOT="$T/redis" "$@" bash "$redis_servers/start-redis.sh" \
		>"$T/redis.env" 2>"$T/redis.log"; then
		cat "$T/redis.log"
		return 1
	fi
	. "$T/redis.env"
}
