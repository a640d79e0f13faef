#!/usr/bin/env bash
# Installs the Debian packages that building, the demo and the tests need,
# when any is missing. Safe to run again; does nothing when all are there.
set -eu
pkgs=(
	# building
	build-essential pkg-config clang libclang-rt-14-dev clang-format
	libfuse3-dev fuse3 libcurl4-openssl-dev libssl-dev zlib1g-dev
	# the tests' tools
	attr python3 make zip unzip ca-certificates curl
	# servers the tests start on 127.0.0.1 (S3, Redis, Slurm, Lambda's Runtime API)
	radosgw ceph-mon ceph-osd redis-server slurmctld slurmd munge
	# the everyday-jobs examples and the timeline check
	ffmpeg chromium fonts-dejavu-core
	# inference benchmarks and upstream builds
	ccache dpkg-dev
)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# Node.js and npm (for the Lambda Runtime API emulator): any installation will
# do; Debian's packages when there is none.
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]}"
	if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
