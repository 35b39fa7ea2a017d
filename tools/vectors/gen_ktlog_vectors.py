#!/usr/bin/python3
"""Generates tests/testdata/ktlog/*.json: ktlog's own format vectors.

An independent implementation (Python, `cryptography` for Ed25519) of the
byte formats in docs/formats.md. The C++ tests check that core/ produces and
accepts exactly these bytes, so the two implementations keep each other
honest. Run from the repository root:

    /usr/bin/python3 tools/vectors/gen_ktlog_vectors.py
"""
import base64
import hashlib
import json
import struct

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization

RAW = serialization.Encoding.Raw
PUB = serialization.PublicFormat.Raw


def seed_key(tag):
    seed = hashlib.sha256(tag.encode()).digest()
    return seed, Ed25519PrivateKey.from_private_bytes(seed)


def pub(key):
    return key.public_key().public_bytes(RAW, PUB)


def u16p(b):
    return struct.pack(">H", len(b)) + b


OPS = {"add-device": 1, "remove-device": 2, "rotate-account-key": 3}


def record(op, account_id, device_id, key, version, ts, account_key):
    body = bytes([1, OPS[op]]) + u16p(account_id.encode()) + \
        u16p(device_id.encode()) + u16p(key) + struct.pack(">QQ", version, ts) + \
        pub(account_key)
    sig = account_key.sign(b"ktlog/v1 device-record\n" + body)
    return body + sig


def leaf_hash(data):
    return hashlib.sha256(b"\x00" + data).digest()


def records():
    _, alice1 = seed_key("vector alice account key 1")
    _, alice2 = seed_key("vector alice account key 2")
    _, phone = seed_key("vector alice phone")
    _, laptop = seed_key("vector alice laptop")
    t = 1764270000000
    cases = [
        ("add-device", "alice@example.com", "phone", pub(phone), 1, t, alice1),
        ("add-device", "alice@example.com", "laptop", pub(laptop), 2, t + 1000, alice1),
        ("remove-device", "alice@example.com", "phone", pub(phone), 3, t + 2000, alice1),
        ("rotate-account-key", "alice@example.com", "", pub(alice2), 4, t + 3000, alice1),
        ("add-device", "alice@example.com", "phone", pub(phone), 5, t + 4000, alice2),
    ]
    out = []
    for op, acct, dev, key, ver, ts, signer in cases:
        data = record(op, acct, dev, key, ver, ts, signer)
        out.append({
            "operation": op, "account_id": acct, "device_id": dev,
            "key": key.hex(), "account_version": ver, "timestamp_ms": ts,
            "account_key": pub(signer).hex(), "record": data.hex(),
            "record_hash": hashlib.sha256(data).hexdigest(),
        })
    # The account state after all five records.
    state = b"\x01" + u16p(b"alice@example.com") + pub(alice2) + \
        struct.pack(">QH", 5, 2) + \
        u16p(b"laptop") + u16p(pub(laptop)) + struct.pack(">Q", 1) + \
        u16p(b"phone") + u16p(pub(phone)) + struct.pack(">Q", 4)
    return out, state.hex()


def note_key_id(name, typ, key):
    return hashlib.sha256(name.encode() + b"\n" + bytes([typ]) + key).digest()[:4]


def checkpoint():
    seed, log = seed_key("vector log key")
    origin = "ktlog.example/log"
    kid = note_key_id(origin, 1, pub(log))
    vkey = "%s+%s+%s" % (origin, kid.hex(), base64.b64encode(b"\x01" + pub(log)).decode())
    skey = "PRIVATE+KEY+%s+%s+%s" % (origin, kid.hex(), base64.b64encode(b"\x01" + seed).decode())
    root = hashlib.sha256(b"vector root").digest()
    index_root = hashlib.sha256(b"vector index root").digest()
    body = "%s\n%d\n%s\nindex-root %s\ntimestamp-ms %d\n" % (
        origin, 5, base64.b64encode(root).decode(),
        base64.b64encode(index_root).decode(), 1764270005000)
    sig = log.sign(body.encode())
    note = body + "\n\u2014 %s %s\n" % (origin, base64.b64encode(kid + sig).decode())
    return {"signer_key": skey, "verifier_key": vkey, "origin": origin, "size": 5,
            "root": root.hex(), "index_root": index_root.hex(),
            "timestamp_ms": 1764270005000, "note": note}


