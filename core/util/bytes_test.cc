#include "core/util/bytes.h"

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
  std::string data(
      "\x00\x02"
      "ab",
      4);
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
  std::string data(
      "\x01\x02"
      "ab",
      4);  // claims 258 bytes, has 2
  ByteReader r(data);
  absl::string_view s;
  EXPECT_FALSE(r.ReadU16Prefixed(&s));
  EXPECT_TRUE(r.failed());
  uint8_t b;
  EXPECT_FALSE(r.ReadU8(&b)) << "reads after a failure must fail";
}

}  // namespace
}  // namespace ktlog

namespace ktlog {
namespace {

TEST(Utf8Test, Validation) {
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("\xe2\x80\x94"));   // em dash
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));      // overlong
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));  // surrogate
  EXPECT_FALSE(IsValidUtf8("\xe2\x80"));      // truncated
  EXPECT_TRUE(IsPrintableUtf8WithoutSpaces("example.com/log"));
  EXPECT_FALSE(IsPrintableUtf8WithoutSpaces("a b"));
  EXPECT_FALSE(
      IsPrintableUtf8WithoutSpaces("a\xc2\xa0"
                                   "b"));  // NBSP
  EXPECT_FALSE(IsPrintableUtf8WithoutSpaces("a\x01"));
  EXPECT_TRUE(IsPrintableUtf8("a b"));
  EXPECT_FALSE(IsPrintableUtf8("a\nb"));
  EXPECT_FALSE(IsPrintableUtf8("a\x7f"));
}

}  // namespace
}  // namespace ktlog
