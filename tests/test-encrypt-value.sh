#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# credgate-encrypt-value against a real agent: trust on first use, pins and
# the known-agents file, values and linked services online and offline,
# --verify, exit codes, and interop with the jose CLI and python3-jwcrypto.
. "$top_srcdir/tests/lib.sh"

EV="$top_builddir/credgate-encrypt-value"
DATA="$top_srcdir/tests/data/linked-service"
KNOWN="$XDG_CONFIG_HOME/credgate/known_agents"
# Debian's python3 (where python3-jwcrypto lives), not one earlier on PATH.
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
command -v jose >/dev/null || fail "the jose CLI is missing (scripts/setup installs it)"
"$PY" -c 'import jwcrypto' 2>/dev/null || fail "python3-jwcrypto is missing (scripts/setup installs it)"

# run CMD…: stdout to $WORK/out, stderr to $WORK/err, status in $rc.
run () { set +e; "$@" >"$WORK/out" 2>"$WORK/err"; rc=$?; set -e; }
expect_rc () {
  [ "$rc" = "$1" ] || fail "$2: expected exit $1, got $rc; stderr: $(cat "$WORK/err")"
  [ "$rc" = 0 ] || [ "$(wc -l <"$WORK/err")" = 1 ] || fail "$2: the error is not one line: $(cat "$WORK/err")"
}
err_has () { grep -qF -- "$1" "$WORK/err" || fail "stderr lacks '$1': $(cat "$WORK/err")"; }
decrypt () { ctl decrypt "$@" <"$WORK/out"; }

start_agent
TOKEN=$(ctl token create it-encrypt-value)
printf '%s\n' "$TOKEN" >"$WORK/token"
export CREDGATE_TOKEN_FILE="$WORK/token"
A="localhost:$PORT"
PIN=$(ctl --json status | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["tlsPin"])')
[[ "$PIN" == sha256:* ]] || fail "no pin from credgatectl status: $PIN"
OTHER_PIN="sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

# --- first contact ---------------------------------------------------------
run "$EV" --agent "$A" <<<"v0"
expect_rc 4 "unknown agent, no pin"
err_has "not known"; err_has "$PIN"
[ -e "$KNOWN" ] && fail "a refused agent was recorded"
pass "an unknown agent without --pin or --trust-on-first-use is refused (exit 4), its pin shown"

run "$EV" --agent "$A" --trust-on-first-use <<<"value-1"
expect_rc 0 "TOFU"
err_has "first use"
grep -qxF "localhost:$PORT $PIN" "$KNOWN" || fail "known_agents: $(cat "$KNOWN")"
[ "$(stat -c %a "$KNOWN")" = 600 ] || fail "known_agents mode $(stat -c %a "$KNOWN")"
[ "$(decrypt)" = "value-1" ] || fail "credgatectl decrypt did not give value-1 back"
pass "--trust-on-first-use records the pin (0600) and the value opens with credgatectl decrypt"

printf 'value-2' | "$EV" --agent "$A" >"$WORK/out" 2>"$WORK/err" || fail "pinned from known_agents: $(cat "$WORK/err")"
[ -s "$WORK/err" ] && fail "a known agent should be silent: $(cat "$WORK/err")"
[ "$(decrypt)" = "value-2" ] || fail "value-2"
pass "a known agent is used pinned, silently; stdin without a newline works"

# --- pins --------------------------------------------------------------------
run "$EV" --agent "$A" --pin "$PIN" --input <(printf 'value-3\n')
expect_rc 0 "--pin right"
[ "$(decrypt)" = "value-3" ] || fail "--input value-3"
pass "--pin with the right key and --input FILE"

run "$EV" --agent "$A" --pin "$OTHER_PIN" <<<"x"
expect_rc 4 "--pin wrong"
err_has "$PIN"; err_has "$OTHER_PIN"
pass "--pin mismatch is refused (exit 4) with both pins"

cp "$KNOWN" "$WORK/known.good"
printf '# mine\nlocalhost:%s %s\n' "$PORT" "$OTHER_PIN" >"$KNOWN"
run "$EV" --agent "$A" <<<"x"
expect_rc 4 "changed key"
err_has "CHANGED"; err_has "known $OTHER_PIN"; err_has "offered $PIN"; err_has "line 2 of $KNOWN"
pass "a changed key is refused ssh-style with both fingerprints"

