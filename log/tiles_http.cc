#include "log/tiles_http.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/util/logging.h"
#include "httplib.h"

namespace ktlog {
namespace {

constexpr char kImmutable[] = "public, max-age=31536000, immutable";
constexpr char kBinary[] = "application/octet-stream";
constexpr char kMetricsType[] = "text/plain; version=0.0.4; charset=utf-8";

int HttpStatusOf(const absl::Status& s) {
  if (absl::IsNotFound(s)) return 404;
  if (absl::IsInvalidArgument(s)) return 400;
  if (absl::IsUnavailable(s)) return 503;
  return 500;
}

void Answer(int status, const std::string& message, httplib::Response& res) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(message + "\n", "text/plain");
}

void Fail(const absl::Status& s, httplib::Response& res) {
  Answer(HttpStatusOf(s), std::string(s.message()), res);
}

// Requests refused before routing (and before any body is read).
httplib::Server::HandlerResponse Refuse(const httplib::Request& req,
                                        httplib::Response& res) {
  if (req.method != "GET" && req.method != "HEAD") {
    res.set_header("Allow", "GET, HEAD");
    Answer(405, "method not allowed: the tiles are read with GET", res);
  } else if (req.target.find('%') != std::string::npos) {
    // One URL per file: a percent-encoded name would be a second cache key.
    Answer(400,
           "percent-encoded paths are not served: ask for /checkpoint or "
           "/tile/... as written",
           res);
  } else if (req.ranges.size() > 1) {
    Answer(416, "at most one range per request", res);
  } else {
    return httplib::Server::HandlerResponse::Unhandled;
  }
  return httplib::Server::HandlerResponse::Handled;
}

bool IsLoopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host == "[::1]" ||
         host.rfind("127.", 0) == 0;
}

}  // namespace

TilesHttpServer::TilesHttpServer(Tiles* tiles, std::string host,
                                 std::unique_ptr<httplib::Server> http,
                                 bool tls, std::function<std::string()> metrics,
                                 const PrivateFeed* feed)
    : tiles_(tiles),
      feed_(feed),
      host_(std::move(host)),
      http_(std::move(http)),
      tls_(tls),
      metrics_(std::move(metrics)) {}

absl::StatusOr<std::unique_ptr<TilesHttpServer>> TilesHttpServer::Start(
    Tiles* tiles, const std::string& address,
    const std::optional<TlsFiles>& tls, std::function<std::string()> metrics,
    const PrivateFeed* feed) {
  size_t colon = address.rfind(':');
  int port = -1;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("HTTP listen address \"", address, "\" is not host:port"));
  }
  std::unique_ptr<httplib::Server> http;
  if (tls.has_value()) {
    auto https = std::make_unique<httplib::SSLServer>(tls->cert_file.c_str(),
                                                      tls->key_file.c_str());
    if (!https->is_valid()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot load the TLS certificate ", tls->cert_file, " and key ",
          tls->key_file, " for the tiles HTTPS server"));
    }
    http = std::move(https);
  } else {
    http = std::make_unique<httplib::Server>();
  }
  std::unique_ptr<TilesHttpServer> s(
      new TilesHttpServer(tiles, address.substr(0, colon), std::move(http),
                          tls.has_value(), std::move(metrics), feed));
  s->Route();
  s->port_ = port == 0 ? s->http_->bind_to_any_port(s->host_)
                       : (s->http_->bind_to_port(s->host_, port) ? port : -1);
  if (s->port_ <= 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen for HTTP on ", address));
  }
  if (!IsLoopback(s->host_)) {
    LogWarning(
        "the built-in tiles listener (", address,
        ") is meant for development: a few slow or idle clients hold all "
        "its threads. Serve --tiles_dir with nginx in production "
        "(docs/tiles.md, tools/nginx/tiles.conf)");
  }
  httplib::Server* server = s->http_.get();
  s->thread_ = std::thread([server] { server->listen_after_bind(); });
  return s;
}

