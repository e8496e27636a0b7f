#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# credgatectl backup / restore: a populated agent (records, rotated keys,
# a retired one, tokens, an installed certificate) into a fresh one, value
# by value; every bad file
# refused with a clear error and nothing changed; --merge; no plaintext in
# the file, mode 0600.
. "$top_srcdir/tests/backup-lib.sh"

PASSFILE="$WORK/pass"
printf 'tr0ub4dor & 3 canaries\n' >"$PASSFILE"
chmod 600 "$PASSFILE"
restore () { ctl restore "$@" --passphrase-fd 3 3<"$PASSFILE"; }

# ---- the source agent: records, values, three keys (one retired), tokens.
use_agent src
start_agent
TOKEN=$(ctl token create ci)
ctl token create other >/dev/null
expect "$(api PUT /v1/credentials/db-main "$TOKEN" \
  '{"type":"sqlserver","properties":{"server":"db1","user":"app"},"secret":{"password":"CANARY-db-main-pw"}}')" 201
expect "$(api PUT /v1/credentials/blob.key "$TOKEN" \
  '{"type":"azureblob","properties":{"account":"acct"},"secret":"CANARY-blob-key"}')" 201
expect "$(api PUT /v1/credentials/db-main "$TOKEN" \
  '{"type":"sqlserver","properties":{"server":"db1","user":"app"},"secret":{"password":"CANARY-db-main-pw2"}}')" 200
seal () { api POST /v1/encrypt "$TOKEN" "{\"value\":\"$1\",\"context\":\"$2\"}" \
          | sed -n 's/^200 .*"encryptedCredential": *"\([^"]*\)".*/\1/p'; }
seal CANARY-value-k1 ls1 >"$WORK/v1.jwe"
kid1=$(ctl --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["kid"])')
kid2=$(ctl key rotate)
seal CANARY-value-k2 ls2 >"$WORK/v2.jwe"
kid3=$(ctl key rotate)
seal CANARY-value-k3 ls3 >"$WORK/v3.jwe"
[ -s "$WORK/v1.jwe" ] && [ -s "$WORK/v3.jwe" ] || fail "could not seal values"
ctl key retire "$kid1" >/dev/null
ctl key list >"$WORK/src-keys"
for n in db-main blob.key; do ctl credential resolve "$n" >"$WORK/src-$n.json"; done
# The admin's own certificate (P-256, naming this host), installed live.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 200 \
  -keyout "$WORK/admin.key" -out "$WORK/admin.crt" -subj /CN=backup.test \
  -addext "subjectAltName=DNS:$(hostname),DNS:localhost,IP:127.0.0.1" \
  -addext extendedKeyUsage=serverAuth 2>/dev/null || fail "openssl req"
ctl cert install "$WORK/admin.crt" "$WORK/admin.key" </dev/null >/dev/null || fail "cert install"
cert_pin=$(served_pin)
[ "$cert_pin" = "$(ctl --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["tlsPin"])')" ] \
  || fail "the installed certificate is not served"
pass "source agent: 2 records, 3 keys (1 retired), 2 tokens, 3 sealed values, an installed certificate"

# ---- backup: 0600, no plaintext, inspect without passphrase.
ctl backup --output "$WORK/agent.cgb" --passphrase-fd 3 3<"$PASSFILE" >/dev/null \
  || fail "backup failed"
[ "$(stat -c %a "$WORK/agent.cgb")" = 600 ] || fail "backup mode is $(stat -c %a "$WORK/agent.cgb")"
head -c 8 "$WORK/agent.cgb" | has CGBACKUP || fail "no magic header"
if grep -a -q -e CANARY -e 'tr0ub4dor' -e 'cgt_' "$WORK/agent.cgb"; then
  fail "the backup file holds a plaintext secret"
fi
# Neither are the keys there in base64: take them from the keyring.
for k in $(secret-tool search --all xdg:schema org.credgate.Key 2>/dev/null | sed -n 's/^secret = //p'); do
  grep -a -q -F -e "$k" "$WORK/agent.cgb" && fail "a key is in the backup in the clear"