printf 'localhost:%s %s next:%s\n' "$PORT" "$OTHER_PIN" "$PIN" >"$KNOWN"
run "$EV" --agent "$A" <<<"value-4"
expect_rc 0 "staged next pin"
err_has "staged"
grep -qxF "localhost:$PORT $PIN" "$KNOWN" || fail "known_agents not moved to the next pin: $(cat "$KNOWN")"
[ "$(decrypt)" = "value-4" ] || fail "value-4"
pass "a staged next pin is accepted without a prompt and becomes the pin"
cp "$WORK/known.good" "$KNOWN"

# --- options, tokens, errors ---------------------------------------------------
run "$EV" --agent "$A" secret-on-argv
expect_rc 2 "value on argv"
err_has "never taken from the command line"
run "$EV" --agent "$A" --pin sha256:short
expect_rc 2 "bad pin syntax"
run "$EV" --agent "$A" --key /dev/null
expect_rc 2 "--key with --agent"
pass "a value on the command line and bad option sets are usage errors (exit 2)"

printf 'cgt_not-a-real-token\n' >"$WORK/bad-token"
run "$EV" --agent "$A" --token-file "$WORK/bad-token" <<<"x"
expect_rc 5 "bad token"
err_has "rejected the access token"
run env -u CREDGATE_TOKEN_FILE "$EV" --agent "$A" <<<"x"
expect_rc 5 "no token"
err_has "no access token"
printf 'Authorization: Bearer %s\n' "$TOKEN" >"$WORK/token.header"
run "$EV" --agent "$A" --token-file "$WORK/token.header" <<<"value-5"
expect_rc 0 "header-style token file"
pass "a rejected or missing token is exit 5; a curl header file works as a token file"

# The token's places, in order: --token-file, $CREDGATE_TOKEN_FILE, then
# $XDG_CONFIG_HOME/credgate/token.  The default file alone is enough.
mkdir -p "$XDG_CONFIG_HOME/credgate"
(umask 077; printf '%s\n' "$TOKEN" >"$XDG_CONFIG_HOME/credgate/token")
run env -u CREDGATE_TOKEN_FILE "$EV" --agent "$A" --context default-token <<<"value-default"
expect_rc 0 "token from \$XDG_CONFIG_HOME/credgate/token"
decrypt --context default-token | has -x value-default || fail "the default token file's value does not open"
(umask 077; cp "$WORK/bad-token" "$XDG_CONFIG_HOME/credgate/token")
run env -u CREDGATE_TOKEN_FILE "$EV" --agent "$A" <<<"x"
expect_rc 5 "a rejected token in the default file"
err_has "rejected the access token"
run "$EV" --agent "$A" <<<"value-env"
expect_rc 0 "CREDGATE_TOKEN_FILE before the default file"
run env CREDGATE_TOKEN_FILE="$WORK/bad-token" "$EV" --agent "$A" --token-file "$WORK/token" <<<"value-opt"
expect_rc 0 "--token-file before CREDGATE_TOKEN_FILE"
rm -f "$XDG_CONFIG_HOME/credgate/token"
pass "with no --token-file and no CREDGATE_TOKEN_FILE the token comes from \$XDG_CONFIG_HOME/credgate/token; --token-file, then the variable, come first"

run "$EV" --agent "127.0.0.1:1" --pin "$PIN" <<<"x"
expect_rc 3 "unreachable"
err_has "cannot reach the agent"
run "$EV" --agent "$A" <"/dev/null"
expect_rc 6 "empty value"
head -c 10000000 /dev/zero | tr '\0' a >"$WORK/big"
run "$EV" --agent "$A" --input "$WORK/big"
expect_rc 6 "too large value"
run "$EV" --agent "$A" <"$WORK/big"
expect_rc 6 "10 MB on stdin"
err_has "larger than"
pass "unreachable agent is exit 3; empty or oversize value is exit 6"

