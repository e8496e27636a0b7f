#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The TLS face, as real clients see it: TLS 1.3 and 1.2 with ECDHE+AEAD only;
# nothing older, no CBC, no RSA key exchange; the served certificate matches
# the pin the agent prints; a first start makes a self-signed P-256
# certificate with the SANs README.md names ("What it is", TLS).
. "$top_srcdir/tests/lib.sh"

start_agent
crt="$STATE/tls/server.crt"

handshake () { # gnutls-cli PRIORITY → 0 if the handshake completes
  timeout 10 gnutls-cli --x509cafile "$crt" --priority "$1" -p "$PORT" localhost \
    </dev/null >"$WORK/gc.out" 2>&1
}
handshake 'NORMAL:-VERS-ALL:+VERS-TLS1.3' || fail "TLS 1.3 handshake failed: $(tail -3 "$WORK/gc.out")"
grep -q 'TLS1.3' "$WORK/gc.out" || fail "TLS 1.3 not negotiated"
handshake 'NORMAL:-VERS-ALL:+VERS-TLS1.2' || fail "TLS 1.2 handshake failed: $(tail -3 "$WORK/gc.out")"
grep -qi 'ECDHE' "$WORK/gc.out" || fail "TLS 1.2 without ECDHE"
pass "TLS 1.3 and TLS 1.2 (ECDHE) handshakes complete against the pinned CA"

handshake 'NORMAL:-VERS-ALL:+VERS-TLS1.1:+VERS-TLS1.0:%VERIFY_ALLOW_BROKEN' && fail "TLS 1.1/1.0 accepted"
handshake 'NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-CBC:+AES-256-CBC:-MAC-ALL:+SHA1:+SHA256' \
  && fail "a CBC cipher suite was accepted"
handshake 'NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+RSA' && fail "RSA key exchange accepted"
handshake 'NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+DHE-RSA' && fail "DHE accepted"
pass "TLS 1.1 and older, CBC, RSA and DHE key exchange are refused"

# openssl agrees: the SPKI pin of what is served equals what the agent says.
served=$(openssl s_client -connect "127.0.0.1:$PORT" -servername localhost </dev/null 2>/dev/null \
  | openssl x509 -pubkey -noout | openssl pkey -pubin -outform der \
  | openssl dgst -sha256 -binary | base64)
said=$(ctl --json status | sed -n 's/.*"tlsPin": "sha256:\(.*\)".*/\1/p')
[ -n "$served" ] && [ "$served" = "$said" ] || fail "served pin '$served' != agent's '$said'"
grep -q "certificate sha256:$said" "$AGENT_LOG.out" || fail "the start-up lines lack the pin"
# curl pins the same value.
curl -sS -k --pinnedpubkey "sha256//$served" "https://127.0.0.1:$PORT/v1/info" >/dev/null \
  || fail "curl --pinnedpubkey with the agent's pin failed"
pass "the served SPKI (openssl s_client) matches the agent's pin; curl pins it"

text=$(openssl x509 -in "$crt" -noout -text)
for want in 'DNS:localhost' 'IP Address:127.0.0.1' 'IP Address:0:0:0:0:0:0:0:1' 'TLS Web Server Authentication' \
            'prime256v1'; do
  echo "$text" | has "$want" || fail "certificate lacks $want"
done
days=$(( ( $(date -d "$(openssl x509 -in "$crt" -noout -enddate | cut -d= -f2)" +%s) - $(date +%s) ) / 86400 ))
[ "$days" -ge 393 ] && [ "$days" -le 395 ] || fail "certificate valid for $days days, expected 395"
[ "$(stat -c %a "$STATE/tls/server.key")" = 600 ] || fail "key file mode"
pass "first start made a self-signed P-256 serverAuth certificate, 395 days, SANs as designed, key 0600"

# A restart serves the same certificate.
stop_agent; start_agent
[ "$(ctl --json status | sed -n 's/.*"tlsPin": "sha256:\(.*\)".*/\1/p')" = "$said" ] || fail "pin changed on restart"
pass "a restart keeps the certificate"
