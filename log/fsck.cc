#include "log/fsck.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "core/account/commitment.h"
#include "core/account/index.h"
#include "core/account/index_tree.h"
#include "core/account/leaf.h"
#include "core/account/record.h"
#include "core/account/replay.h"
#include "core/crypto/crypto.h"
#include "core/merkle/compact_range.h"
#include "core/merkle/merkle.h"
#include "core/note/checkpoint.h"
#include "core/note/log_key.h"
#include "core/util/status_macros.h"

namespace ktlog {
namespace {

constexpr uint64_t kChunk = 1000;

// Replays from an empty log: every account starts absent, every position
// at version 0.
class NothingYet : public AccountSource, public VersionSource {
 public:
  absl::StatusOr<std::optional<AccountState>> LoadAccount(
      const std::string&) override {
    return std::optional<AccountState>();
  }
  absl::StatusOr<uint64_t> LoadVersion(const Hash&) override { return 0; }
};

absl::Status Diverges(uint64_t index, absl::string_view what) {
  return absl::DataLossError(absl::StrCat("leaf ", index, ": ", what));
}

class Checker {
 public:
  Checker(LogInspector* storage, FsckReport* report)
      : storage_(storage),
        report_(report),
        records_(&nothing_),
        leaves_(&nothing_, 0) {}

  absl::Status Run(const std::function<void(uint64_t, uint64_t)>& progress) {
    RETURN_IF_ERROR(LoadIdentityAndCheckpoint());
    uint64_t size = storage_->size();
    ASSIGN_OR_RETURN(versions_, storage_->ReadIndexVersions());
    if (!versions_.empty() && versions_.back() != size) {
      return absl::DataLossError(
          absl::StrCat("the last stored index version is ", versions_.back(),
                       " but the tree size is ", size));
    }
    RETURN_IF_ERROR(CheckCheckpointAt(0));
    for (uint64_t begin = 0; begin < size; begin += kChunk) {
      uint64_t end = std::min(size, begin + kChunk);
      ASSIGN_OR_RETURN(std::vector<std::string> leaves,
                       storage_->ReadLeaves(begin, end));
      for (uint64_t i = begin; i < end; ++i) {
        RETURN_IF_ERROR(CheckLeaf(i, leaves[i - begin]));
      }
      RETURN_IF_ERROR(CheckNodes());
      if (progress) progress(end, size);
    }
    report_->accounts = records_.loaded();
    RETURN_IF_ERROR(CheckErasedVersions());
    return CheckIndexEntries();
  }

 private:
  absl::Status LoadIdentityAndCheckpoint() {
    ASSIGN_OR_RETURN(std::optional<LogIdentity> identity,
                     storage_->ReadIdentity());
    if (!identity.has_value()) {
      return absl::FailedPreconditionError(
          "the data dir has no log identity (not a ktlog data dir?)");
    }
    absl::StatusOr<LogPublicKey> key = LogPublicKey::Parse(identity->log_key);
    if (!key.ok()) {
      return absl::DataLossError(absl::StrCat(
          "the stored log identity has a bad key: ", key.status().message()));
    }
    key_ = *key;
    ASSIGN_OR_RETURN(std::optional<std::string> note,
                     storage_->ReadLatestCheckpoint());
    if (!note.has_value()) return absl::OkStatus();
    absl::StatusOr<LogCheckpoint> cp =
        OpenLogCheckpoint(*note, key_.checkpoint_key);
    if (!cp.ok()) {
      return absl::DataLossError(absl::StrCat(
          "the stored checkpoint does not verify: ", cp.status().message()));
    }
    if (cp->size > storage_->size()) {
      return absl::DataLossError(
          absl::StrCat("the stored checkpoint covers ", cp->size,
                       " records but the tree holds ", storage_->size()));
    }
    checkpoint_ = *cp;
    return absl::OkStatus();
  }

  // The public leaf, the private entry behind it, and every lookup entry
  // that points at it; then the tree and, at a batch end, the index.
  absl::Status CheckLeaf(uint64_t index, const std::string& leaf_bytes) {
    absl::StatusOr<Leaf> leaf = DecodeLeaf(leaf_bytes);
    if (!leaf.ok()) return Diverges(index, leaf.status().message());
    ASSIGN_OR_RETURN(const ErasedAccount* erased, ErasedAt(leaf->position));
    if (erased != nullptr) {
      RETURN_IF_ERROR(CheckErasedLeaf(index, *leaf, *erased));
    } else {
      RETURN_IF_ERROR(CheckRecord(index, *leaf));
      ++report_->records;
    }
    RETURN_IF_ERROR(leaves_.Load(leaf->position));
    absl::Status order = leaves_.Apply(*leaf);
    if (!order.ok()) return Diverges(index, order.message());
    latest_[leaf->position] =
        IndexEntry{leaf->position, leaf->version, leaf->state_commitment};
    ASSIGN_OR_RETURN(std::optional<uint64_t> by_leaf,
                     storage_->FindLeafIndex(HashLeaf(leaf_bytes)));
    if (by_leaf != index) {
      return Diverges(index, "the leaf-hash entry is missing or wrong");
    }
    range_.Append(HashLeaf(leaf_bytes),
                  [this](const NodeId& id, const Hash& hash) {
                    pending_nodes_.emplace_back(id, hash);
                  });
    if (next_version_ < versions_.size() &&
        versions_[next_version_] == range_.size()) {
      RETURN_IF_ERROR(CheckNodes());
      RETURN_IF_ERROR(CheckVersion(versions_[next_version_++]));
    }
    return CheckCheckpointAt(range_.size());
  }

