#include "log/history_access.h"

#include "absl/strings/str_cat.h"
#include "core/account/record.h"
#include "core/util/status_macros.h"

namespace ktlog {

HistoryAccess::HistoryAccess(LogReader* storage,
                             const CheckpointPublisher* publisher,
                             std::string origin, const Clock* clock,
                             absl::Duration window, size_t max_keys)
    : storage_(storage),
      publisher_(publisher),
      origin_(std::move(origin)),
      clock_(clock),
      window_ms_(absl::ToInt64Milliseconds(window)),
      max_keys_(max_keys) {}

absl::Status HistoryAccess::Check(const std::string& account_id,
                                  uint64_t from_version,
                                  std::optional<uint64_t> tree_size,
                                  const OwnerProof* proof) {
  RETURN_IF_ERROR(ValidateAccountId(account_id));
  if (proof == nullptr) return absl::PermissionDeniedError(kHistoryOwnerOnly);
  RETURN_IF_ERROR(CheckOwnerProofShape(*proof));
  const uint64_t now = clock_->NowMillis();
  uint64_t skew = proof->timestamp_ms > now ? proof->timestamp_ms - now
                                            : now - proof->timestamp_ms;
  if (skew > window_ms_) {
    return absl::FailedPreconditionError(
        absl::StrCat("the history request is dated ", skew / 1000, " s ",
                     proof->timestamp_ms > now ? "ahead of" : "behind",
                     " the log's clock (at most ", window_ms_ / 1000,
                     " s either way): check this device's clock"));
  }
  RETURN_IF_ERROR(VerifyHistoryRequest(*proof, origin_, account_id,
                                       from_version, tree_size));
  std::shared_ptr<const PublishedCheckpoint> latest = publisher_->Latest();
  std::optional<AccountState> state;
  if (latest != nullptr) {
    ASSIGN_OR_RETURN(
        state, storage_->ReadAccount(account_id, latest->checkpoint.size));
  }
  if (!state.has_value() ||
      !VerifyOwnerGrant(*state, origin_, proof->access_key, proof->grant)
           .ok()) {
    return absl::PermissionDeniedError(kHistoryOwnerOnly);
  }
  return CheckNotReplayed(*proof, now);
}

absl::Status HistoryAccess::CheckNotReplayed(const OwnerProof& proof,
                                             uint64_t now_ms) {
  absl::MutexLock lock(&mu_);
  auto it = latest_.find(proof.access_key);
  if (it != latest_.end() && proof.timestamp_ms <= it->second) {
    return absl::FailedPreconditionError(absl::StrCat(
        "this access key made a request dated ", it->second,
        " ms already: each request needs a later timestamp (a replayed "
        "request is refused)"));
  }
  if (it == latest_.end() && latest_.size() >= max_keys_) {
    // Forget the keys whose requests are all outside the window: their old
    // requests are refused by the window now.
    for (auto k = latest_.begin(); k != latest_.end();) {
      auto here = k++;
      if (here->second + window_ms_ < now_ms) latest_.erase(here);
    }
    if (latest_.size() >= max_keys_) {
      return absl::ResourceExhaustedError(
          "too many owners are reading histories right now; retry in a few "
          "minutes");
    }
  }
  latest_[proof.access_key] = proof.timestamp_ms;
  return absl::OkStatus();
}

}  // namespace ktlog
