#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# key rotate --all: a new master key and a new sealing key, every stored
# record re-sealed under the new master key, the old one retired.  Nothing
# stops opening meanwhile (old records, old EncryptedCredentials, PUTs during
# the re-seal); a SIGKILL half-way leaves every record opening and a second
# rotate --all finishes the job; a copy of the keyring and state taken before
# the rotation (what a node removed from a cluster keeps) opens nothing
# stored or sealed after it.
. "$top_srcdir/tests/backup-lib.sh"

EV="$top_builddir/credgate-encrypt-value"
N=1500
use_agent a
start_agent
TOKEN=$(ctl token create it-rotate-all)
printf '%s\n' "$TOKEN" >"$WORK/token"
export CREDGATE_TOKEN_FILE="$WORK/token"

# put_many FIRST LAST TAG: PUT rec-FIRST … rec-LAST with secret "TAG-i" in
# one curl process (keep-alive); the token from a header file, never argv.
put_many () {
  local first=$1 last=$2 tag=$3 i cfg="$WORK/put.$3.cfg"
  printf 'Authorization: Bearer %s\n' "$TOKEN" >"$WORK/auth"
  : >"$cfg"
  for i in $(seq "$first" "$last"); do
    [ "$i" = "$first" ] || echo next >>"$cfg"
    printf 'url = "https://localhost:%s/v1/credentials/rec-%s"\ncacert = "%s"\nrequest = PUT\nheader = @%s\nheader = "Content-Type: application/json"\ndata = "{\\"type\\":\\"generic\\",\\"properties\\":{\\"i\\":\\"%s\\"},\\"secret\\":\\"%s-%s\\"}"\noutput = /dev/null\nwrite-out = "%%{http_code}\\n"\n' \
      "$PORT" "$i" "$STATE/tls/server.crt" "$WORK/auth" "$i" "$tag" "$i" >>"$cfg"
  done
  curl -sS -K "$cfg" >"$WORK/put.$tag.codes"
  [ "$(grep -c '^20[01]$' "$WORK/put.$tag.codes")" = $((last - first + 1)) ] \
    || fail "PUT $tag: $(sort "$WORK/put.$tag.codes" | uniq -c | tr '\n' ' ')"
}
secret_of () { ctl credential resolve "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])'; }
# Records by the master key id their sealed bytes name ("0": format 0x01).
master_ids () {
  python3 - "$STATE/state.db" <<'PY'
import collections, sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
c = collections.Counter()
for (b,) in db.execute("SELECT sealed FROM credentials"):
    c["0" if b[0] == 1 else b[2:2 + b[1]].decode()] += 1
print(" ".join("%s=%d" % kv for kv in sorted(c.items())))
PY
}
meta () { python3 -c 'import sqlite3,sys; r=sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True).execute("SELECT value FROM meta WHERE key=?", (sys.argv[2],)).fetchone(); print(r[0] if r else "")' "$STATE/state.db" "$1"; }
header_kid () {
  python3 -c 'import sys,json,base64; h=sys.stdin.read().strip().split(".")[0]; print(json.loads(base64.urlsafe_b64decode(h+"="*(-len(h)%4)))["kid"])'
}

put_many 1 "$N" old
printf 'ec-before' | "$EV" --agent "localhost:$PORT" --trust-on-first-use --context ls >"$WORK/ec-before"
kid0=$(ctl --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["kid"])')
[ "$(master_ids)" = "0=$N" ] || fail "before: $(master_ids)"

# What a node removed later keeps: its keyring and its state directory.
stop_agent
cp -a "$STATE" "$WORK/removed-state"
cp "$XDG_DATA_HOME/keyrings/login.keyring" "$WORK/removed.keyring"
start_agent

# ---- plain key rotate is unchanged: a sealing key only ------------------
kid1=$(ctl key rotate)
[ -n "$kid1" ] && [ "$kid1" != "$kid0" ] || fail "key rotate printed '$kid1'"
[ "$(master_ids)" = "0=$N" ] && [ -z "$(meta master_current)" ] || fail "key rotate touched the master key: $(master_ids)"
pass "key rotate (without --all) makes a sealing key only, as before"

# ---- rotate --all, SIGKILLed half-way ---------------------------------------
# Killed once the first progress line is out; a rotation quick enough to
# finish before the kill lands is tried again (each attempt is a whole
# rotation), until one is caught half-way.
caught=
for attempt in 1 2 3 4 5; do
  coproc ROT { "$CTL" --socket "$SOCKET" key rotate --all 2>&1; }
  while read -r line <&"${ROT[0]}"; do
    case $line in "re-sealed "[1-9]*) kill -KILL "$AGENT_PID"; break ;; esac
  done
  wait "$ROT_PID" 2>/dev/null || true
  wait "$AGENT_PID" 2>/dev/null || true
  AGENT_PID=
  ids=$(master_ids)
  if [ -n "$(meta master_old)" ] && [ "$(wc -w <<<"$ids")" = 2 ]; then caught=1; break; fi
  start_agent
