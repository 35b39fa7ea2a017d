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

namespace ktlog {
namespace {

using ::absl::StatusCode;

// A log in memory that commits to whatever it is given.
class MemoryLog : public LogSource {
 public:
  MemoryLog()
      : vrf_(VrfPrivateKey::Generate()),
        signer_(*NoteSigner::Generate("memory.example/log")) {}

  // Appends a leaf committing to `record` and to `state` (the state after
  // it, as the log claims).
  void Append(const DeviceRecord& record, const AccountState& state) {
    AppendBytes(record.account_id, record.Encode(), state);
  }
  // The same for any bytes, well-formed or not.
  void AppendBytes(const std::string& id, const std::string& record,
                   const AccountState& state) {
    Entry e{record, NewOpening(), NewOpening(), state};
    Leaf leaf{Position(id), state.version, ++time_ms_,
              Commit(e.record_opening, CommitmentKind::kRecord, id,
                     state.version, e.record),
              Commit(e.state_opening, CommitmentKind::kState, id, state.version,
                     state.Encode())};
    e.leaf = leaf.Encode();
    tree_.AppendLeafHash(HashLeaf(e.leaf));
    index_[leaf.position] = IndexEntryOf(leaf).second;
    history_[id].push_back(entries_.size());
    entries_.push_back(std::move(e));
  }

  LogCheckpoint Checkpoint() const {
    LogCheckpoint cp;
    cp.origin = "memory.example/log";
    cp.size = tree_.size();
    cp.root = tree_.Root(cp.size);
    cp.index_root = NaiveIndexRoot(index_);
    return cp;
  }

  AccountHistoryAnswer History(const std::string& id) const {
    AccountHistoryAnswer out;
    out.tree_size = tree_.size();
    out.vrf_proof = vrf_.Prove(AccountVrfInput(id))->proof;
    for (uint64_t i : history_.at(id)) {
      const Entry& e = entries_[i];
      out.entries.push_back(
          HistoryEntryAnswer{i, e.leaf, tree_.InclusionProof(i, tree_.size()),
                             e.record, e.record_opening, e.state_opening});
    }
    return out;
  }

  AccountLookupAnswer Lookup(const std::string& id) const {
    AccountLookupAnswer out;
    out.tree_size = tree_.size();
    out.vrf_proof = vrf_.Prove(AccountVrfInput(id))->proof;
    InMemoryIndex index;
    std::vector<std::pair<Hash, Hash>> all(index_.begin(), index_.end());
    EXPECT_TRUE(index.Apply(all).ok());
    std::optional<Hash> value;
    out.index_proof = ProveIndex(&index, Position(id), &value)->Encode();
    auto h = history_.find(id);
    if (h == history_.end()) return out;  // absent
    auto shown = shown_.find(id);
    const Entry& last =
        entries_[shown != shown_.end() ? shown->second : h->second.back()];
    out.account_state = last.state.Encode();
    out.state_opening = last.state_opening;
    for (const ChainedRotation& r : last.state.key_chain) {
      const Entry& e = entries_[r.leaf_index];
      out.key_chain.push_back(
          HistoryEntryAnswer{r.leaf_index, e.leaf,
                             tree_.InclusionProof(r.leaf_index, tree_.size()),
                             "", e.record_opening, ""});
    }
    return out;
  }

  // What an auditor checks: every leaf decodes and its position's versions
  // go 1, 2, 3, ...; and the index it recomputes matches the checkpoint.
  absl::Status Audit() const {
    struct None : VersionSource {
      absl::StatusOr<uint64_t> LoadVersion(const Hash&) override { return 0; }
    } none;
    LeafReplay replay(&none, 0);
    for (const Entry& e : entries_) {
      absl::StatusOr<Leaf> leaf = DecodeLeaf(e.leaf);
      if (!leaf.ok()) return leaf.status();
      if (absl::Status s = replay.Load(leaf->position); !s.ok()) return s;
      if (absl::Status s = replay.Apply(*leaf); !s.ok()) return s;
    }
    InMemoryIndex index;
    if (!index.Apply(replay.IndexChanges()).ok() ||
        index.root() != Checkpoint().index_root) {
      return absl::DataLossError("index root mismatch");
    }
    return absl::OkStatus();
  }

  // A log that shows an account's older version: the index maps its
  // position back to the leaf of `version` (no leaf is appended for it; an
  // auditor would find the index root wrong, a client alone cannot).
  void RollBack(const std::string& id, uint64_t version) {
    uint64_t i = history_.at(id)[version - 1];
    index_[Position(id)] = IndexEntryOf(*DecodeLeaf(entries_[i].leaf)).second;
    shown_[id] = i;
  }

  // LogSource, at the latest tree only.
  absl::StatusOr<std::string> GetCheckpoint(
      uint32_t, const std::vector<std::string>&) override {
    LogCheckpoint cp = Checkpoint();
    cp.timestamp_ms = RealClock::Get()->NowMillis();
    return SignLogCheckpoint(cp, signer_);
  }
  absl::StatusOr<std::vector<Hash>> GetConsistencyProof(uint64_t a,
                                                        uint64_t b) override {
    return tree_.ConsistencyProof(a, b);
  }
  absl::StatusOr<AccountLookupAnswer> LookupAccount(const std::string& id,
                                                    uint64_t size) override {
    if (size != tree_.size()) return absl::NotFoundError("not the latest");
    return Lookup(id);
  }
  absl::StatusOr<AccountHistoryAnswer> GetAccountHistory(
      const std::string& id, uint64_t from, uint64_t size) override {
    if (size != tree_.size()) return absl::NotFoundError("not the latest");
    AccountHistoryAnswer h = History(id);
    h.entries.erase(h.entries.begin(), h.entries.begin() + (from - 1));
    return h;
  }

  std::string LogKey() const {
    return LogPublicKey{signer_.verifier_key(), vrf_.public_key()}.ToString();
  }
  const VrfPublicKey& vrf_key() const { return vrf_.public_key(); }

 private:
  struct Entry {
    std::string record, record_opening, state_opening;
    AccountState state;
    std::string leaf;
  };
  Hash Position(const std::string& id) const {
    return vrf_.Prove(AccountVrfInput(id))->output;
  }

  VrfPrivateKey vrf_;
  NoteSigner signer_;
  uint64_t time_ms_ = 1000;
  ReferenceTree tree_;
  std::vector<Entry> entries_;
  std::map<std::string, std::vector<uint64_t>> history_;
  std::map<Hash, Hash> index_;
  std::map<std::string, uint64_t> shown_;  // id -> entry index (RollBack)
};

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
