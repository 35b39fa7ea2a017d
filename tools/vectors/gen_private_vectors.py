#!/usr/bin/python3
"""Generates tests/testdata/ktlog/private.json: vectors for the private log.

An independent implementation (Python; `cryptography` for Ed25519 and the
pure-Python RFC 9381 ECVRF in tools/vectors/ecvrf.py), written from the text
of docs/formats.md and docs/index.md only, of:

  - the log key string and the log key file's VRF line   (formats.md "Keys",
                                                           "Key files")
  - VRF input (alpha), index position and VRF proof       (formats.md "VRF
                                                           input and index
                                                           position")
  - account state, format 3, with its first key and its   (formats.md
    whole key chain                                        "Account state,
                                                           format 3")
  - record and state commitments                          (formats.md
                                                           "Commitments")
  - log leaf, format 2, and its leaf hash                 (formats.md "Log
                                                           leaf, format 2")
  - index value hash, root and proofs keyed by position   (index.md "What it
                                                           maps", "Tree",
                                                           "Proofs")
  - a lookup's first-record anchor and what a contact     (index.md "Lookups
    checks with it                                         and histories")
  - byte strings a strict account state decoder rejects, and states that
    decode but whose authority does not descend from the first key.

Everything is derived from fixed inputs (no randomness), so two runs write
identical bytes. Run from the repository root:

    /usr/bin/python3 tools/vectors/gen_private_vectors.py
"""
import base64
import hashlib
import hmac
import json
import os
import struct
import sys

# Import the sibling helpers without leaving __pycache__ in the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import ecvrf  # noqa: E402  (RFC 9381 ECVRF-EDWARDS25519-SHA512-TAI)
import gen_ktlog_vectors as kv  # noqa: E402  (records, sparse tree, proofs)

from cryptography.hazmat.primitives.asymmetric.ed25519 import (  # noqa: E402
    Ed25519PrivateKey, Ed25519PublicKey)
from cryptography.exceptions import InvalidSignature  # noqa: E402

TESTDATA = "tests/testdata/ktlog"
OUT = os.path.join(TESTDATA, "private.json")


def sha256(b):
    return hashlib.sha256(b).digest()


def u16(n):
    return struct.pack(">H", n)


def u32(n):
    return struct.pack(">I", n)


def u64(n):
    return struct.pack(">Q", n)


def u16p(b):
    """`u16+n`: a 2-byte big-endian length, then the bytes."""
    assert len(b) <= 0xFFFF
    return u16(len(b)) + b


def b64(b):
    """Standard padded base64 (RFC 4648 section 4)."""
    return base64.b64encode(b).decode()


# --- formats.md "Keys", "Key files": the log key ----------------------------

VRF_SEED = sha256(b"vector log vrf key")


def log_key():
    with open(os.path.join(TESTDATA, "checkpoint.json")) as f:
        cp = json.load(f)["checkpoint"]
    verifier_key, signer_key = cp["verifier_key"], cp["signer_key"]
    # "The VRF secret key is the seed as RFC 8032 derives an Ed25519 key from
    # it (its public key is the seed's Ed25519 public key)."
    vrf_pk = ecvrf.public_key(VRF_SEED)
    assert vrf_pk == kv.pub(Ed25519PrivateKey.from_private_bytes(VRF_SEED))
    # "The VRF public key must be the canonical encoding of a curve point not
    # of small order."
    assert ecvrf.validate_key(vrf_pk) is not None
    assert ecvrf.point_to_string(ecvrf.string_to_point(vrf_pk)) == vrf_pk
    # "<verifier key>,vrf=<base64 of the 32-byte VRF public key>"
    assert "," not in verifier_key
    key_string = verifier_key + ",vrf=" + b64(vrf_pk)
    # Log key file: line 1 the signer key string, line 2
    # "PRIVATE+VRF+<base64 of the 32-byte VRF seed>".
    line2 = "PRIVATE+VRF+" + b64(VRF_SEED)
    return {
        "vrf_seed": VRF_SEED.hex(),
        "vrf_public_key": vrf_pk.hex(),
        "checkpoint_verifier_key": verifier_key,
        "log_key": key_string,
        "key_file_lines": [signer_key, line2],
        "key_file_vrf_line": line2,
    }


# --- formats.md "VRF input and index position" ------------------------------

def vrf_alpha(account_id):
    # alpha = "ktlog/v1 account\n" || account id
    return b"ktlog/v1 account\n" + account_id.encode()


def vrf_account(account_id):
    """alpha, 32-byte position (beta[:32]) and the 80-byte proof."""
    alpha = vrf_alpha(account_id)
    pi = ecvrf.prove(VRF_SEED, alpha)
    assert len(pi) == 80
    beta = ecvrf.verify(ecvrf.public_key(VRF_SEED), alpha, pi)
    assert beta is not None and beta == ecvrf.proof_to_hash(pi)
    position = ecvrf.vrf_output32(beta)
    assert len(position) == 32
    return {"account_id": account_id, "alpha": alpha.hex(),
            "position": position.hex(), "proof": pi.hex()}


