#include "log/backups.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "core/backup/backup.h"
#include "core/crypto/hash.h"
#include "core/util/bytes.h"
#include "core/util/status_macros.h"

namespace ktlog {

absl::StatusOr<BackupRef> Backups::LatestRecorded(const std::string& account_id,
                                                  uint64_t record_version) {
  if (record_version == 0) {
    return absl::InvalidArgumentError(
        "record_version: the account version of the record-backup record "
        "that names the backup is required");
  }
  ASSIGN_OR_RETURN(std::vector<HistoryEntry> history,
                   log_->ReadHistory(account_id, record_version, log_->size(),
                                     kMaxRecordsAfterBackup + 1));
  if (history.empty() || history[0].version != record_version) {
    return absl::FailedPreconditionError(
        absl::StrCat("the log has no record of version ", record_version,
                     " of this account: append the record-backup record first "
                     "(RecordBackup)"));
  }
  if (history.size() > kMaxRecordsAfterBackup) {
    return absl::FailedPreconditionError(absl::StrCat(
        "more than ", kMaxRecordsAfterBackup, " records follow version ",
        record_version, ": record a new backup"));
  }
  std::optional<BackupRef> named;
  for (const HistoryEntry& h : history) {
    ASSIGN_OR_RETURN(PrivateEntry entry, log_->ReadEntry(h.leaf_index));
    absl::StatusOr<DeviceRecord> record = DecodeRecord(entry.record);
    if (!record.ok()) {
      return absl::DataLossError(absl::StrCat("the stored record at leaf ",
                                              h.leaf_index, " is malformed"));
    }
    if (record->operation != Operation::kRecordBackup) {
      if (!named.has_value()) {
        return absl::FailedPreconditionError(
            absl::StrCat("the record of version ", record_version, " is a ",
                         OperationName(record->operation),
                         " record, not a record-backup record"));
      }
      continue;
    }
    if (named.has_value()) {
      return absl::FailedPreconditionError(
          absl::StrCat("a later record-backup record (version ", h.version,
                       ") follows the one of version ", record_version,
                       ": only the backup the latest one names is stored"));
    }
    ASSIGN_OR_RETURN(named, DecodeBackupRef(record->key));
  }
  return *named;
}

absl::Status Backups::Put(absl::string_view sealed, uint64_t record_version) {
  if (sealed.size() > kMaxStoredBackupBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the backup is ", sealed.size(), " bytes; this log stores at most ",
        kMaxStoredBackupBytes, " (about a few hundred contacts)"));
  }
  ASSIGN_OR_RETURN(SealedBackup backup, SealedBackup::Decode(sealed));
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(BackupRef ref,
                   LatestRecorded(backup.account_id, record_version));
  if (ref.deleted()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the record of version ", record_version,
                     " says the backup was deleted; record this backup first"));
  }
  if (ref.version != backup.version || ref.hash != Sha256(sealed)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the record of version ", record_version, " names backup version ",
        ref.version, " with SHA-256 ", ref.hash.ToHex().substr(0, 16),
        "…, not this backup (version ", backup.version, ", SHA-256 ",
        Sha256(sealed).ToHex().substr(0, 16), "…)"));
  }
  std::string stored;
  AppendBigEndian(record_version, 8, &stored);
  absl::StrAppend(&stored, sealed);
  return store_->WriteBackup(backup.account_id, stored);
}

absl::Status Backups::Delete(const std::string& account_id,
                             uint64_t record_version) {
  RETURN_IF_ERROR(ValidateAccountId(account_id));
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(BackupRef ref, LatestRecorded(account_id, record_version));
  if (!ref.deleted()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the record of version ", record_version, " names a backup (version ",
        ref.version,
        "); record the deletion first (a record-backup record with a zero "
        "hash)"));
  }
  return store_->DeleteBackup(account_id);
}

absl::StatusOr<FetchedBackup> Backups::Get(const std::string& account_id,
                                           absl::string_view credential) {
  RETURN_IF_ERROR(ValidateAccountId(account_id));
  if (registration_->has_value()) {
    RETURN_IF_ERROR((*registration_)
                        ->Check(account_id, "", credential,
                                clock_->NowMillis() / 1000,
                                CredentialPurpose::kFetchBackup));
  }
  ASSIGN_OR_RETURN(std::optional<std::string> stored,
                   store_->ReadBackup(account_id));
  if (!stored.has_value()) {
    return absl::NotFoundError(
        "this log holds no trust backup for the account");
  }
  if (stored->size() < 8) {
    return absl::DataLossError("the stored backup is malformed");
  }
  // An honest log says when its copy is not the latest the history names
  // (the upload of a later one never arrived), rather than hand over a
  // copy the restoring phone will refuse.
  const uint64_t record_version = ReadBigEndian(*stored, 8);
  absl::Status latest = LatestRecorded(account_id, record_version).status();
  if (absl::IsFailedPrecondition(latest)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "this log's copy of the account's trust backup is not the one its "
        "history's latest record-backup record names (",
        latest.message(),
        "): the upload of a later backup, or a deletion, never arrived, and "
        "a restoring phone would refuse this copy; the old phone's next "
        "backup sends it"));
  }
  RETURN_IF_ERROR(latest);
  return FetchedBackup{stored->substr(8), record_version};
}

}  // namespace ktlog
