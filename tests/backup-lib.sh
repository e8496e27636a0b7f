# SPDX-License-Identifier: LGPL-2.1-or-later
# Helpers for the backup, escrow and move-host tests: several agents at
# once (each with its own state directory, socket and log), fingerprints
# of a state database and of the keyring to prove "nothing changed", and
# an agent on a second host: its own D-Bus session and gnome-keyring.
. "$top_srcdir/tests/lib.sh"

declare -A AGENT_PIDS=() AGENT_PORTS=() AGENT_SESSIONS=()
CUR=

# use_agent NAME: make NAME the agent that ctl, api and start_agent mean.
use_agent () {
  if [ -n "$CUR" ]; then AGENT_PIDS[$CUR]=$AGENT_PID; AGENT_PORTS[$CUR]=$PORT; fi
  CUR=$1
  mkdir -p "$WORK/$CUR"
  STATE="$WORK/$CUR/state"; SOCKET="$WORK/$CUR/admin.sock"; AGENT_LOG="$WORK/$CUR/agent.log"
  AGENT_PID=${AGENT_PIDS[$CUR]:-}; PORT=${AGENT_PORTS[$CUR]:-}
}

stop_all_agents () {
  local name
  [ -n "$CUR" ] && { AGENT_PIDS[$CUR]=$AGENT_PID; AGENT_PORTS[$CUR]=$PORT; }
  for name in "${!AGENT_PIDS[@]}"; do
    [ -n "${AGENT_PIDS[$name]}" ] && kill -TERM "${AGENT_PIDS[$name]}" 2>/dev/null || true
  done
  for name in "${!AGENT_SESSIONS[@]}"; do
    wait "${AGENT_SESSIONS[$name]}" 2>/dev/null || true
  done
  AGENT_PID=
  cleanup
}
trap stop_all_agents EXIT

# A digest of every row of a state database (read while the agent runs:
# WAL readers see the last commit).
db_digest () {
  /usr/bin/python3 - "$1/state.db" <<'PY'
import hashlib, sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
h = hashlib.sha256()
for line in db.iterdump():
    h.update(line.encode() + b"\n")
print(h.hexdigest())
PY
}

# Number of credgate items in the keyring the current agent uses (its own
# D-Bus session's, for an agent on "another host"); secrets are not printed.
keyring_count () {
  local bus=
  [ -n "$AGENT_PID" ] && bus=$(tr '\0' '\n' <"/proc/$AGENT_PID/environ" 2>/dev/null \
    | sed -n 's/^DBUS_SESSION_BUS_ADDRESS=//p')
  DBUS_SESSION_BUS_ADDRESS=${bus:-$DBUS_SESSION_BUS_ADDRESS} \
    secret-tool search --all xdg:schema org.credgate.Key 2>/dev/null | grep -c '^\[/' || true
}

# state_fingerprint: the current agent's database and the keyring.
state_fingerprint () { printf '%s %s\n' "$(db_digest "$STATE")" "$(keyring_count)"; }

# start_agent_own_keyring [KEYRING_FILE]: start the current agent on
# "another host": a D-Bus session and a gnome-keyring of its own (own HOME
# and data dir), so nothing of the first agent's keyring is visible to it.
# With KEYRING_FILE (a copy of the test session's login.keyring), that
# host's keyring starts as that copy.
start_agent_own_keyring () {
  local home="$WORK/$CUR/host" tries i
  mkdir -p "$home/data" "$home/run" "$home/config"
  chmod 700 "$home/run"
  printf 'second-host-keyring' > "$home/keyring-password"
  if [ -n "${1:-}" ]; then
    mkdir -p "$home/data/keyrings"
    cp "$1" "$home/data/keyrings/login.keyring"
    cp "$CG_TEST_KEYRING_PASSWORD_FILE" "$home/keyring-password"
  fi
  for tries in 1 2 3 4 5; do
    PORT=$(( 20000 + RANDOM % 40000 ))
    rm -f "$home/agent.pid"
    HOME="$home" XDG_DATA_HOME="$home/data" XDG_RUNTIME_DIR="$home/run" \
      XDG_CONFIG_HOME="$home/config" \
      dbus-run-session -- bash -c '
        gnome-keyring-daemon --foreground --unlock --components=secrets <"$1" >/dev/null &
        for i in $(seq 100); do
          gdbus call --session --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus \
            --method org.freedesktop.DBus.NameHasOwner org.freedesktop.secrets 2>/dev/null \
            | grep -q true && break
          sleep 0.05
        done
        echo $$ >"$2"
        shift 2
        exec "$@"' _ "$home/keyring-password" "$home/agent.pid" \
      "$AGENT" --port "$PORT" --listen 127.0.0.1,::1 --state-dir "$STATE" \
      --admin-socket "$SOCKET" >"$AGENT_LOG.out" 2>>"$AGENT_LOG" &
    AGENT_SESSIONS[$CUR]=$!
    for i in $(seq 600); do
      if ! kill -0 "${AGENT_SESSIONS[$CUR]}" 2>/dev/null; then
        grep -q 'Address already in use' "$AGENT_LOG" && continue 2
        fail "agent on its own keyring did not start"
      fi
      if [ -s "$home/agent.pid" ] && "$CTL" --socket "$SOCKET" status >/dev/null 2>&1; then
        AGENT_PID=$(cat "$home/agent.pid")
        return 0
      fi
      sleep 0.05
    done
    fail "agent on its own keyring did not answer"
  done
  fail "no free port found"
}
