#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Sealing-key rotation: old values keep opening, new ones use the new key,
# --rewrap moves a value (or a linked-service file) to the current key
# without the plaintext leaving the agent, and a retired key opens nothing.
. "$top_srcdir/tests/lib.sh"

EV="$top_builddir/credgate-encrypt-value"
start_agent
TOKEN=$(ctl token create it-rotation)
printf '%s\n' "$TOKEN" >"$WORK/token"
export CREDGATE_TOKEN_FILE="$WORK/token"
A="localhost:$PORT"
kid_of () { ctl --json status | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["kid"])'; }
header_kid () {
  /usr/bin/python3 -c 'import sys,json,base64; h=sys.stdin.read().strip().split(".")[0]; print(json.loads(base64.urlsafe_b64decode(h+"="*(-len(h)%4)))["kid"])'
}

printf 'first-value' | "$EV" --agent "$A" --trust-on-first-use --context ls1 >"$WORK/v1"
kid1=$(kid_of)
[ "$(header_kid <"$WORK/v1")" = "$kid1" ] || fail "v1 not sealed to $kid1"

kid2=$(ctl key rotate)
[ -n "$kid2" ] && [ "$kid2" != "$kid1" ] || fail "key rotate printed '$kid2'"
[ "$(kid_of)" = "$kid2" ] || fail "status does not show the new kid"
api GET /v1/info | has "\"kid\":\"$kid2\"" || fail "/v1/info does not publish the new key"
ctl key list | grep -F -e "$kid1" | has 'old' || fail "key list does not show $kid1 as old"
ctl key list | grep -F -e "$kid2" | has 'current' || fail "key list does not show $kid2 as current"
pass "key rotate makes a new current key, published in /v1/info, listed by key list"

[ "$(ctl decrypt --context ls1 <"$WORK/v1")" = first-value ] || fail "the old value no longer opens"
printf 'second' | "$EV" --agent "$A" >"$WORK/v2"
[ "$(header_kid <"$WORK/v2")" = "$kid2" ] || fail "a new value is not sealed to $kid2"
pass "values sealed to the old key still open; new values use the new key"

"$EV" --agent "$A" --rewrap --context ls1 <"$WORK/v1" >"$WORK/v1b"
[ "$(header_kid <"$WORK/v1b")" = "$kid2" ] || fail "rewrap did not move to $kid2"
[ "$(ctl decrypt --context ls1 <"$WORK/v1b")" = first-value ] || fail "rewrapped value differs"
ctl decrypt --context other <"$WORK/v1b" >/dev/null 2>&1 && fail "rewrap dropped the context binding"
"$EV" --agent "$A" --rewrap --context wrong <"$WORK/v1" >/dev/null 2>&1 && fail "rewrap ignored a context mismatch"
pass "--rewrap re-seals to the current key with the same context"

# A linked-service file, rewrapped in place.
cat >"$WORK/ls.json" <<'JSON'
{
  "name": "SqlLs",
  "properties": {
    "type": "SqlServer",
    "typeProperties": {
      "connectionString": "Data Source=db1;Initial Catalog=sales;User ID=app",
      "password": "ls-secret-1"
    }
  }
}
JSON
ctl key rotate >/dev/null   # kid3: the file is sealed to it
"$EV" --agent "$A" --linked-service "$WORK/ls.json" -i
kid3=$(kid_of)
kid4=$(ctl key rotate)
"$EV" --agent "$A" --rewrap --linked-service "$WORK/ls.json" -i
new=$(sed -n 's/.*"encryptedCredential": "\(.*\)".*/\1/p' "$WORK/ls.json")
[ "$(printf '%s' "$new" | header_kid)" = "$kid4" ] || fail "linked service not rewrapped to $kid4"
printf '%s' "$new" | ctl decrypt --context SqlLs | has ls-secret-1 || fail "rewrapped linked service does not open"
grep -q '"connectionString": "Data Source=db1;Initial Catalog=sales;User ID=app"' "$WORK/ls.json" \
  || fail "rewrap changed other fields"
pass "--rewrap -i moves a linked-service file to the current key, other fields untouched"

ctl key retire "$kid4" 2>"$WORK/err" && fail "the current key was retired"
grep -q 'current' "$WORK/err" || fail "retiring the current key: unclear message: $(cat "$WORK/err")"