ACCOUNTS = ["alice@example.com", "bob@example.com"] + \
    ["user%d@example.com" % i for i in range(10)]
ABSENT = ["carol@example.com", "dave@example.com", "eve@example.com"]


# --- formats.md "Device record, format version 1" (strict decoder) ----------

OP_ADD, OP_REMOVE, OP_ROTATE = 1, 2, 3
RECORD_DOMAIN = b"ktlog/v1 device-record\n"


class DecodeError(Exception):
    """A byte string a strict decoder refuses; `why` says which rule."""

    def __init__(self, why):
        super().__init__(why)
        self.why = why


class Reader:
    def __init__(self, data):
        self.data, self.off = data, 0

    def take(self, n):
        if self.off + n > len(self.data):
            raise DecodeError("runs past the end")
        b = self.data[self.off:self.off + n]
        self.off += n
        return b

    def u8(self):
        return self.take(1)[0]

    def u16(self):
        return struct.unpack(">H", self.take(2))[0]

    def u32(self):
        return struct.unpack(">I", self.take(4))[0]

    def u64(self):
        return struct.unpack(">Q", self.take(8))[0]

    def u16p(self):
        return self.take(self.u16())

    def end(self):
        if self.off != len(self.data):
            raise DecodeError("trailing bytes")


def check_text(b, lo, hi, what):
    if not lo <= len(b) <= hi:
        raise DecodeError("%s length %d" % (what, len(b)))
    try:
        s = b.decode("utf-8")
    except UnicodeDecodeError:
        raise DecodeError("%s is not UTF-8" % what)
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in s):
        raise DecodeError("%s has a control character" % what)
    return s


def decode_record(data):
    r = Reader(data)
    if r.u8() != 1:
        raise DecodeError("record format")
    op = r.u8()
    if op not in (OP_ADD, OP_REMOVE, OP_ROTATE):
        raise DecodeError("record operation")
    account = check_text(r.u16p(), 1, 256, "account id")
    dev_b = r.u16p()
    key = r.u16p()
    if op == OP_ROTATE:
        if dev_b:
            raise DecodeError("rotation with a device id")
        if len(key) != 32:
            raise DecodeError("rotation key size")
        device = ""
    else:
        device = check_text(dev_b, 1, 64, "device id")
        if not 1 <= len(key) <= 128:
            raise DecodeError("device key size")
    version, ts = r.u64(), r.u64()
    account_key = r.take(32)
    sig = r.take(64)
    r.end()
    return {"op": op, "account": account, "device": device, "device_b": dev_b,
            "key": key, "version": version, "timestamp": ts,
            "account_key": account_key, "signature": sig,
            "signed": data[:-64]}


def record_signature_ok(rec):
    try:
        Ed25519PublicKey.from_public_bytes(rec["account_key"]).verify(
            rec["signature"], RECORD_DOMAIN + rec["signed"])
        return True
    except InvalidSignature:
        return False


# --- protocol.md "Account rules" + formats.md "Account state, format 3" -----

MAX_DEVICES = 100
MAX_CHAIN = 100


