#!/usr/bin/env bash
# The slower tier of tests/e2e/kill_loop.sh: 50 kill -9s each of `gg force`
# and `ggfs` (a few minutes).
GG_KILLS=${GG_KILLS:-50} exec bash "$(dirname "$0")/../e2e/kill_loop.sh" "$@"
