#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The clients and key rotate --all in a real cluster (issue 13): three TLS
# etcd members, three agents each on its own keyring and state.
#  - credgate-encrypt-value trusts A on first use and learns B's and C's
#    pins from A's /v1/info (cluster.nodes) "via" A: it then talks to B
#    with no prompt;
#  - --agent A,B,C with A stopped: B answers;
#  - key rotate --all on B: every node opens what was stored before and
#    after, under the new master key.
source "$top_srcdir/tests/cluster-lib.sh"
EV="$top_builddir/credgate-encrypt-value"

cluster_start
CLUSTER_TOKEN=$(ctl_on 1 token create clients)
printf '%s\n' "$CLUSTER_TOKEN" >"$WORK/token"
export CREDGATE_TOKEN_FILE="$WORK/token"
expect "$(api_on 1 PUT /v1/credentials/before "$CLUSTER_TOKEN" '{"type":"mysql","properties":{},"secret":"s-before"}')" 201
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
wait_for () {
  local secs=$1 what=$2 i
  shift 2
  for i in $(seq $(( secs * 10 ))); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  fail "not within $secs s: $what"
}
nodes_listed () { [ "$(api_on 1 GET /v1/info "" | cut -d' ' -f2- | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["cluster"]["nodes"]))')" = 3 ]; }
wait_for 20 "A's /v1/info listing 3 nodes" nodes_listed
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
resolves () { ctl_on "$1" credential resolve "$2" | has -- "$3"; }
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