# --- context and --json ------------------------------------------------------
run "$EV" --agent "$A" --context ls-one <<<"bound"
expect_rc 0 "--context"
[ "$(decrypt --context ls-one)" = "bound" ] || fail "context decrypt"
decrypt --context ls-two >/dev/null 2>&1 && fail "a value bound to ls-one opened as ls-two"
pass "--context binds the value to one linked service"

run "$EV" --agent "$A" --json --context c <<<"j"
expect_rc 0 "--json"
"$PY" - "$WORK/out" "$A" <<'PY' || fail "--json output: $(cat "$WORK/out")"
import json, sys
d = json.load(open(sys.argv[1]))
assert set(d) == {"encryptedCredential", "kid", "context", "agent"} and d["context"] == "c", d
assert d["agent"] == sys.argv[2], d
PY
pass "--json prints encryptedCredential, kid, context and the agent that answered"

# --- --verify ------------------------------------------------------------------
run "$EV" --agent "$A" --context v1 <<<"to-verify"
JWE=$(cat "$WORK/out")
run "$EV" --agent "$A" --verify --context v1 <<<"$JWE"
expect_rc 0 "verify ok"
grep -q '^ok ' "$WORK/out" || fail "verify output: $(cat "$WORK/out")"
# Flip one character in the middle of the ciphertext: still canonical base64url.
TAMPERED=$("$PY" - "$JWE" <<'PY'
import sys
p = sys.argv[1].split(".")
c = list(p[3]); i = len(c) // 2
c[i] = "B" if c[i] != "B" else "C"
p[3] = "".join(c); print(".".join(p))
PY
)
run "$EV" --agent "$A" --verify --context v1 <<<"$TAMPERED"
expect_rc 7 "verify tampered"
run "$EV" --agent "$A" --verify --context other <<<"$JWE"
expect_rc 7 "verify other context"
run "$EV" --agent "$A" --verify <<<"not.a.jwe"
expect_rc 6 "verify garbage"
pass "--verify: ok with the kid; tampered or other context exit 7; garbage exit 6"

# --- linked services -----------------------------------------------------------
check_ls () { # FILE_OUT EXPECTED NAME SECRET…
  local out=$1 expected=$2 name=$3; shift 3
  local s
  for s in "$@"; do grep -qF -- "$s" "$out" && fail "secret '$s' left in the output"; done
  "$PY" - "$out" >"$WORK/jwe" <<'PY'
import json, sys
print(json.load(open(sys.argv[1]))["properties"]["typeProperties"]["encryptedCredential"])
PY
  sed "s|$(cat "$WORK/jwe")|JWE.TEST.VALUE|" "$out" | diff -u "$expected" - >&2 || fail "output differs from $expected"
  ctl decrypt --context "$name" <"$WORK/jwe" >"$WORK/plain" || fail "the linked service's value does not open as $name"
  ctl decrypt --context other <"$WORK/jwe" >/dev/null 2>&1 && fail "the linked service's value opens as another name"
  return 0
}
run "$EV" --agent "$A" --linked-service "$DATA/new-shape.json"
expect_rc 0 "linked service, new shape"
check_ls "$WORK/out" "$DATA/new-shape.expected.json" SqlServerLS 'p@ss' acctkey spkey 'sig=abc' nestedpwd '"tok"'
"$PY" - "$WORK/plain" <<'PY' || fail "sealed secrets: $(cat "$WORK/plain")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d == {"password": 'p@ss"w0rd', "accountKey": "acctkey==", "servicePrincipalKey": "spkey",
             "sasToken": "sv=2020&sig=abc", "nested.alpha.2.pwd": "nestedpwd", "nested.token": "tok"}, d
PY
pass "linked service (typeProperties shape): secrets removed, order kept, bound to its name"

run "$EV" --agent "$A" --linked-service - <"$DATA/old-shape.json"
expect_rc 0 "linked service, old shape, stdin"
check_ls "$WORK/out" "$DATA/old-shape.expected.json" OnPremSql-1 "se;cr"
grep -qF '"connectionString.Password":"se;cr'"'"'et"' "$WORK/plain" || fail "old shape secrets: $(cat "$WORK/plain")"
pass "linked service (connectionString shape) from stdin: Password= removed from the string"

