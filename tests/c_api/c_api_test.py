"""The client library's C API used from a second language for real
(issue 21): Python's ctypes loads libktlog_client.so; Python's own gRPC
(python3-grpcio) is the transport, dicts are the state stores, and
python3-cryptography's Ed25519 keys are the account key stores. Against a
live ktlog-server: register two accounts, verify a contact's lookup,
compare safety codes, rotate a key, restart from the stored state,
catch a tampered answer with its typed reason, reset an account whose
every key was lost (the operator's credential from ktlog-admin), back up
and restore a client's trust on a new phone, and put
an account on FIDO2 security keys: the keys are a CTAP2 authenticator
written here in Python (python3-cryptography's ES256 and Ed25519), apart
from ktlog's own software authenticator, as a platform's FIDO2 API would
answer. Nothing from client/ (no ktctl, no LogClient) is used.

usage: c_api_test.py LIBRARY SERVER_ADDRESS LOG_KEY KTLOG_ADMIN REGISTRATION_KEY
"""

import copy
import hashlib
import os
import subprocess
import sys

import grpc
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

import ktlog

FAILED = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILED.append(what)


def raw(private_key):
    return private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


class MemoryState:
    def __init__(self):
        self.data = None
        self.saves = 0

    def load(self):
        return self.data

    def save(self, data):
        self.data = data
        self.saves += 1


class SoftwareKeys:
    """An account key store that signs and never hands out a private key."""

    def __init__(self):
        self.current = Ed25519PrivateKey.generate()
        self.next = None

    def public_key(self):
        return raw(self.current)

    def sign(self, message):
        return self.current.sign(message)

    def prepare_next(self):
        if self.next is None:
            self.next = Ed25519PrivateKey.generate()
        return raw(self.next)

    def next_public_key(self):
        return raw(self.next) if self.next is not None else b""

    def promote_next(self):
        self.current, self.next = self.next, None

    def sign_next(self, message):
        assert self.next is not None, "no next key prepared"
        return self.next.sign(message)


class SecurityKey:
    """A FIDO2 authenticator as a platform's API answers for it: ES256
    (-7) or EdDSA (-8) credentials, authenticator data = SHA-256(rp id) ||
    flags (user present 0x01, user verified 0x04) || u32 signature counter,
    the signature over authenticator data || client data hash (WebAuthn).
    `touched` False: nobody touches it."""

    def __init__(self):
        self.credentials = {}  # id -> (rp id, algorithm, private key)
        self.counter = 0
        self.touched = True

    def clone(self):
        twin = SecurityKey()
        twin.credentials = dict(self.credentials)
        twin.counter = self.counter
        return twin

    def make_credential(self, rp_id, account_id, algorithm, exclude):
        assert account_id
        if not self.touched:
            raise ktlog.TransportError(4, "nobody touched the key")
        if any(e in self.credentials for e in exclude):
            raise ktlog.TransportError(6, "the key holds an excluded credential")
        credential_id = os.urandom(48)
        if algorithm == -7:
            key = ec.generate_private_key(ec.SECP256R1())
            public = key.public_key().public_bytes(
                Encoding.X962, PublicFormat.UncompressedPoint)
        else:
            key = Ed25519PrivateKey.generate()
            public = raw(key)
        self.credentials[credential_id] = (rp_id, algorithm, key)
        self.counter += 1
        return credential_id, public

    def get_assertion(self, rp_id, credential_ids, client_data_hash, uv):
        if not self.touched:
            raise ktlog.TransportError(4, "nobody touched the key")
        for cid in credential_ids:
            if cid in self.credentials and self.credentials[cid][0] == rp_id:
                break
        else:
            raise ktlog.TransportError(5, "the key holds none of them")
        _, algorithm, key = self.credentials[cid]
        self.counter += 1
        data = (hashlib.sha256(rp_id.encode()).digest() +
                bytes([0x01 | (0x04 if uv else 0)]) +
                self.counter.to_bytes(4, "big"))
        signed = data + client_data_hash
        signature = (key.sign(signed, ec.ECDSA(hashes.SHA256()))
                     if algorithm == -7 else key.sign(signed))
        return cid, data, signature


