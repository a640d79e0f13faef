#!/usr/bin/env bash
# The tree's structural rules, checked by `make check` (and by
# tests/e2e/rules.sh, which also shows that each rule catches a breach):
#
#  1. Layers point one way: core <- backend <- fs, tools; inside backend
#     storage <- remote (worker + protocol) <- engine, inside tools the
#     shared command helpers <- trace, infer <- cli. Every include of the
#     tree's own headers names its folder ("core/store.h"; the build uses
#     -I. only, so a header of ours never shadows a system one), and a file
#     includes only from its own folder and the folders below it.
#
#  2. One place for each piece of plumbing (greppable; comment lines are not
#     read): processes are started only by core/process.c (and the
#     sandbox's own clone, core/sandbox.c); a retry waits by backoff_ns
#     (core/util.c) only; bytes go from fd to fd by copy_fd (core/util.c)
#     only; a store is found by walking up only in core/discover.c; JSON is
#     read and its strings written only by core/json.c (a JSON reader
#     decodes the escapes "\"\\/bfnrt" and surrogates, or matches the
#     literals true, false and null; a writer prints \uXXXX escapes).
#
#  3. Arrays grow by ALLOC_GROW (core/util.h) only: no realloc of an array
#     by hand outside core/util.[ch], but for a line marked /* fit */.
#
# Each breach is printed as FILE:LINE: what and why; the exit status is 1
# when there is any. Usage: tests/rules.sh [ROOT] (default: this checkout).
set -u
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root" || exit 2
bad=0
breach() { # FILE:LINE MESSAGE
	echo "$1: $2"
	bad=1
}

# --- 1. include direction ---------------------------------------------------
dirs="core backend backend/storage backend/remote backend/engine fs tools tools/trace tools/infer tools/cli"
below() { # FOLDER -> the folders it may include from
	local b="core backend backend/storage backend/remote backend/engine"
	case $1 in
	core) echo "core" ;;
	backend) echo "core backend" ;;
	backend/storage) echo "core backend backend/storage" ;;
	backend/remote) echo "core backend backend/storage backend/remote" ;;
	backend/engine) echo "$b" ;;
	fs) echo "$b fs" ;;
	tools) echo "$b tools" ;;
	tools/trace) echo "$b tools tools/trace" ;;
	tools/infer) echo "$b tools tools/infer" ;;
	tools/cli) echo "$b tools tools/trace tools/infer tools/cli" ;;
	esac
}
for dir in $dirs; do
	allowed=$(below "$dir")
	for f in "$dir"/*.[ch]; do
		[ -e "$f" ] || continue
		while IFS=: read -r line text; do
			h=${text#*\"}
			h=${h%%\"*}
			if [[ $h != */* ]]; then
				# a bare name: one of ours (found in some folder) must name it
				for d in $dirs; do
					if [ -e "$d/$h" ]; then
						breach "$f:$line" "includes \"$h\" without its folder; write \"$d/$h\""
						break
					fi
				done
				continue
			fi
			[ -e "$h" ] || continue # not one of ours
			target=${h%/*}
			case " $allowed " in
			*" $target "*) ;;
			*) breach "$f:$line" "includes $h, but $dir/ may include only from: $allowed" ;;
			esac
		done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f")
	done
done

# --- 2. one place for each piece of plumbing ---------------------------------
# only_in WHAT ERE FILE...: lines of C code matching ERE outside those files
only_in() {
	local what=$1 re=$2
	shift 2
	local f line text
	while IFS=: read -r f line text; do
		case " $* " in *" $f "*) continue ;; esac
		# comments: lines starting with /*, * (then a space, / or the end:
		# not `*v = ...`) or //
		[[ $text =~ ^[[:space:]]*(/\*|\*([[:space:]/]|$)|//) ]] && continue
		[[ -n ${except:-} && $text == *"$except"* ]] && continue
		breach "$f:$line" "$what (only in: $*)"
	done < <(for d in $dirs; do grep -nHE "$re" "$d"/*.[ch] 2>/dev/null; done)
}
only_in "starts a process; use spawn_start or spawn_capture (core/process.h)" \
	'(^|[^_[:alnum:]])(fork|vfork|clone|clone3|posix_spawnp?|system|popen)[[:space:]]*\(' \
	core/process.c core/sandbox.c
# exec without a fork: only where a program becomes another (gg run, a model
# handing over to the real tool)
only_in "execs; use spawn_start (core/process.h)" \
	'(^|[^_[:alnum:]])(execv|execvp|execvpe|execve|execveat|execl|execlp|execle|fexecve)[[:space:]]*\(' \
	core/process.c core/sandbox.c tools/cli/cmd_force.c tools/infer/model_ctx.c
only_in "computes a retry's backoff; use backoff_ns (core/util.h)" \
	'<<[[:space:]]*\(?[[:alnum:]_>.-]*(attempt|fail)|(^|[^[:alnum:]_])[[:alnum:]_]*(ms|backoff|delay|step)[[:space:]]*\*=[[:space:]]*2|rand\(\)[[:space:]]*%' \
	core/util.c
# fs/ops.c passes the kernel's own copy_file_range request through
only_in "copies between fds; use copy_fd (core/util.h)" \
	'(^|[^_[:alnum:]])(copy_file_range|sendfile)[[:space:]]*\(' \
	core/util.c fs/ops.c
# store.c: where `gg init DIR` makes one; storefind.c: -o store=DIR (DIR or
# DIR/.gg); node.c: the mount's own .gg entry
only_in "looks for a .gg directory; use store_discover (core/discover.h)" \
	'/\.gg"' \
	core/discover.c core/store.c fs/storefind.c fs/node.c
only_in "reads JSON; use json_parse (core/json.h)" \
	'bfnrt|0x[dD][cC]00|(memcmp|strncmp)\([^)]*"(true|false|null)"' \
	core/json.c
only_in "writes a JSON string; use json_add_string (core/json.h)" \
	'\\\\u%|\\\\udc' \
	core/json.c

# --- 3. arrays grow by ALLOC_GROW -------------------------------------------
# An array is grown only by ALLOC_GROW (core/util.h): a realloc sized by
# sizeof, or a call whose arguments go on to the next line, is a hand-grown
# array (`(n + 1) * sizeof`, `cap = cap ? 2 * cap : 16` and the like). A
# line that sizes an array on purpose says so with /* fit */: trimmed to
# its length, a table of a computed size, a growth of its own (say why).
except='/* fit */' only_in "reallocates an array; grow it with ALLOC_GROW (core/util.h), or mark a deliberate size /* fit */" \
	'(^|[^_[:alnum:]])x?realloc(array)?[[:space:]]*\((.*sizeof|[^;]*$)' \
	core/util.c core/util.h

exit $bad
