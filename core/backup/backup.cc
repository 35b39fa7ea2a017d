#include "core/backup/backup.h"

#include <sodium.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/crypto/crypto.h"
#include "core/crypto/hash.h"
#include "core/util/bytes.h"
#include "core/util/status_macros.h"

namespace ktlog {
namespace {

constexpr absl::string_view kMagic = "ktlog backup v1\n";
constexpr absl::string_view kWrapLabel = "ktlog backup key v1\n";
constexpr absl::string_view kRecoveryLabel = "ktlog recovery key v1\n";
constexpr absl::string_view kHmacSecretLabel = "ktlog backup hmac-secret v1\n";
constexpr absl::string_view kBase32 = "abcdefghijklmnopqrstuvwxyz234567";
constexpr size_t kChecksumSize = 3;
constexpr size_t kRecoveryTextSize = 56;  // (32 + 3) * 8 / 5

const bool kSodiumReady = sodium_init() >= 0;

const unsigned char* U(absl::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

void AppendU8Prefixed(absl::string_view s, std::string* out) {
  out->push_back(static_cast<char>(s.size()));
  out->append(s.data(), s.size());
}

// A wrap's type and parameters as they are encoded: a passphrase wrap's
// salt, ops and memory; a security-key wrap's rp id, credential id and
// salt.
void AppendParams(const BackupWrap& w, std::string* out) {
  out->push_back(static_cast<char>(w.type));
  if (w.type == WrapType::kPassphrase) {
    out->append(w.salt);
    AppendBigEndian(w.ops, 8, out);
    AppendBigEndian(w.memory, 8, out);
  } else if (w.type == WrapType::kSecurityKey) {
    AppendU8Prefixed(w.rp_id, out);
    AppendU8Prefixed(w.credential_id, out);
    out->append(w.salt);
  }
}

// The associated data of a wrap: its type and parameters (so none can be
// changed unseen).
std::string WrapAd(const BackupWrap& w) {
  std::string ad(kWrapLabel);
  AppendParams(w, &ad);
  return ad;
}

void AppendWrap(const BackupWrap& w, std::string* out) {
  AppendParams(w, out);
  out->append(w.nonce);
  out->append(w.wrapped);
}

// Everything before the body's nonce: the body's associated data.
std::string Header(const SealedBackup& b) {
  std::string out(kMagic);
  AppendU16Prefixed(b.account_id, &out);
  AppendBigEndian(b.version, 8, &out);
  out.push_back(static_cast<char>(b.wraps.size()));
  for (const BackupWrap& w : b.wraps) AppendWrap(w, &out);
  return out;
}

// XChaCha20-Poly1305 (IETF) of `plaintext`; INVALID_ARGUMENT for a key
// or nonce of another size.
absl::StatusOr<std::string> Seal(absl::string_view plaintext,
                                 absl::string_view ad, absl::string_view nonce,
                                 absl::string_view key) {
  if (!kSodiumReady) return absl::InternalError("libsodium did not start");
  if (key.size() != kBackupKeySize || nonce.size() != kBackupNonceSize) {
    return absl::InvalidArgumentError(
        "a backup key or recovery key is 32 bytes, a nonce 24");
  }
  std::string out(plaintext.size() + kBackupTagSize, '\0');
  unsigned long long len = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      reinterpret_cast<unsigned char*>(out.data()), &len, U(plaintext),
      plaintext.size(), U(ad), ad.size(), nullptr, U(nonce), U(key));
  out.resize(len);
  return out;
}

// The plaintext of `sealed`; PERMISSION_DENIED with `refused` if `key`
// does not open it with `ad`.
absl::StatusOr<std::string> Open(absl::string_view sealed, absl::string_view ad,
                                 absl::string_view nonce, absl::string_view key,
                                 absl::string_view refused) {
  if (sealed.size() < kBackupTagSize || nonce.size() != kBackupNonceSize ||
      key.size() != kBackupKeySize) {
    return absl::InvalidArgumentError(
        "a backup key or recovery key is 32 bytes, a nonce 24 and a sealed "
        "part at least 16");
  }
  std::string out(sealed.size() - kBackupTagSize, '\0');
  unsigned long long len = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          reinterpret_cast<unsigned char*>(out.data()), &len, nullptr,
          U(sealed), sealed.size(), U(ad), ad.size(), U(nonce), U(key)) != 0) {
    return absl::PermissionDeniedError(refused);
  }
  out.resize(len);
  return out;
}

