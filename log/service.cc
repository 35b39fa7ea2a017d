#include "log/service.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/util/logging.h"
#include "core/util/status_macros.h"
#include "grpcpp/support/byte_buffer.h"
#include "proto/convert.h"
#include "proto/status.h"

namespace ktlog {
namespace {

// How long a client should wait before trying again a call refused because
// the server is shutting down.
constexpr int64_t kShutdownPushbackMs = 2000;
// ... and one refused because the server, or its address, has too many
// calls in flight.
constexpr int64_t kBusyPushbackMs = 1000;

absl::Time DeadlineOf(grpc::CallbackServerContext* ctx,
                      absl::Duration fallback) {
  return std::min(absl::FromChrono(ctx->deadline()), absl::Now() + fallback);
}

// The index gRPC gives method `name` of ktlog.v1.Log: the order in which
// the .proto declares them.
int MethodIndex(const char* name) {
  return v1::AccountLookup::descriptor()
      ->file()
      ->FindServiceByName("Log")
      ->FindMethodByName(name)
      ->index();
}

// Parses the message `in` into `msg`; false if it is not one.
bool Parse(const grpc::ByteBuffer& in, google::protobuf::MessageLite* msg) {
  std::vector<grpc::Slice> slices;
  if (!in.Dump(&slices).ok()) return false;
  std::string bytes;
  for (const grpc::Slice& s : slices) {
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return msg->ParseFromString(bytes);
}

// A request's tree size; unset means the latest checkpoint.
template <class Request>
std::optional<uint64_t> TreeSizeOf(const Request& req) {
  if (!req.has_tree_size()) return std::nullopt;
  return req.tree_size();
}

}  // namespace

// One WatchCheckpoints stream. Owns itself until gRPC is done with it
// (OnDone); the follower thread may hold it a moment longer. At most one
// write is in flight: a checkpoint offered meanwhile replaces any older one
// waiting, so a slow reader gets the newest, not a backlog.
class LogService::Watcher
    : public grpc::ServerWriteReactor<v1::SignedCheckpoint>,
      public std::enable_shared_from_this<Watcher> {
 public:
  // Counted live (CallTracker) until OnDone.
  Watcher(LogService* service, std::string peer)
      : service_(service), peer_(std::move(peer)) {
    if (service_->calls_ != nullptr) service_->calls_->Arrive(peer_);
  }

  static std::shared_ptr<Watcher> Create(LogService* service,
                                         std::string peer) {
    auto w = std::make_shared<Watcher>(service, std::move(peer));
    w->self_ = w;
    return w;
  }

  const std::string& peer() const { return peer_; }

  // Sends `cp` unless a newer one was sent or is waiting.
  void Offer(std::shared_ptr<const PublishedCheckpoint> cp) {
    {
      absl::MutexLock lock(&mu_);
      if (next_ == nullptr || cp->sequence > next_->sequence) next_ = cp;
    }
    Step();
  }

  // Ends the stream with `status` once the write in flight is done.
  void End(grpc::Status status = grpc::Status::OK) {
    {
      absl::MutexLock lock(&mu_);
      if (ending_) return;
      ending_ = true;
      end_status_ = std::move(status);
    }
    Step();
  }

  void OnWriteDone(bool ok) override {
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      if (!ok) ending_ = true;  // the client is gone
    }
    Step();
  }
  void OnCancel() override { End(); }
  void OnDone() override {
    service_->RemoveWatcher(peer_, this);
    if (service_->calls_ != nullptr) service_->calls_->Done(peer_);
    std::shared_ptr<Watcher> self = std::move(self_);  // may delete this
  }

