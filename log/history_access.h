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
//      made before (else FAILED_PRECONDITION): a request seen on the way
//      cannot be replayed. Remembered in memory for `window`, bounded; a
//      restart forgets, and the window bounds a replay then.
//
// Thread-safe.
#ifndef KTLOG_LOG_HISTORY_ACCESS_H_
#define KTLOG_LOG_HISTORY_ACCESS_H_

#include <cstdint>
#include <optional>
#include <string>

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
                size_t max_keys = 1000000);

  // OK if `proof` (null: none sent) lets its sender read the history of
  // `account_id` from `from_version` at `tree_size`; the errors above.
  absl::Status Check(const std::string& account_id, uint64_t from_version,
                     std::optional<uint64_t> tree_size,
                     const OwnerProof* proof);

 private:
  // Step 5: records the request's timestamp for its access key.
  absl::Status CheckNotReplayed(const OwnerProof& proof, uint64_t now_ms);

  LogReader* const storage_;
  const CheckpointPublisher* const publisher_;
  const std::string origin_;
  const Clock* const clock_;
  const uint64_t window_ms_;
  const size_t max_keys_;
  absl::Mutex mu_;
  // Access key -> the latest timestamp it used.
  absl::flat_hash_map<std::string, uint64_t> latest_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ktlog

#endif  // KTLOG_LOG_HISTORY_ACCESS_H_