done
[ -n "$caught" ] || fail "rotate --all was never caught half-way in 5 tries"
new=$(meta master_current); old=$(meta master_old)
[ -n "$new" ] && [ "$new" != "$old" ] || fail "half-way: master_current '$new', master_old '$old'"
pass "rotate --all SIGKILLed half-way: records under both master keys ($ids)"

start_agent
# Every record opens, under whichever key it is: one of each, and a sample.
first_old=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT name FROM credentials WHERE hex(substr(sealed,1,1)) = '"'"'01'"'"' LIMIT 1").fetchone()[0])' "$STATE/state.db")
first_new=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT name FROM credentials WHERE hex(substr(sealed,1,1)) = '"'"'02'"'"' LIMIT 1").fetchone()[0])' "$STATE/state.db")
for name in "$first_old" "$first_new" rec-$((N / 2)) rec-$N; do
  [ "$(secret_of "$name")" = "old-${name#rec-}" ] || fail "half-way, after restart: $name does not open"
done
[ "$(ctl decrypt --context ls <"$WORK/ec-before")" = ec-before ] || fail "half-way: the old EncryptedCredential does not open"
# A PUT now seals under the new master key.
put_many 1 1 mid
[ "$(secret_of rec-1)" = mid-1 ] || fail "a PUT half-way does not open"
pass "after the SIGKILL and a restart: records under the old and the new master key open, a PUT works"

# The agent does not forget the unfinished rotation: it says so when it
# loads its keys, status (text and --json) says how many credentials are
# still under the old master key and what to run, and escrow is refused (an
# escrow holds one master key: a recovery would not open those).
under_old=$(master_ids | tr ' ' '\n' | sed -n "s/^$old=//p")
[ -n "$under_old" ] && [ "$under_old" -gt 0 ] || fail "half-way: none under the old master ($(master_ids))"
has "a key rotate --all is unfinished" "$AGENT_LOG" || fail "the agent did not log the unfinished rotation"
ctl --json status | python3 -c '
import json, sys
r = json.load(sys.stdin)["rotation"]
assert r["unfinished"] is True and r["master"] == sys.argv[1] and r["oldMasters"] == [sys.argv[2]], r
assert r["credentialsUnderOldMaster"] == int(sys.argv[3]) and r["finishWith"] == "credgatectl key rotate --all", r
' "$new" "$old" "$under_old" || fail "status --json half-way: $(ctl --json status)"
ctl status | has -F "UNFINISHED:  key rotate --all: $under_old credentials still under an earlier master key; run 'credgatectl key rotate --all' to finish" ||
  fail "status half-way: $(ctl status)"
jose jwk gen -i '{"kty":"EC","crv":"P-256"}' -o "$WORK/admin.jwk"
jose jwk pub -i "$WORK/admin.jwk" -o "$WORK/admin.pub.jwk"
if ctl escrow add "$WORK/admin.pub.jwk" >"$WORK/out" 2>"$WORK/err"; then fail "escrow add accepted half-way: $(cat "$WORK/out")"; fi
has "key rotate --all is unfinished: $under_old credentials are still sealed under an earlier master key" "$WORK/err" ||
  fail "escrow add half-way said: $(cat "$WORK/err")"
