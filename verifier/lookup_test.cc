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
#include "core/testonly/reference_tree.h"
#include "gtest/gtest.h"

namespace ktlog {
namespace {

using ::absl::StatusCode;

// A log in memory that commits to whatever it is given.
class MemoryLog {
 public:
  MemoryLog() : vrf_(VrfPrivateKey::Generate()) {}

  // Appends a leaf committing to `record` and to `state` (the state after
  // it, as the log claims).
  void Append(const DeviceRecord& record, const AccountState& state) {
    const std::string& id = record.account_id;
    Entry e{record.Encode(), NewOpening(), NewOpening(), state};
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
    const Entry& last = entries_[history_.at(id).back()];
    out.account_state = last.state.Encode();
    out.state_opening = last.state_opening;
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
  uint64_t time_ms_ = 1000;
  ReferenceTree tree_;
  std::vector<Entry> entries_;
  std::map<std::string, std::vector<uint64_t>> history_;
  std::map<Hash, Hash> index_;
};

DeviceRecord Record(Operation op, const std::string& device, uint64_t version,
                    const Ed25519PrivateKey& signer) {
  DeviceRecord r;
  r.operation = op;
  r.account_id = "alice@example.com";
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

}  // namespace
}  // namespace ktlog
