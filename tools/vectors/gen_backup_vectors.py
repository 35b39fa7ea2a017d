#!/usr/bin/python3
"""Generates (or --check's) tests/testdata/ktlog/backup.json: trust backup vectors.

Written from the text of docs/formats.md ("Trust backup", "Device record,
format version 1" and "Registration credential") only, by an independent
implementation that shares no code with ktlog's C++ (Python's standard
library; PyNaCl, Debian's python3-nacl, for libsodium's XChaCha20-Poly1305
and for Ed25519 signing; argon2-cffi, Debian's python3-argon2, for Argon2id
from its reference implementation, not libsodium's; python3-cryptography's
Ed25519, OpenSSL's, to verify the signatures a second way):

  sealed   = "ktlog backup v1\\n" || u16+n account id || u64 version ||
             u8 wrap count || wraps || nonce (24) || u32+n ciphertext
  wrap     = params || nonce (24) || wrapped key (48)
  params   = u8 type || [type 2: salt (16) || u64 ops || u64 memory] ||
             [type 3: u8+n rp id || u8+n credential id || salt (32)]
  wrapped  = XChaCha20-Poly1305(key: the recovery key; Argon2id13 of the
             passphrase with the salt and costs; or a security key's
             hmac-secret output for SHA-256("ktlog backup hmac-secret
             v1\\n" || salt), which is HMAC-SHA256(CredRandom, that)
             (CTAP 2.1); nonce; the backup key; associated data
             "ktlog backup key v1\\n" || params)
  body     = XChaCha20-Poly1305(backup key; nonce; u32 length || plaintext
             || zeros to a multiple of 4096; associated data: every byte
             of sealed before the body's nonce)
  recovery key text = base32 (RFC 4648, lowercase) of the key ||
             SHA-256("ktlog recovery key v1\\n" || key)[0:3], in groups of
             4 letters joined by "-"

"backup_record" is a record-backup device record (operation 0x06), format
1, naming the sealed backup above; "deleted" within it names no backup:

  record   = u8 0x01 || u8 0x06 || u16+n account id || u16+n device id
             (empty) || u16+n key || u64 account version || u64 timestamp
             ms || account key (32) || signature (64)
  key      = u64 backup version (1 and up) || SHA-256(sealed), or 32 zero
             bytes for "no backup" (deleted): 40 bytes
  signature = Ed25519 (RFC 8032) by the account key over
             "ktlog/v1 device-record\n" || every preceding byte
  record_hash = SHA-256(record)

"backup_record_invalid" lists records a decoder must refuse, each re-signed
so that only the named defect is wrong: a key field of 39 or of 41 bytes,
backup version 0, a non-empty device id.

"security_key_backup" is a backup of the same plaintext with one
security-key wrap (type 3), from a credential whose CredRandom is given.

"fetch_credential" is the backup-fetch credential:

  credential = "b1." || decimal(expiry) || "." || lowercase hex(
             HMAC-SHA256(registration key, "ktlog-backup-fetch-v1\n" ||
             u16+n account id || u64 expiry))

Every byte follows from the fixed inputs below. Run from the repository
root:

    /usr/bin/python3 tools/vectors/gen_backup_vectors.py
    /usr/bin/python3 tools/vectors/gen_backup_vectors.py --check FILE
"""
import base64
import hashlib
import hmac
import json
import struct
import sys

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from nacl import bindings as sodium
from nacl.exceptions import CryptoError
from nacl.signing import SigningKey

OUT = "tests/testdata/ktlog/backup.json"
MAGIC = b"ktlog backup v1\n"
WRAP_LABEL = b"ktlog backup key v1\n"
HMAC_SECRET_LABEL = b"ktlog backup hmac-secret v1\n"
RECOVERY_LABEL = b"ktlog recovery key v1\n"
RECOVERY, PASSPHRASE, SECURITY_KEY = 1, 2, 3

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


