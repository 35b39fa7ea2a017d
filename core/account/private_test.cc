// The private directory's formats against the vectors of an independent
// Python implementation (tools/vectors/gen_private_vectors.py,
// tests/testdata/ktlog/private.json): VRF positions, account states after
// each record, commitments, leaves, index values, the index and its proofs,
// and the log key.
#include <map>

#include "core/account/account.h"
#include "core/account/commitment.h"
#include "core/account/index.h"
#include "core/account/index_tree.h"
#include "core/account/leaf.h"
#include "core/account/record.h"
#include "core/account/replay.h"
#include "core/crypto/vrf.h"
#include "core/merkle/compact_range.h"
#include "core/merkle/merkle.h"
#include "core/note/log_key.h"
#include "core/note/note.h"
#include "core/testonly/test_vectors.h"
#include "core/util/bytes.h"
#include "gtest/gtest.h"

namespace ktlog {
namespace {

class PrivateVectorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    v_ = LoadJsonTestData("ktlog/private.json");
    auto key = VrfPrivateKey::FromSeed(Unhex(v_["log_key"]["vrf_seed"]));
    ASSERT_TRUE(key.ok());
    vrf_ = std::make_unique<VrfPrivateKey>(*std::move(key));
  }
  nlohmann::json v_;
  std::unique_ptr<VrfPrivateKey> vrf_;
};

TEST_F(PrivateVectorsTest, LogKey) {
  const auto& k = v_["log_key"];
  EXPECT_EQ(HexEncode(vrf_->public_key().bytes()), k["vrf_public_key"]);
  auto parsed = LogPublicKey::Parse(k["log_key"].get<std::string>());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->vrf_key, vrf_->public_key());
  EXPECT_EQ(parsed->checkpoint_key.ToString(), k["checkpoint_verifier_key"]);
  EXPECT_EQ(parsed->ToString(), k["log_key"]);
  // A plain verifier key is not a log key; nor are unknown attributes.
  std::string plain = k["checkpoint_verifier_key"];
  EXPECT_NE(LogPublicKey::Parse(plain).status().message().find("VRF"),
            std::string::npos);
  EXPECT_FALSE(
      LogPublicKey::Parse(k["log_key"].get<std::string>() + ",x=1").ok());
  EXPECT_FALSE(LogPublicKey::Parse(plain + ",vrf=AAAA").ok());
}

// The published witness policy: witnesses and a quorum (default 1); the
// identity string leaves them out.
TEST_F(PrivateVectorsTest, LogKeyWithWitnesses) {
  std::string base = v_["log_key"]["log_key"];
  std::string w1 = NoteSigner::Generate("w1.example", kNoteTypeCosignatureV1)
                       ->verifier_key()
                       .ToString();
  std::string w2 = NoteSigner::Generate("w2.example", kNoteTypeCosignatureV1)
                       ->verifier_key()
                       .ToString();
  // w1's key under another name (issue 27, 3: a cosignature does not sign
  // the name, so it would count twice).
  NoteVerifierKey alias = *NoteVerifierKey::Parse(w1);
  alias.name = "alias.example";
  alias.key_id = NoteKeyId(alias.name, alias.type, alias.key.bytes());
  auto one = LogPublicKey::Parse(base + ",witness=" + w1);
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ(one->quorum, 1u);
  EXPECT_EQ(one->IdentityString(), base);
  EXPECT_EQ(one->ToString(), base + ",witness=" + w1 + ",quorum=1");
  std::string both = base + ",witness=" + w1 + ",witness=" + w2 + ",quorum=2";
  auto two = LogPublicKey::Parse(both);
  ASSERT_TRUE(two.ok()) << two.status();
  EXPECT_EQ(two->witnesses.size(), 2u);
  EXPECT_EQ(two->quorum, 2u);
  EXPECT_EQ(two->ToString(), both);
  for (const std::string& bad : {
           base + ",witness=" + w1 + ",quorum=2",       // above n
           base + ",witness=" + w1 + ",quorum=0",       // zero
           base + ",quorum=1",                          // no witnesses
           base + ",quorum=0",                          // no witnesses
           base + ",witness=" + w1 + ",witness=" + w1,  // repeated
           base + ",witness=" + w1 + ",witness=" + alias.ToString() +
               ",quorum=2",  // one key under two names
           base + ",witness=" + w1 + ",quorum=1,quorum=1",  // repeated
           base + ",witness=" + w1 + ",quorum=+1",          // not canonical
           base + ",witness=" +
               v_["log_key"]["checkpoint_verifier_key"]
                   .get<std::string>(),  // not a witness key
           base + std::string(9000, 'x'),
       }) {
    EXPECT_FALSE(LogPublicKey::Parse(bad).ok()) << bad;
  }
}

