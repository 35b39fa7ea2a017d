// The trust backup as the client library makes and opens it
// (docs/backup.md): what goes into a backup, sealed with core/backup, and
// what comes out of one; the steps around it (recording the backup in the
// log, uploading it, checking a restore against the log), which ktctl's
// `backup` commands (client/ktctl_backup.cc) and the C API
// (verifier/c/ktlog_client.h) run with their own storage.
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
#include "absl/time/time.h"
#include "core/backup/backup.h"
#include "verifier/alerts.h"
#include "verifier/client_state.h"
#include "verifier/client_verifier.h"
#include "verifier/log_source.h"
#include "verifier/own_account.h"
#include "verifier/security_key_device.h"
#include "verifier/stores.h"

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

// The contents of `sealed`, which must be `account_id`'s backup of a
// state pinned to `log_key` (the log key the app pins, as at init: never
// one taken from the backup, whose every byte may be forged by whoever
// holds the backup key, e.g. from a copy of the old phone), opened with
// `secret`. The restored state checks with the witness policy `log_key`
// names (and ages no longer than the backup's), never with the backup's
// own: a policy changed since init must be set again. The state's backup
// becomes this one (latest = its version and SHA-256, uploaded: the provider
// handed it over). A security key is asked once (one touch) for the secret of
// whichever credential it holds among the security-key wraps that share the
// first one's salt (as a client makes them). Errors: INVALID_ARGUMENT for a
// malformed backup or recovery key (a typo); FAILED_PRECONDITION for another
// account's backup, one pinned to another log key, or one with no wrap of the
// secret's kind; NOT_FOUND if the
// security key holds none of the backup's credentials (another of the
// user's keys may); the key's own errors (security_key_device.h);
// PERMISSION_DENIED if the secret does not open it;
// DATA_LOSS if it opens but its contents are not a client state of that
// account and version (a backup made by something else).
absl::StatusOr<BackupContents> OpenTrustBackup(absl::string_view sealed,
                                               const std::string& account_id,
                                               const std::string& log_key,
                                               const BackupSecret& secret);

// Where a backup's sealed bytes wait between its record in the log and
// the provider's answer to its upload (ktctl: a file of the state dir; the
// C API: the client's memory). A crash in between leaves them for
// FinishBackupUpload.
class PendingBackup {
 public:
  virtual ~PendingBackup() = default;
  virtual absl::Status Keep(const std::string& sealed) = 0;
  // The bytes kept; NOT_FOUND if none.
  virtual absl::StatusOr<std::string> Load() = 0;
  virtual void Drop() = 0;
};

// What a backup, or its deletion, writes and uploads through: the state
// and its store, the provider, the pending copy, and the caller's write
// of a record-backup record (OwnAccount::RecordBackup, with whatever
// waiting the caller does).
struct BackupSteps {
  ClientState* state = nullptr;
  StateStore* store = nullptr;
  BackupProvider* provider = nullptr;
  PendingBackup* pending = nullptr;
  std::function<absl::StatusOr<OwnAccount::Written>(const BackupRef&)> record;
};

// Finishes what an earlier backup or deletion left undone: its record is
// in the log, but the provider never answered the upload (a crash, a lost
// connection, a rate limit; until it does, a restore of the provider's
// older copy is refused). Returns what it did for the user, "" if nothing
// was left. A record the log never took (FAILED_PRECONDITION from the
// provider) is dropped: the next backup takes its place. Other errors are
// the provider's.
absl::StatusOr<std::string> FinishBackupUpload(const BackupSteps& steps);

struct MadeBackup {
  BackupRef ref;
  size_t bytes = 0;
  OwnAccount::Written written;
};

// Seals the next backup of the state (its secrets set: SetBackupSecrets)
// with `files`, keeps the sealed bytes pending, records the backup in the
// log and has the provider store it. SealNextBackup's errors; the record's;
// the provider's (the record is then in the log, the bytes pending: the
// next FinishBackupUpload sends them).
absl::StatusOr<MadeBackup> MakeBackup(
    const BackupSteps& steps, const std::map<std::string, std::string>& files);

// Records that the account has no backup, drops the secrets (a next
// backup needs new ones) and has the provider delete its copy. The
// record's errors; the provider's (the deletion is then recorded, and the
// next FinishBackupUpload asks again).
absl::StatusOr<OwnAccount::Written> DeleteBackup(const BackupSteps& steps);

// Checks a restored state, before it is used, as the owner's monitor
// would: the log from the backup's trusted checkpoint to the latest, which
// must be at most `max_age` old by `clock` (an error names the caller's
// `max_age_setting`, e.g. a flag); the account's history from the
// backup's version on; then every contact (one not checked now is checked
// by the next monitor). `own` and `verifier` are over the restored state.
// Returns the alerts the check raised (what changed while the backup was
// away). Errors, naming any alert: the log or the account could not be
// checked (a state restored unchecked is what a provider rolling back
// would want); DATA_LOSS if the account's history records a later backup
// than this one (UNEXPECTED_BACKUP: the provider withheld the latest, or
// its upload never completed), or no record of this one after the state
// it holds (a backup the account never recorded: forged by whoever holds
// the backup key, since the provider stores only recorded backups);
// UNAVAILABLE if the witnesses have not cosigned the log up to
// `record_version` yet (where the provider says the backup's record is:
// try again shortly). Nothing may be restored on an error.
absl::StatusOr<std::vector<Alert>> CheckRestoredState(
    ClientState* state, OwnAccount* own, ClientVerifier* verifier,
    const Clock& clock, absl::Duration max_age,
    absl::string_view max_age_setting, uint64_t record_version);

}  // namespace ktlog

#endif  // KTLOG_VERIFIER_TRUST_BACKUP_H_
