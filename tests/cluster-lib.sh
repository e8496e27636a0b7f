# SPDX-License-Identifier: LGPL-2.1-or-later
# A three-node credgate cluster on loopback for the tests, sourced by them
# (after nothing else: it sources tests/lib.sh and tests/etcd-cluster.sh).
# Three etcd members with mutual TLS and three agents A, B, C (numbered 1, 2,
# 3).  Each agent is a host of its own: its own D-Bus session
# (dbus-run-session) with its own gnome-keyring-daemon, unlocked with a
# throwaway password from a file, its own HOME and XDG directories, state
# directory, TLS port and admin socket.  The keyring daemon outlives the
# agent: agent_kill and agent_start leave the node's keyring and state as
# they were, as on a host whose agent crashed.
#
#   cluster_start                 etcd_cluster_start, a client certificate
#                                 per node, cluster_agents_start
#   cluster_agents_start          start agents 1..3 (in parallel), wait for all
#   etcd_opts N                   ETCD_OPTS=(--etcd … --etcd-ca … --etcd-cert
#                                 … --etcd-key …) for node N: then
#                                 ctl_on 1 cluster init "${ETCD_OPTS[@]}" …
#   cluster_form                  init on 1, invite + join for 2 and 3, until
#                                 node 1 sees all three alive
#   cluster_token NAME            CLUSTER_TOKEN= a token made on node 1, once
#                                 it works on every running node
#   cluster_wait_alive N COUNT [S]  until node N's /v1/info shows COUNT alive
#   wait_for SECONDS WHAT CMD…    CMD (quiet) every 0.1 s until it succeeds;
#                                 fails the test "not within SECONDS s: WHAT"
#   poll_until SECONDS CMD…       the same, but false after SECONDS (for a
#                                 caller that says more when it fails)
#   resolves N NAME TEXT          node N's credential NAME resolves to a
#                                 secret containing TEXT
#   replica_dump N                node N's credentials table, every column
#   cluster_wait_converged [S] [N…]  until the running nodes' replicas match
#   agent_start N [OPTION…]       start agent N on its state, port and keyring
#                                 (its keyring session first, if not running);
#                                 OPTIONs go to credgate-agent (and are kept
#                                 for later restarts)
#   agent_stop N                  SIGTERM, wait; fails unless it exits 0
#   agent_kill N                  SIGKILL, wait (a crash: no cleanup)
#   agent_running N               true while agent N's process lives
#   agent_wait_log N REGEX [S]    wait (default 30 s) for REGEX in N's log
#   applier_freeze N              stop node N's applier thread alone (ptrace:
#                                 tests/thread-freeze.py), caught waiting on
#                                 its etcd watch: N serves and writes while its
#                                 replica applies nothing (CAP_SYS_PTRACE)
#   applier_thaw N                let it go on
#   etcd_step N WHEN THEN         run agent N in short steps until etcd shows
#                                 WHEN, then do THEN (tests/etcd-step.py: a
#                                 fault at a chosen point of a multi-txn
#                                 write); start the operation after it
#   etcd_step_wait                until that happened; STEP_SEEN= what etcd
#                                 held then (THEN kill: the agent is gone)
#   ctl_on N ARGS…                credgatectl on N's admin socket, in N's env
#   api_on N METHOD PATH [TOKEN] [BODY]
#                                 as lib.sh's api, against agent N, trusting
#                                 only N's own certificate; TOKEN defaults
#                                 to $CLUSTER_TOKEN ("" = none); BODY "-":
#                                 stdin
#   api_time                      seconds the last api_on's exchange took
#                                 (curl's time_total)
#   node_env N CMD…               run CMD in node N's environment (HOME,
#                                 XDG_*, its session bus and keyring)
#   node_spec N                   "PORT:CAFILE" of node N, for cluster_load
#   cluster_load CMD ARGS…        tests/cluster-load.py (loads: put, race,
#                                 lag, writer) with $CLUSTER_TOKEN
#   cluster_leftovers [DIR]       the processes still running with DIR (this
#                                 cluster's directory) in their command
#                                 line or environment (none after cleanup)
#   cluster_cleanup               stop agents, keyrings, sessions, etcd; the
#                                 EXIT trap calls it
#
# Per node N: NODE_NAME[N] (gw1..gw3), NODE_DIR[N], NODE_STATE[N],
# NODE_SOCKET[N], NODE_PORT[N], NODE_LOG[N] (the agent's stderr),
# NODE_ADDRESS[N] (127.0.0.1:PORT), NODE_ETCD_CERT[N], NODE_ETCD_KEY[N]
# (its etcd client certificate), AGENT_PIDS[N], and etcd-cluster.sh's
# ETCD_* variables and functions (etcd_member_stop N, etcdctl_cg …).
# fail prints every agent's and etcd member's log tail.
#
# Nothing secret crosses argv or the environment: the keyring password is a
# file read on stdin, tokens travel in curl header files.

