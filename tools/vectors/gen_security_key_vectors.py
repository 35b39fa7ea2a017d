#!/usr/bin/python3
"""Generates (or checks) tests/testdata/ktlog/security_keys.json.

An independent implementation (Python; `cryptography` for Ed25519 and P-256,
ecvrf.py's RFC 8032 point decoding for the Ed25519 key checks), written from
the text of docs/formats.md only, of:

  - the security-key set encoding          (formats.md "Security-key set")
  - device records of format 1 and 2        (formats.md "Device record,
    (a CTAP2 assertion in format 2)          format version 1", "... 2")
  - the account rules for security keys:    (formats.md "Device record,
    assertion validity, signature counters,  format version 2"; protocol.md
    counters carried over to a new set        "Account rules")
  - account states of format 3 and 4        (formats.md "Account state,
                                             format 3", its format-4
                                             paragraph)
  - a reset (operation 0x05): decoding,     (formats.md "Device record,
    the account rules, the key chain, and    format version 1", its reset
    the reset credential, which --check      paragraph, "Registration
    also compares with the one the doc       credential"; protocol.md
    prints (so it reads docs/formats.md)     "Account rules" rule 4)
  - the lifetime limits of the key chain:   (protocol.md "Account rules"
    100 authority changes other than         rules 3 and 4; formats.md
    resets and, counted apart, 10 resets,    "Account state, format 3",
    in the account rules and the state       the key chain length and
    decoder                                  its key-chain paragraph)
  - a contact's check of a state's key      (formats.md "Account state,
    chain and devices (contact_check: a      format 3", its key-chain
    reset never leads back, no device from   paragraph; protocol.md rule 4;
    before the latest reset), which          verifier.md; client-library.md
    decoding does not do                     BROKEN_KEY_CHAIN and
                                             UNAUTHORIZED_DEVICE)

Everything is derived from fixed inputs: Ed25519 seeds and P-256 scalars are
SHA-256 of fixed tags, timestamps are fixed, and ES256 signatures use RFC 6979
deterministic nonces (checked against RFC 6979 A.2.5), so two runs write
identical bytes. Run from the repository root:

    /usr/bin/python3 tools/vectors/gen_security_key_vectors.py
    /usr/bin/python3 tools/vectors/gen_security_key_vectors.py --check \
        tests/testdata/ktlog/security_keys.json

--check re-verifies an existing file on its own terms (decodes every set,
record and state, verifies every signature, replays the history and re-derives
every expected outcome and the reason for it), then also compares it with a
fresh generation; it exits 1 on any mismatch.
"""
import argparse
import hashlib
import hmac
import json
import os
import re
import struct
import sys

# Import the sibling helper without leaving __pycache__ in the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import ecvrf  # noqa: E402  (RFC 8032 point decoding: canonical, on curve, order)

from cryptography.exceptions import InvalidSignature  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import (  # noqa: E402
    Ed25519PrivateKey, Ed25519PublicKey)
from cryptography.hazmat.primitives.asymmetric.utils import (  # noqa: E402
    decode_dss_signature, encode_dss_signature)

TESTDATA = "tests/testdata/ktlog"
OUT = os.path.join(TESTDATA, "security_keys.json")

RP_ID = "ktlog.example"
ACCOUNT = "alice@example.com"
T0 = 1764270000000                      # records.json's first timestamp


# --- bytes ------------------------------------------------------------------

def sha256(b):
    return hashlib.sha256(b).digest()


def u8(n):
    return bytes([n])


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


# The strict reader of the other formats (u8, u16, u32, u64, u16+n; it
# raises DecodeError on a short or over-long input).
from gen_private_vectors import DecodeError, Reader  # noqa: E402


# --- keys: Ed25519 (EdDSA) and P-256 (ES256) --------------------------------

RAW = serialization.Encoding.Raw
RAW_PUB = serialization.PublicFormat.Raw
X962 = serialization.Encoding.X962
UNCOMPRESSED = serialization.PublicFormat.UncompressedPoint

# SEC 2 / FIPS 186-4 P-256 (checked against cryptography's generator below).
P256_P = 2**256 - 2**224 + 2**192 + 2**96 - 1
P256_B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b
P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551


def ed25519_from_tag(tag):
    seed = sha256(tag.encode())
    return seed, Ed25519PrivateKey.from_private_bytes(seed)


def ed25519_pub(key):
    return key.public_key().public_bytes(RAW, RAW_PUB)


def p256_scalar_from_tag(tag):
    return int.from_bytes(sha256(tag.encode()), "big") % (P256_N - 1) + 1


def p256_pub(d):
    """0x04 || x || y of d*G."""
    return ec.derive_private_key(d, ec.SECP256R1()).public_key().public_bytes(X962, UNCOMPRESSED)


def p256_point_ok(pub):
    """A 65-byte uncompressed SEC1 point on P-256, coordinates below p (the
    point at infinity has no such encoding)."""
    if len(pub) != 65 or pub[0] != 0x04:
        return False
    x, y = int.from_bytes(pub[1:33], "big"), int.from_bytes(pub[33:], "big")
    if x >= P256_P or y >= P256_P:
        return False
    return (y * y - (x * x * x - 3 * x + P256_B)) % P256_P == 0


def rfc6979_k(d, h1):
    """RFC 6979 section 3.2 nonce for P-256 with HMAC-SHA-256 (qlen = hlen =
    256, so bits2int is plain big-endian and bits2octets is mod n)."""
    x = d.to_bytes(32, "big")
    h = (int.from_bytes(h1, "big") % P256_N).to_bytes(32, "big")
    V, K = b"\x01" * 32, b"\x00" * 32
    K = hmac.new(K, V + b"\x00" + x + h, hashlib.sha256).digest()
    V = hmac.new(K, V, hashlib.sha256).digest()
    K = hmac.new(K, V + b"\x01" + x + h, hashlib.sha256).digest()
    V = hmac.new(K, V, hashlib.sha256).digest()
    while True:
        V = hmac.new(K, V, hashlib.sha256).digest()
        k = int.from_bytes(V, "big")
        if 1 <= k < P256_N:
            yield k
        K = hmac.new(K, V + b"\x00", hashlib.sha256).digest()
        V = hmac.new(K, V, hashlib.sha256).digest()


def es256_sign_rs(d, msg):
    """ECDSA P-256 SHA-256 with the RFC 6979 nonce: (r, s). k*G comes from
    `cryptography` (the public key of scalar k)."""
    h1 = sha256(msg)
    e = int.from_bytes(h1, "big")
    for k in rfc6979_k(d, h1):
        r = int.from_bytes(p256_pub(k)[1:33], "big") % P256_N
        if r == 0:
            continue
        s = pow(k, -1, P256_N) * (e + r * d) % P256_N
        if s != 0:
            return r, s


def es256_sign(d, msg):
    """ASN.1 DER ECDSA-Sig-Value, as CTAP2 / WebAuthn ES256 assertions carry,
    with s in the lower half (formats.md: ktlog takes only low-S signatures;
    a client turns s into n - s before sending, which keeps it valid)."""
    r, s = es256_sign_rs(d, msg)
    return encode_dss_signature(r, min(s, P256_N - s))


def es256_verify(pub, sig, msg):
    try:
        if decode_dss_signature(sig)[1] > P256_N // 2:
            return False  # high S: refused (malleable)
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), pub).verify(
            sig, msg, ec.ECDSA(hashes.SHA256()))
        return True
    except (InvalidSignature, ValueError):
        return False


def eddsa_verify(pub, sig, msg):
    try:
        Ed25519PublicKey.from_public_bytes(pub).verify(sig, msg)
        return True
    except (InvalidSignature, ValueError):
        return False


def crypto_selftest():
    # The P-256 constants: cryptography's generator is on our curve equation.
    g = p256_pub(1)
    assert p256_point_ok(g)
    # RFC 6979 A.2.5, P-256, SHA-256, messages "sample" and "test".
    d = 0xC9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721
    assert p256_pub(d).hex() == (
        "04" "60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6"
        "7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299")
    assert next(rfc6979_k(d, sha256(b"sample"))) == \
        0xA6E3C57DD01ABE90086538398355DD4C3B17AA873382B0F24D6129493D8AAD60
    assert es256_sign_rs(d, b"sample") == (
        0xEFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716,
        0xF7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8)
    assert es256_sign_rs(d, b"test") == (
        0xF1ABB023518351CD71D881567B1EA663ED3EFCF6C5132B354F28D3B0B7D38367,
        0x019F4113742A2B14BD25926B49C649155F267E60D3814B4C0CC84250E46F0083)
    assert es256_verify(p256_pub(d), es256_sign(d, b"test"), b"test")
    # Our curve check agrees with cryptography's on a good and a bad point.
    bad = g[:64] + bytes([g[64] ^ 1])
    assert not p256_point_ok(bad)
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), bad)
        raise AssertionError("cryptography accepts a point off the curve")
    except ValueError:
        pass


ES256, EDDSA = 0x01, 0x02
ALG_NAMES = {ES256: "ES256", EDDSA: "EdDSA"}
ALG_BY_NAME = {v: k for k, v in ALG_NAMES.items()}
PUB_LEN = {ES256: 65, EDDSA: 32}


class SecurityKey:
    """A security key: credential id, algorithm, public key and the private
    key material that signs (P-256 scalar or Ed25519 seed)."""

    def __init__(self, name, credential_id, alg, private):
        self.name, self.credential_id, self.alg, self.private = name, credential_id, alg, private
        if alg == ES256:
            self.public_key = p256_pub(private)
        else:
            self.public_key = ed25519_pub(Ed25519PrivateKey.from_private_bytes(private))

    def sign(self, msg):
        if self.alg == ES256:
            return es256_sign(self.private, msg)
        return Ed25519PrivateKey.from_private_bytes(self.private).sign(msg)

    def entry(self):
        """(credential id, algorithm, public key) as a set holds it."""
        return (self.credential_id, self.alg, self.public_key)

    def to_json(self):
        priv = self.private.to_bytes(32, "big") if self.alg == ES256 else self.private
        return {"name": self.name, "credential_id": self.credential_id.hex(),
                "algorithm": ALG_NAMES[self.alg], "public_key": self.public_key.hex(),
                "private_key": priv.hex()}

    @staticmethod
    def from_json(j):
        alg = ALG_BY_NAME[j["algorithm"]]
        priv = bytes.fromhex(j["private_key"])
        key = SecurityKey(j["name"], bytes.fromhex(j["credential_id"]), alg,
                          int.from_bytes(priv, "big") if alg == ES256 else priv)
        if key.public_key.hex() != j["public_key"]:
            raise AssertionError("key %s: public key is not the private key's" % j["name"])
        return key


def credential_id(first_byte, length, tag):
    """A fixed credential id: one chosen first byte (to fix the sort order),
    then SHA-256 output of the tag, repeated as needed."""
    stream = b"".join(sha256(tag.encode() + u8(i)) for i in range(4))
    return u8(first_byte) + stream[:length - 1]


def security_keys():
    """The three security keys of the vectors. Their credential ids have
    different lengths, and bytewise order (es256 < es256-3 < eddsa) differs
    from order by length (16 < 32 < 64 bytes: es256, eddsa, es256-3)."""
    es = SecurityKey("es256", credential_id(0x3a, 16, "vector security key es256 credential"),
                     ES256, p256_scalar_from_tag("vector security key es256"))
    ed = SecurityKey("eddsa", credential_id(0x9c, 32, "vector security key eddsa credential"),
                     EDDSA, sha256(b"vector security key eddsa"))
    es3 = SecurityKey("es256-3", credential_id(0x5e, 64, "vector security key es256-3 credential"),
                      ES256, p256_scalar_from_tag("vector security key es256-3"))
    assert es.credential_id < es3.credential_id < ed.credential_id
    return es, ed, es3


# --- formats.md "Security-key set" ------------------------------------------

SET_FLAG_UV = 0x01


def encode_set_raw(flags, rp_id, entries, count=None):
    """The layout from explicit parts, in the order given (to build invalid
    sets too). entries: (credential id, algorithm, public key)."""
    out = u8(flags) + u16p(rp_id) + u8(len(entries) if count is None else count)
    for cid, alg, pub in entries:
        out += u16p(cid) + u8(alg) + pub
    return out


