#include "core/crypto/vrf.h"

#include "absl/strings/str_cat.h"
#include "core/crypto/crypto.h"
#include "core/testonly/test_vectors.h"
#include "core/util/bytes.h"
#include "gtest/gtest.h"

namespace ktlog {
namespace {

// Every intermediate of a vector: x, pk, H, k (unreduced), U, V, pi, beta.
void CheckValidVector(const nlohmann::json& c) {
  SCOPED_TRACE(c.value("name", ""));
  auto key = VrfPrivateKey::FromSeed(Unhex(c["sk"]));
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(HexEncode(key->public_key().bytes()), c["pk"]);
  std::string alpha = Unhex(c["alpha"]);
  VrfTrace trace;
  auto eval = key->Prove(alpha, &trace);
  ASSERT_TRUE(eval.ok()) << eval.status();
  EXPECT_EQ(HexEncode(trace.x), c["x"]);
  EXPECT_EQ(HexEncode(trace.h), c["h"]);
  EXPECT_EQ(HexEncode(trace.k), c["k"]);
  EXPECT_EQ(HexEncode(trace.u), c["u"]);
  EXPECT_EQ(HexEncode(trace.v), c["v"]);
  EXPECT_EQ(HexEncode(eval->proof), c["pi"]);
  std::string beta = c["beta"];
  EXPECT_EQ(eval->output.ToHex(), beta.substr(0, 64)) << "truncated beta";
  auto pk = VrfPublicKey::FromBytes(Unhex(c["pk"]));
  ASSERT_TRUE(pk.ok());
  auto out = pk->Verify(alpha, Unhex(c["pi"]));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, eval->output);
}

TEST(VrfTest, Rfc9381Examples16To18) {
  nlohmann::json v =
      LoadJsonTestData("vectors/ecvrf_edwards25519_sha512_tai.json");
  ASSERT_EQ(v["vectors"].size(), 3u);
  for (const auto& c : v["vectors"]) CheckValidVector(c);
}

// Vectors of our own, from the independent Python implementation
// (tools/vectors/ecvrf.py): valid ones with every intermediate, and invalid
// ones that each check must reject.
TEST(VrfTest, IndependentImplementationVectors) {
  nlohmann::json v = LoadJsonTestData("ktlog/vrf.json");
  ASSERT_GE(v["valid"].size(), 12u);
  for (const auto& c : v["valid"]) CheckValidVector(c);
  int rejected = 0;
  for (const auto& c : v["invalid"]) {
    SCOPED_TRACE(c["why"].get<std::string>());
    auto pk = VrfPublicKey::FromBytes(Unhex(c["pk"]));
    if (!pk.ok()) {
      ++rejected;  // small-order or non-canonical keys: refused up front
      continue;
    }
    auto out = pk->Verify(Unhex(c["alpha"]), Unhex(c["pi"]));
    EXPECT_FALSE(out.ok());
    if (!out.ok()) ++rejected;
  }
  EXPECT_EQ(rejected, static_cast<int>(v["invalid"].size()));
  for (const auto& c : v["invalid_length"]) {
    SCOPED_TRACE(c["why"].get<std::string>());
    auto pk = VrfPublicKey::FromBytes(Unhex(c["pk"]));
    if (pk.ok()) {
      EXPECT_FALSE(pk->Verify(Unhex(c["alpha"]), Unhex(c["pi"])).ok());
    }
  }
  ASSERT_EQ(v["small_order_points"].size(), 8u);
  for (const auto& p : v["small_order_points"]) {
    std::string encoding = p["encoding"];
    EXPECT_EQ(VrfPublicKey::FromBytes(Unhex(encoding)).status().code(),
              absl::StatusCode::kInvalidArgument)
        << encoding;
  }
}

TEST(VrfTest, EveryBitFlipOfAProofIsRejected) {
  VrfPrivateKey key = VrfPrivateKey::Generate();
  auto eval = key.Prove("alice@example.com");
  ASSERT_TRUE(eval.ok());
  ASSERT_TRUE(key.public_key().Verify("alice@example.com", eval->proof).ok());
  for (size_t bit = 0; bit < eval->proof.size() * 8; ++bit) {
    std::string bad = eval->proof;
    bad[bit / 8] ^= static_cast<char>(1 << (bit % 8));
    EXPECT_FALSE(key.public_key().Verify("alice@example.com", bad).ok())
        << "bit " << bit;
  }
  // Another input, or another key, does not verify either.
  EXPECT_EQ(
      key.public_key().Verify("bob@example.com", eval->proof).status().code(),
      absl::StatusCode::kDataLoss);
  VrfPrivateKey other = VrfPrivateKey::Generate();
  EXPECT_FALSE(
      other.public_key().Verify("alice@example.com", eval->proof).ok());
}

TEST(VrfTest, MalformedProofsAreInvalidArgument) {
  VrfPrivateKey key = VrfPrivateKey::Generate();
  auto eval = key.Prove("x");
  ASSERT_TRUE(eval.ok());
  const VrfPublicKey& pk = key.public_key();
  EXPECT_EQ(pk.Verify("x", eval->proof.substr(0, 79)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(pk.Verify("x", eval->proof + "y").status().code(),
            absl::StatusCode::kInvalidArgument);
  // s + L: the same point equation, but not canonical.
  std::string s_plus_l = eval->proof;
  int carry = 0;
  const uint8_t kOrder[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58,
                              0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
                              0,    0,    0,    0,    0,    0,    0,    0,
                              0,    0,    0,    0,    0,    0,    0,    0x10};
  for (int i = 0; i < 32; ++i) {
    int sum = static_cast<uint8_t>(s_plus_l[48 + i]) + kOrder[i] + carry;
    s_plus_l[48 + i] = static_cast<char>(sum & 0xff);
    carry = sum >> 8;
  }
  EXPECT_EQ(pk.Verify("x", s_plus_l).status().code(),
            absl::StatusCode::kInvalidArgument);
  // A Gamma with y >= p.
  std::string big_y = eval->proof;
  big_y.replace(
      0, 32,
      Unhex(
          "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"));
  EXPECT_EQ(pk.Verify("x", big_y).status().code(),
            absl::StatusCode::kInvalidArgument);
  // Keys: identity, non-canonical, not on the curve, wrong length.
  for (const char* bad :
       {"0100000000000000000000000000000000000000000000000000000000000000",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "02"}) {
    EXPECT_FALSE(VrfPublicKey::FromBytes(Unhex(bad)).ok()) << bad;
  }
}

// Proving multiplies through libdecaf, verifying through libsodium: many
// keys and inputs (clamped scalars are all above L, so each is reduced)
// give proofs the other verifies, with the same output.
TEST(VrfTest, ProofsOfManyKeysAndInputsVerify) {
  for (int i = 0; i < 200; ++i) {
    VrfPrivateKey key =
        VrfPrivateKey::FromSeed(Sha256(absl::StrCat("seed ", i)).bytes())
            .value();
    std::string alpha(static_cast<size_t>(i % 70), static_cast<char>(i));
    absl::StatusOr<VrfPrivateKey::Evaluation> e = key.Prove(alpha);
    ASSERT_TRUE(e.ok()) << e.status();
    absl::StatusOr<Hash> out = key.public_key().Verify(alpha, e->proof);
    ASSERT_TRUE(out.ok()) << i << ": " << out.status();
    EXPECT_EQ(*out, e->output) << i;
  }
}

TEST(VrfTest, OutputIsDeterministicAndDependsOnKeyAndInput) {
  auto seed = std::string(32, '\x07');
  auto a = VrfPrivateKey::FromSeed(seed);
  auto b = VrfPrivateKey::FromSeed(seed);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->Prove("m")->proof, b->Prove("m")->proof);
  EXPECT_NE(a->Prove("m")->output, a->Prove("n")->output);
  EXPECT_NE(a->Prove("m")->output,
            VrfPrivateKey::Generate().Prove("m")->output);
  EXPECT_EQ(VrfPrivateKey::FromSeed("short").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ktlog
