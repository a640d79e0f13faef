#!/usr/bin/env bash
# Starts a throwaway single-node Ceph (1 mon, 1 in-memory OSD, no mgr, auth off)
# with radosgw serving S3 on 127.0.0.1 only. Follows /work/shared/infra.md §A1.
#
#   tests/servers/start-ceph-rgw.sh            start; prints KEY=VALUE lines (eval them)
#   tests/servers/start-ceph-rgw.sh stop DIR   stop the daemons started in DIR, remove DIR
#
# Environment: CEPH_ROOT (state dir; default a fresh /tmp/gg-ceph.XXXXXX; an
# existing non-empty dir must have been made by this script), RGW_PORT and
# MON_PORT (default: free ports; neither daemon can take port 0, so a port
# taken by another process between the check and the bind is replaced by
# another, up to 10 times; a port given here that is busy fails, naming it),
# S3_ACCESS_KEY/S3_SECRET_KEY (default AKIDTEST/SECRETTEST). Installs the
# Debian packages radosgw ceph-mon ceph-osd when they are missing.
# Each daemon is ready when it listens on its port (checked in /proc, so
# another program on the port is never taken for it), not after a fixed time.
# On success prints CEPH_ROOT=, S3_ENDPOINT=, RGW_PORT=, S3_ACCESS_KEY=,
# S3_SECRET_KEY= on stdout (progress goes to stderr). Takes about 15 s. Path-style URLs work
# at http://127.0.0.1:PORT/BUCKET, virtual-host style at
# http://BUCKET.localhost:PORT/ (curl resolves *.localhost to 127.0.0.1).
set -euo pipefail

die() {
	echo "start-ceph-rgw: $*" >&2
	! declare -F stop_started >/dev/null || stop_started
	exit 1
}
. "$(dirname "$0")/ports.sh"