done
grep -a -q -e 'PRIVATE KEY' -e "$(sed -n 2p "$WORK/admin.key")" "$WORK/agent.cgb" \
  && fail "the certificate's private key is in the backup in the clear"
pass "backup file is 0600, starts with CGBACKUP, holds no canary, passphrase, token or key"

ctl backup --inspect "$WORK/agent.cgb" </dev/null >"$WORK/inspect" || fail "inspect failed"
grep -q '^credentials: *2$' "$WORK/inspect" || fail "inspect: $(cat "$WORK/inspect")"
grep -q '^tokens: *2$' "$WORK/inspect" || fail "inspect tokens"
grep -q '^sealing keys: *3$' "$WORK/inspect" || fail "inspect keys"
grep -F -e "$kid1" "$WORK/inspect" | has retired || fail "inspect: $kid1 not retired"
grep -F -e "$kid3" "$WORK/inspect" | has current || fail "inspect: $kid3 not current"
grep -q '600000 iterations' "$WORK/inspect" || fail "inspect: no KDF cost"
grep -q "^certificate: *$cert_pin, CN=backup.test, until .* (installed)$" "$WORK/inspect" \
  || fail "inspect: no certificate line: $(cat "$WORK/inspect")"
grep -q CANARY "$WORK/inspect" && fail "inspect shows a secret"
pass "backup --inspect: counts, kids, states, KDF cost, without the passphrase"

ctl backup --output "$WORK/x.cgb" --passphrase-fd 3 3</dev/null </dev/null 2>"$WORK/err" \
  && fail "an empty passphrase was accepted"
grep -q passphrase "$WORK/err" || fail "empty passphrase: $(cat "$WORK/err")"
ctl backup --output "$WORK/x.cgb" </dev/null 2>"$WORK/err" </dev/null && fail "no passphrase source accepted"
[ ! -e "$WORK/x.cgb" ] || fail "a refused backup left a file"
pass "no passphrase (empty fd, no terminal): refused, no file"

# On a terminal the passphrase is asked for twice, without echo.
cat >"$WORK/answer-tty.py" <<'PY'
import os, pty, sys, time, select
# Run argv under a pseudo-terminal, answer each "passphrase"/"Again" prompt
# with sys.argv[1]; print everything the terminal showed.
answer = sys.argv[1].encode() + b"\n"
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
seen = b""
answered = 0
while True:
    try:
        r, _, _ = select.select([fd], [], [], 10)
        if not r:
            break
        data = os.read(fd, 1024)
    except OSError:
        break
    if not data:
        break
    seen += data
    if seen.count(b": ") > answered and (seen.endswith(b": ")):
        time.sleep(0.1)
        os.write(fd, answer)
        answered += 1
_, status = os.waitpid(pid, 0)
sys.stdout.write(seen.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(status))
PY
python3 "$WORK/answer-tty.py" 'typed-on-a-tty-1' "$CTL" --socket "$SOCKET" backup --output "$WORK/tty.cgb" \
  >"$WORK/tty.out" || fail "backup on a terminal: $(cat "$WORK/tty.out")"
grep -q 'Backup passphrase: ' "$WORK/tty.out" && grep -q 'Again: ' "$WORK/tty.out" \
  || fail "no prompts: $(cat "$WORK/tty.out")"
grep -q 'typed-on-a-tty' "$WORK/tty.out" && fail "the passphrase was echoed"
pass "on a terminal: asked twice, not echoed"

