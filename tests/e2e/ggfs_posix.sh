#!/usr/bin/env bash
# Everything a program may ask of a file, through the mount and on the
# directory itself, with the same results: O_DIRECT writes and reads,
# fallocate (allocate, punch a hole), copy_file_range, SEEK_DATA/SEEK_HOLE,
# st_blocks and du of a sparse file, xattrs, flock and fcntl locks between
# two processes. O_TMPFILE is answered with a clean EOPNOTSUPP (ggfs(1)).
# Twice: with -o no_passthrough (every write a request to ggfs), then with
# kernel passthrough of writers where it is on (the default).
. "$(dirname "$0")/lib.sh"
setup "$@"
need fusermount3 python3 fallocate du setfattr getfattr flock strace
cd "$T"
mkdir -p src/plain src/mounted
(cd src && gg init >/dev/null)

cat >ops.py <<'EOF'
import errno, fcntl, mmap, os, subprocess, sys, time
d = sys.argv[1]
out = []
def say(*a):
    out.append(" ".join(str(x) for x in a))
def attempt(what, f):
    try:
        say(what, f())
    except OSError as e:
        say(what, "error", errno.errorcode.get(e.errno, e.errno))

# O_DIRECT: aligned buffers, as a database would use them.
p = os.path.join(d, "direct")
def direct():
    fd = os.open(p, os.O_CREAT | os.O_RDWR | os.O_DIRECT, 0o644)
    w = mmap.mmap(-1, 8192)
    w.write(bytes(range(256)) * 32)
    n = os.pwrite(fd, w, 0)
    r = mmap.mmap(-1, 8192)
    k = os.preadv(fd, [r], 0)
    os.close(fd)
    return n, k, r[:] == w[:]
attempt("O_DIRECT write, read, same bytes:", direct)
attempt("... size", lambda: os.stat(p).st_size)
def direct_again():
    fd = os.open(p, os.O_RDWR | os.O_DIRECT)
    r = mmap.mmap(-1, 4096)
    n = os.pwrite(fd, r, 4096)
    k = os.preadv(fd, [r], 0)
    os.close(fd)
    return n, k, r[:16] == bytes(range(16))
attempt("O_DIRECT open of an existing file, write, read:", direct_again)

# fallocate, a punched hole, SEEK_DATA/SEEK_HOLE, st_blocks.
p = os.path.join(d, "sparse")
def sparse():
    fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o644)
    os.posix_fallocate(fd, 0, 1 << 20)
    st = os.fstat(fd)
    os.pwrite(fd, b"y" * (1 << 20), 0)
    os.close(fd)
    return st.st_size, st.st_blocks >= 2048
attempt("fallocate 1 MiB: size, allocated:", sparse)
subprocess.run(["fallocate", "-p", "-o", "65536", "-l", "131072", p], check=True)
def seeks():
    fd = os.open(p, os.O_RDONLY)
    r = []
    for off, wh in ((0, os.SEEK_HOLE), (65536, os.SEEK_DATA), (70000, os.SEEK_DATA), (0, os.SEEK_DATA)):
        try:
            r.append(os.lseek(fd, off, wh))
        except OSError as e:
            r.append(errno.errorcode[e.errno])
    os.close(fd)
    return r
attempt("after punching 64k-192k: SEEK_HOLE 0, SEEK_DATA 65536, 70000, 0:", seeks)
attempt("... st_blocks", lambda: os.stat(p).st_blocks)
attempt("... du", lambda: subprocess.run(["du", "-k", p], capture_output=True, text=True).stdout.split()[0])
p = os.path.join(d, "holes")
def holes():
    with open(p, "wb") as f:
        f.truncate(4 << 20)
        f.seek(2 << 20)
        f.write(b"x" * 4096)
    st = os.stat(p)
    return st.st_size, st.st_blocks
attempt("a 4 MiB file with 4 KiB of data: size, st_blocks", holes)

