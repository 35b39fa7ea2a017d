#include "core/account/index.h"

#include <map>
#include <random>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/account/account.h"
#include "core/account/index_tree.h"
#include "core/account/record.h"
#include "core/crypto/crypto.h"
#include "core/testonly/test_vectors.h"
#include "core/util/bytes.h"
#include "gtest/gtest.h"

namespace ktlog {
namespace {

Hash Value(uint64_t n) { return Sha256(absl::StrCat("value ", n)); }

// Keys for the tree tests, as index.json derives them (the tree does not
// care how keys are derived; the log uses VRF positions).
Hash KeyOf(absl::string_view name) {
  return Sha256({"ktlog/v1 account-index-key\n", name});
}

// Applies `changes` to *index (a test's shorthand for index = Apply).
absl::Status ApplyTo(IndexSnapshot* index,
                     std::vector<std::pair<Hash, Hash>> changes) {
  absl::StatusOr<IndexSnapshot> next = index->Apply(std::move(changes));
  if (next.ok()) *index = *std::move(next);
  return next.status();
}

// A value for an account state in the tree tests.
Hash ValueOf(const AccountState& state) { return Sha256(state.Encode()); }

// A key that shares its first `shared` bits with `base` and then differs.
Hash KeyNear(const Hash& base, int shared, std::mt19937_64& rng) {
  Hash k = base;
  for (int i = shared; i < 256; ++i) {
    int b = i == shared ? 1 - KeyBit(base, i) : static_cast<int>(rng() & 1);
    uint8_t mask = 0x80 >> (i % 8);
    uint8_t& byte = k.mutable_data()[i / 8];
    byte = b ? (byte | mask) : (byte & ~mask);
  }
  return k;
}

// The subtree hash at `depth` of `u`, and the proof for `key`, from the
// definition (apart from the index's code: no buckets, no trie).
Hash DefinedHash(int depth, const std::vector<std::pair<Hash, Hash>>& u) {
  if (u.empty()) return kEmptyIndexHash;
  if (u.size() == 1) return IndexLeafHash(u[0].first, u[0].second);
  std::vector<std::pair<Hash, Hash>> halves[2];
  for (const auto& e : u) halves[KeyBit(e.first, depth)].push_back(e);
  return IndexNodeHash(DefinedHash(depth + 1, halves[0]),
                       DefinedHash(depth + 1, halves[1]));
}
IndexProof DefinedProof(const std::map<Hash, Hash>& entries, const Hash& key,
                        std::optional<Hash>* value) {
  IndexProof proof;
  *value = std::nullopt;
  std::vector<std::pair<Hash, Hash>> u(entries.begin(), entries.end());
  for (int depth = 0;; ++depth) {
    if (u.empty()) {
      proof.kind = IndexProof::Kind::kAbsentEmpty;
      return proof;
    }
    if (u.size() == 1) {
      if (u[0].first == key) {
        proof.kind = IndexProof::Kind::kMembership;
        *value = u[0].second;
      } else {
        proof.kind = IndexProof::Kind::kAbsentOtherLeaf;
        proof.other_key = u[0].first;
        proof.other_value_hash = u[0].second;
      }
      return proof;
    }
    std::vector<std::pair<Hash, Hash>> halves[2];
    for (const auto& e : u) halves[KeyBit(e.first, depth)].push_back(e);
    const int bit = KeyBit(key, depth);
    proof.siblings.push_back(DefinedHash(depth + 1, halves[1 - bit]));
    u = halves[bit];
  }
}

// Each of `probes` and of 40 keys spread over `entries` has the proof the
// definition gives, byte for byte, and Find agrees.
void ExpectDefinedProofs(const IndexSnapshot& index,
                         const std::map<Hash, Hash>& entries,
                         std::vector<Hash> probes) {
  ASSERT_EQ(index.root(), NaiveIndexRoot(entries));
  ASSERT_EQ(index.size(), entries.size());
  // Up to 40 of the keys (each proof from the definition hashes them all).
  size_t i = 0, every = entries.size() / 40 + 1;
  for (const auto& [k, v] : entries) {
    if (i++ % every == 0) probes.push_back(k);
  }
  for (const Hash& k : probes) {
    std::optional<Hash> got, want;
    IndexProof proof = index.Prove(k, &got);
    ASSERT_EQ(HexEncode(proof.Encode()),
              HexEncode(DefinedProof(entries, k, &want).Encode()))
        << k.ToHex();
    ASSERT_EQ(got, want);
    ASSERT_EQ(index.Find(k), want);
    ASSERT_TRUE(VerifyIndexProof(index.root(), k, got, proof).ok());
  }
}

// The index holding `entries` made the three ways: built, applied at once,
// applied a key at a time.
std::vector<IndexSnapshot> ThreeWays(const std::map<Hash, Hash>& entries) {
  std::vector<std::pair<Hash, Hash>> all(entries.begin(), entries.end());
  std::vector<IndexSnapshot> out;
  out.push_back(*IndexSnapshot::Build(all));
  out.push_back(*IndexSnapshot().Apply(all));
  IndexSnapshot one;
  for (const auto& e : all) one = *one.Apply({e});
  out.push_back(one);
  return out;
}

void ExpectProofs(const IndexSnapshot& index,
                  const std::map<Hash, Hash>& entries,
                  const std::vector<Hash>& absent) {
  for (const auto& [k, v] : entries) {
    std::optional<Hash> got;
    IndexProof proof = index.Prove(k, &got);
    ASSERT_EQ(proof.kind, IndexProof::Kind::kMembership);
    ASSERT_EQ(got, v);
    auto decoded = DecodeIndexProof(proof.Encode());
    ASSERT_TRUE(decoded.ok());
    ASSERT_TRUE(VerifyIndexProof(index.root(), k, v, *decoded).ok());
    // A wrong value, or claiming absence, must fail.
    ASSERT_FALSE(
        VerifyIndexProof(index.root(), k, Value(999999), *decoded).ok());
    ASSERT_FALSE(
        VerifyIndexProof(index.root(), k, std::nullopt, *decoded).ok());
  }
  for (const Hash& k : absent) {
    if (entries.count(k)) continue;
    std::optional<Hash> got;
    IndexProof proof = index.Prove(k, &got);
    ASSERT_NE(proof.kind, IndexProof::Kind::kMembership);
    ASSERT_FALSE(got.has_value());
    ASSERT_TRUE(VerifyIndexProof(index.root(), k, std::nullopt, proof).ok());
    ASSERT_FALSE(VerifyIndexProof(index.root(), k, Value(1), proof).ok());
  }
}

// The incremental index against a full recompute from the definition, over
// long random operation sequences: new keys, changed values, batches of
// several changes, and keys crafted to share long prefixes.
TEST(IndexCrossCheck, IncrementalMatchesNaiveRecompute) {
  std::mt19937_64 rng(7);
  IndexSnapshot index;
  std::map<Hash, Hash> entries;
  EXPECT_EQ(index.root(), kEmptyIndexHash);
  EXPECT_EQ(NaiveIndexRoot(entries), kEmptyIndexHash);
  uint64_t counter = 0;
  for (int batch = 0; batch < 400; ++batch) {
    std::map<Hash, Hash> changes;
    int n = 1 + static_cast<int>(rng() % 6);
    for (int i = 0; i < n; ++i) {
      Hash key;
      int what = static_cast<int>(rng() % 10);
      if (what < 4 || entries.empty()) {
        key = KeyOf(absl::StrCat("user", counter++));
      } else if (what < 7) {
        auto it = entries.begin();
        std::advance(it, rng() % entries.size());
        key = it->first;  // update an existing account
      } else {
        // Collide with an existing key on a long prefix (up to all but the
        // last bit).
        auto it = entries.begin();
        std::advance(it, rng() % entries.size());
        int shared = what == 9 ? 255 : static_cast<int>(8 + rng() % 240);
        key = KeyNear(it->first, shared, rng);
      }
      changes[key] = Value(counter++);
    }
    ASSERT_TRUE(ApplyTo(&index, std::vector<std::pair<Hash, Hash>>(
                                    changes.begin(), changes.end()))
                    .ok());
    for (const auto& [k, v] : changes) entries[k] = v;
    ASSERT_EQ(index.root(), NaiveIndexRoot(entries)) << "batch " << batch;
    if (batch % 50 == 0) {
      std::vector<Hash> absent;
      for (int i = 0; i < 20; ++i)
        absent.push_back(Sha256(absl::StrCat("absent", batch, i)));
      for (const auto& [k, v] : entries) absent.push_back(KeyNear(k, 250, rng));
      ExpectProofs(index, entries, absent);
      if (HasFatalFailure()) return;
    }
  }
  // Order of insertion does not matter: the shape is canonical.
  IndexSnapshot other;
  std::vector<std::pair<Hash, Hash>> all(entries.begin(), entries.end());
  std::shuffle(all.begin(), all.end(), rng);
  for (size_t i = 0; i < all.size(); i += 37) {
    std::vector<std::pair<Hash, Hash>> part(
        all.begin() + i, all.begin() + std::min(all.size(), i + 37));
    ASSERT_TRUE(ApplyTo(&other, part).ok());
  }
  EXPECT_EQ(other.root(), index.root());

  // A bulk build (a start-up's) holds the same index, in the same shape.
  absl::StatusOr<IndexSnapshot> loaded = IndexSnapshot::Build(all);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->root(), index.root());
  EXPECT_EQ(loaded->size(), entries.size());
  EXPECT_EQ(index.size(), entries.size());
  IndexSnapshot::Shape built = loaded->Measure(), grown = index.Measure();
  EXPECT_EQ(built.keys, entries.size());
  EXPECT_EQ(grown.keys, entries.size());
  EXPECT_LE(built.largest_bucket, IndexSnapshot::kBucketKeys);
  EXPECT_LE(grown.largest_bucket, IndexSnapshot::kBucketKeys);
  std::vector<Hash> absent;
  for (const auto& [k, v] : entries) absent.push_back(KeyNear(k, 200, rng));
  ExpectProofs(*loaded, entries, absent);

