#!/usr/bin/python3
"""An independent client for ktlog, written from the specs alone.

It shares no code with ktlog's C++: RFC 9162 proof verification (the
transparency-dev "inner/border" formulation, not the RFC's loop that core/
uses), C2SP signed-note and checkpoint parsing, the ktlog record, account
state, commitment and leaf encodings, the account rules (replayed here from
docs/protocol.md), the account index (docs/index.md), Ed25519 (Python
`cryptography`, not OpenSSL-through-core) and the VRF (tools/vectors/ecvrf.py,
a pure-Python RFC 9381 implementation). It starts a real ktlog-server process
with a log key file it wrote itself, writes records it signed itself over
real gRPC, and checks that everything the server emits verifies, that the
private data it reveals to someone who names an account is exactly what the
records imply, and that the public read API reveals no account id, device id
or key. Histories are asked for as the account's owner: each request
carries an owner proof (docs/formats.md, "Owner access": an access key of
this client's own, granted by an account key, signing the request), and the
gate's refusals (no proof, a stranger, an absent account, replays, stale
clocks, mismatched signatures, malformed proofs) are checked code by code.
Also checks error codes, gRPC health checking and reflection.

usage: independent_check.py SERVER_BINARY PYTHON_STUBS_DIR [ECVRF_DIR]

ECVRF_DIR holds ecvrf.py; by default tools/vectors next to this file's
checkout (../../tools/vectors from this file).
"""
import base64
import hashlib
import hmac
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey, Ed25519PublicKey)
from cryptography.hazmat.primitives import serialization

sys.path.insert(0, sys.argv[2])
sys.path.insert(0, sys.argv[3] if len(sys.argv) > 3 else os.path.join(
    os.path.dirname(os.path.realpath(__file__)), "..", "..", "tools", "vectors"))
import grpc  # noqa: E402
import ktlog_pb2  # noqa: E402
import ktlog_pb2_grpc  # noqa: E402
import ecvrf  # noqa: E402


def raw_pub(k):
    return k.public_key().public_bytes(serialization.Encoding.Raw,
                                       serialization.PublicFormat.Raw)


def sha256(data):
    return hashlib.sha256(data).digest()


def u16(b):
    assert len(b) < 1 << 16
    return struct.pack(">H", len(b)) + b


class Reader:
    """Strict big-endian reader: every read must be in bounds."""

    def __init__(self, data):
        self.data, self.pos = bytes(data), 0

    def take(self, n):
        assert self.pos + n <= len(self.data), "length runs past the end"
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def u8(self):
        return self.take(1)[0]

    def u16(self):
        return struct.unpack(">H", self.take(2))[0]

    def u64(self):
        return struct.unpack(">Q", self.take(8))[0]

    def var16(self):
        return self.take(self.u16())

    def end(self):
        assert self.pos == len(self.data), "trailing bytes"


# --- RFC 9162 hashing and proofs (transparency-dev formulation) ----------

def leaf_hash(data):
    return sha256(b"\x00" + data)


def node_hash(l, r):
    return sha256(b"\x01" + l + r)


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
    assert all(len(h) == 32 for h in proof), "proof hash not 32 bytes"
    inner = inner_proof_size(index, size)
    border = bin(index >> inner).count("1")
    assert len(proof) == inner + border, "wrong proof size"
    r = chain_inner(leaf, proof[:inner], index)
    return chain_border_right(r, proof[inner:])


def verify_consistency(size1, size2, proof, root1, root2):
    assert 0 < size1 <= size2
    assert all(len(h) == 32 for h in proof), "proof hash not 32 bytes"
    if size1 == size2:
        assert not proof and root1 == root2
        return
    level = (size1 & -size1).bit_length() - 1  # trailing zeros
    index = (size1 - 1) >> level
    inner = inner_proof_size(index, ((size2 - 1) >> level) + 1)
    border = bin(index >> inner).count("1")
    if index == 0:  # size1 is a power of two: the proof omits its root
        seed, rest = root1, proof
    else:
        assert proof, "empty consistency proof"
        seed, rest = proof[0], proof[1:]
    assert len(rest) == inner + border, "wrong consistency proof size"
    h1 = chain_inner_right(seed, rest[:inner], index)
    h1 = chain_border_right(h1, rest[inner:])
    assert h1 == root1, "old root mismatch"
    h2 = chain_inner(seed, rest[:inner], index)
    h2 = chain_border_right(h2, rest[inner:])
    assert h2 == root2, "new root mismatch"


def merkle_root(leaf_hashes):
    """RFC 9162 MTH, straight from the definition (split at the largest
    power of two below n)."""
    n = len(leaf_hashes)
    if n == 0:
        return sha256(b"")
    if n == 1:
        return leaf_hashes[0]
    k = 1 << ((n - 1).bit_length() - 1)
    return node_hash(merkle_root(leaf_hashes[:k]), merkle_root(leaf_hashes[k:]))


# --- the account index (docs/index.md) --------------------------------------

EMPTY = bytes(32)


