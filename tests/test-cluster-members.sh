#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Cluster membership on three real agents (each its own D-Bus session,
# gnome-keyring and state directory) and three TLS etcd members (issue 13,
# scenario 1, and status, heartbeats, remove):
#  - init on A (its credential and token made before init move into etcd),
#    join B with a code from A and C with a code from B, typed at a
#    terminal (a pty: echo off, the code in no output, argv or environment;
#    without a terminal or --code-fd the join is refused);
#  - a credential stored on A resolves on B and C; an EncryptedCredential
#    made on B online and offline opens on C; a token made on A works on C;
#    revoked on C, refused on A at its next request;
#  - nothing secret is in etcd: every key and value scanned for the canaries
#    (secrets, tokens, the join code), for a JWK private part, and for the
#    client CA's key, which every node holds the same (wrapped to each);
#  - a master key forged into B's wraps (python3-jwcrypto, to B's public node
#    key) is ignored: B keeps the cluster's key; one B lacks is not
#    installed (no member vouched for it);
#  - status on every node: 3 nodes alive, every key present, etcd's 3
#    members healthy, writable; /v1/info's cluster field lists the pins;
#  - heartbeats: C's agent killed (no goodbye) is shown gone after its lease,
#    and back when it returns; without etcd's quorum status still answers and
#    says the node cannot write;
#  - remove: a node cannot remove itself; removing C deletes its node,
#    heartbeat and wraps from etcd and says to rotate;
#  - restore on a member is refused, nothing changes.
source "$top_srcdir/tests/cluster-lib.sh"
EV="$top_builddir/credgate-encrypt-value"

cluster_start

CANARY="canary-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
# A before init: a credential and a token that must move into the cluster.
PRE_TOKEN=$(ctl_on 1 token create pre-init)
CLUSTER_TOKEN=$PRE_TOKEN
expect "$(api_on 1 PUT /v1/credentials/before "" "{\"type\":\"mysql\",\"properties\":{},\"secret\":\"$CANARY-before\"}")" 401
expect "$(api_on 1 PUT /v1/credentials/before "$PRE_TOKEN" "{\"type\":\"mysql\",\"properties\":{\"host\":\"db1\"},\"secret\":\"$CANARY-before\"}")" 201
A_KID=$(ctl_on 1 --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["kid"])')

# 1. init on A.
etcd_opts 1
out=$(ctl_on 1 cluster init "${ETCD_OPTS[@]}" --name gw1 --address "${NODE_ADDRESS[1]}") ||
  fail "cluster init on A: $out"
echo "$out" | has "^cluster .* made: node gw1" || fail "cluster init said: $out"
CID=$(echo "$out" | sed -n 's/^cluster \([^ ]*\) made.*/\1/p')
P="/credgate/$CID/"
[ -f "${NODE_STATE[1]}/cluster.json" ] || fail "no cluster.json on A"
[ "$(stat -c %a "${NODE_STATE[1]}/cluster.json")" = 600 ] || fail "cluster.json is not 0600"
[ "$(stat -c %a "${NODE_STATE[1]}/cluster/key.pem")" = 600 ] || fail "the etcd key copy is not 0600"
etcdctl_cg get "${P}ready" | has '"by":"gw1"' || fail "no ${P}ready in etcd"
etcdctl_cg get --keys-only "${P}rec/before" | has "rec/before" || fail "the credential made before init is not in etcd"
expect "$(api_on 1 GET /v1/credentials/before)" 200
pass "init on A: cluster $CID, its state in etcd, cluster.json 0600"

