#include "core/account/replay.h"

#include "core/account/index.h"
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

std::vector<std::pair<Hash, Hash>> AccountReplay::IndexChanges() const {
  std::vector<std::pair<Hash, Hash>> out;
  out.reserve(changed_.size());
  for (const std::string& id : changed_) {
    out.emplace_back(AccountIndexKey(id), AccountValueHash(accounts_.at(id)));
  }
  return out;
}

void AccountReplay::Reset() {
  accounts_.clear();
  changed_.clear();
}

}  // namespace ktlog
