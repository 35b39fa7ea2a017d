#include "core/note/succession.h"

#include <string>

#include "core/merkle/merkle.h"
#include "core/testonly/reference_tree.h"
#include "gtest/gtest.h"

namespace ktlog {
namespace {

class SuccessionTest : public ::testing::Test {
 protected:
  SuccessionTest() {
    for (int i = 0; i < 9; ++i)
      tree_.AppendLeafHash(HashLeaf(std::to_string(i)));
  }

  LogCheckpoint At(uint64_t size, uint64_t time_ms = 1000) const {
    LogCheckpoint cp;
    cp.origin = "example.com/log";
    cp.size = size;
    cp.root = tree_.Root(size);
    cp.index_root = HashLeaf("index");
    cp.timestamp_ms = time_ms;
    return cp;
  }

  // Serves the reference tree's consistency proofs and counts requests.
  absl::StatusOr<std::vector<Hash>> Proof(uint64_t a, uint64_t b) {
    ++fetched_;
    return tree_.ConsistencyProof(a, b);
  }

  Succession Verdict(const LogCheckpoint& prev, const LogCheckpoint& next) {
    auto check = CheckSuccession(
        prev, next, [this](uint64_t a, uint64_t b) { return Proof(a, b); });
    EXPECT_TRUE(check.ok()) << check.status();
    return check.ok() ? check->verdict : Succession::kOk;
  }

  ReferenceTree tree_;
  int fetched_ = 0;
};

TEST_F(SuccessionTest, GrowingConsistentTreeFollows) {
  EXPECT_EQ(Verdict(At(3), At(9, 2000)), Succession::kOk);
  EXPECT_EQ(fetched_, 1);
  // Same checkpoint again, and from the empty tree: no proof needed.
  EXPECT_EQ(Verdict(At(9), At(9)), Succession::kOk);
  EXPECT_EQ(Verdict(At(0), At(9)), Succession::kOk);
  EXPECT_EQ(fetched_, 1);
}

TEST_F(SuccessionTest, RollbackForkAndTime) {
  EXPECT_EQ(Verdict(At(5, 1000), At(4, 1001)), Succession::kRollback);
  LogCheckpoint other = At(5);
  other.index_root = HashLeaf("another index");
  EXPECT_EQ(Verdict(At(5), other), Succession::kFork);
  LogCheckpoint rewritten = At(7);
  rewritten.root = tree_.Root(8);
  EXPECT_EQ(Verdict(At(5), rewritten), Succession::kFork);
  EXPECT_EQ(Verdict(At(5, 2000), At(6, 1999)), Succession::kTimeGoesBack);
}

// A replica that has not caught up serves an older checkpoint of the same
// tree: behind, not a rollback; but an older one of another tree is a fork.
TEST_F(SuccessionTest, AnOlderCheckpointOfTheSameTreeIsBehind) {
  EXPECT_EQ(Verdict(At(7, 2000), At(4, 1000)), Succession::kBehind);
  EXPECT_EQ(fetched_, 1) << "consistency from the older to the newer";
  EXPECT_EQ(Verdict(At(7, 2000), At(4, 2000)), Succession::kBehind);
  EXPECT_EQ(Verdict(At(7, 2000), At(7, 1000)), Succession::kBehind);
  EXPECT_EQ(Verdict(At(7, 2000), At(0, 1000)), Succession::kBehind);
  LogCheckpoint forked = At(4, 1000);
  forked.root = tree_.Root(5);
  EXPECT_EQ(Verdict(At(7, 2000), forked), Succession::kFork);
  LogCheckpoint other_index = At(7, 1000);
  other_index.index_root = HashLeaf("another index");
  EXPECT_EQ(Verdict(At(7, 2000), other_index), Succession::kFork);
  // Later but smaller: the log signed a smaller tree after a larger one.
  EXPECT_EQ(Verdict(At(7, 2000), At(4, 2001)), Succession::kRollback);
  // Older, but the log says it has no tree of the size it signed.
  auto gone = CheckSuccession(
      At(7, 2000), At(4, 1000),
      [](uint64_t, uint64_t) -> absl::StatusOr<std::vector<Hash>> {
        return absl::OutOfRangeError("tree size 7 is beyond the latest (4)");
      });
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(gone->verdict, Succession::kRollback);
  // A replica that cannot prove it yet: no verdict, the error.
  auto lagging = CheckSuccession(
      At(7, 2000), At(4, 1000),
      [](uint64_t, uint64_t) -> absl::StatusOr<std::vector<Hash>> {
        return absl::UnavailableError("not caught up");
      });
  EXPECT_EQ(lagging.status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(SuccessionTest, MalformedProofAndFetchErrors) {
  auto short_proof = CheckSuccession(
      At(5), At(7),
      [](uint64_t, uint64_t) -> absl::StatusOr<std::vector<Hash>> {
        return std::vector<Hash>{};
      });
  ASSERT_TRUE(short_proof.ok());
  EXPECT_EQ(short_proof->verdict, Succession::kInvalidProof);
  auto unreachable = CheckSuccession(
      At(5), At(7),
      [](uint64_t, uint64_t) -> absl::StatusOr<std::vector<Hash>> {
        return absl::UnavailableError("connection refused");
      });
  EXPECT_EQ(unreachable.status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace ktlog
