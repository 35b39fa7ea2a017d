#include "log/call_tracker.h"

#include <algorithm>

namespace ktlog {

void CallTracker::Arrive(const std::string& address) {
  absl::MutexLock lock(&mu_);
  ++live_;
  ++arrived_;
  ++by_address_[address];
}

void CallTracker::Done(const std::string& address) {
  absl::MutexLock lock(&mu_);
  --live_;
  auto it = by_address_.find(address);
  if (it != by_address_.end() && --it->second <= 0) by_address_.erase(it);
}

int CallTracker::LiveFrom(const std::string& address) {
  absl::MutexLock lock(&mu_);
  auto it = by_address_.find(address);
  return it == by_address_.end() ? 0 : it->second;
}

bool CallTracker::WaitForQuiet(absl::Duration quiet, absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  auto none = [this]()
                  ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return live_ == 0; };
  for (;;) {
    if (!mu_.AwaitWithDeadline(absl::Condition(&none), deadline)) {
      return false;
    }
    uint64_t seen = arrived_;
    auto new_call = [this, seen]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return arrived_ != seen;
    };
    absl::Time until = std::min(deadline, absl::Now() + quiet);
    if (!mu_.AwaitWithDeadline(absl::Condition(&new_call), until)) {
      // Quiet, unless it was the deadline that ended the wait.
      return until < deadline;
    }
  }
}

}  // namespace ktlog
