// LogService: the ktlog.v1.Log gRPC service (proto/ktlog.proto,
// docs/api.md), a thin transport: each handler maps its request onto
// LogWrites, LogQueries or Cosignatures and the answer back
// (proto/convert.h), through one wrapper that does admission and status
// conversion. No proof is assembled here.
//
// On gRPC's callback API: a call holds no thread while it waits to run or
// while its answer waits for the client. Admission happens on arrival,
// without blocking: UNAVAILABLE once shutting down; RESOURCE_EXHAUSTED with
// a retry pushback when the caller's address has too many calls live or
// the worker queue is full. Admitted calls run on a bounded WorkerPool (the
// handlers block: a write waits for its group commit). WatchCheckpoints
// streams hold no thread either: one thread follows the publisher and
// offers each new checkpoint to every stream, a stream that has not taken
// the previous one yet gets only the newest.
//
// Thread-safe.
#ifndef KTLOG_LOG_SERVICE_H_
#define KTLOG_LOG_SERVICE_H_

#include <atomic>
#include <functional>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/util/clock.h"
#include "core/util/logging.h"
#include "core/util/metrics.h"
#include "log/backups.h"
#include "log/call_tracker.h"
#include "log/cosignatures.h"
#include "log/history_access.h"
#include "log/publisher.h"
#include "log/queries.h"
#include "log/rate_limiter.h"
#include "log/worker_pool.h"
#include "log/writes.h"
#include "proto/ktlog.grpc.pb.h"

namespace ktlog {

struct ServiceOptions {
  // Records whose timestamp is further than this from the server's clock are
  // rejected (FAILED_PRECONDITION).
  absl::Duration max_record_skew = absl::Hours(1);
  // Longest time a write waits when the client sets none.
  absl::Duration default_write_timeout = absl::Seconds(30);
  // Concurrent WatchCheckpoints streams, in all and from one peer address;
  // more get RESOURCE_EXHAUSTED.
  int max_watchers = 256;
  int max_watchers_per_peer = 16;
  // RPCs one peer address may have live at once (from arrival until the
  // answer is handed to the transport: an answer the client does not read
  // keeps its call live), watch streams included; more are refused
  // RESOURCE_EXHAUSTED with a retry pushback, so that one host cannot hold
  // the server's workers or make it buffer answers without bound. 0: no
  // limit.
  int max_calls_per_address = 0;
  // Threads that run the calls, and calls that may wait for one; a call
  // that finds the queue full is refused RESOURCE_EXHAUSTED with a retry
  // pushback.
  int workers = 256;
  int max_queued_calls = 4096;
  // Tests only: runs on the worker after a unary call's handler, before its
  // answer is handed to gRPC (to hold answers back; `method` as in
  // proto/ktlog.proto, e.g. "AddDevice").
  std::function<void(absl::string_view method,
                     grpc::CallbackServerContext* ctx)>
      before_answer;
  // Per peer address (docs/security.md): lookups (LookupAccount, each
  // account of LookupAccounts, GetAccountHistory) and writes. Unlimited here;
  // ktlog-server's flags default to limits.
  RateLimit lookup_limit, write_limit;
  // Measures the refills (monotonic: a wall clock stepping back would stop
  // them).
  const Clock* limiter_clock = SteadyClock::Get();
  // Where the service counts its calls, records and rate-limited requests
  // (docs/operations.md, "Metrics"); null: nowhere.
  MetricsRegistry* metrics = nullptr;
};

class LogService final : public v1::Log::Service {
 public:
  // Borrows everything; all must outlive the service. `calls` may be null
  // (no per-address limit). `history` admits GetAccountHistory calls;
  // `backups` keeps the trust backups. A read replica (log/follower.h) has
  // neither `writes` nor `backups`: the methods that need them, and the
  // witnesses' calls, are UNIMPLEMENTED there.
  LogService(LogWrites* writes, LogQueries* queries, HistoryAccess* history,
             Backups* backups, const CheckpointPublisher* publisher,
             Cosignatures* cosignatures, CallTracker* calls,
             const ServiceOptions& options);
  // Requires every call to be done (the gRPC server shut down).
  ~LogService() override;

