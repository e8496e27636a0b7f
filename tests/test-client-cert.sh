#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Client certificates against the real agent (issue 12): an admin's one-time
# code, a client's own P-256 key and CSR (made here by openssl, an
# independent implementation), POST /v1/enroll, then curl --cert/--key,
# gnutls-cli and python3's ssl module authenticating with the certificate
# alone; revocation on a kept-alive connection, expiry, a certificate from
# another CA with the same subject, reused, expired and forged codes, and
# tokens working alongside.
. "$top_srcdir/tests/lib.sh"

cat > "$WORK/agent.conf" <<CONF
[agent]
auth_failures=40
CONF
start_agent --config "$WORK/agent.conf"
CA="$STATE/tls/server.crt"


# capi CERT KEY METHOD PATH [BODY] [TOKEN]: the API with a client
# certificate; prints "STATUS BODY".
capi () {
  local cert=$1 key=$2 method=$3 path=$4 body=${5:-} token=${6:-}
  local out hdr code
  out=$(mktemp "$WORK/out.XXXXXX"); hdr=$(mktemp "$WORK/hdr.XXXXXX")
  : > "$hdr"
  [ -n "$token" ] && printf 'Authorization: Bearer %s\n' "$token" > "$hdr"
  local args=(-sS -o "$out" -w '%{http_code}' --cacert "$CA" -H @"$hdr" -X "$method")
  [ -n "$cert" ] && args+=(--cert "$cert" --key "$key")
  if [ -n "$body" ]; then
    code=$(printf '%s' "$body" | curl "${args[@]}" -H 'Content-Type: application/json' \
      --data-binary @- "https://localhost:$PORT$path")
  else
    code=$(curl "${args[@]}" "https://localhost:$PORT$path" </dev/null)
  fi
  printf '%s %s\n' "$code" "$(cat "$out")"
  rm -f "$out" "$hdr"
}

# new_key FILE [CN]: a P-256 key and a CSR for it, as any client could make them.
new_key () {
  openssl ecparam -name prime256v1 -genkey -noout -out "$WORK/$1.key" 2>/dev/null
  chmod 600 "$WORK/$1.key"
  openssl req -new -key "$WORK/$1.key" -subj "/CN=${2:-$1}" -out "$WORK/$1.csr" 2>/dev/null
}

# enroll NAME CODE: POST /v1/enroll with NAME's CSR, no token; prints "STATUS BODY"
# and keeps the certificate in $WORK/NAME.crt on success.
enroll () {
  local body r
  body=$(python3 -c 'import json,sys; print(json.dumps({"code": sys.argv[1], "csr": open(sys.argv[2]).read()}))' \
    "$2" "$WORK/$1.csr")
  r=$(capi "" "" POST /v1/enroll "$body")
  if [ "${r%% *}" = 201 ]; then
    printf '%s' "${r#* }" | python3 -c 'import json,sys; sys.stdout.write(json.load(sys.stdin)["certificate"])' \
      > "$WORK/$1.crt"
  fi
  printf '%s\n' "$r"
}

