// The log's trust backup store (log/backups.h) inside a real server, over
// gRPC: a backup is stored only as the account's latest record-backup
// record names it, deleted only as it says, and nothing else gets in.
#include <string>

#include "core/account/registration.h"
#include "core/backup/backup.h"
#include "core/crypto/hash.h"
#include "gtest/gtest.h"
#include "tests/test_env.h"

namespace ktlog {
namespace {

using ::absl::StatusCode;

// A sealed backup of `account`, version `version`, under a new key.
std::string Sealed(const std::string& account, uint64_t version) {
  std::string key = NewBackupSecret();
  absl::StatusOr<BackupWrap> wrap = WrapWithRecoveryKey(key, NewBackupSecret());
  EXPECT_TRUE(wrap.ok());
  absl::StatusOr<SealedBackup> sealed = SealBackup(
      absl::StrCat("state of ", account), account, version, {*wrap}, key);
  EXPECT_TRUE(sealed.ok()) << sealed.status();
  return sealed->Encode();
}

BackupRef RefOf(const std::string& sealed, uint64_t version) {
  return BackupRef{version, Sha256(sealed)};
}

TEST(BackupsTest, StoredOnlyAsTheLatestRecordNamesIt) {
  auto env = LogEnv::Start();
  LogClient* log = env->client();
  TestAccount alice("alice@example.com");
  env->Append(alice.Add("phone"));
  const std::string first = Sealed(alice.id(), 1);
  const std::string second = Sealed(alice.id(), 2);

  // Nothing is stored before its record is in the log.
  EXPECT_EQ(log->PutBackup(first, 2).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(log->PutBackup(first, 1).code(), StatusCode::kFailedPrecondition)
      << "version 1 is an add-device record";
  EXPECT_EQ(log->GetBackup(alice.id(), "").status().code(),
            StatusCode::kNotFound);
  env->Append(alice.RecordBackup(RefOf(first, 1)));  // version 2
  EXPECT_EQ(log->PutBackup(second, 2).code(), StatusCode::kFailedPrecondition)
      << "the record names other bytes";
  ASSERT_TRUE(log->PutBackup(first, 2).ok());
  absl::StatusOr<FetchedBackup> got = log->GetBackup(alice.id(), "");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->sealed, first);
  EXPECT_EQ(got->record_version, 2u) << "the record that names it";
  EXPECT_TRUE(log->PutBackup(first, 2).ok()) << "the same again";

  // Malformed and oversized uploads; another account's record.
  EXPECT_EQ(log->PutBackup("not a backup", 2).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(log->PutBackup(first, 0).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(
      log->PutBackup(std::string(kMaxStoredBackupBytes + 1, 'x'), 2).code(),
      StatusCode::kInvalidArgument);

  // A newer backup: the older one can no longer be stored.
  env->Append(alice.RecordBackup(RefOf(second, 2)));  // version 3
  absl::StatusOr<FetchedBackup> stale = log->GetBackup(alice.id(), "");
  EXPECT_EQ(stale.status().code(), StatusCode::kFailedPrecondition)
      << "the copy is older than the latest record: its upload never came";
  EXPECT_NE(stale.status().message().find("never arrived"), std::string::npos)
      << stale.status();
  absl::Status older = log->PutBackup(first, 2);
  EXPECT_EQ(older.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(older.message().find("later record-backup record"),
            std::string::npos)
      << older;
  ASSERT_TRUE(log->PutBackup(second, 3).ok());
  env->Append(alice.Add("laptop"));  // version 4: not a backup record
  EXPECT_TRUE(log->PutBackup(second, 3).ok()) << "still the latest";
  EXPECT_EQ(log->GetBackup(alice.id(), "")->sealed, second);
  EXPECT_EQ(log->GetBackup(alice.id(), "")->record_version, 3u);

  // Deleted only once the log says so.
  EXPECT_EQ(log->DeleteBackup(alice.id(), 3).code(),
            StatusCode::kFailedPrecondition);
  env->Append(alice.RecordBackup(BackupRef{3, Hash()}));  // version 5
  EXPECT_EQ(log->PutBackup(second, 3).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(log->DeleteBackup(alice.id(), 5).ok());
  EXPECT_EQ(log->GetBackup(alice.id(), "").status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(log->GetBackup("", "").status().code(),
            StatusCode::kInvalidArgument);
}

// On a log with a registration key, a backup goes only to the holder of
// the operator's backup-fetch credential for that account.
TEST(BackupsTest, FetchedOnlyWithTheBackupFetchCredential) {
  RegistrationKey key = RegistrationKey::Generate();
  LogServerOptions options;
  options.registration = key;
  auto env = LogEnv::Start(options);
  LogClient* log = env->client();
  TestAccount alice("alice@example.com");
  const uint64_t expiry = absl::ToUnixSeconds(absl::Now() + absl::Hours(1));
  const std::string id = alice.id();
  ASSERT_TRUE(
      log->Write(
             Operation::kAddDevice, alice.Add("phone").Encode(), false,
             key.CredentialFor(id, alice.key().public_key().bytes(), expiry))
          .ok());
  const std::string sealed = Sealed(id, 1);
  env->Append(alice.RecordBackup(RefOf(sealed, 1)));
  ASSERT_TRUE(log->PutBackup(sealed, 2).ok());

  auto code = [&](const std::string& credential) {
    return log->GetBackup(id, credential).status().code();
  };
  EXPECT_EQ(code(""), StatusCode::kUnauthenticated);
  EXPECT_EQ(code(key.CredentialFor(id, "", expiry, CredentialPurpose::kErase)),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(code(key.CredentialFor("bob@example.com", "", expiry,
                                   CredentialPurpose::kFetchBackup)),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(
      code(key.CredentialFor(id, "", 1000, CredentialPurpose::kFetchBackup)),
      StatusCode::kPermissionDenied)
      << "expired";
  absl::StatusOr<FetchedBackup> got = log->GetBackup(
      id, key.CredentialFor(id, "", expiry, CredentialPurpose::kFetchBackup));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->sealed, sealed);
}

}  // namespace
}  // namespace ktlog
