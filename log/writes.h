// LogWrites: the log's write API in core terms, with no gRPC. It checks a
// signed record as a write (decodes, operation, signature, timestamp within
// the skew of the log's clock), finds the account's position (evaluating
// the VRF for a new account, here in the caller's thread), queues it for
// sequencing, and, if asked, waits for the first checkpoint that covers it.
//
// Thread-safe.
#ifndef KTLOG_LOG_WRITES_H_
#define KTLOG_LOG_WRITES_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/account/record.h"
#include "core/account/registration.h"
#include "core/crypto/hash.h"
#include "core/util/clock.h"
#include "log/positions.h"
#include "log/publisher.h"
#include "log/write_queue.h"

namespace ktlog {

struct WriteAnswer {
  uint64_t leaf_index = 0;
  Hash leaf_hash;
  std::string checkpoint_note;  // when asked to wait for it
};

class LogWrites {
 public:
  // Borrows everything. Records whose timestamp is further than
  // `max_record_skew` from the clock are refused. With a `registration`
  // key, an account's first record needs its registration credential.
  LogWrites(WriteQueue* queue, const CheckpointPublisher* publisher,
            const Positions* positions, const Clock* clock,
            absl::Duration max_record_skew,
            std::optional<RegistrationKey> registration)
      : queue_(queue),
        publisher_(publisher),
        positions_(positions),
        clock_(clock),
        max_record_skew_(max_record_skew),
        registration_(std::move(registration)) {}

  // Appends `record_bytes`, which must be a record of operation `expected`,
  // once it is durable (and covered by a checkpoint, with
  // `wait_for_checkpoint`), or until `deadline`. Errors (docs/api.md):
  // INVALID_ARGUMENT for an empty or malformed record, another operation, a
  // signature that does not verify; for a first record (version 1) on a log
  // that requires registration, UNAUTHENTICATED without
  // `registration_credential` and PERMISSION_DENIED for one that is not the
  // account id's (checked before anything else is spent on it);
  // FAILED_PRECONDITION for a timestamp
  // outside the skew; the WriteQueue's errors (account rules, duplicates,
  // back-pressure, shutdown); DEADLINE_EXCEEDED if no checkpoint covered
  // the record in time (it is durable nonetheless).
  absl::StatusOr<WriteAnswer> Append(const std::string& record_bytes,
                                     Operation expected,
                                     absl::string_view registration_credential,
                                     bool wait_for_checkpoint,
                                     absl::Time deadline);

 private:
  // The record, if it is acceptable as a write of `expected`.
  absl::StatusOr<DeviceRecord> Check(const std::string& record_bytes,
                                     Operation expected,
                                     absl::string_view credential) const;

  WriteQueue* const queue_;
  const CheckpointPublisher* const publisher_;
  const Positions* const positions_;
  const Clock* const clock_;
  const absl::Duration max_record_skew_;
  const std::optional<RegistrationKey> registration_;
};

}  // namespace ktlog

#endif  // KTLOG_LOG_WRITES_H_
