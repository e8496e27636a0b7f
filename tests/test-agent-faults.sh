#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Faults: the agent SIGKILLed in the middle of 200 concurrent stores, the
# keyring daemon killed under it, the audit log unwritable.  Nothing
# answered 2xx is lost, nothing is half-written, no new keys appear, and
# changes are refused when they cannot be audited.  (A full disk:
# tests/test-agent-diskfull.sh.)
. "$top_srcdir/tests/lib.sh"
# grep -q in a pipe may end before its writer: with pipefail that is a
# SIGPIPE failure.  has reads all of its input.

our_items () { secret-tool search --all xdg:schema org.credgate.Key 2>/dev/null | grep -c '^\[' || true; }
integrity () { sqlite3 "$STATE/state.db" 'PRAGMA integrity_check;'; }

start_agent
TOKEN=$(ctl token create it-faults)
printf 'Authorization: Bearer %s\n' "$TOKEN" > "$WORK/token.header"
CA="$STATE/tls/server.crt"

# 1. SIGKILL during 200 concurrent stores (20 at a time).  Each store's
#    name, HTTP status and secret are recorded by the client.
store_one () {
  local i=$1 code
  code=$(printf '{"type":"mysql","properties":{"n":%d},"secret":{"password":"pw-%d-%s"}}' \
           "$i" "$i" "$RUN" |
         curl -sS -m 10 -o /dev/null -w '%{http_code}' --cacert "$CA" -H @"$WORK/token.header" \
              -H 'Content-Type: application/json' -X PUT --data-binary @- \
              "https://localhost:$PORT/v1/credentials/rec-$i" 2>/dev/null) || true
  echo "$i ${code:-000}" >> "$WORK/results"
}
export -f store_one
export WORK CA PORT RUN=$RANDOM
: > "$WORK/results"
seq 200 | xargs -P 20 -I{} bash -c 'store_one {}' &
xargs_pid=$!
for _ in $(seq 400); do
  [ "$(wc -l < "$WORK/results")" -ge 60 ] && break
  sleep 0.01
done
kill -KILL "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null || true
AGENT_PID=
wait "$xargs_pid" || true
ok=$(awk '$2 ~ /^2/' "$WORK/results" | wc -l)
refused=$(awk '$2 !~ /^2/' "$WORK/results" | wc -l)
[ "$ok" -ge 20 ] || fail "only $ok stores answered before the kill"
[ "$refused" -ge 1 ] || fail "the kill came after every store ($ok answered)"
[ "$(integrity)" = ok ] || fail "state.db integrity: $(integrity)"

start_agent
lost=0; wrong=0; present_unanswered=0
while read -r i code; do
  out=$(ctl credential resolve "rec-$i" 2>&1) && have=yes || have=no
  if [ "$have" = yes ]; then
    echo "$out" | has "\"pw-$i-$RUN\"" || { wrong=$((wrong + 1)); echo "rec-$i: $out" >&2; }
    case "$code" in 2??) ;; *) present_unanswered=$((present_unanswered + 1)) ;; esac
  else
    case "$code" in 2??) lost=$((lost + 1)); echo "rec-$i lost: $out" >&2 ;; esac
    echo "$out" | has 'no credential named\|not_found' || { wrong=$((wrong + 1)); echo "rec-$i: $out" >&2; }
  fi
done < "$WORK/results"
[ "$lost" = 0 ] || fail "$lost stores answered 2xx are gone after SIGKILL"
[ "$wrong" = 0 ] || fail "$wrong records do not open to their own secret"
n_db=$(sqlite3 "$STATE/state.db" "SELECT count(*) FROM credentials WHERE name LIKE 'rec-%';")
pass "SIGKILL during 200 concurrent stores: $ok answered 2xx all present and opening to their own secret; $refused cut off ($present_unanswered of them committed anyway, whole); $n_db records, integrity ok"

