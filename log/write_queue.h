// WriteQueue: where the RPC threads' writes wait to be sequenced. Any
// number of threads Submit(); one thread of the queue forms batches (group
// commit: up to max_batch_size writes, or whatever arrived within
// batch_delay of the first) and hands each to its BatchSink (the
// Integrator), then answers every writer with its outcome. When no write
// arrives for checkpoint_interval, it asks the sink for a heartbeat
// checkpoint. Tessera's batching queue, for ktlog.
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

namespace ktlog {

// How writes are sequenced (flags of ktlog-server).
struct SequencerOptions {
  size_t max_batch_size = 512;
  absl::Duration batch_delay = absl::Milliseconds(2);
  absl::Duration checkpoint_interval = absl::Seconds(1);
  size_t max_pending = 8192;
};

// A write waiting to be integrated.
struct PendingWrite {
  DeviceRecord record;  // decoded, signature verified
  std::string data;     // its canonical encoding
  Hash record_hash;     // SHA-256(data)
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
  // Whether a checkpoint over the batch was attempted (something was
  // appended), and if so whether it was signed: the records are durable
  // either way (the next start-up signs one).
  bool appended = false;
  absl::Status published;
};

// What the queue hands its batches to (the Integrator). Called from the
// queue's thread only.
class BatchSink {
 public:
  virtual ~BatchSink() = default;
  // See Integrator::Integrate. An error stops the queue.
  virtual absl::StatusOr<IntegratedBatch> Integrate(
      const std::vector<const PendingWrite*>& batch) = 0;
  // No write for the checkpoint interval: sign a heartbeat. An error stops
  // the queue.
  virtual absl::Status PublishCurrent() = 0;
  // The queue stopped and is empty: make sure a checkpoint covers the tree.
  virtual absl::Status PublishIfBehind() = 0;
};

class WriteQueue {
 public:
  // Starts the queue's thread. Borrows `sink`.
  WriteQueue(BatchSink* sink, const SequencerOptions& options);
  ~WriteQueue();  // Stop()s.

  // Appends a record that DecodeRecord() accepted and whose signature
  // verified (`data` is its encoding). Blocks until the record is durable or
  // refused, or `deadline` passes. Errors: the sink's outcome for the record
  // (account rules, ALREADY_EXISTS for a duplicate); RESOURCE_EXHAUSTED if
  // too many writes are pending; UNAVAILABLE if stopping or storage failed;
  // DEADLINE_EXCEEDED if the deadline passed first (the record may still be
  // appended later).
  absl::StatusOr<AppendedLeaf> Submit(const DeviceRecord& record,
                                      std::string data, absl::Time deadline);

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
  std::thread thread_;
};

}  // namespace ktlog

#endif  // KTLOG_LOG_WRITE_QUEUE_H_