class Account:
    """The state an account reaches after applying its records in log order.

    Keeps the first key, every active device (leaf index and add-device
    record) and every rotation ever applied (the key chain).
    """

    def __init__(self):
        self.id = None          # account id (str); None: does not exist yet
        self.first_key = None   # the key that signed the version-1 record (32 bytes)
        self.key = None         # current account key (32 bytes)
        self.version = 0
        self.devices = {}       # device id bytes -> (leaf index, record bytes, version)
        self.rotations = []     # (leaf index, record bytes, version), log order

    def key_chain(self):
        """formats.md: "The key chain is every rotation the account ever
        made, oldest first; it is never shortened." Log order is version
        order, so the list as applied is oldest first."""
        return [(i, rec) for i, rec, _ in self.rotations]

    def apply(self, leaf_index, data):
        rec = decode_record(data)
        assert record_signature_ok(rec), "bad record signature"
        if self.id is None:
            # Rule 1: the first record is an add-device with version 1; its
            # signing key becomes the account key. formats.md: the state's
            # first key is "the Ed25519 account key that signed the
            # account's first record (version 1)"; it never changes.
            assert rec["op"] == OP_ADD and rec["version"] == 1
            self.id, self.key = rec["account"], rec["account_key"]
            self.first_key = rec["account_key"]
        else:
            assert rec["account"] == self.id
            # Rule 2: signed by the current account key, next version.
            assert rec["account_key"] == self.key, "PERMISSION_DENIED"
            assert rec["version"] == self.version + 1, "FAILED_PRECONDITION"
        dev = rec["device_b"]
        if rec["op"] == OP_ADD:
            assert dev not in self.devices, "ALREADY_EXISTS"
            assert len(self.devices) < MAX_DEVICES
            self.devices[dev] = (leaf_index, data, rec["version"])
        elif rec["op"] == OP_REMOVE:
            assert dev in self.devices, "NOT_FOUND"
            added = decode_record(self.devices[dev][1])
            assert added["key"] == rec["key"], "FAILED_PRECONDITION"
            del self.devices[dev]
        else:
            # formats.md: "An account makes at most 100 rotations in its
            # lifetime; a 101st is refused." (protocol.md's rule 3 still
            # counts "rotations since its oldest active device", format 2's
            # rule; we follow the format-3 text.)
            assert len(self.rotations) < MAX_CHAIN, "FAILED_PRECONDITION"
            self.key = rec["key"]
            self.rotations.append((leaf_index, data, rec["version"]))
        self.version = rec["version"]

    def encode(self):
        """Account state, format 3, byte by byte."""
        out = b"\x03"                                   # format
        out += u16p(self.id.encode())                   # account id
        out += self.first_key                           # first key (32)
        out += self.key                                 # account key (32)
        out += u64(self.version)                        # version (8)
        out += u16(len(self.devices))                   # device count (2)
        for dev in sorted(self.devices):                # sorted by device id, bytewise
            leaf_index, data, _ = self.devices[dev]
            out += u64(leaf_index) + u16p(data)         # leaf index (8), record (u16+n)
        chain = self.key_chain()
        out += u16(len(chain))                          # key chain length (2)
        for leaf_index, data in chain:                  # oldest first
            out += u64(leaf_index) + u16p(data)
        return out


def decode_state(data):
    """A strict decoder of "Account state, format 3" (used to check that our
    valid states decode and that every invalid one is rejected). It checks
    the layout and what each entry is; whether the keys link up (the
    authority) is check_state_authorised's."""
    r = Reader(data)
    if r.u8() != 3:
        raise DecodeError("state format")
    account = check_text(r.u16p(), 1, 256, "account id")
    first_key = r.take(32)
    key = r.take(32)
    version = r.u64()
    count = r.u16()
    if count > MAX_DEVICES:
        raise DecodeError("too many devices")
    devices, last = [], None
    for _ in range(count):
        leaf_index = r.u64()
        rec = decode_record(r.u16p())
        if rec["op"] != OP_ADD:
            raise DecodeError("device record is not an add-device")
        if rec["account"] != account:
            raise DecodeError("device record of another account")
        if rec["version"] > version:
            raise DecodeError("device record version above the state's")
        if last is not None and not last < rec["device_b"]:
            raise DecodeError("device entries not strictly sorted by device id")
        last = rec["device_b"]
        devices.append((leaf_index, rec))
    chain_len = r.u16()
    if chain_len > MAX_CHAIN:
        raise DecodeError("key chain too long")
    chain = []
    for _ in range(chain_len):
        leaf_index = r.u64()
        rec = decode_record(r.u16p())
        if rec["op"] != OP_ROTATE:
            raise DecodeError("key chain record is not a rotation")
        if rec["account"] != account:
            raise DecodeError("rotation of another account")
        chain.append((leaf_index, rec))
    r.end()
    return {"account": account, "first_key": first_key, "key": key,
            "version": version, "devices": devices, "chain": chain}


class Unauthorised(Exception):
    pass


def check_state_authorised(st, anchor_key=None):
    """formats.md "Account state, format 3" / index.md "Lookups and
    histories": what a contact checks in a decoded state. anchor_key: the
    key that signed the record of the account's version-1 leaf (the
    first-record anchor), when the contact has it. Raises Unauthorised."""
    def need(ok, why):
        if not ok:
            raise Unauthorised(why)
    # "the first key is the key that signed the record of the account's
    # version-1 leaf"
    if anchor_key is not None:
        need(st["first_key"] == anchor_key, "first key is not the anchor's signer")
    # "the first rotation is signed by the first key, each later one by the
    # key the one before set, and the last sets the account key (with no
    # rotation, the account key is the first key)"
    chain = [rec for _, rec in st["chain"]]
    key = st["first_key"]
    previous_version = 0
    for rot in chain:
        need(record_signature_ok(rot), "rotation signature")
        need(rot["account_key"] == key, "rotation not signed by the key before it")
        # "oldest first": versions increase, and none is above the state's.
        need(previous_version < rot["version"] <= st["version"], "rotation version")
        previous_version = rot["version"]
        key = rot["key"]
    need(key == st["key"], "the chain does not end at the account key")
    # "each device record is ... signed by the key in force at its version":
    # the key set by the last rotation below that version, else the first key.
    for _, dev in st["devices"]:
        need(record_signature_ok(dev), "device record signature")
        in_force = st["first_key"]
        for rot in chain:
            if rot["version"] < dev["version"]:
                in_force = rot["key"]
        need(dev["account_key"] == in_force, "device not signed by the key in force")


