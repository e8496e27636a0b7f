#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Process hygiene, seen from outside the process: core size 0, not dumpable
# (its /proc files belong to root and another process of its own user cannot
# read its memory or environment), umask 077, and a canary secret that was
# stored, encrypted and resolved appears nowhere it should not: argv, the
# environment, the logs, the audit file, the state directory in the clear.
. "$top_srcdir/tests/lib.sh"
# grep -q in a pipe may end before its writer: with pipefail that is a
# SIGPIPE failure.  has reads all of its input.

CANARY="cgcanary-$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')"
AUDIT="$WORK/audit.log"
printf '[agent]\naudit_log=%s\n' "$AUDIT" > "$WORK/agent.conf"
start_agent --config "$WORK/agent.conf"

# 1. Core size 0, soft and hard.
grep -Eq '^Max core file size +0 +0 ' "/proc/$AGENT_PID/limits" \
  || fail "core limit is not 0/0: $(grep core "/proc/$AGENT_PID/limits")"
pass "RLIMIT_CORE is 0 (soft and hard) in /proc/PID/limits"

# 2. umask 077.
umask_now=$(sed -n 's/^Umask:[[:space:]]*//p' "/proc/$AGENT_PID/status")
[ "$umask_now" = 0077 ] || fail "umask is $umask_now"
pass "umask is 0077 in /proc/PID/status"

# 3. Not dumpable.  The kernel makes the /proc/PID files of a process whose
#    dumpable flag is 0 belong to root, and refuses ptrace-class access
#    (environ, mem) to other processes of the same user.  As root that does
#    not show, so then a second agent runs as nobody, next to a control
#    process as nobody that did not call prctl.
proc_owner () { stat -c %u "/proc/$1/status"; }
if [ "$(id -u)" != 0 ]; then
  [ "$(proc_owner "$AGENT_PID")" = 0 ] || fail "/proc/$AGENT_PID is not root's: the agent is dumpable"
  cat "/proc/$AGENT_PID/environ" >/dev/null 2>&1 && fail "our own user reads the agent's environ"
  pass "not dumpable: /proc/PID belongs to root, its environ is closed to its own user"
elif command -v setpriv >/dev/null; then
  nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups --)
  nd=$(mktemp -d /tmp/cg-hygiene.XXXXXX); chown 65534:65534 "$nd"
  cp "$AGENT" "$nd/credgate-agent"
  np=$(( 20000 + RANDOM % 40000 ))
  HOME="$nd" XDG_RUNTIME_DIR="$nd" DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent \
    "${nobody[@]}" "$nd/credgate-agent" --port "$np" --listen 127.0.0.1 --state-dir "$nd/state" \
      --admin-socket "$nd/admin.sock" >"$nd/out" 2>"$nd/err" &
  npid=$!
  "${nobody[@]}" sleep 30 &
  cpid=$!
  for _ in $(seq 100); do [ -S "$nd/admin.sock" ] && break; sleep 0.05; done
  [ -S "$nd/admin.sock" ] || { cat "$nd/err" >&2; kill "$npid" "$cpid"; rm -rf "$nd"; fail "agent as nobody did not start"; }
  own_agent=$(proc_owner "$npid"); own_control=$(proc_owner "$cpid")
  uid_agent=$(awk '/^Uid:/ { print $2 }' "/proc/$npid/status")
  env_agent=no; "${nobody[@]}" cat "/proc/$npid/environ" >/dev/null 2>&1 && env_agent=yes
  env_control=no; "${nobody[@]}" cat "/proc/$cpid/environ" >/dev/null 2>&1 && env_control=yes
  kill "$npid" "$cpid"; wait "$npid" || true; wait "$cpid" 2>/dev/null || true; rm -rf "$nd"
  [ "$uid_agent" = 65534 ] || fail "the agent did not run as nobody (uid $uid_agent)"
  [ "$own_control" = 65534 ] || fail "control: a plain nobody process has /proc owned by $own_control"
  [ "$env_control" = yes ] || fail "control: nobody cannot read its own process's environ"
  [ "$own_agent" = 0 ] || fail "the agent's /proc/PID belongs to $own_agent, not root: it is dumpable"
  [ "$env_agent" = no ] || fail "another nobody process read the agent's environ"
  pass "not dumpable: as nobody its /proc/PID belongs to root and its environ is closed (control: $own_control, readable)"
else
  fail "need setpriv (util-linux) to see dumpability as root"
fi

# 4. A canary through every path a secret takes: store, replace, encrypt,
#    verify, resolve, delete.  The body travels on stdin, the token in a file.
TOKEN=$(ctl token create it-hygiene)
body="{\"type\":\"mysql\",\"properties\":{\"server\":\"db\"},\"secret\":{\"password\":\"$CANARY\"}}"
expect "$(api PUT /v1/credentials/canary "$TOKEN" "$body")" 201
expect "$(api PUT /v1/credentials/canary "$TOKEN" "$body")" 200
expect "$(api PUT /v1/credentials/canary2 "$TOKEN" "$body")" 201
reply=$(api POST /v1/encrypt "$TOKEN" "{\"value\":\"$CANARY\",\"context\":\"c\"}")
expect "$reply" 200
jwe=$(echo "${reply#* }" | sed -n 's/.*"encryptedCredential": *"\([^"]*\)".*/\1/p')
expect "$(api POST /v1/verify "$TOKEN" "{\"encryptedCredential\":\"$jwe\",\"context\":\"c\"}")" 200
ctl credential resolve canary | has "$CANARY" || fail "resolve does not give the canary back"
printf '%s' "$jwe" | ctl decrypt --context c | has "$CANARY" || fail "decrypt does not give the canary back"
expect "$(api DELETE /v1/credentials/canary2 "$TOKEN")" 200
expect "$(api GET /v1/credentials/canary "$TOKEN")" 200
api GET /v1/credentials/canary "$TOKEN" | has "$CANARY" && fail "GET returned the secret"
grep -q '"audit":"credential.put"' "$AUDIT" || fail "the audit file has no put line"

where=()
tr '\0' '\n' < "/proc/$AGENT_PID/cmdline" | has "$CANARY" && where+=(cmdline)
tr '\0' '\n' < "/proc/$AGENT_PID/environ" | has "$CANARY" && where+=(environ)
for t in /proc/"$AGENT_PID"/task/*; do tr '\0' '\n' < "$t/cmdline" | has "$CANARY" && where+=("$t/cmdline"); done
grep -aq "$CANARY" "$AGENT_LOG" "$AGENT_LOG.out" && where+=(log)
grep -aq "$CANARY" "$AUDIT" && where+=(audit)
# SQLite keeps records in the database, its WAL and shm: sealed only.
kill -0 "$AGENT_PID"
leaked=$(grep -rlaF "$CANARY" "$STATE" || true)
[ -n "$leaked" ] && where+=("state: $leaked")
[ ${#where[@]} -eq 0 ] || fail "the canary is in: ${where[*]}"
# And the stored record really is in the state directory, sealed: the
# property we stored in the clear is there, the canary is not.
grep -rlaq '"server"' "$STATE" || has -rla 'canary' "$STATE" || fail "no record in the state directory at all"
stop_agent
leaked=$(grep -rlaF "$CANARY" "$STATE" "$AGENT_LOG" "$AUDIT" || true)
[ -z "$leaked" ] || fail "after stop the canary is in: $leaked"
pass "canary never in cmdline, environ, the log, the audit file or the state directory (running and stopped)"
