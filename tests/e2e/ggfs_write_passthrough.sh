#!/usr/bin/env bash
# ggfs: where the kernel's FUSE passthrough is on, an open for writing hands
# SOURCE's file to the kernel, so writes reach it without a request to ggfs.
# Counted from the daemon's debug log (WRITE requests), and checked for what
# the kernel's rules make delicate: readers joining a writer see its writes
# at once; a reader already open keeps the writer on the cached path (the
# kernel refuses to mix the two); mmap writes, appends, a program built and
# run through the mount, a placeholder written through the mount and then
# forced. Another user's writes never take this path (ggfs_users).
. "$(dirname "$0")/lib.sh"
setup "${1:-}"
need gg ggfs fusermount3 python3 cmp cc
cd "$T"
mkdir -p src mnt
(cd src && gg init >/dev/null)
head -c 1048576 /dev/urandom >data
cp data src/f
ggfs_mount src mnt debug.log -d || { not_ok "mount with ggfs -f -d"; finish; }
writes() { grep -ac 'opcode: WRITE' debug.log; }
wait_for 50 grep -aq 'kernel passthrough (' debug.log
state=$(grep -ao 'kernel passthrough (.*' debug.log | tail -n 1)
echo "# $state"
on=false
case $state in
*") on") on=true ;;
*"needs CAP_SYS_ADMIN"* | *"does not offer it"*) echo "# SKIP the request counts: $state" ;;
*) not_ok "passthrough is off for an unexpected reason: $state" ;;
esac
counts() { # DESCRIPTION COMMAND...: a check that holds only in passthrough
	if $on; then check "$@"; fi
}

# ---- a writer: 4k writes at scattered offsets into an existing file ----
cat >scatter.py <<'EOF'
import os, random, sys
path, mirror = sys.argv[1], sys.argv[2]
rnd = random.Random(7)
with open(mirror, "r+b") as m:
    fd = os.open(path, os.O_WRONLY)
    for _ in range(256):
        off = rnd.randrange(256) * 4096
        block = os.urandom(4096)
        os.pwrite(fd, block, off)
        m.seek(off)
        m.write(block)
    os.close(fd)
EOF
w0=$(writes)
check "256 scattered 4k writes through the mount" python3 scatter.py mnt/f data
check "... land in SOURCE" cmp -s data src/f
check "... and read back through the mount" cmp -s data mnt/f
w1=$(writes)
echo "# WRITE requests for them: $((w1 - w0))"
counts "... without a WRITE request to ggfs (passthrough)" [ "$w1" = "$w0" ]

# ---- readers joining a writer read its writes at once ----
check "a reader opened while a writer holds the file sees each write" python3 -c '
import os, sys
p = sys.argv[1]
w = os.open(p, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
os.write(w, b"one")
r = os.open(p, os.O_RDONLY)
a = os.pread(r, 100, 0)
os.write(w, b"two")
b = os.pread(r, 100, 0)
os.close(w)
c = os.pread(r, 100, 0)
os.close(r)
sys.exit(not (a == b"one" and b == b"onetwo" and c == b"onetwo"))' mnt/joined
check "... and SOURCE holds it" [ "$(cat src/joined)" = onetwo ]

# ---- a reader first: the writer stays on the cached path, both work ----
printf 'first\n' >src/h
exec 3<mnt/h
w0=$(writes)
check "a writer while a reader is open (cached): append works" sh -c 'echo second >>mnt/h'
check "... the open reader reads both lines" python3 -c '
import os, sys
sys.exit(os.pread(3, 100, 0) != b"first\nsecond\n")'
exec 3<&-
w1=$(writes)
counts "... and its write went to ggfs (no mixing of modes)" [ "$w1" -gt "$w0" ]
check "SOURCE holds both lines" [ "$(cat src/h)" = "$(printf 'first\nsecond')" ]

# ---- mmap of a writer; appends; truncation ----
check "a shared writable mmap through the mount reaches SOURCE" python3 -c '
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_CREAT | os.O_RDWR, 0o644)
os.ftruncate(fd, 8192)
m = mmap.mmap(fd, 8192)
m[4096:4101] = b"hello"
m.flush()
m.close()
os.close(fd)
with open(sys.argv[2], "rb") as f:
    f.seek(4096)
    sys.exit(f.read(5) != b"hello")' mnt/mapped src/mapped
check "appends by two opens interleave, none lost" python3 -c '
import os, sys
a = os.open(sys.argv[1], os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o644)
b = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND)
for i in range(100):
    os.write(a, b"a")
    os.write(b, b"b")
os.close(a)
os.close(b)
sys.exit(open(sys.argv[1], "rb").read() != b"ab" * 100)' mnt/appended
check "O_TRUNC through the mount empties the file" sh -c ': >mnt/appended && [ ! -s src/appended ]'

# ---- a program built and run through the mount; a placeholder written ----
printf 'int main(void) { return 42; }\n' >src/p.c
check "cc writes a program through the mount" cc -o mnt/p mnt/p.c
mnt/p
check "... which runs at once (exit 42)" [ $? = 42 ]
check "... and again, also from SOURCE" sh -c 'mnt/p; [ $? = 42 ] || exit 1; src/p; [ $? = 42 ]'
(cd src && gg thunk -o out --placeholder ph.tmp -- sh -c 'echo forced > out' >/dev/null)
check "a placeholder written through the mount" cp src/ph.tmp mnt/ph
check "... is forced when read after its writer closed" [ "$(cat mnt/ph)" = forced ]

check "unmounts cleanly" ggfs_umount mnt
check "the log is clean" ggfs_log_clean debug.log
finish