  // The erasure marker at `position`, or null (read at the position's
  // first leaf).
  absl::StatusOr<const ErasedAccount*> ErasedAt(const Hash& position) {
    if (auto it = erased_.find(position); it != erased_.end()) {
      return &it->second;
    }
    if (latest_.count(position) != 0) return nullptr;
    ASSIGN_OR_RETURN(std::optional<ErasedAccount> stored,
                     storage_->ReadErased(position));
    if (!stored.has_value()) return nullptr;
    ++report_->erased;
    return &erased_.emplace(position, *std::move(stored)).first->second;
  }

  // A leaf of an erased account: the marker names it at its version, and
  // nothing private is left behind it.
  absl::Status CheckErasedLeaf(uint64_t index, const Leaf& leaf,
                               const ErasedAccount& erased) {
    if (leaf.version == 0 || leaf.version > erased.version() ||
        erased.leaf_indexes[leaf.version - 1] != index) {
      return Diverges(index,
                      "the leaf is at an erased account's position but its "
                      "erasure marker does not name it at its version");
    }
    if (IsErasure(leaf) != (leaf.version == erased.version())) {
      return Diverges(index,
                      "an erased account's last leaf must be its erasure leaf, "
                      "and no other");
    }
    if (storage_->ReadEntry(index).ok()) {
      return Diverges(index, "the erased account's record is still stored");
    }
    return absl::OkStatus();
  }

  // An erasure marker names every version of its position.
  absl::Status CheckErasedVersions() {
    for (const auto& [position, erased] : erased_) {
      auto it = latest_.find(position);
      if (it == latest_.end() || it->second.version != erased.version()) {
        return absl::DataLossError(absl::StrCat(
            "the erasure marker of position ", position.ToHex(), " names ",
            erased.version(), " leaves, but the position has ",
            it == latest_.end() ? 0 : it->second.version, " versions"));
      }
    }
    return absl::OkStatus();
  }

  // The private entry behind a leaf: the record, its signature and the
  // account rules, both openings, the position, the history entry.
  absl::Status CheckRecord(uint64_t index, const Leaf& leaf) {
    ASSIGN_OR_RETURN(PrivateEntry entry, storage_->ReadEntry(index));
    absl::StatusOr<DeviceRecord> r = DecodeRecord(entry.record);
    if (!r.ok()) {
      return Diverges(index, absl::StrCat("the record is malformed: ",
                                          r.status().message()));
    }
    if (!r->VerifySignature().ok()) {
      return Diverges(index, "the record has a bad signature");
    }
    RETURN_IF_ERROR(records_.Load(r->account_id));
    absl::Status rule = records_.Apply(*r, index);
    if (!rule.ok()) {
      return Diverges(index, absl::StrCat("the record breaks the account "
                                          "rules: ",
                                          rule.message()));
    }
    RETURN_IF_ERROR(CheckCommitments(index, leaf, entry, *r));
    RETURN_IF_ERROR(CheckPosition(index, leaf, r->account_id));
    return CheckHistoryEntry(index, *r);
  }

  absl::Status CheckCommitments(uint64_t index, const Leaf& leaf,
                                const PrivateEntry& entry,
                                const DeviceRecord& r) {
    const AccountState& state = records_.State(r.account_id);
    if (leaf.version != state.version) {
      return Diverges(
          index, absl::StrCat("the leaf has version ", leaf.version,
                              " but its record makes version ", state.version));
    }
    if (!CheckOpening(leaf.record_commitment, entry.record_opening,
                      CommitmentKind::kRecord, r.account_id, state.version,
                      entry.record)
             .ok()) {
      return Diverges(index,
                      "the record commitment does not open to the "
                      "stored record");
    }
    if (!CheckOpening(leaf.state_commitment, entry.state_opening,
                      CommitmentKind::kState, r.account_id, state.version,
                      state.Encode())
             .ok()) {
      return Diverges(index,
                      "the state commitment does not open to the "
                      "account state recomputed from the records");
    }
    return absl::OkStatus();
  }

  // The leaf's position is the VRF output of its account id under the
  // log's VRF key, and the stored VRF proof proves it.
  absl::Status CheckPosition(uint64_t index, const Leaf& leaf,
                             const std::string& account_id) {
    auto it = positions_.find(account_id);
    if (it == positions_.end()) {
      ASSIGN_OR_RETURN(std::optional<AccountPosition> stored,
                       storage_->ReadPosition(account_id));
      if (!stored.has_value()) {
        return Diverges(index, "the account has no stored position");
      }
      absl::StatusOr<Hash> output =
          key_.vrf_key.Verify(AccountVrfInput(account_id), stored->proof);
      if (!output.ok() || *output != stored->position) {
        return Diverges(index,
                        "the stored VRF proof of the account's "
                        "position does not verify under the log's "
                        "VRF key");
      }
      it = positions_.emplace(account_id, stored->position).first;
    }
    if (leaf.position != it->second) {
      return Diverges(index,
                      "the leaf's position is not the VRF output of "
                      "its record's account id");
    }
    return absl::OkStatus();
  }