# 1. The admin's code: printed alone, listed as pending, kept only as an HMAC.
CODE=$(ctl client enroll laptop 2>"$WORK/enroll.err")
[[ "$CODE" == cge_* ]] && [ ${#CODE} = 47 ] || fail "client enroll printed '$CODE'"
grep -q 'single use' "$WORK/enroll.err" || fail "client enroll said: $(cat "$WORK/enroll.err")"
ctl client list | grep laptop | has pending || fail "the code is not listed as pending"
python3 - "$STATE/state.db" "$CODE" <<'PY' || fail "the code is stored in the clear"
import sqlite3, sys
raw = open(sys.argv[1], 'rb').read()
for suffix in ('', '-wal'):
    try:
        raw += open(sys.argv[1] + suffix, 'rb').read()
    except FileNotFoundError:
        pass
sys.exit(1 if sys.argv[2].encode() in raw or sys.argv[2][4:].encode() in raw else 0)
PY
pass "client enroll prints a one-time code alone; it is listed as pending and stored only as an HMAC"

# 2. Enrollment: a 201 with a certificate for the name, issued by the
#    client CA, for a P-256 key, clientAuth only; the code is then used up.
new_key laptop
r=$(enroll laptop "$CODE")
expect "$r" 201
openssl x509 -in "$WORK/laptop.crt" -noout -subject | has 'CN *= *laptop' \
  || fail "the certificate's subject is not the enrolled name"
openssl x509 -in "$WORK/laptop.crt" -noout -ext extendedKeyUsage | has 'TLS Web Client Authentication' \
  || fail "the certificate is not for clientAuth"
openssl x509 -in "$WORK/laptop.crt" -noout -issuer | has 'credgate client CA' \
  || fail "the certificate's issuer is not the client CA"
printf '%s' "${r#* }" | python3 -c 'import json,sys; sys.stdout.write(json.load(sys.stdin)["ca"])' > "$WORK/client-ca.pem"
openssl verify -CAfile "$WORK/client-ca.pem" -purpose sslclient "$WORK/laptop.crt" >/dev/null \
  || fail "openssl does not verify the certificate against the client CA"
days=$(( ( $(date -d "$(openssl x509 -in "$WORK/laptop.crt" -noout -enddate | cut -d= -f2)" +%s) - $(date +%s) ) / 86400 ))
[ "$days" -ge 394 ] && [ "$days" -le 395 ] || fail "default validity is $days days, not 395"
grep '"audit":"client.enrollment"' "$AGENT_LOG" | grep '"result":"ok"' | has '"who":"client:laptop"' \
  || fail "the enrollment's audit line does not name client:laptop"
grep '"audit":"client.enroll"' "$AGENT_LOG" | grep '"target":"laptop"' | has '"result":"attempt"' \
  || fail "client enroll wrote no attempt line before making the code"
pass "POST /v1/enroll signs the client's CSR: CN=name, clientAuth, 395 days, under the client CA"

r=$(enroll laptop "$CODE")
expect "$r" 403 enrollment_refused
pass "a code works once: reused, 403 enrollment_refused"

r=$(enroll laptop "cge_$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=' | head -c 43)")
expect "$r" 403 enrollment_refused
r=$(enroll laptop "not-a-code")
expect "$r" 403 enrollment_refused
# Failed logins are summarised per client: the first one of a client at
# once (tests/test-audit-auth.sh has the counts).
grep -q '"audit":"auth".*"badEnrollmentCode":[1-9]' "$AGENT_LOG" || fail "a forged code is not in the audit summary"
pass "a forged or malformed code: 403 enrollment_refused, counted as a failed authentication"

SHORT=$(ctl client enroll short-code --expires 1s 2>/dev/null)
new_key short-code
sleep 2.2
r=$(enroll short-code "$SHORT")
expect "$r" 403 enrollment_refused
pass "an expired code: 403 enrollment_refused"

# 3. Using it: curl with --cert/--key and no token; the audit line names
#    the client certificate.
r=$(capi "$WORK/laptop.crt" "$WORK/laptop.key" GET /v1/credentials)
expect "$r" 200
r=$(capi "$WORK/laptop.crt" "$WORK/laptop.key" PUT /v1/credentials/by-cert '{"type":"generic","secret":"s3cret-by-cert"}')
expect "$r" 201
grep '"audit":"credential.put"' "$AGENT_LOG" | grep '"target":"by-cert"' | has '"who":"client:laptop"' \
  || fail "the audit line does not name client:laptop"
pass "curl --cert/--key authenticates without a token; the audit line's who is client:laptop"

# gnutls-cli: another TLS stack presenting the same certificate.
out=$(printf 'GET /v1/credentials/by-cert HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' \
  | timeout 20 gnutls-cli --logfile=/dev/null --x509cafile "$CA" --x509certfile "$WORK/laptop.crt" \
      --x509keyfile "$WORK/laptop.key" -p "$PORT" localhost 2>&1 || true)
echo "$out" | has 'HTTP/1.1 200' || fail "gnutls-cli with the client certificate: $out"
echo "$out" | has '"name":"by-cert"' || fail "gnutls-cli got no metadata: $out"
pass "gnutls-cli with the client certificate: 200"

# 4. Tokens keep working, with and without a certificate around.
TOKEN=$(ctl token create it-client-cert)
r=$(api GET /v1/credentials "$TOKEN")
expect "$r" 200
r=$(api GET /v1/credentials)
expect "$r" 401 unauthorized
r=$(capi "$WORK/laptop.crt" "$WORK/laptop.key" GET /v1/credentials "" "$TOKEN")
expect "$r" 200
pass "a token still works alongside; no certificate and no token is 401"

# 5. Another CA, same subject and usage: refused, also with a valid token.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$WORK/evil-ca.key" \
  -out "$WORK/evil-ca.crt" -subj "/CN=$(openssl x509 -in "$WORK/client-ca.pem" -noout -subject -nameopt RFC2253 | sed 's/^subject=CN=//')" \
  -days 30 2>/dev/null
new_key evil laptop
printf 'extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature\n' > "$WORK/evil.ext"
openssl x509 -req -in "$WORK/evil.csr" -CA "$WORK/evil-ca.crt" -CAkey "$WORK/evil-ca.key" \
  -set_serial "0x$(openssl x509 -in "$WORK/laptop.crt" -noout -serial | cut -d= -f2)" \
  -days 30 -extfile "$WORK/evil.ext" -out "$WORK/evil.crt" 2>/dev/null
[ "$(openssl x509 -in "$WORK/evil.crt" -noout -subject -issuer)" = "$(openssl x509 -in "$WORK/laptop.crt" -noout -subject -issuer)" ] \
  || fail "the forged certificate's subject and issuer differ from the real one"
r=$(capi "$WORK/evil.crt" "$WORK/evil.key" GET /v1/credentials)
expect "$r" 403 client_certificate_refused
echo "$r" | has 'not issued by this agent' || fail "another CA's refusal says: $r"
r=$(capi "$WORK/evil.crt" "$WORK/evil.key" GET /v1/credentials "" "$TOKEN")
expect "$r" 403 client_certificate_refused
pass "a certificate from another CA with the same subject, issuer name and serial: 403, token or not"

# A self-signed certificate: refused the same way.
openssl req -x509 -key "$WORK/evil.key" -subj "/CN=laptop" -days 1 -out "$WORK/self.crt" 2>/dev/null
r=$(capi "$WORK/self.crt" "$WORK/evil.key" GET /v1/credentials)
expect "$r" 403 client_certificate_refused
pass "a self-signed client certificate: 403 client_certificate_refused"

# 6. Revocation takes effect on the next request of a kept-alive
#    connection: one python3 http.client connection across the revoke.
R2=$(ctl client enroll kept 2>/dev/null)
new_key kept
expect "$(enroll kept "$R2")" 201
python3 - "$PORT" "$CA" "$WORK/kept.crt" "$WORK/kept.key" "$CTL" "$SOCKET" <<'PY' || fail "kept-alive revocation"
import http.client, ssl, subprocess, sys, json
port, ca, crt, key, ctl, sock = sys.argv[1:]
ctx = ssl.create_default_context(cafile=ca)
ctx.load_cert_chain(crt, key)
conn = http.client.HTTPSConnection("localhost", int(port), context=ctx)
conn.request("GET", "/v1/credentials")
r = conn.getresponse(); body = r.read()
assert r.status == 200, (r.status, body)
s1 = conn.sock
subprocess.run([ctl, "--socket", sock, "client", "revoke", "kept"], check=True, stdout=subprocess.DEVNULL)
conn.request("GET", "/v1/credentials")
# Sent on the connection the first request used (http.client reconnects
# only when it has none); the refusal may then close it.
assert conn.sock is s1, "the second request was not sent on the kept-alive connection"
r = conn.getresponse(); body = r.read()
assert r.status == 403, (r.status, body)
assert json.loads(body)["error"]["code"] == "client_certificate_refused", body
assert b"revoked" in body, body
PY
ctl client list | grep '^kept ' | has revoked || fail "client list does not show kept as revoked"
pass "client revoke: the next request on the same kept-alive connection is 403"

# 7. A new enrollment of a name supersedes its earlier certificate.
R3=$(ctl client enroll laptop 2>/dev/null)
cp "$WORK/laptop.crt" "$WORK/laptop-old.crt"; cp "$WORK/laptop.key" "$WORK/laptop-old.key"
new_key laptop
expect "$(enroll laptop "$R3")" 201
r=$(capi "$WORK/laptop.crt" "$WORK/laptop.key" GET /v1/credentials)
expect "$r" 200
r=$(capi "$WORK/laptop-old.crt" "$WORK/laptop-old.key" GET /v1/credentials)
expect "$r" 403 client_certificate_refused
ctl client list | grep '^laptop ' | has superseded || fail "the old certificate is not listed as superseded"
pass "enrolling a name again supersedes its earlier certificate"

# 8. Expiry: a short-lived certificate works, then is refused.
R4=$(ctl client enroll brief --validity 15s 2>/dev/null)
new_key brief
expect "$(enroll brief "$R4")" 201
r=$(capi "$WORK/brief.crt" "$WORK/brief.key" GET /v1/credentials)
expect "$r" 200
end=$(date -d "$(openssl x509 -in "$WORK/brief.crt" -noout -enddate | cut -d= -f2)" +%s)
while [ "$(date +%s)" -le "$end" ]; do sleep 1; done
r=$(capi "$WORK/brief.crt" "$WORK/brief.key" GET /v1/credentials)
expect "$r" 403 client_certificate_refused
echo "$r" | has 'expired' || fail "the expiry refusal says: $r"
ctl client list | grep '^brief ' | has expired || fail "client list does not show brief as expired"
pass "an expired client certificate: 403 client_certificate_refused"

# 9. list: name, state, fingerprint (the key's SPKI pin), serial, dates, last use.
pin="sha256:$(openssl pkey -in "$WORK/laptop.key" -pubout -outform der | openssl dgst -sha256 -binary | base64)"
ctl client list | grep '^laptop ' | grep active | has -F "$pin" || fail "client list: $(ctl client list)"
ctl --json client list | python3 -c '
import json, sys
rows = [r for r in json.load(sys.stdin) if r["name"] == "laptop" and r["state"] == "active"]
assert len(rows) == 1 and rows[0]["lastUsed"], rows' || fail "client list --json lacks last use"
ctl status | has 'clients: *1 enrolled' || fail "status: $(ctl status | grep clients)"
pass "client list shows name, state, SPKI fingerprint, serial, dates and last use"

# 10. Errors an admin can make.
ctl client revoke nobody 2>"$WORK/err" && fail "revoking an unknown client succeeded"
grep -q 'no enrolled client' "$WORK/err" || fail "revoke nobody said: $(cat "$WORK/err")"
ctl client enroll 'bad name' 2>/dev/null && fail "a bad name was accepted"
set +e; ctl client enroll x --expires 10y 2>/dev/null; rc=$?; set -e
[ "$rc" = 2 ] || fail "a bad duration exited $rc, not 2"
ctl client enroll --help | has -- '--validity' || fail "client enroll --help lacks --validity"
pass "unknown name, bad name and bad duration are refused; client enroll --help teaches"

# 10b. credgate-encrypt-value: --enroll (the code on stdin, never in argv)
#      writes its own key (0600) and certificate under $XDG_CONFIG_HOME, and
#      then uses them for that agent with no token anywhere.
EV="$top_builddir/credgate-encrypt-value"
[ ! -e "$XDG_CONFIG_HOME/credgate/token" ] || fail "a token file exists before the test"
C1=$(ctl client enroll ci-runner 2>/dev/null)
printf '%s\n' "$C1" | "$EV" --agent "localhost:$PORT" --trust-on-first-use --enroll >"$WORK/ev.out" \
  || fail "encrypt-value --enroll: $(cat "$WORK/ev.out")"
grep -q 'enrolled as "ci-runner"' "$WORK/ev.out" || fail "enroll said: $(cat "$WORK/ev.out")"
ckey="$XDG_CONFIG_HOME/credgate/client-localhost_$PORT.key"
ccrt="$XDG_CONFIG_HOME/credgate/client-localhost_$PORT.crt"
[ "$(stat -c %a "$ckey")" = 600 ] || fail "the client key is mode $(stat -c %a "$ckey")"
openssl pkey -in "$ckey" -noout -text 2>/dev/null | has 'prime256v1\|P-256' || fail "the client key is not P-256"
[ "$(openssl x509 -in "$ccrt" -noout -pubkey | openssl pkey -pubin -outform der | sha256sum)" = \
  "$(openssl pkey -in "$ckey" -pubout -outform der | sha256sum)" ] || fail "certificate and key differ"
jwe=$(printf 'by-certificate' | "$EV" --agent "localhost:$PORT" --context cc) \
  || fail "encrypt-value with the enrolled certificate failed: $jwe"
[ "$(printf '%s' "$jwe" | ctl decrypt --context cc)" = by-certificate ] || fail "the value does not open"
ctl --json client list | python3 -c '
import json, sys
rows = [r for r in json.load(sys.stdin) if r["name"] == "ci-runner" and r["state"] == "active"]
assert len(rows) == 1 and rows[0]["lastUsed"], rows' || fail "ci-runner was not used by its certificate"
pass "encrypt-value --enroll: own P-256 key 0600 in XDG_CONFIG_HOME; then encrypts with no token"

set +e
printf '%s\n' "$C1" | "$EV" --agent "localhost:$PORT" --enroll --client-cert "$WORK/x.crt" \
  --client-key "$WORK/x.key" >/dev/null 2>"$WORK/ev.err"; rc=$?
set -e
[ "$rc" = 5 ] || fail "a reused code via encrypt-value exited $rc: $(cat "$WORK/ev.err")"
grep -q 'enrollment_refused\|not valid' "$WORK/ev.err" || fail "reused code said: $(cat "$WORK/ev.err")"
[ ! -e "$WORK/x.key" ] && [ ! -e "$WORK/x.crt" ] || fail "a refused enrollment left files"
"$EV" --agent "localhost:$PORT" --enroll C0DE </dev/null >/dev/null 2>&1 && fail "a code in argv was accepted"
pass "encrypt-value: a reused code exits 5 and writes nothing; a code is never taken from argv"

jwe=$(printf 'explicit' | "$EV" --agent "localhost:$PORT" --client-cert "$WORK/laptop.crt" \
  --client-key "$WORK/laptop.key" --context cc) || fail "--client-cert/--client-key failed"
[ "$(printf '%s' "$jwe" | ctl decrypt --context cc)" = explicit ] || fail "the explicit value does not open"
ctl client revoke ci-runner >/dev/null
set +e
printf 'x' | "$EV" --agent "localhost:$PORT" >/dev/null 2>"$WORK/ev.err"; rc=$?
set -e
[ "$rc" = 5 ] || fail "a revoked certificate exited $rc: $(cat "$WORK/ev.err")"
grep -q 'revoked' "$WORK/ev.err" || fail "revoked said: $(cat "$WORK/ev.err")"
chmod 644 "$WORK/laptop.key"
printf 'x' | "$EV" --agent "localhost:$PORT" --client-cert "$WORK/laptop.crt" --client-key "$WORK/laptop.key" \
  >/dev/null 2>"$WORK/ev.err" && fail "a key open to others was used"
grep -q 'chmod 600' "$WORK/ev.err" || fail "open key said: $(cat "$WORK/ev.err")"
chmod 600 "$WORK/laptop.key"
pass "encrypt-value: --client-cert/--client-key; a revoked certificate exits 5 saying so; a key open to others is refused"

# 11. The client CA's key is in the secret store; with the keyring locked an
#     enrollment is refused before its code is used, and enrolled clients
#     still get in (their check needs only the CA certificate).
items=$(secret-tool search --all xdg:schema org.credgate.Key kind clientca 2>/dev/null || true)
grep -q '^\[' <<<"$items" || fail "the client CA key is not in the secret store"
R5=$(ctl client enroll after-unlock 2>/dev/null)
new_key after-unlock
"$top_builddir/tests/keyring-ctl" lock
sleep 0.2
expect "$(enroll after-unlock "$R5")" 503 secret_store_locked
expect "$(capi "$WORK/laptop.crt" "$WORK/laptop.key" GET /v1/credentials)" 200
"$top_builddir/tests/keyring-ctl" unlock
expect "$(enroll after-unlock "$R5")" 201
pass "keyring locked: enrollment 503 without using the code; enrolled clients still served"

# 11b. A first start over a locked keyring makes no client CA.
stop_agent
mv "$STATE" "$WORK/state-1"
"$top_builddir/tests/keyring-ctl" lock
start_agent --config "$WORK/agent.conf"
R6=$(ctl client enroll first-locked 2>/dev/null)
new_key first-locked
expect "$(enroll first-locked "$R6")" 503 secret_store_locked
python3 -c 'import sqlite3,sys; sys.exit(1 if sqlite3.connect(sys.argv[1]).execute("SELECT value FROM meta WHERE key = ?", ("client_ca_cert",)).fetchone() else 0)' \
  "$STATE/state.db" || fail "a client CA was made over a locked keyring"
"$top_builddir/tests/keyring-ctl" unlock
expect "$(enroll first-locked "$R6")" 201
pass "a first start over a locked keyring makes no client CA; after unlock it is made and used"

# 12. Throttled like failed authentication: forged codes lead to 429, and
#     then even a good code waits.
stop_agent
printf '[agent]\nauth_failures=3\n' > "$WORK/agent.conf"
start_agent --config "$WORK/agent.conf"
R7=$(ctl client enroll throttled 2>/dev/null)
new_key throttled
for i in 1 2 3; do expect "$(enroll throttled "cge_forged$i")" 403 enrollment_refused; done
expect "$(enroll throttled "cge_forged")" 429 too_many_requests
expect "$(enroll throttled "$R7")" 429 too_many_requests
pass "repeated forged codes are throttled (429), a good code too until the minute is over"
