// verifier/lookup.h against a log built in memory that can commit to
// anything: the split of duties of docs/witness.md. A record the account
// key did not sign, committed behind a well-formed leaf, passes every check
// an auditor can make on public data (versions, the index recomputed from
// the leaves), and is caught by the owner's history check; a state the log
// forged, or a key it made up, is caught by a contact's lookup: the state's
// authority must descend by signatures from the account's first record.
#include "verifier/lookup.h"

#include <map>

#include "core/account/commitment.h"
#include "core/account/index_tree.h"
#include "core/account/leaf.h"
#include "core/account/replay.h"
#include "core/merkle/merkle.h"
#include "core/note/log_key.h"
#include "core/testonly/reference_tree.h"
#include "core/testonly/test_vectors.h"
#include "core/util/bytes.h"
#include "core/util/clock.h"
#include "gtest/gtest.h"
#include "verifier/client_verifier.h"
#include "verifier/memory_log.h"
#include "verifier/refusal.h"

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
  // A contact's lookup: with the first-record anchor (a fresh contact), or
  // with the first key it verified before and no anchor.
  absl::StatusOr<VerifiedAccount> LookUp(const std::string& known = "") {
    return VerifyAccountLookup(
        log_.Checkpoint(), log_.vrf_key(), "alice@example.com",
        log_.Lookup("alice@example.com", known.empty()), known);
  }
  absl::Status VerifyLookup() { return LookUp().status(); }
  // Both ways: a fresh contact and one that knows Alice's first key.
  void ExpectLookupsRefused(Refusal why) {
    for (const std::string& known : {std::string(), alice_first()}) {
      absl::Status s = LookUp(known).status();
      EXPECT_EQ(s.code(), StatusCode::kDataLoss) << s;
      EXPECT_EQ(RefusalOf(s), why) << s;
    }
  }
  std::string alice_first() const { return alice_key_.public_key().bytes(); }

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
  EXPECT_EQ(RefusalOf(owner), Refusal::kBrokenAccountRules) << owner;
  ExpectLookupsRefused(Refusal::kUnauthorizedDevice);
}

TEST_F(LookupTest, ARecordWithABadSignatureIsCaughtByTheOwner) {
  DeviceRecord bad = Record(Operation::kAddDevice, "tablet", 3, alice_key_);
  AccountState next = state_;
  ASSERT_TRUE(ApplyRecord(bad, 2, &next).ok());
  bad.signature[7] ^= 1;
  log_.Append(bad, next);
  EXPECT_TRUE(log_.Audit().ok());
  EXPECT_EQ(VerifyHistory().code(), StatusCode::kDataLoss);
  EXPECT_EQ(RefusalOf(VerifyHistory()), Refusal::kBadRecordSignature);
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
  EXPECT_EQ(RefusalOf(owner), Refusal::kBadCommitment) << owner;
}

// A key chain: devices signed by the keys before a rotation verify through
// the chain from the first key; a state that drops the rotation does not.
TEST_F(LookupTest, DevicesSignedBeforeARotationVerifyThroughTheChain) {
  Ed25519PrivateKey next = Ed25519PrivateKey::Generate();
  DeviceRecord rotate = Record(Operation::kRotateAccountKey, "", 3, alice_key_);
  rotate.key = next.public_key().bytes();
  rotate.Sign(alice_key_);
  Honest(&log_, &state_, rotate, 2);
  Honest(&log_, &state_, Record(Operation::kAddDevice, "tablet", 4, next), 3);
  for (const std::string& known : {std::string(), alice_first()}) {
    auto verified = LookUp(known);
    ASSERT_TRUE(verified.ok()) << verified.status();
    ASSERT_EQ(verified->key_chain.size(), 2u);
    EXPECT_EQ(verified->key_chain[0],
              std::make_pair(uint64_t{0}, alice_key_.public_key().bytes()));
    EXPECT_EQ(verified->key_chain[1],
              std::make_pair(uint64_t{3}, next.public_key().bytes()));
    EXPECT_EQ(verified->current_key_record, Sha256(rotate.Encode()));
    EXPECT_EQ(verified->devices.size(), 3u);
  }
  EXPECT_TRUE(VerifyHistory().ok()) << VerifyHistory();

  // The log drops the rotation from the state it commits to.
  AccountState truncated = state_;
  truncated.key_chain.clear();
  truncated.version = 5;
  DeviceRecord watch = Record(Operation::kAddDevice, "watch", 5, next);
  truncated.devices["watch"] = ActiveDevice{watch.key, 4, 5, watch.Encode()};
  log_.Append(watch, truncated);
  ExpectLookupsRefused(Refusal::kBrokenKeyChain);
}

