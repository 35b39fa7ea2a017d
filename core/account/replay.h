// The two replays of the private directory (docs/index.md):
//
//  - AccountReplay, of the private records: applies them in log order to
//    account states with the account rules (core/account/account.h) and
//    yields each changed account's final state. The log's integrator (new
//    writes) and fsck (recomputing a data dir) replay records through it.
//  - LeafReplay, of the public leaves: checks that each position's versions
//    are 1, 2, 3, ... and that timestamps never go back, and yields the
//    account index changes (IndexEntryOf, core/account/leaf.h). Fsck and
//    the auditor (which sees nothing else) derive the index through it; the
//    integrator, whose records already fix each version, writes each
//    leaf's IndexEntryOf directly. So all three compute the same index
//    root.
//
// Thread-compatible.
#ifndef KTLOG_CORE_ACCOUNT_REPLAY_H_
#define KTLOG_CORE_ACCOUNT_REPLAY_H_

#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/account/account.h"
#include "core/account/leaf.h"
#include "core/account/record.h"
#include "core/crypto/hash.h"

namespace ktlog {

// Where a replay reads the state of an account before the records it
// replays (storage, a cache). Implemented by the caller.
class AccountSource {
 public:
  virtual ~AccountSource() = default;
  // The account's state, or nullopt if it does not exist. Errors describe
  // the source (UNAVAILABLE, DATA_LOSS, ...), never the account rules.
  virtual absl::StatusOr<std::optional<AccountState>> LoadAccount(
      const std::string& account_id) = 0;
};

class AccountReplay {
 public:
  // Borrows `source`.
  explicit AccountReplay(AccountSource* source) : source_(source) {}

  // Makes `account_id` ready to Apply a record to: reads it from the source
  // the first time. The source's errors pass through.
  absl::Status Load(const std::string& account_id);

  // Applies `record` (decoded, signature verified), stored at `leaf_index`.
  // Requires Load(record.account_id) to have succeeded. Errors are the
  // account rules' (ApplyRecord); on error nothing changes.
  absl::Status Apply(const DeviceRecord& record, uint64_t leaf_index);

  // The current state of a loaded account.
  const AccountState& State(const std::string& account_id) const;

  // The accounts changed since construction or the last ClearChanges(),
  // each in its latest state.
  std::vector<AccountState> Changed() const;

  // Forgets what changed (once it is committed); loaded states are kept.
  void ClearChanges() { changed_.clear(); }
  // Forgets everything, so the next Load reads the source again.
  void Reset();
  size_t loaded() const { return accounts_.size(); }

 private:
  AccountSource* const source_;
  std::map<std::string, AccountState> accounts_;  // loaded, by id
  std::set<std::string> changed_;
};

// Where a leaf replay reads the latest version at a position before the
// leaves it replays. Implemented by the caller.
class VersionSource {
 public:
  virtual ~VersionSource() = default;
  // The position's latest version, 0 if it has none, with
  // kErasedVersionBit set if its latest leaf is an erasure (IsErasure).
  // Errors describe the source, never the leaves.
  virtual absl::StatusOr<uint64_t> LoadVersion(const Hash& position) = 0;
};

// Marks a VersionSource's version as that of an erasure leaf.
inline constexpr uint64_t kErasedVersionBit = uint64_t{1} << 63;

class LeafReplay {
 public:
  // Borrows `source`. `last_timestamp_ms` is the timestamp of the leaf
  // before the first one replayed (0 for a new log).
  LeafReplay(VersionSource* source, uint64_t last_timestamp_ms)
      : source_(source), last_timestamp_ms_(last_timestamp_ms) {}

  // Makes `position` ready: reads its version from the source the first
  // time. The source's errors pass through.
  absl::Status Load(const Hash& position);

  // Applies the next leaf. Requires Load(leaf.position) to have succeeded.
  // FAILED_PRECONDITION (naming what) if its version is not the position's
  // previous version + 1, the position's previous leaf is an erasure (no
  // leaf may follow one), or its timestamp is before the previous leaf's;
  // nothing changes then.
  absl::Status Apply(const Leaf& leaf);

  // The account index changes since construction or the last
  // ClearChanges(): position -> IndexValueHash of its latest leaf.
  std::vector<std::pair<Hash, Hash>> IndexChanges() const;
  // The latest index entry of each position changed (to store), by
  // position.
  std::vector<IndexEntry> ChangedEntries() const;

  void ClearChanges() { changed_.clear(); }
  // Forgets the versions read (they are read again from the source).
  void Reset() {
    versions_.clear();
    changed_.clear();
  }
  size_t loaded() const { return versions_.size(); }
  uint64_t last_timestamp_ms() const { return last_timestamp_ms_; }

 private:
  VersionSource* const source_;
  uint64_t last_timestamp_ms_;
  // Loaded, by position; with kErasedVersionBit after an erasure leaf.
  std::map<Hash, uint64_t> versions_;
  std::map<Hash, Hash> changed_;  // position -> latest state commitment
};

}  // namespace ktlog

#endif  // KTLOG_CORE_ACCOUNT_REPLAY_H_
