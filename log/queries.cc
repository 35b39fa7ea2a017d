#include "log/queries.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "core/account/index.h"
#include "core/account/record.h"
#include "core/merkle/proof.h"
#include "core/util/status_macros.h"

namespace ktlog {

absl::StatusOr<std::shared_ptr<const PublishedCheckpoint>> LogQueries::Latest()
    const {
  std::shared_ptr<const PublishedCheckpoint> cp = publisher_->Latest();
  if (cp == nullptr) {
    return absl::UnavailableError("the log has not published a checkpoint yet");
  }
  return cp;
}

absl::StatusOr<uint64_t> LogQueries::PublishedSize() const {
  ASSIGN_OR_RETURN(std::shared_ptr<const PublishedCheckpoint> cp, Latest());
  return cp->checkpoint.size;
}

absl::Status LogQueries::CheckTreeSize(uint64_t tree_size) const {
  ASSIGN_OR_RETURN(uint64_t published, PublishedSize());
  if (tree_size > published) {
    return absl::OutOfRangeError(absl::StrCat(
        "tree size ", tree_size, " is beyond the latest checkpoint (size ",
        published, ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Hash>> LogQueries::ConsistencyProof(uint64_t size1,
                                                               uint64_t size2) {
  RETURN_IF_ERROR(CheckTreeSize(size2));
  ASSIGN_OR_RETURN(ProofPlan plan, ConsistencyProofPlan(size1, size2));
  return storage_->ReadProof(plan);
}

absl::StatusOr<InclusionAnswer> LogQueries::InclusionProof(uint64_t index,
                                                           uint64_t tree_size) {
  RETURN_IF_ERROR(CheckTreeSize(tree_size));
  if (index >= tree_size) {
    return absl::OutOfRangeError(absl::StrCat(
        "leaf index ", index, " is not below tree size ", tree_size));
  }
  ASSIGN_OR_RETURN(ProofPlan plan, InclusionProofPlan(index, tree_size));
  InclusionAnswer out{index, tree_size, {}};
  ASSIGN_OR_RETURN(out.hashes, storage_->ReadProof(plan));
  return out;
}

absl::StatusOr<InclusionAnswer> LogQueries::InclusionProofByHash(
    const Hash& leaf_hash, uint64_t tree_size) {
  ASSIGN_OR_RETURN(std::optional<uint64_t> index,
                   storage_->FindLeafIndex(leaf_hash));
  if (!index.has_value() || *index >= tree_size) {
    RETURN_IF_ERROR(CheckTreeSize(tree_size));
    return absl::NotFoundError(
        absl::StrCat("no leaf with hash ", leaf_hash.ToHex(),
                     " in the tree of size ", tree_size));
  }
  return InclusionProof(*index, tree_size);
}

absl::StatusOr<std::vector<std::string>> LogQueries::Entries(uint64_t begin,
                                                             uint64_t end) {
  ASSIGN_OR_RETURN(uint64_t published, PublishedSize());
  if (begin >= end) {
    return absl::InvalidArgumentError(
        absl::StrCat("empty range [", begin, ", ", end,
                     "): end must be greater than begin"));
  }
  if (begin >= published) {
    return absl::OutOfRangeError(
        absl::StrCat("begin ", begin,
                     " is not below the latest checkpoint's size ", published));
  }
  end = std::min({end, published, begin + kMaxEntriesPerRequest});
  return storage_->ReadRecords(begin, end);
}

absl::StatusOr<uint64_t> LogQueries::ResolveTreeSize(
    std::optional<uint64_t> tree_size, std::string* note) const {
  ASSIGN_OR_RETURN(std::shared_ptr<const PublishedCheckpoint> cp, Latest());
  if (!tree_size.has_value()) {
    *note = cp->note;
    return cp->checkpoint.size;
  }
  RETURN_IF_ERROR(CheckTreeSize(*tree_size));
  RETURN_IF_ERROR(storage_->ReadIndexRoot(*tree_size).status());
  return *tree_size;
}

absl::StatusOr<ProvedRecord> LogQueries::ProveRecord(uint64_t leaf_index,
                                                     uint64_t tree_size) {
  ASSIGN_OR_RETURN(std::vector<std::string> records,
                   storage_->ReadRecords(leaf_index, leaf_index + 1));
  ASSIGN_OR_RETURN(ProofPlan plan, InclusionProofPlan(leaf_index, tree_size));
  ProvedRecord out;
  out.leaf_index = leaf_index;
  out.record = std::move(records[0]);
  ASSIGN_OR_RETURN(out.inclusion_proof, storage_->ReadProof(plan));
  return out;
}

absl::Status LogQueries::ProveDevices(const AccountState& state,
                                      uint64_t tree_size,
                                      AccountLookupAnswer* out) {
  uint64_t oldest = state.version;
  for (const auto& [id, device] : state.devices) {
    ASSIGN_OR_RETURN(ProvedRecord d, ProveRecord(device.leaf_index, tree_size));
    absl::StatusOr<DeviceRecord> r = DecodeRecord(d.record);
    if (!r.ok()) return absl::DataLossError("stored record is malformed");
    oldest = std::min(oldest, r->account_version);
    out->devices.push_back(std::move(d));
  }
  // The key chain back to the key that signed the oldest device record.
  ASSIGN_OR_RETURN(std::vector<HistoryEntry> keys,
                   storage_->ReadKeyRecords(state.account_id, tree_size, oldest,
                                            kMaxKeyRecordsPerLookup + 1));
  if (keys.size() > kMaxKeyRecordsPerLookup) {
    return absl::FailedPreconditionError(
        absl::StrCat("account \"", state.account_id,
                     "\" rotated its key more than ", kMaxKeyRecordsPerLookup,
                     " times since its oldest device was added; verify it with "
                     "GetAccountHistory"));
  }
  for (auto it = keys.rbegin(); it != keys.rend(); ++it) {
    ASSIGN_OR_RETURN(ProvedRecord k, ProveRecord(it->leaf_index, tree_size));
    out->key_records.push_back(std::move(k));
  }
  return absl::OkStatus();
}

absl::StatusOr<AccountLookupAnswer> LogQueries::Lookup(
    const std::string& account_id, std::optional<uint64_t> tree_size) {
  RETURN_IF_ERROR(ValidateAccountId(account_id));
  AccountLookupAnswer out;
  ASSIGN_OR_RETURN(out.tree_size,
                   ResolveTreeSize(tree_size, &out.checkpoint_note));
  std::unique_ptr<IndexNodeReader> reader =
      storage_->IndexReaderAt(out.tree_size);
  std::optional<Hash> value_hash;
  ASSIGN_OR_RETURN(
      IndexProof proof,
      ProveIndex(reader.get(), AccountIndexKey(account_id), &value_hash));
  out.index_proof = proof.Encode();
  if (!value_hash.has_value()) return out;
  ASSIGN_OR_RETURN(std::optional<AccountState> state,
                   storage_->ReadAccount(account_id, out.tree_size));
  if (!state.has_value() || AccountValueHash(*state) != *value_hash) {
    return absl::DataLossError(absl::StrCat("stored state of account \"",
                                            account_id,
                                            "\" does not match the index"));
  }
  out.account_state = state->Encode();
  RETURN_IF_ERROR(ProveDevices(*state, out.tree_size, &out));
  return out;
}

absl::StatusOr<AccountHistoryAnswer> LogQueries::History(
    const std::string& account_id, uint64_t from_version,
    std::optional<uint64_t> tree_size) {
  RETURN_IF_ERROR(ValidateAccountId(account_id));
  if (from_version == 0) {
    return absl::InvalidArgumentError("from_version starts at 1");
  }
  AccountHistoryAnswer out;
  ASSIGN_OR_RETURN(out.tree_size,
                   ResolveTreeSize(tree_size, &out.checkpoint_note));
  ASSIGN_OR_RETURN(std::optional<AccountState> state,
                   storage_->ReadAccount(account_id, out.tree_size));
  if (!state.has_value()) {
    return absl::NotFoundError(absl::StrCat("account \"", account_id,
                                            "\" does not exist in the tree "
                                            "of size ",
                                            out.tree_size));
  }
  ASSIGN_OR_RETURN(std::vector<HistoryEntry> entries,
                   storage_->ReadHistory(account_id, from_version,
                                         out.tree_size, kMaxHistoryPerRequest));
  for (const HistoryEntry& e : entries) {
    ASSIGN_OR_RETURN(ProvedRecord r, ProveRecord(e.leaf_index, out.tree_size));
    out.records.push_back(std::move(r));
  }
  uint64_t last = entries.empty() ? from_version - 1 : entries.back().version;
  out.next_version = last < state->version && !entries.empty() ? last + 1 : 0;
  return out;
}

}  // namespace ktlog
