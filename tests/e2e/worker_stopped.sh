#!/usr/bin/env bash
# A worker that takes connections and never answers — stopped (SIGSTOP)
# before its first request: the kernel still accepts for it, so nothing
# ever comes, not even the heartbeat a gg worker sends at once — is noticed
# by every gg force using it: after GG_WORKER_SILENCE without an answer the
# client probes the URL on a new connection, and no answer there either
# means a hung worker, named in the error. Forces on one store share the
# thunk's lock; one waiting for it notices when the holder gives up or dies.
#   - two forces of one thunk, one store: each ends by itself, naming the
#     worker and the cause (the second after the first gave up its lock)
#   - a force waiting for the lock is cancelled by SIGINT at once (130)
#   - the holder killed (SIGKILL): the waiting force takes the thunk and
#     falls back to local, saying why
#   - a server that sends no heartbeats but answers the probe is not cut
#     off: its own answer (a 404) is what the force reports
#   - one that answered a probe once and then hangs is probed again after
#     the next silent period and given up on (a long-lived mount's case)
#   - the default limit is 30 s: heartbeats are asked for every 7 s
#     (e2e/worker_hung shows the limits at work, with short ones)
# Timeouts here are guards against a hang, not assertions (times are printed).
. "$(dirname "$0")/lib.sh"
setup "$@"
need cc python3
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/servers/workers.sh"
cd "$T"
echo "# in $T"

workers_client || { not_ok "set up the client (napper, store, bucket)"; finish; }
elapsed() { awk "BEGIN{printf \"%.1f\", $(date +%s.%N) - $1}"; }
# The gg under a `timeout` guard (its only child).
gg_of() { pgrep -P "$1" -x gg; }
# Has the gg under guard PID tried the thunk's lock (it keeps the store's lock
# file open from its first try on)?
tried_lock() {
	local g
	g=$(gg_of "$1") || return 1
	ls -l "/proc/$g/fd" 2>/dev/null | grep -q '/locks/thunks$'
}

worker_start w || { not_ok "start worker"; finish; }
url=${WURL[w]}
kill -STOP "${WPID[w]}"
ok "worker stopped before any request"

# ---- two forces of one thunk on one store ----
t=$(gg thunk -o o -- ../napper 1000 o)
s=$(date +%s.%N)
GG_WORKER_SILENCE=2 timeout 90 gg force --no-progress -e "http=$url" "$t#o" >a.out 2>a.err &
pa=$!
wait_for 300 tried_lock $pa || not_ok "the first force never tried the thunk's lock"
GG_WORKER_SILENCE=2 timeout 90 gg force --no-progress -e "http=$url" "$t#o" >b.out 2>b.err &
pb=$!
wait_for 300 tried_lock $pb || not_ok "the second force never tried the thunk's lock"
wait $pa
sa=$?
echo "# the first force ended after $(elapsed $s) s (limit 2 s, probe 2 s)"
wait $pb
sb=$?
echo "# the second force ended after $(elapsed $s) s"
for x in a b; do
	st=sa
	[ $x = b ] && st=sb
	check "force $x fails by itself (not killed by the test's guard; got ${!st})" [ ${!st} -ne 0 -a ${!st} -ne 124 ]
	check "force $x names the worker and the cause" grep -q "POST $url: the worker stopped answering: no answer for 2 s after the request, nor to a probe on a new connection" $x.err
	check "force $x says no engine can take the thunk now" grep -q "no engine can run it: http: worker $url stopped answering" $x.err
	sed 's/^/#   /' $x.err
done

# ---- a force waiting for the lock: cancelled, and its holder killed ----
t=$(gg thunk -o o -- ../napper 1001 o)
# (in a subshell whose stderr is dropped: no "Killed" notice from bash)
(GG_WORKER_SILENCE=600 timeout 120 gg force --no-progress -e "http=$url" "$t#o" >h.out 2>h.err; true) 2>/dev/null &
ph=$!
gg_holder() { pgrep -P "$(pgrep -P $ph -x timeout)" -x gg; }
tried_lock_holder() { ls -l "/proc/$(gg_holder)/fd" 2>/dev/null | grep -q '/locks/thunks$'; }
wait_for 300 tried_lock_holder || not_ok "the holder never tried the thunk's lock"
GG_WORKER_SILENCE=600 timeout 90 gg force --no-progress -e "http=$url" "$t#o" >c.out 2>c.err &
pc=$!
if wait_for 300 tried_lock $pc; then
	kill -INT "$(gg_of $pc)"
	ok "a second force waits for the lock; SIGINT sent"
else
	not_ok "the second force never tried the thunk's lock"
