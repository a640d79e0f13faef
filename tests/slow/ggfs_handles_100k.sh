#!/usr/bin/env bash
# The slower tier of tests/e2e/ggfs_handles.sh: 100,000 files read and
# stat'ed through the mount with the daemon limited to 1,024 fds.
GG_HANDLES_FILES=${GG_HANDLES_FILES:-100000} GG_HANDLES_FDS=${GG_HANDLES_FDS:-1024} \
	exec bash "$(dirname "$0")/../e2e/ggfs_handles.sh" "$@"
