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
# Membership is decided by members, not by whoever can write to etcd (node
# entries carry a MAC under the current master key):
#  - a node entry written straight into etcd with a cluster-CA client
#    certificate and a fresh P-256 key gets no wrap over several heartbeat
#    rounds, shows as unverified in status (text and --json), is not in
#    /v1/info, is warned about once, and is never deleted by a member;
#  - after remove gw3 and rotate --all, gw3's old entry put back byte for byte
#    gets no wrap (its MAC is under the old master key);
#  - B's entry with its public key swapped gets none of the wraps B lacks;
#    put back as it was, B gets them again;
#  - gw3's etcd client certificate revoked in the members' CRL: refused at
#    its next connection, without an etcd restart; the others go on.
# The rotation across nodes:
#  - the master race: B's applier thread alone stopped (its replica names
#    the old master key) through a whole rotate --all on A; a store through
#    B loses the master_current compare, is sealed again under the new key
#    and answered 201; no record is left under the old key;
#  - a rotate --all cut short (A SIGKILLed once etcd names the new master
#    with records still under the old): status on B and A says unfinished,
#    escrow is refused; a second rotate --all on B finishes it.
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
  wait_for 20 "node $n opens 'mid'" resolves "$n" mid s-mid
  resolves "$n" before s-before || fail "node $n: 'before'"
  opens "$n" "$EC_OLD" v-old || fail "node $n: the value sealed on C"
done
[ "$(keyring_masters 1)" = "0 " ] && [ "$(keyring_masters 2)" = "0 " ] ||
  fail "master keys before: A '$(keyring_masters 1)', B '$(keyring_masters 2)'"
etcdctl_cg get --prefix "${P}wrap/" --keys-only | has '/master/0$' || fail "no wraps of master 0 in etcd"
pass "a three-node cluster: every node opens 'before', 'mid' and a value sealed on C"

# Trust helpers.  PY: Debian's python3, which has python3-jwcrypto.
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
# wrap_keys NODE: the keys of NODE's wraps in etcd.
wrap_keys () { etcdctl_cg get --prefix "${P}wrap/$1/" --keys-only | grep -v '^$' || true; }
# rounds N K: until node N's heartbeat (P/alive/<name>) was written K more
# times: K more rounds of its worker, which verifies entries and repairs.
alive_rev () {
  etcdctl_cg get "${P}alive/${NODE_NAME[$1]}" -w json |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["kvs"][0]["mod_revision"])'
}
rounds () {
  local n=$1 k=$2 last now i
  last=$(alive_rev "$n")
  for i in $(seq "$k"); do
    poll_until 20 eval '[ "$(alive_rev '"$n"')" != "$last" ]' || fail "node $n's worker stopped beating"
    last=$(alive_rev "$n")
  done
}
# node_state N NAME: "STATE VERIFIED" of NAME in node N's status --json.
node_state () {
  ctl_on "$1" --json cluster status | python3 -c '
import json, sys
s = json.load(sys.stdin)
n = [n for n in s["nodes"] if n["name"] == sys.argv[1]]
print("%s %s" % (n[0]["state"], n[0]["verified"]) if n else "absent")' "$2"
}
unverified_said () { grep -cE "entry of node $2 in etcd \(revision [0-9]+\) does not verify" "${NODE_LOG[$1]}" || true; }

# (a) A node entry written straight into etcd by someone with a client
# certificate of the cluster's etcd CA (any node's; here the tests' own),
# with a fresh P-256 public key: no member hands it anything.
"$PY" -c '
import json
from jwcrypto import jwk
k = jwk.JWK.generate(kty="EC", crv="P-256")
pub = json.loads(k.export_public())
print(json.dumps({"name": "evil", "pub": {f: pub[f] for f in ("kty", "crv", "x", "y")},
                  "address": "127.0.0.1:1", "pin": "sha256:" + "A" * 43 + "=",
                  "joined": "2026-01-01T00:00:00Z", "admittedBy": "gw1", "mac": "A" * 43},
                 separators=(",", ":")))' > "$WORK/evil.node" || fail "making a forged node entry (python3-jwcrypto)"