# 2. join B (code from A) and C (code from B): the code on stdin, never argv.
join () {
  local n=$1 from=$2 code
  code=$(ctl_on "$from" cluster invite --expires 10m 2>/dev/null) || fail "invite on $from"
  [[ "$code" == cgj_* ]] && [ ${#code} = 90 ] || fail "invite printed '$code'"
  etcd_opts "$n"
  printf '%s\n' "$code" | ctl_on "$n" cluster join "${ETCD_OPTS[@]}" --name "${NODE_NAME[$n]}" \
    --address "${NODE_ADDRESS[$n]}" --code-fd 0 >"$WORK/join-$n.out" 2>&1 ||
    fail "join of node $n: $(cat "$WORK/join-$n.out")"
  has "joined cluster $CID as node ${NODE_NAME[$n]}" "$WORK/join-$n.out" || fail "join of $n said: $(cat "$WORK/join-$n.out")"
  echo "$code" >> "$WORK/codes"
}
# join_on_terminal N FROM: as join, but the code typed at credgatectl's
# prompt on a terminal (a pty), without --code-fd.  First, the same command
# with the code piped in and no terminal at all is refused with a clear
# error, reads nothing and writes nothing to etcd.  On the terminal: echo is
# off at the prompt and back on after, the code never shows in the
# terminal's output, and never in credgatectl's argv or environment
# (/proc/PID/cmdline and environ, read again and again while it joins).
join_on_terminal () {
  local n=$1 from=$2 code
  code=$(ctl_on "$from" cluster invite --expires 10m 2>/dev/null) || fail "invite on $from"
  (umask 077 && printf '%s\n' "$code" > "$WORK/code-$n")
  etcd_opts "$n"
  local argv=("$CTL" --socket "${NODE_SOCKET[$n]}" cluster join "${ETCD_OPTS[@]}"
              --name "${NODE_NAME[$n]}" --address "${NODE_ADDRESS[$n]}")
  if node_env "$n" setsid -w "${argv[@]}" <"$WORK/code-$n" >"$WORK/join-$n.out" 2>&1; then
    fail "a join without a terminal or --code-fd read its code from stdin"
  fi
  has "no join code: give --code-fd N, or run on a terminal to be asked" "$WORK/join-$n.out" ||
    fail "a join without a terminal said: $(cat "$WORK/join-$n.out")"
  [ -z "$(etcdctl_cg get --prefix "${P}" --keys-only | grep -E "/(node|pending)/${NODE_NAME[$n]}")" ] ||
    fail "a join without a terminal wrote to etcd"
  node_env "$n" python3 - "$WORK/code-$n" "${argv[@]}" >"$WORK/join-$n.out" 2>&1 <<'PY' ||
import os, pty, select, sys, termios, time
code = open(sys.argv[1], "rb").readline().strip()
needles = (code, code[4 + 44:])           # the code, and its secret part alone
pid, master = pty.fork()                  # the pty is its controlling terminal
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])

def echo():
    return bool(termios.tcgetattr(master)[3] & termios.ECHO)  # the terminal's settings

def clean(stage):
    """The code is not in credgatectl's argv nor in its environment."""
    for what in ("cmdline", "environ"):
        try:
            with open("/proc/%d/%s" % (pid, what), "rb") as f:
                data = f.read()
        except OSError:
            return False                        # it has ended
        if any(n in data for n in needles):
            sys.exit("the code is in credgatectl's %s (%s)" % (what, stage))
    return True

out, deadline = b"", time.time() + 30
while b"Join code: " not in out:
    if time.time() > deadline:
        sys.exit("no prompt: %r" % out)
    if select.select([master], [], [], 0.1)[0]:
        out += os.read(master, 4096)
if echo():
    sys.exit("echo is on at the prompt")
clean("at the prompt")
os.write(master, code + b"\n")
checks = 0
while True:
    if clean("while joining"):
        checks += 1
    if select.select([master], [], [], 0.05)[0]:
        try:
            data = os.read(master, 4096)
        except OSError:
            data = b""
        out += data
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        break
try:
    while select.select([master], [], [], 0.2)[0]:
        data = os.read(master, 4096)
        if not data:
            break
        out += data
except OSError:
    pass
sys.stdout.write(out.decode(errors="replace"))
if any(n in out for n in needles):
    sys.exit("the code showed on the terminal")
if not echo():
    sys.exit("echo is still off after the prompt")
if os.waitstatus_to_exitcode(status) != 0:
    sys.exit("credgatectl exited %d" % os.waitstatus_to_exitcode(status))
print("argv and environment checked %d times while it joined" % checks)
PY
    fail "join of node $n on a terminal: $(cat "$WORK/join-$n.out")"
  has "joined cluster $CID as node ${NODE_NAME[$n]}" "$WORK/join-$n.out" || fail "join of $n said: $(cat "$WORK/join-$n.out")"
  has -E "checked [1-9][0-9]* times" "$WORK/join-$n.out" || fail "credgatectl's argv and environment never read while it joined"
  echo "$code" >> "$WORK/codes"
  rm -f "$WORK/code-$n"
}

join 2 1
join_on_terminal 3 2
pass "B joined with a code from A, C with a code from B typed at a terminal (echo off, not in argv or environment); without a terminal or --code-fd the join is refused"

