// AuditorStore: the auditor's durable state in its own RocksDB database, so
// that it resumes after a kill without redoing verified work: the log it
// audits, how far it has replayed (tree size, compact range and the last
// leaf's timestamp), every position's latest index entry (version and
// state commitment), the last checkpoint it verified and cosigned, the
// checkpoint it is catching up to, and, once it found misbehaviour, the
// evidence. It holds only public data. Progress is committed with one
// synced write, so a kill leaves the state of the last commit.
//
// The account index itself is held in memory, rebuilt from the stored
// entries at Open (as the log does, log/index_versions.h): a commit writes
// one key per changed position, not the index nodes above it. Open takes
// about a second per 10^5 positions.
//
// Thread-compatible; one auditor per state directory (RocksDB locks it).
#ifndef KTLOG_AUDITOR_AUDITOR_STORE_H_
#define KTLOG_AUDITOR_AUDITOR_STORE_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "core/account/index_tree.h"
#include "core/account/leaf.h"
#include "core/merkle/compact_range.h"
#include "core/util/huge_pages.h"
#include "storage/rocksdb.h"

namespace ktlog {

struct AuditorProgress {
  CompactRange range;              // leaves [0, range.size()) replayed
  uint64_t last_timestamp_ms = 0;  // of leaf range.size() - 1
  std::string verified_note;       // last verified checkpoint (empty: none)
  std::string target_note;         // the checkpoint being caught up to
  // The verified checkpoint with this auditor's cosignature, until the log
  // accepted it (empty once submitted).
  std::string unsubmitted_note;
};

// What one commit changes.
struct AuditorCommit {
  AuditorProgress progress;
  std::vector<IndexEntry> entries;  // changed positions, distinct
  // The index with `entries` applied: index().Apply() of their values.
  const IndexSnapshot* index_update = nullptr;
};

class AuditorStore {
 public:
  // Opens (creating) the state in `dir` for the log `log_key` and loads the
  // index. FAILED_PRECONDITION if it is in use, cannot be opened, or was
  // made for another log; DATA_LOSS if it is corrupted. A state written by
  // an earlier ktlog-auditor that stored index nodes is converted.
  static absl::StatusOr<std::unique_ptr<AuditorStore>> Open(
      const std::string& dir, const std::string& log_key);
  ~AuditorStore();

  absl::StatusOr<AuditorProgress> ReadProgress();
  // The latest committed version at `position` (0 if none), with
  // kErasedVersionBit if its leaf is an erasure (a VersionSource's).
  uint64_t Version(const Hash& position) const;
  // The committed account index.
  const IndexSnapshot& index() const { return index_; }

  // Writes `commit` with one synced write, then applies it in memory.
  absl::Status Commit(const AuditorCommit& commit);
  // Forgets the unsubmitted cosigned note once the log accepted it.
  absl::Status MarkSubmitted();

  // The evidence of misbehaviour found (JSON text), if any, and setting or
  // clearing it (synced).
  absl::StatusOr<std::optional<std::string>> ReadFailure();
  absl::Status WriteFailure(const std::string& evidence_json);
  absl::Status ClearFailure();

 private:
  explicit AuditorStore(std::unique_ptr<RocksDb> db);
  // Records which log this state is for, or checks it; converts an
  // earlier format.
  absl::Status BindLog(const std::string& log_key);
  // Rewrites a format-2 state (index nodes stored) as format 3.
  absl::Status ConvertFromFormat2();
  // Reads every stored entry into versions_ and index_.
  absl::Status LoadIndex();

  std::unique_ptr<RocksDb> db_;
  // Like the index, millions of entries read at random: on huge pages.
  HugePageHashMap<Hash, uint64_t> versions_;
  IndexSnapshot index_;
};

}  // namespace ktlog

#endif  // KTLOG_AUDITOR_AUDITOR_STORE_H_