class PluggedKey:
    """The platform's FIDO2 API: whichever key the user presents now."""

    def __init__(self):
        self.key = None

    def make_credential(self, *args):
        if self.key is None:
            raise ktlog.TransportError(14, "no security key")
        return self.key.make_credential(*args)

    def get_assertion(self, *args):
        if self.key is None:
            raise ktlog.TransportError(14, "no security key")
        return self.key.get_assertion(*args)


def security_keys(lib, transport, log_key, credential, bob):
    """Dave's account onto two security keys through the C API; a copy of
    his phone without a key, and a cloned key, are caught."""
    state, keys, plugged = MemoryState(), SoftwareKeys(), PluggedKey()
    dave = ktlog.Client(lib, transport, state, keys, log_key,
                        "dave@example.com", "phone", allow_no_witnesses=True,
                        security_key=plugged)
    dave.add_device("phone", raw(Ed25519PrivateKey.generate()),
                    credential("dave@example.com", keys.public_key()))
    yubi, solo = SecurityKey(), SecurityKey()
    try:
        dave.enroll_security_key()
        check(False, "enrolling with no key plugged in fails")
    except ktlog.Error as e:
        check(e.code == 14, "enrolling with no key plugged in fails "
              "(UNAVAILABLE)")
    plugged.key = yubi
    yubi.touched = False
    try:
        dave.enroll_security_key()
        check(False, "a key nobody touches enrolls nothing")
    except ktlog.Error as e:
        check(e.code == 4, "a key nobody touches enrolls nothing "
              "(DEADLINE_EXCEEDED)")
    yubi.touched = True
    yubi_id = dave.enroll_security_key()
    check(len(yubi_id) == 48 and len(yubi.credentials) == 1,
          "the YubiKey is enrolled (ES256)")
    try:
        dave.enroll_security_key(eddsa=True)
        check(False, "the same key cannot be enrolled twice")
    except ktlog.Error as e:
        check(e.code == 6, "the same key cannot be enrolled twice "
              "(ALREADY_EXISTS)")
    plugged.key = solo
    solo_id = dave.enroll_security_key(eddsa=True)
    check(solo_id != yubi_id, "the Solo key is enrolled (EdDSA)")
    _, verified = dave.set_security_keys()
    check(verified, "dave's account is on his two security keys")
    found = bob.lookup("dave@example.com")
    check(len(found["account_key"]) > 64,
          "a contact sees dave's authority is a set of security keys")

    plugged.key = yubi
    counter = yubi.counter
    laptop = raw(Ed25519PrivateKey.generate())
    _, verified = dave.add_device("laptop", laptop)
    check(verified and yubi.counter == counter + 1,
          "dave adds his laptop with one touch of his YubiKey")
    found = bob.lookup("dave@example.com")
    check(sorted(d["device_id"] for d in found["devices"]) ==
          ["laptop", "phone"], "a contact verifies the laptop")

    copy_of_phone = ktlog.Client(
        lib, transport, MemoryState(), keys, log_key, "dave@example.com",
        "phone", allow_no_witnesses=True)
    try:
        copy_of_phone.add_device("evil", raw(Ed25519PrivateKey.generate()))
        check(False, "the account key alone adds no device")
    except ktlog.Error as e:
        check(e.code == 9, "the account key alone adds no device "
              "(FAILED_PRECONDITION): " + e.message)
    copy_of_phone.close()

    # A clone of the YubiKey signs once; the real key's next touch shows a
    # counter the account already holds.
    thief = ktlog.Client(lib, transport, MemoryState(), SoftwareKeys(),
                         log_key, "dave@example.com", "evil",
                         allow_no_witnesses=True, security_key=PluggedKey())
    thief._security_key.key = yubi.clone()
    thief.monitor()
    thief.add_device("evil", raw(Ed25519PrivateKey.generate()))
    try:
        dave.add_device("watch", raw(Ed25519PrivateKey.generate()))
        check(False, "the cloned YubiKey is caught")
    except ktlog.Error as e:
        check(e.code == 15 and e.refusal == "CLONED_SECURITY_KEY",
              "the cloned YubiKey is caught by its counter (DATA_LOSS, "
              "CLONED_SECURITY_KEY)")
    thief.close()
    spare = SecurityKey()
    plugged.key = spare
    dave.enroll_security_key()
    plugged.key = solo
    _, verified = dave.set_security_keys()
    check(verified, "dave adds a spare key, approved with a touch of his "
          "Solo key")
    _, verified = dave.remove_security_key(yubi_id)
    check(verified, "dave removes the cloned YubiKey with a touch of the "
          "other")
    _, verified = dave.remove_device("evil")
    check(verified, "and the thief's device")
    plugged.key = yubi
    try:
        dave.add_device("watch", raw(Ed25519PrivateKey.generate()))
        check(False, "the removed YubiKey authorizes nothing")
    except ktlog.Error as e:
        check(e.code == 5, "the removed YubiKey authorizes nothing "
              "(NOT_FOUND: it holds none of the account's keys)")
    try:
        dave.remove_security_key(b"nobody")
        check(False, "an unknown key cannot be removed")
    except ktlog.Error as e:
        check(e.code == 5, "an unknown key cannot be removed (NOT_FOUND)")
    dave.close()


