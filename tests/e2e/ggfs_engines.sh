#!/usr/bin/env bash
# ggfs forces through the engines named in $GG_ENGINE, like gg force: here
# two `gg worker --listen` processes sharing file:// storage, each in its own
# directory, with no access to the mount's store.
. "$(dirname "$0")/lib.sh"
setup "$@"
need sort fusermount3
cd "$T"
mkdir -p src mnt shared w1 w2
(cd src && gg init . >/dev/null && printf 'pear\napple\n' > in.txt &&
	gg thunk -i in.txt -o out.txt --placeholder out.txt -- sort -o out.txt in.txt >/dev/null)
declare -A wport
for w in w1 w2; do
	(cd $w && GG_DIR=$T/$w/.gg GG_STORAGE=file://$T/shared exec gg worker --listen 127.0.0.1:0 --port-file port -j 1) >$w/log 2>&1 &
	at_exit "kill $!"
	wport[$w]=$(wait_port_file $w/port $!) || { not_ok "worker $w did not start: $(cat $w/log)"; finish; }
done
urls="http://127.0.0.1:${wport[w1]}/execute,http://127.0.0.1:${wport[w2]}/execute"
GG_STORAGE=file://$T/shared GG_ENGINE="2:http=$urls" ggfs src mnt
at_exit "fusermount3 -u '$T/mnt'"
check "a placeholder is forced on a remote worker through the mount" [ "$(cat mnt/out.txt)" = "$(printf 'apple\npear')" ]
check "a worker ran it" bash -c "ls '$T'/w1/.gg/memo/*/* '$T'/w2/.gg/memo/*/* 2>/dev/null | grep -q ."
fusermount3 -u mnt
GG_ENGINE="nonsense" ggfs src mnt 2>bad.err && fusermount3 -u mnt
check "a bad GG_ENGINE is reported" grep -q "GG_ENGINE: .*unknown engine 'nonsense'" bad.err
finish
