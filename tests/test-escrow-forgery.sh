#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Escrow files are sealed with ECDH-ES, which says nothing about who sealed
# them: anyone who can write to the escrow folder and knows the admin's
# public key can seal a key of their own.  The agent signs a manifest of
# what it escrowed (ES256, its escrow signing key, whose fingerprint
# escrow add prints) and restore --escrow --escrow-signer checks it.  Here
# a forged master.jwe, a forged newer sealing key, a forged or edited
# manifest, two files swapped, older files put back after a rotation and a
# retirement, a file removed, a wrong or missing fingerprint: each refused
# with its own message, and the agent it was aimed at unchanged.  The
# honest recovery still works, and escrow status on the live host names a
# file it did not write.
. "$top_srcdir/tests/backup-lib.sh"

jose jwk gen -i '{"kty":"EC","crv":"P-256"}' -o "$WORK/admin.jwk"
jose jwk pub -i "$WORK/admin.jwk" -o "$WORK/admin.pub.jwk"
jose jwk gen -i '{"kty":"EC","crv":"P-256"}' -o "$WORK/evil.jwk"
jose jwk pub -i "$WORK/evil.jwk" -o "$WORK/evil.pub.jwk"
RKID=$(jose jwk thp -i "$WORK/admin.pub.jwk")
EVIL_FP="sha256:$(jose jwk thp -i "$WORK/evil.pub.jwk")"
kid_now () { ctl --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["kid"])'; }

# ---- the old host: escrow, then two rotations and a retirement.
use_agent old
start_agent
TOKEN=$(ctl token create ci)
seal () { api POST /v1/encrypt "$TOKEN" "{\"value\":\"$1\",\"context\":\"ls\"}" \
          | sed -n 's/^200 .*"encryptedCredential": *"\([^"]*\)".*/\1/p'; }
ctl escrow add "$WORK/admin.pub.jwk" >"$WORK/out" || fail "escrow add"
SIGNER=$(sed -n 's/^escrow signer \(sha256:[A-Za-z0-9_-]\{43\}\): .*/\1/p' "$WORK/out")
[ -n "$SIGNER" ] || fail "escrow add printed no signer: $(cat "$WORK/out")"
EDIR="$STATE/escrow/$RKID"
cp -a "$EDIR" "$WORK/escrow-v1"          # the escrow as it was before the rotations
kid1=$(kid_now); seal CANARY-f1 >"$WORK/v1.jwe"
ctl key rotate >/dev/null; kid2=$(kid_now); seal CANARY-f2 >"$WORK/v2.jwe"
ctl key rotate >/dev/null; kid3=$(kid_now); seal CANARY-f3 >"$WORK/v3.jwe"
ctl key retire "$kid1" --force >/dev/null || fail "retire"
[ -f "$EDIR/seal-$kid1.retired.jwe" ] && [ -f "$EDIR/manifest.jws" ] || fail "escrow: $(ls "$EDIR")"
pass "old host: escrow signer $SIGNER, keys rotated twice, the first retired"

# The manifest is a plain JWS (ES256) that an independent implementation
# verifies, signed by the key whose fingerprint escrow add printed.
python3 - "$EDIR/manifest.jws" "$WORK/signer.jwk" <<'PY' || fail "manifest header"
import base64, json, sys
h = open(sys.argv[1]).read().split(".")[0]
hdr = json.loads(base64.urlsafe_b64decode(h + "=" * (-len(h) % 4)))
assert hdr["alg"] == "ES256" and hdr["typ"] == "credgate-escrow-manifest", hdr
json.dump(hdr["jwk"], open(sys.argv[2], "w"))
PY
jose jws ver -i "$EDIR/manifest.jws" -k "$WORK/signer.jwk" -O "$WORK/manifest.json" \
  || fail "jose does not verify the manifest"
[ "sha256:$(jose jwk thp -i "$WORK/signer.jwk")" = "$SIGNER" ] || fail "the manifest's key is not $SIGNER"
INSTANCE=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["instance"])' "$WORK/manifest.json")
ctl escrow status >"$WORK/status" || fail "escrow status: $(cat "$WORK/status")"
grep -q "^escrow signer $SIGNER" "$WORK/status" && grep -q 'signed manifest #' "$WORK/status" \
  || fail "escrow status: $(cat "$WORK/status")"
pass "the manifest is an ES256 JWS that jose verifies, by the key with the printed fingerprint"

