// AuditorStore: the auditor's durable state in its own RocksDB database, so
// that it resumes after a kill without redoing verified work: the log it
// audits, how far it has replayed (tree size, compact range and the last
// leaf's timestamp), every position's latest version and the account index
// (latest version only), the last checkpoint it verified and cosigned, the
// checkpoint it is catching up to, and, once it found misbehaviour, the
// evidence. It holds only public data. Progress is committed with one
// synced write, so a kill leaves the state of the last commit.
//
// Thread-compatible; one auditor per state directory (RocksDB locks it).
#ifndef KTLOG_AUDITOR_AUDITOR_STORE_H_
#define KTLOG_AUDITOR_AUDITOR_STORE_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/account/index_tree.h"
#include "core/merkle/compact_range.h"
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
  std::vector<std::pair<Hash, uint64_t>> versions;  // changed positions
  std::vector<std::pair<IndexPath, IndexNode>> index_nodes;  // changed nodes
};

class AuditorStore {
 public:
  // Opens (creating) the database in `dir`. FAILED_PRECONDITION if it is in
  // use or cannot be opened.
  static absl::StatusOr<std::unique_ptr<AuditorStore>> Open(
      const std::string& dir);
  ~AuditorStore();

  // Records which log this state is for, or checks it: FAILED_PRECONDITION
  // for a state made for another log.
  absl::Status BindLog(const std::string& log_key);

  absl::StatusOr<AuditorProgress> ReadProgress();
  // The latest version at `position` (0 if none).
  absl::StatusOr<uint64_t> ReadVersion(const Hash& position);
  // A reader of the stored (committed) index.
  IndexNodeReader* index() { return index_.get(); }

  // Writes `commit` with one synced write.
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

  std::unique_ptr<RocksDb> db_;
  std::unique_ptr<IndexNodeReader> index_;
};

}  // namespace ktlog

#endif  // KTLOG_AUDITOR_AUDITOR_STORE_H_