// Every rotation stays in the chain, even once the devices added before it
// are gone (format 2 trimmed it and so lost the way back to the first key).
TEST_F(LookupTest, TheChainKeepsEveryRotation) {
  Ed25519PrivateKey next = Ed25519PrivateKey::Generate();
  DeviceRecord rotate = Record(Operation::kRotateAccountKey, "", 3, alice_key_);
  rotate.key = next.public_key().bytes();
  rotate.Sign(alice_key_);
  Honest(&log_, &state_, rotate, 2);
  Honest(&log_, &state_, Record(Operation::kAddDevice, "tablet", 4, next), 3);
  DeviceRecord phone = Record(Operation::kRemoveDevice, "phone", 5, next);
  phone.key = std::string(32, 'p');
  phone.Sign(next);
  Honest(&log_, &state_, phone, 4);
  DeviceRecord laptop = Record(Operation::kRemoveDevice, "laptop", 6, next);
  Honest(&log_, &state_, laptop, 5);
  ASSERT_EQ(state_.devices.size(), 1u);
  ASSERT_EQ(state_.key_chain.size(), 1u);
  EXPECT_EQ(state_.first_key, alice_first());
  auto verified = LookUp();
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->key_chain.size(), 2u);
}

// The review's attack (issue 27, 1): the log invents a key K_fake, appends
// Alice's next version as a rotation from K_fake to her key K_A (signed by
// K_fake) and commits to a state that keeps K_A, lists that rotation and
// holds a device signed by K_fake "at version 1". The rotation is really
// in the log at Alice's position, so anchoring each rotation proved
// nothing; its signer does not descend from Alice's first key.
TEST_F(LookupTest, AMadeUpPredecessorKeyIsRefused) {
  DeviceRecord evil = Record(Operation::kAddDevice, "evil", 1, mallory_key_);
  DeviceRecord rotate =
      Record(Operation::kRotateAccountKey, "", 3, mallory_key_);
  rotate.key = alice_first();
  rotate.Sign(mallory_key_);
  AccountState forged = state_;
  forged.version = 3;
  forged.devices["evil"] = ActiveDevice{evil.key, 0, 1, evil.Encode()};
  forged.key_chain = {ChainedRotation{2, 3, rotate.Encode()}};
  log_.Append(rotate, forged);
  EXPECT_TRUE(log_.Audit().ok()) << "public data looks fine";
  ExpectLookupsRefused(Refusal::kBrokenKeyChain);
  // The same with the made-up key as the state's first key: the account's
  // version-1 leaf says otherwise, and a contact that knows the first key
  // needs no anchor to see it.
  forged.first_key = mallory_key_.public_key().bytes();
  forged.version = 4;
  log_.Append(rotate, forged);
  absl::Status fresh = VerifyLookup();
  EXPECT_EQ(fresh.code(), StatusCode::kDataLoss) << fresh;
  EXPECT_EQ(RefusalOf(fresh), Refusal::kBrokenKeyChain) << fresh;
  absl::Status known = LookUp(alice_first()).status();
  EXPECT_EQ(known.code(), StatusCode::kDataLoss) << known;
  EXPECT_EQ(RefusalOf(known), Refusal::kBrokenKeyChain) << known;
  EXPECT_EQ(VerifyHistory().code(), StatusCode::kDataLoss);
}