 private:
  // Starts the next write, or the finish, if nothing is in flight.
  void Step() {
    // Alive until Step returns: once it calls Finish, gRPC may run OnDone,
    // which drops self_, on another thread at once. Releasing this
    // reference orders Step's last access before the delete (which gRPC's
    // own hand-over, inside its library, orders too, unseen by TSan).
    std::shared_ptr<Watcher> keep = weak_from_this().lock();
    if (keep == nullptr) return;
    bool write = false;
    grpc::Status status;
    {
      absl::MutexLock lock(&mu_);
      if (writing_ || finished_) return;
      if (ending_) {
        finished_ = true;
        status = end_status_;
      } else if (next_ != nullptr && next_->sequence > sent_) {
        msg_.set_note(next_->note);
        sent_ = next_->sequence;
        next_.reset();
        writing_ = true;
        write = true;
      } else {
        return;
      }
    }
    if (write) {
      StartWrite(&msg_);
    } else {
      Finish(status);
    }
  }

  LogService* const service_;
  const std::string peer_;
  std::shared_ptr<Watcher> self_;
  absl::Mutex mu_;
  std::shared_ptr<const PublishedCheckpoint> next_ ABSL_GUARDED_BY(mu_);
  uint64_t sent_ ABSL_GUARDED_BY(mu_) = 0;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool ending_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status end_status_ ABSL_GUARDED_BY(mu_);
  v1::SignedCheckpoint msg_;  // written only while no write is in flight
};

template <class Request, class Response>
void LogService::Bind(const char* name, Handler<Request, Response> handler) {
  ThrottledLog* refused = (refused_[name] = std::make_unique<ThrottledLog>(
                               Severity::kInfo, absl::StrCat(name, " refused")))
                              .get();
  MethodMetrics* counted =
      (method_metrics_[name] = std::unique_ptr<MethodMetrics>(new MethodMetrics{
           CodeCounters(metrics_, "ktlog_rpcs_total",
                        "Unary gRPC calls answered, by method "
                        "and status code.",
                        {{"method", name}}),
           metrics_->GetHistogram("ktlog_rpc_duration_seconds",
                                  "Unary gRPC calls from arrival to answer, by "
                                  "method.",
                                  DurationBuckets(), {{"method", name}})}))
          .get();
  MarkMethodRawCallback(
      MethodIndex(name),
      new grpc::internal::CallbackUnaryHandler<grpc::ByteBuffer,
                                               grpc::ByteBuffer>(
          [this, name, handler, refused, counted](
              Ctx* ctx, const grpc::ByteBuffer* in, grpc::ByteBuffer* out) {
            return Serve(
                ctx, name, counted,
                [this, name, handler, refused, ctx, in, out]() -> absl::Status {
                  absl::Status s = ServedHere(name);
                  if (s.ok()) s = Handle(ctx, handler, *in, out);
                  if (!s.ok()) {
                    refused->Record(absl::StrCat(PeerAddress(ctx->peer()), ": ",
                                                 s.ToString()));
                  }
                  return s;
                });
          }));
}

absl::Status LogService::ServedHere(absl::string_view method) const {
  // What only the log itself does: writes, the trust backups (kept beside
  // the log, not in it) and the witnesses' calls.
  static constexpr absl::string_view kLogOnly[] = {"AddDevice",
                                                   "RemoveDevice",
                                                   "RotateAccountKey",
                                                   "SetSecurityKeys",
                                                   "ResetAccount",
                                                   "RecordBackup",
                                                   "EraseAccount",
                                                   "PutBackup",
                                                   "GetBackup",
                                                   "DeleteBackup",
                                                   "AppendRecords",
                                                   "AddCosignature",
                                                   "GetCheckpointToCosign"};
  if (writes_ != nullptr || std::find(std::begin(kLogOnly), std::end(kLogOnly),
                                      method) == std::end(kLogOnly)) {
    return absl::OkStatus();
  }
  return absl::UnimplementedError(
      absl::StrCat("this server is a read replica: it serves lookups, "
                   "histories, proofs and checkpoints; send ",
                   method, " to the log itself (docs/scale.md)"));
}

template <class Request, class Response>
absl::Status LogService::Handle(Ctx* ctx, Handler<Request, Response> handler,
                                const grpc::ByteBuffer& in,
                                grpc::ByteBuffer* out) {
  Request req;
  if (!Parse(in, &req)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the request is not a valid ", Request::descriptor()->full_name(),
        " message (proto/ktlog.proto)"));
  }
  Response resp;
  RETURN_IF_ERROR((this->*handler)(ctx, req, &resp));
  grpc::Slice slice(resp.SerializeAsString());
  *out = grpc::ByteBuffer(&slice, 1);
  return absl::OkStatus();
}