stop_dir() { # DIR: kill the daemons by their pid files, wait, remove the dir
	local d=$1 f pid pids=()
	[ -f "$d/.gg-ceph-root" ] || die "$d was not made by this script; not touching it"
	for f in "$d"/run/*.pid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f" 2>/dev/null) || continue
		[[ "$pid" =~ ^[0-9]+$ ]] || continue
		kill "$pid" 2>/dev/null && pids+=("$pid")
	done
	# the OSD takes a few seconds to exit; insist after 10 s
	for _ in $(seq 1 100); do
		local alive=0
		for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
		[ $alive = 0 ] && break
		sleep 0.1
	done
	for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
	rm -rf "$d"
}

if [ "${1:-}" = stop ]; then
	stop_dir "${2:?usage: $0 stop CEPH_ROOT}"
	exit 0
fi

need_pkgs=()
for p in radosgw ceph-mon ceph-osd; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need_pkgs+=("$p")
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
	echo "start-ceph-rgw: installing ${need_pkgs[*]}" >&2
	sudo=; [ "$(id -u)" -eq 0 ] || sudo=sudo
	DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need_pkgs[@]}" >&2 ||
		{ $sudo apt-get -o DPkg::Lock::Timeout=600 update -qq >&2 &&
		  DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need_pkgs[@]}" >&2; } ||
		die "cannot install the Debian packages ${need_pkgs[*]}"
fi
for x in ceph-authtool monmaptool ceph-mon ceph ceph-osd radosgw radosgw-admin curl; do
	command -v "$x" >/dev/null || die "required program '$x' is missing"
done

AK=${S3_ACCESS_KEY:-AKIDTEST}
SK=${S3_SECRET_KEY:-SECRETTEST}
for p in ${RGW_PORT:-} ${MON_PORT:-}; do
	port_busy "$p" && die "port $p on 127.0.0.1 is busy (set RGW_PORT / MON_PORT)"
done

if [ -n "${CEPH_ROOT:-}" ]; then
	D=$CEPH_ROOT
	if [ -d "$D" ] && [ -n "$(ls -A "$D")" ]; then
		[ -f "$D/.gg-ceph-root" ] || die "$D exists, is not empty and was not made by this script"
		rm -rf "$D"
	fi
	mkdir -p "$D"
else
	D=$(mktemp -d /tmp/gg-ceph.XXXXXX)
fi
touch "$D/.gg-ceph-root"
mkdir -p "$D"/{run,log,mon.a,osd.0,rgw}

# Clean up what was started if any later step fails.
stop_started() { # [WHAT FAILED]
	echo "start-ceph-rgw: failed${1:+ at $1}; logs in $D/log (kept)" >&2
	local f
	for f in "$D"/log/*; do # the tests remove the directory: show the ends here
		[ -s "$f" ] && { echo "--- $f:"; grep -v '^$' "$f" | tail -n 4; } >&2
	done
	for f in "$D"/run/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
	return 0
}
trap 'stop_started "line $LINENO: $BASH_COMMAND"' ERR

FSID=$(cat /proc/sys/kernel/random/uuid)
C="$D/ceph.conf"
write_conf() { # from MON_PORT and RGW_PORT
	cat >"$C" <<EOC
[global]
fsid = $FSID
mon_host = v2:127.0.0.1:$MON_PORT
public_addr = 127.0.0.1
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
ms_mon_client_mode = crc
ms_bind_ipv6 = false
osd_pool_default_size = 1
osd_pool_default_min_size = 1
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
run_dir = $D/run
admin_socket = $D/run/\$name.asok
log_file = $D/log/\$name.log
mon_cluster_log_file = default=$D/log/cluster.\$channel.log cluster=$D/log/cluster.log
crash_dir = $D/crash
pid_file = $D/run/\$name.pid
keyring = $D/keyring
[mon.a]
mon_data = $D/mon.a
# a busy port fails at once (the default retries for 10 s): another is tried
ms_bind_retry_count = 1
[osd.0]
osd_data = $D/osd.0
osd_objectstore = memstore
memstore_device_bytes = 2147483648
[client.rgw.a]
rgw_frontends = beast endpoint=127.0.0.1:${RGW_PORT:-0}
rgw_data = $D/rgw
rgw_dns_name = localhost
EOC
}

log_from() { # LOG OFFSET: what LOG got after OFFSET bytes
	tail -c "+$(($2 + 1))" "$1" 2>/dev/null || true
}

# The monitor binds MON_PORT before it forks: its exit status says whether it
# could. Returns PORT_TAKEN when the port was busy.
start_mon() { # PORT
	MON_PORT=$1
	write_conf || return 1
	rm -rf "$D/mon.a" && mkdir "$D/mon.a" || return 1
	monmaptool --create --clobber --addv a "[v2:127.0.0.1:$MON_PORT]" --fsid "$FSID" "$D/monmap" >/dev/null || return 1
	ceph-mon -c "$C" --mkfs -i a --monmap "$D/monmap" --keyring "$D/keyring" || return 1
	local log=$D/log/mon.a.log from pid
	from=$(file_size "$log")
	if ! ceph-mon -c "$C" -i a; then # forks once bound; pid in $D/run/mon.a.pid
		log_from "$log" "$from" | grep -q "unable to bind.*Address already in use" && return $PORT_TAKEN
		echo "start-ceph-rgw: ceph-mon failed: $(log_from "$log" "$from" | tail -3)" >&2
		return 1
	fi
	pid=$(wait_pid_file "$D/run/mon.a.pid" 60) || return 1
	wait_listening "$pid" "$MON_PORT" 60
}

# radosgw forks before its frontend binds RGW_PORT: ready is its process
# listening on the port; "failed to bind" in its log is PORT_TAKEN.
start_rgw() { # PORT
	RGW_PORT=$1
	write_conf || return 1
	local log=$D/log/client.rgw.a.log pidf=$D/run/client.rgw.a.pid from
	from=$(file_size "$log")
	rm -f "$pidf"
	timeout 120 radosgw -c "$C" -n client.rgw.a || { echo "start-ceph-rgw: radosgw failed to start" >&2; return 1; }
	wait_daemon_listening "$pidf" "$RGW_PORT" "$log" "$from" "failed to bind address 127.0.0.1:$RGW_PORT" 120
}

ceph-authtool --create-keyring "$D/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
if [ -n "${MON_PORT:-}" ]; then
	start_mon "$MON_PORT" || die "ceph-mon did not start on port $MON_PORT"
else
	start_on_free_port 10 20000 32767 start_mon || die "ceph-mon did not start"
fi
OSD_UUID=$(cat /proc/sys/kernel/random/uuid)
ceph -c "$C" --connect-timeout 60 osd new "$OSD_UUID" >/dev/null
ceph-osd -c "$C" -i 0 --mkfs --osd-uuid "$OSD_UUID" 2>>"$D/log/osd.0.stderr"
ceph-osd -c "$C" -i 0 2>>"$D/log/osd.0.stderr" # forks; pid in $D/run/osd.0.pid
# The user is made before radosgw starts: a radosgw that failed to bind
# leaves watches that would delay every metadata change by ~30 s. This also
# waits for the OSD to come up (a bound, not a start window).
timeout 180 radosgw-admin -c "$C" user create --uid=ci --display-name=ci \
	--access-key="$AK" --secret-key="$SK" >/dev/null
if [ -n "${RGW_PORT:-}" ]; then
	start_rgw "$RGW_PORT" || die "radosgw did not start on port $RGW_PORT"
else
	start_on_free_port 10 20000 32767 start_rgw || die "radosgw did not start"
fi
# it listens; it answers once its first request is served
ready=0
for _ in $(seq 1 600); do
	curl -s --max-time 10 -o /dev/null "http://127.0.0.1:$RGW_PORT/" && { ready=1; break; }
	sleep 0.1
done
[ $ready = 1 ] || { echo "start-ceph-rgw: radosgw did not answer on port $RGW_PORT" >&2; false; }
# The data pool is created lazily on the first write (~2 s): do it now.
SIG="aws:amz:us-east-1:s3" UP="x-amz-content-sha256: UNSIGNED-PAYLOAD"
warm() { # METHOD PATH [DATA]: a signed request; prints the HTTP status
	local -a body=()
	[ $# -gt 2 ] && body=(--data-binary "$3")
	curl -s --max-time 90 -o "$D/log/warmup.out" -w '%{http_code}' --aws-sigv4 "$SIG" --user "$AK:$SK" -H "$UP" \
		-X "$1" "${body[@]}" "http://127.0.0.1:$RGW_PORT$2" || true
}
code=$(warm PUT /gg-warmup)
[ "$code" = 200 ] || { echo "start-ceph-rgw: creating a bucket answered HTTP $code: $(cat "$D/log/warmup.out")" >&2; false; }
for _ in $(seq 1 100); do
	code=$(warm PUT /gg-warmup/x hello)
	[ "$code" = 200 ] && break
	sleep 0.2
done
[ "$code" = 200 ] || { echo "start-ceph-rgw: first object write answered HTTP $code: $(cat "$D/log/warmup.out")" >&2; false; }
trap - ERR
echo "start-ceph-rgw: radosgw S3 ready on http://127.0.0.1:$RGW_PORT (pids: $(cat "$D"/run/*.pid | tr '\n' ' '))" >&2
echo "CEPH_ROOT=$D"
echo "S3_ENDPOINT=http://127.0.0.1:$RGW_PORT"
echo "RGW_PORT=$RGW_PORT"
echo "S3_ACCESS_KEY=$AK"
echo "S3_SECRET_KEY=$SK"
