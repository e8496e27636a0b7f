#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Audit that fails closed on the admin socket: with the audit log
# unwritable (/dev/full), every admin command that changes something or
# hands out a secret is refused with audit_unavailable and changes nothing
# (tokens, keys, certificate, credentials, escrow, the database and the
# keyring are as before; resolve and decrypt print no plaintext; backup
# writes no file).  Read-only commands still answer.  With the log
# writable again, a command's "attempt" line comes before its result line.
. "$top_srcdir/tests/backup-lib.sh"
use_agent main

CANARY="cgcanary-$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')"
PASSFILE="$WORK/pass"; printf 'audit-test-passphrase\n' > "$PASSFILE"
AUDIT="$WORK/audit.log"
printf '[agent]\naudit_log=%s\n' "$AUDIT" > "$WORK/ok.conf"
printf '[agent]\naudit_log=/dev/full\n' > "$WORK/full.conf"

# Two certificate pairs for this host (install, stage).
host=$(hostname)
for c in staged other; do
  certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 --outfile "$WORK/$c.key" 2>/dev/null
  printf 'cn = "%s"\ndns_name = "%s"\ndns_name = "localhost"\nip_address = "127.0.0.1"\ntls_www_server\nsigning_key\nexpiration_days = 200\n' \
    "$c.test" "$host" > "$WORK/$c.tmpl"
  certtool --generate-self-signed --load-privkey "$WORK/$c.key" --template "$WORK/$c.tmpl" \
    --outfile "$WORK/$c.crt" 2>/dev/null
done
jose jwk gen -i '{"kty":"EC","crv":"P-256"}' -o "$WORK/admin.jwk"
jose jwk pub -i "$WORK/admin.jwk" -o "$WORK/admin.pub.jwk"
jose jwk gen -i '{"kty":"EC","crv":"P-256"}' -o "$WORK/admin2.jwk"
jose jwk pub -i "$WORK/admin2.jwk" -o "$WORK/admin2.pub.jwk"

# Something of every kind to change: tokens, a credential, a value sealed
# to an old key, a staged certificate, an escrow recipient, a client's
# enrollment code, a backup.
start_agent --config "$WORK/ok.conf"
TOKEN=$(ctl token create keep)
ctl token create victim >/dev/null
expect "$(api PUT /v1/credentials/db "$TOKEN" \
  "{\"type\":\"mysql\",\"secret\":{\"password\":\"$CANARY-db\"}}")" 201
reply=$(api POST /v1/encrypt "$TOKEN" "{\"value\":\"$CANARY-jwe\",\"context\":\"ls\"}")
expect "$reply" 200
echo "${reply#* }" | sed -n 's/.*"encryptedCredential": *"\([^"]*\)".*/\1/p' > "$WORK/value.jwe"
OLDKID=$(ctl --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["kid"])')
ctl key rotate >/dev/null
ctl cert install --stage "$WORK/staged.crt" "$WORK/staged.key" >/dev/null
ctl escrow add "$WORK/admin.pub.jwk" >"$WORK/escrow.out"
SIGNER=$(sed -n 's/^escrow signer \(sha256:[A-Za-z0-9_-]\{43\}\): .*/\1/p' "$WORK/escrow.out")
[ -n "$SIGNER" ] || fail "escrow add printed no signer: $(cat "$WORK/escrow.out")"
ctl client enroll laptop >/dev/null
ctl backup --output "$WORK/before.cgb" --passphrase-fd 3 3<"$PASSFILE" >/dev/null
stop_agent

# The audit log unwritable.
start_agent --config "$WORK/full.conf"
snapshot () {
  # daysLeft is counted from now: a certificate made this second turns from
  # 200 days to 199 a second later without anything changing.
  { ctl --json token list; ctl --json key list
    ctl --json cert show | sed '/"daysLeft"/d'; ctl --json credential list
    ctl --json client list
    ctl --json escrow status || true
    state_fingerprint
    (cd "$STATE" && find tls escrow -type f -print0 | sort -z | xargs -0 sha256sum)
  } 2>&1
}
snapshot > "$WORK/before"
pin_before=$(served_pin)

n=0
refused () { # refused COMMAND-NAME CTL-ARGS… : exit 1, audit_unavailable, no plaintext
  local name=$1; shift
  set +e; ctl "$@" >"$WORK/out" 2>"$WORK/err" 3<"$PASSFILE" <"${STDIN:-/dev/null}"; local rc=$?; set -e
  [ "$rc" = 1 ] || fail "$name with the audit log unwritable: exit $rc: $(cat "$WORK/out" "$WORK/err")"
  has 'audit log cannot be written' "$WORK/err" || fail "$name: unclear refusal: $(cat "$WORK/err")"
  ! has -F "$CANARY" "$WORK/out" "$WORK/err" || fail "$name printed a plaintext"
  has -F "refusing $name" "$AGENT_LOG" || fail "$name: the refusal is not in the agent's log"
  n=$((n + 1))
}
refused token.create token create newcomer
refused token.revoke token revoke victim
refused credential.delete credential delete db
refused credential.resolve credential resolve db
STDIN="$WORK/value.jwe" refused decrypt decrypt --context ls
refused key.rotate key rotate
refused key.retire key retire "$OLDKID" --force
refused cert.install cert install "$WORK/other.crt" "$WORK/other.key"
refused cert.install cert install --stage "$WORK/other.crt" "$WORK/other.key"
refused cert.activate cert activate
refused cert.generate cert generate
refused cert.generate cert generate --stage
refused backup backup --output "$WORK/after.cgb" --passphrase-fd 3
[ ! -e "$WORK/after.cgb" ] || fail "a refused backup wrote a file"
refused restore restore "$WORK/before.cgb" --passphrase-fd 3
refused restore restore "$WORK/before.cgb" --merge --passphrase-fd 3
refused restore restore --escrow "$STATE/escrow" --recipient-key "$WORK/admin.jwk" \
  --escrow-signer "$SIGNER"
refused escrow.add escrow add "$WORK/admin2.pub.jwk"
refused client.enroll client enroll desktop
refused client.revoke client revoke laptop

snapshot > "$WORK/after"
diff -u "$WORK/before" "$WORK/after" >&2 || fail "a refused command changed the agent's state"
[ "$(served_pin)" = "$pin_before" ] || fail "the served certificate changed"
expect "$(api GET /v1/credentials "$TOKEN")" 200
ctl status >/dev/null || fail "status is not answered with the audit log unwritable"
ctl cert export >/dev/null || fail "cert export is not answered with the audit log unwritable"
pass "audit log unwritable: $n admin commands refused with audit_unavailable, nothing changed (tokens, keys, certificate, credentials, escrow, clients, database, keyring), no plaintext printed; reads answered"
stop_agent

# Writable again: the same commands work, each with its attempt line first.
start_agent --config "$WORK/ok.conf"
ctl credential resolve db | has -F "$CANARY-db" || fail "resolve does not work with the audit log back"
ctl token revoke victim >/dev/null
python3 - "$AUDIT" <<'PY' || fail "audit lines: $(tail -n 5 "$AUDIT")"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
for action, target in (("credential.resolve", "db"), ("token.revoke", "victim")):
    mine = [l["result"] for l in lines if l["audit"] == action and l.get("target") == target]
    assert mine[-2:] == ["attempt", "ok"], (action, mine)
PY
pass "audit log writable again: resolve and revoke work, each with its attempt line before its result"
