#include "auditor/witness_http.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/util/logging.h"
#include "httplib.h"

namespace ktlog {
namespace {

// The spec's status for each way add-checkpoint can fail.
int HttpStatusOf(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kInvalidArgument:
      return 400;
    case absl::StatusCode::kAlreadyExists:
      return 409;
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kDataLoss:
    case absl::StatusCode::kFailedPrecondition:
      return 422;
    default:
      return 503;
  }
}

}  // namespace

WitnessHttpServer::WitnessHttpServer(Auditor* auditor, absl::Mutex* mu,
                                     std::string host,
                                     std::unique_ptr<httplib::Server> http,
                                     bool tls)
    : auditor_(auditor),
      mu_(mu),
      host_(std::move(host)),
      http_(std::move(http)),
      tls_(tls) {}

absl::StatusOr<std::unique_ptr<WitnessHttpServer>> WitnessHttpServer::Start(
    Auditor* auditor, absl::Mutex* mu, const std::string& address,
    const std::optional<TlsFiles>& tls, const MetricsRegistry* metrics) {
  size_t colon = address.rfind(':');
  int port = -1;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen address \"", address, "\" is not host:port"));
  }
  std::unique_ptr<httplib::Server> http;
  if (tls.has_value()) {
    auto https = std::make_unique<httplib::SSLServer>(tls->cert_file.c_str(),
                                                      tls->key_file.c_str());
    if (!https->is_valid()) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot load the TLS certificate ", tls->cert_file,
                       " and key ", tls->key_file));
    }
    http = std::move(https);
  } else {
    http = std::make_unique<httplib::Server>();
  }
  std::unique_ptr<WitnessHttpServer> s(new WitnessHttpServer(
      auditor, mu, address.substr(0, colon), std::move(http), tls.has_value()));
  httplib::Server* server = s->http_.get();
  server->set_payload_max_length(kMaxAddCheckpointBody);
  server->set_read_timeout(10);
  server->set_write_timeout(10);
  WitnessHttpServer* self = s.get();
  server->Post("/add-checkpoint", [self](const httplib::Request& req,
                                         httplib::Response& res) {
    absl::StatusOr<AddCheckpointRequest> parsed = ParseAddCheckpoint(req.body);
    absl::StatusOr<std::string> lines =
        parsed.ok() ? absl::StatusOr<std::string>(std::string())
                    : absl::StatusOr<std::string>(parsed.status());
    uint64_t latest = 0;
    if (parsed.ok()) {
      absl::MutexLock lock(self->mu_);
      lines = self->auditor_->AddCheckpoint(parsed->old_size, parsed->proof,
                                            parsed->checkpoint);
      if (absl::IsAlreadyExists(lines.status())) {
        latest = self->auditor_->LatestCosignedSize().value_or(0);
      }
    }
    if (lines.ok()) {
      res.set_content(*lines, "text/plain; charset=utf-8");
      return;
    }
    res.status = HttpStatusOf(lines.status());
    if (res.status == 409) {
      // The spec: the witness's latest cosigned size, for the log to send
      // a proof from.
      res.set_content(absl::StrCat(latest, "\n"), "text/x.tlog.size");
    } else {
      res.set_content(absl::StrCat(lines.status().message(), "\n"),
                      "text/plain; charset=utf-8");
    }
    if (res.status == 422 || res.status == 503) {
      LogWarning("add-checkpoint not cosigned: ", lines.status().ToString());
    }
  });
  if (metrics != nullptr) {
    server->Get("/metrics",
                [metrics](const httplib::Request&, httplib::Response& res) {
                  res.set_header("Cache-Control", "no-store");
                  res.set_content(metrics->Render(),
                                  "text/plain; version=0.0.4; charset=utf-8");
                });
  }
  s->port_ = port == 0 ? server->bind_to_any_port(s->host_)
                       : (server->bind_to_port(s->host_, port) ? port : -1);
  if (s->port_ <= 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", address));
  }
  s->thread_ = std::thread([server] { server->listen_after_bind(); });
  return s;
}

std::string WitnessHttpServer::url() const {
  std::string host = host_;
  if (host.empty() || host == "0.0.0.0" || host == "[::]") host = "127.0.0.1";
  return absl::StrCat(tls_ ? "https://" : "http://", host, ":", port_);
}

WitnessHttpServer::~WitnessHttpServer() {
  http_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace ktlog
