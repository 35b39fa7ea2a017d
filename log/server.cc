#include "log/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "core/account/security_key.h"
#include "core/util/file_util.h"
#include "core/util/logging.h"
#include "core/util/status_macros.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "log/call_tracker.h"

namespace ktlog {
namespace {

// 100 records of the largest size (security-key records), each with the
// longest credential, fit (about 184 KB).
constexpr int kMaxRequestBytes = 192 * 1024;
// Calls one connection may have open at once (HTTP/2 streams; gRPC's
// default is unlimited). More wait in the client until one ends.
constexpr int kMaxStreamsPerConnection = 100;
// Memory gRPC may use for its buffers (received requests, answers not yet
// sent); past it, gRPC reads less from its connections.
constexpr int64_t kGrpcMemoryBytes = int64_t{256} << 20;

// gRPC only says "failed to bind"; for a numeric IPv4 host:port, find out
// why with a plain socket so the operator gets errno's reason.
absl::Status CheckListenAddress(const std::string& address) {
  size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen address \"", address, "\" is not host:port"));
  }
  std::string host = address.substr(0, colon);
  if (host == "localhost") host = "127.0.0.1";
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  if (port == 0 || inet_pton(AF_INET, host.c_str(), &sa.sin_addr) != 1) {
    return absl::OkStatus();  // let gRPC decide
  }
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::OkStatus();
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  int rc = bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
  int err = errno;
  close(fd);
  if (rc != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", address, ": ", strerror(err)));
  }
  return absl::OkStatus();
}

}  // namespace

LogServer::LogServer(std::optional<NoteSigner> signer, LogPublicKey key,
                     VrfPrivateKey vrf, LogServerOptions options)
    : signer_(std::move(signer)),
      key_(std::move(key)),
      vrf_(std::move(vrf)),
      options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<LogServer>> LogServer::Start(
    NoteSigner signer, VrfPrivateKey vrf, const LogServerOptions& options) {
  if (signer.type() != kNoteTypeEd25519) {
    return absl::InvalidArgumentError(
        "the log's signing key must be an Ed25519 note key (type 0x01), not a "
        "witness cosigning key");
  }
  if (options.replica.has_value()) {
    return absl::InvalidArgumentError(
        "a read replica is started with StartReplica");
  }
  if (!options.private_feed_token.empty() &&
      options.private_feed_token.size() < 16) {
    return absl::InvalidArgumentError(
        "the private feed's token must be at least 16 bytes");
  }
  if (!options.private_feed_dir.empty()) {
    std::error_code ec;
    auto feed = std::filesystem::weakly_canonical(options.private_feed_dir, ec);
    auto tiles = std::filesystem::weakly_canonical(options.tiles_dir, ec);
    auto [end, _] =
        std::mismatch(tiles.begin(), tiles.end(), feed.begin(), feed.end());
    if (options.tiles_dir.empty() || end == tiles.end()) {
      return absl::InvalidArgumentError(
          "--private_feed_dir is written beside --tiles_dir, never in it "
          "(what serves the tiles would serve every record): give both, "
          "apart");
    }
  }
  LogPublicKey key{signer.verifier_key(), vrf.public_key(),
                   options.cosignatures.witnesses, options.witness_quorum};
  // The log key it publishes must be one clients accept (the witness
  // policy's rules live in LogPublicKey::Parse: quorum, repeats, count).
  absl::Status publishable = LogPublicKey::Parse(key.ToString()).status();
  if (!publishable.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the witness configuration does not make a valid log "
                     "key: ",
                     publishable.message()));
  }
  std::unique_ptr<LogServer> s(new LogServer(std::move(signer), std::move(key),
                                             std::move(vrf), options));
  RETURN_IF_ERROR(s->Run());
  return s;
}

absl::StatusOr<std::unique_ptr<LogServer>> LogServer::StartReplica(
    LogPublicKey key, VrfPrivateKey vrf, const LogServerOptions& options) {
  if (!options.replica.has_value()) {
    return absl::InvalidArgumentError("a read replica needs options.replica");
  }
  if (!(vrf.public_key() == key.vrf_key)) {
    return absl::InvalidArgumentError(
        "the VRF key is not the one in the log's key");
  }
  LogServerOptions o = options;
  o.cosignatures.witnesses = key.witnesses;
  o.witness_quorum = key.quorum;
  o.pushed_witnesses.clear();
  o.private_feed_token.clear();
  std::unique_ptr<LogServer> s(
      new LogServer(std::nullopt, std::move(key), std::move(vrf), o));
  RETURN_IF_ERROR(s->Run());
  return s;
}

