#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# What a cluster refuses, and what a failed init leaves (issue 13, scenario
# 7), on three real agents and three TLS etcd members:
#  - init half-way: two etcd members stopped (SIGSTOP) while A, run in
#    short steps, has pushed some but not all of its 600 credentials into
#    etcd (its init stopped while they are counted): the init fails,
#    A is exactly the single node it was (no cluster.json, every credential
#    readable, writes work); once etcd is back a second init succeeds and
#    removes the half-done prefix the first one could not;
#  - a join code that is used, expired, forged (its secret changed, its id
#    unknown, or not a code at all) or for a cluster that does not exist is
#    refused with one message, and nothing in etcd changes (a full dump,
#    heartbeats aside, before and after each, and no write seen by a watch
#    meanwhile); the refused node stays a single node;
#  - a join on an agent that holds credentials, tokens or enrolled client
#    certificates is refused (they would be lost);
#  - a node whose etcd client certificate is not signed by the cluster's CA
#    is refused by etcd (the join fails, nothing is written), and etcdctl
#    with that certificate is refused too;
#  - a join whose end did not happen (no cluster.json) finishes when run
#    again: the node holds the admitted node key.
source "$top_srcdir/tests/cluster-lib.sh"
# Stopped members would never end on SIGTERM: go on before cleaning up.
resume_etcd () { kill -CONT "${ETCD_PIDS[0]}" "${ETCD_PIDS[1]}" 2>/dev/null || true; }
trap 'resume_etcd; cluster_cleanup; cleanup' EXIT

cluster_start
T=$(ctl_on 1 token create loader)
CLUSTER_TOKEN=$T

# 600 credentials on A, over one keep-alive connection.
python3 - "${NODE_PORT[1]}" "${NODE_STATE[1]}/tls/server.crt" "$T" <<'PY' || fail "loading A"
import http.client, json, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
c = http.client.HTTPSConnection("localhost", int(sys.argv[1]), context=ctx)
for i in range(600):
    body = json.dumps({"type": "mysql", "properties": {"i": i}, "secret": "s%d" % i})
    c.request("PUT", "/v1/credentials/c%03d" % i, body,
              {"Authorization": "Bearer " + sys.argv[3], "Content-Type": "application/json"})
    r = c.getresponse(); r.read()
    assert r.status == 201, r.status
PY

# 1. init half-way: A run in short steps (tests/etcd-step.py) until etcd
#    holds some but not all of its 600 records, and no "ready" key: then
#    members 1 and 2 are stopped while A is, and A goes on to find no quorum
#    for its next write.
etcd_step 1 records:600 "stop:${ETCD_PIDS[0]},${ETCD_PIDS[1]}"
etcd_opts 1
if ctl_on 1 cluster init "${ETCD_OPTS[@]}" --name gw1 --address "${NODE_ADDRESS[1]}" \
   >"$WORK/init.out" 2>&1; then
  fail "init succeeded although etcd lost its quorum half-way: $(cat "$WORK/init.out")"
fi
etcd_step_wait
resume_etcd
has "cluster_unavailable\|etcd" "$WORK/init.out" || fail "init failed with: $(cat "$WORK/init.out")"
[ ! -e "${NODE_STATE[1]}/cluster.json" ] || fail "a failed init left cluster.json"
ctl_on 1 --json status | python3 -c 'import json,sys; s=json.load(sys.stdin); assert "cluster" not in s and s["credentials"] == 600, s' ||
  fail "A after the failed init"
expect "$(api_on 1 GET /v1/credentials/c599)" 200
expect "$(api_on 1 PUT /v1/credentials/after-failed-init "$T" '{"type":"mysql","properties":{},"secret":"x"}')" 201
ctl_on 1 credential resolve c123 | has '"s123"' || fail "A cannot open its credentials after the failed init"
etcd_cluster_wait_healthy
LEFT=$(etcdctl_cg get --prefix /credgate/ --keys-only | grep -c . || true)
pass "init failed half-way (etcd without quorum, $STEP_SEEN pushed): A is the single node it was ($LEFT keys left in etcd)"

out=$(ctl_on 1 cluster init "${ETCD_OPTS[@]}" --name gw1 --address "${NODE_ADDRESS[1]}") ||
  fail "init after etcd came back: $out"
CID=$(echo "$out" | sed -n 's/^cluster \([^ ]*\) made.*/\1/p')
P="/credgate/$CID/"
others=$(etcdctl_cg get --prefix /credgate/ --keys-only | grep . | grep -v "^$P" || true)
[ -z "$others" ] || fail "the half-done prefix is still in etcd: $(echo "$others" | head -3)"
[ "$(etcdctl_cg get --prefix "${P}rec/" --keys-only | grep -c .)" = 601 ] || fail "not every credential in etcd"
pass "a second init succeeds and removes what the failed one left"