// A log that resets the account (a new key and only its own device, in
// the one history, which every witness cosigns) is refused by a contact
// who never saw the account: the new key does not descend from the first.
TEST_F(LookupTest, AResetAccountIsRefusedByAFreshContact) {
  DeviceRecord evil = Record(Operation::kAddDevice, "evil", 3, mallory_key_);
  AccountState reset;
  reset.account_id = "alice@example.com";
  reset.first_key = alice_first();
  reset.account_key = mallory_key_.public_key().bytes();
  reset.version = 3;
  reset.devices["evil"] = ActiveDevice{evil.key, 2, 3, evil.Encode()};
  log_.Append(evil, reset);
  EXPECT_TRUE(log_.Audit().ok());
  ExpectLookupsRefused(Refusal::kBrokenKeyChain);
  reset.first_key = reset.account_key;
  reset.version = 4;
  log_.Append(evil, reset);
  absl::Status fresh = VerifyLookup();
  EXPECT_EQ(fresh.code(), StatusCode::kDataLoss) << fresh;
  EXPECT_EQ(RefusalOf(fresh), Refusal::kBrokenKeyChain) << fresh;
}

// The anchor must be there when the first key is not known, must be the
// account's version-1 leaf, and must open to its record.
TEST_F(LookupTest, TheFirstRecordAnchorIsChecked) {
  AccountLookupAnswer bare = log_.Lookup("alice@example.com", false);
  absl::Status no_anchor =
      VerifyAccountLookup(log_.Checkpoint(), log_.vrf_key(),
                          "alice@example.com", bare, "")
          .status();
  EXPECT_EQ(no_anchor.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(RefusalOf(no_anchor), Refusal::kMalformedAnswer);
  EXPECT_TRUE(VerifyAccountLookup(log_.Checkpoint(), log_.vrf_key(),
                                  "alice@example.com", bare, alice_first())
                  .ok());
  // The version-2 entry offered as the anchor.
  AccountLookupAnswer second = log_.Lookup("alice@example.com", true);
  AccountHistoryAnswer history = log_.History("alice@example.com");
  second.first_record = history.entries[1];
  second.first_record->state_opening.clear();
  EXPECT_EQ(VerifyAccountLookup(log_.Checkpoint(), log_.vrf_key(),
                                "alice@example.com", second, "")
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  // The right leaf with another record (the laptop's, signed by Alice).
  AccountLookupAnswer other = log_.Lookup("alice@example.com", true);
  other.first_record->record = history.entries[1].record;
  absl::Status s = VerifyAccountLookup(log_.Checkpoint(), log_.vrf_key(),
                                       "alice@example.com", other, "")
                       .status();
  EXPECT_EQ(s.code(), StatusCode::kDataLoss) << s;
  EXPECT_EQ(RefusalOf(s), Refusal::kBadCommitment) << s;
  // An absent account with an anchor.
  AccountLookupAnswer absent = log_.Lookup("nobody@example.com", true);
  absent.first_record = history.entries[0];
  EXPECT_EQ(VerifyAccountLookup(log_.Checkpoint(), log_.vrf_key(),
                                "nobody@example.com", absent, "")
                .status()
                .code(),
            StatusCode::kInvalidArgument);
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
  EXPECT_EQ(RefusalOf(owner), Refusal::kBrokenAccountRules) << owner;
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
  absl::Status s = client.MonitorOnce();
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_EQ(RefusalOf(s), Refusal::kInconsistentAccount) << s;
  ASSERT_EQ(client.raised().size(), 1u);
  EXPECT_EQ(client.raised()[0].type, AlertType::kInvalidProof);
  EXPECT_EQ(client.raised()[0].evidence["reason"], "INCONSISTENT_ACCOUNT");
  EXPECT_EQ(client.raised()[0].evidence["seen_version"], 2);
}

// A thief with one of Alice's *older* keys (a phone lost before she rotated)
// and the log's help signs a device dated before the rotation, so that it
// verifies through the chain. Bob, who looked Alice up after that version,
// knows she had no such device then: the state does not follow from the one
// he saw (INVALID_PROOF). A fresh contact cannot tell
// (docs/threat-model.md); Alice's history can.
TEST_F(LookupTest, ABackdatedDeviceOfAStolenOldKeyIsCaughtByAContact) {
  Ed25519PrivateKey next = Ed25519PrivateKey::Generate();
  DeviceRecord rotate = Record(Operation::kRotateAccountKey, "", 3, alice_key_);
  rotate.key = next.public_key().bytes();
  rotate.Sign(alice_key_);
  Honest(&log_, &state_, rotate, 2);
  ClientState bob;
  bob.log_key = log_.LogKey();
  bob.account_id = "bob@example.com";
  ClientVerifier client(&bob, &log_, RealClock::Get());
  auto cp = client.UpdateCheckpoint();
  ASSERT_TRUE(cp.ok()) << cp.status();
  ASSERT_TRUE(
      client.VerifyContact(*cp, "alice@example.com", next.public_key().bytes())
          .ok());
  DeviceRecord evil = Record(Operation::kAddDevice, "evil", 2, alice_key_);
  AccountState forged = state_;
  forged.version = 4;
  forged.devices["evil"] = ActiveDevice{evil.key, 3, 2, evil.Encode()};
  log_.Append(evil, forged);
  EXPECT_TRUE(log_.Audit().ok());
  EXPECT_TRUE(VerifyLookup().ok()) << "a fresh contact cannot tell";
  cp = client.UpdateCheckpoint();
  ASSERT_TRUE(cp.ok()) << cp.status();
  for (int i = 0; i < 2; ++i) {
    absl::Status s = client.MonitorContacts(*cp);
    EXPECT_EQ(s.code(), StatusCode::kDataLoss) << s;
    EXPECT_EQ(RefusalOf(s), Refusal::kInconsistentAccount) << s;
  }
  ASSERT_EQ(client.raised().size(), 1u);
  EXPECT_EQ(client.raised()[0].type, AlertType::kInvalidProof);
  EXPECT_EQ(VerifyHistory().code(), StatusCode::kDataLoss) << "Alice can";
}

// The review of the fixes (finding 1): a log that shows, under a new
// version, an earlier state of the account (a device removed since back,
// or the state from before a rotation) passes every signature check; a
// contact who saw the account since refuses it, whether verified or not.
TEST_F(LookupTest, AnEarlierStateUnderANewVersionIsCaughtByAContact) {
  AccountState with_phone = state_;  // phone and laptop, version 2
  DeviceRecord removal =
      Record(Operation::kRemoveDevice, "phone", 3, alice_key_);
  removal.key = std::string(32, 'p');
  removal.Sign(alice_key_);
  Honest(&log_, &state_, removal, 2);
  ClientState carol;
  carol.log_key = log_.LogKey();
  carol.account_id = "carol@example.com";
  ClientVerifier client(&carol, &log_, RealClock::Get());
  auto cp = client.UpdateCheckpoint();
  ASSERT_TRUE(cp.ok()) << cp.status();
  ASSERT_TRUE(client.AddContact(*cp, "alice@example.com").ok());
  // Version 4 commits to the state of version 2: the phone is back.
  AccountState back = with_phone;
  back.version = 4;
  log_.Append(removal, back);
  cp = client.UpdateCheckpoint();
  ASSERT_TRUE(cp.ok()) << cp.status();
  absl::Status s = client.MonitorContacts(*cp);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss) << s;
  EXPECT_EQ(RefusalOf(s), Refusal::kInconsistentAccount) << s;
  EXPECT_EQ(client.raised()[0].evidence["seen_devices"], 1) << "the laptop";
  ASSERT_EQ(client.raised().size(), 1u);
  EXPECT_EQ(client.raised()[0].type, AlertType::kInvalidProof);
}

TEST_F(LookupTest, AStateFromBeforeARotationIsCaughtByAContact) {
  AccountState before = state_;
  Ed25519PrivateKey next = Ed25519PrivateKey::Generate();
  DeviceRecord rotate = Record(Operation::kRotateAccountKey, "", 3, alice_key_);
  rotate.key = next.public_key().bytes();
  rotate.Sign(alice_key_);
  Honest(&log_, &state_, rotate, 2);
  ClientState bob;
  bob.log_key = log_.LogKey();
  bob.account_id = "bob@example.com";
  ClientVerifier client(&bob, &log_, RealClock::Get());
  auto cp = client.UpdateCheckpoint();
  ASSERT_TRUE(cp.ok()) << cp.status();
  ASSERT_TRUE(
      client.VerifyContact(*cp, "alice@example.com", next.public_key().bytes())
          .ok());
  AccountState rolled = before;  // the old key, no rotation
  rolled.version = 4;
  log_.Append(rotate, rolled);
  cp = client.UpdateCheckpoint();
  ASSERT_TRUE(cp.ok()) << cp.status();
  absl::Status s = client.MonitorContacts(*cp);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss) << s;
  EXPECT_EQ(RefusalOf(s), Refusal::kInconsistentAccount) << s;
}

