#!/usr/bin/python3
# Makes expired.pem, a self-signed certificate for 127.0.0.1 that expired on
# 2020-01-02, and not-yet-valid.pem, valid only from 2100-01-01, both for the
# key in server.key (committed; tests/binaries_test.cc checks that the
# server refuses to start with either). Run from this directory with
# Debian's python3 (python3-cryptography).
import datetime
import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

key = serialization.load_pem_private_key(open("server.key", "rb").read(), None)
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])


def write(path, not_before, not_after):
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(not_before).not_valid_after(not_after)
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .sign(key, hashes.SHA256()))
    open(path, "wb").write(cert.public_bytes(serialization.Encoding.PEM))


write("expired.pem", datetime.datetime(2020, 1, 1), datetime.datetime(2020, 1, 2))
write("not-yet-valid.pem", datetime.datetime(2100, 1, 1),
      datetime.datetime(2101, 1, 1))
