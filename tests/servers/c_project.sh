# A small real C project for the shared-cache tests (source after
# tests/e2e/lib.sh's setup): the demo's primes program in two files and a
# Makefile (tools/demo/), turned into thunks and placeholders by `gg infer make`.
#
#   c_project DIR   writes the sources into DIR (created), makes its store
#                   (DIR/.gg) and runs `gg infer make` there: primes, main.o
#                   and primes.o become placeholders; nothing is compiled

c_project_sources=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../tools/demo" && pwd)

c_project() {
	mkdir -p "$1"
	(
		cd "$1" || exit 1
		cp "$c_project_sources/primes.h" "$c_project_sources/primes.c" "$c_project_sources/main.c" \
			"$c_project_sources/Makefile" . || exit 1
		gg init . >/dev/null && gg infer make >infer.out 2>&1
	)
}
