#!/usr/bin/env bash
# The main job, end to end, on the local engine (no cloud account needed):
# `gg infer make` turns the build of a small real C program into a graph of
# thunks (the compiler's real stages: cc1, as, ld) in seconds, ggfs mounts the
# directory, and the program runs through the mount. Opening it forces the
# whole graph in parallel; a second run is served from the store.
set -eu
build=$(cd "${1:-build}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
export PATH="$build/bin:$PATH"
demo=$(mktemp -d /tmp/ggfs-demo.XXXXXX)
mnt="$demo/mnt"
cleanup() { fusermount3 -u "$mnt" 2>/dev/null || true; }
trap cleanup EXIT
mkdir -p "$demo/src" "$mnt"
cd "$demo/src"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "a small C program in $demo/src"
cp "$here/demo/primes.h" "$here/demo/primes.c" "$here/demo/main.c" .
ls -l

cp "$here/demo/Makefile" .
cat Makefile

say "gg infer make -j2: the real build runs with model compilers (nothing is compiled yet)"
gg init . >/dev/null
time gg infer make -j2
echo "main.o, primes.o and primes are placeholders:"
head -c 200 primes; echo

say "mount it: ggfs src mnt"
ggfs "$demo/src" "$mnt"
ls -l "$mnt"
echo "state of mnt/primes: $(getfattr --absolute-names --only-values -n user.gg.state "$mnt/primes" 2>/dev/null || echo '?')"

say "run the program through the mount (forces cc1, as and the link, in parallel)"
time "$mnt/primes" 200000

say "run it again (served from the store)"
time "$mnt/primes" 300000
ls -l "$mnt/primes"
echo "state of mnt/primes: $(getfattr --absolute-names --only-values -n user.gg.state "$mnt/primes")"
echo "the placeholder in src is untouched:"
head -c 60 "$demo/src/primes"; echo
say "done: the demo is in $demo"
