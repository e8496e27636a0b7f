#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# credgatectl tells its errors apart by their codes, never by their words:
# no agent on the socket is exit 3 (agent_unreachable); whatever an agent
# answers is exit 1, even a secret_store_unavailable whose message happens
# to say "cannot reach the agent"; every error is one line on stderr.  The
# "agent" here is a stand-in on a Unix socket that answers one fixed line.
set -euo pipefail
: "${top_builddir:?run through make check}"
CTL="$top_builddir/credgatectl"
fail () { echo "FAIL: $*" >&2; exit 1; }
WORK=$(mktemp -d "${CG_TEST_WORK:-/tmp}/ctl-errors.XXXXXX")
STUB_PID=
cleanup () { [ -z "$STUB_PID" ] || kill "$STUB_PID" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

# stub REPLY: serve REPLY (one JSON line) to every connection on
# $WORK/stub.sock; the last request is kept in $WORK/stub.req.
stub () {
  [ -z "$STUB_PID" ] || { kill "$STUB_PID"; wait "$STUB_PID" 2>/dev/null || true; }
  rm -f "$WORK/stub.sock"
  python3 - "$WORK/stub.sock" "$1" <<'PY' &
import socket, sys
srv = socket.socket(socket.AF_UNIX)
srv.bind(sys.argv[1])
srv.listen(4)
while True:
    c, _ = srv.accept()
    data = b""
    while not data.endswith(b"\n"):
        chunk = c.recv(65536)
        if not chunk:
            break
        data += chunk
    with open(sys.argv[1] + ".req.tmp", "wb") as f:
        f.write(data)
    import os; os.replace(sys.argv[1] + ".req.tmp", sys.argv[1][:-len("stub.sock")] + "stub.req")
    c.sendall(sys.argv[2].encode() + b"\n")
    c.close()
PY
  STUB_PID=$!
  for _ in $(seq 100); do [ -S "$WORK/stub.sock" ] && return 0; sleep 0.05; done
  fail "the stand-in agent did not start"
}

# run ARGS…: credgatectl's exit status in $rc, its stderr in $err.
run () {
  set +e
  "$CTL" "$@" >"$WORK/out" 2>"$WORK/err"
  rc=$?
  set -e
  err=$(cat "$WORK/err")
  [ "$(wc -l <"$WORK/err")" -le 1 ] || fail "credgatectl $*: more than one line on stderr: $err"
}

run --socket "$WORK/none.sock" status
[ "$rc" = 3 ] || fail "no agent: exit $rc, not 3 ($err)"
grep -q '^credgatectl: cannot reach the agent at ' <<<"$err" || fail "no agent: $err"
echo "ok - no agent on the socket: exit 3, '$err'"

stub '{"error": {"code": "secret_store_unavailable", "message": "cannot reach the agent'"'"'s secret store: no D-Bus"}}'
run --socket "$WORK/stub.sock" status
[ "$rc" = 1 ] || fail "the agent's secret_store_unavailable: exit $rc, not 1 ($err)"
grep -q "cannot reach the agent's secret store" <<<"$err" || fail "the agent's message is lost: $err"
echo "ok - an agent's secret_store_unavailable is exit 1, whatever its message says"

stub '{"error": {"code": "audit_unavailable", "message": "line one\nline two"}}'
run --socket "$WORK/stub.sock" token create ci
[ "$rc" = 1 ] || fail "audit_unavailable: exit $rc, not 1 ($err)"
[ "$err" = "credgatectl: line one line two" ] || fail "a two-line message is not one line: $err"
[ ! -s "$WORK/out" ] || fail "a refused token create printed: $(cat "$WORK/out")"
echo "ok - a message with a newline is printed on one line"

stub '{"result": {"kid": "abc"}}'
run --socket "$WORK/stub.sock" key rotate
[ "$rc" = 0 ] && [ "$(cat "$WORK/out")" = abc ] || fail "the control: exit $rc, '$(cat "$WORK/out")' ($err)"
echo "ok - control: an answer is printed, exit 0"

# A key id is base64url: one in 64 starts with '-'.  It is the command's
# argument, not an unknown option; a real unknown option still is one.
kid=-kQG8n9zBhVvVFzjYFHqdN45mbnL2rGj2Jqr95beb8k
stub '{"result": {"kid": "'"$kid"'"}}'
rm -f "$WORK/stub.req"
run --socket "$WORK/stub.sock" key retire "$kid"
[ "$rc" = 0 ] || fail "key retire $kid: exit $rc ($err)"
grep -qF -- "\"$kid\"" "$WORK/stub.req" || fail "key retire sent no $kid: $(cat "$WORK/stub.req" 2>/dev/null)"
run --socket "$WORK/stub.sock" key retire "$kid" --force
[ "$rc" = 0 ] || fail "key retire $kid --force: exit $rc ($err)"
grep -q '"force": *true' "$WORK/stub.req" || fail "key retire --force sent: $(cat "$WORK/stub.req")"
run --socket "$WORK/stub.sock" key retire --bogus
[ "$rc" = 2 ] || fail "key retire --bogus: exit $rc, not 2 ($err)"
run --socket "$WORK/stub.sock" key retire -x
[ "$rc" = 2 ] || fail "key retire -x: exit $rc, not 2 ($err)"
echo "ok - a key id that starts with '-' is the argument (sent as the kid); --bogus and -x are unknown options (exit 2)"
