#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The cluster, issue 13 scenario 4: two of the three etcd members stopped.
# On every node a write (PUT, DELETE, an enrollment; token create and
# revoke, key rotate on the admin socket) answers 503
# cluster_unavailable within 5 s and never hangs, also 8 sent at once (the
# ones queued behind the first count from when they were sent); reads go
# on from the replica (GET, list, resolve, /v1/encrypt to the current key,
# decrypt, /v1/verify); /v1/info says how stale the replica is; nothing is
# half-written.  With the members back, writes resume on every node and
# the replicas converge.  The same bursts first with the two members
# frozen (SIGSTOP) instead: etcd then answers nothing at all, as behind a
# network partition, and every check waits out its bound.
source "$top_srcdir/tests/cluster-lib.sh"

cluster_start
cluster_form
cluster_token quorum
for i in 0 1 2; do
  expect "$(api_on $(( i + 1 )) PUT "/v1/credentials/q-$i" "$CLUSTER_TOKEN" \
    "{\"type\":\"mysql\",\"secret\":\"before-$i\"}")" 201
done
r=$(api_on 2 POST /v1/encrypt "$CLUSTER_TOKEN" '{"value":"sealed-before","context":"q"}')
expect "$r" 200
JWE_BEFORE=$(sed -n 's/.*"encryptedCredential":"\([^"]*\)".*/\1/p' <<<"$r")
# For the other write paths without quorum: a token to revoke, an
# enrollment code to use (and its CSR).
ctl_on 1 token create spare >/dev/null || fail "token create spare"
ENROLL_CODE=$(ctl_on 1 client enroll during-q --expires 30m 2>/dev/null) || fail "client enroll"
openssl ecparam -name prime256v1 -genkey -noout -out "$WORK/q.key" 2>/dev/null
openssl req -new -key "$WORK/q.key" -subj "/CN=during-q" -out "$WORK/q.csr" 2>/dev/null
ENROLL_BODY=$(python3 -c 'import json,sys; print(json.dumps({"code": sys.stdin.read().strip(), "csr": open(sys.argv[1]).read()}))' \
  "$WORK/q.csr" <<<"$ENROLL_CODE")
cluster_wait_converged 30
replica_dump 1 >"$WORK/before"
ctl_on 1 key list >"$WORK/keys-before"

etcd_leader () { # the member (1..3) that leads
  local leader
  leader=$(etcdctl_cg endpoint status --write-out=json | python3 -c '
import json, os, sys
for e in json.load(sys.stdin):
    if e["Status"]["header"]["member_id"] == e["Status"]["leader"]:
        for n in (1, 2, 3):
            if os.environ["ETCD_ENDPOINT_%d" % n] == e["Endpoint"]:
                print(n)')
  case $leader in 1 | 2 | 3) echo "$leader" ;; *) fail "no etcd leader found: $leader" ;; esac
}

# burst N: BURST writes sent at once to node N (PUTs of new names and of
# existing ones, DELETEs), each with curl's own "STATUS SECONDS" in
# $WORK/burst/N-I, while GET and list go on; burst_refused N WHAT: each
# answered 503 cluster_unavailable within 5 s of being sent (curl's
# time_total: from its connection to the last byte), the slowest in
# $BURST_MAX.  The token travels in a header file, not argv.
BURST=8 BURST_MAX=0
mkdir -p "$WORK/burst"
printf 'Authorization: Bearer %s\n' "$CLUSTER_TOKEN" >"$WORK/burst/auth"
burst_write () {
  local n=$1 i=$2 url="https://localhost:${NODE_PORT[$1]}/v1/credentials" args
  args=(-sS -o "$WORK/burst/$n-$i.body" -w '%{http_code} %{time_total}\n' --max-time 30
        --cacert "${NODE_STATE[$n]}/tls/server.crt" -H @"$WORK/burst/auth")
  case $(( i % 3 )) in
    0) args+=(-X PUT -H 'Content-Type: application/json' --data-binary '{"type":"mysql","secret":"never"}' "$url/burst-$n-$i") ;;
    1) args+=(-X PUT -H 'Content-Type: application/json' --data-binary '{"type":"mysql","secret":"never"}' "$url/q-$(( i % 3 ))") ;;
    *) args+=(-X DELETE "$url/q-$(( i % 3 ))") ;;
  esac
  curl "${args[@]}" >"$WORK/burst/$n-$i" 2>>"$WORK/burst/errors" || true
}
burst () {
  local n=$1 i pids=()
  rm -f "$WORK/burst/$n-"*
  for i in $(seq "$BURST"); do burst_write "$n" "$i" & pids+=($!); done
  for i in 1 2; do
    [ "$(api_on "$n" GET /v1/credentials/q-0 | cut -d' ' -f1)" = 200 ] || echo "node $n: GET during the burst" >>"$WORK/burst/read-errors"
    [ "$(api_on "$n" GET /v1/credentials | cut -d' ' -f1)" = 200 ] || echo "node $n: list during the burst" >>"$WORK/burst/read-errors"
  done
  wait "${pids[@]}"
}
burst_refused () {
  local n=$1 what=$2 i code secs
  [ ! -s "$WORK/burst/read-errors" ] || fail "reads failed: $(cat "$WORK/burst/read-errors")"
  for i in $(seq "$BURST"); do
    read -r code secs <"$WORK/burst/$n-$i" || fail "node $n ($what), write $i: no answer: $(cat "$WORK/burst/errors")"
    [ "$code" = 503 ] && has '"code":"cluster_unavailable"' "$WORK/burst/$n-$i.body" ||
      fail "node $n ($what), concurrent write $i: $code $(cat "$WORK/burst/$n-$i.body")"
    echo "# node $n ($what), concurrent write $i: 503 in $secs s"
    awk -v s="$secs" 'BEGIN {exit !(s <= 5.0)}' || fail "node $n ($what), concurrent write $i answered after $secs s"
    BURST_MAX=$(awk -v a="$BURST_MAX" -v b="$secs" 'BEGIN {print (b > a) ? b : a}')
  done
}

