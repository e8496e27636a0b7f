#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# credgate-encrypt-value --agent gw1,gw2,gw3 (the nodes of a cluster): the
# agents are tried in order and the next one only when one cannot be reached
# or answers 503 (here a real one: its keyring locked); never after a
# refusal (401, 422).  -v says which answered and why others did not; --json
# names it.  Three real single agents sharing keys and tokens (one backup
# restored onto the others, as a cluster shares them), each on a keyring
# of its own.
. "$top_srcdir/tests/backup-lib.sh"

EV="$top_builddir/credgate-encrypt-value"
PASSFILE="$WORK/pass"; printf 'failover-backup-pass\n' >"$PASSFILE"
use_agent a
start_agent
TOKEN=$(ctl token create ci)
printf '%s\n' "$TOKEN" >"$WORK/token"
export CREDGATE_TOKEN_FILE="$WORK/token"
ctl backup --output "$WORK/a.cgb" --passphrase-fd 3 3<"$PASSFILE" >/dev/null || fail "backup"
A="localhost:$PORT"
for n in b c; do
  use_agent $n
  start_agent_own_keyring
  ctl restore "$WORK/a.cgb" --passphrase-fd 3 3<"$PASSFILE" >/dev/null || fail "restore onto $n"
done
use_agent b; B="localhost:$PORT"; B_PID=$AGENT_PID
use_agent c; C="localhost:$PORT"
# d: an agent of its own, whose tokens are not ours.
use_agent d
start_agent_own_keyring
D="localhost:$PORT"
for x in "$A" "$B" "$C" "$D"; do
  "$EV" --fetch-key "$x" --trust-on-first-use >/dev/null 2>&1 || fail "first contact with $x"
done
pin_of () { grep -F "$1 " "$XDG_CONFIG_HOME/credgate/known_agents" | cut -d' ' -f2; }
PIN_A=$(pin_of "$A"); PIN_B=$(pin_of "$B"); PIN_C=$(pin_of "$C"); PIN_D=$(pin_of "$D")

# run ARGS…: the value on stdin; $rc, $out, $err.
run () { set +e; "$@" >"$WORK/out" 2>"$WORK/err"; rc=$?; set -e; }
answered () { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["agent"])' "$WORK/out"; }

run "$EV" --agent "$A,$B,$C" --json -v <<<"v1"
[ $rc = 0 ] && [ "$(answered)" = "$A" ] || fail "all up: rc $rc, $(cat "$WORK/out" "$WORK/err")"
has "answered by agent $A" "$WORK/err" || fail "-v does not say who answered: $(cat "$WORK/err")"
run "$EV" --agent "$C,$A" --json <<<"v1"
[ $rc = 0 ] && [ "$(answered)" = "$C" ] && [ ! -s "$WORK/err" ] || fail "order: $(cat "$WORK/out" "$WORK/err")"
pass "the first agent of the list answers; -v says so, --json names it, quiet without -v"

# a stopped; b's keyring locked: a real 503 (secret_store_locked).
use_agent a; stop_agent
use_agent b
bus=$(tr '\0' '\n' <"/proc/$B_PID/environ" | sed -n 's/^DBUS_SESSION_BUS_ADDRESS=//p')
DBUS_SESSION_BUS_ADDRESS=$bus "$top_builddir/tests/keyring-ctl" lock
sleep 0.2
expect "$(api POST /v1/encrypt "$TOKEN" '{"value":"x"}')" 503 secret_store_locked

run "$EV" --agent "$A,$B,$C" --json -v --context ls <<<"failed-over"
[ $rc = 0 ] && [ "$(answered)" = "$C" ] || fail "failover: rc $rc, $(cat "$WORK/out" "$WORK/err")"
has "agent $A: .*cannot reach" "$WORK/err" && has "agent $B: .*secret_store_locked" "$WORK/err" \
  && has "answered by agent $C" "$WORK/err" || fail "-v: $(cat "$WORK/err")"
python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["encryptedCredential"])' "$WORK/out" >"$WORK/v.jwe"
use_agent c
[ "$(ctl decrypt --context ls <"$WORK/v.jwe")" = failed-over ] || fail "the value made through $C does not open"
pass "a stopped agent and one answering 503 (keyring locked) are passed over, in order; the third answers"

