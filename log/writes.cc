#include "log/writes.h"

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "core/account/leaf.h"
#include "core/util/status_macros.h"

namespace ktlog {

absl::StatusOr<DeviceRecord> LogWrites::Check(
    absl::string_view record_bytes, std::optional<Operation> expected,
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
  if (expected.has_value() && record->operation != *expected) {
    return absl::InvalidArgumentError(
        absl::StrCat("this call takes ", OperationName(*expected),
                     " records, not ", OperationName(record->operation)));
  }
  uint64_t now = clock_->NowMillis();
  if (record->operation == Operation::kResetAccount) {
    if (!registration_.has_value()) {
      return absl::FailedPreconditionError(
          "this log takes no account resets: it has no registration key, so "
          "it cannot tell the account's owner from anyone else");
    }
    RETURN_IF_ERROR(registration_->Check(record->account_id, record->key,
                                         credential, now / 1000,
                                         CredentialPurpose::kReset));
  } else if (registration_.has_value() && record->account_version == 1) {
    RETURN_IF_ERROR(registration_->Check(
        record->account_id, record->account_key, credential, now / 1000));
  }
  RETURN_IF_ERROR(record->VerifySignature());
  if (record->operation == Operation::kSetSecurityKeys) {
    absl::string_view rp_id = SecurityKeySetRpId(record->key);
    if (rp_id != rp_id_) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the security keys are for the relying party \"", rp_id,
          "\"; this log's is \"", rp_id_, "\" (make them with that rp id)"));
    }
  }
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

absl::StatusOr<ErasureAnswer> LogWrites::Erase(const std::string& account_id,
                                               absl::string_view credential,
                                               absl::Time deadline) {
  if (!registration_.has_value()) {
    return absl::FailedPreconditionError(
        "this log takes no erasure requests over the API: it has no "
        "registration key to check an erasure credential with; stop the "
        "server and run ktlog-admin erase on its data dir");
  }
  RETURN_IF_ERROR(ValidateAccountId(account_id));
  if (credential.size() > kRegistrationCredentialSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("the erasure credential is longer than ",
                     kRegistrationCredentialSize, " characters"));
  }
  RETURN_IF_ERROR(registration_->Check(account_id, "", credential,
                                       clock_->NowMillis() / 1000,
                                       CredentialPurpose::kErase));
  ASSIGN_OR_RETURN(std::optional<AccountPosition> position,
                   positions_->Stored(account_id));
  if (!position.has_value()) {
    return absl::NotFoundError(
        "the account is not in this log (never written, or erased already)");
  }
  PendingWrite erasure;
  erasure.record.account_id = account_id;
  erasure.position = std::move(position);
  erasure.erasure = true;
  std::vector<PendingWrite> writes;
  writes.push_back(std::move(erasure));
  ASSIGN_OR_RETURN(std::vector<absl::StatusOr<AppendedLeaf>> outcomes,
                   queue_->Submit(std::move(writes), deadline));
  ErasureAnswer out;
  ASSIGN_OR_RETURN(out.leaf, std::move(outcomes[0]));
  ASSIGN_OR_RETURN(
      std::vector<std::string> leaf,
      storage_->ReadLeaves(out.leaf.leaf_index, out.leaf.leaf_index + 1));
  ASSIGN_OR_RETURN(Leaf decoded, DecodeLeaf(leaf[0]));
  out.version = decoded.version;
  RETURN_IF_ERROR(storage_->Purge());
  std::shared_ptr<const PublishedCheckpoint> cp =
      publisher_->WaitForSize(out.leaf.leaf_index + 1, deadline);
  if (cp == nullptr || cp->checkpoint.size <= out.leaf.leaf_index) {
    return absl::DeadlineExceededError(absl::StrCat(
        "the account is erased and the data dir compacted, but no checkpoint "
        "covered the erasure leaf (index ",
        out.leaf.leaf_index, ") before the deadline"));
  }
  out.checkpoint_note = cp->note;
  return out;
}

