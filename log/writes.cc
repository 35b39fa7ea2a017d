#include "log/writes.h"

#include "absl/strings/str_cat.h"
#include "core/util/status_macros.h"

namespace ktlog {

absl::StatusOr<DeviceRecord> LogWrites::Check(
    const std::string& record_bytes, Operation expected,
    absl::string_view credential) const {
  if (record_bytes.empty()) {
    return absl::InvalidArgumentError("record is empty");
  }
  if (credential.size() > kRegistrationCredentialSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("the registration credential is longer than ",
                     kRegistrationCredentialSize, " characters"));
  }
  absl::StatusOr<DeviceRecord> record = DecodeRecord(record_bytes);
  if (!record.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed record: ", record.status().message()));
  }
  if (record->operation != expected) {
    return absl::InvalidArgumentError(
        absl::StrCat("this call takes ", OperationName(expected),
                     " records, not ", OperationName(record->operation)));
  }
  if (registration_.has_value() && record->account_version == 1) {
    RETURN_IF_ERROR(registration_->Check(record->account_id, credential));
  }
  RETURN_IF_ERROR(record->VerifySignature());
  uint64_t now = clock_->NowMillis();
  uint64_t skew = absl::ToInt64Milliseconds(max_record_skew_);
  uint64_t ts = record->timestamp_ms;
  if (ts > now + skew || ts + skew < now) {
    return absl::FailedPreconditionError(absl::StrCat(
        "record timestamp ", ts, " is more than ",
        absl::FormatDuration(max_record_skew_), " away from the log's clock (",
        now, "); check the device clock and sign a fresh record"));
  }
  return record;
}

absl::StatusOr<WriteAnswer> LogWrites::Append(const std::string& record_bytes,
                                              Operation expected,
                                              absl::string_view credential,
                                              bool wait_for_checkpoint,
                                              absl::Time deadline) {
  ASSIGN_OR_RETURN(DeviceRecord record,
                   Check(record_bytes, expected, credential));
  ASSIGN_OR_RETURN(AccountPosition position, positions_->Of(record.account_id));
  ASSIGN_OR_RETURN(AppendedLeaf appended,
                   queue_->Submit(record, record_bytes, position, deadline));
  WriteAnswer out{appended.leaf_index, appended.leaf_hash, ""};
  if (!wait_for_checkpoint) return out;
  std::shared_ptr<const PublishedCheckpoint> cp =
      publisher_->WaitForSize(appended.leaf_index + 1, deadline);
  if (cp == nullptr || cp->checkpoint.size <= appended.leaf_index) {
    return absl::DeadlineExceededError(absl::StrCat(
        "the record is durable at leaf index ", appended.leaf_index,
        " but no checkpoint covered it before the deadline"));
  }
  out.checkpoint_note = cp->note;
  return out;
}

}  // namespace ktlog
