#include "log/integrator.h"

#include "absl/strings/str_cat.h"
#include "core/merkle/merkle.h"
#include "core/util/status_macros.h"

namespace ktlog {
namespace {

// Account states kept between batches; beyond this many the cache starts
// over (the states are in storage).
constexpr size_t kMaxCachedAccounts = 1 << 16;

}  // namespace

absl::StatusOr<std::optional<AccountState>>
Integrator::StorageAccounts::LoadAccount(const std::string& account_id) {
  return storage_->ReadAccount(account_id, storage_->size());
}

absl::StatusOr<std::unique_ptr<Integrator>> Integrator::Open(
    LogWriter* storage, CheckpointPublisher* publisher) {
  uint64_t size = storage->size();
  ASSIGN_OR_RETURN(std::vector<Hash> hashes, storage->ReadCompactRange(size));
  ASSIGN_OR_RETURN(CompactRange range,
                   CompactRange::FromHashes(size, std::move(hashes)));
  ASSIGN_OR_RETURN(Hash index_root, storage->ReadIndexRoot(size));
  std::unique_ptr<Integrator> integrator(
      new Integrator(storage, publisher, std::move(range), index_root));
  // Entries synced after the last checkpoint (a crash), or a new log: sign
  // the tree as it is now.
  RETURN_IF_ERROR(integrator->PublishIfBehind());
  return integrator;
}

Integrator::Integrator(LogWriter* storage, CheckpointPublisher* publisher,
                       CompactRange range, Hash index_root)
    : storage_(storage),
      publisher_(publisher),
      range_(std::move(range)),
      index_root_(index_root),
      accounts_(storage),
      replay_(&accounts_) {}

absl::Status Integrator::PublishCurrent() {
  return publisher_->Publish(range_.size(), range_.Root(), index_root_);
}

absl::Status Integrator::PublishIfBehind() {
  std::shared_ptr<const PublishedCheckpoint> latest = publisher_->Latest();
  if (latest != nullptr && latest->checkpoint.size == range_.size()) {
    return absl::OkStatus();
  }
  return PublishCurrent();
}

absl::StatusOr<absl::Status> Integrator::Admit(
    const PendingWrite& w, uint64_t index,
    const absl::flat_hash_map<Hash, uint64_t>& batch_leaves) {
  std::optional<uint64_t> existing;
  if (auto it = batch_leaves.find(w.leaf_hash); it != batch_leaves.end()) {
    existing = it->second;
  } else {
    ASSIGN_OR_RETURN(existing, storage_->FindLeafIndex(w.leaf_hash));
  }
  if (existing.has_value()) {
    return absl::AlreadyExistsError(absl::StrCat(
        "the record is already in the log at leaf index ", *existing));
  }
  RETURN_IF_ERROR(replay_.Load(w.record.account_id));
  return replay_.Apply(w.record, index);
}

absl::Status Integrator::AddIndexUpdate(StorageBatch* sb, IndexUpdate* update) {
  sb->accounts = replay_.Changed();
  std::unique_ptr<IndexNodeReader> stored = storage_->IndexReaderAt(sb->begin);
  ASSIGN_OR_RETURN(*update,
                   index_cache_.Update(stored.get(), replay_.IndexChanges()));
  sb->index_nodes = update->nodes;
  sb->index_root = update->root;
  return absl::OkStatus();
}

absl::StatusOr<IntegratedBatch> Integrator::Integrate(
    const std::vector<const PendingWrite*>& batch) {
  IntegratedBatch out;
  StorageBatch sb;
  sb.begin = range_.size();
  CompactRange next = range_;
  absl::flat_hash_map<Hash, uint64_t> batch_leaves;
  replay_.ClearChanges();
  for (const PendingWrite* w : batch) {
    ASSIGN_OR_RETURN(absl::Status admitted,
                     Admit(*w, next.size(), batch_leaves));
    if (!admitted.ok()) {
      out.outcomes.push_back(admitted);
      continue;
    }
    uint64_t index = next.size();
    out.outcomes.push_back(index);
    batch_leaves[w->leaf_hash] = index;
    next.Append(w->leaf_hash, [&sb](const NodeId& node, const Hash& h) {
      sb.nodes.emplace_back(node, h);
    });
    sb.records.push_back(w->data);
    sb.leaf_hashes.push_back(w->leaf_hash);
    const DeviceRecord& r = w->record;
    sb.history.push_back(HistoryEntry{
        r.account_id, r.account_version, index,
        r.operation == Operation::kRotateAccountKey || r.account_version == 1});
  }
  if (sb.records.empty()) return out;
  IndexUpdate update;
  RETURN_IF_ERROR(AddIndexUpdate(&sb, &update));
  RETURN_IF_ERROR(storage_->CommitBatch(sb));
  index_cache_.Remember(update);
  replay_.ClearChanges();
  if (replay_.loaded() > kMaxCachedAccounts) replay_.Reset();
  range_ = std::move(next);
  index_root_ = sb.index_root;
  out.appended = true;
  out.published = PublishCurrent();
  return out;
}

}  // namespace ktlog
