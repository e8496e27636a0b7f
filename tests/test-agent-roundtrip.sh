#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Store → list → resolve through a real agent over TLS with curl; the secret
# is nowhere in the state directory in plaintext; a restart keeps it all.
. "$top_srcdir/tests/lib.sh"

CANARY="canary-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
start_agent

TOKEN=$(ctl token create it-roundtrip)
[[ "$TOKEN" == cgt_* ]] || fail "token create printed '$TOKEN'"
pass "token create prints the token alone"

r=$(api PUT /v1/credentials/sql-prod "$TOKEN" \
  "{\"type\":\"sqlserver\",\"properties\":{\"server\":\"db1\",\"user\":\"app\"},\"secret\":{\"password\":\"$CANARY\"}}")
expect "$r" 201
echo "$r" | has '"version":1' || fail "no version 1 in $r"
echo "$r" | has "$CANARY" && fail "the PUT reply echoes the secret"
pass "PUT stores a credential (201, version 1)"

r=$(api PUT /v1/credentials/sql-prod "$TOKEN" "{\"type\":\"sqlserver\",\"secret\":\"$CANARY-2\"}")
expect "$r" 200
echo "$r" | has '"version":2' || fail "replace did not bump version: $r"
pass "PUT replaces and bumps the version"

r=$(api GET /v1/credentials "$TOKEN")
expect "$r" 200
echo "$r" | has '"name":"sql-prod"' || fail "list lacks sql-prod: $r"
echo "$r" | has "$CANARY" && fail "list shows the secret"
r=$(api GET /v1/credentials/sql-prod "$TOKEN")
expect "$r" 200
echo "$r" | has -- '"secret"' && fail "GET returns a secret field: $r"
pass "GET list and GET one return metadata only"

out=$(ctl credential resolve sql-prod)
echo "$out" | has "$CANARY-2" || fail "resolve did not give the secret back: $out"
pass "credgatectl credential resolve gives the secret back on the host"

ctl credential list | has sql-prod || fail "credgatectl credential list"

# Encrypt → decrypt (admin side) and verify.
r=$(api POST /v1/encrypt "$TOKEN" "{\"value\":\"$CANARY-enc\",\"context\":\"ls1\"}")
expect "$r" 200
jwe=$(echo "${r#* }" | sed -n 's/.*"encryptedCredential":"\([^"]*\)".*/\1/p')
[ -n "$jwe" ] || fail "no encryptedCredential in $r"
[ "$(printf '%s' "$jwe" | ctl decrypt --context ls1)" = "$CANARY-enc" ] || fail "decrypt round trip"
printf '%s' "$jwe" | ctl decrypt --context other >/dev/null 2>&1 && fail "decrypt ignored the context"
r=$(api POST /v1/verify "$TOKEN" "{\"encryptedCredential\":\"$jwe\",\"context\":\"ls1\"}")
expect "$r" 200
echo "$r" | has '"ok":true' || fail "verify: $r"
pass "encrypt, verify and credgatectl decrypt agree"