def encode_set(flags, rp_id, keys):
    """A valid set: keys sorted by credential id, bytewise."""
    return encode_set_raw(flags, rp_id.encode(), sorted(k.entry() for k in keys))


def check_rp_id(b):
    """1..64 bytes of printable UTF-8 without spaces (we refuse every
    whitespace and every non-printable character, Python's str.isprintable)."""
    if not 1 <= len(b) <= 64:
        raise DecodeError("rp id length")
    try:
        s = b.decode("utf-8")
    except UnicodeDecodeError:
        raise DecodeError("rp id not UTF-8")
    if any(c.isspace() or not c.isprintable() for c in s):
        raise DecodeError("rp id not printable without spaces")
    return s


class KeySet:
    def __init__(self, encoding, flags, rp_id, entries):
        self.encoding, self.flags, self.rp_id, self.entries = encoding, flags, rp_id, entries
        self.by_id = {cid: (alg, pub) for cid, alg, pub in entries}

    def requires_uv(self):
        return bool(self.flags & SET_FLAG_UV)


def decode_set(data):
    r = Reader(data)
    flags = r.u8()
    if flags & ~SET_FLAG_UV:
        raise DecodeError("unknown set flag")
    rp_id = check_rp_id(r.u16p())
    count = r.u8()
    if not 2 <= count <= 6:
        raise DecodeError("key count")
    entries, prev = [], None
    for _ in range(count):
        cid = r.u16p()
        if not 1 <= len(cid) <= 128:
            raise DecodeError("credential id length")
        if prev is not None and cid == prev:
            raise DecodeError("duplicate credential id")
        if prev is not None and cid < prev:
            raise DecodeError("credential ids not sorted")
        prev = cid
        alg = r.u8()
        if alg not in PUB_LEN:
            raise DecodeError("unknown algorithm")
        pub = r.take(PUB_LEN[alg])
        if alg == ES256 and not p256_point_ok(pub):
            raise DecodeError("ES256 key not a P-256 point")
        # RFC 8032 decoding (canonical y, on the curve, no x = 0 with the
        # sign bit) and 8*P not the identity.
        if alg == EDDSA and ecvrf.validate_key(pub) is None:
            raise DecodeError("EdDSA key not canonical or of small order")
        entries.append((cid, alg, pub))
    r.end()
    return KeySet(data, flags, rp_id, entries)


# --- formats.md "Device record, format version 1" and "... 2" ---------------

OP_ADD, OP_REMOVE, OP_ROTATE, OP_SET, OP_RESET = 1, 2, 3, 4, 5
OP_NAMES = {OP_ADD: "add-device", OP_REMOVE: "remove-device",
            OP_ROTATE: "rotate-account-key", OP_SET: "set-security-keys",
            OP_RESET: "reset-account"}
AUTHORITY_OPS = (OP_ROTATE, OP_SET, OP_RESET)   # the key chain's records
RECORD_DOMAIN = b"ktlog/v1 device-record\n"
AD_UP, AD_UV, AD_AT, AD_ED = 0x01, 0x04, 0x40, 0x80


def record_body(fmt, op, account, device, key, version, ts):
    """Every field up to the timestamp (format, operation, account id, device
    id, key, account version, timestamp)."""
    return u8(fmt) + u8(op) + u16p(account.encode()) + u16p(device.encode()) + \
        u16p(key) + u64(version) + u64(ts)


def record_v1(op, account, device, key, version, ts, account_key):
    """Format 1: body, the signing Ed25519 account key, its signature over
    the domain prefix and every preceding byte."""
    signed = record_body(1, op, account, device, key, version, ts) + ed25519_pub(account_key)
    return signed + account_key.sign(RECORD_DOMAIN + signed)


def client_data_hash(body):
    """SHA-256 of the signing message: the domain prefix and the body."""
    return sha256(RECORD_DOMAIN + body)


def authenticator_data(rp_id, flags, counter):
    return sha256(rp_id.encode()) + u8(flags) + u32(counter)


def record_v2(body, key, authdata, cdh=None):
    """Format 2: body, then the assertion of `key` over authdata || client
    data hash (the body's own unless `cdh` is given, to build a bad one)."""
    assert body[0] == 2
    sig = key.sign(authdata + (client_data_hash(body) if cdh is None else cdh))
    return body + u16p(key.credential_id) + u16p(authdata) + u16p(sig)


def check_text(b, lo, hi, what):
    if not lo <= len(b) <= hi:
        raise DecodeError("%s length" % what)
    try:
        s = b.decode("utf-8")
    except UnicodeDecodeError:
        raise DecodeError("%s not UTF-8" % what)
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in s):
        raise DecodeError("%s has a control character" % what)
    return s


def decode_record(data):
    """Strict decoder of formats 1 and 2. Returns a dict; raises DecodeError."""
    r = Reader(data)
    fmt = r.u8()
    if fmt not in (1, 2):
        raise DecodeError("record format")
    op = r.u8()
    if op not in OP_NAMES:
        raise DecodeError("record operation")
    if op == OP_RESET and fmt != 1:
        raise DecodeError("reset not in format 1")
    rec = {"format": fmt, "op": op}
    rec["account"] = check_text(r.u16p(), 1, 256, "account id")
    dev, key = r.u16p(), r.u16p()
    if op in (OP_ADD, OP_REMOVE):
        check_text(dev, 1, 64, "device id")
        if not 1 <= len(key) <= 128:
            raise DecodeError("device key length")
    else:
        if dev:
            raise DecodeError("device id in an account-wide record")
        if op == OP_ROTATE and len(key) != 32:
            raise DecodeError("rotation key length")
        if op == OP_RESET and len(key) != 32:
            raise DecodeError("reset key length")
        if op == OP_SET:
            rec["set"] = decode_set(key)
    rec["device"], rec["key"] = dev, key
    rec["version"], rec["timestamp"] = r.u64(), r.u64()
    if rec["version"] == 0:
        raise DecodeError("account version 0")
    rec["body"] = data[:r.off]
    if fmt == 1:
        rec["account_key"] = r.take(32)
        rec["signature"] = r.take(64)
        r.end()
        if op == OP_ROTATE and key == rec["account_key"]:
            raise DecodeError("rotation to the signing key")
        if op == OP_RESET and key != rec["account_key"]:
            raise DecodeError("reset key not the signing key")
        rec["signed"] = RECORD_DOMAIN + data[:-64]
    else:
        rec["credential_id"] = r.u16p()
        if not 1 <= len(rec["credential_id"]) <= 128:
            raise DecodeError("credential id length")
        ad = r.u16p()
        if len(ad) != 37:
            raise DecodeError("authenticator data length")
        if ad[32] & (AD_AT | AD_ED):
            raise DecodeError("authenticator data AT or ED flag")
        rec["authdata"], rec["rp_hash"], rec["flags"] = ad, ad[:32], ad[32]
        rec["counter"] = struct.unpack(">I", ad[33:])[0]
        rec["signature"] = r.u16p()
        if not 1 <= len(rec["signature"]) <= 72:
            raise DecodeError("signature length")
        r.end()
        rec["client_data_hash"] = client_data_hash(rec["body"])
    return rec


def split_record_v2(data):
    """Layout-only split of a format-2 record (no field checks), to check the
    signature of a record the strict decoder refuses:
    (body, credential id, authenticator data, signature)."""
    r = Reader(data)
    r.take(2)
    r.u16p()
    r.u16p()
    r.u16p()
    r.take(16)
    body = data[:r.off]
    cid, ad, sig = r.u16p(), r.u16p(), r.u16p()
    r.end()
    return body, cid, ad, sig


def assertion_signature_ok(alg, pub, ad, cdh, sig):
    return (es256_verify if alg == ES256 else eddsa_verify)(pub, sig, ad + cdh)


# --- account rules (protocol.md) and account state, formats 3 and 4 ----------

MAX_DEVICES = 100
MAX_CHAIN = 100     # authority changes other than resets in an account's life
MAX_RESETS = 10     # resets in its life, counted apart (protocol.md rules 3 and 4)


class Refused(Exception):
    """A record the account rules refuse: `code` the gRPC status name the
    log answers, `why` a short fixed text naming the rule."""

    def __init__(self, code, why):
        super().__init__("%s: %s" % (code, why))
        self.code, self.why = code, why


def chain_counts(chain):
    """(authority changes other than resets, resets) in a key chain of
    (leaf index, record bytes): the operation is the record's second byte
    in formats 1 and 2."""
    resets = sum(1 for _, data in chain if data[1] == OP_RESET)
    return len(chain) - resets, resets


def authority_of(rec):
    """The authority an authority-change record sets: ("key", Ed25519 key)
    for a rotation or a reset, ("set", the set's encoding) for a
    set-security-keys (a set's encoding is canonical, so equal authorities
    are equal bytes)."""
    return ("set" if rec["op"] == OP_SET else "key", rec["key"])


