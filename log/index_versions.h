// IndexVersions: the log's account index (docs/index.md), held in memory at
// every version a lookup may ask for. Each batch end is a version; versions
// share the nodes they did not change (each path keeps a short list of
// (version, node)), so a version costs only the nodes its batch wrote.
// Versions older than the lookup window are forgotten (their nodes pruned),
// except the latest and any a reader is using. Restarts rebuild the latest
// version from the stored index entries (log/storage/log_storage.h).
//
// Thread-safe: one writer (the integrator) and any number of readers.
#ifndef KTLOG_LOG_INDEX_VERSIONS_H_
#define KTLOG_LOG_INDEX_VERSIONS_H_

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "core/account/index_tree.h"
#include "core/crypto/hash.h"

namespace ktlog {

class IndexVersions {
 public:
  // An empty index at version 0.
  IndexVersions();
  ~IndexVersions();

  // Replaces everything with the index holding `entries` (position ->
  // value hash) as version `version`, the only one, building its nodes in
  // place (BuildIndex). INVALID_ARGUMENT for a position twice (nothing
  // changes then).
  absl::Status Load(std::vector<std::pair<Hash, Hash>> entries,
                    uint64_t version, uint64_t now_ms);

  // The index at the latest version with `changes` applied (position ->
  // value hash, positions distinct); nothing is stored until Commit.
  absl::StatusOr<IndexUpdate> Prepare(
      std::vector<std::pair<Hash, Hash>> changes);
  // Stores `update` (from Prepare on the latest version) as version
  // `version` (> latest), made at `now_ms`.
  void Commit(const IndexUpdate& update, uint64_t version, uint64_t now_ms);

  // Forgets every version made before `cutoff_ms`, except the latest and
  // any with a live reader, oldest first (stopping at the first it must
  // keep).
  void Forget(uint64_t cutoff_ms);

  // A reader of version `version`: FAILED_PRECONDITION if it is not a
  // version (a batch end) that is still kept. The version is kept while
  // the reader lives.
  absl::StatusOr<std::unique_ptr<IndexNodeReader>> ReaderAt(uint64_t version);
  // The root of a kept version (NOT_FOUND otherwise).
  absl::StatusOr<Hash> RootAt(uint64_t version) const;

  uint64_t latest() const;
  Hash latest_root() const;
  // The oldest version kept, and how many (path, version) nodes are held.
  uint64_t oldest() const;
  size_t node_versions() const;

 private:
  class Reader;
  using Versions = absl::InlinedVector<std::pair<uint64_t, PackedIndexNode>, 1>;
  struct Made {
    uint64_t version = 0;
    uint64_t time_ms = 0;
    std::vector<IndexPath> paths;  // written by this version
  };

  // The node at `path` as of `version` (kEmpty if none).
  IndexNode Read(const IndexPath& path, uint64_t version) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  void Unpin(uint64_t version);

  mutable absl::Mutex mu_;
  IndexNodeTable<Versions> nodes_ ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, Hash> roots_ ABSL_GUARDED_BY(mu_);  // kept versions
  std::deque<Made> made_ ABSL_GUARDED_BY(mu_);           // kept, oldest first
  std::map<uint64_t, int> pins_ ABSL_GUARDED_BY(mu_);    // live readers
  size_t node_versions_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace ktlog

#endif  // KTLOG_LOG_INDEX_VERSIONS_H_
