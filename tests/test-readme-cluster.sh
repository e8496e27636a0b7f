#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# README.md's "etcd: three members with TLS", run as written: its code
# blocks, taken from README.md, make the certificates with openssl, write
# each member's /etc/default/etcd, and start the three members the way
# Debian's etcd.service does (its Environment= lines, then the file, then
# /usr/bin/etcd, as the user etcd when we are root); then README's check
# commands answer as README says.  Only what cannot run here is bent:
# the members' addresses are 127.0.0.11-13 (and their certificates also
# name 127.0.0.1, where loopback connections come from) and the ports two
# free ones,
# /etc and /var/lib sit under a scratch root, apt-get only checks that
# etcd-server is installed, and systemctl starts etcd directly.
# Then "The gateways" on three agents (tests/cluster-lib.sh, without its
# own etcd): init, invite, join (the code on a descriptor where README's
# join asks for it), status, a credential from gw1 on gw3, remove and
# key rotate --all.
source "$top_srcdir/tests/cluster-lib.sh"

ETCD_RUN_PIDS=()
readme_cleanup () {
  local pid
  for pid in "${ETCD_RUN_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${ETCD_RUN_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap 'cluster_cleanup; readme_cleanup; cleanup' EXIT
fail () {
  local f
  echo "FAIL: $*" >&2
  _cluster_logs >&2
  for f in "$WORK"/host*/etcd.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -n 15 "$f" >&2; }; done
  exit 1
}

readme_section () { awk -v h="### $1" '$0 == h { on = 1; next } /^##/ { on = 0 } on' "$top_srcdir/README.md"; }
section=$(readme_section 'etcd: three members with TLS')
[ -n "$section" ] || fail "README.md has no section 'etcd: three members with TLS'"
gateways=$(readme_section 'The gateways')
[ -n "$gateways" ] || fail "README.md has no section 'The gateways'"
# block N [TEXT]: the Nth ```sh block of the section (or TEXT), without its
# indentation.
block () {
  awk -v want="$1" '/^ *```sh$/ { n++; on = (n == want); next } /^ *```$/ { on = 0 } on' \
    <<<"${2:-$section}" | sed 's/^   //'
}
[ "$(block 4)" = "" ] && [ -n "$(block 3)" ] || fail "the section should have three sh blocks"

# Two ports free on all three addresses, in place of 2379 and 2380.
read -r CPORT PPORT <<<"$(python3 - <<'EOF'
import socket
for _ in range(50):
    probe = socket.socket(); probe.bind(("127.0.0.11", 0)); a = probe.getsockname()[1]
    probe2 = socket.socket(); probe2.bind(("127.0.0.11", 0)); b = probe2.getsockname()[1]
    probe.close(); probe2.close()
    try:
        held = []
        for host in ("127.0.0.11", "127.0.0.12", "127.0.0.13"):
            for port in (a, b):
                s = socket.socket(); s.bind((host, port)); held.append(s)
        print(a, b); break
    except OSError:
        pass
EOF
)"
[ -n "$PPORT" ] || fail "no two free ports on 127.0.0.11-13"
bend () {
  # etcd checks a peer's certificate against the address the peer
  # connects from, and on loopback that is 127.0.0.1 (README says to name
  # every address a member connects from).
  sed -e 's/IP:\$E\([123]\)"/IP:$E\1,IP:127.0.0.1"/' \
      -e 's/10\.0\.0\.1\([123]\)/127.0.0.1\1/g' -e "s/:2379/:$CPORT/g" -e "s/:2380/:$PPORT/g" \
      -e 's|/etc/etcd/|$ROOT/etc/etcd/|g' -e 's|/etc/default/etcd|$ROOT/etc/default/etcd|g' \
      -e 's|/var/lib/etcd/|$ROOT/var/lib/etcd/|g'
}

# 1. The certificates, in a directory of their own.
cd "$WORK"
bash -euo pipefail -c "$(block 1 | bend)" >"$WORK/certs.log" 2>&1 ||
  { cat "$WORK/certs.log" >&2; fail "README's certificate block failed"; }
PKI=$WORK/etcd-pki
for f in ca e1 e2 e3 gw1 gw2 gw3; do
  [ -s "$PKI/$f.pem" ] && [ -s "$PKI/$f.key" ] || fail "no $f.pem and $f.key"
  [ "$(stat -c %a "$PKI/$f.key")" = 600 ] || fail "$f.key is not 0600"