def trust_backup(lib, transport, log_key, fetch_credential, bob_keys, bob,
                 alice):
    """Bob backs up his trust; after his old phone added a device, a new
    phone restores it, and the device is an alert at once."""
    check(bob.compare_code("alice@example.com",
                           alice.safety_code("bob@example.com")),
          "bob compares codes with alice again, after her reset")
    bob.monitor()
    recovery = bob.backup_secrets(recovery_key=True)
    check(len(recovery) == 69, "bob's new recovery key, to write down")
    version, _, verified = bob.backup_create()
    check(version == 1 and verified, "bob's backup 1 is recorded in the log "
          "and stored by the provider")
    bob.add_device("tablet", raw(Ed25519PrivateKey.generate()))
    credential = fetch_credential("bob@example.com")

    def restore(state, secret):
        return ktlog.Client(lib, transport, state, bob_keys, log_key,
                            "bob@example.com", "phone2",
                            allow_no_witnesses=True,
                            restore={"secret": secret,
                                     "credential": credential})
    empty = MemoryState()
    try:
        restore(empty, "aaaa-" * 13 + "aaaa")
        check(False, "a wrong recovery key restores nothing")
    except ktlog.Error as e:
        check(e.code == 3 and empty.data is None, "a recovery key with a "
              "typo restores nothing (INVALID_ARGUMENT): " + e.message)
    try:
        restore(empty, "correct horse battery staple")
        check(False, "a passphrase where the backup has none")
    except ktlog.Error as e:
        check(e.code == 3 and empty.data is None,
              "a passphrase read as a recovery key restores nothing")
    new_phone = restore(empty, recovery)
    raised = new_phone.last_alerts
    types = [a["type"] for a in new_phone.alerts()]
    check(raised == 1 and types[-1] == "UNEXPECTED_DEVICE" and
          empty.data is not None,
          "the new phone gets bob's trust back, and the tablet added after "
          "the backup is an alert at once")
    new_phone.monitor()
    check(new_phone.last_alerts == 0, "its next check raises nothing more")
    version, _, verified = new_phone.backup_create()
    check(version == 2 and verified, "the new phone backs up on (backup 2)")
    try:
        restore(empty, recovery)
        check(False, "a store that holds a state is not restored into")
    except ktlog.Error as e:
        check(e.code == 9, "a store that holds a state is not restored into "
              "(FAILED_PRECONDITION)")
    new_phone.close()