  // Stops admitting RPCs (new ones get UNAVAILABLE) and ends watch streams
  // within a fraction of a second. RPCs in flight go on; the server's
  // shutdown waits for them and their answers (LogServer::Shutdown).
  void BeginShutdown();

 private:
  class Watcher;
  class Call;

  using Unary = grpc::ServerUnaryReactor;
  using Ctx = grpc::CallbackServerContext;
  // A unary method's handler: the parsed request in, the answer out.
  template <class Request, class Response>
  using Handler = absl::Status (LogService::*)(Ctx*, const Request&, Response*);

  // Serves the unary method `name` with `handler` (on gRPC's raw callback
  // API: the request is parsed here, so that a malformed one is
  // INVALID_ARGUMENT naming its type, not gRPC's bare UNIMPLEMENTED).
  template <class Request, class Response>
  void Bind(const char* name, Handler<Request, Response> handler);
  // UNIMPLEMENTED for a method only the log itself serves, in a read
  // replica (no `writes`); else OK.
  absl::Status ServedHere(absl::string_view method) const;
  // Parses `in`, runs `handler`, serializes its answer into `out`.
  template <class Request, class Response>
  absl::Status Handle(Ctx* ctx, Handler<Request, Response> handler,
                      const grpc::ByteBuffer& in, grpc::ByteBuffer* out);
  // A unary method's calls by status code, and their durations.
  struct MethodMetrics {
    CodeCounters calls;
    Histogram* duration;
  };
  // The one wrapper every unary call goes through: admission (Refusal),
  // then `handler` on a worker, its absl::Status becoming the gRPC status
  // (after before_answer, for `method`), counted in `counted`.
  Unary* Serve(Ctx* ctx, const char* method, MethodMetrics* counted,
               std::function<absl::Status()> handler);
  // Why a call arriving now is refused, with its retry pushback in `ctx`'s
  // trailing metadata; OK to admit it.
  absl::Status Refusal(Ctx* ctx);
  // OK, or RESOURCE_EXHAUSTED (with the wait in the message and in the
  // trailing metadata "grpc-retry-pushback-ms") if the peer is over
  // `limiter`'s rate for `n` more of `what`, or `n` is more than its burst.
  absl::Status Admit(Ctx* ctx, RateLimiter* limiter, absl::string_view what,
                     size_t n = 1);
  // As many of `n` of `what` as the peer's bucket holds now (1..n), or
  // Admit's RESOURCE_EXHAUSTED for one if it holds none.
  absl::StatusOr<size_t> AdmitUpTo(Ctx* ctx, RateLimiter* limiter,
                                   absl::string_view what, size_t n);
  // Admit's RESOURCE_EXHAUSTED for `n` of `what`, counted, with `wait`.
  absl::Status RateLimited(Ctx* ctx, const RateLimiter& limiter,
                           absl::string_view what, size_t n,
                           absl::Duration wait);

