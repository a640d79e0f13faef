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
sed -i '0,/^#include "core\/exec.h"/s//#include "core\/exec.h"\n#include "backend\/engine\/engine.h"/' "$T/tree/core/scheduler.h"
line=$(grep -n '^#include "backend/engine/engine.h"' "$T/tree/core/scheduler.h" | cut -d: -f1)
expect "core including a backend header" \
	"core/scheduler.h:$line: includes backend/engine/engine.h, but core/ may include only from: core"

copy
echo '#include "fs/ggfs.h"' >>"$T/tree/backend/remote/wire.c"
line=$(wc -l <"$T/tree/backend/remote/wire.c")
expect "backend including an fs header" \
	"backend/remote/wire.c:$line: includes fs/ggfs.h, but backend/remote/ may include only from: core backend backend/storage backend/remote"

copy
echo '#include "backend/engine/engine.h"' >>"$T/tree/backend/storage/storage.c"
expect "storage including an engine header" "backend/storage/storage.c:.*includes backend/engine/engine.h"

copy
echo '#include "tools/cli/commands.h"' >>"$T/tree/tools/infer/infer.c"
expect "a model including the command line's header" "tools/infer/infer.c:.*includes tools/cli/commands.h"

copy
echo '#include "store.h"' >>"$T/tree/core/util.c"
line=$(wc -l <"$T/tree/core/util.c")
expect "an include without its folder" "core/util.c:$line: includes \"store.h\" without its folder; write \"core/store.h\""

copy
printf 'static int f(void) { return fork(); }\n' >>"$T/tree/backend/remote/wire.c"
line=$(wc -l <"$T/tree/backend/remote/wire.c")
expect "a second place that starts processes" "backend/remote/wire.c:$line: starts a process"
copy
printf '/* fork() in a comment is fine */\n' >>"$T/tree/backend/remote/wire.c"
check "a comment naming fork() is no breach" "$src/tests/rules.sh" "$T/tree"

copy
printf 'static unsigned long g(unsigned long delay_ms) { delay_ms *= 2; return delay_ms; }\n' >>"$T/tree/core/hash.c"
expect "a second retry backoff" "core/hash.c:$(wc -l <"$T/tree/core/hash.c"): computes a retry's backoff"

copy
printf 'static long h(int a, int b) { return copy_file_range(a, 0, b, 0, 1, 0); }\n' >>"$T/tree/tools/cli/gg.c"
expect "a second fd copy" "tools/cli/gg.c:$(wc -l <"$T/tree/tools/cli/gg.c"): copies between fds"

copy
printf 'static const char *k = "%%s/.gg";\n' >>"$T/tree/tools/cli/cmd_store.c"
expect "a second store discovery" "tools/cli/cmd_store.c:$(wc -l <"$T/tree/tools/cli/cmd_store.c"): looks for a .gg directory"
copy
printf 'static const char esc[] = "\\"\\\\/bfnrt";\n' >>"$T/tree/tools/cli/cmd_report.c"
expect "a second JSON reader (string escapes)" "tools/cli/cmd_report.c:$(wc -l <"$T/tree/tools/cli/cmd_report.c"): reads JSON"
copy
printf 'static int t(const char *p) { return !memcmp(p, "null", 4); }\n' >>"$T/tree/backend/remote/wire.c"
expect "a second JSON reader (literals)" "backend/remote/wire.c:$(wc -l <"$T/tree/backend/remote/wire.c"): reads JSON"
copy
printf 'static void w(struct buf *b, int c) { buf_printf(b, "\\\\u%%04x", c); }\n' >>"$T/tree/core/scheduler.c"
expect "a second JSON string writer" "core/scheduler.c:$(wc -l <"$T/tree/core/scheduler.c"): writes a JSON string"

# grown_by_hand FILE DESCRIPTION TEXT: TEXT (printf %b) appended to FILE in a
# fresh copy fails rule 3, named by FILE and TEXT's first line
grown_by_hand() {
	copy
	local line=$(($(wc -l <"$T/tree/$1") + 1))
	printf '%b' "$3" >>"$T/tree/$1"
	expect "an array grown by hand ($2)" "$1:$line: reallocates an array"
}
grown_by_hand core/closure.c "one more" \
	'static void a(int **v, size_t n) { *v = xrealloc(*v, (n + 1) * sizeof **v); }\n'
grown_by_hand tools/infer/model_plan.c "doubled" \
	'static int *d(int *v, size_t cap) { return xreallocarray(v, cap * 2, sizeof *v); }\n'
grown_by_hand fs/watch.c "arguments on two lines" \
	'static int *w(int *v, size_t cap) { return xrealloc(v,\n\tcap * 2 * 4); }\n'
copy
printf 'static int *f(int *v, size_t n) { return xrealloc(v, n * sizeof *v); /* fit */ }\n' >>"$T/tree/core/closure.c"
check "a size marked /* fit */ is no breach" "$src/tests/rules.sh" "$T/tree"
finish