SECURITY_KEY_INPUTS = {
    "version": 3,
    "rp_id": "ktlog.example",
    "credential_id": "c1" * 48,
    "cred_random": "41" * 32,
    "salt": "51" * 32,
    "wrap_nonce": "25" * 24,
    "body_nonce": "26" * 24,
}


# Device record, format version 1, operation 0x06 "record backup".
RECORD_LABEL = b"ktlog/v1 device-record\n"
FORMAT_1, RECORD_BACKUP = 0x01, 0x06
RECORD_INPUTS = {
    "account_key_seed": bytes(range(0x40, 0x60)).hex(),
    "account_id": "alice@example.com",
    "account_version": 7,
    "timestamp_ms": 1767225600000,
}
DELETED_INPUTS = {
    "account_key_seed": RECORD_INPUTS["account_key_seed"],
    "account_id": "alice@example.com",
    "account_version": 8,
    "timestamp_ms": 1767225660000,
    "backup_version": 4,
    "sealed_sha256": "00" * 32,
}

# Registration credential, the backup-fetch ("b1.") form.
FETCH_LABEL = b"ktlog-backup-fetch-v1\n"
FETCH_INPUTS = {
    "registration_key": bytes(range(32)).hex(),
    "account_id": "alice@example.com",
    "expiry_s": 1767225600,
}


def u16n(b):
    return struct.pack(">H", len(b)) + b


def u64(n):
    return struct.pack(">Q", n)


def aead(message, ad, nonce, key):
    return sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(message, ad, nonce, key)


def wrap_ad(typ, salt=b"", ops=0, memory=0):
    ad = WRAP_LABEL + bytes([typ])
    if typ == PASSPHRASE:
        ad += salt + u64(ops) + u64(memory)
    return ad


def u8n(b):
    return bytes([len(b)]) + b


def seal(account, version, wraps, plaintext, body_nonce, backup_key):
    header = (MAGIC + u16n(account) + u64(version) + bytes([len(wraps)]) +
              b"".join(wraps))
    padded = struct.pack(">I", len(plaintext)) + plaintext
    padded += bytes(-len(padded) % 4096)
    body = aead(padded, header, body_nonce, backup_key)
    return header + body_nonce + struct.pack(">I", len(body)) + body


def build_security_key(v):
    backup_key = bytes.fromhex(INPUTS["backup_key"])
    salt = bytes.fromhex(v["salt"])
    key_salt = hashlib.sha256(HMAC_SECRET_LABEL + salt).digest()
    secret = hmac.new(bytes.fromhex(v["cred_random"]), key_salt,
                      hashlib.sha256).digest()
    params = (bytes([SECURITY_KEY]) + u8n(v["rp_id"].encode()) +
              u8n(bytes.fromhex(v["credential_id"])) + salt)
    nonce = bytes.fromhex(v["wrap_nonce"])
    wrap = params + nonce + aead(backup_key, WRAP_LABEL + params, nonce, secret)
    sealed = seal(INPUTS["account_id"].encode(), v["version"], [wrap],
                  INPUTS["plaintext"].encode(), bytes.fromhex(v["body_nonce"]),
                  backup_key)
    return {"inputs": v, "key_salt": key_salt.hex(),
            "hmac_secret": secret.hex(), "wrap": wrap.hex(),
            "sealed": sealed.hex()}


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
    sealed = seal(v["account_id"].encode(), v["version"],
                  [recovery_wrap, passphrase_wrap], v["plaintext"].encode(),
                  bn, backup_key)
    return {
        "recovery_key_text": recovery_text(recovery_key),
        "passphrase_key": kek.hex(),
        "sealed": sealed.hex(),
    }


def backup_key_field(version, sealed_sha256):
    return u64(version) + sealed_sha256


def sign_record(seed, fields):
    """fields: every byte of the record up to the timestamp; returns the record."""
    sk = SigningKey(seed)
    account_key = bytes(sk.verify_key)
    body = fields + account_key
    sig = sk.sign(RECORD_LABEL + body).signature
    # Verify a second way (OpenSSL's Ed25519) before anything is written.
    Ed25519PublicKey.from_public_bytes(account_key).verify(sig, RECORD_LABEL + body)
    return body + sig


