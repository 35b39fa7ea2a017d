// Fido2Device against the software authenticator, through libfido2's real
// code path (CTAPHID framing, CBOR, keepalives): credentials, assertions
// that core/account/security_key.h verifies, and each failure a user meets.
#include "verifier/fido2/fido2_device.h"

#include "core/account/security_key.h"
#include "core/crypto/crypto.h"
#include "core/util/bytes.h"
#include "core/util/file_util.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "verifier/fido2/soft_authenticator.h"

namespace ktlog {
namespace {

constexpr char kRpId[] = "ktlog.example";

// A set of two keys made on `a` and `b`.
SecurityKeySet SetOf(const SecurityKey& a, const SecurityKey& b) {
  SecurityKeySet set;
  set.rp_id = kRpId;
  set.keys = {a, b};
  std::sort(set.keys.begin(), set.keys.end(),
            [](const SecurityKey& x, const SecurityKey& y) {
              return x.credential_id < y.credential_id;
            });
  return set;
}

// An assertion's signature as a client sends it: ES256 in low-S form
// (formats.md; authenticators return either half).
std::string Sent(const KeyAssertion& a, KeyAlgorithm algorithm) {
  return algorithm == KeyAlgorithm::kEs256 ? P256PublicKey::LowS(a.signature)
                                           : a.signature;
}

class Fido2DeviceTest : public ::testing::TestWithParam<KeyAlgorithm> {};

TEST_P(Fido2DeviceTest, AssertionsVerifyAndTheCounterGrows) {
  SoftAuthenticator soft, other;
  std::unique_ptr<Fido2Device> dev = soft.Open().value();
  std::unique_ptr<Fido2Device> dev2 = other.Open().value();
  SecurityKey key = dev->MakeCredential(kRpId, "alice", GetParam(), {}).value();
  SecurityKey key2 =
      dev2->MakeCredential(kRpId, "alice", GetParam(), {}).value();
  EXPECT_EQ(key.algorithm, GetParam());
  EXPECT_EQ(key.public_key.size(),
            GetParam() == KeyAlgorithm::kEs256 ? 65u : 32u);
  SecurityKeySet set = SetOf(key, key2);
  ASSERT_TRUE(set.Validate().ok()) << set.Validate();
  ASSERT_EQ(DecodeSecurityKeySet(set.Encode()).value().Encode(), set.Encode());

  Hash cdh = Sha256("a record");
  KeyAssertion a =
      dev->GetAssertion(kRpId, {key2.credential_id, key.credential_id}, cdh,
                        /*user_verification=*/false)
          .value();
  EXPECT_EQ(a.credential_id, key.credential_id);
  absl::StatusOr<AuthenticatorData> data = VerifyAssertion(
      set, a.credential_id, a.authenticator_data, cdh, Sent(a, GetParam()));
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->flags, kFlagUserPresent);
  EXPECT_EQ(data->sign_count, soft.counter());
  EXPECT_EQ(data->rp_id_hash, Sha256(kRpId));

  KeyAssertion b =
      dev->GetAssertion(kRpId, {key.credential_id}, cdh, true).value();
  data = VerifyAssertion(set, b.credential_id, b.authenticator_data, cdh,
                         Sent(b, GetParam()));
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->flags, kFlagUserPresent | kFlagUserVerified);
  EXPECT_EQ(data->sign_count,
            ParseAuthenticatorData(a.authenticator_data)->sign_count + 1);

  // Over another hash, or under a set without the key, it fails.
  EXPECT_EQ(VerifyAssertion(set, a.credential_id, a.authenticator_data,
                            Sha256("another record"), Sent(a, GetParam()))
                .status()
                .code(),
            absl::StatusCode::kPermissionDenied);
  SecurityKeySet without =
      SetOf(key2, dev2->MakeCredential(kRpId, "alice", GetParam(), {}).value());
  EXPECT_EQ(VerifyAssertion(without, a.credential_id, a.authenticator_data, cdh,
                            Sent(a, GetParam()))
                .status()
                .code(),
            absl::StatusCode::kPermissionDenied);
}

INSTANTIATE_TEST_SUITE_P(Algorithms, Fido2DeviceTest,
                         ::testing::Values(KeyAlgorithm::kEs256,
                                           KeyAlgorithm::kEdDsa));

