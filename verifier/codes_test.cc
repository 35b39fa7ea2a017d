#include "verifier/codes.h"

#include <algorithm>

#include "core/testonly/test_vectors.h"
#include "core/util/bytes.h"
#include "gtest/gtest.h"

namespace ktlog {
namespace {

// libsignal's published vector (rust/protocol/src/fingerprint.rs,
// testVectorsVersion1): Curve25519 identity keys with their 0x05 type
// byte, phone numbers as stable ids, 5200 iterations.
TEST(CodesTest, MatchesSignalsPublishedVector) {
  std::string alice = Unhex(
      "0506863bc66d02b40d27b8d49ca7c09e9239236f9d7d25d6fcca5ce13c7064d868");
  std::string bob = Unhex(
      "05f781b6fb32fed9ba1cf2de978d4d5da28dc34046ae814402b5c0dbd96fda907b");
  SafetyCode a =
      SafetyCode::Compute(alice, "+14152222222", bob, "+14153333333");
  SafetyCode b =
      SafetyCode::Compute(bob, "+14153333333", alice, "+14152222222");
  EXPECT_EQ(a.Digits(),
            "300354477692869396892869876765458257569162576843440918079131");
  EXPECT_EQ(b.Digits(), a.Digits());
  EXPECT_EQ(HexEncode(a.Scannable()),
            "080112220a201e301a0353dce3dbe7684cb8336e85136cdc0ee96219494ada305d"
            "62a7bd61df1a220a20d62cbf73a11592015b6b9f1682ac306fea3aaf3885b84d12"
            "bca631e9d4fb3a4d");
  EXPECT_EQ(HexEncode(b.Scannable()),
            "080112220a20d62cbf73a11592015b6b9f1682ac306fea3aaf3885b84d12bca631"
            "e9d4fb3a4d1a220a201e301a0353dce3dbe7684cb8336e85136cdc0ee96219494a"
            "da305d62a7bd61df");
  // Each side accepts the other's scan, and not its own.
  EXPECT_TRUE(*a.Matches(b.ScannableText()));
  EXPECT_TRUE(*b.Matches(a.ScannableText()));
  EXPECT_FALSE(*a.Matches(a.ScannableText()));
}

TEST(CodesTest, OurVectors) {
  nlohmann::json v = LoadJsonTestData("ktlog/codes.json");
  for (const auto& c : v["codes"]) {
    std::string lk = Unhex(c["local_key"]), rk = Unhex(c["remote_key"]);
    std::string lid = c["local_id"], rid = c["remote_id"];
    EXPECT_EQ(FingerprintDigits(PartyFingerprint(lk, lid)), c["local_digits"]);
    SafetyCode code = SafetyCode::Compute(lk, lid, rk, rid);
    EXPECT_EQ(code.Digits(), c["code"]);
    EXPECT_EQ(code.ScannableText(), c["scannable_text"]);
  }
  // The second vector is the first after alice rotated her key: it changed.
  EXPECT_NE(v["codes"][0]["code"], v["codes"][1]["code"]);
}

TEST(CodesTest, TypedComparisonAndErrors) {
  SafetyCode a = SafetyCode::Compute(std::string(32, 'a'), "alice",
                                     std::string(32, 'b'), "bob");
  SafetyCode b = SafetyCode::Compute(std::string(32, 'b'), "bob",
                                     std::string(32, 'a'), "alice");
  EXPECT_EQ(a.Digits(), b.Digits());
  EXPECT_EQ(a.Digits().size(), 60u);
  std::string grouped = GroupDigits(a.Digits());
  EXPECT_EQ(std::count(grouped.begin(), grouped.end(), '\n'), 2);
  EXPECT_TRUE(*a.Matches(grouped)) << "spaces and newlines are ignored";
  std::string wrong = a.Digits();
  wrong[59] = wrong[59] == '0' ? '1' : '0';
  EXPECT_FALSE(*a.Matches(wrong));
  EXPECT_EQ(a.Matches("12345").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(a.Matches("abc").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(a.Matches("ktlog-code:AAAA").status().code(),
            absl::StatusCode::kInvalidArgument);
  // A different key for bob (a man in the middle) gives another code.
  SafetyCode mitm = SafetyCode::Compute(std::string(32, 'a'), "alice",
                                        std::string(32, 'm'), "bob");
  EXPECT_NE(mitm.Digits(), b.Digits());
  EXPECT_FALSE(*mitm.Matches(b.ScannableText()));
  EXPECT_EQ(PublicCode(std::string(32, 'a'), "alice").size(), 35u);
}

}  // namespace
}  // namespace ktlog