absl::Status CheckCosts(uint64_t ops, uint64_t memory) {
  if (ops < kMinPassphraseOps || ops > kMaxPassphraseOps ||
      memory < kMinPassphraseMemory || memory > kMaxPassphraseMemory ||
      memory % 1024 != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Argon2id costs of ", ops, " passes over ", memory,
        " bytes are outside what a client accepts (", kMinPassphraseOps, "..",
        kMaxPassphraseOps, " passes, ", kMinPassphraseMemory, "..",
        kMaxPassphraseMemory, " bytes in whole KiB)"));
  }
  return absl::OkStatus();
}

absl::Status CheckSecurityKeyParams(const BackupWrap& w) {
  bool printable = true;
  for (char c : w.rp_id) printable = printable && c > ' ' && c <= '~';
  if (!printable || w.rp_id.empty() || w.rp_id.size() > kMaxWrapRpIdSize ||
      w.credential_id.empty() ||
      w.credential_id.size() > kMaxWrapCredentialIdSize ||
      w.salt.size() != kSecurityKeySaltSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a security-key wrap has an rp id of 1..", kMaxWrapRpIdSize,
        " printable ASCII bytes, a credential id of 1..",
        kMaxWrapCredentialIdSize, " and a salt of ", kSecurityKeySaltSize));
  }
  return absl::OkStatus();
}

// The Argon2id key of `passphrase` for `w`'s salt and costs.
absl::StatusOr<std::string> PassphraseKey(const BackupWrap& w,
                                          absl::string_view passphrase) {
  RETURN_IF_ERROR(CheckCosts(w.ops, w.memory));
  if (w.salt.size() != kBackupSaltSize) {
    return absl::InvalidArgumentError(
        "the passphrase wrap's salt is not 16 bytes");
  }
  std::string key(kBackupKeySize, '\0');
  if (crypto_pwhash(reinterpret_cast<unsigned char*>(key.data()), key.size(),
                    passphrase.data(), passphrase.size(), U(w.salt), w.ops,
                    w.memory, crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "Argon2id could not have the ", w.memory, " bytes it needs"));
  }
  return key;
}

std::string Checksum(absl::string_view key) {
  return std::string(Sha256(absl::StrCat(kRecoveryLabel, key))
                         .view()
                         .substr(0, kChecksumSize));
}