# Frozen: the two members that do not lead stop answering (SIGSTOP), as
# behind a partition: a connection to them is accepted and hangs.  Bursts
# at nodes 1 and 2; the members go on (SIGCONT) before anything is
# checked, so that a failed check never leaves them stopped.
leader=$(etcd_leader)
for m in 1 2 3; do [ "$m" = "$leader" ] || kill -STOP "${ETCD_PIDS[$(( m - 1 ))]}"; done
burst 1; burst 2
for m in 1 2 3; do [ "$m" = "$leader" ] || kill -CONT "${ETCD_PIDS[$(( m - 1 ))]}"; done
burst_refused 1 frozen; burst_refused 2 frozen
pass "the two etcd members that do not lead frozen: $BURST writes sent at once to node 1, then to node 2, each answer 503 cluster_unavailable within 5 s (the slowest $BURST_MAX s); reads answered meanwhile"
etcd_cluster_wait_healthy

# Stopped: the two members that do not lead.  The leader then has a txn
# in hand in the second before it notices it lost its quorum, the case
# where a write answered 503 could be committed later.
leader=$(etcd_leader)
for m in 1 2 3; do [ "$m" = "$leader" ] || etcd_member_stop "$m"; done
pass "the two etcd members that do not lead stopped (member $leader leads)"
BURST_MAX=0
for n in 1 2 3; do burst "$n"; burst_refused "$n" stopped; done
pass "$BURST writes sent at once to each node: every one answers 503 cluster_unavailable within 5 s (the slowest $BURST_MAX s); reads answered meanwhile"

# Writes: 503 cluster_unavailable within 5 s, on every node.
timed () { # prints "SECONDS STATUS BODY" of api_on ARGS…, SECONDS curl's
  local r
  r=$(api_on "$@")
  printf '%s %s\n' "$(api_time)" "$r"
}
within5 () { awk -v s="${1%% *}" 'BEGIN {exit !(s <= 5.0)}'; }
for n in 1 2 3; do
  r=$(timed "$n" PUT "/v1/credentials/new-$n" "$CLUSTER_TOKEN" '{"type":"mysql","secret":"never"}')
  first=${r%% *}
  within5 "$r" || fail "node $n: the PUT took ${r%% *} s: $r"
  expect "${r#* }" 503 cluster_unavailable
  r=$(timed "$n" PUT "/v1/credentials/q-$(( n - 1 ))" "$CLUSTER_TOKEN" '{"type":"mysql","secret":"never"}')
  within5 "$r" || fail "node $n: the replacing PUT took ${r%% *} s"
  expect "${r#* }" 503 cluster_unavailable
  r=$(timed "$n" DELETE "/v1/credentials/q-$(( n - 1 ))" "$CLUSTER_TOKEN")
  within5 "$r" || fail "node $n: the DELETE took ${r%% *} s"
  expect "${r#* }" 503 cluster_unavailable
  r=$(timed "$n" POST /v1/enroll "" "$ENROLL_BODY")
  within5 "$r" || fail "node $n: the enrollment took ${r%% *} s"
  expect "${r#* }" 503 cluster_unavailable
  for cmd in "token create during-$n" "token revoke spare" "key rotate"; do
    t0=$(date +%s.%N)
    # shellcheck disable=SC2086 # the words of $cmd are its arguments
    out=$(ctl_on "$n" $cmd 2>&1) && fail "node $n: $cmd without quorum: $out"
    t1=$(date +%s.%N)
    # The store's refusal, or (key rotate) the cluster's own read of its nodes.
    has -i -e 'cluster is unavailable' -e 'etcd' <<<"$out" || fail "node $n: $cmd said: $out"
    awk -v a="$t0" -v b="$t1" 'BEGIN {exit !(b - a <= 5.0)}' || fail "node $n: $cmd took over 5 s"
  done
  pass "node $n: PUT (${first} s), replace, DELETE, enroll answer 503 cluster_unavailable within 5 s; token create and revoke, key rotate refused within 5 s"
done

