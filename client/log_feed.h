// Where a client reads the public log from: over gRPC, or from the log's
// C2SP tiles, which a CDN or caching proxy can serve (docs/tiles.md).
//
//  - LogFeed: what a follower of the public log (the auditor, ktctl's log
//    commands) reads and sends: all over gRPC (GrpcFeed), or the bulk
//    reads (leaves, proofs) from tiles and the coordination (the checkpoint
//    to cosign, cosignatures) over gRPC (TilesFeed).
//
// Nothing they return is verified. The verifier (alerts) reads only from
// the log itself; tiles serve bulk reads, and the auditor judges anything
// wrong in them again on the log's own answers before it becomes evidence
// (AuditorOptions::authority).
#ifndef KTLOG_CLIENT_LOG_FEED_H_
#define KTLOG_CLIENT_LOG_FEED_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/log_client.h"
#include "client/tiles_client.h"
#include "core/account/answers.h"
#include "core/crypto/hash.h"
#include "verifier/log_source.h"

namespace ktlog {

class LogFeed {
 public:
  virtual ~LogFeed() = default;
  // The checkpoint the log asks witnesses to cosign now.
  virtual absl::StatusOr<std::string> CheckpointToCosign() = 0;
  // Public leaves from `begin` (< end <= tree_size, a size the log signed);
  // maybe fewer than asked (ask again from where it stopped).
  virtual absl::StatusOr<std::vector<std::string>> Entries(
      uint64_t begin, uint64_t end, uint64_t tree_size) = 0;
  virtual absl::StatusOr<std::vector<Hash>> ConsistencyProof(
      uint64_t size1, uint64_t size2) = 0;
  virtual absl::StatusOr<InclusionAnswer> InclusionProof(uint64_t index,
                                                         uint64_t size) = 0;
  // Submits a cosigned checkpoint note; how many witnesses cosigned it now.
  virtual absl::StatusOr<uint32_t> AddCosignature(const std::string& note) = 0;
};

// Everything over gRPC. Borrows `log`.
class GrpcFeed : public LogFeed {
 public:
  explicit GrpcFeed(LogClient* log) : log_(log) {}
  absl::StatusOr<std::string> CheckpointToCosign() override {
    return log_->GetCheckpointToCosign();
  }
  absl::StatusOr<std::vector<std::string>> Entries(uint64_t begin, uint64_t end,
                                                   uint64_t) override {
    return log_->GetEntries(begin, end);
  }
  absl::StatusOr<std::vector<Hash>> ConsistencyProof(uint64_t size1,
                                                     uint64_t size2) override {
    return log_->GetConsistencyProof(size1, size2);
  }
  absl::StatusOr<InclusionAnswer> InclusionProof(uint64_t index,
                                                 uint64_t size) override {
    return log_->GetInclusionProof(index, size);
  }
  absl::StatusOr<uint32_t> AddCosignature(const std::string& note) override {
    return log_->AddCosignature(note);
  }

 private:
  LogClient* const log_;
};

// Leaves and proofs from the tiles; the checkpoint to cosign and
// cosignatures over gRPC. Borrows both.
class TilesFeed : public LogFeed {
 public:
  TilesFeed(TilesClient* tiles, LogClient* log) : tiles_(tiles), log_(log) {}
  absl::StatusOr<std::string> CheckpointToCosign() override {
    return log_->GetCheckpointToCosign();
  }
  absl::StatusOr<std::vector<std::string>> Entries(
      uint64_t begin, uint64_t end, uint64_t tree_size) override {
    return tiles_->Entries(begin, end, tree_size);
  }
  absl::StatusOr<std::vector<Hash>> ConsistencyProof(uint64_t size1,
                                                     uint64_t size2) override {
    return tiles_->ConsistencyProof(size1, size2);
  }
  absl::StatusOr<InclusionAnswer> InclusionProof(uint64_t index,
                                                 uint64_t size) override {
    return tiles_->InclusionProof(index, size);
  }
  absl::StatusOr<uint32_t> AddCosignature(const std::string& note) override {
    return log_->AddCosignature(note);
  }

 private:
  TilesClient* const tiles_;
  LogClient* const log_;
};

}  // namespace ktlog

#endif  // KTLOG_CLIENT_LOG_FEED_H_
