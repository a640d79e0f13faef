#!/usr/bin/env bash
# Installs the Debian packages that building, the demo and the tests need,
# when any is missing. Safe to run again; does nothing when all are there.
set -eu
pkgs=(
	build-essential pkg-config clang libclang-rt-14-dev
	libfuse3-dev fuse3 libcurl4-openssl-dev libssl-dev zlib1g-dev
	attr python3 make
)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]}"
	if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
