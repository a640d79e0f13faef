#!/usr/bin/env bash
# Video encoding as thunks, read through a ggfs mount (see README.md):
#   examples/video/run.sh [BUILD_DIR [WORK_DIR]]
# makes the thunks (make-thunks.sh), mounts WORK_DIR with ggfs, and checks
# WORK_DIR.mnt/out.mp4 with ffprobe (which forces the whole graph through
# the mount). Without ggfs it uses gg force.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
work=${2:-$(mktemp -d /tmp/gg-video.XXXXXX)}
export PATH="$(cd "$build" && pwd)/bin:$PATH"
"$here/make-thunks.sh" "$work"
probe() {
	ffprobe -v error -count_frames -show_entries stream=codec_name,nb_read_frames,duration:format=duration \
		-of compact "$1"
}
if command -v ggfs >/dev/null && [ -e /dev/fuse ]; then
	mnt=$work.mnt
	mkdir -p "$mnt"
	ggfs "$work" "$mnt"
	trap 'fusermount3 -u "$mnt"' EXIT
	probe "$mnt/out.mp4"
else
	echo "(no ggfs here: forcing with gg force)"
	cd "$work"
	gg force --no-progress out.mp4
	probe out.mp4
fi
