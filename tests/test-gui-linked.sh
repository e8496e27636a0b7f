#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/test-gui-linked (the linked-service page in a real GTK window) on a
# real X server (Xvfb), against a real agent for "Encrypt".
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/xvfb.sh"

start_agent
ctl token create gui-linked >"$WORK/token"
chmod 600 "$WORK/token"

XVFB_PID=
trap 'kill $XVFB_PID 2>/dev/null || true; cleanup' EXIT
start_xvfb "$WORK"

# The token travels as a file, never in the environment.
CG_TEST_AGENT_PORT=$PORT CG_TEST_AGENT_PIN=$(served_pin) CG_TEST_TOKEN_FILE="$WORK/token" \
  LANGUAGE=en "$top_builddir/tests/test-gui-linked" \
  || fail "tests/test-gui-linked failed $(xvfb_state)"
pass "the linked-service page: the preview refuses a SecureString in an array; Encrypt clears the input and its undo history"
