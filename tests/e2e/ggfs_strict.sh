#!/usr/bin/env bash
# Strict placeholders: through the mount a file is forced only if it is a
# well-formed placeholder naming something the store has; this repository's
# own corpus of placeholder files (valid ones among them) reads as its raw
# bytes, byte for byte. Any placeholder's raw bytes can be read through the
# mount as the attribute user.gg.placeholder.
. "$(dirname "$0")/lib.sh"
setup "$@"
need fusermount3 getfattr
corpus=$(cd "$(dirname "$0")/../fuzz/corpus/placeholder" && pwd)
cd "$T"
mkdir -p src/corpus
(cd src && gg init >/dev/null && gg thunk -o out --placeholder real -- sh -c 'echo forced > out' >/dev/null)
cp "$corpus"/* src/corpus/
check "the corpus has valid placeholders" sh -c "grep -l '^ggfs-placeholder 1 T' src/corpus/* | grep -q ."
ggfs_mount src mnt ggfs.log
same=0 differ=()
for f in src/corpus/*; do
	b=$(basename "$f")
	if cmp -s "$f" "mnt/corpus/$b"; then same=$((same + 1)); else differ+=("$b"); fi
done
check "every corpus file reads raw through the mount ($same same; differ: ${differ[*]:-none})" [ ${#differ[@]} -eq 0 ]
check "... and git-style tools see the same sizes" sh -c "cd src/corpus && ls -l | awk '{print \$5, \$9}' >../../a; cd ../../mnt/corpus && ls -l | awk '{print \$5, \$9}' >../../b; cmp -s ../../a ../../b"
check "a placeholder of this store is forced" [ "$(cat mnt/real)" = forced ]
check "the log says which files begin like placeholders and are served as their bytes" \
	grep -q "mnt/corpus/.*: a placeholder of T.*, which the store $T/src/.gg lacks: served as its bytes" ggfs.log
check "... and which are malformed" \
	grep -q "mnt/corpus/.*: begins like a placeholder but is not one (malformed placeholder: .*): served as its bytes" ggfs.log
check "... each file once" sh -c "! grep 'served as its bytes' ggfs.log | sed 's/^ggfs: //; s/: .*//' | sort | uniq -d | grep -q ."
check "... never a real placeholder" sh -c "! grep -q 'mnt/real:' ggfs.log"
getfattr --only-values -n user.gg.placeholder mnt/real >raw 2>/dev/null
check "user.gg.placeholder gives its raw bytes" cmp -s raw src/real
finish
