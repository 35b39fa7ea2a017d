"""A messenger app in Python that embeds the ktlog client library through
its C API (verifier/c/ktlog_client.h, the binding verifier/c/ktlog.py), as
the demo's last step runs it: the app's own gRPC over TLS is the
transport, a file is its state store (replaced atomically), and its account
key stays in its own key store, which only signs. It registers its phone,
waits for the witnesses to cover the write, looks a contact up and shows
the safety code to compare.

usage: demo_app.py LIBRARY SERVER CA_FILE LOG_KEY STATE_DIR ACCOUNT CONTACT
"""

import os
import sys
import time

import grpc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (Encoding,
                                                          NoEncryption,
                                                          PrivateFormat,
                                                          PublicFormat)

import ktlog


def atomic_write(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class FileState:
    def __init__(self, path):
        self.path = path

    def load(self):
        try:
            with open(self.path, "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None

    def save(self, data):
        atomic_write(self.path, data)


class FileKeys:
    """The account key (and a rotation's next key) in files of the app;
    the library only ever asks it to sign."""

    def __init__(self, directory):
        self.current = os.path.join(directory, "account.key")
        self.next = os.path.join(directory, "account.key.next")
        if not os.path.exists(self.current):
            self._write(self.current, Ed25519PrivateKey.generate())

    @staticmethod
    def _write(path, key):
        atomic_write(path, key.private_bytes(Encoding.Raw, PrivateFormat.Raw,
                                             NoEncryption()))

    @staticmethod
    def _read(path):
        with open(path, "rb") as f:
            return Ed25519PrivateKey.from_private_bytes(f.read())

    @staticmethod
    def _public(key):
        return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    def public_key(self):
        return self._public(self._read(self.current))

    def sign(self, message):
        return self._read(self.current).sign(message)

    def prepare_next(self):
        if not os.path.exists(self.next):
            self._write(self.next, Ed25519PrivateKey.generate())
        return self._public(self._read(self.next))

    def next_public_key(self):
        return self._public(self._read(self.next)) if os.path.exists(
            self.next) else b""

    def promote_next(self):
        os.replace(self.next, self.current)


def main(library, server, ca_file, log_key, state_dir, account, contact):
    os.makedirs(state_dir, mode=0o700, exist_ok=True)
    with open(ca_file, "rb") as f:
        channel = grpc.secure_channel(
            server, grpc.ssl_channel_credentials(root_certificates=f.read()))

    def transport(method, request):
        try:
            return channel.unary_unary("/ktlog.v1.Log/" + method)(request,
                                                                  timeout=10)
        except grpc.RpcError as e:
            raise ktlog.TransportError(e.code().value[0], e.details())

    app = ktlog.Client(ktlog.Library(library), transport,
                       FileState(os.path.join(state_dir, "state")),
                       FileKeys(state_dir), log_key, account, "phone")
    phone = Ed25519PrivateKey.generate().public_key().public_bytes(
        Encoding.Raw, PublicFormat.Raw)
    leaf, verified = app.add_device("phone", phone)
    print("app: registered %s's phone at leaf %d%s" %
          (account, leaf, "" if verified else ", waiting for the witnesses"))
    deadline = time.time() + 10
    while app.unverified() and time.time() < deadline:
        time.sleep(0.1)
        app.monitor()
    if app.unverified():
        print("app: the write was not verified in time")
        return 1
    print("app: verified under a checkpoint the witnesses cosigned")
    found = app.lookup(contact)
    print("app: %s has %d verified device(s): %s" %
          (contact, len(found["devices"]),
           ", ".join(d["device_id"] for d in found["devices"])))
    code = app.safety_code(contact)
    print("app: safety code with %s: %s" %
          (contact, " ".join(code[i:i + 5] for i in range(0, 60, 5))))
    app.monitor()
    print("app: monitoring done, %d alert(s)" % len(app.alerts()))
    app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
