#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The clients and key rotate --all in a real cluster (issue 13): three TLS
# etcd members, three agents each on its own keyring and state.
#  - credgate-encrypt-value trusts A on first use and learns B's and C's
#    pins from A's /v1/info (cluster.nodes) "via" A: it then talks to B
#    with no prompt;
#  - --agent A,B,C with A stopped: B answers;
#  - key rotate --all on B: every node opens what was stored before and
#    after, under the new master key;
#  - client certificates: a code made on A enrolls a client on B
#    (credgate-encrypt-value --enroll), whose certificate then authenticates
#    on A, B and C (curl, credgate-encrypt-value); the code is refused when
#    used again on C and A; revoked on C, refused on A and B at their next
#    connection, and every node's status counts it no more;
#  - no failover after a definite answer: a PUT through the desktop
#    client's list A,B that A answers 409 (its txn lost the compare to B's
#    writes of the same name) reports the conflict and never reaches B.
source "$top_srcdir/tests/cluster-lib.sh"
EV="$top_builddir/credgate-encrypt-value"

# capi_on N CERT KEY PATH: GET PATH on node N with a client certificate and
# no token; prints "STATUS BODY".
capi_on () {
  local n=$1 out code
  out=$(mktemp "$WORK/out.XXXXXX")
  code=$(curl -sS -o "$out" -w '%{http_code}' --max-time 30 --cacert "${NODE_STATE[$n]}/tls/server.crt" \
    --cert "$2" --key "$3" "https://localhost:${NODE_PORT[$n]}$4" </dev/null) || true
  printf '%s %s\n' "${code:-000}" "$(cat "$out")"
  rm -f "$out"
}
# new_csr NAME: a P-256 key and a CSR for it in $WORK (openssl: any
# client's own); enroll_body NAME: the POST /v1/enroll body with the code
# on stdin.
new_csr () {
  openssl ecparam -name prime256v1 -genkey -noout -out "$WORK/$1.key" 2>/dev/null
  openssl req -new -key "$WORK/$1.key" -subj "/CN=$1" -out "$WORK/$1.csr" 2>/dev/null
}
enroll_body () {
  python3 -c 'import json,sys; print(json.dumps({"code": sys.stdin.read().strip(), "csr": open(sys.argv[1]).read()}))' \
    "$WORK/$1.csr"
}
# cert_of REPLY NAME: the certificate of a 201 enrollment into $WORK/NAME.crt.
cert_of () {
  expect "$1" 201
  printf '%s' "${1#* }" | python3 -c 'import json,sys; sys.stdout.write(json.load(sys.stdin)["certificate"])' >"$WORK/$2.crt"
}

cluster_start
CLUSTER_TOKEN=$(ctl_on 1 token create clients)
printf '%s\n' "$CLUSTER_TOKEN" >"$WORK/token"
export CREDGATE_TOKEN_FILE="$WORK/token"
expect "$(api_on 1 PUT /v1/credentials/before "$CLUSTER_TOKEN" '{"type":"mysql","properties":{},"secret":"s-before"}')" 201
# A single agent's client CA, a client it enrolled and a code still
# pending move into the cluster with cluster init.
new_csr early
cert_of "$(ctl_on 1 client enroll early 2>/dev/null | enroll_body early | api_on 1 POST /v1/enroll "" -)" early
[ "$(capi_on 1 "$WORK/early.crt" "$WORK/early.key" /v1/credentials | cut -d' ' -f1)" = 200 ] || fail "early on A"
ctl_on 1 client enroll later --expires 1h 2>/dev/null >"$WORK/later.code" || fail "client enroll later"
# B checks it against B's own client CA for now (and keeps that in hand):
# after the join, against the cluster's.
expect "$(capi_on 2 "$WORK/early.crt" "$WORK/early.key" /v1/credentials)" 403 client_certificate_refused
etcd_opts 1
ctl_on 1 cluster init "${ETCD_OPTS[@]}" --name gw1 --address "${NODE_ADDRESS[1]}" >/dev/null ||
  fail "cluster init on A"
