#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# End to end through the real window: a real agent and token, credgate-manager
# on Xvfb, the connect form, the certificate check and a SQL Server credential
# filled in by keyboard through the widgets themselves (xdotool sends X key
# events to the focused widget, using the mnemonics a keyboard user would),
# then credgatectl on the agent's side checks what arrived.  Once in English
# and once in Dutch; screenshots of each screen go to tests/artifacts/.
#
# Why xdotool and not AT-SPI for input: GTK 4.8 implements no AT-SPI
# EditableText, so text cannot be set through AT-SPI; tests/test-gui-e2e.py
# reads the accessibility tree to check every control has a name and role.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/xvfb.sh"

for tool in Xvfb xdotool import msgfmt xdpyinfo; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (scripts/setup installs it)"
done

# Screenshots go beside the sources (git-ignored); a read-only source tree
# (make distcheck) gets them in the build tree instead.
ART="${CG_TEST_ARTIFACTS:-$top_srcdir/tests/artifacts}"
if ! { mkdir -p "$ART" 2>/dev/null && [ -w "$ART" ]; }; then
  ART="$top_builddir/tests/artifacts"
  mkdir -p "$ART"
fi

# Translations from the source tree, compiled into a scratch locale dir.
LOCALEDIR="$WORK/locale"
for lang in nl de; do
  mkdir -p "$LOCALEDIR/$lang/LC_MESSAGES"
  msgfmt --check -o "$LOCALEDIR/$lang/LC_MESSAGES/credgate.mo" "$top_srcdir/po/$lang.po"
done
t () { LANG=C.UTF-8 LANGUAGE=$UI_LANG TEXTDOMAINDIR=$LOCALEDIR gettext credgate "$1"; }
# mn MSGID: the mnemonic letter of a translated label, as an xdotool key.
mn () { echo "alt+$(t "$1" | sed 's/^[^_]*_\(.\).*/\1/' | tr '[:upper:]' '[:lower:]')"; }

start_agent
TOKEN=$(ctl token create gui-e2e)
[[ "$TOKEN" == cgt_* ]] || fail "token create printed '$TOKEN'"

XVFB_PID=
APP_PID=
trap 'kill $APP_PID $XVFB_PID 2>/dev/null || true; cleanup' EXIT
start_xvfb "$WORK"

# wait_window TITLE: the id of the visible window with exactly that title.
wait_window () {
  local id
  for _ in $(seq 300); do
    id=$(xdotool search --onlyvisible --name "^$1\$" 2>/dev/null | tail -1) || true
    if [ -n "$id" ]; then echo "$id"; return 0; fi
    kill -0 "$APP_PID" 2>/dev/null || fail "credgate-manager exited; log: $(cat "$WORK/app.log") $(xvfb_state)"
    sleep 0.1
  done
  fail "no window titled '$1'; log: $(cat "$WORK/app.log") $(xvfb_state)"
}
# There is no window manager: give keyboard focus to a window ourselves.
focus () { xdotool windowfocus "$1"; sleep 0.3; }
key () { xdotool key --clearmodifiers "$@"; sleep 0.25; }
typetext () { printf '%s' "$1" | xdotool type --delay 15 --file -; sleep 0.2; }
shot () { sleep 0.6; import -window root "$ART/gui-$UI_LANG-$1.png"; }