LogService::LogService(LogWrites* writes, LogQueries* queries,
                       HistoryAccess* history, Backups* backups,
                       const CheckpointPublisher* publisher,
                       Cosignatures* cosignatures, CallTracker* calls,
                       const ServiceOptions& options)
    : writes_(writes),
      queries_(queries),
      history_(history),
      backups_(backups),
      publisher_(publisher),
      cosignatures_(cosignatures),
      calls_(calls),
      options_(options),
      metrics_(MetricsRegistry::OrDiscard(options.metrics)),
      records_(metrics_, "ktlog_write_records_total",
               "Records sent to be written (every write RPC and each record "
               "of AppendRecords), by status code."),
      batched_lookups_(metrics_, "ktlog_batched_lookups_total",
                       "Accounts asked for in LookupAccounts calls that were "
                       "answered, by the status code of each account's "
                       "answer."),
      lookups_(options.lookup_limit, options.limiter_clock),
      writes_limit_(options.write_limit, options.limiter_clock),
      pool_(options.workers, options.max_queued_calls),
      follower_([this] { FollowCheckpoints(); }) {
  Bind("AddDevice", &LogService::AddDevice);
  Bind("RemoveDevice", &LogService::RemoveDevice);
  Bind("RotateAccountKey", &LogService::RotateAccountKey);
  Bind("SetSecurityKeys", &LogService::SetSecurityKeys);
  Bind("ResetAccount", &LogService::ResetAccount);
  Bind("RecordBackup", &LogService::RecordBackup);
  Bind("EraseAccount", &LogService::EraseAccount);
  Bind("PutBackup", &LogService::PutBackup);
  Bind("GetBackup", &LogService::GetBackup);
  Bind("DeleteBackup", &LogService::DeleteBackup);
  Bind("AppendRecords", &LogService::AppendRecords);
  Bind("GetCheckpoint", &LogService::GetCheckpoint);
  Bind("GetCheckpointToCosign", &LogService::GetCheckpointToCosign);
  Bind("GetConsistencyProof", &LogService::GetConsistencyProof);
  Bind("GetInclusionProof", &LogService::GetInclusionProof);
  Bind("GetInclusionProofByHash", &LogService::GetInclusionProofByHash);
  Bind("GetEntries", &LogService::GetEntries);
  Bind("LookupAccount", &LogService::LookupAccount);
  Bind("LookupAccounts", &LogService::LookupAccounts);
  Bind("GetAccountHistory", &LogService::GetAccountHistory);
  Bind("AddCosignature", &LogService::AddCosignature);
  MarkMethodCallback(
      MethodIndex("WatchCheckpoints"),
      new grpc::internal::CallbackServerStreamingHandler<
          v1::WatchCheckpointsRequest, v1::SignedCheckpoint>(
          [this](Ctx* ctx, const v1::WatchCheckpointsRequest* req) {
            return WatchCheckpoints(ctx, req);
          }));
}

LogService::~LogService() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  follower_.join();
}

absl::Status LogService::Admit(Ctx* ctx, RateLimiter* limiter,
                               absl::string_view what, size_t n) {
  absl::Duration wait;
  if (limiter->Take(PeerAddress(ctx->peer()), n, &wait)) {
    return absl::OkStatus();
  }
  return RateLimited(ctx, *limiter, what, n, wait);
}

absl::StatusOr<size_t> LogService::AdmitUpTo(Ctx* ctx, RateLimiter* limiter,
                                             absl::string_view what, size_t n) {
  absl::Duration wait;
  size_t taken = limiter->TakeUpTo(PeerAddress(ctx->peer()), n, &wait);
  if (taken > 0) return taken;
  return RateLimited(ctx, *limiter, what, 1, wait);
}

