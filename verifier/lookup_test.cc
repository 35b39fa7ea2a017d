// verifier/lookup.h against a log built in memory that can commit to
// anything: the split of duties of docs/witness.md. A record the account
// key did not sign, committed behind a well-formed leaf, passes every check
// an auditor can make on public data (versions, the index recomputed from
// the leaves), and is caught by the owner's history check; a state the log
// forged is caught by a contact's lookup.
#include "verifier/lookup.h"

#include <map>

#include "core/account/commitment.h"
#include "core/account/index_tree.h"
#include "core/account/leaf.h"
#include "core/account/replay.h"
#include "core/merkle/merkle.h"
#include "core/note/log_key.h"
#include "core/testonly/reference_tree.h"
#include "core/util/clock.h"
#include "gtest/gtest.h"
#include "verifier/client_verifier.h"
#include "verifier/memory_log.h"

namespace ktlog {
namespace {

using ::absl::StatusCode;

DeviceRecord Record(Operation op, const std::string& device, uint64_t version,
                    const Ed25519PrivateKey& signer,
                    const std::string& account = "alice@example.com") {
  DeviceRecord r;
  r.operation = op;
  r.account_id = account;
  r.device_id = device;
  r.key = std::string(32, device.empty() ? 'r' : device[0]);
  r.account_version = version;
  r.timestamp_ms = 1000;
  r.Sign(signer);
  return r;
}

// Appends honestly: the state the account rules give.
void Honest(MemoryLog* log, AccountState* state, const DeviceRecord& r,
            uint64_t leaf_index) {
  ASSERT_TRUE(ApplyRecord(r, leaf_index, state).ok());
  log->Append(r, *state);
}

class LookupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Honest(&log_, &state_,
           Record(Operation::kAddDevice, "phone", 1, alice_key_), 0);
    Honest(&log_, &state_,
           Record(Operation::kAddDevice, "laptop", 2, alice_key_), 1);
  }

  absl::Status VerifyHistory() {
    AccountState replay;
    return VerifyAccountHistory(log_.Checkpoint(), log_.vrf_key(),
                                "alice@example.com",
                                log_.History("alice@example.com"), &replay)
        .status();
  }
  absl::Status VerifyLookup() {
    return VerifyAccountLookup(log_.Checkpoint(), log_.vrf_key(),
                               "alice@example.com",
                               log_.Lookup("alice@example.com"))
        .status();
  }

  MemoryLog log_;
  AccountState state_;
  Ed25519PrivateKey alice_key_ = Ed25519PrivateKey::Generate();
  Ed25519PrivateKey mallory_key_ = Ed25519PrivateKey::Generate();
};

TEST_F(LookupTest, AnHonestLogVerifies) {
  EXPECT_TRUE(log_.Audit().ok());
  EXPECT_TRUE(VerifyHistory().ok()) << VerifyHistory();
  EXPECT_TRUE(VerifyLookup().ok()) << VerifyLookup();
}

// The log commits to a device added with a key that is not the account key
// (as if the rules held) and to the state with that device.
TEST_F(LookupTest, ARecordBreakingTheRulesPassesTheAuditorButNotTheOwner) {
  DeviceRecord evil = Record(Operation::kAddDevice, "evil", 3, mallory_key_);
  AccountState claimed = state_;
  claimed.version = 3;
  claimed.devices["evil"] = ActiveDevice{evil.key, 2, 3, evil.Encode()};
  log_.Append(evil, claimed);
  EXPECT_TRUE(log_.Audit().ok()) << "public data looks fine";
  absl::Status owner = VerifyHistory();
  EXPECT_EQ(owner.code(), StatusCode::kDataLoss) << owner;
  EXPECT_NE(owner.message().find("account rules"), std::string::npos) << owner;
  absl::Status contact = VerifyLookup();
  EXPECT_EQ(contact.code(), StatusCode::kDataLoss) << contact;
  EXPECT_NE(contact.message().find("not the account key"), std::string::npos)
      << contact;
}

