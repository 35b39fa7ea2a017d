#!/usr/bin/python3
"""A hostile gRPC client for tests/hostile_load_test.cc, in raw HTTP/2.

It speaks just enough HTTP/2 (RFC 9113) and HPACK (literal header fields,
RFC 7541 6.2.2) to send gRPC calls from a chosen source address, and then
misbehaves the way an attacker with one host would:

  unread: open CONNECTIONS connections, advertise huge flow-control windows,
          send CALLS GetEntries calls (answers of ~115 KB each on a log of
          1000 leaves) over them, and never read a byte of the answers for
          HOLD seconds.
  burst:  send CALLS valid AddDevice writes (new accounts, signed with
          Ed25519) at once over CONNECTIONS connections, then read and
          discard the answers for HOLD seconds.
  watch:  open CALLS WatchCheckpoints streams over CONNECTIONS connections
          and hold them, never reading, for HOLD seconds.

Connections are spread over SOURCES source addresses, 127.0.0.2 upwards.

Prints one line, "sent N calls on C connections", once everything is sent.
usage: h2_flood.py MODE --server=HOST:PORT --sources=S --connections=C
                   --calls=N --hold=SECONDS
"""
import argparse
import os
import socket
import struct
import sys
import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def frame(kind, flags, stream, payload):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + \
        struct.pack(">I", stream) + payload


def hpack_literal(name, value):
    # Literal header field without indexing, new name; no Huffman.
    def string(s):
        assert len(s) < 127
        return bytes([len(s)]) + s
    return b"\x00" + string(name) + string(value)


def headers(method_path, authority):
    block = b"".join(hpack_literal(n, v) for n, v in [
        (b":method", b"POST"), (b":scheme", b"http"), (b":path", method_path),
        (b":authority", authority), (b"content-type", b"application/grpc"),
        (b"te", b"trailers")])
    return block


def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def field_varint(number, n):
    return varint(number << 3) + varint(n)


def field_bytes(number, data):
    return varint(number << 3 | 2) + varint(len(data)) + data


def grpc_message(body):
    return b"\x00" + struct.pack(">I", len(body)) + body


def signed_record(account, key):
    pub = key.public_key().public_bytes(serialization.Encoding.Raw,
                                        serialization.PublicFormat.Raw)
    device = b"phone"
    device_key = os.urandom(32)
    unsigned = bytes([1, 1]) + struct.pack(">H", len(account)) + account + \
        struct.pack(">H", len(device)) + device + \
        struct.pack(">H", len(device_key)) + device_key + \
        struct.pack(">Q", 1) + struct.pack(">Q", int(time.time() * 1000)) + pub
    return unsigned + key.sign(b"ktlog/v1 device-record\n" + unsigned)


def connect(server, source):
    host, port = server.rsplit(":", 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((source, 0))
    s.connect((host, int(port)))
    # SETTINGS: no push, the largest initial window; then the connection
    # window as large as it goes; and an ACK of the server's SETTINGS sent
    # blind (the answers are never read).
    settings = struct.pack(">HI", 0x2, 0) + struct.pack(">HI", 0x4, 0x7FFFFFFF)
    s.sendall(PREFACE + frame(0x4, 0, 0, settings) +
              frame(0x8, 0, 0, struct.pack(">I", 0x7FFFFFFF - 65535)) +
              frame(0x4, 0x1, 0, b""))
    return s


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["unread", "burst", "watch"])
    p.add_argument("--server", required=True)
    p.add_argument("--sources", type=int, default=1)
    p.add_argument("--connections", type=int, default=8)
    p.add_argument("--calls", type=int, default=5000)
    p.add_argument("--hold", type=float, default=5)
    a = p.parse_args()
    conns = [connect(a.server, "127.0.0.%d" % (2 + c % a.sources))
             for c in range(a.connections)]
    authority = a.server.encode()
    streams = [1] * len(conns)
    pending = [b""] * len(conns)
    for i in range(a.calls):
        c = i % len(conns)
        if a.mode == "unread":
            path = b"/ktlog.v1.Log/GetEntries"
            body = field_varint(1, 0) + field_varint(2, 1000)
        elif a.mode == "watch":
            path = b"/ktlog.v1.Log/WatchCheckpoints"
            body = b""
        else:
            path = b"/ktlog.v1.Log/AddDevice"
            account = b"burst-%d-%d@example.com" % (os.getpid(), i)
            body = field_bytes(1, signed_record(account,
                                                 Ed25519PrivateKey.generate()))
        sid = streams[c]
        streams[c] += 2
        pending[c] += frame(0x1, 0x4, sid, headers(path, authority)) + \
            frame(0x0, 0x1, sid, grpc_message(body))
    for c, s in enumerate(conns):
        s.sendall(pending[c])
    print("sent %d calls on %d connections" % (a.calls, len(conns)), flush=True)
    end = time.time() + a.hold
    while time.time() < end:
        if a.mode == "burst":
            for s in conns:
                s.setblocking(False)
                try:
                    while s.recv(1 << 16):
                        pass
                except (BlockingIOError, ConnectionError):
                    pass
        time.sleep(0.05)
    for s in conns:
        s.close()


if __name__ == "__main__":
    sys.exit(main())
