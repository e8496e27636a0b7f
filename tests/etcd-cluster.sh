# SPDX-License-Identifier: LGPL-2.1-or-later
# A throwaway three-member etcd v3 cluster on loopback for the tests, sourced
# by them.  Client and peer traffic are mutual TLS with certificates from a CA
# made here by certtool; etcd demands a client certificate signed by that CA
# (--client-cert-auth).  A second, foreign CA signs a client certificate that
# etcd must refuse.
#
#   etcd_cluster_start DIR   make certificates, start three members, wait until
#                            the cluster is healthy; sets ETCD_ENDPOINTS
#                            (comma-separated https URLs of members 1..3),
#                            ETCD_CA, ETCD_CERT, ETCD_KEY, ETCD_FOREIGN_CERT,
#                            ETCD_FOREIGN_KEY, ETCD_ENDPOINT_1..3
#   etcd_member_stop N       SIGTERM member N (1..3) and wait for it
#   etcd_member_start N      start member N again on its data and ports
#   etcd_cluster_wait_healthy  wait until a quorum write goes through
#   etcdctl_cg ARGS…         etcdctl with the client certificate, all endpoints
#   etcd_revoke_client PEM   add the client certificate PEM to the CRL every
#                            member reads (--client-crl-file): etcd reads the
#                            file again at each new TLS connection (3.4.23),
#                            so no restart; connections already open stay
#   etcd_cluster_cleanup     stop every member (call from the EXIT trap)
#
# Nothing secret crosses argv or the environment: only paths of key files.

ETCD_DIR=
ETCD_PIDS=("" "" "")
ETCD_CLIENT_PORTS=()
ETCD_PEER_PORTS=()

_etcd_fail () { echo "FAIL: etcd cluster: $*" >&2; _etcd_logs >&2; exit 1; }
_etcd_logs () {
  local n
  for n in 1 2 3; do
    [ -f "$ETCD_DIR/m$n.log" ] && { echo "--- etcd member $n log"; tail -n 15 "$ETCD_DIR/m$n.log"; }
  done
  return 0
}