etcdctl_cg put "${P}node/evil" "$(cat "$WORK/evil.node")" >/dev/null
for n in 1 2 3; do agent_wait_log "$n" 'entry of node evil in etcd \(revision [0-9]+\) does not verify' 20; done
rounds 1 3
rounds 2 1
# A new sealing key meanwhile: wrapped to the members in its txn, not to evil.
SEAL_KID=$(ctl_on 1 --json key rotate | python3 -c 'import json,sys; print(json.load(sys.stdin)["kid"])')
for g in gw1 gw2 gw3; do wrap_keys $g | has -x "${P}wrap/$g/seal/$SEAL_KID" || fail "no wrap of the new sealing key for $g"; done
[ -z "$(wrap_keys evil)" ] || fail "the forged node entry got wraps: $(wrap_keys evil)"
for n in 1 2 3; do
  [ "$(node_state "$n" evil)" = "unverified False" ] || fail "node $n's status shows evil as '$(node_state "$n" evil)'"
  [ "$(unverified_said "$n" evil)" = 1 ] || fail "node $n warned $(unverified_said "$n" evil) times about one entry revision"
  [ "$(node_state "$n" gw1)" = "ok True" ] || fail "node $n's status shows gw1 as '$(node_state "$n" gw1)'"
done
ctl_on 1 cluster status > "$WORK/status.txt"
has -E "^evil +unverified " "$WORK/status.txt" || fail "text status: $(cat "$WORK/status.txt")"
has "^unverified: the node's entry in etcd carries no valid MAC" "$WORK/status.txt" || fail "text status explains nothing: $(cat "$WORK/status.txt")"
api_on 1 GET /v1/info "" | cut -d' ' -f2- | python3 -c '
import json, sys
names = sorted(n["name"] for n in json.load(sys.stdin)["cluster"]["nodes"])
assert names == ["gw1", "gw2", "gw3"], names' || fail "/v1/info lists the forged node"
etcdctl_cg get "${P}node/evil" --print-value-only | has -F -x "$(cat "$WORK/evil.node")" || fail "a member changed or deleted the forged entry"
etcdctl_cg del "${P}node/evil" >/dev/null
pass "a node entry written straight into etcd gets no wrap (repair or a new sealing key) over several rounds, shows unverified (text, --json), is not in /v1/info, warned about once per node"

# C's copy: its keyring and state directory as they are now.
agent_stop 3
_cluster_session_stop 3
cp -a "${NODE_STATE[3]}" "$WORK/c-state"
cp -a "${NODE_DIR[3]}/data/keyrings" "$WORK/c-keyrings"

etcdctl_cg get "${P}node/gw3" --print-value-only > "$WORK/gw3.node"
python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["mac"]' "$WORK/gw3.node" || fail "gw3's entry has no MAC"
out=$(ctl_on 1 cluster remove gw3) || fail "cluster remove gw3"
echo "$out" | has "revoke its etcd client certificate" || fail "remove does not say to revoke: $out"
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
if grep '/wrap/.*/master/0$' "$WORK/etcd-keys"; then fail "wraps of the old master key are still in etcd"; fi
for g in gw1 gw2; do has -x "${P}wrap/$g/master/$NEW" "$WORK/etcd-keys" || fail "no wrap of $NEW for $g"; done
[ "$(keyring_masters 1)" = "$NEW " ] || fail "A's keyring holds master keys '$(keyring_masters 1)'"
pass "remove gw3, rotate --all on A: every record under master $NEW; the old master key's wraps are gone from etcd and from A's keyring"

