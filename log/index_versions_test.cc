// IndexVersions against an index applied alone: every kept version proves
// what that version held, forgotten versions are refused, and a reader
// keeps the version it took while others are made and forgotten.
#include "log/index_versions.h"

#include <map>
#include <random>
#include <thread>

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

TEST(IndexVersionsTest, EveryKeptVersionIsExactAndForgottenOnesAreRefused) {
  std::mt19937 rng(7);
  IndexVersions versions;
  IndexSnapshot reference;
  std::map<uint64_t, IndexSnapshot> snapshots;
  snapshots[0] = reference;
  uint64_t version = 0;
  for (int b = 1; b <= 60; ++b) {
    auto changes = Batch(&rng, 300, 1 + static_cast<int>(rng() % 40), b);
    version += 1 + rng() % 5;
    absl::StatusOr<IndexSnapshot> next = versions.Prepare(changes);
    ASSERT_TRUE(next.ok()) << next.status();
    const Hash root = next->root();
    versions.Commit(*std::move(next), version, /*now_ms=*/b * 1000);
    reference = *reference.Apply(changes);
    EXPECT_EQ(root, reference.root());
    snapshots[version] = reference;
  }
  EXPECT_EQ(versions.kept(), 61u);
  // Keep the versions made from t = 40 s on.
  versions.Forget(40 * 1000);
  EXPECT_EQ(versions.kept(), 21u);
  for (const auto& [v, snapshot] : snapshots) {
    absl::StatusOr<IndexSnapshot> at = versions.At(v);
    if (v < versions.oldest()) {
      EXPECT_EQ(at.status().code(), absl::StatusCode::kFailedPrecondition);
      EXPECT_EQ(versions.RootAt(v).status().code(),
                absl::StatusCode::kNotFound);
      continue;
    }
    ASSERT_TRUE(at.ok()) << v << ": " << at.status();
    EXPECT_EQ(at->root(), snapshot.root()) << v;
    EXPECT_EQ(*versions.RootAt(v), snapshot.root()) << v;
    for (int k = 0; k < 300; k += 7) {
      std::optional<Hash> got, want;
      EXPECT_EQ(at->Prove(Key(k), &got).Encode(),
                snapshot.Prove(Key(k), &want).Encode());
      EXPECT_EQ(got, want);
    }
  }
  // Not a version: refused.
  EXPECT_EQ(versions.At(versions.latest() + 1).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

// A lookup that took a version keeps proving it while the writer makes and
// forgets versions on another thread (TSan runs this).
TEST(IndexVersionsTest, AReaderKeepsItsVersionWhileOthersComeAndGo) {
  IndexVersions versions;
  std::mt19937 rng(1);
  absl::StatusOr<IndexSnapshot> first =
      versions.Prepare(Batch(&rng, 500, 200, 1));
  ASSERT_TRUE(first.ok());
  versions.Commit(*first, 1, 10);
  absl::StatusOr<IndexSnapshot> taken = versions.At(1);
  ASSERT_TRUE(taken.ok());
  const Hash root = taken->root();
  std::optional<Hash> value;
  const std::string proof = taken->Prove(Key(3), &value).Encode();
  std::thread writer([&] {
    std::mt19937 wrng(2);
    for (uint64_t v = 2; v < 200; ++v) {
      absl::StatusOr<IndexSnapshot> next =
          versions.Prepare(Batch(&wrng, 500, 20, static_cast<int>(v)));
      ASSERT_TRUE(next.ok());
      versions.Commit(*std::move(next), v, v * 10);
      versions.Forget(v * 10);  // keeps only the latest
    }
  });
  for (int i = 0; i < 200; ++i) {
    std::optional<Hash> again;
    EXPECT_EQ(taken->Prove(Key(3), &again).Encode(), proof);
    EXPECT_EQ(again, value);
    EXPECT_EQ(taken->root(), root);
    absl::StatusOr<IndexSnapshot> latest = versions.At(versions.latest());
    // The latest may be forgotten between the two calls; never wrong.
    if (latest.ok()) {
      IndexProof p = latest->Prove(Key(i % 500), &again);
      EXPECT_TRUE(
          VerifyIndexProof(latest->root(), Key(i % 500), again, p).ok());
    }
  }
  writer.join();
  EXPECT_EQ(versions.kept(), 1u) << "the latest always stays";
  EXPECT_EQ(versions.At(1).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(taken->root(), root);
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
  EXPECT_EQ(versions.At(0).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(versions.kept(), 1u);
}

}  // namespace
}  // namespace ktlog
