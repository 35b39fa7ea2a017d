// Backups: the log's store of each account's trust backup (docs/backup.md,
// "Storage"). The log cannot read a backup (it is sealed under secrets only
// the user holds, core/backup/backup.h); what it enforces is that the copy
// it keeps is the one the account's authority last named in the log:
//
//  - Put stores a sealed backup only if the record-backup record at
//    `record_version` of its account names exactly these bytes (its
//    version and SHA-256) and no later record-backup record follows it.
//    The authority signed that record, so nobody else can replace the copy
//    (an older backup, or another account's), and the copy always matches
//    the latest record the owner's restoring phone will check it against.
//  - Delete deletes it only if the record at `record_version` is a
//    record-backup record saying "deleted", again the latest.
//  - Get hands it to whoever holds the operator's backup-fetch credential
//    for the account (core/account/registration.h): a new phone whose owner
//    the operator's sign-in checked. A log without a registration key hands
//    it to anyone who names the account; its wraps then face offline
//    guessing by anyone (docs/backup.md).
//
// Puts and deletes run one at a time, so that two racing uploads cannot
// leave an older copy behind a newer record. Thread-safe.
#ifndef KTLOG_LOG_BACKUPS_H_
#define KTLOG_LOG_BACKUPS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "core/account/record.h"
#include "core/account/registration.h"
#include "core/backup/backup.h"
#include "core/util/clock.h"
#include "log/storage/log_storage.h"

namespace ktlog {

// How many of the account's records may follow the record a Put or Delete
// names before the log stops looking (the client makes a new backup).
inline constexpr size_t kMaxRecordsAfterBackup = 1000;

class Backups {
 public:
  // Borrows all. `registration`: the log's registration key, if it has one.
  Backups(LogReader* log, BackupStore* store,
          const std::optional<RegistrationKey>* registration,
          const Clock* clock)
      : log_(log), store_(store), registration_(registration), clock_(clock) {}

  // Stores `sealed`. Errors:
  //   INVALID_ARGUMENT     not a sealed backup (naming the part), or more
  //                        than kMaxStoredBackupBytes (core/backup/backup.h)
  //   FAILED_PRECONDITION  the record at `record_version` is not in the log,
  //                        is not a record-backup record naming these
  //                        bytes, or a later record-backup record follows
  //                        (each message says which)
  //   UNAVAILABLE          the store failed
  absl::Status Put(absl::string_view sealed, uint64_t record_version);
  // The sealed backup of `account_id`. UNAUTHENTICATED without a
  // credential on a log with a registration key; PERMISSION_DENIED for a
  // credential that is not a backup-fetch credential for the account (or
  // expired); NOT_FOUND if there is none; INVALID_ARGUMENT for a bad id;
  // FAILED_PRECONDITION if a later record-backup record follows the one
  // that named the stored copy (its upload never arrived: the restoring
  // phone would refuse the copy).
  //
  // Stored as u64 record version || sealed bytes (the record that named
  // it, to check that at Get).
  absl::StatusOr<FetchedBackup> Get(const std::string& account_id,
                                    absl::string_view credential);
  // Deletes the backup of `account_id`; errors as Put's (the record must
  // say "deleted"). OK if there was none.
  absl::Status Delete(const std::string& account_id, uint64_t record_version);

 private:
  // The backup named by the record-backup record at `record_version` of
  // `account_id`, checked to be the latest such record (Put's errors).
  absl::StatusOr<BackupRef> LatestRecorded(const std::string& account_id,
                                           uint64_t record_version);

  LogReader* const log_;
  BackupStore* const store_;
  const std::optional<RegistrationKey>* const registration_;
  const Clock* const clock_;
  absl::Mutex mu_;  // one Put or Delete at a time
};

}  // namespace ktlog

#endif  // KTLOG_LOG_BACKUPS_H_