TEST_F(LookupTest, ARecordWithABadSignatureIsCaughtByTheOwner) {
  DeviceRecord bad = Record(Operation::kAddDevice, "tablet", 3, alice_key_);
  AccountState next = state_;
  ASSERT_TRUE(ApplyRecord(bad, 2, &next).ok());
  bad.signature[7] ^= 1;
  log_.Append(bad, next);
  EXPECT_TRUE(log_.Audit().ok());
  EXPECT_EQ(VerifyHistory().code(), StatusCode::kDataLoss);
}

// The log commits to a state that hides a device its records added: the
// owner's replay does not open the state commitment.
TEST_F(LookupTest, AStateHidingADeviceIsCaughtByTheOwner) {
  DeviceRecord tablet = Record(Operation::kAddDevice, "tablet", 3, alice_key_);
  AccountState honest = state_;
  ASSERT_TRUE(ApplyRecord(tablet, 2, &honest).ok());
  AccountState hidden = honest;
  hidden.devices.erase("tablet");
  log_.Append(tablet, hidden);
  EXPECT_TRUE(log_.Audit().ok());
  EXPECT_TRUE(VerifyLookup().ok()) << "contacts see a consistent state";
  absl::Status owner = VerifyHistory();
  EXPECT_EQ(owner.code(), StatusCode::kDataLoss) << owner;
  EXPECT_NE(owner.message().find("state commitment"), std::string::npos)
      << owner;
}

// A key chain: devices signed by the keys before a rotation verify through
// the chain; without the rotation in the state they do not.
TEST_F(LookupTest, DevicesSignedBeforeARotationVerifyThroughTheChain) {
  Ed25519PrivateKey next = Ed25519PrivateKey::Generate();
  DeviceRecord rotate = Record(Operation::kRotateAccountKey, "", 3, alice_key_);
  rotate.key = next.public_key().bytes();
  rotate.Sign(alice_key_);
  Honest(&log_, &state_, rotate, 2);
  Honest(&log_, &state_, Record(Operation::kAddDevice, "tablet", 4, next), 3);
  auto verified = VerifyAccountLookup(log_.Checkpoint(), log_.vrf_key(),
                                      "alice@example.com",
                                      log_.Lookup("alice@example.com"));
  ASSERT_TRUE(verified.ok()) << verified.status();
  ASSERT_EQ(verified->key_chain.size(), 2u);
  EXPECT_EQ(verified->key_chain[0].second, alice_key_.public_key().bytes());
  EXPECT_EQ(verified->key_chain[1],
            std::make_pair(uint64_t{3}, next.public_key().bytes()));
  EXPECT_EQ(verified->devices.size(), 3u);
  EXPECT_TRUE(VerifyHistory().ok()) << VerifyHistory();

  // The log drops the rotation from the state it commits to.
  AccountState truncated = state_;
  truncated.key_chain.clear();
  truncated.version = 5;
  DeviceRecord watch = Record(Operation::kAddDevice, "watch", 5, next);
  truncated.devices["watch"] = ActiveDevice{watch.key, 4, 5, watch.Encode()};
  log_.Append(watch, truncated);
  EXPECT_EQ(VerifyLookup().code(), StatusCode::kDataLoss);
}

// The log forges a key chain: a key of its own "rotated" into Alice's
// account key, and a device signed by it, committed in a new state. The
// chain names a leaf that does not hold that rotation: the contact's lookup
// catches it.
TEST_F(LookupTest, AForgedKeyChainIsCaughtByAContact) {
  DeviceRecord evil = Record(Operation::kAddDevice, "evil", 2, mallory_key_);
  DeviceRecord rotate =
      Record(Operation::kRotateAccountKey, "", 3, mallory_key_);
  rotate.key = alice_key_.public_key().bytes();
  rotate.Sign(mallory_key_);
  AccountState forged = state_;
  forged.version = 3;
  forged.devices.erase("phone");
  forged.devices["evil"] = ActiveDevice{evil.key, 0, 2, evil.Encode()};
  forged.key_chain = {ChainedRotation{1, 3, rotate.Encode()}};
  DeviceRecord next = Record(Operation::kAddDevice, "tablet", 3, alice_key_);
  log_.Append(next, forged);
  EXPECT_TRUE(log_.Audit().ok());
  absl::Status contact = VerifyLookup();
  EXPECT_EQ(contact.code(), StatusCode::kDataLoss) << contact;
  EXPECT_NE(contact.message().find("not the account's record"),
            std::string::npos)
      << contact;
  EXPECT_EQ(VerifyHistory().code(), StatusCode::kDataLoss);
}