class GrpcTransport:
    """Python's gRPC, raw bytes in and out; `swap` rewrites a lookup of one
    account into one of another (a lying log)."""

    def __init__(self, address):
        self.channel = grpc.insecure_channel(address)
        self.swap = None

    def __call__(self, method, request):
        if method == "LookupAccount" and self.swap is not None:
            old, new = self.swap
            # Field 1 (account_id) comes first: 0x0a, length, bytes.
            assert request[:2 + len(old)] == b"\x0a" + bytes([len(old)]) + old
            request = b"\x0a" + bytes([len(new)]) + new + request[2 + len(old):]
        try:
            return self.channel.unary_unary("/ktlog.v1.Log/" + method)(
                request, timeout=10)
        except grpc.RpcError as e:
            raise ktlog.TransportError(e.code().value[0], e.details())


def main(library_path, address, log_key, admin, registration_key):
    def credential(account, account_key, *flags):
        """What the operator's sign-up service hands the app."""
        return subprocess.run(
            [admin, "credential", "--registration_key=" + registration_key,
             "--account=" + account, "--account_key=" + account_key.hex(),
             *flags], check=True, capture_output=True, text=True).stdout.strip()

    lib = ktlog.Library(library_path)
    transport = GrpcTransport(address)
    stores = {who: (MemoryState(), SoftwareKeys()) for who in ("alice", "bob")}

    def open_client(who):
        state, keys = stores[who]
        return ktlog.Client(lib, transport, state, keys, log_key,
                            who + "@example.com", "phone",
                            allow_no_witnesses=True)

    try:
        ktlog.Client(lib, transport, MemoryState(), SoftwareKeys(), log_key,
                     "carol@example.com", "phone")
        check(False, "a log key without witnesses is refused")
    except ktlog.Error as e:
        check(e.code == 9, "a log key without witnesses is refused "
              "(FAILED_PRECONDITION)")

    alice, bob = open_client("alice"), open_client("bob")
    phones = {who: Ed25519PrivateKey.generate() for who in ("alice", "bob")}
    leaf, verified = alice.add_device(
        "phone", raw(phones["alice"]),
        credential("alice@example.com", stores["alice"][1].public_key()))
    check(verified, "alice's account is registered and verified at leaf %d"
          % leaf)
    _, verified = bob.add_device(
        "phone", raw(phones["bob"]),
        credential("bob@example.com", stores["bob"][1].public_key()))
    check(verified, "bob's account is registered and verified")

    found = alice.lookup("bob@example.com")
    check(found["account_key"] == stores["bob"][1].public_key().hex(),
          "alice verifies bob's account key")
    check([(d["device_id"], d["key"]) for d in found["devices"]] ==
          [("phone", raw(phones["bob"]).hex())],
          "alice verifies bob's device set")
    try:
        alice.lookup("nobody@example.com")
        check(False, "an absent account is proved absent")
    except ktlog.Error as e:
        check(e.code == 5 and e.refusal == "NONE",
              "an absent account is proved absent (NOT_FOUND)")

    code_a, code_b = alice.safety_code("bob@example.com"), bob.safety_code(
        "alice@example.com")
    check(len(code_a) == 60 and code_a == code_b,
          "both phones show the same 60-digit safety code")
    wrong = code_b[:-1] + ("0" if code_b[-1] != "0" else "1")
    check(not alice.compare_code("bob@example.com", wrong),
          "a different code does not match")
    check(alice.compare_code("bob@example.com", code_b),
          "the code bob shows matches: bob is verified")
    alice.monitor()
    check(alice.alerts() == [], "an honest log raises no alert")

    _, verified = bob.rotate_account_key()
    check(verified and stores["bob"][1].next is None,
          "bob rotates his account key; the new key is promoted")
    bob.monitor()
    check(bob.alerts() == [], "bob's own rotation is no alert to him")
    try:
        alice.monitor()
        check(False, "bob's new key is a contact alert for alice")
    except ktlog.Error as e:
        check(e.code == 15 and e.refusal == "CONTACT_KEY_CHANGED" and
              e.alerts == 1, "bob's new key is a contact alert for alice "
              "(DATA_LOSS, CONTACT_KEY_CHANGED)")
    check(alice.compare_code("bob@example.com",
                             bob.safety_code("alice@example.com")),
          "alice and bob compare the new code")
    alice.monitor()

    alice.close()
    alice = open_client("alice")
    alice.monitor()
    check(alice.last_alerts == 0 and
          [a["type"] for a in alice.alerts()] == ["CONTACT_KEY_CHANGED"],
          "alice reopens from her stored state: nothing new, the one alert "
          "kept")

    try:
        state, keys = stores["alice"]
        ktlog.Client(lib, transport, state, keys, log_key, "alice@example.com",
                     "phone")
        check(False, "a saved state is not reopened under a weaker policy")
    except ktlog.Error as e:
        check(e.code == 9, "a saved state is not reopened under another "
              "witness policy (FAILED_PRECONDITION)")

    transport.swap = (b"bob@example.com", b"alice@example.com")
    try:
        alice.lookup("bob@example.com")
        check(False, "a lookup answered for another account is refused")
    except ktlog.Error as e:
        check(e.code == 15 and e.refusal == "BAD_VRF_PROOF" and e.alerts == 1,
              "a lookup answered for another account is refused "
              "(DATA_LOSS, BAD_VRF_PROOF, one alert)")
    transport.swap = None

    # Alice loses her phone and with it her only account key: on a new
    # phone, the operator resets her account to a key the new phone made.
    # Bob, who compared codes with her, is shown the reset.
    check(bob.compare_code("alice@example.com",
                           alice.safety_code("bob@example.com")),
          "bob compares codes with alice")
    alice.close()
    state, keys = MemoryState(), SoftwareKeys()
    alice = ktlog.Client(lib, transport, state, keys, log_key,
                         "alice@example.com", "tablet", allow_no_witnesses=True)
    alice.monitor()
    new_key = alice.prepare_reset()
    check(new_key == raw(keys.next) and alice.prepare_reset() == new_key,
          "the new phone prepares the key a reset will set (the same until "
          "used)")
    try:
        alice.reset_account(credential("alice@example.com", raw(keys.current),
                                       "--reset"))
        check(False, "a reset credential for another key is refused")
    except ktlog.Error as e:
        check(e.code == 7, "a reset credential for another key is refused "
              "(PERMISSION_DENIED): " + e.message)
    _, verified = alice.reset_account(
        credential("alice@example.com", new_key, "--reset"))
    check(verified and keys.next is None and raw(keys.current) == new_key,
          "the reset is verified; the new key is the account key")
    _, verified = alice.add_device("tablet", raw(Ed25519PrivateKey.generate()))
    check(verified, "the new phone publishes its device under the new key")
    alice.monitor()
    check(alice.alerts() == [], "her own reset is no alert to her")
    try:
        bob.monitor()
        check(False, "alice's reset is an alert for bob")
    except ktlog.Error as e:
        new = sorted(a["type"] for a in bob.alerts()
                     if a["account"] == "alice@example.com")
        check(e.code == 15 and e.refusal == "ACCOUNT_RESET" and e.alerts == 2
              and new == ["ACCOUNT_RESET", "CONTACT_DEVICE_UNSIGNED"],
              "alice's reset is an alert for bob (DATA_LOSS, ACCOUNT_RESET; "
              "and her new device, which no key he verified vouches for)")
    try:
        ktlog.Client(lib, transport, MemoryState(), SoftwareKeys(), log_key,
                     "carol@example.com", "phone", allow_no_witnesses=True
                     ).reset_account("r1.x")
        check(False, "a reset of an account that does not exist is refused")
    except ktlog.Error as e:
        check(e.code == 9 and e.message == "your account does not exist yet: "
              "there is nothing to reset", "a reset of an account that does "
              "not exist is refused (FAILED_PRECONDITION)")
    security_keys(lib, transport, log_key, credential, bob)

    def fetch_credential(account):
        return subprocess.run(
            [admin, "credential", "--fetch_backup",
             "--registration_key=" + registration_key, "--account=" + account],
            check=True, capture_output=True, text=True).stdout.strip()
    trust_backup(lib, transport, log_key, fetch_credential, stores["bob"][1],
                 bob, alice)
    alice.close()
    bob.close()
    print("%d check(s) failed" % len(FAILED))
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
