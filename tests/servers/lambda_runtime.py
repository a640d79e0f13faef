#!/usr/bin/env python3
"""A small AWS Lambda for tests: the Invoke API for clients and the Runtime API
for one function instance, on one port of 127.0.0.1, behaving as Lambda does
where the deadline tests need it (@vercel/fun sends a constant deadline and
enforces none):

  - each invocation gets a fresh Lambda-Runtime-Aws-Request-Id (a UUID) and,
    when the runtime takes it (GET .../invocation/next), a real
    Lambda-Runtime-Deadline-Ms: now + the function's timeout;
  - at the timeout every process of the function is killed (the bootstrap,
    its group and whatever it started, detached or not: this server is a
    child subreaper, so nothing the function starts leaves its tree) and the
    client gets Lambda's "Task timed out" function error; the next
    invocation starts a fresh instance;
  - a response (or error) is accepted only for the request id being served,
    once, before its deadline; any other is rejected with 400
    InvalidRequestID and recorded.

One instance serves one invocation at a time (the queue waits). Every event
is a line in STATE/events.log (tests grep it):
  start pid=P | exit pid=P status=S | invoke ID
  next ID deadline_ms=D timeout_s=T pid=P (the peer's pid, when found)
  response|error ID accepted N bytes
  response|error ID rejected (WHY) N bytes: HEAD
  timeout ID after T s: killed N processes

usage: lambda_runtime.py --dir STATE --timeout SEC [--env-file FILE]
                         [--name NAME] [--publish-ids FILE] -- BOOTSTRAP [ARG...]
--publish-ids FILE (tests of an attacker who learns request ids): the id of
each invocation handed out is written to FILE (world-readable) as it starts.
--bad-request-ids N (tests of the runtime): the first N invocations get a
request id that is not one ("bad.id." and a UUID).
The function's environment is what Lambda gives a custom runtime (names and
shapes as on AWS), the NAME=VALUE lines of --env-file (the role's
credentials and the function's configuration, say) and this server's GG_*,
ASAN_*, UBSAN_*, LSAN_* variables. Writes STATE/port once it listens.
"""
import argparse
import collections
import ctypes
import http.server
import json
import os
import signal
import socket
import sys
import threading
import time
import uuid

PR_SET_CHILD_SUBREAPER = 36


class Invocation:
    def __init__(self, payload):
        self.id = str(uuid.uuid4())
        self.payload = payload
        self.deadline_ms = 0
        self.done = threading.Event()
        self.kind = None  # response, error, timeout, crash
        self.body = b''
        self.timer = None


