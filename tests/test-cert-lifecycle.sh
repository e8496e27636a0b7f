#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# An admin's certificate, end to end against the real agent: install (PEM
# chain + key, protected keys, PKCS#12), refusals that change nothing, cert
# check/show/export/generate, a live swap under 50 parallel handshakes from
# the same process, stage/activate with credgate-encrypt-value following the
# staged pin, restart, SIGHUP drop-ins (good and bad), self-signed renewal
# and expiry warnings.
. "$top_srcdir/tests/lib.sh"

FX="$WORK/fx"
"$top_srcdir/tests/data/make-cert-lifecycle-fixtures" "$FX" || fail "fixtures"
EV="$top_builddir/credgate-encrypt-value"
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
TLS="$STATE/tls"

run () { set +e; "$@" >"$WORK/out" 2>"$WORK/err"; rc=$?; set -e; }
err_has () { grep -qF -- "$1" "$WORK/err" || fail "stderr lacks '$1': $(cat "$WORK/err")"; }
out_has () { grep -qF -- "$1" "$WORK/out" || fail "stdout lacks '$1': $(cat "$WORK/out")"; }
json_field () { "$PY" -c 'import json,sys; v=json.load(sys.stdin).get(sys.argv[1]); print("null" if v is None else v)' "$1"; }
status_field () { ctl --json status | json_field "$1"; }
info_field () { curl -sSk "https://127.0.0.1:$PORT/v1/info" | json_field "$1"; }
pin_of () { # pin_of CERT.pem → sha256:BASE64
  printf 'sha256:%s\n' "$(openssl x509 -in "$1" -pubkey -noout | openssl pkey -pubin -outform der \
    | openssl dgst -sha256 -binary | base64)"
}
tls_sums () { (cd "$TLS" && sha256sum ./* | sort); }
expect_served () { # expect_served PIN WHAT
  local s; s=$(served_pin)
  [ "$s" = "$1" ] || fail "$2: openssl s_client sees $s, expected $1"
  [ "$(status_field tlsPin)" = "$1" ] || fail "$2: status says $(status_field tlsPin)"
}

# 50 clients in a tight loop from one address: above the default per-address
# limit, which is a policy of its own and not under test here.
printf '[agent]\nmax_connections_per_ip=1000\nmax_connections=2000\n' >"$WORK/agent.conf"
start_agent --config "$WORK/agent.conf"
PID0=$AGENT_PID
PIN0=$(status_field tlsPin)
expect_served "$PIN0" "first start"
run ctl cert show
[ "$rc" = 0 ] || fail "cert show: $(cat "$WORK/err")"
out_has "served certificate (self-signed)"; out_has "$PIN0"; out_has "ECDSA P-256"
out_has "self-signed: yes"; out_has "DNS:localhost"; out_has "next certificate: none staged"
pass "cert show: the first start's self-signed certificate, its pin, names, key type"

for sub in show check install activate generate export; do
  ctl cert "$sub" --help >"$WORK/out" || fail "cert $sub --help"
  grep -q "Usage: credgatectl cert $sub" "$WORK/out" || fail "cert $sub --help: $(head -2 "$WORK/out")"
done
run ctl cert install "$FX/p256.crt" "$FX/p256.key" --passphrase=x
[ "$rc" = 2 ] || fail "a passphrase on the command line was not refused"
pass "every cert subcommand has --help; a passphrase on the command line is refused"

# --- refusals change nothing --------------------------------------------------
before=$(tls_sums)
refuse () { # refuse MESSAGE FILES…
  local msg=$1; shift
  run ctl cert install "$@" </dev/null
  [ "$rc" = 1 ] || fail "install $* was not refused (exit $rc): $(cat "$WORK/out" "$WORK/err")"
  err_has "$msg"
  [ "$(tls_sums)" = "$before" ] || fail "a refused install ($*) changed $TLS"
}
refuse "private key does not match" "$FX/chain.pem" "$FX/other.key"
refuse "expired on 2021" "$FX/expired.crt" "$FX/dates.key"
refuse "not valid yet" "$FX/future.crt" "$FX/dates.key"
refuse "RSA with 1024 bits" "$FX/rsa1024.crt" "$FX/rsa1024.key"
refuse "signed with SHA1" "$FX/sha1.crt" "$FX/sha1.key"
refuse "lacks serverAuth" "$FX/eku.crt" "$FX/eku.key"
refuse "no certificate found" "$FX/garbage.pem" "$FX/leaf.key"
refuse "the file is empty" "$FX/empty.pem" "$FX/leaf.key"
refuse "damaged or truncated" "$FX/truncated.pem" "$FX/leaf.key"
refuse "no private key found" "$FX/chain.pem" "$FX/garbage.pem"
refuse "do not name this host" "$FX/othername.crt" "$FX/othername.key"
refuse "wrong password" "$FX/bundle.p12" --passphrase-fd 3 3< <(printf 'wrong\n')
refuse "cannot read it" "$FX/truncated.p12"
# No terminal to ask on (setsid: no controlling tty) and no --passphrase-fd.
run setsid -w "$CTL" --socket "$SOCKET" cert install "$FX/chain.pem" "$FX/leaf-p8.key" </dev/null
[ "$rc" = 1 ] || fail "an encrypted key without passphrase or terminal: exit $rc"
err_has "--passphrase-fd"
expect_served "$PIN0" "after refusals"
kill -0 "$PID0" || fail "the agent died"
pass "13 bad certificates refused, each with its own message; files and served pin unchanged"

run ctl cert check "$FX/expired.crt" "$FX/dates.key"
[ "$rc" = 1 ] || fail "cert check of an expired certificate: exit $rc"
err_has "install would refuse this"; err_has "expired"
run ctl cert check "$FX/chain-reversed.pem" "$FX/leaf.key"
[ "$rc" = 0 ] || fail "cert check chain-reversed: $(cat "$WORK/err")"
out_has "install would serve it"; err_has "out of order"; out_has "$(pin_of "$FX/leaf.crt")"
run ctl cert check "$FX/othername.crt" "$FX/othername.key" --force --stage
[ "$rc" = 0 ] || fail "cert check --force --stage: $(cat "$WORK/err")"
out_has "install would stage it"; err_has "because of --force"
[ "$(tls_sums)" = "$before" ] && expect_served "$PIN0" "after cert check"
pass "cert check says what install would do and why (refuse / serve / stage, warnings) and changes nothing"

# --- accepted: every key type, chains, protected keys, PKCS#12 ----------------
install_ok () { # install_ok CERT_FOR_PIN FILES…
  local want; want=$(pin_of "$1"); shift
  run ctl cert install "$@" </dev/null
  [ "$rc" = 0 ] || fail "install $*: $(cat "$WORK/err")"
  out_has "installed: serving $want"
  expect_served "$want" "install $*"
}
for k in rsa2048 rsa3072 rsa4096 p256 p384; do
  install_ok "$FX/$k.crt" "$FX/$k.crt" "$FX/$k.key"
done
[ "$(stat -c %a "$TLS/server.key")" = 600 ] || fail "server.key mode $(stat -c %a "$TLS/server.key")"
install_ok "$FX/leaf.crt" "$FX/chain.pem" "$FX/leaf-p8.key" --passphrase-fd 3 3<"$FX/passphrase"
n=$(openssl s_client -connect "127.0.0.1:$PORT" -servername localhost -showcerts </dev/null 2>/dev/null \
  | grep -c 'BEGIN CERTIFICATE')
[ "$n" = 2 ] || fail "served chain has $n certificates, expected 2"
openssl s_client -connect "127.0.0.1:$PORT" -servername localhost -CAfile "$FX/root.crt" \
  -verify_return_error -verify_hostname localhost </dev/null >"$WORK/verify" 2>&1 \
  || fail "openssl cannot verify the served chain to the root: $(grep -i verify "$WORK/verify" | head -3)"
install_ok "$FX/leaf.crt" "$FX/chain-reversed.pem" "$FX/leaf-trad.key" --passphrase-fd 3 3<"$FX/passphrase"
err_has "out of order"
# The prompt: on the terminal (a pty here), without echo.
timeout 30 "$PY" - "$CTL" "$SOCKET" "$FX" >"$WORK/pty.out" <<'PY' || fail "the passphrase prompt: $(cat "$WORK/pty.out")"
import os, pty, sys
ctl, sock, fx = sys.argv[1:4]
pid, fd = pty.fork()
if pid == 0:
    os.execv(ctl, [ctl, "--socket", sock, "cert", "install", fx + "/bundle.p12"])
out = b""
while b"Passphrase for" not in out:
    out += os.read(fd, 1024)
os.write(fd, b"correct horse battery\n")
while True:
    try:
        d = os.read(fd, 1024)
    except OSError:
        break
    if not d:
        break
    out += d
_, st = os.waitpid(pid, 0)
sys.stdout.write(out.decode())
sys.exit(1 if b"horse" in out or os.waitstatus_to_exitcode(st) != 0 else 0)
PY
grep -q "installed: serving $(pin_of "$FX/leaf.crt")" "$WORK/pty.out" || fail "prompted install: $(cat "$WORK/pty.out")"
install_ok "$FX/leaf.crt" "$FX/bundle.p12" --passphrase-fd 3 3<"$FX/passphrase"
install_ok "$FX/leaf.crt" "$FX/bundle-nopass.p12"
install_ok "$FX/othername.crt" "$FX/othername.crt" "$FX/othername.key" --force
[ "$AGENT_PID" = "$PID0" ] && [ "$(status_field pid)" = "$PID0" ] || fail "the agent process changed"
pass "RSA 2048/3072/4096, ECDSA P-256/P-384, a chain via an intermediate (served whole, verifies to the root), PKCS#8 and traditional protected keys (--passphrase-fd, or a prompt without echo), PKCS#12 with and without password, --force: each served by the same process"

# --- a swap while 50 clients handshake ----------------------------------------
install_ok "$FX/p256.crt" "$FX/p256.crt" "$FX/p256.key"
cat >"$WORK/hammer.py" <<'PY'
import hashlib, socket, ssl, sys, threading, time
port, ok_pins, seconds = int(sys.argv[1]), set(sys.argv[2:4]), float(sys.argv[4])
def spki_pin(der):
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    import base64
    key = x509.load_der_x509_certificate(der).public_key()
    spki = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "sha256:" + base64.b64encode(hashlib.sha256(spki).digest()).decode()
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
seen, errors, count, lock = {}, [], [0], threading.Lock()
start = threading.Barrier(50)
def client():
    start.wait()
    end = time.time() + seconds
    while time.time() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                with ctx.wrap_socket(s, server_hostname="localhost") as t:
                    pin = spki_pin(t.getpeercert(binary_form=True))
            with lock:
                count[0] += 1
                seen[pin] = seen.get(pin, 0) + 1
                if pin not in ok_pins:
                    errors.append("unexpected pin " + pin)
        except Exception as e:
            with lock:
                errors.append(repr(e))
threads = [threading.Thread(target=client) for _ in range(50)]
for t in threads: t.start()
for t in threads: t.join()
print(count[0], " ".join("%s=%d" % kv for kv in sorted(seen.items())))
if errors:
    print("\n".join(errors[:10]), file=sys.stderr); sys.exit(1)
PY
OLD=$(pin_of "$FX/p256.crt"); NEW=$(pin_of "$FX/leaf.crt")
"$PY" "$WORK/hammer.py" "$PORT" "$OLD" "$NEW" 4 >"$WORK/hammer.out" 2>"$WORK/hammer.err" &
hammer=$!
sleep 1.5
ctl cert install "$FX/chain.pem" "$FX/leaf.key" >/dev/null 2>&1 || fail "install during the hammer"
wait "$hammer" || fail "handshakes failed during the swap: $(head -5 "$WORK/hammer.err")"
read -r total counts <"$WORK/hammer.out"
case "$counts" in *"$OLD="*"$NEW="*|*"$NEW="*"$OLD="*) ;; *) fail "the swap was not seen by the clients: $counts" ;; esac
[ "$total" -ge 100 ] || fail "only $total handshakes"
expect_served "$NEW" "after the swap under load"
[ "$(status_field pid)" = "$PID0" ] || fail "the agent process changed"
pass "a swap while 50 clients handshake: all $total handshakes succeed with the old or the new key; openssl s_client sees the new SPKI from the same process"

# --- pin rollover: stage, clients learn, activate ------------------------------
TOKEN=$(ctl token create it-cert)
printf '%s\n' "$TOKEN" >"$WORK/token"
export CREDGATE_TOKEN_FILE="$WORK/token"
KNOWN="$XDG_CONFIG_HOME/credgate/known_agents"
run "$EV" --agent "localhost:$PORT" --trust-on-first-use <<<"v1"
[ "$rc" = 0 ] || fail "encrypt-value TOFU: $(cat "$WORK/err")"
NEXT=$(pin_of "$FX/next.crt")
run ctl cert install --stage "$FX/next-chain.pem" "$FX/next.key"
[ "$rc" = 0 ] || fail "install --stage: $(cat "$WORK/err")"
out_has "staged $NEXT"
[ "$(info_field nextTlsPin)" = "$NEXT" ] || fail "/v1/info nextTlsPin: $(info_field nextTlsPin)"
expect_served "$NEW" "staging does not swap"
[ -f "$TLS/next.crt" ] && [ "$(stat -c %a "$TLS/next.key")" = 600 ] || fail "next.crt/next.key"
ctl cert show >"$WORK/out"; out_has "next certificate, staged"; out_has "$NEXT"
ctl status >"$WORK/out"; out_has "staged next: $NEXT"
run "$EV" --agent "localhost:$PORT" <<<"v2"
[ "$rc" = 0 ] || fail "encrypt-value while staged: $(cat "$WORK/err")"
grep -qF "next:$NEXT" "$KNOWN" || fail "the client did not remember the staged pin: $(cat "$KNOWN")"
run ctl cert activate
[ "$rc" = 0 ] || fail "activate: $(cat "$WORK/err")"
expect_served "$NEXT" "activate"
[ "$(info_field nextTlsPin)" = null ] || fail "nextTlsPin after activate"
[ -e "$TLS/next.crt" ] && fail "next.crt left after activate"
run "$EV" --agent "localhost:$PORT" <<<"v3"
[ "$rc" = 0 ] || fail "encrypt-value after the swap needed a prompt or failed: $(cat "$WORK/err")"
err_has "staged"
grep -qxF "localhost:$PORT $NEXT" "$KNOWN" || fail "known_agents not moved on: $(cat "$KNOWN")"
run ctl cert activate
[ "$rc" = 1 ] && err_has "no certificate is staged" || fail "activate with nothing staged"
pass "pin rollover: --stage publishes nextTlsPin, credgate-encrypt-value remembers it, and after cert activate accepts the new key without a prompt"

# --- export, restart ------------------------------------------------------------
ctl cert export >"$WORK/export.pem"
[ "$(grep -c 'BEGIN CERTIFICATE' "$WORK/export.pem")" = 2 ] || fail "export is not the chain"
[ "$(pin_of "$WORK/export.pem")" = "$NEXT" ] || fail "export's pin"
stop_agent; start_agent --config "$WORK/agent.conf"
expect_served "$NEXT" "restart"
[ "$(status_field tlsOrigin)" = installed ] || fail "origin after restart: $(status_field tlsOrigin)"
pass "cert export prints the served chain; the installed certificate survives a restart"

# --- a crash in the middle of writing a new pair --------------------------------
# Between the two renames: the new key beside the old certificate, the new
# certificate still at server.crt.new.  The next start completes the change.
stop_agent
mkdir "$WORK/tls-before"; cp -p "$TLS/server.crt" "$TLS/server.key" "$WORK/tls-before/"
cp "$FX/p384.key" "$TLS/server.key"; cp "$FX/p384.crt" "$TLS/server.crt.new"
start_agent --config "$WORK/agent.conf"
expect_served "$(pin_of "$FX/p384.crt")" "a change interrupted between the renames"
[ ! -e "$TLS/server.crt.new" ] || fail "server.crt.new is still there"
grep -q "completed an interrupted change" "$AGENT_LOG" || fail "no log line for the completed change"
# Before the first rename: the old pair is whole, the half-written files go.
stop_agent
cp "$FX/p256.key" "$TLS/server.key.new"; head -c 100 "$FX/p256.crt" >"$TLS/server.crt.new"
start_agent --config "$WORK/agent.conf"
expect_served "$(pin_of "$FX/p384.crt")" "a change interrupted before the renames"
[ ! -e "$TLS/server.crt.new" ] && [ ! -e "$TLS/server.key.new" ] || fail "half-written files left"
stop_agent; cp -p "$WORK/tls-before/"* "$TLS/"; start_agent --config "$WORK/agent.conf"
expect_served "$NEXT" "back to the activated certificate"
pass "a crash between the two renames of a certificate change is completed at the next start; one before them is rolled back"

# --- SIGHUP drop-ins ----------------------------------------------------------
cp "$TLS/server.crt" "$WORK/keep.crt"
printf 'garbage\n' >"$TLS/server.crt"
kill -HUP "$AGENT_PID"; sleep 0.5
kill -0 "$AGENT_PID" || fail "the agent died on a bad SIGHUP drop-in"
grep -q "SIGHUP: keeping the served certificate" "$AGENT_LOG" || fail "no log line for the bad drop-in"
expect_served "$NEXT" "bad drop-in"
cp "$FX/expired.crt" "$TLS/server.crt"; cp "$FX/dates.key" "$TLS/server.key"
kill -HUP "$AGENT_PID"; sleep 0.5
grep -q "expired on" "$AGENT_LOG" || fail "the expired drop-in was not logged"
expect_served "$NEXT" "expired drop-in"
cp "$FX/p384.crt" "$TLS/server.crt"; cp "$FX/p384.key" "$TLS/server.key"
kill -HUP "$AGENT_PID"; sleep 0.5
expect_served "$(pin_of "$FX/p384.crt")" "good drop-in"
# What certmonger or an ACME client writes: a chain, maybe out of order.
cp "$FX/chain-reversed.pem" "$TLS/server.crt"; cp "$FX/leaf.key" "$TLS/server.key"
kill -HUP "$AGENT_PID"; sleep 0.5
expect_served "$NEW" "reordered drop-in"
stop_agent; start_agent --config "$WORK/agent.conf"
expect_served "$NEW" "restart with the reordered drop-in"
pass "SIGHUP: bad and expired drop-ins are logged and the served certificate stays; good ones (even out of order) are served, also after a restart"

# --- expiry: an installed certificate warns, a self-signed one renews ----------
run ctl cert install "$FX/short.crt" "$FX/short.key"
[ "$rc" = 0 ] || fail "install short: $(cat "$WORK/err")"
# Made with 10 days; 9 once a second has passed.
grep -Eq "expires in (9|10) days" "$WORK/err" || fail "no expiry warning at install: $(cat "$WORK/err")"
left=$(info_field tlsExpiresInDays)
case "$left" in 9|10) ;; *) fail "tlsExpiresInDays: $left" ;; esac
case "$(info_field tlsWarning)" in *"expires in $left days"*) ;; *) fail "/v1/info tlsWarning: $(info_field tlsWarning)" ;; esac
ctl status >"$WORK/out"; out_has "WARNING:"; out_has "expires in $left days"
SHORT=$(pin_of "$FX/short.crt")
kill -HUP "$AGENT_PID"; sleep 0.5
expect_served "$SHORT" "an installed certificate is never replaced"
grep -q "installed certificate expires in $left days" "$AGENT_LOG" || fail "no expiry warning in the log"

run ctl cert generate --days 5
[ "$rc" = 0 ] || fail "generate --days 5: $(cat "$WORK/err")"
G1=$(status_field tlsPin)
[ "$G1" != "$SHORT" ] && [ "$(status_field tlsOrigin)" = self-signed ] || fail "generate did not serve a self-signed certificate"
# A client that knows the agent from its known_agents file (no --pin), as
# every script and desktop does after its first contact.
ctl token create lifecycle >"$WORK/token"; chmod 600 "$WORK/token"
KNOWN="$XDG_CONFIG_HOME/credgate/known_agents"
mkdir -p "${KNOWN%/*}"; printf '127.0.0.1:%s %s\n' "$PORT" "$G1" >"$KNOWN"; chmod 600 "$KNOWN"
known_client () { # known_client WHEN [NOTICE]: connects, no prompt, no word on stderr but NOTICE
  run "$EV" --agent "127.0.0.1:$PORT" --token-file "$WORK/token" --context lc <<<"v-$1"
  [ "$rc" = 0 ] || fail "$1: the known-agents client failed (exit $rc): $(cat "$WORK/err")"
  if [ -n "${2:-}" ]; then
    grep -qF -- "$2" "$WORK/err" && [ "$(wc -l <"$WORK/err")" = 1 ] || fail "$1: the client said: $(cat "$WORK/err")"
  else
    [ -s "$WORK/err" ] && fail "$1: the known-agents client said: $(cat "$WORK/err")"
  fi
  [ "$(ctl decrypt --context lc <"$WORK/out")" = "v-$1" ] || fail "$1: the value does not open"
}
served_cert () { openssl s_client -connect "127.0.0.1:$PORT" -servername localhost </dev/null 2>/dev/null | openssl x509 -noout -serial -enddate; }
known_client "before the renewal"
C1=$(served_cert)
kill -HUP "$AGENT_PID"; sleep 1
G2=$(status_field tlsPin)
C2=$(served_cert)
[ -n "$C1" ] && [ "$C2" != "$C1" ] || fail "the self-signed certificate with 5 days left was not renewed: $C1"
[ "${C2%%$'\n'*}" != "${C1%%$'\n'*}" ] || fail "the renewed certificate has the old serial: $C2"
[ "$G2" = "$G1" ] || fail "the renewal made a new key: pin $G1 became $G2; every pinned client now fails"
days=$(status_field tlsExpiresInDays)
[ "$days" -ge 393 ] || fail "renewed for $days days"
[ "$(info_field tlsWarning)" = null ] || fail "tlsWarning after renewal"
expect_served "$G1" "renewal"
grep -q "renewed the self-signed certificate with the same key" "$AGENT_LOG" || fail "no log line for the renewal"
known_client "after the renewal"
grep -qxF "127.0.0.1:$PORT $G1" "$KNOWN" || fail "known_agents changed: $(cat "$KNOWN")"
pass "self-signed renewal keeps the key: same SPKI pin, new serial and dates; a known-agents client goes on without a prompt or an error"

# Renewal at start (it ran out while the agent was stopped) keeps the key too.
run ctl cert generate --days 5
[ "$rc" = 0 ] || fail "generate --days 5: $(cat "$WORK/err")"
G3=$(status_field tlsPin)
[ "$G3" != "$G1" ] || fail "cert generate (the admin's explicit choice) kept the old key"
stop_agent; start_agent --config "$WORK/agent.conf"
[ "$(status_field tlsPin)" = "$G3" ] || fail "the renewal at start made a new key"
days=$(status_field tlsExpiresInDays)
[ "$days" -ge 393 ] || fail "renewed at start for $days days"
expect_served "$G3" "renewal at start"
pass "at start, a self-signed certificate near its end is renewed with the same key; only cert generate makes a new one"

# A new key, planned: generate --stage publishes the pin first, clients that
# connect learn it, activate serves it and they follow without a prompt.
printf '127.0.0.1:%s %s\n' "$PORT" "$G3" >"$KNOWN"
run ctl cert generate --stage
[ "$rc" = 0 ] || fail "generate --stage: $(cat "$WORK/err")"
out_has "staged"
G4=$(info_field nextTlsPin)
[ "$G4" != null ] && [ "$G4" != "$G3" ] || fail "generate --stage published nextTlsPin $G4"
expect_served "$G3" "generate --stage keeps serving the current certificate"
known_client "with a staged certificate" "has staged a new key $G4"
grep -qxF "127.0.0.1:$PORT $G3 next:$G4" "$KNOWN" || fail "the client did not learn the staged pin: $(cat "$KNOWN")"
run ctl cert activate
[ "$rc" = 0 ] || fail "activate: $(cat "$WORK/err")"
expect_served "$G4" "activate after generate --stage"
[ "$(status_field tlsOrigin)" = self-signed ] || fail "an activated generated certificate is $(status_field tlsOrigin), so it would never be renewed"
[ ! -e "$TLS/next.origin" ] || fail "next.origin left behind"
known_client "after activation" "now uses its staged key $G4"
grep -qxF "127.0.0.1:$PORT $G4" "$KNOWN" || fail "known_agents after activation: $(cat "$KNOWN")"
pass "generate --stage: the new key's pin is published first; the known-agents client learns it and follows the activation without a prompt; it stays self-signed (renewed by the agent)"
run ctl cert generate --key-type rsa-3072
[ "$rc" = 0 ] && out_has "RSA 3072" || fail "generate --key-type rsa-3072: $(cat "$WORK/out" "$WORK/err")"
[ "$(status_field pid)" = "$AGENT_PID" ] || fail "pid"
pass "an installed certificate near its end is warned about (log, status, /v1/info) and kept; a self-signed one with 5 days left is renewed (395 days); generate --key-type rsa-3072"
