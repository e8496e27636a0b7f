#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Client certificates move with a backup (README "Moving the agent to a new
# host"): the client CA's key and certificate and every certificate it
# signed, revoked ones too.  A client enrolled on host A with
# credgate-encrypt-value --enroll authenticates with the same certificate
# (curl --cert/--key) on host B after backup and restore; one revoked on A
# before the backup stays refused on B; restore --no-tokens leaves them out.
. "$top_srcdir/tests/backup-lib.sh"

EV="$top_builddir/credgate-encrypt-value"

# capi CERT KEY METHOD PATH [BODY]: the API with a client certificate and
# no token, trusting host A's served certificate; prints "STATUS BODY".
capi () {
  local out code args
  out=$(mktemp "$WORK/out.XXXXXX")
  args=(-sS -o "$out" -w '%{http_code}' --cacert "$WORK/a-server.crt" --cert "$1" --key "$2"
        -X "$3")
  if [ -n "${5:-}" ]; then
    code=$(printf '%s' "$5" | curl "${args[@]}" -H 'Content-Type: application/json' \
      --data-binary @- "https://localhost:$PORT$4")
  else
    code=$(curl "${args[@]}" "https://localhost:$PORT$4" </dev/null)
  fi
  printf '%s %s\n' "$code" "$(cat "$out")"
  rm -f "$out"
}

# enroll_ev NAME: a one-time code from the admin, then encrypt-value
# --enroll (the code on stdin) writes NAME's key and certificate to $WORK.
enroll_ev () {
  ctl client enroll "$1" 2>/dev/null \
    | "$EV" --agent "localhost:$PORT" --trust-on-first-use --enroll \
        --client-cert "$WORK/$1.crt" --client-key "$WORK/$1.key" >"$WORK/ev.out" \
    || fail "encrypt-value --enroll $1: $(cat "$WORK/ev.out")"
  grep -q "enrolled as \"$1\"" "$WORK/ev.out" || fail "enroll $1 said: $(cat "$WORK/ev.out")"
}

# client_state NAME: the state 'client list' gives NAME's certificate.
client_state () {
  ctl --json client list | python3 -c '
import json, sys
rows = [r for r in json.load(sys.stdin) if r["name"] == sys.argv[1] and "serial" in r]
print(",".join(r["state"] for r in rows) or "none")' "$1"
}

# ---- host A: two clients enrolled, one of them revoked.
use_agent hosta
start_agent
cp "$STATE/tls/server.crt" "$WORK/a-server.crt"
export XDG_CONFIG_HOME="$WORK/client-config"
mkdir -p "$XDG_CONFIG_HOME"
enroll_ev laptop
enroll_ev stolen
expect "$(capi "$WORK/laptop.crt" "$WORK/laptop.key" PUT /v1/credentials/by-cert \
  '{"type":"generic","secret":"CANARY-clients-a"}')" 201
expect "$(capi "$WORK/stolen.crt" "$WORK/stolen.key" GET /v1/credentials)" 200
ctl client revoke stolen >/dev/null || fail "client revoke stolen"
expect "$(capi "$WORK/stolen.crt" "$WORK/stolen.key" GET /v1/credentials)" 403
ca_pin=$(sqlite3 "$STATE/state.db" "SELECT value FROM meta WHERE key = 'client_ca_cert'" \
  | openssl x509 -pubkey -noout | openssl pkey -pubin -outform der \
  | openssl dgst -sha256 -binary | base64)
[ -n "$ca_pin" ] || fail "host A has no client CA"
pass "host A: laptop and stolen enrolled with encrypt-value --enroll, stolen revoked"

printf 'clients-move-safely\n' >"$WORK/pass"
ctl backup --output "$WORK/a.cgb" --passphrase-fd 3 3<"$WORK/pass" >/dev/null || fail "backup"
ctl backup --inspect "$WORK/a.cgb" >"$WORK/inspect"
grep -q "^clients: *2 enrolled, client CA sha256:$ca_pin\$" "$WORK/inspect" \
  || fail "inspect: $(cat "$WORK/inspect")"
ctl --json backup --inspect "$WORK/a.cgb" | python3 -c '
import json, sys
s = json.load(sys.stdin)
assert s["clients"] == 2 and s["clientCa"] == "sha256:" + sys.argv[1], s' "$ca_pin" \
  || fail "inspect --json: the clients or the client CA"
grep -aq 'BEGIN CERTIFICATE\|laptop\|stolen' "$WORK/a.cgb" \
  && fail "the backup holds the client table in the clear"
pass "backup --inspect: 2 enrolled clients and the client CA's pin, nothing in the clear"

# ---- host B: its own keyring, certificate and client CA.
use_agent hostb
start_agent_own_keyring
ctl restore "$WORK/a.cgb" --passphrase-fd 3 3<"$WORK/pass" >"$WORK/out" \
  || fail "restore onto B: $(cat "$WORK/out")"
