#!/usr/bin/python3
"""Generates tests/testdata/ktlog/owner_access.json: vectors for owner access.

Written from the text of docs/formats.md ("Owner access") only, by an
independent implementation that shares no code with ktlog's C++ (Python's
standard library and `cryptography` for Ed25519, RFC 8032):

  grant message   = "ktlog/v1 owner-access\\n" || u16+n origin ||
                    u16+n account id || access key (32)
  request message = "ktlog/v1 history-request\\n" || u16+n origin ||
                    u16+n account id || u64 from_version ||
                    u8 has tree size (0x00 or 0x01) ||
                    u64 tree size (0 when unset) || u64 timestamp (ms)

  grant           = the account key's Ed25519 signature of the grant message
  request sig.    = the access key's Ed25519 signature of the request message

Integers are big-endian; u16+n is a 2-byte length and that many bytes.
Ed25519 signatures are deterministic, so every byte here follows from the
fixed seeds below (no randomness): two runs write identical files. Run from
the repository root:

    /usr/bin/python3 tools/vectors/gen_owner_access_vectors.py
"""
import json
import os
import struct

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey, Ed25519PublicKey)

GRANT_PREFIX = b"ktlog/v1 owner-access\n"
REQUEST_PREFIX = b"ktlog/v1 history-request\n"

ORIGIN = b"ktlog.example/log"
ACCOUNT_ID = b"alice@example.com"
ACCOUNT_SEED = bytes([0x01]) * 32
ACCESS_SEED = bytes([0x02]) * 32
STRANGER_SEED = bytes([0x03]) * 32
OUT = os.path.join("tests", "testdata", "ktlog", "owner_access.json")


def u16(b):
    assert len(b) < 1 << 16
    return struct.pack(">H", len(b)) + b


def key(seed):
    return Ed25519PrivateKey.from_private_bytes(seed)


def pub(k):
    return k.public_key().public_bytes(serialization.Encoding.Raw,
                                       serialization.PublicFormat.Raw)


def grant_message(origin, account_id, access_key):
    assert len(access_key) == 32
    return GRANT_PREFIX + u16(origin) + u16(account_id) + access_key


def request_message(origin, account_id, from_version, tree_size, timestamp_ms):
    """tree_size None: unset (has = 0x00, then eight zero bytes)."""
    has = 0 if tree_size is None else 1
    return (REQUEST_PREFIX + u16(origin) + u16(account_id) +
            struct.pack(">QBQQ", from_version, has, tree_size or 0, timestamp_ms))


def verifies(public_key, sig, msg):
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(sig, msg)
        return True
    except Exception:  # cryptography raises InvalidSignature
        return False


