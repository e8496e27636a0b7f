#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The cluster, issue 13 scenario 3: A's agent is killed (SIGKILL) in the
# middle of 200 stores through A.  Every store A acknowledged is on B and
# C, with its version and its secret; B and C agree on the rest (the store
# in flight is on both or on neither).  Writes go on through B meanwhile;
# A restarts on its own state and keyring, catches up, and serves them.
source "$top_srcdir/tests/cluster-lib.sh"

cluster_start
cluster_form
cluster_token crash

# 200 stores through A; SIGKILL once 60 are acknowledged.
cluster_load put "$(node_spec 1)" --prefix crash --count 200 --stop-on-error \
  >"$WORK/puts.log" 2>"$WORK/puts.err" &
loader=$!
for i in $(seq 600); do
  [ "$(grep -c ' 20[01] ' "$WORK/puts.log" || true)" -ge 60 ] && break
  kill -0 "$loader" 2>/dev/null || break
  sleep 0.05
done
agent_kill 1
wait "$loader" || fail "the load client failed: $(cat "$WORK/puts.err")"
acked=$(awk '$2 == 201 {print $1, $3}' "$WORK/puts.log")
n_acked=$(wc -l <<<"$acked")
[ "$n_acked" -ge 60 ] || fail "only $n_acked stores acknowledged before the kill"
[ "$n_acked" -lt 200 ] || fail "all 200 stores were done before the kill: nothing was in flight"
awk '$2 != 201 && $2 != "ERR"' "$WORK/puts.log" | has . && fail "a store was refused: $(awk '$2 != 201' "$WORK/puts.log")"
pass "A killed after $n_acked of 200 stores were acknowledged"

# Every acknowledged store is on B and C, at its version, with its secret.
sort <<<"$acked" >"$WORK/acked"
missing_on () {
  replica_dump "$1" | awk -F'|' '$1 ~ /^crash-/ {print $1, $4}' | sort >"$WORK/on-$1"
  comm -23 "$WORK/acked" "$WORK/on-$1"
}
none_missing () { [ -z "$(missing_on "$1")" ]; }
for n in 2 3; do
  poll_until 30 none_missing "$n" ||
    fail "node $n lacks acknowledged stores (name version): $(missing_on "$n" | head)"
done
cluster_wait_converged 30 2 3
last=$(tail -n 1 <<<"$acked" | cut -d' ' -f1)
for n in 2 3; do
  for name in crash-0 "$last"; do
    ctl_on "$n" credential resolve "$name" | has -F "secret-$name" || fail "$name does not resolve on node $n"
  done
done
extra=$(( $(wc -l <"$WORK/on-2") - n_acked ))
[ "$extra" -le 1 ] || fail "B and C hold $extra unacknowledged stores (at most the one in flight)"
pass "every store A acknowledged is on B and C with its version and secret ($extra in flight also landed)"

# B takes writes while A is down; A comes back and catches up.
cluster_load put "$(node_spec 2)" --prefix while-down --count 20 >"$WORK/b.log"
[ "$(grep -c ' 201 ' "$WORK/b.log")" = 20 ] || fail "B refused writes while A was down: $(cat "$WORK/b.log")"
agent_start 1
cluster_wait_converged 30
ctl_on 1 credential resolve while-down-19 | has -F secret-while-down-19 || fail "A does not serve what B stored"
ctl_on 1 credential resolve "$last" | has -F "secret-$last" || fail "A lost $last"
expect "$(api_on 1 PUT /v1/credentials/after-restart "$CLUSTER_TOKEN" '{"type":"mysql","secret":"s"}')" 201
cluster_wait_converged 30
cluster_wait_alive 2 3
pass "A restarts on its state and keyring, catches up (B's 20 stores) and takes writes again"
