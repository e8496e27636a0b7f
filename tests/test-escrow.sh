#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Key escrow: escrow add seals every key to an admin's public JWK, every
# rotation after that is escrowed too, escrow status says so, and
# restore --escrow recovers the keys from escrow alone: onto a fresh agent
# (values open, records absent), and onto a copy of the old state.db on a
# host with its own keyring (values open and records resolve).
. "$top_srcdir/tests/backup-lib.sh"

jose jwk gen -i '{"kty":"EC","crv":"P-256"}' -o "$WORK/admin.jwk"
jose jwk pub -i "$WORK/admin.jwk" -o "$WORK/admin.pub.jwk"
jose jwk gen -i '{"kty":"EC","crv":"P-256"}' -o "$WORK/admin2.jwk"
jose jwk pub -i "$WORK/admin2.jwk" -o "$WORK/admin2.pub.jwk"
jose jwk gen -i '{"kty":"EC","crv":"P-256"}' -o "$WORK/stranger.jwk"

use_agent old
start_agent
TOKEN=$(ctl token create ci)
kid_now () { ctl --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["kid"])'; }
seal () { api POST /v1/encrypt "$TOKEN" "{\"value\":\"$1\",\"context\":\"$2\"}" \
          | sed -n 's/^200 .*"encryptedCredential": *"\([^"]*\)".*/\1/p'; }

ctl escrow status | has 'no escrow recipients' || fail "escrow status without recipients"
ctl escrow add "$WORK/admin.jwk" 2>"$WORK/err" && fail "a private JWK was accepted as a recipient"
grep -q 'private' "$WORK/err" || fail "private JWK: $(cat "$WORK/err")"
ctl escrow add "$WORK/admin.pub.jwk" >"$WORK/out" || fail "escrow add failed"
grep -q '2 keys escrowed' "$WORK/out" || fail "escrow add said: $(cat "$WORK/out")"
SIGNER=$(sed -n 's/^escrow signer \(sha256:[A-Za-z0-9_-]\{43\}\): .*/\1/p' "$WORK/out")
[ -n "$SIGNER" ] || fail "escrow add printed no signer: $(cat "$WORK/out")"
pass "escrow add escrows the existing master and sealing key at once; a private JWK is refused"

expect "$(api PUT /v1/credentials/db-main "$TOKEN" \
  '{"type":"sqlserver","properties":{"server":"db1"},"secret":{"password":"CANARY-escrow-db"}}')" 201
seal CANARY-e1 ls >"$WORK/v1.jwe"
ctl key rotate >/dev/null
seal CANARY-e2 ls >"$WORK/v2.jwe"
ctl key rotate >/dev/null
seal CANARY-e3 ls >"$WORK/v3.jwe"
kid3=$(kid_now)
ctl escrow status >"$WORK/status" || fail "escrow status says incomplete: $(cat "$WORK/status")"
grep -q 'can recover every key' "$WORK/status" || fail "status: $(cat "$WORK/status")"
[ "$(grep -c '^  seal .* escrowed$' "$WORK/status")" = 3 ] || fail "status: $(cat "$WORK/status")"
pass "after two rotations escrow status shows the master and all 3 sealing keys escrowed"

rdir="$STATE/escrow"
[ "$(find "$rdir" -type f ! -perm 600 | wc -l)" = 0 ] || fail "an escrow file is not 0600"
[ "$(stat -c %a "$rdir")" = 700 ] || fail "escrow folder mode $(stat -c %a "$rdir")"
for k in $(secret-tool search --all xdg:schema org.credgate.Key 2>/dev/null | sed -n 's/^secret = //p'); do
  grep -r -q -F -e "$k" "$rdir" && fail "a key is in the escrow folder in the clear"
done
grep -r -q CANARY "$rdir" && fail "a canary is in the escrow folder"
pass "escrow files are 0600 in a 0700 folder, hold no key in the clear"

ctl escrow add "$WORK/admin2.pub.jwk" >"$WORK/out" || fail "second recipient"
grep -q '4 keys escrowed' "$WORK/out" && grep -q -F "escrow signer $SIGNER:" "$WORK/out" \
  || fail "second recipient: $(cat "$WORK/out")"
[ "$(ctl escrow status | grep -c 'can recover every key')" = 2 ] || fail "two complete recipients"
pass "a recipient added later gets every existing key"

