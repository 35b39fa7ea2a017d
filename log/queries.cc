#include "log/queries.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "core/account/commitment.h"
#include "core/account/index.h"
#include "core/account/leaf.h"
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
  if (tree_size > published && replica_wait_ > absl::ZeroDuration()) {
    // A client may hold a checkpoint another replica adopted first: a size
    // the log is seen signing (at once, or after a poll asked for now) is
    // waited for; any other is answered at once.
    absl::Time deadline = absl::Now() + replica_wait_;
    if (replica_nudge_) replica_nudge_();
    uint64_t seen = publisher_->WaitForLogSize(
        tree_size, std::min(deadline, absl::Now() + absl::Seconds(1)));
    std::shared_ptr<const PublishedCheckpoint> cp =
        seen >= tree_size ? publisher_->WaitForSize(tree_size, deadline)
                          : publisher_->Latest();
    if (cp == nullptr || cp->checkpoint.size < tree_size) {
      return absl::UnavailableError(absl::StrCat(
          "this read replica has not caught up with tree size ", tree_size,
          " yet (it serves ", cp == nullptr ? 0 : cp->checkpoint.size,
          "); try again"));
    }
    return absl::OkStatus();
  }
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
  if (begin >= published && replica_wait_ > absl::ZeroDuration()) {
    RETURN_IF_ERROR(CheckTreeSize(begin + 1));
    ASSIGN_OR_RETURN(published, PublishedSize());
  }
  if (begin >= published) {
    return absl::OutOfRangeError(
        absl::StrCat("begin ", begin,
                     " is not below the latest checkpoint's size ", published));
  }
  end = std::min({end, published, begin + kMaxEntriesPerRequest});
  return storage_->ReadLeaves(begin, end);
}

absl::StatusOr<uint64_t> LogQueries::ResolveTreeSize(
    std::optional<uint64_t> tree_size, std::string* note) const {
  ASSIGN_OR_RETURN(std::shared_ptr<const PublishedCheckpoint> cp, Latest());
  if (!tree_size.has_value()) {
    *note = cp->note;
    return cp->checkpoint.size;
  }
  RETURN_IF_ERROR(CheckTreeSize(*tree_size));
  ASSIGN_OR_RETURN(bool signed_size, storage_->IsSignedSize(*tree_size));
  if (!signed_size) {
    // No signed root to check an answer against: nobody could verify it.
    return absl::NotFoundError(absl::StrCat(
        "tree size ", *tree_size,
        " is not the size of a checkpoint this log signed; ask at the size "
        "of a checkpoint you hold"));
  }
  return *tree_size;
}

absl::StatusOr<AccountLookupAnswer> LogQueries::Lookup(
    const std::string& account_id, std::optional<uint64_t> tree_size,
    bool with_first_record) {
  RETURN_IF_ERROR(ValidateAccountId(account_id));
  ASSIGN_OR_RETURN(
      LookupsAnswer all,
      LookUpAll({LookupAsk{account_id, with_first_record}}, tree_size));
  ASSIGN_OR_RETURN(AccountLookupAnswer out, std::move(all.answers[0]));
  out.checkpoint_note = std::move(all.checkpoint_note);
  return out;
}