# --- account index (docs/index.md) -----------------------------------------

EMPTY = bytes(32)


def index_key(account_id):
    return hashlib.sha256(b"ktlog/v1 account-index-key\n" + account_id.encode()).digest()


def bit(key, depth):
    return (key[depth // 8] >> (7 - depth % 8)) & 1


def ileaf(k, v):
    return hashlib.sha256(b"\x10" + k + v).digest()


def inode(l, r):
    return hashlib.sha256(b"\x11" + l + r).digest()


def iroot(entries, depth=0):
    """entries: sorted list of (key, value hash)."""
    if not entries:
        return EMPTY
    if len(entries) == 1:
        return ileaf(*entries[0])
    left = [e for e in entries if bit(e[0], depth) == 0]
    right = [e for e in entries if bit(e[0], depth) == 1]
    return inode(iroot(left, depth + 1), iroot(right, depth + 1))


def iprove(entries, key, depth=0):
    """(kind, siblings, other) for key, from the definition."""
    if not entries:
        return 2, [], None
    if len(entries) == 1:
        k, v = entries[0]
        return (1, [], None) if k == key else (3, [], (k, v))
    left = [e for e in entries if bit(e[0], depth) == 0]
    right = [e for e in entries if bit(e[0], depth) == 1]
    if bit(key, depth) == 0:
        kind, sib, other = iprove(left, key, depth + 1)
        return kind, [iroot(right, depth + 1)] + sib, other
    kind, sib, other = iprove(right, key, depth + 1)
    return kind, [iroot(left, depth + 1)] + sib, other


def encode_proof(kind, siblings, other):
    out = bytes([kind]) + struct.pack(">H", len(siblings))
    bitmap = bytearray((len(siblings) + 7) // 8)
    hashes = b""
    for i, h in enumerate(siblings):
        if h != EMPTY:
            bitmap[i // 8] |= 0x80 >> (i % 8)
            hashes += h
    out += bytes(bitmap) + hashes
    if kind == 3:
        out += other[0] + other[1]
    return out


def index_vectors():
    present = ["alice@example.com", "bob@example.com", "carol@example.com",
               "dave@example.com", "erin@example.com", "frank@example.com",
               "grace@example.com", "heidi@example.com", "ivan@example.com",
               "judy@example.com", "mike@example.com", "niaj@example.com"]
    absent = ["mallory@example.com", "oscar@example.com", "peggy@example.com",
              "trent@example.com", "victor@example.com", "walter@example.com"]
    entries = sorted((index_key(a), hashlib.sha256(("state of " + a).encode()).digest())
                     for a in present)
    value = dict(entries)
    root = iroot(entries)
    # One absent account whose path ends in an empty subtree.
    n = 0
    while iprove(entries, index_key("nobody%d@example.org" % n))[0] != 2:
        n += 1
        assert n < 100000, "no empty subtree in this index"
    absent.append("nobody%d@example.org" % n)
    proofs = []
    for a in present + absent:
        k = index_key(a)
        kind, sib, other = iprove(entries, k)
        proofs.append({"account_id": a, "key": k.hex(),
                       "value_hash": value[k].hex() if k in value else None,
                       "kind": {1: "membership", 2: "absent-empty", 3: "absent-other-leaf"}[kind],
                       "proof": encode_proof(kind, sib, other).hex()})
    return {"entries": [{"account_id": a, "key": index_key(a).hex(),
                         "value_hash": value[index_key(a)].hex()} for a in present],
            "empty_root": EMPTY.hex(), "root": root.hex(), "proofs": proofs}


# --- verification codes (docs/codes.md) ------------------------------------

def party_fingerprint(key, ident, iterations=5200):
    h = hashlib.sha512(b"\x00\x00" + key + ident + key).digest()
    for _ in range(1, iterations):
        h = hashlib.sha512(h + key).digest()
    return h


def digits(fp):
    return "".join("%05d" % (int.from_bytes(fp[i * 5:i * 5 + 5], "big") % 100000)
                   for i in range(6))


def code_vectors():
    out = []
    _, alice = seed_key("vector alice account key 1")
    _, alice2 = seed_key("vector alice account key 2")
    _, bob = seed_key("vector bob account key")
    for (lk, lid), (rk, rid) in [((pub(alice), "alice@example.com"), (pub(bob), "bob@example.com")),
                                 ((pub(alice2), "alice@example.com"), (pub(bob), "bob@example.com"))]:
        lf = party_fingerprint(lk, lid.encode())
        rf = party_fingerprint(rk, rid.encode())
        ld, rd = digits(lf), digits(rf)
        scannable = b"\x08\x01" + b"\x12\x22\x0a\x20" + lf[:32] + b"\x1a\x22\x0a\x20" + rf[:32]
        out.append({"local_key": lk.hex(), "local_id": lid, "remote_key": rk.hex(),
                    "remote_id": rid, "local_digits": ld, "remote_digits": rd,
                    "code": min(ld, rd) + max(ld, rd),
                    "scannable_text": "ktlog-code:" + base64.urlsafe_b64encode(scannable).decode().rstrip("=")})
    return out


# --- witness cosignatures (c2sp.org/tlog-cosignature) -----------------------

def cosignature():
    seed, witness = seed_key("vector witness key")
    name = "witness.ktlog.example/w1"
    kid = note_key_id(name, 4, pub(witness))
    vkey = "%s+%s+%s" % (name, kid.hex(), base64.b64encode(b"\x04" + pub(witness)).decode())
    skey = "PRIVATE+KEY+%s+%s+%s" % (name, kid.hex(), base64.b64encode(b"\x04" + seed).decode())
    cp = checkpoint()
    body = cp["note"].split("\n\n")[0] + "\n"
    t = 1764270006
    sig = witness.sign(("cosignature/v1\ntime %d\n" % t).encode() + body.encode())
    line = "\u2014 %s %s\n" % (name, base64.b64encode(kid + struct.pack(">Q", t) + sig).decode())
    return {"witness_signer_key": skey, "witness_verifier_key": vkey,
            "log_verifier_key": cp["verifier_key"], "time": t,
            "note": cp["note"] + line}


def main():
    recs, _ = records()
    with open("tests/testdata/ktlog/records.json", "w") as f:
        json.dump({"description": "ktlog device records v1 (docs/formats.md), "
                   "generated by tools/vectors/gen_ktlog_vectors.py; the "
                   "account states, commitments and leaves they lead to are in "
                   "private.json (tools/vectors/gen_private_vectors.py)",
                   "records": recs}, f, indent=1)
        f.write("\n")
    with open("tests/testdata/ktlog/index.json", "w") as f:
        json.dump({"description": "the account index tree (docs/index.md) over "
                   "keys SHA-256(\"ktlog/v1 account-index-key\\n\" || id), as "
                   "tree vectors (the tree does not depend on how keys are "
                   "derived; the index over VRF positions is in private.json): "
                   "keys, root and encoded membership/absence proofs",
                   **index_vectors()}, f, indent=1)
        f.write("\n")
    with open("tests/testdata/ktlog/codes.json", "w") as f:
        json.dump({"description": "ktlog verification codes (docs/codes.md): "
                   "Signal's safety-number algorithm over account keys and ids; the "
                   "second pair is the first after alice rotated her account key",
                   "codes": code_vectors()}, f, indent=1)
        f.write("\n")
    with open("tests/testdata/ktlog/cosignature.json", "w") as f:
        json.dump({"description": "a ktlog checkpoint cosigned by a witness "
                   "(c2sp.org/tlog-cosignature, Ed25519 cosignature/v1)",
                   "cosigned": cosignature()}, f, indent=1, ensure_ascii=False)
        f.write("\n")
    with open("tests/testdata/ktlog/checkpoint.json", "w") as f:
        json.dump({"description": "a ktlog checkpoint signed note (docs/formats.md)",
                   "checkpoint": checkpoint()}, f, indent=1, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
