#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The production unit (data/credgate-agent.service): systemd accepts it, its
# exposure score stays low, it carries the hardening the design asks for,
# and the wrapper it runs really brings up an agent whose gnome-keyring is
# unlocked by the password in $CREDENTIALS_DIRECTORY, as systemd hands it.
. "$top_srcdir/tests/lib.sh"
# grep -q in a pipe may end before its writer: with pipefail that is a
# SIGPIPE failure.  has reads all of its input.
has () { grep "$@" >/dev/null; }

command -v systemd-analyze >/dev/null || { echo "SKIP: systemd-analyze not installed"; exit 77; }
UNIT_IN="$top_builddir/data/credgate-agent.service"
SESSION="$top_builddir/data/credgate-agent-session"
[ -f "$UNIT_IN" ] && [ -x "$SESSION" ] || fail "build data/credgate-agent.service and data/credgate-agent-session first"

# systemd checks that the programs exist: point the unit at the built wrapper.
unit="$WORK/credgate-agent.service"
sed "s|-- [^ ]*/credgate-agent-session|-- $SESSION|" "$UNIT_IN" > "$unit"
out=$(systemd-analyze verify "$unit" 2>&1) || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify warns: $out"
pass "systemd-analyze verify accepts the unit without a warning"

report=$(systemd-analyze security --offline=true "$unit" 2>&1) || fail "systemd-analyze security: $report"
score=$(printf '%s\n' "$report" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
[ -n "$score" ] || fail "no exposure score in: $report"
awk -v s="$score" 'BEGIN { exit !(s <= 1.5) }' || fail "exposure $score > 1.5: $report"
pass "systemd-analyze security --offline=true: exposure $score (limit 1.5)"

for d in 'User=credgate' 'ProtectSystem=strict' 'ProtectHome=yes' 'PrivateTmp=yes' \
         'NoNewPrivileges=yes' 'CapabilityBoundingSet=$' 'SystemCallFilter=@system-service' \
         'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6' 'MemoryDenyWriteExecute=yes' \
         'LimitCORE=0' 'UMask=0077' 'StateDirectory=credgate' 'RuntimeDirectory=credgate' \
         'LoadCredentialEncrypted=keyring-password:' 'ExecStart=/usr/bin/dbus-run-session -- '; do
  grep -q "^$d" "$unit" || fail "the unit lacks $d"
done
grep -q '^u credgate ' "$top_srcdir/data/credgate.sysusers" || fail "sysusers does not make the credgate user"
grep -q '^d /var/lib/credgate 0700 credgate credgate' "$top_srcdir/data/credgate.tmpfiles" \
  || fail "tmpfiles does not make the state directory 0700"
pass "hardening directives, sysusers and tmpfiles are all there"

# The wrapper as the unit runs it: a fresh D-Bus session, a credentials
# directory holding the password, the keyring under XDG_DATA_HOME.
creds="$WORK/credentials"; mkdir -m 700 "$creds"
printf 'unit-test-keyring-password' > "$creds/keyring-password"
kdata="$WORK/keyring-data"
run_session () {
  local tries i
  for tries in 1 2 3 4 5; do
    PORT=$(( 20000 + RANDOM % 40000 ))
    : > "$AGENT_LOG"
    CREDENTIALS_DIRECTORY="$creds" XDG_DATA_HOME="$kdata" CREDGATE_AGENT="$AGENT" \
      dbus-run-session -- "$SESSION" --port "$PORT" --listen 127.0.0.1 --state-dir "$STATE" \
        --admin-socket "$SOCKET" >"$AGENT_LOG.out" 2>>"$AGENT_LOG" &
    SESSION_PID=$!
    for i in $(seq 200); do
      ctl status >/dev/null 2>&1 && break 2
      if ! kill -0 "$SESSION_PID" 2>/dev/null; then
        wait "$SESSION_PID" || true
        grep -q 'Address already in use' "$AGENT_LOG" && continue 2
        fail "the session wrapper ended"
      fi
      sleep 0.05
    done
    fail "the agent under the wrapper did not answer"
  done
  ctl status | has 'secret store: *ready' || { ctl status >&2; fail "the keyring is not ready inside the wrapper's session"; }
  AGENT_PID=$(ps -o pid= --ppid "$SESSION_PID" -o comm= | awk '$2 == "credgate-agent" { print $1 }')
  [ -n "$AGENT_PID" ] || fail "no agent under dbus-run-session"
}
stop_session () {
  kill -TERM "$AGENT_PID"; wait "$SESSION_PID" || true; AGENT_PID=
}
trap 'stop_session 2>/dev/null; cleanup' EXIT

run_session
TOKEN=$(ctl token create unit-test)
expect "$(api PUT /v1/credentials/unit "$TOKEN" '{"type":"mysql","secret":"s3cret-unit"}')" 201
[ -s "$kdata/keyrings/login.keyring" ] || fail "no login keyring under XDG_DATA_HOME"
ps -eo args | grep -v grep | has unit-test-keyring-password && fail "the keyring password is in a process list"
stop_session
run_session
ctl credential resolve unit | has 's3cret-unit' || fail "after restart the record does not open"
pass "the wrapper unlocks the keyring from \$CREDENTIALS_DIRECTORY; keys survive a restart"

# Without the credential the wrapper refuses, clearly.
out=$(env -u CREDENTIALS_DIRECTORY dbus-run-session -- "$SESSION" 2>&1) && fail "started without a password"
echo "$out" | has 'no keyring password' || fail "unclear refusal: $out"
pass "no credential: the wrapper refuses with a clear message"