grep -q 'restored (fresh)' "$WORK/out" || fail "restore said: $(cat "$WORK/out")"
grep -q '^2 client certificates restored' "$WORK/out" || fail "restore said: $(cat "$WORK/out")"
grep -Eq '^  laptop +serial [0-9a-f]+, .*works$' "$WORK/out" || fail "restore said: $(cat "$WORK/out")"
grep -Eq '^  stolen +serial [0-9a-f]+, .*revoked$' "$WORK/out" || fail "restore said: $(cat "$WORK/out")"
r=$(capi "$WORK/laptop.crt" "$WORK/laptop.key" GET /v1/credentials)
expect "$r" 200
printf '%s' "$r" | has by-cert || fail "B does not list the record: $r"
expect "$(capi "$WORK/stolen.crt" "$WORK/stolen.key" GET /v1/credentials)" 403
[ "$(client_state laptop)" = active ] && [ "$(client_state stolen)" = revoked ] \
  || fail "client list on B: laptop $(client_state laptop), stolen $(client_state stolen)"
pass "restore onto host B: laptop's certificate works there with curl --cert, stolen's stays revoked"

# The client CA's key came into B's keyring: B enrolls a new client with it,
# and revoking laptop on B works on the next request.
enroll_ev desk
expect "$(capi "$WORK/desk.crt" "$WORK/desk.key" GET /v1/credentials)" 200
cmp -s <(openssl x509 -in "$WORK/desk.crt" -noout -issuer) \
  <(openssl x509 -in "$WORK/laptop.crt" -noout -issuer) || fail "desk has another issuer"
ctl client revoke laptop >/dev/null
expect "$(capi "$WORK/laptop.crt" "$WORK/laptop.key" GET /v1/credentials)" 403
pass "host B signs new clients with A's client CA and revokes restored ones"

# ---- host C: restore --no-tokens leaves the client certificates out.
use_agent hostc
start_agent_own_keyring
ctl restore "$WORK/a.cgb" --no-tokens --passphrase-fd 3 3<"$WORK/pass" >"$WORK/out" \
  || fail "restore --no-tokens: $(cat "$WORK/out")"
grep -q '^2 client certificates were not restored (--no-tokens)' "$WORK/out" \
  || fail "restore --no-tokens said: $(cat "$WORK/out")"
grep -q 'client certificates restored' "$WORK/out" && fail "restore --no-tokens: $(cat "$WORK/out")"
expect "$(capi "$WORK/laptop.crt" "$WORK/laptop.key" GET /v1/credentials)" 403
[ "$(client_state laptop)" = none ] || fail "host C lists laptop: $(client_state laptop)"
pass "restore --no-tokens: no client certificate comes back; laptop is refused on host C"

# ---- merge: the live agent keeps its own client CA and clients.
use_agent hostd
start_agent_own_keyring
ctl token create live >/dev/null
ctl restore "$WORK/a.cgb" --merge --certificate --passphrase-fd 3 3<"$WORK/pass" >"$WORK/out" \
  || fail "restore --merge: $(cat "$WORK/out")"
grep -q 'client certificates were not restored (this agent keeps its own client CA)' \
  "$WORK/out" || fail "restore --merge said: $(cat "$WORK/out")"
expect "$(capi "$WORK/laptop.crt" "$WORK/laptop.key" GET /v1/credentials)" 403
[ "$(client_state laptop)" = none ] || fail "host D lists laptop: $(client_state laptop)"
pass "restore --merge: the live agent keeps its own client CA; the backup's clients are named as left out"

# ---- recover: a copy of host A's state.db on a host with its own keyring;
# the client CA's key comes into that keyring, the rows stay as they are.
use_agent hoste
mkdir -p "$STATE"; chmod 700 "$STATE"
sqlite3 "$WORK/hosta/state/state.db" ".backup '$STATE/state.db'"
cp -p "$WORK/hosta/state/token.key" "$STATE/token.key"
start_agent_own_keyring
ctl restore "$WORK/a.cgb" --certificate --passphrase-fd 3 3<"$WORK/pass" >"$WORK/out" \
  || fail "recover: $(cat "$WORK/out")"
grep -q 'restored (recover)' "$WORK/out" || fail "recover said: $(cat "$WORK/out")"
expect "$(capi "$WORK/laptop.crt" "$WORK/laptop.key" GET /v1/credentials)" 200
expect "$(capi "$WORK/stolen.crt" "$WORK/stolen.key" GET /v1/credentials)" 403
enroll_ev tablet
expect "$(capi "$WORK/tablet.crt" "$WORK/tablet.key" GET /v1/credentials)" 200
pass "recover: the client CA's key comes back into the keyring; laptop works, stolen stays revoked, new clients enroll"
