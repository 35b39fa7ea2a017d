#include "core/account/replay.h"

#include "absl/strings/str_cat.h"
#include "core/util/status_macros.h"

namespace ktlog {

absl::Status AccountReplay::Load(const std::string& account_id) {
  if (accounts_.count(account_id) > 0) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::optional<AccountState> stored,
                   source_->LoadAccount(account_id));
  AccountState state;
  if (stored.has_value()) {
    state = *std::move(stored);
  } else {
    state.account_id = account_id;
  }
  accounts_.emplace(account_id, std::move(state));
  return absl::OkStatus();
}

absl::Status AccountReplay::Apply(const DeviceRecord& record,
                                  uint64_t leaf_index) {
  auto it = accounts_.find(record.account_id);
  if (it == accounts_.end()) {
    return absl::InternalError("AccountReplay::Apply before Load");
  }
  RETURN_IF_ERROR(ApplyRecord(record, leaf_index, &it->second));
  changed_.insert(record.account_id);
  return absl::OkStatus();
}

const AccountState& AccountReplay::State(const std::string& account_id) const {
  return accounts_.at(account_id);
}

std::vector<AccountState> AccountReplay::Changed() const {
  std::vector<AccountState> out;
  out.reserve(changed_.size());
  for (const std::string& id : changed_) out.push_back(accounts_.at(id));
  return out;
}

void AccountReplay::Reset() {
  accounts_.clear();
  changed_.clear();
}

absl::Status LeafReplay::Load(const Hash& position) {
  if (versions_.count(position) > 0) return absl::OkStatus();
  ASSIGN_OR_RETURN(uint64_t version, source_->LoadVersion(position));
  versions_.emplace(position, version);
  return absl::OkStatus();
}

absl::Status LeafReplay::Apply(const Leaf& leaf) {
  auto it = versions_.find(leaf.position);
  if (it == versions_.end()) {
    return absl::InternalError("LeafReplay::Apply before Load");
  }
  if ((it->second & kErasedVersionBit) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "position ", leaf.position.ToHex(), " was erased at version ",
        it->second & ~kErasedVersionBit, "; no leaf may follow an erasure"));
  }
  if (IsErasure(leaf) && leaf.version < 2) {
    return absl::FailedPreconditionError(absl::StrCat(
        "position ", leaf.position.ToHex(),
        " is erased at version 1: an erasure follows an account's records"));
  }
  if (leaf.version != it->second + 1) {
    return absl::FailedPreconditionError(absl::StrCat(
        "position ", leaf.position.ToHex(), " goes from version ", it->second,
        " to ", leaf.version, "; versions must go up by one from 1"));
  }
  if (leaf.timestamp_ms < last_timestamp_ms_) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the leaf is dated ", leaf.timestamp_ms,
        " ms, before the leaf before it (", last_timestamp_ms_, " ms)"));
  }
  it->second = leaf.version | (IsErasure(leaf) ? kErasedVersionBit : 0);
  last_timestamp_ms_ = leaf.timestamp_ms;
  changed_[leaf.position] = leaf.state_commitment;
  return absl::OkStatus();
}

std::vector<std::pair<Hash, Hash>> LeafReplay::IndexChanges() const {
  std::vector<std::pair<Hash, Hash>> out;
  out.reserve(changed_.size());
  for (const auto& [position, commitment] : changed_) {
    out.emplace_back(position,
                     IndexValueHash(versions_.at(position) & ~kErasedVersionBit,
                                    commitment));
  }
  return out;
}

std::vector<IndexEntry> LeafReplay::ChangedEntries() const {
  std::vector<IndexEntry> out;
  out.reserve(changed_.size());
  for (const auto& [position, commitment] : changed_) {
    out.push_back(IndexEntry{
        position, versions_.at(position) & ~kErasedVersionBit, commitment});
  }
  return out;
}

}  // namespace ktlog
