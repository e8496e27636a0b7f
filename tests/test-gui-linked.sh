#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/test-gui-linked (the linked-service page in a real GTK window) on a
# real X server (Xvfb), against a real agent for "Encrypt".
. "$top_srcdir/tests/lib.sh"
# Under --enable-asan, full stacks on every malloc (Makefile.am) slow GTK
# down for nothing here.
[ -z "${LSAN_OPTIONS:-}" ] || export LSAN_OPTIONS=${LSAN_OPTIONS//fast_unwind_on_malloc=0/fast_unwind_on_malloc=1}

start_agent
ctl token create gui-linked >"$WORK/token"
chmod 600 "$WORK/token"

# Xvfb picks a free display itself: other tests run in parallel.
Xvfb -displayfd 3 -screen 0 1024x768x24 -nolisten tcp 3>"$WORK/display" >/dev/null 2>&1 &
XVFB_PID=$!
trap 'kill $XVFB_PID 2>/dev/null || true; cleanup' EXIT
for _ in $(seq 100); do [ -s "$WORK/display" ] && break; sleep 0.05; done
[ -s "$WORK/display" ] || fail "Xvfb did not start"
export DISPLAY=":$(head -1 "$WORK/display")"
for _ in $(seq 50); do xdpyinfo >/dev/null 2>&1 && break; sleep 0.1; done

# The token travels as a file, never in the environment.
CG_TEST_AGENT_PORT=$PORT CG_TEST_AGENT_PIN=$(served_pin) CG_TEST_TOKEN_FILE="$WORK/token" \
  GDK_BACKEND=x11 LANGUAGE=en "$top_builddir/tests/test-gui-linked" \
  || fail "tests/test-gui-linked failed"
pass "the linked-service page: the preview refuses a SecureString in an array; Encrypt clears the input and its undo history"