# Context binding (README.md, "credgate-encrypt-value"): a value bound to a
# ctx opens only where that ctx is named; one without a ctx only where none
# is.  Every opener: the admin socket's decrypt, /v1/verify, /v1/rewrap, and encrypt-value's
# --verify and --rewrap, which call those two.
EV="$top_builddir/credgate-encrypt-value"
PIN=$(served_pin)
r=$(api POST /v1/encrypt "$TOKEN" "{\"value\":\"$CANARY-bare\"}")
expect "$r" 200
bare=$(echo "${r#* }" | sed -n 's/.*"encryptedCredential":"\([^"]*\)".*/\1/p')
[ -n "$bare" ] || fail "no encryptedCredential in $r"
printf '%s' "$TOKEN" >"$WORK/token"; chmod 600 "$WORK/token"
opens () { # opens JWE [CTX]: 0 when every opener opens it with CTX named, 1 when every one refuses
  local jwe=$1 ctx=${2:-} n=0 m c
  local ctxarg=() ctxjson=
  [ -n "$ctx" ] && { ctxarg=(--context "$ctx"); ctxjson=",\"context\":\"$ctx\""; }
  printf '%s' "$jwe" | ctl decrypt "${ctxarg[@]}" >/dev/null 2>&1 && n=$((n + 1))
  for path in /v1/verify /v1/rewrap; do
    c=$(api POST "$path" "$TOKEN" "{\"encryptedCredential\":\"$jwe\"$ctxjson}")
    case "${c%% *}" in
      200) n=$((n + 1)) ;;
      422) echo "${c#* }" | has '"code": *"cannot_decrypt"' || fail "$path: not the opaque failure: $c" ;;
      *) fail "$path: $c" ;;
    esac
  done
  for m in --verify --rewrap; do
    printf '%s' "$jwe" | "$EV" --agent "127.0.0.1:$PORT" --pin "$PIN" --token-file "$WORK/token" \
      "$m" "${ctxarg[@]}" >/dev/null 2>&1 && n=$((n + 1))
  done
  case $n in 5) return 0 ;; 0) return 1 ;; *) fail "openers disagree on ctx '${ctx}': $n of 5 opened" ;; esac
}
opens "$jwe" ls1 || fail "a value bound to ls1 does not open with ls1 named"
opens "$jwe" && fail "a value bound to ls1 opens with no context named"
opens "$jwe" other && fail "a value bound to ls1 opens as other"
opens "$bare" || fail "a value without a context does not open with none named"
opens "$bare" ls1 && fail "a value without a context opens with ls1 named"
pass "context binding: decrypt, /v1/verify, /v1/rewrap, --verify and --rewrap open a bound value only with its context, an unbound one only without"

sync
if grep -rqa "$CANARY" "$STATE"; then
  fail "the secret appears in plaintext under the state directory: $(grep -rla "$CANARY" "$STATE")"
fi
grep -qa "$CANARY" "$AGENT_LOG" "$AGENT_LOG.out" && fail "the secret appears in the agent's log"
pass "no plaintext secret in the state directory or the log"

stop_agent
start_agent
ctl credential resolve sql-prod | has "$CANARY-2" || fail "after restart the record does not resolve"
r=$(api GET /v1/credentials/sql-prod "$TOKEN")
expect "$r" 200
pass "after a restart the record and the token are still there"

r=$(api DELETE /v1/credentials/sql-prod "$TOKEN")
expect "$r" 200
expect "$(api GET /v1/credentials/sql-prod "$TOKEN")" 404 not_found
ctl credential delete sql-prod 2>/dev/null && fail "deleting twice succeeded"
pass "DELETE removes; a second delete is refused"

[ "$(stat -c %a "$SOCKET")" = 600 ] || fail "admin socket mode $(stat -c %a "$SOCKET")"
[ "$(stat -c %a "$STATE")" = 700 ] || fail "state dir mode $(stat -c %a "$STATE")"
pass "admin socket 0600, state directory 0700"

# status --json: camelCase keys throughout; the old "state_dir" stays one
# release next to "stateDir".
ctl --json status | python3 -c '
import json, re, sys
s = json.load(sys.stdin)
assert s["stateDir"] == s["state_dir"] == sys.argv[1], s
odd = [k for k in s if k != "state_dir" and not re.fullmatch("[a-z]+([A-Z][a-z0-9]*)*", k)]
assert not odd, odd
' "$(readlink -f "$STATE")" || fail "status --json keys: $(ctl --json status)"
ctl status | has "^state dir: *$(readlink -f "$STATE")\$" || fail "status: $(ctl status)"
pass "status --json: camelCase keys (stateDir), state_dir kept for one release"

# status lists every address the agent listens on (lib.sh starts it on
# 127.0.0.1 and ::1).
ctl --json status | python3 -c '
import json, sys
urls = json.load(sys.stdin)["listening"]
port = sys.argv[1]
assert sorted(urls) == sorted(["https://127.0.0.1:%s/" % port, "https://[::1]:%s/" % port]), urls
' "$PORT" || fail "status --json listening: $(ctl --json status)"
pass "status lists the listening addresses"
