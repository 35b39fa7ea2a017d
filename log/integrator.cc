#include "log/integrator.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "core/account/commitment.h"
#include "core/merkle/merkle.h"
#include "core/util/status_macros.h"

namespace ktlog {
namespace {

// Account states and positions kept between batches; beyond this many the
// caches start over (everything is in storage).
constexpr size_t kMaxCachedAccounts = 1 << 16;

// The timestamp of the last stored leaf (0 for an empty log).
absl::StatusOr<uint64_t> LastLeafTime(LogWriter* storage) {
  if (storage->size() == 0) return 0;
  ASSIGN_OR_RETURN(std::vector<std::string> last,
                   storage->ReadLeaves(storage->size() - 1, storage->size()));
  absl::StatusOr<Leaf> leaf = DecodeLeaf(last[0]);
  if (!leaf.ok())
    return absl::DataLossError("the last stored leaf is malformed");
  return leaf->timestamp_ms;
}

// Rebuilds the in-memory index from the stored entries and checks it
// against the stored root.
absl::Status LoadIndex(LogWriter* storage, IndexVersions* index,
                       const Clock* clock) {
  std::vector<std::pair<Hash, Hash>> entries;
  RETURN_IF_ERROR(storage->ReadIndexEntries([&](const IndexEntry& e) {
    entries.emplace_back(e.position, e.value_hash());
    return absl::OkStatus();
  }));
  uint64_t size = storage->size();
  RETURN_IF_ERROR(index->Load(std::move(entries), size, clock->NowMillis()));
  ASSIGN_OR_RETURN(Hash stored, storage->ReadIndexRoot(size));
  if (index->latest_root() != stored) {
    return absl::DataLossError(absl::StrCat(
        "the stored account index entries give the root ",
        index->latest_root().ToHex(), ", not the stored ", stored.ToHex(),
        " of tree size ", size, "; run ktlog-admin fsck"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::optional<AccountState>>
Integrator::StorageAccounts::LoadAccount(const std::string& account_id) {
  return storage_->ReadAccount(account_id, storage_->size());
}

absl::StatusOr<std::unique_ptr<Integrator>> Integrator::Open(
    LogWriter* storage, CheckpointPublisher* publisher, IndexVersions* index,
    const Clock* clock, absl::Duration lookup_window) {
  ASSIGN_OR_RETURN(std::unique_ptr<Integrator> integrator,
                   Load(storage, publisher, index, clock, lookup_window));
  // Leaves synced after the last checkpoint (a crash), or a new log: sign
  // the tree as it is now.
  RETURN_IF_ERROR(integrator->PublishIfBehind());
  return integrator;
}

absl::StatusOr<std::unique_ptr<Integrator>> Integrator::OpenReplica(
    LogWriter* storage, IndexVersions* index, const Clock* clock,
    absl::Duration lookup_window, uint64_t adopted_size) {
  ASSIGN_OR_RETURN(std::unique_ptr<Integrator> replica,
                   Load(storage, nullptr, index, clock, lookup_window));
  uint64_t size = storage->size();
  if (adopted_size >= size) return replica;
  ASSIGN_OR_RETURN(std::vector<std::string> leaves,
                   storage->ReadLeaves(adopted_size, size));
  for (uint64_t i = adopted_size; i < size; ++i) {
    absl::StatusOr<Leaf> leaf = DecodeLeaf(leaves[i - adopted_size]);
    if (!leaf.ok()) return absl::DataLossError("a stored leaf is malformed");
    if (IsErasure(*leaf)) {
      replica->awaiting_erasure_.erase(leaf->position);
    } else if (!storage->ReadEntry(i).ok()) {
      ASSIGN_OR_RETURN(std::optional<ErasedAccount> erased,
                       storage->ReadErased(leaf->position));
      if (!erased.has_value()) {
        replica->awaiting_erasure_[leaf->position].push_back(i);
      }
    }
  }
  return replica;
}

absl::StatusOr<std::unique_ptr<Integrator>> Integrator::Load(
    LogWriter* storage, CheckpointPublisher* publisher, IndexVersions* index,
    const Clock* clock, absl::Duration lookup_window) {
  uint64_t size = storage->size();
  ASSIGN_OR_RETURN(std::vector<Hash> hashes, storage->ReadCompactRange(size));
  ASSIGN_OR_RETURN(CompactRange range,
                   CompactRange::FromHashes(size, std::move(hashes)));
  RETURN_IF_ERROR(LoadIndex(storage, index, clock));
  ASSIGN_OR_RETURN(uint64_t last_leaf_ms, LastLeafTime(storage));
  return std::unique_ptr<Integrator>(
      new Integrator(storage, publisher, index, clock, lookup_window,
                     std::move(range), last_leaf_ms));
}

Integrator::Integrator(LogWriter* storage, CheckpointPublisher* publisher,
                       IndexVersions* index, const Clock* clock,
                       absl::Duration lookup_window, CompactRange range,
                       uint64_t last_leaf_ms)
    : storage_(storage),
      publisher_(publisher),
      index_(index),
      clock_(clock),
      lookup_window_(lookup_window),
      range_(std::move(range)),
      last_leaf_ms_(last_leaf_ms),
      accounts_(storage),
      replay_(&accounts_) {}

absl::Status Integrator::PublishCurrent() {
  return publisher_->Publish(range_.size(), range_.Root(),
                             index_->latest_root());
}

absl::Status Integrator::PublishIfBehind() {
  std::shared_ptr<const PublishedCheckpoint> latest = publisher_->Latest();
  if (latest != nullptr && latest->checkpoint.size == range_.size()) {
    return absl::OkStatus();
  }
  return PublishCurrent();
}

namespace {

absl::Status ErasedError() {
  return absl::FailedPreconditionError(
      "this account was erased from the log on request; its id cannot be "
      "registered again on this log (docs/operations.md, Erasure)");
}

}  // namespace

absl::StatusOr<absl::Status> Integrator::Admit(const PendingWrite& w,
                                               const Batch& b) {
  if (b.erased.count(w.record.account_id) != 0) return ErasedError();
  std::optional<uint64_t> existing;
  if (auto it = b.record_hashes.find(w.record_hash);
      it != b.record_hashes.end()) {
    existing = it->second;
  } else {
    ASSIGN_OR_RETURN(existing, storage_->FindRecord(w.record.account_id,
                                                    w.record.account_version,
                                                    w.record_hash));
  }
  if (existing.has_value()) {
    return absl::AlreadyExistsError(absl::StrCat(
        "the record is already in the log at leaf index ", *existing));
  }
  RETURN_IF_ERROR(replay_.Load(w.record.account_id));
  if (w.position.has_value() && !replay_.State(w.record.account_id).exists()) {
    ASSIGN_OR_RETURN(std::optional<ErasedAccount> erased,
                     storage_->ReadErased(w.position->position));
    if (erased.has_value()) return ErasedError();
  }
  absl::Status applied = replay_.Apply(w.record, b.range.size());
  // Whoever does not hold the account's key must not learn whether the
  // account exists (an existence oracle beside lookups, docs/privacy.md):
  // "no such account" and "not its key" are one answer.
  if ((absl::IsNotFound(applied) &&
       !replay_.State(w.record.account_id).exists()) ||
      absl::IsPermissionDenied(applied)) {
    return absl::PermissionDeniedError(
        "the record is not authorized: either the account does not exist "
        "(its first record must add a device with version 1) or the record "
        "is not signed by its current account key");
  }
  return applied;
}

absl::StatusOr<AccountPosition> Integrator::PositionOf(const PendingWrite& w,
                                                       Batch* b) {
  const std::string& account_id = w.record.account_id;
  if (auto it = positions_.find(account_id); it != positions_.end()) {
    return it->second;
  }
  ASSIGN_OR_RETURN(std::optional<AccountPosition> stored,
                   storage_->ReadPosition(account_id));
  if (!stored.has_value()) {
    // Only a write that creates the account gets here (it was admitted,
    // and every later one finds the position stored or cached), and such
    // a write comes with its computed position.
    if (!w.position.has_value()) {
      return absl::InternalError(absl::StrCat(
          "no position for a write to account \"", account_id, "\""));
    }
    stored = w.position;
    b->storage.positions.emplace_back(account_id, *stored);
  }
  positions_[account_id] = *stored;
  return *stored;
}

absl::StatusOr<AppendedLeaf> Integrator::AppendLeaf(const PendingWrite& w,
                                                    Batch* b) {
  const std::string& id = w.record.account_id;
  ASSIGN_OR_RETURN(AccountPosition position, PositionOf(w, b));
  const AccountState& state = replay_.State(id);
  std::string encoded_state = state.Encode();
  PrivateEntry entry{w.data, NewOpening(), NewOpening()};
  last_leaf_ms_ = std::max(last_leaf_ms_, clock_->NowMillis());
  Leaf leaf{position.position, state.version, last_leaf_ms_,
            Commit(entry.record_opening, CommitmentKind::kRecord, id,
                   state.version, w.data),
            Commit(entry.state_opening, CommitmentKind::kState, id,
                   state.version, encoded_state)};
  AppendedLeaf appended = AppendPublic(leaf, b);
  b->record_hashes[w.record_hash] = appended.leaf_index;
  StorageBatch& sb = b->storage;
  sb.entries.back() = std::move(entry);
  sb.history.push_back(HistoryEntry{id, state.version, appended.leaf_index});
  return appended;
}

AppendedLeaf Integrator::AppendPublic(const Leaf& leaf, Batch* b) {
  std::string leaf_bytes = leaf.Encode();
  AppendedLeaf appended{b->range.size(), HashLeaf(leaf_bytes)};
  b->index_changes[leaf.position] =
      IndexEntry{leaf.position, leaf.version, leaf.state_commitment};
  b->range.Append(appended.leaf_hash, [b](const NodeId& node, const Hash& h) {
    b->storage.nodes.emplace_back(node, h);
  });
  StorageBatch& sb = b->storage;
  sb.leaves.push_back(std::move(leaf_bytes));
  sb.leaf_hashes.push_back(appended.leaf_hash);
  sb.entries.emplace_back();  // none behind an erasure leaf
  return appended;
}

absl::StatusOr<absl::StatusOr<AppendedLeaf>> Integrator::AppendErasure(
    const PendingWrite& w, Batch* b) {
  const std::string& id = w.record.account_id;
  RETURN_IF_ERROR(replay_.Load(id));
  const AccountState& state = replay_.State(id);
  if (!state.exists() || b->erased.count(id) != 0) {
    // The id is not in the message: refusals are logged.
    return absl::StatusOr<AppendedLeaf>(absl::NotFoundError(
        "the account is not in this log (never written, or erased already)"));
  }
  ASSIGN_OR_RETURN(AccountPosition position, PositionOf(w, b));
  last_leaf_ms_ = std::max(last_leaf_ms_, clock_->NowMillis());
  AppendedLeaf appended =
      AppendPublic(Leaf{position.position, state.version + 1, last_leaf_ms_,
                        ErasedCommitment(), ErasedCommitment()},
                   b);
  b->erased.insert(id);
  b->storage.erasures.push_back(
      StorageBatch::Erasure{id, position.position, appended.leaf_index});
  return absl::StatusOr<AppendedLeaf>(appended);
}

absl::Status Integrator::Store(Batch* b, IntegratedBatch* out) {
  StorageBatch& sb = b->storage;
  for (AccountState& state : replay_.Changed()) {
    if (b->erased.count(state.account_id) == 0) {
      sb.accounts.push_back(std::move(state));
    }
  }
  std::vector<std::pair<Hash, Hash>> changes;
  for (const auto& [position, e] : b->index_changes) {
    changes.emplace_back(position, e.value_hash());
    sb.index_entries.push_back(e);
  }
  ASSIGN_OR_RETURN(IndexSnapshot next, index_->Prepare(std::move(changes)));
  sb.index_root = next.root();
  RETURN_IF_ERROR(storage_->CommitBatch(sb));
  uint64_t now = clock_->NowMillis();
  index_->Commit(std::move(next), sb.end(), now);
  index_->Forget(
      now - std::min<uint64_t>(now, absl::ToInt64Milliseconds(lookup_window_)));
  replay_.ClearChanges();
  if (replay_.loaded() > kMaxCachedAccounts || !b->erased.empty()) {
    replay_.Reset();
    positions_.clear();
  }
  range_ = std::move(b->range);
  out->appended = true;
  return absl::OkStatus();
}

absl::StatusOr<absl::Status> Integrator::ReplicateLeaf(
    const std::string& bytes, const FeedItem& item, const Positions& positions,
    Batch* b) {
  uint64_t index = b->range.size();
  auto diverges = [index](absl::string_view what) {
    return absl::DataLossError(absl::StrCat("leaf ", index, ": ", what));
  };
  absl::StatusOr<Leaf> leaf = DecodeLeaf(bytes);
  if (!leaf.ok()) return diverges(leaf.status().message());
  if (leaf->Encode() != bytes) return diverges("the leaf is not canonical");
  if (leaf->timestamp_ms < last_leaf_ms_) {
    return diverges("the leaf is dated before the one before it");
  }
  if (!item.entry.has_value()) return ReplicateErased(*leaf, item, b);
  if (awaiting_erasure_.count(leaf->position) != 0) {
    // A record after one the feed showed erased: the feed was read while
    // an erasure was being written into it (files). Read it again.
    return absl::UnavailableError(absl::StrCat(
        "leaf ", index,
        " has a record at a position whose earlier leaf came without one; "
        "reading the feed again"));
  }
  const PrivateEntry& entry = *item.entry;
  absl::StatusOr<DeviceRecord> r = DecodeRecord(entry.record);
  if (!r.ok()) {
    return diverges(
        absl::StrCat("the record is malformed: ", r.status().message()));
  }
  if (!r->VerifySignature().ok()) {
    return diverges("the record has a bad signature");
  }
  const std::string& id = r->account_id;
  RETURN_IF_ERROR(replay_.Load(id));
  absl::Status rule = replay_.Apply(*r, index);
  if (!rule.ok()) {
    return diverges(
        absl::StrCat("the record breaks the account rules: ", rule.message()));
  }
  const AccountState& state = replay_.State(id);
  if (leaf->version != state.version) {
    return diverges(absl::StrCat("the leaf has version ", leaf->version,
                                 " but its record makes version ",
                                 state.version));
  }
  if (!CheckOpening(leaf->record_commitment, entry.record_opening,
                    CommitmentKind::kRecord, id, state.version, entry.record)
           .ok() ||
      !CheckOpening(leaf->state_commitment, entry.state_opening,
                    CommitmentKind::kState, id, state.version, state.Encode())
           .ok()) {
    return diverges("a commitment does not open to the record or the state");
  }
  auto cached = positions_.find(id);
  if (cached == positions_.end()) {
    ASSIGN_OR_RETURN(std::optional<AccountPosition> stored,
                     storage_->ReadPosition(id));
    if (!stored.has_value()) {
      ASSIGN_OR_RETURN(stored, positions.Of(id));
      b->storage.positions.emplace_back(id, *stored);
    }
    cached = positions_.emplace(id, *std::move(stored)).first;
  }
  if (leaf->position != cached->second.position) {
    return diverges(
        "the leaf's position is not the VRF output of its "
        "record's account id");
  }
  last_leaf_ms_ = leaf->timestamp_ms;
  AppendedLeaf appended = AppendPublic(*leaf, b);
  b->storage.entries.back() = entry;
  b->storage.history.push_back(
      HistoryEntry{id, state.version, appended.leaf_index});
  return absl::OkStatus();
}

absl::StatusOr<Leaf> Integrator::LeafAt(uint64_t index, const Batch& b) {
  std::string bytes;
  if (index >= b.storage.begin) {
    bytes = b.storage.leaves[index - b.storage.begin];
  } else {
    ASSIGN_OR_RETURN(std::vector<std::string> stored,
                     storage_->ReadLeaves(index, index + 1));
    bytes = std::move(stored[0]);
  }
  absl::StatusOr<Leaf> leaf = DecodeLeaf(bytes);
  if (!leaf.ok()) return absl::DataLossError("a stored leaf is malformed");
  return leaf;
}

absl::StatusOr<std::string> Integrator::AccountAt(uint64_t index,
                                                  const Batch& b) {
  std::string record;
  if (index >= b.storage.begin) {
    record = b.storage.entries[index - b.storage.begin].record;
  } else if (absl::StatusOr<PrivateEntry> e = storage_->ReadEntry(index);
             e.ok()) {
    record = std::move(e->record);
  } else if (!absl::IsDataLoss(e.status())) {
    return e.status();  // missing (DATA_LOSS) means not held; not this
  }
  if (record.empty()) return std::string();
  absl::StatusOr<DeviceRecord> r = DecodeRecord(record);
  if (!r.ok()) return absl::DataLossError("a stored record is malformed");
  return r->account_id;
}

absl::StatusOr<absl::Status> Integrator::ReplicateErased(const Leaf& leaf,
                                                         const FeedItem& item,
                                                         Batch* b) {
  uint64_t index = b->range.size();
  auto diverges = [index](absl::string_view what) {
    return absl::DataLossError(absl::StrCat("leaf ", index, ": ", what));
  };
  // Its position's next version, as for any leaf (auditors check it too).
  uint64_t previous = 0;
  if (auto it = b->index_changes.find(leaf.position);
      it != b->index_changes.end()) {
    previous = it->second.version;
  } else {
    ASSIGN_OR_RETURN(std::optional<IndexEntry> stored,
                     storage_->ReadIndexEntry(leaf.position));
    if (stored.has_value()) previous = stored->version;
  }
  if (leaf.version != previous + 1) {
    return diverges(absl::StrCat("the leaf has version ", leaf.version,
                                 " where its position is at ", previous));
  }
  if (!IsErasure(leaf)) {
    // An account erased since: its erasure leaf follows.
    if (item.erased_leaves.has_value()) {
      return diverges("only an erasure leaf names erased leaves");
    }
    last_leaf_ms_ = leaf.timestamp_ms;
    AppendPublic(leaf, b);
    awaiting_erasure_[leaf.position].push_back(index);
    return absl::OkStatus();
  }
  if (!item.erased_leaves.has_value() ||
      item.erased_leaves->size() + 1 != leaf.version) {
    return diverges(
        "the erasure leaf does not come with its account's earlier leaves");
  }
  const std::vector<uint64_t>& earlier = *item.erased_leaves;
  for (size_t k = 0; k < earlier.size(); ++k) {
    if (earlier[k] >= index || (k > 0 && earlier[k] <= earlier[k - 1])) {
      return diverges("the erased account's earlier leaves are out of order");
    }
    ASSIGN_OR_RETURN(Leaf at, LeafAt(earlier[k], *b));
    if (at.position != leaf.position || at.version != k + 1) {
      return diverges(absl::StrCat(
          "leaf ", earlier[k], " is not the erased account's version ", k + 1));
    }
  }
  // The versions whose records this replica holds are the account's
  // first ones; the rest came without records and wait for this leaf.
  std::string id;
  uint64_t held = 0;
  if (!earlier.empty()) {
    ASSIGN_OR_RETURN(id, AccountAt(earlier[0], *b));
  }
  if (!id.empty()) {
    RETURN_IF_ERROR(replay_.Load(id));
    held = replay_.State(id).version;
    auto cached = positions_.find(id);
    std::optional<AccountPosition> position;
    if (cached != positions_.end()) {
      position = cached->second;
    } else {
      ASSIGN_OR_RETURN(position, storage_->ReadPosition(id));
      for (const auto& [new_id, p] : b->storage.positions) {
        if (new_id == id) position = p;
      }
    }
    if (!position.has_value() || position->position != leaf.position ||
        held > earlier.size()) {
      return diverges("the erased account is not the one at the position");
    }
    for (uint64_t k = 1; k < held; ++k) {
      ASSIGN_OR_RETURN(std::string at, AccountAt(earlier[k], *b));
      if (at != id) {
        return diverges("the erased account's records are not its leaves'");
      }
    }
    b->erased.insert(id);
  }
  std::vector<uint64_t> without(earlier.begin() + held, earlier.end());
  if (without != awaiting_erasure_[leaf.position]) {
    return diverges(
        "the erased account's leaves that came without records are not "
        "those the erasure leaf names");
  }
  last_leaf_ms_ = leaf.timestamp_ms;
  AppendPublic(leaf, b);
  b->storage.erasures.push_back(
      StorageBatch::Erasure{id, leaf.position, index, earlier});
  awaiting_erasure_.erase(leaf.position);
  return absl::OkStatus();
}

absl::Status Integrator::Replicate(const std::vector<std::string>& leaves,
                                   const std::vector<FeedItem>& items,
                                   const Positions& positions) {
  if (leaves.empty() || leaves.size() != items.size()) {
    return absl::InternalError("Replicate needs one item per leaf");
  }
  Batch b;
  b.storage.begin = range_.size();
  b.range = range_;
  replay_.ClearChanges();
  uint64_t last_leaf_ms = last_leaf_ms_;
  std::map<Hash, std::vector<uint64_t>> awaiting = awaiting_erasure_;
  absl::Status status;
  for (size_t i = 0; i < leaves.size() && status.ok(); ++i) {
    if (items[i].batch_end != (i + 1 == leaves.size())) {
      return absl::InternalError("Replicate takes exactly one batch");
    }
    absl::StatusOr<absl::Status> leaf =
        ReplicateLeaf(leaves[i], items[i], positions, &b);
    status = leaf.ok() ? *leaf : leaf.status();
  }
  if (status.ok()) {
    b.storage.end_signed = items.back().signed_size;
    IntegratedBatch out;
    status = Store(&b, &out);
  }
  if (!status.ok()) {
    // Nothing of the batch is committed: forget what it loaded.
    last_leaf_ms_ = last_leaf_ms;
    awaiting_erasure_ = std::move(awaiting);
    replay_.Reset();
    positions_.clear();
  }
  return status;
}

absl::StatusOr<IntegratedBatch> Integrator::Integrate(
    const std::vector<const PendingWrite*>& batch) {
  IntegratedBatch out;
  Batch b;
  b.storage.begin = range_.size();
  b.range = range_;
  replay_.ClearChanges();
  for (const PendingWrite* w : batch) {
    if (w->erasure) {
      ASSIGN_OR_RETURN(absl::StatusOr<AppendedLeaf> erased,
                       AppendErasure(*w, &b));
      out.outcomes.push_back(std::move(erased));
      continue;
    }
    ASSIGN_OR_RETURN(absl::Status admitted, Admit(*w, b));
    if (!admitted.ok()) {
      out.outcomes.push_back(admitted);
      continue;
    }
    ASSIGN_OR_RETURN(AppendedLeaf appended, AppendLeaf(*w, &b));
    out.outcomes.push_back(appended);
  }
  if (b.storage.leaves.empty()) return out;
  RETURN_IF_ERROR(Store(&b, &out));
  return out;
}

}  // namespace ktlog
