#!/usr/bin/env bash
# Help that matches the code: every command gg dispatches is in `gg help`
# and in gg(1); `gg help CMD` prints exactly what `gg CMD --help` prints;
# every long option a command's help lists is documented in its man page.
. "$(dirname "$0")/lib.sh"
setup "$@"
src=$(cd "$(dirname "$0")/../.." && pwd)
cd "$T"
cmds=$(grep -o '{"[a-z-]*", cmd_[a-z_]*}' "$src/tools/cli/gg.c" | cut -d'"' -f2)
check "the dispatch table lists commands" [ "$(echo "$cmds" | wc -w)" -ge 15 ]
gg help >help.txt
sed 's/\\-/-/g' "$src/man/gg.1" >gg.1.txt
man_of() { # COMMAND: its man page source
	case $1 in
	push | pull | remote-has | remote-migrate) echo "$src/man/gg-storage.7" ;;
	*) echo "$src/man/gg-$1.1" ;;
	esac
}
for c in $cmds; do
	check "$c: in gg help" grep -q "^  $c\b" help.txt
	check "$c: in gg(1)'s COMMANDS" grep -q "^\.B[IR] \"\?$c\b" gg.1.txt
	gg help "$c" >"h.$c" 2>/dev/null
	rc1=$?
	gg "$c" --help >"o.$c" 2>/dev/null
	rc2=$?
	check "$c: gg help $c = gg $c --help (exit 0, same text)" \
		sh -c "[ $rc1 = 0 ] && [ $rc2 = 0 ] && [ -s h.$c ] && cmp -s h.$c o.$c"
	check "$c: the help starts with its usage" grep -q "^usage: gg $c" "h.$c"
	man=$(man_of "$c")
	check "$c: has a man page ($(basename "$man"))" [ -f "$man" ]
	sed 's/\\-/-/g' "$man" >man.txt 2>/dev/null
	for opt in $(grep -o -- '--[a-z][a-z0-9-]*' "h.$c" | sort -u); do
		check "$c: $opt is documented in $(basename "$man")" grep -q -- "$opt\b" man.txt
	done
done
gg help no-such-command 2>err.txt
check "gg help of an unknown command: exit 2" [ $? = 2 ]
finish
