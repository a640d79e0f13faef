#!/usr/bin/env bash
# gg worker over TLS (--tls-cert, --tls-key, --tls-client-ca), with a test CA
# made here by the openssl CLI, and the http engine's certificate checks:
#   - a force through https:// with GG_WORKER_CA succeeds; heartbeats work too
#   - a client refuses a worker whose certificate it does not trust (the
#     system's CAs; a certificate from another CA), naming the cause, at once
#   - with client certificates required, a client without one is refused,
#     one with GG_WORKER_CERT/GG_WORKER_KEY gets through
#   - plain HTTP, stalled handshakes and garbage on the TLS port are dropped
#     (within --read-timeout); the worker lives on, its RSS stays bounded
. "$(dirname "$0")/lib.sh"
setup "$@"
need openssl curl sh cc
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/servers/workers.sh"
cd "$T"
echo "# in $T"

# ---- a test CA, a worker certificate, a client certificate, a rogue one ----
mkdir pki
(
	cd pki
	ec="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
	openssl req -x509 $ec -keyout ca.key -out ca.pem -days 2 -subj "/CN=gg test CA" &&
		openssl req $ec -keyout server.key -out server.csr -subj "/CN=127.0.0.1" &&
		printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >server.ext &&
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile server.ext &&
		openssl req $ec -keyout client.key -out client.csr -subj "/CN=gg test client" &&
		printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n' >client.ext &&
		openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2 -extfile client.ext &&
		openssl req -x509 $ec -keyout rogue.key -out rogue.pem -days 2 -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" &&
		chmod 600 *.key
) >pki.log 2>&1
check "make a test CA and certificates with the openssl CLI" [ -s pki/server.pem -a -s pki/client.pem -a -s pki/rogue.pem ] || { cat pki.log; finish; }
P=$T/pki
cc -O2 -o napper "$here/e2e/progs/napper.c" || { not_ok "compile the helper"; finish; }

mkdir client bucket
cd client
gg init . >/dev/null
export GG_STORAGE=file://$T/bucket
workers_hide "$T/client"
https() { echo "${WURL[$1]/http:/https:}"; }
base() { local u; u=$(https "$1"); echo "${u%/execute}"; }

# ---- a key others can read is refused ----
cp "$P/server.key" "$P/open.key"
chmod 644 "$P/open.key"
timeout 10 gg worker --listen 127.0.0.1:0 --storage-allow "file://$T/bucket" --dir "$T/w-open" --tls-cert "$P/server.pem" --tls-key "$P/open.key" 2>open.err
check "a --tls-key every user can read is refused" grep -q "tls-key $P/open.key is open to other users" open.err
chmod 640 "$P/open.key"
timeout 10 gg worker --listen 127.0.0.1:0 --storage-allow "file://$T/bucket" --dir "$T/w-open" --tls-cert "$P/server.pem" --tls-key "$P/open.key" 2>group.err
check "... and one its group can read" grep -q "tls-key $P/open.key is open to other users" group.err
timeout 10 gg worker --listen 127.0.0.1:0 --storage-allow "file://$T/bucket" --dir "$T/w-open" --tls-cert "$P/server.pem" --tls-key "$P/client.key" 2>mismatch.err
check "a --tls-key that is not the certificate's is refused" grep -q "tls-key $P/client.key: .*key values mismatch" mismatch.err

# ---- TLS works ----
worker_start tls --tls-cert "$P/server.pem" --tls-key "$P/server.key" --read-timeout 2 || { not_ok "start a TLS worker"; finish; }
check "the worker says it listens on https" grep -q "listening on https://127.0.0.1:.*TLS" "${WLOG[tls]}"
check "curl --cacert gets /health over TLS" bash -c "curl -sS --cacert '$P/ca.pem' '$(base tls)/health' | grep -qx ok"
t=$(gg thunk -o o -- sh -c 'echo over tls > o')
GG_WORKER_CA=$P/ca.pem gg force --no-progress -e "http=$(https tls)" --stdout "$t#o" >ok.out 2>ok.err
st=$?
check "a force through https:// with GG_WORKER_CA succeeds" [ $st -eq 0 ]
check "with the right output" grep -qx 'over tls' ok.out
check "the thunk ran on the TLS worker" [ "$(worker_ran tls)" -eq 1 ]
t=$(gg thunk -o o -- ../napper 5000 o)
GG_WORKER_SILENCE=3 GG_WORKER_CA=$P/ca.pem gg force --no-progress -e "http=$(https tls)" --stdout "$t#o" >hb.out 2>hb.err
check "heartbeats travel over TLS: a 5 s thunk under a 3 s silence limit succeeds" grep -qx 'napped 5000' hb.out

