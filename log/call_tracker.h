// CallTracker: the RPCs the server is processing, from arrival until their
// answer has been handed to the transport (the service reports each call's
// arrival and, from its reactor's OnDone, its end), in all and per peer
// address.
//
// Two uses. A graceful shutdown waits until no call is live and none has
// arrived for a moment before it closes gRPC (closing at once could break a
// connection under an answer already counted as sent, and gRPC 1.51
// cancels calls received and not yet dispatched). And the service refuses
// a peer address that has too many calls live (ServiceOptions::
// max_calls_per_address): a call whose answer its client does not read
// stays live, so one host cannot make the server buffer answers, or hold
// its workers, without bound (docs/operations.md, "Limits").
//
// Thread-safe.
#ifndef KTLOG_LOG_CALL_TRACKER_H_
#define KTLOG_LOG_CALL_TRACKER_H_

#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace ktlog {

class CallTracker {
 public:
  // A call from `address` (as PeerAddress gives it) arrived; it is live
  // until Done(address).
  void Arrive(const std::string& address);
  void Done(const std::string& address);

  // The calls live now from `address`.
  int LiveFrom(const std::string& address);

  // True once no call is live and none arrived for `quiet`; false if
  // `deadline` passed first.
  bool WaitForQuiet(absl::Duration quiet, absl::Time deadline);

 private:
  absl::Mutex mu_;
  int live_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t arrived_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<std::string, int> by_address_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ktlog

#endif  // KTLOG_LOG_CALL_TRACKER_H_
