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


# --- the account index (docs/index.md) --------------------------------------

def index_key(account_id):
    return hashlib.sha256(b"ktlog/v1 account-index-key\n" + account_id.encode()).digest()


def verify_index_proof(root, key, value_hash, proof):
    """Returns True iff `proof` (encoded) proves key -> value_hash (or
    absence when value_hash is None) under root."""
    kind, depth = proof[0], struct.unpack(">H", proof[1:3])[0]
    bitmap = proof[3:3 + (depth + 7) // 8]
    pos = 3 + len(bitmap)
    siblings = []
    for i in range(depth):
        if bitmap[i // 8] & (0x80 >> (i % 8)):
            siblings.append(proof[pos:pos + 32])
            pos += 32
        else:
            siblings.append(bytes(32))
    bit = lambda k, i: (k[i // 8] >> (7 - i % 8)) & 1
    if kind == 1:
        assert value_hash is not None
        h = hashlib.sha256(b"\x10" + key + value_hash).digest()
    elif kind == 2:
        assert value_hash is None
        h = bytes(32)
    else:
        assert kind == 3 and value_hash is None
        other, other_value = proof[pos:pos + 32], proof[pos + 32:pos + 64]
        pos += 64
        assert other != key and all(bit(other, i) == bit(key, i) for i in range(depth))
        h = hashlib.sha256(b"\x10" + other + other_value).digest()
    assert pos == len(proof), "trailing bytes"
    for i in reversed(range(depth)):
        h = hashlib.sha256(b"\x11" + (h + siblings[i] if bit(key, i) == 0
                                       else siblings[i] + h)).digest()
    return h == root


# --- C2SP signed notes and checkpoints ------------------------------------

def key_id(name, typ, pub):
    return hashlib.sha256(name.encode() + b"\n" + bytes([typ]) + pub).digest()[:4]


def open_checkpoint(note, name, pub):
    note = note.decode()  # notes travel as bytes (UTF-8)
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
    assert len(lines) == 5, lines
    m = re.fullmatch("index-root (\\S+)", lines[3])
    index_root = base64.b64decode(m.group(1), validate=True)
    assert len(index_root) == 32
    assert re.fullmatch("timestamp-ms (0|[1-9][0-9]*)", lines[4])
    return int(lines[1]), root, int(lines[4].split()[1]), index_root


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
            checkpoints.append(open_checkpoint(resp.checkpoint.note, origin, pub)[:3])

        size, root, ts, index_root = open_checkpoint(
            stub.GetCheckpoint(ktlog_pb2.GetCheckpointRequest()).note, origin, pub)
        assert size == len(written)

        # Account lookups: membership of each account's state and absence of
        # another, checked with this file's own index code.
        for a in range(3):
            account_id = "user%d@example.com" % a
            look = stub.LookupAccount(ktlog_pb2.LookupAccountRequest(
                account_id=account_id.encode(), tree_size=size))
            value = hashlib.sha256(b"\x12" + look.account_state).digest()
            assert verify_index_proof(index_root, index_key(account_id), value,
                                      look.index_proof), account_id
            assert not verify_index_proof(index_root, index_key(account_id),
                                          hashlib.sha256(b"other").digest(),
                                          look.index_proof)
            assert len(look.devices) == versions[a]
            for d in look.devices:
                assert root_from_inclusion(d.leaf_index, size, leaf_hash(d.record),
                                           list(d.inclusion_proof)) == root
        look = stub.LookupAccount(ktlog_pb2.LookupAccountRequest(
            account_id=b"nobody@example.com", tree_size=size))
        assert not look.account_state
        assert verify_index_proof(index_root, index_key("nobody@example.com"), None,
                                  look.index_proof)

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

        # The empty tree is answerable: tree_size 0 is a size, not "latest".
        look = stub.LookupAccount(ktlog_pb2.LookupAccountRequest(
            account_id=b"user0@example.com", tree_size=0))
        assert look.tree_size == 0 and not look.account_state
        assert not look.HasField("checkpoint")
        latest = stub.LookupAccount(ktlog_pb2.LookupAccountRequest(
            account_id=b"user0@example.com"))
        assert latest.tree_size == size and latest.HasField("checkpoint")

        # Error codes as documented.
        try:
            stub.GetConsistencyProof(ktlog_pb2.GetConsistencyProofRequest(size1=0, size2=size))
            raise AssertionError("size1 = 0 must be rejected")
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.INVALID_ARGUMENT, e.code()
        for bad_id in (b"\xff\xfe", b""):
            try:
                stub.LookupAccount(ktlog_pb2.LookupAccountRequest(account_id=bad_id))
                raise AssertionError("a bad account id must be rejected")
            except grpc.RpcError as e:
                assert e.code() == grpc.StatusCode.INVALID_ARGUMENT, e.code()
                assert e.details(), "the error must say why"
        garbage = channel.unary_unary("/ktlog.v1.Log/LookupAccount",
                                      request_serializer=lambda x: x,
                                      response_deserializer=lambda x: x)
        try:
            garbage(b"\xff\xff\xff")
            raise AssertionError("an undecodable request must be rejected")
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.INVALID_ARGUMENT, e.code()
            assert "ktlog.v1.LookupAccountRequest" in e.details(), e.details()

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
