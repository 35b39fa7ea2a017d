// The trust backup's encryption (docs/formats.md, "Trust backup"): the
// client's state sealed with XChaCha20-Poly1305 under a random 256-bit
// backup key, which is kept wrapped by secrets only the user holds: a
// recovery key shown once, or a passphrase through Argon2id. The provider
// stores the sealed bytes and learns their padded size and nothing else.
//
// This module is the format alone: no storage, no freshness (which the
// log's account state will prove), no state layout (the plaintext is
// opaque bytes). libsodium does the cryptography.
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
inline constexpr size_t kMaxBackupWraps = 8;
// Argon2id costs a restoring client accepts: a backup naming more (a
// hostile server's, to exhaust the phone) is refused before any work.
inline constexpr uint64_t kMinPassphraseOps = 1, kMaxPassphraseOps = 16;
inline constexpr uint64_t kMinPassphraseMemory = 8 << 10;
inline constexpr uint64_t kMaxPassphraseMemory = uint64_t{1} << 30;
// What a new passphrase wrap costs (libsodium's "moderate": 3 passes over
// 256 MiB, about a second on a phone).
inline constexpr uint64_t kDefaultPassphraseOps = 3;
inline constexpr uint64_t kDefaultPassphraseMemory = 256 << 20;

enum class WrapType : uint8_t { kRecoveryKey = 1, kPassphrase = 2 };

// The backup key, encrypted under one secret of the user's.
struct BackupWrap {
  WrapType type = WrapType::kRecoveryKey;
  // kPassphrase only: Argon2id's salt and costs.
  std::string salt;
  uint64_t ops = 0;
  uint64_t memory = 0;
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

// A new random backup key, recovery key or nonce (kBackupNonceSize).
std::string NewBackupSecret();
std::string NewBackupNonce();

// The recovery key as the user writes it down: 56 letters and digits
// (RFC 4648 base32 of the 32-byte key and a 3-byte checksum), in 14
// groups of 4 joined by "-".
std::string RecoveryKeyText(absl::string_view recovery_key);
// The key back from its text (case, spaces and dashes ignored);
// INVALID_ARGUMENT with what is wrong: its length, a character that is
// not in the alphabet, or a typo (the checksum).
absl::StatusOr<std::string> ParseRecoveryKey(absl::string_view text);

// `backup_key` wrapped under `recovery_key` (32 bytes) with `nonce`.
BackupWrap WrapWithRecoveryKey(absl::string_view backup_key,
                               absl::string_view recovery_key,
                               absl::string_view nonce);
// `backup_key` wrapped under the Argon2id key of `passphrase` with `salt`
// and the costs; INVALID_ARGUMENT for costs outside the limits or an empty
// passphrase, RESOURCE_EXHAUSTED if the memory cannot be had.
absl::StatusOr<BackupWrap> WrapWithPassphrase(absl::string_view backup_key,
                                              absl::string_view passphrase,
                                              absl::string_view salt,
                                              uint64_t ops, uint64_t memory,
                                              absl::string_view nonce);
// The backup key from `wrap` with `secret` (the recovery key, or the
// passphrase for a passphrase wrap). PERMISSION_DENIED if the secret is
// not the one it was wrapped under (or the wrap was altered).
absl::StatusOr<std::string> Unwrap(const BackupWrap& wrap,
                                   absl::string_view secret);

// `plaintext` sealed under `backup_key` for `account_id`'s backup number
// `version`, with its wraps and `nonce`. INVALID_ARGUMENT if the sealed
// backup would not decode (too large, no wrap, a bad id).
absl::StatusOr<SealedBackup> SealBackup(absl::string_view plaintext,
                                        const std::string& account_id,
                                        uint64_t version,
                                        std::vector<BackupWrap> wraps,
                                        absl::string_view backup_key,
                                        absl::string_view nonce);
// The plaintext of `sealed`. PERMISSION_DENIED if `backup_key` does not
// open it or anything in it was altered (its id, version and wraps are
// authenticated with it).
absl::StatusOr<std::string> OpenBackup(const SealedBackup& sealed,
                                       absl::string_view backup_key);

}  // namespace ktlog

#endif  // KTLOG_CORE_BACKUP_BACKUP_H_
