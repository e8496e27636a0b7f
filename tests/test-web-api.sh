#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The agent's side of the browser page, with curl and the jose CLI against
# the real agent: PUT {"encryptedSecret": JWE} (ctx credential:NAME) is
# opened and sealed like "secret"; a wrong ctx, kid or format is refused;
# the page's files come from memory with their headers, ETags and 304s;
# web=false turns the page off; the API sends no CORS headers.
source "$top_srcdir/tests/lib.sh"

start_agent
TOKEN=$(ctl token create web-api)
api GET /v1/info >"$WORK/info"
python3 -c 'import json,sys; print(json.dumps(json.loads(sys.stdin.read().split(" ",1)[1])["sealingKey"]))' \
  <"$WORK/info" >"$WORK/agent.jwk"
KID=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["kid"])' <"$WORK/agent.jwk")

# seal CTX [KID]: stdin sealed with the jose CLI (an independent JOSE
# implementation, as the browser's panva/jose is).
seal () {
  jose jwe enc -i "{\"protected\":{\"alg\":\"ECDH-ES\",\"enc\":\"A256GCM\",\"kid\":\"${2:-$KID}\",\"ctx\":\"$1\"}}" \
    -I- -k "$WORK/agent.jwk" -o- -c
}

# --- storing an encryptedSecret ---
JWE=$(printf '%s' '{"password":"p@ss from jose"}' | seal credential:db-web)
r=$(api PUT /v1/credentials/db-web "$TOKEN" \
  "{\"type\":\"sqlserver\",\"properties\":{\"server\":\"db1\"},\"encryptedSecret\":\"$JWE\"}")
expect "$r" 201
[ "$(ctl --json credential resolve db-web | python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"]["password"])')" \
  = "p@ss from jose" ] || fail "the stored secret does not resolve to what was sealed"
grep -q 'p@ss from jose' "$AGENT_LOG" && fail "the secret reached the agent's log"
pass "PUT with encryptedSecret stores the opened secret (resolve gives it back)"

JWE=$(printf '%s' '"just a string"' | seal credential:db-web)
expect "$(api PUT /v1/credentials/db-web "$TOKEN" "{\"type\":\"generic\",\"encryptedSecret\":\"$JWE\"}")" 200
[ "$(ctl --json credential resolve db-web | python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')" \
  = "just a string" ] || fail "a string secret did not resolve"
pass "a JSON string as the sealed secret replaces the record (200)"

# A wrong ctx: another name, none at all, the linked-service style.
for ctx in credential:other db-web ""; do
  JWE=$(printf '%s' '{"password":"x"}' | seal "$ctx")
  r=$(api PUT /v1/credentials/db-web "$TOKEN" "{\"type\":\"generic\",\"encryptedSecret\":\"$JWE\"}")
  expect "$r" 400 invalid_request
  echo "$r" | has '"field": *"encryptedSecret"' || fail "no field in: $r"
  echo "$r" | has 'credential:db-web' || fail "the message does not name the ctx: $r"
done
JWE=$(printf '%s' '{"password":"x"}' | jose jwe enc \
  -i "{\"protected\":{\"alg\":\"ECDH-ES\",\"enc\":\"A256GCM\",\"kid\":\"$KID\"}}" -I- -k "$WORK/agent.jwk" -o- -c)
expect "$(api PUT /v1/credentials/db-web "$TOKEN" "{\"type\":\"generic\",\"encryptedSecret\":\"$JWE\"}")" 400 invalid_request
pass "a wrong or missing ctx is 400, naming the ctx wanted"

# A kid this agent does not hold (a key made by jose, sealed to it).
jose jwk gen -i '{"kty":"EC","crv":"P-256"}' -o "$WORK/other.jwk"
jose jwk pub -i "$WORK/other.jwk" -o "$WORK/other-pub.jwk"
OTHER_KID=$(jose jwk thp -i "$WORK/other-pub.jwk")
JWE=$(printf '%s' '{"password":"x"}' | jose jwe enc \
  -i "{\"protected\":{\"alg\":\"ECDH-ES\",\"enc\":\"A256GCM\",\"kid\":\"$OTHER_KID\",\"ctx\":\"credential:db-web\"}}" \
  -I- -k "$WORK/other-pub.jwk" -o- -c)