# 503 cluster_unavailable fails over: a client cannot tell a cluster
# without quorum from a node that alone lost touch with etcd, where the
# next node takes the write; and each node answers within 5 s, so the
# whole list answers within 5 s per node.  The desktop app's client with
# the list A,B: A refuses, B is asked (both audit the attempt), the client
# reports cluster_unavailable.
printf '%s\n' "$CLUSTER_TOKEN" >"$WORK/token"
pin_of () { ctl_on "$1" --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["tlsPin"])'; }
out=$("$top_builddir/tests/test-gui-failover" put=failover-503 "${NODE_ADDRESS[1]}=$(pin_of 1)" \
  "${NODE_ADDRESS[2]}=$(pin_of 2)" <"$WORK/token")
case $out in "error CG_ERROR "*"[cluster_unavailable]") ;; *) fail "the desktop client's PUT through A,B without quorum: $out" ;; esac
for n in 1 2; do
  grep -F '"target":"failover-503"' "${NODE_LOG[$n]}" | has '"result":"attempt"' ||
    fail "node $n was not asked to store failover-503"
done
pass "a PUT through A,B without quorum: A answers 503 cluster_unavailable, the client asks B, which answers the same"

# Reads go on from the replica.
for n in 1 2 3; do
  expect "$(api_on "$n" GET /v1/credentials)" 200
  expect "$(api_on "$n" GET /v1/credentials/q-0)" 200
  ctl_on "$n" credential resolve q-2 | has -F before-2 || fail "node $n: resolve without quorum"
  r=$(api_on "$n" POST /v1/encrypt "$CLUSTER_TOKEN" "{\"value\":\"sealed-during-$n\",\"context\":\"q\"}")
  expect "$r" 200
  jwe=$(sed -n 's/.*"encryptedCredential":"\([^"]*\)".*/\1/p' <<<"$r")
  m=$(( n % 3 + 1 ))
  [ "$(printf '%s' "$jwe" | ctl_on "$m" decrypt --context q)" = "sealed-during-$n" ] ||
    fail "a value sealed on node $n without quorum does not open on node $m"
  [ "$(printf '%s' "$JWE_BEFORE" | ctl_on "$n" decrypt --context q)" = sealed-before ] ||
    fail "node $n: decrypt without quorum"
  expect "$(api_on "$n" POST /v1/verify "$CLUSTER_TOKEN" "{\"encryptedCredential\":\"$jwe\",\"context\":\"q\"}")" 200
done
pass "reads on every node: GET, list, resolve, encrypt, decrypt, verify"
stale_known () {
  api_on "$1" GET /v1/info "" | python3 -c '
import json, sys
body = sys.stdin.read().partition(" ")[2]
s = json.loads(body)["cluster"]["stale_seconds"]
sys.exit(0 if isinstance(s, int) and s >= 0 else 1)'
}
for n in 1 2 3; do
  poll_until 20 stale_known "$n" || fail "node $n's /v1/info does not say how stale it is: $(api_on "$n" GET /v1/info "")"
done
pass "/v1/info gives cluster.stale_seconds on every node"

# Members back: writes resume everywhere, nothing was half-written.
# One member back first: the old leader (its log the longer) is then the
# only one that can win the election, so a txn left in its log would be
# committed now, not dropped by a new leader's shorter log.
for m in 1 2 3; do
  [ "$m" = "$leader" ] && continue
  etcd_member_start "$m"
  etcd_cluster_wait_healthy
done
for n in 1 2 3; do
  writes () { [[ "$(api_on "$n" PUT "/v1/credentials/after-$n" "$CLUSTER_TOKEN" '{"type":"mysql","secret":"after"}' | cut -d' ' -f1)" == 20[01] ]]; }
  poll_until 30 writes || fail "node $n takes no write 30 s after quorum came back"
done
cluster_wait_converged 30
for n in 1 2 3; do
  expect "$(api_on "$n" GET "/v1/credentials/new-$n")" 404
  expect "$(api_on "$n" GET /v1/credentials/failover-503)" 404
  for m in 1 2 3; do
    for i in $(seq 3 3 "$BURST"); do expect "$(api_on "$n" GET "/v1/credentials/burst-$m-$i")" 404; done
  done
  ctl_on "$n" credential resolve "q-$(( n - 1 ))" | has -F "before-$(( n - 1 ))" ||
    fail "q-$(( n - 1 )) changed although its writes were refused"
  ctl_on "$n" token list | has "during-$n" && fail "a refused token exists"
  ctl_on "$n" token list | has '^spare ' || fail "node $n: the token whose revocation was refused is gone"
  ctl_on "$n" client list | grep '^during-q ' | has pending || fail "node $n: the refused enrollment used its code"
done
diff <(grep -v '^after-' <(replica_dump 1)) "$WORK/before" >&2 || fail "the records changed without quorum"
diff <(ctl_on 1 key list | cut -d' ' -f1) <(cut -d' ' -f1 "$WORK/keys-before") >&2 || fail "the sealing keys changed without quorum"
pass "quorum back: writes resume on every node, nothing half-written (none of the refused writes, concurrent or not), replicas converge"