// Issue 27, 5: alerts are keyed on what the log cannot relabel. A thief
// rotated Alice's key away from the one Bob verified; two devices of the
// thief's key that the log lists under the same leaf index are two alerts
// (the key used to be the state's leaf index).
TEST_F(LookupTest, AnUnvouchedDeviceUnderAnotherDevicesLeafIndexAlertsAgain) {
  ClientState bob;
  bob.log_key = log_.LogKey();
  bob.account_id = "bob@example.com";
  ClientVerifier client(&bob, &log_, RealClock::Get());
  auto cp = client.UpdateCheckpoint();
  ASSERT_TRUE(cp.ok()) << cp.status();
  ASSERT_TRUE(client
                  .VerifyContact(*cp, "alice@example.com",
                                 alice_key_.public_key().bytes())
                  .ok());
  Ed25519PrivateKey thief = Ed25519PrivateKey::Generate();
  DeviceRecord rotate = Record(Operation::kRotateAccountKey, "", 3, alice_key_);
  rotate.key = thief.public_key().bytes();
  rotate.Sign(alice_key_);
  Honest(&log_, &state_, rotate, 2);
  for (const char* device : {"evil1", "evil2"}) {
    uint64_t version = state_.version + 1;
    DeviceRecord evil = Record(Operation::kAddDevice, device, version, thief);
    AccountState forged = state_;
    forged.version = version;
    forged.devices[device] = ActiveDevice{evil.key, 7, version, evil.Encode()};
    state_ = forged;
    log_.Append(evil, forged);
    cp = client.UpdateCheckpoint();
    ASSERT_TRUE(cp.ok()) << cp.status();
    EXPECT_EQ(client.MonitorContacts(*cp).code(), StatusCode::kDataLoss);
  }
  std::vector<std::string> device_alerts;
  for (const Alert& a : client.raised()) {
    if (a.type == AlertType::kContactDeviceUnsigned) {
      device_alerts.push_back(a.id);
    }
  }
  ASSERT_EQ(device_alerts.size(), 2u);
  EXPECT_NE(device_alerts[0], device_alerts[1]);
}

