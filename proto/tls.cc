#include "proto/tls.h"

#include <atomic>
#include <iostream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "core/crypto/crypto.h"
#include "core/util/bytes.h"
#include "core/util/file_util.h"
#include "core/util/logging.h"
#include "core/util/status_macros.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"

namespace ktlog {
namespace {

constexpr size_t kMaxPemSize = 1 << 20;

// The PEM file at `path`, holding a block of `kind` ("CERTIFICATE", "PRIVATE
// KEY").
absl::StatusOr<std::string> ReadPem(const std::string& path,
                                    absl::string_view kind,
                                    absl::string_view flag) {
  // A private key is a secret file (mode 0600); certificates are public.
  absl::StatusOr<std::string> pem = kind == "PRIVATE KEY"
                                        ? ReadSecretFile(path, kMaxPemSize)
                                        : ReadFileBounded(path, kMaxPemSize);
  if (!pem.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--", flag, ": cannot read ", path, ": ", pem.status().message()));
  }
  if (!absl::StrContains(*pem, "-----BEGIN ") ||
      !absl::StrContains(*pem, kind)) {
    return absl::FailedPreconditionError(
        absl::StrCat("--", flag, ": ", path, " holds no PEM ", kind));
  }
  return pem;
}

// FAILED_PRECONDITION if the certificate in `pem` (from `path`) is not
// valid at `now`: every client would refuse it. Logs when it expires, with
// a warning within 30 days of it.
absl::Status CheckValidity(const std::string& path, const std::string& pem,
                           absl::Time now) {
  absl::StatusOr<CertificateValidity> v = CertificateValidityOf(pem);
  if (!v.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("--tls_cert: ", path, ": ", v.status().message()));
  }
  absl::Time from = absl::FromUnixSeconds(v->not_before_s);
  absl::Time until = absl::FromUnixSeconds(v->not_after_s);
  auto date = [](absl::Time t) {
    return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", t, absl::UTCTimeZone());
  };
  if (now > until) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--tls_cert: the certificate in ", path, " expired on ", date(until),
        " (", absl::ToInt64Hours(now - until) / 24,
        " days ago): every client refuses it; renew it (docs/security.md)"));
  }
  if (now < from) {
    return absl::FailedPreconditionError(
        absl::StrCat("--tls_cert: the certificate in ", path,
                     " is not valid before ", date(from),
                     ": every client refuses it until then; check this "
                     "machine's clock, or the certificate"));
  }
  int64_t days = absl::ToInt64Hours(until - now) / 24;
  if (days < 30) {
    LogWarning("the TLS certificate in ", path, " expires on ", date(until),
               " (in ", days, " days): renew it before clients refuse it");
  } else {
    LogInfo("the TLS certificate in ", path, " is valid until ", date(until));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> GrpcServerCredentials(
    const std::optional<TlsFiles>& tls, absl::Time now) {
  if (!tls.has_value()) return grpc::InsecureServerCredentials();
  absl::StatusOr<std::string> cert =
      ReadPem(tls->cert_file, "CERTIFICATE", "tls_cert");
  if (!cert.ok()) return cert.status();
  RETURN_IF_ERROR(CheckValidity(tls->cert_file, *cert, now));
  absl::StatusOr<std::string> key =
      ReadPem(tls->key_file, "PRIVATE KEY", "tls_key");
  if (!key.ok()) return key.status();
  grpc::SslServerCredentialsOptions options;
  options.pem_key_cert_pairs.push_back({*key, *cert});
  WipeSecret(&*key);
  std::shared_ptr<grpc::ServerCredentials> credentials =
      grpc::SslServerCredentials(options);
  WipeSecret(&options.pem_key_cert_pairs[0].private_key);
  return credentials;
}

void ClientTls::AddFlags(FlagSet* flags) {
  flags->String("ca_file", &ca_file,
                "PEM certificates of the CA that issued the log's TLS "
                "certificate (default: the system's roots)");
  flags->Bool("plaintext", &plaintext,
              "talk to the log without TLS (local development and tests "
              "only: anyone on the path can read and change the traffic)");
}

absl::StatusOr<std::string> ClientTls::Roots() const {
  if (ca_file.empty()) return std::string();
  return ReadPem(ca_file, "CERTIFICATE", "ca_file");
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>>
GrpcChannelCredentials(const ClientTls& tls, const std::string& program) {
  if (tls.plaintext) {
    static std::atomic<bool> warned{false};
    constexpr char kWarning[] =
        "--plaintext: the connection to the log is not encrypted or "
        "authenticated";
    if (!warned.exchange(true)) {
      if (CurrentLogFormat() == LogFormat::kJson) {
        LogWarning(kWarning);  // a daemon logging for a collector
      } else {
        std::cerr << program << ": WARNING: " << kWarning << "\n";
      }
    }
    return grpc::InsecureChannelCredentials();
  }
  absl::StatusOr<std::string> roots = tls.Roots();
  if (!roots.ok()) return roots.status();
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = *roots;
  return grpc::SslCredentials(options);
}

}  // namespace ktlog