cp "$DATA/old-shape.json" "$WORK/ls.json"; chmod 640 "$WORK/ls.json"
run "$EV" --agent "$A" --linked-service "$WORK/ls.json" -i
expect_rc 0 "-i"
[ -s "$WORK/out" ] && fail "-i printed the document"
[ "$(stat -c %a "$WORK/ls.json")" = 640 ] || fail "-i changed the mode to $(stat -c %a "$WORK/ls.json")"
check_ls "$WORK/ls.json" "$DATA/old-shape.expected.json" OnPremSql-1 "se;cr"
ls "$WORK"/ls.json.tmp.* >/dev/null 2>&1 && fail "-i left a temporary file"
sum=$(sha256sum <"$WORK/ls.json")
run "$EV" --agent "$A" --linked-service "$WORK/ls.json" -i
expect_rc 7 "-i again"
err_has "--force"
[ "$(sha256sum <"$WORK/ls.json")" = "$sum" ] || fail "a refused -i changed the file"
pass "-i rewrites in place keeping the mode; a second run is refused (exit 7) and leaves the file alone"

printf '{\n  "name": "x",\n  "properties": oops\n}\n' >"$WORK/bad.json"
run "$EV" --agent "$A" --linked-service "$WORK/bad.json"
expect_rc 6 "bad JSON"
err_has "line 3, column"
pass "bad JSON is exit 6 with line and column"

# A parse error names line and column only, never the text near it: a
# truncated file cuts off inside its secret, and jansson's own message quotes
# up to 20 bytes of the token it stopped at.
# Short and all letters: jansson quotes a token of up to 20 bytes, and an
# unquoted one up to its first non-letter.
SECRET="canary$(od -An -N8 -tu1 /dev/urandom | awk '{ for (i = 1; i <= NF; i++) printf "%c", 97 + $i % 26 }')"
no_canary () { # no_canary WHAT FILE…
  local what=$1; shift
  grep -qF -- "${SECRET:0:10}" "$@" && fail "$what: a part of the secret is in $(grep -lF -- "${SECRET:0:10}" "$@")"
  return 0
}
printf '{\n  "name": "trunc",\n  "properties": {"type": "SqlServer", "typeProperties": {\n    "password": "%s' "$SECRET" >"$WORK/trunc-ls.json"
printf '{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","d":%s' "$SECRET" >"$WORK/trunc-priv.jwk"
printf '{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","d":"%s' "$SECRET" >"$WORK/trunc-priv2.jwk"
for ls in "$WORK/trunc-ls.json"; do
  run "$EV" --agent "$A" --linked-service "$ls"; expect_rc 6 "truncated linked service"
  err_has "invalid JSON at line 4, column"; no_canary "encrypt-value --linked-service" "$WORK/err"
  run "$EV" --agent "$A" --linked-service - <"$ls"; expect_rc 6 "truncated linked service on stdin"
  err_has "invalid JSON at line"; no_canary "encrypt-value --linked-service -" "$WORK/err"
  run "$EV" --agent "$A" --rewrap --linked-service "$ls"; expect_rc 6 "rewrap of a truncated linked service"
  err_has "invalid JSON at line"; no_canary "encrypt-value --rewrap --linked-service" "$WORK/err"
done
# --rewrap reads the file with the same parser as sealing: a linked service
# not sealed yet is refused, its secret not echoed.
printf '{"name": "plain", "properties": {"type": "SqlServer", "typeProperties": {"password": "%s"}}}\n' \
  "$SECRET" >"$WORK/unsealed-ls.json"
