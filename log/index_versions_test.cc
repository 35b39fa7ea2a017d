// IndexVersions against InMemoryIndex snapshots: every kept version proves
// what that version held, forgotten versions are refused, live readers keep
// theirs, and memory shrinks back as versions are forgotten.
#include "log/index_versions.h"

#include <random>

#include "absl/strings/str_cat.h"
#include "core/crypto/crypto.h"
#include "gtest/gtest.h"

namespace ktlog {
namespace {

Hash Key(int i) { return Sha256(absl::StrCat("key ", i)); }

// A random batch of changes over `keys` keys.
std::vector<std::pair<Hash, Hash>> Batch(std::mt19937* rng, int keys, int n,
                                         int version) {
  std::map<Hash, Hash> changes;
  for (int i = 0; i < n; ++i) {
    int k = static_cast<int>((*rng)() % keys);
    changes[Key(k)] = Sha256(absl::StrCat("value ", k, " at ", version));
  }
  return {changes.begin(), changes.end()};
}

// The value of `key` as a reader of some version proves it.
std::optional<Hash> ValueAt(IndexNodeReader* reader, const Hash& key) {
  std::optional<Hash> value;
  EXPECT_TRUE(ProveIndex(reader, key, &value).ok());
  return value;
}

TEST(IndexVersionsTest, EveryKeptVersionIsExactAndForgottenOnesAreRefused) {
  std::mt19937 rng(7);
  IndexVersions versions;
  InMemoryIndex reference;
  std::map<uint64_t, InMemoryIndex> snapshots;
  snapshots[0] = reference;
  uint64_t version = 0;
  for (int b = 1; b <= 60; ++b) {
    auto changes = Batch(&rng, 300, 1 + static_cast<int>(rng() % 40), b);
    version += 1 + rng() % 5;
    auto update = versions.Prepare(changes);
    ASSERT_TRUE(update.ok()) << update.status();
    versions.Commit(*update, version, /*now_ms=*/b * 1000);
    ASSERT_TRUE(reference.Apply(changes).ok());
    EXPECT_EQ(update->root, reference.root());
    snapshots[version] = reference;
  }
  size_t before = versions.node_versions();
  // Keep the versions made from t = 40 s on.
  versions.Forget(40 * 1000);
  EXPECT_LT(versions.node_versions(), before);
  for (const auto& [v, snapshot] : snapshots) {
    auto reader = versions.ReaderAt(v);
    if (v < versions.oldest()) {
      EXPECT_EQ(reader.status().code(), absl::StatusCode::kFailedPrecondition);
      continue;
    }
    ASSERT_TRUE(reader.ok()) << v << ": " << reader.status();
    EXPECT_EQ(*IndexRoot(reader->get()), snapshot.root()) << v;
    InMemoryIndex copy = snapshot;
    for (int k = 0; k < 300; k += 7) {
      EXPECT_EQ(ValueAt(reader->get(), Key(k)), ValueAt(&copy, Key(k)));
    }
  }
  // Not a version: refused.
  EXPECT_EQ(versions.ReaderAt(versions.latest() + 1).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(IndexVersionsTest, ALiveReaderKeepsItsVersion) {
  IndexVersions versions;
  std::mt19937 rng(1);
  auto add = [&](uint64_t v, uint64_t t) {
    auto update = versions.Prepare(Batch(&rng, 50, 10, static_cast<int>(v)));
    ASSERT_TRUE(update.ok());
    versions.Commit(*update, v, t);
  };
  add(1, 10);
  auto reader = versions.ReaderAt(1);
  ASSERT_TRUE(reader.ok());
  Hash root = *IndexRoot(reader->get());
  add(2, 20);
  add(3, 30);
  versions.Forget(100);  // would forget 0, 1 and 2
  EXPECT_EQ(versions.oldest(), 1u) << "version 1 has a reader";
  EXPECT_EQ(*IndexRoot(reader->get()), root);
  reader->reset();
  versions.Forget(100);
  EXPECT_EQ(versions.oldest(), 3u) << "the latest always stays";
}

TEST(IndexVersionsTest, LoadRebuildsTheLatest) {
  std::vector<std::pair<Hash, Hash>> entries;
  std::map<Hash, Hash> naive;
  for (int i = 0; i < 1000; ++i) {
    entries.emplace_back(Key(i), Sha256(absl::StrCat(i)));
    naive[Key(i)] = Sha256(absl::StrCat(i));
  }
  IndexVersions versions;
  ASSERT_TRUE(versions.Load(entries, 77, 5).ok());
  EXPECT_EQ(versions.latest(), 77u);
  EXPECT_EQ(versions.latest_root(), NaiveIndexRoot(naive));
  EXPECT_EQ(*versions.RootAt(77), NaiveIndexRoot(naive));
  EXPECT_FALSE(versions.ReaderAt(0).ok());
}

}  // namespace
}  // namespace ktlog
