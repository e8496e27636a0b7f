#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/cluster-lib.sh itself: three etcd members and three agents, each
# agent on its own session bus and gnome-keyring, own state, port and admin
# socket; an agent killed (SIGKILL) or stopped comes back on the same state
# and keyring; and the EXIT trap leaves no process behind, after a clean run
# and after a failing one.  The agents are not clustered here.
set -euo pipefail

if [ "${CG_CLUSTER_LIB_PHASE:-}" = fails ]; then
  # A test that fails with everything running: its trap must still clean up.
  source "$top_srcdir/tests/cluster-lib.sh"
  echo "$CLUSTER_DIR" > "$CG_CLUSTER_LIB_DIR_FILE"
  cluster_start
  fail "on purpose, with three agents and etcd running"
fi

if [ "${CG_CLUSTER_LIB_PHASE:-}" = run ]; then
  source "$top_srcdir/tests/cluster-lib.sh"
  echo "$CLUSTER_DIR" > "$CG_CLUSTER_LIB_DIR_FILE"
  cluster_start

  # Three hosts: distinct ports, sockets, buses, keyring daemons.
  [ "$(printf '%s\n' "${NODE_PORT[@]:1}" | sort -u | wc -l)" = 3 ] || fail "ports not distinct"
  buses=()
  for n in 1 2 3; do
    bus=$(tr '\0' '\n' < "/proc/${AGENT_PIDS[$n]}/environ" | sed -n 's/^DBUS_SESSION_BUS_ADDRESS=//p')
    [ -n "$bus" ] && [ "$bus" = "$(cat "${NODE_DIR[$n]}/bus-address")" ] ||
      fail "agent $n is not on its own session bus ($bus)"
    [ "$bus" != "${DBUS_SESSION_BUS_ADDRESS:-}" ] || fail "agent $n is on the test's own bus"
    tr '\0' '\n' < "/proc/${AGENT_PIDS[$n]}/environ" | has -x "HOME=${NODE_DIR[$n]}/home" ||
      fail "agent $n has not its own HOME"
    buses+=("$bus")
    expect "$(api_on "$n" GET /v1/info "")" 200
  done
  [ "$(printf '%s\n' "${buses[@]}" | sort -u | wc -l)" = 3 ] || fail "agents share a session bus"
  pass "three agents up, each on its own port, admin socket, HOME and session bus"

  # Each node seals with keys of its own keyring: a credential stored on
  # N is resolved on N only, each node's sealing key differs, and each
  # node's keyring (and only it) holds credgate keys.
  kid () { ctl_on "$1" --json status | sed -n 's/.*"kid": *"\([^"]*\)".*/\1/p' | head -n 1; }
  keys_in () { node_env "$1" secret-tool search --all xdg:schema org.credgate.Key 2>/dev/null | grep -c '^\[' || true; }
  declare -A KID TOKEN
  for n in 1 2 3; do
    TOKEN[$n]=$(ctl_on "$n" token create "lib-$n")
    expect "$(api_on "$n" PUT "/v1/credentials/c$n" "${TOKEN[$n]}" \
      "{\"type\":\"mysql\",\"secret\":\"canary-$n\"}")" 201
    KID[$n]=$(kid "$n")
    [ -n "${KID[$n]}" ] || fail "no sealing key on node $n"
    [ "$(keys_in "$n")" -ge 2 ] || fail "node $n's keyring holds no credgate keys"
    [ -f "${NODE_DIR[$n]}/data/keyrings/login.keyring" ] || fail "node $n's keyring file is not in its own XDG_DATA_HOME"
  done
  [ "$(printf '%s\n' "${KID[@]}" | sort -u | wc -l)" = 3 ] || fail "nodes share a sealing key"
  secret-tool search --all xdg:schema org.credgate.Key 2>&1 | has '^\[' &&
    fail "a key landed in the test's own keyring"
  for n in 1 2 3; do
    ctl_on "$n" credential resolve "c$n" | has -F "canary-$n" || fail "resolve c$n on node $n"
    m=$(( n % 3 + 1 ))
    ctl_on "$m" credential resolve "c$n" >/dev/null 2>&1 && fail "c$n resolves on node $m"
  done
  pass "each node seals with its own keyring's keys"

  # SIGKILL, then the same node again: same port, same keyring daemon,
  # same keys, same records.
  keyring_pid=${KEYRING_PIDS[2]}
  old=${AGENT_PIDS[2]}
  agent_kill 2
  agent_running 2 && fail "agent 2 still running after agent_kill"
  [ -d "/proc/$old" ] && fail "agent 2's process $old survived SIGKILL"
  r=$(api_on 2 GET /v1/info "")
  [ "${r%% *}" = 000 ] || fail "a killed agent answered: $r"
  agent_start 2
  [ "${KEYRING_PIDS[2]}" = "$keyring_pid" ] && kill -0 "$keyring_pid" || fail "node 2's keyring daemon changed"
  [ "$(kid 2)" = "${KID[2]}" ] || fail "node 2 came back with another sealing key"
  ctl_on 2 credential resolve c2 | has -F canary-2 || fail "node 2 lost c2 after SIGKILL"
  expect "$(api_on 2 GET /v1/credentials/c2 "${TOKEN[2]}")" 200
  pass "agent_kill and agent_start: the node comes back on its state and keyring"

  agent_stop 3
  agent_running 3 && fail "agent 3 still running after agent_stop"
  agent_start 3
  ctl_on 3 credential resolve c3 | has -F canary-3 || fail "node 3 lost c3 after a stop"
  pass "agent_stop (exit status 0) and agent_start"

  etcdctl_cg endpoint health >/dev/null 2>&1 || fail "etcd is not healthy"
  for n in 1 2 3; do
    etcd_opts "$n"
    [ "${ETCD_OPTS[5]}" = "${NODE_ETCD_CERT[$n]}" ] || fail "etcd_opts $n: ${ETCD_OPTS[*]}"
    ETCDCTL_API=3 etcdctl --endpoints "$ETCD_ENDPOINTS" --cacert "$ETCD_CA" \
      --cert "${NODE_ETCD_CERT[$n]}" --key "${NODE_ETCD_KEY[$n]}" --command-timeout 5s \
      put "/cg-lib-test/$n" ok >/dev/null || fail "etcd refuses node $n's client certificate"
  done
  pass "etcd is up and takes each node's own client certificate"

  # The leftover scan sees the whole cluster while it runs (so it would
  # see what cleanup missed): 3 agents, 3 keyrings, 3 buses, 3 etcd.
  running=$(cluster_leftovers)
  for comm in credgate-agent gnome-keyring-daemon dbus-daemon etcd; do
    c=$(awk '{print $2}' <<<"$running" | grep -c "/$comm\$\|^$comm\$" || true)
    [ "$c" = 3 ] || fail "the leftover scan sees $c $comm processes, not 3: $running"
  done
  pass "the leftover scan sees every process of the cluster"
  exit 0