// Base32 (RFC 4648, lowercase, no padding) of `data`, whose bit length
// is a multiple of 5.
std::string Base32(absl::string_view data) {
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char c : data) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 5) {
      out.push_back(kBase32[(buffer >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  return out;
}

absl::Status DecodeWrap(ByteReader* r, BackupWrap* w) {
  uint8_t type = 0;
  if (!r->ReadU8(&type)) return absl::InvalidArgumentError("a wrap is cut");
  if (type < static_cast<uint8_t>(WrapType::kRecoveryKey) ||
      type > static_cast<uint8_t>(WrapType::kSecurityKey)) {
    return absl::InvalidArgumentError(
        absl::StrCat("a wrap has the unknown type ", type));
  }
  w->type = static_cast<WrapType>(type);
  absl::string_view salt, nonce, wrapped;
  if (w->type == WrapType::kPassphrase) {
    if (!r->ReadBytes(kBackupSaltSize, &salt) || !r->ReadU64(&w->ops) ||
        !r->ReadU64(&w->memory)) {
      return absl::InvalidArgumentError("a passphrase wrap is cut");
    }
    w->salt = std::string(salt);
    RETURN_IF_ERROR(CheckCosts(w->ops, w->memory));
  } else if (w->type == WrapType::kSecurityKey) {
    uint8_t rp_size = 0, id_size = 0;
    absl::string_view rp_id, credential_id;
    if (!r->ReadU8(&rp_size) || !r->ReadBytes(rp_size, &rp_id) ||
        !r->ReadU8(&id_size) || !r->ReadBytes(id_size, &credential_id) ||
        !r->ReadBytes(kSecurityKeySaltSize, &salt)) {
      return absl::InvalidArgumentError("a security-key wrap is cut");
    }
    w->rp_id = std::string(rp_id);
    w->credential_id = std::string(credential_id);
    w->salt = std::string(salt);
    RETURN_IF_ERROR(CheckSecurityKeyParams(*w));
  }
  if (!r->ReadBytes(kBackupNonceSize, &nonce) ||
      !r->ReadBytes(kBackupKeySize + kBackupTagSize, &wrapped)) {
    return absl::InvalidArgumentError("a wrap is cut");
  }
  w->nonce = std::string(nonce);
  w->wrapped = std::string(wrapped);
  return absl::OkStatus();
}

size_t CodePoints(absl::string_view text) {
  size_t n = 0;  // bytes that do not continue a code point
  for (char c : text) n += (static_cast<unsigned char>(c) & 0xc0) != 0x80;
  return n;
}

}  // namespace

std::string SecurityKeySalt(absl::string_view salt) {
  return Sha256(absl::StrCat(kHmacSecretLabel, salt)).bytes();
}

const char* WrapTypeName(WrapType type) {
  switch (type) {
    case WrapType::kRecoveryKey:
      return "recovery key";
    case WrapType::kPassphrase:
      return "passphrase";
    case WrapType::kSecurityKey:
      return "security key";
  }
  return "unknown secret";
}

std::string SealedBackup::Encode() const {
  std::string out = Header(*this);
  out += nonce;
  AppendBigEndian(ciphertext.size(), 4, &out);
  out += ciphertext;
  return out;
}

absl::StatusOr<SealedBackup> SealedBackup::Decode(absl::string_view bytes) {
  if (bytes.size() > kMaxBackupBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a backup is at most ", kMaxBackupBytes, " bytes, not ", bytes.size()));
  }
  ByteReader r(bytes);
  absl::string_view magic, id, nonce, length, ciphertext;
  if (!r.ReadBytes(kMagic.size(), &magic) || magic != kMagic) {
    return absl::InvalidArgumentError(
        "not a ktlog backup (it does not start with \"ktlog backup v1\")");
  }
  SealedBackup b;
  uint8_t wraps = 0;
  if (!r.ReadU16Prefixed(&id) || id.empty() || id.size() > 256 ||
      !IsValidUtf8(id) || !r.ReadU64(&b.version) || b.version == 0 ||
      !r.ReadU8(&wraps) || wraps == 0 || wraps > kMaxBackupWraps) {
    return absl::InvalidArgumentError(
        "the backup's account id, version or number of wraps is malformed");
  }
  b.account_id = std::string(id);
  b.wraps.resize(wraps);
  for (BackupWrap& w : b.wraps) RETURN_IF_ERROR(DecodeWrap(&r, &w));
  if (!r.ReadBytes(kBackupNonceSize, &nonce) || !r.ReadBytes(4, &length) ||
      !r.ReadBytes(ReadBigEndian(length, 4), &ciphertext) || !r.empty() ||
      ciphertext.size() < kBackupTagSize + 4) {
    return absl::InvalidArgumentError(
        "the backup's body is cut, too short or followed by other bytes");
  }
  b.nonce = std::string(nonce);
  b.ciphertext = std::string(ciphertext);
  return b;
}

std::string NewBackupSecret() { return RandomBytes(kBackupKeySize); }

std::string RecoveryKeyText(absl::string_view recovery_key) {
  std::string text = Base32(absl::StrCat(recovery_key, Checksum(recovery_key)));
  std::vector<absl::string_view> groups;
  for (size_t i = 0; i < text.size(); i += 4) {
    groups.push_back(absl::string_view(text).substr(i, 4));
  }
  std::string out = absl::StrJoin(groups, "-");
  WipeSecret(&text);
  return out;
}

absl::StatusOr<std::string> ParseRecoveryKey(absl::string_view text) {
  std::string letters;
  for (char c : text) {
    if (c == '-' || c == ' ') continue;
    letters.push_back(absl::ascii_tolower(static_cast<unsigned char>(c)));
  }
  if (letters.size() != kRecoveryTextSize) {
    WipeSecret(&letters);
    return absl::InvalidArgumentError(absl::StrCat(
        "a recovery key is ", kRecoveryTextSize,
        " letters and digits (14 groups of 4), not ", letters.size()));
  }
  std::string bytes;
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : letters) {
    size_t v = kBase32.find(c);
    if (v == absl::string_view::npos) {
      WipeSecret(&letters);
      WipeSecret(&bytes);
      return absl::InvalidArgumentError(absl::StrCat(
          "a recovery key has only the letters a-z and the digits 2-7",
          absl::ascii_isgraph(static_cast<unsigned char>(c))
              ? absl::StrCat(", not \"", std::string(1, c), "\"")
              : ""));
    }
    buffer = (buffer << 5) | static_cast<uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      bytes.push_back(static_cast<char>((buffer >> (bits - 8)) & 0xff));
      bits -= 8;
    }
  }
  std::string key = bytes.substr(0, kBackupKeySize);
  bool typo = Checksum(key) != bytes.substr(kBackupKeySize);
  WipeSecret(&letters);
  WipeSecret(&bytes);
  if (typo) {
    WipeSecret(&key);
    return absl::InvalidArgumentError(
        "the recovery key has a typo: check each group against the one you "
        "wrote down");
  }
  return key;
}

