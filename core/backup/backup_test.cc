// The trust backup's format against the vectors of the independent Python
// implementation (tools/vectors/gen_backup_vectors.py), and what a wrong
// secret, an altered backup or a hostile one gets.
#include "core/backup/backup.h"

#include <functional>
#include <set>

#include "absl/strings/ascii.h"
#include "core/account/record.h"
#include "core/testonly/test_vectors.h"
#include "core/util/bytes.h"
#include "gtest/gtest.h"

namespace ktlog {
namespace {

using ::absl::StatusCode;

std::string Hex(const nlohmann::json& v) {
  return *HexDecode(v.get<std::string>());
}

class BackupVectors : public ::testing::Test {
 protected:
  void SetUp() override {
    v_ = LoadJsonTestData("ktlog/backup.json");
    in_ = v_["inputs"];
  }
  // The vectors' backup, made with their nonces and salt.
  absl::StatusOr<SealedBackup> Build() {
    const std::string key = Hex(in_["backup_key"]);
    absl::StatusOr<BackupWrap> r = backup_vectors::WrapWithRecoveryKey(
        key, Hex(in_["recovery_key"]), Hex(in_["recovery_nonce"]));
    absl::StatusOr<BackupWrap> p = backup_vectors::WrapWithPassphrase(
        key, in_["passphrase"].get<std::string>(), Hex(in_["salt"]), in_["ops"],
        in_["memory"], Hex(in_["passphrase_nonce"]));
    if (!r.ok() || !p.ok()) return r.ok() ? p.status() : r.status();
    return backup_vectors::SealBackup(in_["plaintext"].get<std::string>(),
                                      in_["account_id"].get<std::string>(),
                                      in_["version"], {*r, *p}, key,
                                      Hex(in_["body_nonce"]));
  }
  std::string passphrase() const { return in_["passphrase"]; }

