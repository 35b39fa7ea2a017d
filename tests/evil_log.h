// Test-only: a deliberately misbehaving ktlog log. A real gRPC server on
// 127.0.0.1:0 holding the log's signing key and a list of records, which
// signs whatever checkpoint a test asks for: honest ones, or ones with a
// forged tree root or index root; it serves proofs computed honestly from
// its records (so a test can plant records with bad signatures, or two
// EvilLogs under one key can show two histories). Witness cosignatures are
// accepted from anyone and served like the real log's.
#ifndef KTLOG_TESTS_EVIL_LOG_H_
#define KTLOG_TESTS_EVIL_LOG_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "core/note/checkpoint.h"
#include "core/note/note.h"
#include "proto/ktlog.grpc.pb.h"

namespace grpc {
class Server;
}

namespace ktlog {

class EvilLog : public v1::Log::Service {
 public:
  static std::unique_ptr<EvilLog> Start(const NoteSigner& signer);
  ~EvilLog() override;

  std::string address() const;

  // Appends record bytes as they are (no validation at all).
  void Append(const std::string& record);
  // Signs and serves a checkpoint of the first `size` records, with honest
  // roots unless forged ones are given.
  LogCheckpoint Publish(uint64_t size, std::optional<Hash> forged_root = {},
                        std::optional<Hash> forged_index_root = {});
  // The honest roots of the first `size` records.
  Hash RootAt(uint64_t size);
  Hash IndexRootAt(uint64_t size);
  // Cosignature lines received, for any checkpoint body.
  std::vector<std::string> ReceivedCosignedNotes();

  grpc::Status GetCheckpoint(grpc::ServerContext*,
                             const v1::GetCheckpointRequest*,
                             v1::SignedCheckpoint*) override;
  // The evil log asks witnesses to cosign whatever it serves now.
  grpc::Status GetCheckpointToCosign(grpc::ServerContext*,
                                     const v1::GetCheckpointToCosignRequest*,
                                     v1::SignedCheckpoint*) override;
  grpc::Status GetConsistencyProof(grpc::ServerContext*,
                                   const v1::GetConsistencyProofRequest*,
                                   v1::ConsistencyProof*) override;
  grpc::Status GetInclusionProof(grpc::ServerContext*,
                                 const v1::GetInclusionProofRequest*,
                                 v1::InclusionProof*) override;
  grpc::Status GetEntries(grpc::ServerContext*, const v1::GetEntriesRequest*,
                          v1::GetEntriesResponse*) override;
  grpc::Status AddCosignature(grpc::ServerContext*,
                              const v1::AddCosignatureRequest*,
                              v1::AddCosignatureResponse*) override;

 private:
  explicit EvilLog(const NoteSigner& signer);

  std::unique_ptr<NoteSigner> signer_;
  mutable absl::Mutex mu_;
  std::vector<std::string> records_ ABSL_GUARDED_BY(mu_);
  std::string note_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> cosigned_ ABSL_GUARDED_BY(mu_);
  uint64_t clock_ms_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace ktlog

#endif  // KTLOG_TESTS_EVIL_LOG_H_