absl::Status LogService::RateLimited(Ctx* ctx, const RateLimiter& limiter,
                                     absl::string_view what, size_t n,
                                     absl::Duration wait) {
  metrics_
      ->GetCounter("ktlog_rate_limited_total",
                   "Requests refused by a per-address rate limit, by limit.",
                   {{"limit", std::string(what)}})
      ->Increment();
  const RateLimit& limit = limiter.limit();
  if (wait == absl::InfiniteDuration()) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "a call of ", n, " ", what,
        " is more than one address may make at "
        "once (bursts of ",
        limit.burst, "): send at most ", limit.burst, " per call"));
  }
  int64_t ms = absl::ToInt64Milliseconds(wait);
  ctx->AddTrailingMetadata("grpc-retry-pushback-ms", absl::StrCat(ms));
  return absl::ResourceExhaustedError(
      absl::StrCat("rate limit: at most ", std::llround(limit.per_second * 60),
                   " ", what, " per minute from one address (bursts of ",
                   limit.burst, "); retry in ", ms, " ms"));
}

void LogService::BeginShutdown() {
  absl::MutexLock lock(&mu_);
  draining_ = true;
}

bool LogService::draining() {
  absl::MutexLock lock(&mu_);
  return draining_;
}

absl::Status LogService::Refusal(Ctx* ctx) {
  if (draining()) {
    // Clients that honour the pushback stop sending while the server
    // drains, so that it can close with no call received and not yet
    // dispatched (gRPC 1.51 answers those CANCELLED: grpc/grpc#41785).
    ctx->AddTrailingMetadata("grpc-retry-pushback-ms",
                             absl::StrCat(kShutdownPushbackMs));
    return absl::UnavailableError(
        "the log server is shutting down; try again later");
  }
  if (calls_ != nullptr && options_.max_calls_per_address > 0) {
    int live = calls_->LiveFrom(PeerAddress(ctx->peer()));
    if (live > options_.max_calls_per_address) {
      ctx->AddTrailingMetadata("grpc-retry-pushback-ms",
                               absl::StrCat(kBusyPushbackMs));
      return absl::ResourceExhaustedError(
          absl::StrCat("your address has ", live - 1,
                       " calls in flight, the most one address may (",
                       options_.max_calls_per_address,
                       "): wait for their answers, or read them; retry in ",
                       kBusyPushbackMs, " ms"));
    }
  }
  return absl::OkStatus();
}

// A unary call's reactor: counted live (CallTracker) from its arrival
// until gRPC is done with it, its answer handed to the transport.
class LogService::Call : public grpc::ServerUnaryReactor {
 public:
  Call(CallTracker* calls, std::string peer)
      : calls_(calls), peer_(std::move(peer)) {
    if (calls_ != nullptr) calls_->Arrive(peer_);
  }
  void OnDone() override {
    if (calls_ != nullptr) calls_->Done(peer_);
    delete this;
  }

 private:
  CallTracker* const calls_;
  const std::string peer_;
};

LogService::Unary* LogService::Serve(Ctx* ctx, const char* method,
                                     MethodMetrics* counted,
                                     std::function<absl::Status()> handler) {
  Unary* reactor = new Call(calls_, PeerAddress(ctx->peer()));
  const absl::Time arrived = absl::Now();
  auto finish = [counted, reactor, arrived](const grpc::Status& status) {
    counted->calls.Increment(
        static_cast<absl::StatusCode>(status.error_code()));
    counted->duration->Observe(absl::ToDoubleSeconds(absl::Now() - arrived));
    reactor->Finish(status);
  };
  absl::Status refused = Refusal(ctx);
  if (!refused.ok()) {
    finish(ToGrpcStatus(refused));
    return reactor;
  }
  bool queued = pool_.TrySubmit(
      [this, ctx, method, finish, handler = std::move(handler)] {
        if (ctx->IsCancelled()) {
          finish(grpc::Status::CANCELLED);
          return;
        }
        grpc::Status status = ToGrpcStatus(handler());
        if (options_.before_answer) options_.before_answer(method, ctx);
        finish(status);
      });
  if (!queued) {
    ctx->AddTrailingMetadata("grpc-retry-pushback-ms",
                             absl::StrCat(kBusyPushbackMs));
    shed_.Record(
        absl::StrCat(options_.max_queued_calls, " calls wait for a worker"));
    finish(ToGrpcStatus(absl::ResourceExhaustedError(
        absl::StrCat("the log server is busy (", options_.max_queued_calls,
                     " calls waiting); retry in ", kBusyPushbackMs, " ms"))));
  }
  return reactor;
}