  nlohmann::json v_, in_;
};

TEST_F(BackupVectors, TheSameBytesAsTheIndependentImplementation) {
  absl::StatusOr<SealedBackup> made = Build();
  ASSERT_TRUE(made.ok()) << made.status();
  EXPECT_EQ(HexEncode(made->Encode()), v_["sealed"].get<std::string>());
  EXPECT_EQ(RecoveryKeyText(Hex(in_["recovery_key"])),
            v_["recovery_key_text"].get<std::string>());
}

// The record-backup record that names the vectors' backup
// (docs/formats.md), as the independent implementation makes it; the
// records a decoder must refuse.
TEST_F(BackupVectors, TheRecordThatNamesTheBackup) {
  const nlohmann::json& v = v_["backup_record"];
  const nlohmann::json& in = v["inputs"];
  EXPECT_EQ(in["sealed_sha256"].get<std::string>(),
            Sha256(Hex(v_["sealed"])).ToHex());
  absl::StatusOr<Ed25519PrivateKey> key =
      Ed25519PrivateKey::FromSeed(Hex(in["account_key_seed"]));
  ASSERT_TRUE(key.ok());
  DeviceRecord r;
  r.operation = Operation::kRecordBackup;
  r.account_id = in["account_id"].get<std::string>();
  r.key = BackupRef{in["backup_version"],
                    Hash::FromBytesOrDie(Hex(in["sealed_sha256"]))}
              .Encode();
  r.account_version = in["account_version"];
  r.timestamp_ms = in["timestamp_ms"];
  r.Sign(*key);
  EXPECT_EQ(HexEncode(r.key), v["key_field"].get<std::string>());
  EXPECT_EQ(HexEncode(r.Encode()), v["record"].get<std::string>());
  EXPECT_EQ(Sha256(r.Encode()).ToHex(), v["record_hash"].get<std::string>());

  absl::StatusOr<DeviceRecord> deleted =
      DecodeRecord(Hex(v["deleted"]["record"]));
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_TRUE(deleted->VerifySignature().ok());
  absl::StatusOr<BackupRef> ref = DecodeBackupRef(deleted->key);
  ASSERT_TRUE(ref.ok());
  EXPECT_TRUE(ref->deleted());
  EXPECT_EQ(ref->version, v["deleted"]["inputs"]["backup_version"]);

  for (const nlohmann::json& bad : v_["backup_record_invalid"]) {
    EXPECT_EQ(DecodeRecord(Hex(bad["record"])).status().code(),
              StatusCode::kInvalidArgument)
        << bad["why"];
  }
}

// A security-key wrap: the hmac-secret output is HMAC-SHA256 of the salt
// under the credential's CredRandom (what the software authenticator
// computes and libfido2 decrypts: fido2_device_test), and it wraps the
// backup key byte for byte as the independent implementation does.
TEST_F(BackupVectors, TheSecurityKeyWrap) {
  const nlohmann::json& v = v_["security_key_backup"];
  const nlohmann::json& in = v["inputs"];
  const std::string salt = Hex(in["salt"]);
  EXPECT_EQ(HexEncode(SecurityKeySalt(salt)), v["key_salt"].get<std::string>());
  const std::string secret =
      HmacSha256(Hex(in["cred_random"]), {SecurityKeySalt(salt)}).bytes();
  EXPECT_EQ(HexEncode(secret), v["hmac_secret"].get<std::string>());
  const std::string key = Hex(in_["backup_key"]);
  absl::StatusOr<BackupWrap> w = backup_vectors::WrapWithSecurityKey(
      key, in["rp_id"], Hex(in["credential_id"]), salt, secret,
      Hex(in["wrap_nonce"]));
  ASSERT_TRUE(w.ok()) << w.status();
  absl::StatusOr<SealedBackup> b = backup_vectors::SealBackup(
      in_["plaintext"].get<std::string>(), in_["account_id"], in["version"],
      {*w}, key, Hex(in["body_nonce"]));
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(HexEncode(b->Encode()), v["sealed"].get<std::string>());

  absl::StatusOr<SealedBackup> d = SealedBackup::Decode(Hex(v["sealed"]));
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_EQ(d->wraps.size(), 1u);
  const BackupWrap& wrap = d->wraps[0];
  EXPECT_EQ(wrap.type, WrapType::kSecurityKey);
  EXPECT_EQ(wrap.rp_id, "ktlog.example");
  EXPECT_EQ(wrap.credential_id, Hex(in["credential_id"]));
  EXPECT_EQ(*Unwrap(wrap, secret), key);
  // The secret for the salt itself (what a website's PRF could have
  // obtained, had it asked for it), another salt's, or a wrap moved to
  // another credential, relying party or salt opens nothing.
  EXPECT_EQ(Unwrap(wrap, HmacSha256(Hex(in["cred_random"]), {salt}).bytes())
                .status()
                .code(),
            StatusCode::kPermissionDenied);
  for (auto alter : std::vector<std::function<void(BackupWrap*)>>{
           [](BackupWrap* w) { w->credential_id[0] ^= 1; },
           [](BackupWrap* w) { w->rp_id = "evil.example"; },
           [](BackupWrap* w) { w->salt[0] ^= 1; }}) {
    BackupWrap moved = wrap;
    alter(&moved);
    EXPECT_EQ(Unwrap(moved, secret).status().code(),
              StatusCode::kPermissionDenied);
  }
  // Sizes outside the limits do not decode, nor are they made.
  EXPECT_EQ(backup_vectors::WrapWithSecurityKey(key, "", "id", salt, secret,
                                                Hex(in["wrap_nonce"]))
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(backup_vectors::WrapWithSecurityKey(key, "ktlog.example",
                                                std::string(129, 'i'), salt,
                                                secret, Hex(in["wrap_nonce"]))
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  std::string sealed = Hex(v["sealed"]);
  size_t at = sealed.find(Hex(in["credential_id"]));
  ASSERT_NE(at, std::string::npos);
  EXPECT_EQ(SealedBackup::Decode(sealed.substr(0, at + 10)).status(),
            absl::InvalidArgumentError("a security-key wrap is cut"));
  // A credential id of 0 bytes, an rp id that is not printable: refused.
  std::string empty_id = sealed;
  empty_id[at - 1] = 0;
  EXPECT_EQ(SealedBackup::Decode(empty_id).status().code(),
            StatusCode::kInvalidArgument);
  std::string rp_nul = sealed;
  rp_nul[sealed.find("ktlog.example")] = '\0';
  EXPECT_EQ(SealedBackup::Decode(rp_nul).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(backup_vectors::WrapWithSecurityKey(
                key, "ktlog example", "id", salt, secret, Hex(in["wrap_nonce"]))
                .status()
                .code(),
            StatusCode::kInvalidArgument);
}

TEST_F(BackupVectors, EachSecretOpensTheStoredBackup) {
  absl::StatusOr<SealedBackup> b = SealedBackup::Decode(Hex(v_["sealed"]));
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->account_id, "alice@example.com");
  EXPECT_EQ(b->version, 3u);
  ASSERT_EQ(b->wraps.size(), 2u);
  EXPECT_EQ(b->wraps[1].type, WrapType::kPassphrase);
  EXPECT_EQ(b->ciphertext.size(), kBackupPadding + kBackupTagSize);
  absl::StatusOr<std::string> recovery =
      ParseRecoveryKey(v_["recovery_key_text"].get<std::string>());
  ASSERT_TRUE(recovery.ok()) << recovery.status();
  EXPECT_EQ(*recovery, Hex(in_["recovery_key"]));
  for (const auto& [wrap, secret] : {std::pair(b->wraps[0], *recovery),
                                     std::pair(b->wraps[1], passphrase())}) {
    absl::StatusOr<std::string> key = Unwrap(wrap, secret);
    ASSERT_TRUE(key.ok()) << key.status();
    EXPECT_EQ(*key, Hex(in_["backup_key"]));
    absl::StatusOr<std::string> plain =
        OpenBackup(*b, *key, "alice@example.com", 3);
    ASSERT_TRUE(plain.ok()) << plain.status();
    EXPECT_EQ(*plain, in_["plaintext"].get<std::string>());
  }
}

TEST_F(BackupVectors, AWrongSecretOrAnAlteredBackupDoesNotOpen) {
  SealedBackup b = *SealedBackup::Decode(Hex(v_["sealed"]));
  EXPECT_EQ(Unwrap(b.wraps[1], "correct horse battery stapler").status(),
            absl::PermissionDeniedError("the passphrase does not open this "
                                        "backup (or the backup was altered)"));
  EXPECT_EQ(Unwrap(b.wraps[0], std::string(32, 'x')).status(),
            absl::PermissionDeniedError("the recovery key does not open this "
                                        "backup (or the backup was altered)"));
  // The passphrase wrap's costs cannot be lowered unseen.
  BackupWrap cheaper = b.wraps[1];
  cheaper.memory = 16384;
  EXPECT_EQ(Unwrap(cheaper, passphrase()).status().code(),
            StatusCode::kPermissionDenied);
  // Another account's, or another version's, under the same key: refused.
  const std::string key = Hex(in_["backup_key"]);
  const absl::Status altered = absl::PermissionDeniedError(
      "the backup key does not open this backup, or the backup was altered");
  for (auto change : std::vector<std::function<void(SealedBackup*)>>{
           [](SealedBackup* s) { s->account_id = "mallory@example.com"; },
           [](SealedBackup* s) { s->version = 4; },
           [](SealedBackup* s) { s->wraps.pop_back(); },
           [](SealedBackup* s) { s->ciphertext[100] ^= 1; }}) {
    SealedBackup other = b;
    change(&other);
    EXPECT_EQ(OpenBackup(other, key, other.account_id, 3).status(), altered);
  }
  EXPECT_EQ(
      OpenBackup(b, std::string(32, 'k'), "alice@example.com", 3).status(),
      altered);
  // Sound, but not the one asked for: another account's, an older one.
  EXPECT_EQ(OpenBackup(b, key, "bob@example.com", 1).status(),
            absl::FailedPreconditionError(
                "the backup is another account's (\"alice@example.com\"), not "
                "\"bob@example.com\"'s"));
  EXPECT_EQ(OpenBackup(b, key, "alice@example.com", 4).status(),
            absl::FailedPreconditionError(
                "the backup is version 3, older than the 4 expected"));
}

TEST(BackupTest, AHostileBackupIsRefusedBeforeAnyWork) {
  std::string key = NewBackupSecret();
  std::vector<BackupWrap> wraps = {
      *WrapWithRecoveryKey(key, NewBackupSecret())};
  SealedBackup b = *SealBackup("state", "alice", 1, wraps, key);
  // Argon2id asked to use 2 GiB of the phone's memory.
  BackupWrap greedy;
  greedy.type = WrapType::kPassphrase;
  greedy.salt = std::string(16, 's');
  greedy.ops = 3;
  greedy.memory = uint64_t{2} << 30;
  greedy.nonce = std::string(24, 'n');
  greedy.wrapped = std::string(48, 'w');
  SealedBackup hostile = b;
  hostile.wraps.push_back(greedy);
  EXPECT_EQ(SealedBackup::Decode(hostile.Encode()).status(),
            absl::InvalidArgumentError(
                "Argon2id costs of 3 passes over 2147483648 bytes are outside "
                "what a client accepts (1..6 passes, 8192..536870912 bytes in "
                "whole KiB)"));
  EXPECT_EQ(Unwrap(greedy, "pass").status().code(),
            StatusCode::kInvalidArgument);
  // Cut, followed by more bytes, another magic, too large.
  std::string bytes = b.Encode();
  for (std::string bad : {bytes.substr(0, bytes.size() - 1), bytes + "x",
                          "ktlog backup v2\n" + bytes.substr(16),
                          std::string(kMaxBackupBytes + 1, 'k')}) {
    EXPECT_EQ(SealedBackup::Decode(bad).status().code(),
              StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(
      SealBackup(std::string(kMaxBackupBytes, 'x'), "alice", 1, wraps, key)
          .status()
          .code(),
      StatusCode::kInvalidArgument);
  EXPECT_EQ(SealBackup("state", "alice", 1, {}, key).status().code(),
            StatusCode::kInvalidArgument)
      << "no wrap: nobody could open it";
  EXPECT_EQ(SealBackup("state", "alice", 1, wraps, "short").status().code(),
            StatusCode::kInvalidArgument);
}

TEST(BackupTest, ThePlaintextIsPaddedToMultiplesOf4096) {
  std::string key = NewBackupSecret();
  std::vector<BackupWrap> wraps = {
      *WrapWithRecoveryKey(key, NewBackupSecret())};
  std::set<std::string> nonces;
  for (auto [size, padded] : std::vector<std::pair<size_t, size_t>>{
           {0, 4096}, {4092, 4096}, {4093, 8192}, {9000, 12288}}) {
    std::string plain(size, 'p');
    auto b = SealBackup(plain, "alice", 1, wraps, key);
    ASSERT_TRUE(b.ok()) << b.status();
    EXPECT_EQ(b->ciphertext.size(), padded + kBackupTagSize) << size;
    EXPECT_EQ(*OpenBackup(*b, key, "alice", 1), plain);
    nonces.insert(b->nonce);
  }
  EXPECT_EQ(nonces.size(), 4u) << "a fresh nonce for each seal";
}

TEST(BackupTest, ANewPassphraseWrapIsLongAndCostly) {
  std::string key = NewBackupSecret();
  EXPECT_EQ(WrapWithPassphrase(key, "hunter2hunt").status(),
            absl::InvalidArgumentError(
                "a backup passphrase is UTF-8 of at least 12 characters: the "
                "provider can try guesses against it offline"));
  EXPECT_EQ(WrapWithPassphrase(key, "correct horse battery staple", 1,
                               kLeastNewPassphraseMemory)
                .status(),
            absl::InvalidArgumentError("a new passphrase wrap costs at least 2 "
                                       "passes over 67108864 bytes"));
  // Twelve characters in more than twelve bytes.
  absl::StatusOr<BackupWrap> w = WrapWithPassphrase(
      key, "pässwörd ünd", kLeastNewPassphraseOps, kLeastNewPassphraseMemory);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->ops, 2u);
  EXPECT_EQ(w->memory, uint64_t{64} << 20);
  EXPECT_EQ(w->salt.size(), kBackupSaltSize);
  EXPECT_EQ(*Unwrap(*w, "pässwörd ünd"), key);
  EXPECT_EQ(WrapWithRecoveryKey(key, "short").status().code(),
            StatusCode::kInvalidArgument);
}

TEST(BackupTest, ARecoveryKeyWithATypoSaysSo) {
  std::string key = NewBackupSecret();
  std::string text = RecoveryKeyText(key);
  ASSERT_EQ(text.size(), 56u + 13u);
  std::string spoken = text;
  for (char& c : spoken) c = c == '-' ? ' ' : absl::ascii_toupper(c);
  EXPECT_EQ(*ParseRecoveryKey(spoken), key) << "case and separators ignored";
  std::string typo = text;
  typo[5] = typo[5] == 'a' ? 'b' : 'a';
  EXPECT_EQ(ParseRecoveryKey(typo).status(),
            absl::InvalidArgumentError(
                "the recovery key has a typo: check each group against the "
                "one you wrote down"));
  EXPECT_EQ(ParseRecoveryKey(text.substr(5)).status(),
            absl::InvalidArgumentError("a recovery key is 56 letters and "
                                       "digits (14 groups of 4), not 52"));
  std::string one = text;
  one[0] = '1';
  EXPECT_EQ(ParseRecoveryKey(one).status(),
            absl::InvalidArgumentError("a recovery key has only the letters "
                                       "a-z and the digits 2-7, not \"1\""));
  one[0] = '\xc3';
  EXPECT_EQ(ParseRecoveryKey(one).status(),
            absl::InvalidArgumentError("a recovery key has only the letters "
                                       "a-z and the digits 2-7"));
}

}  // namespace
}  // namespace ktlog