source "$top_srcdir/tests/lib.sh"
source "$top_srcdir/tests/etcd-cluster.sh"

CLUSTER_DIR="$WORK/cluster"
NODE_NAME=("" gw1 gw2 gw3)
NODE_DIR=()
NODE_STATE=()
NODE_SOCKET=()
NODE_PORT=()
NODE_LOG=()
NODE_ADDRESS=()
NODE_ARGS=("" "" "" "")
AGENT_PIDS=("" "" "" "")
FREEZE_PIDS=("" "" "" "")
STEP_PID=
STEP_NODE=
STEP_THEN=
SESSION_PIDS=("" "" "" "")
KEYRING_PIDS=("" "" "" "")
NODE_ETCD_CERT=()
NODE_ETCD_KEY=()
: "${CLUSTER_TOKEN:=}"

_cluster_logs () {
  local n
  for n in 1 2 3; do
    [ -n "${NODE_LOG[$n]:-}" ] && [ -f "${NODE_LOG[$n]}" ] || continue
    echo "--- agent $n (${NODE_NAME[$n]}) log"
    tail -n 30 "${NODE_LOG[$n]}"
  done
  _etcd_logs
}

fail () {
  echo "FAIL: $*" >&2
  _cluster_logs >&2
  exit 1
}

_cluster_check_n () {
  case "${1:-}" in 1 | 2 | 3) ;; *) fail "cluster-lib: no node '${1:-}' (1..3)" ;; esac
}

