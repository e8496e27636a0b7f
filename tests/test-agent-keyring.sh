#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The secret store as the agent meets it: locked, missing, emptied.  A locked
# or missing keyring is reported (503 with a clear code), never a reason to
# make new keys; unlocking recovers without a restart.
. "$top_srcdir/tests/lib.sh"

KEYRING_CTL="$top_builddir/tests/keyring-ctl"
our_items () { secret-tool search --all xdg:schema org.credgate.Key 2>/dev/null | grep -c '^\[' || true; }
body='{"type":"mysql","secret":"pw"}'

# 1. First start with the keyring locked: the agent serves, seals nothing,
#    creates nothing.
"$KEYRING_CTL" lock
start_agent
grep -q 'secret store' "$AGENT_LOG" || fail "the locked keyring is not logged"
TOKEN=$(ctl token create it-keyring)
expect "$(api GET /v1/info)" 200
api GET /v1/info | has '"secretStore":"locked"' || fail "info does not say locked"
expect "$(api PUT /v1/credentials/a "$TOKEN" "$body")" 503 secret_store_locked
expect "$(api POST /v1/encrypt "$TOKEN" '{"value":"v"}')" 503 secret_store_locked
expect "$(api GET /v1/credentials "$TOKEN")" 200
ctl status | has 'secret store: *locked' || fail "status does not say locked"
"$KEYRING_CTL" unlock
[ "$(our_items)" = 0 ] || fail "keys were created while the keyring was locked"
pass "locked at first start: 503 secret_store_locked, tokens and listing still work, no keys created"

# 2. Unlocked: the same process recovers.
expect "$(api PUT /v1/credentials/a "$TOKEN" "$body")" 201
[ "$(our_items)" -ge 2 ] || fail "no keys in the keyring after unlock"
kid=$(ctl --json status | sed -n 's/.*"kid": "\(.*\)".*/\1/p')
[ -n "$kid" ] || fail "no kid after unlock"
pass "after unlock the same agent creates its keys and stores (no restart)"

# Locked while running: keys in memory stop serving at once, and come back
# on unlock.
"$KEYRING_CTL" lock
sleep 0.2
expect "$(api PUT /v1/credentials/a "$TOKEN" "$body")" 503 secret_store_locked
ctl credential resolve a >/dev/null 2>&1 && fail "resolve worked with the keyring locked"
"$KEYRING_CTL" unlock
expect "$(api PUT /v1/credentials/a "$TOKEN" "$body")" 200
pass "locked while running: 503 at once; unlocked: serving again"

# 3. Restart with the keyring locked: 503, and unlocking brings back the
#    same keys, not new ones.
stop_agent
"$KEYRING_CTL" lock
start_agent
expect "$(api PUT /v1/credentials/b "$TOKEN" "$body")" 503 secret_store_locked
"$KEYRING_CTL" unlock
n_before=$(our_items)
expect "$(api PUT /v1/credentials/b "$TOKEN" "$body")" 201
ctl credential resolve a | has '"pw"' || fail "record a does not open after unlock"
[ "$(ctl --json status | sed -n 's/.*"kid": "\(.*\)".*/\1/p')" = "$kid" ] || fail "the kid changed"
[ "$(our_items)" = "$n_before" ] || fail "new keys appeared"
pass "restart while locked: 503, then the same keys after unlock"

# 4. Keys gone from an unlocked keyring: reported, never re-created.
stop_agent
secret-tool clear xdg:schema org.credgate.Key
start_agent
expect "$(api PUT /v1/credentials/c "$TOKEN" "$body")" 503 secret_store_keys_missing
[ "$(our_items)" = 0 ] || fail "keys were re-created after they went missing"
pass "keys missing from the keyring: 503 secret_store_keys_missing, nothing re-created"

# 5. No Secret Service at all.
stop_agent
rm -rf "$STATE"
DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent/bus start_agent
TOKEN=$(ctl token create it-nobus)
expect "$(api PUT /v1/credentials/a "$TOKEN" "$body")" 503 secret_store_unavailable
pass "no Secret Service: the agent starts and answers 503 secret_store_unavailable"
