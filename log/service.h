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

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/clock.h"
#include "core/note.h"
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
  // Witnesses whose cosignatures the log accepts (note keys of type 0x04).
  std::vector<NoteVerifierKey> witnesses;
};

inline constexpr uint64_t kMaxEntriesPerRequest = 1000;
inline constexpr size_t kMaxHistoryPerRequest = 100;
inline constexpr size_t kMaxKeyRecordsPerLookup = 100;

class LogService final : public v1::Log::Service {
 public:
  // Borrows everything; all must outlive the service.
  LogService(LogStorage* storage, Sequencer* sequencer,
             CheckpointPublisher* publisher, const NoteVerifierKey& log_key,
             const Clock* clock, const ServiceOptions& options);

  // Stops admitting RPCs (new ones get UNAVAILABLE), ends watch streams
  // within a fraction of a second, and waits until the RPCs in flight have
  // finished or `deadline` passes. True if none remain.
  bool Drain(absl::Time deadline);

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
  // Resolves a request's tree size (0: the latest checkpoint, whose note is
  // copied to *note) to one with an index root.
  absl::StatusOr<uint64_t> ResolveTreeSize(uint64_t tree_size,
                                           std::string* note) const;
  // Fills `out` with the record at `leaf_index` and its inclusion proof in
  // the tree of `tree_size`.
  absl::Status ProveRecord(uint64_t leaf_index, uint64_t tree_size,
                           v1::ProvedRecord* out);
  absl::Status Lookup(const v1::LookupAccountRequest& req,
                      v1::AccountLookup* resp);
  absl::Status History(const v1::GetAccountHistoryRequest& req,
                       v1::AccountHistory* resp);
  absl::StatusOr<uint32_t> Cosign(const std::string& note_text);
  // The number of distinct configured witnesses with a valid cosignature
  // on `note`.
  uint32_t CountCosignatures(const Note& note) const;
  absl::Status FillInclusionProof(uint64_t index, uint64_t tree_size,
                                  v1::InclusionProof* resp);

  // Counts an RPC in flight for Drain(); refuses it once draining.
  class Admission {
   public:
    explicit Admission(LogService* service);
    ~Admission();
    bool ok() const { return admitted_; }
    grpc::Status status() const;

   private:
    LogService* const service_;
    bool admitted_;
  };

  LogStorage* const storage_;
  Sequencer* const sequencer_;
  CheckpointPublisher* const publisher_;
  const NoteVerifierKey log_key_;
  const Clock* const clock_;
  const ServiceOptions options_;
  std::atomic<int> watchers_{0};
  absl::Mutex cosign_mu_;  // serialises cosignature merges
  absl::Mutex mu_;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace ktlog

#endif  // KTLOG_LOG_SERVICE_H_