# An escrow file removed shows up as a gap, and exit status 1.
victim=$(ls "$rdir"/*/seal-*.jwe | head -n 1)
mv "$victim" "$WORK/victim.jwe"
ctl escrow status >"$WORK/status" && fail "escrow status exit 0 with a gap"
grep -q 'MISSING' "$WORK/status" && grep -q 'CANNOT recover every key' "$WORK/status" \
  || fail "status with a gap: $(cat "$WORK/status")"
mv "$WORK/victim.jwe" "$victim"
pass "escrow status names a missing escrow file and exits 1"

# ---- from escrow alone onto a fresh agent: keys only.
use_agent fresh
start_agent
before=$(state_fingerprint)
ctl restore --escrow "$rdir" --recipient-key "$WORK/stranger.jwk" --escrow-signer "$SIGNER" 2>"$WORK/err" \
  && fail "a stranger's key recovered something"
grep -q 'another recipient' "$WORK/err" || fail "stranger: $(cat "$WORK/err")"
ctl restore --escrow "$rdir" --recipient-key "$WORK/admin.pub.jwk" --escrow-signer "$SIGNER" 2>"$WORK/err" \
  && fail "a public key recovered something"
[ "$(state_fingerprint)" = "$before" ] || fail "a refused escrow restore changed the agent"
pass "escrow restore with a stranger's or a public key: clear error, nothing changed"
ctl restore --escrow "$rdir" --recipient-key "$WORK/admin.jwk" --escrow-signer "$SIGNER" >"$WORK/out" \
  || fail "escrow restore failed"
grep -q 'restored (fresh)' "$WORK/out" || fail "escrow restore: $(cat "$WORK/out")"
for i in 1 2 3; do
  [ "$(ctl decrypt --context ls <"$WORK/v$i.jwe")" = "CANARY-e$i" ] || fail "v$i does not open"
done
[ "$(kid_now)" = "$kid3" ] || fail "the newest escrowed key is not current"
[ "$(ctl credential list | wc -l)" = 1 ] || fail "records appeared from escrow alone"
pass "escrow alone, fresh agent: values sealed to all 3 keys open, newest key current, no records"

# ---- from escrow onto a copy of the old state.db, on a host with its own
# keyring: the keys go into that keyring, the records resolve.
# recover_on_new_host NAME RECIPIENT-KEY VALUES KID: a copy of the old
# agent's state.db on host NAME (its own keyring), recovered from escrow:
# the record resolves, values v<VALUES> open, KID is current.
recover_on_new_host () {
  use_agent "$1"
  mkdir -p "$STATE"
  chmod 700 "$STATE"
  sqlite3 "$WORK/old/state/state.db" ".backup '$STATE/state.db'"
  cp -p "$WORK/old/state/token.key" "$STATE/token.key"
  start_agent_own_keyring
  ctl --json status | has '"keys": *"keys_missing"' || fail "$1: the copied state.db did not report missing keys"
  ctl restore --escrow "$rdir" --recipient-key "$2" --escrow-signer "$SIGNER" >"$WORK/out" \
    || fail "$1: escrow restore onto the state.db copy failed"
  grep -q 'restored (recover)' "$WORK/out" || fail "$1: recover: $(cat "$WORK/out")"
  ctl credential resolve db-main | has CANARY-escrow-db || fail "$1: the record does not resolve"
  local i
  for i in $3; do
    [ "$(ctl decrypt --context ls <"$WORK/v$i.jwe")" = "CANARY-e$i" ] || fail "$1: v$i does not open"
  done
  [ "$(kid_now)" = "$4" ] || fail "$1: the current key is not $4"
}
recover_on_new_host newhost "$WORK/admin2.jwk" "1 2 3" "$kid3"
expect "$(api GET /v1/credentials "$TOKEN")" 200
pass "escrow + a copy of state.db on a host with its own keyring: records resolve, values open, tokens work"

# ---- a key retired on the old host stays retired after a recovery from
# escrow: retiring re-escrows it, marked, under another name.
use_agent old
kid1=$(python3 -c 'import base64, json, sys
h = sys.stdin.read().split(".")[0]
print(json.loads(base64.urlsafe_b64decode(h + "=" * (-len(h) % 4)))["kid"])' <"$WORK/v1.jwe")
ctl key retire "$kid1" >/dev/null || fail "retire $kid1"
ctl escrow status >"$WORK/status" || fail "escrow status after a retire: $(cat "$WORK/status")"
for r in "$rdir"/*/; do
  [ "$(basename "$r")" = recipients ] && continue
  [ -f "$r/seal-$kid1.retired.jwe" ] && [ ! -e "$r/seal-$kid1.jwe" ] \
    || fail "the retired key is not re-escrowed as retired in $r: $(ls "$r")"
done
use_agent fresh2
start_agent
ctl restore --escrow "$rdir" --recipient-key "$WORK/admin.jwk" --escrow-signer "$SIGNER" >"$WORK/out" \
  || fail "escrow restore after a retire failed"
ctl decrypt --context ls <"$WORK/v1.jwe" >/dev/null 2>&1 && fail "a key retired before the escrow opens again"
[ "$(ctl decrypt --context ls <"$WORK/v2.jwe")" = CANARY-e2 ] || fail "v2 after the retire"
ctl key list | grep -F -e "$kid1" | has retired || fail "key list: $kid1 not retired after recovery"
[ "$(kid_now)" = "$kid3" ] || fail "the newest key is not current after recovery"
pass "a key retired on the old host is escrowed as retired and stays retired after a recovery from escrow"

# ---- after key rotate --all: the new master key (an id of its own) is
# escrowed in place of the old one; a recovery onto a copy of the state.db
# made after the rotation resolves the re-sealed record and opens every value.
use_agent old
ctl key rotate --all >"$WORK/out" 2>/dev/null || fail "rotate --all"
seal CANARY-e4 ls >"$WORK/v4.jwe"
kid4=$(kid_now)
ctl escrow status >"$WORK/status" || fail "escrow status after rotate --all: $(cat "$WORK/status")"
[ "$(grep -c 'can recover every key' "$WORK/status")" = 2 ] || fail "status after rotate --all: $(cat "$WORK/status")"
recover_on_new_host newhost2 "$WORK/admin.jwk" "2 3 4" "$kid4"
pass "after rotate --all the new master key is escrowed: escrow + state.db recover the re-sealed record and every value"