# Which keys are still in use: kid1 opened v1 (credgatectl decrypt, above);
# kid3 only sealed the linked service, which a rewrap (not a use) moved off.
key_field () { ctl --json key list | python3 -c 'import json,sys; print([k for k in json.load(sys.stdin) if k["kid"] == sys.argv[1]][0].get(sys.argv[2]))' "$1" "$2"; }
[ "$(key_field "$kid2" ageDays)" = 0 ] || fail "key list: $kid2, made today, is $(key_field "$kid2" ageDays) days old"
[ "$(key_field "$kid1" opened)" -ge 1 ] || fail "key list: $kid1 opened $(key_field "$kid1" opened) values"
[ "$(key_field "$kid1" lastOpened)" != None ] || fail "key list: no last opening for $kid1"
[ "$(key_field "$kid3" opened)" = 0 ] && [ "$(key_field "$kid3" lastOpened)" = None ] \
  || fail "a rewrap counted as a use of $kid3"
ctl key list | grep -F -e "$kid3" | has ' never ' || fail "key list does not say $kid3 never opened"
ctl key retire "$kid1" 2>"$WORK/err" && fail "a key in use was retired without --force"
grep -q 'still in use' "$WORK/err" && grep -q -e '--force' "$WORK/err" && grep -q -e '--rewrap' "$WORK/err" \
  || fail "retiring a key in use: $(cat "$WORK/err")"
[ "$(ctl decrypt --context ls1 <"$WORK/v1")" = first-value ] || fail "a refused retire changed $kid1"
ctl key retire "$kid3" >/dev/null || fail "an unused old key could not be retired"
pass "key list counts what each key opened and when last (a rewrap is not a use); retire refuses a key used in the last 30 days, naming --rewrap and --force; an unused one retires"

ctl key retire "$kid1" --force >/dev/null || fail "key retire --force"
ctl decrypt --context ls1 <"$WORK/v1" >/dev/null 2>&1 && fail "a retired key still opens"
[ "$(ctl decrypt --context ls1 <"$WORK/v1b")" = first-value ] || fail "the rewrapped value stopped opening"
ctl key list | grep -F -e "$kid1" | has retired || fail "key list does not show the retired key"
ctl key retire "$kid1" 2>/dev/null && fail "retiring twice succeeded"
pass "key retire refuses the current key; a retired key opens nothing"

opened_before=$(key_field "$kid2" opened)
stop_agent; start_agent
[ "$(key_field "$kid2" opened)" = "$opened_before" ] || fail "key use counts lost on restart"
[ "$(kid_of)" = "$kid4" ] || fail "current key changed on restart"
[ "$(ctl decrypt --context ls1 <"$WORK/v1b")" = first-value ] || fail "after restart"
ctl decrypt --context ls1 <"$WORK/v1" >/dev/null 2>&1 && fail "a retired key opens after restart"
[ "$(ctl decrypt <"$WORK/v2")" = second ] || fail "a value sealed to an old key stopped opening after restart"
pass "after a restart: same current key, old keys open, retired ones do not"

# A state database from before key-use counting (schema version 1) is
# upgraded in place at start: the keys, their states and the values stay.
stop_agent
/usr/bin/python3 - "$STATE/state.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.executescript("DROP TABLE enroll_codes; DROP TABLE clients;"
                 "ALTER TABLE seal_keys DROP COLUMN opened;"
                 "ALTER TABLE seal_keys DROP COLUMN last_opened;"
                 "PRAGMA user_version = 1;")
db.close()
PY
start_agent
[ "$(key_field "$kid2" opened)" = 0 ] || fail "upgraded database: $kid2 opened $(key_field "$kid2" opened)"
[ "$(ctl decrypt <"$WORK/v2")" = second ] || fail "upgraded database: v2 does not open"
ctl key list | grep -F -e "$kid1" | has retired || fail "upgraded database: $kid1 not retired"
[ "$(key_field "$kid2" opened)" = 1 ] || fail "upgraded database: the opening was not counted"
[ "$(/usr/bin/python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("PRAGMA user_version").fetchone()[0])' "$STATE/state.db")" = 3 ] \
  || fail "the schema version was not raised"
pass "a schema-1 state database is upgraded in place at start; keys, states and values stay"
