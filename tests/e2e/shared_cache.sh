#!/usr/bin/env bash
# The shared action cache on a file:// store (no server needed; the S3 and
# Redis back-ends have their own tests). Clients with their own HOME, tree
# and store, at other paths, build the same small C project:
# - A forces it with --remote-cache readwrite (every thunk runs and is
#   published); B forces it with --remote-cache read: 0 thunks executed, the
#   program is A's byte for byte; read mode publishes nothing; the mode and
#   the storage also come from the configuration file.
# - Entries are checked, never trusted: an entry whose output is missing or
#   damaged remotely, a malformed one, another thunk's entry under this
#   thunk's key are each ignored with a notice naming the cause, the thunk
#   runs, and (read-write) its result repairs the entry. So is what cannot
#   be an entry (larger than 1 MiB, a FIFO), without switching the cache
#   off for the rest of the run.
# - Signed entries: with a team key (a file, mode 600) a reader accepts only
#   entries with a valid HMAC; a wrong key, an altered entry, an unsigned
#   entry are refused and named; a key file others can read is refused, and
#   one that is not a regular file (a FIFO is not waited on).
# - Local gg gc forgets the .gg/remote records no memo entry names (older
#   than an hour), keeping the ones memo entries name.
. "$(dirname "$0")/lib.sh"
setup "$@"
need cc make sha256sum
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../servers/c_project.sh"
cd "$T"
R=file://$T/remote
mkdir -p homeA homeB homeC

client() { # NAME: a fresh tree, HOME and store with the project's thunks
	rm -rf "$T/$1" "$T/home.$1" && mkdir -p "$T/home.$1" && c_project "$T/$1"
}
force() { # NAME GG-FORCE-OPTION...: forces primes in NAME's tree; prints stderr
	local n=$1
	shift
	(cd "$T/$n" && HOME="$T/home.$n" gg force --summary --no-progress "$@" primes 2>&1 >/dev/null)
}
thunk_of() { grep -o 'T[0-9a-f]\{76\}' "$1" | head -1; } # PLACEHOLDER

client a
client b
top=$(thunk_of a/primes)
check "gg infer made placeholders ($top)" test -n "$top"

out=$(force a --storage "$R" --remote-cache readwrite)
check "A builds: every thunk runs: $out" has_text "$out" "executed [1-9][0-9]*, from memo 0, failed 0 (0 of them from the shared cache)"
n_exec=$(sed -n 's/.*executed \([0-9]*\),.*/\1/p' <<<"$out")
check "A published an entry for each thunk ($(ls remote/memo | wc -l) entries, $n_exec thunks)" test "$(ls remote/memo | wc -l)" -ge "$n_exec"
check "... and A's program works" has_text "$(a/primes 1000)" "168 primes below 1000"

out=$(force b --storage "$R" --remote-cache read --trace "$T/b.trace")
check "B, another path and HOME, executes 0 thunks: $out" has_text "$out" "executed 0, from memo 1, failed 0 (1 of them from the shared cache)"
out=$(gg report b.trace 2>&1)
check "... its trace says so: no thunk ran, 1 result from the shared cache: $out" \
	bash -c "grep -q '^1 result from the shared cache\$' <<<'$out' && grep -q '^no thunk ran' <<<'$out' && grep -q ': 0 thunk runs, 0 events' <<<'$out'"
check "... its program is A's byte for byte" cmp a/primes b/primes
out=$(cd b && HOME="$T/home.b" gg force --summary --no-progress --remote-cache off "$top" 2>&1 >/dev/null)
check "... and now in B's own memo: a second force asks nobody: $out" has_text "$out" "executed 0, from memo 1, failed 0\$"

# read mode publishes nothing
sed -i 's/primes below/primes under/' b/main.c
(cd b && gg infer make >/dev/null 2>&1)
before=$(ls remote/memo | wc -l)
out=$(force b --storage "$R" --remote-cache read)
check "B's changed program runs its new thunks: $out" has_text "$out" "executed [1-9]"
check "... and read mode published none of them" test "$(ls remote/memo | wc -l)" -eq "$before"

# the configuration file
client c
printf 'GG_STORAGE = %s\nGG_REMOTE_CACHE = read\n' "$R" >gg.conf
out=$(cd c && GG_CONFIG="$T/gg.conf" HOME="$T/home.c" gg force --summary --no-progress primes 2>&1)
check "GG_REMOTE_CACHE and GG_STORAGE from the configuration file: $out" has_text "$out" "executed 0, from memo 1, failed 0 (1 of them"

out=$(force c --storage "$R" --remote-cache sometimes)
check "a bad mode is refused: $out" has_text "$out" "remote cache mode 'sometimes': expected off, read or readwrite"
out=$(cd c && env -u GG_STORAGE gg force --remote-cache read "$top" 2>&1)
check "a mode without a storage is refused: $out" has_text "$out" "needs a storage: --storage URI or GG_STORAGE"