fi

# The parent starts nothing itself: it uses the library's leftover scan.
source "$top_srcdir/tests/cluster-lib.sh"

# run PHASE: the phase in a child test, then nothing of its cluster runs.
run () {
  local phase=$1 dirfile=$WORK/$1.dir rc=0 dir left i
  CG_CLUSTER_LIB_PHASE=$phase CG_CLUSTER_LIB_DIR_FILE=$dirfile bash "$0" || rc=$?
  dir=$(cat "$dirfile")
  [ -n "$dir" ] || fail "phase $phase wrote no cluster directory"
  # Everything was waited for; allow a moment for a reparented dbus-daemon.
  for i in $(seq 20); do
    left=$(cluster_leftovers "$dir")
    [ -n "$left" ] || break
    sleep 0.1
  done
  [ -z "$left" ] || fail "phase $phase left processes behind: $left"
  [ ! -e "$dir" ] || fail "phase $phase left its directory $dir"
  return $rc
}

run run || fail "the cluster run failed"
pass "after a clean run: no process and no directory left"
rc=0
out=$(run fails 2>&1) || rc=$?
[ $rc -ne 0 ] || fail "the failing phase exited 0"
echo "$out" | has 'FAIL: on purpose' || fail "the failing phase did not fail on purpose: $out"
echo "$out" | has -- '--- agent 1 (gw1) log' || fail "fail shows no agent logs: $out"
echo "$out" | has 'phase fails left' && fail "$out"
pass "after a failing run: logs shown, no process and no directory left"