class Account:
    """The state an account reaches after applying its records in log order.

    Its authority is an Ed25519 account key (`key`, state format 3) or a
    security-key set (`keyset` with `counters`, credential id -> the count
    of that key's latest record; state format 4). A reset (op 5) sets an
    account key again, whatever the authority was."""

    def __init__(self, rp_id=RP_ID):
        self.rp_id = rp_id      # the log's relying party id: sets for another are refused
        self.id = None          # account id (str); None: does not exist yet
        self.first_key = None   # the Ed25519 key that signed the version-1 record
        self.key = None         # the Ed25519 account key, or None on security keys
        self.keyset = None      # KeySet, or None on an account key
        self.counters = {}      # credential id -> signature counter
        self.version = 0
        self.devices = {}       # device id bytes -> (leaf index, add-device record bytes)
        self.chain = []         # (leaf index, record bytes) of every op 3, 4 and 5, oldest first
        # The lifetime limits of the account rules (a check lifts one to
        # show that a record refused at the limit is otherwise valid).
        self.max_changes, self.max_resets = MAX_CHAIN, MAX_RESETS

    def authority(self):
        """The account's current authority, as authority_of gives it."""
        if self.keyset is None:
            return ("key", self.key)
        return ("set", self.keyset.encoding)

    def authorities(self):
        """(every authority the account ever had: its first key and what each
        key-chain entry set; those in force before its latest reset, an empty
        set without one)."""
        ever, before_reset = [("key", self.first_key)], set()
        for _, data in self.chain:
            rec = decode_record(data)
            if rec["op"] == OP_RESET:
                before_reset = set(ever)
            ever.append(authority_of(rec))
        return set(ever), before_reset

    def authorize(self, rec):
        """Rule 2 for either authority: PERMISSION_DENIED unless the record
        is of the account's authority."""
        if self.keyset is None:
            if rec["format"] != 1:
                raise Refused("PERMISSION_DENIED", "assertion on an account key")
            if rec["account_key"] != self.key:
                raise Refused("PERMISSION_DENIED", "not the account key")
            return
        if rec["format"] != 2:
            raise Refused("PERMISSION_DENIED", "account-key signature on security keys")
        ks = self.keyset
        if rec["credential_id"] not in ks.by_id:
            raise Refused("PERMISSION_DENIED", "credential not in the set")
        alg, pub = ks.by_id[rec["credential_id"]]
        if rec["rp_hash"] != sha256(ks.rp_id.encode()):
            raise Refused("PERMISSION_DENIED", "rp id hash")
        if not rec["flags"] & AD_UP:
            raise Refused("PERMISSION_DENIED", "user presence")
        if ks.requires_uv() and not rec["flags"] & AD_UV:
            raise Refused("PERMISSION_DENIED", "user verification")
        if not assertion_signature_ok(alg, pub, rec["authdata"], rec["client_data_hash"],
                                      rec["signature"]):
            raise Refused("PERMISSION_DENIED", "assertion signature")

    def apply(self, leaf_index, data):
        try:
            rec = decode_record(data)
        except DecodeError as e:
            raise Refused("INVALID_ARGUMENT", "malformed: " + e.why)
        # The log requires a format-1 signature to verify (protocol.md).
        if rec["format"] == 1 and not eddsa_verify(rec["account_key"], rec["signature"],
                                                   rec["signed"]):
            raise Refused("INVALID_ARGUMENT", "record signature")
        if rec["op"] == OP_SET and rec["set"].rp_id != self.rp_id:
            raise Refused("INVALID_ARGUMENT", "set for another relying party")
        if self.id is None:
            # Rule 1: the first record is a format-1 add-device of version 1.
            if rec["format"] != 1 or rec["op"] != OP_ADD:
                raise Refused("NOT_FOUND", "no such account")
            if rec["version"] != 1:
                raise Refused("FAILED_PRECONDITION", "account version")
            self.id = rec["account"]
            self.first_key = self.key = rec["account_key"]
        else:
            if rec["account"] != self.id:
                raise Refused("INVALID_ARGUMENT", "another account")
            # Rule 4: a reset is the one record the current authority does
            # not authorize (the decoder made sure the new key signed it,
            # and its signature verified above).
            if rec["op"] != OP_RESET:
                self.authorize(rec)
            if rec["version"] != self.version + 1:
                raise Refused("FAILED_PRECONDITION", "account version")
            if rec["format"] == 2:
                n, held = rec["counter"], self.counters[rec["credential_id"]]
                if (n != 0 or held != 0) and n <= held:
                    raise Refused("FAILED_PRECONDITION", "signature counter not growing")
        dev = rec["device"]
        if rec["op"] == OP_ADD:
            if dev in self.devices:
                raise Refused("ALREADY_EXISTS", "device active")
            if len(self.devices) >= MAX_DEVICES:
                raise Refused("FAILED_PRECONDITION", "too many devices")
        elif rec["op"] == OP_REMOVE:
            if dev not in self.devices:
                raise Refused("NOT_FOUND", "device not active")
            if decode_record(self.devices[dev][1])["key"] != rec["key"]:
                raise Refused("FAILED_PRECONDITION", "removal of another key")
        else:
            # Rules 3 and 4: at most 100 authority changes other than
            # resets, and apart from them at most 10 resets, in its life.
            changes, resets = chain_counts(self.chain)
            if rec["op"] == OP_RESET and resets >= self.max_resets:
                raise Refused("FAILED_PRECONDITION", "11th reset")
            if rec["op"] != OP_RESET and changes >= self.max_changes:
                raise Refused("FAILED_PRECONDITION", "101st authority change")
        if rec["op"] in AUTHORITY_OPS:
            new = authority_of(rec)
            ever, before_reset = self.authorities()
            # Rule 3: setting the authority the account has (a reset too).
            if new == self.authority():
                raise Refused("FAILED_PRECONDITION", "the authority the account has")
            # Rule 4, a reset never leads back: its key was never the
            # account's authority, and no change after a reset sets one in
            # force before it (the reset's own key, or one set after it, is
            # fine).
            if rec["op"] == OP_RESET and new in ever:
                raise Refused("FAILED_PRECONDITION", "reset to a former authority")
            if new in before_reset:
                raise Refused("FAILED_PRECONDITION", "authority from before a reset")
        # Accepted: the record's counter first, then the operation.
        if rec["format"] == 2:
            self.counters[rec["credential_id"]] = rec["counter"]
        if rec["op"] == OP_ADD:
            self.devices[dev] = (leaf_index, data)
        elif rec["op"] == OP_REMOVE:
            del self.devices[dev]
        elif rec["op"] == OP_ROTATE:
            self.key, self.keyset, self.counters = rec["key"], None, {}
            self.chain.append((leaf_index, data))
        elif rec["op"] == OP_RESET:
            self.key, self.keyset, self.counters = rec["key"], None, {}
            self.devices = {}
            self.chain.append((leaf_index, data))
        else:
            new = rec["set"]
            old = self.keyset.by_id if self.keyset is not None else {}
            # A key of the previous set (same id, algorithm and public key)
            # keeps its counter; a new key starts at 0.
            self.counters = {cid: self.counters[cid] if old.get(cid) == (alg, pub) else 0
                             for cid, alg, pub in new.entries}
            self.key, self.keyset = None, new
            self.chain.append((leaf_index, data))
        self.version = rec["version"]
        return rec

    def encode(self):
        """Account state, format 3 (account key) or 4 (security keys)."""
        if self.keyset is None:
            out = u8(3) + u16p(self.id.encode()) + self.first_key + self.key
        else:
            out = u8(4) + u16p(self.id.encode()) + self.first_key + u16p(self.keyset.encoding)
            for cid, _, _ in self.keyset.entries:          # in the set's order
                out += u32(self.counters[cid])
        out += u64(self.version) + u16(len(self.devices))
        for dev in sorted(self.devices):                    # by device id, bytewise
            leaf_index, data = self.devices[dev]
            out += u64(leaf_index) + u16p(data)
        out += u16(len(self.chain))
        for leaf_index, data in self.chain:                 # oldest first
            out += u64(leaf_index) + u16p(data)
        return out

    @staticmethod
    def decode(data, rp_id=RP_ID):
        """A strict decoder of formats 3 and 4 (layout and what each entry
        is; whether the authority descends from the first key, a reset never
        leads back and no device is older than the latest reset is
        contact_check's, formats.md: "decoding checks neither")."""
        a = Account(rp_id)
        r = Reader(data)
        fmt = r.u8()
        if fmt not in (3, 4):
            raise DecodeError("state format")
        a.id = check_text(r.u16p(), 1, 256, "account id")
        a.first_key = r.take(32)
        if fmt == 3:
            a.key = r.take(32)
        else:
            a.keyset = decode_set(r.u16p())
            a.counters = {cid: r.u32() for cid, _, _ in a.keyset.entries}
        a.version = r.u64()
        count = r.u16()
        if count > MAX_DEVICES:
            raise DecodeError("too many devices")
        prev = None
        for _ in range(count):
            leaf_index, rec_bytes = r.u64(), r.u16p()
            rec = decode_record(rec_bytes)
            if rec["op"] != OP_ADD or rec["account"] != a.id or rec["version"] > a.version:
                raise DecodeError("device entry")
            if prev is not None and not prev < rec["device"]:
                raise DecodeError("device entries not strictly sorted")
            prev = rec["device"]
            a.devices[rec["device"]] = (leaf_index, rec_bytes)
        count = r.u16()
        changes = resets = 0    # at most 100 changes that are not resets, and 10 resets
        for _ in range(count):
            leaf_index, rec_bytes = r.u64(), r.u16p()
            rec = decode_record(rec_bytes)
            if rec["op"] not in AUTHORITY_OPS or rec["account"] != a.id:
                raise DecodeError("key chain entry")
            if rec["op"] == OP_RESET:
                resets += 1
                if resets > MAX_RESETS:
                    raise DecodeError("too many resets in the key chain")
            else:
                changes += 1
                if changes > MAX_CHAIN:
                    raise DecodeError("key chain too long")
            a.chain.append((leaf_index, rec_bytes))
        r.end()
        if a.encode() != data:
            raise DecodeError("not the canonical encoding")
        return a


def replay_state(state):
    """Checks a state whose records are all still in it (no device removed):
    applies its device and chain records in leaf order, from leaf 0 with no
    gap, to a new account and requires the same state. Returns the Account."""
    st = Account.decode(state)
    recs = sorted(list(st.devices.values()) + st.chain)
    assert [i for i, _ in recs] == list(range(len(recs))), "state does not hold every record"
    a = Account()
    for i, data in recs:
        a.apply(i, data)
    assert a.encode() == state, "replaying the state's records gives another state"
    return a


# --- a contact's check of a state (formats.md "Account state, format 3", the
# key chain; protocol.md rule 4; verifier.md: verifier/lookup.h does it, not
# decoding) --------------------------------------------------------------------

class ContactRefused(Exception):
    """A state a contact refuses: `refusal` the typed refusal
    (client-library.md: BROKEN_KEY_CHAIN, UNAUTHORIZED_DEVICE), `why` a short
    fixed text naming the check."""

    def __init__(self, refusal, why):
        super().__init__("%s: %s" % (refusal, why))
        self.refusal, self.why = refusal, why


def signed_by(authority, rec, rp_id=RP_ID):
    """Whether `rec` (decoded) is signed by `authority` (authority_of's
    form): a format-1 record by that Ed25519 key, its signature verifying; a
    format-2 one with an assertion of a key of that set (rp id hash, user
    presence, user verification if the set requires it, signature). A
    contact sees no counters but the state's, so it checks none."""
    kind, value = authority
    if rec["format"] == 1:
        return kind == "key" and rec["account_key"] == value and \
            eddsa_verify(rec["account_key"], rec["signature"], rec["signed"])
    if kind != "set":
        return False
    a = Account(rp_id)
    a.keyset = decode_set(value)
    try:
        a.authorize(rec)
    except Refused:
        return False
    return True


def contact_check(state, rp_id=RP_ID, reset_rule=True, device_age=True):
    """What a contact checks of a state it was shown (but the first-record
    anchor, which needs the log's version-1 leaf): the key chain descends by
    signatures from the first key (each entry signed by the authority the one
    before set; a reset by its own key) and ends at the account's authority;
    a reset never leads back (its key was never an authority of the chain
    before it, and no later entry sets an authority in force before a
    reset): BROKEN_KEY_CHAIN; each device is an add-device signed by the
    authority in force at its version, and none was added at the latest
    reset's version or before it (nor at its leaf or before):
    UNAUTHORIZED_DEVICE. reset_rule / device_age False skip those two checks
    (to show a vector has no other defect). Returns the decoded Account;
    raises DecodeError (not a state) or ContactRefused."""
    a = Account.decode(state, rp_id)
    authority = ("key", a.first_key)
    ever, before_reset = [authority], set()
    timeline = [(1, authority)]     # (first version it authorizes, authority)
    latest_reset, prev_version = None, 1
    for leaf_index, data in a.chain:
        rec = decode_record(data)
        if rec["version"] <= prev_version or rec["version"] > a.version:
            raise ContactRefused("BROKEN_KEY_CHAIN", "key chain versions")
        prev_version = rec["version"]
        new = authority_of(rec)
        if rec["op"] == OP_RESET:
            # The decoder made sure its key field is its signing key.
            if not eddsa_verify(rec["account_key"], rec["signature"], rec["signed"]):
                raise ContactRefused("BROKEN_KEY_CHAIN", "reset signature")
            if reset_rule and new in ever:
                raise ContactRefused("BROKEN_KEY_CHAIN", "reset to a former authority")
            before_reset = set(ever)
            latest_reset = (leaf_index, rec["version"])
        else:
            if not signed_by(authority, rec, rp_id):
                raise ContactRefused("BROKEN_KEY_CHAIN", "not signed by the authority before it")
            if reset_rule and new in before_reset:
                raise ContactRefused("BROKEN_KEY_CHAIN", "authority from before a reset")
        ever.append(new)
        authority = new
        timeline.append((rec["version"] + 1, new))
    if authority != a.authority():
        raise ContactRefused("BROKEN_KEY_CHAIN", "chain does not end at the account's authority")
    for leaf_index, data in a.devices.values():
        rec = decode_record(data)
        in_force = [auth for v, auth in timeline if v <= rec["version"]][-1]
        if not signed_by(in_force, rec, rp_id):
            raise ContactRefused("UNAUTHORIZED_DEVICE",
                                 "not signed by the authority in force at its version")
        if device_age and latest_reset is not None and \
                (leaf_index <= latest_reset[0] or rec["version"] <= latest_reset[1]):
            raise ContactRefused("UNAUTHORIZED_DEVICE", "device older than the latest reset")
    return a


# --- the vectors ------------------------------------------------------------

def ts(i):
    return T0 + 1000 * i


class Inputs:
    """Every fixed input of the vectors."""

    def __init__(self):
        self.es, self.ed, self.es3 = security_keys()
        _, self.alice1 = ed25519_from_tag("vector alice account key 1")
        self.phone = ed25519_pub(ed25519_from_tag("vector alice phone")[1])
        self.laptop = ed25519_pub(ed25519_from_tag("vector alice laptop")[1])
        self.tablet = ed25519_pub(ed25519_from_tag("vector alice tablet")[1])
        self.desktop = ed25519_pub(ed25519_from_tag("vector alice desktop")[1])
        # The reset: the new account key (not records.json's rotation key,
        # 'vector alice account key 2') and the phone it adds.
        self.reset_seed, self.reset_key = ed25519_from_tag("vector alice reset account key")
        self.reset_pub = ed25519_pub(self.reset_key)
        self.phone_after_reset = ed25519_pub(ed25519_from_tag("vector alice phone after reset")[1])
        # The controls of the invalid_resets cases after the reset: an
        # account key and a set never in force.
        _, self.after_reset_key = ed25519_from_tag("vector alice account key after reset")
        self.after_reset_pub = ed25519_pub(self.after_reset_key)
        self.set = encode_set(0, RP_ID, [self.es, self.ed])
        self.set_uv = encode_set(SET_FLAG_UV, RP_ID, [self.es, self.ed])
        self.new_set = encode_set(0, RP_ID, [self.es, self.ed, self.es3])
        self.after_reset_set = encode_set(0, RP_ID, [self.ed, self.es3])


