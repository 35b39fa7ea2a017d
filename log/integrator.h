// Integrator: the log's single writer. Given a batch of validated records
// (decoded, signature verified), it turns them into the log's next state:
// drops duplicates, applies the account rules in order (AccountReplay),
// and for each record appends a public leaf (core/account/leaf.h): the
// account's position (the VRF output of its id, computed before the write
// was queued, log/positions.h),
// its new version, the time, and commitments to the record and to the new
// account state, under fresh openings. It updates the account index from
// those leaves (IndexEntryOf, the definition every auditor recomputes; the
// index is held in memory, log/index_versions.h), writes everything
// (leaves, the changed index entries and root, and privately the records,
// openings and states) with one synced write, then makes the new index
// version visible and forgets index versions older than the lookup window.
// The WriteQueue has the publisher sign checkpoints over it, paced
// (PublishIfBehind). Tessera's `Integrate`, for ktlog's data.
//
// Durability: a record's leaf index is reported only after the batch holding
// it is synced; a checkpoint is signed only over synced batches.
//
// An erasure on request (PendingWrite::erasure) appends the account's
// erasure leaf (core/account/leaf.h) and has the batch delete everything
// private about the account (StorageBatch::erasures); no record of it is
// admitted afterwards, and one that would create it again is refused.
//
// Not thread-safe: one thread (the WriteQueue's) calls it.
#ifndef KTLOG_LOG_INTEGRATOR_H_
#define KTLOG_LOG_INTEGRATOR_H_

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/account/index_tree.h"
#include "core/account/leaf.h"
#include "core/account/record.h"
#include "core/account/replay.h"
#include "core/crypto/vrf.h"
#include "core/merkle/compact_range.h"
#include "core/util/clock.h"
#include "log/index_versions.h"
#include "log/positions.h"
#include "log/private_feed.h"
#include "log/publisher.h"
#include "log/storage/log_storage.h"
#include "log/write_queue.h"

namespace ktlog {

class Integrator final : public BatchSink {
 public:
  // Loads the tree from storage and the account index into `index` (its
  // root must be the stored one: DATA_LOSS otherwise), and publishes a
  // checkpoint if the stored tree is larger than the latest checkpoint (or
  // none exists yet). Index versions are kept for `lookup_window`. Borrows
  // everything. Storage errors pass through.
  static absl::StatusOr<std::unique_ptr<Integrator>> Open(
      LogWriter* storage, CheckpointPublisher* publisher, IndexVersions* index,
      const Clock* clock, absl::Duration lookup_window);

  // A read replica's (log/follower.h): the same, without a publisher
  // (Integrate and the Publish calls are not for it; Replicate is).
  // `adopted_size` is that of the latest checkpoint it adopted: leaves
  // after it are looked through for those awaiting an erasure.
  static absl::StatusOr<std::unique_ptr<Integrator>> OpenReplica(
      LogWriter* storage, IndexVersions* index, const Clock* clock,
      absl::Duration lookup_window, uint64_t adopted_size);

  // Integrates `batch` (see the file comment). An error means storage
  // failed and nothing of the batch was committed; the integrator must not
  // be used again.
  absl::StatusOr<IntegratedBatch> Integrate(
      const std::vector<const PendingWrite*>& batch) override;

  // A read replica's counterpart of Integrate (log/follower.h): appends the
  // leaves of one batch the followed log appended, [size(), size() + n),
  // with what its private feed gives behind each (log/private_feed.h;
  // items[i].batch_end only for the last), checking each as fsck does:
  // the leaf is canonical and dated no earlier than the one before, the
  // record decodes, its signature verifies, the account rules admit it,
  // both commitments open, and the position is the VRF output of its
  // account id (`positions` computes it for a new account). A leaf without
  // a record is an account's erasure leaf, whose earlier versions must be
  // the leaves the item names (the account's private data is deleted as
  // in the log), or a leaf of an account erased since: it waits for its
  // erasure leaf (awaiting_erasures()). Commits the batch (its index
  // version; `end_signed` from the last item). DATA_LOSS naming the leaf
  // if the log's data does not hold up. Nothing of the batch is committed
  // on error.
  absl::Status Replicate(const std::vector<std::string>& leaves,
                         const std::vector<FeedItem>& items,
                         const Positions& positions);