# ---- every bad file, against a fresh agent: a clear error, nothing changed.
use_agent dst
start_agent
before=$(state_fingerprint)
size=$(stat -c %s "$WORK/agent.cgb")
bad_case () {  # NAME FILE EXPECTED-MESSAGE [passfile]
  local name=$1 file=$2 msg=$3 pf=${4:-$PASSFILE}
  ctl restore "$file" --passphrase-fd 3 3<"$pf" >"$WORK/out" 2>"$WORK/err" \
    && fail "$name: restore succeeded"
  grep -q -e "$msg" "$WORK/err" || fail "$name: error was: $(cat "$WORK/err")"
  [ "$(state_fingerprint)" = "$before" ] || fail "$name: the agent's state changed"
  pass "$name: '$(cat "$WORK/err")', nothing changed"
}
printf 'not the passphrase\n' >"$WORK/wrongpass"
bad_case "wrong passphrase" "$WORK/agent.cgb" "wrong passphrase" "$WORK/wrongpass"
head -c $((size - 1)) "$WORK/agent.cgb" >"$WORK/trunc1.cgb"
bad_case "truncated by one byte" "$WORK/trunc1.cgb" "truncated"
head -c 100 "$WORK/agent.cgb" >"$WORK/trunc100.cgb"
bad_case "truncated to 100 bytes" "$WORK/trunc100.cgb" "truncated"
flip () {  # FILE OFFSET OUT
  python3 -c 'import sys; d=bytearray(open(sys.argv[1],"rb").read()); d[int(sys.argv[2])]^=1; open(sys.argv[3],"wb").write(d)' "$@"
}
flip "$WORK/agent.cgb" $((size - 40)) "$WORK/tampered.cgb"
bad_case "a byte changed in the ciphertext" "$WORK/tampered.cgb" "changed"
flip "$WORK/agent.cgb" 20 "$WORK/tampered-salt.cgb"
bad_case "a byte changed in the salt" "$WORK/tampered-salt.cgb" "changed"
python3 - "$WORK/agent.cgb" "$WORK/tampered-summary.cgb" <<'PY'
import sys
d = open(sys.argv[1], "rb").read()
# Claim one credential fewer in the clear summary: still valid JSON.
open(sys.argv[2], "wb").write(d.replace(b'"credentials":2', b'"credentials":1', 1))
PY
cmp -s "$WORK/agent.cgb" "$WORK/tampered-summary.cgb" && fail "summary edit did not apply"
bad_case "the clear summary edited" "$WORK/tampered-summary.cgb" "changed"
python3 -c 'import sys; d=bytearray(open(sys.argv[1],"rb").read()); d[9]=2; open(sys.argv[2],"wb").write(d)' \
  "$WORK/agent.cgb" "$WORK/newer.cgb"
bad_case "a newer format" "$WORK/newer.cgb" "newer credgate"
head -c 5000 /dev/urandom >"$WORK/garbage.cgb"
bad_case "garbage" "$WORK/garbage.cgb" "not a credgate backup"
: >"$WORK/empty.cgb"
bad_case "an empty file" "$WORK/empty.cgb" "not a credgate backup"
bad_case "no such file" "$WORK/nonexistent.cgb" "nonexistent"

# ---- the good restore, checked value by value.
restore "$WORK/agent.cgb" >"$WORK/out" || fail "restore failed: $(cat "$WORK/out")"
grep -q 'restored (fresh)' "$WORK/out" || fail "restore said: $(cat "$WORK/out")"
for n in db-main blob.key; do
  ctl credential resolve "$n" >"$WORK/dst-$n.json"
  cmp -s "$WORK/src-$n.json" "$WORK/dst-$n.json" || fail "$n differs after restore:
$(diff "$WORK/src-$n.json" "$WORK/dst-$n.json")"
done
grep -q CANARY-db-main-pw2 "$WORK/dst-db-main.json" || fail "db-main lost its second version"
pass "every record resolves on the new agent exactly as on the old one (versions, dates, secrets)"
[ "$(ctl decrypt --context ls2 <"$WORK/v2.jwe")" = CANARY-value-k2 ] || fail "v2 does not open"
[ "$(ctl decrypt --context ls3 <"$WORK/v3.jwe")" = CANARY-value-k3 ] || fail "v3 does not open"
ctl decrypt --context ls1 <"$WORK/v1.jwe" >/dev/null 2>&1 && fail "a value sealed to the retired key opens"
[ "$(ctl --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["kid"])')" = "$kid3" ] \
  || fail "the current key is not $kid3"
ctl key list >"$WORK/dst-keys"
for k in "$kid1" "$kid2" "$kid3"; do
  [ "$(grep -F -e "$k" "$WORK/src-keys" | awk '{print $NF}')" = "$(grep -F -e "$k" "$WORK/dst-keys" | awk '{print $NF}')" ] \
    || fail "key $k has another state after restore"