  absl::Status CheckHistoryEntry(uint64_t index, const DeviceRecord& r) {
    ASSIGN_OR_RETURN(
        std::vector<HistoryEntry> h,
        storage_->ReadHistory(r.account_id, r.account_version, UINT64_MAX, 1));
    if (h.empty() || h[0].version != r.account_version ||
        h[0].leaf_index != index) {
      return Diverges(index, "the history entry is missing or wrong");
    }
    return absl::OkStatus();
  }

  absl::Status CheckNodes() {
    if (pending_nodes_.empty()) return absl::OkStatus();
    std::vector<NodeId> ids;
    for (const auto& [id, hash] : pending_nodes_) ids.push_back(id);
    absl::StatusOr<std::vector<Hash>> stored = storage_->ReadNodes(ids);
    if (!stored.ok()) {
      return absl::DataLossError(
          absl::StrCat("tree nodes: ", stored.status().message()));
    }
    for (size_t i = 0; i < ids.size(); ++i) {
      if ((*stored)[i] != pending_nodes_[i].second) {
        return absl::DataLossError(absl::StrCat(
            "stored tree node at level ", int{ids[i].level}, " index ",
            ids[i].index, " differs from the one recomputed from the leaves"));
      }
    }
    pending_nodes_.clear();
    return absl::OkStatus();
  }

  absl::Status CheckVersion(uint64_t version) {
    for (const AccountState& state : records_.Changed()) {
      ASSIGN_OR_RETURN(std::optional<AccountState> stored,
                       storage_->ReadAccount(state.account_id, version));
      if (!stored.has_value() || !(*stored == state)) {
        return absl::DataLossError(absl::StrCat(
            "tree size ", version, ": the stored state of account \"",
            state.account_id,
            "\" differs from the one recomputed from the records"));
      }
    }
    records_.ClearChanges();
    ASSIGN_OR_RETURN(index_, index_.Apply(leaves_.IndexChanges()));
    leaves_.ClearChanges();
    ASSIGN_OR_RETURN(Hash root, storage_->ReadIndexRoot(version));
    if (root != index_.root()) {
      return absl::DataLossError(absl::StrCat(
          "tree size ", version, ": the stored index root ", root.ToHex(),
          " differs from the recomputed ", index_.root().ToHex()));
    }
    ++report_->index_versions;
    return absl::OkStatus();
  }

  // The stored latest index entries (from which the server rebuilds the
  // index) are exactly those of the leaves.
  absl::Status CheckIndexEntries() {
    size_t seen = 0;
    RETURN_IF_ERROR(storage_->ReadIndexEntries([&](const IndexEntry& e) {
      auto it = latest_.find(e.position);
      if (it == latest_.end() || it->second.version != e.version ||
          it->second.state_commitment != e.state_commitment) {
        return absl::DataLossError(absl::StrCat(
            "the stored index entry of position ", e.position.ToHex(),
            " differs from the one recomputed from the leaves"));
      }
      ++seen;
      return absl::OkStatus();
    }));
    if (seen != latest_.size()) {
      return absl::DataLossError(
          absl::StrCat(latest_.size() - seen, " index entries are missing"));
    }
    report_->index_entries = seen;
    return absl::OkStatus();
  }

  absl::Status CheckCheckpointAt(uint64_t size) {
    if (!checkpoint_.has_value() || checkpoint_->size != size) {
      return absl::OkStatus();
    }
    if (range_.Root() != checkpoint_->root ||
        index_.root() != checkpoint_->index_root) {
      return absl::DataLossError(
          absl::StrCat("the stored checkpoint of size ", size,
                       " does not match the roots recomputed from the leaves"));
    }
    return absl::OkStatus();
  }

  LogInspector* const storage_;
  FsckReport* const report_;
  LogPublicKey key_;
  std::vector<uint64_t> versions_;
  size_t next_version_ = 0;
  std::optional<LogCheckpoint> checkpoint_;
  CompactRange range_;
  std::vector<std::pair<NodeId, Hash>> pending_nodes_;
  NothingYet nothing_;
  AccountReplay records_;
  LeafReplay leaves_;
  std::map<std::string, Hash> positions_;  // verified, by account id
  std::map<Hash, IndexEntry> latest_;      // by position
  std::map<Hash, ErasedAccount> erased_;   // by position
  IndexSnapshot index_;
};

}  // namespace

FsckReport Fsck(LogInspector* storage,
                const std::function<void(uint64_t, uint64_t)>& progress) {
  FsckReport report;
  Checker checker(storage, &report);
  report.status = checker.Run(progress);
  return report;
}

}  // namespace ktlog
