#!/usr/bin/env bash
# Lua 5.4 (Debian's source package) through upstream's own Makefiles
# (Debian's patches stay applied except 0001-build-system.patch, which is
# reverted; the header debian/rules generates, lua5.4-deb-multiarch.h, is
# written the same way) with Debian's compiler flags (dpkg-buildflags: -g
# -O2, -ffile-prefix-map=DIR=., hardening) and readline, as `make -j2
# linux-readline`: inferred and forced through a ggfs mount; the lazily
# built lua runs a real Lua script through the mount and luac compiles it;
# every object, the library and both programs equal a plain build's, debug
# info included; then tests/projects/lua.steps through the rebuild harness:
# edits of a header and a .c file, a revert, an edit, revert and edit
# again within one second, and unchanged rebuilds served from the memo,
# each step equal to a clean plain build. See tests/projects-lib.sh.
. "$(dirname "$0")/../projects-lib.sh"
proj_setup "${1:?usage: $0 BUILD_DIR}" lua5.4
need patch dpkg-buildflags
lua_prepare "$SRC" "$T/prepared" || finish
SRC=$T/prepared
# dpkg-buildflags runs in the tree: its -ffile-prefix-map names it, as in a package build.
build='make -j2 linux-readline MYCFLAGS="$(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS)" MYLDFLAGS="$(dpkg-buildflags --get LDFLAGS)"'
proj_plain "" "$build"
proj_infer "" "$build"
proj_mount
cat >"$T/script.lua" <<'LUA'
local t = {}
for i = 1, 1000 do t[i] = (i * 7919) % 1009 end
table.sort(t)
local words = {}
for w in ("lazy builds with gg infer"):gmatch("%a+") do words[#words + 1] = w:upper() end
local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
local ok, err = pcall(function() return ("x"):rep(3) .. nil end)
local co = coroutine.wrap(function(a) local b = coroutine.yield(a + 1); return b * 2 end)
print(_VERSION, t[1], t[1000], table.concat(words, "-"), fib(20), string.format("%.3f", math.pi),
	ok, (err:gsub("^.*: ", "")), co(1), co(21), ("%q"):format("a\tb"), #string.pack("i4d", 1, 2))
LUA
want=$("$T/plain/src/lua" "$T/script.lua" 2>&1)
t0=$(now_ms)
out=$(proj_in_mount "src/lua '$T/script.lua'" 2>&1)
check "lua5.4: the lazily built lua runs a Lua script through the mount ($(($(now_ms) - t0)) ms incl. forcing): $out" \
	[ -n "$want" -a "$out" = "$want" ]
proj_in_mount "src/luac -o '$T/script.luac' '$T/script.lua' && src/lua '$T/script.luac'" >"$T/luac.out" 2>&1
check "lua5.4: the lazily built luac compiles it, and lua runs the bytecode" \
	bash -c '[ "$(cat "$1")" = "$2" ]' _ "$T/luac.out" "$want"
proj_still_lazy
proj_compare
proj_umount_count
proj_rebuild 'src/liblua.a src/lua src/luac' "$(dirname "$0")/lua.steps" bash -c "$build"
finish