# 3. A credential stored on A resolves on B and C (and the one from before).
expect "$(api_on 1 PUT /v1/credentials/after "$PRE_TOKEN" "{\"type\":\"mysql\",\"properties\":{},\"secret\":{\"password\":\"$CANARY-after\"}}")" 201
for n in 2 3; do
  wait_for 10 "credential 'after' on node $n" resolves "$n" after "$CANARY-after"
  resolves "$n" before "$CANARY-before" || fail "node $n cannot resolve 'before'"
done
pass "credentials stored on A (before and after init) resolve on B and C"

# 4. EncryptedCredentials made on B, online and offline, open on C (and A).
B_TOKEN=$(ctl_on 2 token create on-b)
echo "$B_TOKEN" >> "$WORK/tokens"
r=$(api_on 2 POST /v1/encrypt "$B_TOKEN" "{\"value\":\"$CANARY-online\"}")
expect "$r" 200
ONLINE=$(echo "${r#* }" | python3 -c 'import json,sys; print(json.load(sys.stdin)["encryptedCredential"])')
api_on 2 GET /v1/info "" | cut -d' ' -f2- | python3 -c 'import json,sys; json.dump(json.load(sys.stdin)["sealingKey"], open(sys.argv[1], "w"))' "$WORK/b.jwk"
OFFLINE=$(printf '%s' "$CANARY-offline" | "$EV" --key "$WORK/b.jwk") || fail "offline encrypt to B's key"
B_KID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["kid"])' "$WORK/b.jwk")
[ "$B_KID" = "$A_KID" ] || fail "B seals to $B_KID, not the cluster's key $A_KID"
for n in 3 1; do
  ctl_on "$n" decrypt <<<"$ONLINE" | has -- "$CANARY-online" || fail "node $n cannot open B's online value"
  ctl_on "$n" decrypt <<<"$OFFLINE" | has -- "$CANARY-offline" || fail "node $n cannot open B's offline value"
done
pass "EncryptedCredentials made on B online and offline open on C and A"

# 5. A token made on A works on C; revoked on C, refused on A at its next request.
T=$(ctl_on 1 token create made-on-a)
echo "$T" >> "$WORK/tokens"
wait_for 10 "A's new token accepted on C" eval '[ "$(api_on 3 GET /v1/credentials "$T" | cut -d" " -f1)" = 200 ]'
expect "$(api_on 3 GET /v1/credentials "$PRE_TOKEN")" 200
expect "$(api_on 1 GET /v1/credentials "$T")" 200
ctl_on 3 token revoke made-on-a >/dev/null || fail "revoke on C"
expect "$(api_on 3 GET /v1/credentials "$T")" 401
wait_for 10 "the token revoked on C refused on A" eval '[ "$(api_on 1 GET /v1/credentials "$T" | cut -d" " -f1)" = 401 ]'
pass "a token made on A works on C; revoked on C, refused on A"

# 5b. A sealing key made on A (key rotate) reaches B and C wrapped to their
#     node keys in the same etcd transaction; B then seals to it, C opens it.
NEW_KID=$(ctl_on 1 --json key rotate | python3 -c 'import json,sys; print(json.load(sys.stdin)["kid"])')
[ -n "$NEW_KID" ] && [ "$NEW_KID" != "$A_KID" ] || fail "key rotate on A"
for g in gw1 gw2 gw3; do
  etcdctl_cg get "${P}wrap/$g/seal/$NEW_KID" --keys-only | has "seal/$NEW_KID" || fail "no wrap of the new key for $g"
done
[ "$(etcdctl_cg get "${P}key/$NEW_KID" -w json | python3 -c 'import json,sys; print(json.load(sys.stdin)["kvs"][0]["mod_revision"])')" = \
  "$(etcdctl_cg get "${P}wrap/gw3/seal/$NEW_KID" -w json | python3 -c 'import json,sys; print(json.load(sys.stdin)["kvs"][0]["mod_revision"])')" ] ||
  fail "the new key and its wrap were not written in one transaction"
b_kid () { api_on 2 GET /v1/info "" | cut -d' ' -f2- | python3 -c 'import json,sys; print(json.load(sys.stdin)["sealingKey"]["kid"])'; }
wait_for 10 "B seals to the new key" eval '[ "$(b_kid)" = "$NEW_KID" ]'
r=$(api_on 2 POST /v1/encrypt "$B_TOKEN" "{\"value\":\"$CANARY-rotated\"}")
expect "$r" 200
ROTATED=$(echo "${r#* }" | python3 -c 'import json,sys; print(json.load(sys.stdin)["encryptedCredential"])')
ctl_on 3 decrypt <<<"$ROTATED" | has -- "$CANARY-rotated" || fail "C cannot open a value sealed on B to the new key"
ctl_on 3 decrypt <<<"$ONLINE" | has -- "$CANARY-online" || fail "C cannot open the value sealed before the rotation"
pass "a key rotated on A is wrapped to B and C in the same transaction; B seals to it, C opens it"

