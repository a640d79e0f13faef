# Raw HTTP clients for tests/e2e/worker_hostile.sh (python3, standard library).
#   raw_http.py PORT send [--keep]   stdin to the worker (then half-close unless
#                               --keep); prints "status N" per answer, "closed"
#   raw_http.py PORT slow            stdin one byte a second until the worker answers
#   raw_http.py PORT hold N LEN      N connections each send a POST head with
#                               Content-Length LEN and half the body, then
#                               stdin goes on one more connection
#   raw_http.py PORT conns N         N idle connections at once; counts 503 answers
#   raw_http.py PORT relay FILE      listen on a free port (printed), pass every
#                               connection on to PORT, append what clients send
#                               to FILE; until killed
#   raw_http.py PORT count FILE      the same relay (any TCP: HTTP, RESP), but
#                               FILE gets a line "up N" or "down N" for every
#                               N bytes a client sent or received
#   raw_http.py PORT gate FILE NEEDLE MIN GATE
#                               the same relay (any TCP), but a connection
#                               whose client sent NEEDLE is held once more
#                               than MIN bytes came back after it: the
#                               answer waits (FILE gets "held") until the
#                               file GATE exists ("released"), or 60 s pass
#                               ("gate timed out"); a slow download on demand
import os, socket, sys, threading, time

port = int(sys.argv[1])
mode = sys.argv[2]

def connect():
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    return s

def report(data, closed):
    """Prints each answer in data (framed by Content-Length), then closed/open."""
    while data:
        end = data.find(b"\r\n\r\n")
        if end < 0:
            print("partial", repr(data[:40]))
            break
        lines = data[:end].split(b"\r\n")
        length, shown = 0, not lines[0].startswith(b"HTTP/1.1 100 ")
        if shown:
            print("status", lines[0][9:12].decode())
        for h in lines[1:]:
            name, _, value = h.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
            if name.lower() == b"retry-after" and shown:
                print("retry-after", value.strip().decode())
        data = data[end + 4 + length:]
    print("closed" if closed else "open")

def read_all(s, limit=30):
    """Reads until EOF (True) or until nothing came for `limit` seconds (False)."""
    data = b""
    s.settimeout(limit)
    try:
        while True:
            k = s.recv(65536)
            if not k:
                return data, True
            data += k
    except socket.timeout:
        return data, False
    except OSError:
        return data, True

def sender(s, payload, half_close):
    try:
        s.sendall(payload)
        if half_close:
            s.shutdown(socket.SHUT_WR)
    except OSError:
        pass

if mode == "send":
    payload = sys.stdin.buffer.read()
    s = connect()
    t = threading.Thread(target=sender, args=(s, payload, "--keep" not in sys.argv))
    t.start()
    data, closed = read_all(s, 20 if "--keep" not in sys.argv else 3)
    t.join(5)
    report(data, closed)
elif mode == "slow":
    payload = sys.stdin.buffer.read()
    s = connect()
    s.settimeout(1.0)
    data, sent, t0 = b"", 0, time.time()
    closed = False
    for b in payload:
        try:
            s.sendall(bytes([b]))
            sent += 1
        except OSError:
            break
        try:
            k = s.recv(65536)
            if not k:
                closed = True
                break
            data += k
            break
        except socket.timeout:
            pass
        except OSError:
            closed = True
            break
    more, c2 = read_all(s, 10)
    report(data + more, closed or c2)
    sys.stderr.write("sent %d of %d bytes in %.1f s\n" % (sent, len(payload), time.time() - t0))
elif mode == "hold":
    n, length = int(sys.argv[3]), int(sys.argv[4])
    holders = []
    for _ in range(n):
        h = connect()
        h.sendall(b"POST /execute HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % length
                  + b"x" * (length // 2))
        holders.append(h)
    time.sleep(0.5)
    s = connect()
    s.sendall(sys.stdin.buffer.read())
    data, closed = read_all(s, 3)
    report(data, closed)
    for h in holders:
        h.close()
elif mode == "conns":
    n = int(sys.argv[3])
    socks, refused = [], 0
    for _ in range(n):
        socks.append(connect())
    time.sleep(0.5)
    for s in socks:
        s.settimeout(0.2)
        try:
            if s.recv(100).startswith(b"HTTP/1.1 503 "):
                refused += 1
        except (socket.timeout, OSError):
            pass
    print("refused", refused)
    for s in socks:
        s.close()
elif mode in ("relay", "count", "gate"):
    capture = open(sys.argv[3], "ab", buffering=0)
    lock = threading.Lock()
    if mode == "gate":
        needle, gate_min, gate_file = sys.argv[4].encode(), int(sys.argv[5]), sys.argv[6]

    def gate(state, k):
        """Holds an answer on a connection that asked for NEEDLE (see above)."""
        if not state["asked"] or state["held"]:
            return
        state["after"] += len(k)
        if state["after"] <= gate_min:
            return
        state["held"] = True
        with lock:
            capture.write(b"held\n")
        for _ in range(3000):
            if os.path.exists(gate_file):
                with lock:
                    capture.write(b"released\n")
                return
            time.sleep(0.02)
        with lock:
            capture.write(b"gate timed out\n")
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)
    print(ls.getsockname()[1], flush=True)

    def pipe(src, dst, record, state):
        seen = b""
        try:
            while True:
                k = src.recv(65536)
                if not k:
                    break
                if mode == "gate" and record and not state["asked"]:
                    seen = (seen + k)[-(len(needle) + 65536):]
                    state["asked"] = needle in seen
                elif mode == "gate" and not record:
                    gate(state, k)
                if mode == "count":
                    with lock:
                        capture.write(b"%s %d\n" % (b"up" if record else b"down", len(k)))
                elif record and mode == "relay":
                    with lock:
                        capture.write(k)
                dst.sendall(k)
        except OSError:
            pass
        for x in (src, dst):
            try:
                x.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    while True:
        c, _ = ls.accept()
        u = socket.create_connection(("127.0.0.1", port))
        state = {"asked": False, "held": False, "after": 0}
        threading.Thread(target=pipe, args=(c, u, True, state), daemon=True).start()
        threading.Thread(target=pipe, args=(u, c, False, state), daemon=True).start()