# (b) gw3's entry, as it was before the remove, put back byte for byte: its
# MAC is under the old master key, and gw3 lacks the new one to make another.
etcdctl_cg put "${P}node/gw3" "$(cat "$WORK/gw3.node")" >/dev/null
agent_wait_log 1 'entry of node gw3 in etcd \(revision [0-9]+\) does not verify' 20
rounds 1 3
[ -z "$(wrap_keys gw3)" ] || fail "gw3's replayed entry got wraps: $(wrap_keys gw3)"
[ "$(node_state 1 gw3)" = "unverified False" ] || fail "A's status shows the replayed gw3 as '$(node_state 1 gw3)'"
etcdctl_cg get "${P}node/gw3" --print-value-only | has -F -x "$(cat "$WORK/gw3.node")" || fail "a member changed or deleted the replayed entry"
etcdctl_cg del "${P}node/gw3" >/dev/null
pass "after remove and rotate --all, gw3's old entry replayed into etcd gets no wrap of the new keys and shows unverified"

# (c) B's entry (B is down) with another public key in it, and one of B's
# wraps gone: A's repair would hand it back, but not to a key no member
# admitted.  Put back as it was, B gets it again (nothing was deleted).
etcdctl_cg get "${P}node/gw2" --print-value-only > "$WORK/gw2.node"
"$PY" -c '
import json, sys
from jwcrypto import jwk
e = json.load(open(sys.argv[1]))
pub = json.loads(jwk.JWK.generate(kty="EC", crv="P-256").export_public())
e["pub"] = {f: pub[f] for f in ("kty", "crv", "x", "y")}
print(json.dumps(e, separators=(",", ":")))' "$WORK/gw2.node" > "$WORK/gw2.tampered" || fail "tampering with gw2's entry"
etcdctl_cg put "${P}node/gw2" "$(cat "$WORK/gw2.tampered")" >/dev/null
etcdctl_cg del "${P}wrap/gw2/token" >/dev/null
agent_wait_log 1 'entry of node gw2 in etcd \(revision [0-9]+\) does not verify' 20
rounds 1 3
if wrap_keys gw2 | has '/token$'; then fail "the tampered gw2 entry got a wrap"; fi
[ "$(node_state 1 gw2)" = "unverified False" ] || fail "A's status shows the tampered gw2 as '$(node_state 1 gw2)'"
etcdctl_cg put "${P}node/gw2" "$(cat "$WORK/gw2.node")" >/dev/null
wait_for 20 "gw2's entry put back, its token wrap again" eval 'wrap_keys gw2 | has "/token$"'
[ "$(node_state 1 gw2)" = "gone True" ] || fail "A's status shows gw2 as '$(node_state 1 gw2)'"
pass "B's entry with its key swapped gets none of the wraps B lacks and shows unverified; put back as it was, B gets them again"

# etcd forgets the history B would need: B resyncs fully when it is back,
# and drops the old master key from its keyring (no watch event tells it).
rev=$(etcdctl_cg get "${P}ready" -w json | python3 -c 'import json,sys; print(json.load(sys.stdin)["header"]["revision"])')
etcdctl_cg compact "$rev" >/dev/null || fail "etcdctl compact"
agent_start 2
agent_wait_log 2 'resynced fully' 30
wait_for 20 "B opens 'after'" resolves 2 after s-after
wait_for 20 "B's keyring without the old master key" eval '[ "$(keyring_masters 2)" = "$NEW " ]'
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
wait_for 30 "C's replica holds 'after'" eval '[ "$(sealed_under 3 after)" = "$NEW" ]'
for r in before mid; do
  wait_for 20 "C's replica holds '$r' re-sealed" eval '[ "$(sealed_under 3 $r)" = "$NEW" ]'
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

# gw3's etcd client certificate revoked: the members read their CRL file at
# each new TLS connection, so its next connection is refused with no etcd
# restart, while the others go on.
etcdctl_as () { ETCDCTL_API=3 etcdctl --endpoints "$ETCD_ENDPOINTS" --cacert "$ETCD_CA" --cert "$1" --key "$2" --command-timeout 3s --dial-timeout 2s "${@:3}"; }
etcdctl_as "${NODE_ETCD_CERT[3]}" "${NODE_ETCD_KEY[3]}" get "${P}ready" >/dev/null || fail "gw3's certificate before it is revoked"
etcd_revoke_client "${NODE_ETCD_CERT[3]}"
if etcdctl_as "${NODE_ETCD_CERT[3]}" "${NODE_ETCD_KEY[3]}" put "${P}node/gw3" x >/dev/null 2>&1; then
  fail "gw3's revoked etcd certificate could still write"