// The independent Python implementation's vectors (tools/vectors/
// gen_private_vectors.py): the first-record anchor of the history's account
// verifies against its tree, the final state's authority verifies, and
// every state the vectors mark unauthorised is refused, by its signatures
// alone or, for a state consistent in itself, by the anchor.
// An erased account: its erasure leaf in the index, and nothing else. A log
// that shows another leaf as the erasure, or an erasure the index does not
// hold, is refused.
TEST_F(LookupTest, AnErasureIsProvedByItsLeafInTheIndex) {
  log_.Erase("alice@example.com");
  EXPECT_TRUE(log_.Audit().ok());
  for (const std::string& known : {std::string(), alice_first()}) {
    auto found = LookUp(known);
    ASSERT_TRUE(found.ok()) << found.status();
    EXPECT_FALSE(found->state.has_value());
    EXPECT_EQ(found->erased_version, std::optional<uint64_t>(3));
    EXPECT_TRUE(found->devices.empty());
  }
  AccountLookupAnswer honest = log_.Lookup("alice@example.com", false);
  auto verify = [&](const AccountLookupAnswer& a) {
    return VerifyAccountLookup(log_.Checkpoint(), log_.vrf_key(),
                               "alice@example.com", a, alice_first())
        .status();
  };
  // Alice's last real leaf shown as the erasure: no erasure leaf.
  AccountLookupAnswer forged = honest;
  forged.erased_leaf = log_.History("alice@example.com").entries[1].leaf;
  EXPECT_EQ(RefusalOf(verify(forged)), Refusal::kMalformedAnswer);
  // An erasure leaf of another version than the index holds.
  absl::StatusOr<Leaf> leaf = DecodeLeaf(honest.erased_leaf);
  ASSERT_TRUE(leaf.ok());
  leaf->version = 2;
  forged.erased_leaf = leaf->Encode();
  absl::Status refused = verify(forged);
  EXPECT_EQ(refused.code(), StatusCode::kDataLoss) << refused;
  EXPECT_EQ(RefusalOf(refused), Refusal::kBadIndexProof) << refused;
  // A state beside the erasure.
  forged = honest;
  forged.account_state = state_.Encode();
  EXPECT_EQ(RefusalOf(verify(forged)), Refusal::kMalformedAnswer);
}