absl::StatusOr<std::optional<AccountPosition>> LogWrites::PositionFor(
    const DeviceRecord& record,
    absl::flat_hash_map<std::string, std::optional<AccountPosition>>* known)
    const {
  auto [it, added] = known->try_emplace(record.account_id);
  if (added) {
    absl::StatusOr<std::optional<AccountPosition>> stored =
        positions_->Stored(record.account_id);
    if (!stored.ok()) {
      known->erase(it);
      return stored.status();
    }
    it->second = *std::move(stored);
  }
  if (it->second.has_value() || record.account_version != 1 ||
      record.operation != Operation::kAddDevice) {
    return it->second;
  }
  // Only a record that may create the account (an add-device of version 1;
  // with registration, its credential checked) evaluates the VRF.
  absl::StatusOr<AccountPosition> computed = positions_->Of(record.account_id);
  if (!computed.ok()) return computed.status();
  it->second = *std::move(computed);
  return it->second;
}

absl::Status CheckRecordCount(size_t n) {
  if (n >= 1 && n <= kMaxRecordsPerAppend) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "a call appends 1 to ", kMaxRecordsPerAppend, " records, not ", n));
}

absl::StatusOr<WriteAnswer> LogWrites::Append(const std::string& record_bytes,
                                              Operation expected,
                                              absl::string_view credential,
                                              bool wait_for_checkpoint,
                                              absl::Time deadline) {
  ASSIGN_OR_RETURN(AppendAllAnswer all,
                   AppendChecked({RecordToAppend{record_bytes, credential}},
                                 expected, wait_for_checkpoint, deadline));
  ASSIGN_OR_RETURN(AppendedLeaf appended, std::move(all.outcomes[0]));
  if (wait_for_checkpoint && all.checkpoint_note.empty()) {
    return absl::DeadlineExceededError(absl::StrCat(
        "the record is durable at leaf index ", appended.leaf_index,
        " but no checkpoint covered it before the deadline"));
  }
  return WriteAnswer{appended.leaf_index, appended.leaf_hash,
                     std::move(all.checkpoint_note)};
}

absl::StatusOr<AppendAllAnswer> LogWrites::AppendAll(
    const std::vector<RecordToAppend>& records, bool wait_for_checkpoint,
    absl::Time deadline) {
  RETURN_IF_ERROR(CheckRecordCount(records.size()));
  return AppendChecked(records, std::nullopt, wait_for_checkpoint, deadline);
}

std::vector<PendingWrite> LogWrites::Checked(
    const std::vector<RecordToAppend>& records,
    std::optional<Operation> expected,
    std::vector<absl::StatusOr<AppendedLeaf>>* outcomes,
    std::vector<size_t>* queued_at) const {
  std::vector<PendingWrite> queued;
  // Positions known in this call, by account (nullopt: none stored).
  absl::flat_hash_map<std::string, std::optional<AccountPosition>> positions;
  for (size_t i = 0; i < records.size(); ++i) {
    absl::StatusOr<DeviceRecord> record =
        Check(records[i].record, expected, records[i].registration_credential);
    if (!record.ok()) {
      (*outcomes)[i] = record.status();
      continue;
    }
    absl::StatusOr<std::optional<AccountPosition>> position =
        PositionFor(*record, &positions);
    if (!position.ok()) {
      (*outcomes)[i] = position.status();
      continue;
    }
    queued.push_back(PendingWrite{*std::move(record),
                                  std::string(records[i].record), Hash(),
                                  *std::move(position)});
    queued_at->push_back(i);
  }
  return queued;
}

absl::StatusOr<AppendAllAnswer> LogWrites::AppendChecked(
    const std::vector<RecordToAppend>& records,
    std::optional<Operation> expected, bool wait_for_checkpoint,
    absl::Time deadline) {
  AppendAllAnswer out;
  out.outcomes.resize(records.size());
  std::vector<size_t> queued_at;
  std::vector<PendingWrite> queued =
      Checked(records, expected, &out.outcomes, &queued_at);
  if (queued.empty()) return out;
  ASSIGN_OR_RETURN(std::vector<absl::StatusOr<AppendedLeaf>> sequenced,
                   queue_->Submit(std::move(queued), deadline));
  std::optional<uint64_t> last;  // the largest appended leaf index
  for (size_t i = 0; i < sequenced.size(); ++i) {
    if (sequenced[i].ok()) {
      last = std::max(last.value_or(0), sequenced[i]->leaf_index);
    }
    out.outcomes[queued_at[i]] = std::move(sequenced[i]);
  }
  if (!wait_for_checkpoint || !last.has_value()) return out;
  std::shared_ptr<const PublishedCheckpoint> cp =
      publisher_->WaitForSize(*last + 1, deadline);
  if (cp != nullptr && cp->checkpoint.size > *last) {
    out.checkpoint_note = cp->note;
  }
  return out;
}

}  // namespace ktlog
