#!/usr/bin/python3
"""Attacks on the public tiles endpoint (issue 29) while a probe reads it.

usage: tiles_attack.py HOST:PORT TILE_PATH

Plays each attack from source address 127.0.0.2 while a well-behaved
reader (127.0.0.1) fetches /checkpoint and TILE_PATH every 200 ms on fresh
connections, each within 3 s. Checks that every probe succeeds during every
attack and that each attack gets the bounded answer docs/tiles.md states.
Exits 0 and prints "tiles attack test passed", or exits 1 saying what
failed.
"""
import socket
import sys
import threading
import time

ATTACKER = "127.0.0.2"
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL:", msg, flush=True)


def connect(addr, source=ATTACKER, timeout=5):
    host, port = addr.rsplit(":", 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.bind((source, 0))
    s.connect((host, int(port)))
    return s


def read_all(s, limit=1 << 20):
    data = b""
    try:
        while len(data) < limit:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except (socket.timeout, ConnectionError):
        pass
    return data


def get(addr, path, source="127.0.0.1", extra=b""):
    """One request on a fresh connection; returns (status, body length)."""
    s = connect(addr, source, timeout=3)
    s.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: tiles\r\n" + extra +
              b"Connection: close\r\n\r\n")
    data = read_all(s, 1 << 24)
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
    return status, len(body)


class Probe(threading.Thread):
    def __init__(self, addr, tile):
        super().__init__(daemon=True)
        self.addr, self.tile = addr, tile
        self.stop = threading.Event()
        self.ok = self.failed = 0

    def run(self):
        while not self.stop.is_set():
            for path in (b"/checkpoint", self.tile):
                try:
                    status, _ = get(self.addr, path)
                except OSError as e:
                    status = str(e)
                if status == 200:
                    self.ok += 1
                else:
                    self.failed += 1
                    fail("probe %s during the attack: %s" % (path, status))
            time.sleep(0.2)


def during(name, addr, tile, attack):
    probe = Probe(addr, tile)
    probe.start()
    try:
        attack()
    finally:
        probe.stop.set()
        probe.join()
    print("%s: %d probes answered, %d failed" % (name, probe.ok, probe.failed),
          flush=True)
    if probe.ok == 0:
        fail("%s: no probe ran" % name)


def slowloris(addr, tile):
    # 300 connections whose headers trickle in, a byte a second.
    conns = []
    for _ in range(300):
        s = connect(addr)
        s.sendall(b"GET /checkpoint HTTP/1.1\r\n")
        conns.append(s)
    for _ in range(7):
        for s in conns:
            try:
                s.sendall(b"X")
            except OSError:
                pass
        time.sleep(1)
    closed = 0
    for s in conns:
        try:
            s.sendall(b"-a: b\r\n")
            s.settimeout(0.5)
            if s.recv(1) in (b"", b"H"):
                closed += 1
        except OSError:
            closed += 1
        s.close()
    # The 5 s header timeout ended every one of them.
    if closed != len(conns):
        fail("slowloris: %d of %d connections still open after 7 s" %
             (len(conns) - closed, len(conns)))


def idle(addr, tile):
    # 300 kept-alive connections that asked once and then wait.
    conns = []
    for _ in range(300):
        s = connect(addr)
        s.sendall(b"GET " + tile + b" HTTP/1.1\r\nHost: tiles\r\n\r\n")
        conns.append(s)
    time.sleep(5)
    for s in conns:
        s.close()


def pipelined(addr, tile):
    # 40 requests in one packet get 40 answers.
    for _ in range(5):
        s = connect(addr)
        req = b"GET /checkpoint HTTP/1.1\r\nHost: tiles\r\n\r\n" * 39 + \
            b"GET /checkpoint HTTP/1.1\r\nHost: tiles\r\nConnection: close\r\n\r\n"
        s.sendall(req)
        data = read_all(s)
        s.close()
        n = data.count(b"HTTP/1.1 200")
        if n != 40:
            fail("pipelined: %d answers to 40 requests" % n)
        time.sleep(0.5)


def huge_headers(addr, tile):
    # A 16 MB header line and a 16 MB URL: answered 4xx before the first MB
    # is sent (what follows is read and thrown away, never buffered).
    for prefix in (b"GET /checkpoint HTTP/1.1\r\nX-Big: ", b"GET /"):
        s = connect(addr)
        s.sendall(prefix)
        sent, answer, answered_at = 0, b"", None
        try:
            while sent < 16 << 20:
                s.sendall(b"a" * 65536)
                sent += 65536
                if answered_at is None:
                    try:
                        answer = s.recv(4096, socket.MSG_DONTWAIT)
                        answered_at = sent
                    except BlockingIOError:
                        pass
        except OSError:
            pass
        if answered_at is None:
            answer = read_all(s)
            answered_at = sent
        s.close()
        status = answer.split(b" ", 2)[1] if answer.startswith(b"HTTP/") else b""
        if not status.startswith(b"4"):
            fail("huge header: answer %r" % answer[:40])
        if answered_at > 1 << 20:
            fail("huge header: answered only after %d bytes" % answered_at)
        time.sleep(0.5)
    s = connect(addr)
    try:
        s.sendall(b"GET /checkpoint HTTP/1.1\r\nHost: tiles\r\n" +
                  b"X-A: b\r\n" * 100000 + b"\r\n")
    except OSError:
        pass
    answer = read_all(s)
    s.close()
    if answer.startswith(b"HTTP/1.1 200"):
        fail("10^5 headers answered 200")


def ranges(addr, tile):
    # 2,700 overlapping ranges in 8 KB: the tile once (8 KB), not 2,700
    # times.
    spec = b",".join(b"0-" for _ in range(2700))
    for _ in range(6):
        status, length = get(addr, tile, ATTACKER,
                             b"Range: bytes=" + spec + b"\r\n")
        if status != 200 or length != 8192:
            fail("ranges: status %d, %d bytes" % (status, length))


def small(addr, tile):
    # Other methods: 405; a percent-encoded path: 400, not the tile.
    s = connect(addr)
    s.sendall(b"POST /checkpoint HTTP/1.1\r\nHost: tiles\r\nContent-Length: "
              b"100000000\r\nConnection: close\r\n\r\n")
    answer = read_all(s)
    s.close()
    if not answer.startswith(b"HTTP/1.1 405"):
        fail("POST: %r" % answer[:40])
    encoded = tile[:-1] + b"%%%02X" % tile[-1]
    status, _ = get(addr, encoded, ATTACKER)
    if status != 400:
        fail("%s: status %d, want 400" % (encoded.decode(), status))


def main():
    addr, tile = sys.argv[1], sys.argv[2].encode()
    for name, attack in [("slowloris", slowloris), ("idle", idle),
                         ("pipelined", pipelined),
                         ("huge headers", huge_headers), ("ranges", ranges),
                         ("methods and encodings", small)]:
        during(name, addr, tile, lambda: attack(addr, tile))
    if failures:
        print("%d failures" % len(failures))
        return 1
    print("tiles attack test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