fi
[ -z "$(etcdctl_cg get "${P}node/gw3" --keys-only)" ] || fail "the revoked certificate's write landed"
etcdctl_as "${NODE_ETCD_CERT[1]}" "${NODE_ETCD_KEY[1]}" get "${P}ready" >/dev/null || fail "gw1's certificate is refused too"
put_on 1 after-crl s-after-crl
wait_for 20 "B opens what A stored after the revocation" resolves 2 after-crl s-after-crl
pass "gw3's etcd client certificate revoked in the members' CRL file: refused at once, no etcd restart; A and B go on"

# The master race end to end (README: every record write's etcd txn also
# compares master_current).  B's applier thread alone is stopped, so B's
# replica still names master $NEW while a second rotate --all on A runs to
# its end (its last re-seal pass and the txn that deletes the old wraps);
# then a store through B: B seals under $NEW, loses that compare, fetches
# the new key's wrap, seals again and lands it, and its client sees 201.
# Nothing is left sealed under $NEW.
replica_master () {
  sqlite3 -readonly -batch "${NODE_STATE[$1]}/state.db" "SELECT value FROM meta WHERE key = 'master_current'"
}
masters_in () {
  python3 - "${NODE_STATE[$1]}/state.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
ids = {"0" if b[0] == 1 else b[2:2 + b[1]].decode() for (b,) in db.execute("SELECT sealed FROM credentials")}
print(" ".join(sorted(ids)))
PY
}
[ "$(replica_master 2)" = "$NEW" ] || fail "B's replica names master '$(replica_master 2)', not $NEW"
applier_freeze 2
ctl_on 1 --json key rotate --all >"$WORK/rot2.json" 2>"$WORK/rot2.err" || fail "the second rotate --all on A: $(cat "$WORK/rot2.err")"
NEW2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["master"])' "$WORK/rot2.json")
[ -n "$NEW2" ] && [ "$NEW2" != "$NEW" ] || fail "the second rotate --all made master '$NEW2'"
[ "$(replica_master 2)" = "$NEW" ] || fail "B's replica saw the rotation although its applier was stopped"
put_on 2 during s-during
has -F "master key $NEW2 became current on another node while during was sealed here; sealed again under it" "${NODE_LOG[2]}" ||
  fail "B did not seal 'during' again under $NEW2: $(tail -n 5 "${NODE_LOG[2]}")"
[ "$(sealed_under 1 during)" = "$NEW2" ] || fail "'during' stored through B is under '$(sealed_under 1 during)' in A's replica"
applier_thaw 2
put_on 2 after-race s-after-race
cluster_wait_converged 30 1 2
[ "$(masters_in 1)" = "$NEW2" ] || fail "records under master keys '$(masters_in 1)' after the race, not $NEW2 alone"
for n in 1 2; do
  for r in during:s-during after-race:s-after-race before:s-before after:s-after; do
    resolves "$n" "${r%%:*}" "${r#*:}" || fail "node $n cannot open '${r%%:*}' after the race"
  done
done
wait_for 20 "B's keyring with master $NEW2 alone" eval '[ "$(keyring_masters 2)" = "$NEW2 " ]'
pass "B's applier stopped through a second rotate --all on A: a store through B, sealed under the old master key, lost the compare, was sealed again under $NEW2 and answered 201; every record is under $NEW2"

