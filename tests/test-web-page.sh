#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The browser page in a real headless Chromium (chromedriver + selenium)
# against the real agent and a real keyring: tests/test-web-page.py does the
# clicking; this script starts the agent and hands it what it needs.  The
# browser trusts exactly the pin `credgatectl status` prints
# (--ignore-certificate-errors-spki-list), as a person compares it.
# Screenshots go to $top_builddir/tests/artifacts/.
source "$top_srcdir/tests/lib.sh"
PY=/usr/bin/python3
for tool in chromium chromedriver jose node; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (scripts/setup installs it)"
done
"$PY" -c 'import selenium, jwcrypto' || fail "python3-selenium and python3-jwcrypto are needed (scripts/setup)"

# A small body limit, so the page can meet a 413; few failures before 429.
printf '[agent]\nmax_body=4096\nauth_failures=5\n' >"$WORK/agent.conf"
start_agent --config "$WORK/agent.conf"
PIN=$(ctl status | sed -n 's/^certificate: *//p')
[ -n "$PIN" ] || fail "no pin in credgatectl status"
[ "$PIN" = "$(served_pin)" ] || fail "status pin and served pin differ"
ctl token create web-page >"$WORK/token"
ctl token create web-revoked >"$WORK/token-revoked"
mkdir -p "$top_builddir/tests/artifacts"

export CG_WEB_URL="https://localhost:$PORT/" CG_WEB_PIN=$PIN CG_WEB_WORK=$WORK \
  CG_WEB_CTL="$CTL" CG_WEB_SOCKET="$SOCKET" CG_WEB_AGENT_PID=$AGENT_PID \
  CG_WEB_ENCRYPT="$top_builddir/credgate-encrypt-value" CG_WEB_STATE=$STATE \
  CG_WEB_KEYRING_CTL="$top_builddir/tests/keyring-ctl" \
  CG_WEB_ARTIFACTS="$top_builddir/tests/artifacts" CG_WEB_DATA="$top_srcdir/tests/data"
"$PY" "$top_srcdir/tests/test-web-page.py" || fail "the browser test failed"
# The Python side stopped the agent (the unreachable case).
kill -0 "$AGENT_PID" 2>/dev/null && fail "the agent still runs"
AGENT_PID=
