#!/usr/bin/env bash
# Stores and users: a store is private to its user (0700), so a second,
# unprivileged user (created by this test and removed at its end) cannot
# read its objects, not even those of a 0644 file; store discovery refuses
# another user's .gg and stops at another user's directory, each saying so,
# and GG_SAFE_DIRECTORY lets root work in another user's tree; a store
# directory someone else made in advance is refused; gg init --shared makes a
# group store (02770).
. "$(dirname "$0")/lib.sh"
setup "$@"
need gg useradd userdel setpriv setfattr
[ "$(id -u)" = 0 ] || { not_ok "this test must run as root (it creates a user)"; finish; }
user="ggt$$"
useradd -M -N -s /bin/false "$user" || { not_ok "useradd $user"; finish; }
at_exit "userdel $user"
uid=$(id -u "$user") gid=$(id -g "$user")
chmod 0755 "$T"
mkdir "$T/bin" && cp "$BUILD/bin/gg" "$T/bin/" && chmod 0755 "$T/bin/gg"
as_user() { # COMMAND...: as the second user, in the current directory
	setpriv --reuid="$uid" --regid="$gid" --clear-groups -- \
		env -i PATH="$T/bin:/usr/bin:/bin" HOME="$T/shared" "$@"
}
mkdir "$T/shared" && chmod 1777 "$T/shared"

# ---- a private store ----
mkdir "$T/mine" && cd "$T/mine"
gg init >/dev/null
echo "not yours" >open.txt && chmod 0644 open.txt
ref=$(gg thunk -i open.txt -o o -- /bin/true)
name=$(gg hash open.txt)
obj=$(ls .gg/objects/*/"$name")
check "a new store is private to its user (0700)" [ "$(stat -c %a .gg)" = 700 ]
as_user cat "$obj" >out 2>err
check "another user cannot read its objects (even of a 0644 file)" grep -q "Permission denied" err
check "... and got no bytes" [ ! -s out ]

# ---- a store's user.gg.store is followed only on a mount ----
# (a ggfs mount's .gg names its store so; anyone who may write an ordinary
# .gg could set the attribute to lead gg into another store)
mkdir "$T/shared/evil" && chown "$uid:$gid" "$T/shared/evil"
as_user sh -c "cd '$T/shared/evil' && gg init . >/dev/null"
setfattr -n user.gg.store -v "$T/shared/evil/.gg" .gg
gg thunk -o o2 -- /bin/true >out 2>err
check "an ordinary .gg's user.gg.store is ignored: gg uses that .gg" \
	sh -c "[ -s out ] && ! grep -q refusing err && [ -z \"\$(find '$T/shared/evil/.gg/objects' -type f)\" ]" || cat err
setfattr -x user.gg.store .gg

# ---- discovery refuses another user's .gg ----
mkdir "$T/shared/u" && chown "$uid:$gid" "$T/shared/u"
gg init "$T/shared/u" >/dev/null # root plants a store in the user's directory
mkdir "$T/shared/u/sub" && chown "$uid:$gid" "$T/shared/u/sub"
cd "$T/shared/u/sub"
as_user gg thunk -o o -- /bin/true >out 2>err
cat err
check "discovery refuses another user's .gg, saying whose it is" \
	grep -q "refusing the store $T/shared/u/.gg: it is owned by uid 0, not you (uid $uid)" err
check "... and makes no store of its own there instead" [ ! -e .gg ]

# ---- and stops at another user's directory ----
mkdir "$T/shared/v" && chown "$uid:$gid" "$T/shared/v"
gg init "$T" >/dev/null 2>&1 # a store above, in root's directory
cd "$T/shared/v"
as_user gg gc --max-size 1G >out 2>err
cat err
check "discovery stops at another user's directory and says so" \
	grep -q "the search stopped at $T/shared, owned by uid 0, not you (uid $uid)" err
as_user gg thunk -o o --placeholder p -- /bin/true >out 2>err
check "the user's own new store is made here, private" [ "$(stat -c '%u %a' .gg)" = "$uid 700" ]
# a placeholder runs from the store above it: another user's is refused
# even when the user has a store of their own here to fall back on
GG_DIR="$T/shared/u/.gg" gg thunk -o o --placeholder "$T/shared/u/p" -- /bin/true >/dev/null
chmod 0644 "$T/shared/u/p"
as_user gg run "$T/shared/u/p" >out 2>err
cat err
check "gg run refuses a placeholder whose store is another user's, naming both" \
	grep -q "$T/shared/u/p: refusing the store $T/shared/u/.gg: it is owned by uid 0" err

# ---- root in the user's tree ----
mkdir w && chown "$uid:$gid" w # (still in v: the user's store)
cd w
gg gc --max-size 1G >out 2>err
check "root stops at the user's directory too" grep -q "the search stopped at $T/shared/v/w, owned by uid $uid" err
GG_SAFE_DIRECTORY="$T/shared/v/w:$T/shared/v" gg describe ../p >out 2>err
check "GG_SAFE_DIRECTORY lets root use it" grep -q "thunk" out || cat err

# ---- a store directory made in advance by someone else ----
mkdir "$T/shared/pre" && chown "$uid:$gid" "$T/shared/pre"
cd "$T/mine"
GG_DIR="$T/shared/pre" gg thunk -o o -- /bin/true >out 2>err
check "a store directory made in advance by another user is refused" \
	grep -q "$T/shared/pre is owned by uid $uid, not you (uid 0): someone else may have made it in advance" err

# ---- a shared store ----
gg init --shared "$T/group" >/dev/null
check "gg init --shared makes a group store (2770)" [ "$(stat -c %a "$T/group/.gg")" = 2770 ]
finish
