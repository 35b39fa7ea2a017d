#include "core/account/replay.h"

#include "gtest/gtest.h"

namespace ktlog {
namespace {

class MapSource : public AccountSource {
 public:
  absl::StatusOr<std::optional<AccountState>> LoadAccount(
      const std::string& id) override {
    ++loads;
    if (id == "broken") return absl::UnavailableError("disk on fire");
    auto it = accounts.find(id);
    if (it == accounts.end()) return std::optional<AccountState>();
    return std::optional<AccountState>(it->second);
  }
  std::map<std::string, AccountState> accounts;
  int loads = 0;
};

DeviceRecord Add(const std::string& id, const std::string& device,
                 uint64_t version, const Ed25519PrivateKey& key) {
  DeviceRecord r;
  r.operation = Operation::kAddDevice;
  r.account_id = id;
  r.device_id = device;
  r.key = std::string(32, 'k');
  r.account_version = version;
  r.timestamp_ms = 1;
  r.Sign(key);
  return r;
}

TEST(AccountReplayTest, AppliesInOrderAndReportsWhatChanged) {
  Ed25519PrivateKey key = Ed25519PrivateKey::Generate();
  MapSource source;
  AccountReplay replay(&source);
  ASSERT_TRUE(replay.Load("alice").ok());
  ASSERT_TRUE(replay.Apply(Add("alice", "phone", 1, key), 0).ok());
  ASSERT_TRUE(replay.Load("alice").ok());  // loaded once
  ASSERT_TRUE(replay.Apply(Add("alice", "laptop", 2, key), 1).ok());
  EXPECT_EQ(source.loads, 1);
  // A record the rules refuse changes nothing.
  ASSERT_TRUE(replay.Load("bob").ok());
  EXPECT_EQ(replay.Apply(Add("bob", "phone", 2, key), 2).code(),
            absl::StatusCode::kNotFound);
  std::vector<AccountState> changed = replay.Changed();
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_EQ(changed[0].account_id, "alice");
  EXPECT_EQ(changed[0].version, 2u);
  EXPECT_EQ(changed[0].devices.size(), 2u);
  // After ClearChanges, states stay loaded and the next record follows on.
  replay.ClearChanges();
  EXPECT_TRUE(replay.Changed().empty());
  ASSERT_TRUE(replay.Apply(Add("alice", "tablet", 3, key), 3).ok());
  EXPECT_EQ(replay.State("alice").version, 3u);
  EXPECT_EQ(source.loads, 2);
}

TEST(AccountReplayTest, StartsFromTheSourcesStateAndPassesItsErrors) {
  Ed25519PrivateKey key = Ed25519PrivateKey::Generate();
  MapSource source;
  AccountState alice;
  alice.account_id = "alice";
  alice.account_key = key.public_key().bytes();
  alice.version = 4;
  source.accounts["alice"] = alice;
  AccountReplay replay(&source);
  ASSERT_TRUE(replay.Load("alice").ok());
  EXPECT_EQ(replay.Apply(Add("alice", "x", 1, key), 9).code(),
            absl::StatusCode::kFailedPrecondition)
      << "version 1 of an account at version 4";
  EXPECT_TRUE(replay.Apply(Add("alice", "x", 5, key), 9).ok());
  EXPECT_EQ(replay.Load("broken").code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(replay.Apply(Add("broken", "x", 1, key), 10).code(),
            absl::StatusCode::kInternal)
      << "Apply before a successful Load is a programming error";
  replay.Reset();
  EXPECT_EQ(replay.loaded(), 0u);
}

}  // namespace
}  // namespace ktlog
