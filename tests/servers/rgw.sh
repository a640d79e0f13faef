# Radosgw (S3) for an end-to-end test: source after tests/e2e/lib.sh's setup,
# then call rgw_up. Starting Ceph takes 15-30 s, so tests/run.sh starts one
# radosgw per run, in the background, when a selected test uses it
# (GG_RGW_SHARED=DIR: DIR/env, DIR/log and, once it is up or has failed,
# DIR/rc); a test run by itself starts its own.
#
# On a shared radosgw each test still owns its data: it gets a radosgw user
# of its own (fresh keys; S3 buckets are private to their owner), and at exit
# that user is removed with its buckets and objects. Tests run one at a time
# on it (they are in tests/serial.list), so a test may stop it (SIGSTOP) as
# long as it continues it before it ends.
#
#   rgw_up            sets CEPH_ROOT, S3_ENDPOINT, RGW_PORT, S3_ACCESS_KEY,
#                     S3_SECRET_KEY, RGW_SHARED (1 or empty); 1 if no server
#                     (having printed why)
#   rgw_user UID      a further user of this test's (UID made unique):
#                     sets RGW_UID, RGW_AK, RGW_SK; removed at exit
rgw_servers=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

RGW_SHARED=
rgw_up() {
	local t0=$SECONDS rc
	if [ -n "${GG_RGW_SHARED:-}" ]; then
		# up to 10 minutes: it may be starting beside other tests on a busy machine
		for _ in $(seq 1 6000); do
			[ -s "$GG_RGW_SHARED/rc" ] && break
			sleep 0.1
		done
		rc=$(cat "$GG_RGW_SHARED/rc" 2>/dev/null)
		if [ "$rc" != 0 ]; then
			echo "# the run's shared radosgw did not start (status ${rc:-none after 600 s}):"
			sed 's/^/#   /' "$GG_RGW_SHARED/log"
			return 1
		fi
		. "$GG_RGW_SHARED/env"
		RGW_SHARED=1
		rgw_user main || return 1
		S3_ACCESS_KEY=$RGW_AK S3_SECRET_KEY=$RGW_SK
		echo "# the run's shared radosgw on $S3_ENDPOINT, as its own user $RGW_UID (waited $((SECONDS - t0)) s)"
		return 0
	fi
	if ! env -u RGW_PORT -u MON_PORT -u S3_ACCESS_KEY -u S3_SECRET_KEY CEPH_ROOT="$T/ceph" \
		bash "$rgw_servers/start-ceph-rgw.sh" >"$T/ceph.env" 2>"$T/ceph.log"; then
		cat "$T/ceph.log" # whole: the first line says which step failed, then each log's end
		at_exit "bash '$rgw_servers/start-ceph-rgw.sh' stop '$T/ceph'"
		return 1
	fi
	. "$T/ceph.env"
	at_exit "bash '$rgw_servers/start-ceph-rgw.sh' stop '$CEPH_ROOT'"
	echo "# radosgw up on $S3_ENDPOINT in $((SECONDS - t0)) s"
}

rgw_user() { # UID
	RGW_UID=$1-$(basename "$T" | tr -dc 'A-Za-z0-9')
	RGW_AK=AK$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n' | tr a-f A-F)
	RGW_SK=SK$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
	if ! timeout 120 radosgw-admin -c "$CEPH_ROOT/ceph.conf" user create --uid="$RGW_UID" \
		--display-name="$RGW_UID" --access-key="$RGW_AK" --secret-key="$RGW_SK" >"$T/rgw-user-$1.json" 2>&1; then
		echo "# radosgw-admin user create $RGW_UID failed: $(tail -3 "$T/rgw-user-$1.json")"
		return 1
	fi
	# on a radosgw of the test's own, stopping it removes everything
	[ -z "$RGW_SHARED" ] ||
		at_exit "timeout 120 radosgw-admin -c '$CEPH_ROOT/ceph.conf' user rm --uid='$RGW_UID' --purge-data"
}
