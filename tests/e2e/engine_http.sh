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
. "$here/servers/c_graph.sh"
cd "$T"

. "$here/servers/redis.sh"
redis_up || { not_ok "start redis (tests/servers/redis.sh)"; finish; }
export GG_STORAGE=redis://127.0.0.1:$REDIS_PORT

graph_make || finish

# Workers must not see the client's store: in their mount namespace the
# client's directory is an empty tmpfs (they live under $T/workers).
workers_hide "$T/lazy"
check "workers can run in a mount namespace where the client's directory is empty (needs root and unshare --mount)" workers_can_hide
for w in w1 w2 w3; do
	worker_start $w -j 2 || { not_ok "start worker $w"; finish; }
done
urls="${WURL[w1]},${WURL[w2]},${WURL[w3]}"

graph_force "3 http workers" -j 8 -e "http=$urls"
ran=0
for w in w1 w2 w3; do ran=$((ran + $(worker_ran $w))); done
check "every thunk ran on a worker (6 executions, got $ran)" [ "$ran" -eq 6 ]
cd lazy
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
