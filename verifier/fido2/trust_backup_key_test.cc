// The trust backup's security-key wraps (verifier/trust_backup.h) with the
// software authenticator through libfido2: each key opens the backup with
// one touch, a stranger's key or another kind of secret opens nothing, a
// key given twice or too many keys are refused with the state unchanged,
// and a hostile provider's copies of a wrap cost one touch, not eight.
#include "core/backup/backup.h"
#include "core/note/log_key.h"
#include "core/note/note.h"
#include "gtest/gtest.h"
#include "verifier/fido2/soft_authenticator.h"
#include "verifier/memory_log.h"
#include "verifier/trust_backup.h"

namespace ktlog {
namespace {

using ::absl::StatusCode;

constexpr char kAlice[] = "alice@example.com";

class TrustBackupKeyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    state_ = NewClientState(log_.LogKey(), kAlice, "phone", true).value();
    one_ = soft1_.Open().value();
    two_ = soft2_.Open().value();
    stranger_ = soft3_.Open().value();
  }
  // Seals a backup of the state and opens it with `key`.
  absl::StatusOr<BackupContents> OpenWith(const std::string& sealed,
                                          SecurityKeyDevice* key) {
    BackupSecret secret;
    secret.type = WrapType::kSecurityKey;
    secret.security_key = key;
    return OpenTrustBackup(sealed, kAlice, log_.LogKey(), secret);
  }

  MemoryLog log_;
  ClientState state_;
  SoftAuthenticator soft1_, soft2_, soft3_;
  std::unique_ptr<Fido2Device> one_, two_, stranger_;
};

TEST_F(TrustBackupKeyTest, EachKeyOpensTheBackupWithOneTouch) {
  BackupSecrets secrets;
  secrets.security_keys = {one_.get(), two_.get()};
  absl::StatusOr<std::string> recovery = SetBackupSecrets(&state_, secrets);
  ASSERT_TRUE(recovery.ok()) << recovery.status();
  EXPECT_EQ(*recovery, "") << "no recovery key was asked for";
  ASSERT_EQ(state_.backup.wraps.size(), 2u);
  EXPECT_EQ(state_.backup.wraps[0].rp_id, "memory.example");
  EXPECT_EQ(state_.backup.wraps[0].salt, state_.backup.wraps[1].salt)
      << "one salt: a restore asks whichever key for both at once";
  EXPECT_EQ(state_.backup.wraps[0].salt.size(), 32u);
  const std::string sealed = SealNextBackup(state_, {}, 1 << 20)->Encode();

  for (auto [key, soft] :
       {std::pair(one_.get(), &soft1_), std::pair(two_.get(), &soft2_)}) {
    uint32_t before = soft->counter();
    absl::StatusOr<BackupContents> opened = OpenWith(sealed, key);
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_EQ(opened->state.account_id, kAlice);
    EXPECT_EQ(opened->state.backup.key, state_.backup.key);
    EXPECT_EQ(soft->counter(), before + 1) << "one touch";
  }
  EXPECT_EQ(OpenWith(sealed, stranger_.get()).status().code(),
            StatusCode::kNotFound);
  BackupSecret recovery_key{WrapType::kRecoveryKey,
                            RecoveryKeyText(NewBackupSecret())};
  EXPECT_EQ(OpenTrustBackup(sealed, kAlice, log_.LogKey(), recovery_key)
                .status()
                .code(),
            StatusCode::kFailedPrecondition)
      << "no recovery key wrap";
  soft2_.set_lost(true);
  EXPECT_EQ(OpenWith(sealed, two_.get()).status().code(),
            StatusCode::kUnavailable);
}