done
pass "values sealed before the backup open; current, old and retired keys keep their states"
grep -q "certificate $cert_pin restored" "$WORK/out" || fail "certificate: $(cat "$WORK/out")"
[ "$(served_pin)" = "$cert_pin" ] || fail "the new agent does not serve the backup's certificate"
ctl status | has 'installed' || fail "the restored certificate is not kept as installed"
pass "the backup's certificate is served by the new agent from the next connection, as installed"
expect "$(api GET /v1/credentials "$TOKEN")" 200
ctl token list | has other || fail "token 'other' not restored"
pass "the old agent's tokens work on the new one"
[ "$(secret-tool search --all xdg:schema org.credgate.Key kind master 2>/dev/null | grep -c '^\[/')" = 2 ] \
  || fail "the master key of the new agent was not replaced in place"
pass "one master key item per agent in the keyring after restore"

# ---- a restore onto an agent in use is refused; --merge adds; clashes listed.
before=$(state_fingerprint)
restore "$WORK/agent.cgb" >"$WORK/out" 2>"$WORK/err" && fail "restore onto an agent in use succeeded"
grep -q -e '--merge' "$WORK/err" || fail "no hint at --merge: $(cat "$WORK/err")"
[ "$(state_fingerprint)" = "$before" ] || fail "a refused restore changed the agent"
pass "a plain restore onto an agent in use is refused, nothing changed"

use_agent live
start_agent
LTOKEN=$(ctl token create live-ci)
expect "$(api PUT /v1/credentials/db-main "$LTOKEN" \
  '{"type":"sqlserver","properties":{"server":"other"},"secret":{"password":"live-own"}}')" 201
expect "$(api PUT /v1/credentials/live-only "$LTOKEN" \
  '{"type":"generic","properties":{},"secret":"live-secret"}')" 201
before=$(state_fingerprint)
live_pin=$(served_pin)
restore "$WORK/agent.cgb" --merge >"$WORK/out" 2>"$WORK/err" && fail "a clashing merge succeeded"
grep -q 'clash' "$WORK/err" && grep -q 'db-main' "$WORK/err" || fail "clash not named: $(cat "$WORK/err")"
grep -q 'blob.key' "$WORK/err" && fail "a non-clashing name was listed as a clash"
[ "$(state_fingerprint)" = "$before" ] || fail "a refused merge changed the agent"
pass "--merge with a name on both sides: '$(cat "$WORK/err")', nothing changed"
ctl credential delete db-main >/dev/null
restore "$WORK/agent.cgb" --merge >"$WORK/out" || fail "merge failed"
grep -q 'restored (merge)' "$WORK/out" && grep -q 'tokens were not restored' "$WORK/out" \
  || fail "merge said: $(cat "$WORK/out")"
ctl credential resolve db-main | has CANARY-db-main-pw2 || fail "merged db-main"
ctl credential resolve blob.key | has CANARY-blob-key || fail "merged blob.key"
ctl credential resolve live-only | has live-secret || fail "the live agent's own record"
[ "$(ctl decrypt --context ls3 <"$WORK/v3.jwe")" = CANARY-value-k3 ] || fail "v3 after merge"
expect "$(api GET /v1/credentials "$LTOKEN")" 200
expect "$(api GET /v1/credentials "$TOKEN")" 401
grep -q 'this agent keeps its own' "$WORK/out" || fail "merge and the certificate: $(cat "$WORK/out")"
[ "$(served_pin)" = "$live_pin" ] || fail "--merge replaced the live agent's certificate"
pass "--merge: records re-sealed under the live master, keys added, own token and certificate kept, tokens not merged"

# The file made on the terminal opens with the passphrase typed there.
use_agent tty
start_agent
tty_pin=$(served_pin)
printf 'typed-on-a-tty-1\n' | ctl restore "$WORK/tty.cgb" --passphrase-fd 0 --keep-certificate \
  | has 'restored (fresh)' || fail "the terminal-made backup does not restore"
[ "$(served_pin)" = "$tty_pin" ] || fail "--keep-certificate: the certificate changed"
ctl credential resolve blob.key | has CANARY-blob-key || fail "terminal-made backup: blob.key"
pass "the backup made on a terminal restores with the passphrase typed there; --keep-certificate keeps the agent's own"
