#!/usr/bin/python3
"""An independent client for ktlog, written from the specs alone.

It shares no code with ktlog's C++: RFC 9162 proof verification (the
transparency-dev "inner/border" formulation, not the RFC's loop that core/
uses), C2SP signed-note and checkpoint parsing, the ktlog record encoding
and Ed25519 (Python `cryptography`, not OpenSSL-through-core). It starts a
real ktlog-server process with a key file it wrote itself, writes records it
signed itself over real gRPC, and checks that every checkpoint and proof the
server emits verifies. Also checks gRPC health checking and reflection.

usage: independent_check.py SERVER_BINARY PYTHON_STUBS_DIR
"""
import base64
import hashlib
import os
import re
import signal
import struct
import subprocess
import sys
import tempfile
import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey, Ed25519PublicKey)
from cryptography.hazmat.primitives import serialization
from cryptography.exceptions import InvalidSignature

sys.path.insert(0, sys.argv[2])
import grpc  # noqa: E402
import ktlog_pb2  # noqa: E402
import ktlog_pb2_grpc  # noqa: E402


def raw_pub(k):
    return k.public_key().public_bytes(serialization.Encoding.Raw,
                                       serialization.PublicFormat.Raw)


# --- RFC 9162 hashing and proofs (transparency-dev formulation) ----------

def leaf_hash(data):
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(l, r):
    return hashlib.sha256(b"\x01" + l + r).digest()


def inner_proof_size(index, size):
    return (index ^ (size - 1)).bit_length()


def chain_inner(seed, proof, index):
    for i, h in enumerate(proof):
        seed = node_hash(h, seed) if (index >> i) & 1 else node_hash(seed, h)
    return seed


def chain_inner_right(seed, proof, index):
    for i, h in enumerate(proof):
        if (index >> i) & 1:
            seed = node_hash(h, seed)
    return seed


def chain_border_right(seed, proof):
    for h in proof:
        seed = node_hash(h, seed)
    return seed


def root_from_inclusion(index, size, leaf, proof):
    assert 0 <= index < size, "index out of range"
    inner = inner_proof_size(index, size)
    border = bin(index >> inner).count("1")
    assert len(proof) == inner + border, "wrong proof size"
    r = chain_inner(leaf, proof[:inner], index)
    return chain_border_right(r, proof[inner:])


def verify_consistency(size1, size2, proof, root1, root2):
    assert 0 < size1 <= size2
    if size1 == size2:
        assert not proof and root1 == root2
        return
    level = (size1 & -size1).bit_length() - 1  # trailing zeros
    index, size = (size1 - 1) >> level, size2
    inner = inner_proof_size(index, ((size2 - 1) >> level) + 1)
    border = bin(index >> inner).count("1")
    start = 0 if index else 1
    if index == 0:  # size1 is a power of two: the proof omits its root
        seed = root1
    else:
        seed = proof[0]
    rest = proof[1 - start:] if index else proof
    assert len(rest) == inner + border, "wrong consistency proof size"
    mask = index
    h1 = chain_inner_right(seed, rest[:inner], mask)
    h1 = chain_border_right(h1, rest[inner:])
    assert h1 == root1, "old root mismatch"
    h2 = chain_inner(seed, rest[:inner], mask)
    h2 = chain_border_right(h2, rest[inner:])
    assert h2 == root2, "new root mismatch"


# --- C2SP signed notes and checkpoints ------------------------------------

def key_id(name, typ, pub):
    return hashlib.sha256(name.encode() + b"\n" + bytes([typ]) + pub).digest()[:4]


def open_checkpoint(note, name, pub):
    assert note.endswith("\n")
    text, sigs = note.rsplit("\n\n", 1)
    text += "\n"
    kid = key_id(name, 1, pub)
    verified = False
    for line in sigs.rstrip("\n").split("\n"):
        m = re.fullmatch("\u2014 (\\S+) (\\S+)", line)
        assert m, "bad signature line %r" % line
        raw = base64.b64decode(m.group(2), validate=True)
        if m.group(1) == name and raw[:4] == kid:
            Ed25519PublicKey.from_public_bytes(pub).verify(raw[4:], text.encode())
            verified = True
    assert verified, "no signature by the log key"
    lines = text[:-1].split("\n")
    assert lines[0] == name
    assert re.fullmatch("0|[1-9][0-9]*", lines[1])
    root = base64.b64decode(lines[2], validate=True)
    assert len(root) == 32 and base64.b64encode(root).decode() == lines[2]
    assert len(lines) == 4 and re.fullmatch("timestamp-ms (0|[1-9][0-9]*)", lines[3])
    return int(lines[1]), root, int(lines[3].split()[1])