TEST_F(PrivateVectorsTest, PositionsAreVrfOutputs) {
  ASSERT_EQ(v_["accounts"].size(), 12u);
  for (const auto& a : v_["accounts"]) {
    std::string id = a["account_id"];
    EXPECT_EQ(HexEncode(AccountVrfInput(id)), a["alpha"]) << id;
    auto eval = vrf_->Prove(AccountVrfInput(id));
    ASSERT_TRUE(eval.ok());
    EXPECT_EQ(eval->output.ToHex(), a["position"]) << id;
    EXPECT_EQ(HexEncode(eval->proof), a["proof"]) << id;
  }
}

// The five records at leaves 0..4: the state after each, both commitments,
// the leaf, its hash and its index value; the leaves replay to the roots.
TEST_F(PrivateVectorsTest, HistoryStatesCommitmentsAndLeaves) {
  AccountState state;
  state.account_id = "alice@example.com";
  CompactRange range;
  for (const auto& h : v_["history"]) {
    SCOPED_TRACE(h["leaf_index"].get<uint64_t>());
    std::string bytes = Unhex(h["record"]);
    EXPECT_EQ(Sha256(bytes).ToHex(), h["record_hash"]);
    auto r = DecodeRecord(bytes);
    ASSERT_TRUE(r.ok());
    ASSERT_TRUE(ApplyRecord(*r, h["leaf_index"], &state).ok());
    std::string encoded = state.Encode();
    EXPECT_EQ(HexEncode(encoded), h["account_state"]);
    auto decoded = DecodeAccountState(encoded);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(*decoded, state);
    uint64_t version = h["version"];
    Hash rc = Commit(Unhex(h["record_opening"]), CommitmentKind::kRecord,
                     state.account_id, version, bytes);
    Hash sc = Commit(Unhex(h["state_opening"]), CommitmentKind::kState,
                     state.account_id, version, encoded);
    EXPECT_EQ(rc.ToHex(), h["record_commitment"]);
    EXPECT_EQ(sc.ToHex(), h["state_commitment"]);
    Leaf leaf{*Hash::FromHex(h["position"].get<std::string>()), version,
              h["timestamp_ms"], rc, sc};
    EXPECT_EQ(HexEncode(leaf.Encode()), h["leaf"]);
    EXPECT_EQ(HashLeaf(leaf.Encode()).ToHex(), h["leaf_hash"]);
    EXPECT_EQ(IndexEntryOf(leaf).second.ToHex(), h["index_value_hash"]);
    auto back = DecodeLeaf(leaf.Encode());
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, leaf);
    range.Append(HashLeaf(leaf.Encode()));
    // A commitment does not open to another version or account.
    EXPECT_EQ(
        CheckOpening(sc, Unhex(h["state_opening"]), CommitmentKind::kState,
                     state.account_id, version + 1, encoded)
            .code(),
        absl::StatusCode::kDataLoss);
    EXPECT_TRUE(CheckOpening(rc, Unhex(h["record_opening"]),
                             CommitmentKind::kRecord, state.account_id, version,
                             bytes)
                    .ok());
  }
  EXPECT_EQ(range.Root().ToHex(), v_["history_log_root"]);
}

TEST_F(PrivateVectorsTest, IndexOfPositions) {
  std::vector<std::pair<Hash, Hash>> changes;
  for (const auto& e : v_["index"]["entries"]) {
    Hash sc = *Hash::FromHex(e["state_commitment"].get<std::string>());
    Hash value = IndexValueHash(e["version"], sc);
    EXPECT_EQ(value.ToHex(), e["value_hash"]);
    changes.emplace_back(*Hash::FromHex(e["position"].get<std::string>()),
                         value);
  }
  absl::StatusOr<IndexSnapshot> built = IndexSnapshot::Build(changes);
  ASSERT_TRUE(built.ok());
  const IndexSnapshot& index = *built;
  EXPECT_EQ(index.root().ToHex(), v_["index"]["root"]);
  for (const auto& p : v_["index"]["proofs"]) {
    SCOPED_TRACE(p["account_id"].get<std::string>());
    Hash position = *Hash::FromHex(p["position"].get<std::string>());
    std::optional<Hash> value;
    IndexProof proof = index.Prove(position, &value);
    EXPECT_EQ(HexEncode(proof.Encode()), p["proof"]);
    std::optional<Hash> want;
    if (!p["value_hash"].is_null()) {
      want = *Hash::FromHex(p["value_hash"].get<std::string>());
    }
    EXPECT_EQ(value, want);
    EXPECT_TRUE(VerifyIndexProof(index.root(), position, want, proof).ok());
  }
}