def key_bit(k, i):
    return (k[i // 8] >> (7 - i % 8)) & 1


def index_value_hash(version, state_commitment):
    return sha256(b"\x12" + struct.pack(">Q", version) + state_commitment)


def index_leaf(key, value_hash):
    return sha256(b"\x10" + key + value_hash)


def index_root(values):
    """The root of the sparse Merkle tree holding values (position -> value
    hash), computed from the definition: empty / lone leaf / internal."""
    def subtree(keys, depth):
        if not keys:
            return EMPTY
        if len(keys) == 1:
            return index_leaf(keys[0], values[keys[0]])
        left = [k for k in keys if key_bit(k, depth) == 0]
        right = [k for k in keys if key_bit(k, depth) == 1]
        return sha256(b"\x11" + subtree(left, depth + 1) + subtree(right, depth + 1))
    return subtree(sorted(values), 0)


def index_proof_root(key, value_hash, proof):
    """Decodes an encoded index proof strictly and folds it up; returns the
    root it leads to. value_hash None means the proof must be of absence."""
    r = Reader(proof)
    kind, depth = r.u8(), r.u16()
    assert kind in (1, 2, 3), "unknown proof kind %d" % kind
    assert depth <= 256, "depth above 256"
    bitmap = r.take((depth + 7) // 8)
    for i in range(depth, len(bitmap) * 8):
        assert not bitmap[i // 8] & (0x80 >> (i % 8)), "stray bitmap bit"
    siblings = []
    for i in range(depth):
        if bitmap[i // 8] & (0x80 >> (i % 8)):
            s = r.take(32)
            assert s != EMPTY, "present sibling is the empty hash"
            siblings.append(s)
        else:
            siblings.append(EMPTY)
    if kind == 1:
        assert value_hash is not None, "membership proof for an absent account"
        h = index_leaf(key, value_hash)
    elif kind == 2:
        assert value_hash is None, "absence proof for a present account"
        h = EMPTY
    else:
        assert value_hash is None, "absence proof for a present account"
        other, other_value = r.take(32), r.take(32)
        assert other != key, "the other leaf is the key's own"
        assert all(key_bit(other, i) == key_bit(key, i) for i in range(depth)), \
            "the other leaf is not on the key's path"
        h = index_leaf(other, other_value)
    r.end()
    for i in reversed(range(depth)):
        h = sha256(b"\x11" + (h + siblings[i] if key_bit(key, i) == 0
                              else siblings[i] + h))
    return h


def index_proof_verifies(root, key, value_hash, proof):
    try:
        return index_proof_root(key, value_hash, proof) == root
    except AssertionError:
        return False


# --- C2SP signed notes, checkpoints and keys ---------------------------------

def key_id(name, typ, pub):
    return sha256(name.encode() + b"\n" + bytes([typ]) + pub)[:4]


def verifier_key(name, pub):
    return "%s+%s+%s" % (name, key_id(name, 1, pub).hex(),
                         base64.b64encode(b"\x01" + pub).decode())


def b64_32(text):
    raw = base64.b64decode(text, validate=True)
    assert len(raw) == 32 and base64.b64encode(raw).decode() == text, \
        "not canonical base64 of 32 bytes: %r" % text
    return raw


DECIMAL = "0|[1-9][0-9]*"


def open_checkpoint(note, name, pub):
    """Returns dict(size, root, index_root, ts, note) of a checkpoint note
    signed by (name, pub), parsed strictly (docs/formats.md, Checkpoint)."""
    assert len(note) <= 65536
    text_all = note.decode("utf-8")  # notes travel as bytes (UTF-8)
    assert text_all.endswith("\n")
    text, sigs = text_all.split("\n\n", 1)
    text += "\n"
    assert not any(c < " " and c != "\n" or c == "\x7f" for c in text_all)
    kid = key_id(name, 1, pub)
    verified = False
    sig_lines = sigs[:-1].split("\n")
    assert 1 <= len(sig_lines) <= 64
    for line in sig_lines:
        m = re.fullmatch("\u2014 ([^ ]+) ([A-Za-z0-9+/=]+)", line)
        assert m, "bad signature line %r" % line
        raw = base64.b64decode(m.group(2), validate=True)
        if m.group(1) == name and raw[:4] == kid:
            assert len(raw) == 68
            Ed25519PublicKey.from_public_bytes(pub).verify(raw[4:], text.encode())
            verified = True
    assert verified, "no signature by the log key"
    lines = text[:-1].split("\n")
    assert len(lines) == 5, lines
    assert lines[0] == name
    assert re.fullmatch(DECIMAL, lines[1]) and int(lines[1]) < 1 << 64
    m = re.fullmatch("index-root ([^ ]+)", lines[3])
    assert m, lines[3]
    t = re.fullmatch("timestamp-ms (%s)" % DECIMAL, lines[4])
    assert t, lines[4]
    return dict(size=int(lines[1]), root=b64_32(lines[2]),
                index_root=b64_32(m.group(1)), ts=int(t.group(1)), note=bytes(note))


# --- VRF (RFC 9381 via tools/vectors/ecvrf.py) -------------------------------

def vrf_alpha(account_id):
    return b"ktlog/v1 account\n" + account_id


def vrf_position(vrf_pub, account_id, proof):
    """Verifies the VRF proof and returns the position (beta[:32])."""
    assert len(proof) == 80, "VRF proof of %d bytes" % len(proof)
    beta = ecvrf.verify(vrf_pub, vrf_alpha(account_id), proof)
    assert beta is not None, "VRF proof does not verify for %r" % account_id
    return ecvrf.vrf_output32(beta)


# --- records, account states, commitments and leaves (docs/formats.md) -------

ADD, REMOVE, ROTATE = 1, 2, 3
RECORD_PREFIX = b"ktlog/v1 device-record\n"
COMMITMENT_KEY = bytes.fromhex("d821f8790d97709796b4d7903357c3f5")


def valid_text_id(b, max_len):
    assert 1 <= len(b) <= max_len, "id of %d bytes" % len(b)
    s = b.decode("utf-8")
    assert not any(ord(c) < 0x20 or ord(c) == 0x7f for c in s), "control character"


def make_record(op, account_id, device_id, key, version, account_key, ts=None):
    body = bytes([1, op]) + u16(account_id) + u16(device_id) + u16(key) + \
        struct.pack(">QQ", version, int(time.time() * 1000) if ts is None else ts) + \
        raw_pub(account_key)
    return body + account_key.sign(RECORD_PREFIX + body)


def decode_record(data):
    """Parses a record strictly and checks its signature."""
    r = Reader(data)
    assert r.u8() == 1, "record format"
    op = r.u8()
    assert op in (ADD, REMOVE, ROTATE), "operation %d" % op
    account_id, device_id, key = r.var16(), r.var16(), r.var16()
    version, ts = r.u64(), r.u64()
    account_key = r.take(32)
    sig = r.take(64)
    r.end()
    valid_text_id(account_id, 256)
    if op == ROTATE:
        assert device_id == b"" and len(key) == 32
    else:
        valid_text_id(device_id, 64)
        assert 1 <= len(key) <= 128
    assert len(data) <= 568
    Ed25519PublicKey.from_public_bytes(account_key).verify(
        sig, RECORD_PREFIX + data[:-64])
    return dict(op=op, account_id=account_id, device_id=device_id, key=key,
                version=version, ts=ts, account_key=account_key, bytes=bytes(data))


def commitment(opening, kind, account_id, version, value):
    assert len(opening) == 16, "opening of %d bytes" % len(opening)
    return hmac.new(COMMITMENT_KEY, opening + bytes([kind]) + u16(account_id) +
                    struct.pack(">QI", version, len(value)) + value,
                    hashlib.sha256).digest()


def decode_leaf(data):
    assert len(data) == 113, "leaf of %d bytes" % len(data)
    r = Reader(data)
    assert r.u8() == 2, "leaf format"
    leaf = dict(position=r.take(32), version=r.u64(), ts=r.u64(),
                record_commitment=r.take(32), state_commitment=r.take(32))
    r.end()
    return leaf


def encode_state(account_id, first_key, account_key, version, devices, chain):
    """Account state, format 3. devices: [(device_id, leaf_index, record
    bytes)], chain: [(leaf_index, record bytes)]."""
    out = b"\x03" + u16(account_id) + first_key + account_key + \
        struct.pack(">QH", version, len(devices))
    for _, leaf_index, rec in sorted(devices):
        out += struct.pack(">Q", leaf_index) + u16(rec)
    out += struct.pack(">H", len(chain))
    for leaf_index, rec in chain:
        out += struct.pack(">Q", leaf_index) + u16(rec)
    return out


def decode_state(data):
    """Account state, format 3 (docs/formats.md), strictly."""
    r = Reader(data)
    assert r.u8() == 3, "state format"
    st = dict(account_id=r.var16(), first_key=r.take(32), account_key=r.take(32),
              version=r.u64())
    n = r.u16()
    assert n <= 100
    st["devices"] = [(r.u64(), decode_record(r.var16())) for _ in range(n)]
    n = r.u16()
    assert n <= 100
    st["chain"] = [(r.u64(), decode_record(r.var16())) for _ in range(n)]
    r.end()
    return st


def check_state_as_contact(data, account_id, first_key):
    """What a contact checks in a looked-up state (docs/formats.md, Account
    state, format 3; docs/index.md, Lookups and histories): the state's first
    key is first_key (the signer of the account's first record, from the
    first-record anchor); the key chain starts from it, each rotation signed
    by the key the one before set, and ends at the current account key; every
    device authorised by the key in force at its version."""
    st = decode_state(data)
    assert st["account_id"] == account_id
    assert st["first_key"] == first_key, "the first key is not the first record's signer"
    ids = [rec["device_id"] for _, rec in st["devices"]]
    assert ids == sorted(ids) and len(set(ids)) == len(ids), "devices not sorted/unique"
    for _, rec in st["devices"]:
        assert rec["op"] == ADD and rec["account_id"] == account_id
        assert rec["version"] <= st["version"]
    chain = [rec for _, rec in st["chain"]]
    key, previous = st["first_key"], 0
    for rec in chain:  # decode_record verified each signature by rec["account_key"]
        assert rec["op"] == ROTATE and rec["account_id"] == account_id
        assert previous < rec["version"] <= st["version"], "chain not oldest first"
        assert rec["account_key"] == key, "broken key chain"
        key, previous = rec["key"], rec["version"]
    # With no rotation the account key is the first key.
    assert key == st["account_key"], "chain ends at another key"

    def key_at(version):
        """The key set by the last rotation below version, else the first key."""
        k = st["first_key"]
        for rec in chain:
            if rec["version"] < version:
                k = rec["key"]
        return k
    for _, rec in st["devices"]:
        # decode_record verified the signature by rec["account_key"].
        assert rec["account_key"] == key_at(rec["version"]), \
            "device %r not signed by the key in force" % rec["device_id"]
    return st


def check_first_record(anchor, account_id, position, size, root):
    """The first-record anchor of a lookup (AccountLookup.first_record,
    docs/index.md "Lookups and histories"): the account's version-1 leaf is
    in the tree of size (root), at the account's position, with version 1;
    its record commitment opens to the record, a signed add-device of this
    account with version 1; no state opening. anchor has the HistoryEntry
    fields. Returns the key that signed that record: the state's first key."""
    proof = [bytes(h) for h in anchor.inclusion_proof]
    assert root_from_inclusion(anchor.leaf_index, size, leaf_hash(anchor.leaf),
                               proof) == root, "first record not in the tree"
    leaf = decode_leaf(anchor.leaf)
    assert leaf["position"] == position, "first record of another position"
    assert leaf["version"] == 1, "first record with version %d" % leaf["version"]
    assert commitment(anchor.record_opening, 1, account_id, 1, anchor.record) == \
        leaf["record_commitment"], "first record does not open the leaf's commitment"
    assert not anchor.state_opening, "first record with a state opening"
    rec = decode_record(anchor.record)  # strict, and verifies the signature
    assert rec["op"] == ADD and rec["account_id"] == account_id and rec["version"] == 1, \
        "first record is not the account's version-1 add-device"
    return rec["account_key"]


class Account:
    """The account rules (docs/protocol.md), replayed independently."""

    def __init__(self, account_id):
        self.account_id = account_id
        self.first_key = None  # the key that signed the version-1 record
        self.key = None
        self.version = 0
        self.devices = {}    # device id -> (leaf index, decoded record)
        self.rotations = []  # (leaf index, decoded record), all of them

    def apply(self, rec, leaf_index):
        assert rec["account_id"] == self.account_id
        if self.version == 0:
            assert rec["op"] == ADD and rec["version"] == 1, "NOT_FOUND"
            self.key = self.first_key = rec["account_key"]
        else:
            assert rec["account_key"] == self.key, "PERMISSION_DENIED"
            assert rec["version"] == self.version + 1, "FAILED_PRECONDITION"
        if rec["op"] == ADD:
            assert rec["device_id"] not in self.devices, "ALREADY_EXISTS"
            assert len(self.devices) < 100
            self.devices[rec["device_id"]] = (leaf_index, rec)
        elif rec["op"] == REMOVE:
            assert rec["device_id"] in self.devices, "NOT_FOUND"
            assert self.devices[rec["device_id"]][1]["key"] == rec["key"]
            del self.devices[rec["device_id"]]
        else:
            # "An account makes at most 100 rotations in its lifetime; a
            # 101st is refused" (docs/formats.md).
            assert len(self.rotations) < 100, "FAILED_PRECONDITION"
            self.rotations.append((leaf_index, rec))
            self.key = rec["key"]
        self.version = rec["version"]

    def chain(self):
        """The key chain: "every rotation the account ever made, oldest
        first; it is never shortened" (docs/formats.md)."""
        return list(self.rotations)

    def state(self):
        return encode_state(
            self.account_id, self.first_key, self.key, self.version,
            [(d, i, rec["bytes"]) for d, (i, rec) in self.devices.items()],
            [(i, rec["bytes"]) for i, rec in self.chain()])


# --- owner access (docs/formats.md, "Owner access") ----------------------------

GRANT_PREFIX = b"ktlog/v1 owner-access\n"
REQUEST_PREFIX = b"ktlog/v1 history-request\n"


def grant_message(origin, account_id, access_key):
    """u16+n origin || u16+n account id || access key (32), after the prefix."""
    return GRANT_PREFIX + u16(origin) + u16(account_id) + access_key


def request_message(origin, account_id, from_version, tree_size, timestamp_ms):
    """tree_size None is unset: has = 0x00 and a zero u64."""
    return REQUEST_PREFIX + u16(origin) + u16(account_id) + struct.pack(
        ">QBQQ", from_version, 0 if tree_size is None else 1, tree_size or 0,
        timestamp_ms)


# The docs' own example: origin "o", account "a", access key 32 x 0x11.
assert grant_message(b"o", b"a", b"\x11" * 32) == \
    GRANT_PREFIX + bytes.fromhex("00016f000161") + b"\x11" * 32
assert request_message(b"o", b"a", 3, 9, 0x0102) == REQUEST_PREFIX + bytes.fromhex(
    "00016f000161" "0000000000000003" "01" "0000000000000009" "0000000000000102")
assert request_message(b"o", b"a", 3, None, 0x0102) == REQUEST_PREFIX + bytes.fromhex(
    "00016f000161" "0000000000000003" "00" "0000000000000000" "0000000000000102")


def expect_error(code, fn, *args, details=None):
    try:
        fn(*args)
    except grpc.RpcError as e:
        assert code is None or e.code() == code, \
            "expected %s, got %s: %s" % (code, e.code(), e.details())
        assert e.details(), "the error must say why"
        if details is not None:
            assert details in e.details(), e.details()
        return e
    raise AssertionError("expected %s, but the call succeeded" % code)


def encodings(secret):
    """The forms in which a secret could leak through the public API."""
    forms = {secret, secret.hex().encode(), secret.hex().upper().encode()}
    for enc in (base64.b64encode, base64.urlsafe_b64encode):
        forms.add(enc(secret))
        forms.add(enc(secret).rstrip(b"="))
    return forms


# --- the check --------------------------------------------------------------

# (account, operation, device) in log order; devices are named, keys random.
PLAN = [
    (0, ADD, "device-0-a"), (1, ADD, "device-1-a"), (2, ADD, "device-2-a"),
    (0, ADD, "device-0-b"), (1, ADD, "device-1-b"), (2, REMOVE, "device-2-a"),
    (0, ADD, "device-0-c"), (1, ROTATE, None), (2, ROTATE, None),  # 2: no device
    (0, REMOVE, "device-0-b"), (1, ADD, "device-1-c"), (2, ADD, "device-2-b"),
    (0, ROTATE, None), (1, ROTATE, None), (2, ADD, "device-2-c"),
    (0, ADD, "device-0-b"),  # re-added under the new account key
    (1, ADD, "device-1-d"), (2, ADD, "device-2-d"),
    # Format 2 trimmed 1's chain here and emptied 0's; format 3 keeps every
    # rotation, so the chain still leads from the first key.
    (1, REMOVE, "device-1-a"), (1, REMOVE, "device-1-b"),
    (0, REMOVE, "device-0-a"), (0, REMOVE, "device-0-c"),
    (0, ROTATE, None), (2, ADD, "device-2-e"), (1, ADD, "device-1-e"),
]
RPC = {ADD: "AddDevice", REMOVE: "RemoveDevice", ROTATE: "RotateAccountKey"}


# docs/formats.md, "Erasure leaf" and "Registration credential".
ERASED = hashlib.sha256(b"ktlog erased account v1\n").digest()


def credential(reg_key, prefix, label, account_id, account_key, expiry):
    mac = hmac.new(reg_key, label + u16(account_id) + account_key +
                   struct.pack(">Q", expiry), hashlib.sha256).hexdigest()
    return "%s.%d.%s" % (prefix, expiry, mac)


def check_erasure(proc, origin, pub, vrf_pub, reg_key, account_id):
    """docs/operations.md, "Erasure": the server, restarted with a
    registration key, erases `account_id` with an erasure credential made
    here from the docs; the erasure leaf, the lookup that proves it and the
    refusals are checked as a client and an auditor would."""
    m = re.fullmatch(r"ktlog-server: listening on (\S+) origin (\S+) tree size (\d+)\n",
                     proc.stdout.readline())
    assert m, "server did not restart"
    proc.stdout.readline()  # the log key
    channel = grpc.insecure_channel(m.group(1))
    stub = ktlog_pb2_grpc.LogStub(channel)
    C = grpc.StatusCode
    look = stub.LookupAccount(ktlog_pb2.LookupAccountRequest(account_id=account_id))
    version = decode_state(look.account_state)["version"]
    position = vrf_position(vrf_pub, account_id, look.vrf_proof)
    expiry = int(time.time()) + 600
    erase = credential(reg_key, "e1", b"ktlog-erase-v1\n", account_id, b"", expiry)
    request = ktlog_pb2.EraseAccountRequest
    expect_error(C.UNAUTHENTICATED, stub.EraseAccount, request(account_id=account_id))
    # A reset credential's MAC under the erasure prefix: another label.
    reset = credential(reg_key, "e1", b"ktlog-reset-v1\n", account_id, b"", expiry)
    expect_error(C.PERMISSION_DENIED, stub.EraseAccount,
                 request(account_id=account_id, erasure_credential=reset))
    other = credential(reg_key, "e1", b"ktlog-erase-v1\n", b"someone@else", b"", expiry)
    expect_error(C.PERMISSION_DENIED, stub.EraseAccount,
                 request(account_id=account_id, erasure_credential=other))
    resp = stub.EraseAccount(request(account_id=account_id, erasure_credential=erase))
    assert resp.version == version + 1, (resp.version, version)
    cp = open_checkpoint(resp.checkpoint.note, origin, pub)
    assert cp["size"] > resp.leaf_index
    leaf = stub.GetEntries(ktlog_pb2.GetEntriesRequest(
        begin=resp.leaf_index, end=resp.leaf_index + 1)).leaves[0]
    dec = decode_leaf(leaf)
    assert dec["position"] == position and dec["version"] == version + 1
    assert dec["record_commitment"] == ERASED and dec["state_commitment"] == ERASED
    assert root_from_inclusion(resp.leaf_index, cp["size"], leaf_hash(leaf), [
        bytes(h) for h in stub.GetInclusionProof(ktlog_pb2.GetInclusionProofRequest(
            leaf_index=resp.leaf_index, tree_size=cp["size"])).hashes]) == cp["root"]
    # The lookup proves the erasure: the erasure leaf in the signed index.
    look = stub.LookupAccount(ktlog_pb2.LookupAccountRequest(
        account_id=account_id, tree_size=cp["size"], with_first_record=True))
    assert look.erased_leaf == leaf
    assert not look.account_state and not look.state_opening
    assert not look.HasField("first_record")
    assert vrf_position(vrf_pub, account_id, look.vrf_proof) == position
    assert index_proof_verifies(cp["index_root"], position,
                                index_value_hash(version + 1, ERASED), look.index_proof)
    # Gone for good: no second erasure, no new account under the id.
    expect_error(C.NOT_FOUND, stub.EraseAccount,
                 request(account_id=account_id, erasure_credential=erase))
    key = Ed25519PrivateKey.generate()
    rec = make_record(ADD, account_id, b"phone", raw_pub(Ed25519PrivateKey.generate()),
                      1, key)
    register = credential(reg_key, "v2", b"ktlog-registration-v2\n", account_id,
                          raw_pub(key), expiry)
    expect_error(C.FAILED_PRECONDITION, stub.AddDevice, ktlog_pb2.WriteRequest(
        record=rec, registration_credential=register), details="erased")
    channel.close()
    return "; erasure leaf, its lookup and the refusals verified"


def start_server(server_bin, work, *flags):
    """ktlog-server on work/data with work/log.key, no rate limits."""
    return subprocess.Popen(
        [server_bin, "--data_dir=" + os.path.join(work, "data"),
         "--key_file=" + os.path.join(work, "log.key"), "--listen=127.0.0.1:0",
         "--lookups_per_minute=0", "--writes_per_minute=0", "--plaintext"] +
        list(flags), stdout=subprocess.PIPE, text=True)


def main():
    server_bin = sys.argv[1]
    work = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
    origin = "interop.example/log"
    seed, vrf_seed = os.urandom(32), os.urandom(32)
    pub = raw_pub(Ed25519PrivateKey.from_private_bytes(seed))
    vrf_pub = raw_pub(Ed25519PrivateKey.from_private_bytes(vrf_seed))
    assert vrf_pub == ecvrf.public_key(vrf_seed)  # RFC 8032 key derivation
    with open(os.path.join(work, "log.key"), "w") as f:
        f.write("PRIVATE+KEY+%s+%s+%s\n" % (origin, key_id(origin, 1, pub).hex(),
                                            base64.b64encode(b"\x01" + seed).decode()))
        f.write("PRIVATE+VRF+%s\n" % base64.b64encode(vrf_seed).decode())
    os.chmod(os.path.join(work, "log.key"), 0o600)
    proc = start_server(server_bin, work)
    try:
        summary = check(proc, origin, pub, vrf_seed, vrf_pub)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    proc.send_signal(signal.SIGTERM)
    rc = proc.wait(timeout=30)
    assert rc == 0, "unclean shutdown: exit %d" % rc
    # Restarted with a registration key, it erases an account.
    reg_key = os.urandom(32)
    with open(os.path.join(work, "registration.key"), "w") as f:
        f.write("PRIVATE+REGISTRATION+%s\n" % base64.b64encode(reg_key).decode())
    os.chmod(os.path.join(work, "registration.key"), 0o600)
    proc = start_server(server_bin, work, "--registration_key=" +
                        os.path.join(work, "registration.key"))
    try:
        summary += check_erasure(proc, origin, pub, vrf_pub, reg_key,
                                 b"user0@interop.example")
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    proc.send_signal(signal.SIGTERM)
    rc = proc.wait(timeout=30)
    assert rc == 0, "unclean shutdown: exit %d" % rc
    if not os.environ.get("TEST_TMPDIR"):
        shutil.rmtree(work)
    print(summary)


def check(proc, origin, pub, vrf_seed, vrf_pub):
    line = proc.stdout.readline()
    m = re.fullmatch(r"ktlog-server: listening on (\S+) origin (\S+) tree size 0\n", line)
    assert m, "server did not start: %r" % line
    assert m.group(2) == origin
    line = proc.stdout.readline()
    expected_log_key = "%s,vrf=%s" % (verifier_key(origin, pub),
                                      base64.b64encode(vrf_pub).decode())
    assert line == "ktlog-server: log key %s\n" % expected_log_key, \
        "log key %r, expected %r" % (line, expected_log_key)
    channel = grpc.insecure_channel(m.group(1))
    stub = ktlog_pb2_grpc.LogStub(channel)
    C = grpc.StatusCode
    public = []  # every serialized answer of the public read API

    def get_checkpoint():
        resp = stub.GetCheckpoint(ktlog_pb2.GetCheckpointRequest())
        public.append(resp.SerializeToString())
        return open_checkpoint(resp.note, origin, pub)

    vrf_cache = {}

    def position_of(account_id, proof):
        """Verifies a VRF proof of the server; it must also be exactly the
        proof our own ECVRF makes with the seed (RFC 9381 is deterministic)."""
        if (account_id, proof) not in vrf_cache:
            assert proof == ecvrf.prove(vrf_seed, vrf_alpha(account_id)), \
                "the server's VRF proof is not the RFC 9381 proof of %r" % account_id
            vrf_cache[account_id, proof] = vrf_position(vrf_pub, account_id, proof)
        return vrf_cache[account_id, proof]

    # What this client knows of the log.
    records, leaf_hashes = [], []   # by leaf index, from our writes
    leaves, decoded = [], []        # by leaf index, from GetEntries
    checkpoints = []                # every distinct checkpoint with size > 0
    replays = {}                    # account id -> Account, replayed from our writes
    owner = []                      # account id by leaf index

    def add_checkpoint(cp):
        if checkpoints:
            last = checkpoints[-1]
            assert cp["size"] >= last["size"], "the tree shrank"
            assert cp["ts"] >= last["ts"], "checkpoint time went back"
            if cp["size"] == last["size"]:  # the same, or a heartbeat
                assert cp["root"] == last["root"] and cp["index_root"] == last["index_root"]
                if cp["ts"] == last["ts"]:
                    assert cp["note"] == last["note"]
                    return last
        checkpoints.append(cp)
        return cp

    def write(op, rec, wait=False):
        resp = getattr(stub, RPC[op])(ktlog_pb2.WriteRequest(record=rec, wait_for_checkpoint=wait))
        assert resp.leaf_index == len(records), (resp.leaf_index, len(records))
        assert len(resp.leaf_hash) == 32
        dec = decode_record(rec)
        replays[dec["account_id"]].apply(dec, resp.leaf_index)
        records.append(rec)
        leaf_hashes.append(bytes(resp.leaf_hash))
        owner.append(dec["account_id"])
        if wait:
            cp = open_checkpoint(resp.checkpoint.note, origin, pub)
            assert cp["size"] == resp.leaf_index + 1, (cp["size"], resp.leaf_index)
            add_checkpoint(cp)
            public.append(resp.checkpoint.SerializeToString())
        else:
            assert not resp.HasField("checkpoint")
        return resp

    def write_error(code, op, rec, details=None):
        size = len(records)
        expect_error(code, getattr(stub, RPC[op]), ktlog_pb2.WriteRequest(record=rec),
                     details=details)
        assert len(records) == size

    names = [b"user%d@interop.example" % a for a in range(3)]
    nobody = b"nobody@interop.example"
    lim = b"limits@interop.example"
    positions = {}

    # --- the empty log ---------------------------------------------------------
    try:
        cp0 = get_checkpoint()
        assert cp0["size"] == 0 and cp0["root"] == sha256(b"") and cp0["index_root"] == EMPTY
    except grpc.RpcError as e:  # documented: UNAVAILABLE before the first
        assert e.code() == C.UNAVAILABLE, e.code()
    for n in names + [nobody, lim]:
        look = stub.LookupAccount(ktlog_pb2.LookupAccountRequest(
            account_id=n, tree_size=0, with_first_record=True))
        assert look.tree_size == 0 and not look.HasField("checkpoint")
        assert not look.account_state and not look.state_opening
        assert not look.HasField("first_record"), "a first record of an absent account"
        positions[n] = position_of(n, look.vrf_proof)
        assert index_proof_verifies(EMPTY, positions[n], None, look.index_proof)
    assert len(set(positions.values())) == len(positions)

    # --- owner access: every history request carries an owner proof -----------
    # account_keys[n]: every account key of n, oldest first. The accounts are
    # never reset, so each of them is an authority "since the latest reset"
    # and may grant (docs/formats.md, "Owner access").
    account_keys = {n: [Ed25519PrivateKey.generate()] for n in names + [lim]}
    access_keys = {}  # account id -> the owner client's own access key
    last_ts = [0]

    def next_ts():
        """Strictly increasing, near the clock: no request is a replay."""
        last_ts[0] = max(int(time.time() * 1000), last_ts[0] + 1)
        return last_ts[0]

    def history_request(n, from_version, tree_size=None, authority=None,
                        access=None, ts=None, grant_id=None, grant_origin=None,
                        signed_as=None, signer=None):
        """A GetAccountHistoryRequest for n with an OwnerProof built from
        docs/formats.md. Defaults: the grant by n's first account key, of n's
        access key, over n and this log's origin; the request signed by that
        access key over exactly what is sent. signed_as = (from_version,
        tree_size) signs another request instead; signer signs with another
        key than the access key."""
        if access is None:
            access = access_keys.setdefault(n, Ed25519PrivateKey.generate())
        if authority is None:
            authority = account_keys[n][0]
        ts = next_ts() if ts is None else ts
        access_pub = raw_pub(access)
        grant = authority.sign(grant_message(
            (grant_origin or origin).encode(), grant_id or n, access_pub))
        sv, st = signed_as or (from_version, tree_size)
        sig = (signer or access).sign(request_message(origin.encode(), n, sv, st, ts))
        req = ktlog_pb2.GetAccountHistoryRequest(
            account_id=n, from_version=from_version,
            owner=ktlog_pb2.OwnerProof(access_key=access_pub, grant=grant,
                                       timestamp_ms=ts, signature=sig))
        if tree_size is not None:
            req.tree_size = tree_size
        return req

    # An account that does not exist yet: PERMISSION_DENIED, whatever the
    # proof (formats.md: "the same message for an account that does not
    # exist"); api.md's NOT_FOUND is for an account that exists now but not
    # at the size asked for.
    absent_details = expect_error(C.PERMISSION_DENIED, stub.GetAccountHistory, history_request(
        names[0], 1, 0)).details()

    # --- writes ---------------------------------------------------------------
    device_keys = {}  # (account id, device id) -> key of the active device
    secrets = names + [nobody, lim]  # what the public API must never show
    for n in names + [nobody, lim]:
        replays[n] = Account(n)

    def signed(n, op, device=b"", key=None):
        """The next record of account n; generates device / account keys."""
        ak = account_keys[n][-1]
        version = replays[n].version + 1
        if op == ADD:
            device_keys[n, device] = key = key or os.urandom(32)
            secrets.extend([device, key])
        elif op == REMOVE:
            key = device_keys.pop((n, device))
        else:
            new = Ed25519PrivateKey.generate()
            account_keys[n].append(new)
            key = raw_pub(new)
            secrets.append(key)
        return make_record(op, n, device, key, version, ak)

    for a, op, device in PLAN:
        write(op, signed(names[a], op, (device or "").encode()), wait=True)
    secrets.extend(raw_pub(k) for n in names for k in account_keys[n])

    # --- rejected writes: the server applies the same account rules -------------
    v = {n: replays[n].version + 1 for n in names}
    ak = {n: account_keys[n][-1] for n in names}
    stranger = Ed25519PrivateKey.generate()
    n0, n1, n2 = names
    write_error(C.PERMISSION_DENIED, ADD, make_record(
        ADD, n1, b"device-x", os.urandom(32), v[n1], account_keys[n1][0]))
    write_error(C.PERMISSION_DENIED, ROTATE, make_record(
        ROTATE, n0, b"", os.urandom(32), v[n0], stranger))
    for bad_version in (v[n0] - 1, v[n0] + 1, 1):
        write_error(C.FAILED_PRECONDITION, ADD, make_record(
            ADD, n0, b"device-x", os.urandom(32), bad_version, ak[n0]))
    write_error(C.ALREADY_EXISTS, PLAN[12][1], records[12], details="12")
    write_error(C.ALREADY_EXISTS, ADD, make_record(
        ADD, n2, b"device-2-b", os.urandom(32), v[n2], ak[n2]))
    write_error(C.NOT_FOUND, REMOVE, make_record(
        REMOVE, n0, b"device-0-a", decode_record(records[0])["key"], v[n0], ak[n0]))
    write_error(C.FAILED_PRECONDITION, REMOVE, make_record(
        REMOVE, n2, b"device-2-b", os.urandom(32), v[n2], ak[n2]))
    # An account that does not exist answers like one whose key the writer
    # does not hold: a write is no existence oracle.
    write_error(C.PERMISSION_DENIED, ROTATE, make_record(
        ROTATE, nobody, b"", os.urandom(32), 1, stranger))
    write_error(C.PERMISSION_DENIED, ADD, make_record(
        ADD, nobody, b"device-x", os.urandom(32), 2, stranger))
    good = make_record(ADD, n0, b"device-x", os.urandom(32), v[n0], ak[n0])
    expect_error(C.INVALID_ARGUMENT, stub.RemoveDevice, ktlog_pb2.WriteRequest(record=good))
    write_error(C.INVALID_ARGUMENT, ADD, good[:-1] + bytes([good[-1] ^ 1]))  # signature
    write_error(C.INVALID_ARGUMENT, ADD, good + b"\x00")
    write_error(C.INVALID_ARGUMENT, ADD, good[:-1])
    write_error(C.INVALID_ARGUMENT, ADD, b"")
    write_error(C.INVALID_ARGUMENT, ADD, b"\x02" + good[1:])  # format version
    write_error(C.FAILED_PRECONDITION, ADD, make_record(
        ADD, n0, b"device-x", os.urandom(32), v[n0], ak[n0],
        ts=int(time.time() * 1000) - 2 * 3600 * 1000))

    final = add_checkpoint(get_checkpoint())
    size = final["size"]
    assert size == len(records), "a rejected write changed the tree"

    # --- the public leaves ------------------------------------------------------
    index_values = {}
    index_roots = {0: EMPTY}

    def sync_leaves(size):
        """Fetches and checks the public leaves up to size, and replays the
        account index over them as an auditor does (docs/index.md)."""
        while len(leaves) < size:
            e = stub.GetEntries(ktlog_pb2.GetEntriesRequest(begin=len(leaves), end=size))
            public.append(e.SerializeToString())
            assert 0 < len(e.leaves) <= 1000
            leaves.extend(bytes(x) for x in e.leaves)
            assert len(leaves) <= size
        for i in range(len(decoded), size):
            assert leaf_hash(leaves[i]) == leaf_hashes[i], \
                "leaf %d: hash differs from the write's" % i
            leaf = decode_leaf(leaves[i])
            rec = decode_record(records[i])
            assert leaf["position"] == positions[owner[i]], "leaf %d: position" % i
            previous = index_values.get(leaf["position"], (0, None))[0]
            assert leaf["version"] == rec["version"] == previous + 1, "leaf %d: version" % i
            if i:
                assert leaf["ts"] >= decoded[-1]["ts"], "leaf timestamps decrease"
            assert abs(leaf["ts"] - rec["ts"]) <= 3600 * 1000
            covering = [c for c in checkpoints if c["size"] > i]
            if covering:  # sequenced before the first checkpoint that covers it
                assert leaf["ts"] <= covering[0]["ts"], "leaf %d newer than its checkpoint" % i
            decoded.append(leaf)
            index_values[leaf["position"]] = (leaf["version"], index_value_hash(
                leaf["version"], leaf["state_commitment"]))
            index_roots[i + 1] = index_root({k: vh for k, (_, vh) in index_values.items()})
        for c in checkpoints:
            if c["size"] <= size:
                assert c["index_root"] == index_roots[c["size"]], "index root at %d" % c["size"]
                assert c["root"] == merkle_root(leaf_hashes[:c["size"]]), "root at %d" % c["size"]

    sync_leaves(size)

    # The state of every account at every size, by independent replay.
    states_at = {}  # (account id, size) -> state bytes, or None if absent

    def replay_states(upto):
        rep = {n: Account(n) for n in replays}
        for s in range(upto + 1):
            if s:
                rep[owner[s - 1]].apply(decode_record(records[s - 1]), s - 1)
            for n, r in rep.items():
                states_at[n, s] = r.state() if r.version else None
        for n, r in replays.items():
            assert states_at[n, upto] == (r.state() if r.version else None)

    replay_states(size)

    # --- lookups ----------------------------------------------------------------------
    known_first_key = {}  # account id -> first key verified with an anchor

    def refused(fn, *args):
        try:
            fn(*args)
        except AssertionError:
            return True
        return False

    def check_lookup(n, c, look=None, with_first_record=True):
        """A lookup of account n at checkpoint c, checked as a contact does,
        and compared with the independent replay. With with_first_record the
        answer must carry the first-record anchor, which fixes the first key;
        without, it must not, and the first key is the one remembered from an
        earlier anchor (docs/index.md: "checked once per account and
        remembered")."""
        if look is None:
            look = stub.LookupAccount(ktlog_pb2.LookupAccountRequest(
                account_id=n, tree_size=c["size"], with_first_record=with_first_record))
            assert not look.HasField("checkpoint")
        s = c["size"]
        assert look.tree_size == s
        pos = position_of(n, look.vrf_proof)
        assert pos == positions[n]
        if states_at[n, s] is None:
            assert not look.account_state and not look.state_opening
            assert not look.HasField("first_record"), "a first record of an absent account"
            assert index_proof_verifies(c["index_root"], pos, None, look.index_proof), \
                "absence of %r at %d" % (n, s)
            return None
        if with_first_record:
            assert look.HasField("first_record"), "no first-record anchor"
            fr = look.first_record
            first_key = check_first_record(fr, n, pos, s, c["root"])
            # It is the account's own first record, exactly as we wrote it.
            first = owner.index(n)
            assert fr.leaf_index == first and fr.leaf == leaves[first]
            assert fr.record == records[first], "the first record was re-encoded"
            assert first_key == raw_pub(account_keys[n][0])
            assert known_first_key.setdefault(n, first_key) == first_key, \
                "another first key than at the last anchor"
            # Tampering: another opening, another leaf or another account
            # do not verify. (The inclusion proof does not bind the size:
            # the size and root are the checkpoint's, never the answer's.)
            bad = ktlog_pb2.HistoryEntry()
            bad.CopyFrom(fr)
            bad.record_opening = bytes(16)
            assert refused(check_first_record, bad, n, pos, s, c["root"])
            if first + 1 < s:
                bad.CopyFrom(fr)
                bad.leaf_index, bad.leaf = first + 1, leaves[first + 1]
                assert refused(check_first_record, bad, n, pos, s, c["root"])
            assert refused(check_first_record, fr, nobody, pos, s, c["root"])
        else:
            assert not look.HasField("first_record"), "a first record not asked for"
            first_key = known_first_key[n]
        st = check_state_as_contact(look.account_state, n, first_key)
        # A contact whose anchor gave another key refuses the state.
        assert refused(check_state_as_contact, look.account_state, n, sha256(b"other"))
        assert look.account_state == states_at[n, s], \
            "%r at size %d: state %s, the replay gives %s" % (
                n, s, look.account_state.hex(), states_at[n, s].hex())
        sc = commitment(look.state_opening, 2, n, st["version"], look.account_state)
        vh = index_value_hash(st["version"], sc)
        assert index_proof_verifies(c["index_root"], pos, vh, look.index_proof), \
            "index proof of %r at size %d" % (n, s)
        # The commitment is the one of the account's latest leaf below s.
        latest = max(i for i in range(s) if decoded[i]["position"] == pos)
        assert decoded[latest]["state_commitment"] == sc
        assert decoded[latest]["version"] == st["version"]
        # Tampering: another value, absence, a flipped sibling or another
        # opening do not verify.
        assert not index_proof_verifies(c["index_root"], pos, sha256(b"other"), look.index_proof)
        assert not index_proof_verifies(c["index_root"], pos, None, look.index_proof)
        if len(look.index_proof) >= 3 + 1 + 32:
            bad = bytearray(look.index_proof)
            bad[-1] ^= 1
            assert not index_proof_verifies(c["index_root"], pos, vh, bytes(bad))
        assert commitment(bytes(16), 2, n, st["version"], look.account_state) != sc
        return st

    sizes = sorted({c["size"]: c for c in checkpoints}.items())
    for s, c in sizes:
        for n in names + [nobody]:
            check_lookup(n, c)
    # Later lookups without the anchor: checked against the remembered key.
    for n in names + [nobody]:
        check_lookup(n, final, with_first_record=False)
    # The same accounts in one batched lookup (docs/api.md, LookupAccounts):
    # each answer is checked as a lookup is, in the order asked; the batch
    # carries the latest checkpoint once when no size is asked for.
    batch = stub.LookupAccounts(ktlog_pb2.LookupAccountsRequest(
        accounts=[ktlog_pb2.LookupAccountsRequest.Account(
            account_id=n, with_first_record=(n == names[0]))
            for n in names + [nobody]],
        tree_size=final["size"]))
    assert not batch.HasField("checkpoint") and batch.tree_size == final["size"]
    assert [a.code for a in batch.answers] == [0] * (len(names) + 1)
    for n, a in zip(names + [nobody], batch.answers):
        assert not a.lookup.HasField("checkpoint")
        check_lookup(n, final, a.lookup, with_first_record=(n == names[0]))
    expect_error(C.INVALID_ARGUMENT, stub.LookupAccounts,
                 ktlog_pb2.LookupAccountsRequest(accounts=[
                     ktlog_pb2.LookupAccountsRequest.Account(account_id=names[0])] * 2),
                 details="accounts[1] names the same account as accounts[0]; "
                         "ask for each account once")
    for n in names:  # the keys left in the state are the ones we left active
        st = decode_state(states_at[n, size])
        assert {(rec["device_id"], rec["key"]) for _, rec in st["devices"]} == \
            {(d, k) for (b, d), k in device_keys.items() if b == n}
        assert st["first_key"] == raw_pub(account_keys[n][0])
        assert st["account_key"] == raw_pub(account_keys[n][-1])
        # The chain is every rotation, each setting the next key we made.
        assert [rec["key"] for _, rec in st["chain"]] == \
            [raw_pub(k) for k in account_keys[n][1:]]
    chains = [len(decode_state(states_at[n, size])["chain"]) for n in names]
    assert chains == [2, 2, 1], chains
    look = stub.LookupAccount(ktlog_pb2.LookupAccountRequest(account_id=nobody, tree_size=size))
    bad_vrf = bytearray(look.vrf_proof)
    bad_vrf[40] ^= 1
    assert ecvrf.verify(vrf_pub, vrf_alpha(nobody), bytes(bad_vrf)) is None
    assert ecvrf.verify(vrf_pub, vrf_alpha(n0), look.vrf_proof) is None

    # --- histories ------------------------------------------------------------------
    def check_history(n, c, from_version=1, latest=False, authority=None):
        """Pages through the history of n at checkpoint c, as its owner
        (access granted by authority, default n's first key); verifies each
        entry; replays the records from version 1 and checks that each
        state commitment opens to the replayed state. Returns the pages."""
        s = c["size"]
        mine = [i for i in range(s) if owner[i] == n]
        acct = Account(n)
        for i in mine[:from_version - 1]:
            acct.apply(decode_record(records[i]), i)
        got, pages, version = [], 0, from_version
        while version:
            h = stub.GetAccountHistory(history_request(
                n, version, None if latest else s, authority=authority))
            pages += 1
            assert h.tree_size == s and h.HasField("checkpoint") == latest
            if latest:
                assert open_checkpoint(h.checkpoint.note, origin, pub)["root"] == c["root"]
            assert position_of(n, h.vrf_proof) == positions[n]
            assert 0 < len(h.entries) <= 100
            for e in h.entries:
                assert e.leaf == leaves[e.leaf_index]
                assert root_from_inclusion(e.leaf_index, s, leaf_hash(e.leaf),
                                           list(e.inclusion_proof)) == c["root"]
                leaf = decode_leaf(e.leaf)
                assert leaf["position"] == positions[n]
                rec = decode_record(e.record)
                assert e.record == records[e.leaf_index], "the stored record was re-encoded"
                assert leaf["version"] == rec["version"] == acct.version + 1
                rc = commitment(e.record_opening, 1, n, rec["version"], e.record)
                assert rc == leaf["record_commitment"]
                assert commitment(e.record_opening, 1, nobody, rec["version"], e.record) != rc
                acct.apply(rec, e.leaf_index)
                state = acct.state()
                assert commitment(e.state_opening, 2, n, rec["version"], state) == \
                    leaf["state_commitment"], \
                    "leaf %d: the state commitment does not open to the replayed state %s" % (
                        e.leaf_index, state.hex())
                got.append(e.leaf_index)
            assert h.next_version in (0, acct.version + 1)
            assert h.next_version or acct.version == len(mine)
            version = h.next_version
        assert got == mine[from_version - 1:]
        assert acct.state() == states_at[n, s]
        return pages

    for s, c in sizes:
        for n in names:
            if states_at[n, s] is None:
                # The owner passes the gate (the account exists now), and
                # then, as api.md says: NOT_FOUND, the account does not
                # exist at that size.
                expect_error(C.NOT_FOUND, stub.GetAccountHistory,
                             history_request(n, 1, s))
            else:
                assert check_history(n, c) == 1
    assert check_history(n1, final, from_version=4, latest=True) == 1
    expect_error(C.INVALID_ARGUMENT, stub.GetAccountHistory, history_request(n0, 0, size))
    # Before owner access this was NOT_FOUND; an account that does not exist
    # is now refused like a stranger (below, "owner access").
    expect_error(C.PERMISSION_DENIED, stub.GetAccountHistory,
                 history_request(nobody, 1, size, authority=stranger))
    # --- owner access (docs/formats.md "Owner access", proto OwnerProof) --------
    def history_error(code, req):
        return expect_error(code, stub.GetAccountHistory, req).details()

    def served(req):
        h = stub.GetAccountHistory(req)
        assert h.entries and position_of(req.account_id, h.vrf_proof) == \
            positions[req.account_id]
        return h

    # No proof: PERMISSION_DENIED, for an account that exists and one that
    # does not, at a size and at the latest.
    no_proof = history_error(C.PERMISSION_DENIED, ktlog_pb2.GetAccountHistoryRequest(
        account_id=n0, from_version=1, tree_size=size))
    assert history_error(C.PERMISSION_DENIED, ktlog_pb2.GetAccountHistoryRequest(
        account_id=n0, from_version=1)) == no_proof
    assert history_error(C.PERMISSION_DENIED, ktlog_pb2.GetAccountHistoryRequest(
        account_id=nobody, from_version=1, tree_size=size)) == no_proof
    # Absent and refused get one answer: a well-formed proof for an account
    # that does not exist, a stranger's grant on an existing account, and no
    # proof at all.
    absent = history_error(C.PERMISSION_DENIED,
                           history_request(nobody, 1, size, authority=stranger))
    stranger_denied = history_error(C.PERMISSION_DENIED,
                                    history_request(n0, 1, size, authority=stranger))
    assert absent == stranger_denied, (absent, stranger_denied)
    assert absent == absent_details, (absent, absent_details)
    assert absent == no_proof, (absent, no_proof)
    assert history_error(C.PERMISSION_DENIED,
                         history_request(nobody, 1, authority=stranger)) == absent
    # The stranger's grant on an existing account, at the latest size too.
    assert history_error(C.PERMISSION_DENIED,
                         history_request(n1, 1, authority=stranger)) == absent

    # Every authority since the (absent) reset grants: the first key, each
    # rotated-away key and the current one (a grant outlives a rotation).
    for n in names:
        assert len(account_keys[n]) >= 2
        for k in account_keys[n]:
            served(history_request(n, 1, size, authority=k))
    # A grant names its account, its origin and its access key.
    other_access = Ed25519PrivateKey.generate()
    req = history_request(n1, 1, size, access=other_access)  # a grant for n1 ...
    grant_n1 = req.owner.grant
    req = history_request(n0, 1, size, access=other_access)
    req.owner.grant = grant_n1                                # ... used for n0
    assert history_error(C.PERMISSION_DENIED, req) == absent
    # n0's own current key, but the grant message names n1.
    assert history_error(C.PERMISSION_DENIED, history_request(
        n0, 1, size, authority=account_keys[n0][-1], grant_id=n1)) == absent
    # Another log's origin in the grant.
    assert history_error(C.PERMISSION_DENIED, history_request(
        n0, 1, size, grant_origin="other.example/log")) == absent
    # The grant of one access key, with a request signed by another.
    req = history_request(n0, 1, size)
    req2 = history_request(n0, 1, size, access=other_access)
    req2.owner.grant = req.owner.grant
    history_error(C.PERMISSION_DENIED, req2)

    # Replay: the same request, byte for byte, is refused; so is an older
    # timestamp and the same timestamp on another request.
    req = history_request(n0, 1, size)
    served(req)
    history_error(C.FAILED_PRECONDITION, req)
    ts = req.owner.timestamp_ms
    history_error(C.FAILED_PRECONDITION, history_request(n0, 2, size, ts=ts))
    history_error(C.FAILED_PRECONDITION, history_request(n0, 1, size, ts=ts - 1))
    served(history_request(n0, 1, size))  # a fresh one still passes
    # A timestamp 10 minutes off the clock, either way.
    now = int(time.time() * 1000)
    history_error(C.FAILED_PRECONDITION, history_request(n0, 1, size, ts=now - 600000))
    history_error(C.FAILED_PRECONDITION, history_request(n0, 1, size, ts=now + 600000))
    served(history_request(n0, 1, size))  # the refused ones were not remembered
    # A request signature that does not match what is sent.
    history_error(C.PERMISSION_DENIED, history_request(n0, 1, size, signed_as=(2, size)))
    history_error(C.PERMISSION_DENIED, history_request(n0, 1, size, signed_as=(1, size - 1)))
    # Unset tree size and tree size 0 are different requests.
    history_error(C.PERMISSION_DENIED, history_request(n0, 1, 0, signed_as=(1, None)))
    history_error(C.PERMISSION_DENIED, history_request(n0, 1, None, signed_as=(1, 0)))
    # Signed by the account key rather than the access key.
    history_error(C.PERMISSION_DENIED, history_request(
        n0, 1, size, signer=account_keys[n0][-1]))
    # The request's signature check comes before the grant's: for an account
    # that does not exist, a bad request signature is PERMISSION_DENIED too.
    history_error(C.PERMISSION_DENIED, history_request(
        nobody, 1, size, authority=stranger, signed_as=(2, size)))

    # Malformed proofs: INVALID_ARGUMENT.
    def malformed(**fields):
        req = history_request(n0, 1, size)
        for f, v in fields.items():
            setattr(req.owner, f, v)
        return history_error(C.INVALID_ARGUMENT, req)
    good = history_request(n0, 1, size)
    malformed(access_key=good.owner.access_key[:31])
    malformed(access_key=good.owner.access_key + b"\x00")
    malformed(access_key=b"")
    # 32 bytes that are no valid Ed25519 key: formats.md says INVALID_ARGUMENT
    # ("the access key is a valid Ed25519 key"). The server answers these
    # PERMISSION_DENIED (the request signature does not verify), so either
    # refusal is accepted here and the difference is printed as a note.
    y = 2  # the smallest y for which no x is on the curve: not a point
    while ecvrf.string_to_point(y.to_bytes(32, "little")) is not None:
        y += 1
    not_a_point = y.to_bytes(32, "little")
    identity = b"\x01" + bytes(31)  # small order (the neutral element)
    non_canonical = ((1 << 255) - 19).to_bytes(32, "little")  # y = p
    assert ecvrf.string_to_point(not_a_point) is None
    assert ecvrf.validate_key(identity) is None
    assert ecvrf.string_to_point(non_canonical) is None
    # formats.md: a key of small order or not canonical is INVALID_ARGUMENT;
    # bytes that decode to no point fail the request signature instead.
    for what, bad_key, code in (
            ("not a curve point", not_a_point, C.PERMISSION_DENIED),
            ("small order", identity, C.INVALID_ARGUMENT),
            ("y >= p", non_canonical, C.INVALID_ARGUMENT)):
        req = history_request(n0, 1, size)
        req.owner.access_key = bad_key
        e = expect_error(None, stub.GetAccountHistory, req)
        assert e.code() == code, (what, e.code(), e.details())
    malformed(signature=good.owner.signature[:63])
    malformed(signature=good.owner.signature + b"\x00")
    malformed(grant=b"")
    malformed(grant=b"\x01" * 246)
    # A grant of an allowed size that is not the account key's signature:
    # the largest assertion is 2+128 (credential id) + 2+37 (authenticator
    # data) + 2+72 (ES256 DER) = 243 bytes (formats.md); one byte more is
    # malformed.
    req = history_request(n0, 1, size)
    req.owner.grant = b"\x01" * 243
    assert history_error(C.PERMISSION_DENIED, req) == absent
    malformed(grant=b"\x01" * 244)
    req = history_request(n0, 1, size)
    req.owner.grant = req.owner.grant + b"\x00"
    assert history_error(C.PERMISSION_DENIED, req) == absent
    # The documented order: proof sizes, then the clock, then the request
    # signature, then the grant, then the replay.
    req = history_request(nobody, 1, size, authority=stranger)
    req.owner.access_key = req.owner.access_key[:31]
    history_error(C.INVALID_ARGUMENT, req)
    history_error(C.FAILED_PRECONDITION, history_request(
        nobody, 1, size, authority=stranger, ts=now - 600000))
    history_error(C.FAILED_PRECONDITION, history_request(
        n0, 1, size, ts=now - 600000, signed_as=(2, size)))
    req = history_request(n0, 1, size)
    served(req)
    history_error(C.PERMISSION_DENIED, history_request(
        n0, 1, size, ts=req.owner.timestamp_ms, authority=stranger))
    # After every refusal the owner is still served.
    assert check_history(n0, final) == 1

    # --- proofs between checkpoints -----------------------------------------------------
    def check_proofs(old_sizes, new_sizes):
        """Inclusion of every leaf at each new size, consistency from each
        old size to each new one, inclusion by hash at the largest."""
        for s in new_sizes:
            c = dict(sizes)[s]
            for i in range(s):
                p = stub.GetInclusionProof(ktlog_pb2.GetInclusionProofRequest(
                    leaf_index=i, tree_size=s))
                public.append(p.SerializeToString())
                assert p.leaf_index == i and p.tree_size == s
                assert root_from_inclusion(i, s, leaf_hashes[i], list(p.hashes)) == c["root"]
            for s1 in old_sizes:
                if s1 > s:
                    continue
                p = stub.GetConsistencyProof(ktlog_pb2.GetConsistencyProofRequest(
                    size1=s1, size2=s))
                public.append(p.SerializeToString())
                verify_consistency(s1, s, list(p.hashes), dict(sizes)[s1]["root"], c["root"])
        s = max(new_sizes)
        for i in range(s):
            p = stub.GetInclusionProofByHash(ktlog_pb2.GetInclusionProofByHashRequest(
                leaf_hash=leaf_hashes[i], tree_size=s))
            public.append(p.SerializeToString())
            assert p.leaf_index == i and p.tree_size == s
            assert root_from_inclusion(i, s, leaf_hashes[i], list(p.hashes)) == \
                dict(sizes)[s]["root"]

    all_sizes = [s for s, _ in sizes]
    check_proofs(all_sizes, all_sizes)

    # A tampered proof must not verify with the independent code either.
    p = stub.GetInclusionProof(ktlog_pb2.GetInclusionProofRequest(leaf_index=5, tree_size=size))
    bad = list(p.hashes)
    bad[0] = bytes([bad[0][0] ^ 1]) + bad[0][1:]
    assert root_from_inclusion(5, size, leaf_hashes[5], bad) != final["root"]
    assert root_from_inclusion(5, size, leaf_hashes[6], list(p.hashes)) != final["root"]
    p = stub.GetConsistencyProof(ktlog_pb2.GetConsistencyProofRequest(size1=5, size2=size))
    bad = list(p.hashes)
    bad[-1] = bytes([bad[-1][0] ^ 1]) + bad[-1][1:]
    try:
        verify_consistency(5, size, bad, dict(sizes)[5]["root"], final["root"])
        raise RuntimeError("a tampered consistency proof verified")
    except AssertionError:
        pass

    # The empty tree stays answerable: tree_size 0 is a size, not "latest";
    # the latest lookup carries the checkpoint.
    look = stub.LookupAccount(ktlog_pb2.LookupAccountRequest(account_id=n0, tree_size=0))
    assert look.tree_size == 0 and not look.account_state and not look.state_opening
    assert not look.HasField("checkpoint")
    assert index_proof_verifies(EMPTY, position_of(n0, look.vrf_proof), None, look.index_proof)
    latest = stub.LookupAccount(ktlog_pb2.LookupAccountRequest(
        account_id=n0, with_first_record=True))
    assert latest.HasField("checkpoint")
    public.append(latest.checkpoint.SerializeToString())
    assert add_checkpoint(open_checkpoint(latest.checkpoint.note, origin, pub))["size"] == size
    check_lookup(n0, final, latest)

    # More of the public read API, for the privacy check.
    resp = stub.GetCheckpointToCosign(ktlog_pb2.GetCheckpointToCosignRequest())
    public.append(resp.SerializeToString())
    assert add_checkpoint(open_checkpoint(resp.note, origin, pub))["size"] == size
    watch = stub.WatchCheckpoints(ktlog_pb2.WatchCheckpointsRequest())
    first = next(watch)
    watch.cancel()
    public.append(first.SerializeToString())
    assert add_checkpoint(open_checkpoint(first.note, origin, pub))["size"] == size

    # --- error codes as documented ---------------------------------------------------
    expect_error(C.INVALID_ARGUMENT, stub.GetConsistencyProof,
                 ktlog_pb2.GetConsistencyProofRequest(size1=0, size2=size))
    expect_error(C.INVALID_ARGUMENT, stub.GetConsistencyProof,
                 ktlog_pb2.GetConsistencyProofRequest(size1=3, size2=2))
    expect_error(C.OUT_OF_RANGE, stub.GetConsistencyProof,
                 ktlog_pb2.GetConsistencyProofRequest(size1=1, size2=size + 1))
    expect_error(C.OUT_OF_RANGE, stub.GetInclusionProof,
                 ktlog_pb2.GetInclusionProofRequest(leaf_index=3, tree_size=3))
    expect_error(C.OUT_OF_RANGE, stub.GetInclusionProof,
                 ktlog_pb2.GetInclusionProofRequest(leaf_index=0, tree_size=size + 1))
    expect_error(C.INVALID_ARGUMENT, stub.GetInclusionProofByHash,
                 ktlog_pb2.GetInclusionProofByHashRequest(leaf_hash=b"x" * 31, tree_size=size))
    expect_error(C.NOT_FOUND, stub.GetInclusionProofByHash,
                 ktlog_pb2.GetInclusionProofByHashRequest(leaf_hash=sha256(b"x"), tree_size=size))
    expect_error(C.INVALID_ARGUMENT, stub.GetEntries, ktlog_pb2.GetEntriesRequest(begin=2, end=2))
    expect_error(C.OUT_OF_RANGE, stub.GetEntries,
                 ktlog_pb2.GetEntriesRequest(begin=size, end=size + 1))
    expect_error(C.OUT_OF_RANGE, stub.LookupAccount,
                 ktlog_pb2.LookupAccountRequest(account_id=n0, tree_size=size + 1))
    expect_error(C.OUT_OF_RANGE, stub.GetAccountHistory, history_request(n0, 1, size + 1))
    for bad_id in (b"\xff\xfe", b"", b"a\nb", b"x" * 257):
        expect_error(C.INVALID_ARGUMENT, stub.LookupAccount,
                     ktlog_pb2.LookupAccountRequest(account_id=bad_id))
        # With a proof that is well formed for that id (by a stranger).
        expect_error(C.INVALID_ARGUMENT, stub.GetAccountHistory,
                     history_request(bad_id, 1, authority=stranger))
    garbage = channel.unary_unary("/ktlog.v1.Log/LookupAccount",
                                  request_serializer=lambda x: x,
                                  response_deserializer=lambda x: x)
    e = expect_error(C.INVALID_ARGUMENT, garbage, b"\xff\xff\xff")
    assert "ktlog.v1.LookupAccountRequest" in e.details(), e.details()

    # --- limits: 100 devices, a key chain of 100 rotations, paged history -----
    for i in range(100):
        write(ADD, signed(lim, ADD, b"device-%03d" % i))
    write_error(C.FAILED_PRECONDITION, ADD, signed(lim, ADD, b"device-100"))
    del device_keys[lim, b"device-100"]
    for i in range(100):
        write(ROTATE, signed(lim, ROTATE), wait=(i == 99))
    # An account makes at most 100 rotations in its lifetime.
    write_error(C.FAILED_PRECONDITION, ROTATE, signed(lim, ROTATE))
    account_keys[lim].pop()
    secrets.extend(raw_pub(k) for k in account_keys[lim])
    big = add_checkpoint(get_checkpoint())
    assert big["size"] == len(records) == size + 200
    sync_leaves(big["size"])
    replay_states(big["size"])
    sizes = sorted({c["size"]: c for c in checkpoints}.items())
    st = check_lookup(lim, big)
    assert len(st["devices"]) == 100 and len(st["chain"]) == 100
    for n in names + [nobody]:
        check_lookup(n, big)
    assert check_history(lim, big) == 2
    assert check_history(lim, big, from_version=150) == 1
    check_proofs(all_sizes, [big["size"]])
    # The limit is over the account's life: with every device removed, a
    # 101st rotation is still refused (format 2 only counted rotations since
    # the oldest active device, none without devices), and the state keeps
    # all 100 rotations.
    for i in range(100):
        write(REMOVE, signed(lim, REMOVE, b"device-%03d" % i), wait=(i == 99))
    write_error(C.FAILED_PRECONDITION, ROTATE, signed(lim, ROTATE))
    account_keys[lim].pop()
    bare = add_checkpoint(get_checkpoint())
    assert bare["size"] == len(records) == big["size"] + 100
    sync_leaves(bare["size"])
    replay_states(bare["size"])
    sizes = sorted({c["size"]: c for c in checkpoints}.items())
    st = check_lookup(lim, bare)
    assert not st["devices"] and len(st["chain"]) == 100
    assert st["account_key"] == raw_pub(account_keys[lim][-1])
    check_lookup(lim, bare, with_first_record=False)
    assert check_history(lim, bare) == 3
    # A grant by the 101st key, the one in force, is as good as the first's.
    assert check_history(lim, bare, authority=account_keys[lim][-1]) == 3

    # --- privacy: the public read API reveals no id or key ----------------------------
    blob = b"\n--\n".join(public)
    for secret in secrets:
        for form in encodings(secret):
            assert form not in blob, "the public API reveals %r (as %r) in answer %d" % (
                secret, form, [form in x for x in public].index(True))

    # --- gRPC health checking and server reflection, spoken as raw bytes ---------
    health = channel.unary_unary("/grpc.health.v1.Health/Check",
                                 request_serializer=lambda x: x,
                                 response_deserializer=lambda x: x)
    assert health(b"") == b"\x08\x01", "not SERVING"
    reflect = channel.stream_stream(
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        request_serializer=lambda x: x, response_deserializer=lambda x: x)
    answers = list(reflect(iter([b"\x3a\x00"])))  # list_services: ""
    assert any(b"ktlog.v1.Log" in a for a in answers), answers
    channel.close()
    return ("independent check: %d records of 4 accounts, %d checkpoints; every proof, "
            "VRF proof, commitment and replayed state verified; %d public answers "
            "reveal none of %d secrets" % (len(records), len(checkpoints), len(public),
                                           len(secrets)))


if __name__ == "__main__":
    main()