absl::Status LogService::Write(Ctx* ctx, const v1::WriteRequest& req,
                               Operation expected, v1::WriteResponse* resp) {
  absl::Status admitted = Admit(ctx, &writes_limit_, "writes");
  absl::StatusOr<WriteAnswer> answer =
      admitted.ok() ? writes_->Append(
                          req.record(), expected, req.registration_credential(),
                          req.wait_for_checkpoint(),
                          DeadlineOf(ctx, options_.default_write_timeout))
                    : admitted;
  records_.Increment(answer.status().code());
  ASSIGN_OR_RETURN(WriteAnswer w, std::move(answer));
  resp->set_leaf_index(w.leaf_index);
  resp->set_leaf_hash(w.leaf_hash.bytes());
  if (!w.checkpoint_note.empty()) {
    resp->mutable_checkpoint()->set_note(w.checkpoint_note);
  }
  return absl::OkStatus();
}

absl::Status LogService::AddDevice(Ctx* ctx, const v1::WriteRequest& req,
                                   v1::WriteResponse* resp) {
  return Write(ctx, req, Operation::kAddDevice, resp);
}

absl::Status LogService::RemoveDevice(Ctx* ctx, const v1::WriteRequest& req,
                                      v1::WriteResponse* resp) {
  return Write(ctx, req, Operation::kRemoveDevice, resp);
}

absl::Status LogService::RotateAccountKey(Ctx* ctx, const v1::WriteRequest& req,
                                          v1::WriteResponse* resp) {
  return Write(ctx, req, Operation::kRotateAccountKey, resp);
}

absl::Status LogService::SetSecurityKeys(Ctx* ctx, const v1::WriteRequest& req,
                                         v1::WriteResponse* resp) {
  return Write(ctx, req, Operation::kSetSecurityKeys, resp);
}

absl::Status LogService::ResetAccount(Ctx* ctx, const v1::WriteRequest& req,
                                      v1::WriteResponse* resp) {
  return Write(ctx, req, Operation::kResetAccount, resp);
}

absl::Status LogService::RecordBackup(Ctx* ctx, const v1::WriteRequest& req,
                                      v1::WriteResponse* resp) {
  return Write(ctx, req, Operation::kRecordBackup, resp);
}

// Trust backups: a put or delete counts as a write, a fetch as a lookup,
// against the caller's address.
absl::Status LogService::PutBackup(Ctx* ctx, const v1::PutBackupRequest& req,
                                   v1::PutBackupResponse* resp) {
  (void)resp;
  RETURN_IF_ERROR(Admit(ctx, &writes_limit_, "writes"));
  return backups_->Put(req.sealed(), req.record_version());
}

absl::Status LogService::GetBackup(Ctx* ctx, const v1::GetBackupRequest& req,
                                   v1::Backup* resp) {
  RETURN_IF_ERROR(Admit(ctx, &lookups_, "lookups"));
  ASSIGN_OR_RETURN(FetchedBackup backup,
                   backups_->Get(req.account_id(), req.credential()));
  resp->set_sealed(std::move(backup.sealed));
  resp->set_record_version(backup.record_version);
  return absl::OkStatus();
}

absl::Status LogService::DeleteBackup(Ctx* ctx,
                                      const v1::DeleteBackupRequest& req,
                                      v1::DeleteBackupResponse* resp) {
  (void)resp;
  RETURN_IF_ERROR(Admit(ctx, &writes_limit_, "writes"));
  return backups_->Delete(req.account_id(), req.record_version());
}