TEST_F(PrivateVectorsTest, InvalidStatesAreRejected) {
  ASSERT_GE(v_["invalid_states"].size(), 5u);
  for (const auto& c : v_["invalid_states"]) {
    EXPECT_EQ(DecodeAccountState(Unhex(c["state"])).status().code(),
              absl::StatusCode::kInvalidArgument)
        << c["why"];
  }
}

// The public replay: versions 1, 2, 3 per position, timestamps forward.
class MapVersions : public VersionSource {
 public:
  absl::StatusOr<uint64_t> LoadVersion(const Hash& position) override {
    auto it = versions.find(position);
    return it == versions.end() ? 0 : it->second;
  }
  std::map<Hash, uint64_t> versions;
};

TEST(LeafReplayTest, VersionsGoUpByOneAndTimeForward) {
  MapVersions source;
  Hash p = Sha256("p"), q = Sha256("q");
  source.versions[q] = 4;
  LeafReplay replay(&source, 100);
  auto leaf = [](const Hash& pos, uint64_t v, uint64_t ts) {
    return Leaf{pos, v, ts, Sha256("r"), Sha256(absl::StrCat("s", v))};
  };
  ASSERT_TRUE(replay.Load(p).ok());
  ASSERT_TRUE(replay.Load(q).ok());
  EXPECT_TRUE(replay.Apply(leaf(p, 1, 100)).ok());
  EXPECT_EQ(replay.Apply(leaf(p, 3, 101)).code(),
            absl::StatusCode::kFailedPrecondition)
      << "skips version 2";
  EXPECT_EQ(replay.Apply(leaf(p, 1, 101)).code(),
            absl::StatusCode::kFailedPrecondition)
      << "repeats version 1";
  EXPECT_TRUE(replay.Apply(leaf(q, 5, 102)).ok()) << "the source said 4";
  EXPECT_EQ(replay.Apply(leaf(p, 2, 99)).code(),
            absl::StatusCode::kFailedPrecondition)
      << "time goes back";
  EXPECT_TRUE(replay.Apply(leaf(p, 2, 102)).ok());
  auto changes = replay.IndexChanges();
  ASSERT_EQ(changes.size(), 2u);
  std::map<Hash, Hash> by_position(changes.begin(), changes.end());
  EXPECT_EQ(by_position[p], IndexValueHash(2, Sha256("s2")));
  EXPECT_EQ(by_position[q], IndexValueHash(5, Sha256("s5")));
}

// An erasure leaf ends its position: no leaf may follow it, also when the
// source says so (kErasedVersionBit); the index holds it as any leaf.
TEST(LeafReplayTest, NothingFollowsAnErasure) {
  MapVersions source;
  Hash p = Sha256("p"), q = Sha256("q");
  source.versions[q] = 3 | kErasedVersionBit;
  LeafReplay replay(&source, 100);
  Leaf erasure{p, 2, 101, ErasedCommitment(), ErasedCommitment()};
  EXPECT_TRUE(IsErasure(erasure));
  EXPECT_FALSE(IsErasure(Leaf{p, 2, 101, Sha256("r"), ErasedCommitment()}));
  ASSERT_TRUE(replay.Load(p).ok());
  ASSERT_TRUE(replay.Load(q).ok());
  ASSERT_TRUE(replay.Apply(Leaf{p, 1, 100, Sha256("r"), Sha256("s")}).ok());
  ASSERT_TRUE(replay.Apply(erasure).ok());
  EXPECT_EQ(replay.Apply(Leaf{p, 3, 102, Sha256("r"), Sha256("s3")}).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(replay.Apply(Leaf{q, 4, 102, Sha256("r"), Sha256("s4")}).code(),
            absl::StatusCode::kFailedPrecondition)
      << "the source said q was erased at version 3";
  auto entries = replay.ChangedEntries();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].version, 2u);
  EXPECT_EQ(entries[0].state_commitment, ErasedCommitment());
  EXPECT_EQ(replay.IndexChanges()[0].second,
            IndexValueHash(2, ErasedCommitment()));
  // The erased commitment is the documented constant.
  EXPECT_EQ(ErasedCommitment().ToHex(),
            Sha256("ktlog erased account v1\n").ToHex());
}

}  // namespace
}  // namespace ktlog
