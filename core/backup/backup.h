// The trust backup's encryption (docs/formats.md, "Trust backup"): the
// client's state sealed with XChaCha20-Poly1305 under a random 256-bit
// backup key, which is kept wrapped by secrets only the user holds: a
// recovery key shown once, a passphrase through Argon2id, or a FIDO2
// security key's hmac-secret (a secret the key derives from a salt, and
// gives only when touched). The provider
// stores the sealed bytes; it learns the account id, the version, the
// padded size and which kinds of wraps there are (with a passphrase
// wrap's salt and costs, a security-key wrap's credential id, which let it
// guess a weak passphrase offline: docs/backup.md), and nothing of the state.
//
// This module is the format alone: no storage, no freshness (which the
// log's account state will prove), no state layout (the plaintext is
// opaque bytes). libsodium does the cryptography; every nonce is made
// here, fresh for each seal.
#ifndef KTLOG_CORE_BACKUP_BACKUP_H_
#define KTLOG_CORE_BACKUP_BACKUP_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ktlog {

inline constexpr size_t kBackupKeySize = 32;
inline constexpr size_t kBackupNonceSize = 24;  // XChaCha20-Poly1305
inline constexpr size_t kBackupTagSize = 16;
inline constexpr size_t kBackupSaltSize = 16;       // Argon2id
inline constexpr size_t kBackupPadding = 4096;      // plaintexts padded to this
inline constexpr size_t kMaxBackupBytes = 1 << 20;  // a sealed backup
// The largest sealed backup a ktlog log stores (log/backups.h): one that
// fits its 192 KiB request limit.
inline constexpr size_t kMaxStoredBackupBytes = 160 << 10;
inline constexpr size_t kMaxBackupWraps = 8;
// Argon2id costs a restoring client accepts: a backup naming more (a
// hostile server's, to exhaust the phone) is refused before any work. The
// memory is a multiple of 1 KiB (Argon2id counts it in KiB).
inline constexpr uint64_t kMinPassphraseOps = 1, kMaxPassphraseOps = 6;
inline constexpr uint64_t kMinPassphraseMemory = 8 << 10;
inline constexpr uint64_t kMaxPassphraseMemory = 512 << 20;
// What a new passphrase wrap costs (libsodium's "moderate": 3 passes over
// 256 MiB, about a second on a phone), and the least it may cost.
inline constexpr uint64_t kDefaultPassphraseOps = 3;
inline constexpr uint64_t kDefaultPassphraseMemory = 256 << 20;
inline constexpr uint64_t kLeastNewPassphraseOps = 2;
inline constexpr uint64_t kLeastNewPassphraseMemory = 64 << 20;
// A passphrase has at least this many characters (code points): the
// provider can test guesses against a passphrase wrap offline.
inline constexpr size_t kMinPassphraseChars = 12;

// A security-key wrap: the hmac-secret salt, and the most bytes of its
// relying party id and credential id (core/account/security_key.h's).
inline constexpr size_t kSecurityKeySaltSize = 32;
inline constexpr size_t kMaxWrapRpIdSize = 64;
inline constexpr size_t kMaxWrapCredentialIdSize = 128;

enum class WrapType : uint8_t {
  kRecoveryKey = 1,
  kPassphrase = 2,
  kSecurityKey = 3
};

// "recovery key", "passphrase" or "security key".
const char* WrapTypeName(WrapType type);

// The backup key, encrypted under one secret of the user's.
struct BackupWrap {
  WrapType type = WrapType::kRecoveryKey;
  // kPassphrase: Argon2id's salt (16 bytes); kSecurityKey: the
  // hmac-secret salt (32 bytes).
  std::string salt;
  // kPassphrase only: Argon2id's costs.
  uint64_t ops = 0;
  uint64_t memory = 0;
  // kSecurityKey only: the relying party id and credential whose
  // hmac-secret output for `salt` is the wrapping key.
  std::string rp_id;
  std::string credential_id;
  std::string nonce;    // 24 bytes
  std::string wrapped;  // the 32-byte key and its 16-byte tag
};

struct SealedBackup {
  std::string account_id;         // whose state it is (1..256 bytes)
  uint64_t version = 0;           // the backup's number, 1 and up
  std::vector<BackupWrap> wraps;  // 1..kMaxBackupWraps
  std::string nonce;              // 24 bytes
  std::string ciphertext;         // the padded plaintext and its tag

  // The encoding (docs/formats.md, "Trust backup").
  std::string Encode() const;
  // INVALID_ARGUMENT (naming the field) for anything Encode does not make,
  // more than kMaxBackupBytes, or Argon2id costs outside the limits above.
  static absl::StatusOr<SealedBackup> Decode(absl::string_view bytes);
};

// A sealed backup as a provider hands it over: its bytes, and the account
// version of the record-backup record that names them (as the provider
// says; a restore checks both against the log).
struct FetchedBackup {
  std::string sealed;
  uint64_t record_version = 0;
};

// A new random backup key or recovery key (32 bytes).
std::string NewBackupSecret();

