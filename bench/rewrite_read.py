#!/usr/bin/env python3
"""Readers and rewriters of one file at once: FILE SECONDS WRITERS READERS.

Each writer opens FILE with O_TRUNC and writes one of its own contents (no
byte of which is zero), again and again; each reader opens it and reads it
whole, again and again. A read that contains a zero byte saw bytes no writer
wrote (the kernel zero-filled a short read to a size it still held). Prints
"reads=R nonempty=N zeros=Z". Counts, not a timing: the rate varies with
the machine's load, so compare targets measured in the same run.
"""
import os
import sys
import time

path, seconds, nwriters, nreaders = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
sizes = [4196, 20487, 41293, 65536, 12293, 28672, 49153, 8192]
contents = [bytes((i * 37 + j % 251) % 255 + 1 for j in range(sizes[i % 8])) for i in range(nwriters)]
with open(path, "wb") as f:
    f.write(contents[0])
end = time.monotonic() + seconds
pipes = []
for w in range(nwriters + nreaders):
    r, wr = os.pipe()
    if os.fork() == 0:
        os.close(r)
        reads = nonempty = zeros = 0
        while time.monotonic() < end:
            if w < nwriters:
                fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
                os.write(fd, contents[w])
                os.close(fd)
                continue
            fd = os.open(path, os.O_RDONLY)
            data = b""
            while True:
                chunk = os.read(fd, 1 << 17)
                if not chunk:
                    break
                data += chunk
            os.close(fd)
            reads += 1
            nonempty += bool(data)
            zeros += b"\0" in data
        os.write(wr, b"%d %d %d" % (reads, nonempty, zeros))
        os._exit(0)
    os.close(wr)
    pipes.append(r)
total = [0, 0, 0]
for r in pipes:
    got = os.read(r, 100).split()
    os.wait()
    total = [t + int(g) for t, g in zip(total, got)]
print("reads=%d nonempty=%d zeros=%d" % tuple(total))
