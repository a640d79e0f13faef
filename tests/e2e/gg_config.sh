#!/usr/bin/env bash
# The configuration file ($GG_CONFIG, else $XDG_CONFIG_HOME/gg/config, else
# ~/.config/gg/config) gives
# defaults for the environment; the environment wins; bad lines are named.
. "$(dirname "$0")/lib.sh"
setup "$@"
need sort
cd "$T"
gg init . >/dev/null
printf 'b\na\n' > in.txt
name=$(gg thunk -i in.txt -o out.txt -- sort -o out.txt in.txt)
cat > conf <<'C'
# defaults for gg and ggfs
GG_ENGINE = nonsense-engine
C
GG_CONFIG=$T/conf gg force "$name#out.txt" >/dev/null 2>c1.err
check "a variable from the configuration file is used" grep -q "unknown engine 'nonsense-engine'" c1.err
check "the environment wins over the file" bash -c "GG_CONFIG='$T/conf' GG_ENGINE=local gg force '$name#out.txt' >/dev/null"
mkdir -p home/.config/gg && cp conf home/.config/gg/config
HOME=$T/home gg force "$name#out.txt" >/dev/null 2>c2.err
check "~/.config/gg/config is read when GG_CONFIG is not set" grep -q "unknown engine 'nonsense-engine'" c2.err
printf 'GG_STORAGE = file:///x\nthis line is wrong\n' > bad.conf
GG_CONFIG=$T/bad.conf gg force "$name#out.txt" >/dev/null 2>c3.err
check "a malformed line is named with its file and line" grep -q "bad.conf:2: expected NAME = VALUE" c3.err
GG_CONFIG=$T/missing.conf gg hash in.txt >/dev/null 2>c4.err
check "an explicit GG_CONFIG that does not exist is an error" grep -q "configuration: cannot open .*missing.conf" c4.err
check "no configuration file at all is fine" bash -c "HOME='$T/nohome' gg hash in.txt >/dev/null"
check "an empty GG_CONFIG is as if unset (no file at all is fine)" \
	bash -c "GG_CONFIG= HOME='$T/nohome' gg hash in.txt >/dev/null"
mkdir -p xdg/gg && cp conf xdg/gg/config
XDG_CONFIG_HOME=$T/xdg HOME=$T/nohome gg force "$name#out.txt" >/dev/null 2>c5.err
check "\$XDG_CONFIG_HOME/gg/config is read before ~/.config/gg/config" \
	grep -q "unknown engine 'nonsense-engine'" c5.err
finish
