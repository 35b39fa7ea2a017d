// LogService: the ktlog.v1.Log gRPC service (proto/ktlog.proto,
// docs/api.md), a thin transport: each handler maps its request onto
// LogWrites, LogQueries or Cosignatures and the answer back
// (proto/convert.h), through one wrapper that does admission (UNAVAILABLE
// once shutting down) and status conversion. No proof is assembled here.
//
// Thread-safe.
#ifndef KTLOG_LOG_SERVICE_H_
#define KTLOG_LOG_SERVICE_H_

#include <atomic>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/util/clock.h"
#include "log/cosignatures.h"
#include "log/publisher.h"
#include "log/queries.h"
#include "log/rate_limiter.h"
#include "log/writes.h"
#include "proto/ktlog.grpc.pb.h"

namespace ktlog {

struct ServiceOptions {
  // Records whose timestamp is further than this from the server's clock are
  // rejected (FAILED_PRECONDITION).
  absl::Duration max_record_skew = absl::Hours(1);
  // Longest time a write waits when the client sets none.
  absl::Duration default_write_timeout = absl::Seconds(30);
  // Concurrent WatchCheckpoints streams, in all and from one peer address
  // (each holds a server thread); more get RESOURCE_EXHAUSTED.
  int max_watchers = 256;
  int max_watchers_per_peer = 16;
  // Per peer address (docs/security.md): lookups (LookupAccount,
  // GetAccountHistory) and writes. Unlimited here; ktlog-server's flags
  // default to limits.
  RateLimit lookup_limit, write_limit;
  // Measures the refills (monotonic: a wall clock stepping back would stop
  // them).
  const Clock* limiter_clock = SteadyClock::Get();
};

class LogService final : public v1::Log::Service {
 public:
  // Borrows everything; all must outlive the service.
  LogService(LogWrites* writes, LogQueries* queries,
             const CheckpointPublisher* publisher, Cosignatures* cosignatures,
             const ServiceOptions& options);

  // Stops admitting RPCs (new ones get UNAVAILABLE) and ends watch streams
  // within a fraction of a second. RPCs in flight go on; the server's
  // shutdown waits for them and their answers (LogServer::Shutdown).
  void BeginShutdown();

  grpc::Status AddDevice(grpc::ServerContext* ctx, const v1::WriteRequest* req,
                         v1::WriteResponse* resp) override;
  grpc::Status RemoveDevice(grpc::ServerContext* ctx,
                            const v1::WriteRequest* req,
                            v1::WriteResponse* resp) override;
  grpc::Status RotateAccountKey(grpc::ServerContext* ctx,
                                const v1::WriteRequest* req,
                                v1::WriteResponse* resp) override;
  grpc::Status AppendRecords(grpc::ServerContext* ctx,
                             const v1::AppendRecordsRequest* req,
                             v1::AppendRecordsResponse* resp) override;
  grpc::Status GetCheckpoint(grpc::ServerContext* ctx,
                             const v1::GetCheckpointRequest* req,
                             v1::SignedCheckpoint* resp) override;
  grpc::Status GetCheckpointToCosign(
      grpc::ServerContext* ctx, const v1::GetCheckpointToCosignRequest* req,
      v1::SignedCheckpoint* resp) override;
  grpc::Status GetConsistencyProof(grpc::ServerContext* ctx,
                                   const v1::GetConsistencyProofRequest* req,
                                   v1::ConsistencyProof* resp) override;
  grpc::Status GetInclusionProof(grpc::ServerContext* ctx,
                                 const v1::GetInclusionProofRequest* req,
                                 v1::InclusionProof* resp) override;
  grpc::Status GetInclusionProofByHash(
      grpc::ServerContext* ctx, const v1::GetInclusionProofByHashRequest* req,
      v1::InclusionProof* resp) override;
  grpc::Status GetEntries(grpc::ServerContext* ctx,
                          const v1::GetEntriesRequest* req,
                          v1::GetEntriesResponse* resp) override;
  grpc::Status WatchCheckpoints(
      grpc::ServerContext* ctx, const v1::WatchCheckpointsRequest* req,
      grpc::ServerWriter<v1::SignedCheckpoint>* writer) override;
  grpc::Status LookupAccount(grpc::ServerContext* ctx,
                             const v1::LookupAccountRequest* req,
                             v1::AccountLookup* resp) override;
  grpc::Status GetAccountHistory(grpc::ServerContext* ctx,
                                 const v1::GetAccountHistoryRequest* req,
                                 v1::AccountHistory* resp) override;
  grpc::Status AddCosignature(grpc::ServerContext* ctx,
                              const v1::AddCosignatureRequest* req,
                              v1::AddCosignatureResponse* resp) override;

 private:
  // The one wrapper every handler goes through: once shutting down,
  // UNAVAILABLE with a retry pushback; else `handler`, whose absl::Status
  // becomes the gRPC status.
  grpc::Status Serve(grpc::ServerContext* ctx,
                     absl::FunctionRef<absl::Status()> handler);
  // OK, or RESOURCE_EXHAUSTED (with the wait in the message and in the
  // trailing metadata "grpc-retry-pushback-ms") if the peer is over
  // `limiter`'s rate for `n` more of `what`, or `n` is more than its burst.
  absl::Status Admit(grpc::ServerContext* ctx, RateLimiter* limiter,
                     absl::string_view what, size_t n = 1);
  grpc::Status Write(grpc::ServerContext* ctx, const v1::WriteRequest& req,
                     Operation expected, v1::WriteResponse* resp);
  absl::Status Watch(grpc::ServerContext* ctx,
                     grpc::ServerWriter<v1::SignedCheckpoint>* writer);
  bool draining();

  LogWrites* const writes_;
  LogQueries* const queries_;
  const CheckpointPublisher* const publisher_;
  Cosignatures* const cosignatures_;
  const ServiceOptions options_;
  std::atomic<int> watchers_{0};
  absl::Mutex watchers_mu_;
  absl::flat_hash_map<std::string, int> watchers_by_peer_
      ABSL_GUARDED_BY(watchers_mu_);
  RateLimiter lookups_, writes_limit_;
  absl::Mutex mu_;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace ktlog

#endif  // KTLOG_LOG_SERVICE_H_