  // Whether a replicated leaf without a record waits for its account's
  // erasure leaf: no checkpoint may be adopted until none does (the
  // account's lookups must say it was erased, as the log's do).
  bool awaiting_erasures() const { return !awaiting_erasure_.empty(); }

  // Signs a fresh checkpoint of the current tree (a heartbeat).
  absl::Status PublishCurrent() override;
  // Signs one if the latest checkpoint does not cover the whole tree.
  absl::Status PublishIfBehind() override;

  uint64_t size() const { return range_.size(); }
  // The tree it has committed, as a compact range.
  const CompactRange& range() const { return range_; }

 private:
  // Reads account states from storage at the committed size.
  class StorageAccounts : public AccountSource {
   public:
    explicit StorageAccounts(LogWriter* storage) : storage_(storage) {}
    absl::StatusOr<std::optional<AccountState>> LoadAccount(
        const std::string& account_id) override;

   private:
    LogWriter* const storage_;
  };

  // What one batch accumulates.
  struct Batch {
    StorageBatch storage;
    CompactRange range;
    absl::flat_hash_map<Hash, uint64_t> record_hashes;  // in this batch
    std::map<Hash, IndexEntry> index_changes;  // by position, last wins
    std::set<std::string> erased;              // accounts erased in it
  };

  static absl::StatusOr<std::unique_ptr<Integrator>> Load(
      LogWriter* storage, CheckpointPublisher* publisher, IndexVersions* index,
      const Clock* clock, absl::Duration lookup_window);
  Integrator(LogWriter* storage, CheckpointPublisher* publisher,
             IndexVersions* index, const Clock* clock,
             absl::Duration lookup_window, CompactRange range,
             uint64_t last_leaf_ms);

  // Steps of Integrate.
  // Why `w` cannot be appended (a duplicate, or the account rules), or OK
  // once it is applied to the replay; a non-OK return is a storage error.
  absl::StatusOr<absl::Status> Admit(const PendingWrite& w, const Batch& b);
  // The position of `w`'s account: cached, stored, or the one computed
  // before `w` was queued (then added to the batch, to be stored).
  absl::StatusOr<AccountPosition> PositionOf(const PendingWrite& w, Batch* b);
  // Appends the leaf of an admitted write; returns it.
  absl::StatusOr<AppendedLeaf> AppendLeaf(const PendingWrite& w, Batch* b);
  // Appends the erasure leaf of `w`'s account, or says why not (NOT_FOUND:
  // not in the log); a non-OK return is a storage error.
  absl::StatusOr<absl::StatusOr<AppendedLeaf>> AppendErasure(
      const PendingWrite& w, Batch* b);
  // Checks and appends one replicated leaf (Replicate); the inner status
  // is the log's divergence, the outer one a storage error.
  absl::StatusOr<absl::Status> ReplicateLeaf(const std::string& bytes,
                                             const FeedItem& item,
                                             const Positions& positions,
                                             Batch* b);
  // ReplicateLeaf for a leaf without a record.
  absl::StatusOr<absl::Status> ReplicateErased(const Leaf& leaf,
                                               const FeedItem& item, Batch* b);
  // The public leaf at `index`, stored or in `b`.
  absl::StatusOr<Leaf> LeafAt(uint64_t index, const Batch& b);
  // The account whose record is behind leaf `index` (stored or in `b`), or
  // "" if none is held.
  absl::StatusOr<std::string> AccountAt(uint64_t index, const Batch& b);
  // Appends `leaf` to the batch (tree, index); returns where.
  AppendedLeaf AppendPublic(const Leaf& leaf, Batch* b);
  // Writes the batch to storage and makes its index version visible.
  absl::Status Store(Batch* b, IntegratedBatch* out);

  LogWriter* const storage_;
  CheckpointPublisher* const publisher_;
  IndexVersions* const index_;
  const Clock* const clock_;
  const absl::Duration lookup_window_;
  CompactRange range_;
  uint64_t last_leaf_ms_;  // leaf timestamps never decrease
  StorageAccounts accounts_;
  // Caches of what earlier batches loaded or computed (reset when large,
  // and after an erasure): account states and positions.
  AccountReplay replay_;
  std::map<std::string, AccountPosition> positions_;
  // A replica's leaves without records whose erasure leaf has not come yet,
  // by position.
  std::map<Hash, std::vector<uint64_t>> awaiting_erasure_;
};

}  // namespace ktlog

#endif  // KTLOG_LOG_INTEGRATOR_H_
