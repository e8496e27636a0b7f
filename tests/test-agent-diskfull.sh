#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A full disk under the running agent: the state directory on a small tmpfs
# filled to the last byte, then the audit log's.  Stores answer a clear
# error, reads go on, nothing stored before is damaged, and once there is
# room again everything works.  Needs mount (root in a mount namespace of
# its own): run by anyone else it is skipped (77), saying so; as root (CI)
# a missing unshare or a refused mount fails it.
if [ -z "${CG_DISKFULL_NS:-}" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "SKIP: needs root to mount a small tmpfs in a private mount namespace (CI runs it as root)"
    exit 77
  fi
  command -v unshare >/dev/null ||
    { echo "FAIL: unshare is not installed (util-linux)" >&2; exit 1; }
  err=$(unshare --mount --propagation private true 2>&1) ||
    { echo "FAIL: root cannot make a private mount namespace here: $err" >&2; exit 1; }
  CG_DISKFULL_NS=1 exec unshare --mount --propagation private -- "$0" "$@"
fi
. "$top_srcdir/tests/lib.sh"

disk="$WORK/disk"; auditdisk="$WORK/auditdisk"
mkdir -p "$disk" "$auditdisk"
if ! mount -t tmpfs -o size=2m,mode=0700 cg-state "$disk" 2>/dev/null \
   || ! mount -t tmpfs -o size=64k,mode=0700 cg-audit "$auditdisk" 2>/dev/null; then
  fail "root cannot mount a tmpfs in its own mount namespace here"
fi
trap 'if [ -n "$AGENT_PID" ]; then kill -TERM "$AGENT_PID"; wait "$AGENT_PID"; AGENT_PID=; fi 2>/dev/null
      umount "$disk" "$auditdisk" 2>/dev/null; cleanup' EXIT
STATE="$disk/state"
printf '[agent]\naudit_log=%s/audit.log\n' "$auditdisk" > "$WORK/agent.conf"
start_agent --config "$WORK/agent.conf"
TOKEN=$(ctl token create it-disk)
for i in 1 2 3; do
  expect "$(api PUT /v1/credentials/before-$i "$TOKEN" "{\"type\":\"mysql\",\"secret\":\"before-$i\"}")" 201
done

# 1. The state's disk full: fill it, then store ever larger records until
#    one is refused (SQLite may still have room in its WAL for small ones).
dd if=/dev/zero of="$disk/filler" bs=4k 2>/dev/null || true
pad=$(head -c 15000 /dev/zero | tr '\0' 'p')
spad=$(head -c 40000 /dev/zero | tr '\0' 's')
refused=
for i in 1 2 3 4 5 6 7 8; do
  reply=$(api PUT /v1/credentials/full-$i "$TOKEN" "{\"type\":\"mysql\",\"properties\":{\"pad\":\"$pad\"},\"secret\":{\"v\":\"full-$i\",\"pad\":\"$spad\"}}")
  case "$reply" in
    2??\ *) ;;
    *) refused=$reply; break ;;
  esac
done
[ -n "$refused" ] || fail "8 stores of 55 KB went through on a full disk"
echo "$refused" | has '"code":"storage_error"' || fail "unclear error on a full disk: $refused"
echo "$refused" | has 'disk is full' || fail "the error does not say the disk is full: $refused"
expect "$(api GET /v1/credentials "$TOKEN")" 200
expect "$(api GET /v1/credentials/before-1 "$TOKEN")" 200
ctl credential resolve before-2 | has '"before-2"' || fail "before-2 does not open on a full disk"
pass "state disk full: a store gets ${refused%% *} storage_error (\"the disk is full\"); reads and resolve go on"

rm -f "$disk/filler"
expect "$(api PUT /v1/credentials/after "$TOKEN" '{"type":"mysql","secret":"after"}')" 201
stop_agent
[ "$(sqlite3 "$STATE/state.db" 'PRAGMA integrity_check;')" = ok ] || fail "state.db damaged"
start_agent --config "$WORK/agent.conf"
for n in before-1 before-2 before-3 after; do
  ctl credential resolve "$n" | has "\"$n\"" || fail "$n does not open after the full disk"
done
# Whatever was answered 2xx while full opens too.
for i in 1 2 3 4 5 6 7 8; do
  out=$(ctl credential resolve "full-$i" 2>&1) || continue
  echo "$out" | has "\"full-$i\"" || fail "full-$i does not open to its own secret"
done
pass "room again: stores work, every record opens, integrity ok after restart"

# 2. The audit log's disk full: changes are refused (fail closed), reads
#    are answered; room again, changes go on.
#    The log's last page may still hold a few lines: store until refused.
dd if=/dev/zero of="$auditdisk/filler" bs=1k 2>/dev/null || true
n_ok=0
while [ "$n_ok" -lt 40 ]; do
  reply=$(api PUT /v1/credentials/fill-$n_ok "$TOKEN" '{"type":"mysql","secret":"x"}')
  [ "${reply%% *}" = 201 ] || break
  n_ok=$((n_ok + 1))
done
expect "$reply" 503 audit_unavailable
expect "$(api GET /v1/credentials/fill-$n_ok "$TOKEN")" 404
expect "$(api PUT /v1/credentials/unaudited "$TOKEN" '{"type":"mysql","secret":"x"}')" 503 audit_unavailable
expect "$(api DELETE /v1/credentials/before-1 "$TOKEN")" 503 audit_unavailable
expect "$(api GET /v1/credentials/unaudited "$TOKEN")" 404
expect "$(api GET /v1/credentials/before-1 "$TOKEN")" 200
rm -f "$auditdisk/filler"
expect "$(api PUT /v1/credentials/audited "$TOKEN" '{"type":"mysql","secret":"x"}')" 201
grep -q '"target":"audited"' "$auditdisk/audit.log" || fail "no audit line after room came back"
python3 -c 'import json, sys; [json.loads(l) for l in open(sys.argv[1])]' "$auditdisk/audit.log" \
  || fail "the audit log holds a torn line"
stop_agent
pass "audit disk full mid-run (after $n_ok more stores fit): changes refused with 503 audit_unavailable, reads answered; room again, changes audited; every line of the log whole"
