#!/usr/bin/env bash
# The generic model, `gg model-generic SPEC -- COMMAND`: a spec saying which
# arguments are input and output files turns a command into a thunk with
# placeholders at every output. Checked: the same thunk as `gg thunk` for the
# same command; option forms (-o F, -oF, --output=F); inputs outside the
# directory, placeholders as inputs (dependencies) and directories; several
# outputs; extra inputs and environment; ffmpeg with options the spec does
# not name; and clear errors for what a spec does not describe.
. "$(dirname "$0")/lib.sh"
setup "$@"
need sort sh cmp
cd "$T"
mkdir -p w/sub other
cd w
gg init . >/dev/null
printf 'pear\napple\nfig\n' >in.txt
printf 'kiwi\nbanana\n' >"$T/other/far.txt"
spec='sort -o,--output=@outfile -k,-t,-S,-T=@ @infile...'

a=$(gg model-generic --no-placeholders "$spec" -- sort -o out.txt in.txt)
b=$(gg thunk -i in.txt -o out.txt -- sort -o out.txt in.txt)
check "the same thunk as gg thunk for the same command" [ -n "$a" -a "$a" = "$b" ]

gg model-generic "$spec" -- sort -k 1 -o sub/sorted.txt in.txt "$T/other/far.txt" >name.txt
check "prints the thunk's name" grep -Eq '^T[0-9a-f]{64}[0-9a-f]{12}$' name.txt
check "writes a placeholder at the output" sh -c "head -n1 sub/sorted.txt | grep -q gg-run"
check "a file outside the directory goes under .gg-sys/root" \
	sh -c "gg describe '$(cat name.txt)' | grep -q ' .gg-sys/root$T/other/far.txt'"
gg force sub/sorted.txt
check "the forced output is the command's output" sh -c "sort -k 1 in.txt '$T/other/far.txt' | cmp - sub/sorted.txt"

gg model-generic "$spec" -- sort -osub/attached.txt in.txt >/dev/null &&
	gg model-generic "$spec" -- sort --output=sub/long.txt -- in.txt >/dev/null
gg force sub/attached.txt sub/long.txt
check "-oFILE and --output=FILE are outputs too" sh -c "sort in.txt | cmp - sub/attached.txt && sort in.txt | cmp - sub/long.txt"

# A placeholder as an input is a dependency; a directory adds its files.
gg model-generic "$spec" -- sort -o rev.txt in.txt >/dev/null
mkdir -p d && printf 'b\n' >d/x && printf 'a\n' >d/y
two='sh -c=@ @ @infile @infile @outfile @outfile'
gg model-generic "$two" -- sh -c 'read -r l <"$1"; echo "$l" >"$3"; for f in "$2"/*; do read -r l <"$f"; echo "$l"; done >"$4"' \
	sh rev.txt d first.txt second.txt >/dev/null
check "several @outfile arguments: a placeholder at each" \
	sh -c "head -n1 first.txt | grep -q gg-run && head -n1 second.txt | grep -q gg-run"
gg force second.txt 2>f2.err
check "the second output forces (a directory input)" sh -c "printf 'b\na\n' | cmp - second.txt"
gg force first.txt
check "the first forces, after rev.txt's thunk (a placeholder input)" grep -qx apple first.txt

# Extra inputs and the environment.
printf 'extra\n' >x.txt
gg model-generic -i data/x.txt=x.txt -e GREETING=hi 'sh -c=@ @ @outfile' -- \
	sh -c 'read -r l <data/x.txt; echo "$GREETING $l" >"$1"' sh greet.txt >/dev/null
gg force greet.txt
check "-i adds an input and -e sets the environment" grep -qx 'hi extra' greet.txt

# ffmpeg, whose options the spec need not list (-*=@: each takes a value).
need ffmpeg ffprobe
{
	ffmpeg -nostdin -hide_banner -loglevel error -f lavfi -i testsrc=duration=1:size=160x120:rate=10 -c:v ffv1 clip.nut
	gg model-generic 'ffmpeg -y,-nostdin -i=@infile -*=@ @outfile' -- \
		ffmpeg -nostdin -y -i clip.nut -c:v libx264 -preset ultrafast -loglevel error clip.mp4 >/dev/null
	gg force clip.mp4
	check "ffmpeg through the generic model gives a 10-frame H.264 file" \
		sh -c "ffprobe -v error -count_frames -show_entries stream=codec_name,nb_read_frames -of csv=p=0 clip.mp4 | grep -qx 'h264,10'"
}

# What a spec does not describe is an error, naming the cause.
err() { # EXPECTED SPEC -- COMMAND...
	local want=$1
	shift
	gg model-generic "$@" >/dev/null 2>e.txt && return 1
	grep -qF -e "$want" e.txt || { cat e.txt; return 1; }
}
check "more arguments than the spec describes" err 'more arguments than the spec describes' 'sort -o=@outfile @infile' -- sort -o o in.txt in.txt
check "an unknown spec word" err "'@bad' is not @infile" 'sort -o=@bad' -- sort -o x
check "a command with no output" err 'no @outfile argument' 'sort @infile...' -- sort in.txt
check "stdin as a file" err 'standard input and output cannot be modelled' 'sort -o=@outfile @infile' -- sort -o o -
check "a command the spec does not describe" err 'the spec describes sort' 'sort -o=@outfile @infile' -- ls -o o in.txt
check "a missing input names the argument" err "@infile 'nope.txt'" 'sort -o=@outfile @infile' -- sort -o o nope.txt
check "an option missing its argument" err '-o: missing its argument' 'sort -o=@outfile @infile' -- sort in.txt -o
check "a flag given a value" err 'takes no argument' 'sort --stable -o=@outfile @infile' -- sort --stable=1 -o o in.txt
finish