// The log as a LogSource that answers batches itself: records each batch
// and lets a test change an answer.
class BatchingLog : public MemoryLog {
 public:
  std::vector<absl::StatusOr<AccountLookupAnswer>> LookupAccounts(
      const std::vector<LookupAsk>& asks, uint64_t tree_size) override {
    batches.push_back(asks);
    std::vector<absl::StatusOr<AccountLookupAnswer>> out =
        MemoryLog::LookupAccounts(asks, tree_size);
    if (on_answer) {
      for (size_t i = 0; i < out.size(); ++i) on_answer(asks[i], &out[i]);
    }
    return out;
  }

  std::vector<std::vector<LookupAsk>> batches;
  std::function<void(const LookupAsk&, absl::StatusOr<AccountLookupAnswer>*)>
      on_answer;
};

// A client monitors every contact with one batch, asking for the anchor of
// those it has not verified yet; an answer that does not verify alerts
// about that contact only, and a refused one is that contact's error.
TEST(MonitorContactsTest, OneBatchForEveryContactEachVerifiedAlone) {
  BatchingLog log;
  Ed25519PrivateKey alice = Ed25519PrivateKey::Generate();
  Ed25519PrivateKey dave = Ed25519PrivateKey::Generate();
  AccountState alices, daves;
  Honest(&log, &alices,
         Record(Operation::kAddDevice, "phone", 1, alice, "alice@example.com"),
         0);
  Honest(&log, &daves,
         Record(Operation::kAddDevice, "phone", 1, dave, "dave@example.com"),
         1);
  ClientState bob;
  bob.log_key = log.LogKey();
  bob.account_id = "bob@example.com";
  ClientVerifier client(&bob, &log, RealClock::Get());
  auto cp = client.UpdateCheckpoint();
  ASSERT_TRUE(cp.ok()) << cp.status();
  bob.contacts["alice@example.com"];
  bob.contacts["dave@example.com"];
  bob.contacts["nobody@example.com"];
  EXPECT_TRUE(client.MonitorContacts(*cp).ok()) << "nobody is proved absent";
  ASSERT_EQ(log.batches.size(), 1u);
  ASSERT_EQ(log.batches[0].size(), 3u);
  EXPECT_EQ(log.batches[0][0].account_id, "alice@example.com");
  EXPECT_TRUE(log.batches[0][0].with_first_record);
  EXPECT_EQ(bob.contacts["dave@example.com"].seen_version, 1u);
  EXPECT_TRUE(client.raised().empty());

  // Next time: no anchors (the first keys are known). Alice's answer is
  // forged, Dave's is refused: one alert, about Alice; Dave keeps what was
  // seen.
  bob.contacts.erase("nobody@example.com");
  log.on_answer = [](const LookupAsk& ask,
                     absl::StatusOr<AccountLookupAnswer>* a) {
    if (ask.account_id == "alice@example.com") {
      (*a)->state_opening[5] ^= 1;
    } else {
      *a = absl::UnavailableError("the log is busy");
    }
  };
  absl::Status s = client.MonitorContacts(*cp);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss) << s;
  ASSERT_EQ(log.batches.size(), 2u);
  for (const LookupAsk& ask : log.batches[1]) {
    EXPECT_FALSE(ask.with_first_record) << ask.account_id;
  }
  ASSERT_EQ(client.raised().size(), 1u);
  EXPECT_EQ(client.raised()[0].type, AlertType::kInvalidProof);
  EXPECT_EQ(client.raised()[0].account, "alice@example.com");
  EXPECT_EQ(bob.contacts["dave@example.com"].seen_version, 1u);

  // A contact the log does not answer for is named; the log's own
  // DATA_LOSS is no verification failure.
  log.on_answer = [](const LookupAsk& ask,
                     absl::StatusOr<AccountLookupAnswer>* a) {
    if (ask.account_id == "dave@example.com") {
      *a = absl::DataLossError("the log lost it");
    }
  };
  EXPECT_EQ(client.MonitorContacts(*cp),
            absl::UnknownError(
                "contact dave@example.com was not checked: the log lost it"));
  // A log without LookupAccounts: each contact looked up alone.
  log.on_answer = [](const LookupAsk&, absl::StatusOr<AccountLookupAnswer>* a) {
    *a = absl::UnimplementedError("unknown method LookupAccounts");
  };
  Honest(&log, &daves,
         Record(Operation::kAddDevice, "tablet", 2, dave, "dave@example.com"),
         2);
  cp = client.UpdateCheckpoint();
  ASSERT_TRUE(cp.ok()) << cp.status();
  EXPECT_TRUE(client.MonitorContacts(*cp).ok());
  EXPECT_EQ(bob.contacts["dave@example.com"].seen_version, 2u);
  EXPECT_EQ(client.raised().size(), 1u);
}

