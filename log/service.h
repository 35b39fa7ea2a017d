// LogService: the ktlog.v1.Log gRPC service (proto/ktlog.proto,
// docs/api.md). It validates every request (sizes, encodings, signatures,
// ranges against the latest checkpoint) and answers with canonical status
// codes and messages a person can act on; writes go to the Sequencer, reads
// to LogStorage, checkpoints come from the CheckpointPublisher.
//
// Reads never go beyond the latest published checkpoint: a client can check
// every answer against a signed tree head.
//
// Thread-safe.
#ifndef KTLOG_LOG_SERVICE_H_
#define KTLOG_LOG_SERVICE_H_

#include <atomic>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/note/note.h"
#include "core/util/clock.h"
#include "log/cosignatures.h"
#include "log/publisher.h"
#include "log/sequencer.h"
#include "log/storage.h"
#include "proto/ktlog.grpc.pb.h"

namespace ktlog {

struct ServiceOptions {
  // Records whose timestamp is further than this from the server's clock are
  // rejected (FAILED_PRECONDITION).
  absl::Duration max_record_skew = absl::Hours(1);
  // Longest time a write waits when the client sets no deadline.
  absl::Duration default_write_timeout = absl::Seconds(30);
  // Concurrent WatchCheckpoints streams; more get RESOURCE_EXHAUSTED.
  int max_watchers = 256;
};

inline constexpr uint64_t kMaxEntriesPerRequest = 1000;
inline constexpr size_t kMaxHistoryPerRequest = 100;
inline constexpr size_t kMaxKeyRecordsPerLookup = 100;

class LogService final : public v1::Log::Service {
 public:
  // Borrows everything; all must outlive the service.
  LogService(LogStorage* storage, Sequencer* sequencer,
             CheckpointPublisher* publisher, Cosignatures* cosignatures,
             const Clock* clock, const ServiceOptions& options);

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
  grpc::Status Write(grpc::ServerContext* ctx, const v1::WriteRequest& req,
                     Operation expected, v1::WriteResponse* resp);
  // The latest checkpoint's size, or UNAVAILABLE before the first.
  absl::StatusOr<uint64_t> PublishedSize() const;
  absl::Status CheckTreeSize(uint64_t tree_size, uint64_t published) const;
  bool draining();
  // Resolves a request's tree size (unset: the latest checkpoint, whose
  // note is copied to *note) to one with an index root.
  absl::StatusOr<uint64_t> ResolveTreeSize(std::optional<uint64_t> tree_size,
                                           std::string* note) const;
  // Fills `out` with the record at `leaf_index` and its inclusion proof in
  // the tree of `tree_size`.
  absl::Status ProveRecord(uint64_t leaf_index, uint64_t tree_size,
                           v1::ProvedRecord* out);
  absl::Status Lookup(const v1::LookupAccountRequest& req,
                      v1::AccountLookup* resp);
  absl::Status History(const v1::GetAccountHistoryRequest& req,
                       v1::AccountHistory* resp);
  absl::Status FillInclusionProof(uint64_t index, uint64_t tree_size,
                                  v1::InclusionProof* resp);

  // Refuses an RPC once shutting down.
  class Admission {
   public:
    explicit Admission(LogService* service);
    bool ok() const { return admitted_; }
    grpc::Status status() const;

   private:
    bool admitted_;
  };

  LogStorage* const storage_;
  Sequencer* const sequencer_;
  CheckpointPublisher* const publisher_;
  Cosignatures* const cosignatures_;
  const Clock* const clock_;
  const ServiceOptions options_;
  std::atomic<int> watchers_{0};
  absl::Mutex mu_;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace ktlog

#endif  // KTLOG_LOG_SERVICE_H_
