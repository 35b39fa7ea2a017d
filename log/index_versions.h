// IndexVersions: the log's account index (docs/index.md), held in memory at
// every version a lookup may ask for. Each batch end is a version, an
// IndexSnapshot (core/account/index_tree.h) that shares with the version
// before it everything its batch did not change, so a version costs the
// bucket and trie nodes its batch copied. Versions older than the lookup
// window are forgotten, except the latest; a lookup that took a version
// keeps its snapshot until it is done. Restarts rebuild the latest version
// from the stored index entries (log/storage/log_storage.h).
//
// Thread-safe: one writer (the integrator) and any number of readers.
#ifndef KTLOG_LOG_INDEX_VERSIONS_H_
#define KTLOG_LOG_INDEX_VERSIONS_H_

#include <cstdint>
#include <deque>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "core/account/index_tree.h"
#include "core/crypto/hash.h"

namespace ktlog {

class IndexVersions {
 public:
  // An empty index at version 0.
  IndexVersions();

  // Replaces everything with the index holding `entries` (position ->
  // value hash) as version `version`, the only one (IndexSnapshot::Build).
  // INVALID_ARGUMENT for a position twice (nothing changes then).
  absl::Status Load(std::vector<std::pair<Hash, Hash>> entries,
                    uint64_t version, uint64_t now_ms);

  // The latest version with `changes` applied (position -> value hash,
  // positions distinct); nothing is kept until Commit.
  absl::StatusOr<IndexSnapshot> Prepare(
      std::vector<std::pair<Hash, Hash>> changes) const;
  // Keeps `next` (from Prepare on the latest version) as version `version`
  // (> latest), made at `now_ms`.
  void Commit(IndexSnapshot next, uint64_t version, uint64_t now_ms);

  // Forgets every version made before `cutoff_ms`, except the latest.
  void Forget(uint64_t cutoff_ms);

  // Version `version`: FAILED_PRECONDITION if it is not a version (a batch
  // end) that is still kept. The snapshot stays valid however long it is
  // held.
  absl::StatusOr<IndexSnapshot> At(uint64_t version) const;
  // The root of a kept version (NOT_FOUND otherwise).
  absl::StatusOr<Hash> RootAt(uint64_t version) const;

  uint64_t latest() const;
  Hash latest_root() const;
  // The oldest version kept, and how many are kept.
  uint64_t oldest() const;
  size_t kept() const;

 private:
  struct Made {
    uint64_t version = 0;
    uint64_t time_ms = 0;
    IndexSnapshot index;
  };
  // The kept version `version`, or nullptr.
  const Made* Find(uint64_t version) const ABSL_SHARED_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::deque<Made> made_ ABSL_GUARDED_BY(mu_);  // oldest first, never empty
};

}  // namespace ktlog

#endif  // KTLOG_LOG_INDEX_VERSIONS_H_