TEST_F(TrustBackupKeyTest, AHostileProvidersWrapsCostOneTouch) {
  BackupSecrets secrets;
  secrets.security_keys = {one_.get()};
  ASSERT_TRUE(SetBackupSecrets(&state_, secrets).ok());
  SealedBackup sealed = SealNextBackup(state_, {}, 1 << 20).value();
  // Seven more wraps naming the same credential, with the same salt or
  // others (the header is authenticated with the body, so the backup
  // opens no more either way).
  BackupWrap copy = sealed.wraps[0];
  for (int i = 0; i < 7; ++i) {
    if (i % 2 == 1) copy.salt[0] = static_cast<char>(i);
    sealed.wraps.push_back(copy);
  }
  sealed.wraps.front().wrapped[0] ^= 1;  // and the real one altered
  uint32_t before = soft1_.counter();
  EXPECT_EQ(OpenWith(sealed.Encode(), one_.get()).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(soft1_.counter(), before + 1);
}

// A website (the breached operator's own, say) had the user touch the key
// for a credential of the site's and got its hmac-secret output for a
// salt of the site's choosing (WebAuthn's PRF); it forges a backup of its
// choosing whose one wrap names that credential and salt. The key is
// asked for SecurityKeySalt(salt), not the salt: another secret.
TEST_F(TrustBackupKeyTest, ASecretTheKeyGaveElsewhereOpensNothing) {
  SecurityKey site =
      one_->MakeCredential("evil.example", kAlice, KeyAlgorithm::kEs256, {})
          .value();
  const std::string salt(32, 'p');
  KeySecret got =
      one_->HmacSecret("evil.example", {site.credential_id}, salt).value();
  const std::string forged_key = NewBackupSecret();
  state_.backup.key = forged_key;
  state_.backup.wraps = {WrapWithSecurityKey(forged_key, "evil.example",
                                             site.credential_id, salt,
                                             got.secret)
                             .value()};
  const std::string sealed = SealNextBackup(state_, {}, 1 << 20)->Encode();
  EXPECT_EQ(OpenWith(sealed, one_.get()).status().code(),
            StatusCode::kPermissionDenied);
}

// The log key the app pins names a witness (as ktlog-server prints it):
// a backup of a state made from it opens; whatever the backup says of its
// witness policy or of where the log recorded it, the opened state has
// the pinned policy and must find its record in the log again.
TEST_F(TrustBackupKeyTest, ARestoreTakesTheAppsLogKeyAndPolicyNotTheBackups) {
  NoteSigner witness =
      *NoteSigner::Generate("witness.example/w", kNoteTypeCosignatureV1);
  LogPublicKey key = *LogPublicKey::Parse(log_.LogKey());
  key.witnesses = {witness.verifier_key()};
  key.quorum = 1;
  const std::string pinned = key.ToString();
  ClientState s = NewClientState(pinned, kAlice, "phone", false).value();
  ASSERT_EQ(s.policy.witness_quorum, 1u);
  BackupSecrets secrets;
  secrets.recovery_key = true;
  const std::string recovery = SetBackupSecrets(&s, secrets).value();
  // What a forger with the backup key would write into the state.
  s.policy.witnesses.clear();
  s.policy.witness_quorum = 0;
  s.policy.max_checkpoint_age_ms = 1000ull * 3600 * 24 * 365;
  s.backup.record_version = 1000;
  const std::string sealed = SealNextBackup(s, {}, 1 << 20)->Encode();

  BackupSecret secret{WrapType::kRecoveryKey, recovery};
  absl::StatusOr<BackupContents> opened =
      OpenTrustBackup(sealed, kAlice, pinned, secret);
  ASSERT_TRUE(opened.ok()) << opened.status();
  const CheckingPolicy& policy = opened->state.policy;
  EXPECT_EQ(policy.witnesses,
            std::vector<std::string>{witness.verifier_key().ToString()});
  EXPECT_EQ(policy.witness_quorum, 1u);
  EXPECT_EQ(policy.max_checkpoint_age_ms,
            CheckingPolicy().max_checkpoint_age_ms);
  EXPECT_EQ(opened->state.backup.record_version, 0u);
  // Another log's key, even with the same witness: refused.
  LogPublicKey other = *LogPublicKey::Parse(MemoryLog().LogKey());
  other.witnesses = key.witnesses;
  other.quorum = 1;
  EXPECT_EQ(
      OpenTrustBackup(sealed, kAlice, other.ToString(), secret).status().code(),
      StatusCode::kFailedPrecondition);
}

TEST_F(TrustBackupKeyTest, AKeyGivenTwiceOrTooManyKeysChangeNothing) {
  BackupSecrets first;
  first.recovery_key = true;
  ASSERT_TRUE(SetBackupSecrets(&state_, first).ok());
  const TrustBackupState kept = state_.backup;

  BackupSecrets twice;
  twice.security_keys = {one_.get(), two_.get(), one_.get()};
  absl::StatusOr<std::string> r = SetBackupSecrets(&state_, twice);
  EXPECT_EQ(r.status().code(), StatusCode::kAlreadyExists) << r.status();
  EXPECT_EQ(state_.backup.key, kept.key);
  EXPECT_EQ(state_.backup.wraps.size(), 1u);

  BackupSecrets seven;
  seven.security_keys.assign(kMaxBackupSecurityKeys + 1, one_.get());
  EXPECT_EQ(SetBackupSecrets(&state_, seven).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(state_.backup.key, kept.key);
}

}  // namespace
}  // namespace ktlog
