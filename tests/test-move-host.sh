#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# README "Moving the agent to a new host", step by step: two agents, two
# state directories, two keyrings (the new host runs in a D-Bus session
# and gnome-keyring of its own).  Clients keep their tokens; values and
# linked services sealed on the old host open on the new one.
. "$top_srcdir/tests/backup-lib.sh"

EV="$top_builddir/credgate-encrypt-value"
KNOWN="$XDG_CONFIG_HOME/credgate/known_agents"
pin_of () { ctl --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["tlsPin"])'; }
kid_of () { ctl --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["kid"])'; }

# ---- the old host, in use.
use_agent oldhost
start_agent
TOKEN=$(ctl token create gateway)
printf '%s\n' "$TOKEN" >"$WORK/token"
export CREDGATE_TOKEN_FILE="$WORK/token"
OLD="localhost:$PORT"
expect "$(api PUT /v1/credentials/sql-prod "$TOKEN" \
  '{"type":"sqlserver","properties":{"server":"db1"},"secret":{"password":"CANARY-move-sql"}}')" 201
printf 'CANARY-move-v1' | "$EV" --agent "$OLD" --trust-on-first-use --context app >"$WORK/v1.jwe"
cat >"$WORK/ls.json" <<'JSON'
{"name": "SqlLs", "properties": {"type": "SqlServer", "typeProperties": {
  "connectionString": "Data Source=db1;User ID=app", "password": "CANARY-move-ls"}}}
JSON
"$EV" --agent "$OLD" --linked-service "$WORK/ls.json" -i
ctl key rotate >/dev/null
printf 'CANARY-move-v2' | "$EV" --agent "$OLD" --context app >"$WORK/v2.jwe"
old_pin=$(pin_of); old_kid=$(kid_of)
grep -q "^$OLD " "$KNOWN" || fail "the client did not record the old agent"
pass "old host: a record, values sealed to two keys, a linked service, a client that knows it"

# Step 1: back up the old host (passphrase on a descriptor, not in argv).
printf 'move-me-safely-please\n' >"$WORK/pass"
ctl backup --output "$WORK/credgate.cgb" --passphrase-fd 3 3<"$WORK/pass" >/dev/null \
  || fail "step 1: backup"
ctl backup --inspect "$WORK/credgate.cgb" | has "^certificate: *$old_pin" \
  || fail "step 1: the backup does not hold the certificate"
pass "step 1: credgatectl backup --output credgate.cgb (keys, records, the certificate)"

# Step 2: install on the new host: the agent on its own keyring, with a
# first-start certificate of its own.
use_agent newhost
start_agent_own_keyring
[ "$(pin_of)" != "$old_pin" ] || fail "step 2: the new host already serves the old certificate?"
[ "$(kid_of)" != "$old_kid" ] || fail "step 2: the new host already has the old keys?"
pass "step 2: the new agent runs on its own keyring with a certificate of its own"

# Step 3: restore: the keys, the records and the certificate.
ctl restore "$WORK/credgate.cgb" --passphrase-fd 3 3<"$WORK/pass" >"$WORK/out" \
  || fail "step 3: restore"
grep -q 'restored (fresh)' "$WORK/out" || fail "step 3: $(cat "$WORK/out")"
grep -q "certificate $old_pin restored" "$WORK/out" || fail "step 3: $(cat "$WORK/out")"
[ "$(kid_of)" = "$old_kid" ] || fail "step 3: the current key is not the old host's"
[ "$(pin_of)" = "$old_pin" ] && [ "$(served_pin)" = "$old_pin" ] \
  || fail "step 3: the new host does not serve the old certificate"
pass "step 3: credgatectl restore credgate.cgb: the old host's keys are current and its certificate (same pin) is served"

# The old host goes away.
use_agent oldhost
stop_agent
use_agent newhost

# Step 4: re-point the clients: same pin, new address.
NEW="localhost:$PORT"
sed -i "s|^$OLD |$NEW |" "$KNOWN"
"$EV" --agent "$NEW" --verify --context app <"$WORK/v1.jwe" | has '^ok ' || fail "v1 --verify"
"$EV" --agent "$NEW" --verify --context app <"$WORK/v2.jwe" | has '^ok ' || fail "v2 --verify"
[ "$(ctl decrypt --context app <"$WORK/v1.jwe")" = CANARY-move-v1 ] || fail "v1 does not open"
[ "$(ctl decrypt --context app <"$WORK/v2.jwe")" = CANARY-move-v2 ] || fail "v2 does not open"
python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["properties"]["typeProperties"]["encryptedCredential"])' \
  "$WORK/ls.json" | ctl decrypt --context SqlLs | has CANARY-move-ls || fail "linked service"
ctl credential resolve sql-prod | has CANARY-move-sql || fail "sql-prod does not resolve"
printf 'after-the-move' | "$EV" --agent "$NEW" --context app >"$WORK/v3.jwe" \
  || fail "the client's old token and pin do not work on the new host"
[ "$(ctl decrypt --context app <"$WORK/v3.jwe")" = after-the-move ] || fail "v3"
pass "step 4: clients re-pointed: old token and pin work, every old value and linked service opens, records resolve"
