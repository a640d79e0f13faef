#!/usr/bin/env bash
# Without a sandbox (gg force --no-sandbox, gg worker --no-sandbox) no pid
# namespace ends what a thunk detaches. Run as nobody, so that no control
# group does it either (only root may make them here): a thunk daemonises a
# napper (setsid, double fork) that would write a marker file 1.5 s later.
#   - after gg force --no-sandbox returns, no process with the thunk's marker
#     is alive (looked for at once, in /proc/*/environ), and the marker file
#     never appears
#   - the same through gg worker --listen --no-sandbox: nothing of it is
#     alive once the reply is in, and the worker says it ended it; a slower
#     thunk run beside it on the same worker is not touched and succeeds
#   - kill -9 of gg force --no-sandbox while the detached napper runs: none
#     of the thunk's processes is alive 2 s later
#   - as root (a control group per run) the same holds
#   - a thunk that kills its own supervisor (it may: same user) fails,
#     saying so
. "$(dirname "$0")/lib.sh"
setup "$@"
need cc setsid setpriv sh
[ "$(id -u)" = 0 ] || { not_ok "this test needs root (it runs gg as another user, nobody, which gets no control group)"; finish; }
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$T"
chmod 755 "$T"
echo "# in $T"
cc -O2 -o napper "$here/e2e/progs/napper.c" || { not_ok "compile the helper"; finish; }
mkdir -m 1777 late
mkdir bucket && (cd bucket && for a in 0 1 2 3 4 5 6 7 8 9 a b c d e f; do for b in 0 1 2 3 4 5 6 7 8 9 a b c d e f; do mkdir -m 1777 $a$b; done; done)
chmod 1777 bucket
mkdir c w && chown 65534:65534 c w
nobody() { (exec setpriv --reuid=65534 --regid=65534 --clear-groups -- env HOME="$T/c" GG_STORAGE="file://$T/bucket" "$@"); }
cd c && nobody gg init . >/dev/null

# A thunk that leaves a napper behind (its own session, its parent gone)
# and exits at once.
daemoniser() { # MARK
	nobody gg thunk -e PATH=/usr/bin:/bin -e "GG_TEST_MARK=$1" -o o -- \
		sh -c "setsid sh -c '$T/napper 1500 $T/late/$1 </dev/null >/dev/null 2>&1 &'; echo made > o"
}
none_left() { # MARK: no process marked so, and (after the napper's time) no marker file
	local left
	left=$(marked "GG_TEST_MARK=$1")
	[ -z "$left" ] || { ps -o pid,ppid,sid,user,args -p "$(echo $left | tr ' ' ,)"; kill $left; return 1; }
}

# (1) gg force --no-sandbox, no control group
t=$(daemoniser local-$$)
out=$(nobody gg force --no-progress --no-sandbox --stdout "$t#o" 2>force.err)
check "--no-sandbox as nobody: the daemonising thunk runs" [ "$out" = made ] || cat force.err
check "--no-sandbox as nobody: nothing it detached is alive when gg force returns" none_left local-$$
check "--no-sandbox as nobody: it said why there is no control group" grep -q 'no cgroups for limits' force.err

# (1b) the program runs as the same user and can kill its supervisor: the
# run fails, saying so (not "killed by signal 9", which is not its status)
t=$(nobody gg thunk -e PATH=/usr/bin:/bin -e "GG_TEST_MARK=lost-$$" -o o -- sh -c 'kill -9 $PPID; sleep 0.3; echo x > o')
rc=0
nobody gg force --no-progress --no-sandbox "$t#o" >/dev/null 2>lost.err || rc=$?
check "a thunk that kills its supervisor fails, saying so" \
	grep -q 'its supervisor was killed before the program.s end was seen' lost.err || cat lost.err
wait_for 30 eval '[ -z "$(marked GG_TEST_MARK=lost-$$)" ]' || kill $(marked GG_TEST_MARK=lost-$$) 2>/dev/null