def v2(op, device, key, version, t, signer, flags, counter):
    """A format-2 record of alice with a valid assertion."""
    body = record_body(2, op, ACCOUNT, device, key, version, t)
    return record_v2(body, signer, authenticator_data(RP_ID, flags, counter))


def history_records(k, set_for_entry_2=None, laptop_flags=AD_UP):
    """The six records of the history (leaf index = position); with
    set_for_entry_2 the variant whose second record installs that set."""
    return [
        ("format-1 add-device phone, version 1 (records.json record 0)",
         record_v1(OP_ADD, ACCOUNT, "phone", k.phone, 1, ts(0), k.alice1)),
        ("format-1 set-security-keys installing set (es256, eddsa; no UV), version 2",
         record_v1(OP_SET, ACCOUNT, "", set_for_entry_2 or k.set, 2, ts(1), k.alice1)),
        ("format-2 add-device laptop by es256, counter 7, flags UP, version 3",
         v2(OP_ADD, "laptop", k.laptop, 3, ts(2), k.es, laptop_flags, 7)),
        ("format-2 remove-device phone by eddsa, counter 0, flags UP|UV, version 4",
         v2(OP_REMOVE, "phone", k.phone, 4, ts(3), k.ed, AD_UP | AD_UV, 0)),
        ("format-2 add-device tablet by eddsa, counter 0 again (held 0), flags UP, version 5",
         v2(OP_ADD, "tablet", k.tablet, 5, ts(4), k.ed, AD_UP, 0)),
        ("format-2 set-security-keys by es256, counter 8, installing new_set (es256, "
         "es256-3, eddsa; no UV): es256 keeps 8, es256-3 starts at 0, version 6",
         v2(OP_SET, "", k.new_set, 6, ts(5), k.es, AD_UP, 8)),
    ]


def history(k):
    a = Account()
    out = []
    for i, (desc, data) in enumerate(history_records(k)):
        rec = a.apply(i, data)
        e = {"leaf_index": i, "description": desc, "record": data.hex()}
        if rec["format"] == 2:
            e["client_data_hash"] = rec["client_data_hash"].hex()
        e["state"] = a.encode().hex()
        out.append(e)
    return out


def uv_state(k):
    """The state (version 3) of the history variant on set_uv: phone, set_uv,
    laptop by es256 with counter 7 and flags UP|UV."""
    a = Account()
    for i, (_, data) in enumerate(history_records(k, k.set_uv, AD_UP | AD_UV)[:3]):
        a.apply(i, data)
    return a.encode()


# Invalid assertions: reason -> (expected status, the rule our model names).
# Each is a version-4 add-device of "desktop" on the state after history
# entry 3 (version 3: es256 holds 7, eddsa 0) or on uv_state.
INVALID_ASSERTION_REASONS = {}


def invalid_assertions(k, state3, state_uv):
    """(reason, expected, why, record, control record, state or None). The
    control is the same record made valid, which the same state accepts."""
    t = ts(10)

    def body(fmt=2):
        return record_body(fmt, OP_ADD, ACCOUNT, "desktop", k.desktop, 4, t)

    def ad(flags=AD_UP, counter=8, rp=RP_ID):
        return authenticator_data(rp, flags, counter)

    good_es = record_v2(body(), k.es, ad())
    good_ed = record_v2(body(), k.ed, ad(counter=5))
    other = client_data_hash(record_body(2, OP_ADD, ACCOUNT, "desktop", k.desktop, 4, t + 1))
    cases = [
        ("rp id hash of another relying party (SHA-256 of 'evil.example'); es256, counter 8",
         "PERMISSION_DENIED", "rp id hash",
         record_v2(body(), k.es, ad(rp="evil.example")), good_es, None),
        ("user-present flag clear (flags 0x00); eddsa, counter 0",
         "PERMISSION_DENIED", "user presence",
         record_v2(body(), k.ed, ad(flags=0, counter=0)),
         record_v2(body(), k.ed, ad(counter=0)), None),
        ("signature over another client data hash (that of the same record with "
         "timestamp + 1); eddsa, counter 5",
         "PERMISSION_DENIED", "assertion signature",
         record_v2(body(), k.ed, ad(counter=5), cdh=other), good_ed, None),
        ("credential not in the set (es256-3, validly signed by its key), counter 8",
         "PERMISSION_DENIED", "credential not in the set",
         record_v2(body(), k.es3, ad()), good_es, None),
        ("es256 counter 7 again, as the account holds: not growing",
         "FAILED_PRECONDITION", "signature counter not growing",
         record_v2(body(), k.es, ad(counter=7)), good_es, None),
        ("authenticator data with the AT flag (flags 0x41); es256, counter 8",
         "INVALID_ARGUMENT", "malformed: authenticator data AT or ED flag",
         record_v2(body(), k.es, ad(flags=AD_UP | AD_AT)), good_es, None),
        ("authenticator data of 38 bytes (the 37 and a 0x00, signed as such); eddsa, counter 5",
         "INVALID_ARGUMENT", "malformed: authenticator data length",
         record_v2(body(), k.ed, ad(counter=5) + b"\x00"), good_ed, None),
        ("format-1 record signed by the first (Ed25519) account key while the account "
         "is on security keys",
         "PERMISSION_DENIED", "account-key signature on security keys",
         record_v1(OP_ADD, ACCOUNT, "desktop", k.desktop, 4, t, k.alice1), good_es, None),
        ("no user verification (flags 0x01) on a set that requires it: state is the "
         "history's state after entry 3 but with set_uv installed at version 2 and the "
         "laptop added with flags UP|UV; es256, counter 8",
         "PERMISSION_DENIED", "user verification",
         record_v2(body(), k.es, ad()), record_v2(body(), k.es, ad(flags=AD_UP | AD_UV)),
         state_uv),
    ]
    for reason, expected, why, *_ in cases:
        INVALID_ASSERTION_REASONS[reason] = (expected, why)
    return cases


EXTRA_KEYS = []   # (credential id, algorithm, public key) of keys in no set: es256-3


def split_body(record):
    return split_record_v2(record)[0] if record[0] == 2 else decode_record(record)["body"]


def check_invalid_assertion(reason, record, expected, state, control=None):
    """The record is refused with `expected` for exactly the stated reason;
    it is otherwise well formed, of version 4 and, but for a bad-signature
    case, validly signed; the control (if given) is accepted."""
    want_code, want_why = INVALID_ASSERTION_REASONS[reason]
    assert expected == want_code, reason
    base = Account.decode(state)
    try:
        Account.decode(state).apply(3, record)
        raise AssertionError("accepted: " + reason)
    except Refused as e:
        assert (e.code, e.why) == (want_code, want_why), "%s: refused for %s" % (reason, e)
    assert struct.unpack(">Q", split_body(record)[-16:-8])[0] == base.version + 1 == 4, reason
    if record[0] == 1:
        rec = decode_record(record)
        assert rec["account_key"] == base.first_key, reason
        assert eddsa_verify(rec["account_key"], rec["signature"], rec["signed"]), reason
    else:
        body, cid, ad, sig = split_record_v2(record)
        signer = [e for e in base.keyset.entries + EXTRA_KEYS if e[0] == cid]
        assert len(signer) == 1, reason
        signed_ok = assertion_signature_ok(signer[0][1], signer[0][2], ad,
                                           client_data_hash(body), sig)
        assert signed_ok == (want_why != "assertion signature"), reason
    if control is not None:
        Account.decode(state).apply(3, control)


def invalid_sets(k):
    """(reason, decoder refusal, encoding)."""
    rp = RP_ID.encode()
    es, ed = k.es.entry(), k.ed.entry()
    seven = sorted([es, ed] + [
        (u8(0xc0 + i) + b"extra key", EDDSA,
         ed25519_pub(ed25519_from_tag("vector security key extra %d" % i)[1]))
        for i in range(5)])
    off_curve = es[2][:33] + ((int.from_bytes(es[2][33:], "big") + 1) % P256_P).to_bytes(32, "big")
    non_canonical = [e for e, _, _ in ecvrf.non_canonical_encodings()
                     if e[31] & 0x80 == 0 and ecvrf.lax_decode(e) is not None
                     and ecvrf.validate_key(ecvrf.point_to_string(ecvrf.lax_decode(e)))][0]
    not_a_point = ecvrf._not_on_curve_encoding()
    good = encode_set_raw(0, rp, [es, ed])
    assert good == k.set
    return [
        ("one key only (count 1)", "key count", encode_set_raw(0, rp, [es])),
        ("seven keys (count 7, sorted, each valid)", "key count", encode_set_raw(0, rp, seven)),
        ("credential ids not sorted (eddsa's before es256's)", "credential ids not sorted",
         encode_set_raw(0, rp, [ed, es])),
        ("duplicate credential id (the eddsa key under es256's id)", "duplicate credential id",
         encode_set_raw(0, rp, [es, (es[0], EDDSA, ed[2])])),
        ("unknown flag bit (flags 0x02)", "unknown set flag", encode_set_raw(0x02, rp, [es, ed])),
        ("unknown flag bit (flags 0x81)", "unknown set flag", encode_set_raw(0x81, rp, [es, ed])),
        ("unknown algorithm 3 (with eddsa's 32-byte key)", "unknown algorithm",
         encode_set_raw(0, rp, [es, (ed[0], 3, ed[2])])),
        ("ES256 point not on the curve (es256's key with y + 1)", "ES256 key not a P-256 point",
         encode_set_raw(0, rp, [(es[0], ES256, off_curve), ed])),
        ("ES256 key not uncompressed SEC1 (es256's key with prefix 0x02 in place of 0x04)",
         "ES256 key not a P-256 point",
         encode_set_raw(0, rp, [(es[0], ES256, b"\x02" + es[2][1:]), ed])),
        ("EdDSA small-order point (the identity, 01 00..00)",
         "EdDSA key not canonical or of small order",
         encode_set_raw(0, rp, [es, (ed[0], EDDSA, b"\x01" + bytes(31))])),
        ("EdDSA point in non-canonical encoding (y + p for a y of a point not of small order)",
         "EdDSA key not canonical or of small order",
         encode_set_raw(0, rp, [es, (ed[0], EDDSA, non_canonical)])),
        ("EdDSA key that is not a curve point", "EdDSA key not canonical or of small order",
         encode_set_raw(0, rp, [es, (ed[0], EDDSA, not_a_point)])),
        ("trailing byte (set + 0x00)", "trailing bytes", good + b"\x00"),
        ("truncated (set without its last byte)", "runs past the end", good[:-1]),
        ("rp id with a space ('ktlog .example')", "rp id not printable without spaces",
         encode_set_raw(0, b"ktlog .example", [es, ed])),
        ("empty rp id", "rp id length", encode_set_raw(0, b"", [es, ed])),
        ("rp id of 65 bytes", "rp id length", encode_set_raw(0, b"k" * 61 + b".com", [es, ed])),
        ("empty credential id (es256's key under id '')", "credential id length",
         encode_set_raw(0, rp, [(b"", ES256, es[2]), ed])),
        ("credential id of 129 bytes", "credential id length",
         encode_set_raw(0, rp, [(es[0] + bytes(113), ES256, es[2]), ed])),
    ]


def check_invalid_set(reason, encoding, reasons):
    try:
        decode_set(encoding)
    except DecodeError as e:
        assert e.why == reasons[reason], "%s: refused for %s" % (reason, e.why)
        return
    raise AssertionError("our decoder accepts: " + reason)


# --- a reset (formats.md "Device record, format version 1", its reset
# paragraph, "Registration credential"; protocol.md "Account rules" rule 4) ---

