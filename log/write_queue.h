// WriteQueue: where the RPC threads' writes wait to be sequenced. Any
// number of threads Submit() writes; one thread of the queue forms batches
// (group commit: up to max_batch_size writes, or whatever arrived within
// batch_delay of the first) and hands each to its BatchSink (the
// Integrator), then answers every writer with its outcome (its leaf is
// durable then). Checkpoints are paced: the sink signs one over what was
// appended at most every checkpoint_pace (under load one signature and
// one synced write serve many batches, and a leaf is covered within about
// the pace); when no write arrives for checkpoint_interval, it signs a
// heartbeat. Tessera's batching queue, for ktlog.
//
// Back-pressure: at most max_pending writes wait; beyond that Submit()
// answers RESOURCE_EXHAUSTED at once instead of queueing.
//
// If the sink fails (storage), the queue stops accepting writes
// (UNAVAILABLE) and the operator must restart the server; nothing
// acknowledged is lost.
//
// Thread-safe.
#ifndef KTLOG_LOG_WRITE_QUEUE_H_
#define KTLOG_LOG_WRITE_QUEUE_H_

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/account/record.h"
#include "core/crypto/hash.h"
#include "core/util/metrics.h"
#include "log/storage/log_storage.h"

namespace ktlog {

// How writes are sequenced (flags of ktlog-server).
struct SequencerOptions {
  size_t max_batch_size = 512;
  absl::Duration batch_delay = absl::Milliseconds(2);
  absl::Duration checkpoint_interval = absl::Seconds(1);
  // At most one checkpoint per this long while writes arrive (0: one per
  // batch).
  absl::Duration checkpoint_pace = absl::Milliseconds(100);
  size_t max_pending = 8192;
};

// A write waiting to be integrated.
struct PendingWrite {
  DeviceRecord record;  // decoded, signature verified
  std::string data;     // its canonical encoding
  Hash record_hash;     // SHA-256(data)
  // The account's position and VRF proof (log/positions.h), computed
  // before queueing so that the integrator never evaluates the VRF: for a
  // record that may create the account (an add-device of version 1), the
  // stored or a computed one; for any other, the stored one if any (none: the
  // account does not exist, or is being created by a write queued before this
  // one, which brings its position). Later records never evaluate the VRF, so
  // that a refused write takes as long whether or not the account exists.
  std::optional<AccountPosition> position;
  // An erasure on request of record.account_id (nothing else of the record
  // is set, data is empty, position is the stored one): the integrator
  // appends its erasure leaf (docs/operations.md, "Erasure").
  bool erasure = false;
};

// Where a record was appended: its public leaf.
struct AppendedLeaf {
  uint64_t leaf_index = 0;
  Hash leaf_hash;  // RFC 9162 hash of the public leaf
};

// What became of one batch.
struct IntegratedBatch {
  // Per write, in order: its leaf, or why it was refused (the account
  // rules' errors; ALREADY_EXISTS for a duplicate, naming its leaf index).
  std::vector<absl::StatusOr<AppendedLeaf>> outcomes;
  // Whether anything was appended (and so a checkpoint is due).
  bool appended = false;
};

// What the queue hands its batches to (the Integrator). Called from the
// queue's thread only.
class BatchSink {
 public:
  virtual ~BatchSink() = default;
  // See Integrator::Integrate (appends durably; signs nothing). An error
  // stops the queue.
  virtual absl::StatusOr<IntegratedBatch> Integrate(
      const std::vector<const PendingWrite*>& batch) = 0;
  // No write for the checkpoint interval: sign a heartbeat. An error stops
  // the queue.
  virtual absl::Status PublishCurrent() = 0;
  // Sign a checkpoint if the latest does not cover the whole tree (a paced
  // checkpoint is due, or the queue stopped). An error stops the queue.
  virtual absl::Status PublishIfBehind() = 0;
};

class WriteQueue {
 public:
  // Starts the queue's thread. Borrows `sink` and `metrics` (null: counts
  // nowhere), where it keeps the queue depth, the records per batch and
  // each appended record's wait from Submit until a signed checkpoint
  // covers it (docs/operations.md, "Metrics").
  WriteQueue(BatchSink* sink, const SequencerOptions& options,
             MetricsRegistry* metrics = nullptr);
  ~WriteQueue();  // Stop()s.

  // Queues `writes` together, in order (so one account's records keep
  // their order), each a record that DecodeRecord() accepted and whose
  // signature verified, with its encoding and position (record_hash is
  // filled in here). Blocks until each is durable or refused, or `deadline`
  // passes. One outcome per write, in order: the sink's outcome for it
  // (account rules, ALREADY_EXISTS for a duplicate); DEADLINE_EXCEEDED if
  // the deadline passed first (it may still be appended later). If the
  // queue cannot take them all, none is queued and the call fails:
  // RESOURCE_EXHAUSTED if more than max_pending writes would be pending
  // (or the call alone is more than max_pending); UNAVAILABLE if stopping
  // or storage failed.
  absl::StatusOr<std::vector<absl::StatusOr<AppendedLeaf>>> Submit(
      std::vector<PendingWrite> writes, absl::Time deadline);

  // Stops accepting writes, hands what is queued to the sink, has it
  // publish a final checkpoint and joins the thread. Idempotent.
  void Stop();

 private:
  struct Pending;

  void Run();
  // The next batch, or empty when stopping with an empty queue. Asks for
  // heartbeats while idle.
  std::vector<std::shared_ptr<Pending>> NextBatch();
  // Integrates `batch` and answers its writers.
  void Process(const std::vector<std::shared_ptr<Pending>>& batch);
  // Signs a checkpoint over what was appended if the pace allows it now.
  void PublishIfDue(bool force);
  // A checkpoint over everything appended was signed just now.
  void Published();
  // Stops the queue for good after a sink failure.
  void Fail(const absl::Status& status);
  bool failed();

  BatchSink* const sink_;
  const SequencerOptions options_;

  absl::Mutex mu_;
  std::deque<std::shared_ptr<Pending>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status failed_ ABSL_GUARDED_BY(mu_);
  absl::Time last_publish_ ABSL_GUARDED_BY(mu_);
  bool unpublished_ ABSL_GUARDED_BY(mu_) = false;  // appended, not signed
  Gauge* const depth_;
  Histogram* const batch_records_;
  Histogram* const to_checkpoint_;
  // When each record appended since the latest checkpoint was submitted
  // (the queue's thread only).
  std::vector<absl::Time> unpublished_since_;
  std::thread thread_;
};

}  // namespace ktlog

#endif  // KTLOG_LOG_WRITE_QUEUE_H_
