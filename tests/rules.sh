#!/usr/bin/env bash
# The tree's structural rules, checked by `make check` (and by
# tests/e2e/rules.sh, which also shows that each rule catches a breach):
#
#  1. Layers point one way: core <- backend <- fs, tools. A file in core/
#     includes only core headers; backend/ only core and backend; fs/ and
#     tools/ anything below them, but not each other. A quoted include is
#     resolved as the compiler does (-Icore -Ibackend -Ifs): the including
#     file's own folder first, then core, backend, fs.
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
rank() { # FOLDER -> which folders it may include
	case $1 in
	core) echo "core" ;;
	backend) echo "core backend" ;;
	fs) echo "core backend fs" ;;
	tools) echo "core backend tools" ;;
	esac
}
for dir in core backend fs tools; do
	allowed=$(rank $dir)
	for f in "$dir"/*.[ch]; do
		[ -e "$f" ] || continue
		while IFS=: read -r line text; do
			h=${text#*\"}
			h=${h%%\"*}
			if [[ $h == */* ]]; then
				target=${h%%/*}
				[ -e "$h" ] || continue
			elif [ -e "$dir/$h" ]; then
				target=$dir
			else
				target=
				for d in core backend fs; do
					if [ -e "$d/$h" ]; then
						target=$d
						break
					fi
				done
				[ -n "$target" ] || continue # a system or generated header
			fi
			case " $allowed " in
			*" $target "*) ;;
			*) breach "$f:$line" "includes $target/${h##*/}, but $dir/ may include only: $allowed" ;;
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
		# comments: lines starting with /*, * or //
		[[ $text =~ ^[[:space:]]*(/\*|\*|//) ]] && continue
		breach "$f:$line" "$what (only in: $*)"
	done < <(grep -nE "$re" core/*.[ch] backend/*.[ch] fs/*.[ch] tools/*.[ch] 2>/dev/null)
}
only_in "starts a process; use spawn_start or spawn_capture (core/process.h)" \
	'(^|[^_[:alnum:]])(fork|vfork|clone|clone3|posix_spawnp?|system|popen)[[:space:]]*\(' \
	core/process.c core/sandbox.c
# exec without a fork: only where a program becomes another (gg run, a model
# handing over to the real tool)
only_in "execs; use spawn_start (core/process.h)" \
	'(^|[^_[:alnum:]])(execv|execvp|execvpe|execve|execveat|execl|execlp|execle|fexecve)[[:space:]]*\(' \
	core/process.c core/sandbox.c tools/cmd_force.c tools/model_ctx.c
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

exit $bad
