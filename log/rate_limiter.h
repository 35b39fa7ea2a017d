// RateLimiter: token buckets per key (the server keys them by the peer's
// address), so one address cannot take more than its share of lookups or
// writes (docs/security.md, "Rate limits").
//
// Each key has a bucket of `burst` tokens that refills at `per_second`; a
// request takes one token (a call of several writes one per write) or is
// refused with how long until they are there.
// Memory is bounded: at most `max_keys` buckets; when the table is full,
// buckets that have refilled completely (idle keys) are dropped (a sweep at
// most once a second, so that a flood of new keys cannot make every request
// scan the table), and if none has, new keys share one overflow bucket (an
// attacker with very many addresses then slows down newcomers, but cannot grow
// the table).
//
// Thread-safe.
#ifndef KTLOG_LOG_RATE_LIMITER_H_
#define KTLOG_LOG_RATE_LIMITER_H_

#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/util/clock.h"

namespace ktlog {

struct RateLimit {
  double per_second = 0;  // 0: unlimited
  double burst = 1;       // >= 1 when limited
  bool limited() const { return per_second > 0; }
};

class RateLimiter {
 public:
  // Borrows `clock`.
  RateLimiter(RateLimit limit, const Clock* clock, size_t max_keys = 100000);

  // Takes `n` tokens from `key`'s bucket: true, or false with the wait
  // until there are `n` in *retry_after (InfiniteDuration() if `n` is more
  // than the burst: never).
  bool Take(absl::string_view key, size_t n, absl::Duration* retry_after);
  bool Take(absl::string_view key, absl::Duration* retry_after) {
    return Take(key, 1, retry_after);
  }
  // Takes as many of `n` tokens as `key`'s bucket holds (whole ones) and
  // returns how many; 0 with the wait until there is one in *retry_after.
  size_t TakeUpTo(absl::string_view key, size_t n, absl::Duration* retry_after);

  const RateLimit& limit() const { return limit_; }
  size_t keys() const;

 private:
  struct Bucket {
    double tokens;
    uint64_t at_ms;  // when `tokens` was computed
  };
  // `b` refilled to now.
  double TokensNow(const Bucket& b, uint64_t now_ms) const;
  // `key`'s bucket (new, or the shared overflow bucket when there are
  // max_keys), refilled to `now_ms`.
  Bucket* BucketAt(absl::string_view key, uint64_t now_ms)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The wait until `b` holds `tokens`.
  absl::Duration WaitFor(const Bucket& b, double tokens) const;
  // Drops idle buckets; true if that made room.
  bool Sweep(uint64_t now_ms) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const RateLimit limit_;
  const Clock* const clock_;
  const size_t max_keys_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
  Bucket overflow_ ABSL_GUARDED_BY(mu_);
  uint64_t last_sweep_ms_ ABSL_GUARDED_BY(mu_) = 0;
};

// The key of a gRPC peer string: an IPv4 address without the port
// ("ipv4:10.1.2.3:5555" -> "ipv4:10.1.2.3"), an IPv6 address's /64 prefix
// ("ipv6:[2001:db8:1:2::5]:443" -> "ipv6:[2001:db8:1:2::]/64"); anything
// else as it is.
std::string PeerAddress(absl::string_view grpc_peer);

}  // namespace ktlog

#endif  // KTLOG_LOG_RATE_LIMITER_H_
