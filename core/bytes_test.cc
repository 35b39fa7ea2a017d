#include "core/bytes.h"

#include "gtest/gtest.h"

namespace ktlog {
namespace {

TEST(HexTest, RoundTrip) {
  EXPECT_EQ(HexEncode(std::string("\x00\xab\xff", 3)), "00abff");
  EXPECT_EQ(*HexDecode("00ABff"), std::string("\x00\xab\xff", 3));
  EXPECT_FALSE(HexDecode("abc").ok());
  EXPECT_FALSE(HexDecode("zz").ok());
}

TEST(Base64Test, StrictDecoding) {
  EXPECT_EQ(Base64Encode("hello"), "aGVsbG8=");
  EXPECT_EQ(*Base64Decode("aGVsbG8="), "hello");
  EXPECT_EQ(*Base64Decode(""), "");
  EXPECT_FALSE(Base64Decode("aGVsbG8").ok()) << "missing padding";
  EXPECT_FALSE(Base64Decode("aGVsbG9=").ok()) << "non-canonical last char";
  EXPECT_FALSE(Base64Decode("aGVs bG8=").ok()) << "whitespace";
  EXPECT_FALSE(Base64Decode("-_8A").ok()) << "URL alphabet";
  EXPECT_FALSE(Base64Decode("aGVsbG8=\n").ok());
}

TEST(DecimalTest, Strict) {
  EXPECT_EQ(*ParseDecimalU64("0"), 0u);
  EXPECT_EQ(*ParseDecimalU64("18446744073709551615"), UINT64_MAX);
  EXPECT_FALSE(ParseDecimalU64("18446744073709551616").ok());
  EXPECT_FALSE(ParseDecimalU64("01").ok());
  EXPECT_FALSE(ParseDecimalU64("+1").ok());
  EXPECT_FALSE(ParseDecimalU64("-1").ok());
  EXPECT_FALSE(ParseDecimalU64("").ok());
  EXPECT_FALSE(ParseDecimalU64("1 ").ok());
}

TEST(ByteReaderTest, ReadsFieldsInOrder) {
  std::string data("\x00\x02" "ab", 4);
  AppendBigEndian(7, 8, &data);
  ByteReader r(data);
  absl::string_view s;
  uint64_t v;
  ASSERT_TRUE(r.ReadU16Prefixed(&s));
  EXPECT_EQ(s, "ab");
  ASSERT_TRUE(r.ReadU64(&v));
  EXPECT_EQ(v, 7u);
  EXPECT_TRUE(r.empty());
  EXPECT_FALSE(r.failed());
}

TEST(ByteReaderTest, FailsOnShortInputAndStaysFailed) {
  std::string data("\x01\x02" "ab", 4);  // claims 258 bytes, has 2
  ByteReader r(data);
  absl::string_view s;
  EXPECT_FALSE(r.ReadU16Prefixed(&s));
  EXPECT_TRUE(r.failed());
  uint8_t b;
  EXPECT_FALSE(r.ReadU8(&b)) << "reads after a failure must fail";
}

}  // namespace
}  // namespace ktlog