void TilesHttpServer::Route() {
  http_->set_payload_max_length(1024);
  http_->set_read_timeout(10);
  http_->set_write_timeout(10);
  http_->set_keep_alive_max_count(1000);
  // A kept-alive connection holds one of the few threads while it waits.
  http_->set_keep_alive_timeout(1);
  http_->set_pre_routing_handler(Refuse);
  // Without it, small answers on a kept-alive connection wait for the
  // client's delayed ACK (Nagle): 40 ms per tile.
  http_->set_tcp_nodelay(true);
  http_->Get("/checkpoint",
             [this](const httplib::Request&, httplib::Response& res) {
               absl::StatusOr<std::string> note = tiles_->Checkpoint();
               if (!note.ok()) return Fail(note.status(), res);
               res.set_header("Cache-Control", "no-cache");
               res.set_content(*note, "text/plain; charset=utf-8");
             });
  http_->Get("/tile/.*",
             [this](const httplib::Request& req, httplib::Response& res) {
               absl::StatusOr<TileId> id = ParseTilePath(req.path.substr(1));
               if (!id.ok()) return Fail(id.status(), res);
               absl::StatusOr<std::string> data = tiles_->Read(*id);
               if (!data.ok()) return Fail(data.status(), res);
               res.set_header("Cache-Control", kImmutable);
               res.set_content(*std::move(data), kBinary);
             });
  if (feed_ != nullptr) RouteFeed();
  if (metrics_) {
    http_->Get("/metrics",
               [this](const httplib::Request&, httplib::Response& res) {
                 res.set_header("Cache-Control", "no-store");
                 res.set_content(metrics_(), kMetricsType);
               });
  }
  http_->set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    res.set_header("Cache-Control", "no-store");
    res.set_content(res.status == 405 ? "method not allowed\n" : "not found\n",
                    "text/plain");
  });
}

void TilesHttpServer::RouteFeed() {
  // Never cached by anyone: it is private, and bundles change on erasure.
  auto authorized = [this](const httplib::Request& req,
                           httplib::Response& res) {
    if (!req.has_header("Authorization")) {
      res.set_header("WWW-Authenticate", "Bearer");
      Answer(401, "the private feed needs the feed's bearer token", res);
      return false;
    }
    if (!feed_->Authorized(req.get_header_value("Authorization"))) {
      Answer(403, "not the private feed's bearer token", res);
      return false;
    }
    return true;
  };
  http_->Get(
      "/private/cosigned",
      [this, authorized](const httplib::Request& req, httplib::Response& res) {
        if (!authorized(req, res)) return;
        absl::StatusOr<std::string> data = feed_->Cosigned();
        if (!data.ok()) return Fail(data.status(), res);
        res.set_header("Cache-Control", "no-store");
        res.set_content(*std::move(data), kBinary);
      });
  http_->Get("/private/.*", [this, authorized](const httplib::Request& req,
                                               httplib::Response& res) {
    if (!authorized(req, res)) return;
    absl::StatusOr<TileId> id = ParseTilePath(absl::StrCat(
        "tile/entries/", req.path.substr(sizeof("/private/") - 1)));
    if (!id.ok()) return Fail(id.status(), res);
    absl::StatusOr<std::string> data = feed_->Read(*id);
    if (!data.ok()) return Fail(data.status(), res);
    res.set_header("Cache-Control", "no-store");
    res.set_content(*std::move(data), kBinary);
  });
}

std::string TilesHttpServer::url() const {
  std::string host = host_;
  if (host.empty() || host == "0.0.0.0" || host == "[::]") host = "127.0.0.1";
  return absl::StrCat(tls_ ? "https://" : "http://", host, ":", port_);
}

void TilesHttpServer::Stop() {
  if (http_ == nullptr) return;
  http_->stop();
  if (thread_.joinable()) thread_.join();
}

TilesHttpServer::~TilesHttpServer() { Stop(); }

}  // namespace ktlog