absl::Status LogService::EraseAccount(Ctx* ctx,
                                      const v1::EraseAccountRequest& req,
                                      v1::EraseAccountResponse* resp) {
  RETURN_IF_ERROR(Admit(ctx, &writes_limit_, "writes"));
  ASSIGN_OR_RETURN(
      ErasureAnswer erased,
      writes_->Erase(req.account_id(), req.erasure_credential(),
                     DeadlineOf(ctx, options_.default_write_timeout)));
  // The id is not logged: the erasure is of it.
  LogInfo("erased an account on request: its erasure leaf is ",
          erased.leaf.leaf_index, " (version ", erased.version, ")");
  resp->set_version(erased.version);
  resp->set_leaf_index(erased.leaf.leaf_index);
  resp->mutable_checkpoint()->set_note(erased.checkpoint_note);
  return absl::OkStatus();
}

absl::Status LogService::AppendRecords(Ctx* ctx,
                                       const v1::AppendRecordsRequest& req,
                                       v1::AppendRecordsResponse* resp) {
  std::vector<RecordToAppend> records;
  records.reserve(req.records_size());
  for (const v1::AppendRecordsRequest::Record& r : req.records()) {
    records.push_back(RecordToAppend{r.record(), r.registration_credential()});
  }
  RETURN_IF_ERROR(CheckRecordCount(records.size()));
  // Stop waiting a little before the client does, so that the outcomes of
  // the records that made it reach the client.
  absl::Time deadline = DeadlineOf(ctx, options_.default_write_timeout);
  deadline -= std::min(absl::Seconds(1), (deadline - absl::Now()) / 10);
  absl::Status admitted = Admit(ctx, &writes_limit_, "writes", records.size());
  absl::StatusOr<AppendAllAnswer> answer =
      admitted.ok()
          ? writes_->AppendAll(records, req.wait_for_checkpoint(), deadline)
          : admitted;
  if (!answer.ok()) records_.Increment(answer.status().code(), records.size());
  ASSIGN_OR_RETURN(AppendAllAnswer all, std::move(answer));
  for (const absl::StatusOr<AppendedLeaf>& o : all.outcomes) {
    records_.Increment(o.status().code());
    v1::AppendRecordsResponse::Outcome* out = resp->add_outcomes();
    out->set_code(static_cast<int32_t>(o.status().code()));
    if (o.ok()) {
      out->set_leaf_index(o->leaf_index);
      out->set_leaf_hash(o->leaf_hash.bytes());
    } else {
      out->set_message(std::string(o.status().message()));
    }
  }
  if (!all.checkpoint_note.empty()) {
    resp->mutable_checkpoint()->set_note(all.checkpoint_note);
  }
  return absl::OkStatus();
}

absl::Status LogService::GetCheckpoint(Ctx* ctx,
                                       const v1::GetCheckpointRequest& req,
                                       v1::SignedCheckpoint* resp) {
  if (req.min_cosignatures() > 0) {
    std::vector<std::string> witnesses(req.witnesses().begin(),
                                       req.witnesses().end());
    ASSIGN_OR_RETURN(
        *resp->mutable_note(),
        cosignatures_->GetNewest(req.min_cosignatures(), witnesses));
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(std::shared_ptr<const PublishedCheckpoint> cp,
                   queries_->Latest());
  resp->set_note(cp->note);
  return absl::OkStatus();
}

absl::Status LogService::GetCheckpointToCosign(
    Ctx* ctx, const v1::GetCheckpointToCosignRequest&,
    v1::SignedCheckpoint* resp) {
  ASSIGN_OR_RETURN(*resp->mutable_note(), cosignatures_->ToCosign());
  return absl::OkStatus();
}

absl::Status LogService::GetConsistencyProof(
    Ctx* ctx, const v1::GetConsistencyProofRequest& req,
    v1::ConsistencyProof* resp) {
  ASSIGN_OR_RETURN(std::vector<Hash> proof,
                   queries_->ConsistencyProof(req.size1(), req.size2()));
  HashesToProto(proof, resp->mutable_hashes());
  return absl::OkStatus();
}

absl::Status LogService::GetInclusionProof(
    Ctx* ctx, const v1::GetInclusionProofRequest& req,
    v1::InclusionProof* resp) {
  ASSIGN_OR_RETURN(InclusionAnswer proof,
                   queries_->InclusionProof(req.leaf_index(), req.tree_size()));
  ToProto(proof, resp);
  return absl::OkStatus();
}

absl::Status LogService::GetInclusionProofByHash(
    Ctx* ctx, const v1::GetInclusionProofByHashRequest& req,
    v1::InclusionProof* resp) {
  absl::StatusOr<Hash> hash = Hash::FromBytes(req.leaf_hash());
  if (!hash.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("leaf_hash: ", hash.status().message()));
  }
  ASSIGN_OR_RETURN(InclusionAnswer proof,
                   queries_->InclusionProofByHash(*hash, req.tree_size()));
  ToProto(proof, resp);
  return absl::OkStatus();
}

