#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A backup holds the access tokens of the moment it was made, so a token
# revoked on the old agent afterwards comes back with a restore: restore
# lists every token it brings back by name and creation date (and in
# --json), and --no-tokens restores without them: then no token of the
# backup, the revoked one included, opens the API.
. "$top_srcdir/tests/backup-lib.sh"

PASSFILE="$WORK/pass"
printf 'tokens-come-back\n' >"$PASSFILE"
restore () { ctl restore "$@" --passphrase-fd 3 3<"$PASSFILE"; }
created_of () { ctl --json token list | python3 -c 'import json,sys
print([t for t in json.load(sys.stdin) if t["name"] == sys.argv[1]][0]["created"])' "$1"; }

use_agent src
start_agent
CI=$(ctl token create ci)
LEAKED=$(ctl token create leaked-laptop)
expect "$(api PUT /v1/credentials/db "$CI" \
  '{"type":"generic","properties":{},"secret":"CANARY-tokens-db"}')" 201
ci_created=$(created_of ci)
leaked_created=$(created_of leaked-laptop)
ctl backup --output "$WORK/src.cgb" --passphrase-fd 3 3<"$PASSFILE" >/dev/null || fail "backup"
ctl token revoke leaked-laptop >/dev/null
expect "$(api GET /v1/credentials "$LEAKED")" 401
pass "source: tokens ci and leaked-laptop backed up, leaked-laptop revoked after the backup"

# ---- a plain restore brings both back, and says so, by name and date.
use_agent with
start_agent
restore "$WORK/src.cgb" >"$WORK/out" || fail "restore: $(cat "$WORK/out")"
grep -q '2 tokens restored' "$WORK/out" || fail "restore did not count the tokens: $(cat "$WORK/out")"
grep -q '\-\-no-tokens' "$WORK/out" || fail "restore did not name --no-tokens: $(cat "$WORK/out")"
grep -q "^  ci  *created $ci_created, last used " "$WORK/out" \
  || fail "restore did not list ci with its date: $(cat "$WORK/out")"
grep -q "^  leaked-laptop  *created $leaked_created, last used never" "$WORK/out" \
  || fail "restore did not list leaked-laptop with its date: $(cat "$WORK/out")"
expect "$(api GET /v1/credentials "$LEAKED")" 200
pass "restore lists both tokens by name and creation date (the one revoked since works again, as the list warns)"

use_agent with-json
start_agent
ctl --json restore "$WORK/src.cgb" --passphrase-fd 3 3<"$PASSFILE" >"$WORK/out.json" \
  || fail "restore --json: $(cat "$WORK/out.json")"
python3 - "$WORK/out.json" "$ci_created" "$leaked_created" <<'PY' || fail "restore --json: $(cat "$WORK/out.json")"
import json, sys
r = json.load(open(sys.argv[1]))
got = {t["name"]: t["created"] for t in r["tokens"]}
assert got == {"ci": sys.argv[2], "leaked-laptop": sys.argv[3]}, got
assert r["tokensAdded"] == 2 and r["tokensSkipped"] == 0, r
PY
pass "restore --json lists the restored tokens with their creation dates"

# ---- --no-tokens: the records and keys come, no token does.
use_agent without
start_agent
own_key=$(sha256sum "$STATE/token.key")
restore "$WORK/src.cgb" --no-tokens >"$WORK/out" || fail "restore --no-tokens: $(cat "$WORK/out")"
grep -q 'restored (fresh)' "$WORK/out" || fail "restore --no-tokens said: $(cat "$WORK/out")"
grep -q '2 tokens were not restored (--no-tokens)' "$WORK/out" \
  || fail "restore --no-tokens said: $(cat "$WORK/out")"
grep -q 'tokens restored' "$WORK/out" && fail "restore --no-tokens lists restored tokens: $(cat "$WORK/out")"
[ -z "$(ctl --json token list | python3 -c 'import json,sys; print(" ".join(t["name"] for t in json.load(sys.stdin)))')" ] \
  || fail "tokens after --no-tokens: $(ctl token list)"
[ "$(sha256sum "$STATE/token.key")" = "$own_key" ] || fail "--no-tokens replaced the token key"
expect "$(api GET /v1/credentials "$LEAKED")" 401
expect "$(api GET /v1/credentials "$CI")" 401
ctl credential resolve db | has CANARY-tokens-db || fail "--no-tokens: the record"
NEW=$(ctl token create new-ci)
expect "$(api GET /v1/credentials "$NEW")" 200
pass "restore --no-tokens: records restored, no token (the revoked one neither) opens the API, new ones work"

ctl restore --escrow "$WORK" --recipient-key "$WORK/none.jwk" --no-tokens 2>"$WORK/err" \
  && fail "--no-tokens with --escrow accepted"
grep -q 'no tokens' "$WORK/err" || fail "--escrow --no-tokens: $(cat "$WORK/err")"
pass "--no-tokens with --escrow is a usage error (escrow holds no tokens)"