// The log appends the forged rotation as the account's next record, so the
// chain is anchored: a contact cannot tell, and the owner's history does.
TEST_F(LookupTest, AForgedRotationInTheLogIsCaughtByTheOwner) {
  DeviceRecord evil = Record(Operation::kAddDevice, "evil", 2, mallory_key_);
  DeviceRecord rotate =
      Record(Operation::kRotateAccountKey, "", 3, mallory_key_);
  rotate.key = alice_key_.public_key().bytes();
  rotate.Sign(mallory_key_);
  AccountState forged = state_;
  forged.version = 3;
  forged.devices.clear();  // Alice's devices were signed by her key
  forged.devices["evil"] = ActiveDevice{evil.key, 0, 2, evil.Encode()};
  forged.key_chain = {ChainedRotation{2, 3, rotate.Encode()}};
  log_.Append(rotate, forged);
  EXPECT_TRUE(log_.Audit().ok());
  EXPECT_TRUE(VerifyLookup().ok()) << VerifyLookup();
  absl::Status owner = VerifyHistory();
  EXPECT_EQ(owner.code(), StatusCode::kDataLoss) << owner;
  EXPECT_NE(owner.message().find("account rules"), std::string::npos) << owner;
}

// A record the log committed to that is not even well-formed is evidence,
// not a malformed answer (which would raise no alert and stall the owner).
TEST_F(LookupTest, ACommittedMalformedRecordIsEvidence) {
  AccountState next = state_;
  next.version = 3;
  log_.AppendBytes("alice@example.com", "not a record", next);
  EXPECT_TRUE(log_.Audit().ok());
  absl::Status owner = VerifyHistory();
  EXPECT_EQ(owner.code(), StatusCode::kDataLoss) << owner;
  EXPECT_NE(owner.message().find("malformed"), std::string::npos) << owner;
}

// Without a witness policy a client cannot check the index's evolution,
// but it remembers each contact's version: a log that shows an older state
// of the contact is caught.
TEST_F(LookupTest, AContactGoingBackToAnOlderStateIsCaught) {
  Ed25519PrivateKey bob_key = Ed25519PrivateKey::Generate();
  AccountState bob;
  Honest(&log_, &bob, Record(Operation::kAddDevice, "phone", 1, bob_key, "bob"),
         2);
  Honest(&log_, &bob,
         Record(Operation::kRemoveDevice, "phone", 2, bob_key, "bob"), 3);
  ClientState state;
  state.log_key = log_.LogKey();
  state.account_id = "carol@example.com";
  ClientVerifier client(&state, &log_, RealClock::Get());
  auto cp = client.UpdateCheckpoint();
  ASSERT_TRUE(cp.ok()) << cp.status();
  ASSERT_TRUE(client.AddContact(*cp, "bob").ok());
  ASSERT_EQ(state.contacts["bob"].seen_version, 2u);
  // The log shows bob's version 1 again (his removed phone back).
  log_.RollBack("bob", 1);
  Honest(&log_, &state_, Record(Operation::kAddDevice, "tablet", 3, alice_key_),
         4);
  EXPECT_EQ(client.MonitorOnce().code(), StatusCode::kDataLoss);
  ASSERT_EQ(client.raised().size(), 1u);
  EXPECT_EQ(client.raised()[0].type, AlertType::kInvalidProof);
  EXPECT_NE(client.raised()[0].message.find("went back"), std::string::npos)
      << client.raised()[0].message;
}

}  // namespace
}  // namespace ktlog
