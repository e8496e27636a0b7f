#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The cluster, issue 13 scenario 5 at agent level: B's agent stopped while
# 1,000 writes (and some deletes) go through A, then started: B catches up
# from its last applied revision (no full resync).  Then the same with
# etcd's history compacted past B's revision: B resyncs fully, says so in
# its log, and drops what was deleted meanwhile.  Last, B alive but its
# replica unable to take a change (its database write-locked by another
# process): status on A shows it lagging, then ok once it has caught up.
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

# 3. B alive (its heartbeats go on) but its replica cannot take a change:
#    another process holds state.db's write lock, as a backup tool or an
#    admin's sqlite3 shell left open would.  Status on A shows B lagging
#    (text and --json: its lag in revisions and seconds, over the 10 s
#    threshold); lock released, B applies what it missed and is ok again.
gw2_lag () {
  ctl_on 1 --json cluster status | python3 -c '
import json, sys
n = [n for n in json.load(sys.stdin)["nodes"] if n["name"] == "gw2"][0]
print(n["state"], n["lag"], n["lagSeconds"], n["alive"])'
}
gw2_state () { [ "$(gw2_lag | cut -d' ' -f1)" = "$1" ]; }
gw2_state ok || fail "B is not ok before its replica is locked: $(gw2_lag)"
mkfifo "$WORK/unlock"
python3 -c '
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
db.execute("BEGIN IMMEDIATE")   # the write lock; readers go on (WAL)
open(sys.argv[2], "w").close()
open(sys.argv[3]).read()        # held until the test writes to the fifo
db.execute("ROLLBACK")' "${NODE_STATE[2]}/state.db" "$WORK/locked" "$WORK/unlock" &
LOCKER=$!
# A failure before the release would leave it waiting on the fifo.
trap 'kill "$LOCKER" 2>/dev/null || true; cluster_cleanup; cleanup' EXIT
wait_for 10 "the write lock on B's replica taken" test -e "$WORK/locked"
cluster_load put "$(node_spec 1)" --prefix lag --count 20 >"$WORK/puts3.log"
[ "$(grep -c ' 201 ' "$WORK/puts3.log")" = 20 ] || fail "A refused stores while B's replica was locked"
wait_for 40 "B shown lagging on A" gw2_state lagging
read -r state lag lag_s alive <<<"$(gw2_lag)"
[ "$alive" = True ] && [ "$lag" -ge 20 ] && [ "$lag_s" -gt 10 ] ||
  fail "B $state with alive $alive, lag $lag revisions, $lag_s s"
ctl_on 1 cluster status >"$WORK/status.txt" || fail "cluster status on A"
has -E '^gw2 +lagging .* [0-9]+ \([0-9]+ s\) ' "$WORK/status.txt" || fail "text status: $(cat "$WORK/status.txt")"
has -E '^gw1\* +ok ' "$WORK/status.txt" || fail "A is not ok in its own status: $(cat "$WORK/status.txt")"
agent_wait_log 2 'cannot apply the revisions from [0-9]+ to the replica \(retrying' 5
echo >"$WORK/unlock"
wait "$LOCKER" || fail "the process holding B's lock"
wait_for 30 "B ok again on A" gw2_state ok
cluster_wait_converged 30
ctl_on 2 credential resolve lag-19 | has -F secret-lag-19 || fail "B does not open lag-19"
pass "B with its replica write-locked: lagging on A ($lag revisions, $lag_s s behind), ok again once caught up"