absl::Status LogServer::Run() {
  RETURN_IF_ERROR(CheckListenAddress(options_.listen_address));
  // The TLS files are checked before the data dir is created or opened.
  RETURN_IF_ERROR(GrpcServerCredentials(options_.tls, absl::Now()).status());
  RETURN_IF_ERROR(OpenComponents());
  RETURN_IF_ERROR(StartGrpc());
  RETURN_IF_ERROR(StartTiles());
  RETURN_IF_ERROR(StartPusher());
  if (follower_ != nullptr) follower_->Run();
  return absl::OkStatus();
}

absl::Status LogServer::OpenComponents() {
  ASSIGN_OR_RETURN(storage_, LogStorage::Open(options_.data_dir));
  ASSIGN_OR_RETURN(bool purge_owed, storage_->PurgeOwed());
  if (purge_owed) {
    // An erasure was committed but the data dir not compacted (a crash).
    LogInfo("compacting the data dir after an erasure");
    RETURN_IF_ERROR(storage_->Purge());
  }
  RETURN_IF_ERROR(storage_->BindIdentity(
      LogIdentity{origin(), log_key().IdentityString()}));
  index_ = std::make_unique<IndexVersions>();
  positions_ = std::make_unique<Positions>(storage_.get(), &vrf_);
  if (signer_.has_value()) {
    ASSIGN_OR_RETURN(
        publisher_,
        CheckpointPublisher::Create(storage_.get(), &*signer_, options_.clock));
    ASSIGN_OR_RETURN(
        integrator_,
        Integrator::Open(storage_.get(), publisher_.get(), index_.get(),
                         options_.clock, options_.lookup_window));
    queue_ = std::make_unique<WriteQueue>(integrator_.get(), options_.sequencer,
                                          &metrics_);
    writes_ = std::make_unique<LogWrites>(
        queue_.get(), publisher_.get(), positions_.get(), options_.clock,
        options_.service.max_record_skew, options_.registration,
        RpIdForOrigin(origin()), storage_.get());
    backups_ = std::make_unique<Backups>(
        storage_.get(), storage_.get(), &options_.registration, options_.clock);
    if (!options_.private_feed_token.empty() ||
        !options_.private_feed_dir.empty()) {
      feed_ = std::make_unique<PrivateFeed>(storage_.get(), storage_.get(),
                                            publisher_.get(),
                                            options_.private_feed_token);
    }
  } else {
    ASSIGN_OR_RETURN(publisher_,
                     CheckpointPublisher::CreateReplica(
                         storage_.get(), key_.checkpoint_key, options_.clock));
    std::shared_ptr<const PublishedCheckpoint> adopted = publisher_->Latest();
    ASSIGN_OR_RETURN(integrator_,
                     Integrator::OpenReplica(
                         storage_.get(), index_.get(), options_.clock,
                         options_.lookup_window,
                         adopted == nullptr ? 0 : adopted->checkpoint.size));
  }
  queries_ = std::make_unique<LogQueries>(
      storage_.get(), publisher_.get(), index_.get(), positions_.get(),
      options_.lookups_answer_bytes,
      signer_.has_value() ? absl::ZeroDuration() : options_.replica_wait,
      [this] {
        if (follower_ != nullptr) follower_->Nudge();
      });
  history_ = std::make_unique<HistoryAccess>(storage_.get(), publisher_.get(),
                                             origin(), options_.clock);
  CosignatureOptions cosigning = options_.cosignatures;
  for (const PushedWitness& w : options_.pushed_witnesses) {
    cosigning.pushed.insert(w.key.key_id);
  }
  cosignatures_ = std::make_unique<Cosignatures>(
      storage_.get(), publisher_.get(), verifier_key(), options_.clock,
      cosigning, &metrics_);
  if (options_.replica.has_value()) {
    ASSIGN_OR_RETURN(
        follower_,
        Follower::Create(*options_.replica, key_.checkpoint_key, storage_.get(),
                         storage_.get(), cosignatures_.get(), integrator_.get(),
                         publisher_.get(), positions_.get()));
  }
  calls_ = std::make_unique<CallTracker>();
  options_.service.metrics = &metrics_;
  service_ = std::make_unique<LogService>(
      writes_.get(), queries_.get(), history_.get(), backups_.get(),
      publisher_.get(), cosignatures_.get(), calls_.get(), options_.service);
  AddMetricCallbacks();
  return absl::OkStatus();
}

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The bytes of the files under `dir` (RocksDB's tables, logs and
// manifests); NaN if it cannot be read.
double DirBytes(const std::string& dir) {
  std::error_code ec;
  uintmax_t total = 0;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_regular_file(ec)) total += it->file_size(ec);
    if (ec) ec.clear();  // a file RocksDB removed meanwhile
  }
  return ec ? kNaN : static_cast<double>(total);
}

}  // namespace

