// Integrator: the log's single writer. Given a batch of validated records
// (decoded, signature verified), it turns them into the log's next state:
// drops duplicates, applies the account rules in order (AccountReplay, the
// one replay shared with the auditor and fsck), extends the tree, updates
// the account index for the accounts that changed (O(k log n) for k), writes
// everything with one synced write, and then has the publisher sign a
// checkpoint over it. Tessera's `Integrate`, for ktlog's data.
//
// Durability: a record's leaf index is reported only after the batch holding
// it is synced; a checkpoint is signed only over synced batches.
//
// Not thread-safe: one thread (the WriteQueue's) calls it.
#ifndef KTLOG_LOG_INTEGRATOR_H_
#define KTLOG_LOG_INTEGRATOR_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/account/index_tree.h"
#include "core/account/record.h"
#include "core/account/replay.h"
#include "core/merkle/compact_range.h"
#include "log/publisher.h"
#include "log/storage/log_storage.h"
#include "log/write_queue.h"

namespace ktlog {

class Integrator final : public BatchSink {
 public:
  // Loads the tree from storage and publishes a checkpoint if the stored
  // tree is larger than the latest checkpoint (or none exists yet). Borrows
  // both. Storage errors pass through.
  static absl::StatusOr<std::unique_ptr<Integrator>> Open(
      LogWriter* storage, CheckpointPublisher* publisher);

  // Integrates `batch` (see the file comment). An error means storage
  // failed and nothing of the batch was committed; the integrator must not
  // be used again.
  absl::StatusOr<IntegratedBatch> Integrate(
      const std::vector<const PendingWrite*>& batch) override;

  // Signs a fresh checkpoint of the current tree (a heartbeat).
  absl::Status PublishCurrent() override;
  // Signs one if the latest checkpoint does not cover the whole tree.
  absl::Status PublishIfBehind() override;

  uint64_t size() const { return range_.size(); }

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

  Integrator(LogWriter* storage, CheckpointPublisher* publisher,
             CompactRange range, Hash index_root);

  // Steps of Integrate.
  // Why `w` cannot be appended (a duplicate, or the account rules), or OK
  // once it is applied to the replay; a non-OK return is a storage error.
  absl::StatusOr<absl::Status> Admit(
      const PendingWrite& w, uint64_t index,
      const absl::flat_hash_map<Hash, uint64_t>& batch_leaves);
  // Adds the changed accounts and the index update to `sb`.
  absl::Status AddIndexUpdate(StorageBatch* sb, IndexUpdate* update);

  LogWriter* const storage_;
  CheckpointPublisher* const publisher_;
  CompactRange range_;
  Hash index_root_;
  StorageAccounts accounts_;
  // Account states loaded or changed by earlier batches (a cache, reset
  // when large) and the index nodes near the root.
  AccountReplay replay_;
  IndexWriterCache index_cache_;
};

}  // namespace ktlog

#endif  // KTLOG_LOG_INTEGRATOR_H_
