// Test-only: a deliberately misbehaving ktlog log. A real gRPC server on
// 127.0.0.1:0 holding the log's keys and a list of public leaves, which
// signs whatever checkpoint a test asks for: honest ones, or ones with a
// forged tree root or index root; it serves the public read API computed
// honestly from its leaves (so a test can plant leaves that skip a version
// or are malformed, or two EvilLogs under one key can show two histories).
// Witness cosignatures are accepted from anyone and served like the real
// log's.
#ifndef KTLOG_TESTS_EVIL_LOG_H_
#define KTLOG_TESTS_EVIL_LOG_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "core/account/leaf.h"
#include "core/crypto/vrf.h"
#include "core/note/checkpoint.h"
#include "core/note/note.h"
#include "proto/ktlog.grpc.pb.h"

namespace grpc {
class Server;
}

namespace ktlog {

class EvilLog : public v1::Log::Service {
 public:
  static std::unique_ptr<EvilLog> Start(const NoteSigner& signer,
                                        const VrfPrivateKey& vrf);
  ~EvilLog() override;

  std::string address() const;

  // A well-formed leaf for `version` of `account` (its real VRF position,
  // commitments to nothing in particular, the next timestamp).
  Leaf LeafFor(const std::string& account, uint64_t version);
  // Appends leaf bytes as they are (no validation at all).
  void Append(const std::string& leaf);
  // Signs and serves a checkpoint of the first `size` leaves, with honest
  // roots unless forged ones are given.
  LogCheckpoint Publish(uint64_t size, std::optional<Hash> forged_root = {},
                        std::optional<Hash> forged_index_root = {});
  // Sets the log's clock (ms): what its next leaf or checkpoint is dated,
  // less one.
  void SetTime(uint64_t ms);
  // Serves `note` as it is (any bytes) as the latest checkpoint.
  void ServeRawNote(const std::string& note);
  // The honest roots of the first `size` leaves.
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
  EvilLog(const NoteSigner& signer, const VrfPrivateKey& vrf);

  std::unique_ptr<NoteSigner> signer_;
  std::unique_ptr<VrfPrivateKey> vrf_;
  mutable absl::Mutex mu_;
  std::vector<std::string> leaves_ ABSL_GUARDED_BY(mu_);
  std::string note_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> cosigned_ ABSL_GUARDED_BY(mu_);
  uint64_t clock_ms_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace ktlog

#endif  // KTLOG_TESTS_EVIL_LOG_H_