# ---- the client refuses a worker it does not trust ----
t=$(gg thunk -o o -- sh -c 'echo never > o')
env -u GG_WORKER_CA gg force --no-progress -e "http=$(https tls)" "$t#o" >sys.out 2>sys.err
st=$?
check "without GG_WORKER_CA (the system's CAs) the force is refused (exit 3)" [ $st -eq 3 ]
check "naming the certificate problem" grep -q "POST $(https tls): SSL certificate problem" sys.err
check "and what to do, not retried" grep -q "not trusted: give the CA that signed it in GG_WORKER_CA; not retried" sys.err
check "no attempt was repeated" bash -c "! grep -q -e 'trying again' -e 'attempts)' sys.err"
worker_start rogue --tls-cert "$P/rogue.pem" --tls-key "$P/rogue.key" || { not_ok "start a rogue worker"; finish; }
GG_WORKER_CA=$P/ca.pem gg force --no-progress -e "http=$(https rogue)" "$t#o" >rogue.out 2>rogue.err
st=$?
check "a worker with a certificate from another CA is refused (exit 3)" [ $st -eq 3 ]
check "naming the certificate problem" grep -q "POST $(https rogue): SSL certificate problem" rogue.err
check "and the rogue worker ran nothing" [ "$(worker_ran rogue)" -eq 0 ]
worker_stop rogue

# ---- client certificates ----
worker_start mtls --listen 0.0.0.0:0 --tls-cert "$P/server.pem" --tls-key "$P/server.key" --tls-client-ca "$P/ca.pem" ||
	{ not_ok "start a worker that requires client certificates (on 0.0.0.0, no tokens)"; finish; }
ok "client certificates count as authentication beyond loopback (no tokens needed)"
t=$(gg thunk -o o -- sh -c 'echo with a client certificate > o')
GG_WORKER_CA=$P/ca.pem GG_REMOTE_ATTEMPTS=2 gg force --no-progress --retries 0 -e "http=$(https mtls)" "$t#o" >nocert.out 2>nocert.err
st=$?
check "a client without a certificate is refused (exit 3)" [ $st -eq 3 ]
check "the client says the worker wants a certificate" grep -q "POST $(https mtls): .*alert certificate required.*(the worker requires a client certificate: give GG_WORKER_CERT and GG_WORKER_KEY; not retried)" nocert.err
check "no attempt was repeated" bash -c "! grep -q 'attempts)' nocert.err"
check "the worker says why it refused" grep -q "refused a connection: TLS: .*peer did not return a certificate" "${WLOG[mtls]}"
check "and ran nothing" [ "$(worker_ran mtls)" -eq 0 ]
GG_WORKER_CA=$P/ca.pem GG_WORKER_CERT=$P/client.pem GG_WORKER_KEY=$P/client.key gg force --no-progress \
	-e "http=$(https mtls)" --stdout "$t#o" >cert.out 2>cert.err
check "with GG_WORKER_CERT and GG_WORKER_KEY the force succeeds" grep -qx 'with a client certificate' cert.out
t=$(gg thunk -o o -- sh -c 'echo rogue client > o')
GG_WORKER_CA=$P/ca.pem GG_WORKER_CERT=$P/rogue.pem GG_WORKER_KEY=$P/rogue.key gg force --no-progress --retries 0 \
	-e "http=$(https mtls)" "$t#o" >badcert.out 2>badcert.err
check "a client certificate from another CA is refused (exit 3)" [ $? -eq 3 ]
check "the client says its certificate is not trusted" grep -q "alert unknown ca.*(the worker does not trust the client certificate in GG_WORKER_CERT; not retried)" badcert.err
check "the worker says the certificate is not trusted" grep -q "refused a connection: TLS: .*certificate verify failed" "${WLOG[mtls]}"
worker_stop mtls

# ---- the TLS port under abuse ----
pid=${WPID[tls]}
port=${WURL[tls]##*:}
port=${port%%/*}
curl -s -m 5 "${WURL[tls]%/execute}/health" >plain.out 2>&1
check "plain HTTP to the TLS port gets no answer" [ ! -s plain.out ]
check "the worker logs the refused handshake" grep -q "refused a connection: TLS:" "${WLOG[tls]}"
for i in $(seq 30); do
	exec {fd}<>/dev/tcp/127.0.0.1/$port # connections that never say a word
	fds+=($fd)
done
printf 'GET / HTTP/1.1\r\n\r\n\x16\x03\x01\x00\x05hello' >/dev/tcp/127.0.0.1/$port
head -c 100000 /dev/urandom >/dev/tcp/127.0.0.1/$port 2>/dev/null
sleep 3 # past --read-timeout 2: the stalled handshakes are dropped
check "stalled handshakes are dropped at --read-timeout" grep -q "handshake did not finish within 2 s" "${WLOG[tls]}"
for fd in "${fds[@]}"; do exec {fd}>&-; done
check "the worker is alive after the abuse" kill -0 "$pid"
rss=$(awk '/VmRSS/{print $2}' /proc/$pid/status)
echo "# TLS worker VmRSS after the abuse: $rss kB"
check "its RSS stays under 64 MiB ($rss kB)" [ "$rss" -lt 65536 ]
t=$(gg thunk -o o -- sh -c 'echo still serving > o')
GG_WORKER_CA=$P/ca.pem gg force --no-progress -e "http=$(https tls)" --stdout "$t#o" >after.out 2>after.err
check "and still runs thunks over TLS" grep -qx 'still serving' after.out
check "the TLS worker stops cleanly" worker_stop tls

for w in tls rogue mtls; do
	check "worker $w's log has no sanitizer report" worker_log_clean $w
done
finish
