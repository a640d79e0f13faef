#!/usr/bin/env bash
# Installs the Debian packages ggfs needs, in groups, only those missing:
#
#   tools/deps.sh [build]   building ggfs and `make demo` (a compiler, make,
#                           FUSE 3, libcurl, OpenSSL)
#   tools/deps.sh test      the whole test suite (`make check`): the build group,
#                           clang, the servers the tests start on 127.0.0.1
#                           (Ceph radosgw, Redis, Slurm, Node.js for Lambda's
#                           Runtime API), ffmpeg, chromium, ccache, ...
#
# Safe to run again: does nothing when the group is installed. When another
# apt or dpkg holds the package lock (common right after boot), waits for it
# up to 10 minutes, saying so, instead of failing.
set -eu
group=${1:-build}
build=(
	build-essential pkg-config
	libfuse3-dev fuse3 libcurl4-openssl-dev libssl-dev
)
test=(
	"${build[@]}"
	# the clang build, its sanitizer runtime and `make format-check`
	clang libclang-rt-14-dev clang-format
	# the tests' tools
	attr python3 zip unzip ca-certificates curl git patch
	# ggfs_users: POSIX ACLs through the mount (setfacl, getfacl), file
	# capabilities (setcap, getcap)
	acl libcap2-bin
	# servers the tests start on 127.0.0.1 (S3, Redis, Slurm)
	radosgw ceph-mon ceph-osd redis-server slurmctld slurmd slurm-client munge
	# the everyday-jobs examples and the timeline check
	ffmpeg chromium fonts-dejavu-core
	# inference benchmarks and upstream builds
	ccache dpkg-dev
	# make check-projects: CMake with Make and Ninja, autotools and libtool
	cmake ninja-build autoconf automake libtool
	# bench/fs.sh: fio against the directory and passthrough_hp
	fio
	# ggfs_create_window: stops the daemon at a chosen point
	gdb
)
case $group in
build) pkgs=("${build[@]}") ;;
test) pkgs=("${test[@]}") ;;
*)
	echo "usage: tools/deps.sh [build|test]  (build: building and make demo; test: the whole test suite)" >&2
	exit 2
	;;
esac
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# Node.js and npm (for the Lambda Runtime API emulator): any installation will
# do; Debian's packages when there is none.
if [ "$group" = test ] && ! { command -v node && command -v npm; } >/dev/null 2>&1; then
	missing+=(nodejs npm)
fi
[ ${#missing[@]} -gt 0 ] || exit 0

# The process holding an fcntl lock on FILE (as apt and dpkg lock), if any.
lock_holder() { # FILE
	local ino
	ino=$(stat -c %i "$1" 2>/dev/null) || return 0
	awk -v i=":$ino" '$2 != "->" && substr($6, length($6) - length(i) + 1) == i { print $5; exit }' /proc/locks
}
# Says who holds the package locks, if anyone: apt then waits for them.
say_waiting() {
	local f pid
	for f in /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock; do
		pid=$(lock_holder "$f")
		[ -z "$pid" ] || echo "deps: waiting for $(cat "/proc/$pid/comm" 2>/dev/null || echo a process) (pid $pid), which holds $f; up to 10 minutes"
	done
}
# apt waits for dpkg's lock (DPkg::Lock::Timeout), but `apt-get update` not
# for the package lists' lock: retry that for up to 10 minutes.
lock=(-o DPkg::Lock::Timeout=600)
apt_update() {
	local end=$((SECONDS + 600)) err said=
	until err=$($sudo apt-get "${lock[@]}" update -qq 2>&1 >/dev/null); do
		if grep -q 'Could not get lock' <<<"$err" && [ $SECONDS -lt $end ]; then
			[ -n "$said" ] || echo "deps: waiting (up to 10 minutes): $(grep -m1 'Could not get lock' <<<"$err" | sed 's/^E: //')"
			said=1
			sleep 5
			continue
		fi
		printf '%s\n' "$err" >&2
		return 1
	done
	[ -z "$err" ] || printf '%s\n' "$err" >&2
}

if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
echo "deps ($group): installing ${missing[*]}"
say_waiting
apt_update
say_waiting
DEBIAN_FRONTEND=noninteractive $sudo apt-get "${lock[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
