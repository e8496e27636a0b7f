#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# bench/cg-bench-cluster.sh ROWS NOTES: bench/run's cluster rows (issue 13),
# run by bench/run inside its D-Bus session with top_srcdir and top_builddir
# set.  Three etcd members and three agents (tests/cluster-lib.sh) on the
# same 2 cores as everything else, so read the figures as relative:
#   - store p50 and p99 through A in the cluster, against the same agent
#     alone just before "cluster init" (the same run, the same machine);
#   - replication lag p50 and p99: from A's acknowledgement to the record
#     answering 200 on C, at 100 stores/s;
#   - from SIGKILL of A's agent to the first write accepted on B (B is
#     written to back to back throughout), against B's store p50 before;
#   - reads per second on one node (keep-alive GET of one credential) with
#     every etcd member stopped, against with etcd up.
# Appends rows (bench/run's format: what, ours, peer, against, goal) to
# ROWS and "- " lines to NOTES.
set -euo pipefail
ROWS=$1 NOTES=$2
source "$top_srcdir/tests/cluster-lib.sh"
STORES=${CG_BENCH_CLUSTER_STORES:-300}
LAG_SECONDS=${CG_BENCH_CLUSTER_LAG_SECONDS:-10}
READ_SECONDS=${CG_BENCH_SECONDS:-5}

say () { printf 'bench: %s\n' "$*" >&2; }
row () { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >>"$ROWS"; say "$1: ours $2, $4 $3"; }
note () { printf -- '- cluster, %s\n' "$*" >>"$NOTES"; }
# pct P: the P-th percentile (nearest rank) of the numbers on stdin.
pct () { sort -g | awk -v p="$1" '{v[NR] = $1} END {if (!NR) {print "nan"; exit} i = int(NR * p / 100 + 0.999999); if (i < 1) i = 1; printf "%.2f\n", v[i]}'; }
# latencies FILE: the ms of each 2xx store of a "put" log; fails on others.
latencies () {
  awk '$2 != 200 && $2 != 201 {bad++} END {if (bad) exit 1}' "$1" ||
    fail "stores failed: $(awk '{print $2}' "$1" | sort | uniq -c | tr '\n' ' ')"
  awk '{printf "%.3f\n", ($5 - $4) * 1000}' "$1"
}

say "cluster: three etcd members and three agents"
cluster_start

# --- stores: the agent alone, then the same agent in the cluster ---------------------
CLUSTER_TOKEN=$(ctl_on 1 token create bench)
say "cluster: $STORES stores through A alone (before cluster init)"
cluster_load put "$(node_spec 1)" --prefix warm --count 20 >/dev/null
cluster_load put "$(node_spec 1)" --prefix single --count "$STORES" >"$CLUSTER_DIR/single.log"
latencies "$CLUSTER_DIR/single.log" >"$CLUSTER_DIR/single.ms"

say "cluster: init on A, B and C join"
t0=$(date +%s.%N)
cluster_form
t1=$(date +%s.%N)
note "init with $(( STORES + 20 )) records on A, then two joins, took $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}') s"

say "cluster: $STORES stores through A in the cluster"
cluster_load put "$(node_spec 1)" --prefix warm2 --count 20 >/dev/null
cluster_load put "$(node_spec 1)" --prefix clustered --count "$STORES" >"$CLUSTER_DIR/cluster.log"
latencies "$CLUSTER_DIR/cluster.log" >"$CLUSTER_DIR/cluster.ms"
S50=$(pct 50 <"$CLUSTER_DIR/single.ms") S99=$(pct 99 <"$CLUSTER_DIR/single.ms")
C50=$(pct 50 <"$CLUSTER_DIR/cluster.ms") C99=$(pct 99 <"$CLUSTER_DIR/cluster.ms")
row "store p50, 3-node cluster (through A)" "$C50 ms" "$S50 ms" "the same agent alone, before cluster init" "ratio"
row "store p99, 3-node cluster (through A)" "$C99 ms" "$S99 ms" "the same agent alone, before cluster init" "ratio"
note "stores: $STORES each, one client over one kept-alive connection (tests/cluster-load.py put), acknowledgement times; in the cluster each is an etcd txn on three members plus the replica's commit on A"

# What each write's quorum check costs (a linearizable read before its txn):
# the same range of one key against etcd's JSON gateway, over one kept-alive
# connection with A's client certificate, linearizable and serializable.
range_ms () { # SERIALIZABLE(true|false): the p50 of 200 ranges, in ms
  local i
  for i in $(seq 200); do
    [ "$i" = 1 ] || echo next
    printf 'url = "%s/v3/kv/range"\ndata = "{\\"key\\":\\"%s\\",\\"serializable\\":%s}"\ncacert = "%s"\ncert = "%s"\nkey = "%s"\noutput = "/dev/null"\nwrite-out = "%%{time_total}\\n"\n' \
      "$ETCD_ENDPOINT_1" "$(printf /bench | base64)" "$1" "$ETCD_CA" "${NODE_ETCD_CERT[1]}" "${NODE_ETCD_KEY[1]}"
  done >"$CLUSTER_DIR/range.cfg"
  curl -sS -K "$CLUSTER_DIR/range.cfg" | tail -n 150 | awk '{print $1 * 1000}' | pct 50
}
note "the quorum check each write makes before its txn (a linearizable range, the leader confirming with a quorum): p50 $(range_ms false) ms against $(range_ms true) ms for the same range served by the member alone (curl -K, one kept-alive connection to etcd's JSON gateway)"