done
openssl verify -CAfile "$PKI/ca.pem" "$PKI"/e?.pem "$PKI"/gw?.pem >/dev/null || fail "a certificate does not verify"
openssl x509 -in "$PKI/e2.pem" -noout -ext subjectAltName | has 'IP Address:127.0.0.12' ||
  fail "e2.pem does not name its address"
openssl x509 -in "$PKI/gw1.pem" -noout -ext extendedKeyUsage | has 'TLS Web Client Authentication' ||
  fail "gw1.pem is no client certificate"
pass "README's certificate block makes a CA, three member and three gateway certificates"

# 2. Each member, in its own root, as README says; systemctl runs etcd as
# etcd.service would.
as_etcd=()
if [ "$(id -u)" = 0 ]; then
  id etcd >/dev/null || fail "no user etcd (scripts/setup installs etcd-server)"
  as_etcd=(setpriv --reuid etcd --regid etcd --clear-groups)
  # etcd must reach its files under our scratch directories.
  d=$WORK
  while [ "$d" != / ]; do chmod o+x "$d"; d=$(dirname "$d"); done
fi
apt-get () {
  [ "$*" = "install etcd-server" ] || { echo "apt-get $*: not expected here" >&2; return 1; }
  dpkg-query -W -f='${Status}' etcd-server | has 'install ok installed'
}
install () {
  # Owner and group only where we may set them.
  local args=() a
  while [ $# -gt 0 ]; do
    a=$1; shift
    if [ "$(id -u)" != 0 ] && { [ "$a" = -o ] || [ "$a" = -g ]; }; then shift; continue; fi
    args+=("$a")
  done
  command install "${args[@]}"
}
systemctl () {
  [ "$*" = "restart --no-block etcd" ] || { echo "systemctl $*: not expected here" >&2; return 1; }
  # etcd.service: Environment=ETCD_NAME=%H, ETCD_DATA_DIR=/var/lib/etcd/default,
  # EnvironmentFile=-/etc/default/etcd, User=etcd, ExecStart=/usr/bin/etcd.
  local vars
  mapfile -t vars < <(grep -E '^[A-Z_0-9]+=' "$ROOT/etc/default/etcd")
  (cd / && exec env -i PATH=/usr/bin:/bin "ETCD_NAME=$(hostname)" \
     "ETCD_DATA_DIR=$ROOT/var/lib/etcd/default" "${vars[@]}" "${as_etcd[@]}" /usr/bin/etcd) \
    >"$ROOT/etcd.log" 2>&1 &
  ETCD_RUN_PIDS+=($!)
}
member_block=$(block 2 | bend | grep -v '^N=1 ADDR=\$E1$')
grep -q '^N=' <<<"$member_block" && fail "README's member block sets N elsewhere than its first line"
for N in 1 2 3; do
  ROOT=$WORK/host$N
  mkdir -p "$ROOT/etc/default" "$ROOT/var/lib/etcd"
  [ -z "${as_etcd[*]}" ] || chown etcd:etcd "$ROOT/var/lib/etcd"
  # In this shell (not a subshell), so that the etcd processes it starts are ours.
  cd "$PKI"
  E1=127.0.0.11 E2=127.0.0.12 E3=127.0.0.13 ADDR=127.0.0.1$N
  eval "$member_block" || fail "README's member block failed for member $N"
  has "^ETCD_CLIENT_CERT_AUTH=true$" "$ROOT/etc/default/etcd" || fail "member $N: no client-cert-auth"
  [ "$(stat -c %a "$ROOT/etc/etcd/pki/e$N.key")" = 600 ] || fail "member $N's key is not 0600"
done
[ "${#ETCD_RUN_PIDS[@]}" = 3 ] || fail "README's member block did not start etcd three times"

# 3. README's checks, from the "gateway": health (once the members have
# found each other), the member list, and no entry without a certificate.
mapfile -t checks < <(block 3 | bend | sed -e ':a' -e '/\\$/N; s/\\\n */ /; ta')
[ "${#checks[@]}" = 3 ] || fail "README's check block should have three commands: ${checks[*]}"
export E1=127.0.0.11 E2=127.0.0.12 E3=127.0.0.13
cd "$PKI"
for i in $(seq 150); do
  out=$(eval "${checks[0]}" 2>&1) && break
  for pid in "${ETCD_RUN_PIDS[@]}"; do kill -0 "$pid" 2>/dev/null || fail "an etcd member exited: $out"; done
  sleep 0.2
done
[ "$(grep -c 'is healthy' <<<"$out")" = 3 ] || fail "not three healthy members: $out"
pass "the members started from README's /etc/default/etcd are healthy (${#ETCD_RUN_PIDS[@]} members)"
out=$(eval "${checks[1]}") || fail "member list: $out"
for m in e1 e2 e3; do has -w "$m" <<<"$out" || fail "member list lacks $m: $out"; done
out=$(eval "${checks[2]}" 2>&1) && fail "etcd answered a client without a certificate: $out"
has 'is unhealthy' <<<"$out" || fail "the refusal does not say 'is unhealthy': $out"
has "didn't provide a certificate" "$WORK/host1/etcd.log" ||
  fail "member 1's log does not say the client had no certificate"
# A gateway's certificate writes; one from another CA does not.
ctl_etcd () { ETCDCTL_API=3 etcdctl --endpoints "https://127.0.0.11:$CPORT" --cacert ca.pem --command-timeout 2s "$@"; }
ctl_etcd --cert gw2.pem --key gw2.key put /readme ok >/dev/null || fail "gw2's certificate cannot write"
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -noenc -keyout other.key \
  -out other.pem -days 1 -subj "/CN=gw1" -addext extendedKeyUsage=clientAuth >/dev/null 2>&1
ctl_etcd --cert other.pem --key other.key get /readme >/dev/null 2>&1 &&
  fail "etcd took a client certificate from another CA"
pass "README's checks: member list, no client without a certificate of the CA"

# 4. The gateways: three agents, each its own host (tests/cluster-lib.sh),
# gw1 with a credential and a token before init.  credgatectl runs on the
# gateway $GW; README's join asks for the code on the terminal: here it
# comes on a descriptor.
[ "$(block 5 "$gateways")" = "" ] && [ -n "$(block 4 "$gateways")" ] ||
  fail "the section 'The gateways' should have four sh blocks"
cluster_agents_start
CLUSTER_TOKEN=$(ctl_on 1 token create readme)
expect "$(api_on 1 PUT /v1/credentials/readme-db "$CLUSTER_TOKEN" '{"type":"mysql","secret":"readme-canary"}')" 201
credgatectl () {
  if [ "$1 $2" = "cluster join" ]; then
    ctl_on "$GW" "$@" --code-fd 0 <<<"$CODE"
  else
    ctl_on "$GW" "$@"
  fi
}
cd "$PKI"
GW=1
out=$(eval "$(block 1 "$gateways" | bend)" 2>"$WORK/gw1.err") ||
  fail "README's init and invite on gw1 failed: $out $(cat "$WORK/gw1.err")"
CODE=$(tail -n 1 <<<"$out")
[[ $CODE == cgj_* ]] || fail "README's invite printed no code: $out"
GW=2
out=$(eval "$(block 2 "$gateways" | bend)" 2>&1) || fail "README's join on gw2 failed: $out"
GW=1
CODE=$(ctl_on 1 cluster invite --expires 1h 2>/dev/null)
GW=3
out=$(eval "$(block 2 "$gateways" | bend | sed 's/gw2/gw3/g')" 2>&1) || fail "README's join on gw3 failed: $out"
cluster_wait_alive 1 3
wait_for 20 "gw1's credential resolving on gw3" resolves 3 readme-db readme-canary
expect "$(api_on 3 GET /v1/credentials/readme-db)" 200
pass "README's init, invite and join: gw1's credential and token work on gw3"

GW=2
out=$(eval "$(block 3 "$gateways" | bend)" 2>&1) || fail "README's status failed: $out"
for gw in gw1 gw2 gw3; do has -E "^$gw\\*? +ok " <<<"$out" || fail "status does not list $gw as ok: $out"; done
has 'this node gw2: can write' <<<"$out" || fail "status does not say gw2 can write: $out"
[ "$(grep -c ' healthy ' <<<"$out")" = 3 ] || fail "status does not show three healthy etcd members: $out"
printf "%s\n" "$out"
pass "README's cluster status lists the three gateways"

GW=1
out=$(eval "$(block 4 "$gateways" | bend)" 2>&1) || fail "README's remove and key rotate --all failed: $out"
ctl_on 1 cluster status | has -w gw3 && fail "gw3 is still listed after README's remove: $(ctl_on 1 cluster status)"
resolves 2 readme-db readme-canary || fail "gw2 lost readme-db after the rotation"
pass "README's cluster remove gw3 and key rotate --all"
