#include "log/history_access.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "core/account/record.h"
#include "core/util/status_macros.h"

namespace ktlog {

HistoryAccess::HistoryAccess(LogReader* storage,
                             const CheckpointPublisher* publisher,
                             std::string origin, const Clock* clock,
                             absl::Duration window, size_t max_accounts)
    : storage_(storage),
      publisher_(publisher),
      origin_(std::move(origin)),
      clock_(clock),
      window_ms_(absl::ToInt64Milliseconds(window)),
      max_accounts_(max_accounts),
      started_ms_(clock->NowMillis()) {}

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
  return CheckNotReplayed(account_id, *proof, now);
}

void HistoryAccess::Expire(uint64_t now_ms) {
  while (!expiry_.empty() && expiry_.front().first + window_ms_ < now_ms) {
    auto uses = used_.find(expiry_.front().second);
    expiry_.pop_front();
    if (uses == used_.end()) continue;
    std::vector<KeyUse>& keys = uses->second;
    keys.erase(std::remove_if(keys.begin(), keys.end(),
                              [&](const KeyUse& k) {
                                return k.seen_ms + window_ms_ < now_ms;
                              }),
               keys.end());
    if (keys.empty()) {
      used_.erase(uses);
    } else {
      expiry_.emplace_back(now_ms, uses->first);  // look again later
    }
  }
}

absl::Status HistoryAccess::CheckNotReplayed(const std::string& account_id,
                                             const OwnerProof& proof,
                                             uint64_t now_ms) {
  if (proof.timestamp_ms <= started_ms_) {
    return absl::FailedPreconditionError(
        "the history request is dated before the log started: sign a new "
        "one (a request made before a restart is not taken after it)");
  }
  absl::MutexLock lock(&mu_);
  Expire(now_ms);
  auto uses = used_.find(account_id);
  if (uses == used_.end() && used_.size() >= max_accounts_) {
    return absl::ResourceExhaustedError(
        "too many owners are reading histories right now; retry in a few "
        "minutes");
  }
  std::vector<KeyUse>& keys = used_[account_id];
  auto key = std::find_if(keys.begin(), keys.end(), [&](const KeyUse& k) {
    return k.access_key == proof.access_key;
  });
  if (key != keys.end() && proof.timestamp_ms <= key->latest_ms) {
    return absl::FailedPreconditionError(absl::StrCat(
        "this access key made a request dated ", key->latest_ms,
        " ms already: each request needs a later timestamp (a replayed "
        "request is refused)"));
  }
  if (key == keys.end()) {
    if (keys.size() >= kAccessKeysPerAccount) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "the account's history was read with ", kAccessKeysPerAccount,
          " access keys in the last few minutes, the most one account may; "
          "retry in a few minutes"));
    }
    keys.push_back(KeyUse{proof.access_key});
    key = keys.end() - 1;
    expiry_.emplace_back(now_ms, account_id);
  }
  key->latest_ms = proof.timestamp_ms;
  key->seen_ms = now_ms;
  return absl::OkStatus();
}

}  // namespace ktlog
