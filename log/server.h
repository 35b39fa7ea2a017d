// LogServer: a whole ktlog log server in one object. It wires the
// components (docs/architecture.md): storage, the checkpoint publisher, the
// integrator behind its write queue, the write and read APIs, cosignatures,
// and the gRPC service with health checking and reflection. Used by
// ktlog-server's main and, in-process on 127.0.0.1:0, by integration tests.
//
// Start-up refuses (with one clear message) a data dir that belongs to
// another log, a data dir whose stored tree does not match its last signed
// checkpoint, and an address it cannot listen on.
#ifndef KTLOG_LOG_SERVER_H_
#define KTLOG_LOG_SERVER_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/account/registration.h"
#include "core/crypto/vrf.h"
#include "core/note/log_key.h"
#include "core/note/note.h"
#include "core/util/clock.h"
#include "core/util/metrics.h"
#include "log/cosignatures.h"
#include "log/follower.h"
#include "log/history_access.h"
#include "log/index_versions.h"
#include "log/integrator.h"
#include "log/memory_trimmer.h"
#include "log/positions.h"
#include "log/private_feed.h"
#include "log/publisher.h"
#include "log/queries.h"
#include "log/service.h"
#include "log/storage/log_storage.h"
#include "log/tiles.h"
#include "log/tiles_dir.h"
#include "log/tiles_http.h"
#include "log/witness_pusher.h"
#include "log/write_queue.h"
#include "log/writes.h"
#include "proto/tls.h"

namespace grpc {
class Server;
}  // namespace grpc

namespace ktlog {

class CallTracker;

struct LogServerOptions {
  std::string data_dir;
  // host:port; port 0 picks a free port (see LogServer::port()).
  std::string listen_address = "127.0.0.1:0";
  SequencerOptions sequencer;
  // Serve the C2SP tlog-tiles over HTTP on this host:port (port 0: any;
  // empty: not at all), and/or write them to this directory (empty: no).
  std::string http_listen_address;
  std::string tiles_dir;
  // How long index versions are kept for lookups (docs/index.md): clients
  // look up at the checkpoint they trust, which lags the latest by up to a
  // witness round when they require cosignatures.
  absl::Duration lookup_window = absl::Minutes(10);
  // Where a LookupAccounts answer stops growing (LogQueries::Lookups);
  // tests lower it.
  size_t lookups_answer_bytes = kMaxLookupsAnswerBytes;
  ServiceOptions service;
  CosignatureOptions cosignatures;
  // Witnesses to push each checkpoint to (C2SP tlog-witness; each one of
  // cosignatures.witnesses), and how.
  std::vector<PushedWitness> pushed_witnesses;
  PusherOptions pusher;
  // The quorum the log key publishes for its witnesses (1..their number;
  // ignored without witnesses): clients that pin the log key trust only
  // checkpoints that many of them cosigned.
  uint32_t witness_quorum = 1;
  // Who may create accounts: with a key, an account's first record needs
  // the registration credential for its id (core/account/registration.h);
  // without, anyone may create any account id.
  std::optional<RegistrationKey> registration;
  // Serve the log's private feed (log/private_feed.h: what read replicas
  // replay) on the HTTP listener to whoever presents this bearer token (at
  // least 16 bytes); empty: no feed.
  std::string private_feed_token;
  // Also write the private feed as files under this directory (beside
  // `tiles_dir`, which it needs), for an access-controlled web server or
  // object store; empty: not.
  std::string private_feed_dir;
  // Run as a read replica of the log these options name (log/follower.h,
  // docs/scale.md): started with StartReplica, it takes no writes and signs
  // nothing. A read that names a tree size it has not adopted yet waits
  // up to `replica_wait` for it, then answers UNAVAILABLE.
  std::optional<FollowerOptions> replica;
  absl::Duration replica_wait = absl::Seconds(3);
  // TLS for the gRPC and tiles HTTP listeners; plaintext without.
  std::optional<TlsFiles> tls;
  const Clock* clock = RealClock::Get();
};

class LogServer {
 public:
  // The log's identity is its checkpoint signing key and its VRF key; the
  // origin is the signer's key name (C2SP: the log's key name is its
  // origin). Errors: FAILED_PRECONDITION for a data dir that cannot be used
  // or belongs to another log (other origin, checkpoint key or VRF key);
  // DATA_LOSS for a data dir inconsistent with its last checkpoint;
  // UNAVAILABLE if the address cannot be listened on.
  static absl::StatusOr<std::unique_ptr<LogServer>> Start(
      NoteSigner signer, VrfPrivateKey vrf, const LogServerOptions& options);
  // A read replica (options.replica set) of the log whose key is `key`
  // (its witness policy included): it needs the log's VRF key to prove
  // where absent accounts would be, not its checkpoint key. Errors as
  // Start's, and INVALID_ARGUMENT if `vrf` is not the key's VRF key.
  static absl::StatusOr<std::unique_ptr<LogServer>> StartReplica(
      LogPublicKey key, VrfPrivateKey vrf, const LogServerOptions& options);

