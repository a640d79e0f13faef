#!/usr/bin/env bash
# gg infer with the generic model: a tool described in GG_INFER_GENERIC is
# turned into thunks during a real make run, like the compiler models;
# tools without a spec run for real.
. "$(dirname "$0")/lib.sh"
setup "$@"
need make sort tr
cd "$T"
mkdir proj && cd proj
printf 'pear\napple\nfig\n' > fruit.txt
cat > Makefile <<'MK'
all: sorted.txt upper.txt
sorted.txt: fruit.txt
	sort -o sorted.txt fruit.txt
upper.txt: fruit.txt
	tr a-z A-Z < fruit.txt > upper.txt
MK
gg init . >/dev/null
export GG_INFER_GENERIC='sort -o,--output=@outfile -k,-t=@ @infile...'
gg infer make >make.out 2>&1
check "gg infer make succeeds with a generic tool" [ $? -eq 0 ] || cat make.out
check "the generic tool's output is a placeholder" grep -q ggfs-placeholder sorted.txt
check "a tool without a spec ran for real" [ "$(head -n 1 upper.txt)" = PEAR ]
check "the log names the generic model" grep -q 'generic model -> T' .gg/infer.log
gg force sorted.txt
check "forcing it gives the sorted file" [ "$(cat sorted.txt)" = "$(printf 'apple\nfig\npear')" ]
rm -f sorted.txt
gg infer sort -r -o sorted.txt fruit.txt >r.out 2>&1
check "a flag the spec does not name is kept in the thunk's command" grep -q ggfs-placeholder sorted.txt
gg force sorted.txt
check "forcing it gives the reversed order" [ "$(head -n 1 sorted.txt)" = pear ]
GG_INFER_GENERIC='sort -o=@bogus' gg infer true >bad.out 2>&1
check "a bad spec in GG_INFER_GENERIC is reported" grep -q 'GG_INFER_GENERIC' bad.out
finish
