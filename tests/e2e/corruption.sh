#!/usr/bin/env bash
# One byte flipped in (a) an output value (also (a') in the second gg stored
# it), (b) a tool's executable copy,
# (c) a hash cache entry, (c') a memo entry, (d) a value in remote (file://) storage and (e) a
# value in a store copied with cp -a (new inodes: no verdict holds): gg
# force, gg cat, reads through the mount and by-hash give the right bytes
# (recomputed or fetched again) or an error naming the object, never the
# damaged bytes; the damaged file is quarantined; gg fsck reports it.
. "$(dirname "$0")/lib.sh"
setup "${1:-}"
need gg ggfs fusermount3 python3 sort cmp find cc sha256sum
cd "$T"

# flip FILE [OFFSET]: one byte changed in place, size and mode kept
flip() {
	local mode
	mode=$(stat -c %a "$1")
	chmod u+w "$1"
	python3 -c 'import sys
f = open(sys.argv[1], "r+b"); o = int(sys.argv[2]); f.seek(o); b = f.read(1)
f.seek(o); f.write(bytes([b[0] ^ 0x20])); f.close()' "$1" "${2:-0}"
	chmod "$mode" "$1"
}
obj() { echo ".gg/objects/${1:1:2}/$1"; }

mkdir src mnt
cd src
gg init . >/dev/null
printf 'b\na\nc\n' >in.txt
printf 'z\ny\n' >in2.txt
printf 'q\np\n' >in3.txt
t=$(gg thunk -i in.txt -o out.txt -- sort -o out.txt in.txt)
v=$(gg force --no-progress "$t#out.txt")
good=$(printf 'a\nb\nc')
check "forced: the value" [ "$(gg cat "$t#out.txt")" = "$good" ]
# Let everything settle (the stamp rule's 2 s), so that verdicts are recorded.
sleep 2.5
gg cat "$t#out.txt" >/dev/null
check "a settled value has a verdict" [ -f ".gg/verdicts/${v:1:2}/$v" ]

# ---- (a) an output value ----
flip "$(obj "$v")" 1
out=$(gg cat "$t#out.txt" 2>cat.err)
check "(a) gg cat: the right bytes (recomputed)" [ "$out" = "$good" ]
check "(a) the damaged value is in quarantine" [ -f ".gg/quarantine/$v" ]
check "(a) ... and it is the damaged bytes" sh -c "! cmp -s .gg/quarantine/$v $(obj "$v")"
flip "$(obj "$v")" 0
out=$(gg force --no-progress --stdout "$t#out.txt" 2>stdout.err)
check "(a) gg force --stdout: the right bytes" [ "$out" = "$good" ]
gg thunk -i in.txt -o out.txt --placeholder ph.txt -- sort -o out.txt in.txt >/dev/null
flip "$(obj "$v")" 2
gg force --no-progress ph.txt 2>ph.err
check "(a) gg force PLACEHOLDER: the right bytes" [ "$(cat ph.txt)" = "$good" ]
flip "$(obj "$v")" 0
gg fsck >fsck.out 2>fsck.err
rc=$?
check "(a) gg fsck: exit 3" [ $rc = 3 ]
check "(a) gg fsck names the damaged value" grep -q "damaged: object $v is damaged (its bytes hash to" fsck.out
check "(a) gg fsck moved it to quarantine" [ ! -e "$(obj "$v")" ] && [ -f ".gg/quarantine/$v" ]
gg force --no-progress "$t#out.txt" >/dev/null
gg fsck >fsck2.out 2>&1
check "(a) gg fsck after recomputing: exit 0" [ $? = 0 ]

# through the mount: a placeholder and by-hash, opened after the flip
for i in 1 2; do gg thunk -i in.txt -o out.txt --placeholder "m$i.txt" -- sort -o out.txt in.txt >/dev/null; done
cd "$T"
ggfs_mount src mnt ggfs.log || { not_ok "mount with ggfs -f"; finish; }
flip "src/$(obj "$v")" 1
check "(a) mount: a placeholder reads the right bytes" [ "$(cat mnt/m1.txt)" = "$good" ]
check "(a) mount: the damaged value is in quarantine" [ -f "src/.gg/quarantine/$v" ]
flip "src/$(obj "$v")" 2
check "(a) by-hash THUNK#out.txt: the right bytes" [ "$(cat "mnt/.gg/by-hash/$t#out.txt")" = "$good" ]
flip "src/$(obj "$v")" 1
cat "mnt/.gg/by-hash/$v" >byhash.out 2>byhash.err
check "(a) by-hash VALUE of a damaged value: an error, not the bytes" \
	sh -c "[ -s byhash.err ] && ! grep -q c byhash.out"
check "(a) ... the mount's log names the object" grep -q "object $v is damaged" ggfs.log
fusermount3 -u mnt
wait "$GGFS_PID"
cd src
gg force --no-progress "$t#out.txt" >/dev/null

# ---- (a') the same second: a value changed right after gg stored it ----
# A value large enough that gg records its verdict as it stores it (where the
# file system keeps exact change times: gg-store(5)); changed in place within
# the same second, size and mtime kept: read at once, never the damaged bytes.
# gg force --summary prints its summary line once it is done with the value
# (stored, checked, its verdict recorded); forcer.py changes a byte of the
# object the moment that line comes, while gg may still be exiting (under a
# sanitizer that alone may take most of a second), so the change follows
# the verdict's stamp by milliseconds, not by gg's exit: two tries are
# usually enough for two changes in the same second, up to 10 are made.
# The change must not come before that line: one between gg linking the
# object into place and taking its stamp (store_vouch) would be vouched for,
# like any change by the store's owner who could as well write a verdict.
cat >"$T/forcer.py" <<'PY'
import os, subprocess, sys
# forcer.py TARGET OBJECT VERDICT OFFSET: gg force TARGET; flips the byte at
# OFFSET of OBJECT as soon as gg says it is done with it, keeping its size,
# mtime and mode. Prints the value, the second of the object's ctime before
# and after the change, whether VERDICT held (its stamp was the object's),
# whether gg was still running, and whether the mtime was kept.
target, obj, verdict, off = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
gg = subprocess.Popen(["gg", "force", "--no-progress", "--summary", target],
                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
err = b""
for line in gg.stderr:
    err += line
    if line.startswith(b"gg: executed "):
        break
st = os.stat(obj)
s0 = st.st_ctime_ns // 10**9
stamp = "%x-%x-%x-%x.%x-%x.%x" % (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns // 10**9,
                                  st.st_mtime_ns % 10**9, s0, st.st_ctime_ns % 10**9)
try:
    with open(verdict) as f:
        held = f.read().split()[2] == stamp  # ggverdict 2 STAMP ...
except (OSError, IndexError):
    held = False
os.chmod(obj, 0o644)
with open(obj, "r+b") as f:
    f.seek(off)
    b = f.read(1)
    f.seek(off)
    f.write(bytes([b[0] ^ 0x20]))
os.utime(obj, ns=(st.st_atime_ns, st.st_mtime_ns))
os.chmod(obj, st.st_mode & 0o7777)
running = gg.poll() is None
after = os.stat(obj)
out, rest = gg.communicate()
sys.stderr.buffer.write(err + rest)
kept = after.st_mtime_ns == st.st_mtime_ns and after.st_size == st.st_size
print(out.decode().strip(), s0, after.st_ctime_ns // 10**9, int(held), int(running), int(kept))
sys.exit(gg.returncode)
PY
same=0 held=0 running=0
for try in $(seq 10); do
	{ seq 30000; echo "$try"; } >big.in
	sort big.in >big.want
	vb=$(gg hash big.want)
	tb=$(gg thunk -i big.in -o big.out -- sort -o big.out big.in)
	read -r got s0 s1 h r kept < <(python3 "$T/forcer.py" "$tb#big.out" "$(obj "$vb")" \
		".gg/verdicts/${vb:1:2}/$vb" 1000 2>force.err)
	check "(a') try $try: gg force stored the value" [ "${got:-}" = "$vb" ]
	check "(a') try $try: the change kept the size and mtime" [ "${kept:-0}" = 1 ]
	out=$(gg cat "$tb#big.out" 2>cat.err | sha256sum)
	check "(a') try $try: gg cat right after the change: the right bytes" \
		[ "$out" = "$(sha256sum <big.want)" ]
	check "(a') try $try: the damaged value is in quarantine" [ -f ".gg/quarantine/$vb" ]
	check "(a') try $try: ... and it is the damaged bytes" \
		sh -c "[ -f .gg/quarantine/$vb ] && ! cmp -s .gg/quarantine/$vb big.want"
	held=$((held + ${h:-0})) running=$((running + ${r:-0}))
	[ "${s0:-x}" = "${s1:-y}" ] && same=$((same + 1))
	[ $same -ge 2 ] && break
done
echo "# (a') a verdict held at $held of $try changes; gg was still running at $running"
check "(a') changed in the second gg stored it ($same times in $try tries)" [ $same -ge 1 ]

# ---- (b) a tool's executable copy ----
gg force --no-progress "$t#out.txt" >/dev/null
copies=$(find .gg/xobjects -type f | sort)
check "(b) the tool has executable copies" [ -n "$copies" ]
for x in $copies; do flip "$x" 64; done
t2=$(gg thunk -i in2.txt -o out.txt -- sort -o out.txt in2.txt)
out=$(gg cat "$t2#out.txt" 2>b.err)
check "(b) a thunk run with the damaged tool copies: the right bytes" [ "$out" = "$(printf 'y\nz')" ]
for x in $copies; do
	n=$(basename "$x")
	check "(b) $n's damaged copy is in quarantine" [ -f ".gg/quarantine/$n.x" ]
	check "(b) $n's copy was made again from the object" cmp -s "$x" "$(obj "$n")"
done
for x in $copies; do flip "$x" 100; done
gg fsck >fsck.out 2>&1
check "(b) gg fsck: exit 3" [ $? = 3 ]
check "(b) gg fsck names the damaged copies" grep -q "damaged: executable copy of V.* is damaged" fsck.out

# ---- (c) a hash cache entry ----
name=$(gg hash in3.txt)
entries=$(find .gg/hashcache -type f)
for e in $entries; do flip "$e" 20; done
check "(c) gg hash with damaged entries: the right name" [ "$(gg hash in3.txt)" = "$name" ]
check "(c) ... the name of the bytes" [ "$(cp in3.txt copy3 && gg hash copy3)" = "$name" ]
sleep 2.5 # settle copy3, so that its entry is recorded
gg hash in3.txt copy3 >/dev/null
for e in $(find .gg/hashcache -type f); do flip "$e" 30; done
gg fsck >fsck.out 2>&1
check "(c) gg fsck: exit 3" [ $? = 3 ]
check "(c) gg fsck names a damaged hash cache entry" grep -q "damaged: hash cache entry .* is damaged; dropped" fsck.out
check "(c) gg hash afterwards: the right name" [ "$(gg hash in3.txt)" = "$name" ]

# ---- (c') a memo entry (sealed: a damaged one is dropped, the thunk runs again) ----
gg force --no-progress "$t#out.txt" >/dev/null
memo=".gg/memo/${t:1:2}/$t"
check "(c') the thunk has a memo entry" [ -f "$memo" ]
flip "$memo" 12
gg fsck >fsck.out 2>&1
check "(c') gg fsck: exit 3" [ $? = 3 ]
check "(c') gg fsck names the damaged memo entry" grep -q "damaged: memo entry of $t is damaged; dropped" fsck.out
out=$(gg cat "$t#out.txt" 2>cm.err)
check "(c') gg cat: the right bytes (the thunk ran again)" [ "$out" = "$good" ]
flip "$memo" 20
out=$(gg cat "$t#out.txt" 2>cm2.err)
check "(c') gg cat with a damaged memo entry: the right bytes" [ "$out" = "$good" ]

# ---- (d) a value in remote storage ----
bucket="file://$T/bucket"
gg push "$bucket" "$v" >/dev/null 2>push.err
remote=$(find "$T/bucket" -type f -name "$v")
check "(d) pushed" [ -n "$remote" ]
flip "$remote" 0
chmod u+w "$(obj "$v")" && rm -f "$(obj "$v")"
gg pull "$bucket" "$v" >pull.out 2>pull.err
check "(d) gg pull of a damaged remote value: an error" [ $? != 0 ]
check "(d) ... naming the object and the cause" grep -q "object $v from $bucket is corrupt" pull.err
check "(d) ... nothing damaged stored" [ ! -e "$(obj "$v")" ]
out=$(gg cat "$t#out.txt" 2>d.err)
check "(d) gg cat: recomputed, the right bytes" [ "$out" = "$good" ]
gg push "$bucket" "$v" >/dev/null 2>&1
chmod u+w "$(obj "$v")" && rm -f "$(obj "$v")"
gg pull "$bucket" "$v" >/dev/null 2>pull2.err
check "(d) pushed again (the damaged remote copy was removed), pulled: the right bytes" \
	[ "$(gg cat "$v")" = "$good" ]

# ---- (e) a store copied with cp -a ----
gg cat "$t#out.txt" >/dev/null
sleep 2.5
gg cat "$t#out.txt" >/dev/null
check "(e) the original has a verdict" [ -f ".gg/verdicts/${v:1:2}/$v" ]
cd "$T"
cp -a src copy
cd copy
o=$(obj "$v")
before=$(stat -c %Y "$o")
flip "$o" 1
touch -d "@$before" "$o" # the same mtime and size: only the inode and ctime differ
out=$(gg cat "$t#out.txt" 2>e.err)
check "(e) gg cat in the copy: the right bytes" [ "$out" = "$good" ]
check "(e) the damaged value is in the copy's quarantine" [ -f ".gg/quarantine/$v" ]
flip "$o" 1
touch -d "@$before" "$o"
gg fsck --quick >fsck.out 2>&1
check "(e) gg fsck --quick: exit 3 (no copied verdict holds)" [ $? = 3 ]
check "(e) gg fsck --quick names the value" grep -q "damaged: object $v" fsck.out

# ---- --no-sandbox: inputs are copies, a program cannot change the store ----
cd "$T"
mkdir nosb
cat >nosb/w.c <<'C'
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
/* Writes its input in place, keeping its size (and with an argument its
 * mtime), then its output. */
int main(int argc, char **argv)
{
	(void)argv;
	struct stat st;
	if (stat("in.txt", &st) < 0 || chmod("in.txt", 0644) < 0)
		return 1;
	int fd = open("in.txt", O_WRONLY);
	if (fd < 0 || pwrite(fd, "X", 1, 0) != 1)
		return 2;
	struct timespec ts[2] = {st.st_atim, st.st_mtim};
	if (argc > 1)
		futimens(fd, ts);
	fchmod(fd, st.st_mode & 07777);
	close(fd);
	fd = open("o", O_WRONLY | O_CREAT, 0644);
	return fd < 0 || write(fd, "done\n", 5) != 5;
}
C
cc -static -O -o nosb/w nosb/w.c || { not_ok "compile the input writer"; finish; }
cd nosb
gg init . >/dev/null
echo "the input" >in.txt
iv=$(gg hash in.txt)
tw=$(gg thunk -i w -i in.txt -o o -- ./w)
gg force --no-progress --no-sandbox "$tw#o" >w.out 2>w.err
check "--no-sandbox: a program that writes its input fails" [ $? != 0 ]
check "... saying it wrote a copy" grep -q "modified, removed or made writable its input 'in.txt' (a copy: the store is unchanged)" w.err
check "... and the store's object still holds its bytes" \
	[ "$(sha256sum <"$(obj "$iv")" | cut -c1-64)" = "${iv:1:64}" ]
tk=$(gg thunk -i w -i in.txt -o o -- ./w keep-mtime)
gg force --no-progress --no-sandbox "$tk#o" >k.out 2>k.err
check "--no-sandbox: a program that writes its input and restores its mtime runs" [ $? = 0 ]
check "... and the store's object still holds its bytes" \
	[ "$(sha256sum <"$(obj "$iv")" | cut -c1-64)" = "${iv:1:64}" ]
check "... and is still there for the next force" [ "$(gg cat "$iv")" = "the input" ]
finish
