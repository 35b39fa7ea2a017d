// TilesHttpServer: serves the log's C2SP tlog-tiles over HTTP
// (docs/tiles.md) with cpp-httplib: GET /checkpoint and GET /tile/... (hash
// tiles and entry bundles). Tiles and bundles never change once they exist,
// so they are served as immutable (cacheable for a year); the checkpoint is
// served with `Cache-Control: no-cache`; with a metrics source, GET /metrics
// too (never cached). Anything else is 404 (405 for a
// method other than GET and HEAD, 400 for a percent-encoded path, 416 for
// more than one range), a malformed tile path is 400 with the reason.
//
// For development and small deployments: cpp-httplib gives each connection
// one of a few threads, so a handful of slow or idle clients delay all the
// others. In production nginx serves --tiles_dir (docs/tiles.md,
// tools/nginx/tiles.conf); Start warns when the address is not loopback.
//
// Thread-safe; answers on its own threads until Stop().
#ifndef KTLOG_LOG_TILES_HTTP_H_
#define KTLOG_LOG_TILES_HTTP_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "log/private_feed.h"
#include "log/tiles.h"
#include "proto/tls.h"

namespace httplib {
class Server;
}

namespace ktlog {

class TilesHttpServer {
 public:
  // Listens on `address` (host:port; port 0 picks one) and serves `tiles`
  // (borrowed), over HTTPS with `tls`, and with `metrics` (if set) GET
  // /metrics: what it returns, in the Prometheus text format
  // (core/util/metrics.h). UNAVAILABLE if it cannot listen;
  // FAILED_PRECONDITION if the TLS files do not load.
  // With `feed` (borrowed), GET /private/... serves the log's private feed
  // (log/private_feed.h) to requests that present its bearer token (401
  // without it, 403 with another; never cached).
  static absl::StatusOr<std::unique_ptr<TilesHttpServer>> Start(
      Tiles* tiles, const std::string& address,
      const std::optional<TlsFiles>& tls = std::nullopt,
      std::function<std::string()> metrics = nullptr,
      const PrivateFeed* feed = nullptr);
  ~TilesHttpServer();  // Stop()s.

  // Stops listening and waits for the requests in flight. Idempotent.
  void Stop();

  int port() const { return port_; }
  // "http[s]://127.0.0.1:<port>" style URL clients can fetch from.
  std::string url() const;

 private:
  TilesHttpServer(Tiles* tiles, std::string host,
                  std::unique_ptr<httplib::Server> http, bool tls,
                  std::function<std::string()> metrics,
                  const PrivateFeed* feed);
  void Route();
  void RouteFeed();

  Tiles* const tiles_;
  const PrivateFeed* const feed_;
  const std::string host_;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  const bool tls_;
  const std::function<std::string()> metrics_;
  int port_ = 0;
};

}  // namespace ktlog

#endif  // KTLOG_LOG_TILES_HTTP_H_
