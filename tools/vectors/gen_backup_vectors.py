#!/usr/bin/python3
"""Generates (or --check's) tests/testdata/ktlog/backup.json: trust backup vectors.

Written from the text of docs/formats.md ("Trust backup") only, by an
independent implementation that shares no code with ktlog's C++ (Python's
standard library; PyNaCl, Debian's python3-nacl, for libsodium's
XChaCha20-Poly1305; argon2-cffi, Debian's python3-argon2, for Argon2id from
its reference implementation, not libsodium's):

  sealed   = "ktlog backup v1\\n" || u16+n account id || u64 version ||
             u8 wrap count || wraps || nonce (24) || u32+n ciphertext
  wrap     = u8 type || [type 2: salt (16) || u64 ops || u64 memory] ||
             nonce (24) || wrapped key (48)
  wrapped  = XChaCha20-Poly1305(key: the recovery key, or Argon2id13 of the
             passphrase with the salt and costs; nonce; the backup key;
             associated data "ktlog backup key v1\\n" || u8 type ||
             [salt || u64 ops || u64 memory])
  body     = XChaCha20-Poly1305(backup key; nonce; u32 length || plaintext
             || zeros to a multiple of 4096; associated data: every byte
             of sealed before the body's nonce)
  recovery key text = base32 (RFC 4648, lowercase) of the key ||
             SHA-256("ktlog recovery key v1\\n" || key)[0:3], in groups of
             4 letters joined by "-"

Every byte follows from the fixed inputs below. Run from the repository
root:

    /usr/bin/python3 tools/vectors/gen_backup_vectors.py
    /usr/bin/python3 tools/vectors/gen_backup_vectors.py --check FILE
"""
import base64
import hashlib
import json
import struct
import sys

from argon2.low_level import Type, hash_secret_raw
from nacl import bindings as sodium
from nacl.exceptions import CryptoError

OUT = "tests/testdata/ktlog/backup.json"
MAGIC = b"ktlog backup v1\n"
WRAP_LABEL = b"ktlog backup key v1\n"
RECOVERY_LABEL = b"ktlog recovery key v1\n"
RECOVERY, PASSPHRASE = 1, 2

INPUTS = {
    "account_id": "alice@example.com",
    "version": 3,
    "backup_key": "11" * 32,
    "recovery_key": bytes(range(32)).hex(),
    "recovery_nonce": "21" * 24,
    "passphrase": "correct horse battery staple",
    "salt": "31" * 16,
    "ops": 1,
    "memory": 8192,
    "passphrase_nonce": "22" * 24,
    "body_nonce": "23" * 24,
    "plaintext": '{"contacts":{"bob@example.com":{"verified":true}}}',
}


def u64(n):
    return struct.pack(">Q", n)


def aead(message, ad, nonce, key):
    return sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(message, ad, nonce, key)


def wrap_ad(typ, salt=b"", ops=0, memory=0):
    ad = WRAP_LABEL + bytes([typ])
    if typ == PASSPHRASE:
        ad += salt + u64(ops) + u64(memory)
    return ad


def recovery_text(key):
    check = hashlib.sha256(RECOVERY_LABEL + key).digest()[:3]
    text = base64.b32encode(key + check).decode().lower()
    return "-".join(text[i:i + 4] for i in range(0, len(text), 4))


def build(v):
    backup_key = bytes.fromhex(v["backup_key"])
    recovery_key = bytes.fromhex(v["recovery_key"])
    salt = bytes.fromhex(v["salt"])
    rn = bytes.fromhex(v["recovery_nonce"])
    pn = bytes.fromhex(v["passphrase_nonce"])
    bn = bytes.fromhex(v["body_nonce"])
    recovery_wrap = bytes([RECOVERY]) + rn + aead(
        backup_key, wrap_ad(RECOVERY), rn, recovery_key)
    # Argon2id version 1.3, parallelism 1, memory in KiB (formats.md).
    kek = hash_secret_raw(v["passphrase"].encode(), salt, time_cost=v["ops"],
                          memory_cost=v["memory"] // 1024, parallelism=1,
                          hash_len=32, type=Type.ID)
    pad = wrap_ad(PASSPHRASE, salt, v["ops"], v["memory"])
    passphrase_wrap = (bytes([PASSPHRASE]) + salt + u64(v["ops"]) + u64(v["memory"]) +
                       pn + aead(backup_key, pad, pn, kek))
    account = v["account_id"].encode()
    header = (MAGIC + struct.pack(">H", len(account)) + account + u64(v["version"]) +
              bytes([2]) + recovery_wrap + passphrase_wrap)
    plaintext = v["plaintext"].encode()
    padded = struct.pack(">I", len(plaintext)) + plaintext
    padded += bytes(-len(padded) % 4096)
    body = aead(padded, header, bn, backup_key)
    sealed = header + bn + struct.pack(">I", len(body)) + body
    return {
        "recovery_key_text": recovery_text(recovery_key),
        "passphrase_key": kek.hex(),
        "sealed": sealed.hex(),
    }


def check(path):
    with open(path) as f:
        stored = json.load(f)
    made = build(stored["inputs"])
    for k, want in made.items():
        assert stored[k] == want, "%s differs from the independent implementation" % k
    # The stored backup opens with the backup key, and the body with its
    # header as the associated data; a flipped byte of the header does not.
    sealed = bytes.fromhex(stored["sealed"])
    v = stored["inputs"]
    # Parse the header as formats.md lays it out.
    assert sealed[:16] == MAGIC
    n = 16 + 2 + struct.unpack(">H", sealed[16:18])[0] + 8
    wraps = sealed[n]
    n += 1
    for _ in range(wraps):
        n += 1 + (16 + 8 + 8 if sealed[n] == PASSPHRASE else 0) + 24 + 48
    header, bn = sealed[:n], sealed[n:n + 24]
    (length,) = struct.unpack(">I", sealed[n + 24:n + 28])
    body = sealed[n + 28:]
    assert len(body) == length and length >= 20
    padded = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
        body, header, bn, bytes.fromhex(v["backup_key"]))
    length = struct.unpack(">I", padded[:4])[0]
    assert padded[4:4 + length].decode() == v["plaintext"]
    bad = bytearray(header)
    bad[-1] ^= 1
    try:
        sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
            body, bytes(bad), bn, bytes.fromhex(v["backup_key"]))
        raise AssertionError("an altered header opened")
    except CryptoError:
        pass
    print("backup vectors: ok (%d bytes sealed)" % len(sealed))


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        check(sys.argv[2])
        return
    out = {"comment": "tools/vectors/gen_backup_vectors.py; docs/formats.md, "
                      "\"Trust backup\"", "inputs": INPUTS}
    out.update(build(INPUTS))
    with open(OUT, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
