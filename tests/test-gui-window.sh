#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The desktop client opens a real GTK 4 window on a real X server (Xvfb).
set -euo pipefail
: "${top_builddir:?}"
. "$top_srcdir/tests/xvfb.sh"
dir=$(mktemp -d)
XVFB_PID=
app=
trap 'kill $app $XVFB_PID 2>/dev/null || true; rm -rf "$dir"' EXIT
start_xvfb "$dir"

log=$dir/app.log
LANGUAGE=en "$top_builddir/credgate-manager" >"$log" 2>&1 &
app=$!
for _ in $(seq 100); do
  if xwininfo -root -tree 2>/dev/null | grep '"credgate Manager"' >/dev/null; then
    echo "ok - credgate-manager maps a window titled 'credgate Manager'"
    exit 0
  fi
  kill -0 $app 2>/dev/null || { echo "FAIL: credgate-manager exited: $(cat "$log") $(xvfb_state)"; exit 1; }
  sleep 0.1
done
echo "FAIL: no credgate-manager window appeared $(xvfb_state)"
exit 1
