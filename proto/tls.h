// Transport security of ktlog's gRPC API and tiles (docs/security.md,
// "TLS"): the server's certificate and key files, a client's CA file, and
// plaintext only when asked for.
//
// The library defaults are plaintext (in-process tests and embedders
// choose); the shipped binaries default to TLS and take --plaintext only
// explicitly, with a warning.
#ifndef KTLOG_PROTO_TLS_H_
#define KTLOG_PROTO_TLS_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/util/flags.h"

namespace grpc {
class ChannelCredentials;
class ServerCredentials;
}  // namespace grpc

namespace ktlog {

// A server's PEM certificate chain and private key files.
struct TlsFiles {
  std::string cert_file, key_file;
};

// TLS server credentials from `tls`, or insecure ones without.
// FAILED_PRECONDITION naming the file that cannot be read or is not PEM, a
// key file others may read, or a certificate not valid at `now` (expired,
// or not yet valid: every client would refuse it). Logs when the
// certificate expires (a warning within 30 days).
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> GrpcServerCredentials(
    const std::optional<TlsFiles>& tls, absl::Time now);

// How a client reaches the log.
struct ClientTls {
  bool plaintext = false;
  std::string ca_file;  // PEM roots that must have issued the server's
                        // certificate; empty: the system's roots
  // Accept C2SP tiles over plain http:// while gRPC keeps TLS (--http_tiles,
  // registered by the binaries that read tiles): proofs from tiles are
  // checked against a signed checkpoint, and nothing read from tiles
  // raises an alert or becomes evidence on its own (docs/tiles.md); a
  // mirror without TLS sees what is read.
  bool http_tiles = false;

  // Registers --ca_file and --plaintext on a binary's flags.
  void AddFlags(FlagSet* flags);
  // The PEM roots (empty: the system's). FAILED_PRECONDITION naming the
  // file if it cannot be read or holds no certificate.
  absl::StatusOr<std::string> Roots() const;
};

// Channel credentials for `tls`: TLS with its roots, or insecure ones when
// plaintext (and then a warning on stderr, once per process, naming
// `program`).
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>>
GrpcChannelCredentials(const ClientTls& tls, const std::string& program);

}  // namespace ktlog

#endif  // KTLOG_PROTO_TLS_H_
