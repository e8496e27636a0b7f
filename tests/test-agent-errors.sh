#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Bad requests, bad tokens and throttling: each gets a clear 4xx JSON error
# and the agent keeps serving.
. "$top_srcdir/tests/lib.sh"

start_agent
TOKEN=$(ctl token create it-errors)
good='{"type":"postgresql","secret":"x"}'

expect "$(api GET /v1/credentials)" 401 unauthorized
expect "$(api GET /v1/credentials cgt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA)" 401 unauthorized
expect "$(api GET /v1/credentials 'not a token at all')" 401 unauthorized
b1=$(api GET /v1/credentials); b2=$(api GET /v1/credentials wrong)
[ "$b1" = "$b2" ] || fail "401 bodies differ: '$b1' vs '$b2'"
pass "no token and wrong tokens get the same fixed 401"

expect "$(api GET /v1/info)" 200
api GET /v1/info | has '"tlsPin":"sha256:' || fail "info lacks tlsPin"
api GET /v1/info | has '"kty":"EC"' || fail "info lacks the sealing JWK"
pass "GET /v1/info needs no token and shows pin and sealing key"

expect "$(api PUT /v1/credentials/a "$TOKEN" '{"type":"x",')" 400 invalid_request
api PUT /v1/credentials/a "$TOKEN" '{"type":"x",' | has 'line 1' || fail "JSON error lacks position"
expect "$(api PUT /v1/credentials/a "$TOKEN" '{"type":"x","type":"y","secret":"s"}')" 400 invalid_request
expect "$(api PUT /v1/credentials/a "$TOKEN" '{"type":"x","secret":"s","colour":"red"}')" 400 invalid_request
api PUT /v1/credentials/a "$TOKEN" '{"type":"x","secret":"s","colour":"red"}' | has '"field":"colour"' \
  || fail "unknown field not named"
expect "$(api PUT /v1/credentials/a "$TOKEN" '{"type":"x"}')" 400 invalid_request
expect "$(api PUT /v1/credentials/a "$TOKEN" '{"type":"x","secret":42}')" 400
expect "$(api PUT /v1/credentials/a "$TOKEN" '[1,2]')" 400 invalid_request
expect "$(api PUT '/v1/credentials/bad%20name' "$TOKEN" "$good")" 400 invalid_name
expect "$(api PUT "/v1/credentials/$(printf 'n%.0s' $(seq 129))" "$TOKEN" "$good")" 400 invalid_name
pass "malformed JSON, duplicate keys, unknown fields, missing fields, bad names: 400 with a code"

big=$(head -c 70000 /dev/zero | tr '\0' 'a')
expect "$(api PUT /v1/credentials/big "$TOKEN" "{\"type\":\"x\",\"secret\":\"$big\"}")" 413 too_large
# The same without a Content-Length (chunked): refused after reading.
code=$(printf '{"type":"x","secret":"%s"}' "$big" | curl -sS -o /dev/null -w '%{http_code}' \
  --cacert "$STATE/tls/server.crt" -H "Transfer-Encoding: chunked" -H @<(printf 'Authorization: Bearer %s\n' "$TOKEN") \
  -X PUT --data-binary @- "https://localhost:$PORT/v1/credentials/big")
[ "$code" = 413 ] || fail "chunked oversize body got $code"
pass "oversized bodies get 413, declared or chunked"

expect "$(api GET /v1/nothing "$TOKEN")" 404 not_found
expect "$(api POST /v1/info)" 405 method_not_allowed
expect "$(api PATCH /v1/credentials/a "$TOKEN")" 405
pass "unknown paths 404, wrong methods 405"

expect "$(api PUT /v1/credentials/still-ok "$TOKEN" "$good")" 201
pass "the agent still serves after all that"

# Plain HTTP on the TLS port: the connection is closed, nothing is served.
out=$(curl -sS -m 5 "http://127.0.0.1:$PORT/v1/info" 2>&1 || true)
echo "$out" | has '"agent"' && fail "plain HTTP was answered: $out"
expect "$(api GET /v1/info)" 200
pass "plain HTTP on the TLS port is refused and the agent keeps serving"

# Revocation takes effect on the next request, on a kept-alive connection.
T2=$(ctl token create it-revoke)
python3 - "$PORT" "$STATE/tls/server.crt" "$T2" "$CTL" "$SOCKET" <<'PY' || fail "revocation on a kept-alive connection"
import http.client, ssl, subprocess, sys
port, ca, token, ctl, sock = sys.argv[1:]
ctx = ssl.create_default_context(cafile=ca)
c = http.client.HTTPSConnection("localhost", int(port), context=ctx)
h = {"Authorization": "Bearer " + token}
c.request("GET", "/v1/credentials", headers=h); r = c.getresponse(); r.read()
assert r.status == 200, r.status
sock_before = c.sock
subprocess.run([ctl, "--socket", sock, "token", "revoke", "it-revoke"], check=True, stdout=subprocess.DEVNULL)
c.request("GET", "/v1/credentials", headers=h)
assert c.sock is sock_before, "connection was not kept alive"
r = c.getresponse(); r.read()
assert r.status == 401, r.status
# A refused request ends its connection (its body, if any, is never read).
assert r.getheader("Connection") == "close", r.getheaders()
PY
pass "token revoke takes effect on a kept-alive connection, which the 401 then closes"

# Throttling: failures from 127.0.0.1 end in 429; ::1 is unaffected.
for i in $(seq 10); do api GET /v1/credentials "cgt_wrong$i" >/dev/null; done
expect "$(api GET /v1/credentials "$TOKEN")" 429 too_many_requests
code=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$STATE/tls/server.crt" \
  -H @<(printf 'Authorization: Bearer %s\n' "$TOKEN") "https://[::1]:$PORT/v1/credentials")
[ "$code" = 200 ] || fail "a good client on ::1 got $code while 127.0.0.1 was throttled"
grep -q '"audit":"auth"' "$AGENT_LOG" || fail "failed logins are not audited"
pass "repeated failures are throttled with 429 per address and audited"
