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

void ExpectProofs(InMemoryIndex& index, const std::map<Hash, Hash>& entries,
                  const std::vector<Hash>& absent) {
  for (const auto& [k, v] : entries) {
    std::optional<Hash> got;
    auto proof = ProveIndex(&index, k, &got);
    ASSERT_TRUE(proof.ok()) << proof.status();
    ASSERT_EQ(proof->kind, IndexProof::Kind::kMembership);
    ASSERT_EQ(got, v);
    auto decoded = DecodeIndexProof(proof->Encode());
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
    auto proof = ProveIndex(&index, k, &got);
    ASSERT_TRUE(proof.ok());
    ASSERT_NE(proof->kind, IndexProof::Kind::kMembership);
    ASSERT_FALSE(got.has_value());
    ASSERT_TRUE(VerifyIndexProof(index.root(), k, std::nullopt, *proof).ok());
    ASSERT_FALSE(VerifyIndexProof(index.root(), k, Value(1), *proof).ok());
  }
}

// The incremental index against a full recompute from the definition, over
// long random operation sequences: new keys, changed values, batches of
// several changes, and keys crafted to share long prefixes.
TEST(IndexCrossCheck, IncrementalMatchesNaiveRecompute) {
  std::mt19937_64 rng(7);
  InMemoryIndex index;
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
    auto update = index.Apply(
        std::vector<std::pair<Hash, Hash>>(changes.begin(), changes.end()));
    ASSERT_TRUE(update.ok()) << update.status();
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
  InMemoryIndex other;
  std::vector<std::pair<Hash, Hash>> all(entries.begin(), entries.end());
  std::shuffle(all.begin(), all.end(), rng);
  for (size_t i = 0; i < all.size(); i += 37) {
    std::vector<std::pair<Hash, Hash>> part(
        all.begin() + i, all.begin() + std::min(all.size(), i + 37));
    ASSERT_TRUE(other.Apply(part).ok());
  }
  EXPECT_EQ(other.root(), index.root());

  // A bulk build (a start-up's) makes the nodes an update of the empty
  // index makes, so it holds the same index.
  std::vector<std::pair<IndexPath, PackedIndexNode>> built;
  auto root = BuildIndex(all, [&](const IndexPath& p, const IndexNode& n) {
    built.emplace_back(p, PackedIndexNode(n));
  });
  ASSERT_TRUE(root.ok()) << root.status();
  InMemoryIndex empty;
  auto from_empty = empty.Prepare(all);
  ASSERT_TRUE(from_empty.ok());
  EXPECT_EQ(*root, index.root());
  EXPECT_TRUE(built == from_empty->nodes);
  InMemoryIndex loaded;
  ASSERT_TRUE(loaded.Load(all).ok());
  EXPECT_EQ(loaded.root(), index.root());
  EXPECT_EQ(loaded.node_count(), index.node_count());
  std::vector<Hash> absent;
  for (const auto& [k, v] : entries) absent.push_back(KeyNear(k, 200, rng));
  ExpectProofs(loaded, entries, absent);

  all.push_back(all.front());
  EXPECT_EQ(loaded.Load(all).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(loaded.root(), index.root()) << "a refused load changes nothing";
  EXPECT_EQ(loaded.node_count(), index.node_count());
}

TEST(IndexProofTest, EverySingleBitMutationIsRejected) {
  std::mt19937_64 rng(11);
  InMemoryIndex index;
  std::vector<std::pair<Hash, Hash>> init;
  for (int i = 0; i < 300; ++i)
    init.emplace_back(KeyOf(absl::StrCat("u", i)), Value(i));
  ASSERT_TRUE(index.Apply(init).ok());
  Hash member = init[17].first;
  Hash absent_key = KeyOf("nobody");
  for (bool present : {true, false}) {
    Hash key = present ? member : absent_key;
    std::optional<Hash> value;
    auto proof = ProveIndex(&index, key, &value);
    ASSERT_TRUE(proof.ok());
    std::string bytes = proof->Encode();
    ASSERT_TRUE(VerifyIndexProof(index.root(), key, value, *proof).ok());
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
  InMemoryIndex index;
  ASSERT_TRUE(index
                  .Apply({{KeyOf("a"), Value(1)},
                          {KeyOf("b"), Value(2)},
                          {KeyOf("c"), Value(3)}})
                  .ok());
  Hash key = KeyOf("b");
  std::optional<Hash> value;
  auto proof = ProveIndex(&index, key, &value);
  ASSERT_TRUE(proof.ok());
  // Turn the membership proof into the two kinds of absence claims.
  IndexProof empty = *proof;
  empty.kind = IndexProof::Kind::kAbsentEmpty;
  EXPECT_EQ(VerifyIndexProof(index.root(), key, std::nullopt, empty).code(),
            absl::StatusCode::kDataLoss);
  IndexProof other = *proof;
  other.kind = IndexProof::Kind::kAbsentOtherLeaf;
  other.other_key = key;
  other.other_value_hash = *value;
  EXPECT_EQ(VerifyIndexProof(index.root(), key, std::nullopt, other).code(),
            absl::StatusCode::kInvalidArgument);
  // A shorter path (stopping at an internal node) does not verify.
  if (!proof->siblings.empty()) {
    IndexProof shorter = *proof;
    shorter.siblings.pop_back();
    EXPECT_FALSE(VerifyIndexProof(index.root(), key, value, shorter).ok());
  }
}

// Our vectors, from the independent Python implementation.
TEST(IndexVectors, RootsAndProofsMatch) {
  nlohmann::json v = LoadJsonTestData("ktlog/index.json");
  InMemoryIndex index;
  std::vector<std::pair<Hash, Hash>> entries;
  for (const auto& e : v["entries"]) {
    Hash key = KeyOf(e["account_id"].get<std::string>());
    EXPECT_EQ(key.ToHex(), e["key"]);
    entries.emplace_back(key,
                         *Hash::FromHex(e["value_hash"].get<std::string>()));
  }
  EXPECT_EQ(kEmptyIndexHash.ToHex(), v["empty_root"]);
  ASSERT_TRUE(index.Apply(entries).ok());
  EXPECT_EQ(index.root().ToHex(), v["root"]);
  std::set<std::string> kinds;
  for (const auto& p : v["proofs"]) {
    SCOPED_TRACE(p["account_id"].get<std::string>());
    Hash key = *Hash::FromHex(p["key"].get<std::string>());
    std::optional<Hash> value;
    auto proof = ProveIndex(&index, key, &value);
    ASSERT_TRUE(proof.ok());
    EXPECT_EQ(HexEncode(proof->Encode()), p["proof"]);
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

// The sharded node table keeps every path apart: the root and shallow
// paths (whose key bits past the depth are zero) and deep paths of random
// keys, across Reserve and Swap.
TEST(IndexNodeTableTest, FindsEveryPathItHolds) {
  std::mt19937_64 rng(7);
  std::map<IndexPath, uint64_t> want;
  want[IndexPath::Root()] = 1;
  for (int i = 0; i < 3000; ++i) {
    Hash key = Sha256(absl::StrCat("key ", i));
    want[IndexPath::Of(key, static_cast<int>(rng() % 257))] = rng();
  }
  IndexNodeTable<uint64_t> table;
  EXPECT_EQ(table.Find(IndexPath::Root()), nullptr);
  bool reserved = false;
  for (const auto& [path, value] : want) {
    if (!reserved && table.size() == want.size() / 2) {
      table.Reserve(2 * want.size());
      reserved = true;
    }
    table[path] = value;
  }
  EXPECT_EQ(table.size(), want.size());
  IndexNodeTable<uint64_t> other;
  other.Swap(table);
  EXPECT_EQ(table.size(), 0u);
  for (const auto& [path, value] : want) {
    const uint64_t* found = other.Find(path);
    ASSERT_NE(found, nullptr) << path.depth;
    EXPECT_EQ(*found, value);
  }
  IndexPath absent = IndexPath::Of(Sha256("absent"), 256);
  ASSERT_EQ(want.count(absent), 0u);
  EXPECT_EQ(other.Find(absent), nullptr);
  *other.Find(IndexPath::Root()) = 99;
  EXPECT_EQ(other[IndexPath::Root()], 99u);
  EXPECT_EQ(other[absent], 0u) << "inserted value-initialised";
  EXPECT_EQ(other.size(), want.size() + 1);
}

// Deep paths of hashed keys spread over the shards (what lets the table
// grow a shard at a time): 25,600 keys, 100 per shard on average; a shard
// with none or more than twice its share would mean the wrong byte.
TEST(IndexNodeTableTest, HashedKeysFillTheShardsEvenly) {
  std::vector<int> per_shard(IndexNodeTable<int>::kShards);
  for (int i = 0; i < 25600; ++i) {
    IndexPath path = IndexPath::Of(Sha256(absl::StrCat("key ", i)), 24);
    ++per_shard[IndexNodeTable<int>::ShardOf(path)];
  }
  for (int n : per_shard) {
    EXPECT_GT(n, 50);
    EXPECT_LT(n, 200);
  }
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
  InMemoryIndex index;
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
      ASSERT_TRUE(index.Apply(changes).ok());
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