pass "half-way: the agent logs it, status and status --json say $under_old credentials are under the old master key and to run key rotate --all; escrow is refused"

# A backup made half-way holds every record under the one (new) master key.
PASSFILE="$WORK/pass"; printf 'rotate-all-backup-pass\n' >"$PASSFILE"
ctl backup --output "$WORK/half.cgb" --passphrase-fd 3 3<"$PASSFILE" >/dev/null || fail "backup half-way"

# ---- the second rotate --all finishes the job, with PUTs going on ----------
put_many 2001 2200 during &
putter=$!
ctl key rotate --all >"$WORK/finish.out" 2>"$WORK/finish.err" || fail "second rotate --all: $(cat "$WORK/finish.err")"
wait "$putter" || fail "PUTs during the re-seal failed"
has 'finished a rotation that was cut short' "$WORK/finish.out" || fail "not a resume: $(cat "$WORK/finish.out")"
has "master key $new " "$WORK/finish.out" || fail "the resume made another master key: $(cat "$WORK/finish.out")"
has "retired master key: $old" "$WORK/finish.out" || fail "old master not retired: $(cat "$WORK/finish.out")"
has "re-sealed $N of $N credentials" "$WORK/finish.err" || has "re-sealed" "$WORK/finish.err" \
  || fail "no progress printed: $(cat "$WORK/finish.err")"
total=$(ctl --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["credentials"])')
[ "$(master_ids)" = "$new=$total" ] || fail "after the resume: $(master_ids)"
[ -z "$(meta master_old)" ] || fail "master_old still names $(meta master_old)"
ctl --json status | python3 -c 'import json,sys; assert "rotation" not in json.load(sys.stdin)' ||
  fail "status --json still reports a rotation: $(ctl --json status)"
if ctl status | grep UNFINISHED; then fail "status still says the rotation is unfinished"; fi
# The recipient added half-way gets the keys when the rotation ends.
ctl escrow status >"$WORK/out" 2>&1 || fail "escrow status after the rotation: $(cat "$WORK/out")"
has 'can recover every key' "$WORK/out" || fail "escrow status after the rotation: $(cat "$WORK/out")"
for name in rec-1 rec-2 rec-$N rec-2001 rec-2200; do
  want=old-${name#rec-}; [ "$name" = rec-1 ] && want=mid-1
  [ "${name#rec-}" -gt 2000 ] && want=during-${name#rec-}
  [ "$(secret_of "$name")" = "$want" ] || fail "after the rotation: $name does not open"
done
[ "$(ctl decrypt --context ls <"$WORK/ec-before")" = ec-before ] || fail "the old EncryptedCredential does not open after rotate --all"
pass "a second rotate --all finishes the cut-short rotation (no new key), PUTs during it land, everything old opens"

# ---- a full rotate --all in one go, --json --------------------------------
ctl --json key rotate --all >"$WORK/full.json" 2>/dev/null || fail "rotate --all --json"
python3 - "$WORK/full.json" "$new" "$total" <<'PY' || fail "rotate --all --json: $(cat "$WORK/full.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["resumed"] is False and r["retiredMasters"] == [sys.argv[2]], r
assert r["master"] != sys.argv[2] and r["credentials"] == int(sys.argv[3]) == r["resealed"], r
PY
new2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["master"])' "$WORK/full.json")
kid2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["kid"])' "$WORK/full.json")
[ "$(master_ids)" = "$new2=$total" ] || fail "after the second rotation: $(master_ids)"
# The old master keys are gone from the keyring: only the current one is left.
[ "$(secret-tool search --all xdg:schema org.credgate.Key kind master 2>/dev/null | grep -c '^\[/')" = 1 ] \
  || fail "old master keys are still in the keyring"