absl::Status LogService::GetEntries(Ctx* ctx, const v1::GetEntriesRequest& req,
                                    v1::GetEntriesResponse* resp) {
  ASSIGN_OR_RETURN(std::vector<std::string> leaves,
                   queries_->Entries(req.begin(), req.end()));
  for (std::string& l : leaves) resp->add_leaves(std::move(l));
  return absl::OkStatus();
}

absl::Status LogService::AddWatcher(const std::string& peer, Watcher* w) {
  absl::MutexLock lock(&mu_);
  int mine = 0;
  if (auto it = watchers_by_peer_.find(peer); it != watchers_by_peer_.end()) {
    mine = it->second;
  }
  if (mine >= options_.max_watchers_per_peer) {
    return absl::ResourceExhaustedError(
        absl::StrCat("too many checkpoint watchers from this address (",
                     options_.max_watchers_per_peer,
                     "); poll GetCheckpoint instead or retry later"));
  }
  if (static_cast<int>(watchers_.size()) >= options_.max_watchers) {
    return absl::ResourceExhaustedError(
        absl::StrCat("too many checkpoint watchers (", options_.max_watchers,
                     "); poll GetCheckpoint instead or retry later"));
  }
  watchers_.insert(w);
  ++watchers_by_peer_[peer];
  return absl::OkStatus();
}

void LogService::RemoveWatcher(const std::string& peer, Watcher* w) {
  absl::MutexLock lock(&mu_);
  if (watchers_.erase(w) == 0) return;  // refused, never counted
  if (--watchers_by_peer_[peer] <= 0) watchers_by_peer_.erase(peer);
}

void LogService::FollowCheckpoints() {
  uint64_t offered = 0;
  for (;;) {
    std::shared_ptr<const PublishedCheckpoint> cp = publisher_->WaitForNewer(
        offered, absl::Now() + absl::Milliseconds(250));
    std::vector<std::shared_ptr<Watcher>> all;
    bool ending;
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      ending = draining_ || publisher_->stopped();
      all.reserve(watchers_.size());
      for (Watcher* w : watchers_) all.push_back(w->shared_from_this());
    }
    if (ending) {
      for (const auto& w : all) w->End();
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&stopping_),
                           absl::Milliseconds(250));
      continue;
    }
    if (cp == nullptr || cp->sequence <= offered) continue;
    offered = cp->sequence;
    for (const auto& w : all) w->Offer(cp);
  }
}

grpc::ServerWriteReactor<v1::SignedCheckpoint>* LogService::WatchCheckpoints(
    Ctx* ctx, const v1::WatchCheckpointsRequest*) {
  std::shared_ptr<Watcher> w = Watcher::Create(this, PeerAddress(ctx->peer()));
  absl::Status s = Refusal(ctx);
  if (s.ok()) s = AddWatcher(w->peer(), w.get());
  if (!s.ok()) {
    w->End(ToGrpcStatus(s));
    return w.get();
  }
  // Registered first, so that a checkpoint published meanwhile is offered
  // by the follower if Latest() misses it.
  if (std::shared_ptr<const PublishedCheckpoint> cp = publisher_->Latest()) {
    w->Offer(std::move(cp));
  }
  return w.get();
}

