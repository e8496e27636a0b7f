#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Every restore mode keeps one invariant: afterwards exactly one current
# sealing key exists and it seals and opens a new value, or the restore is
# refused and nothing changed.  Fresh onto the agent itself and onto
# another agent, recover, merge, escrow onto another agent and onto
# itself; and a recover that would leave no current key, or two, refused.
. "$top_srcdir/tests/backup-lib.sh"

PASSFILE="$WORK/pass"
printf 'modes-and-invariants\n' >"$PASSFILE"
restore () { ctl restore "$@" --passphrase-fd 3 3<"$PASSFILE"; }
backup () { ctl backup --output "$1" --passphrase-fd 3 3<"$PASSFILE" >/dev/null || fail "backup $1"; }
kid_now () { ctl --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["kid"])'; }
jwe_kid () {
  python3 -c 'import base64, json, sys
h = sys.stdin.read().split(".")[0]
print(json.loads(base64.urlsafe_b64decode(h + "=" * (-len(h) % 4)))["kid"])'
}
n_inv=0

# invariant LABEL [KID]: the secret store is ready, key list names exactly
# one current key (not retired; KID if given), /v1/info publishes it, and a
# value sealed now through the API opens with credgatectl decrypt.
invariant () {
  local label=$1 want=${2:-} cur tok jwe
  n_inv=$((n_inv + 1))
  ctl --json status | has '"keys": *"ready"' \
    || fail "$label: the secret store is not ready: $(ctl status 2>&1)"
  cur=$(ctl --json key list | python3 -c 'import json, sys
cur = [k for k in json.load(sys.stdin) if k["current"]]
assert len(cur) == 1 and not cur[0]["retired"], cur
print(cur[0]["kid"])') || fail "$label: not exactly one current sealing key: $(ctl key list)"
  [ -z "$want" ] || [ "$cur" = "$want" ] || fail "$label: the current key is $cur, not $want"
  [ "$(kid_now)" = "$cur" ] || fail "$label: status names $(kid_now), key list $cur"
  api GET /v1/info | has -F -e "\"kid\":\"$cur\"" || fail "$label: /v1/info: $(api GET /v1/info)"
  tok=$(ctl token create "inv-$n_inv") || fail "$label: token create"
  jwe=$(api POST /v1/encrypt "$tok" "{\"value\":\"CANARY-inv-$n_inv\",\"context\":\"inv\"}" \
        | sed -n 's/^200 .*"encryptedCredential": *"\([^"]*\)".*/\1/p')
  [ -n "$jwe" ] || fail "$label: /v1/encrypt failed"
  [ "$(jwe_kid <<<"$jwe")" = "$cur" ] || fail "$label: a new value is not sealed to $cur"
  [ "$(ctl decrypt --context inv <<<"$jwe")" = "CANARY-inv-$n_inv" ] \
    || fail "$label: a value sealed now does not open"
  ctl token revoke "inv-$n_inv" >/dev/null
}

jose jwk gen -i '{"kty":"EC","crv":"P-256"}' -o "$WORK/admin.jwk"
jose jwk pub -i "$WORK/admin.jwk" -o "$WORK/admin.pub.jwk"

# ---- fresh onto itself: an agent restores its own backup (one key, no
# credentials, no tokens: the backup's current key is the one it has).
use_agent self
start_agent
self_kid=$(kid_now)
backup "$WORK/self.cgb"
restore "$WORK/self.cgb" >"$WORK/out" || fail "restore onto itself: $(cat "$WORK/out")"
grep -q 'restored (fresh)' "$WORK/out" || fail "restore onto itself said: $(cat "$WORK/out")"
grep -q "current sealing key $self_kid" "$WORK/out" || fail "restore onto itself said: $(cat "$WORK/out")"
invariant "fresh onto itself" "$self_kid"
ctl key rotate >/dev/null || fail "key rotate after restoring onto itself"
invariant "fresh onto itself, then rotated"
pass "fresh onto itself: its own key stays current, seals and opens; key rotate works"

# A stopped and restarted agent loads the same state.
stop_agent
start_agent
invariant "fresh onto itself, after a restart"
pass "fresh onto itself: the invariant holds after a restart"

# ---- the source agent: records, three keys (one retired), a token, escrow.
use_agent src
start_agent
TOKEN=$(ctl token create ci)
ctl escrow add "$WORK/admin.pub.jwk" >"$WORK/out" || fail "escrow add"
SIGNER=$(sed -n 's/^escrow signer \(sha256:[^:]*\): .*/\1/p' "$WORK/out")
expect "$(api PUT /v1/credentials/db-main "$TOKEN" \
  '{"type":"sqlserver","properties":{"server":"db1"},"secret":{"password":"CANARY-modes-db"}}')" 201
kid1=$(kid_now)
ctl key rotate >/dev/null
ctl key rotate >/dev/null
kid3=$(kid_now)
ctl key retire "$kid1" --force >/dev/null || fail "retire $kid1"
backup "$WORK/src.cgb"
pass "source: a record, 3 keys (1 retired), a token, an escrow recipient"

# ---- fresh onto another agent.
use_agent other
start_agent
other_kid=$(kid_now)
restore "$WORK/src.cgb" >"$WORK/out" || fail "restore onto another agent: $(cat "$WORK/out")"
grep -q 'restored (fresh)' "$WORK/out" || fail "onto another agent said: $(cat "$WORK/out")"
invariant "fresh onto another agent" "$kid3"
ctl key list | grep -F -e "$other_kid" | has old || fail "its own first key is not kept as old"
ctl key list | grep -F -e "$kid1" | has retired || fail "$kid1 is not retired"
pass "fresh onto another agent: the backup's current key is current, its own first key old"

# ---- merge onto an agent in use: its own current key stays.
use_agent live
start_agent
live_kid=$(kid_now)
ctl token create live >/dev/null
restore "$WORK/src.cgb" --merge >"$WORK/out" || fail "merge: $(cat "$WORK/out")"
grep -q 'restored (merge)' "$WORK/out" || fail "merge said: $(cat "$WORK/out")"
invariant "merge" "$live_kid"
pass "merge: the live agent's current key stays the one current key"

# ---- recover: a copy of the old state.db on a host with its own keyring.
copy_state () {  # copy src's state.db and token.key into the current agent's state dir
  mkdir -p "$STATE"
  chmod 700 "$STATE"
  sqlite3 "$WORK/src/state/state.db" ".backup '$STATE/state.db'"
  cp -p "$WORK/src/state/token.key" "$STATE/token.key"
}
use_agent recover
copy_state
start_agent_own_keyring
restore "$WORK/src.cgb" >"$WORK/out" || fail "recover: $(cat "$WORK/out")"
grep -q 'restored (recover)' "$WORK/out" || fail "recover said: $(cat "$WORK/out")"
invariant "recover" "$kid3"
ctl credential resolve db-main | has CANARY-modes-db || fail "recover: the record"
pass "recover: the old host's current key is the one current key, the record resolves"

# A state.db copy that names no current key, or two: the restore would
# leave an agent that cannot seal (or that picks one at random).  Refused,
# nothing changed, and the agent still reports its keys as missing.
for case in no two; do
  use_agent "recover-$case"
  copy_state
  if [ "$case" = no ]; then
    sqlite3 "$STATE/state.db" "UPDATE seal_keys SET current = 0"
  else
    sqlite3 "$STATE/state.db" "UPDATE seal_keys SET current = 1 WHERE retired = 0"
  fi
  start_agent_own_keyring
  before=$(state_fingerprint)
  [ "${before#* }" = 0 ] || fail "recover, $case current: the new host's keyring is not empty"
  restore "$WORK/src.cgb" >"$WORK/out" 2>"$WORK/err" \
    && fail "recover onto a state.db with $case current keys succeeded: $(cat "$WORK/out")"
  grep -q 'current sealing key' "$WORK/err" && grep -q 'nothing was restored' "$WORK/err" \
    || fail "recover, $case current: $(cat "$WORK/err")"
  [ "$(state_fingerprint)" = "$before" ] \
    || fail "recover, $case current: state.db or the keyring changed ($before, now $(state_fingerprint))"
  ctl --json status | has '"keys": *"keys_missing"' \
    || fail "recover, $case current: the keys came into the keyring anyway"
  pass "recover onto a state.db with $case current keys: '$(cat "$WORK/err")', nothing changed"
done

# ---- escrow onto another agent, and onto the agent itself.
use_agent escrow-other
start_agent
ctl restore --escrow "$WORK/src/state/escrow" --recipient-key "$WORK/admin.jwk" \
  --escrow-signer "$SIGNER" >"$WORK/out" \
  || fail "escrow restore: $(cat "$WORK/out")"
grep -q 'restored (fresh)' "$WORK/out" || fail "escrow restore said: $(cat "$WORK/out")"
invariant "escrow onto another agent" "$kid3"
pass "escrow onto another agent: the newest key not retired is the one current key"

use_agent escrow-self
start_agent
eself_kid=$(kid_now)
ctl escrow add "$WORK/admin.pub.jwk" >"$WORK/out" || fail "escrow add (self)"
SELF_SIGNER=$(sed -n 's/^escrow signer \(sha256:[^:]*\): .*/\1/p' "$WORK/out")
ctl restore --escrow "$STATE/escrow" --recipient-key "$WORK/admin.jwk" \
  --escrow-signer "$SELF_SIGNER" >"$WORK/out" \
  || fail "escrow restore onto itself: $(cat "$WORK/out")"
invariant "escrow onto itself" "$eself_kid"
pass "escrow onto itself: its own key stays current"