fi
wait $pc
st=$?
check "the waiting force ends cancelled (130; got $st)" [ $st -eq 130 ]
check "saying so" grep -q "#o: cancelled" c.err
GG_WORKER_SILENCE=2 timeout 90 gg force --no-progress -e "http=$url" -e local --stdout "$t#o" >d.out 2>d.err &
pd=$!
if wait_for 300 tried_lock $pd; then
	kill -KILL "$(gg_holder)"
	ok "a third force waits for the lock; its holder killed"
else
	not_ok "the third force never tried the thunk's lock"
fi
s=$(date +%s.%N)
wait $pd
st=$?
echo "# the waiting force ended $(elapsed $s) s after the holder died"
wait $ph
check "the waiting force takes the thunk and succeeds (got $st)" [ $st -eq 0 ]
check "with the right output" grep -qx 'napped 1001' d.out
check "by falling back to local, naming the worker" grep -q "runs on local: http: worker $url stopped answering" d.err
sed 's/^/#   /' d.err

kill -CONT "${WPID[w]}"
worker_stop w
check "the worker's log has no sanitizer report" worker_log_clean w

# ---- a server without heartbeats that answers the probe ----
# It holds each POST to /execute until it has answered a GET (the client's
# probe) and the client has closed that connection, by which time the client
# has judged the probe (at most 60 s); then it answers 404, which the client
# does not retry. A POST elsewhere is answered 404 at once. It logs the
# heartbeat interval each POST asks for.
cat >../quiet.py <<'EOF'
import http.server, sys, threading, time
probed = threading.Event()
once_probes = 0
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # the connection stays until the client closes it
    was_probe = False
    def log_message(self, *a):
        sys.stderr.write("quiet: " + (a[0] % a[1:]) + "\n")
    def handle(self):
        super().handle()
        if self.was_probe:
            probed.set()
    def do_GET(self):
        if self.path == "/once":
            global once_probes
            once_probes += 1
            if once_probes > 1:
                time.sleep(60); return
        self.send_response(200); self.send_header("Content-Length", "3"); self.end_headers()
        self.wfile.write(b"ok\n"); self.was_probe = True
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        sys.stderr.write("quiet: heartbeat asked: %s\n" % self.headers.get("X-GG-Heartbeat"))
        if self.path == "/once":
            time.sleep(60); answer = b"quiet server: never given up on"
        elif self.path != "/execute":
            answer = b"quiet server: answered at once"
        elif probed.wait(60):
            answer = b"quiet server: probed before answering"
        else:
            answer = b"quiet server: never probed"
        self.send_response(404); self.send_header("Content-Length", str(len(answer))); self.end_headers()
        self.wfile.write(answer)
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(sys.argv[1] + ".tmp", "w") as f: f.write("%d\n" % s.server_address[1])
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
s.serve_forever()
EOF
python3 ../quiet.py "$T/quiet.port" 2>"$T/quiet.log" &
qp=$!
at_exit "kill $qp"
if port=$(wait_port_file "$T/quiet.port" $qp); then
	qurl=http://127.0.0.1:$port/execute
	t=$(gg thunk -o o -- ../napper 1002 o)
	GG_WORKER_SILENCE=2 timeout 90 gg force --no-progress -e "http=$qurl" "$t#o" >q.out 2>q.err
	st=$?
	check "the force ends with the server's answer (got $st)" [ $st -ne 0 -a $st -ne 124 ]
	check "which came after the probe, not cut off as hung" grep -q "POST $qurl: HTTP 404: quiet server: probed before answering" q.err
	check "and is never called a stopped worker" bash -c "! grep -q 'stopped answering' q.err"
	sed 's/^/#   /' q.err
	t=$(gg thunk -o o -- ../napper 1003 o)
	(unset GG_WORKER_SILENCE && timeout 90 gg force --no-progress -e "http=http://127.0.0.1:$port/now" "$t#o" >n.out 2>n.err)
	check "by default (a 30 s limit) heartbeats are asked for every 7 s" grep -qx 'quiet: heartbeat asked: 7' "$T/quiet.log"
	check "the server's answer is reported" grep -q "HTTP 404: quiet server: answered at once" n.err
	# one that answered its first probe and then hangs: probed again after
	# the next silent period, and given up on when that probe goes unanswered
	t=$(gg thunk -o o -- ../napper 1004 o)
	t0=$(date +%s.%N)
	GG_WORKER_SILENCE=2 timeout 90 gg force --no-progress -e "http=http://127.0.0.1:$port/once" "$t#o" >o.out 2>o.err
	st=$?
	echo "# a server hung after answering a probe: given up on after $(elapsed "$t0") s"
	sed 's/^/#   /' o.err
	check "a server hung after one answered probe is given up on, an infrastructure failure: exit 3 (got $st)" [ $st -eq 3 ]
	check "named as a stopped worker, by its unanswered second probe" grep -q "stopped answering.*nor to a probe" o.err
	check "after its first probe was answered" [ "$(grep -c '"GET /once' "$T/quiet.log")" -eq 1 ]
else
	not_ok "start the quiet server"
fi
finish