absl::Status LogService::LookupAccount(Ctx* ctx,
                                       const v1::LookupAccountRequest& req,
                                       v1::AccountLookup* resp) {
  RETURN_IF_ERROR(Admit(ctx, &lookups_, "lookups"));
  ASSIGN_OR_RETURN(AccountLookupAnswer answer,
                   queries_->Lookup(req.account_id(), TreeSizeOf(req),
                                    req.with_first_record()));
  ToProto(answer, resp);
  return absl::OkStatus();
}

absl::Status LogService::LookupAccounts(Ctx* ctx,
                                        const v1::LookupAccountsRequest& req,
                                        v1::AccountLookups* resp) {
  std::vector<LookupAsk> asks;
  asks.reserve(req.accounts_size());
  for (const v1::LookupAccountsRequest::Account& a : req.accounts()) {
    asks.push_back(LookupAsk{a.account_id(), a.with_first_record()});
  }
  // Checked before the tokens are taken: a malformed batch costs none.
  RETURN_IF_ERROR(LogQueries::CheckLookupAsks(asks));
  // As many accounts as the peer has tokens for; the rest are answered
  // RESOURCE_EXHAUSTED, to be asked for again.
  ASSIGN_OR_RETURN(size_t admitted,
                   AdmitUpTo(ctx, &lookups_, "lookups", asks.size()));
  std::vector<LookupAsk> now(asks.begin(), asks.begin() + admitted);
  ASSIGN_OR_RETURN(LogQueries::LookupsAnswer all,
                   queries_->Lookups(now, TreeSizeOf(req)));
  for (size_t i = admitted; i < asks.size(); ++i) {
    all.answers.push_back(absl::ResourceExhaustedError(
        absl::StrCat("rate limit: this call could look up ", admitted,
                     " of its ", asks.size(), " accounts now (at most ",
                     std::llround(lookups_.limit().per_second * 60),
                     " lookups per minute from one address, bursts of ",
                     lookups_.limit().burst, "); ask for this account again")));
  }
  if (!all.checkpoint_note.empty()) {
    resp->mutable_checkpoint()->set_note(all.checkpoint_note);
  }
  resp->set_tree_size(all.tree_size);
  for (const absl::StatusOr<AccountLookupAnswer>& a : all.answers) {
    batched_lookups_.Increment(a.status().code());
    v1::AccountLookups::Answer* out = resp->add_answers();
    out->set_code(static_cast<int32_t>(a.status().code()));
    if (a.ok()) {
      ToProto(*a, out->mutable_lookup());
    } else {
      out->set_message(std::string(a.status().message()));
    }
  }
  return absl::OkStatus();
}

absl::Status LogService::GetAccountHistory(
    Ctx* ctx, const v1::GetAccountHistoryRequest& req,
    v1::AccountHistory* resp) {
  RETURN_IF_ERROR(Admit(ctx, &lookups_, "lookups"));
  std::optional<OwnerProof> owner;
  if (req.has_owner()) {
    owner = OwnerProof{req.owner().access_key(), req.owner().grant(),
                       req.owner().timestamp_ms(), req.owner().signature()};
  }
  if (writes_ == nullptr && TreeSizeOf(req).has_value()) {
    // A replica behind the size: a grant it has not replicated yet is no
    // refusal.
    RETURN_IF_ERROR(queries_->CheckTreeSize(*TreeSizeOf(req)));
  }
  RETURN_IF_ERROR(history_->Check(req.account_id(), req.from_version(),
                                  TreeSizeOf(req),
                                  owner.has_value() ? &*owner : nullptr));
  ASSIGN_OR_RETURN(
      AccountHistoryAnswer answer,
      queries_->History(req.account_id(), req.from_version(), TreeSizeOf(req)));
  ToProto(answer, resp);
  return absl::OkStatus();
}

absl::Status LogService::AddCosignature(Ctx* ctx,
                                        const v1::AddCosignatureRequest& req,
                                        v1::AddCosignatureResponse* resp) {
  ASSIGN_OR_RETURN(uint32_t n, cosignatures_->Add(req.note()));
  resp->set_cosignatures(n);
  return absl::OkStatus();
}

}  // namespace ktlog