namespace backup_vectors {

absl::StatusOr<BackupWrap> WrapWithRecoveryKey(absl::string_view backup_key,
                                               absl::string_view recovery_key,
                                               absl::string_view nonce) {
  if (backup_key.size() != kBackupKeySize) {
    return absl::InvalidArgumentError("a backup key is 32 bytes");
  }
  BackupWrap w;
  w.type = WrapType::kRecoveryKey;
  w.nonce = std::string(nonce);
  ASSIGN_OR_RETURN(w.wrapped, Seal(backup_key, WrapAd(w), nonce, recovery_key));
  return w;
}

absl::StatusOr<BackupWrap> WrapWithPassphrase(absl::string_view backup_key,
                                              absl::string_view passphrase,
                                              absl::string_view salt,
                                              uint64_t ops, uint64_t memory,
                                              absl::string_view nonce) {
  if (backup_key.size() != kBackupKeySize) {
    return absl::InvalidArgumentError("a backup key is 32 bytes");
  }
  BackupWrap w;
  w.type = WrapType::kPassphrase;
  w.salt = std::string(salt);
  w.ops = ops;
  w.memory = memory;
  w.nonce = std::string(nonce);
  ASSIGN_OR_RETURN(std::string key, PassphraseKey(w, passphrase));
  absl::StatusOr<std::string> wrapped = Seal(backup_key, WrapAd(w), nonce, key);
  WipeSecret(&key);
  ASSIGN_OR_RETURN(w.wrapped, std::move(wrapped));
  return w;
}

absl::StatusOr<BackupWrap> WrapWithSecurityKey(absl::string_view backup_key,
                                               const std::string& rp_id,
                                               const std::string& credential_id,
                                               absl::string_view salt,
                                               absl::string_view secret,
                                               absl::string_view nonce) {
  if (backup_key.size() != kBackupKeySize) {
    return absl::InvalidArgumentError("a backup key is 32 bytes");
  }
  BackupWrap w;
  w.type = WrapType::kSecurityKey;
  w.rp_id = rp_id;
  w.credential_id = credential_id;
  w.salt = std::string(salt);
  w.nonce = std::string(nonce);
  RETURN_IF_ERROR(CheckSecurityKeyParams(w));
  ASSIGN_OR_RETURN(w.wrapped, Seal(backup_key, WrapAd(w), nonce, secret));
  return w;
}

absl::StatusOr<SealedBackup> SealBackup(absl::string_view plaintext,
                                        const std::string& account_id,
                                        uint64_t version,
                                        std::vector<BackupWrap> wraps,
                                        absl::string_view backup_key,
                                        absl::string_view nonce) {
  SealedBackup b;
  b.account_id = account_id;
  b.version = version;
  for (const BackupWrap& w : wraps) {
    if (w.type == WrapType::kSecurityKey) {
      RETURN_IF_ERROR(CheckSecurityKeyParams(w));
    }
  }
  b.wraps = std::move(wraps);
  b.nonce = std::string(nonce);
  // The length, the plaintext, zeros to a multiple of kBackupPadding: the
  // provider learns the size only to that grain. Sized once: no copy of
  // the plaintext is left behind by a reallocation.
  size_t padded_size = (4 + plaintext.size() + kBackupPadding - 1) /
                       kBackupPadding * kBackupPadding;
  std::string padded;
  padded.reserve(padded_size);
  AppendBigEndian(plaintext.size(), 4, &padded);
  padded.append(plaintext.data(), plaintext.size());
  padded.resize(padded_size, '\0');
  absl::StatusOr<std::string> sealed =
      Seal(padded, Header(b), nonce, backup_key);
  WipeSecret(&padded);
  ASSIGN_OR_RETURN(b.ciphertext, std::move(sealed));
  RETURN_IF_ERROR(SealedBackup::Decode(b.Encode()).status());
  return b;
}

}  // namespace backup_vectors