run "$EV" --agent "$A" --rewrap --linked-service "$WORK/unsealed-ls.json"; expect_rc 6 "rewrap of an unsealed linked service"
err_has "holds no typeProperties.encryptedCredential"; no_canary "encrypt-value --rewrap of an unsealed file" "$WORK/err"
for jwk in "$WORK/trunc-priv.jwk" "$WORK/trunc-priv2.jwk"; do
  run "$EV" --key "$jwk" <<<"v"; expect_rc 6 "truncated JWK"
  err_has "invalid JSON at line 1, column"; no_canary "encrypt-value --key" "$WORK/err"
  run ctl escrow add "$jwk"
  [ "$rc" != 0 ] || fail "escrow add took a truncated JWK"
  err_has "invalid JSON at line 1, column"; no_canary "credgatectl escrow add" "$WORK/err"
  mkdir -p "$WORK/escrow-none"
  run ctl restore --escrow "$WORK/escrow-none" --recipient-key "$jwk" \
    --escrow-signer "sha256:$(printf 'A%.0s' $(seq 43))"
  [ "$rc" != 0 ] || fail "restore --escrow took a truncated JWK"
  err_has "invalid JSON at line 1, column"; no_canary "credgatectl restore --escrow" "$WORK/err"
done
# The agent: a truncated request body answers 400 with line and column, and
# neither the reply nor the log holds the secret.
for body in "{\"value\":\"$SECRET" "{\"value\":$SECRET}" \
            "{\"linkedService\":{\"name\":\"t\",\"properties\":{\"typeProperties\":{\"password\":\"$SECRET"; do
  r=$(api POST /v1/encrypt "$TOKEN" "$body")
  expect "$r" 400 invalid_request
  echo "$r" | has "invalid JSON at line 1, column" || fail "the agent's parse error: $r"
  printf '%s' "$r" >"$WORK/reply"; no_canary "the agent's reply" "$WORK/reply"
done
r=$(api PUT /v1/credentials/trunc "$TOKEN" "{\"type\":\"generic\",\"secret\":\"$SECRET")
expect "$r" 400 invalid_request
printf '%s' "$r" >"$WORK/reply"; no_canary "the agent's reply to PUT" "$WORK/reply"
no_canary "the agent's log" "$AGENT_LOG" "$AGENT_LOG.out"
pass "a truncated linked service or private JWK, or a truncated request body: the error names line and column, never a part of the secret (encrypt-value, credgatectl, the agent's reply and log)"

# A SecureString directly inside an array cannot be taken out: refused with
# its path (exit 6), never sealed around and left in the clear.
printf '{\n  "name": "arr",\n  "properties": {\n    "type": "Custom",\n    "typeProperties": {\n      "password": "p",\n      "replicas": ["a", {"type": "SecureString", "value": "%s"}]\n    }\n  }\n}\n' "$SECRET" >"$WORK/arr.json"
chmod 600 "$WORK/arr.json"; sum=$(sha256sum <"$WORK/arr.json")
run "$EV" --agent "$A" --linked-service "$WORK/arr.json" -i
expect_rc 6 "a SecureString in an array"
err_has "properties.typeProperties.replicas.1"
[ -s "$WORK/out" ] && fail "output for a refused linked service: $(cat "$WORK/out")"
no_canary "refusal of a SecureString in an array" "$WORK/err"
[ "$(sha256sum <"$WORK/arr.json")" = "$sum" ] || fail "a refused -i changed the file"
run "$EV" --agent "$A" --linked-service - <"$WORK/arr.json"
expect_rc 6 "a SecureString in an array, on stdin"
[ -s "$WORK/out" ] && fail "output for a refused linked service: $(cat "$WORK/out")"
pass "a SecureString directly inside an array is refused with its path (exit 6), nothing printed, the file left alone"

# --- offline -----------------------------------------------------------------
run "$EV" --fetch-key "$A"
expect_rc 0 "--fetch-key"
cp "$WORK/out" "$WORK/agent.jwk"
KID=$("$PY" -c 'import json,sys; k=json.load(open(sys.argv[1])); assert k["kty"]=="EC" and k["crv"]=="P-256" and "d" not in k; print(k["kid"])' "$WORK/agent.jwk") \
  || fail "--fetch-key printed: $(cat "$WORK/agent.jwk")"
run "$EV" --fetch-key "$A" --pin "$OTHER_PIN"
expect_rc 4 "--fetch-key wrong pin"
pass "--fetch-key prints the sealing JWK with its kid over a pinned connection"