# 2. gnome-keyring-daemon killed under the running agent: sealing answers
#    503 with a clear code, reads go on, no new keys; a daemon unlocked again
#    brings back the same keys.
kid=$(ctl --json status | sed -n 's/.*"kid": "\(.*\)".*/\1/p')
n_items=$(our_items)
keyring_pid=$(ps -o pid=,comm= --ppid "$PPID" | awk '$2 ~ /^gnome-keyring/ { print $1 }')
[ -n "$keyring_pid" ] || fail "cannot find the test's gnome-keyring-daemon (run through tests/cg-test-env)"
kill -KILL $keyring_pid
sleep 0.3
reply=$(api PUT /v1/credentials/after-kill "$TOKEN" '{"type":"mysql","secret":"x"}')
case "$reply" in
  "503 "*secret_store_unavailable*|"503 "*secret_store_locked*) ;;
  *) fail "with the keyring daemon killed a store got: $reply" ;;
esac
code_seen=$(echo "$reply" | sed -n 's/.*"code": *"\([a-z_]*\)".*/\1/p')
expect "$(api POST /v1/encrypt "$TOKEN" '{"value":"v"}')" 503 "$code_seen"
expect "$(api GET /v1/credentials "$TOKEN")" 200
expect "$(api GET /v1/credentials/rec-1 "$TOKEN")" 200
ctl credential resolve rec-1 >/dev/null 2>&1 && fail "resolve worked without a keyring"
# D-Bus activation starts a fresh daemon on the next call, with the login
# keyring locked; unlocking it (with the keyring's password, as an admin
# would) brings the agent back without a restart.
"$top_builddir/tests/keyring-ctl" unlock || fail "cannot unlock the re-activated keyring"
for _ in $(seq 100); do
  [ "$(ctl --json status | sed -n 's/.*"secretStore": "\(.*\)".*/\1/p')" = ready ] && break
  sleep 0.05
done
for _ in $(seq 50); do [ "$(our_items)" = "$n_items" ] && break; sleep 0.1; done
[ "$(our_items)" = "$n_items" ] || fail "keys changed: $n_items before, $(our_items) after; $(ctl status)"
expect "$(api PUT /v1/credentials/after-kill "$TOKEN" '{"type":"mysql","secret":"x"}')" 201
[ "$(ctl --json status | sed -n 's/.*"kid": "\(.*\)".*/\1/p')" = "$kid" ] || fail "the kid changed"
[ "$(our_items)" = "$n_items" ] || fail "new keys after recovery"
ctl credential resolve rec-1 | has "pw-1-$RUN" || fail "rec-1 does not open after recovery"
pass "keyring daemon killed: 503 $code_seen, reads answered, no new keys; unlocking the re-activated daemon brings back the same keys"
stop_agent

# 3. The audit log unwritable (/dev/full: every write fails): changes are
#    refused with 503 audit_unavailable and not made; reads are answered.
printf '[agent]\naudit_log=/dev/full\n' > "$WORK/full.conf"
start_agent --config "$WORK/full.conf"
expect "$(api PUT /v1/credentials/unaudited "$TOKEN" '{"type":"mysql","secret":"x"}')" 503 audit_unavailable
expect "$(api DELETE /v1/credentials/rec-1 "$TOKEN")" 503 audit_unavailable
expect "$(api GET /v1/credentials/unaudited "$TOKEN")" 404 not_found
expect "$(api GET /v1/credentials/rec-1 "$TOKEN")" 200
expect "$(api GET /v1/credentials "$TOKEN")" 200
expect "$(api POST /v1/encrypt "$TOKEN" '{"value":"v"}')" 200
grep -q 'audit log not writable' "$AGENT_LOG" || fail "the refusal is not logged"
stop_agent
pass "audit log unwritable: put and delete refused (503 audit_unavailable) and not made; reads and encrypt answered"
[ "$(integrity)" = ok ] || fail "state.db integrity at the end: $(integrity)"