# --- formats.md "Commitments" ---------------------------------------------

COMMIT_K = bytes.fromhex("d821f8790d97709796b4d7903357c3f5")
KIND_RECORD, KIND_STATE = 0x01, 0x02


def commitment(opening, kind, account_id, version, value):
    # HMAC-SHA256(K, opening || kind || u16+n account id || u64 version ||
    #                u32 length || value)
    assert len(opening) == 16
    msg = opening + bytes([kind]) + u16p(account_id.encode()) + u64(version) + \
        u32(len(value)) + value
    return hmac.new(COMMIT_K, msg, hashlib.sha256).digest()


# --- formats.md "Log leaf, format 2" --------------------------------------

def log_leaf(position, version, timestamp, record_commitment, state_commitment):
    leaf = b"\x02" + position + u64(version) + u64(timestamp) + \
        record_commitment + state_commitment
    assert len(leaf) == 113
    return leaf


def leaf_hash(leaf):
    return sha256(b"\x00" + leaf)              # RFC 9162 section 2.1.1


def mth(hashes):
    """RFC 9162 section 2.1.1 Merkle tree hash over already-hashed leaves."""
    if len(hashes) == 1:
        return hashes[0]
    k = 1
    while k * 2 < len(hashes):
        k *= 2
    return sha256(b"\x01" + mth(hashes[:k]) + mth(hashes[k:]))


def inclusion_path(m, hashes):
    """RFC 9162 section 2.1.3.1 PATH(m, D[n]) over already-hashed leaves."""
    if len(hashes) == 1:
        return []
    k = 1
    while k * 2 < len(hashes):
        k *= 2
    if m < k:
        return inclusion_path(m, hashes[:k]) + [mth(hashes[k:])]
    return inclusion_path(m - k, hashes[k:]) + [mth(hashes[:k])]


def root_from_inclusion(index, size, leaf_h, path):
    """RFC 9162 section 2.1.3.2, the verifier's loop (checks our PATH)."""
    assert index < size
    fn, sn, r = index, size - 1, leaf_h
    for p in path:
        assert sn != 0
        if fn & 1 or fn == sn:
            r = sha256(b"\x01" + p + r)
            if not fn & 1:
                while True:
                    fn >>= 1
                    sn >>= 1
                    if fn & 1 or fn == 0:
                        break
        else:
            r = sha256(b"\x01" + r + p)
        fn >>= 1
        sn >>= 1
    assert sn == 0
    return r


# --- index.md "What it maps" ----------------------------------------------

def index_value_hash(version, state_commitment):
    # SHA-256(0x12 || u64 version || state commitment)
    return sha256(b"\x12" + u64(version) + state_commitment)


# --- history: records.json's five records as leaves 0..4 -------------------

LEAF_TIME0 = 1764270000000 + 500


def history(alice_position):
    recs, _old_state = kv.records()
    # They must be exactly the bytes of the existing vectors.
    with open(os.path.join(TESTDATA, "records.json")) as f:
        existing = [r["record"] for r in json.load(f)["records"]]
    assert [r["record"] for r in recs] == existing, "records.json differs"
    acct = Account()
    out = []
    for i, r in enumerate(recs):
        data = bytes.fromhex(r["record"])
        assert r["account_id"] == "alice@example.com"
        acct.apply(i, data)
        state = acct.encode()
        st = decode_state(state)
        # The anchor: the signer of the record of the version-1 leaf (leaf 0).
        check_state_authorised(st, decode_record(bytes.fromhex(recs[0]["record"]))["account_key"])
        version = i + 1
        assert acct.version == version
        ro = sha256(b"record opening %d" % i)[:16]
        so = sha256(b"state opening %d" % i)[:16]
        rc = commitment(ro, KIND_RECORD, acct.id, version, data)
        sc = commitment(so, KIND_STATE, acct.id, version, state)
        ts = LEAF_TIME0 + 1000 * i
        leaf = log_leaf(alice_position, version, ts, rc, sc)
        out.append({
            "leaf_index": i,
            "operation": r["operation"],
            "record": data.hex(),
            "record_hash": sha256(data).hex(),
            "account_state": state.hex(),
            "account_state_first_key": acct.first_key.hex(),
            "account_state_account_key": acct.key.hex(),
            "account_state_devices": [d.decode() for d in sorted(acct.devices)],
            "account_state_key_chain_leaf_indexes": [li for li, _ in acct.key_chain()],
            "record_opening": ro.hex(),
            "state_opening": so.hex(),
            "record_commitment": rc.hex(),
            "state_commitment": sc.hex(),
            "position": alice_position.hex(),
            "version": version,
            "timestamp_ms": ts,
            "leaf": leaf.hex(),
            "leaf_hash": leaf_hash(leaf).hex(),
            "index_value_hash": index_value_hash(version, sc).hex(),
        })
    return out, acct