// The recovery key as the user writes it down: 56 letters and digits
// (RFC 4648 base32 of the 32-byte key and a 3-byte checksum), in 14
// groups of 4 joined by "-".
std::string RecoveryKeyText(absl::string_view recovery_key);
// The key back from its text (case, spaces and dashes ignored);
// INVALID_ARGUMENT with what is wrong: its length, a character that is
// not in the alphabet, or a typo (the checksum).
absl::StatusOr<std::string> ParseRecoveryKey(absl::string_view text);

// `backup_key` wrapped under `recovery_key` (both 32 bytes).
absl::StatusOr<BackupWrap> WrapWithRecoveryKey(absl::string_view backup_key,
                                               absl::string_view recovery_key);
// `backup_key` wrapped under the Argon2id key of `passphrase` (at least
// kMinPassphraseChars; its UTF-8 bytes as given: an app normalizes it to
// NFC first) with a new salt and the costs, which are at least
// kLeastNewPassphraseOps and kLeastNewPassphraseMemory. INVALID_ARGUMENT
// for a short passphrase or costs outside the limits; RESOURCE_EXHAUSTED
// if the memory cannot be had.
absl::StatusOr<BackupWrap> WrapWithPassphrase(
    absl::string_view backup_key, absl::string_view passphrase,
    uint64_t ops = kDefaultPassphraseOps,
    uint64_t memory = kDefaultPassphraseMemory);
// What a security key is asked to derive a wrap's secret from, for the
// wrap's `salt`: SHA-256("ktlog backup hmac-secret v1\n" || salt). No
// other party's request to the key gives the same secret: a website's
// WebAuthn PRF sends SHA-256("WebAuthn PRF" || 0x00 || its input), so a
// site that got a PRF output cannot make a wrap that the output opens.
std::string SecurityKeySalt(absl::string_view salt);

// `backup_key` wrapped under `secret`: the 32-byte hmac-secret output of
// the credential `credential_id` of relying party `rp_id` for
// SecurityKeySalt(`salt`) (`salt`: 32 random bytes, one for every
// security-key wrap of a backup key; SecurityKeyDevice::HmacSecret).
// INVALID_ARGUMENT for sizes outside the limits above, or an rp id that
// is not printable ASCII.
absl::StatusOr<BackupWrap> WrapWithSecurityKey(absl::string_view backup_key,
                                               const std::string& rp_id,
                                               const std::string& credential_id,
                                               absl::string_view salt,
                                               absl::string_view secret);
// The backup key from `wrap` with `secret` (the recovery key, the
// passphrase for a passphrase wrap, or the hmac-secret output for a
// security-key wrap). PERMISSION_DENIED if the secret is
// not the one it was wrapped under, or the wrap was altered.
absl::StatusOr<std::string> Unwrap(const BackupWrap& wrap,
                                   absl::string_view secret);

// `plaintext` sealed under `backup_key` for `account_id`'s backup number
// `version` (1 and up), with its wraps. INVALID_ARGUMENT if the sealed
// backup would not decode (too large, no wrap, a bad id or key).
//
// When a secret is changed or removed, make a new backup key and wraps
// (and a new recovery key): the old wraps open every backup sealed under
// the old key, and the provider keeps them.
absl::StatusOr<SealedBackup> SealBackup(absl::string_view plaintext,
                                        const std::string& account_id,
                                        uint64_t version,
                                        std::vector<BackupWrap> wraps,
                                        absl::string_view backup_key);
// The plaintext of `sealed`, which must be `account_id`'s backup of
// version `min_version` or later: FAILED_PRECONDITION naming the account
// or version it is (a provider handing out another account's or an older
// backup). PERMISSION_DENIED if `backup_key` does not open it or anything
// in it was altered (its id, version and wraps are authenticated with it).
absl::StatusOr<std::string> OpenBackup(const SealedBackup& sealed,
                                       absl::string_view backup_key,
                                       absl::string_view account_id,
                                       uint64_t min_version);

// The same with the nonces (24 bytes) and salt (16) given: for vectors
// only (tools/vectors/gen_backup_vectors.py), never for real backups,
// whose nonces must never repeat under one key. No cost floor.
namespace backup_vectors {
absl::StatusOr<BackupWrap> WrapWithRecoveryKey(absl::string_view backup_key,
                                               absl::string_view recovery_key,
                                               absl::string_view nonce);
absl::StatusOr<BackupWrap> WrapWithPassphrase(absl::string_view backup_key,
                                              absl::string_view passphrase,
                                              absl::string_view salt,
                                              uint64_t ops, uint64_t memory,
                                              absl::string_view nonce);
absl::StatusOr<BackupWrap> WrapWithSecurityKey(absl::string_view backup_key,
                                               const std::string& rp_id,
                                               const std::string& credential_id,
                                               absl::string_view salt,
                                               absl::string_view secret,
                                               absl::string_view nonce);
absl::StatusOr<SealedBackup> SealBackup(absl::string_view plaintext,
                                        const std::string& account_id,
                                        uint64_t version,
                                        std::vector<BackupWrap> wraps,
                                        absl::string_view backup_key,
                                        absl::string_view nonce);
}  // namespace backup_vectors

}  // namespace ktlog

#endif  // KTLOG_CORE_BACKUP_BACKUP_H_
