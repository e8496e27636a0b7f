# SPDX-License-Identifier: LGPL-2.1-or-later
# Shared helpers for the integration tests.  They run inside tests/cg-test-env
# (private D-Bus session, unlocked gnome-keyring) and drive the real agent
# with real clients: curl, gnutls-cli, openssl, python3's ssl module.
set -euo pipefail

: "${top_builddir:?run through make check or tests/cg-test-env}"
: "${top_srcdir:?}"
AGENT="$top_builddir/credgate-agent"
CTL="$top_builddir/credgatectl"
WORK=$(mktemp -d "${CG_TEST_WORK:-/tmp}/it.XXXXXX")
STATE="$WORK/state"
SOCKET="$WORK/admin.sock"
AGENT_LOG="$WORK/agent.log"
AGENT_PID=
PORT=

fail () { echo "FAIL: $*" >&2; [ -f "$AGENT_LOG" ] && { echo "--- agent log" >&2; tail -n 30 "$AGENT_LOG" >&2; }; exit 1; }
pass () { echo "ok - $*"; }
# has GREP-ARGS…: grep -q that reads all its input.  grep -q stops at the
# first match, and under pipefail the writer then killed by SIGPIPE (any
# output over one pipe write, e.g. gnutls-cli's certificate dump) fails the
# pipeline although the line was there.
has () { grep "$@" >/dev/null; }

cleanup () {
  [ -n "$AGENT_PID" ] && kill -TERM "$AGENT_PID" 2>/dev/null && wait "$AGENT_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# start_agent [extra agent options…]: on a free port; waits until the admin
# socket answers.  $CG_AGENT_WRAPPER (make check-memory: valgrind) runs in
# front of the agent when set; the wait is longer then.
start_agent () {
  # 30 s: under make distcheck or the ASan pass on a loaded 2-core machine
  # a start has taken over 5 s.  A start that fails ends the wait at once.
  local tries waits=600
  [ -z "${CG_AGENT_WRAPPER:-}" ] || waits=1200
  for tries in 1 2 3 4 5; do
    PORT=$(( 20000 + RANDOM % 40000 ))
    ${CG_AGENT_WRAPPER:-} "$AGENT" --port "$PORT" --listen 127.0.0.1,::1 --state-dir "$STATE" \
      --admin-socket "$SOCKET" "$@" >"$AGENT_LOG.out" 2>>"$AGENT_LOG" &
    AGENT_PID=$!
    local i
    for i in $(seq "$waits"); do
      if ! kill -0 "$AGENT_PID" 2>/dev/null; then
        wait "$AGENT_PID" || true
        AGENT_PID=
        grep -q 'Address already in use' "$AGENT_LOG" && continue 2
        fail "agent did not start"
      fi
      "$CTL" --socket "$SOCKET" status >/dev/null 2>&1 && return 0
      sleep 0.05
    done
    fail "agent did not answer on its admin socket"
  done
  fail "no free port found"
}

stop_agent () {
  kill -TERM "$AGENT_PID"
  wait "$AGENT_PID" || fail "agent exited with status $? on SIGTERM"
  AGENT_PID=
}

ctl () { "$CTL" --socket "$SOCKET" "$@"; }

# The SHA-256 SPKI pin of the certificate the agent on $PORT serves, as a
# real TLS client (openssl s_client) sees it.
served_pin () {
  printf 'sha256:%s\n' "$(openssl s_client -connect "127.0.0.1:$PORT" -servername localhost \
    </dev/null 2>/dev/null | openssl x509 -pubkey -noout | openssl pkey -pubin -outform der \
    | openssl dgst -sha256 -binary | base64)"
}

# api METHOD PATH [TOKEN] [BODY]: prints "STATUS BODY"; BODY from stdin if "-".
# The token travels in a header file, the body on stdin: never in argv.
api () {
  local method=$1 path=$2 token=${3:-} body=${4:-}
  local hdr out
  hdr=$(mktemp "$WORK/hdr.XXXXXX"); out=$(mktemp "$WORK/out.XXXXXX")
  : > "$hdr"
  [ -n "$token" ] && printf 'Authorization: Bearer %s\n' "$token" > "$hdr"
  local args=(-sS -o "$out" -w '%{http_code}' --cacert "$STATE/tls/server.crt"
              -H @"$hdr" -X "$method")
  [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary @-)
  local code
  if [ -n "$body" ]; then
    code=$(printf '%s' "$body" | curl "${args[@]}" "https://localhost:$PORT$path")
  else
    code=$(curl "${args[@]}" "https://localhost:$PORT$path" </dev/null)
  fi
  local reply
  reply=$(cat "$out")
  rm -f "$hdr" "$out"
  printf '%s %s\n' "$code" "$reply"
}

# expect_status "STATUS BODY" CODE [ERROR_CODE]
expect () {
  local got=$1 code=$2 err=${3:-}
  [ "${got%% *}" = "$code" ] || fail "expected HTTP $code, got: $got"
  if [ -n "$err" ]; then
    echo "${got#* }" | has "\"code\": *\"$err\"" || fail "expected error $err, got: $got"
  fi
}
