#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Loads for the cluster tests and bench rows: real HTTPS requests over
kept-alive connections, each node trusted by its own certificate (as
tests/cluster-lib.sh's api_on does).  The token comes from a file, never
argv.  A node is PORT:CAFILE.  Every line printed is one event; times are
time.time() (the same clock as `date +%s.%N`).

  put NODE --prefix P --count N [--start K] [--rate R] [--stop-on-error]
      PUT P-K … P-(K+N-1) (secret "secret-P-K"), one after another (at R
      per second if given); prints "NAME STATUS VERSION T_SENT T_ACK" per
      request ("NAME ERR - T_SENT T_FAIL" when the connection fails).
  race NODE NODE --names N --writes W --threads T --prefix P
      W PUTs of the names P-0 … P-(N-1), spread over the nodes and T
      threads at once; each has a unique secret "race-I"; prints
      "NAME STATUS VERSION SECRET NODE" per write.
  lag WRITER READER --rate R --seconds S --prefix P
      PUTs to WRITER at R per second; for each acknowledged one, polls
      READER's GET until it answers 200; prints "NAME LAG_MS" (ack on the
      writer to visible on the reader).
  writer NODE --seconds S --prefix P [--until-file F]
      back-to-back PUTs for S seconds (or until F exists); prints
      "STATUS T_SENT T_ACK" per request.