expect "$(api PUT /v1/credentials/db-web "$TOKEN" "{\"type\":\"generic\",\"encryptedSecret\":\"$JWE\"}")" 422 cannot_decrypt
# The agent's kid on a JWE sealed to another key: the crypto fails, opaquely.
JWE=$(printf '%s' '{"password":"x"}' | jose jwe enc \
  -i "{\"protected\":{\"alg\":\"ECDH-ES\",\"enc\":\"A256GCM\",\"kid\":\"$KID\",\"ctx\":\"credential:db-web\"}}" \
  -I- -k "$WORK/other-pub.jwk" -o- -c)
expect "$(api PUT /v1/credentials/db-web "$TOKEN" "{\"type\":\"generic\",\"encryptedSecret\":\"$JWE\"}")" 422 cannot_decrypt
pass "an unknown kid, or the wrong key under our kid, is 422 cannot_decrypt"

# Format: not a string, not a JWE, another algorithm, both fields, no field.
expect "$(api PUT /v1/credentials/db-web "$TOKEN" '{"type":"generic","encryptedSecret":42}')" 400 invalid_request
expect "$(api PUT /v1/credentials/db-web "$TOKEN" '{"type":"generic","encryptedSecret":"a.b.c"}')" 400
DIRJWE=$(printf 'x' | jose jwe enc -i '{"protected":{"alg":"dir","enc":"A256GCM","ctx":"credential:db-web"}}' \
  -I- -k <(jose jwk gen -i '{"alg":"A256GCM"}') -o- -c)
expect "$(api PUT /v1/credentials/db-web "$TOKEN" "{\"type\":\"generic\",\"encryptedSecret\":\"$DIRJWE\"}")" 400 unsupported
JWE=$(printf '%s' '{"password":"x"}' | seal credential:db-web)
expect "$(api PUT /v1/credentials/db-web "$TOKEN" "{\"type\":\"generic\",\"secret\":\"x\",\"encryptedSecret\":\"$JWE\"}")" 400 invalid_request
expect "$(api PUT /v1/credentials/db-web "$TOKEN" '{"type":"generic"}')" 400 invalid_request
# Sealed content that is not a secret: not JSON (never quoted back), a number.
JWE=$(printf '%s' 'not json: hunter2-secret' | seal credential:db-web)
r=$(api PUT /v1/credentials/db-web "$TOKEN" "{\"type\":\"generic\",\"encryptedSecret\":\"$JWE\"}")
expect "$r" 400 invalid_request
echo "$r" | has hunter2 && fail "the error quotes the decrypted text: $r"
grep -q hunter2 "$AGENT_LOG" && fail "the decrypted text reached the log"
JWE=$(printf '%s' '42' | seal credential:db-web)
expect "$(api PUT /v1/credentials/db-web "$TOKEN" "{\"type\":\"generic\",\"encryptedSecret\":\"$JWE\"}")" 400 invalid_request
[ "$(ctl --json credential resolve db-web | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')" = 2 ] \
  || fail "a refused PUT changed the record"
pass "bad formats are 400 and change nothing; the decrypted text is never echoed"

# The old way keeps working, and without a token nothing is opened.
expect "$(api PUT /v1/credentials/plain "$TOKEN" '{"type":"generic","secret":"s"}')" 201
JWE=$(printf '%s' '"x"' | seal credential:db-web)
expect "$(api PUT /v1/credentials/db-web "" "{\"type\":\"generic\",\"encryptedSecret\":\"$JWE\"}")" 401
pass "\"secret\" still works; no token, 401"

