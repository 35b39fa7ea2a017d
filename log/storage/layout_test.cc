#include "log/storage/layout.h"

#include "gtest/gtest.h"

namespace ktlog {
namespace layout {
namespace {

TEST(LayoutTest, KeysRoundTrip) {
  for (uint64_t i : {0ull, 1ull, 255ull, 256ull, (1ull << 40) + 7, ~0ull}) {
    EXPECT_EQ(ParseLeafKey(LeafKey(i)), i);
    EXPECT_EQ(ParseIndexRootKey(IndexRootKey(i)), i);
    EXPECT_EQ(ParseU64Value(U64Value(i)), i);
    EXPECT_EQ(ParseVersioned(Versioned(HistoryPrefix("alice"), i),
                             HistoryPrefix("alice")),
              i);
  }
  NodeId id;
  id.level = 5;
  id.index = 123456789;
  std::optional<NodeId> back = ParseNodeKey(NodeKey(id));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->level, 5);
  EXPECT_EQ(back->index, 123456789u);
}

TEST(LayoutTest, ParsersRejectOtherKeys) {
  EXPECT_FALSE(ParseLeafKey(IndexRootKey(3)).has_value());
  EXPECT_FALSE(ParseIndexRootKey(LeafKey(3)).has_value());
  EXPECT_FALSE(ParseLeafKey(LeafKey(3) + "x").has_value());
  EXPECT_FALSE(ParseLeafKey(EntryKey(3)).has_value());
  EXPECT_FALSE(ParseNodeKey(LeafKey(3)).has_value());
  EXPECT_FALSE(ParseU64Value("1234567").has_value());
  // A versioned key of another account, even one whose id extends this
  // one's, is not this account's.
  EXPECT_FALSE(ParseVersioned(Versioned(HistoryPrefix("alice2"), 1),
                              HistoryPrefix("alice"))
                   .has_value());
  EXPECT_FALSE(ParseVersioned(Versioned(AccountStatePrefix("alice"), 1),
                              HistoryPrefix("alice"))
                   .has_value());
  EXPECT_NE(PositionKey("alice"), HistoryPrefix("alice"));
}

// The orders the storage relies on.
TEST(LayoutTest, KeysSortAsTheStorageNeeds) {
  EXPECT_LT(LeafKey(255), LeafKey(256));
  EXPECT_LT(EntryKey(255), EntryKey(256));
  EXPECT_LT(IndexRootKey(9), IndexRootKey(10));
  EXPECT_LT(Versioned(AccountStatePrefix("bob"), 7),
            Versioned(AccountStatePrefix("bob"), 8));
  // Versions of one account are contiguous: no other account's key sorts
  // between them.
  std::string lo = Versioned(AccountStatePrefix("bob"), 0);
  std::string hi = Versioned(AccountStatePrefix("bob"), ~0ull);
  for (const char* other : {"bo", "bob2", "boa", "bobb", "c", ""}) {
    std::string k = Versioned(AccountStatePrefix(other), 5);
    EXPECT_TRUE(k < lo || k > hi) << other;
  }
  // Cosigned checkpoints: by size, then timestamp, whatever the body.
  LogCheckpoint a, b, c;
  a.size = b.size = 5;
  a.timestamp_ms = 100;
  b.timestamp_ms = 200;
  c.size = 6;
  c.timestamp_ms = 1;
  EXPECT_LT(CosignedKey(a, "zzz"), CosignedKey(b, "aaa"));
  EXPECT_LT(CosignedKey(b, "zzz"), CosignedKey(c, "aaa"));
  EXPECT_LT(CosignedKey(c, "zzz"), CosignedEnd());
  EXPECT_EQ(CosignedKey(c, "x").rfind(CosignedPrefix(), 0), 0u);
  // The format marker and the other metadata keys stay apart.
  EXPECT_NE(FormatKey(), IdentityKey());
  EXPECT_NE(SizeKey(), CheckpointKey());
}

}  // namespace
}  // namespace layout
}  // namespace ktlog
