#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A host without IPv6 (socket (AF_INET6) fails with EAFNOSUPPORT, through
# the LD_PRELOAD shim tests/no-ipv6.so): with no --listen the agent falls
# back from "::" to 0.0.0.0 and serves; told to listen on ::1 it refuses
# to start, with one line saying why.  The fallback is decided by the
# error's code, not by its (maybe translated) message.
. "$top_srcdir/tests/lib.sh"
SHIM="$top_builddir/tests/no-ipv6.so"
[ -f "$SHIM" ] || fail "$SHIM is not built"
# An ASan agent wants its runtime first; the shim is not instrumented.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"

PORT=$(( 20000 + RANDOM % 40000 ))
LD_PRELOAD="$SHIM" "$AGENT" --port "$PORT" --state-dir "$STATE" --admin-socket "$SOCKET" \
  >"$WORK/out" 2>>"$AGENT_LOG" &
AGENT_PID=$!
for _ in $(seq 600); do
  "$CTL" --socket "$SOCKET" status >/dev/null 2>&1 && break
  kill -0 "$AGENT_PID" 2>/dev/null || fail "the agent did not start without IPv6"
  sleep 0.05
done
grep -qxF "listening on https://0.0.0.0:$PORT/" "$WORK/out" ||
  fail "no fallback to 0.0.0.0: $(cat "$WORK/out")"
grep -q '\[::\]' "$WORK/out" && fail "an IPv6 listener without IPv6: $(cat "$WORK/out")"
code=$(curl -s -o /dev/null -w '%{http_code}' --insecure "https://127.0.0.1:$PORT/v1/info")
[ "$code" = 200 ] || fail "GET /v1/info over IPv4: $code"
stop_agent
pass "no IPv6: the agent listens on 0.0.0.0 and answers"

set +e
LD_PRELOAD="$SHIM" timeout 30 "$AGENT" --port "$PORT" --listen ::1 --state-dir "$STATE" \
  --admin-socket "$SOCKET" >"$WORK/out2" 2>"$WORK/err2"
rc=$?
set -e
[ "$rc" = 1 ] || fail "--listen ::1 without IPv6: exit $rc, not 1: $(cat "$WORK/err2")"
grep -q 'cannot listen on ::1' "$WORK/err2" || fail "--listen ::1 without IPv6: $(cat "$WORK/err2")"
pass "no IPv6, --listen ::1: refused with exit 1, '$(grep 'cannot listen' "$WORK/err2" | head -1)'"