# --- index.md "Lookups and histories": the first-record anchor -------------

def first_record_anchor(hist, account_id):
    """The anchor a lookup of the history account carries when asked
    (with_first_record) at the tree of the five history leaves: its
    version-1 leaf with the inclusion proof, the record and the record
    opening (no state opening); checked as a contact does."""
    size = len(hist)
    hashes = [bytes.fromhex(h["leaf_hash"]) for h in hist]
    root = mth(hashes)
    first = [h for h in hist if h["version"] == 1]
    assert len(first) == 1
    h = first[0]
    i = h["leaf_index"]
    leaf, record = bytes.fromhex(h["leaf"]), bytes.fromhex(h["record"])
    opening = bytes.fromhex(h["record_opening"])
    path = inclusion_path(i, hashes)
    # The contact's checks: the leaf is in the tree of that size, ...
    assert root_from_inclusion(i, size, leaf_hash(leaf), path) == root
    # ... decodes, is at the account's position with version 1, ...
    assert len(leaf) == 113 and leaf[0] == 2
    position, version = leaf[1:33], struct.unpack(">Q", leaf[33:41])[0]
    assert position.hex() == h["position"] and version == 1
    # ... its record commitment opens to the record, ...
    assert commitment(opening, KIND_RECORD, account_id, 1, record) == leaf[49:81]
    # ... which is a signed add-device of this account with version 1; its
    # signing key is the first key every state of the account must carry.
    rec = decode_record(record)
    assert record_signature_ok(rec)
    assert rec["op"] == OP_ADD and rec["account"] == account_id and rec["version"] == 1
    for e in hist:
        st = decode_state(bytes.fromhex(e["account_state"]))
        assert st["first_key"] == rec["account_key"]
        check_state_authorised(st, rec["account_key"])
    return {
        "account_id": account_id,
        "tree_size": size,
        "log_root": root.hex(),
        "position": h["position"],
        "leaf_index": i,
        "leaf": leaf.hex(),
        "inclusion_proof": [x.hex() for x in path],
        "record": record.hex(),
        "record_opening": opening.hex(),
        "state_opening": "",
        "first_key": rec["account_key"].hex(),
    }


# --- index.md "Tree", "Proofs" ---------------------------------------------

