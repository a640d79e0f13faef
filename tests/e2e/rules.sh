#!/usr/bin/env bash
# tests/rules.sh, the tree's structural rules (also run by `make check`): the
# tree keeps them, and each rule catches a breach, named by file and line.
. "$(dirname "$0")/lib.sh"
setup "$@"
src=$(cd "$(dirname "$0")/../.." && pwd)
out=$("$src/tests/rules.sh" "$src" 2>&1)
check "the tree keeps its rules" [ $? = 0 ]
[ -z "$out" ] || echo "$out"

copy() { # a fresh copy of the source folders in $T/tree
	rm -rf "$T/tree" && mkdir "$T/tree" && cp -r "$src"/core "$src"/backend "$src"/fs "$src"/tools "$T/tree/"
}
expect() { # DESCRIPTION PATTERN: rules.sh on $T/tree fails with PATTERN
	local o
	o=$("$src/tests/rules.sh" "$T/tree" 2>&1)
	local rc=$?
	check "$1: fails" [ $rc = 1 ]
	check "$1: names it" has_text "$o" "$2"
}

copy
sed -i '0,/^#include "exec.h"/s//#include "exec.h"\n#include "engine.h"/' "$T/tree/core/scheduler.h"
line=$(grep -n '^#include "engine.h"' "$T/tree/core/scheduler.h" | cut -d: -f1)
expect "core including a backend header" \
	"core/scheduler.h:$line: includes backend/engine.h, but core/ may include only: core"

copy
echo '#include "ggfs.h"' >>"$T/tree/backend/wire.c"
line=$(wc -l <"$T/tree/backend/wire.c")
expect "backend including an fs header" \
	"backend/wire.c:$line: includes fs/ggfs.h, but backend/ may include only: core backend"

copy
echo '#include "backend/engine.h"' >>"$T/tree/core/util.c"
expect "an include naming its folder" "core/util.c:.*includes backend/engine.h"
finish
