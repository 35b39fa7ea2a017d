// The trust backup as the client library makes and opens it
// (docs/backup.md): what goes into a backup, sealed with core/backup, and
// what comes out of one. The steps around it (recording the backup in the
// log, uploading it, verifying a restore against the log) are the
// caller's: ktctl's `backup` commands (client/ktctl_backup.cc).
//
// A backup's plaintext (docs/formats.md, "Trust backup contents") is JSON:
//   {"format": "ktlog trust backup contents v1",
//    "state": the client state (verifier/client_state.h, as saved),
//    "files": {name: contents}: the account key files (account.key and,
//             during a rotation, account.key.next), as the key store keeps
//             them; none when the account is on security keys}
// Device identity keys are not in it: a new phone is a new device.
#ifndef KTLOG_VERIFIER_TRUST_BACKUP_H_
#define KTLOG_VERIFIER_TRUST_BACKUP_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/backup/backup.h"
#include "verifier/client_state.h"
#include "verifier/security_key_device.h"

namespace ktlog {

// The files a backup may carry, by name.
inline constexpr const char* kBackupFiles[] = {"account.key",
                                               "account.key.next"};

struct BackupContents {
  ClientState state;
  std::map<std::string, std::string> files;  // name (kBackupFiles) -> bytes
};

// The secrets a user chose for new backups: a new recovery key, a
// passphrase, security keys, or any of them together.
struct BackupSecrets {
  bool recovery_key = false;
  std::string passphrase;  // empty: none
  // Each gets a new credential (of the log's relying party id) whose
  // hmac-secret, for one salt common to them, wraps the backup key: two
  // touches each. At most
  // kMaxBackupSecurityKeys.
  std::vector<SecurityKeyDevice*> security_keys;
  // Argon2id costs of a passphrase wrap (core/backup/backup.h's limits).
  uint64_t ops = kDefaultPassphraseOps;
  uint64_t memory = kDefaultPassphraseMemory;
};

inline constexpr size_t kMaxBackupSecurityKeys = 6;

// Gives `state` a new backup key wrapped under `secrets` (replacing any
// earlier key and wraps: a changed secret needs a new key, since the
// provider keeps the old wraps). Returns the new recovery key's text
// (RecoveryKeyText) to show the user once, or "" if none was asked for.
// INVALID_ARGUMENT if no secret is given or more than
// kMaxBackupSecurityKeys keys, or WrapWithPassphrase's errors; a security
// key's errors (security_key_device.h; ALREADY_EXISTS for one key given
// twice). `state` is unchanged on error.
absl::StatusOr<std::string> SetBackupSecrets(ClientState* state,
                                             const BackupSecrets& secrets);

// The next backup of `state` (version state->backup.latest.version + 1)
// with `files`, sealed under the state's backup key. FAILED_PRECONDITION
// if no secrets are set (SetBackupSecrets); INVALID_ARGUMENT if it would
// be larger than `max_bytes` (naming both sizes). Does not change `state`:
// the caller records the backup (OwnAccount::RecordBackup).
absl::StatusOr<SealedBackup> SealNextBackup(
    const ClientState& state, const std::map<std::string, std::string>& files,
    size_t max_bytes);

// What a backup must keep, hashed (hex SHA-256): the pinned log key and
// policy, the own account as verified (its authority, key chain and
// devices, not its version: a backup's own record changes only that), the
// devices approved here, and each verified contact's verified key and
// devices (a contact only looked up holds no trust to keep).
// Equal fingerprints: a new backup would hold no trust the last one lacks.
std::string TrustFingerprint(const ClientState& state);

// A secret the user gives to open a backup.
struct BackupSecret {
  WrapType type = WrapType::kRecoveryKey;
  std::string text;  // the recovery key as written down, or the passphrase
  SecurityKeyDevice* security_key = nullptr;  // kSecurityKey: the key
};

// The contents of `sealed`, which must be `account_id`'s backup, opened
// with `secret`. The state's backup becomes this one (latest = its version
// and SHA-256, uploaded: the provider handed it over). A security key is
// asked once (one touch) for the secret of whichever credential it holds
// among the security-key wraps that share the first one's salt (as a
// client makes them). Errors: INVALID_ARGUMENT for a malformed backup or
// recovery key (a typo); FAILED_PRECONDITION for another account's
// backup, or one with no wrap of the secret's kind; NOT_FOUND if the
// security key holds none of the backup's credentials (another of the
// user's keys may); the key's own errors (security_key_device.h);
// PERMISSION_DENIED if the secret does not open it;
// DATA_LOSS if it opens but its contents are not a client state of that
// account and version (a backup made by something else).
absl::StatusOr<BackupContents> OpenTrustBackup(absl::string_view sealed,
                                               const std::string& account_id,
                                               const BackupSecret& secret);

}  // namespace ktlog

#endif  // KTLOG_VERIFIER_TRUST_BACKUP_H_