def reset_records(k):
    """The two records after the history: leaf 6, the reset to the new key;
    leaf 7, a phone it adds."""
    return [
        ("format-1 reset-account to new_key (key field and signing key new_key; not "
         "authorized by new_set), version 7: removes laptop and tablet, state format 3 "
         "again with new_key, key chain of 3",
         record_v1(OP_RESET, ACCOUNT, "", k.reset_pub, 7, ts(6), k.reset_key)),
        ("format-1 add-device phone (device key: Ed25519 public key of seed "
         "SHA-256('vector alice phone after reset')) signed by new_key, version 8",
         record_v1(OP_ADD, ACCOUNT, "phone", k.phone_after_reset, 8, ts(7), k.reset_key)),
    ]


def reset_history(k, last_state):
    """Applied to the history's last state (decoded, not replayed)."""
    a = Account.decode(last_state)
    out = []
    for i, (desc, data) in enumerate(reset_records(k), start=6):
        a.apply(i, data)
        out.append({"leaf_index": i, "description": desc, "record": data.hex(),
                    "state": a.encode().hex()})
    return out


def chain_key(n):
    """The account key of the n-th rotation of full_chain_state (n = 1..100;
    101: the rotation the 101st-change case tries)."""
    return ed25519_from_tag("vector alice chain key %d" % n)[1]


def nth_reset(n):
    """The n-th reset of the reset states (n = 2..11; the first is
    reset.history's leaf 6, to new_key): to the Ed25519 key of seed
    SHA-256('vector alice reset key <n>') and signed by it, for leaf n + 5,
    version n + 6, timestamp 1764270000000 + 1000 (n + 5)."""
    key = ed25519_from_tag("vector alice reset key %d" % n)[1]
    return record_v1(OP_RESET, ACCOUNT, "", ed25519_pub(key), n + 6, ts(n + 5), key)


def full_chain_state(k):
    """An account that made its 100 authority changes other than resets:
    add-device phone (version 1, alice's first key), then 100 rotations,
    each to the Ed25519 key of seed SHA-256('vector alice chain key <n>'),
    n = 1..100, signed by the key before; version 101, at leaves 0..100."""
    a = Account()
    signer = k.alice1
    a.apply(0, record_v1(OP_ADD, ACCOUNT, "phone", k.phone, 1, ts(0), signer))
    for n in range(1, MAX_CHAIN + 1):
        new = chain_key(n)
        a.apply(n, record_v1(OP_ROTATE, ACCOUNT, "", ed25519_pub(new), n + 1, ts(n), signer))
        signer = new
    assert chain_counts(a.chain) == (MAX_CHAIN, 0) and a.version == MAX_CHAIN + 1
    return a.encode()


def reset_on_full_chain(k):
    """The reset to new_key (signed by new_key) of version 102, timestamp
    1764270006000, for full_chain_state: refused as a 101st authority change
    before resets were counted apart, accepted now."""
    return record_v1(OP_RESET, ACCOUNT, "", k.reset_pub, MAX_CHAIN + 2, ts(6), k.reset_key)


def more_resets(post_reset):
    """From the state after reset.history's leaf 6 (the first reset, to
    new_key; version 7), nth_reset(n) for n = 2..10 at leaf n + 5. Returns
    [(leaf, record, state after it)]: after the last, 10 resets in the key
    chain."""
    a = Account.decode(post_reset)
    assert chain_counts(a.chain)[1] == 1
    out = []
    for n in range(2, MAX_RESETS + 1):
        leaf, data = n + 5, nth_reset(n)
        a.apply(leaf, data)
        out.append((leaf, data, a.encode()))
    assert chain_counts(a.chain)[1] == MAX_RESETS and a.version == MAX_RESETS + 6
    return out


def limit_states(k, post_reset):
    """The states of the limit cases, by name (each stored once in the file;
    entries name them with state_ref / state_after_ref)."""
    rotations_100 = full_chain_state(k)
    after = Account.decode(rotations_100)
    after.apply(MAX_CHAIN + 1, reset_on_full_chain(k))
    resets = more_resets(post_reset)
    return {"rotations_100": rotations_100, "rotations_100_reset": after.encode(),
            "resets_9": resets[-2][2], "resets_10": resets[-1][2]}


# Accepted at a limit: reason -> ((changes other than resets, resets) in
# the key chain of the state before, the same after).
VALID_AT_LIMITS_REASONS = {}


def valid_at_limits(k):
    """(reason, state name, record, state_after name): resets accepted at
    a limit, with the names of their states in limit_states."""
    cases = [
        ("reset on a state with 100 authority changes other than resets (rotations_100: "
         "add-device phone, then 100 rotations; version 101): the reset to new_key (key "
         "field and signing key new_key), version 102, timestamp 1764270006000, the record "
         "once refused as a 101st authority change, is accepted, resets being counted apart; "
         "it removes the phone (state_after rotations_100_reset: version 102, no device, "
         "100 rotations and 1 reset in the key chain)",
         (MAX_CHAIN, 0), (MAX_CHAIN, 1), "rotations_100", reset_on_full_chain(k),
         "rotations_100_reset"),
        ("10th reset, on a state with 9 resets (resets_9: the state after reset.history leaf "
         "6, then resets 2..9 at leaves 7..14; version 15): reset to the Ed25519 key of seed "
         "SHA-256('vector alice reset key 10') (its key field and signing key), version 16, "
         "timestamp 1764270015000 (state_after resets_10: version 16, 2 set-security-keys "
         "and 10 resets in the key chain)",
         (2, MAX_RESETS - 1), (2, MAX_RESETS), "resets_9", nth_reset(MAX_RESETS), "resets_10"),
    ]
    out = []
    for reason, before, after, state, record, state_after in cases:
        VALID_AT_LIMITS_REASONS[reason] = (before, after)
        out.append((reason, state, record, state_after))
    return out


# Invalid resets: reason -> (expected status, the rule our model names).
INVALID_RESET_REASONS = {}


def invalid_resets(k, full_chain, post_reset, resets_10):
    """(reason, expected, why, record, control record or None, state or None:
    None the history's last state, b"" no account). The control is the same
    record made valid, which the same state accepts. post_reset: the state
    after reset.history's leaf 6 (the reset); full_chain and resets_10: the
    limit states rotations_100 and resets_10."""
    t = ts(6)
    good = reset_records(k)[0][1]

    def reset(version=7, device="", key=None, signer=None):
        return record_v1(OP_RESET, ACCOUNT, device, k.reset_pub if key is None else key,
                         version, t, signer or k.reset_key)

    signed = record_body(1, OP_RESET, ACCOUNT, "", k.reset_pub, 7, t) + k.reset_pub
    by_first_key = signed + k.alice1.sign(RECORD_DOMAIN + signed)
    flipped = good[:-1] + u8(good[-1] ^ 0x01)
    fmt2 = record_v2(record_body(2, OP_RESET, ACCOUNT, "", k.reset_pub, 7, t), k.es,
                     authenticator_data(RP_ID, AD_UP, 9))
    cases = [
        ("key field new_key, signed by (account key field and signature) alice's first "
         "account key", "INVALID_ARGUMENT", "malformed: reset key not the signing key",
         reset(signer=k.alice1), good, None),
        ("key field alice's first account key, signed by new_key",
         "INVALID_ARGUMENT", "malformed: reset key not the signing key",
         reset(key=ed25519_pub(k.alice1)), good, None),
        ("device id 'phone' (not empty)", "INVALID_ARGUMENT",
         "malformed: device id in an account-wide record", reset(device="phone"), good, None),
        ("key field of 33 bytes (new_key and 0x00), signed by new_key",
         "INVALID_ARGUMENT", "malformed: reset key length",
         reset(key=k.reset_pub + b"\x00"), good, None),
        ("format 2 (operation 5 with an assertion of es256, counter 9, flags UP, "
         "valid for new_set)", "INVALID_ARGUMENT", "malformed: reset not in format 1",
         fmt2, good, None),
        ("trailing byte (the reset and 0x00)", "INVALID_ARGUMENT", "malformed: trailing bytes",
         good + b"\x00", good, None),
        ("signature that does not verify (the reset with the last signature bit flipped)",
         "INVALID_ARGUMENT", "record signature", flipped, good, None),
        ("signature by alice's first account key over the reset's bytes (account key "
         "field new_key)", "INVALID_ARGUMENT", "record signature", by_first_key, good, None),
        ("version 8, skipping 7", "FAILED_PRECONDITION", "account version",
         reset(version=8), good, None),
        ("version 6, the account's current (stale)", "FAILED_PRECONDITION", "account version",
         reset(version=6), good, None),
        ("an account that does not exist (state ''), version 1",
         "NOT_FOUND", "no such account", reset(version=1), None, b""),
        # The lifetime limits (protocol.md rules 3 and 4): 100 changes other
        # than resets, and apart from them 10 resets.
        ("101st authority change other than a reset: rotate-account-key to the Ed25519 key "
         "of seed SHA-256('vector alice chain key 101'), signed by the account key (seed "
         "SHA-256('vector alice chain key 100')), version 102, timestamp 1764270101000, on "
         "limit_states.rotations_100 (100 rotations in its key chain, version 101); "
         "otherwise valid",
         "FAILED_PRECONDITION", "101st authority change",
         record_v1(OP_ROTATE, ACCOUNT, "", ed25519_pub(chain_key(MAX_CHAIN + 1)),
                   MAX_CHAIN + 2, ts(MAX_CHAIN + 1), chain_key(MAX_CHAIN)),
         None, full_chain),
        ("11th reset: reset to the Ed25519 key of seed SHA-256('vector alice reset key 11') "
         "(its key field and signing key), version 17, timestamp 1764270016000, on "
         "limit_states.resets_10 (10 resets in its key chain, version 16); otherwise valid",
         "FAILED_PRECONDITION", "11th reset", nth_reset(MAX_RESETS + 1), None, resets_10),
        # Rule 4, a reset never leads back; rule 3, not to the authority the
        # account has.
        ("reset back to alice's first account key (key field and signing key alice's first "
         "account key, validly signed), version 7",
         "FAILED_PRECONDITION", "reset to a former authority",
         reset(key=ed25519_pub(k.alice1), signer=k.alice1), good, None),
        ("rotate-account-key back to alice's first account key, signed by new_key, on the "
         "state after the reset (reset.history leaf 6, version 7), version 8, timestamp "
         "1764270007000",
         "FAILED_PRECONDITION", "authority from before a reset",
         record_v1(OP_ROTATE, ACCOUNT, "", ed25519_pub(k.alice1), 8, ts(7), k.reset_key),
         record_v1(OP_ROTATE, ACCOUNT, "", k.after_reset_pub, 8, ts(7), k.reset_key),
         post_reset),
        ("set-security-keys back to new_set (in force before the reset), format 1 signed "
         "by new_key, on the state after the reset (reset.history leaf 6, version 7), "
         "version 8, timestamp 1764270007000",
         "FAILED_PRECONDITION", "authority from before a reset",
         record_v1(OP_SET, ACCOUNT, "", k.new_set, 8, ts(7), k.reset_key),
         record_v1(OP_SET, ACCOUNT, "", k.after_reset_set, 8, ts(7), k.reset_key),
         post_reset),
        ("reset to the account's current authority: a second reset to new_key (signed by "
         "new_key) on the state after the reset (reset.history leaf 6, version 7), version 8, "
         "timestamp 1764270007000",
         "FAILED_PRECONDITION", "the authority the account has",
         record_v1(OP_RESET, ACCOUNT, "", k.reset_pub, 8, ts(7), k.reset_key),
         record_v1(OP_RESET, ACCOUNT, "", k.after_reset_pub, 8, ts(7), k.after_reset_key),
         post_reset),
    ]
    for reason, expected, why, *_ in cases:
        INVALID_RESET_REASONS[reason] = (expected, why)
    return cases


def split_record_v1(data):
    """Layout-only split of a format-1 record (no field checks): (every
    byte before the account key, account key field, signature, what
    follows)."""
    r = Reader(data)
    r.take(2)
    r.u16p()
    r.u16p()
    r.u16p()
    r.take(16)
    body = data[:r.off]
    key, sig = r.take(32), r.take(64)
    return body, key, sig, data[r.off:]