printf 'ec-after' | "$EV" --agent "localhost:$PORT" --trust-on-first-use --context ls >"$WORK/ec-after"
[ "$(header_kid <"$WORK/ec-after")" = "$kid2" ] || fail "a new value is not sealed to the new key $kid2"
put_many 3001 3001 after
[ "$(secret_of rec-3001)" = after-3001 ] && [ "$(secret_of rec-7)" = old-7 ] || fail "after: records do not open"
grep -h 'key.rotate_all' "$AGENT_LOG" | has '"attempt"' || fail "no audit line before key.rotate_all acted"
stop_agent; start_agent
[ "$(secret_of rec-3001)" = after-3001 ] && [ "$(secret_of rec-8)" = old-8 ] || fail "after a restart: records do not open"
pass "rotate --all in one go (--json): every record under the new master key, old master keys out of the keyring, new values sealed to $kid2, audited, all open after a restart"

# Backups: one made after the rotation and one made half-way, each restored
# onto a fresh agent on a host of its own: every record and value opens.
ctl backup --output "$WORK/after.cgb" --passphrase-fd 3 3<"$PASSFILE" >/dev/null || fail "backup after rotate --all"
for b in after half; do
  use_agent "fresh-$b"
  start_agent_own_keyring
  ctl restore "$WORK/$b.cgb" --passphrase-fd 3 3<"$PASSFILE" >"$WORK/restore.out" 2>&1 \
    || fail "restore of the $b backup: $(cat "$WORK/restore.out")"
  [ "$(secret_of rec-$N)" = "old-$N" ] && [ "$(secret_of rec-1)" = mid-1 ] || fail "$b backup: records do not open"
  [ "$(ctl decrypt --context ls <"$WORK/ec-before")" = ec-before ] || fail "$b backup: the old value does not open"
  if [ $b = after ]; then
    [ "$(secret_of rec-3001)" = after-3001 ] || fail "after backup: rec-3001"
    [ "$(ctl decrypt --context ls <"$WORK/ec-after")" = ec-after ] || fail "after backup: the new value does not open"
  fi
  [ "$(master_ids | tr ' ' '\n' | wc -l)" = 1 ] || fail "$b backup: records under several master keys: $(master_ids)"
done
use_agent a
pass "backups made half-way and after rotate --all restore onto a fresh agent: everything opens"

# ---- what a removed node keeps opens nothing stored or sealed afterwards ----
# Its keyring copy and state from before the rotation, given the state as it
# is now (as etcd would show it), pointed back at the keys it has.
use_agent removed
cp -a "$WORK/a/state/state.db" "$WORK/removed.db"
python3 - "$WORK/removed.db" "$WORK/removed-state/state.db" <<'PY'
import sqlite3, sys
new = sqlite3.connect(sys.argv[1])
old = sqlite3.connect(sys.argv[2])
# The rows it knew, the master key it has, the sealing key it had as current.
keys = old.execute("SELECT kid, created, current, retired FROM seal_keys").fetchall()
new.execute("DELETE FROM meta WHERE key IN ('master_current', 'master_old')")
# Sealing keys made since: it never had them (their rows would only make it
# report keys_missing).
new.execute("DELETE FROM seal_keys")
for kid, created, current, retired in keys:
    new.execute("INSERT OR REPLACE INTO seal_keys (kid, created, current, retired) VALUES (?,?,?,?)",
                (kid, created, current, retired))
new.commit()
PY
rm -rf "$STATE"; cp -a "$WORK/removed-state" "$STATE"; cp "$WORK/removed.db" "$STATE/state.db"
rm -f "$STATE"/state.db-wal "$STATE"/state.db-shm
start_agent_own_keyring "$WORK/removed.keyring"
# Sanity: its copy does work on what it had.
[ "$(ctl decrypt --context ls <"$WORK/ec-before")" = ec-before ] || fail "the removed node's copy does not even open the old value"
for name in rec-1 rec-7 rec-$N rec-2001 rec-3001; do
  ctl credential resolve "$name" >/dev/null 2>"$WORK/err" && fail "the removed node opens $name"
done
ctl decrypt --context ls <"$WORK/ec-after" >/dev/null 2>&1 && fail "the removed node opens a value sealed after the rotation"
pass "a copy of the keyring and state from before the rotation opens no record and no value sealed after it"
