# SPDX-License-Identifier: LGPL-2.1-or-later
# start_xvfb DIR: a private X server for one GUI test; sets and exports
# DISPLAY, sets XVFB_PID (the caller's EXIT trap kills it) and keeps the
# server's own log in DIR/xvfb.log for xvfb_state.
#
# - -displayfd: Xvfb picks a free display itself; other tests run in parallel.
# - -noreset: by default the server resets whenever its last client leaves,
#   which in these tests is between two windows of the same test; a reset
#   that goes wrong left the next window with "cannot open display" (seen
#   once under distcheck).  Nothing here needs a reset.
# - Under --enable-asan (LSAN_OPTIONS set): GTK's GL is switched off.  GTK
#   probes GLX by loading Mesa's swrast_dri.so and unloads it again, so what
#   Mesa leaked belongs to no module by exit and no suppression in
#   tests/lsan.supp can name it (seen in CI: "128 byte(s) leaked …
#   <unknown module>").  The cairo renderer it falls back to is GTK's own.
#   Full stacks on every malloc (Makefile.am) only slow GTK down here.
start_xvfb () {
  local dir=$1
  XVFB_LOG=$dir/xvfb.log
  Xvfb -displayfd 3 -noreset -screen 0 1024x768x24 -nolisten tcp \
    3>"$dir/xvfb.display" >"$XVFB_LOG" 2>&1 &
  XVFB_PID=$!
  # Up to 30 s: under distcheck or ASan on a loaded 2-core machine a start
  # has taken over 5 s.  An Xvfb that exits ends the wait at once.
  for _ in $(seq 600); do
    [ -s "$dir/xvfb.display" ] && break
    kill -0 "$XVFB_PID" 2>/dev/null || break
    sleep 0.05
  done
  if ! [ -s "$dir/xvfb.display" ]; then
    echo "FAIL: Xvfb did not start: $(tail -n 5 "$XVFB_LOG")" >&2
    exit 1
  fi
  DISPLAY=":$(head -1 "$dir/xvfb.display")"
  export DISPLAY GDK_BACKEND=x11
  for _ in $(seq 300); do xdpyinfo >/dev/null 2>&1 && break; sleep 0.1; done
  if [ -n "${LSAN_OPTIONS:-}" ]; then
    export GDK_DEBUG=gl-disable
    export LSAN_OPTIONS=${LSAN_OPTIONS//fast_unwind_on_malloc=0/fast_unwind_on_malloc=1}
  fi
}

# xvfb_state: one line for a failure message, saying whether the X server
# is still there and, if not, what it said last.
xvfb_state () {
  if kill -0 "$XVFB_PID" 2>/dev/null; then
    echo "(Xvfb on $DISPLAY is running)"
  else
    echo "(Xvfb on $DISPLAY is gone: $(tail -n 5 "$XVFB_LOG" | tr '\n' ' '))"
  fi
}