def verify_index_proof(root, key, proof, value_hash):
    """An independent fold of an encoded proof (index.md "Proofs"); returns
    the kind. value_hash is required for membership."""
    r = Reader(proof)
    kind = r.u8()
    depth = r.u16()
    assert kind in (1, 2, 3) and depth <= 256
    bitmap = r.take((depth + 7) // 8)
    sibs = []
    for i in range(depth):
        if bitmap[i // 8] & (0x80 >> (i % 8)):
            h = r.take(32)
            assert h != kv.EMPTY
            sibs.append(h)
        else:
            sibs.append(kv.EMPTY)
    for i in range(depth, len(bitmap) * 8):
        assert not bitmap[i // 8] & (0x80 >> (i % 8))
    if kind == 1:
        h = kv.ileaf(key, value_hash)
    elif kind == 2:
        h = kv.EMPTY
    else:
        ok, ov = r.take(32), r.take(32)
        assert ok != key
        assert all(kv.bit(ok, i) == kv.bit(key, i) for i in range(depth))
        h = kv.ileaf(ok, ov)
    r.end()
    for i in range(depth - 1, -1, -1):
        h = kv.inode(h, sibs[i]) if kv.bit(key, i) == 0 else kv.inode(sibs[i], h)
    assert h == root
    return kind


KIND_NAMES = {1: "membership", 2: "absent-empty", 3: "absent-other-leaf"}


def index_vectors(accounts, alice_last):
    """accounts: the item-2 VRF dicts; alice_last: her last history leaf."""
    entries_out, value = [], {}
    for a in accounts:
        pos = bytes.fromhex(a["position"])
        if a["account_id"] == "alice@example.com":
            # Alice's value is that of her latest leaf (index.md: "from the
            # account's latest leaf").
            version = alice_last["version"]
            sc = bytes.fromhex(alice_last["state_commitment"])
        else:
            version = 1
            sc = sha256(b"state of " + a["account_id"].encode())
        vh = index_value_hash(version, sc)
        assert pos not in value
        value[pos] = vh
        entries_out.append({"account_id": a["account_id"], "position": pos.hex(),
                            "version": version, "state_commitment": sc.hex(),
                            "value_hash": vh.hex()})
    entries = sorted(value.items())
    root = kv.iroot(entries)
    proofs = []
    for a in accounts:
        pos = bytes.fromhex(a["position"])
        kind, sib, other = kv.iprove(entries, pos)
        assert kind == 1
        enc = kv.encode_proof(kind, sib, other)
        assert verify_index_proof(root, pos, enc, value[pos]) == 1
        proofs.append({"account_id": a["account_id"], "position": pos.hex(),
                       "value_hash": value[pos].hex(), "kind": KIND_NAMES[kind],
                       "proof": enc.hex()})
    # Beyond the three named absent accounts (whose paths all end in another
    # account's leaf), the first "nobodyN@example.org" whose path ends in an
    # empty subtree, so that both absence kinds are covered.
    n = 0
    while kv.iprove(entries, bytes.fromhex(vrf_account("nobody%d@example.org" % n)["position"]))[0] != 2:
        n += 1
        assert n < 10000, "no empty subtree in this index"
    for name in ABSENT + ["nobody%d@example.org" % n]:
        v = vrf_account(name)
        pos = bytes.fromhex(v["position"])
        assert pos not in value
        kind, sib, other = kv.iprove(entries, pos)
        assert kind in (2, 3)
        enc = kv.encode_proof(kind, sib, other)
        assert verify_index_proof(root, pos, enc, None) == kind
        proofs.append({"account_id": name, "alpha": v["alpha"], "position": pos.hex(),
                       "vrf_proof": v["proof"], "value_hash": None,
                       "kind": KIND_NAMES[kind], "proof": enc.hex()})
    return {"entries": entries_out, "root": root.hex(), "proofs": proofs}


# --- invalid account states -------------------------------------------------

def encode_raw_state(account_id, first_key, key, version, devices, chain):
    """Format-3 layout from explicit parts, to build invalid states.
    devices / chain: lists of (leaf index, record bytes), written as given."""
    out = b"\x03" + u16p(account_id.encode()) + first_key + key + u64(version)
    out += u16(len(devices))
    for li, rec in devices:
        out += u64(li) + u16p(rec)
    out += u16(len(chain))
    for li, rec in chain:
        out += u64(li) + u16p(rec)
    return out


def encode_format2_state(account_id, key, version, devices, chain):
    """The format-2 layout (ktlog before format 3: no first key), only to
    build a state a format-3 decoder must refuse."""
    out = b"\x02" + u16p(account_id.encode()) + key + u64(version)
    out += u16(len(devices))
    for li, rec in devices:
        out += u64(li) + u16p(rec)
    out += u16(len(chain))
    for li, rec in chain:
        out += u64(li) + u16p(rec)
    return out


def invalid_states(hist):
    recs = [bytes.fromhex(h["record"]) for h in hist]
    final = bytes.fromhex(hist[4]["account_state"])      # laptop, phone; chain [3]
    after1 = bytes.fromhex(hist[1]["account_state"])     # laptop, phone; no chain
    aid = "alice@example.com"
    key1 = decode_record(recs[0])["account_key"]         # the first key
    key2 = decode_record(recs[3])["key"]                 # set by the rotation
    chain_field = len(final) - (2 + 8 + 2 + len(recs[3]))   # offset of the chain length
    assert final[chain_field:chain_field + 2] == u16(1)
    first_key_field = 1 + 2 + len(aid)                   # offset of the first key
    assert final[first_key_field:first_key_field + 32] == key1
    count_field = first_key_field + 32 + 32 + 8          # offset of the device count
    assert final[count_field:count_field + 2] == u16(2)
    # The encoding helper must reproduce the valid states byte for byte.
    assert encode_raw_state(aid, key1, key2, 5, [(1, recs[1]), (4, recs[4])], [(3, recs[3])]) == final
    assert encode_raw_state(aid, key1, key1, 2, [(1, recs[1]), (0, recs[0])], []) == after1
    format2_final = encode_format2_state(aid, key2, 5, [(1, recs[1]), (4, recs[4])], [(3, recs[3])])
    cases = [
        ("trailing byte after the key chain (final state of the history + 0x00)",
         final + b"\x00"),
        ("device entries not sorted by device id (phone before laptop, state after leaf 1)",
         encode_raw_state(aid, key1, key1, 2, [(0, recs[0]), (1, recs[1])], [])),
        ("device entries with the same device id twice (laptop, laptop: not strictly sorted)",
         encode_raw_state(aid, key1, key1, 2, [(1, recs[1]), (1, recs[1])], [])),
        ("device record that is not an add-device (the remove-device record of phone in "
         "phone's place; otherwise the state after leaf 1, version 3)",
         encode_raw_state(aid, key1, key1, 3, [(1, recs[1]), (2, recs[2])], [])),
        ("key chain longer than its count says (final state with count 0 and the rotation "
         "still following)",
         final[:chain_field] + u16(0) + final[chain_field + 2:]),
        ("key chain shorter than its count says (final state with count 2 and one rotation)",
         final[:chain_field] + u16(2) + final[chain_field + 2:]),
        ("key chain record that is not a rotation (the add-device of leaf 4 in the chain)",
         encode_raw_state(aid, key1, key2, 5, [(1, recs[1]), (4, recs[4])], [(4, recs[4])])),
        ("device count larger than the entries that follow (count 3, two entries)",
         final[:count_field] + u16(3) + final[count_field + 2:]),
        ("device record with a trailing byte inside its u16+n",
         encode_raw_state(aid, key1, key2, 5, [(1, recs[1] + b"\x00"), (4, recs[4])],
                          [(3, recs[3])])),
        ("format byte 0x01 (otherwise the final state of the history)",
         b"\x01" + final[1:]),
        ("empty input", b""),
        # Specific to format 3.
        ("format byte 0x02 (otherwise the final state of the history, format-3 layout)",
         b"\x02" + final[1:]),
        ("a format-2 state: the final state of the history as format 2 encoded it "
         "(format byte 0x02, no first key)",
         format2_final),
        ("the format-2 layout under format byte 0x03 (the final state without its first key)",
         b"\x03" + format2_final[1:]),
        ("format byte 0x04 (otherwise the final state of the history)",
         b"\x04" + final[1:]),
        ("truncated inside the first key (the final state's first %d bytes: format, "
         "account id and 16 of the first key's 32 bytes)" % (first_key_field + 16),
         final[:first_key_field + 16]),
        ("truncated after the first key (format, account id and first key only)",
         final[:first_key_field + 32]),
        ("key chain of 101 rotations (the final state with the rotation of leaf 3 101 "
         "times; at most 100)",
         encode_raw_state(aid, key1, key2, 5, [(1, recs[1]), (4, recs[4])],
                          [(3, recs[3])] * 101)),
    ]
    out = []
    for why, data in cases:
        try:
            decode_state(data)
        except DecodeError:
            pass
        else:
            raise AssertionError("our decoder accepts: " + why)
        out.append({"why": why, "state": data.hex()})
    return out


def unauthorised_states(hist, anchor):
    """Well-formed format-3 states whose authority does not descend from the
    account's first record: each decodes with our strict decoder, and each
    fails check_state_authorised with the anchor's first key."""
    recs = [bytes.fromhex(h["record"]) for h in hist]
    aid = "alice@example.com"
    key1 = decode_record(recs[0])["account_key"]
    key2 = decode_record(recs[3])["key"]
    assert bytes.fromhex(anchor["first_key"]) == key1
    _, alice1 = kv.seed_key("vector alice account key 1")
    assert kv.pub(alice1) == key1
    _, made_up = kv.seed_key("vector key the log made up")
    _, laptop = kv.seed_key("vector alice laptop")
    phone = decode_record(recs[4])["key"]
    t = 1764270000000
    # phone re-added at version 5 but signed by the first key, which the
    # rotation of version 4 replaced.
    phone_by_old_key = kv.record("add-device", aid, "phone", phone, 5, t + 4000, alice1)
    # The log's own account: its first record signed by a key it made up.
    laptop_by_made_up = kv.record("add-device", aid, "laptop", kv.pub(laptop), 1, t, made_up)
    mk = kv.pub(made_up)
    devices5 = [(1, recs[1]), (4, recs[4])]
    cases = [
        ("first key that did not sign the first record: the final state of the history "
         "with the rotated key as first key (the chain's rotation is then not signed by "
         "the first key either)",
         encode_raw_state(aid, key2, key2, 5, devices5, [(3, recs[3])])),
        ("the rotation left out of the key chain: the final state with an empty chain, "
         "so the account key is not the first key and phone (version 5) is not signed "
         "by the key in force",
         encode_raw_state(aid, key1, key2, 5, devices5, [])),
        ("account key that is not the key the chain ends at: the final state with the "
         "first key as account key",
         encode_raw_state(aid, key1, key1, 5, devices5, [(3, recs[3])])),
        ("device record signed by a key not in force at its version: the final state "
         "with phone's add-device (version 5) signed by the first key, which the "
         "rotation at version 4 replaced",
         encode_raw_state(aid, key1, key2, 5, [(1, recs[1]), (4, phone_by_old_key)],
                          [(3, recs[3])])),
        ("consistent in itself but not the account's: first key, account key and the "
         "laptop's add-device (version 1) all of a key the log made up; only the "
         "first-record anchor refuses it",
         encode_raw_state(aid, mk, mk, 1, [(0, laptop_by_made_up)], [])),
    ]
    out = []
    for i, (why, data) in enumerate(cases):
        st = decode_state(data)          # well-formed: a strict decoder accepts it
        try:
            check_state_authorised(st, key1)
        except Unauthorised:
            pass
        else:
            raise AssertionError("our contact check accepts: " + why)
        fails_without_anchor = True
        try:
            check_state_authorised(st)
        except Unauthorised:
            pass
        else:
            fails_without_anchor = False
        # Only the last case needs the anchor to be refused.
        assert fails_without_anchor == (i != len(cases) - 1), why
        out.append({"why": why, "state": data.hex(),
                    "refused_without_first_record": fails_without_anchor})
    return out


def main():
    lk = log_key()
    accounts = [vrf_account(a) for a in ACCOUNTS]
    alice_pos = bytes.fromhex(accounts[0]["position"])
    hist, acct = history(alice_pos)
    log_root = mth([bytes.fromhex(h["leaf_hash"]) for h in hist])
    anchor = first_record_anchor(hist, acct.id)
    assert anchor["log_root"] == log_root.hex()
    vectors = {
        "description": "ktlog private log (docs/formats.md: account state format 3 "
                       "with its first key and whole key chain, VRF positions, "
                       "commitments, log leaf format 2, log key; docs/index.md: index "
                       "keyed by position, a lookup's first-record anchor), generated "
                       "by tools/vectors/gen_private_vectors.py",
        "notes": [
            "all byte strings are hex except log_key's key strings (checkpoint_verifier_key, "
            "log_key, key_file_lines, key_file_vrf_line)",
            "vrf_seed = SHA-256('vector log vrf key'); VRF is RFC 9381 "
            "ECVRF-EDWARDS25519-SHA512-TAI, position = beta[:32]",
            "alpha = 'ktlog/v1 account\\n' || account id",
            "history: records.json records 0..4 at leaf indexes 0..4; record opening i = "
            "SHA-256('record opening i')[:16], state opening i = SHA-256('state opening i')[:16]; "
            "leaf timestamp = 1764270000500 + 1000 i",
            "commitment key K = d821f8790d97709796b4d7903357c3f5",
            "index: every account of 'accounts' with version 1 and state commitment "
            "SHA-256('state of ' || id), except alice, whose value is from her last "
            "history leaf (version 5)",
            "index proofs: membership for every account, then absence for carol, dave, eve "
            "and the first nobodyN@example.org whose proof is absent-empty",
            "history_log_root: RFC 9162 root of the five history leaves; "
            "history_index_root: index root after those five leaves (alice alone)",
            "key_file_lines: the two lines of the log key file (signer key, then "
            "PRIVATE+VRF+base64(seed)), without line terminators",
            "history[i].account_state: the state (format 3) after leaf i; "
            "account_state_first_key: its first key (the key that signed record 0); "
            "account_state_account_key: its current account key; "
            "account_state_devices: its device ids in encoding order; "
            "account_state_key_chain_leaf_indexes: the leaf indexes of its key chain "
            "(every rotation so far, never trimmed)",
            "first_record_anchor: what a lookup of alice at tree size 5 carries when asked "
            "with_first_record (AccountLookup.first_record, a HistoryEntry): leaf_index, "
            "leaf and inclusion_proof (RFC 9162 PATH, leaf to root, in the tree of tree_size "
            "whose root is log_root = history_log_root) of her version-1 leaf, record (her "
            "first record) and record_opening (opens the leaf's record commitment), "
            "state_opening empty; position is the leaf's; first_key is the key that signed "
            "record, which every account_state of the history carries as its first key",
            "invalid_states: byte strings a strict format-3 account state decoder refuses, "
            "each with the reason (why)",
            "unauthorised_states: well-formed format-3 states of alice (our strict decoder "
            "accepts them) whose authority does not descend from her first record: a "
            "contact checking them with first_record_anchor.first_key (the first key must "
            "equal it, the key chain must start from it and end at the account key, every "
            "device record must be signed by the key in force at its version) refuses each; "
            "refused_without_first_record: whether the check refuses it even without the "
            "anchor (false only for a state consistent in itself whose keys the log made up)",
        ],
        "log_key": lk,
        "accounts": accounts,
        "history": hist,
        "history_log_root": log_root.hex(),
        "history_index_root": kv.ileaf(alice_pos, bytes.fromhex(hist[-1]["index_value_hash"])).hex(),
        "index": index_vectors(accounts, hist[-1]),
        "first_record_anchor": anchor,
        "invalid_states": invalid_states(hist),
        "unauthorised_states": unauthorised_states(hist, anchor),
    }
    with open(OUT, "w") as f:
        json.dump(vectors, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