// A log that answers only part of each batch (a rate limit that an app's
// transport cannot wait out) still gets every contact checked in turn:
// the contacts answered longest ago are asked for first.
TEST(MonitorContactsTest, ContactsAnsweredLongestAgoAreAskedFirst) {
  BatchingLog log;
  std::vector<std::string> ids = {"a@example.com", "b@example.com",
                                  "c@example.com"};
  for (size_t i = 0; i < ids.size(); ++i) {
    AccountState state;
    Honest(&log, &state,
           Record(Operation::kAddDevice, "phone", 1,
                  Ed25519PrivateKey::Generate(), ids[i]),
           i);
  }
  ClientState bob;
  bob.log_key = log.LogKey();
  bob.account_id = "bob@example.com";
  FakeClock clock(RealClock::Get()->NowMillis());
  ClientVerifier client(&bob, &log, &clock);
  auto cp = client.UpdateCheckpoint();
  ASSERT_TRUE(cp.ok()) << cp.status();
  for (const std::string& id : ids) bob.contacts[id];
  int answered = 0;  // the log answers the first account of each batch
  log.on_answer = [&answered](const LookupAsk&,
                              absl::StatusOr<AccountLookupAnswer>* a) {
    if (answered++ > 0) *a = absl::ResourceExhaustedError("rate limit");
  };
  std::vector<std::string> first_asked;
  for (int pass = 0; pass < 3; ++pass) {
    answered = 0;
    EXPECT_EQ(client.MonitorContacts(*cp).code(),
              StatusCode::kResourceExhausted);
    first_asked.push_back(log.batches.back()[0].account_id);
    clock.Advance(1000);
  }
  EXPECT_EQ(first_asked, ids) << "each contact in turn";
  for (const std::string& id : ids) {
    EXPECT_EQ(bob.contacts[id].seen_version, 1u) << id;
  }
  EXPECT_TRUE(client.raised().empty());
}

