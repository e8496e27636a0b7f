#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The desktop client opens a real GTK 4 window on a real X server (Xvfb).
set -euo pipefail
: "${top_builddir:?}"
# Under --enable-asan, full stacks on every malloc (Makefile.am) slow GTK
# down for nothing here.
[ -z "${LSAN_OPTIONS:-}" ] || export LSAN_OPTIONS=${LSAN_OPTIONS//fast_unwind_on_malloc=0/fast_unwind_on_malloc=1}
# Xvfb picks a free display itself: other tests run in parallel.
dispfile=$(mktemp)
Xvfb -displayfd 3 -screen 0 1024x768x24 -nolisten tcp 3>"$dispfile" >/dev/null 2>&1 &
xvfb=$!
app=
log=
trap 'kill $app $xvfb 2>/dev/null || true; rm -f "$dispfile" $log' EXIT
for _ in $(seq 100); do [ -s "$dispfile" ] && break; sleep 0.05; done
disp=":$(head -1 "$dispfile")"
for _ in $(seq 50); do xdpyinfo -display "$disp" >/dev/null 2>&1 && break; sleep 0.1; done

log=$(mktemp)
DISPLAY=$disp GDK_BACKEND=x11 LANGUAGE=en "$top_builddir/credgate-manager" >"$log" 2>&1 &
app=$!
for _ in $(seq 100); do
  if xwininfo -display "$disp" -root -tree 2>/dev/null | grep -q '"credgate Manager"'; then
    echo "ok - credgate-manager maps a window titled 'credgate Manager'"
    exit 0
  fi
  kill -0 $app 2>/dev/null || { echo "FAIL: credgate-manager exited: $(cat "$log")"; exit 1; }
  sleep 0.1
done
echo "FAIL: no credgate-manager window appeared"
exit 1
