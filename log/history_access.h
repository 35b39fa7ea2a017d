// HistoryAccess: the log's gate in front of GetAccountHistory, which it
// serves only to the account's owner (docs/privacy.md; the proof is in
// core/account/owner_access.h, byte by byte in docs/formats.md, "Owner
// access"). A request passes when, in this order:
//
//   1. its owner proof is well formed (else INVALID_ARGUMENT);
//   2. its timestamp is within `window` of the log's clock (else
//      FAILED_PRECONDITION: the device's clock is off);
//   3. the access key signed the request (else PERMISSION_DENIED);
//   4. an authority the account has had since its latest reset granted the
//      access key, in the account's latest state (else PERMISSION_DENIED
//      with the one message every stranger gets, also for an account that
//      does not exist: the history answers nothing a lookup does not);
//   5. its timestamp is later than that of every request this access key
//      made before for the account, and than the log's start (else
//      FAILED_PRECONDITION): a request seen on the way cannot be replayed,
//      also after a restart. Remembered in memory for `window`: at most
//      kAccessKeysPerAccount access keys per account and `max_accounts`
//      accounts at once (beyond, RESOURCE_EXHAUSTED for the account, or
//      for a new one), each forgotten in order once its window passed, so
//      that one account's owner cannot crowd out the others.
//
// Thread-safe.
#ifndef KTLOG_LOG_HISTORY_ACCESS_H_
#define KTLOG_LOG_HISTORY_ACCESS_H_

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/account/owner_access.h"
#include "core/util/clock.h"
#include "log/publisher.h"
#include "log/storage/log_storage.h"

namespace ktlog {

// The most access keys one account may read its history with within the
// window (its owner's devices).
inline constexpr size_t kAccessKeysPerAccount = 8;

// What every caller that is not the owner is told.
inline constexpr char kHistoryOwnerOnly[] =
    "an account's history is served only to its owner: the request needs an "
    "owner proof whose access key an authority of the account granted "
    "(docs/api.md, \"Histories\"); anyone else looks the account up";

class HistoryAccess {
 public:
  // Borrows all. `origin` is the log's.
  HistoryAccess(LogReader* storage, const CheckpointPublisher* publisher,
                std::string origin, const Clock* clock,
                absl::Duration window = absl::Minutes(5),
                size_t max_accounts = 1000000);

  // OK if `proof` (null: none sent) lets its sender read the history of
  // `account_id` from `from_version` at `tree_size`; the errors above.
  absl::Status Check(const std::string& account_id, uint64_t from_version,
                     std::optional<uint64_t> tree_size,
                     const OwnerProof* proof);

 private:
  // Step 5: records the request's timestamp for its access key.
  absl::Status CheckNotReplayed(const std::string& account_id,
                                const OwnerProof& proof, uint64_t now_ms);
  // Forgets the access keys whose window passed.
  void Expire(uint64_t now_ms) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  struct KeyUse {
    std::string access_key;
    uint64_t latest_ms = 0;  // the latest timestamp it used
    uint64_t seen_ms = 0;    // when (log's clock)
  };

  LogReader* const storage_;
  const CheckpointPublisher* const publisher_;
  const std::string origin_;
  const Clock* const clock_;
  const uint64_t window_ms_;
  const size_t max_accounts_;
  const uint64_t started_ms_;
  absl::Mutex mu_;
  // Per account, the access keys that read its history in the window.
  absl::flat_hash_map<std::string, std::vector<KeyUse>> used_
      ABSL_GUARDED_BY(mu_);
  // (when, account) in time order: an account to look at once the window
  // after `when` passed (pushed with a new access key, and again while
  // some of its keys are still in their window); one per key at most.
  std::deque<std::pair<uint64_t, std::string>> expiry_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ktlog

#endif  // KTLOG_LOG_HISTORY_ACCESS_H_
