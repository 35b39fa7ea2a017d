// LogWrites: the log's write API in core terms, with no gRPC. It checks
// each signed record as a write (decodes, operation, signature, timestamp
// within the skew of the log's clock), finds the account's position
// (evaluating the VRF for a new account, here in the caller's thread),
// queues the records for sequencing together, and, if asked, waits for the
// first checkpoint that covers them.
//
// Thread-safe.
#ifndef KTLOG_LOG_WRITES_H_
#define KTLOG_LOG_WRITES_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/account/answers.h"
#include "core/account/record.h"
#include "core/account/registration.h"
#include "core/crypto/hash.h"
#include "core/util/clock.h"
#include "log/positions.h"
#include "log/publisher.h"
#include "log/write_queue.h"

namespace ktlog {

// OK for a call of 1 to kMaxRecordsPerAppend records
// (core/account/record.h), else INVALID_ARGUMENT saying so.
absl::Status CheckRecordCount(size_t n);

// A record to append: its canonical signed encoding and, for an account's
// first record on a log that requires registration, its credential (for a
// reset-account record, the reset credential).
struct RecordToAppend {
  absl::string_view record;
  absl::string_view registration_credential;
};

// An erasure on request: its erasure leaf, whose version is one more than
// the account's last, and the checkpoint that covers it.
struct ErasureAnswer {
  AppendedLeaf leaf;
  uint64_t version = 0;
  std::string checkpoint_note;
};

// What became of records appended together.
struct AppendAllAnswer {
  // One per record, in order: its leaf, or why it was refused (Append's
  // per-record errors).
  std::vector<absl::StatusOr<AppendedLeaf>> outcomes;
  // When asked to wait for it and a record was appended: the first
  // checkpoint that covers every appended record, or "" if none did before
  // the deadline (the records are durable nonetheless).
  std::string checkpoint_note;
};

class LogWrites {
 public:
  // Borrows everything. Records whose timestamp is further than
  // `max_record_skew` from the clock are refused. With a `registration`
  // key, an account's first record needs its registration credential.
  // Security-key sets must be for `rp_id`, the log's relying party id
  // (RpIdForOrigin of its origin).
  LogWrites(WriteQueue* queue, const CheckpointPublisher* publisher,
            const Positions* positions, const Clock* clock,
            absl::Duration max_record_skew,
            std::optional<RegistrationKey> registration, std::string rp_id,
            LogWriter* storage)
      : queue_(queue),
        publisher_(publisher),
        positions_(positions),
        clock_(clock),
        max_record_skew_(max_record_skew),
        registration_(std::move(registration)),
        rp_id_(std::move(rp_id)),
        storage_(storage) {}

  // Appends `record_bytes`, which must be a record of operation `expected`,
  // once it is durable (and covered by a checkpoint, with
  // `wait_for_checkpoint`), or until `deadline`. Errors (docs/api.md):
  // INVALID_ARGUMENT for an empty or malformed record, another operation, a
  // signature that does not verify, a security-key set for another relying
  // party; for a first record (version 1) on a log
  // that requires registration, UNAUTHENTICATED without
  // `registration_credential` and PERMISSION_DENIED for one that is not for
  // the record's account id and account key, or expired (checked before
  // anything else is spent on it); for a reset-account record, the same
  // with a reset credential for its new key, and FAILED_PRECONDITION on a
  // log without a registration key (nobody could be told from the owner);
  // FAILED_PRECONDITION for a timestamp
  // outside the skew; the WriteQueue's errors (account rules, duplicates,
  // back-pressure, shutdown); DEADLINE_EXCEEDED if no checkpoint covered
  // the record in time (it is durable nonetheless).
  absl::StatusOr<WriteAnswer> Append(const std::string& record_bytes,
                                     Operation expected,
                                     absl::string_view registration_credential,
                                     bool wait_for_checkpoint,
                                     absl::Time deadline);

  // Appends `records`, of any operations, as Append() appends one: each is
  // checked on its own, the acceptable ones are queued together (one
  // account's records in their order here), and one VRF evaluation serves
  // a new account's records. The outcomes are per record, and a checkpoint
  // that did not come in time leaves checkpoint_note empty. The call's own
  // errors: CheckRecordCount's; the WriteQueue's refusals of the whole call
  // (back-pressure, shutdown, storage failure: nothing was queued).
  absl::StatusOr<AppendAllAnswer> AppendAll(
      const std::vector<RecordToAppend>& records, bool wait_for_checkpoint,
      absl::Time deadline);

  // Erases `account_id` on request (docs/operations.md, "Erasure"), with
  // the operator's erasure credential for it (core/account/registration.h):
  // queues its erasure (PendingWrite::erasure), purges the data dir
  // (LogWriter::Purge) once it is durable, then waits until a signed
  // checkpoint covers the erasure leaf (or `deadline`). FAILED_PRECONDITION on
  // a log without a registration key (erase with ktlog-admin erase then);
  // UNAUTHENTICATED without a credential, PERMISSION_DENIED for one that
  // is malformed, another account's or expired; INVALID_ARGUMENT for a
  // malformed id; NOT_FOUND if the account is not in the log (never
  // written, or erased already); the queue's errors; DEADLINE_EXCEEDED if
  // no checkpoint came in time (the erasure is done); UNAVAILABLE if
  // storage failed (a purge owed is done at the next start).
  absl::StatusOr<ErasureAnswer> Erase(const std::string& account_id,
                                      absl::string_view credential,
                                      absl::Time deadline);

 private:
  // The record, if it is acceptable as a write (of `expected`, if set).
  absl::StatusOr<DeviceRecord> Check(absl::string_view record_bytes,
                                     std::optional<Operation> expected,
                                     absl::string_view credential) const;
  // Appends `records` (of `expected`, if set): see AppendAll.
  absl::StatusOr<AppendAllAnswer> AppendChecked(
      const std::vector<RecordToAppend>& records,
      std::optional<Operation> expected, bool wait_for_checkpoint,
      absl::Time deadline);
  // The position to queue `record` with (PendingWrite::position): from
  // `known` (this call's), stored, or for a first record computed; adds
  // it to `known`. Storage and VRF errors pass through.
  absl::StatusOr<std::optional<AccountPosition>> PositionFor(
      const DeviceRecord& record,
      absl::flat_hash_map<std::string, std::optional<AccountPosition>>* known)
      const;
  // The writes to queue for `records` (of `expected`, if set): those that
  // pass Check(), with their positions, each at records[(*queued_at)[i]];
  // sets (*outcomes)[i] for the others.
  std::vector<PendingWrite> Checked(
      const std::vector<RecordToAppend>& records,
      std::optional<Operation> expected,
      std::vector<absl::StatusOr<AppendedLeaf>>* outcomes,
      std::vector<size_t>* queued_at) const;

  WriteQueue* const queue_;
  const CheckpointPublisher* const publisher_;
  const Positions* const positions_;
  const Clock* const clock_;
  const absl::Duration max_record_skew_;
  const std::optional<RegistrationKey> registration_;
  const std::string rp_id_;
  LogWriter* const storage_;
};

}  // namespace ktlog

#endif  // KTLOG_LOG_WRITES_H_