  ~LogServer();  // Shutdown()s.

  // Stops taking RPCs (new ones get UNAVAILABLE) and ends watch streams;
  // the RPCs in flight get up to `grace` to finish and send their answers
  // (gRPC cancels what is left after that); then appends every queued
  // record, signs a final checkpoint and closes storage. Idempotent.
  void Shutdown(absl::Duration grace = absl::Seconds(5));

  // Writes a consistent online backup of the data dir to a new directory
  // `<parent>/backup-<UTC time>-size-<tree size>` and returns its path.
  // Removes what backups killed half-way left in `parent` first
  // (`backup-*.tmp`).
  absl::StatusOr<std::string> Backup(const std::string& parent);

  int port() const { return port_; }
  // The tiles' HTTP URL ("http://127.0.0.1:<port>"), empty if not served.
  std::string tiles_url() const;
  // "127.0.0.1:<port>" style address clients can dial.
  std::string address() const;
  NoteVerifierKey verifier_key() const { return key_.checkpoint_key; }
  // What clients pin: the checkpoint key, the VRF key and the published
  // witness policy (the accepted witnesses and the quorum).
  const LogPublicKey& log_key() const { return key_; }
  const std::string& origin() const { return key_.checkpoint_key.name; }
  // A replica's follower (null for the log itself).
  Follower* follower() { return follower_.get(); }

  CheckpointPublisher* publisher() { return publisher_.get(); }
  const Positions* positions() const { return positions_.get(); }
  const TilesDirectory* tiles_directory() const { return tiles_dir_.get(); }
  LogStorage* storage() { return storage_.get(); }
  // The server's metrics, served at /metrics on the HTTP listener
  // (docs/operations.md, "Metrics").
  MetricsRegistry* metrics() { return &metrics_; }

 private:
  LogServer(std::optional<NoteSigner> signer, LogPublicKey key,
            VrfPrivateKey vrf, LogServerOptions options);
  // Steps of Start (and StartReplica).
  absl::Status Run();
  absl::Status OpenComponents();
  absl::Status StartGrpc();
  absl::Status StartTiles();
  absl::Status StartPusher();
  // The gauges read when scraped.
  void AddMetricCallbacks();

  std::optional<NoteSigner> signer_;  // none in a replica
  LogPublicKey key_;
  VrfPrivateKey vrf_;
  LogServerOptions options_;
  // Before every component, which counts into it: destroyed after them.
  MetricsRegistry metrics_;
  const absl::Time started_ = absl::Now();
  std::unique_ptr<LogStorage> storage_;
  std::unique_ptr<CheckpointPublisher> publisher_;
  std::unique_ptr<IndexVersions> index_;
  std::unique_ptr<Positions> positions_;
  std::unique_ptr<Integrator> integrator_;
  std::unique_ptr<WriteQueue> queue_;
  std::unique_ptr<LogWrites> writes_;
  std::unique_ptr<LogQueries> queries_;
  std::unique_ptr<HistoryAccess> history_;
  std::unique_ptr<Backups> backups_;
  std::unique_ptr<Cosignatures> cosignatures_;
  std::unique_ptr<LogService> service_;
  std::unique_ptr<Tiles> tiles_;
  std::unique_ptr<TilesHttpServer> tiles_http_;
  std::unique_ptr<TilesDirectory> tiles_dir_;
  // Counts RPCs from arrival until their answer is sent.
  std::unique_ptr<CallTracker> calls_;
  std::unique_ptr<grpc::Server> grpc_server_;
  std::unique_ptr<MemoryTrimmer> trimmer_;
  std::unique_ptr<WitnessPusher> pusher_;
  std::unique_ptr<PrivateFeed> feed_;
  std::unique_ptr<Follower> follower_;
  int port_ = 0;
  bool shut_down_ = false;
};

}  // namespace ktlog

#endif  // KTLOG_LOG_SERVER_H_
