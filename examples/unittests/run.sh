#!/usr/bin/env bash
# Unit tests as thunks, read through a ggfs mount (see README.md):
#   examples/unittests/run.sh [BUILD_DIR [WORK_DIR]]
# makes the thunks (make-thunks.sh), mounts WORK_DIR with ggfs, reads
# results/summary.txt through the mount (which forces every test thunk, in
# parallel) and prints it, then unmounts. Without ggfs it uses gg force.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
work=${2:-$(mktemp -d /tmp/gg-unittests.XXXXXX)}
export PATH="$(cd "$build" && pwd)/bin:$PATH"
"$here/make-thunks.sh" "$build" "$work"
if command -v ggfs >/dev/null && [ -e /dev/fuse ]; then
	mnt=$work.mnt
	mkdir -p "$mnt"
	ggfs "$work" "$mnt"
	trap 'fusermount3 -u "$mnt"' EXIT
	cat "$mnt/results/summary.txt"
	echo "--- $mnt/results/test_fails.log:"
	cat "$mnt/results/test_fails.log"
else
	echo "(no ggfs here: forcing with gg force)"
	cd "$work"
	gg force --no-progress results/summary.txt results/*.log
	cat results/summary.txt
fi