def record_fields(account_id, device_id, key, account_version, timestamp_ms):
    return (bytes([FORMAT_1, RECORD_BACKUP]) + u16n(account_id.encode()) +
            u16n(device_id.encode()) + u16n(key) + u64(account_version) +
            u64(timestamp_ms))


def make_record(v, key, device_id=""):
    return sign_record(bytes.fromhex(v["account_key_seed"]),
                       record_fields(v["account_id"], device_id, key,
                                     v["account_version"], v["timestamp_ms"]))


def verify_signature(record):
    """True if the trailing signature is the account key's over the rest."""
    if len(record) < 96:
        return False
    body, sig = record[:-64], record[-64:]
    try:
        Ed25519PublicKey.from_public_bytes(body[-32:]).verify(sig, RECORD_LABEL + body)
        return True
    except InvalidSignature:
        return False


def decode_backup_record(record):
    """Decodes a format-1 record-backup record as formats.md lays it out.

    Returns (account id, account version, timestamp, backup version, hash);
    raises ValueError naming the first defect.
    """
    r = record

    def take(n):
        nonlocal r
        if len(r) < n:
            raise ValueError("runs past the end")
        out, r = r[:n], r[n:]
        return out

    def take_u16n():
        return take(struct.unpack(">H", take(2))[0])

    def utf8_id(b, lo, hi, what):
        if not lo <= len(b) <= hi:
            raise ValueError("%s of %d bytes" % (what, len(b)))
        text = b.decode("utf-8")
        if any(ord(c) < 0x20 or ord(c) == 0x7f for c in text):
            raise ValueError("%s has a control character" % what)
        return text

    if take(1)[0] != FORMAT_1:
        raise ValueError("not format 1")
    if take(1)[0] != RECORD_BACKUP:
        raise ValueError("not a record-backup record")
    account_id = utf8_id(take_u16n(), 1, 256, "account id")
    if len(take_u16n()) != 0:
        raise ValueError("a record-backup record's device id is not empty")
    key = take_u16n()
    if len(key) != 40:
        raise ValueError("key field of %d bytes, not 40" % len(key))
    backup_version = struct.unpack(">Q", key[:8])[0]
    if backup_version == 0:
        raise ValueError("backup version 0")
    account_version, timestamp = struct.unpack(">QQ", take(16))
    if account_version == 0:
        raise ValueError("account version 0")
    take(32 + 64)
    if r:
        raise ValueError("trailing bytes")
    if not verify_signature(record):
        raise ValueError("bad signature")
    return account_id, account_version, timestamp, backup_version, key[8:]


def build_backup_record(sealed):
    v = dict(RECORD_INPUTS)
    v["backup_version"] = INPUTS["version"]
    v["sealed_sha256"] = hashlib.sha256(sealed).hexdigest()
    key = backup_key_field(v["backup_version"], bytes.fromhex(v["sealed_sha256"]))
    record = make_record(v, key)
    d = DELETED_INPUTS
    dkey = backup_key_field(d["backup_version"], bytes.fromhex(d["sealed_sha256"]))
    deleted = make_record(d, dkey)
    invalid = [
        ("key field of 39 bytes", make_record(v, key[:39])),
        ("key field of 41 bytes", make_record(v, key + b"\x00")),
        ("backup version 0", make_record(v, backup_key_field(0, key[8:]))),
        ("non-empty device id \"phone\"", make_record(v, key, device_id="phone")),
    ]
    section = {
        "inputs": v,
        "account_key": record[-96:-64].hex(),
        "key_field": key.hex(),
        "record": record.hex(),
        "record_hash": hashlib.sha256(record).hexdigest(),
        "deleted": {
            "inputs": d,
            "key_field": dkey.hex(),
            "record": deleted.hex(),
        },
    }
    return section, [{"why": why, "record": r.hex()} for why, r in invalid]


