#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Issue 13, scenario 6, in a real cluster (three TLS etcd members, three
# agents each on its own keyring and state): cluster remove gw3, then key
# rotate --all on A.
#  - a copy of C's keyring and state directory, taken before the remove and
#    started again afterwards (it still reaches etcd: its replica follows),
#    opens nothing stored or sealed after the rotation: a record stored
#    after, the records re-sealed by it, an EncryptedCredential made after;
#  - A and B open every value, old and new;
#  - the old master key is gone from the cluster: etcd holds no
#    P/wrap/*/master/<old> (deleted in the txn that ends the rotation), A's
#    keyring no longer holds it, and B, stopped during the rotation while etcd
#    compacted past its revision, removes its copy once it is back (full
#    resync).
source "$top_srcdir/tests/cluster-lib.sh"

cluster_start
CLUSTER_TOKEN=$(ctl_on 1 token create rotate)
put_on () {
  expect "$(api_on "$1" PUT "/v1/credentials/$2" "$CLUSTER_TOKEN" "{\"type\":\"mysql\",\"properties\":{},\"secret\":\"$3\"}")" 201
}
seal_on () {
  local r
  r=$(api_on "$1" POST /v1/encrypt "$CLUSTER_TOKEN" "{\"value\":\"$2\"}")
  expect "$r" 200
  echo "${r#* }" | python3 -c 'import json,sys; print(json.load(sys.stdin)["encryptedCredential"])'
}
resolves () { ctl_on "$1" credential resolve "$2" | has -- "\"$3\""; }
opens () { [ "$(ctl_on "$1" decrypt <<<"$2")" = "$3" ]; }
# The master key ids in node N's keyring ("0" for the first one, kid "").
keyring_masters () {
  node_env "$1" secret-tool search --all xdg:schema org.credgate.Key kind master 2>&1 |
    sed -n 's/^attribute\.kid = \(.*\)$/\1/p' | sed 's/^$/0/' | sort | tr '\n' ' '
}
# The master key id record NAME is sealed under in node N's replica.
sealed_under () {
  python3 - "${NODE_STATE[$1]}/state.db" "$2" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
r = db.execute("SELECT sealed FROM credentials WHERE name = ?", (sys.argv[2],)).fetchone()
print("" if r is None else "0" if r[0][0] == 1 else r[0][2:2 + r[0][1]].decode())
PY
}

put_on 1 before s-before
cluster_form
CID=$(sed -n 's/^cluster \([^ ]*\) made.*/\1/p' "$CLUSTER_DIR/init.out")
[ -n "$CID" ] || fail "no cluster id in: $(cat "$CLUSTER_DIR/init.out")"
P="/credgate/$CID/"
put_on 2 mid s-mid
EC_OLD=$(seal_on 3 v-old)
for n in 1 2 3; do
  wait_for 20 resolves "$n" mid s-mid || fail "not within 20 s: node $n opens 'mid'"
  resolves "$n" before s-before || fail "node $n: 'before'"
  opens "$n" "$EC_OLD" v-old || fail "node $n: the value sealed on C"
done
[ "$(keyring_masters 1)" = "0 " ] && [ "$(keyring_masters 2)" = "0 " ] ||
  fail "master keys before: A '$(keyring_masters 1)', B '$(keyring_masters 2)'"
etcdctl_cg get --prefix "${P}wrap/" --keys-only | grep -q '/master/0$' || fail "no wraps of master 0 in etcd"
pass "a three-node cluster: every node opens 'before', 'mid' and a value sealed on C"

# C's copy: its keyring and state directory as they are now.
agent_stop 3
_cluster_session_stop 3
cp -a "${NODE_STATE[3]}" "$WORK/c-state"
cp -a "${NODE_DIR[3]}/data/keyrings" "$WORK/c-keyrings"

