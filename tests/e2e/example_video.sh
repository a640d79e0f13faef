#!/usr/bin/env bash
# examples/video: 3 s of generated video (ffmpeg's testsrc and sine) split
# into 6 chunks, each encoded with x264 by its own thunk, then joined with
# the concat demuxer. The final file is read through a ggfs mount (ffprobe
# forces the graph): H.264 and AAC, 3 s, 72 frames. Then the same graph in a
# fresh store under `gg force --trace` encodes chunks side by side, and a
# second force is all memo hits. Installs Debian's ffmpeg when missing.
. "$(dirname "$0")/lib.sh"
setup "$@"
ex=$(cd "$(dirname "$0")/../../examples/video" && pwd)
need ffmpeg ffprobe awk
cd "$T"
start=$(date +%s.%N)
"$ex/make-thunks.sh" "$T/work" 3 0.5 >make.out 2>make.err
check "make-thunks.sh makes the thunks" [ $? -eq 0 ]
echo "# $(cat make.out) (the first gg thunk of ffmpeg hashes its $(ldd "$(command -v ffmpeg)" | wc -l) libraries)"
check "13 thunks: 6 splits, 6 encodes, 1 join" grep -q '^made 13 thunks (6 chunks of 0.5 s)' make.out
check "out.mp4 is a placeholder until forced" sh -c "head -n1 work/out.mp4 | grep -q gg-run"

probe() { # FILE: "codec frames duration" per stream, then the format's duration
	ffprobe -v error -count_frames -show_entries stream=codec_name,nb_read_frames,duration:format=duration \
		-of csv=p=0 "$1"
}
near() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a - b < 0.05 && b - a < 0.05) }'; }
check_video() { # FILE WHERE
	probe "$1" >probe.txt 2>probe.err
	check "$2: ffprobe reads it" [ -s probe.txt ]
	check "$2: H.264 video with 72 frames, 3 s" sh -c "grep -Eq '^h264,3\.0[0-9]*,72$' probe.txt"
	check "$2: AAC sound" grep -q '^aac,' probe.txt
	check "$2: the file lasts 3 s" near "$(tail -n1 probe.txt)" 3
}

if [ -x "$BUILD/bin/ggfs" ]; then
	echo "# reading out.mp4 through a ggfs mount"
	need fusermount3
	if ggfs_mount "$T/work" "$T/mnt" "$T/ggfs.log"; then
		check_video "$T/mnt/out.mp4" "mnt/out.mp4"
		check "the encoded chunks are readable too (chunk 0: 12 frames)" \
			sh -c "ffprobe -v error -count_frames -show_entries stream=nb_read_frames -of csv=p=0 '$T/mnt/enc0.mp4' | grep -qx 12"
		check "ggfs unmounts cleanly" ggfs_umount "$T/mnt"
		check "ggfs logged no sanitizer report" ggfs_log_clean "$T/ggfs.log"
	else
		not_ok "mount the work directory with ggfs"
	fi
else
	not_ok "ggfs is not built ($BUILD/bin/ggfs; make builds it): the mount cannot be tested (forcing with gg force instead)"
	(cd work && gg force --no-progress out.mp4) 2>force.err
	check_video work/out.mp4 out.mp4
fi

# Parallel encoding, seen in a trace; then the memo.
"$ex/make-thunks.sh" "$T/par" 3 0.5 >/dev/null 2>&1
(cd par && gg force -j 3 --no-progress --summary --trace ../par.json out.mp4) 2>par.err
check "gg force runs the 13 thunks" grep -q 'executed 13, from memo 0, failed 0' par.err
check_video par/out.mp4 "gg force"
gg report par.json >report.txt
check "the trace has 13 runs on more than one slot" grep -Eq '^trace par.json: 13 thunk runs, 39 events on [2-9] slots' report.txt
cat >overlap.py <<'PY'
import json, sys
# labels are "PROGRAM OUTPUT Tshortname": the encodes output *.mp4, the join
# out.mp4. A job's span: from its first event (materialising its inputs: 215
# libraries of ffmpeg) to the end of its last (storing its outputs); its
# program's own run is short, so two runs may miss each other on a busy
# machine while the jobs still ran side by side.
span = {}
for e in json.load(open(sys.argv[1]))["traceEvents"]:
    parts = e.get("name", "").split(" ")
    if len(parts) < 2 or not parts[1].endswith(".mp4") or parts[1] == "out.mp4" or "ts" not in e:
        continue
    a, b = span.get(e["name"], (e["ts"], e["ts"] + e.get("dur", 0)))
    span[e["name"]] = (min(a, e["ts"]), max(b, e["ts"] + e.get("dur", 0)))
assert len(span) == 6, span
ev = list(span.values())
over = any(a[0] < b[1] and b[0] < a[1] for i, a in enumerate(ev) for b in ev[i + 1:])
sys.exit(0 if over else 1)
PY
check "two chunk encodes ran at the same time (their jobs overlap)" python3 overlap.py par.json
"$ex/make-thunks.sh" "$T/par" 3 0.5 >/dev/null 2>&1
(cd par && gg force --no-progress --summary out.mp4) 2>again.err
check "forcing again runs nothing (memo)" grep -q 'executed 0, ' again.err
echo "# total $(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
finish
