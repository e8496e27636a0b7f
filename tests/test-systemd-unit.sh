#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The production unit (data/credgate-agent.service): systemd accepts it, its
# exposure score stays low, it carries the hardening the design asks for,
# and the wrapper it runs really brings up an agent whose gnome-keyring is
# unlocked by the password in $CREDENTIALS_DIRECTORY, as systemd hands it.
. "$top_srcdir/tests/lib.sh"
# grep -q in a pipe may end before its writer: with pipefail that is a
# SIGPIPE failure.  has reads all of its input.

command -v systemd-analyze >/dev/null || fail "systemd-analyze is not installed (package systemd: scripts/setup installs it)"
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
# Enabled by the package, it starts only once the credential it loads exists.
cred=$(sed -n 's/^LoadCredentialEncrypted=keyring-password://p' "$unit")
grep -qx "ConditionPathExists=$cred" "$unit" || fail "no ConditionPathExists= on the credential $cred"
pass "the hardening directives are all there; the unit waits for $cred"

# The user and directories, from the files as `make install` puts them
# (systemd reads only *.conf there), by systemd-sysusers and
# systemd-tmpfiles on that tree as they run at boot.  The directories are
# forced to /usr/lib so that a distcheck prefix does not hide them.
root="$WORK/root"; mkdir -p "$root/etc"
out=$(${MAKE:-make} -s -C "$top_builddir" install-sysusersDATA install-tmpfilesDATA DESTDIR="$root" \
        sysusersdir=/usr/lib/sysusers.d tmpfilesdir=/usr/lib/tmpfiles.d 2>&1) || fail "make install: $out"
out=$(systemd-sysusers --root="$root" 2>&1) || fail "systemd-sysusers: $out"
entry=$(awk -F: '$1 == "credgate"' "$root/etc/passwd" 2>/dev/null || true)
[ -n "$entry" ] || fail "systemd-sysusers --root made no credgate user from $(ls "$root/usr/lib/sysusers.d")"
IFS=: read -r _ _ uid gid _ home shell <<<"$entry"
[ "$home:$shell" = /var/lib/credgate:/usr/sbin/nologin ] || fail "credgate user: $entry"
grep -q "^credgate:x:$gid:" "$root/etc/group" || fail "no credgate group with gid $gid"
out=$(systemd-tmpfiles --create --root="$root" 2>&1) || fail "systemd-tmpfiles: $out"
for d in var/lib/credgate var/log/credgate; do
  [ "$(stat -c '%a %u %g' "$root/$d" 2>/dev/null)" = "700 $uid $gid" ] \
    || fail "systemd-tmpfiles --root did not make /$d 0700 credgate: $(ls -lnd "$root/$d" 2>&1)"
done
[ ! -e "$root/etc/credstore.encrypted" ] || fail "tmpfiles makes /etc/credstore.encrypted, which the admin makes"
pass "installed sysusers.d and tmpfiles.d credgate.conf make the user (uid $uid) and its 0700 directories"

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