# 6. Nothing secret in etcd: every key and value, scanned.
etcdctl_cg get --prefix "" -w json > "$WORK/etcd.json"
python3 - "$WORK/etcd.json" "$CANARY" "$WORK/tokens" "$WORK/codes" "$PRE_TOKEN" <<'PY' || fail "a secret is in etcd"
import base64, json, sys
dump = json.load(open(sys.argv[1]))
needles = [sys.argv[2], sys.argv[5]] + open(sys.argv[3]).read().split() + open(sys.argv[4]).read().split()
# The code's secret part alone, too.
needles += [c[4 + 44:] for c in open(sys.argv[4]).read().split()]
kvs = dump.get("kvs", [])
assert len(kvs) > 10, "the dump holds %d keys" % len(kvs)
for kv in kvs:
    k = base64.b64decode(kv["key"]).decode("utf-8", "replace")
    v = base64.b64decode(kv.get("value", "")).decode("utf-8", "replace")
    for n in needles:
        if n and (n in k or n in v):
            sys.exit("secret %r… found at %s" % (n[:12], k))
    if '"d"' in v:
        sys.exit("a private JWK member at " + k)
print("scanned %d keys" % len(kvs))
PY
etcdctl_cg get --prefix "${P}wrap/gw2/" --keys-only | has "wrap/gw2/master/0" || fail "no master key wrapped to gw2"
etcdctl_cg get --prefix "${P}wrap/gw2/" --keys-only | has "wrap/gw2/token" || fail "no token key wrapped to gw2"
pass "etcd holds no canary, no token, no join code, no private JWK"

# 6b. The client CA's key is a cluster secret: the same key in every node's
#     keyring, in etcd only wrapped to each node (P/wrap/<node>/clientca),
#     its bytes in no etcd key or value in any encoding.
for n in 1 2 3; do
  (umask 077 && node_env "$n" secret-tool lookup xdg:schema org.credgate.Key kind clientca >"$WORK/clientca.$n") ||
    fail "no client CA key in node $n's keyring"
done
cmp -s "$WORK/clientca.1" "$WORK/clientca.2" && cmp -s "$WORK/clientca.1" "$WORK/clientca.3" ||
  fail "the nodes hold different client CA keys"
for g in gw1 gw2 gw3; do
  etcdctl_cg get "${P}wrap/$g/clientca" --keys-only | has "wrap/$g/clientca" || fail "no client CA key wrapped to $g"
done
etcdctl_cg get "${P}meta/client_ca_cert" --print-value-only | has 'BEGIN CERTIFICATE' ||
  fail "the client CA certificate is not the cluster's setting"
python3 - "$WORK/etcd.json" "$WORK/clientca.1" <<'PY' || fail "the client CA key is in etcd unwrapped"
import base64, binascii, json, sys
text = open(sys.argv[2]).read().strip()
d = base64.b64decode(text)
assert len(d) == 32, len(d)
needles = [d, text.encode(), base64.urlsafe_b64encode(d).rstrip(b"="), binascii.hexlify(d),
           binascii.hexlify(d).upper(), base64.b64encode(d[:24]), base64.urlsafe_b64encode(d[:24])]
kvs = json.load(open(sys.argv[1])).get("kvs", [])
for kv in kvs:
    for blob in (base64.b64decode(kv["key"]), base64.b64decode(kv.get("value", ""))):
        for n in needles:
            assert n not in blob, "the client CA key at " + base64.b64decode(kv["key"]).decode("utf-8", "replace")
print("scanned %d keys for the client CA key" % len(kvs))
PY
rm -f "$WORK"/clientca.?
pass "the client CA key is the same in every node's keyring and in etcd only wrapped to each node"

# 7. Status on every node, /v1/info's cluster field.
status_ok () {
  ctl_on "$1" --json cluster status | python3 -c '
import json, sys
s = json.load(sys.stdin)
want = sys.argv[1].split(",")
names = sorted(n["name"] for n in s["nodes"])
assert names == sorted(want), names
for n in s["nodes"]:
    assert n["alive"] and n["state"] == "ok", n
    assert n["keys"]["missing"] == [] and n["keys"]["present"] >= 3, n
    assert n["pin"].startswith("sha256:") and n["address"].startswith("127.0.0.1:"), n
assert s["self"]["writable"] is True, s["self"]
assert len(s["etcd"]["members"]) == 3 and s["etcd"]["quorum"], s["etcd"]
assert all(m["healthy"] for m in s["etcd"]["members"]), s["etcd"]
' "$2"
}
for n in 1 2 3; do
  wait_for 15 "status on node $n" status_ok "$n" gw1,gw2,gw3