# forge KIND KID KEY-B64 OUT: a key sealed to the admin's public key, as
# anyone who has it can (kid "" for the master key).
forge () {
  python3 -c 'import json, sys
print(json.dumps({"credgateEscrow": 1, "instance": sys.argv[1], "kind": sys.argv[2],
  "kid": sys.argv[3], "created": "2030-01-01T00:00:00Z", "seq": 999, "key": sys.argv[4]}))' \
    "$INSTANCE" "$1" "$2" "$3" \
  | jose jwe enc -i "{\"protected\":{\"alg\":\"ECDH-ES\",\"enc\":\"A256GCM\",\"kid\":\"$RKID\",\"ctx\":\"credgate-escrow\"}}" \
      -I- -k "$WORK/admin.pub.jwk" -o "$4" -c
}
evil_d=$(python3 -c 'import base64, json, sys
d = json.load(open(sys.argv[1]))["d"]
print(base64.b64encode(base64.urlsafe_b64decode(d + "=" * (-len(d) % 4))).decode())' "$WORK/evil.jwk")
EVIL_KID=$(jose jwk thp -i "$WORK/evil.pub.jwk")
forge master "" "$(head -c 32 /dev/urandom | base64)" "$WORK/forged-master.jwe"
forge seal "$EVIL_KID" "$evil_d" "$WORK/forged-seal.jwe"

# ---- each attack against a fresh agent: refused, nothing changed.
use_agent target
start_agent
target_kid=$(kid_now)
before=$(state_fingerprint)
copy () { rm -rf "$WORK/atk"; cp -a "$EDIR" "$WORK/atk"; }
attempt () {  # NAME EXPECTED-MESSAGE [SIGNER]
  ctl restore --escrow "$WORK/atk" --recipient-key "$WORK/admin.jwk" \
    --escrow-signer "${3:-$SIGNER}" >"$WORK/out" 2>"$WORK/err" \
    && fail "$1: recovered: $(cat "$WORK/out")"
  grep -q -e "$2" "$WORK/err" || fail "$1: error was: $(cat "$WORK/err")"
  [ "$(state_fingerprint)" = "$before" ] || fail "$1: the agent's state changed"
  [ "$(kid_now)" = "$target_kid" ] || fail "$1: the current key changed"
  pass "$1: '$(cat "$WORK/err")', nothing changed"
}

# The honest folder first, copied: it is what every attack starts from.
copy
attempt "the fingerprint of another signer" "signed by the key $SIGNER, not by $EVIL_FP" "$EVIL_FP"

copy; cp "$WORK/forged-master.jwe" "$WORK/atk/master.jwe"
attempt "a forged master.jwe" "master.jwe is not the file the agent escrowed"

copy; cp "$WORK/forged-seal.jwe" "$WORK/atk/seal-$EVIL_KID.jwe"
attempt "a forged newer sealing key" "seal-$EVIL_KID.jwe in .* is not in the escrow's signed manifest"

# A manifest of the attacker's own, listing the forged files, signed with
# the attacker's key.
copy; rm -f "$WORK/atk"/seal-*.jwe
cp "$WORK/forged-master.jwe" "$WORK/atk/master.jwe"
cp "$WORK/forged-seal.jwe" "$WORK/atk/seal-$EVIL_KID.jwe"
python3 - "$WORK/atk" "$INSTANCE" "$RKID" "$EVIL_KID" <<'PY' >"$WORK/forged-manifest.json"
import hashlib, json, sys
d, inst, rkid, kid = sys.argv[1:]
def entry(name, kind, k, state):
    return {"name": name, "kind": kind, "kid": k, "state": state, "created": "2030-01-01T00:00:00Z",
            "sha256": hashlib.sha256(open(d + "/" + name, "rb").read()).hexdigest()}
print(json.dumps({"credgateEscrowManifest": 1, "instance": inst, "recipient": rkid, "seq": 1000,
  "created": "2030-01-01T00:00:00Z",
  "files": [entry("master.jwe", "master", "", "current"), entry("seal-%s.jwe" % kid, "seal", kid, "current")]}))
PY
jose jws sig -I "$WORK/forged-manifest.json" -k "$WORK/evil.jwk" -c -o "$WORK/atk/manifest.jws" \
  -s "{\"protected\":{\"alg\":\"ES256\",\"typ\":\"credgate-escrow-manifest\",\"jwk\":$(cat "$WORK/evil.pub.jwk")}}"
attempt "a forged manifest signed with another key" "signed by the key $EVIL_FP, not by $SIGNER"

# The agent's own manifest with its payload edited (a retired key made
# current), its signature kept.
copy
python3 - "$WORK/atk/manifest.jws" <<'PY'
import base64, json, sys
h, p, s = open(sys.argv[1]).read().split(".")
m = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
for f in m["files"]:
    if f["state"] == "retired": f["state"] = "current"
    elif f["state"] == "current" and f["kind"] == "seal": f["state"] = "old"
p = base64.urlsafe_b64encode(json.dumps(m).encode()).decode().rstrip("=")
open(sys.argv[1], "w").write(".".join([h, p, s]))
PY
attempt "the manifest edited, signature kept" "signature does not verify"

copy; rm "$WORK/atk/manifest.jws"
attempt "the manifest removed" "holds no signed manifest"

copy; mv "$WORK/atk/seal-$kid2.jwe" "$WORK/swap"; mv "$WORK/atk/seal-$kid3.jwe" "$WORK/atk/seal-$kid2.jwe"
mv "$WORK/swap" "$WORK/atk/seal-$kid3.jwe"
attempt "two sealing keys' files swapped" "seal-[^ ]*\.jwe is not the file the agent escrowed"

copy; cp "$EDIR/seal-$kid2.jwe" "$WORK/atk/master.jwe"
attempt "a sealing key's file renamed to master.jwe" "master.jwe is not the file the agent escrowed"

copy; cp "$WORK/escrow-v1/master.jwe" "$WORK/atk/master.jwe"
attempt "master.jwe from before the rotations put back" "master.jwe is not the file the agent escrowed"

copy; cp "$WORK/escrow-v1/seal-$kid1.jwe" "$WORK/atk/seal-$kid1.jwe"
attempt "the retired key's active copy put back" "seal-$kid1.jwe in .* is not in the escrow's signed manifest"

copy; cp "$WORK/escrow-v1/manifest.jws" "$WORK/atk/manifest.jws"
cp "$WORK/escrow-v1/master.jwe" "$WORK/atk/master.jwe"
attempt "the manifest and master.jwe from before the rotations put back" "is not in the escrow's signed manifest"

copy; rm "$WORK/atk/seal-$kid3.jwe"
attempt "the current key's file removed" "seal-$kid3.jwe, listed in the escrow's signed manifest, is missing"

set +e
ctl restore --escrow "$EDIR" --recipient-key "$WORK/admin.jwk" >/dev/null 2>"$WORK/err"; rc=$?
ctl restore --escrow "$EDIR" --recipient-key "$WORK/admin.jwk" --escrow-signer sha256:abc \
  >/dev/null 2>"$WORK/err2"; rc2=$?
set -e
[ "$rc" = 2 ] && grep -q -e '--escrow-signer' "$WORK/err" || fail "no --escrow-signer: exit $rc: $(cat "$WORK/err")"
[ "$rc2" = 2 ] || fail "a malformed fingerprint: exit $rc2: $(cat "$WORK/err2")"
[ "$(state_fingerprint)" = "$before" ] || fail "a usage error changed the agent"
pass "restore --escrow without --escrow-signer, or with a malformed one: usage error (2)"

# ---- the honest recovery, from the whole escrow folder.
ctl restore --escrow "$WORK/old/state/escrow" --recipient-key "$WORK/admin.jwk" \
  --escrow-signer "$SIGNER" >"$WORK/out" || fail "the honest recovery: $(cat "$WORK/out")"
grep -q "^escrow of agent $INSTANCE: manifest #[0-9]* of .*, signed by $SIGNER" "$WORK/out" \
  || fail "the recovery did not say what it verified: $(cat "$WORK/out")"
for i in 2 3; do
  [ "$(ctl decrypt --context ls <"$WORK/v$i.jwe")" = "CANARY-f$i" ] || fail "v$i does not open"
done
ctl decrypt --context ls <"$WORK/v1.jwe" >/dev/null 2>&1 && fail "the retired key opens again"
[ "$(kid_now)" = "$kid3" ] || fail "the current key is not $kid3"
pass "the honest recovery: the manifest's signer named, values open, the retired key stays retired, $kid3 current"

# ---- on the live host: a file the agent did not write is named by escrow
# status; a changed one is escrowed again when the agent starts.
use_agent old
cp "$WORK/forged-seal.jwe" "$EDIR/seal-$EVIL_KID.jwe"
cp "$WORK/forged-master.jwe" "$EDIR/master.jwe"
ctl escrow status >"$WORK/status" && fail "escrow status exit 0 with forged files"
grep -q "UNEXPECTED seal-$EVIL_KID.jwe" "$WORK/status" && grep -q '^  master .* MISSING' "$WORK/status" \
  || fail "escrow status: $(cat "$WORK/status")"
stop_agent
start_agent
ctl escrow status >"$WORK/status" && fail "escrow status exit 0 with a forged file left"
grep -q '^  master .* escrowed' "$WORK/status" || fail "master not escrowed again: $(cat "$WORK/status")"
grep -q "UNEXPECTED seal-$EVIL_KID.jwe" "$WORK/status" || fail "the forged file is no longer named"
pass "live host: escrow status names a forged file and a changed one; a restart escrows the changed one again"
