#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The cluster, issue 13 scenario 5 at agent level: B's agent stopped while
# 1,000 writes (and some deletes) go through A, then started: B catches up
# from its last applied revision (no full resync).  Then the same with
# etcd's history compacted past B's revision: B resyncs fully, says so in
# its log, and drops what was deleted meanwhile.
source "$top_srcdir/tests/cluster-lib.sh"

cluster_start
cluster_form
cluster_token catchup
cluster_load put "$(node_spec 1)" --prefix early --count 20 >"$WORK/early.log"
cluster_wait_converged 30

# 1. B stopped during 1,000 writes and 10 deletes through A.
agent_stop 2
cluster_load put "$(node_spec 1)" --prefix c --count 1000 >"$WORK/puts.log"
[ "$(grep -c ' 201 ' "$WORK/puts.log")" = 1000 ] ||
  fail "A refused stores: $(awk '$2 != 201' "$WORK/puts.log" | head -n 3)"
for i in $(seq 0 9); do expect "$(api_on 1 DELETE "/v1/credentials/early-$i")" 200; done
agent_start 2
cluster_wait_converged 60
[ "$(replica_dump 2 | grep -c '^c-')" = 1000 ] || fail "B does not hold the 1,000 records"
replica_dump 2 | has '^early-3|' && fail "B kept a record deleted while it was down"
ctl_on 2 credential resolve c-999 | has -F secret-c-999 || fail "B does not open c-999"
tac "${NODE_LOG[2]}" | sed '/^=== start /q' | has 'resynced fully' &&
  fail "B resynced fully although etcd still had its history"
pass "B, stopped during 1,000 writes and 10 deletes, catches up from its revision"

# 2. The same with the history compacted past B's revision.
agent_stop 2
cluster_load put "$(node_spec 1)" --prefix d --count 100 >"$WORK/puts2.log"
[ "$(grep -c ' 201 ' "$WORK/puts2.log")" = 100 ] || fail "A refused stores"
for i in 10 11 12 13 14 15 16 17 18 19; do expect "$(api_on 1 DELETE "/v1/credentials/early-$i")" 200; done
rev=$(etcdctl_cg endpoint status --write-out=json | python3 -c '
import json, sys
print(max(e["Status"]["header"]["revision"] for e in json.load(sys.stdin)))')
etcdctl_cg compact "$rev" >/dev/null || fail "etcd compaction to $rev"
agent_start 2
agent_wait_log 2 'resynced fully' 60
cluster_wait_converged 60
[ "$(replica_dump 2 | grep -c '^d-')" = 100 ] || fail "B does not hold the 100 records after its resync"
replica_dump 2 | has '^early-' && fail "B kept records deleted before the compaction"
ctl_on 2 credential resolve d-99 | has -F secret-d-99 || fail "B does not open d-99 after its resync"
expect "$(api_on 2 PUT /v1/credentials/from-b "$CLUSTER_TOKEN" '{"type":"mysql","secret":"b"}')" 201
cluster_wait_converged 30
pass "B, behind a compaction, resyncs fully (its log says so), drops the deleted records and writes again"
