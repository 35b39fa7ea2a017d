// C2SP tlog-tiles paths (the spec's examples), widths, bundles, and every
// node of many trees computed from tiles against the reference tree.
#include "core/merkle/tiles.h"

#include "absl/strings/str_cat.h"
#include "core/crypto/crypto.h"
#include "core/testonly/reference_tree.h"
#include "gtest/gtest.h"

namespace ktlog {
namespace {

TEST(TilesTest, PathsAreC2sp) {
  EXPECT_EQ((TileId{false, 0, 1234067, 256}).Path(), "tile/0/x001/x234/067");
  EXPECT_EQ((TileId{false, 1, 0, 256}).Path(), "tile/1/000");
  EXPECT_EQ((TileId{false, 2, 1000, 12}).Path(), "tile/2/x001/000.p/12");
  EXPECT_EQ((TileId{true, 0, 5, 256}).Path(), "tile/entries/005");
  EXPECT_EQ((TileId{true, 0, 999, 3}).Path(), "tile/entries/999.p/3");
  for (const TileId& t :
       {TileId{false, 0, 1234067, 256}, TileId{false, 7, 0, 1},
        TileId{true, 0, 999999999999, 255}, TileId{false, 3, 1000, 256}}) {
    auto parsed = ParseTilePath(t.Path());
    ASSERT_TRUE(parsed.ok()) << t.Path() << ": " << parsed.status();
    EXPECT_EQ(*parsed, t) << t.Path();
  }
  for (const char* bad :
       {"tile/0/x000/001", "tile/0/1", "tile/0/0001", "tile/8/000",
        "tile/0/000.p/0", "tile/0/000.p/256", "tile/0/000.p/012",
        "tile/entries/x001", "tiles/0/000", "tile/0/001/002", "tile/0/xa01/000",
        "tile//000", "tile/0/", "tile/entries/000.p/", "tile/0/x1/000"}) {
    EXPECT_FALSE(ParseTilePath(bad).ok()) << bad;
  }
}

TEST(TilesTest, WidthsFollowTheTree) {
  EXPECT_EQ(TileWidthAt(0, 0, 0), 0u);
  EXPECT_EQ(TileWidthAt(0, 0, 1), 1u);
  EXPECT_EQ(TileWidthAt(0, 0, 256), 256u);
  EXPECT_EQ(TileWidthAt(0, 1, 256), 0u);
  EXPECT_EQ(TileWidthAt(0, 1, 300), 44u);
  EXPECT_EQ(TileWidthAt(1, 0, 300), 1u);  // one node of height 8
  EXPECT_EQ(TileWidthAt(1, 0, 255), 0u);
  EXPECT_EQ(TileWidthAt(1, 0, 65536), 256u);
}

TEST(TilesTest, EveryNodeFromItsTile) {
  for (uint64_t size : {1u, 2u, 255u, 256u, 257u, 1000u, 65536u + 513u}) {
    ReferenceTree ref;
    for (uint64_t i = 0; i < size; ++i) {
      ref.AppendLeafHash(Sha256(absl::StrCat("leaf ", i)));
    }
    // The level-8L node hashes, to cut tiles from.
    auto nodes_at = [&](int level) {
      std::vector<Hash> out;
      for (uint64_t b = 0; b + (uint64_t{1} << level) <= size;
           b += uint64_t{1} << level) {
        out.push_back(ref.SubtreeRoot(b, b + (uint64_t{1} << level)));
      }
      return out;
    };
    for (int level : {0, 1, 5, 8, 9, 15, 16}) {
      std::vector<Hash> base = nodes_at(level - level % kTileHeight);
      for (uint64_t i = 0; (i + 1) << level <= size; i += 1 + i / 3) {
        NodeId node{static_cast<uint8_t>(level), i};
        TileId t = TileOf(node, size);
        ASSERT_GT(t.width, 0u);
        std::vector<Hash> tile(base.begin() + t.index * kTileWidth,
                               base.begin() + t.index * kTileWidth + t.width);
        EXPECT_EQ(NodeFromTile(node, tile),
                  ref.SubtreeRoot(node.begin(), node.end()))
            << size << " " << level << " " << i;
      }
    }
  }
}

TEST(TilesTest, BundlesAndTilesRoundTrip) {
  std::vector<std::string> entries = {"a", "", std::string(300, 'x')};
  std::string bundle = EncodeEntryBundle(entries);
  EXPECT_EQ(*DecodeEntryBundle(bundle, 3), entries);
  EXPECT_FALSE(DecodeEntryBundle(bundle, 2).ok());
  EXPECT_FALSE(DecodeEntryBundle(bundle.substr(1), 3).ok());
  std::vector<Hash> hashes = {Sha256("1"), Sha256("2")};
  EXPECT_EQ(*DecodeHashTile(EncodeHashTile(hashes), 2), hashes);
  EXPECT_FALSE(DecodeHashTile(EncodeHashTile(hashes), 3).ok());
}

}  // namespace
}  // namespace ktlog