class Lambda:
    def __init__(self, args):
        self.args = args
        self.mu = threading.Condition()
        self.queue = collections.deque()
        self.current = None
        self.instance = None  # the bootstrap's pid
        self.ids = set()      # every id handed out
        self.log_f = open(os.path.join(args.dir, 'events.log'), 'a', buffering=1)
        self.env = self.function_env()

    def log(self, msg):
        self.log_f.write(msg + '\n')

    def function_env(self):
        a = self.args
        env = {
            'PATH': '/usr/local/bin:/usr/bin/:/bin:/opt/bin',
            'LD_LIBRARY_PATH': '/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib',
            'LANG': 'en_US.UTF-8', 'TZ': ':UTC',
            '_HANDLER': 'bootstrap',
            'LAMBDA_TASK_ROOT': os.path.dirname(os.path.abspath(a.bootstrap[0])),
            'LAMBDA_RUNTIME_DIR': '/var/runtime',
            'AWS_REGION': 'us-east-1', 'AWS_DEFAULT_REGION': 'us-east-1',
            'AWS_EXECUTION_ENV': 'AWS_Lambda_provided.al2023',
            'AWS_LAMBDA_FUNCTION_NAME': a.name,
            'AWS_LAMBDA_FUNCTION_VERSION': '$LATEST',
            'AWS_LAMBDA_FUNCTION_MEMORY_SIZE': '2048',
            'AWS_LAMBDA_LOG_GROUP_NAME': '/aws/lambda/' + a.name,
            'AWS_LAMBDA_LOG_STREAM_NAME': time.strftime('%Y/%m/%d/[$LATEST]') + uuid.uuid4().hex,
            'AWS_LAMBDA_INITIALIZATION_TYPE': 'on-demand',
            'AWS_XRAY_CONTEXT_MISSING': 'LOG_ERROR',
            'AWS_XRAY_DAEMON_ADDRESS': '169.254.79.129:2000',
            '_AWS_XRAY_DAEMON_ADDRESS': '169.254.79.129', '_AWS_XRAY_DAEMON_PORT': '2000',
        }
        for k, v in os.environ.items():
            if k.startswith(('GG_', 'ASAN_', 'UBSAN_', 'LSAN_')):
                env[k] = v
        if a.env_file:
            with open(a.env_file) as f:
                for line in f:
                    line = line.rstrip('\n')
                    if line and not line.startswith('#') and '=' in line:
                        k, v = line.split('=', 1)
                        env[k] = v
        return env

    # ---- the function's processes ----

    def start_instance(self):
        """Starts the bootstrap (mu held)."""
        env = dict(self.env)
        env['AWS_LAMBDA_RUNTIME_API'] = '127.0.0.1:%d' % self.port
        out = os.open(os.path.join(self.args.dir, 'function.log'),
                      os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        pid = os.fork()
        if pid == 0:
            try:
                os.setsid()
                os.dup2(os.open('/dev/null', os.O_RDONLY), 0)
                os.dup2(out, 1)
                os.dup2(out, 2)
                os.closerange(3, 65536)
                os.chdir(env['LAMBDA_TASK_ROOT'])
                os.execve(self.args.bootstrap[0], self.args.bootstrap, env)
            finally:
                os._exit(127)
        os.close(out)
        self.instance = pid
        self.log('start pid=%d' % pid)

    def descendants(self):
        """Every process below this one (not itself)."""
        kids = collections.defaultdict(list)
        for d in os.listdir('/proc'):
            if not d.isdigit():
                continue
            try:
                with open('/proc/%s/stat' % d) as f:
                    s = f.read()
            except OSError:
                continue
            ppid = int(s[s.rfind(')') + 2:].split()[1])
            kids[ppid].append(int(d))
        out, todo = [], [os.getpid()]
        while todo:
            for c in kids.get(todo.pop(), []):
                out.append(c)
                todo.append(c)
        return out

    def kill_function(self):
        """Kills every process of the function (as Lambda ends its sandbox)."""
        killed = set()
        end = time.time() + 10
        while time.time() < end:
            left = [p for p in self.descendants() if not zombie(p)]
            if not left:
                break
            for p in left:
                try:
                    os.kill(p, signal.SIGKILL)
                    killed.add(p)
                except OSError:
                    pass
            time.sleep(0.02)
        return len(killed)

    def reaper(self):
        """Reaps every child (the bootstrap and orphans handed to us)."""
        while True:
            try:
                pid, status = os.waitpid(-1, 0)
            except ChildProcessError:
                time.sleep(0.05)
                continue
            except InterruptedError:
                continue
            with self.mu:
                if pid != self.instance:
                    continue
                self.log('exit pid=%d status=%d' % (pid, status))
                self.instance = None
                inv = self.current
                if inv and not inv.done.is_set():
                    self.finish(inv, 'crash', json.dumps({
                        'errorType': 'Runtime.ExitError',
                        'errorMessage': 'RequestId: %s Error: Runtime exited with status %d'
                                        % (inv.id, status)}).encode())
                self.mu.notify_all()

    # ---- invocations (mu held) ----

    def finish(self, inv, kind, body):
        inv.kind, inv.body = kind, body
        if inv.timer:
            inv.timer.cancel()
        if self.current is inv:
            self.current = None
        inv.done.set()
        self.mu.notify_all()

    def on_timeout(self, inv):
        with self.mu:
            if inv.done.is_set():
                return
            n = self.kill_function()
            self.log('timeout %s after %g s: killed %d processes' % (inv.id, self.args.timeout, n))
            self.instance = None
            self.finish(inv, 'timeout', json.dumps({
                'errorType': 'Sandbox.Timedout',
                'errorMessage': 'RequestId: %s Error: Task timed out after %.2f seconds'
                                % (inv.id, self.args.timeout)}).encode())


def zombie(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            s = f.read()
        return s[s.rfind(')') + 2] in 'ZX'
    except OSError:
        return True


def peer_pid(sock):
    """The pid of the local process on the other end of a 127.0.0.1 connection, or 0."""
    try:
        host, port = sock.getpeername()[:2]
        inode = None
        with open('/proc/net/tcp') as f:
            for line in f.readlines()[1:]:
                parts = line.split()
                if int(parts[1].split(':')[1], 16) == port and parts[3] == '01':
                    inode = parts[9]
                    break
        if not inode:
            return 0
        want = 'socket:[%s]' % inode
        for d in os.listdir('/proc'):
            if not d.isdigit() or int(d) == os.getpid():
                continue
            try:
                for fd in os.listdir('/proc/%s/fd' % d):
                    if os.readlink('/proc/%s/fd/%s' % (d, fd)) == want:
                        return int(d)
            except OSError:
                continue
    except OSError:
        pass
    return 0


def alive(sock):
    """Whether the peer still holds its end (it did not close or reset it)."""
    try:
        sock.setblocking(False)
        try:
            data = sock.recv(1, socket.MSG_PEEK)
            return data != b''
        except BlockingIOError:
            return True
        finally:
            sock.setblocking(True)
    except OSError:
        return False


def make_handler(lam):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'

        def log_message(self, fmt, *a):
            pass

        def body(self):
            n = int(self.headers.get('Content-Length') or 0)
            return self.rfile.read(n) if n else b''

        def reply(self, status, body=b'', headers=()):
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path != '/2018-06-01/runtime/invocation/next':
                return self.reply(404)
            with lam.mu:
                while True:
                    if lam.queue and lam.current is None:
                        if not alive(self.connection):
                            return  # gone while waiting: hand it to the next caller
                        inv = lam.queue.popleft()
                        break
                    lam.mu.wait(0.2)
                lam.current = inv
                inv.deadline_ms = int(time.time() * 1000 + lam.args.timeout * 1000)
                inv.timer = threading.Timer(lam.args.timeout, lam.on_timeout, (inv,))
                inv.timer.daemon = True
                inv.timer.start()
                lam.ids.add(inv.id)
                if lam.args.publish_ids:
                    tmp = lam.args.publish_ids + '.tmp'
                    with open(tmp, 'w') as f:
                        f.write(inv.id + '\n')
                    os.chmod(tmp, 0o644)
                    os.rename(tmp, lam.args.publish_ids)
            lam.log('next %s deadline_ms=%d timeout_s=%g pid=%d' %
                    (inv.id, inv.deadline_ms, lam.args.timeout, peer_pid(self.connection)))
            self.reply(200, inv.payload, [
                ('Content-Type', 'application/json'),
                ('Lambda-Runtime-Aws-Request-Id', inv.id),
                ('Lambda-Runtime-Deadline-Ms', str(inv.deadline_ms)),
                ('Lambda-Runtime-Invoked-Function-Arn',
                 'arn:aws:lambda:us-east-1:000000000000:function:' + lam.args.name),
                ('Lambda-Runtime-Trace-Id', 'Root=1-%08x-%s;Sampled=0' % (int(time.time()), uuid.uuid4().hex[:24])),
            ])

        def do_POST(self):
            p = self.path.split('/')
            body = self.body()
            if self.path.startswith('/2015-03-31/functions/'):
                return self.invoke(body)
            if self.path == '/2018-06-01/runtime/init/error':
                lam.log('init error %d bytes: %s' % (len(body), body[:200]))
                return self.reply(202, b'{"status":"OK"}')
            # /2018-06-01/runtime/invocation/ID/{response,error}
            if len(p) != 6 or p[1:4] != ['2018-06-01', 'runtime', 'invocation'] or \
                    p[5] not in ('response', 'error'):
                return self.reply(404)
            rid, kind = p[4], p[5]
            with lam.mu:
                cur = lam.current
                if cur is not None and cur.id == rid and not cur.done.is_set() and \
                        time.time() * 1000 < cur.deadline_ms:
                    lam.finish(cur, kind, body)
                    why = None
                elif rid not in lam.ids:
                    why = 'unknown request id'
                elif cur is None or cur.id != rid:
                    why = 'not the invocation being served'
                else:
                    why = 'past its deadline'
            head = body[:200].decode('utf-8', 'replace').replace('\n', ' ')
            if why:
                lam.log('%s %s rejected (%s) %d bytes: %s' % (kind, rid, why, len(body), head))
                return self.reply(400, json.dumps({'errorType': 'InvalidRequestID',
                                                   'errorMessage': 'Invalid request ID'}).encode(),
                                  [('Content-Type', 'application/json')])
            lam.log('%s %s accepted %d bytes' % (kind, rid, len(body)))
            self.reply(202, b'{"status":"OK"}', [('Content-Type', 'application/json')])

        def invoke(self, payload):
            m = self.path.split('?')[0].split('/')
            if len(m) != 5 or m[4] != 'invocations' or m[3] != lam.args.name:
                return self.reply(404, json.dumps({'Type': 'User', 'message': 'Function not found'}).encode(),
                                  [('x-amzn-ErrorType', 'ResourceNotFoundException')])
            inv = Invocation(payload)
            with lam.mu:
                if lam.args.bad_request_ids > 0:
                    lam.args.bad_request_ids -= 1
                    inv.id = 'bad.id.' + inv.id
                if lam.instance is None:
                    lam.start_instance()
                lam.queue.append(inv)
                lam.mu.notify_all()
            lam.log('invoke %s' % inv.id)
            inv.done.wait()
            h = [('Content-Type', 'application/json'), ('X-Amz-Executed-Version', '$LATEST')]
            if inv.kind != 'response':
                h.append(('X-Amz-Function-Error', 'Unhandled'))
            self.reply(200, inv.body, h)

    return Handler


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--dir', required=True)
    ap.add_argument('--timeout', type=float, default=3.0)
    ap.add_argument('--env-file')
    ap.add_argument('--name', default='gg-fn')
    ap.add_argument('--publish-ids')
    ap.add_argument('--bad-request-ids', type=int, default=0)
    ap.add_argument('bootstrap', nargs='+')
    args = ap.parse_args()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit('lambda_runtime: prctl(PR_SET_CHILD_SUBREAPER): %s' % os.strerror(ctypes.get_errno()))
    lam = Lambda(args)
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), make_handler(lam))
    srv.daemon_threads = True
    lam.port = srv.server_address[1]
    threading.Thread(target=lam.reaper, daemon=True).start()

    def stop(sig, frame):
        with lam.mu:
            lam.kill_function()
        os._exit(0)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    tmp = os.path.join(args.dir, 'port.tmp')
    with open(tmp, 'w') as f:
        f.write('%d\n' % lam.port)
    os.rename(tmp, os.path.join(args.dir, 'port'))
    srv.serve_forever()


if __name__ == '__main__':
    main()
