// WitnessHttpServer: an auditor's C2SP tlog-witness endpoint
// (https://c2sp.org/tlog-witness): POST <prefix>/add-checkpoint, with the
// body "old <size>\n", up to 63 base64 consistency-proof lines, an empty
// line and the checkpoint (a signed note); answered with this witness's
// cosignature line(s), or the spec's status codes (400 malformed, 403 not
// the log's signature, 404 another log, 409 with the witness's latest size
// as text/x.tlog.size, 422 a proof or a log that does not verify, 503 the
// log's entries could not be read). Docs: docs/witness.md, "Pushed to".
//
// The log pushes to it (log/witness_pusher.h); it serialises its calls to
// the Auditor with `mu`, which the auditor's own rounds hold too.
//
// Thread-safe; answers on its own threads until destroyed.
#ifndef KTLOG_AUDITOR_WITNESS_HTTP_H_
#define KTLOG_AUDITOR_WITNESS_HTTP_H_

#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "auditor/auditor.h"
#include "core/note/add_checkpoint.h"
#include "core/util/metrics.h"
#include "proto/tls.h"

namespace httplib {
class Server;
}

namespace ktlog {

class WitnessHttpServer {
 public:
  // Listens on `address` (host:port; port 0 picks one), over HTTPS with
  // `tls`, and answers add-checkpoint with `auditor` (borrowed, used only
  // under `mu`), and GET /metrics with `metrics` (borrowed; null: 404) in
  // the Prometheus text format. UNAVAILABLE if it cannot listen;
  // FAILED_PRECONDITION if the TLS files do not load.
  static absl::StatusOr<std::unique_ptr<WitnessHttpServer>> Start(
      Auditor* auditor, absl::Mutex* mu, const std::string& address,
      const std::optional<TlsFiles>& tls,
      const MetricsRegistry* metrics = nullptr);
  ~WitnessHttpServer();

  // "http[s]://host:port": what the log's --witness_urls names.
  std::string url() const;

 private:
  WitnessHttpServer(Auditor* auditor, absl::Mutex* mu, std::string host,
                    std::unique_ptr<httplib::Server> http, bool tls);

  Auditor* const auditor_;
  absl::Mutex* const mu_;
  const std::string host_;
  std::unique_ptr<httplib::Server> http_;
  const bool tls_;
  int port_ = 0;
  std::thread thread_;
};

}  // namespace ktlog

#endif  // KTLOG_AUDITOR_WITNESS_HTTP_H_
