#include "log/private_feed.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace ktlog {
namespace {

PrivateEntry Entry(const std::string& record) {
  return PrivateEntry{record, std::string(16, 'r'), std::string(16, 's')};
}

TEST(PrivateFeedTest, BundlesRoundTripByteForByte) {
  std::vector<FeedItem> items(3);
  items[0].entry = Entry("record one");
  items[1].entry = Entry(std::string(1767, 'x'));
  items[1].batch_end = true;
  items[2].batch_end = true;  // an erasure leaf that ends a signed batch
  items[2].signed_size = true;
  std::string data = EncodeFeedBundle(items);
  // Item 0: u16 length 45, flags 1, u16 10, record, two 16-byte openings.
  std::string first("\x00\x2d\x01\x00\x0a", 5);
  EXPECT_EQ(data.substr(0, 5), first);
  EXPECT_EQ(data.substr(5, 10), "record one");
  // Item 2: length 1, flags 2|4.
  EXPECT_EQ(data.substr(data.size() - 3), std::string("\x00\x01\x06", 3));
  auto decoded = DecodeFeedBundle(data, 3);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, items);
}

TEST(PrivateFeedTest, MalformedBundlesAreRefused) {
  std::vector<FeedItem> items(1);
  items[0].entry = Entry("r");
  std::string data = EncodeFeedBundle(items);
  EXPECT_EQ(DecodeFeedBundle(data, 2).status().code(),
            absl::StatusCode::kInvalidArgument);
  std::string unknown = data;
  unknown[2] = '\x09';  // bit 3
  EXPECT_EQ(DecodeFeedBundle(unknown, 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  std::string short_opening = EncodeFeedBundle(
      {FeedItem{PrivateEntry{"r", "short", std::string(16, 's')}}});
  EXPECT_EQ(DecodeFeedBundle(short_opening, 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  std::string trailing("\x00\x02\x00\x00", 4);  // no entry, yet a byte
  EXPECT_EQ(DecodeFeedBundle(trailing, 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeFeedBundle(std::string("\x00\x00", 2), 1).status().code(),
            absl::StatusCode::kInvalidArgument)
      << "an empty item";
}

TEST(PrivateFeedTest, PathsFollowTheEntryBundles) {
  EXPECT_EQ(FeedPath(TileId{true, 0, 1234067, 256}), "private/x001/x234/067");
  EXPECT_EQ(FeedPath(TileId{true, 0, 0, 5}), "private/000.p/5");
}

}  // namespace
}  // namespace ktlog