def check_invalid_reset(reason, record, expected, state, control=None):
    """The reset (op 5; for a case of rule 4 after a reset or of the 101st
    authority change, the rotation or set-security-keys) is refused with
    `expected` for exactly the stated reason (state b"": no account); it is
    otherwise well formed, of the next version and, but for the signature
    cases, validly signed by its account key field (the format-2 one: its
    assertion valid for the set); the control (if given) is accepted; a
    record refused at a lifetime limit is accepted with that limit one
    higher. Applied at the state's next leaf."""
    want_code, want_why = INVALID_RESET_REASONS[reason]
    assert expected == want_code, reason

    def account():
        return Account() if state == b"" else Account.decode(state)

    base = account()
    leaf = 1 + max([i for i, _ in list(base.devices.values()) + base.chain], default=-1)
    try:
        account().apply(leaf, record)
        raise AssertionError("accepted: " + reason)
    except Refused as e:
        assert (e.code, e.why) == (want_code, want_why), "%s: refused for %s" % (reason, e)
    if want_why in ("authority from before a reset", "101st authority change"):
        assert record[1] in (OP_ROTATE, OP_SET), reason
    else:
        assert record[1] == OP_RESET, reason
    if want_why in ("reset to a former authority", "authority from before a reset",
                    "the authority the account has"):
        # Re-derived from the state's key chain, independently of the rule:
        # the authorities in force before its latest reset, and since.
        rec = decode_record(record)
        new = ("set" if rec["op"] == OP_SET else "key", rec["key"])
        held, before = [("key", base.first_key)], []
        for _, data in base.chain:
            c = decode_record(data)
            if c["op"] == OP_RESET:
                before = list(held)
            held.append(("set" if c["op"] == OP_SET else "key", c["key"]))
        if want_why == "the authority the account has":
            assert new == held[-1] and rec["key"] == base.key, reason
        elif want_why == "reset to a former authority":
            assert new in held and new != held[-1], reason
        else:
            assert new in before and new not in held[len(before):], reason
    body = (split_record_v1 if record[0] == 1 else split_record_v2)(record)[0]
    if want_why != "account version":
        assert struct.unpack(">Q", body[-16:-8])[0] == base.version + 1, reason
    if want_why in ("101st authority change", "11th reset"):
        changes, resets = chain_counts(base.chain)
        if want_why == "101st authority change":
            assert changes == MAX_CHAIN and resets < MAX_RESETS, reason
        else:
            assert resets == MAX_RESETS and changes < MAX_CHAIN, reason
        # Otherwise valid: only that limit refuses it; and a decoder
        # refuses the state it would make.
        check_refused_at_limit(base, leaf, record, want_why,
                               "key chain too long" if want_why == "101st authority change"
                               else "too many resets in the key chain")
    if record[0] == 1:
        body, key, sig, _ = split_record_v1(record)
        assert eddsa_verify(key, sig, RECORD_DOMAIN + body + key) == \
            (want_why != "record signature"), reason
    else:
        body, cid, ad, sig = split_record_v2(record)
        alg, pub = base.keyset.by_id[cid]
        assert ad[32] & AD_UP and ad[:32] == sha256(base.keyset.rp_id.encode()), reason
        assert assertion_signature_ok(alg, pub, ad, client_data_hash(body), sig), reason
        assert struct.unpack(">I", ad[33:])[0] > base.counters[cid], reason
    if control is not None:
        account().apply(leaf, control)


# The reset credential of the formats.md vector: registration key 00..1f,
# new key 20..3f.
CREDENTIAL_REGISTRATION_KEY = bytes(range(32))
CREDENTIAL_KEY = bytes(range(32, 64))
CREDENTIAL_EXPIRY = 1767225600
FORMATS_MD = "docs/formats.md"


def credential(prefix, label, registration_key, account, key, expiry):
    """formats.md "Registration credential": prefix "." decimal(expiry) "."
    lowercase hex HMAC-SHA256(key, label || u16+n id || key || u64 expiry)."""
    mac = hmac.new(registration_key, label + u16p(account.encode()) + key + u64(expiry),
                   hashlib.sha256).hexdigest()
    return "%s.%d.%s" % (prefix, expiry, mac)


def reset_credential(account, key, expiry, registration_key):
    return credential("r1", b"ktlog-reset-v1\n", registration_key, account, key, expiry)


def doc_credentials():
    """The credentials formats.md's "Registration credential" section
    prints as its vector: {prefix: credential}, exactly one of each."""
    with open(FORMATS_MD, encoding="utf-8") as f:
        text = f.read()
    section = text.split("\n## Registration credential\n", 1)[1].split("\n## ", 1)[0]
    found = {}
    for prefix in ("v2", "r1"):
        hits = re.findall(r"`(%s\.[0-9]+\.[0-9a-f]{64})`" % prefix, section)
        assert len(hits) == 1, "%s: %d %s credentials" % (FORMATS_MD, len(hits), prefix)
        found[prefix] = hits[0]
    return found


def check_credentials(j):
    """The file's reset credential is ours for the fixed inputs, and both
    credentials formats.md prints are ours (the doc cannot drift)."""
    assert j["registration_key"] == CREDENTIAL_REGISTRATION_KEY.hex()
    assert (j["account_id"], j["new_key"], j["expiry"]) == \
        (ACCOUNT, CREDENTIAL_KEY.hex(), CREDENTIAL_EXPIRY)
    ours = reset_credential(j["account_id"], bytes.fromhex(j["new_key"]), j["expiry"],
                            bytes.fromhex(j["registration_key"]))
    assert j["credential"] == ours, "reset_credential: not HMAC-SHA256 of its inputs"
    doc = doc_credentials()
    assert doc["r1"] == ours, "%s prints another reset credential: %s" % (FORMATS_MD, doc["r1"])
    v2 = credential("v2", b"ktlog-registration-v2\n", CREDENTIAL_REGISTRATION_KEY, ACCOUNT,
                    CREDENTIAL_KEY, CREDENTIAL_EXPIRY)
    assert doc["v2"] == v2, "%s prints another registration credential" % FORMATS_MD


RESET_NOTES = [
    "new_key: the Ed25519 account key of the reset, seed SHA-256('vector alice reset "
    "account key')",
    "history: continues the main history from its last state (version 6, on new_set): "
    "leaf 6 the reset (format 1, operation 5, device id empty, key field new_key, signed "
    "by new_key), leaf 7 an add-device of 'phone' signed by new_key; timestamp of leaf i: "
    "1764270000000 + 1000 i; state: the account state (format 3) after it",
    "lifetime limits (protocol.md 'Account rules' rules 3 and 4; formats.md 'Account "
    "state, format 3'): an account makes at most 100 authority changes other than resets "
    "(rotate-account-key, set-security-keys) and, counted apart, at most 10 resets; one "
    "more of either kind is FAILED_PRECONDITION, and a state decoder refuses a key chain "
    "that holds more than 100 changes other than resets or more than 10 resets "
    "(INVALID_ARGUMENT)",
    "limit_states: {name: account state (hex)}, the large states of the limit cases, each "
    "stored once; an entry of invalid_resets or valid_at_limits names one with state_ref "
    "(in place of an inline state) and state_after_ref (in place of state_after). "
    "rotations_100: add-device phone (leaf 0, version 1, alice's first account key), then "
    "at leaves n = 1..100 a rotate-account-key to the Ed25519 key of seed SHA-256('vector "
    "alice chain key <n>'), signed by the key before, timestamp 1764270000000 + 1000 n "
    "(version 101); rotations_100_reset: rotations_100 after valid_at_limits[0]'s reset at "
    "leaf 101 (version 102); resets_9 and resets_10: the state after reset.history's leaf 6 "
    "(the reset to new_key, version 7), then at leaves n + 5, for n = 2..9 (resets_9, "
    "version 15) or 2..10 (resets_10, version 16), a reset to the Ed25519 key of seed "
    "SHA-256('vector alice reset key <n>'), signed by it, version n + 6, timestamp "
    "1764270000000 + 1000 (n + 5) (a branch from leaf 6, in place of reset.history's leaf 7)",
    "invalid_resets: each record is refused with `expected` when applied to `state` if the "
    "entry has one ('' is an account that does not exist), or to limit_states[state_ref] "
    "if it has state_ref, else to the main history's last state (after leaf 5), at that "
    "state's next leaf; outcome: decode (INVALID_ARGUMENT), then the Ed25519 signature "
    "(INVALID_ARGUMENT), then the account rules; the first 11 are each a reset of "
    "timestamp 1764270006000 that, but for its one defect, is the reset of history[0] (or, "
    "for an account that does not exist, the same reset at version 1); then the lifetime "
    "limits, each record otherwise valid: a 101st authority change other than a reset (a "
    "rotation on rotations_100) and an 11th reset (on resets_10); then the rules that a "
    "reset never leads back and that an authority "
    "change does not set the authority the account has (protocol.md 'Account rules' rules "
    "3 and 4, FAILED_PRECONDITION): a reset to alice's first account key, and, on the state "
    "after history[0] (given as `state`), a rotation and a set-security-keys back to an "
    "authority in force before the reset and a second reset to new_key; each validly signed",
    "valid_at_limits: [{reason, state_ref, record, state_after_ref}], resets accepted at "
    "a lifetime limit: record, applied to limit_states[state_ref] at its next leaf, is "
    "accepted and gives limit_states[state_after_ref]: the reset to new_key (version 102, "
    "timestamp 1764270006000) on rotations_100, accepted as resets are counted apart, and "
    "the 10th reset on resets_9",
    "contact_refused_states: states a strict decoder accepts and a contact refuses (formats.md "
    "'Account state, format 3', the key chain: verifier/lookup.h checks it, decoding does "
    "not), each with the typed refusal (client-library.md): a key chain that returns after "
    "a reset to an authority in force before it (BROKEN_KEY_CHAIN), and a state after a "
    "reset that still holds a device added before it (UNAUTHORIZED_DEVICE), and one that "
    "holds a device added with the reset's own version (UNAUTHORIZED_DEVICE: at the latest "
    "reset's version or before it); every signature in them verifies, and each device is "
    "signed by the authority in force at its version",
    "reset_credential: formats.md's vector, HMAC-SHA256 with label 'ktlog-reset-v1\\n' "
    "over the account id (u16+n), the new key and the expiry (u64)",
]


# States a contact refuses: reason -> (refusal, the check our model names).
CONTACT_REFUSED_REASONS = {}


def contact_refused_states(k, last_state, reset_hist):
    """(reason, refusal, why, state). Made by hand (the account rules
    refuse the record that would lead to the first; the reset removed the
    device the second keeps). With reset_hist None, the reasons only
    (states None)."""
    if reset_hist is None:
        handed_back = kept = same_version = None
    else:
        handed_back, kept, same_version = hand_made_states(k, last_state, reset_hist)
    cases = [
        ("the reset's history (leaf 6 the reset to new_key, leaf 7 add-device phone by "
         "new_key) and then leaf 8 a rotate-account-key back to alice's first account key, "
         "signed by new_key, version 9, timestamp 1764270008000: a chain that returns to the "
         "first key after a reset (account key alice's first, device phone of leaf 7)",
         "BROKEN_KEY_CHAIN", "authority from before a reset", handed_back),
        ("reset.history's last state (version 8, after the reset) that still holds the "
         "device tablet of leaf 4 (version 5, before the reset, signed by eddsa of set, the "
         "authority in force at version 5)",
         "UNAUTHORIZED_DEVICE", "device older than the latest reset", kept),
        ("reset.history's last state (version 8) that also holds a device 'desktop' at leaf 8 "
         "added with the reset's own version, 7 (format 2, by es256 of new_set, the authority "
         "in force at version 7, counter 9, flags UP, timestamp 1764270006000): a device at "
         "the latest reset's version is refused too (<=, not <)",
         "UNAUTHORIZED_DEVICE", "device older than the latest reset", same_version),
    ]
    for reason, refusal, why, _ in cases:
        CONTACT_REFUSED_REASONS[reason] = (refusal, why)
    return cases


def hand_made_states(k, last_state, reset_hist):
    """The two states of contact_refused_states, encoded."""
    after_phone = Account.decode(bytes.fromhex(reset_hist[1]["state"]))
    back = record_v1(OP_ROTATE, ACCOUNT, "", ed25519_pub(k.alice1), 9, ts(8), k.reset_key)
    after_phone.key, after_phone.version = ed25519_pub(k.alice1), 9
    after_phone.chain.append((8, back))
    handed_back = after_phone.encode()
    kept = Account.decode(bytes.fromhex(reset_hist[1]["state"]))
    kept.devices[b"tablet"] = Account.decode(last_state).devices[b"tablet"]
    assert kept.devices[b"tablet"][0] == 4
    same = Account.decode(bytes.fromhex(reset_hist[1]["state"]))
    same.devices[b"desktop"] = (8, v2(OP_ADD, "desktop", k.desktop, 7, ts(6), k.es, AD_UP, 9))
    return handed_back, kept.encode(), same.encode()


