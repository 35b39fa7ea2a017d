#include "log/rate_limiter.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace ktlog {

RateLimiter::RateLimiter(RateLimit limit, const Clock* clock, size_t max_keys)
    : limit_(limit),
      clock_(clock),
      max_keys_(std::max<size_t>(max_keys, 1)),
      overflow_{limit.burst, clock->NowMillis()} {}

double RateLimiter::TokensNow(const Bucket& b, uint64_t now_ms) const {
  double elapsed = now_ms > b.at_ms ? (now_ms - b.at_ms) / 1000.0 : 0;
  return std::min(limit_.burst, b.tokens + elapsed * limit_.per_second);
}

bool RateLimiter::Sweep(uint64_t now_ms) {
  if (last_sweep_ms_ != 0 && now_ms < last_sweep_ms_ + 1000) return false;
  last_sweep_ms_ = now_ms;
  size_t before = buckets_.size();
  absl::erase_if(buckets_, [&](const auto& kv) {
    return TokensNow(kv.second, now_ms) >= limit_.burst;
  });
  return buckets_.size() < before;
}

RateLimiter::Bucket* RateLimiter::BucketAt(absl::string_view key,
                                           uint64_t now_ms) {
  Bucket* b;
  auto it = buckets_.find(key);
  if (it != buckets_.end()) {
    b = &it->second;
  } else if (buckets_.size() < max_keys_ || Sweep(now_ms)) {
    b = &buckets_.emplace(std::string(key), Bucket{limit_.burst, now_ms})
             .first->second;
  } else {
    b = &overflow_;
  }
  b->tokens = TokensNow(*b, now_ms);
  b->at_ms = std::max(b->at_ms, now_ms);
  return b;
}

absl::Duration RateLimiter::WaitFor(const Bucket& b, double tokens) const {
  double wait_ms = std::ceil((tokens - b.tokens) / limit_.per_second * 1000);
  return absl::Milliseconds(std::max(1.0, wait_ms));
}

bool RateLimiter::Take(absl::string_view key, size_t n,
                       absl::Duration* retry_after) {
  if (!limit_.limited()) return true;
  const double tokens = static_cast<double>(n);
  if (tokens > limit_.burst) {
    *retry_after = absl::InfiniteDuration();
    return false;
  }
  absl::MutexLock lock(&mu_);
  Bucket* b = BucketAt(key, clock_->NowMillis());
  if (b->tokens >= tokens) {
    b->tokens -= tokens;
    return true;
  }
  *retry_after = WaitFor(*b, tokens);
  return false;
}

size_t RateLimiter::TakeUpTo(absl::string_view key, size_t n,
                             absl::Duration* retry_after) {
  if (!limit_.limited()) return n;
  absl::MutexLock lock(&mu_);
  Bucket* b = BucketAt(key, clock_->NowMillis());
  size_t taken = std::min(n, static_cast<size_t>(std::floor(b->tokens)));
  if (taken == 0) {
    *retry_after = WaitFor(*b, 1);
    return 0;
  }
  b->tokens -= static_cast<double>(taken);
  return taken;
}

size_t RateLimiter::keys() const {
  absl::MutexLock lock(&mu_);
  return buckets_.size();
}

namespace {

// "ipv6:[a:b:c:d:e:f:g:h]" -> "ipv6:[a:b:c:d::]/64"; anything else as is.
std::string Ipv6Prefix(absl::string_view bracketed) {
  absl::string_view inside = bracketed;
  inside.remove_prefix(6);                               // "ipv6:["
  inside.remove_suffix(1);                               // "]"
  std::string text(inside.substr(0, inside.find('%')));  // no zone
  in6_addr a;
  if (inet_pton(AF_INET6, text.c_str(), &a) != 1) {
    return std::string(bracketed);
  }
  for (int i = 8; i < 16; ++i) a.s6_addr[i] = 0;
  char out[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, &a, out, sizeof(out));
  return absl::StrCat("ipv6:[", out, "]/64");
}

// gRPC writes peers as URIs: "ipv6:%5B::1%5D:443" (brackets and the zone's
// "%" percent-encoded).
std::string PercentDecoded(absl::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    int hi, lo;
    auto hex = [](char c) {
      return absl::ascii_isdigit(c) ? c - '0'
             : c >= 'a' && c <= 'f' ? c - 'a' + 10
             : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                    : -1;
    };
    if (s[i] == '%' && i + 2 < s.size() && (hi = hex(s[i + 1])) >= 0 &&
        (lo = hex(s[i + 2])) >= 0) {
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

std::string PeerAddress(absl::string_view grpc_peer) {
  const std::string decoded = PercentDecoded(grpc_peer);
  absl::string_view peer = decoded;
  if (!absl::StartsWith(peer, "ipv4:") && !absl::StartsWith(peer, "ipv6:")) {
    return std::string(peer);
  }
  absl::string_view address = peer;
  size_t colon = peer.rfind(':');
  size_t bracket = peer.rfind(']');
  if (colon != absl::string_view::npos && colon > 4 &&
      (bracket == absl::string_view::npos || bracket < colon)) {
    address = peer.substr(0, colon);
  }
  if (absl::StartsWith(address, "ipv6:[") && absl::EndsWith(address, "]")) {
    return Ipv6Prefix(address);
  }
  return std::string(address);
}

}  // namespace ktlog