# A rotate --all cut short in the cluster.  A runs it in short steps
# (tests/etcd-step.py) and is SIGKILLed once etcd names the new master key
# current and the old one in master_old with records still sealed under it.
# Every node's status then says the rotation is unfinished (B's, text and
# --json), escrow is refused, everything still opens; a second rotate --all,
# run on B, finishes it: no new key, every record under the one A made, the
# old key out of A's and B's keyrings.
etcd_step 1 rotating kill
if ctl_on 1 key rotate --all >"$WORK/rot3.out" 2>&1; then fail "rotate --all on A ended although A was killed"; fi
etcd_step_wait
NEW3=$(etcdctl_cg get --print-value-only "${P}meta/master_current" | python3 -c 'import json,sys; print(json.load(sys.stdin)["value"])')
[ -n "$NEW3" ] && [ "$NEW3" != "$NEW2" ] || fail "after the kill etcd names master '$NEW3' current"
rotation_on () {
  ctl_on "$1" --json status | python3 -c '
import json, sys
r = json.load(sys.stdin).get("rotation", {})
assert r.get("unfinished") is True and r["master"] == sys.argv[1] and r["oldMasters"] == [sys.argv[2]], r
assert r["credentialsUnderOldMaster"] >= 2 and r["finishWith"] == "credgatectl key rotate --all", r
print(r["credentialsUnderOldMaster"])' "$NEW3" "$NEW2"
}
wait_for 20 "B's status says the rotation is unfinished" rotation_on 2
under=$(rotation_on 2)
ctl_on 2 status | has -F "UNFINISHED:  key rotate --all: $under credentials still under an earlier master key; run 'credgatectl key rotate --all' to finish" ||
  fail "B's status half-way: $(ctl_on 2 status)"
jose jwk gen -i '{"kty":"EC","crv":"P-256"}' -o "$WORK/admin.jwk"
jose jwk pub -i "$WORK/admin.jwk" -o "$WORK/admin.pub.jwk"
if ctl_on 2 escrow add "$WORK/admin.pub.jwk" >"$WORK/out" 2>"$WORK/err"; then fail "escrow add accepted half-way on B"; fi
has "key rotate --all is unfinished" "$WORK/err" || fail "escrow add on B half-way said: $(cat "$WORK/err")"
agent_start 1
wait_for 20 "A's status after its restart says the rotation is unfinished" rotation_on 1
for n in 1 2; do
  for r in during:s-during after-race:s-after-race before:s-before mid:s-mid; do
    resolves "$n" "${r%%:*}" "${r#*:}" || fail "node $n cannot open '${r%%:*}' half-way"
  done
done
pass "rotate --all killed half-way on A ($STEP_SEEN): status on B and A says it is unfinished ($under credentials under $NEW2), escrow is refused, every record opens"

ctl_on 2 key rotate --all >"$WORK/finish.out" 2>"$WORK/finish.err" || fail "the second rotate --all on B: $(cat "$WORK/finish.err")"
has 'finished a rotation that was cut short' "$WORK/finish.out" || fail "not a resume: $(cat "$WORK/finish.out")"
has "retired master key: $NEW2" "$WORK/finish.out" || fail "the old master not retired: $(cat "$WORK/finish.out")"
cluster_wait_converged 30 1 2
for n in 1 2; do
  [ "$(masters_in "$n")" = "$NEW3" ] || fail "node $n: records under '$(masters_in "$n")' after the resume"
  ctl_on "$n" --json status | python3 -c 'import json,sys; assert "rotation" not in json.load(sys.stdin)' ||
    fail "node $n's status still reports a rotation"
  wait_for 20 "node $n's keyring with master $NEW3 alone" eval '[ "$(keyring_masters '"$n"')" = "$NEW3 " ]'
  for r in during:s-during after-race:s-after-race before:s-before mid:s-mid; do
    resolves "$n" "${r%%:*}" "${r#*:}" || fail "node $n cannot open '${r%%:*}' after the resume"
  done
done
etcdctl_cg get --prefix "${P}wrap/" --keys-only | grep -E "/master/$NEW2\$" && fail "wraps of $NEW2 are still in etcd"
pass "a second rotate --all on B finishes A's cut-short rotation: every record under $NEW3, the old master key out of etcd and A's and B's keyrings"