# 2. Refused codes: nothing in etcd changes.
dump () { etcdctl_cg get --prefix "" -w json | python3 -c '
import base64, json, sys
for kv in json.load(sys.stdin).get("kvs", []):
    k = base64.b64decode(kv["key"]).decode()
    if "/alive/" in k: continue          # heartbeats
    print(k, kv["mod_revision"], kv.get("value", ""))'; }
# watch_start / watch_writes: every write to etcd in between (a pending
# entry written and deleted again leaves the dump as it was), heartbeats aside.
watch_start () {
  (CG_ETCDCTL_EXEC=1 etcdctl_cg watch --prefix /credgate/) > "$WORK/watch.log" 2>&1 &
  WATCHER=$!
  sleep 0.5
}
watch_writes () {
  sleep 0.5
  kill "$WATCHER" 2>/dev/null || true
  wait "$WATCHER" 2>/dev/null || true
  grep '^/credgate/' "$WORK/watch.log" | grep -v '/alive/' || true
}
refused () {
  local n=$1 what=$2 code=$3
  shift 3
  local before after writes
  before=$(dump)
  watch_start
  etcd_opts "$n"
  if printf '%s\n' "$code" | ctl_on "$n" cluster join "${ETCD_OPTS[@]}" --name "${NODE_NAME[$n]}" \
     --address "${NODE_ADDRESS[$n]}" --code-fd 0 "$@" >"$WORK/join.out" 2>&1; then
    fail "join with $what accepted"
  fi
  writes=$(watch_writes)
  has "the join code is not valid" "$WORK/join.out" || fail "join with $what said: $(cat "$WORK/join.out")"
  after=$(dump)
  [ "$before" = "$after" ] || fail "join with $what changed etcd: $(diff <(echo "$before") <(echo "$after") | head -5)"
  [ -z "$writes" ] || fail "join with $what wrote to etcd: $writes"
  [ ! -e "${NODE_STATE[$n]}/cluster.json" ] || fail "join with $what wrote cluster.json"
}

CODE=$(ctl_on 1 cluster invite 2>/dev/null)
printf '%s\n' "$CODE" | { etcd_opts 2; ctl_on 2 cluster join "${ETCD_OPTS[@]}" --name gw2 \
  --address "${NODE_ADDRESS[2]}" --code-fd 0; } >/dev/null || fail "join of B"
refused 3 "a used code" "$CODE"

SHORT=$(ctl_on 1 cluster invite --expires 1s 2>/dev/null)
sleep 2
refused 3 "an expired code" "$SHORT"

GOOD=$(ctl_on 1 cluster invite 2>/dev/null)
# The secret part changed (the last 43 characters), id and cluster kept.
FORGED=$(python3 -c '
import base64, sys
c = sys.argv[1]
raw = bytearray(base64.urlsafe_b64decode(c[4:] + "=="))
raw[40] ^= 1
print("cgj_" + base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("="))' "$GOOD")
refused 3 "a forged code (secret changed)" "$FORGED"
UNKNOWN=$(python3 -c '
import base64, os, sys
raw = bytearray(base64.urlsafe_b64decode(sys.argv[1][4:] + "=="))
raw[16:] = os.urandom(48)
print("cgj_" + base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("="))' "$GOOD")
refused 3 "a code with an unknown id" "$UNKNOWN"
OTHER=$(python3 -c '
import base64, os
print("cgj_" + base64.urlsafe_b64encode(os.urandom(64)).decode().rstrip("="))')
refused 3 "a code for no cluster" "$OTHER"
refused 3 "not a code" "cge_not-a-cluster-code"
ctl_on 3 --json status | python3 -c 'import json,sys; assert "cluster" not in json.load(sys.stdin)' ||
  fail "C is not a single node after the refused joins"
pass "used, expired, forged, unknown and malformed codes refused; etcd unchanged each time"

# 3. An agent with credentials does not join (they would be lost).
# join_refused_non_empty WHAT SAYS: C's join with the good code is refused
# saying SAYS, and etcd is as it was.
join_refused_non_empty () {
  local before
  before=$(dump)
  etcd_opts 3
  if printf '%s\n' "$GOOD" | ctl_on 3 cluster join "${ETCD_OPTS[@]}" --name gw3 \
     --address "${NODE_ADDRESS[3]}" --code-fd 0 >"$WORK/join.out" 2>&1; then
    fail "an agent $1 joined"
  fi
  has "$2" "$WORK/join.out" || fail "join of an agent $1 said: $(cat "$WORK/join.out")"
  [ "$before" = "$(dump)" ] || fail "the refused join of an agent $1 changed etcd"
}
C_TOKEN=$(ctl_on 3 token create local)
join_refused_non_empty "holding a token" "a node joins empty"
ctl_on 3 token revoke local >/dev/null
pass "an agent holding a token is refused before anything is written"

# 3b. Nor one with an enrolled client certificate (its client CA and
#     clients would be lost to the cluster's).
openssl ecparam -name prime256v1 -genkey -noout -out "$WORK/dev.key" 2>/dev/null
openssl req -new -key "$WORK/dev.key" -subj "/CN=dev" -out "$WORK/dev.csr" 2>/dev/null
r=$(ctl_on 3 client enroll dev 2>/dev/null | python3 -c 'import json,sys; print(json.dumps({"code": sys.stdin.read().strip(), "csr": open(sys.argv[1]).read()}))' "$WORK/dev.csr" |
  api_on 3 POST /v1/enroll "" -)
expect "$r" 201
join_refused_non_empty "with an enrolled client" "1 client(s); a node joins empty"
ctl_on 3 client revoke dev >/dev/null
pass "an agent with an enrolled client certificate is refused before anything is written"

# 4. An etcd client certificate from another CA: refused by etcd.
before=$(dump)
if printf '%s\n' "$GOOD" | ctl_on 3 cluster join --etcd "$ETCD_ENDPOINTS" --etcd-ca "$ETCD_CA" \
   --etcd-cert "$ETCD_FOREIGN_CERT" --etcd-key "$ETCD_FOREIGN_KEY" --name gw3 \
   --address "${NODE_ADDRESS[3]}" --code-fd 0 >"$WORK/join.out" 2>&1; then
  fail "a node with a foreign etcd client certificate joined"
fi
has -- "etcd accepts the client certificate --etcd-cert" "$WORK/join.out" || fail "the foreign certificate's join said: $(cat "$WORK/join.out")"
[ "$before" = "$(dump)" ] || fail "the foreign certificate's join changed etcd"
if ETCDCTL_API=3 etcdctl --endpoints "$ETCD_ENDPOINTS" --cacert "$ETCD_CA" --cert "$ETCD_FOREIGN_CERT" \
   --key "$ETCD_FOREIGN_KEY" --command-timeout 3s --dial-timeout 2s get /credgate/ --prefix --keys-only \
   >/dev/null 2>&1; then
  fail "etcd answered a client certificate from another CA"
fi
pass "an etcd client certificate from another CA is refused by etcd"

# The good code still works: nothing above used it up.
printf '%s\n' "$GOOD" | { etcd_opts 3; ctl_on 3 cluster join "${ETCD_OPTS[@]}" --name gw3 \
  --address "${NODE_ADDRESS[3]}" --code-fd 0; } >/dev/null || fail "join of C with the good code"
ctl_on 3 credential resolve c042 | has '"s42"' || fail "C cannot resolve A's credential"
pass "the good code, tried by none of the refusals, still joins C"

# 5. A join whose end did not happen (C stopped before cluster.json was
#    written): the same join again, its code used up, finishes it: C holds
#    the admitted node key.
agent_stop 3
rm "${NODE_STATE[3]}/cluster.json"
agent_start 3
ctl_on 3 --json status | python3 -c 'import json,sys; assert "cluster" not in json.load(sys.stdin)' ||
  fail "C without cluster.json is not a single node"
printf '%s\n' "$GOOD" | { etcd_opts 3; ctl_on 3 cluster join "${ETCD_OPTS[@]}" --name gw3 \
  --address "${NODE_ADDRESS[3]}" --code-fd 0; } >"$WORK/join.out" 2>&1 ||
  fail "the join of C run again: $(cat "$WORK/join.out")"
[ -f "${NODE_STATE[3]}/cluster.json" ] || fail "no cluster.json after the join run again"
expect "$(api_on 3 PUT /v1/credentials/from-c "$T" '{"type":"mysql","properties":{},"secret":"c"}')" 201
for i in $(seq 100); do ctl_on 1 credential resolve from-c 2>/dev/null | has '"c"' && break; sleep 0.1; done
ctl_on 1 credential resolve from-c | has '"c"' || fail "A does not see what C stored after finishing its join"
pass "a join run again after its end failed finishes it"
