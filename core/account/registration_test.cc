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
  EXPECT_EQ(key->CredentialFor("alice@example.com"),
            "8daca73694762aaddeb7228cb9e26e3867194e7648b8248e65d25e0d135428ed");
}

TEST(RegistrationTest, ChecksTheCredentialForThatAccountOnly) {
  RegistrationKey key = RegistrationKey::Generate();
  std::string alice = key.CredentialFor("alice@example.com");
  EXPECT_EQ(alice.size(), kRegistrationCredentialSize);
  EXPECT_TRUE(key.Check("alice@example.com", alice).ok());
  EXPECT_EQ(key.Check("alice@example.com", "").code(),
            absl::StatusCode::kUnauthenticated);
  absl::Status other = key.Check("mallory@example.com", alice);
  EXPECT_EQ(other.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(other.message().find("mallory"), std::string::npos);
  EXPECT_EQ(key.Check("alice@example.com", alice.substr(1)).code(),
            absl::StatusCode::kPermissionDenied);
  RegistrationKey another = RegistrationKey::Generate();
  EXPECT_EQ(another.Check("alice@example.com", alice).code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(RegistrationTest, KeyFilesAreSecretAndWellFormed) {
  std::string dir = TempDir();
  RegistrationKey key = RegistrationKey::Generate();
  ASSERT_TRUE(key.Save(dir + "/k").ok());
  EXPECT_EQ(key.Save(dir + "/k").code(), absl::StatusCode::kAlreadyExists);
  absl::StatusOr<RegistrationKey> loaded = RegistrationKey::Load(dir + "/k");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->CredentialFor("x"), key.CredentialFor("x"));
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