"""
import argparse
import http.client
import json
import os
import ssl
import sys
import threading
import time


# A request that got no whole answer: refused, reset, or cut off mid-answer
# (a SIGKILL between the headers and the body is an IncompleteRead, an
# HTTPException, not an OSError).  Never retried: the write may have landed.
NO_ANSWER = (OSError, http.client.HTTPException)


class Node:
    def __init__(self, spec, token):
        port, cafile = spec.split(":", 1)
        self.port = int(port)
        self.spec = spec
        self.ctx = ssl.create_default_context(cafile=cafile)
        self.token = token
        self.conn = None

    def request(self, method, path, body=None, timeout=30):
        """(status, parsed body); reconnects once on a dropped keep-alive."""
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx,
                                                        timeout=timeout)
            headers = {"Authorization": "Bearer " + self.token}
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                headers["Content-Type"] = "application/json"
            try:
                self.conn.request(method, path, body=data, headers=headers)
                r = self.conn.getresponse()
                raw = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.close()
                try:
                    parsed = json.loads(raw) if raw else None
                except ValueError:
                    parsed = None
                return r.status, parsed
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                if attempt:
                    raise
            except Exception:
                self.close()
                raise

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def put_body(secret):
    return {"type": "mysql", "properties": {"server": "db"}, "secret": secret}


def emit(*fields):
    sys.stdout.write(" ".join(str(f) for f in fields) + "\n")
    sys.stdout.flush()


def version_of(status, body):
    if isinstance(body, dict):
        if "version" in body:
            return body["version"]
        err = body.get("error")
        if isinstance(err, dict) and "version" in err:
            return err["version"]
    return "-"


def cmd_put(a, token):
    node = Node(a.node, token)
    t0 = time.time()
    for i in range(a.start, a.start + a.count):
        if a.rate:
            wait = t0 + (i - a.start) / a.rate - time.time()
            if wait > 0:
                time.sleep(wait)
        name = "%s-%d" % (a.prefix, i)
        sent = time.time()
        try:
            status, body = node.request("PUT", "/v1/credentials/" + name, put_body("secret-" + name))
        except NO_ANSWER as e:
            emit(name, "ERR", "-", "%.6f" % sent, "%.6f" % time.time())
            print("put %s: %s" % (name, e), file=sys.stderr)
            if a.stop_on_error:
                return 0
            time.sleep(0.05)
            continue
        emit(name, status, version_of(status, body), "%.6f" % sent, "%.6f" % time.time())
        if status >= 300 and a.stop_on_error:
            return 0
    return 0


def cmd_race(a, token):
    nodes = a.nodes
    lock = threading.Lock()
    counter = [0]

    def worker(tid):
        conns = {spec: Node(spec, token) for spec in nodes}
        while True:
            with lock:
                i = counter[0]
                if i >= a.writes:
                    return
                counter[0] += 1
            spec = nodes[(i + tid) % len(nodes)]
            name = "%s-%d" % (a.prefix, i % a.names)
            secret = "race-%d" % i
            try:
                status, body = conns[spec].request("PUT", "/v1/credentials/" + name, put_body(secret))
            except NO_ANSWER as e:
                status, body = "ERR", None
                print("race %s: %s" % (name, e), file=sys.stderr)
            with lock:
                emit(name, status, version_of(status, body), secret, spec.split(":")[0])

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(a.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return 0


def cmd_lag(a, token):
    writer = Node(a.nodes[0], token)
    acked = []  # (name, t_ack), appended by the writer thread
    cond = threading.Condition()
    done = [False]

    def write():
        t0 = time.time()
        n = int(a.rate * a.seconds)
        for i in range(n):
            wait = t0 + i / a.rate - time.time()
            if wait > 0:
                time.sleep(wait)
            name = "%s-%d" % (a.prefix, i)
            status, _ = writer.request("PUT", "/v1/credentials/" + name, put_body("lag-%d" % i))
            t = time.time()
            if status in (200, 201):
                with cond:
                    acked.append((name, t))
                    cond.notify()
            else:
                print("lag: PUT %s answered %s" % (name, status), file=sys.stderr)
        with cond:
            done[0] = True
            cond.notify()

    th = threading.Thread(target=write)
    th.start()
    reader = Node(a.nodes[1], token)
    pending = []
    taken = 0
    deadline = None
    while True:
        with cond:
            pending.extend(acked[taken:])
            taken = len(acked)
            if not pending:
                if done[0]:
                    break
                cond.wait(0.5)
                continue
        name, t_ack = pending[0]
        status, _ = reader.request("GET", "/v1/credentials/" + name)
        now = time.time()
        if status == 200:
            emit(name, "%.3f" % ((now - t_ack) * 1000))
            pending.pop(0)
            deadline = None
        else:
            deadline = deadline or now + 30
            if now > deadline:
                print("lag: %s not visible on the reader after 30 s" % name, file=sys.stderr)
                return 1
    th.join()
    return 0


def cmd_writer(a, token):
    node = Node(a.node, token)
    end = time.time() + a.seconds
    i = 0
    while time.time() < end and not (a.until_file and os.path.exists(a.until_file)):
        name = "%s-%d" % (a.prefix, i)
        sent = time.time()
        try:
            status, _ = node.request("PUT", "/v1/credentials/" + name, put_body("w-%d" % i), timeout=10)
        except NO_ANSWER:
            status = "ERR"
            time.sleep(0.01)
        emit(status, "%.6f" % sent, "%.6f" % time.time())
        i += 1
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--token-file", required=True)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("put")
    s.add_argument("node")
    s.add_argument("--prefix", required=True)
    s.add_argument("--count", type=int, required=True)
    s.add_argument("--start", type=int, default=0)
    s.add_argument("--rate", type=float, default=0)
    s.add_argument("--stop-on-error", action="store_true")
    s = sub.add_parser("race")
    s.add_argument("nodes", nargs="+")
    s.add_argument("--prefix", required=True)
    s.add_argument("--names", type=int, default=10)
    s.add_argument("--writes", type=int, default=100)
    s.add_argument("--threads", type=int, default=8)
    s = sub.add_parser("lag")
    s.add_argument("nodes", nargs=2)
    s.add_argument("--prefix", required=True)
    s.add_argument("--rate", type=float, default=100)
    s.add_argument("--seconds", type=float, default=10)
    s = sub.add_parser("writer")
    s.add_argument("node")
    s.add_argument("--prefix", required=True)
    s.add_argument("--seconds", type=float, default=10)
    s.add_argument("--until-file")
    a = p.parse_args()
    with open(a.token_file) as f:
        token = f.read().strip()
    return {"put": cmd_put, "race": cmd_race, "lag": cmd_lag, "writer": cmd_writer}[a.cmd](a, token)


if __name__ == "__main__":
    sys.exit(main())