done
ctl_on 2 cluster status > "$WORK/status.txt" || fail "cluster status (text)"
has -E "^gw2\* +ok" "$WORK/status.txt" || fail "text status: $(cat "$WORK/status.txt")"
has "can write" "$WORK/status.txt" || fail "text status does not say it can write"
api_on 3 GET /v1/info "" | cut -d' ' -f2- | python3 -c '
import json, sys
info = json.load(sys.stdin)
c = info["cluster"]
assert c["node"] == "gw3" and c["id"] == sys.argv[1], c
pins = {n["name"]: n["pin"] for n in c["nodes"]}
assert sorted(pins) == ["gw1", "gw2", "gw3"] and pins["gw3"] == info["tlsPin"], c
assert c["stale_seconds"] is None and c["applied"] > 0, c
' "$CID" || fail "/v1/info's cluster field"
pass "status on every node: 3 nodes alive with their keys, etcd healthy; /v1/info lists the pins"

# 7b. Whoever can write to etcd can wrap a key of their own to a node's
#     public key: a running node installs only what it lacks, never over a
#     key it holds.  A forged master key wrapped to B is ignored, said in its
#     log, and B's records and new writes stay under the cluster's key.
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
"$PY" -c 'import jwcrypto' 2>/dev/null || fail "python3-jwcrypto is missing (scripts/setup installs it)"
etcdctl_cg get --print-value-only "${P}node/gw2" > "$WORK/gw2.node"
FORGED_WRAP=$("$PY" - "$WORK/gw2.node" <<'PY'
import json, os, sys
from jwcrypto import jwe, jwk
pub = json.load(open(sys.argv[1]))["pub"]
key = jwk.JWK(**{k: pub[k] for k in ("kty", "crv", "x", "y")})
hdr = {"alg": "ECDH-ES", "enc": "A256GCM", "kid": pub["kid"], "ctx": "cluster-secret:master/0"}
t = jwe.JWE(os.urandom(32), protected=json.dumps(hdr))
t.add_recipient(key)
print(t.serialize(compact=True))
PY
) || fail "forging a wrap"
looked () { [ "$(grep -cE "wrap of master/0 for this node differs|installed [0-9]+ cluster secret" "${NODE_LOG[2]}")" -gt "$1" ]; }
seen=$(grep -cE "wrap of master/0 for this node differs|installed [0-9]+ cluster secret" "${NODE_LOG[2]}" || true)
etcdctl_cg put "${P}wrap/gw2/master/0" "$FORGED_WRAP" >/dev/null
wait_for 15 "B looked at the forged wrap" looked "$seen"
resolves 2 after "$CANARY-after" || fail "B cannot open its records after the forged wrap"
has "a wrap of master/0 for this node differs" "${NODE_LOG[2]}" || fail "B did not say it ignored the forged wrap"
expect "$(api_on 2 PUT /v1/credentials/after-forgery "$B_TOKEN" "{\"type\":\"mysql\",\"properties\":{},\"secret\":\"$CANARY-forgery\"}")" 201
wait_for 10 "A opens what B stored after the forged wrap" resolves 1 after-forgery "$CANARY-forgery"
pass "a master key forged into B's wraps is ignored: B keeps the cluster's key"

# 7c. A master key B does not hold, wrapped to B by someone with an etcd
#     certificate (were it installed, naming it current in etcd would make
#     every member seal under a key the writer knows): no member vouched for
#     it under a master key B holds, so B never installs it.
EVIL=EvilEvilEvilEvil
PLANTED=$("$PY" - "$WORK/gw2.node" "$EVIL" <<'PY'
import json, os, sys
from jwcrypto import jwe, jwk
pub = json.load(open(sys.argv[1]))["pub"]
key = jwk.JWK(**{k: pub[k] for k in ("kty", "crv", "x", "y")})
hdr = {"alg": "ECDH-ES", "enc": "A256GCM", "kid": key.thumbprint(), "ctx": "cluster-secret:master/" + sys.argv[2]}
t = jwe.JWE(os.urandom(32), protected=json.dumps(hdr))
t.add_recipient(key)
print(t.serialize(compact=True))
PY
) || fail "planting a wrap"
etcdctl_cg put "${P}wrap/gw2/master/$EVIL" "$PLANTED" >/dev/null
agent_wait_log 2 "no member vouched for cluster secret master/$EVIL" 15
if node_env 2 secret-tool search --all xdg:schema org.credgate.Key kind master 2>&1 | has -x "attribute.kid = $EVIL"; then
  fail "B installed a master key planted in etcd"
