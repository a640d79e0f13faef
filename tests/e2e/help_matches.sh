#!/usr/bin/env bash
# Help that matches the code: every command gg dispatches is in `gg help`
# and in gg(1); `gg help CMD` prints exactly what `gg CMD --help` prints.
# Then, for gg, each of its commands and ggfs, --help, the man page and the
# code agree both ways (help_matches.py below says how each is read):
#  - every option --help lists (short and long) is a tag of the man page's
#    OPTIONS section and in its SYNOPSIS (or that says [OPTIONS]);
#  - every option the OPTIONS section documents is listed by --help, is
#    accepted (a probe: an unknown option is a usage error naming it) and
#    is spelled in full in the option table of the command's own function
#    (getopt takes abbreviations: the probe alone would accept --keep for
#    --keep-going); every option of that table is listed by --help;
#  - ggfs: its --help, ggfs(1) and the fuse_opt table of fs/cmdline.c agree
#    (libfuse's own options: its help text, printed by ggfs --help);
#  - a default --help gives as a number is in a sentence of the man page
#    that says "default", with the same number.
. "$(dirname "$0")/lib.sh"
setup "$@"
need python3
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
for c in $cmds; do # at once: under ASan each start takes a while, mostly waiting
	(
		gg help "$c" >"h.$c" 2>/dev/null
		echo $? >"h.$c.rc"
	) &
	(
		gg "$c" --help >"o.$c" 2>/dev/null
		echo $? >"o.$c.rc"
	) &
done
wait
for c in $cmds; do
	check "$c: in gg help" grep -q "^  $c\b" help.txt
	check "$c: in gg(1)'s COMMANDS" grep -q "^\.B[IR] \"\?$c\b" gg.1.txt
	rc1=$(cat "h.$c.rc")
	rc2=$(cat "o.$c.rc")
	check "$c: gg help $c = gg $c --help (exit 0, same text)" \
		sh -c "[ $rc1 = 0 ] && [ $rc2 = 0 ] && [ -s h.$c ] && cmp -s h.$c o.$c"
	check "$c: the help starts with its usage" grep -q "^usage: gg $c" "h.$c"
	man=$(man_of "$c")
	check "$c: has a man page ($(basename "$man"))" [ -f "$man" ]
done
gg help no-such-command 2>err.txt
check "gg help of an unknown command: exit 2" [ $? = 2 ]

# The options, both ways: one line "ok - ..." or "not ok - ..." a check.
mkdir -p home probe
python3 "$src/tests/e2e/help_matches.py" "$src" "$T" $cmds >checks.txt 2>checks.err
rc=$?
while IFS= read -r line; do
	case $line in
	"ok - "*) ok "${line#ok - }" ;;
	"not ok - "*) not_ok "${line#not ok - }" ;;
	*) echo "$line" ;;
	esac
done <checks.txt
check "help_matches.py ran to its end (exit 0; stderr: $(tail -n 3 checks.err | tr '\n' ' '))" \
	sh -c "[ $rc = 0 ] && grep -qx 'done' checks.txt"
check "help_matches.py made its checks (over 400)" [ "$(grep -cE '^(not )?ok - ' checks.txt)" -gt 400 ]
finish
