#include "core/crypto/crypto.h"

#include <openssl/ec.h>
#include <openssl/evp.h>

#include "core/testonly/test_vectors.h"
#include "core/util/bytes.h"
#include "gtest/gtest.h"

namespace ktlog {
namespace {

TEST(Sha256Test, KnownAnswers) {
  EXPECT_EQ(Sha256("").ToHex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256("abc").ToHex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256({"a", "bc"}), Sha256("abc"));
}

TEST(Sha512Test, KnownAnswer) {
  auto d = Sha512({"abc"});
  EXPECT_EQ(
      HexEncode(absl::string_view(reinterpret_cast<char*>(d.data()), d.size()))
          .substr(0, 32),
      "ddaf35a193617abacc417349ae204131");
}

// RFC 4231 test cases 1, 2 and 6 (a key longer than the block).
TEST(HmacSha256Test, Rfc4231) {
  EXPECT_EQ(HmacSha256(std::string(20, '\x0b'), {"Hi There"}).ToHex(),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(HmacSha256("Jefe", {"what do ya want ", "for nothing?"}).ToHex(),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(
      HmacSha256(std::string(131, '\xaa'),
                 {"Test Using Larger Than Block-Size Key - Hash Key First"})
          .ToHex(),
      "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(ConstantTimeEqualsTest, Compares) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "ab"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
}

// RFC 8032 §7.1 and Wycheproof: every case must verify exactly when valid,
// and the RFC cases with seeds must sign to the published signature.
TEST(Ed25519Test, Rfc8032AndWycheproofVectors) {
  nlohmann::json v =
      LoadJsonTestData("vectors/ed25519_rfc8032_wycheproof.json");
  int checked = 0, signed_cases = 0;
  for (const auto& c : v["ed25519"]) {
    SCOPED_TRACE(c["desc"].get<std::string>());
    std::string pub = Unhex(c["public_key"]);
    std::string msg = Unhex(c["message"]);
    std::string sig = Unhex(c["signature"]);
    bool valid = c["valid"];
    absl::StatusOr<Ed25519PublicKey> key = Ed25519PublicKey::FromBytes(pub);
    bool verified = key.ok() && key->Verify(msg, sig);
    EXPECT_EQ(verified, valid);
    if (c.contains("seed")) {
      auto priv = Ed25519PrivateKey::FromSeed(Unhex(c["seed"]));
      ASSERT_TRUE(priv.ok());
      EXPECT_EQ(priv->public_key().bytes(), pub);
      EXPECT_EQ(HexEncode(priv->Sign(msg)), HexEncode(sig));
      ++signed_cases;
    }
    ++checked;
  }
  EXPECT_EQ(checked, 155);
  EXPECT_GE(signed_cases, 4);
}

TEST(Ed25519Test, GeneratedKeysSignAndVerify) {
  Ed25519PrivateKey k = Ed25519PrivateKey::Generate();
  std::string sig = k.Sign("message");
  EXPECT_TRUE(k.public_key().Verify("message", sig));
  EXPECT_FALSE(k.public_key().Verify("messagE", sig));
  sig[0] ^= 1;
  EXPECT_FALSE(k.public_key().Verify("message", sig));
  EXPECT_FALSE(k.public_key().Verify("message", sig.substr(1)));
  Ed25519PrivateKey other = Ed25519PrivateKey::Generate();
  EXPECT_NE(other.public_key(), k.public_key());
}

TEST(Ed25519Test, RejectsBadSizes) {
  EXPECT_FALSE(Ed25519PublicKey::FromBytes("short").ok());
  EXPECT_FALSE(Ed25519PrivateKey::FromSeed("short").ok());
}

// Issue 27, 4: under a key of small order the signature (R = identity,
// S = 0) verifies for any message (OpenSSL 3.0 accepts it), so anyone
// could write an account rotated to such a key, or forge a witness's
// cosignatures. Every small-order point and non-canonical encoding is
// refused where keys enter.
TEST(Ed25519Test, RefusesSmallOrderAndNonCanonicalKeys) {
  const char* small_order[] = {
      "0100000000000000000000000000000000000000000000000000000000000000",
      "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
      "0000000000000000000000000000000000000000000000000000000000000000",
      "0000000000000000000000000000000000000000000000000000000000000080",
      "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
      "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
      "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
      "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
  };
  for (const char* hex : small_order) {
    SCOPED_TRACE(hex);
    EXPECT_EQ(Ed25519PublicKey::FromBytes(Unhex(hex)).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
  const char* non_canonical[] = {
      // y = p, y = p + 1 (the identity's y plus p), y = 2^255 - 1.
      "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
      "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
      "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
      // x = 0 with the sign bit set: y = 1 and y = p - 1.
      "0100000000000000000000000000000000000000000000000000000000000080",
      "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
  };
  for (const char* hex : non_canonical) {
    SCOPED_TRACE(hex);
    EXPECT_EQ(Ed25519PublicKey::FromBytes(Unhex(hex)).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
  // The forgery the check prevents: what OpenSSL alone would accept.
  std::string identity = Unhex(small_order[0]);
  std::string forged = identity + std::string(32, '\0');  // R = I, S = 0
  EVP_PKEY* raw = EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr,
      reinterpret_cast<const unsigned char*>(identity.data()), 32);
  ASSERT_NE(raw, nullptr) << "OpenSSL takes the identity as a key";
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ASSERT_EQ(EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, raw), 1);
  std::string message = "any message at all";
  EXPECT_EQ(EVP_DigestVerify(
                ctx, reinterpret_cast<const unsigned char*>(forged.data()), 64,
                reinterpret_cast<const unsigned char*>(message.data()),
                message.size()),
            1)
      << "OpenSSL accepts (I, 0) under the identity";
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(raw);
  // A real key still works.
  EXPECT_TRUE(Ed25519PublicKey::FromBytes(
                  Ed25519PrivateKey::Generate().public_key().bytes())
                  .ok());
}

// P-256 (security keys' ES256): a signature verifies in its low-S form
// only; LowS turns the other half into it.
TEST(P256Test, OnlyLowSSignaturesVerify) {
  EVP_PKEY* k = EVP_EC_gen("P-256");
  ASSERT_NE(k, nullptr);
  unsigned char pub[65];
  size_t pub_len = 0;
  ASSERT_EQ(
      EVP_PKEY_get_octet_string_param(k, "pub", pub, sizeof(pub), &pub_len), 1);
  absl::StatusOr<P256PublicKey> key = P256PublicKey::FromUncompressed(
      std::string(reinterpret_cast<char*>(pub), pub_len));
  ASSERT_TRUE(key.ok()) << key.status();
  int low = 0, high = 0;
  for (int i = 0; i < 16; ++i) {
    std::string message = "message " + std::to_string(i);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    unsigned char sig[80];
    size_t sig_len = sizeof(sig);
    ASSERT_EQ(EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, k), 1);
    ASSERT_EQ(
        EVP_DigestSign(ctx, sig, &sig_len,
                       reinterpret_cast<const unsigned char*>(message.data()),
                       message.size()),
        1);
    EVP_MD_CTX_free(ctx);
    std::string der(reinterpret_cast<char*>(sig), sig_len);
    std::string normal = P256PublicKey::LowS(der);
    EXPECT_TRUE(key->Verify(message, normal));
    EXPECT_EQ(P256PublicKey::LowS(normal), normal);
    if (normal == der) {
      ++low;
    } else {
      ++high;
      EXPECT_FALSE(key->Verify(message, der)) << "high S is refused";
    }
    EXPECT_FALSE(key->Verify(message + "!", normal));
  }
  EVP_PKEY_free(k);
  // Random signatures fall in either half; 16 all in one has odds 2^-15.
  EXPECT_GT(low, 0);
  EXPECT_GT(high, 0);
  std::string point(reinterpret_cast<char*>(pub), pub_len);
  EXPECT_FALSE(P256PublicKey::FromUncompressed(point.substr(1)).ok());
  std::string off = point;
  off[64] ^= 1;  // y + 1: not on the curve
  EXPECT_FALSE(P256PublicKey::FromUncompressed(off).ok());
  off = point;
  off[0] = 0x02;
  EXPECT_FALSE(P256PublicKey::FromUncompressed(off).ok());
}

}  // namespace
}  // namespace ktlog