out=$(ctl_on 1 cluster remove gw3) || fail "cluster remove gw3"
echo "$out" | has "key rotate --all" || fail "remove said: $out"
# B is down during the rotation (and etcd compacts past it below).
agent_stop 2
ctl_on 1 key rotate --all >"$WORK/rot.out" 2>"$WORK/rot.err" || fail "rotate --all on A: $(cat "$WORK/rot.err")"
has 'retired master key: 0' "$WORK/rot.out" || fail "rotate --all said: $(cat "$WORK/rot.out")"
NEW=$(sealed_under 1 before)
[ -n "$NEW" ] && [ "$NEW" != 0 ] || fail "'before' on A is not under a new master key: '$NEW'"
[ "$(sealed_under 1 mid)" = "$NEW" ] || fail "'mid' on A is under '$(sealed_under 1 mid)'"
put_on 1 after s-after
[ "$(sealed_under 1 after)" = "$NEW" ] || fail "'after' on A is under '$(sealed_under 1 after)'"
EC_NEW=$(seal_on 1 v-new)

# No wrap of the old master key is left in etcd, for any node; the new one
# is wrapped to A and B.
etcdctl_cg get --prefix "$P" --keys-only | grep -v '^$' >"$WORK/etcd-keys"
if grep '/master/0$' "$WORK/etcd-keys"; then fail "wraps of the old master key are still in etcd"; fi
for g in gw1 gw2; do has -x "${P}wrap/$g/master/$NEW" "$WORK/etcd-keys" || fail "no wrap of $NEW for $g"; done
[ "$(keyring_masters 1)" = "$NEW " ] || fail "A's keyring holds master keys '$(keyring_masters 1)'"
pass "remove gw3, rotate --all on A: every record under master $NEW; the old master key's wraps are gone from etcd and from A's keyring"

# etcd forgets the history B would need: B resyncs fully when it is back,
# and drops the old master key from its keyring (no watch event tells it).
rev=$(etcdctl_cg get "${P}ready" -w json | python3 -c 'import json,sys; print(json.load(sys.stdin)["header"]["revision"])')
etcdctl_cg compact "$rev" >/dev/null || fail "etcdctl compact"
agent_start 2
agent_wait_log 2 'resynced fully' 30
wait_for 20 resolves 2 after s-after || fail "not within 20 s: B opens 'after'"
wait_for 20 eval '[ "$(keyring_masters 2)" = "$NEW " ]' || fail "not within 20 s: B's keyring without the old master key"
for n in 1 2; do
  for r in before:s-before mid:s-mid after:s-after; do
    resolves "$n" "${r%%:*}" "${r#*:}" || fail "node $n cannot open '${r%%:*}' after the rotation"
  done
  opens "$n" "$EC_OLD" v-old || fail "node $n: the value sealed before the rotation"
  opens "$n" "$EC_NEW" v-new || fail "node $n: the value sealed after the rotation"
done
pass "B, down during the rotation and resynced fully: old master key gone from its keyring; A and B open every old and new value"

# C's copy, started again: its replica follows etcd, its keys do not.
rm -rf "${NODE_STATE[3]}" "${NODE_DIR[3]}/data/keyrings"
cp -a "$WORK/c-state" "${NODE_STATE[3]}"
cp -a "$WORK/c-keyrings" "${NODE_DIR[3]}/data/keyrings"
agent_start 3
wait_for 30 eval '[ "$(sealed_under 3 after)" = "$NEW" ]' || fail "not within 30 s: C's replica holds 'after'"
for r in before mid; do
  wait_for 20 eval '[ "$(sealed_under 3 $r)" = "$NEW" ]' || fail "not within 20 s: C's replica holds '$r' re-sealed"
done
for r in before:s-before mid:s-mid after:s-after; do
  if ctl_on 3 credential resolve "${r%%:*}" >"$WORK/c.out" 2>&1; then
    fail "C's copy opened '${r%%:*}' after the rotation"
  fi
  if grep -F -- "${r#*:}" "$WORK/c.out"; then fail "C's copy printed the secret of '${r%%:*}'"; fi
done
if ctl_on 3 decrypt <<<"$EC_NEW" >"$WORK/c.out" 2>&1; then fail "C's copy opened a value sealed after the rotation"; fi
if grep -F v-new "$WORK/c.out"; then fail "C's copy printed the new value"; fi
pass "C's copy (keyring and state from before the remove) opens no record stored or re-sealed after the rotation and no value sealed after it"