# Offline must not need the agent at all: seal while it is stopped.
stop_agent
run "$EV" --key "$WORK/agent.jwk" --context off-1 <<<"offline-value"
expect_rc 0 "--key"
cp "$WORK/out" "$WORK/offline.jwe"
run "$EV" --key "$WORK/agent.jwk" --linked-service "$DATA/new-shape.json"
expect_rc 0 "--key linked service"
cp "$WORK/out" "$WORK/offline-ls.json"
start_agent
# A new port: the same agent (same state, same certificate) under a new address.
A="localhost:$PORT"
printf '%s %s\n' "$A" "$PIN" >>"$KNOWN"
[ "$(ctl decrypt --context off-1 <"$WORK/offline.jwe")" = "offline-value" ] || fail "offline value does not open"
check_ls "$WORK/offline-ls.json" "$DATA/new-shape.expected.json" SqlServerLS 'p@ss' acctkey
pass "--key seals offline (agent stopped); the agent opens values and linked services made so"

# --- interop -------------------------------------------------------------------
jose jwk gen -i '{"kty":"EC","crv":"P-256","alg":"ECDH-ES"}' -o "$WORK/jose.jwk" 2>/dev/null \
  || jose jwk gen -i '{"kty":"EC","crv":"P-256"}' -o "$WORK/jose.jwk"
jose jwk pub -i "$WORK/jose.jwk" -o "$WORK/jose.pub.jwk"
run "$EV" --key "$WORK/jose.pub.jwk" --context interop <<<"interop-value"
expect_rc 0 "--key with a jose JWK"
[ "$(jose jwe dec -i "$WORK/out" -k "$WORK/jose.jwk" -O-)" = "interop-value" ] || fail "jose jwe dec"
"$PY" - "$WORK/jose.jwk" "$WORK/out" <<'PY' || fail "python3-jwcrypto could not open our JWE"
import sys
from jwcrypto import jwe, jwk
key = jwk.JWK.from_json(open(sys.argv[1]).read())
t = jwe.JWE()
t.deserialize(open(sys.argv[2]).read().strip(), key=key)
assert t.payload == b"interop-value", t.payload
PY
pass "a JWE we make offline opens with jose jwe dec and python3-jwcrypto"

# The prompt on a terminal: script(1) gives us one; the value must not echo.
(sleep 1; printf 'tty-secret-value\n') |
  timeout 20 script -qec "'$EV' --key '$WORK/jose.pub.jwk'" /dev/null >"$WORK/tty.out" || fail "prompt run failed"
grep -q 'Value to encrypt:' "$WORK/tty.out" || fail "no prompt: $(cat -A "$WORK/tty.out")"
grep -q 'tty-secret-value' "$WORK/tty.out" && fail "the value was echoed on the terminal"
[ "$(tail -n 1 "$WORK/tty.out" | tr -d '\r' | jose jwe dec -i- -k "$WORK/jose.jwk" -O-)" = "tty-secret-value" ] \
  || fail "the prompted value did not round-trip"
pass "on a terminal the value is read from a prompt without echo"

printf 'from-jose' | jose jwe enc -i "{\"protected\":{\"alg\":\"ECDH-ES\",\"enc\":\"A256GCM\",\"kid\":\"$KID\"}}" \
  -I- -k "$WORK/agent.jwk" -o- -c >"$WORK/jose.jwe"
[ "$(ctl decrypt <"$WORK/jose.jwe")" = "from-jose" ] || fail "the agent did not open jose's JWE"
"$PY" - "$WORK/agent.jwk" >"$WORK/jwcrypto.jwe" <<'PY' || fail "python3-jwcrypto could not encrypt"
import json, sys
from jwcrypto import jwe, jwk
key = jwk.JWK.from_json(open(sys.argv[1]).read())
hdr = {"alg": "ECDH-ES", "enc": "A256GCM", "kid": json.load(open(sys.argv[1]))["kid"]}
t = jwe.JWE(b"from-jwcrypto", protected=json.dumps(hdr))
t.add_recipient(key)
print(t.serialize(compact=True))
PY
[ "$(ctl decrypt <"$WORK/jwcrypto.jwe")" = "from-jwcrypto" ] || fail "the agent did not open jwcrypto's JWE"
pass "JWEs made by jose and python3-jwcrypto for the agent's key open in the agent"