absl::Status LogQueries::CheckLookupAsks(const std::vector<LookupAsk>& asks) {
  if (asks.empty() || asks.size() > kMaxLookupsPerCall) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a batched lookup names 1 to ", kMaxLookupsPerCall, " accounts, not ",
        asks.size(), "; split larger batches into several calls"));
  }
  absl::flat_hash_map<absl::string_view, size_t> seen;
  for (size_t i = 0; i < asks.size(); ++i) {
    absl::Status valid = ValidateAccountId(asks[i].account_id);
    if (!valid.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("accounts[", i, "]: ", valid.message()));
    }
    auto [it, fresh] = seen.emplace(asks[i].account_id, i);
    if (!fresh) {
      return absl::InvalidArgumentError(
          absl::StrCat("accounts[", i, "] names the same account as accounts[",
                       it->second, "]; ask for each account once"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<LogQueries::LookupsAnswer> LogQueries::Lookups(
    const std::vector<LookupAsk>& asks, std::optional<uint64_t> tree_size) {
  RETURN_IF_ERROR(CheckLookupAsks(asks));
  return LookUpAll(asks, tree_size);
}

namespace {

// About the bytes of `a` on the wire.
size_t AnswerBytes(const AccountLookupAnswer& a) {
  size_t n = a.vrf_proof.size() + a.index_proof.size() +
             a.account_state.size() + a.state_opening.size() +
             a.erased_leaf.size();
  if (a.first_record.has_value()) {
    const HistoryEntryAnswer& f = *a.first_record;
    n += f.leaf.size() + f.inclusion_proof.size() * Hash::kSize +
         f.record.size() + f.record_opening.size();
  }
  return n;
}

}  // namespace

absl::StatusOr<LogQueries::LookupsAnswer> LogQueries::LookUpAll(
    const std::vector<LookupAsk>& asks, std::optional<uint64_t> tree_size) {
  LookupsAnswer all;
  ASSIGN_OR_RETURN(all.tree_size,
                   ResolveTreeSize(tree_size, &all.checkpoint_note));
  absl::StatusOr<IndexSnapshot> at = index_->At(all.tree_size);
  if (absl::IsFailedPrecondition(at.status()) &&
      replica_wait_ > absl::ZeroDuration() &&
      all.tree_size < index_->oldest()) {
    // A replica's window starts where it last started: another replica, or
    // this one at a newer checkpoint, answers.
    return absl::UnavailableError(absl::StrCat(
        "this read replica keeps index versions from tree size ",
        index_->oldest(), " on (it started there, or ", all.tree_size,
        " is older than its lookup window); try again, or at a newer "
        "checkpoint"));
  }
  ASSIGN_OR_RETURN(IndexSnapshot index, std::move(at));
  all.answers.reserve(asks.size());
  size_t bytes = 0;
  for (const LookupAsk& ask : asks) {
    if (bytes >= lookups_answer_bytes_) {
      all.answers.push_back(absl::AbortedError(absl::StrCat(
          "not looked up: the call's answer reached ", lookups_answer_bytes_,
          " bytes before this account; ask for it again in another call")));
      continue;
    }
    AccountLookupAnswer out;
    out.tree_size = all.tree_size;
    absl::Status s = LookUpOne(index, ask, &out);
    if (s.ok()) {
      bytes += AnswerBytes(out);
      all.answers.push_back(std::move(out));
    } else {
      all.answers.push_back(std::move(s));
    }
  }
  return all;
}

absl::Status LogQueries::LookUpOne(const IndexSnapshot& index,
                                   const LookupAsk& ask,
                                   AccountLookupAnswer* out) {
  ASSIGN_OR_RETURN(AccountPosition position, positions_->Of(ask.account_id));
  out->vrf_proof = position.proof;
  std::optional<Hash> value_hash;
  out->index_proof = index.Prove(position.position, &value_hash).Encode();
  if (!value_hash.has_value()) return absl::OkStatus();
  absl::Status opened = OpenState(ask.account_id, position.position,
                                  *value_hash, ask.with_first_record, out);
  if (!opened.ok()) return ErasedSince(position.position, opened);
  return absl::OkStatus();
}

absl::Status LogQueries::OpenState(const std::string& account_id,
                                   const Hash& position, const Hash& value_hash,
                                   bool with_first_record,
                                   AccountLookupAnswer* out) {
  ASSIGN_OR_RETURN(std::optional<AccountState> state,
                   storage_->ReadAccount(account_id, out->tree_size));
  if (!state.has_value()) {
    ASSIGN_OR_RETURN(out->erased_leaf,
                     ErasedLeaf(position, out->tree_size, value_hash));
    return absl::OkStatus();
  }
  // The opening of the state commitment of the account's latest leaf.
  ASSIGN_OR_RETURN(
      std::vector<HistoryEntry> latest,
      storage_->ReadHistory(account_id, state->version, out->tree_size, 1));
  if (latest.empty() || latest[0].version != state->version) {
    return absl::DataLossError(absl::StrCat("the history of account \"",
                                            account_id, "\" lacks its version ",
                                            state->version));
  }
  ASSIGN_OR_RETURN(PrivateEntry entry,
                   storage_->ReadEntry(latest[0].leaf_index));
  out->account_state = state->Encode();
  out->state_opening = entry.state_opening;
  Hash commitment = Commit(out->state_opening, CommitmentKind::kState,
                           account_id, state->version, out->account_state);
  if (IndexValueHash(state->version, commitment) != value_hash) {
    return absl::DataLossError(absl::StrCat("stored state of account \"",
                                            account_id,
                                            "\" does not match the index"));
  }
  if (with_first_record) {
    ASSIGN_OR_RETURN(std::vector<HistoryEntry> first,
                     storage_->ReadHistory(account_id, 1, out->tree_size, 1));
    if (first.empty() || first[0].version != 1) {
      return absl::DataLossError(absl::StrCat(
          "the history of account \"", account_id, "\" lacks its version 1"));
    }
    ASSIGN_OR_RETURN(out->first_record, Version(first[0], out->tree_size));
    out->first_record->state_opening.clear();
  }
  return absl::OkStatus();
}

absl::Status LogQueries::ErasedSince(const Hash& position,
                                     absl::Status status) {
  if (!absl::IsDataLoss(status) && !absl::IsNotFound(status)) return status;
  absl::StatusOr<std::optional<ErasedAccount>> erased =
      storage_->ReadErased(position);
  if (!erased.ok() || !erased->has_value()) return status;
  return absl::FailedPreconditionError(
      "the account was erased on request while the log answered; ask again "
      "at a checkpoint that covers the erasure");
}

absl::StatusOr<std::string> LogQueries::ErasedLeaf(const Hash& position,
                                                   uint64_t tree_size,
                                                   const Hash& value_hash) {
  ASSIGN_OR_RETURN(std::optional<ErasedAccount> erased,
                   storage_->ReadErased(position));
  if (!erased.has_value()) {
    return absl::DataLossError(absl::StrCat("the index holds position ",
                                            position.ToHex(),
                                            " but storage does not"));
  }
  uint64_t erasure = erased->leaf_indexes.back();
  if (erasure >= tree_size) {
    // Its data is gone, and this tree does not have the erasure yet.
    return absl::FailedPreconditionError(
        absl::StrCat("the account was erased on request at leaf index ",
                     erasure, ", after tree size ", tree_size,
                     "; ask at a checkpoint that covers it"));
  }
  ASSIGN_OR_RETURN(std::vector<std::string> leaf,
                   storage_->ReadLeaves(erasure, erasure + 1));
  absl::StatusOr<Leaf> decoded = DecodeLeaf(leaf[0]);
  if (decoded.ok() && IsErasure(*decoded) &&
      IndexValueHash(decoded->version, decoded->state_commitment) ==
          value_hash) {
    return std::move(leaf[0]);
  }
  return absl::DataLossError(absl::StrCat(
      "the erasure marker of position ", position.ToHex(),
      " does not name the leaf the index holds; run ktlog-admin fsck"));
}

absl::StatusOr<HistoryEntryAnswer> LogQueries::Version(const HistoryEntry& e,
                                                       uint64_t tree_size) {
  HistoryEntryAnswer out;
  out.leaf_index = e.leaf_index;
  ASSIGN_OR_RETURN(std::vector<std::string> leaf,
                   storage_->ReadLeaves(e.leaf_index, e.leaf_index + 1));
  out.leaf = std::move(leaf[0]);
  ASSIGN_OR_RETURN(ProofPlan plan, InclusionProofPlan(e.leaf_index, tree_size));
  ASSIGN_OR_RETURN(out.inclusion_proof, storage_->ReadProof(plan));
  ASSIGN_OR_RETURN(PrivateEntry entry, storage_->ReadEntry(e.leaf_index));
  out.record = std::move(entry.record);
  out.record_opening = std::move(entry.record_opening);
  out.state_opening = std::move(entry.state_opening);
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
  ASSIGN_OR_RETURN(AccountPosition position, positions_->Of(account_id));
  out.vrf_proof = position.proof;
  absl::Status read = ReadVersions(account_id, from_version, &out);
  if (!read.ok()) return ErasedSince(position.position, read);
  return out;
}

absl::Status LogQueries::ReadVersions(const std::string& account_id,
                                      uint64_t from_version,
                                      AccountHistoryAnswer* out) {
  ASSIGN_OR_RETURN(std::optional<AccountState> state,
                   storage_->ReadAccount(account_id, out->tree_size));
  if (!state.has_value()) {
    return absl::NotFoundError(absl::StrCat("account \"", account_id,
                                            "\" does not exist in the tree "
                                            "of size ",
                                            out->tree_size));
  }
  ASSIGN_OR_RETURN(
      std::vector<HistoryEntry> entries,
      storage_->ReadHistory(account_id, from_version, out->tree_size,
                            kMaxHistoryPerRequest));
  for (const HistoryEntry& e : entries) {
    ASSIGN_OR_RETURN(HistoryEntryAnswer v, Version(e, out->tree_size));
    out->entries.push_back(std::move(v));
  }
  uint64_t last = entries.empty() ? from_version - 1 : entries.back().version;
  out->next_version = last < state->version && !entries.empty() ? last + 1 : 0;
  return absl::OkStatus();
}

}  // namespace ktlog
