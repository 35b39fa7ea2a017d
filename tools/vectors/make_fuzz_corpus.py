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


if __name__ == "__main__":
    main()
