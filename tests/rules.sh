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

exit $bad
