#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The no-echo prompt (cmdline/cg-prompt.c), in both command-line tools: on
# a terminal (a pty here) echo is off while it waits, and a Ctrl-C
# (SIGINT), a kill (SIGTERM) or a hang-up (SIGHUP) at the prompt gives the
# terminal its echo back ('stty -a' on the pty) before the signal ends the
# program as it would have.  Nothing reaches an agent: credgate-encrypt-value
# works offline (--key), credgatectl asks before it connects.
set -euo pipefail
: "${top_builddir:?run through make check}"
: "${top_srcdir:?}"
fail () { echo "FAIL: $*" >&2; exit 1; }
WORK=$(mktemp -d "${CG_TEST_WORK:-/tmp}/prompt.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
EV="$top_builddir/credgate-encrypt-value"
CTL="$top_builddir/credgatectl"
KEY="$top_srcdir/tests/data/jwe/key.jwk"

cat >"$WORK/pty.py" <<'PY'
# pty.py SIGNAL PROMPT SOCKET -- ARGV…: run ARGV on a new pty as its
# controlling terminal, wait for PROMPT, check echo is off, send SIGNAL,
# check the program died of it and echo is back.  SOCKET: a Unix socket
# to listen on (credgatectl checks its owner before prompting), or "-".
import fcntl, os, signal, socket, subprocess, sys, termios, time
signame, prompt, sockpath = sys.argv[1:4]
argv = sys.argv[5:]
sig = getattr(signal, signame)
if sockpath != "-":
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(sockpath)
    srv.listen(1)
master, slave = os.openpty()
ttyname = os.ttyname(slave)
if "-echo" in subprocess.run(["stty", "-a", "-F", ttyname], capture_output=True, text=True,
                             check=True).stdout.split():
    sys.exit("the pty starts without echo")
pid = os.fork()
if pid == 0:
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    os.close(master)
    os.execv(argv[0], argv)

def stty():
    return subprocess.run(["stty", "-a", "-F", ttyname], capture_output=True, text=True,
                          check=True).stdout.split()

def echo_on():
    words = stty()
    if "echo" in words:
        return True
    if "-echo" in words:
        return False
    sys.exit("stty -a shows neither echo nor -echo: %s" % words)

seen = b""
deadline = time.time() + 20
while prompt.encode() not in seen:
    if time.time() > deadline:
        sys.exit("no prompt %r; the terminal showed %r" % (prompt, seen))
    try:
        seen += os.read(master, 1024)
    except OSError as e:
        sys.exit("the program ended before its prompt (%s): %r" % (e, seen))
time.sleep(0.2)
if echo_on():
    sys.exit("echo is still on at the prompt")
os.kill(pid, sig)
_, status = os.waitpid(pid, 0)
if not os.WIFSIGNALED(status) or os.WTERMSIG(status) != sig:
    sys.exit("%s at the prompt: the program did not die of it (status %#x)" % (signame, status))
if not echo_on():
    sys.exit("%s at the prompt left the terminal without echo: %s" % (signame, " ".join(stty())))
print("ok - %s: %s at the prompt %r, echo is back" % (os.path.basename(argv[0]), signame, prompt))
PY

n=0
for sig in SIGINT SIGTERM SIGHUP; do
  python3 "$WORK/pty.py" "$sig" "Value to encrypt: " - -- "$EV" --key "$KEY" ||
    fail "credgate-encrypt-value, $sig at the prompt"
  sock="$WORK/admin-$sig.sock"
  python3 "$WORK/pty.py" "$sig" "Backup passphrase: " "$sock" -- \
    "$CTL" --socket "$sock" backup --output "$WORK/never.cgb" ||
    fail "credgatectl backup, $sig at the prompt"
  [ ! -e "$WORK/never.cgb" ] || fail "a backup was written after $sig"
  n=$((n + 2))
done
[ "$n" = 6 ] || fail "only $n cases ran"
echo "ok - $n cases: both tools give the terminal its echo back on a signal at the prompt"