# Six distinct free loopback ports, chosen by the kernel.
_etcd_free_ports () {
  python3 - <<'EOF'
import socket
socks = []
for _ in range(6):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

_etcd_certtool () { certtool "$@" >/dev/null 2>&1 || _etcd_fail "certtool $1 failed"; }

# _etcd_ca NAME CN
_etcd_ca () {
  local d=$ETCD_DIR/pki
  _etcd_certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 --outfile "$d/$1.key"
  cat > "$d/$1.tmpl" <<EOF
cn = "$2"
serial = $(( RANDOM * 32768 + RANDOM ))
expiration_days = 2
ca
cert_signing_key
crl_signing_key
EOF
  _etcd_certtool --generate-self-signed --load-privkey "$d/$1.key" --template "$d/$1.tmpl" \
    --outfile "$d/$1.pem"
}

# _etcd_leaf NAME CA CN ROLE…  (ROLE: tls_www_server, tls_www_client)
_etcd_leaf () {
  local d=$ETCD_DIR/pki name=$1 ca=$2 cn=$3 role
  shift 3
  _etcd_certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 --outfile "$d/$name.key"
  {
    echo "cn = \"$cn\""
    echo "serial = $(( RANDOM * 32768 + RANDOM ))"
    echo "expiration_days = 2"
    echo "ip_address = \"127.0.0.1\""
    echo "dns_name = \"localhost\""
    echo "signing_key"
    echo "encryption_key"
    for role in "$@"; do echo "$role"; done
  } > "$d/$name.tmpl"
  _etcd_certtool --generate-certificate --load-privkey "$d/$name.key" --load-ca-privkey "$d/$ca.key" \
    --load-ca-certificate "$d/$ca.pem" --template "$d/$name.tmpl" --outfile "$d/$name.pem"
  chmod 600 "$d/$name.key"
}

_etcd_member_run () {
  local n=$1 i=$(( $1 - 1 )) d=$ETCD_DIR/pki
  etcd --name "m$n" --data-dir "$ETCD_DIR/m$n.data" \
    --listen-client-urls "https://127.0.0.1:${ETCD_CLIENT_PORTS[$i]}" \
    --advertise-client-urls "https://127.0.0.1:${ETCD_CLIENT_PORTS[$i]}" \
    --listen-peer-urls "https://127.0.0.1:${ETCD_PEER_PORTS[$i]}" \
    --initial-advertise-peer-urls "https://127.0.0.1:${ETCD_PEER_PORTS[$i]}" \
    --initial-cluster "$ETCD_INITIAL_CLUSTER" --initial-cluster-token "cg-test-$$" \
    --initial-cluster-state new \
    --cert-file "$d/server.pem" --key-file "$d/server.key" \
    --trusted-ca-file "$d/ca.pem" --client-cert-auth --client-crl-file "$d/crl.pem" \
    --peer-cert-file "$d/server.pem" --peer-key-file "$d/server.key" \
    --peer-trusted-ca-file "$d/ca.pem" --peer-client-cert-auth \
    --listen-metrics-urls "" --logger zap --log-outputs stderr --log-level warn \
    >>"$ETCD_DIR/m$n.log" 2>&1 &
  ETCD_PIDS[$i]=$!
}

# _etcd_crl: $ETCD_DIR/pki/crl.pem, signed by the CA, listing the
# certificates in revoked.pem (none at first); replaced atomically.
_etcd_crl () {
  local d=$ETCD_DIR/pki n
  n=$(( $(cat "$d/crl.number" 2>/dev/null || echo 0) + 1 ))
  echo "$n" > "$d/crl.number"
  printf 'crl_next_update = 2\ncrl_number = %d\n' "$n" > "$d/crl.tmpl"
  local revoked=()
  [ -s "$d/revoked.pem" ] && revoked=(--load-certificate "$d/revoked.pem")
  _etcd_certtool --generate-crl --load-ca-privkey "$d/ca.key" --load-ca-certificate "$d/ca.pem" \
    "${revoked[@]}" --template "$d/crl.tmpl" --outfile "$d/crl.pem.new"
  mv "$d/crl.pem.new" "$d/crl.pem"
}

etcd_revoke_client () {
  cat "$1" >> "$ETCD_DIR/pki/revoked.pem"
  _etcd_crl
}

# etcdctl_cg ARGS…: etcdctl on this cluster.  With CG_ETCDCTL_EXEC set it
# replaces the calling (sub)shell, so that `(CG_ETCDCTL_EXEC=1 etcdctl_cg
# watch …) &` makes $! etcdctl's own pid: a function sent to the background
# runs in a subshell that $! names, and killing that subshell left its
# etcdctl child running (CI found 16 watchers left behind).
etcdctl_cg () {
  ETCDCTL_API=3 ${CG_ETCDCTL_EXEC:+exec} etcdctl --endpoints "$ETCD_ENDPOINTS" --cacert "$ETCD_CA" --cert "$ETCD_CERT" \
    --key "$ETCD_KEY" --command-timeout 3s --dial-timeout 2s "$@"
}

# Waits (at most 30 s: three members starting on two loaded cores) until a
# write is committed, i.e. the members found each other and a leader.
etcd_cluster_wait_healthy () {
  local i
  for i in $(seq 150); do
    etcdctl_cg put /cg-test-health ok >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  _etcd_fail "cluster not healthy after 30 s"
}

etcd_cluster_start () {
  ETCD_DIR=$1
  mkdir -p "$ETCD_DIR/pki"
  chmod 700 "$ETCD_DIR" "$ETCD_DIR/pki"
  command -v etcd >/dev/null || _etcd_fail "etcd is not installed (scripts/setup installs etcd-server)"
  command -v etcdctl >/dev/null || _etcd_fail "etcdctl is not installed (scripts/setup installs etcd-client)"

  _etcd_ca ca "credgate test etcd CA"
  _etcd_crl
  _etcd_leaf server ca "etcd member" tls_www_server tls_www_client
  _etcd_leaf client ca "credgate node" tls_www_client
  _etcd_ca foreign-ca "some other CA"
  _etcd_leaf foreign-client foreign-ca "credgate node" tls_www_client
  ETCD_CA=$ETCD_DIR/pki/ca.pem
  ETCD_CERT=$ETCD_DIR/pki/client.pem
  ETCD_KEY=$ETCD_DIR/pki/client.key
  ETCD_FOREIGN_CERT=$ETCD_DIR/pki/foreign-client.pem
  ETCD_FOREIGN_KEY=$ETCD_DIR/pki/foreign-client.key

  local ports
  read -r -a ports <<<"$(_etcd_free_ports)"
  ETCD_CLIENT_PORTS=("${ports[0]}" "${ports[1]}" "${ports[2]}")
  ETCD_PEER_PORTS=("${ports[3]}" "${ports[4]}" "${ports[5]}")
  ETCD_INITIAL_CLUSTER="m1=https://127.0.0.1:${ports[3]},m2=https://127.0.0.1:${ports[4]},m3=https://127.0.0.1:${ports[5]}"
  ETCD_ENDPOINT_1=https://127.0.0.1:${ports[0]}
  ETCD_ENDPOINT_2=https://127.0.0.1:${ports[1]}
  ETCD_ENDPOINT_3=https://127.0.0.1:${ports[2]}
  ETCD_ENDPOINTS=$ETCD_ENDPOINT_1,$ETCD_ENDPOINT_2,$ETCD_ENDPOINT_3
  export ETCD_CA ETCD_CERT ETCD_KEY ETCD_FOREIGN_CERT ETCD_FOREIGN_KEY ETCD_ENDPOINTS \
    ETCD_ENDPOINT_1 ETCD_ENDPOINT_2 ETCD_ENDPOINT_3

  local n
  for n in 1 2 3; do _etcd_member_run "$n"; done
  etcd_cluster_wait_healthy
}

etcd_member_stop () {
  local i=$(( $1 - 1 ))
  [ -n "${ETCD_PIDS[$i]}" ] || _etcd_fail "member $1 is not running"
  kill -TERM "${ETCD_PIDS[$i]}" 2>/dev/null || true
  wait "${ETCD_PIDS[$i]}" 2>/dev/null || true
  ETCD_PIDS[$i]=
}

etcd_member_start () {
  local i=$(( $1 - 1 ))
  [ -z "${ETCD_PIDS[$i]}" ] || _etcd_fail "member $1 is already running"
  _etcd_member_run "$1"
}

etcd_cluster_cleanup () {
  local i
  for i in 0 1 2; do
    if [ -n "${ETCD_PIDS[$i]}" ]; then
      kill -TERM "${ETCD_PIDS[$i]}" 2>/dev/null || true
      wait "${ETCD_PIDS[$i]}" 2>/dev/null || true
      ETCD_PIDS[$i]=
    fi
  done
}