def fetch_credential(v):
    account = v["account_id"].encode()
    mac = hmac.new(bytes.fromhex(v["registration_key"]),
                   FETCH_LABEL + u16n(account) + u64(v["expiry_s"]),
                   hashlib.sha256).hexdigest()
    return "b1.%d.%s" % (v["expiry_s"], mac)


def build_all():
    out = {"comment": "tools/vectors/gen_backup_vectors.py; docs/formats.md, "
                      "\"Trust backup\"", "inputs": INPUTS}
    out.update(build(INPUTS))
    record, invalid = build_backup_record(bytes.fromhex(out["sealed"]))
    out["backup_record"] = record
    out["backup_record_invalid"] = invalid
    out["security_key_backup"] = build_security_key(SECURITY_KEY_INPUTS)
    out["fetch_credential"] = dict(FETCH_INPUTS,
                                   credential=fetch_credential(FETCH_INPUTS))
    return out


def check_backup_record(stored):
    rec = stored["backup_record"]
    sealed = bytes.fromhex(stored["sealed"])
    record = bytes.fromhex(rec["record"])
    v = rec["inputs"]
    assert decode_backup_record(record) == (
        v["account_id"], v["account_version"], v["timestamp_ms"],
        stored["inputs"]["version"], hashlib.sha256(sealed).digest())
    assert rec["account_key"] == bytes(
        SigningKey(bytes.fromhex(v["account_key_seed"])).verify_key).hex()
    d = rec["deleted"]
    assert decode_backup_record(bytes.fromhex(d["record"])) == (
        v["account_id"], d["inputs"]["account_version"],
        d["inputs"]["timestamp_ms"], d["inputs"]["backup_version"], bytes(32))
    # A flipped byte anywhere breaks the signature.
    for i in range(len(record)):
        bad = bytearray(record)
        bad[i] ^= 1
        assert not verify_signature(bytes(bad)), "byte %d not signed" % i
    # Each invalid record is well signed, and refused for its defect.
    for case in stored["backup_record_invalid"]:
        bad = bytes.fromhex(case["record"])
        assert verify_signature(bad), case["why"]
        try:
            decode_backup_record(bad)
            raise AssertionError("decoded: " + case["why"])
        except ValueError as e:
            assert "signature" not in str(e), case["why"]
    # The credential verifies only for its own id and expiry.
    f = stored["fetch_credential"]
    assert fetch_credential(f) == f["credential"]
    assert fetch_credential(dict(f, account_id="bob@example.com")) != f["credential"]
    assert fetch_credential(dict(f, expiry_s=f["expiry_s"] + 1)) != f["credential"]


def check(path):
    with open(path) as f:
        text = f.read()
    stored = json.loads(text)
    made = build_all()
    for k in set(made) | set(stored):
        assert stored.get(k) == made.get(k), \
            "%s differs from the independent implementation" % k
    assert text == dump(made), "the file is not as the generator writes it"
    check_backup_record(stored)
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
    # The security-key backup: its one wrap opens with the hmac-secret
    # output, to the same backup key.
    skb = stored["security_key_backup"]
    wrap = bytes.fromhex(skb["wrap"])
    rp_len = wrap[1]
    id_len = wrap[2 + rp_len]
    params_end = 3 + rp_len + id_len + 32
    assert wrap[2:2 + rp_len].decode() == skb["inputs"]["rp_id"]
    assert sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
        wrap[params_end + 24:], WRAP_LABEL + wrap[:params_end],
        wrap[params_end:params_end + 24],
        bytes.fromhex(skb["hmac_secret"])) == bytes.fromhex(v["backup_key"])
    assert bytes.fromhex(skb["wrap"]) in bytes.fromhex(skb["sealed"])
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
    print("backup vectors: ok (%d bytes sealed, %d-byte backup record, "
          "%d invalid records, fetch credential)"
          % (len(sealed), len(bytes.fromhex(stored["backup_record"]["record"])),
             len(stored["backup_record_invalid"])))


def dump(out):
    return json.dumps(out, indent=1) + "\n"


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        check(sys.argv[2])
        return
    text = dump(build_all())
    with open(OUT, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