# --- what the agent must refuse ------------------------------------------------
# Each is refused by the agent (credgatectl decrypt) and by --verify (exit 6
# when our own header check already refuses it, 7 when the agent does).
GOOD=$(printf 'good' | "$EV" --key "$WORK/agent.jwk")
"$PY" - "$WORK/agent.jwk" "$GOOD" "$WORK/bad" <<'PY' || fail "making the bad JWEs"
import base64, json, os, sys
jwk = json.load(open(sys.argv[1])); good = sys.argv[2]; out = sys.argv[3]
os.makedirs(out, exist_ok=True)
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
hdr = json.loads(base64.urlsafe_b64decode(good.split(".")[0] + "=="))
rest = good.split(".")[1:]
def with_header(name, **changes):
    h = dict(hdr); h.update(changes); h = {k: v for k, v in h.items() if v is not None}
    open(f"{out}/{name}", "w").write(".".join([b64(json.dumps(h).encode())] + rest))
with_header("alg-RSA1_5", alg="RSA1_5")
with_header("alg-dir", alg="dir", epk=None)
with_header("alg-none", alg="none")
with_header("alg-PBES2", alg="PBES2-HS256+A128KW", p2s="c2FsdHNhbHRzYWx0c2FsdA", p2c=1000)
with_header("alg-ECDH-ES+A256KW", alg="ECDH-ES+A256KW")
with_header("enc-A128GCM", enc="A128GCM")
with_header("zip", zip="DEF")
with_header("crit", crit=["exp"], exp=1)
with_header("jku", jku="https://example.com/k")
with_header("unknown-kid", kid=b64(os.urandom(32)))
epk = dict(hdr["epk"]); y = bytearray(base64.urlsafe_b64decode(epk["y"] + "=")); y[-1] ^= 1
epk["y"] = b64(bytes(y)); with_header("point-off-curve", epk=epk)
parts = good.split(".")
open(f"{out}/truncated", "w").write(good[:-10])
open(f"{out}/four-parts", "w").write(".".join(parts[:4]))
open(f"{out}/padded", "w").write(".".join(parts[:3] + [parts[3] + "=" * (-len(parts[3]) % 4 or 4), parts[4]]))
t = bytearray(base64.urlsafe_b64decode(parts[4] + "==")); t[0] ^= 0x80
open(f"{out}/tag-flipped", "w").write(".".join(parts[:4] + [b64(bytes(t))]))
iv = bytearray(base64.urlsafe_b64decode(parts[2] + "==")); iv[0] ^= 1
open(f"{out}/iv-flipped", "w").write(".".join(parts[:2] + [b64(bytes(iv))] + parts[3:]))
open(f"{out}/reencoded-std-base64", "w").write(good.replace("-", "+").replace("_", "/") if ("-" in good or "_" in good) else good[:-1] + "+")
PY
[ "$(ctl decrypt <<<"$GOOD")" = good ] || fail "the unmodified JWE does not open"
for f in "$WORK"/bad/*; do
  name=$(basename "$f")
  ctl decrypt <"$f" >/dev/null 2>&1 && fail "the agent opened a JWE with $name"
  run "$EV" --agent "$A" --verify --input "$f"
  [ "$rc" = 6 ] || [ "$rc" = 7 ] || fail "--verify of $name: exit $rc: $(cat "$WORK/err")"
  expect_rc "$rc" "--verify of $name"
done
pass "refused by the agent and by --verify: other algs (RSA1_5, dir, none, PBES2, ECDH-ES+A256KW), zip, crit, jku, unknown kid, off-curve point, truncated, re-encoded, flipped"

printf 'hello' | "$EV" --key "$WORK/agent.jwk" --context ls-a >"$WORK/ls-a.jwe"
ctl decrypt --context ls-b <"$WORK/ls-a.jwe" >/dev/null 2>&1 && fail "a value bound to ls-a opened as ls-b"
run "$EV" --agent "$A" --verify --context ls-a --input "$WORK/ls-a.jwe"
expect_rc 0 "--verify the right linked service"
run "$EV" --agent "$A" --verify --context ls-b --input "$WORK/ls-a.jwe"
expect_rc 7 "--verify another linked service"
pass "a value bound to another linked service is refused"