# run_gui LANG NAME SECRET: one whole session in LANG.
run_gui () {
  UI_LANG=$1; local name=$2 secret=$3
  # A fresh config dir: no known agents, so the first-contact check shows.
  local config="$WORK/config-$UI_LANG"
  mkdir -p "$config"
  XDG_CONFIG_HOME=$config LANG=C.UTF-8 LANGUAGE=$UI_LANG CREDGATE_LOCALEDIR=$LOCALEDIR \
    GDK_BACKEND=x11 GTK_A11Y=${GTK_A11Y:-atspi} "$top_builddir/credgate-manager" \
    >"$WORK/app.log" 2>&1 &
  APP_PID=$!

  local main; main=$(wait_window "$(t 'credgate Manager')")
  focus "$main"
  # The host entry has the focus; the rest by mnemonic.  First an address
  # where nothing listens (the agent is bound to 127.0.0.1 and ::1 only).
  typetext 127.0.0.2
  key alt+p ctrl+a; typetext "$PORT"
  key alt+t; typetext cgt_never-sent
  key Return
  sleep 1.5
  shot 0b-unreachable
  xdotool search --onlyvisible --name "^$(t 'Agent certificate')\$" >/dev/null 2>&1 &&
    fail "[$UI_LANG] an unreachable agent showed a certificate"
  "$PY" "$top_srcdir/tests/test-gui-e2e.py" "$APP_PID" --find-prefix \
    "$(t 'The agent cannot be reached. Check the host name and port, and that the agent is running. (%s)' | sed 's/ (%s)$//')" ||
    fail "[$UI_LANG] an unreachable agent is not explained in words"
  pass "[$UI_LANG] an unreachable agent is reported in the window"
  # From here on the host field is a cluster's list: the first node
  # (nothing listens there) is passed over for the second, the agent, by
  # every attempt below (the port field's port for both).
  key "$(mn '_Host')" ctrl+a; typetext "127.0.0.2, localhost"

  # A changed key: a pin for this address that the agent does not have.
  # The warning blocks, shows both pins, and Cancel (the default) keeps the
  # old pin and sends nothing.
  mkdir -p "$config/credgate"
  local bogus="sha256:$(head -c 32 /dev/urandom | base64)"
  printf 'localhost:%s %s\n' "$PORT" "$bogus" > "$config/credgate/known_agents"
  key alt+t ctrl+a; typetext cgt_never-sent
  key Return
  focus "$(wait_window "$(t 'Certificate changed')")"
  shot 0a-key-changed
  key Return
  focus "$main"
  sleep 0.5
  grep -q "$bogus" "$config/credgate/known_agents" || fail "[$UI_LANG] cancelling replaced the pin"
  pass "[$UI_LANG] a changed key is a blocking warning; cancel keeps the trusted pin"
  rm "$config/credgate/known_agents"

  # A wrong token: the window must say so in words, and trust nothing for good.
  key alt+t ctrl+a; typetext cgt_not-a-valid-token
  key Return
  focus "$(wait_window "$(t 'Agent certificate')")"
  key Return
  focus "$main"
  # Typing goes on only once the attempt is over (the form is insensitive
  # while it runs and would drop keys).
  "$PY" "$top_srcdir/tests/test-gui-e2e.py" "$APP_PID" --find \
    "$(t 'The agent rejected the access token. Ask the agent’s administrator for a new one (credgatectl token create).')" ||
    fail "[$UI_LANG] a rejected token is not explained in words"
  shot 0-token-rejected
  [ -e "$config/credgate/known_agents" ] && fail "[$UI_LANG] a failed login saved the agent's pin"
  pass "[$UI_LANG] a rejected token leaves the connect page with a message"

  key alt+t ctrl+a; printf '%s' "$TOKEN" | xdotool type --delay 5 --file -
  shot 1-connect
  key Return

  local cert; cert=$(wait_window "$(t 'Agent certificate')")
  focus "$cert"
  shot 2-certificate
  # On first contact "Trust and connect" is the default button.  The pin
  # is written once the token is accepted: then the list is there.
  key Return
  for _ in $(seq 300); do
    grep -qs "localhost:$PORT sha256:" "$config/credgate/known_agents" && break
    sleep 0.1
  done
  grep -q "localhost:$PORT sha256:" "$config/credgate/known_agents" ||
    fail "trusting did not write the known-agents file"
  grep -q "127.0.0.2" "$config/credgate/known_agents" &&
    fail "[$UI_LANG] the unreachable first node of the list was trusted"
  "$PY" "$top_srcdir/tests/test-gui-e2e.py" "$APP_PID" --find "$(t 'Connected to %s' | sed "s/%s/localhost:$PORT/")" ||
    fail "[$UI_LANG] the window does not say it is connected to the second node of the list"
  pass "[$UI_LANG] a list of agents in the host field: the unreachable first one is passed over, the next one connects"

  focus "$main"
  # Connected: the list is empty; Ctrl+N adds.
  shot 3-credentials-empty
  key ctrl+n
  local editor; editor=$(wait_window "$(t 'New credential')")
  focus "$editor"
  # Checked as you type: a space is not allowed in a name.
  typetext "bad name"
  shot 4a-editor-invalid
  key ctrl+a; typetext "$name"
  key alt+r; typetext db1.example.com
  key alt+d; typetext sales
  key alt+u; typetext app_user
  key alt+w; typetext "$secret"
  shot 4-editor
  key Return

  local r=
  for _ in $(seq 50); do
    r=$(ctl credential resolve "$name" 2>/dev/null) && break
    sleep 0.2
  done
  [ -n "$r" ] || fail "[$UI_LANG] the credential $name did not arrive at the agent"
  echo "$r" | has -- "$secret" || fail "[$UI_LANG] resolve gave no secret: $r"
  echo "$r" | has 'db1.example.com' || fail "[$UI_LANG] server property missing: $r"
  echo "$r" | has 'sqlserver' || fail "[$UI_LANG] type is not sqlserver: $r"
  pass "[$UI_LANG] connect, trust, add a SQL Server credential through the window; credgatectl resolves it"

  focus "$main"
  sleep 0.5
  shot 5-credentials

  # Edit: Ctrl+F, a few letters, Enter opens the match.  The form asks for
  # the secret again (the agent never returns it); the focus is already there.
  key ctrl+f; typetext "$name"; key Return
  editor=$(wait_window "$(t 'Edit “%s”' | sed "s/%s/$name/")")
  focus "$editor"
  typetext "$secret-v2"
  key alt+r ctrl+a; typetext db2.example.com
  shot 6-editor-edit
  key Return
  for _ in $(seq 50); do
    r=$(ctl credential resolve "$name" 2>/dev/null) && echo "$r" | has -- "$secret-v2" && break
    sleep 0.2
  done
  echo "$r" | has -- "$secret-v2" || fail "[$UI_LANG] the edit did not reach the agent: $r"
  echo "$r" | has 'db2.example.com' || fail "[$UI_LANG] the edited server is missing: $r"
  echo "$r" | has 'sales' || fail "[$UI_LANG] editing lost the database property: $r"
  pass "[$UI_LANG] edit through the window replaces the record with the re-entered secret"
  focus "$main"
  # The token went into the user's keyring, not a file.
  secret-tool lookup host localhost port "$PORT" 2>/dev/null | has '^cgt_' ||
    fail "[$UI_LANG] the token is not in the keyring"
  grep -rqs "$TOKEN" "$config" "$HOME" && fail "[$UI_LANG] the token is in a plain file"
  pass "[$UI_LANG] the token is in the keyring and in no file"

  # The agent's secret store locked: saving fails in plain words, in the
  # form, which stays open with what was typed.
  local kctl="$top_builddir/tests/keyring-ctl"
  [ -x "$kctl" ] || fail "tests/keyring-ctl is not built (make check builds it)"
  "$kctl" lock
  key ctrl+n
  focus "$(wait_window "$(t 'New credential')")"
  typetext "$name-locked"
  key alt+r; typetext db3; key alt+u; typetext app; key alt+w; typetext "$secret-locked"
  key Return
  "$PY" "$top_srcdir/tests/test-gui-e2e.py" "$APP_PID" --find "$(t 'The secret store on the agent’s host is locked or unavailable, so the agent cannot seal or open credentials. Ask its administrator to unlock it.')" ||
    fail "[$UI_LANG] a locked secret store is not explained in the form"
  shot 6a-store-locked
  key Escape
  "$kctl" unlock
  focus "$main"
  pass "[$UI_LANG] a locked secret store on the agent is shown in words"

  # Encrypt for a linked service: Alt+2 opens the page, Alt+J (the label's
  # mnemonic) the JSON box; Ctrl+Return encrypts.
  key alt+2
  key "$(mn 'Linked service _JSON')"
  typetext "{\"name\": \"ls-$UI_LANG\", \"properties\": {\"type\": \"SqlServer\", \"typeProperties\": {\"connectionString\": \"Server=db1;Database=sales;User ID=app;Password=$secret-ls;\"}}}"
  sleep 0.8
  key ctrl+Return
  sleep 1.5
  shot 7-linked-service
  local out
  out=$("$PY" "$top_srcdir/tests/test-gui-e2e.py" "$APP_PID" --text "$(t 'Re_written JSON' | tr -d _)") ||
    fail "[$UI_LANG] no rewritten JSON: $out"
  echo "$out" | has -- "$secret-ls" && fail "[$UI_LANG] the rewritten JSON still holds the password"
  echo "$out" | has 'Server=db1;Database=sales;User ID=app' || fail "[$UI_LANG] rewritten JSON lost fields: $out"
  local jwe; jwe=$(echo "$out" | sed -n 's/.*"encryptedCredential": *"\([^"]*\)".*/\1/p')
  [ -n "$jwe" ] || fail "[$UI_LANG] no encryptedCredential in: $out"
  printf '%s' "$jwe" | ctl decrypt --context "ls-$UI_LANG" | has -- "$secret-ls" ||
    fail "[$UI_LANG] the encrypted credential does not open to the password on the agent"
  pass "[$UI_LANG] linked service rewritten through the window; the agent opens its encryptedCredential"

  # The same from a file and back to one, through the file chooser (once:
  # GTK's own dialog, the same in every language): Ctrl+O, a path typed
  # into its location entry; "Save result…" (Alt+S), a path as the name.
  if [ "$UI_LANG" = en ]; then
    cat >"$WORK/ls-file.json" <<JSON
{"name": "ls-file", "properties": {"type": "PostgreSql", "typeProperties": {
  "server": "pg1", "username": "app", "password": "$secret-file"}}}
JSON
    key ctrl+o
    focus "$(wait_window "$(t 'Open a linked service')")"
    key ctrl+l; typetext "$WORK/ls-file.json"; key Return
    focus "$main"
    key "$(mn 'Linked service _JSON')"
    key ctrl+Return
    local out= i
    for i in $(seq 100); do
      out=$("$PY" "$top_srcdir/tests/test-gui-e2e.py" "$APP_PID" --text "$(t 'Re_written JSON' | tr -d _)") || true
      echo "$out" | has '"ls-file"' && echo "$out" | has encryptedCredential && break
      sleep 0.2
    done
    echo "$out" | has '"ls-file"' || fail "[$UI_LANG] the opened file was not encrypted: $out"
    key "$(mn '_Save result…')"
    focus "$(wait_window "$(t 'Save the rewritten linked service')")"
    key ctrl+a; typetext "$WORK/ls-file.out.json"; key Return
    for i in $(seq 100); do [ -s "$WORK/ls-file.out.json" ] && break; sleep 0.1; done
    [ -s "$WORK/ls-file.out.json" ] || fail "[$UI_LANG] Save result wrote no file"
    focus "$main"
    grep -q -- "$secret-file" "$WORK/ls-file.out.json" && fail "[$UI_LANG] the saved file holds the password"
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["properties"]["typeProperties"]["encryptedCredential"])' \
      "$WORK/ls-file.out.json" | ctl decrypt --context ls-file | has -- "$secret-file" ||
      fail "[$UI_LANG] the saved file's encryptedCredential does not open to the password"
    pass "[$UI_LANG] a linked-service file opened and the result saved through the file chooser; the agent opens what was saved"
  fi
  key alt+1

  # Disconnect, then one-click reconnect from the known agents: the pin is
  # known (no prompt) and the token comes from the keyring.
  key "$(mn '_Disconnect')"
  sleep 0.5
  shot 8-known-agents
  key "$(mn '_Known agents')"
  key Return
  sleep 1.5
  shot 9-reconnected
  xdotool search --onlyvisible --name "^$(t 'Agent certificate')\$" >/dev/null 2>&1 &&
    fail "[$UI_LANG] a known agent asked for trust again"
  "$PY" "$top_srcdir/tests/test-gui-e2e.py" "$APP_PID" --find "$(t 'Edit %s' | sed "s/%s/$name/")" ||
    fail "[$UI_LANG] reconnecting from the known agents did not show the credentials"
  pass "[$UI_LANG] known agent: one-click reconnect, pin and keyring token reused"

  # Pin rollover (once: it changes the agent's certificate for good): the
  # admin stages a certificate; a reconnect learns its pin from /v1/info;
  # after cert activate the window accepts the new key without a prompt.
  if [ "$UI_LANG" = en ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 200 \
      -keyout "$WORK/next.key" -out "$WORK/next.crt" -subj /CN=next.test \
      -addext "subjectAltName=DNS:$(hostname),DNS:localhost,IP:127.0.0.1" 2>/dev/null ||
      fail "openssl req"
    local next_pin
    next_pin="sha256:$(openssl x509 -in "$WORK/next.crt" -pubkey -noout | openssl pkey -pubin -outform der \
      | openssl dgst -sha256 -binary | base64)"
    ctl cert install --stage "$WORK/next.crt" "$WORK/next.key" </dev/null >/dev/null || fail "cert install --stage"
    key "$(mn '_Disconnect')"
    key "$(mn '_Known agents')"
    key Return
    for _ in $(seq 300); do
      grep -qsF "next:$next_pin" "$config/credgate/known_agents" && break
      sleep 0.1
    done
    grep -qF "next:$next_pin" "$config/credgate/known_agents" ||
      fail "[$UI_LANG] the staged pin was not learnt: $(cat "$config/credgate/known_agents")"
    ctl cert activate >/dev/null || fail "cert activate"
    "$PY" "$top_srcdir/tests/test-gui-e2e.py" "$APP_PID" --find "$(t 'Edit %s' | sed "s/%s/$name/")" ||
      fail "[$UI_LANG] not connected before the swap"
    key "$(mn '_Disconnect')"
    key "$(mn '_Known agents')"
    key Return
    "$PY" "$top_srcdir/tests/test-gui-e2e.py" "$APP_PID" --find "$(t 'Edit %s' | sed "s/%s/$name/")" ||
      fail "[$UI_LANG] no reconnect after the certificate swap"
    for title in 'Certificate changed' 'Agent certificate'; do
      xdotool search --onlyvisible --name "^$(t "$title")\$" >/dev/null 2>&1 &&
        fail "[$UI_LANG] the staged certificate brought up '$title'"
    done
    grep -qF "localhost:$PORT $next_pin" "$config/credgate/known_agents" ||
      fail "[$UI_LANG] the new pin is not the trusted one: $(cat "$config/credgate/known_agents")"
    shot 9a-after-rollover
    pass "[$UI_LANG] pin rollover: the staged pin is learnt, the activated certificate is accepted without a prompt"
  fi

  # Enroll this device (once): the admin's one-time code typed into the
  # connect page; the window makes a key, has the agent certify it, keeps
  # both in the user's keyring (no file), and reconnects with the
  # certificate.  Then the token is revoked and forgotten, and a one-click
  # reconnect still gets in: no token at all.
  if [ "$UI_LANG" = en ]; then
    local code; code=$(ctl client enroll gui-device 2>/dev/null)
    key "$(mn '_Disconnect')"
    # The connect page takes the focus when it shows: type only after that.
    "$PY" "$top_srcdir/tests/test-gui-e2e.py" "$APP_PID" --find "$(t 'Enroll this device')" ||
      fail "[$UI_LANG] no Enroll this device button"
    sleep 0.5
    key "$(mn '_Host')" ctrl+a; typetext localhost
    key "$(mn '_Enrollment code')"; printf '%s' "$code" | xdotool type --delay 5 --file -
    shot 9b-enroll
    key "$(mn 'Enro_ll this device')"
    "$PY" "$top_srcdir/tests/test-gui-e2e.py" "$APP_PID" --find "$(t 'Edit %s' | sed "s/%s/$name/")" ||
      fail "[$UI_LANG] enrolling did not connect"
    ctl client list | grep '^gui-device ' | has active || fail "[$UI_LANG] gui-device is not enrolled: $(ctl client list)"
    local items; items=$(secret-tool search --all xdg:schema org.credgate.Manager.Token kind client-certificate 2>&1 || true)
    grep -q "attribute.port = $PORT" <<<"$items" || fail "[$UI_LANG] the client certificate is not in the keyring: $items"
    grep -rlqs 'PRIVATE KEY' "$config" "$HOME" && fail "[$UI_LANG] the client key is in a plain file"
    ctl token revoke gui-e2e >/dev/null
    secret-tool clear host localhost port "$PORT" kind token
    secret-tool lookup host localhost port "$PORT" kind token >/dev/null 2>&1 && fail "the token is still in the keyring"
    key "$(mn '_Disconnect')"
    key "$(mn '_Known agents')"
    key Return
    "$PY" "$top_srcdir/tests/test-gui-e2e.py" "$APP_PID" --find "$(t 'Edit %s' | sed "s/%s/$name/")" ||
      fail "[$UI_LANG] no reconnect with the client certificate alone"
    shot 9c-enrolled
    ctl --json client list | python3 -c '
import json, sys
rows = [r for r in json.load(sys.stdin) if r["name"] == "gui-device" and r["state"] == "active"]
assert len(rows) == 1 and rows[0]["lastUsed"], rows' || fail "[$UI_LANG] the certificate was not used"
    pass "[$UI_LANG] Enroll this device: key and certificate in the keyring, reconnect with no token"
  fi

  # Delete with confirmation: Ctrl+F, the name, Ctrl+Delete; Cancel is the
  # default, the delete button has a mnemonic.
  key ctrl+f ctrl+a; typetext "$name"; key ctrl+Delete
  focus "$(wait_window "$(t 'Delete credential')")"
  shot 10-delete-confirm
  key "$(mn '_Delete')"
  for _ in $(seq 50); do ctl credential resolve "$name" >/dev/null 2>&1 || break; sleep 0.2; done
  ctl credential resolve "$name" >/dev/null 2>&1 && fail "[$UI_LANG] the confirmed delete did not reach the agent"
  pass "[$UI_LANG] delete asks first, then the agent forgets the credential"
  if [ "$UI_LANG" = en ]; then
    grep '"audit":"credential.delete"' "$AGENT_LOG" | grep "\"target\":\"$name\"" | has '"who":"client:gui-device"' ||
      fail "[$UI_LANG] the delete's audit line does not name client:gui-device"
    pass "[$UI_LANG] the audit line names the device's client certificate"
    # The next language starts as a new user would: a token, no certificate.
    secret-tool clear xdg:schema org.credgate.Manager.Token kind client-certificate
    TOKEN=$(ctl token create gui-e2e-2)
  fi
  focus "$main"

  "$PY" "$top_srcdir/tests/test-gui-e2e.py" "$APP_PID" >"$ART/gui-$UI_LANG-a11y.txt" ||
    fail "[$UI_LANG] accessibility check: $(grep FAIL "$ART/gui-$UI_LANG-a11y.txt")"
  pass "[$UI_LANG] every control in the accessibility tree has a name and a role"

  kill "$APP_PID"; wait "$APP_PID" 2>/dev/null || true; APP_PID=
}

# Debian's python3 has the GObject bindings; a python3 earlier in PATH
# (pyenv, a venv) may not.  Without them the test fails: scripts/setup
# installs python3-gi and gir1.2-atspi-2.0.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
"$PY" -c 'import gi; gi.require_version("Atspi", "2.0")' 2>/dev/null ||
  fail "$PY cannot import gi with Atspi 2.0 (python3-gi, gir1.2-atspi-2.0: scripts/setup installs them)"

CANARY="pw-$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"
run_gui en sql-e2e-en "$CANARY-en"
run_gui nl sql-e2e-nl "$CANARY-nl"
echo "screenshots: $ART/gui-{en,nl}-*.png"