# ---- entries are checked ----
bin=$(gg hash a/primes)
obj=remote/${bin:1:2}/$bin
entry=remote/memo/$top
# the entries naming the program: the link thunk's and its reduced thunk's
entries=$(grep -l "$bin" remote/memo/*)
check "the program's object and entries are in the remote store ($(echo $entries | wc -w))" test -f "$obj" -a -f "$entry" -a "$(echo $entries | wc -w)" = 2

rm -f "$obj"
client d
out=$(force d --storage "$R" --remote-cache readwrite)
echo "# missing output: $out"
check "an entry whose output is gone remotely is ignored, naming it" has_text "$out" "entry of $top at $R is ignored.*it names $bin, which the store lacks"
check "... the thunk runs instead (its inputs from the cache)" has_text "$out" "executed 1, from memo [1-9]"
check "... with the right result" cmp a/primes d/primes
check "... and its result repairs the remote store" cmp a/primes "$obj"

chmod u+w "$obj" && head -c "$(stat -c %s "$obj")" /dev/zero >"$obj"
client e
out=$(force e --storage "$R" --remote-cache readwrite)
echo "# damaged output: $out"
check "an output damaged remotely is found corrupt as it is fetched, and removed" has_text "$out" "shared cache: object $bin from $R is corrupt.*removed from it, and forgotten"
check "... then its entry is ignored, naming it" has_text "$out" "entry of $top at $R is ignored.*it names $bin, which the store lacks"
check "... the thunk runs instead" has_text "$out" "executed 1,"
check "... with the right result" cmp a/primes e/primes
check "... and the remote copy is repaired" cmp a/primes "$obj"

good=$(cat "$entry")
for e in $entries; do printf 'ggcache 1 %s\nnot a memo\n' "$(basename "$e")" >"$e"; done
client f
out=$(force f --storage "$R" --remote-cache readwrite)
check "a malformed entry is ignored, saying so: $out" has_text "$out" "entry of $top at $R is ignored: malformed memo entry"
check "... the thunk runs, and its result is right" bash -c "grep -q 'executed 1,' <<<'$out' && cmp a/primes f/primes"
check "... and the entry is repaired" test "$(cat "$entry")" = "$good"

# what a key holds may not be an entry at all (anyone who can write one key
# can put it there): that entry's fault, not the store's; a miss, and the
# rest of the cache is still asked
for e in $entries; do head -c $((1024 * 1024 + 1)) /dev/zero >"$e"; done
client big
out=$(force big --storage "$R" --remote-cache readwrite)
check "an entry larger than 1 MiB is ignored, saying so: $out" has_text "$out" "entry of $top at $R is ignored: it is larger than 1048576 bytes"
check "... the cache is still used for the rest: only that thunk runs" has_text "$out" "executed 1, from memo [1-9]"
check "... with the right result" cmp a/primes big/primes
check "... and the entry is repaired" test "$(cat "$entry")" = "$good"
for e in $entries; do rm -f "$e" && mkfifo "$e"; done
client fifo
out=$(cd fifo && HOME="$T/home.fifo" timeout -k 10 120 gg force --summary --no-progress --storage "$R" --remote-cache readwrite primes 2>&1 >/dev/null)
check "a FIFO under the key does not hang the reader; it is ignored: $out" has_text "$out" "entry of $top at $R is ignored: it is not a regular file"
check "... only that thunk runs, with the right result" bash -c "grep -q 'executed 1, from memo [1-9]' <<<'$out' && cmp a/primes fifo/primes"
check "... and the entry is repaired" test -f "$entry" -a "$(timeout 10 cat "$entry")" = "$good"
for e in $entries; do [ ! -p "$e" ] || rm -f "$e"; done # not repaired: nothing more may hang

# lazy remote outputs: a force by thunk name leaves the value remote; a
# read fetches it; a value the store has damaged meanwhile is found as it
# is fetched, and gg cat computes it anew
client lazy
out=$(cd lazy && HOME="$T/home.lazy" gg force --storage "$R" --remote-cache read "$top" 2>&1)
check "a force by thunk name prints the value: $out" test "$(tail -1 <<<"$out")" = "$bin"
check "... and leaves it remote" test ! -e "lazy/.gg/objects/${bin:1:2}/$bin" -a -e "lazy/.gg/remote/${bin:1:2}/$bin"
chmod u+w "$obj" && head -c "$(stat -c %s "$obj")" /dev/zero >"$obj"
(cd lazy && HOME="$T/home.lazy" GG_STORAGE=$R GG_REMOTE_CACHE=readwrite gg cat "$top" >"$T/lazy.out" 2>"$T/lazy.err")
echo "# gg cat of a value damaged remotely: $(cat lazy.err)"
check "gg cat of a value damaged remotely says so" grep -q "object $bin from $R is corrupt.*removed from it, and forgotten" lazy.err
check "... and computes it anew: A's program byte for byte" cmp a/primes lazy.out
check "... repairing the remote copy" cmp a/primes "$obj"

# local gg gc forgets the records of remote values (.gg/remote) that no
# memo entry names, unless made within the last hour (a force records its
# outputs just before it writes the entry naming them); a record a memo
# entry names stays, and its value is still fetched
client rec
out=$(cd rec && HOME="$T/home.rec" gg force --storage "$R" --remote-cache read "$top" 2>&1)
check "a force by thunk name records the value as remote" test -e "rec/.gg/remote/${bin:1:2}/$bin"
echo "no memo entry names this" >orphan1 && echo "nor this" >orphan2
o1=$(gg hash orphan1) o2=$(gg hash orphan2)
mkdir -p "rec/.gg/remote/${o1:1:2}" "rec/.gg/remote/${o2:1:2}"
touch "rec/.gg/remote/${o1:1:2}/$o1" "rec/.gg/remote/${o2:1:2}/$o2"
touch -d '2 hours ago' "rec/.gg/remote/${o1:1:2}/$o1" "rec/.gg/remote/${bin:1:2}/$bin"
out=$(cd rec && gg gc --max-size 1G 2>&1)
check "gg gc forgets one record: $out" has_text "$out" "; forgot 1 remote records$"
check "... the one no memo entry names, two hours old" test ! -e "rec/.gg/remote/${o1:1:2}/$o1"
check "... keeping a record made within the hour" test -e "rec/.gg/remote/${o2:1:2}/$o2"
check "... and the two-hour-old record a memo entry names" test -e "rec/.gg/remote/${bin:1:2}/$bin"
(cd rec && HOME="$T/home.rec" GG_STORAGE=$R GG_REMOTE_CACHE=read gg cat "$top" >"$T/rec.out" 2>"$T/rec.err")
check "... whose value is still fetched when read ($(cat rec.err))" cmp a/primes rec.out

other=$(grep -L "$bin" remote/memo/* | head -1)
for e in $entries; do cp "$other" "$e"; done
other=$(basename "$other")
client g
out=$(force g --storage "$R" --remote-cache read)
check "another thunk's entry under this thunk's key is refused: $out" has_text "$out" "it is the entry of $other, not of this thunk"
check "... the thunk runs, and its result is right" bash -c "grep -q 'executed 1,' <<<'$out' && cmp a/primes g/primes"

# ---- signed entries ----
R2=file://$T/remote2
head -c 32 /dev/urandom | base64 >key1 && chmod 600 key1
head -c 32 /dev/urandom | base64 >key2 && chmod 600 key2
client h
out=$(GG_REMOTE_CACHE_KEY=$T/key1 force h --storage "$R2" --remote-cache readwrite)
check "a writer with the team key publishes: $out" has_text "$out" "executed [1-9]"
check "... signed entries (an hmac line)" grep -q '^hmac [0-9a-f]\{64\}$' "remote2/memo/$top"
client i
out=$(GG_REMOTE_CACHE_KEY=$T/key1 force i --storage "$R2" --remote-cache read)
check "a reader with the same key uses them: $out" has_text "$out" "executed 0, from memo 1"
client j
out=$(GG_REMOTE_CACHE_KEY=$T/key2 force j --storage "$R2" --remote-cache read)
check "a reader with another key refuses them: $out" has_text "$out" "entry of $top at $R2 is ignored: its signature does not match the team key"
check "... and runs the thunks itself" bash -c "grep -q 'executed [1-9]' <<<'$out' && cmp a/primes j/primes"
client k
out=$(GG_REMOTE_CACHE_KEY=$T/key1 force k --storage "$R" --remote-cache read)
check "a reader with a key refuses unsigned entries: $out" has_text "$out" "entry of T[0-9a-f]* at $R is ignored: not signed, and a team key is configured"
for e in $(grep -l "$bin" remote2/memo/*); do sed -i 's/^out x /out - /' "$e"; done
client l
out=$(GG_REMOTE_CACHE_KEY=$T/key1 force l --storage "$R2" --remote-cache read)
check "an altered signed entry is refused: $out" has_text "$out" "entry of $top at $R2 is ignored: its signature does not match"
check "... and the thunk runs, with the right result" bash -c "grep -q 'executed 1,' <<<'$out' && cmp a/primes l/primes"
chmod 644 key1
client m
out=$(GG_REMOTE_CACHE_KEY=$T/key1 force m --storage "$R2" --remote-cache read)
check "a key file others can read is refused: $out" has_text "$out" "the shared cache key $T/key1 can be read by others (mode 644); chmod 600 it"
echo short >key3 && chmod 600 key3
out=$(GG_REMOTE_CACHE_KEY=$T/key3 force m --storage "$R2" --remote-cache read)
check "a short key is refused: $out" has_text "$out" "shorter than 16 bytes"
# A key that is not a regular file is looked at, not opened: a FIFO with no
# writer must not hold gg in open (timeout: a hang fails, it does not stick).
mkfifo keyfifo && mkdir keydir
for k in keyfifo keydir; do
	st=0
	(cd m && HOME="$T/home.m" GG_REMOTE_CACHE_KEY=$T/$k timeout 20 gg force --no-progress \
		--storage "$R2" --remote-cache read primes) >/dev/null 2>"$k.err" || st=$?
	check "a $k as the key is refused at once as a wrong setting (exit 2: $st)" [ "$st" = 2 ]
	check "... naming it: $(cat "$k.err")" \
		grep -qF "the shared cache key: $T/$k is not a regular file" "$k.err"
done
finish
