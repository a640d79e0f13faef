#!/usr/bin/env bash
# ggfs: when the directory watch's inotify queue overflows (events lost), the
# mount stops trusting what it let the kernel keep for long. A forced
# placeholder is kept 60 s (its directory's watch reports its changes); the
# watch thread is held (GGFS_TEST_HOLD_WATCH) while more names are made in
# that directory than the kernel's queue holds (fs.inotify.max_queued_events,
# which only root may lower), and the placeholder is rewritten meanwhile: its
# event is lost. Once the thread reads again it finds IN_Q_OVERFLOW, and the
# rewrite is seen through the mount at once, not after 60 s.
. "$(dirname "$0")/lib.sh"
setup "${1:-}"
need gg ggfs fusermount3 stat xargs seq
cd "$T"

max=$(cat /proc/sys/fs/inotify/max_queued_events 2>/dev/null) ||
	{ not_ok "read /proc/sys/fs/inotify/max_queued_events (needed to overflow the queue)"; finish; }
mkdir -p src/d mnt
(cd src && gg init >/dev/null &&
	gg thunk -o out --placeholder d/ph -- sh -c 'echo first >out' >/dev/null &&
	gg thunk -o out --placeholder d/next -- sh -c 'echo second one >out' >/dev/null)
cp src/d/next next.placeholder

GGFS_TEST_HOLD_WATCH="$T/hold" ggfs_mount src mnt ggfs.log || { not_ok "mount with ggfs -f"; finish; }
ok "mount with ggfs -f"
check "the placeholder, forced through the mount" grep -qx first mnt/d/ph
check "the next one, forced through the mount" grep -qx 'second one' mnt/d/next
sleep 1.2 # the entry expires: looked up again, now forced: kept long
stat mnt/d/ph >/dev/null
sleep 1.2 # (once more: a late event about the force may have ended the first)
stat mnt/d/ph >/dev/null

touch hold
# One new name is at least one event (IN_CREATE); the thread may have read
# one buffer (64 KiB, ~2,000 events) before it saw the hold.
n=$((max + 4000))
(cd src/d && seq -f "spam%g" "$n" | xargs touch)
echo "# made $n names in a watched directory (the kernel's queue holds $max events)"
cat next.placeholder >src/d/ph # its event is lost
sleep 1.5 # past -o timeout: what the kernel keeps for long is still the old
check "while the watch is held, the kernel still holds the forced placeholder's old size" \
	[ "$(stat -c %s mnt/d/ph)" = "$(printf 'first\n' | wc -c)" ]
rm hold
for i in $(seq 600); do
	grep -q 'inotify queue overflow' ggfs.log && break
	sleep 0.05
done
check "the overflow happened, and was logged" grep -q 'inotify queue overflow' ggfs.log
check "a rewrite made during the overflow is seen at once: its size" \
	[ "$(stat -c %s mnt/d/ph)" = "$(printf 'second one\n' | wc -c)" ]
check "and its bytes" grep -qx 'second one' mnt/d/ph
check "fusermount3 -u: the daemon exits 0" ggfs_umount mnt
check "ggfs log has no sanitizer report" sh -c "! grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error:' ggfs.log"
finish