# --- replication lag ---------------------------------------------------------------------------
say "cluster: replication lag A to C at 100 stores/s for $LAG_SECONDS s"
cluster_load lag "$(node_spec 1)" "$(node_spec 3)" --prefix lag --rate 100 --seconds "$LAG_SECONDS" \
  >"$CLUSTER_DIR/lag.log"
n_lag=$(wc -l <"$CLUSTER_DIR/lag.log")
L50=$(awk '{print $2}' "$CLUSTER_DIR/lag.log" | pct 50)
L99=$(awk '{print $2}' "$CLUSTER_DIR/lag.log" | pct 99)
row "replication lag p50, ack on A to visible on C, 100 stores/s" "$L50 ms" "-" "-" "-"
row "replication lag p99, ack on A to visible on C, 100 stores/s" "$L99 ms" "-" "-" "-"
note "replication lag: $n_lag stores at 100/s through A; C polled over one kept-alive connection (GET of the oldest record not yet seen), so a figure includes up to one GET's time"

# --- reads with etcd up and down ------------------------------------------------------------------
RNAME=clustered-1
cat >"$CLUSTER_DIR/read.lua" <<EOF
wrk.headers["Authorization"] = "Bearer $CLUSTER_TOKEN"
EOF
reads () {
  local out
  out=$(timeout $(( READ_SECONDS + 30 )) wrk -t2 -c16 -d"${READ_SECONDS}s" -s "$CLUSTER_DIR/read.lua" \
    "https://127.0.0.1:${NODE_PORT[2]}/v1/credentials/$RNAME")
  printf '%s\n' "$out" >>"$CLUSTER_DIR/wrk.log"
  ! grep -q 'Non-2xx' <<<"$out" || fail "reads answered non-2xx: $out"
  awk '/^Requests\/sec/ {printf "%.0f\n", $2}' <<<"$out"
}
say "cluster: reads per second on B, etcd up"
R_UP=$(reads)
say "cluster: stopping every etcd member"
for m in 1 2 3; do etcd_member_stop "$m"; done
r=$(api_on 2 PUT /v1/credentials/while-down "$CLUSTER_TOKEN" '{"type":"mysql","secret":"x"}')
[ "${r%% *}" = 503 ] || fail "a write with etcd down answered: $r"
say "cluster: reads per second on B, etcd down"
R_DOWN=$(reads)
row "reads/s on one node (GET one credential), etcd down" "$R_DOWN /s" "$R_UP /s" "etcd up" "ratio"
note "reads: wrk -t2 -c16 -d${READ_SECONDS}s, keep-alive GET /v1/credentials/NAME on B; etcd down: all three members stopped (a write then answers 503)"
for m in 1 2 3; do etcd_member_start "$m"; done
etcd_cluster_wait_healthy
for i in $(seq 150); do
  r=$(api_on 2 PUT /v1/credentials/after-down "$CLUSTER_TOKEN" '{"type":"mysql","secret":"x"}')
  [[ "${r%% *}" == 20[01] ]] && break
  sleep 0.2
done
[[ "${r%% *}" == 20[01] ]] || fail "no write on B after etcd came back: $r"

# --- SIGKILL of A, writes on B ------------------------------------------------------------------
say "cluster: SIGKILL of A's agent while B takes writes back to back"
cluster_load writer "$(node_spec 2)" --prefix fail --seconds 6 >"$CLUSTER_DIR/writer.log" &
writer=$!
sleep 2
t_kill=$(date +%s.%N)
agent_kill 1
wait "$writer"
read -r K_MS GAP_MS N_BEFORE N_AFTER < <(awk -v k="$t_kill" '
  $1 ~ /^20[01]$/ {
    if ($2 < k) nb++
    else { na++; if (!first) first = ($3 - k) * 1000 }
    if ($3 >= k - 1) { if (last && $3 - last > gap) gap = $3 - last; last = $3 }
  }
  END { printf "%.2f %.2f %d %d\n", first, gap * 1000, nb, na }' "$CLUSTER_DIR/writer.log")
BEFORE_P50=$(awk -v k="$t_kill" '$1 ~ /^20[01]$/ && $2 < k {print ($3 - $2) * 1000}' \
  "$CLUSTER_DIR/writer.log" | pct 50)
[ "$N_AFTER" -gt 0 ] || fail "B accepted no write after A was killed"
bad=$(awk '$1 !~ /^20[01]$/' "$CLUSTER_DIR/writer.log" | wc -l)
row "SIGKILL of A's agent to the first write accepted on B" "$K_MS ms" "$BEFORE_P50 ms" "B's store p50 before the kill" "ratio"
note "failover: B written back to back (one client, kept-alive) 2 s before and 4 s after A's SIGKILL: $N_BEFORE stores before, $N_AFTER after, $bad refused or failed; the longest gap between two acknowledgements on B from 1 s before the kill: $GAP_MS ms"
agent_start 1
