#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The cluster, issue 13 scenario 2 at agent level: 100 concurrent PUTs of
# the same 10 names through A and B over real HTTPS (8 clients at once).
# Each write succeeded or got 409 with the current version; for each name
# the successful writes got the versions 1, 2, … once each (no update lost
# or written twice); the final record is the last successful write (its
# version and its secret, on every node); the three replicas hold
# byte-identical records.
source "$top_srcdir/tests/cluster-lib.sh"

cluster_start
cluster_form
cluster_token race

cluster_load race "$(node_spec 1)" "$(node_spec 2)" --prefix race --names 10 --writes 100 \
  --threads 8 >"$WORK/race.log" 2>"$WORK/race.err" || fail "the load client failed: $(cat "$WORK/race.err")"
[ "$(wc -l <"$WORK/race.log")" = 100 ] || fail "not 100 answers: $(wc -l <"$WORK/race.log")"
bad=$(awk '$2 != 200 && $2 != 201 && $2 != 409' "$WORK/race.log")
[ -z "$bad" ] || fail "writes neither succeeded nor got 409: $bad"
ok=$(awk '$2 == 200 || $2 == 201' "$WORK/race.log" | wc -l)
conflicts=$(awk '$2 == 409' "$WORK/race.log" | wc -l)
awk '$2 == 409 && $3 !~ /^[0-9]+$/' "$WORK/race.log" | has . &&
  fail "a 409 without the current version: $(awk '$2 == 409 && $3 !~ /^[0-9]+$/' "$WORK/race.log" | head -n 3)"
[ "$(awk '{print $5}' "$WORK/race.log" | sort -u | wc -l)" = 2 ] || fail "the writes did not go through both A and B"
pass "100 concurrent writes through A and B: $ok succeeded, $conflicts got 409 with the current version"

# Per name: the successful writes hold versions 1..V, once each.
for i in $(seq 0 9); do
  name=race-$i
  versions=$(awk -v n="$name" '$1 == n && ($2 == 200 || $2 == 201) {print $3}' "$WORK/race.log" | sort -n)
  [ -n "$versions" ] || fail "no write of $name succeeded"
  v=$(tail -n 1 <<<"$versions")
  [ "$versions" = "$(seq 1 "$v")" ] || fail "$name: the successful writes got versions $(echo $versions), not 1..$v once each"
  printf '%s %s %s\n' "$name" "$v" \
    "$(awk -v n="$name" -v v="$v" '$1 == n && ($2 == 200 || $2 == 201) && $3 == v {print $4}' "$WORK/race.log")"
done >"$WORK/expected"
pass "no update lost: each name's successful writes got versions 1, 2, … once each"

cluster_wait_converged 30
for n in 1 2 3; do
  while read -r name v secret; do
    got=$(replica_dump "$n" | awk -F'|' -v n="$name" '$1 == n {print $4}')
    [ "$got" = "$v" ] || fail "node $n holds $name at version '$got', the last successful write was $v"
    ctl_on "$n" credential resolve "$name" | has -F "\"$secret\"" ||
      fail "node $n's $name is not the last successful write ($secret)"
  done <"$WORK/expected"
done
sums=$(for n in 1 2 3; do replica_dump "$n" | sha256sum; done | sort -u | wc -l)
[ "$sums" = 1 ] || fail "the replicas differ"
[ "$(replica_dump 1 | grep -c '^race-')" = 10 ] || fail "not 10 records"
pass "every node holds the last successful write of each name; the three replicas are byte-identical"
