#!/usr/bin/env bash
# Video encoding, ExCamera-style (see README.md):
#   examples/video/make-thunks.sh WORK_DIR [SECONDS [CHUNK_SECONDS]]
# generates SECONDS (default 3) of test video with sound using ffmpeg's own
# sources, and makes in WORK_DIR the thunks that split it into chunks of
# CHUNK_SECONDS (default 0.5), encode every chunk with x264 (in parallel:
# no chunk depends on another) and join the encoded chunks with the concat
# demuxer, adding the sound. Placeholders: chunkN.nut, encN.mp4, out.mp4.
# Nothing is run: read out.mp4 through a ggfs mount, or `gg force` it.
# Installs Debian's ffmpeg when it is missing (as root).
set -eu
usage="usage: make-thunks.sh WORK_DIR [SECONDS [CHUNK_SECONDS]]"
work=${1:?$usage}
secs=${2:-3}
chunk=${3:-0.5}
rate=24
if ! command -v ffmpeg >/dev/null || ! command -v ffprobe >/dev/null; then
	[ "$(id -u)" -eq 0 ] || { echo "make-thunks.sh: ffmpeg is not installed (apt-get install ffmpeg)" >&2; exit 1; }
	echo "make-thunks.sh: installing Debian's ffmpeg" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ffmpeg >/dev/null ||
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ffmpeg >/dev/null; }
fi
for tool in gg ffmpeg awk; do
	command -v $tool >/dev/null || { echo "make-thunks.sh: $tool is not installed" >&2; exit 1; }
done
mkdir -p "$work"
cd "$work"
[ -d .gg ] || gg init . >/dev/null

# The "camera": a test pattern and a 440 Hz tone, lossless and intra-only
# (FFV1: every frame a key frame), so a chunk can start at any frame.
ff=(ffmpeg -nostdin -hide_banner -loglevel error)
"${ff[@]}" -y -f lavfi -i "testsrc=duration=$secs:size=320x240:rate=$rate" \
	-f lavfi -i "sine=frequency=440:duration=$secs:sample_rate=48000" -c:v ffv1 -c:a pcm_s16le input.nut

n=$(awk -v s="$secs" -v c="$chunk" 'BEGIN { n = int(s / c); if (n * c < s - 1e-9) n++; print n }')
: >concat.txt
joined=()
t0=$(date +%s.%N)
for ((i = 0; i < n; i++)); do
	ss=$(awk -v i=$i -v c="$chunk" 'BEGIN { print i * c }')
	# split: a stream copy of one chunk of frames
	gg thunk -i input.nut -o chunk$i.nut --placeholder chunk$i.nut -- \
		"${ff[@]}" -ss "$ss" -t "$chunk" -i input.nut -map 0:v -c copy chunk$i.nut >/dev/null
	# encode: each chunk on its own, starting with a key frame
	gg thunk -i chunk$i.nut -o enc$i.mp4 --placeholder enc$i.mp4 -- \
		"${ff[@]}" -i chunk$i.nut -c:v libx264 -preset veryfast -crf 23 -pix_fmt yuv420p -threads 1 enc$i.mp4 >/dev/null
	echo "file 'enc$i.mp4'" >>concat.txt
	joined+=(-i enc$i.mp4)
done
# join: the concat demuxer copies the encoded chunks; the sound comes from
# the input, encoded once.
gg thunk -i concat.txt -i input.nut "${joined[@]}" -o out.mp4 --placeholder out.mp4 -- \
	"${ff[@]}" -f concat -safe 0 -i concat.txt -i input.nut -map 0:v -map 1:a -c:v copy -c:a aac \
	-movflags +faststart out.mp4 >/dev/null
t1=$(date +%s.%N)
echo "made $((2 * n + 1)) thunks ($n chunks of $chunk s) in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s; placeholder $PWD/out.mp4"