run "$EV" --agent "$B,$C" --verify --json --context ls <"$WORK/v.jwe"
[ $rc = 0 ] && [ "$(answered)" = "$C" ] || fail "--verify failover: $(cat "$WORK/out" "$WORK/err")"
run "$EV" --fetch-key "$A,$C"
[ $rc = 0 ] && has '"kid"' "$WORK/out" || fail "--fetch-key failover: $(cat "$WORK/err")"
run "$EV" --agent "$A,$B,$C" --rewrap --context ls <"$WORK/v.jwe"
[ $rc = 0 ] || fail "--rewrap failover: $(cat "$WORK/err")"
pass "--verify, --fetch-key and --rewrap fail over the same way"

run "$EV" --agent "$A,$B" <<<"x"
[ $rc = 1 ] || fail "every agent failed over: rc $rc (want 1, the last one's 503): $(cat "$WORK/err")"
has "no agent could do it: $A: .*cannot reach.*; $B: .*secret_store_locked" "$WORK/err" \
  || fail "every agent failed over: $(cat "$WORK/err")"
run "$EV" --agent "$A" <<<"x"
[ $rc = 3 ] && ! has 'no agent could do it' "$WORK/err" || fail "one agent: rc $rc, $(cat "$WORK/err")"
pass "when every agent fails over, one error names each (exit status of the last); a single agent is as before"

# No failover after a refusal: d rejects our token (401), c would answer.
run "$EV" --agent "$D,$C" -v <<<"x"
[ $rc = 5 ] && has 'rejected the access token' "$WORK/err" && ! has 'trying' "$WORK/err" \
  && ! has 'answered by' "$WORK/err" || fail "401 failed over: rc $rc, $(cat "$WORK/err")"
# Nor after a 4xx about the value: a JWE sealed to a key no agent holds.
jose jwk gen -i '{"kty":"EC","crv":"P-256"}' -o "$WORK/stranger.jwk"
"$EV" --key "$WORK/stranger.jwk" <<<"s" >"$WORK/stranger.jwe"
run "$EV" --agent "$C,$B" --verify -v <"$WORK/stranger.jwe"
[ $rc = 7 ] && ! has 'trying' "$WORK/err" || fail "422 failed over: rc $rc, $(cat "$WORK/err")"
pass "a 401 or a 422 ends the list: the next agent is not tried"

# The desktop app's client (gui/cg-manager-client.c), the same rules.
gui () { "$top_builddir/tests/test-gui-failover" "$@" <"$WORK/token"; }
out=$(gui encrypt "$A=$PIN_A" "$B=$PIN_B" "$C=$PIN_C")
[ "$out" = "answered $C 1" ] || fail "GUI client, a stopped and b locked: $out"
out=$(gui encrypt "$C=$PIN_C" "$A=$PIN_A")
[ "$out" = "answered $C 1" ] || fail "GUI client, the first answers: $out"
out=$(gui encrypt "$A=$PIN_A" "$B=$PIN_B")
case $out in "error CG_ERROR 7:"*secret_store_locked*) ;; *) fail "GUI client, every agent fails over: $out" ;; esac
out=$(gui list "$D=$PIN_D" "$C=$PIN_C")
case $out in "error CG_ERROR 5:"*) ;; *) fail "GUI client failed over after a 401: $out" ;; esac
out=$(gui list "$A=$PIN_A" "$C=$PIN_D" "$D=$PIN_D")
case $out in "error CG_CLIENT_ERROR 2:"*) ;; *) fail "GUI client after a pin mismatch: $out" ;; esac
pass "the desktop app's client goes down its list the same way: past unreachable and 503, never past a 401 or a pin mismatch; it says who answered"

# b unlocked: it answers again, in its place in the list.
use_agent b
DBUS_SESSION_BUS_ADDRESS=$bus CG_TEST_KEYRING_PASSWORD_FILE="$WORK/b/host/keyring-password" \
  "$top_builddir/tests/keyring-ctl" unlock
run "$EV" --agent "$A,$B,$C" --json <<<"back"
[ $rc = 0 ] && [ "$(answered)" = "$B" ] || fail "b back: $(cat "$WORK/out" "$WORK/err")"
pass "once its keyring is unlocked the second agent answers again"

run "$EV" --agent "$A,,$C" <<<"x"
[ $rc = 2 ] || fail "an empty member of --agent: rc $rc"
run "$EV" --agent "$B,$C" --enroll <<<"cge_x"
[ $rc = 2 ] && has 'one agent' "$WORK/err" || fail "--enroll with a list: rc $rc, $(cat "$WORK/err")"
pass "a malformed --agent list, or --enroll with several agents, is a usage error"