for n in 2 3; do
  code=$(ctl_on 1 cluster invite --expires 10m 2>/dev/null) || fail "invite for $n"
  etcd_opts "$n"
  printf '%s\n' "$code" | ctl_on "$n" cluster join "${ETCD_OPTS[@]}" --name "${NODE_NAME[$n]}" \
    --address "${NODE_ADDRESS[$n]}" --code-fd 0 >"$WORK/join-$n.out" 2>&1 ||
    fail "join of node $n: $(cat "$WORK/join-$n.out")"
done
nodes_listed () { [ "$(api_on 1 GET /v1/info "" | cut -d' ' -f2- | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["cluster"]["nodes"]))')" = 3 ]; }
wait_for 20 "A's /v1/info listing 3 nodes" nodes_listed
for n in 2 3; do
  expect "$(capi_on "$n" "$WORK/early.crt" "$WORK/early.key" /v1/credentials)" 200
done
new_csr later
cert_of "$(enroll_body later <"$WORK/later.code" | api_on 3 POST /v1/enroll "" -)" later
expect "$(capi_on 2 "$WORK/later.crt" "$WORK/later.key" /v1/credentials)" 200
pass "cluster init moved A's client CA, its enrolled client and a pending code: both work on B and C (B's own CA gave way)"
A=${NODE_ADDRESS[1]} B=${NODE_ADDRESS[2]} C=${NODE_ADDRESS[3]}
KNOWN="$XDG_CONFIG_HOME/credgate/known_agents"

run () { set +e; "$@" >"$WORK/out" 2>"$WORK/err"; rc=$?; set -e; }
run "$EV" --agent "$B" <<<"x"
[ $rc = 4 ] || fail "B was trusted before anything vouched for it: rc $rc"
run "$EV" --fetch-key "$A" --trust-on-first-use
[ $rc = 0 ] || fail "first contact with A: $(cat "$WORK/err")"
for x in "$B" "$C"; do
  has -x "$x sha256:[A-Za-z0-9+/]\{43\}= via:$A" "$KNOWN" || fail "$x not learned via A: $(cat "$KNOWN")"
done
b_pin=$(ctl_on 2 --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["tlsPin"])')
has -x "$B $b_pin via:$A" "$KNOWN" || fail "B's learned pin is not the one B serves ($b_pin): $(cat "$KNOWN")"
run "$EV" --agent "$B" --json <<<"to-b"
[ $rc = 0 ] || fail "B, learned through A, is not trusted: $(cat "$WORK/err")"
pass "trusting A on first use records B's and C's pins from A's /v1/info, via A; B is then used with no prompt"

agent_stop 1
run "$EV" --agent "$A,$B,$C" --json -v --context ls <<<"failed-over"
[ $rc = 0 ] || fail "failover with A stopped: $(cat "$WORK/err")"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["agent"] == sys.argv[2], d' "$WORK/out" "$B" ||
  fail "not answered by B: $(cat "$WORK/out")"
python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["encryptedCredential"])' "$WORK/out" >"$WORK/v.jwe"
[ "$(ctl_on 3 decrypt --context ls <"$WORK/v.jwe")" = failed-over ] || fail "the value made through B does not open on C"
pass "--agent A,B,C with A stopped: B answers, C opens what B sealed"
agent_start 1

# key rotate --all on B; every node opens every record, old and new.
expect "$(api_on 2 PUT /v1/credentials/mid "$CLUSTER_TOKEN" '{"type":"mysql","properties":{},"secret":"s-mid"}')" 201
ctl_on 2 key rotate --all >"$WORK/rot.out" 2>"$WORK/rot.err" || fail "rotate --all on B: $(cat "$WORK/rot.err")"
has 'retired master key: 0' "$WORK/rot.out" || fail "rotate --all said: $(cat "$WORK/rot.out")"
expect "$(api_on 3 PUT /v1/credentials/after "$CLUSTER_TOKEN" '{"type":"mysql","properties":{},"secret":"s-after"}')" 201
for n in 1 2 3; do
  wait_for 20 "node $n opens 'after'" resolves "$n" after s-after
  resolves "$n" before s-before || fail "node $n cannot open 'before' after rotate --all"
  resolves "$n" mid s-mid || fail "node $n cannot open 'mid' after rotate --all"
  [ "$(ctl_on "$n" decrypt --context ls <"$WORK/v.jwe")" = failed-over ] || fail "node $n: the old value"
done
pass "key rotate --all on B: A, B and C open every record stored before and after it, and the old value"