def check_contact_refused(reason, state, refusal):
    """A strict decoder accepts the state (canonically encoded); a contact
    refuses it with `refusal` for exactly the stated reason, and accepts it
    without that one check (so every signature in it verifies)."""
    want_refusal, want_why = CONTACT_REFUSED_REASONS[reason]
    assert refusal == want_refusal, reason
    assert Account.decode(state).encode() == state, reason
    try:
        contact_check(state)
        raise AssertionError("a contact accepts: " + reason)
    except ContactRefused as e:
        assert (e.refusal, e.why) == (want_refusal, want_why), \
            "%s: refused for %s" % (reason, e)
    a = contact_check(state, reset_rule=(want_refusal != "BROKEN_KEY_CHAIN"),
                      device_age=(want_refusal != "UNAUTHORIZED_DEVICE"))
    assert any(data[1] == OP_RESET for _, data in a.chain), reason
    if want_refusal == "BROKEN_KEY_CHAIN":
        # The account rules refuse the chain's last entry on the state
        # before it, for the same rule.
        before = Account.decode(state)
        leaf, data = before.chain.pop()
        assert decode_record(data)["version"] == before.version, reason
        before.version -= 1
        before.key = decode_record(data)["account_key"]
        try:
            Account.decode(before.encode()).apply(leaf, data)
            raise AssertionError("the account rules accept: " + reason)
        except Refused as e:
            assert (e.code, e.why) == ("FAILED_PRECONDITION", want_why), reason


def reset_vectors(k, last_state):
    hist = reset_history(k, last_state)
    post_reset = bytes.fromhex(hist[0]["state"])
    states = limit_states(k, post_reset)
    name_of = {state: name for name, state in states.items()}
    out = {"notes": RESET_NOTES,
           "new_key": {"private_key": k.reset_seed.hex(), "public_key": k.reset_pub.hex()},
           "history": hist, "invalid_resets": []}
    for reason, expected, _, record, control, state in invalid_resets(
            k, states["rotations_100"], post_reset, states["resets_10"]):
        check_invalid_reset(reason, record, expected,
                            last_state if state is None else state, control)
        e = {"reason": reason, "record": record.hex(), "expected": expected}
        if state in name_of:
            e["state_ref"] = name_of[state]
        elif state is not None:
            e["state"] = state.hex()
        out["invalid_resets"].append(e)
    out["valid_at_limits"] = []
    for reason, state, record, state_after in valid_at_limits(k):
        check_valid_at_limit(reason, states[state], record, states[state_after])
        out["valid_at_limits"].append({"reason": reason, "state_ref": state,
                                       "record": record.hex(), "state_after_ref": state_after})
    out["contact_refused_states"] = []
    for reason, refusal, _, state in contact_refused_states(k, last_state, hist):
        check_contact_refused(reason, state, refusal)
        out["contact_refused_states"].append(
            {"reason": reason, "state": state.hex(), "refusal": refusal})
    out["reset_credential"] = {
        "registration_key": CREDENTIAL_REGISTRATION_KEY.hex(), "account_id": ACCOUNT,
        "new_key": CREDENTIAL_KEY.hex(), "expiry": CREDENTIAL_EXPIRY,
        "credential": reset_credential(ACCOUNT, CREDENTIAL_KEY, CREDENTIAL_EXPIRY,
                                       CREDENTIAL_REGISTRATION_KEY)}
    out["limit_states"] = {name: state.hex() for name, state in states.items()}
    return out


def check_valid_at_limit(reason, state, record, state_after):
    """The reset, applied to the state at its next leaf, is accepted and
    gives state_after, with the key chain counts the reason states (one of
    them at its limit after it); a contact accepts both states; and the
    limit holds for the account's life: one more change of the kind at its
    limit, to a key never in force, at the next version and signed as it
    must be, is refused on state_after."""
    before, after = VALID_AT_LIMITS_REASONS[reason]
    a = Account.decode(state)
    assert chain_counts(a.chain) == before, reason
    leaf = 1 + max(i for i, _ in list(a.devices.values()) + a.chain)
    try:
        rec = a.apply(leaf, record)
    except Refused as e:
        raise AssertionError("%s: refused: %s" % (reason, e))
    assert a.encode() == state_after, "%s: not state_after" % reason
    assert Account.decode(state_after).encode() == state_after, reason
    assert chain_counts(a.chain) == after, reason
    assert after[0] == MAX_CHAIN or after[1] == MAX_RESETS, "%s: at no limit" % reason
    assert rec["op"] == OP_RESET and a.devices == {}, reason
    contact_check(state)
    contact_check(state_after)
    fresh = ed25519_from_tag("vector alice limit check key")[1]
    signer = [key for key in [Inputs().reset_key] + [
        ed25519_from_tag("vector alice reset key %d" % n)[1] for n in range(2, MAX_RESETS + 2)]
        if ed25519_pub(key) == a.key]
    assert len(signer) == 1, reason
    tries = []
    if after[0] == MAX_CHAIN:
        tries.append((OP_ROTATE, signer[0], "101st authority change"))
    if after[1] == MAX_RESETS:
        tries.append((OP_RESET, fresh, "11th reset"))
    for op, key, why in tries:
        data = record_v1(op, ACCOUNT, "", ed25519_pub(fresh), a.version + 1, ts(leaf + 1), key)
        try:
            Account.decode(state_after).apply(leaf + 1, data)
            raise AssertionError("%s: accepted after it: %s" % (reason, OP_NAMES[op]))
        except Refused as e:
            assert (e.code, e.why) == ("FAILED_PRECONDITION", why), "%s: %s" % (reason, e)


LIMIT_STATE_NAMES = ("rotations_100", "rotations_100_reset", "resets_9", "resets_10")


def replay_after(base, state):
    """Checks a state that continues `base` (both encoded): the records it
    holds at leaves after base's last, applied in leaf order, from base's
    next leaf with no gap, to the decoded base, give the state. Returns the
    Account."""
    a, st = Account.decode(base), Account.decode(state)
    last = max(i for i, _ in list(a.devices.values()) + a.chain)
    recs = sorted(r for r in list(st.devices.values()) + st.chain if r[0] > last)
    assert [i for i, _ in recs] == list(range(last + 1, last + 1 + len(recs))), \
        "state does not continue its base"
    for i, data in recs:
        a.apply(i, data)
    assert a.encode() == state, "the records after its base give another state"
    return a


def check_limit_states(j, post_reset):
    """limit_states: each name known and each state what its name says:
    rotations_100 replayed from nothing (add-device phone and 100
    rotations); resets_9 and resets_10 replayed from the state after the
    reset (reset.history leaf 6) with 8 and 9 more resets, resets_9 a prefix
    of resets_10's story; rotations_100_reset checked by valid_at_limits.
    Also checks the decoder's and the rules' limits on their edges (no file
    vector): 100 rotations and 10 resets in one key chain decode; a chain
    of 101 changes other than resets, or of 11 resets, does not. Returns
    {name: bytes}."""
    assert tuple(j) == LIMIT_STATE_NAMES, "limit_states: names"
    states = {name: bytes.fromhex(h) for name, h in j.items()}
    rot = replay_state(states["rotations_100"])
    assert chain_counts(rot.chain) == (MAX_CHAIN, 0) and rot.version == MAX_CHAIN + 1
    assert all(decode_record(d)["op"] == OP_ROTATE for _, d in rot.chain)
    assert sorted(rot.devices) == [b"phone"]
    for name, resets, version in (("resets_9", MAX_RESETS - 1, 15),
                                  ("resets_10", MAX_RESETS, 16)):
        a = replay_after(post_reset, states[name])
        assert chain_counts(a.chain) == (2, resets) and a.version == version, name
        assert all(data[1] == OP_RESET for _, data in a.chain[2:]), name
        assert a.devices == {}, name
    a = Account.decode(states["resets_10"])
    a.chain.pop()
    a.version -= 1
    a.key = decode_record(a.chain[-1][1])["key"]
    assert a.encode() == states["resets_9"], "resets_9 is not resets_10 before its last reset"
    # The edges: 100 changes and 10 resets in one chain (rotations_100 and
    # then 10 resets, each to a fresh key) is a state; an 11th reset is
    # refused, and a decoder refuses the chain it would make (a 101st
    # change after a reset: check_valid_at_limit).
    a = Account.decode(states["rotations_100"])
    for n in range(1, MAX_RESETS + 2):
        key = ed25519_from_tag("vector alice limit check reset %d" % n)[1]
        data = record_v1(OP_RESET, ACCOUNT, "", ed25519_pub(key), a.version + 1,
                         ts(MAX_CHAIN + n), key)
        if n <= MAX_RESETS:
            a.apply(MAX_CHAIN + n, data)
        else:
            check_refused_at_limit(a, MAX_CHAIN + n, data, "11th reset",
                                   "too many resets in the key chain")
    assert chain_counts(a.chain) == (MAX_CHAIN, MAX_RESETS)
    assert Account.decode(a.encode()).encode() == a.encode()
    contact_check(a.encode())
    return states


def check_refused_at_limit(a, leaf, data, why, decode_why):
    """`data` is refused on account `a` for `why` alone (accepted with that
    limit one higher), and a decoder refuses the state it would make."""
    state = a.encode()
    try:
        Account.decode(state).apply(leaf, data)
        raise AssertionError("accepted beyond a limit: " + why)
    except Refused as e:
        assert (e.code, e.why) == ("FAILED_PRECONDITION", why), e
    lifted = Account.decode(state)
    if why == "11th reset":
        lifted.max_resets += 1
    else:
        lifted.max_changes += 1
    lifted.apply(leaf, data)
    try:
        Account.decode(lifted.encode())
        raise AssertionError("a decoder accepts a chain beyond a limit: " + why)
    except DecodeError as e:
        assert e.why == decode_why, e