# One free loopback TCP port, chosen by the kernel.
_cluster_free_port () {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

_cluster_node_init () {
  local n=$1 d=$CLUSTER_DIR/n$1
  [ -z "${NODE_DIR[$n]:-}" ] || return 0
  mkdir -p "$d/home" "$d/data" "$d/config" "$d/cache" "$d/run"
  chmod 700 "$d" "$d/run"
  printf 'credgate-test-keyring-%s' "$n" > "$d/keyring-password"
  chmod 600 "$d/keyring-password"
  NODE_DIR[$n]=$d
  NODE_STATE[$n]=$d/state
  NODE_SOCKET[$n]=$d/admin.sock
  NODE_LOG[$n]=$d/agent.log
  NODE_PORT[$n]=$(_cluster_free_port)
  NODE_ADDRESS[$n]=127.0.0.1:${NODE_PORT[$n]}
}

# _node_envv N: NODE_ENVV=(VAR=value…), node N's HOME, XDG directories and
# session bus, for env(1): "env … CMD &" gives CMD's own pid in $!.
_node_envv () {
  local d=${NODE_DIR[$1]}
  NODE_ENVV=(HOME="$d/home" XDG_DATA_HOME="$d/data" XDG_CONFIG_HOME="$d/config"
             XDG_CACHE_HOME="$d/cache" XDG_RUNTIME_DIR="$d/run")
  if [ -s "$d/bus-address" ]; then
    NODE_ENVV+=(DBUS_SESSION_BUS_ADDRESS="$(cat "$d/bus-address")")
  else
    NODE_ENVV=(-u DBUS_SESSION_BUS_ADDRESS "${NODE_ENVV[@]}")
  fi
}

node_env () {
  local n=$1
  shift
  _node_envv "$n"
  env "${NODE_ENVV[@]}" "$@"
}

# Node N's own D-Bus session: dbus-run-session runs gnome-keyring-daemon in
# the foreground (it unlocks, or first creates, the login keyring with the
# password on stdin) and ends, taking its dbus-daemon along, when that daemon
# is stopped.  The session's address is written to a file for node_env.
_cluster_session_start () {
  local n=$1 d=${NODE_DIR[$1]} i
  [ -z "${SESSION_PIDS[$n]}" ] || return 0
  rm -f "$d/bus-address" "$d/keyring.pid"
  _node_envv "$n"
  env "${NODE_ENVV[@]}" GSETTINGS_BACKEND=memory NO_AT_BRIDGE=1 \
    dbus-run-session -- sh -c 'printf "%s\n" "$DBUS_SESSION_BUS_ADDRESS" > "$1.tmp" &&
      mv "$1.tmp" "$1" && echo $$ > "$2" &&
      exec gnome-keyring-daemon --foreground --unlock --components=secrets < "$3" > "$4" 2>&1' \
    sh "$d/bus-address" "$d/keyring.pid" "$d/keyring-password" "$d/keyring.log" \
    2> >(grep -v 'Failed to set fd limit' >&2) &
  SESSION_PIDS[$n]=$!
  for i in $(seq 600); do
    if [ -s "$d/keyring.pid" ] && [ -s "$d/bus-address" ] &&
       node_env "$n" gdbus call --session --dest org.freedesktop.DBus \
         --object-path /org/freedesktop/DBus --method org.freedesktop.DBus.NameHasOwner \
         org.freedesktop.secrets 2>/dev/null | has true; then
      KEYRING_PIDS[$n]=$(cat "$d/keyring.pid")
      return 0
    fi
    kill -0 "${SESSION_PIDS[$n]}" 2>/dev/null ||
      { cat "$d/keyring.log" >&2 2>/dev/null; SESSION_PIDS[$n]=; fail "node $n: its D-Bus session ended"; }
    sleep 0.05
  done
  fail "node $n: no Secret Service on its session bus after 30 s"
}

_cluster_session_stop () {
  local n=$1
  [ -n "${SESSION_PIDS[$n]}" ] || return 0
  if [ -n "${KEYRING_PIDS[$n]}" ]; then
    kill -TERM "${KEYRING_PIDS[$n]}" 2>/dev/null || true
  else
    # Not up yet: the shell that would have become the keyring daemon.
    pkill -TERM -P "${SESSION_PIDS[$n]}" 2>/dev/null || true
  fi
  _cluster_wait_pid "${SESSION_PIDS[$n]}" 10 || kill -KILL "${SESSION_PIDS[$n]}" 2>/dev/null || true
  wait "${SESSION_PIDS[$n]}" 2>/dev/null || true
  SESSION_PIDS[$n]=
  KEYRING_PIDS[$n]=
}

# _cluster_wait_pid PID SECONDS: true once PID is gone (or a zombie).
_cluster_wait_pid () {
  local pid=$1 i
  for i in $(seq $(( $2 * 20 ))); do
    [ -d "/proc/$pid" ] || return 0
    [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] || return 0
    sleep 0.05
  done
  return 1
}

# Launch agent N without waiting for it.
_agent_launch () {
  local n=$1
  : > "${NODE_LOG[$n]}.out"
  echo "=== start $(date -u +%H:%M:%S.%N)" >> "${NODE_LOG[$n]}"
  _node_envv "$n"
  # shellcheck disable=SC2086
  env "${NODE_ENVV[@]}" ${CG_AGENT_WRAPPER:-} "$AGENT" --port "${NODE_PORT[$n]}" --listen 127.0.0.1 \
    --state-dir "${NODE_STATE[$n]}" --admin-socket "${NODE_SOCKET[$n]}" ${NODE_ARGS[$n]} \
    >"${NODE_LOG[$n]}.out" 2>>"${NODE_LOG[$n]}" &
  AGENT_PIDS[$n]=$!
}

# Wait until agent N answers on its admin socket.  Its port stays the same
# across restarts (the cluster knows the node by it): a port still in use
# is retried for a while, never swapped for another.
_agent_wait () {
  local n=$1 i waits=600 busy=0
  [ -z "${CG_AGENT_WRAPPER:-}" ] || waits=1200
  for i in $(seq "$waits"); do
    if ! kill -0 "${AGENT_PIDS[$n]}" 2>/dev/null; then
      wait "${AGENT_PIDS[$n]}" 2>/dev/null || true
      AGENT_PIDS[$n]=
      if tail -n 5 "${NODE_LOG[$n]}" | has 'Address already in use' && [ $busy -lt 20 ]; then
        busy=$(( busy + 1 ))
        sleep 0.5
        _agent_launch "$n"
        continue
      fi
      fail "agent $n (${NODE_NAME[$n]}) did not start"
    fi
    "$CTL" --socket "${NODE_SOCKET[$n]}" status >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  fail "agent $n (${NODE_NAME[$n]}) did not answer on its admin socket"
}

agent_start () {
  local n=$1
  _cluster_check_n "$n"
  shift
  [ -z "${AGENT_PIDS[$n]}" ] || fail "agent $n is already running"
  [ $# -eq 0 ] || NODE_ARGS[$n]="$*"
  _cluster_node_init "$n"
  _cluster_session_start "$n"
  _agent_launch "$n"
  _agent_wait "$n"
}

cluster_agents_start () {
  local n
  for n in 1 2 3; do _cluster_node_init "$n"; done
  for n in 1 2 3; do _cluster_session_start "$n"; done
  for n in 1 2 3; do
    [ -z "${AGENT_PIDS[$n]}" ] || fail "agent $n is already running"
    _agent_launch "$n"
  done
  for n in 1 2 3; do _agent_wait "$n"; done
}

# Each node gets its own etcd client certificate from the cluster's CA, as
# an admin would issue one per gateway.
cluster_start () {
  local n
  etcd_cluster_start "$CLUSTER_DIR/etcd"
  for n in 1 2 3; do
    _etcd_leaf "node$n" ca "credgate ${NODE_NAME[$n]}" tls_www_client
    NODE_ETCD_CERT[$n]=$ETCD_DIR/pki/node$n.pem
    NODE_ETCD_KEY[$n]=$ETCD_DIR/pki/node$n.key
  done
  cluster_agents_start
}

# cluster_form: "cluster init" on node 1, then for nodes 2 and 3 an invite
# on node 1 and "cluster join" (the code on a descriptor, never argv);
# returns once node 1's /v1/info shows all three alive.  Nodes 2 and 3 must
# be empty (no token or credential yet), as join requires.
cluster_form () {
  local n code
  etcd_opts 1
  ctl_on 1 cluster init "${ETCD_OPTS[@]}" --name "${NODE_NAME[1]}" --address "${NODE_ADDRESS[1]}" \
    >"$CLUSTER_DIR/init.out" 2>&1 || { cat "$CLUSTER_DIR/init.out" >&2; fail "cluster init on node 1"; }
  for n in 2 3; do
    code=$(ctl_on 1 cluster invite --expires 10m 2>/dev/null) || fail "cluster invite on node 1"
    etcd_opts "$n"
    printf '%s\n' "$code" | ctl_on "$n" cluster join "${ETCD_OPTS[@]}" --name "${NODE_NAME[$n]}" \
      --address "${NODE_ADDRESS[$n]}" --code-fd 0 >"$CLUSTER_DIR/join$n.out" 2>&1 ||
      { cat "$CLUSTER_DIR/join$n.out" >&2; fail "cluster join on node $n"; }
  done
  cluster_wait_alive 1 3
}

# cluster_token NAME: CLUSTER_TOKEN=a token made on node 1, once it works
# on every running node (a token is a cluster write, applied by each).
cluster_token () {
  local n
  CLUSTER_TOKEN=$(ctl_on 1 token create "$1") || fail "token create on node 1"
  for n in 2 3; do
    agent_running "$n" || continue
    wait_for 20 "the token made on node 1 working on node $n" _token_works "$n"
  done
}
_token_works () { [ "$(api_on "$1" GET /v1/credentials | cut -d' ' -f1)" = 200 ]; }

# cluster_alive N: how many nodes node N's /v1/info shows alive.
cluster_alive () {
  api_on "$1" GET /v1/info "" | python3 -c '
import json, sys
line = sys.stdin.read()
status, _, body = line.partition(" ")
try:
    nodes = json.loads(body).get("cluster", {}).get("nodes", [])
except ValueError:
    nodes = []
print(sum(1 for n in nodes if n.get("alive")))'
}

# cluster_wait_alive N COUNT [SECONDS]: until node N sees COUNT nodes alive.
cluster_wait_alive () {
  local i secs=${3:-30}
  for i in $(seq $(( secs * 5 ))); do
    [ "$(cluster_alive "$1")" = "$2" ] && return 0
    sleep 0.2
  done
  fail "node $1 does not see $2 nodes alive after $secs s: $(api_on "$1" GET /v1/info "")"
}

# poll_until SECONDS CMD…: true once CMD succeeds (tried every 0.1 s, its
# output discarded), false after SECONDS.
poll_until () {
  local secs=$1 i
  shift
  [ $# -ge 1 ] || fail "poll_until: no command"
  for i in $(seq $(( secs * 10 ))); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}

# wait_for SECONDS WHAT CMD…: CMD succeeds within SECONDS, or the test fails
# with "not within SECONDS s: WHAT".
wait_for () {
  local secs=$1 what=$2
  shift 2 || fail "wait_for: usage: wait_for SECONDS WHAT CMD…"
  [ $# -ge 1 ] || fail "wait_for: no command (usage: wait_for SECONDS WHAT CMD…)"
  poll_until "$secs" "$@" || fail "not within $secs s: $what"
}

resolves () { ctl_on "$1" credential resolve "$2" 2>/dev/null | has -F -- "$3"; }

# replica_dump N: node N's credentials as its replica (STATE_DIR/state.db)
# holds them, every column, one line each, sorted by name: what "byte-
# identical replicas" compares.
replica_dump () {
  sqlite3 -readonly -batch "${NODE_STATE[$1]}/state.db" \
    "SELECT name, type, properties, version, created, updated, hex(sealed) FROM credentials ORDER BY name"
}

# cluster_wait_converged [SECONDS] [NODES…]: until every running node (or
# NODES) holds the same records (replica_dump); fails with the difference.
cluster_wait_converged () {
  local secs=${1:-30} nodes=("${@:2}") i n first
  [ ${#nodes[@]} -gt 0 ] || for n in 1 2 3; do agent_running "$n" && nodes+=("$n"); done
  for i in $(seq $(( secs * 5 ))); do
    first=
    for n in "${nodes[@]}"; do replica_dump "$n" >"$CLUSTER_DIR/dump.$n" 2>/dev/null || true; done
    for n in "${nodes[@]:1}"; do
      cmp -s "$CLUSTER_DIR/dump.${nodes[0]}" "$CLUSTER_DIR/dump.$n" || { first=$n; break; }
    done
    [ -n "$first" ] || return 0
    sleep 0.2
  done
  diff "$CLUSTER_DIR/dump.${nodes[0]}" "$CLUSTER_DIR/dump.$first" | head -n 10 >&2 || true
  fail "nodes ${nodes[0]} and $first hold different records after $secs s"
}

# etcd_opts N: ETCD_OPTS=(--etcd URLS --etcd-ca CA --etcd-cert CERT
# --etcd-key KEY) with node N's client certificate, for cluster init/join.
etcd_opts () {
  _cluster_check_n "$1"
  ETCD_OPTS=(--etcd "$ETCD_ENDPOINTS" --etcd-ca "$ETCD_CA"
             --etcd-cert "${NODE_ETCD_CERT[$1]}" --etcd-key "${NODE_ETCD_KEY[$1]}")
}

agent_running () {
  _cluster_check_n "$1"
  [ -n "${AGENT_PIDS[$1]}" ] && kill -0 "${AGENT_PIDS[$1]}" 2>/dev/null
}

agent_stop () {
  local n=$1 rc=0
  _cluster_check_n "$n"
  [ -n "${AGENT_PIDS[$n]}" ] || fail "agent $n is not running"
  kill -TERM "${AGENT_PIDS[$n]}"
  wait "${AGENT_PIDS[$n]}" || rc=$?
  AGENT_PIDS[$n]=
  echo "=== stopped $(date -u +%H:%M:%S.%N) status $rc" >> "${NODE_LOG[$n]}"
  [ $rc -eq 0 ] || fail "agent $n exited with status $rc on SIGTERM"
}

agent_kill () {
  local n=$1
  _cluster_check_n "$n"
  [ -n "${AGENT_PIDS[$n]}" ] || fail "agent $n is not running"
  kill -KILL "${AGENT_PIDS[$n]}"
  wait "${AGENT_PIDS[$n]}" 2>/dev/null || true
  AGENT_PIDS[$n]=
  echo "=== killed $(date -u +%H:%M:%S.%N)" >> "${NODE_LOG[$n]}"
}

# agent_wait_log N REGEX [SECONDS]: grep -E on the log since the last start.
agent_wait_log () {
  local n=$1 re=$2 secs=${3:-30} i
  for i in $(seq $(( secs * 10 ))); do
    tac "${NODE_LOG[$n]}" | sed '/^=== start /q' | has -E -- "$re" && return 0
    sleep 0.1
  done
  fail "agent $n (${NODE_NAME[$n]}): no '$re' in its log after $secs s"
}

applier_freeze () {
  local n=$1 f=$CLUSTER_DIR/freeze.$1
  agent_running "$n" || fail "applier_freeze: agent $n is not running"
  [ -z "${FREEZE_PIDS[$n]}" ] || fail "node $n's applier is frozen already"
  rm -f "$f.ready"
  python3 "$top_srcdir/tests/thread-freeze.py" "${AGENT_PIDS[$n]}" cg-etcd-applier "$f.ready" \
    2>"$f.err" &
  FREEZE_PIDS[$n]=$!
  poll_until 30 test -s "$f.ready" ||
    fail "node $n's applier thread not frozen: $(cat "$f.err")"
}

applier_thaw () {
  local n=$1 rc=0
  [ -n "${FREEZE_PIDS[$n]}" ] || fail "node $n's applier is not frozen"
  kill -TERM "${FREEZE_PIDS[$n]}" 2>/dev/null || true
  wait "${FREEZE_PIDS[$n]}" || rc=$?
  FREEZE_PIDS[$n]=
  [ $rc = 0 ] || fail "thawing node $n's applier: $(cat "$CLUSTER_DIR/freeze.$n.err")"
}

etcd_step () {
  local n=$1
  agent_running "$n" || fail "etcd_step: agent $n is not running"
  [ -z "$STEP_PID" ] || fail "etcd_step: a stepper runs already"
  rm -f "$CLUSTER_DIR/step.on" "$CLUSTER_DIR/step.seen"
  python3 "$top_srcdir/tests/etcd-step.py" "${AGENT_PIDS[$n]}" "$CLUSTER_DIR/step.on" \
    "$CLUSTER_DIR/step.seen" "$2" "$3" >"$CLUSTER_DIR/step.log" 2>&1 &
  STEP_PID=$!
  STEP_NODE=$n
  STEP_THEN=$3
  poll_until 20 test -e "$CLUSTER_DIR/step.on" ||
    fail "agent $n not run in steps: $(cat "$CLUSTER_DIR/step.log")"
}

etcd_step_wait () {
  local rc=0
  wait "$STEP_PID" || rc=$?
  STEP_PID=
  [ $rc = 0 ] || fail "agent $STEP_NODE was not caught where the test wanted: $(cat "$CLUSTER_DIR/step.log")"
  STEP_SEEN=$(cat "$CLUSTER_DIR/step.seen")
  if [ "$STEP_THEN" = kill ]; then
    wait "${AGENT_PIDS[$STEP_NODE]}" 2>/dev/null || true
    AGENT_PIDS[$STEP_NODE]=
    echo "=== killed $(date -u +%H:%M:%S.%N) by etcd_step: $STEP_SEEN" >> "${NODE_LOG[$STEP_NODE]}"
  fi
}

ctl_on () {
  local n=$1
  _cluster_check_n "$n"
  shift
  node_env "$n" "$CTL" --socket "${NODE_SOCKET[$n]}" "$@"
}

# api_on N METHOD PATH [TOKEN] [BODY]: "STATUS BODY", as lib.sh's api.
api_on () {
  local n=$1 method=$2 path=$3 token=${4-$CLUSTER_TOKEN} body=${5:-}
  _cluster_check_n "$n"
  local hdr out code reply
  hdr=$(mktemp "$WORK/hdr.XXXXXX")
  out=$(mktemp "$WORK/out.XXXXXX")
  [ -z "$token" ] || printf 'Authorization: Bearer %s\n' "$token" > "$hdr"
  local args=(-sS -o "$out" -w '%{http_code} %{time_total}' --max-time 30
              --cacert "${NODE_STATE[$n]}/tls/server.crt" -H @"$hdr" -X "$method")
  if [ "$body" = - ]; then
    code=$(curl "${args[@]}" -H 'Content-Type: application/json' --data-binary @- \
      "https://localhost:${NODE_PORT[$n]}$path") || true
  elif [ -n "$body" ]; then
    code=$(printf '%s' "$body" | curl "${args[@]}" -H 'Content-Type: application/json' \
      --data-binary @- "https://localhost:${NODE_PORT[$n]}$path") || true
  else
    code=$(curl "${args[@]}" "https://localhost:${NODE_PORT[$n]}$path" </dev/null) || true
  fi
  reply=$(cat "$out")
  rm -f "$hdr" "$out"
  # curl's own time for the exchange (connection, TLS, request, answer),
  # without its process start: for "answers within N s".
  printf '%s\n' "${code#* }" > "$CLUSTER_DIR/api-time"
  code=${code%% *}
  printf '%s %s\n' "${code:-000}" "$reply"
}

# api_time: the seconds the last api_on's exchange took (curl's time_total).
api_time () { cat "$CLUSTER_DIR/api-time"; }

# node_spec N: "PORT:CAFILE", node N for tests/cluster-load.py.
node_spec () { echo "${NODE_PORT[$1]}:${NODE_STATE[$1]}/tls/server.crt"; }

# cluster_load CMD ARGS…: tests/cluster-load.py with $CLUSTER_TOKEN (in a
# 0600 file, not argv).
cluster_load () {
  local f=$CLUSTER_DIR/load-token
  [ -n "$CLUSTER_TOKEN" ] || fail "cluster_load: no CLUSTER_TOKEN"
  (umask 077 && printf '%s\n' "$CLUSTER_TOKEN" > "$f")
  python3 "$top_srcdir/tests/cluster-load.py" --token-file "$f" "$@"
}

cluster_leftovers () {
  local p dir=${1:-$CLUSTER_DIR} cmd
  for p in /proc/[0-9]*; do
    [ "${p#/proc/}" != "$$" ] && [ "${p#/proc/}" != "$BASHPID" ] || continue
    cmd=$({ tr '\0' ' ' < "$p/cmdline"; } 2>/dev/null) || continue
    if [[ "$cmd" == *"$dir"* ]] || { tr '\0' '\n' < "$p/environ"; } 2>/dev/null | has -F -- "$dir"; then
      [ "$({ awk '{print $3}' "$p/stat"; } 2>/dev/null)" = Z ] && continue
      printf '%s %s\n' "${p#/proc/}" "${cmd:0:120}"
    fi
  done
}

cluster_cleanup () {
  local n
  # A frozen thread first goes on (its tracer ends), or its agent would not end.
  for n in 1 2 3; do
    [ -z "${FREEZE_PIDS[$n]}" ] || { kill -TERM "${FREEZE_PIDS[$n]}" 2>/dev/null; wait "${FREEZE_PIDS[$n]}"; } || true
  done
  # Likewise an agent run in steps (the stepper lets it go as it ends).
  if [ -n "$STEP_PID" ]; then
    kill -TERM "$STEP_PID" 2>/dev/null; wait "$STEP_PID" 2>/dev/null
    kill -CONT "${AGENT_PIDS[$STEP_NODE]}" 2>/dev/null || true
  fi
  for n in 1 2 3; do
    if [ -n "${AGENT_PIDS[$n]}" ]; then
      kill -TERM "${AGENT_PIDS[$n]}" 2>/dev/null || true
    fi
  done
  for n in 1 2 3; do
    if [ -n "${AGENT_PIDS[$n]}" ]; then
      _cluster_wait_pid "${AGENT_PIDS[$n]}" 20 || kill -KILL "${AGENT_PIDS[$n]}" 2>/dev/null || true
      wait "${AGENT_PIDS[$n]}" 2>/dev/null || true
      AGENT_PIDS[$n]=
    fi
  done
  for n in 1 2 3; do _cluster_session_stop "$n"; done
  etcd_cluster_cleanup
}

trap 'cluster_cleanup; cleanup' EXIT