# Client certificates are the cluster's (issue 13): a code made on A
# enrolls a client on B; its certificate authenticates on A, B and C over
# real TLS; the same code again on C is refused; revoked on C, refused on A
# and B at their next connection.
pending_on () { ctl_on "$1" client list | grep "^$2 " | has pending; }
cert_status_on () { [ "$(capi_on "$1" "$WORK/roamer.crt" "$WORK/roamer.key" /v1/credentials | cut -d' ' -f1)" = "$2" ]; }
clients_on () { ctl_on "$1" status | has -E "clients: *$2 enrolled"; }

ENROLL_CODE=$(ctl_on 1 client enroll roamer --expires 10m 2>/dev/null) || fail "client enroll on A"
[[ "$ENROLL_CODE" == cge_* ]] || fail "client enroll on A printed '$ENROLL_CODE'"
wait_for 10 "A's enrollment code pending on B" pending_on 2 roamer
run "$EV" --agent "$B" --enroll --client-cert "$WORK/roamer.crt" --client-key "$WORK/roamer.key" <<<"$ENROLL_CODE"
[ $rc = 0 ] || fail "enrolling on B with A's code: $(cat "$WORK/err")"
has 'enrolled as "roamer"' "$WORK/out" || fail "enroll on B said: $(cat "$WORK/out")"
for n in 1 2 3; do
  wait_for 10 "roamer's certificate accepted on node $n" cert_status_on "$n" 200
done
run "$EV" --agent "$C" --client-cert "$WORK/roamer.crt" --client-key "$WORK/roamer.key" --context cc <<<"by-roamer"
[ $rc = 0 ] || fail "encrypt-value on C with the certificate enrolled on B: $(cat "$WORK/err")"
[ "$(ctl_on 1 decrypt --context cc <"$WORK/out")" = by-roamer ] || fail "A cannot open what C sealed for roamer"
ctl_on 3 --json client list | python3 -c '
import json, sys
rows = [r for r in json.load(sys.stdin) if r["name"] == "roamer" and r["state"] == "active"]
assert len(rows) == 1 and rows[0]["lastUsed"], rows' || fail "C did not record roamer's use"
for n in 1 2 3; do
  wait_for 10 "roamer listed active with 3 clients enrolled on node $n" clients_on "$n" 3
  ctl_on "$n" client list | grep '^roamer ' | has active || fail "roamer not active on node $n: $(ctl_on "$n" client list)"
done
pass "a code made on A enrolls a client on B (credgate-encrypt-value --enroll); its certificate authenticates on A, B and C"

# The same code on C: used up cluster-wide.
openssl ecparam -name prime256v1 -genkey -noout -out "$WORK/again.key" 2>/dev/null
openssl req -new -key "$WORK/again.key" -subj "/CN=roamer" -out "$WORK/again.csr" 2>/dev/null
body=$(python3 -c 'import json,sys; print(json.dumps({"code": sys.stdin.read().strip(), "csr": open(sys.argv[1]).read()}))' \
  "$WORK/again.csr" <<<"$ENROLL_CODE")
expect "$(api_on 3 POST /v1/enroll "" "$body")" 403 enrollment_refused
run "$EV" --agent "$A" --enroll --client-cert "$WORK/again.crt" --client-key "$WORK/again2.key" <<<"$ENROLL_CODE"
[ $rc = 5 ] || fail "the used code on A via encrypt-value exited $rc: $(cat "$WORK/err")"
[ ! -e "$WORK/again.crt" ] || fail "a refused enrollment left a certificate"
cert_status_on 2 200 || fail "the refused reuse changed roamer's certificate"
pass "the same enrollment code used again on C (and A) is refused: one code, one certificate, cluster-wide"

# Revoked on C: refused on C at once, on A and B at their next connection.
ctl_on 3 client revoke roamer >/dev/null || fail "client revoke on C"
r=$(capi_on 3 "$WORK/roamer.crt" "$WORK/roamer.key" /v1/credentials)
expect "$r" 403 client_certificate_refused
echo "$r" | has revoked || fail "C's refusal says: $r"
for n in 1 2; do
  wait_for 10 "roamer refused on node $n after its revocation on C" cert_status_on "$n" 403
  r=$(capi_on "$n" "$WORK/roamer.crt" "$WORK/roamer.key" /v1/credentials)
  echo "$r" | has 'client_certificate_refused.*revoked' || fail "node $n's refusal says: $r"
  ctl_on "$n" client list | grep '^roamer ' | has revoked || fail "roamer not listed revoked on node $n"
  clients_on "$n" 2 || fail "node $n still counts roamer: $(ctl_on "$n" status | grep clients)"
