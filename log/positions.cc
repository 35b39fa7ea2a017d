#include "log/positions.h"

#include "core/account/leaf.h"
#include "core/util/status_macros.h"

namespace ktlog {

absl::StatusOr<std::optional<AccountPosition>> Positions::Stored(
    const std::string& account_id) const {
  return storage_->ReadPosition(account_id);
}

absl::StatusOr<AccountPosition> Positions::Of(
    const std::string& account_id) const {
  ASSIGN_OR_RETURN(std::optional<AccountPosition> stored,
                   storage_->ReadPosition(account_id));
  if (stored.has_value()) return *stored;
  evaluations_.fetch_add(1);
  ASSIGN_OR_RETURN(VrfPrivateKey::Evaluation e,
                   vrf_->Prove(AccountVrfInput(account_id)));
  return AccountPosition{e.output, e.proof};
}

}  // namespace ktlog