void LogServer::AddMetricCallbacks() {
  // The publisher and cosignatures live until Shutdown, which stops the
  // HTTP listener (the only reader) before it destroys them.
  metrics_.AddGaugeCallback(
      "ktlog_tree_size", "Leaves covered by the latest signed checkpoint.", {},
      [this] {
        auto cp = publisher_ != nullptr ? publisher_->Latest() : nullptr;
        return cp != nullptr ? static_cast<double>(cp->checkpoint.size) : kNaN;
      });
  metrics_.AddGaugeCallback(
      "ktlog_checkpoint_age_seconds",
      "Seconds since the timestamp of the latest signed checkpoint (a log "
      "that takes no writes signs a heartbeat every checkpoint interval).",
      {}, [this] {
        auto cp = publisher_ != nullptr ? publisher_->Latest() : nullptr;
        if (cp == nullptr) return kNaN;
        return (static_cast<double>(options_.clock->NowMillis()) -
                static_cast<double>(cp->checkpoint.timestamp_ms)) /
               1000;
      });
  const std::vector<NoteVerifierKey>& witnesses =
      options_.cosignatures.witnesses;
  for (size_t i = 0; i < witnesses.size(); ++i) {
    metrics_.AddGaugeCallback(
        "ktlog_witness_cosignature_age_seconds",
        "Seconds since the log last accepted a cosignature by the witness "
        "(since the server started, if none since).",
        {{"witness", witnesses[i].name}}, [this, i] {
          uint64_t last = cosignatures_ != nullptr
                              ? cosignatures_->LastCosignedMillis(i)
                              : 0;
          double now = static_cast<double>(options_.clock->NowMillis());
          double since = last > 0 ? static_cast<double>(last)
                                  : absl::ToUnixMillis(started_);
          return (now - since) / 1000;
        });
  }
  // A replica's: how far behind the log it serves, and whether it stopped.
  metrics_.AddGaugeCallback(
      "ktlog_replica_behind_entries",
      "A read replica's: leaves the log was seen signing that it does not "
      "serve yet (NaN on the log itself).",
      {}, [this] {
        if (follower_ == nullptr || publisher_ == nullptr) return kNaN;
        auto cp = publisher_->Latest();
        uint64_t served = cp != nullptr ? cp->checkpoint.size : 0;
        uint64_t seen = publisher_->WaitForLogSize(0, absl::InfinitePast());
        return static_cast<double>(seen > served ? seen - served : 0);
      });
  metrics_.AddGaugeCallback(
      "ktlog_replica_halted",
      "A read replica's: 1 once it stopped following a log whose data did "
      "not hold up, 0 while it follows (NaN on the log itself).",
      {}, [this] {
        if (follower_ == nullptr) return kNaN;
        return follower_->halted().ok() ? 0.0 : 1.0;
      });
  metrics_.AddGaugeCallback(
      "ktlog_storage_bytes",
      "Bytes of the files in the data dir (RocksDB's tables, write-ahead "
      "log and manifests).",
      {}, [this] { return DirBytes(options_.data_dir); });
}

absl::Status LogServer::StartGrpc() {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(kMaxRequestBytes);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             kMaxStreamsPerConnection);
  // The log's calls run on the callback API (no thread per call); the
  // quota bounds gRPC's memory and the threads of the sync services
  // (health, reflection).
  grpc::ResourceQuota quota("ktlog-server");
  quota.Resize(kGrpcMemoryBytes);
  quota.SetMaxThreads(64);
  builder.SetResourceQuota(quota);
  ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> credentials,
                   GrpcServerCredentials(options_.tls, absl::Now()));
  builder.AddListeningPort(options_.listen_address, credentials, &port_);
  builder.RegisterService(service_.get());
  grpc_server_ = builder.BuildAndStart();
  trimmer_ = std::make_unique<MemoryTrimmer>(absl::Seconds(5));
  if (grpc_server_ == nullptr || port_ == 0) {
    grpc_server_.reset();
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on ", options_.listen_address,
        " (address in use, not permitted, or not a valid host:port)"));
  }
  return absl::OkStatus();
}