def main():
    account, access, stranger = key(ACCOUNT_SEED), key(ACCESS_SEED), key(STRANGER_SEED)
    account_pub, access_pub = pub(account), pub(access)

    gm = grant_message(ORIGIN, ACCOUNT_ID, access_pub)
    grant = account.sign(gm)
    assert len(grant) == 64 and verifies(account_pub, grant, gm)

    requests = []
    for from_version, tree_size, ts in ((1, None, 1764270000000),
                                        (3, 9, 1764270000001)):
        msg = request_message(ORIGIN, ACCOUNT_ID, from_version, tree_size, ts)
        sig = access.sign(msg)
        assert verifies(access_pub, sig, msg)
        requests.append({
            "from_version": from_version,
            "tree_size": tree_size,  # null: unset
            "timestamp_ms": ts,
            "request_message": msg.hex(),
            "signature": sig.hex(),
        })

    # Invalid: each grant or signature below is well formed (64 bytes) and
    # verifies over some message, but not over the one the log checks for
    # the request it is sent with.
    req1 = requests[0]
    msg1 = bytes.fromhex(req1["request_message"])
    invalid = []

    def refused(name, reason, signed_message, grant_bytes, signature_hex):
        """A proof for request 1 the log refuses (PERMISSION_DENIED)."""
        invalid.append({
            "name": name,
            "reason": reason + " (PERMISSION_DENIED)",
            "signed_message": signed_message.hex(),
            "access_key": access_pub.hex(),
            "grant": grant_bytes.hex(),
            "request": {"from_version": 1, "tree_size": None,
                        "timestamp_ms": req1["timestamp_ms"],
                        "signature": signature_hex},
            "expected": "PERMISSION_DENIED",
        })

    bad_gm = grant_message(ORIGIN, b"bob@example.com", access_pub)
    bad_grant = account.sign(bad_gm)
    assert not verifies(account_pub, bad_grant, gm)
    refused("grant_for_another_account",
            "the grant is the account key's signature of the grant message "
            "for account id bob@example.com, not alice@example.com: it does "
            "not grant access to alice's history",
            bad_gm, bad_grant, req1["signature"])

    bad_gm = grant_message(b"other.example/log", ACCOUNT_ID, access_pub)
    bad_grant = account.sign(bad_gm)
    assert not verifies(account_pub, bad_grant, gm)
    refused("grant_for_another_origin",
            "the grant message names origin other.example/log: a grant made "
            "for one log is no grant on another",
            bad_gm, bad_grant, req1["signature"])

    refused("grant_by_a_stranger",
            "the right grant message, signed by a key (seed 32 x 0x03, public "
            "key %s) that was never an authority of the account (the same "
            "message as for an account that does not exist)" % pub(stranger).hex(),
            gm, stranger.sign(gm), req1["signature"])

    other_msg = request_message(ORIGIN, ACCOUNT_ID, 2, None, req1["timestamp_ms"])
    bad_sig = access.sign(other_msg)
    assert not verifies(access_pub, bad_sig, msg1)
    refused("request_signed_for_another_from_version",
            "the request asks from_version 1, but the access key signed the "
            "request message for from_version 2",
            other_msg, grant, bad_sig.hex())

    other_msg = request_message(ORIGIN, ACCOUNT_ID, 1, 0, req1["timestamp_ms"])
    bad_sig = access.sign(other_msg)
    assert not verifies(access_pub, bad_sig, msg1)
    refused("request_signed_for_tree_size_0",
            "the request leaves tree_size unset (00 then eight zero bytes), "
            "but the access key signed tree size 0 (01 then eight zero "
            "bytes): unset is not 0",
            other_msg, grant, bad_sig.hex())

    bad_sig = account.sign(msg1)
    assert not verifies(access_pub, bad_sig, msg1)
    refused("request_signed_by_the_account_key",
            "the request message is signed by the account key instead of the "
            "access key the proof names",
            msg1, grant, bad_sig.hex())

    # The short example in docs/formats.md, "Owner access".
    ex_access = bytes([0x11]) * 32
    ex_gm = grant_message(b"o", b"a", ex_access)
    ex_req = request_message(b"o", b"a", 3, 9, 0x0102)
    ex_unset = request_message(b"o", b"a", 3, None, 0x0102)
    # The docs' text, byte for byte.
    assert ex_gm == GRANT_PREFIX + bytes.fromhex("00016f000161") + ex_access
    assert ex_req == REQUEST_PREFIX + bytes.fromhex(
        "00016f000161" "0000000000000003" "01" "0000000000000009" "0000000000000102")
    assert ex_unset == REQUEST_PREFIX + bytes.fromhex(
        "00016f000161" "0000000000000003" "00" "0000000000000000" "0000000000000102")

    vectors = {
        "description": "ktlog owner access (docs/formats.md, \"Owner access\"): the "
                       "grant of an access key by an Ed25519 account key and the "
                       "access key's signatures of history requests; written from "
                       "docs/formats.md only (tools/vectors/gen_owner_access_vectors.py)",
        "origin": ORIGIN.decode(),
        "account_id": ACCOUNT_ID.decode(),
        "account_key_seed": ACCOUNT_SEED.hex(),
        "account_key": account_pub.hex(),
        "access_key_seed": ACCESS_SEED.hex(),
        "access_key": access_pub.hex(),
        "grant_message": gm.hex(),
        "grant": grant.hex(),
        "requests": requests,
        "invalid": invalid,
        "docs_example": {
            "origin": "o",
            "account_id": "a",
            "access_key": ex_access.hex(),
            "grant_message": ex_gm.hex(),
            "request": {"from_version": 3, "tree_size": 9, "timestamp_ms": 0x0102,
                        "request_message": ex_req.hex()},
            "request_tree_size_unset": {"from_version": 3, "tree_size": None,
                                        "timestamp_ms": 0x0102,
                                        "request_message": ex_unset.hex()},
        },
    }
    with open(OUT, "w") as f:
        json.dump(vectors, f, indent=1)
        f.write("\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
