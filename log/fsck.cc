#include "log/fsck.h"

#include "absl/strings/str_cat.h"
#include "core/account/index.h"
#include "core/account/index_tree.h"
#include "core/account/record.h"
#include "core/account/replay.h"
#include "core/merkle/compact_range.h"
#include "core/merkle/merkle.h"
#include "core/note/checkpoint.h"
#include "core/util/status_macros.h"

namespace ktlog {
namespace {

constexpr uint64_t kChunk = 1000;

// Replays from an empty log: every account starts absent.
class NoAccounts : public AccountSource {
 public:
  absl::StatusOr<std::optional<AccountState>> LoadAccount(
      const std::string&) override {
    return std::optional<AccountState>();
  }
};

class Checker {
 public:
  Checker(LogInspector* storage, FsckReport* report)
      : storage_(storage), report_(report), replay_(&no_accounts_) {}

  absl::Status Run(const std::function<void(uint64_t, uint64_t)>& progress) {
    ASSIGN_OR_RETURN(std::optional<LogIdentity> identity,
                     storage_->ReadIdentity());
    if (!identity.has_value()) {
      return absl::FailedPreconditionError(
          "the data dir has no log identity (not a ktlog data dir?)");
    }
    absl::StatusOr<NoteVerifierKey> key =
        NoteVerifierKey::Parse(identity->verifier_key);
    if (!key.ok()) {
      return absl::DataLossError("the stored log identity has a bad key");
    }
    key_ = *key;
    uint64_t size = storage_->size();
    ASSIGN_OR_RETURN(versions_, storage_->ReadIndexVersions());
    if (!versions_.empty() && versions_.back() != size) {
      return absl::DataLossError(
          absl::StrCat("the last stored index version is ", versions_.back(),
                       " but the tree size is ", size));
    }
    ASSIGN_OR_RETURN(std::optional<std::string> note,
                     storage_->ReadLatestCheckpoint());
    if (note.has_value()) {
      absl::StatusOr<LogCheckpoint> cp = OpenLogCheckpoint(*note, key_);
      if (!cp.ok()) {
        return absl::DataLossError(absl::StrCat(
            "the stored checkpoint does not verify: ", cp.status().message()));
      }
      if (cp->size > size) {
        return absl::DataLossError(
            absl::StrCat("the stored checkpoint covers ", cp->size,
                         " records but the tree holds ", size));
      }
      checkpoint_ = *cp;
    }
    CheckCheckpointAt(0);
    RETURN_IF_ERROR(checkpoint_status_);
    for (uint64_t begin = 0; begin < size; begin += kChunk) {
      uint64_t end = std::min(size, begin + kChunk);
      ASSIGN_OR_RETURN(std::vector<std::string> records,
                       storage_->ReadRecords(begin, end));
      for (uint64_t i = begin; i < end; ++i) {
        RETURN_IF_ERROR(CheckRecord(i, records[i - begin]));
      }
      RETURN_IF_ERROR(CheckNodes());
      if (progress) progress(end, size);
    }
    report_->accounts = replay_.loaded();
    return absl::OkStatus();
  }

 private:
  absl::Status CheckRecord(uint64_t index, const std::string& bytes) {
    absl::StatusOr<DeviceRecord> r = DecodeRecord(bytes);
    if (!r.ok()) {
      return absl::DataLossError(absl::StrCat(
          "record ", index, " is malformed: ", r.status().message()));
    }
    if (!r->VerifySignature().ok()) {
      return absl::DataLossError(
          absl::StrCat("record ", index, " has a bad signature"));
    }
    RETURN_IF_ERROR(replay_.Load(r->account_id));
    absl::Status rule = replay_.Apply(*r, index);
    if (!rule.ok()) {
      return absl::DataLossError(absl::StrCat(
          "record ", index, " breaks the account rules: ", rule.message()));
    }
    Hash leaf = HashLeaf(bytes);
    ASSIGN_OR_RETURN(std::optional<uint64_t> found,
                     storage_->FindLeafIndex(leaf));
    if (found != index) {
      return absl::DataLossError(absl::StrCat("the leaf-hash entry of record ",
                                              index, " is missing or wrong"));
    }
    ASSIGN_OR_RETURN(std::vector<HistoryEntry> h,
                     storage_->ReadHistory(r->account_id, r->account_version,
                                           UINT64_MAX, 1));
    if (h.empty() || h[0].version != r->account_version ||
        h[0].leaf_index != index) {
      return absl::DataLossError(absl::StrCat("the history entry of record ",
                                              index, " is missing or wrong"));
    }
    range_.Append(leaf, [this](const NodeId& id, const Hash& hash) {
      pending_nodes_.emplace_back(id, hash);
    });
    ++report_->records;
    if (next_version_ < versions_.size() &&
        versions_[next_version_] == range_.size()) {
      RETURN_IF_ERROR(CheckNodes());
      RETURN_IF_ERROR(CheckVersion(versions_[next_version_++]));
    }
    if (checkpoint_.has_value() && checkpoint_->size == range_.size()) {
      CheckCheckpointAt(range_.size());
      RETURN_IF_ERROR(checkpoint_status_);
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
            ids[i].index, " differs from the one recomputed from the records"));
      }
    }
    pending_nodes_.clear();
    return absl::OkStatus();
  }

  absl::Status CheckVersion(uint64_t version) {
    for (const AccountState& state : replay_.Changed()) {
      ASSIGN_OR_RETURN(std::optional<AccountState> stored,
                       storage_->ReadAccount(state.account_id, version));
      if (!stored.has_value() || !(*stored == state)) {
        return absl::DataLossError(absl::StrCat(
            "tree size ", version, ": the stored state of account \"",
            state.account_id,
            "\" differs from the one recomputed from the records"));
      }
    }
    ASSIGN_OR_RETURN(IndexUpdate update, index_.Apply(replay_.IndexChanges()));
    replay_.ClearChanges();
    for (const auto& [path, node] : update.nodes) {
      ASSIGN_OR_RETURN(std::optional<IndexNode> stored,
                       storage_->ReadIndexNodeExact(path, version));
      if (!stored.has_value() || !(*stored == node)) {
        return absl::DataLossError(absl::StrCat(
            "tree size ", version, ": the stored index node at depth ",
            path.depth, " prefix ", path.prefix.ToHex(),
            " differs from the one recomputed from the records"));
      }
      ++report_->index_nodes;
    }
    ASSIGN_OR_RETURN(Hash root, storage_->ReadIndexRoot(version));
    if (root != update.root) {
      return absl::DataLossError(absl::StrCat(
          "tree size ", version, ": the stored index root ", root.ToHex(),
          " differs from the recomputed ", update.root.ToHex()));
    }
    ++report_->index_versions;
    return absl::OkStatus();
  }

  void CheckCheckpointAt(uint64_t size) {
    if (!checkpoint_.has_value() || checkpoint_->size != size) return;
    if (range_.Root() != checkpoint_->root ||
        index_.root() != checkpoint_->index_root) {
      checkpoint_status_ = absl::DataLossError(absl::StrCat(
          "the stored checkpoint of size ", size,
          " does not match the roots recomputed from the records"));
    }
  }

  LogInspector* const storage_;
  NoteVerifierKey key_;
  FsckReport* const report_;
  std::vector<uint64_t> versions_;
  size_t next_version_ = 0;
  std::optional<LogCheckpoint> checkpoint_;
  absl::Status checkpoint_status_;
  CompactRange range_;
  std::vector<std::pair<NodeId, Hash>> pending_nodes_;
  NoAccounts no_accounts_;
  AccountReplay replay_;
  InMemoryIndex index_;
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
