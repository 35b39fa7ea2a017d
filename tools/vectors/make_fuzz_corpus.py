#!/usr/bin/python3
"""Seeds the fuzz corpora (tests/testdata/fuzz/) from the test vectors.

Run from the repository root: /usr/bin/python3 tools/vectors/make_fuzz_corpus.py
"""
import json
import os


def write(kind, name, data):
    d = os.path.join("tests/testdata/fuzz", kind)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    recs = json.load(open("tests/testdata/ktlog/records.json"))
    for i, r in enumerate(recs["records"]):
        write("record", "record%d" % i, bytes.fromhex(r["record"]))
    private = json.load(open("tests/testdata/ktlog/private.json"))
    history = private["history"]
    write("record", "account_state", bytes.fromhex(history[-1]["account_state"]))
    write("record", "leaf", bytes.fromhex(history[0]["leaf"]))

    # vrf: public key || proof || alpha
    vrf = json.load(open("tests/testdata/ktlog/vrf.json"))
    for i, v in enumerate(vrf["valid"][:4]):
        write("vrf", "valid%d" % i, bytes.fromhex(v["pk"] + v["pi"] + v["alpha"]))
    for i, v in enumerate(vrf["invalid"][:4]):
        write("vrf", "invalid%d" % i, bytes.fromhex(v["pk"] + v["pi"] + v["alpha"]))

    cp = json.load(open("tests/testdata/ktlog/checkpoint.json"))["checkpoint"]
    write("note", "checkpoint", cp["note"].encode())
    cos = json.load(open("tests/testdata/ktlog/cosignature.json"))["cosigned"]
    write("note", "cosigned", cos["note"].encode())
    notes = json.load(open("tests/testdata/vectors/signed_notes_checkpoints.json"))
    for i, n in enumerate(notes["notes"][:3]):
        write("note", "c2sp%d" % i, n["note"].encode())
    write("note", "verifier_key", cp["verifier_key"].encode())

    index = json.load(open("tests/testdata/ktlog/index.json"))
    for p in index["proofs"]:
        if p["kind"] == "membership" and p["account_id"] != "alice@example.com":
            continue
        write("index_proof", p["account_id"].split("@")[0], bytes.fromhex(p["proof"]))


def merkle_seeds():
    """Valid RFC 9162 proofs over the fuzzer's tree (merkle_proof_fuzzer.cc)."""
    import hashlib
    import struct

    leaves = [hashlib.sha256(b"\x00" + bytes([ord("a") + i % 26]) * (1 + i % 7)).digest()
              for i in range(300)]

    def mth(lo, hi):
        if hi - lo == 1:
            return leaves[lo]
        k = 1
        while k * 2 < hi - lo:
            k *= 2
        return hashlib.sha256(b"\x01" + mth(lo, lo + k) + mth(lo + k, hi)).digest()

    def path(m, lo, hi):
        if hi - lo == 1:
            return []
        k = 1
        while k * 2 < hi - lo:
            k *= 2
        if m < k:
            return path(m, lo, lo + k) + [mth(lo + k, hi)]
        return path(m - k, lo + k, hi) + [mth(lo, lo + k)]

    def subproof(m, lo, hi, b):
        n = hi - lo
        if m == n:
            return [] if b else [mth(lo, hi)]
        k = 1
        while k * 2 < n:
            k *= 2
        if m <= k:
            return subproof(m, lo, lo + k, b) + [mth(lo + k, hi)]
        return subproof(m - k, lo + k, hi, False) + [mth(lo, lo + k)]

    for a, b in [(0, 1), (3, 7), (5, 300), (255, 256)]:
        write("merkle_proof", "inclusion_%d_%d" % (a, b),
              struct.pack("<HHB", a, b, 1) + b"".join(path(a, 0, b)))
    for a, b in [(1, 2), (3, 7), (7, 7), (100, 300)]:
        write("merkle_proof", "consistency_%d_%d" % (a, b),
              struct.pack("<HHB", a, b, 0) + b"".join(subproof(a, 0, b, True)))


def tiles_seeds():
    """Tile paths, a hash tile and an entry bundle (tiles_fuzzer.cc)."""
    for name, path in [("path_full", b"tile/0/000"), ("path_partial", b"tile/1/x001/234.p/12"),
                       ("path_entries", b"tile/entries/000.p/5"), ("path_big", b"tile/2/x123/x456/789")]:
        write("tiles", name, path)
    write("tiles", "hash_tile2", bytes(range(64)))
    write("tiles", "bundle2", b"\x00\x03abc\x00\x01z")


if __name__ == "__main__":
    merkle_seeds()
    tiles_seeds()
    main()
