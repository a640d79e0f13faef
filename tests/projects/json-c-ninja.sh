#!/usr/bin/env bash
# json-c through CMake's Ninja generator: tests/projects/json-c.sh.
GG_CMAKE_GENERATOR=Ninja exec bash "$(dirname "$0")/json-c.sh" "$@"