# (2) gg worker --listen --no-sandbox, no control group, two thunks at once
(cd "$T/w" && exec setpriv --reuid=65534 --regid=65534 --clear-groups -- env HOME="$T/w" GG_STORAGE="file://$T/bucket" \
	gg worker --listen 127.0.0.1:0 --port-file "$T/w/port" --dir "$T/w/store" --no-sandbox -j 2 -v 2>"$T/w/log") &
wpid=$!
at_exit "kill $wpid"
port=$(wait_port_file "$T/w/port" $wpid) || { not_ok "start a --no-sandbox worker as nobody"; cat "$T/w/log"; finish; }
url=http://127.0.0.1:$port/execute
t=$(daemoniser worker-$$)
slow=$(nobody gg thunk -e GG_TEST_MARK=slow-$$ -o o -- "$T/napper" 2500 o)
rc=0
nobody gg force --no-progress -j 2 -e "http=$url" "$slow#o" "$t#o" >wforce.out 2>wforce.err || rc=$?
check "worker: both thunks succeed" [ $rc = 0 ] || cat wforce.err
check "worker: the daemonising thunk's output came back" [ "$(nobody gg cat "$t#o" 2>&1)" = made ]
check "worker: the slower thunk beside it was not touched" [ "$(nobody gg cat "$slow#o" 2>&1)" = "napped 2500" ]
check "worker: nothing the thunk detached is alive once the reply is in" none_left worker-$$
check "worker: it says it ended what the thunk left" \
	grep -Eq "gg worker: $t: ended [1-9][0-9]* processes the thunk left running" "$T/w/log"
check "worker: it ended nothing of the slower thunk" bash -c "! grep -q '$slow: ended' '$T/w/log'"

# (3) kill -9 of gg force --no-sandbox while what the thunk detached runs
t=$(nobody gg thunk -e PATH=/usr/bin:/bin -e GG_TEST_MARK=kill-$$ -o o -- \
	sh -c "setsid sh -c '$T/napper 60000 $T/late/kill-$$ </dev/null >/dev/null 2>&1 &'; $T/napper 60000 o")
(exec setpriv --reuid=65534 --regid=65534 --clear-groups -- env HOME="$T/c" gg force --no-progress --no-sandbox "$t#o" >/dev/null 2>kill.err) &
fpid=$! # gg itself
two_marked() { [ "$(marked "GG_TEST_MARK=kill-$$" | wc -l)" -ge 3 ]; } # sh, napper, detached napper
wait_for 100 two_marked || echo "# the thunk's processes did not all start: $(marked "GG_TEST_MARK=kill-$$" | wc -l)"
kill -9 $fpid
wait $fpid 2>/dev/null
gone() { [ -z "$(marked "GG_TEST_MARK=kill-$$")" ]; }
wait_for 20 gone
check "kill -9 of gg force --no-sandbox: none of the thunk's processes, detached or not, is alive 2 s later" none_left kill-$$

# (4) as root: a control group per run, and the supervisor all the same
cd "$T" && mkdir r && cd r && gg init . >/dev/null
t=$(gg thunk -e PATH=/usr/bin:/bin -e "GG_TEST_MARK=root-$$" -o o -- \
	sh -c "setsid sh -c '$T/napper 1500 $T/late/root-$$ </dev/null >/dev/null 2>&1 &'; echo made > o")
check "--no-sandbox as root: the daemonising thunk runs" [ "$(gg force --no-progress --no-sandbox --stdout "$t#o" 2>root.err)" = made ]
check "--no-sandbox as root: nothing it detached is alive when gg force returns" none_left root-$$

# The nappers would have written their markers by now.
sleep 2
check "no detached napper ever wrote its marker" [ -z "$(ls "$T/late")" ]
check "the worker's log has no sanitizer report" bash -c "! grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error:' '$T/w/log'"
finish