TEST(Fido2DeviceFailures, ATouchThatNeverComesTimesOut) {
  SoftAuthenticator soft;
  std::unique_ptr<Fido2Device> dev = soft.Open(absl::Milliseconds(300)).value();
  SecurityKey key =
      dev->MakeCredential(kRpId, "alice", KeyAlgorithm::kEs256, {}).value();
  soft.set_touch(SoftAuthenticator::Touch::kNever);
  absl::StatusOr<KeyAssertion> a =
      dev->GetAssertion(kRpId, {key.credential_id}, Sha256("r"), false);
  EXPECT_EQ(a.status().code(), absl::StatusCode::kDeadlineExceeded)
      << a.status();
  soft.set_touch(SoftAuthenticator::Touch::kTimesOut);
  a = dev->GetAssertion(kRpId, {key.credential_id}, Sha256("r"), false);
  EXPECT_EQ(a.status().code(), absl::StatusCode::kDeadlineExceeded)
      << a.status();
  // The key answers again once touched.
  soft.set_touch(SoftAuthenticator::Touch::kPresent);
  EXPECT_TRUE(
      dev->GetAssertion(kRpId, {key.credential_id}, Sha256("r"), false).ok());
}

TEST(Fido2DeviceFailures, ALostKeyIsUnavailable) {
  SoftAuthenticator soft;
  std::unique_ptr<Fido2Device> dev = soft.Open().value();
  SecurityKey key =
      dev->MakeCredential(kRpId, "alice", KeyAlgorithm::kEs256, {}).value();
  soft.set_lost(true);
  EXPECT_EQ(dev->GetAssertion(kRpId, {key.credential_id}, Sha256("r"), false)
                .status()
                .code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(soft.Open().status().code(), absl::StatusCode::kUnavailable);
}

TEST(Fido2DeviceFailures, AnotherKeyHoldsNoneOfTheCredentials) {
  SoftAuthenticator soft, stranger;
  SecurityKey key =
      soft.Open()
          .value()
          ->MakeCredential(kRpId, "alice", KeyAlgorithm::kEs256, {})
          .value();
  EXPECT_EQ(stranger.Open()
                .value()
                ->GetAssertion(kRpId, {key.credential_id}, Sha256("r"), false)
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  // Nor does the key itself under another relying party.
  EXPECT_EQ(soft.Open()
                .value()
                ->GetAssertion("elsewhere.example", {key.credential_id},
                               Sha256("r"), false)
                .status()
                .code(),
            absl::StatusCode::kNotFound);
}

TEST(Fido2DeviceFailures, AClonedKeySignsWithTheSameCounter) {
  SoftAuthenticator soft;
  SecurityKey key =
      soft.Open()
          .value()
          ->MakeCredential(kRpId, "alice", KeyAlgorithm::kEs256, {})
          .value();
  std::unique_ptr<SoftAuthenticator> clone = soft.Clone();
  KeyAssertion by_clone =
      clone->Open()
          .value()
          ->GetAssertion(kRpId, {key.credential_id}, Sha256("r"), false)
          .value();
  KeyAssertion by_key =
      soft.Open()
          .value()
          ->GetAssertion(kRpId, {key.credential_id}, Sha256("r"), false)
          .value();
  EXPECT_EQ(ParseAuthenticatorData(by_clone.authenticator_data)->sign_count,
            ParseAuthenticatorData(by_key.authenticator_data)->sign_count);
}

// The key inside the software authenticator that hmac-secret derives
// from (its CredRandom), read from its saved file.
std::string CredRandom(const SoftAuthenticator& soft,
                       const std::string& credential_id) {
  std::string file = ::testing::TempDir() + "/cred_random.json";
  EXPECT_TRUE(soft.SaveTo(file).ok());
  nlohmann::json j = nlohmann::json::parse(*ReadFileBounded(file, 1 << 20));
  for (const nlohmann::json& c : j["credentials"]) {
    if (c["id"] == HexEncode(credential_id)) {
      return *HexDecode(c["cred_random"].get<std::string>());
    }
  }
  return "";
}

// hmac-secret through libfido2's real path (key agreement, the salt
// encrypted to the key, the output decrypted by libfido2): the secret is
// HMAC-SHA-256 of the salt under the credential's key, the same each
// time, on the key and its clones only.
TEST_P(Fido2DeviceTest, HmacSecretIsTheCredentialsHmacOfTheSalt) {
  SoftAuthenticator soft, stranger;
  std::unique_ptr<Fido2Device> dev = soft.Open().value();
  SecurityKey key = dev->MakeCredential(kRpId, "alice", GetParam(), {}).value();
  const std::string salt(32, 's'), other_salt(32, 't');
  // Asked for a credential it lacks and one it holds, the key answers for
  // the one it holds.
  absl::StatusOr<KeySecret> got =
      dev->HmacSecret(kRpId, {std::string(32, 'n'), key.credential_id}, salt);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->credential_id, key.credential_id);
  const std::string secret = got->secret;
  const std::string cred_random = CredRandom(soft, key.credential_id);
  ASSERT_EQ(cred_random.size(), 32u);
  EXPECT_EQ(secret, HmacSha256(cred_random, {salt}).bytes());
  EXPECT_EQ(dev->HmacSecret(kRpId, {key.credential_id}, salt)->secret, secret);
  EXPECT_EQ(dev->HmacSecret(kRpId, {key.credential_id}, other_salt)->secret,
            HmacSha256(cred_random, {other_salt}).bytes());
  EXPECT_EQ(soft.Clone()
                ->Open()
                .value()
                ->HmacSecret(kRpId, {key.credential_id}, salt)
                ->secret,
            secret)
      << "a clone of the key holds the same secret";

  // A key's assertions over records keep their 37-byte authenticator data.
  KeyAssertion a =
      dev->GetAssertion(kRpId, {key.credential_id}, Sha256("r"), false).value();
  EXPECT_EQ(a.authenticator_data.size(), 37u);

  EXPECT_EQ(stranger.Open()
                .value()
                ->HmacSecret(kRpId, {key.credential_id}, salt)
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(dev->HmacSecret("elsewhere.example", {key.credential_id}, salt)
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(dev->HmacSecret(kRpId, {key.credential_id}, salt.substr(1))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

// Both PIN/UV auth protocols carry the salt and the secret (libfido2
// picks the key's; current keys offer 2, older ones 1).
TEST(Fido2DeviceHmacSecret, EitherPinProtocol) {
  for (int protocol : {1, 2}) {
    SoftAuthenticator soft;
    soft.set_pin_protocol(protocol);
    std::unique_ptr<Fido2Device> dev = soft.Open().value();
    SecurityKey key =
        dev->MakeCredential(kRpId, "alice", KeyAlgorithm::kEs256, {}).value();
    const std::string salt(32, 'q');
    absl::StatusOr<KeySecret> got =
        dev->HmacSecret(kRpId, {key.credential_id}, salt);
    ASSERT_TRUE(got.ok()) << protocol << ": " << got.status();
    EXPECT_EQ(got->secret,
              HmacSha256(CredRandom(soft, key.credential_id), {salt}).bytes())
        << protocol;
  }
}

// A credential made without the extension gives no secret (as a real key:
// hmac-secret is asked for when the credential is made).
TEST(Fido2DeviceHmacSecret, NotForACredentialMadeWithoutIt) {
  SoftAuthenticator soft;
  SecurityKey key =
      soft.Open()
          .value()
          ->MakeCredential(kRpId, "alice", KeyAlgorithm::kEs256, {})
          .value();
  const std::string file = ::testing::TempDir() + "/without.json";
  ASSERT_TRUE(soft.SaveTo(file).ok());
  nlohmann::json j = nlohmann::json::parse(*ReadFileBounded(file, 1 << 20));
  ASSERT_EQ(j["credentials"][0]["hmac_secret"], true);
  j["credentials"][0]["hmac_secret"] = false;
  ASSERT_TRUE(WriteFileAtomically(file, j.dump(), 0600).ok());
  std::unique_ptr<SoftAuthenticator> without =
      SoftAuthenticator::LoadFrom(file).value();
  EXPECT_EQ(without->Open()
                .value()
                ->HmacSecret(kRpId, {key.credential_id}, std::string(32, 's'))
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(Fido2DeviceFailures, HmacSecretWaitsForATouchAndNeedsTheKey) {
  SoftAuthenticator soft;
  std::unique_ptr<Fido2Device> dev = soft.Open(absl::Milliseconds(300)).value();
  SecurityKey key =
      dev->MakeCredential(kRpId, "alice", KeyAlgorithm::kEs256, {}).value();
  const std::string salt(32, 's');
  soft.set_touch(SoftAuthenticator::Touch::kNever);
  EXPECT_EQ(dev->HmacSecret(kRpId, {key.credential_id}, salt).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  soft.set_touch(SoftAuthenticator::Touch::kPresent);
  EXPECT_TRUE(dev->HmacSecret(kRpId, {key.credential_id}, salt).ok());
  soft.set_lost(true);
  EXPECT_EQ(dev->HmacSecret(kRpId, {key.credential_id}, salt).status().code(),
            absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace ktlog