# copy_file_range between two files of the mount.
src, dst = os.path.join(d, "cfr-src"), os.path.join(d, "cfr-dst")
def cfr():
    with open(src, "wb") as f:
        f.write(os.urandom(300000))
    a = os.open(src, os.O_RDONLY)
    b = os.open(dst, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
    n = 0
    while n < 300000:
        k = os.copy_file_range(a, b, 300000 - n, n, n)
        if k <= 0:
            break
        n += k
    os.close(a)
    os.close(b)
    return n, open(src, "rb").read() == open(dst, "rb").read()
attempt("copy_file_range 300000 bytes, same bytes:", cfr)

# xattrs.
p = os.path.join(d, "x")
open(p, "w").close()
def xattrs():
    os.setxattr(p, "user.test", b"value")
    os.setxattr(p, "user.other", b"2")
    v = os.getxattr(p, "user.test")
    names = sorted(os.listxattr(p))
    os.removexattr(p, "user.other")
    return v, names, sorted(os.listxattr(p))
attempt("xattrs set, get, list, remove:", xattrs)
attempt("missing xattr", lambda: os.getxattr(p, "user.none"))
attempt("xattr create on an existing one", lambda: os.setxattr(p, "user.test", b"v", os.XATTR_CREATE))

# Locks between two processes: flock, then fcntl (POSIX) locks.
p = os.path.join(d, "lock")
open(p, "w").close()
def locks(kind):
    fd = os.open(p, os.O_RDWR)
    if kind == "flock":
        fcntl.flock(fd, fcntl.LOCK_EX)
        child = ["flock", "-n", "-x", p, "true"]
    else:
        fcntl.lockf(fd, fcntl.LOCK_EX)
        child = [sys.executable, "-c",
                 "import fcntl,os,sys\nfd=os.open(sys.argv[1],os.O_RDWR)\n"
                 "try:\n fcntl.lockf(fd,fcntl.LOCK_EX|fcntl.LOCK_NB)\n print('got')\n"
                 "except OSError as e:\n print('refused')", p]
    held = subprocess.run(child, capture_output=True, text=True)
    os.close(fd)
    free = subprocess.run(child, capture_output=True, text=True)
    return (held.returncode, held.stdout.strip()), (free.returncode, free.stdout.strip())
attempt("flock held elsewhere, then free:", lambda: locks("flock"))
attempt("fcntl lock held elsewhere, then free:", lambda: locks("fcntl"))
print("\n".join(out))
EOF

for mode in no_passthrough default; do
rm -rf src/plain src/mounted && mkdir -p src/plain src/mounted
opts=()
[ "$mode" = default ] || opts=(-o "$mode")
ggfs_mount src mnt "ggfs.$mode.log" "${opts[@]}" || { not_ok "mount ($mode)"; continue; }
echo "# $mode: $(grep -o 'kernel passthrough (.*' "ggfs.$mode.log" | tail -n 1)"
python3 ops.py src/plain >plain.out 2>plain.err
python3 ops.py mnt/mounted >mnt.$mode.out 2>mnt.$mode.err
cat mnt.$mode.out | sed 's/^/    /'
check "($mode) the operations run on the directory" [ ! -s plain.err ]
check "($mode) ... and through the mount" [ ! -s mnt.$mode.err ]
sed 's/^/    /' mnt.$mode.err | head -5
check "($mode) O_DIRECT works through the mount" grep -q "^O_DIRECT write, read, same bytes: (8192, 8192, True)" mnt.$mode.out
check "($mode) every result through the mount is the directory's" cmp -s plain.out mnt.$mode.out
diff plain.out mnt.$mode.out | sed 's/^/    /'
check "($mode) the files made through the mount are in SOURCE, the same" sh -c "cd src && for f in direct sparse holes; do cmp -s plain/\$f mounted/\$f || exit 1; done"

[ "$mode" = default ] || check "($mode) unmounts cleanly" ggfs_umount mnt
done
# O_TMPFILE: the kernel asks FUSE_TMPFILE, which libfuse 3.14 cannot serve.
cat >tmpfile.py <<'EOF'
import errno, os, sys
try:
    fd = os.open(sys.argv[1], os.O_TMPFILE | os.O_RDWR, 0o600)
    os.write(fd, b"tmp")
    print("ok")
except OSError as e:
    print("EOPNOTSUPP" if e.errno == errno.EOPNOTSUPP else errno.errorcode[e.errno])
EOF
check "O_TMPFILE on the directory works" [ "$(python3 tmpfile.py src/plain)" = ok ]
check "O_TMPFILE through the mount is a clean EOPNOTSUPP (programs fall back)" [ "$(python3 tmpfile.py mnt/mounted)" = EOPNOTSUPP ]
check "... and the next plain create works" sh -c "echo after >mnt/mounted/after && [ \"\$(cat src/mounted/after)\" = after ]"
# SELinux labels: the mount carries none (a kernel with SELinux answers
# security.selinux itself; this one asks ggfs): EOPNOTSUPP, so that ls -l
# asks once for the whole mount, not once a file (ggfs(1)).
for i in 1 2 3 4 5; do : >mnt/mounted/label.$i; done
setfattr -n user.kept -v 1 mnt/mounted/label.1
check "getfattr security.selinux through the mount: not supported" \
	sh -c "getfattr -n security.selinux mnt/mounted/label.1 2>&1 | grep -q 'Operation not supported'"
check "setfattr security.selinux through the mount: not supported" \
	sh -c "setfattr -n security.selinux -v system_u:object_r:tmp_t:s0 mnt/mounted/label.1 2>&1 | grep -q 'Operation not supported'"
check "... and the other attributes are still listed" \
	sh -c "getfattr -m - -d mnt/mounted/label.1 | grep -q '^user.kept='"
# a label stored in SOURCE (this kernel keeps it as a plain attribute)
check "a label set on the directory itself" setfattr -n security.selinux -v system_u:object_r:tmp_t:s0 src/mounted/label.2
check "... is listed there" sh -c "getfattr -m - src/mounted/label.2 | grep -q '^security.selinux'"
check "... and not through the mount" sh -c "! getfattr -m - mnt/mounted/label.2 | grep -q selinux"
strace -f -o ls.strace -e trace=getxattr,lgetxattr ls -l mnt/mounted >/dev/null 2>&1
asked=$(grep -c 'security.selinux' ls.strace)
check "ls -l of six files asks for the label once, not once a file ($asked)" test "$asked" = 1
check "unmounts cleanly" ggfs_umount mnt
check "the logs are clean" sh -c "! grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error:' ggfs.*.log"
finish