absl::Status LogServer::StartTiles() {
  tiles_ = std::make_unique<Tiles>(storage_.get(), publisher_.get());
  if (!options_.http_listen_address.empty()) {
    ASSIGN_OR_RETURN(
        tiles_http_,
        TilesHttpServer::Start(
            tiles_.get(), options_.http_listen_address, options_.tls,
            [this] { return metrics_.Render(); },
            options_.private_feed_token.empty() ? nullptr : feed_.get()));
  }
  if (!options_.tiles_dir.empty()) {
    ASSIGN_OR_RETURN(
        tiles_dir_,
        TilesDirectory::Start(
            tiles_.get(), publisher_.get(), options_.tiles_dir,
            options_.private_feed_dir.empty() ? nullptr : feed_.get(),
            options_.private_feed_dir));
  }
  return absl::OkStatus();
}

absl::Status LogServer::StartPusher() {
  if (options_.pushed_witnesses.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(pusher_,
                   WitnessPusher::Start(
                       publisher_.get(), queries_.get(), cosignatures_.get(),
                       options_.pushed_witnesses, options_.pusher));
  return absl::OkStatus();
}

std::string LogServer::tiles_url() const {
  return tiles_http_ != nullptr ? tiles_http_->url() : "";
}

LogServer::~LogServer() { Shutdown(); }

std::string LogServer::address() const {
  std::string host =
      options_.listen_address.substr(0, options_.listen_address.rfind(':'));
  if (host.empty() || host == "0.0.0.0" || host == "[::]") host = "127.0.0.1";
  return absl::StrCat(host, ":", port_);
}

absl::StatusOr<std::string> LogServer::Backup(const std::string& parent) {
  if (storage_ == nullptr) {
    return absl::FailedPreconditionError("the server is shut down");
  }
  RETURN_IF_ERROR(MakeDirs(parent, 0700));
  // A backup killed half-way leaves RocksDB's "<dir>.tmp" behind; backups
  // run one at a time, so any such directory is abandoned.
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(parent, ec)) {
    std::string name = entry.path().filename().string();
    if (name.rfind("backup-", 0) == 0 && absl::EndsWith(name, ".tmp")) {
      std::filesystem::remove_all(entry.path(), ec);
      if (ec) {
        LogWarning("cannot remove the abandoned backup ", entry.path().string(),
                   ": ", ec.message());
      } else {
        LogInfo("removed the abandoned backup ", entry.path().string());
      }
    }
  }
  std::string dir = absl::StrCat(
      parent, "/backup-",
      absl::FormatTime("%Y%m%dT%H%M%E3SZ", absl::Now(), absl::UTCTimeZone()),
      "-size-", storage_->size());
  RETURN_IF_ERROR(storage_->CreateBackup(dir));
  return dir;
}

void LogServer::Shutdown(absl::Duration grace) {
  if (shut_down_) return;
  shut_down_ = true;
  // Refuse new RPCs and end watch streams, then wait until every RPC in
  // flight has sent its answer (writes keep being sequenced meanwhile), and
  // only then close gRPC. Closing first would cancel answers to writes that
  // were already appended.
  if (service_ != nullptr) service_->BeginShutdown();
  if (pusher_ != nullptr) pusher_->Stop();
  if (follower_ != nullptr) follower_->Stop();
  constexpr absl::Duration kQuiet = absl::Milliseconds(100);
  if (calls_ != nullptr && !calls_->WaitForQuiet(kQuiet, absl::Now() + grace)) {
    LogWarning("shutting down with RPCs still in flight or arriving after ",
               absl::FormatDuration(grace), "; gRPC cancels them");
  }
  if (grpc_server_ != nullptr) {
    constexpr absl::Duration kFlush = absl::Seconds(1);
    grpc_server_->Shutdown(absl::ToChronoTime(absl::Now() + kFlush));
    grpc_server_->Wait();
  }
  if (tiles_http_ != nullptr) tiles_http_->Stop();
  if (queue_ != nullptr) queue_->Stop();
  if (publisher_ != nullptr) publisher_->Stop();
  trimmer_.reset();
  pusher_.reset();
  follower_.reset();
  tiles_dir_.reset();  // after the final checkpoint is written
  tiles_http_.reset();
  tiles_.reset();
  grpc_server_.reset();
  service_.reset();
  cosignatures_.reset();
  backups_.reset();
  history_.reset();
  queries_.reset();
  writes_.reset();
  feed_.reset();
  queue_.reset();
  integrator_.reset();
  positions_.reset();
  index_.reset();
  publisher_.reset();
  storage_.reset();
}

}  // namespace ktlog