  all.push_back(all.front());
  EXPECT_EQ(IndexSnapshot::Build(all).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(IndexProofTest, EverySingleBitMutationIsRejected) {
  std::mt19937_64 rng(11);
  IndexSnapshot index;
  std::vector<std::pair<Hash, Hash>> init;
  for (int i = 0; i < 300; ++i)
    init.emplace_back(KeyOf(absl::StrCat("u", i)), Value(i));
  ASSERT_TRUE(ApplyTo(&index, init).ok());
  Hash member = init[17].first;
  Hash absent_key = KeyOf("nobody");
  for (bool present : {true, false}) {
    Hash key = present ? member : absent_key;
    std::optional<Hash> value;
    IndexProof proof = index.Prove(key, &value);
    std::string bytes = proof.Encode();
    ASSERT_TRUE(VerifyIndexProof(index.root(), key, value, proof).ok());
    int rejected = 0;
    for (size_t i = 0; i < bytes.size() * 8; ++i) {
      std::string bad = bytes;
      bad[i / 8] ^= static_cast<char>(0x80 >> (i % 8));
      auto decoded = DecodeIndexProof(bad);
      bool ok = decoded.ok() &&
                VerifyIndexProof(index.root(), key, value, *decoded).ok();
      EXPECT_FALSE(ok) << "bit " << i << " of a "
                       << (present ? "membership" : "absence") << " proof";
      rejected += !ok;
    }
    EXPECT_EQ(rejected, static_cast<int>(bytes.size() * 8));
    // Truncation and extension too.
    EXPECT_FALSE(DecodeIndexProof(bytes.substr(0, bytes.size() - 1)).ok());
    EXPECT_FALSE(DecodeIndexProof(bytes + "x").ok());
  }
}

TEST(IndexProofTest, AbsenceCannotBeFakedForAPresentKey) {
  IndexSnapshot index;
  ASSERT_TRUE(ApplyTo(&index, {{KeyOf("a"), Value(1)},
                               {KeyOf("b"), Value(2)},
                               {KeyOf("c"), Value(3)}})
                  .ok());
  Hash key = KeyOf("b");
  std::optional<Hash> value;
  IndexProof proof = index.Prove(key, &value);
  // Turn the membership proof into the two kinds of absence claims.
  IndexProof empty = proof;
  empty.kind = IndexProof::Kind::kAbsentEmpty;
  EXPECT_EQ(VerifyIndexProof(index.root(), key, std::nullopt, empty).code(),
            absl::StatusCode::kDataLoss);
  IndexProof other = proof;
  other.kind = IndexProof::Kind::kAbsentOtherLeaf;
  other.other_key = key;
  other.other_value_hash = *value;
  EXPECT_EQ(VerifyIndexProof(index.root(), key, std::nullopt, other).code(),
            absl::StatusCode::kInvalidArgument);
  // A shorter path (stopping at an internal node) does not verify.
  if (!proof.siblings.empty()) {
    IndexProof shorter = proof;
    shorter.siblings.pop_back();
    EXPECT_FALSE(VerifyIndexProof(index.root(), key, value, shorter).ok());
  }
}

// Our vectors, from the independent Python implementation.
TEST(IndexVectors, RootsAndProofsMatch) {
  nlohmann::json v = LoadJsonTestData("ktlog/index.json");
  IndexSnapshot index;
  std::vector<std::pair<Hash, Hash>> entries;
  for (const auto& e : v["entries"]) {
    Hash key = KeyOf(e["account_id"].get<std::string>());
    EXPECT_EQ(key.ToHex(), e["key"]);
    entries.emplace_back(key,
                         *Hash::FromHex(e["value_hash"].get<std::string>()));
  }
  EXPECT_EQ(kEmptyIndexHash.ToHex(), v["empty_root"]);
  ASSERT_TRUE(ApplyTo(&index, entries).ok());
  EXPECT_EQ(index.root().ToHex(), v["root"]);
  std::set<std::string> kinds;
  for (const auto& p : v["proofs"]) {
    SCOPED_TRACE(p["account_id"].get<std::string>());
    Hash key = *Hash::FromHex(p["key"].get<std::string>());
    std::optional<Hash> value;
    IndexProof proof = index.Prove(key, &value);
    EXPECT_EQ(HexEncode(proof.Encode()), p["proof"]);
    auto decoded = DecodeIndexProof(Unhex(p["proof"]));
    ASSERT_TRUE(decoded.ok());
    std::optional<Hash> claimed;
    if (!p["value_hash"].is_null())
      claimed = *Hash::FromHex(p["value_hash"].get<std::string>());
    EXPECT_EQ(claimed, value);
    EXPECT_TRUE(VerifyIndexProof(index.root(), key, claimed, *decoded).ok());
    kinds.insert(p["kind"]);
  }
  EXPECT_EQ(kinds.size(), 3u) << "vectors cover all three proof kinds";
}

// Snapshots are copy on write: applying changes leaves the snapshot they
// were applied to exactly as it was (its root, proofs and values), which
// is what lets the log answer lookups at older checkpoints.
TEST(IndexSnapshotTest, ApplyLeavesTheOlderSnapshotAsItWas) {
  std::vector<std::pair<Hash, Hash>> init;
  for (int i = 0; i < 500; ++i)
    init.emplace_back(KeyOf(absl::StrCat("u", i)), Value(i));
  absl::StatusOr<IndexSnapshot> old = IndexSnapshot::Build(init);
  ASSERT_TRUE(old.ok());
  std::map<Hash, Hash> old_entries(init.begin(), init.end());
  const Hash old_root = old->root();
  std::vector<std::optional<Hash>> old_values;
  std::vector<std::string> old_proofs;
  for (int i = 0; i < 520; ++i) {
    std::optional<Hash> v;
    old_proofs.push_back(old->Prove(KeyOf(absl::StrCat("u", i)), &v).Encode());
    old_values.push_back(v);
  }
  // Change every other key and add 300 (splitting many buckets).
  std::vector<std::pair<Hash, Hash>> changes;
  for (int i = 0; i < 800; i += 2)
    changes.emplace_back(KeyOf(absl::StrCat("u", i)), Value(10000 + i));
  absl::StatusOr<IndexSnapshot> next = old->Apply(changes);
  ASSERT_TRUE(next.ok());
  std::map<Hash, Hash> next_entries = old_entries;
  for (const auto& [k, v] : changes) next_entries[k] = v;
  EXPECT_EQ(next->root(), NaiveIndexRoot(next_entries));
  EXPECT_EQ(next->size(), next_entries.size());
  EXPECT_EQ(old->root(), old_root);
  EXPECT_EQ(old->root(), NaiveIndexRoot(old_entries));
  EXPECT_EQ(old->size(), 500u);
  for (int i = 0; i < 520; ++i) {
    std::optional<Hash> v;
    EXPECT_EQ(old->Prove(KeyOf(absl::StrCat("u", i)), &v).Encode(),
              old_proofs[i]);
    EXPECT_EQ(v, old_values[i]);
    EXPECT_EQ(old->Find(KeyOf(absl::StrCat("u", i))), old_values[i]);
  }
  // The older snapshot outlives the newer one, and the reverse.
  IndexSnapshot kept = *old;
  old = IndexSnapshot();
  EXPECT_EQ(kept.root(), old_root);
  EXPECT_EQ(next->Find(KeyOf("u2")), Value(10002));
  EXPECT_EQ(next->Find(KeyOf("u1")), Value(1));
  EXPECT_EQ(next->Find(KeyOf("nobody")), std::nullopt);
  // A refused batch (a key twice) makes nothing.
  changes.push_back(changes.front());
  EXPECT_EQ(next->Apply(changes).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// Every bucket holds at most kBucketKeys keys, whatever the keys: keys
// sharing 250 of their bits split buckets deep down the trie.
TEST(IndexSnapshotTest, BucketsStaySmallUnderSharedPrefixes) {
  std::mt19937_64 rng(5);
  IndexSnapshot index;
  std::map<Hash, Hash> entries;
  Hash base = KeyOf("base");
  for (int batch = 0; batch < 40; ++batch) {
    std::vector<std::pair<Hash, Hash>> changes;
    for (int i = 0; i < 5; ++i) {
      Hash k = KeyNear(base, 230 + static_cast<int>(rng() % 25), rng);
      if (entries.count(k) != 0) continue;
      bool dup = false;
      for (const auto& c : changes) dup |= c.first == k;
      if (dup) continue;
      changes.emplace_back(k, Value(batch * 10 + i));
    }
    ASSERT_TRUE(ApplyTo(&index, changes).ok());
    for (const auto& [k, v] : changes) entries[k] = v;
    ASSERT_EQ(index.root(), NaiveIndexRoot(entries)) << batch;
  }
  IndexSnapshot::Shape shape = index.Measure();
  EXPECT_EQ(shape.keys, entries.size());
  EXPECT_LE(shape.largest_bucket, IndexSnapshot::kBucketKeys);
  ExpectDefinedProofs(index, entries,
                      {KeyNear(base, 255, rng), KeyNear(base, 240, rng),
                       KeyNear(base, 100, rng), KeyOf("x")});
}

// Small indexes around a bucket's size, made every way, prove what the
// definition says, the empty one included, and keys all on one side of
// the root.
TEST(IndexSnapshotTest, SmallIndexesProveTheDefinition) {
  std::mt19937_64 rng(3);
  for (size_t n : {0, 1, 2, 7, 8, 9, 10, 16, 17, 40}) {
    for (bool one_side : {false, true}) {
      std::map<Hash, Hash> entries;
      for (size_t i = 0; entries.size() < n; ++i) {
        Hash k = KeyOf(absl::StrCat("s", n, "/", i));
        if (one_side) k.mutable_data()[0] &= 0x7f;
        entries[k] = Value(i);
      }
      std::vector<Hash> probes = {KeyOf("absent"), Hash()};
      for (const auto& [k, v] : entries) probes.push_back(KeyNear(k, 250, rng));
      SCOPED_TRACE(absl::StrCat(n, one_side ? " on one side" : ""));
      for (const IndexSnapshot& index : ThreeWays(entries)) {
        ExpectDefinedProofs(index, entries, probes);
        if (HasFatalFailure()) return;
      }
    }
  }
}

// Keys in clusters of 9 that share 252 bits (what a log that does not use
// VRF outputs can show an auditor) cost a trie node per bucket, not one
// per level of the shared prefix: without path compression each cluster
// is a chain of ~250 nodes. Changes that leave a shared prefix half way
// split the node there.
TEST(IndexSnapshotTest, SharedPrefixesCostNoNodePerLevel) {
  std::mt19937_64 rng(9);
  std::map<Hash, Hash> entries;
  for (int c = 0; c < 20; ++c) {
    Hash base = KeyOf(absl::StrCat("cluster", c));
    entries[base] = Value(c);
    while (entries.size() % 9 != 0) {
      entries[KeyNear(base, 252 + static_cast<int>(rng() % 4), rng)] = Value(c);
    }
  }
  std::vector<Hash> probes;
  for (const auto& [k, v] : entries) {
    if (probes.size() < 40)
      probes.push_back(KeyNear(k, 128 + rng() % 128, rng));
  }
  for (const IndexSnapshot& index : ThreeWays(entries)) {
    IndexSnapshot::Shape shape = index.Measure();
    EXPECT_LT(shape.trie_nodes, shape.buckets);
    EXPECT_LE(shape.trie_nodes, entries.size() / 2) << "no node per level";
    ExpectDefinedProofs(index, entries, probes);
    if (HasFatalFailure()) return;
  }
  // Changes that leave each cluster's shared prefix at every depth.
  absl::StatusOr<IndexSnapshot> index = IndexSnapshot::Build(
      std::vector<std::pair<Hash, Hash>>(entries.begin(), entries.end()));
  ASSERT_TRUE(index.ok());
  for (int round = 0; round < 5; ++round) {
    std::map<Hash, Hash> changes;
    for (const auto& [k, v] : entries) {
      if (rng() % 3 != 0) continue;
      Hash leaving = KeyNear(k, static_cast<int>(rng() % 256), rng);
      if (entries.count(leaving) == 0) changes[leaving] = Value(round);
      changes[k] = Value(1000 + round);
    }
    index = index->Apply({changes.begin(), changes.end()});
    ASSERT_TRUE(index.ok());
    for (const auto& [k, v] : changes) entries[k] = v;
    ExpectDefinedProofs(*index, entries, probes);
    if (HasFatalFailure()) return;
  }
}

// A snapshot moved from is the empty index, usable as any other.
TEST(IndexSnapshotTest, AMovedFromSnapshotIsEmpty) {
  absl::StatusOr<IndexSnapshot> index =
      IndexSnapshot::Build({{KeyOf("a"), Value(1)}, {KeyOf("b"), Value(2)}});
  ASSERT_TRUE(index.ok());
  IndexSnapshot taken = *std::move(index);
  EXPECT_EQ(taken.size(), 2u);
  EXPECT_EQ(index->root(), kEmptyIndexHash);
  EXPECT_EQ(index->size(), 0u);
  std::optional<Hash> value;
  EXPECT_EQ(index->Prove(KeyOf("a"), &value).kind,
            IndexProof::Kind::kAbsentEmpty);
  absl::StatusOr<IndexSnapshot> again = index->Apply({{KeyOf("c"), Value(3)}});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->root(), IndexLeafHash(KeyOf("c"), Value(3)));
  IndexSnapshot assigned;
  assigned = std::move(taken);
  EXPECT_EQ(taken.root(), kEmptyIndexHash);
  EXPECT_EQ(assigned.size(), 2u);
}

// A build large enough to run on two threads gives the same root as the
// definition, and refuses a key twice found in either half.
TEST(IndexSnapshotTest, ALargeBuildMatchesTheDefinition) {
  std::vector<std::pair<Hash, Hash>> all;
  for (int i = 0; i < 70000; ++i)
    all.emplace_back(Sha256(absl::StrCat("k", i)), Value(i));
  std::map<Hash, Hash> entries(all.begin(), all.end());
  absl::StatusOr<IndexSnapshot> built = IndexSnapshot::Build(all);
  ASSERT_TRUE(built.ok());
  EXPECT_EQ(built->root(), NaiveIndexRoot(entries));
  EXPECT_EQ(built->size(), all.size());
  for (int half : {0, 1}) {
    std::vector<std::pair<Hash, Hash>> dup = all;
    for (const auto& e : all) {
      if (KeyBit(e.first, 0) == half) {
        dup.push_back(e);
        break;
      }
    }
    EXPECT_EQ(IndexSnapshot::Build(dup).status().code(),
              absl::StatusCode::kInvalidArgument)
        << half;
  }
}

TEST(IndexTest, DecodeRejectsNonCanonical) {
  EXPECT_FALSE(DecodeIndexProof("").ok());
  EXPECT_FALSE(DecodeIndexProof(std::string("\x04\x00\x00", 3)).ok());
  EXPECT_FALSE(DecodeIndexProof(std::string("\x01\x01\x01", 3)).ok())
      << "depth 257";
  EXPECT_TRUE(DecodeIndexProof(std::string("\x02\x00\x00", 3)).ok());
  // depth 1 with a bitmap bit set beyond the depth
  EXPECT_FALSE(DecodeIndexProof(std::string("\x02\x00\x01\x40", 4)).ok());
  // An empty sibling marked present (found by the fuzzer): not canonical.
  EXPECT_FALSE(DecodeIndexProof(std::string("\x02\x00\x01\x80", 4) +
                                std::string(32, '\0'))
                   .ok());
}

}  // namespace
}  // namespace ktlog

namespace ktlog {
namespace {

// The index as the log maintains it, driven by account records: long
// random sequences of adds, removes and rotations over many accounts,
// applied with the account rules and folded into the index in batches of
// random size, checked against a naive recompute over all account states.
TEST(IndexCrossCheck, RandomAccountOperationsMatchNaiveRecompute) {
  std::mt19937_64 rng(2026);
  struct Owner {
    std::unique_ptr<Ed25519PrivateKey> key;
    AccountState state;
  };
  std::map<std::string, Owner> owners;
  IndexSnapshot index;
  std::set<std::string> changed;
  uint64_t leaf = 0;
  int applied = 0;
  for (int step = 0; step < 3000; ++step) {
    std::string id = absl::StrCat("user", rng() % 150);
    Owner& o = owners[id];
    if (o.key == nullptr) {
      o.key =
          std::make_unique<Ed25519PrivateKey>(Ed25519PrivateKey::Generate());
      o.state.account_id = id;
    }
    DeviceRecord r;
    r.account_id = id;
    r.account_version = o.state.version + 1;
    int what = static_cast<int>(rng() % 10);
    std::unique_ptr<Ed25519PrivateKey> next;
    if (!o.state.exists() || what < 5 || o.state.devices.empty()) {
      r.operation = Operation::kAddDevice;
      r.device_id = absl::StrCat("d", rng() % 1000);
      r.key = absl::StrCat("key", rng());
    } else if (what < 8) {
      r.operation = Operation::kRemoveDevice;
      auto it = o.state.devices.begin();
      std::advance(it, rng() % o.state.devices.size());
      r.device_id = it->first;
      r.key = it->second.key;
    } else {
      r.operation = Operation::kRotateAccountKey;
      next = std::make_unique<Ed25519PrivateKey>(Ed25519PrivateKey::Generate());
      r.key = next->public_key().bytes();
    }
    r.Sign(*o.key);
    if (!ApplyRecord(r, leaf, &o.state).ok()) continue;  // e.g. a duplicate id
    ++leaf;
    ++applied;
    if (next != nullptr) o.key = std::move(next);
    changed.insert(id);
    if (rng() % 7 == 0) {  // end of a batch
      std::vector<std::pair<Hash, Hash>> changes;
      for (const std::string& c : changed) {
        changes.emplace_back(KeyOf(c), ValueOf(owners[c].state));
      }
      changed.clear();
      ASSERT_TRUE(ApplyTo(&index, changes).ok());
      std::map<Hash, Hash> all;
      for (const auto& [name, owner] : owners) {
        if (owner.state.exists()) {
          all[KeyOf(name)] = ValueOf(owner.state);
        }
      }
      ASSERT_EQ(index.root(), NaiveIndexRoot(all)) << "step " << step;
    }
  }
  EXPECT_GT(applied, 2500);
}

}  // namespace
}  // namespace ktlog