absl::StatusOr<BackupWrap> WrapWithRecoveryKey(absl::string_view backup_key,
                                               absl::string_view recovery_key) {
  return backup_vectors::WrapWithRecoveryKey(backup_key, recovery_key,
                                             RandomBytes(kBackupNonceSize));
}

absl::StatusOr<BackupWrap> WrapWithPassphrase(absl::string_view backup_key,
                                              absl::string_view passphrase,
                                              uint64_t ops, uint64_t memory) {
  if (CodePoints(passphrase) < kMinPassphraseChars ||
      !IsValidUtf8(passphrase)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a backup passphrase is UTF-8 of at least ", kMinPassphraseChars,
        " characters: the provider can try guesses against it offline"));
  }
  if (ops < kLeastNewPassphraseOps || memory < kLeastNewPassphraseMemory) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a new passphrase wrap costs at least ", kLeastNewPassphraseOps,
        " passes over ", kLeastNewPassphraseMemory, " bytes"));
  }
  return backup_vectors::WrapWithPassphrase(
      backup_key, passphrase, RandomBytes(kBackupSaltSize), ops, memory,
      RandomBytes(kBackupNonceSize));
}

absl::StatusOr<BackupWrap> WrapWithSecurityKey(absl::string_view backup_key,
                                               const std::string& rp_id,
                                               const std::string& credential_id,
                                               absl::string_view salt,
                                               absl::string_view secret) {
  return backup_vectors::WrapWithSecurityKey(backup_key, rp_id, credential_id,
                                             salt, secret,
                                             RandomBytes(kBackupNonceSize));
}

absl::StatusOr<std::string> Unwrap(const BackupWrap& wrap,
                                   absl::string_view secret) {
  std::string key;
  if (wrap.type == WrapType::kPassphrase) {
    ASSIGN_OR_RETURN(key, PassphraseKey(wrap, secret));
  } else {
    key = std::string(secret);
  }
  absl::StatusOr<std::string> out =
      Open(wrap.wrapped, WrapAd(wrap), wrap.nonce, key,
           absl::StrCat("the ", WrapTypeName(wrap.type),
                        " does not open this backup (or the backup was "
                        "altered)"));
  WipeSecret(&key);
  return out;
}

absl::StatusOr<SealedBackup> SealBackup(absl::string_view plaintext,
                                        const std::string& account_id,
                                        uint64_t version,
                                        std::vector<BackupWrap> wraps,
                                        absl::string_view backup_key) {
  return backup_vectors::SealBackup(plaintext, account_id, version,
                                    std::move(wraps), backup_key,
                                    RandomBytes(kBackupNonceSize));
}

absl::StatusOr<std::string> OpenBackup(const SealedBackup& sealed,
                                       absl::string_view backup_key,
                                       absl::string_view account_id,
                                       uint64_t min_version) {
  if (sealed.account_id != account_id) {
    return absl::FailedPreconditionError(
        absl::StrCat("the backup is another account's (\"", sealed.account_id,
                     "\"), not \"", account_id, "\"'s"));
  }
  if (sealed.version < min_version) {
    return absl::FailedPreconditionError(
        absl::StrCat("the backup is version ", sealed.version,
                     ", older than the ", min_version, " expected"));
  }
  ASSIGN_OR_RETURN(
      std::string padded,
      Open(sealed.ciphertext, Header(sealed), sealed.nonce, backup_key,
           "the backup key does not open this backup, or the "
           "backup was altered"));
  if (padded.size() < 4 || ReadBigEndian(padded, 4) > padded.size() - 4) {
    WipeSecret(&padded);
    return absl::InvalidArgumentError(
        "the backup's plaintext length is malformed");
  }
  std::string out = padded.substr(4, ReadBigEndian(padded, 4));
  WipeSecret(&padded);
  return out;
}

}  // namespace ktlog
