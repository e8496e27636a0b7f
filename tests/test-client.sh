#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The typed client (protocol/cg-client.h) against a real agent: each call,
# and each kind of error, in the agent's three states (tests/test-client.c).
. "$top_srcdir/tests/lib.sh"

KEYRING_CTL="$top_builddir/tests/keyring-ctl"
start_agent
( umask 077; ctl token create it-client > "$WORK/token" )
export CG_TEST_HOST=127.0.0.1 CG_TEST_PORT="$PORT" CG_TEST_PIN="$(served_pin)"
export CG_TEST_TOKEN_FILE="$WORK/token"

"$top_builddir/tests/test-client" -p /client/agent || fail "typed calls against a serving agent"
pass "probe, info, credentials put/get/list/delete, encrypt, verify, rewrap; 401, 403, 413, unreachable, pin mismatch"

"$KEYRING_CTL" lock
"$top_builddir/tests/test-client" -p /client/locked || fail "typed calls against a locked keyring"
"$KEYRING_CTL" unlock
pass "a locked secret store is CG_ERROR_LOCKED, not 'unreachable'"

for i in $(seq 10); do api GET /v1/credentials "cgt_wrong$i" >/dev/null; done
"$top_builddir/tests/test-client" -p /client/throttled || fail "typed calls when throttled"
pass "429 after failed logins is CG_CLIENT_ERROR_BUSY"
