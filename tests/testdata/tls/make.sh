#!/usr/bin/env bash
# Makes the test-only TLS files in this directory (committed; valid until
# 2126): a CA, a server certificate it issued for 127.0.0.1 and localhost,
# and an unrelated CA (a client that trusts only it must refuse the server).
# The private keys are for tests only. Run from this directory.
set -euo pipefail
days=36500
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout ca.key -out ca.pem -days $days -subj "/CN=ktlog test CA"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout server.key -out server.csr -subj "/CN=localhost"
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n' >ext.cnf
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
  -out server.pem -days $days -extfile ext.cnf
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout other-ca.key -out other-ca.pem -days $days -subj "/CN=another CA"
rm -f server.csr ext.cnf ca.srl ca.key other-ca.key
chmod 600 server.key