# --- ktlog records ----------------------------------------------------------

def record(op, account, device, key, version, account_key):
    u16 = lambda b: struct.pack(">H", len(b)) + b
    body = bytes([1, op]) + u16(account.encode()) + u16(device.encode()) + \
        u16(key) + struct.pack(">QQ", version, int(time.time() * 1000)) + \
        raw_pub(account_key)
    return body + account_key.sign(b"ktlog/v1 device-record\n" + body)


# --- the check --------------------------------------------------------------

def main():
    server_bin = sys.argv[1]
    work = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
    origin = "interop.example/log"
    seed = os.urandom(32)
    log_key = Ed25519PrivateKey.from_private_bytes(seed)
    pub = raw_pub(log_key)
    skey = "PRIVATE+KEY+%s+%s+%s" % (origin, key_id(origin, 1, pub).hex(),
                                     base64.b64encode(b"\x01" + seed).decode())
    with open(os.path.join(work, "log.key"), "w") as f:
        f.write(skey + "\n")
    proc = subprocess.Popen(
        [server_bin, "--data_dir=" + os.path.join(work, "data"),
         "--key_file=" + os.path.join(work, "log.key"), "--listen=127.0.0.1:0"],
        stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        m = re.search(r"listening on (\S+)", line)
        assert m, "server did not start: %r" % line
        channel = grpc.insecure_channel(m.group(1))
        stub = ktlog_pb2_grpc.LogStub(channel)

        accounts = [Ed25519PrivateKey.generate() for _ in range(3)]
        versions = [0, 0, 0]
        written = []
        checkpoints = []
        for i in range(23):
            a = i % 3
            versions[a] += 1
            rec = record(1, "user%d@example.com" % a, "device%d" % i, os.urandom(32),
                         versions[a], accounts[a])
            resp = stub.AddDevice(ktlog_pb2.WriteRequest(record=rec, wait_for_checkpoint=True))
            assert resp.leaf_index == len(written), resp.leaf_index
            assert resp.leaf_hash == leaf_hash(rec)
            written.append(rec)
            checkpoints.append(open_checkpoint(resp.checkpoint.note, origin, pub))

        size, root, ts = open_checkpoint(
            stub.GetCheckpoint(ktlog_pb2.GetCheckpointRequest()).note, origin, pub)
        assert size == len(written)
        for s, r, t in checkpoints:
            assert t <= ts
            for i in range(s):
                p = stub.GetInclusionProof(ktlog_pb2.GetInclusionProofRequest(
                    leaf_index=i, tree_size=s))
                assert root_from_inclusion(i, s, leaf_hash(written[i]), list(p.hashes)) == r
            c = stub.GetConsistencyProof(ktlog_pb2.GetConsistencyProofRequest(size1=s, size2=size))
            verify_consistency(s, size, list(c.hashes), r, root)
        entries = stub.GetEntries(ktlog_pb2.GetEntriesRequest(begin=0, end=size))
        assert list(entries.records) == written

        # A tampered proof must not verify with the independent code either.
        p = stub.GetInclusionProof(ktlog_pb2.GetInclusionProofRequest(leaf_index=5, tree_size=size))
        bad = list(p.hashes)
        bad[0] = bytes([bad[0][0] ^ 1]) + bad[0][1:]
        assert root_from_inclusion(5, size, leaf_hash(written[5]), bad) != root

        # Error codes as documented.
        try:
            stub.GetConsistencyProof(ktlog_pb2.GetConsistencyProofRequest(size1=0, size2=size))
            raise AssertionError("size1 = 0 must be rejected")
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.INVALID_ARGUMENT, e.code()

        # gRPC health checking and server reflection, spoken as raw bytes.
        health = channel.unary_unary("/grpc.health.v1.Health/Check",
                                     request_serializer=lambda x: x,
                                     response_deserializer=lambda x: x)
        assert health(b"") == b"\x08\x01", "not SERVING"
        reflect = channel.stream_stream(
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
            request_serializer=lambda x: x, response_deserializer=lambda x: x)
        answers = list(reflect(iter([b"\x3a\x00"])))  # list_services: ""
        assert any(b"ktlog.v1.Log" in a for a in answers), answers
        print("independent check: %d records, %d checkpoints, all proofs verified"
              % (len(written), len(checkpoints)))
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, "unclean shutdown"


if __name__ == "__main__":
    main()
