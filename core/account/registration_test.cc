#include "core/account/registration.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "core/util/file_util.h"
#include "gtest/gtest.h"

namespace ktlog {
namespace {

std::string TempDir() {
  std::string dir =
      std::string(getenv("TEST_TMPDIR") ? getenv("TEST_TMPDIR") : "/tmp") +
      "/regXXXXXX";
  return mkdtemp(dir.data());
}

std::string Bytes(int from) {
  std::string out;
  for (int i = from; i < from + 32; ++i) out.push_back(static_cast<char>(i));
  return out;
}

constexpr uint64_t kExpiry = 1767225600;  // 2026-01-01T00:00:00Z

// The vector of docs/formats.md ("Registration credential"), computed
// independently with Python's hmac module.
TEST(RegistrationTest, MatchesTheDocumentedVector) {
  std::string path = TempDir() + "/r.key";
  ASSERT_TRUE(CreateSecretFile(path,
                               "PRIVATE+REGISTRATION+"
                               "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n")
                  .ok());
  absl::StatusOr<RegistrationKey> key = RegistrationKey::Load(path);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->CredentialFor("alice@example.com", Bytes(32), kExpiry),
            "v2.1767225600."
            "7bb65c94abdbfb5538d064db1d9983563f9618c4917a7c589cf3295372ab256c");
  EXPECT_EQ(key->CredentialFor("alice@example.com", Bytes(32), kExpiry,
                               CredentialPurpose::kReset),
            "r1.1767225600."
            "4d0c4041d375e9abd5fdca9bd6195c853c4a08287f9f934042090760ef590e33");
  // tests/testdata/ktlog/backup.json's "fetch_credential", from
  // tools/vectors/gen_backup_vectors.py.
  EXPECT_EQ(key->CredentialFor("alice@example.com", "", kExpiry,
                               CredentialPurpose::kFetchBackup),
            "b1.1767225600."
            "d057c887366d70548f5c5edf829685ffcec36084a6350ddd75e4cb505f2358af");
}

// A reset credential ("r1.", its own MAC label) is no registration
// credential, nor the reverse: a credential issued when the account was
// created cannot reset it later.
TEST(RegistrationTest, ResetAndRegistrationCredentialsAreNotInterchangeable) {
  RegistrationKey key = RegistrationKey::Generate();
  std::string k = Bytes(32);
  std::string reg = key.CredentialFor("alice@example.com", k, kExpiry);
  std::string reset = key.CredentialFor("alice@example.com", k, kExpiry,
                                        CredentialPurpose::kReset);
  EXPECT_EQ(reset.substr(0, 14), "r1.1767225600.");
  EXPECT_LE(reset.size(), kRegistrationCredentialSize);
  uint64_t now = kExpiry - 1;
  EXPECT_TRUE(
      key.Check("alice@example.com", k, reset, now, CredentialPurpose::kReset)
          .ok());
  EXPECT_EQ(
      key.Check("alice@example.com", k, reg, now, CredentialPurpose::kReset)
          .code(),
      absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(key.Check("alice@example.com", k, reset, now).code(),
            absl::StatusCode::kPermissionDenied);
  // The same MAC under the other version is refused too.
  std::string relabelled = "v2" + reset.substr(2);
  EXPECT_EQ(key.Check("alice@example.com", k, relabelled, now).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(
      key.Check("alice@example.com", k, "", now, CredentialPurpose::kReset)
          .code(),
      absl::StatusCode::kUnauthenticated);
}

// An erasure credential names the account id alone, and is no credential
// of another purpose (nor the reverse).
TEST(RegistrationTest, ErasureCredentialsServeOnlyErasures) {
  RegistrationKey key = RegistrationKey::Generate();
  uint64_t now = kExpiry - 1;
  std::string erase = key.CredentialFor("alice@example.com", "", kExpiry,
                                        CredentialPurpose::kErase);
  EXPECT_EQ(erase.substr(0, 14), "e1.1767225600.");
  EXPECT_TRUE(
      key.Check("alice@example.com", "", erase, now, CredentialPurpose::kErase)
          .ok());
  EXPECT_EQ(
      key.Check("bob@example.com", "", erase, now, CredentialPurpose::kErase)
          .code(),
      absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(key.Check("alice@example.com", "", erase, now).code(),
            absl::StatusCode::kPermissionDenied);
  std::string reset = key.CredentialFor("alice@example.com", "", kExpiry,
                                        CredentialPurpose::kReset);
  EXPECT_EQ(
      key.Check("alice@example.com", "", reset, now, CredentialPurpose::kErase)
          .code(),
      absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(key.Check("alice@example.com", "", "e1" + reset.substr(2), now,
                      CredentialPurpose::kErase)
                .code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(key.Check("alice@example.com", "", erase, kExpiry + 1,
                      CredentialPurpose::kErase)
                .code(),
            absl::StatusCode::kPermissionDenied);
}

// Issue 27, 8: a credential is bound to the account id, the account key of
// the first record, and an expiry; whoever reads it elsewhere cannot use
// it with a key of their own.
TEST(RegistrationTest, ChecksTheCredentialForThatAccountAndKeyOnly) {
  RegistrationKey key = RegistrationKey::Generate();
  std::string alice_key = Bytes(32), mallory_key = Bytes(64);
  std::string alice =
      key.CredentialFor("alice@example.com", alice_key, kExpiry);
  EXPECT_LE(alice.size(), kRegistrationCredentialSize);
  uint64_t before = kExpiry - 10;
  EXPECT_TRUE(key.Check("alice@example.com", alice_key, alice, before).ok());
  EXPECT_TRUE(key.Check("alice@example.com", alice_key, alice, kExpiry).ok());
  EXPECT_EQ(key.Check("alice@example.com", alice_key, "", before).code(),
            absl::StatusCode::kUnauthenticated);
  absl::Status other =
      key.Check("mallory@example.com", alice_key, alice, before);
  EXPECT_EQ(other.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(other.message().find("mallory"), std::string::npos);
  EXPECT_EQ(key.Check("alice@example.com", mallory_key, alice, before).code(),
            absl::StatusCode::kPermissionDenied)
      << "someone who saw the credential, with a key of their own";
  EXPECT_EQ(
      key.Check("alice@example.com", alice_key, alice, kExpiry + 1).code(),
      absl::StatusCode::kPermissionDenied)
      << "expired";
  // A later expiry does not verify with the MAC issued for an earlier one.
  std::string extended = alice;
  extended.replace(3, 10, "1767225700");
  EXPECT_EQ(key.Check("alice@example.com", alice_key, extended, before).code(),
            absl::StatusCode::kPermissionDenied);
  for (std::string bad :
       {alice.substr(1), "v1." + alice.substr(3), alice + ".x",
        std::string("v2.01767225600.") + alice.substr(14),
        std::string("v2.-1.") + alice.substr(14)}) {
    EXPECT_EQ(key.Check("alice@example.com", alice_key, bad, before).code(),
              absl::StatusCode::kPermissionDenied)
        << bad;
  }
  RegistrationKey another = RegistrationKey::Generate();
  EXPECT_EQ(another.Check("alice@example.com", alice_key, alice, before).code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(RegistrationTest, KeyFilesAreSecretAndWellFormed) {
  std::string dir = TempDir();
  RegistrationKey key = RegistrationKey::Generate();
  ASSERT_TRUE(key.Save(dir + "/k").ok());
  EXPECT_EQ(key.Save(dir + "/k").code(), absl::StatusCode::kAlreadyExists);
  absl::StatusOr<RegistrationKey> loaded = RegistrationKey::Load(dir + "/k");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->CredentialFor("x", Bytes(0), 1),
            key.CredentialFor("x", Bytes(0), 1));
  EXPECT_EQ(RegistrationKey::Load(dir + "/missing").status().code(),
            absl::StatusCode::kNotFound);
  chmod((dir + "/k").c_str(), 0644);
  EXPECT_EQ(RegistrationKey::Load(dir + "/k").status().code(),
            absl::StatusCode::kFailedPrecondition);
  for (const char* bad :
       {"PRIVATE+KEY+x+1+AAAA\n", "PRIVATE+REGISTRATION+AAAA\n",
        "PRIVATE+REGISTRATION+!!!\n", ""}) {
    std::string path = dir + "/bad" + std::to_string(strlen(bad));
    ASSERT_TRUE(CreateSecretFile(path, bad).ok());
    EXPECT_EQ(RegistrationKey::Load(path).status().code(),
              absl::StatusCode::kFailedPrecondition)
        << bad;
  }
}

}  // namespace
}  // namespace ktlog