# --- the page's files ---
URL="https://localhost:$PORT"
get () { rm -f "$WORK/b"; curl -sS --cacert "$STATE/tls/server.crt" -D "$WORK/h" -o "$WORK/b" -w '%{http_code}' "$@"; }
header () { grep -i "^$1:" "$WORK/h" | head -1 | cut -d' ' -f2- | tr -d '\r'; }
check_page_headers () {
  [ "$(header Content-Security-Policy)" = "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'; object-src 'none'" ] \
    || fail "$1: CSP is '$(header Content-Security-Policy)'"
  [ "$(header X-Content-Type-Options)" = nosniff ] || fail "$1: no nosniff"
  [ "$(header Referrer-Policy)" = no-referrer ] || fail "$1: no Referrer-Policy"
  grep -qi '^Access-Control-' "$WORK/h" && fail "$1: CORS headers"
  true
}
for f in / /index.html /style.css /cg-app.js /cg-api.js /cg-crypto.js /cg-dom.js /cg-forms.js \
         /cg-i18n.js /cg-json.js /cg-linked-service.js /vendor/jose.js /credential-types.json \
         /i18n/nl.json /i18n/de.json /icon.svg; do
  [ "$(get "$URL$f")" = 200 ] || fail "$f: not 200"
  check_page_headers "$f"
  case $f in
    /|*.html) want='text/html; charset=utf-8'; cache=no-cache ;;
    *.js) want='text/javascript; charset=utf-8'; cache=no-cache ;;
    *.css) want='text/css; charset=utf-8'; cache=no-cache ;;
    *.json) want='application/json'; cache=no-cache ;;
    *.svg) want='image/svg+xml'; cache=max-age=86400 ;;
  esac
  [ "$(header Content-Type)" = "$want" ] || fail "$f: Content-Type $(header Content-Type)"
  [ "$(header Cache-Control)" = "$cache" ] || fail "$f: Cache-Control $(header Cache-Control)"
  etag=$(header ETag)
  [[ $etag =~ ^\"[0-9a-f]{32}\"$ ]] || fail "$f: ETag '$etag'"
  [ "$(get -H "If-None-Match: $etag" "$URL$f")" = 304 ] || fail "$f: no 304 for its ETag"
  check_page_headers "$f (304)"
  [ ! -s "$WORK/b" ] || fail "$f: a 304 with a body"
  [ "$(get -H 'If-None-Match: "0000"' "$URL$f")" = 200 ] || fail "$f: 304 for another ETag"
done
cmp "$WORK/b" "$top_srcdir/data/org.credgate.Manager.svg" || fail "the served icon is not the app's"
get "$URL/i18n/de.json" >/dev/null
cmp "$WORK/b" "$top_builddir/web/i18n/de.json" || fail "the served catalog is not the built one"
get "$URL/vendor/jose.js" >/dev/null
cmp "$WORK/b" /usr/share/nodejs/jose-browser-runtime/index.bundle.min.js || fail "jose.js is not Debian's bundle"
grep -q '<script type="module" src="cg-app.js"></script>' <(get "$URL/" >/dev/null; cat "$WORK/b") \
  || fail "index.html does not load the app as a module"
grep -qi '<script>\|<style\|style=\| on[a-z]*=' "$top_srcdir/web/index.html" && fail "inline script or style in index.html"
pass "every page file: 200 with CSP, nosniff, no-referrer, its type, Cache-Control, ETag; 304 on If-None-Match"

for p in /nope.html /../state.db /%2e%2e/x.js /.hidden.js /cg-app.js.map /index.html/ /x; do
  code=$(get --path-as-is "$URL$p")
  [ "$code" = 404 ] || fail "$p: $code, not 404"
  check_page_headers "$p (404)"
done
[ "$(get -X POST --data-binary x "$URL/")" = 405 ] || fail "POST / is not 405"
check_page_headers "POST /"
[ "$(get -I "$URL/")" = 200 ] || fail "HEAD / is not 200"
pass "unknown paths are 404 and other methods 405, with the page's headers"

# The API: no CORS, even when asked.
get -H 'Origin: https://evil.example' -H "Authorization: Bearer $TOKEN" "$URL/v1/credentials" >/dev/null
grep -qi '^Access-Control-' "$WORK/h" && fail "the API answered with CORS headers"
code=$(get -X OPTIONS -H 'Origin: https://evil.example' -H 'Access-Control-Request-Method: PUT' \
  "$URL/v1/credentials/x")
[ "$code" = 405 ] || fail "a CORS preflight got $code"
grep -qi '^Access-Control-' "$WORK/h" && fail "the preflight got CORS headers"
pass "the API sends no CORS headers, and a preflight is refused"

# web=false: only the API.
stop_agent
printf '[agent]\nweb=false\n' >"$WORK/agent.conf"
start_agent --config "$WORK/agent.conf"
URL="https://localhost:$PORT"
[ "$(get "$URL/")" = 404 ] || fail "web=false still serves /"
[ "$(get "$URL/cg-app.js")" = 404 ] || fail "web=false still serves the modules"
[ "$(get "$URL/v1/info")" = 200 ] || fail "web=false broke the API"
stop_agent
printf '[agent]\nweb=maybe\n' >"$WORK/agent.conf"
"$AGENT" --config "$WORK/agent.conf" --state-dir "$STATE" 2>"$WORK/err" && fail "web=maybe accepted"
grep -q 'web: "maybe" is not true or false' "$WORK/err" || fail "web=maybe: $(cat "$WORK/err")"
pass "web=false serves only the API; a bad value stops the agent"