TEST(LookupVectorsTest, FirstRecordAnchorAndUnauthorisedStates) {
  nlohmann::json v = LoadJsonTestData("ktlog/private.json");
  const nlohmann::json& a = v["first_record_anchor"];
  LogCheckpoint cp;
  cp.size = a["tree_size"];
  cp.root = *Hash::FromHex(a["log_root"].get<std::string>());
  Hash position = *Hash::FromHex(a["position"].get<std::string>());
  HistoryEntryAnswer anchor;
  anchor.leaf_index = a["leaf_index"];
  anchor.leaf = Unhex(a["leaf"]);
  for (const auto& h : a["inclusion_proof"]) {
    anchor.inclusion_proof.push_back(*Hash::FromHex(h.get<std::string>()));
  }
  anchor.record = Unhex(a["record"]);
  anchor.record_opening = Unhex(a["record_opening"]);
  auto final_state =
      DecodeAccountState(Unhex(v["history"].back()["account_state"]));
  ASSERT_TRUE(final_state.ok()) << final_state.status();
  EXPECT_EQ(HexEncode(final_state->first_key), a["first_key"]);
  EXPECT_TRUE(VerifyFirstRecordAnchor(cp, position, *final_state, anchor).ok());
  EXPECT_TRUE(VerifyAccountAuthority(*final_state).ok());
  // The anchor at another position, or with a flipped opening.
  EXPECT_EQ(
      VerifyFirstRecordAnchor(cp, Sha256("elsewhere"), *final_state, anchor)
          .code(),
      StatusCode::kDataLoss);
  HistoryEntryAnswer bad = anchor;
  bad.record_opening[0] ^= 1;
  EXPECT_EQ(VerifyFirstRecordAnchor(cp, position, *final_state, bad).code(),
            StatusCode::kDataLoss);

  ASSERT_GE(v["unauthorised_states"].size(), 5u);
  for (const auto& u : v["unauthorised_states"]) {
    SCOPED_TRACE(u["why"].get<std::string>());
    auto state = DecodeAccountState(Unhex(u["state"]));
    ASSERT_TRUE(state.ok()) << "well-formed: " << state.status();
    absl::Status authority = VerifyAccountAuthority(*state).status();
    absl::Status anchored =
        VerifyFirstRecordAnchor(cp, position, *state, anchor);
    if (u["refused_without_first_record"]) {
      EXPECT_EQ(authority.code(), StatusCode::kDataLoss) << authority;
    } else {
      EXPECT_TRUE(authority.ok()) << authority;
      EXPECT_EQ(anchored.code(), StatusCode::kDataLoss) << anchored;
    }
  }
}

// States a contact refuses after a reset (tests/testdata/ktlog/
// security_keys.json, made by the independent Python implementation): a
// chain that goes back past the reset, devices from before it or of its
// own version. Each decodes; the authority check refuses it by name.
TEST(ResetVectors, ContactsRefuseWhatAResetForbids) {
  nlohmann::json v = LoadJsonTestData("ktlog/security_keys.json");
  const nlohmann::json& cases = v["reset"]["contact_refused_states"];
  ASSERT_EQ(cases.size(), 3u);
  for (const nlohmann::json& c : cases) {
    absl::StatusOr<AccountState> state =
        DecodeAccountState(*HexDecode(c["state"].get<std::string>()));
    ASSERT_TRUE(state.ok()) << c["reason"] << ": " << state.status();
    absl::Status checked = VerifyAccountAuthority(*state).status();
    EXPECT_EQ(checked.code(), absl::StatusCode::kDataLoss) << c["reason"];
    EXPECT_EQ(std::string(RefusalName(RefusalOf(checked))),
              c["refusal"].get<std::string>())
        << c["reason"] << ": " << checked;
  }
  // The reset's own history verifies, and reports the reset.
  AccountState after = *DecodeAccountState(
      *HexDecode(v["reset"]["history"][1]["state"].get<std::string>()));
  absl::StatusOr<VerifiedAuthority> ok = VerifyAccountAuthority(after);
  ASSERT_TRUE(ok.ok()) << ok.status();
  ASSERT_EQ(ok->resets.size(), 1u);
  EXPECT_EQ(ok->resets[0].leaf_index, 6u);
}

}  // namespace
}  // namespace ktlog