fi
etcdctl_cg del "${P}wrap/gw2/master/$EVIL" >/dev/null
pass "a master key B lacks, planted in etcd wrapped to B, is not installed: no member vouched for it"

# 8. Heartbeats: C killed (its lease not revoked) is gone after the lease, back when it returns.
gone_on_a () {
  ctl_on 1 --json cluster status | python3 -c '
import json, sys
s = json.load(sys.stdin)
n = [n for n in s["nodes"] if n["name"] == sys.argv[1]][0]
sys.exit(0 if n["alive"] is (sys.argv[2] == "alive") else 1)' gw3 "$1"
}
agent_kill 3
start=$(date +%s)
wait_for 25 "gw3 shown gone on A" gone_on_a gone
took=$(( $(date +%s) - start ))
[ $took -ge 5 ] || fail "gw3 gone after $took s: sooner than its 10 s lease allows"
agent_start 3
wait_for 15 "gw3 back on A" gone_on_a alive
resolves 3 after "$CANARY-after" || fail "C after its restart cannot resolve"
pass "C killed: gone on A after ${took} s (lease 10 s), back when it returned"

# 8b. etcd without its quorum: status still answers (from one member), says
#     this node cannot write and which members are down; back: it can.
writable_on () {
  ctl_on "$1" --json cluster status | python3 -c '
import json, sys
s = json.load(sys.stdin)
sys.exit(0 if s["self"]["writable"] is (sys.argv[1] == "yes") else 1)' "$2"
}
etcd_member_stop 1
etcd_member_stop 2
wait_for 20 "status on A says it cannot write" writable_on 1 no
ctl_on 1 cluster status > "$WORK/status.txt" || fail "status without etcd's quorum"
has "CANNOT WRITE" "$WORK/status.txt" || fail "text status without quorum: $(cat "$WORK/status.txt")"
has -E "^gw2 +ok" "$WORK/status.txt" || fail "status without quorum lists no nodes: $(cat "$WORK/status.txt")"
etcd_member_start 1
etcd_member_start 2
etcd_cluster_wait_healthy
wait_for 20 "status on A says it can write again" writable_on 1 yes
pass "without etcd's quorum status answers and says this node cannot write; back, it can"

# 9. Remove: not itself; C's entries and wraps leave etcd.
if ctl_on 1 cluster remove gw1 2>"$WORK/err"; then fail "a node removed itself"; fi
has "does not remove itself" "$WORK/err" || fail "self-remove said: $(cat "$WORK/err")"
if ctl_on 1 cluster remove nosuch 2>"$WORK/err"; then fail "removed a node that is not there"; fi
out=$(ctl_on 1 cluster remove gw3) || fail "cluster remove gw3"
echo "$out" | has "key rotate --all" || fail "remove does not tell to rotate: $out"
[ -z "$(etcdctl_cg get --prefix "${P}wrap/gw3/" --keys-only)" ] || fail "gw3's wraps are still in etcd"
[ -z "$(etcdctl_cg get "${P}node/gw3" --keys-only)" ] || fail "gw3's node entry is still in etcd"
wait_for 10 "status on A lists gw1 and gw2" status_ok 1 gw1,gw2
pass "remove: refused for itself and an unknown node; gw3's entries and wraps gone, rotation advised"

# 10. Restore on a member: refused, nothing changes.
printf 'backup-pass\n' > "$WORK/pass"
ctl_on 2 backup --output "$WORK/b.cgbk" --passphrase-fd 3 3<"$WORK/pass" >/dev/null || fail "backup on a member"
if ctl_on 2 restore "$WORK/b.cgbk" --merge --passphrase-fd 3 3<"$WORK/pass" 2>"$WORK/err"; then
  fail "restore on a cluster member was accepted"
fi
has "refused on a cluster member" "$WORK/err" || fail "restore said: $(cat "$WORK/err")"
resolves 2 after "$CANARY-after" || fail "B after the refused restore"
pass "a backup on a member works; restore on a member is refused"
