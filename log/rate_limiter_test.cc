#include "log/rate_limiter.h"

#include "gtest/gtest.h"

namespace ktlog {
namespace {

TEST(RateLimiterTest, ABurstThenTheRate) {
  FakeClock clock(1000000);
  RateLimiter limiter({/*per_second=*/2, /*burst=*/3}, &clock);
  absl::Duration wait;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Take("a", &wait)) << i;
  EXPECT_FALSE(limiter.Take("a", &wait));
  EXPECT_EQ(wait, absl::Milliseconds(500));
  EXPECT_TRUE(limiter.Take("b", &wait)) << "another key has its own bucket";
  clock.Advance(250);
  EXPECT_FALSE(limiter.Take("a", &wait));
  EXPECT_EQ(wait, absl::Milliseconds(250));
  clock.Advance(250);
  EXPECT_TRUE(limiter.Take("a", &wait));
  EXPECT_FALSE(limiter.Take("a", &wait));
  clock.Advance(3600 * 1000);  // refills to the burst, no further
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Take("a", &wait)) << i;
  EXPECT_FALSE(limiter.Take("a", &wait));
}

TEST(RateLimiterTest, SeveralTokensAtOnce) {
  FakeClock clock(1000000);
  RateLimiter limiter({/*per_second=*/10, /*burst=*/20}, &clock);
  absl::Duration wait;
  EXPECT_TRUE(limiter.Take("a", 15, &wait));
  EXPECT_FALSE(limiter.Take("a", 10, &wait)) << "5 left";
  EXPECT_EQ(wait, absl::Milliseconds(500));
  EXPECT_TRUE(limiter.Take("a", 5, &wait)) << "a refused take takes nothing";
  EXPECT_FALSE(limiter.Take("a", 21, &wait));
  EXPECT_EQ(wait, absl::InfiniteDuration()) << "more than the burst: never";
  clock.Advance(3600 * 1000);
  EXPECT_FALSE(limiter.Take("a", 21, &wait));
  EXPECT_TRUE(limiter.Take("a", 20, &wait));
}

TEST(RateLimiterTest, TakeUpToTakesWhatTheBucketHolds) {
  FakeClock clock(1000000);
  RateLimiter limiter({/*per_second=*/2, /*burst=*/5}, &clock);
  absl::Duration wait;
  EXPECT_EQ(limiter.TakeUpTo("a", 3, &wait), 3u);
  EXPECT_EQ(limiter.TakeUpTo("a", 100, &wait), 2u) << "more than the burst";
  EXPECT_EQ(limiter.TakeUpTo("a", 1, &wait), 0u);
  EXPECT_EQ(wait, absl::Milliseconds(500)) << "until one token";
  clock.Advance(750);  // 1.5 tokens: one whole
  EXPECT_EQ(limiter.TakeUpTo("a", 4, &wait), 1u);
  EXPECT_EQ(limiter.TakeUpTo("a", 4, &wait), 0u);
  EXPECT_EQ(wait, absl::Milliseconds(250));
  EXPECT_FALSE(limiter.Take("a", &wait)) << "the same bucket";
  RateLimiter unlimited({}, &clock);
  EXPECT_EQ(unlimited.TakeUpTo("a", 1000, &wait), 1000u);
}

TEST(RateLimiterTest, UnlimitedTakesEverything) {
  FakeClock clock(0);
  RateLimiter limiter({}, &clock);
  absl::Duration wait;
  for (int i = 0; i < 10000; ++i) ASSERT_TRUE(limiter.Take("a", &wait));
  EXPECT_EQ(limiter.keys(), 0u);
}

TEST(RateLimiterTest, TheTableIsBoundedAndIdleKeysMakeRoom) {
  FakeClock clock(0);
  RateLimiter limiter({/*per_second=*/1, /*burst=*/2}, &clock, /*max_keys=*/3);
  absl::Duration wait;
  for (const char* k : {"a", "b", "c"}) ASSERT_TRUE(limiter.Take(k, &wait));
  EXPECT_EQ(limiter.keys(), 3u);
  // Full and nobody idle: newcomers share the overflow bucket (burst 2).
  EXPECT_TRUE(limiter.Take("d", &wait));
  EXPECT_TRUE(limiter.Take("e", &wait));
  EXPECT_FALSE(limiter.Take("f", &wait));
  EXPECT_EQ(limiter.keys(), 3u);
  // Once the others have refilled, they are dropped for a newcomer.
  clock.Advance(5000);
  EXPECT_TRUE(limiter.Take("g", &wait));
  EXPECT_EQ(limiter.keys(), 1u);
}

TEST(RateLimiterTest, PeerAddressDropsThePort) {
  EXPECT_EQ(PeerAddress("ipv4:10.1.2.3:5555"), "ipv4:10.1.2.3");
  // IPv6 by /64: one host commonly holds a whole /64.
  EXPECT_EQ(PeerAddress("ipv6:[::1]:5555"), "ipv6:[::]/64");
  EXPECT_EQ(PeerAddress("ipv6:[2001:db8:1:2:aaaa::1]:443"),
            "ipv6:[2001:db8:1:2::]/64");
  EXPECT_EQ(PeerAddress("ipv6:[2001:db8:1:2:bbbb::7]"),
            "ipv6:[2001:db8:1:2::]/64");
  EXPECT_EQ(PeerAddress("ipv6:[fe80::1%25eth0]:1"), "ipv6:[fe80::]/64");
  EXPECT_EQ(PeerAddress("ipv6:[not an address]:1"), "ipv6:[not an address]");
  // As gRPC 1.51 writes them: brackets percent-encoded.
  EXPECT_EQ(PeerAddress("ipv6:%5B::1%5D:47016"), "ipv6:[::]/64");
  EXPECT_EQ(PeerAddress("ipv6:%5B2001:db8:1:2:aaaa::1%5D:443"),
            "ipv6:[2001:db8:1:2::]/64");
  EXPECT_EQ(PeerAddress("ipv6:%5Bfe80::1%25eth0%5D:1"), "ipv6:[fe80::]/64");
  EXPECT_EQ(PeerAddress("ipv4:10.1.2.3%"), "ipv4:10.1.2.3%");
  EXPECT_EQ(PeerAddress("unix:/tmp/s"), "unix:/tmp/s");
  EXPECT_EQ(PeerAddress(""), "");
}

}  // namespace
}  // namespace ktlog
