# SPDX-License-Identifier: LGPL-2.1-or-later
# thread-freeze.py PID NAME READY-FILE: stops the one thread named NAME
# (/proc/PID/task/*/comm) of process PID, or of a process below it, and no
# other: ptrace's PTRACE_SEIZE + PTRACE_INTERRUPT, as a debugger stops a
# thread.  It is caught only while it waits in poll/select/epoll (between
# two of its own steps, holding no lock of the program's: an agent's
# applier waiting on its etcd watch); caught elsewhere it is let go and
# tried again.  Then READY-FILE says "TID SYSCALL", and the thread stays
# stopped until SIGTERM ends this program (detaching it: it goes on as if
# nothing happened).  If this program dies any other way the kernel lets
# the thread go.  Needs ptrace rights over PID (root with CAP_SYS_PTRACE:
# the agent is not dumpable).
import ctypes
import os
import signal
import sys
import time

PTRACE_DETACH, PTRACE_SEIZE, PTRACE_INTERRUPT = 17, 0x4206, 0x4207
WALL = 0x40000000
# x86_64: poll, select, epoll_wait, pselect6, ppoll, epoll_pwait, epoll_pwait2;
# aarch64: pselect6, ppoll, epoll_pwait, epoll_pwait2.
WAITS = {7, 23, 232, 270, 271, 281, 441} if os.uname().machine == "x86_64" else {72, 73, 22, 441}

libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
libc.ptrace.restype = ctypes.c_long


def ptrace(request, tid):
    if libc.ptrace(request, tid, None, None) == -1:
        err = ctypes.get_errno()
        sys.exit("ptrace(%d, %d): %s" % (request, tid, os.strerror(err)))


def processes(pid):
    """PID and every process below it."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        try:
            for t in os.listdir("/proc/%d/task" % p):
                with open("/proc/%d/task/%s/children" % (p, t)) as f:
                    todo += [int(c) for c in f.read().split()]
        except OSError:
            pass
    return found


def find(pid, name):
    for p in processes(pid):
        try:
            for t in os.listdir("/proc/%d/task" % p):
                with open("/proc/%d/task/%s/comm" % (p, t)) as f:
                    if f.read().strip() == name:
                        return p, int(t)
        except OSError:
            pass
    sys.exit("no thread named %s in process %d or below it" % (name, pid))


def main():
    pid, name, ready = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})  # taken by sigwait below
    proc, tid = find(pid, name)
    for _ in range(500):
        ptrace(PTRACE_SEIZE, tid)
        ptrace(PTRACE_INTERRUPT, tid)
        os.waitpid(tid, WALL)
        with open("/proc/%d/task/%d/syscall" % (proc, tid)) as f:
            call = f.read().split()[0]
        if call.lstrip("-").isdigit() and int(call) in WAITS:
            break
        ptrace(PTRACE_DETACH, tid)
        time.sleep(0.01)
    else:
        sys.exit("thread %s (%d) never caught waiting" % (name, tid))
    with open(ready + ".tmp", "w") as f:
        f.write("%d %s\n" % (tid, call))
    os.rename(ready + ".tmp", ready)
    signal.sigwait({signal.SIGTERM})
    ptrace(PTRACE_DETACH, tid)


main()
