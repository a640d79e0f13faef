#!/usr/bin/env bash
# Builds BUILD/gg-lambda.zip: an AWS Lambda custom-runtime package whose
# bootstrap is `gg worker`. It carries gg's whole shared-library closure and
# its own loader (so it does not depend on the runtime's glibc) and a CA
# bundle for HTTPS to S3 (libcurl is pointed at it via CURL_CA_BUNDLE).
# gg loads libcurl and libssl with dlopen() on first use (backend/curl_dl.c,
# backend/ssl_dl.c), so ldd of gg does not list them: they and their own
# closures are added explicitly.
# usage: tools/lambda-package.sh BUILD_DIR   (make lambda-package)
set -eu
build=$(cd "${1:-build}" && pwd)
gg=$build/bin/gg
[ -x "$gg" ] || { echo "lambda-package: $gg is not built (run make)" >&2; exit 1; }
command -v zip >/dev/null || { echo "lambda-package: zip is not installed (apt-get install zip)" >&2; exit 1; }
stage=$(mktemp -d /tmp/gg-lambda.XXXXXX)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/lib"
cp "$gg" "$stage/gg"
loader=$(readelf -l "$gg" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
[ -n "$loader" ] || { echo "lambda-package: cannot find gg's ELF interpreter" >&2; exit 1; }
cp -L "$loader" "$stage/lib/$(basename "$loader")"
# Each library as gg's dlopen() finds it: the loader's cache entry for gg's
# machine (ldconfig may list other architectures' copies too).
machine() { readelf -h "$1" | sed -n 's/^ *Machine: *//p'; }
ldconfig=$(command -v ldconfig || echo /sbin/ldconfig)
dl=
for so in libcurl.so.4:libcurl4 libssl.so.3:libssl3; do
	found=
	for c in $("$ldconfig" -p | awk -v so="${so%%:*}" '$1 == so { print $NF }'); do
		if [ "$(machine "$c")" = "$(machine "$gg")" ]; then found=$c; break; fi
	done
	[ -n "$found" ] || { echo "lambda-package: cannot find ${so%%:*} (apt-get install ${so#*:})" >&2; exit 1; }
	cp -L "$found" "$stage/lib/${so%%:*}"
	dl="$dl $found"
done
{ ldd "$gg"; for c in $dl; do ldd "$c"; done; } | awk '/=> \// { print $3 }' | sort -u | while read -r lib; do cp -L "$lib" "$stage/lib/"; done
ca=/etc/ssl/certs/ca-certificates.crt
[ -r "$ca" ] || { echo "lambda-package: no CA bundle at $ca (apt-get install ca-certificates)" >&2; exit 1; }
cp "$ca" "$stage/ca-certificates.crt"
cat > "$stage/bootstrap" <<SH
#!/bin/sh
# AWS Lambda custom runtime: gg worker serves the Runtime API loop.
export CURL_CA_BUNDLE="\$LAMBDA_TASK_ROOT/ca-certificates.crt"
exec "\$LAMBDA_TASK_ROOT/lib/$(basename "$loader")" --library-path "\$LAMBDA_TASK_ROOT/lib" "\$LAMBDA_TASK_ROOT/gg" worker "\$@"
SH
chmod 0755 "$stage/bootstrap" "$stage/gg"
out=$build/gg-lambda.zip
rm -f "$out"
(cd "$stage" && zip -q -r -X "$out" bootstrap gg lib ca-certificates.crt)
echo "lambda-package: $out ($(du -h "$out" | cut -f1)); deploy it as described in README.md"