# ---- learning the other nodes' pins from a trusted node's /v1/info -------
# Until the agent serves the "cluster" field (the member part of issue 13),
# a stand-in node: a real TLS server (python3's ssl) answering /v1/info as
# c does, plus "cluster": {"node": "n1", "nodes": [n1 itself, n2 = agent c
# under another address (127.0.0.1) with its real pin, n3 = agent d
# (127.0.0.1) with a wrong pin]}.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost -days 2 -keyout "$WORK/n1.key" -out "$WORK/n1.crt" 2>/dev/null
n1_pin="sha256:$(openssl x509 -in "$WORK/n1.crt" -pubkey -noout | openssl pkey -pubin -outform der \
  | openssl dgst -sha256 -binary | base64)"
use_agent c; c_pin=$(served_pin); C2="127.0.0.1:$PORT"
use_agent d; D2="127.0.0.1:$PORT"
use_agent c
api GET /v1/info | sed 's/^200 //' >"$WORK/c-info.json"
python3 - "$WORK/c-info.json" "$n1_pin" "$C2" "$c_pin" "$D2" >"$WORK/n1-info.json" <<'PY'
import json, sys
info = json.load(open(sys.argv[1]))
info["tlsPin"] = sys.argv[2]
bad = "sha256:" + "A" * 43 + "="
info["cluster"] = {"id": "test", "node": "n1", "applied": 1, "stale_seconds": None, "nodes": [
    {"name": "n1", "address": "localhost:1", "pin": sys.argv[2], "alive": True},
    {"name": "n2", "address": sys.argv[3], "pin": sys.argv[4], "alive": True},
    {"name": "n3", "address": sys.argv[5], "pin": bad, "alive": True}]}
print(json.dumps(info))
PY
python3 - "$WORK/n1-info.json" "$WORK/n1.crt" "$WORK/n1.key" "$WORK/n1.port" <<'PY' &
import http.server, ssl, sys
body = open(sys.argv[1], "rb").read()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/v1/info" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
srv = http.server.HTTPServer(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[2], sys.argv[3])
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
open(sys.argv[4] + ".tmp", "w").write(str(srv.server_address[1]))
import os; os.rename(sys.argv[4] + ".tmp", sys.argv[4])
srv.serve_forever()
PY
n1_server=$!
trap 'kill "$n1_server" 2>/dev/null || true; stop_all_agents' EXIT
for _ in $(seq 100); do [ -s "$WORK/n1.port" ] && break; sleep 0.05; done
N1="localhost:$(cat "$WORK/n1.port")"
KNOWN="$XDG_CONFIG_HOME/credgate/known_agents"

run "$EV" --agent "$C2" <<<"x"
[ $rc = 4 ] || fail "n2 is trusted before anything vouched for it: rc $rc"
run "$EV" --fetch-key "$N1" --trust-on-first-use
[ $rc = 0 ] || fail "first contact with the stand-in node: $(cat "$WORK/err")"
has "learned agent $C2's key from cluster node $N1" "$WORK/err" || fail "learning not said: $(cat "$WORK/err")"
has -x "$C2 $c_pin via:$N1" "$KNOWN" && has -x "$D2 sha256:A\{43\}= via:$N1" "$KNOWN" \
  || fail "known_agents after learning: $(cat "$KNOWN")"
[ "$(grep -c "via:" "$KNOWN")" = 2 ] || fail "the node itself or more was learned: $(cat "$KNOWN")"
pass "a node trusted on first use vouches for the others it lists: their pins are recorded 'via' it"

run "$EV" --agent "$C2" --json <<<"through-learned"
[ $rc = 0 ] && [ "$(answered)" = "$C2" ] || fail "a learned node is not trusted: rc $rc, $(cat "$WORK/err")"
run "$EV" --agent "$D2" <<<"x"
[ $rc = 4 ] && has 'CHANGED' "$WORK/err" || fail "a learned pin that does not match: rc $rc, $(cat "$WORK/err")"
cp "$KNOWN" "$WORK/known.before"
run "$EV" --fetch-key "$N1"
cmp -s "$KNOWN" "$WORK/known.before" || fail "a second visit changed known_agents: $(diff "$WORK/known.before" "$KNOWN")"
pass "a learned node is used without a prompt; one whose key differs from the learned pin is refused as CHANGED; nothing is learned twice"
kill "$n1_server"; wait "$n1_server" 2>/dev/null || true