  // The methods (docs/api.md).
  absl::Status Write(Ctx* ctx, const v1::WriteRequest& req, Operation expected,
                     v1::WriteResponse* resp);
  absl::Status AddDevice(Ctx* ctx, const v1::WriteRequest& req,
                         v1::WriteResponse* resp);
  absl::Status RemoveDevice(Ctx* ctx, const v1::WriteRequest& req,
                            v1::WriteResponse* resp);
  absl::Status RotateAccountKey(Ctx* ctx, const v1::WriteRequest& req,
                                v1::WriteResponse* resp);
  absl::Status SetSecurityKeys(Ctx* ctx, const v1::WriteRequest& req,
                               v1::WriteResponse* resp);
  absl::Status ResetAccount(Ctx* ctx, const v1::WriteRequest& req,
                            v1::WriteResponse* resp);
  absl::Status RecordBackup(Ctx* ctx, const v1::WriteRequest& req,
                            v1::WriteResponse* resp);
  absl::Status EraseAccount(Ctx* ctx, const v1::EraseAccountRequest& req,
                            v1::EraseAccountResponse* resp);
  absl::Status PutBackup(Ctx* ctx, const v1::PutBackupRequest& req,
                         v1::PutBackupResponse* resp);
  absl::Status GetBackup(Ctx* ctx, const v1::GetBackupRequest& req,
                         v1::Backup* resp);
  absl::Status DeleteBackup(Ctx* ctx, const v1::DeleteBackupRequest& req,
                            v1::DeleteBackupResponse* resp);
  absl::Status AppendRecords(Ctx* ctx, const v1::AppendRecordsRequest& req,
                             v1::AppendRecordsResponse* resp);
  absl::Status GetCheckpoint(Ctx* ctx, const v1::GetCheckpointRequest& req,
                             v1::SignedCheckpoint* resp);
  absl::Status GetCheckpointToCosign(
      Ctx* ctx, const v1::GetCheckpointToCosignRequest& req,
      v1::SignedCheckpoint* resp);
  absl::Status GetConsistencyProof(Ctx* ctx,
                                   const v1::GetConsistencyProofRequest& req,
                                   v1::ConsistencyProof* resp);
  absl::Status GetInclusionProof(Ctx* ctx,
                                 const v1::GetInclusionProofRequest& req,
                                 v1::InclusionProof* resp);
  absl::Status GetInclusionProofByHash(
      Ctx* ctx, const v1::GetInclusionProofByHashRequest& req,
      v1::InclusionProof* resp);
  absl::Status GetEntries(Ctx* ctx, const v1::GetEntriesRequest& req,
                          v1::GetEntriesResponse* resp);
  absl::Status LookupAccount(Ctx* ctx, const v1::LookupAccountRequest& req,
                             v1::AccountLookup* resp);
  absl::Status LookupAccounts(Ctx* ctx, const v1::LookupAccountsRequest& req,
                              v1::AccountLookups* resp);
  absl::Status GetAccountHistory(Ctx* ctx,
                                 const v1::GetAccountHistoryRequest& req,
                                 v1::AccountHistory* resp);
  absl::Status AddCosignature(Ctx* ctx, const v1::AddCosignatureRequest& req,
                              v1::AddCosignatureResponse* resp);
  grpc::ServerWriteReactor<v1::SignedCheckpoint>* WatchCheckpoints(
      Ctx* ctx, const v1::WatchCheckpointsRequest* req);

  // Counts a new watcher from `peer`; RESOURCE_EXHAUSTED if over a limit.
  absl::Status AddWatcher(const std::string& peer, Watcher* w);
  void RemoveWatcher(const std::string& peer, Watcher* w);
  // The thread that offers each new checkpoint to the watchers, and ends
  // them once shutting down.
  void FollowCheckpoints();
  bool draining();

  LogWrites* const writes_;
  LogQueries* const queries_;
  HistoryAccess* const history_;
  Backups* const backups_;
  const CheckpointPublisher* const publisher_;
  Cosignatures* const cosignatures_;
  CallTracker* const calls_;
  const ServiceOptions options_;
  MetricsRegistry* const metrics_;
  // Records sent to be written, by outcome.
  CodeCounters records_;
  CodeCounters batched_lookups_;
  RateLimiter lookups_, writes_limit_;
  absl::Mutex mu_;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_set<Watcher*> watchers_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, int> watchers_by_peer_ ABSL_GUARDED_BY(mu_);
  // The operator's view of what was refused: per method (made by Bind,
  // read-only after construction), and calls shed as busy.
  absl::flat_hash_map<std::string, std::unique_ptr<ThrottledLog>> refused_;
  // Per method (made by Bind, read-only after construction).
  absl::flat_hash_map<std::string, std::unique_ptr<MethodMetrics>>
      method_metrics_;
  ThrottledLog shed_{Severity::kWarning, "calls refused, too many in flight"};
  WorkerPool pool_;
  std::thread follower_;
};

}  // namespace ktlog

#endif  // KTLOG_LOG_SERVICE_H_