def check_reset(v):
    """Re-verifies v["reset"] on its own terms."""
    rv = v["reset"]
    seed = bytes.fromhex(rv["new_key"]["private_key"])
    new_key = Ed25519PrivateKey.from_private_bytes(seed)
    new_pub = ed25519_pub(new_key)
    assert len(seed) == 32 and new_pub.hex() == rv["new_key"]["public_key"], \
        "reset.new_key: public key is not the private key's"
    hist = v["history"]
    last_state = bytes.fromhex(hist[-1]["state"])
    first = decode_record(bytes.fromhex(hist[0]["record"]))
    # From the decoded last state, and from nothing by replaying all eight.
    a, full = Account.decode(last_state), Account()
    for e in hist:
        full.apply(e["leaf_index"], bytes.fromhex(e["record"]))
    assert full.encode() == last_state
    assert [e["leaf_index"] for e in rv["history"]] == [6, 7], "reset.history: leaf indexes"
    for e, (op, device) in zip(rv["history"], [(OP_RESET, b""), (OP_ADD, b"phone")]):
        i, data = e["leaf_index"], bytes.fromhex(e["record"])
        try:
            rec = a.apply(i, data)
            full.apply(i, data)
        except Refused as err:
            raise AssertionError("reset.history leaf %d refused: %s" % (i, err))
        assert (rec["format"], rec["op"], rec["device"], rec["version"]) == \
            (1, op, device, i + 1), "reset.history leaf %d: what it is" % i
        assert rec["account_key"] == new_pub, "reset.history leaf %d: not signed by new_key" % i
        assert rec["timestamp"] == ts(i), "reset.history leaf %d: timestamp" % i
        state = bytes.fromhex(e["state"])
        assert a.encode() == full.encode() == state, "reset.history leaf %d: state" % i
        assert Account.decode(state).encode() == state
        assert state[0] == 3 and a.key == new_pub and a.first_key == first["account_key"]
        assert a.keyset is None and a.counters == {}
        assert a.chain[-1][0] == 6 and len(a.chain) == 3
        if op == OP_RESET:
            assert rec["key"] == new_pub and a.devices == {}, "reset: key or devices"
        else:
            assert sorted(a.devices) == [b"phone"] and a.devices[b"phone"][0] == 7
    post_reset = bytes.fromhex(rv["history"][0]["state"])
    states = check_limit_states(rv["limit_states"], post_reset)

    def entry_state(e, key="state"):
        """An entry's state: inline hex under `key`, or named under
        `key`_ref in limit_states; None if it has neither."""
        assert not (key in e and key + "_ref" in e), "both %s and %s_ref" % (key, key)
        if key + "_ref" in e:
            return states[e[key + "_ref"]]
        return bytes.fromhex(e[key]) if key in e else None

    # Invalid resets: each reason known, refused for it and nothing else.
    assert set(e["reason"] for e in rv["invalid_resets"]) == set(INVALID_RESET_REASONS), \
        "invalid_resets: not the generator's reasons"
    for e in rv["invalid_resets"]:
        state = entry_state(e)
        if state is None:
            state = last_state
        elif "state" in e and state and state != post_reset:
            # Every record in it, from leaf 0, accepted; or the state after
            # the reset, checked above; a limit state is checked by
            # check_limit_states.
            replay_state(state)
        check_invalid_reset(e["reason"], bytes.fromhex(e["record"]), e["expected"], state)
    # Resets accepted at a limit: each reason known, in the generator's order.
    assert [e["reason"] for e in rv["valid_at_limits"]] == list(VALID_AT_LIMITS_REASONS), \
        "valid_at_limits: not the generator's reasons"
    for e in rv["valid_at_limits"]:
        assert set(e) == {"reason", "state_ref", "record", "state_after_ref"}, e["reason"]
        check_valid_at_limit(e["reason"], entry_state(e), bytes.fromhex(e["record"]),
                             entry_state(e, "state_after"))
    # Every limit state is one an entry names.
    named = set(e[key] for e in rv["invalid_resets"] + rv["valid_at_limits"]
                for key in ("state_ref", "state_after_ref") if key in e)
    assert named == set(states), "limit_states: names no entry uses"
    # Rule 3 for a set (no vector of its own): a set-security-keys by es256
    # (counter 9) installing new_set again on the history's last state.
    k = Inputs()
    same_set = v2(OP_SET, "", k.new_set, 7, ts(6), k.es, AD_UP, 9)
    try:
        Account.decode(last_state).apply(6, same_set)
        raise AssertionError("the account rules accept new_set again")
    except Refused as err:
        assert (err.code, err.why) == ("FAILED_PRECONDITION", "the authority the account has")
    # Every state the account rules reach passes a contact's check.
    for e in v["history"] + rv["history"]:
        contact_check(bytes.fromhex(e["state"]))
    for e in rv["invalid_resets"] + v["invalid_assertions"]:
        if e.get("state"):
            contact_check(bytes.fromhex(e["state"]))
    for state in states.values():
        contact_check(state)
    # States a contact refuses, which decoding accepts.
    assert [e["reason"] for e in rv["contact_refused_states"]] == \
        list(CONTACT_REFUSED_REASONS), "contact_refused_states: not the generator's reasons"
    for e in rv["contact_refused_states"]:
        check_contact_refused(e["reason"], bytes.fromhex(e["state"]), e["refusal"])
    check_credentials(rv["reset_credential"])


NOTES = [
    "all byte strings are hex; integers in the formats are big-endian",
    "keys[]: the two security keys of set (es256: ES256, private_key the 32-byte "
    "big-endian P-256 scalar; eddsa: EdDSA, private_key the 32-byte RFC 8032 seed); "
    "third_key: es256-3, the key new_set adds (also the signer of the 'credential not "
    "in the set' case); credential ids sort es256 < es256-3 < eddsa bytewise, not by length",
    "ES256 signatures are ASN.1 DER with RFC 6979 nonces; EdDSA signatures are Ed25519",
    "set: flags 0, rp id ktlog.example, es256 and eddsa; set_uv: the same with flags 1 "
    "(user verification required); new_set: flags 0, es256, es256-3 and eddsa",
    "history: one account, alice@example.com, its records at leaf indexes 0..5; the account "
    "key of the format-1 records is Ed25519 seed SHA-256('vector alice account key 1'); "
    "device keys: Ed25519 public keys of seeds SHA-256('vector alice <device>'); "
    "timestamp of entry i: 1764270000000 + 1000 i",
    "history[i].record: the record bytes; client_data_hash (format 2 only): SHA-256 of "
    "'ktlog/v1 device-record\\n' || every record byte before the credential id; state: the "
    "account state (format 3, then format 4 from entry 2 on) after applying it",
    "invalid_assertions: each record is a version-4 add-device of 'desktop' (timestamp "
    "1764270010000), refused with `expected` when applied to `state` if the entry has one, "
    "else to history[2].state (version 3; counters es256 7, eddsa 0); each is otherwise "
    "well formed and validly signed (but for the case about the signature), and the "
    "same record with that one defect fixed is accepted",
    "invalid_sets: encodings a strict security-key set decoder refuses, each with its reason",
]


def cross_check_other_vectors(hist):
    """History entry 1 is records.json's record 0 at leaf 0, so its state is
    private.json's first state (both written by the other generators)."""
    with open(os.path.join(TESTDATA, "records.json")) as f:
        assert json.load(f)["records"][0]["record"] == hist[0]["record"]
    with open(os.path.join(TESTDATA, "private.json")) as f:
        assert json.load(f)["history"][0]["account_state"] == hist[0]["state"]


def generate():
    crypto_selftest()
    k = Inputs()
    EXTRA_KEYS[:] = [k.es3.entry()]
    hist = history(k)
    cross_check_other_vectors(hist)
    state3 = bytes.fromhex(hist[2]["state"])
    state_uv = uv_state(k)
    assertions = []
    for reason, expected, _, record, control, state in invalid_assertions(k, state3, state_uv):
        check_invalid_assertion(reason, record, expected, state or state3, control)
        e = {"reason": reason, "record": record.hex(), "expected": expected}
        if state is not None:
            e["state"] = state.hex()
        assertions.append(e)
    sets = invalid_sets(k)
    set_reasons = {r: why for r, why, _ in sets}
    for reason, _, enc in sets:
        check_invalid_set(reason, enc, set_reasons)
    vectors = {
        "description": "ktlog security keys (docs/formats.md: security-key set, device "
                       "record format 2 with its CTAP2 assertion, account state format 4), "
                       "generated by tools/vectors/gen_security_key_vectors.py",
        "notes": NOTES,
        "rp_id": RP_ID,
        "account_id": ACCOUNT,
        "keys": [k.es.to_json(), k.ed.to_json()],
        "third_key": k.es3.to_json(),
        "set": {"flags": 0, "encoding": k.set.hex()},
        "set_uv": {"flags": SET_FLAG_UV, "encoding": k.set_uv.hex()},
        "new_set": {"flags": 0, "encoding": k.new_set.hex()},
        "history": hist,
        "invalid_assertions": assertions,
        "invalid_sets": [{"reason": r, "encoding": enc.hex()} for r, _, enc in sets],
        "reset": reset_vectors(k, bytes.fromhex(hist[-1]["state"])),
    }
    check(vectors)
    return vectors, set_reasons


# --- checking a file ----------------------------------------------------------

def check(v):
    """Re-verifies vectors (a loaded JSON object) on their own terms; raises
    AssertionError (or DecodeError / Refused) on any mismatch."""
    assert v["rp_id"] == RP_ID and v["account_id"] == ACCOUNT
    es, ed = [SecurityKey.from_json(j) for j in v["keys"]]
    es3 = SecurityKey.from_json(v["third_key"])
    assert (es.alg, ed.alg, es3.alg) == (ES256, EDDSA, ES256)
    EXTRA_KEYS[:] = [es3.entry()]
    for name, keys, flags in (("set", [es, ed], 0), ("set_uv", [es, ed], SET_FLAG_UV),
                              ("new_set", [es, ed, es3], 0)):
        enc = bytes.fromhex(v[name]["encoding"])
        ks = decode_set(enc)
        assert v[name]["flags"] == flags == ks.flags, name
        assert ks.rp_id == RP_ID and enc == encode_set(flags, RP_ID, keys), name
    # The history, replayed from nothing: each record accepted at its leaf
    # index, each state as given, and the story as told.
    a = Account()
    story = [(1, OP_ADD, None, None), (1, OP_SET, None, None), (2, OP_ADD, es, 7),
             (2, OP_REMOVE, ed, 0), (2, OP_ADD, ed, 0), (2, OP_SET, es, 8)]
    assert len(v["history"]) == len(story)
    for i, (e, (fmt, op, signer, counter)) in enumerate(zip(v["history"], story)):
        assert e["leaf_index"] == i
        try:
            rec = a.apply(i, bytes.fromhex(e["record"]))
        except Refused as err:
            raise AssertionError("history[%d] refused: %s" % (i, err))
        assert (rec["format"], rec["op"], rec["version"]) == (fmt, op, i + 1), \
            "history[%d]: format, operation or version" % i
        if fmt == 2:
            assert (rec["credential_id"], rec["counter"]) == (signer.credential_id, counter), \
                "history[%d]: signer or counter" % i
            assert e["client_data_hash"] == client_data_hash(rec["body"]).hex(), \
                "history[%d]: client_data_hash" % i
            assert sha256(RECORD_DOMAIN + bytes.fromhex(e["record"])[:len(rec["body"])]) == \
                rec["client_data_hash"]
        else:
            assert "client_data_hash" not in e, "history[%d]: client_data_hash" % i
        assert a.encode().hex() == e["state"], "history[%d]: state" % i
        assert Account.decode(bytes.fromhex(e["state"])).encode().hex() == e["state"]
    assert decode_record(bytes.fromhex(v["history"][1]["record"]))["key"].hex() == \
        v["set"]["encoding"]
    assert a.keyset.encoding.hex() == v["new_set"]["encoding"]
    assert a.counters == {es.credential_id: 8, ed.credential_id: 0, es3.credential_id: 0}
    assert [d for d in sorted(a.devices)] == [b"laptop", b"tablet"]
    # Invalid assertions: each reason known, refused for it and nothing else.
    state3 = bytes.fromhex(v["history"][2]["state"])
    assert set(e["reason"] for e in v["invalid_assertions"]) == set(INVALID_ASSERTION_REASONS), \
        "invalid_assertions: not the generator's reasons"
    for e in v["invalid_assertions"]:
        state = state3
        if "state" in e:
            state = bytes.fromhex(e["state"])
            st = replay_state(state)
            assert st.keyset.encoding.hex() == v["set_uv"]["encoding"] and st.version == 3
        check_invalid_assertion(e["reason"], bytes.fromhex(e["record"]), e["expected"], state)
    check_reset(v)
    return True


def check_file(path):
    with open(path) as f:
        v = json.load(f)
    crypto_selftest()
    # The reasons of the invalid cases are the generator's (fixed texts).
    k = Inputs()
    invalid_assertions(k, None, None)
    invalid_resets(k, None, None, None)
    valid_at_limits(k)
    contact_refused_states(k, None, None)
    set_reasons = {r: why for r, why, _ in invalid_sets(k)}
    check(v)
    assert set(e["reason"] for e in v["invalid_sets"]) == set(set_reasons), \
        "invalid_sets: not the generator's reasons"
    for e in v["invalid_sets"]:
        check_invalid_set(e["reason"], bytes.fromhex(e["encoding"]), set_reasons)
    # Generation is deterministic: the file is also exactly what we write.
    fresh, _ = generate()
    diff = [key for key in set(fresh) | set(v) if fresh.get(key) != v.get(key)]
    assert not diff, "every vector verifies, but the file differs from a fresh " \
        "(deterministic) generation in: " + ", ".join(sorted(diff))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", metavar="FILE", help="verify FILE instead of writing %s" % OUT)
    args = ap.parse_args()
    if args.check:
        try:
            check_file(args.check)
        except (AssertionError, DecodeError, Refused, KeyError, ValueError) as e:
            print("%s: FAILED: %s: %s" % (args.check, type(e).__name__, e), file=sys.stderr)
            return 1
        print("%s: ok" % args.check)
        return 0
    vectors, _ = generate()
    with open(OUT, "w") as f:
        json.dump(vectors, f, indent=1)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