done
pass "a client revoked on C is refused on C, and on A and B at their next connection"

# A backup made on a member holds the cluster's client CA and the
# certificates enrolled on any node (early and later from before init,
# roamer, enrolled on B and revoked on C).
ca_pin=$(sqlite3 -readonly "${NODE_STATE[3]}/state.db" "SELECT value FROM meta WHERE key = 'client_ca_cert'" \
  | openssl x509 -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64)
[ -n "$ca_pin" ] || fail "C's replica holds no client CA certificate"
printf 'cluster-clients-backup\n' >"$WORK/pass"
ctl_on 1 backup --output "$WORK/a.cgb" --passphrase-fd 3 3<"$WORK/pass" >/dev/null || fail "backup on A"
ctl_on 1 backup --inspect "$WORK/a.cgb" >"$WORK/inspect" || fail "backup --inspect"
has "^clients: *3 enrolled, client CA sha256:$ca_pin\$" "$WORK/inspect" || fail "inspect: $(cat "$WORK/inspect")"
pass "a backup on A holds the cluster's client CA and the client enrolled on B and revoked on C"

# No failover on 409.  B takes back-to-back PUTs of one name (curl, one
# kept-alive connection) while the desktop app's client (gui/cg-manager-
# client.c, through tests/test-gui-failover) stores the same name with the
# list A,B, its own token, until A answers 409: A's txn compared the
# record's revision in its replica and lost to a write B committed
# meanwhile.  The client reports that conflict, and B's audit log has no
# line from that token: B never heard of it.
PROBE_TOKEN=$(ctl_on 1 token create gui-probe)
printf '%s\n' "$PROBE_TOKEN" >"$WORK/probe-token"
printf 'Authorization: Bearer %s\n' "$CLUSTER_TOKEN" >"$WORK/auth"
pin_of () { ctl_on "$1" --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["tlsPin"])'; }
probe_works_on_a () { [ "$(api_on 1 GET /v1/credentials "$PROBE_TOKEN" | cut -d' ' -f1)" = 200 ]; }
wait_for 20 "the probe token working on A" probe_works_on_a
PIN_A=$(pin_of 1) PIN_B=$(pin_of 2)
urls=()
for i in $(seq 50); do urls+=("https://localhost:${NODE_PORT[2]}/v1/credentials/raced"); done
( while [ ! -e "$WORK/stop-race" ]; do
    curl -s --cacert "${NODE_STATE[2]}/tls/server.crt" -H @"$WORK/auth" -X PUT \
      -H 'Content-Type: application/json' --data-binary '{"type":"mysql","properties":{},"secret":"from-b"}' \
      "${urls[@]}" >/dev/null 2>&1 || true
  done ) &
racer=$!
conflict=
for i in $(seq 300); do
  out=$("$top_builddir/tests/test-gui-failover" put=raced "$A=$PIN_A" "$B=$PIN_B" <"$WORK/probe-token")
  case $out in
    "answered $A "*) ;;
    "error CG_ERROR "*"[conflict]") conflict=$out; break ;;
    *) touch "$WORK/stop-race"; wait "$racer"; fail "the desktop client's PUT through A,B: $out" ;;
  esac
done
touch "$WORK/stop-race"
wait "$racer"
[ -n "$conflict" ] || fail "A answered no 409 in 300 PUTs racing B's"
grep -F '"who":"gui-probe"' "${NODE_LOG[1]}" | has 'credential.put.*changed on another node' ||
  fail "A's audit log does not show the conflict: $(grep gui-probe "${NODE_LOG[1]}" | tail -n 3)"
! has '"who":"gui-probe"' "${NODE_LOG[2]}" || fail "B heard of the PUT that A refused: $(grep gui-probe "${NODE_LOG[2]}")"
pass "a PUT through A,B that A answers 409 (after $i tries racing B's writes) reports the conflict; B never heard of it (its audit log)"
