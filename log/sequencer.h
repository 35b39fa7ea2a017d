// Sequencer: the log's single writer. It takes validated records from any
// number of RPC threads, forms batches (group commit: up to max_batch_size
// records, or whatever arrived within batch_delay of the first), applies the
// account rules in order, updates the account index (O(k log n) for k
// changed accounts), appends the batch with everything derived from it to
// storage with one synced write, and then has the publisher sign a
// checkpoint over it. When no write
// arrives for checkpoint_interval it publishes a heartbeat checkpoint (same
// tree, new timestamp).
//
// Durability: Submit() returns a leaf index only after the batch holding the
// record is synced. A checkpoint is signed only over synced batches.
//
// Back-pressure: at most max_pending records wait; beyond that Submit()
// answers RESOURCE_EXHAUSTED at once instead of queueing.
//
// If storage fails, the sequencer stops accepting writes (UNAVAILABLE) and
// the operator must restart the server; nothing acknowledged is lost.
//
// Thread-safe.
#ifndef KTLOG_LOG_SEQUENCER_H_
#define KTLOG_LOG_SEQUENCER_H_

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/account/index_tree.h"
#include "core/account/record.h"
#include "core/merkle/compact_range.h"
#include "log/publisher.h"
#include "log/storage.h"

namespace ktlog {

struct SequencerOptions {
  size_t max_batch_size = 512;
  absl::Duration batch_delay = absl::Milliseconds(2);
  absl::Duration checkpoint_interval = absl::Seconds(1);
  size_t max_pending = 8192;
};

class Sequencer {
 public:
  // Loads the tree from storage, publishes a checkpoint if the stored tree
  // is larger than the latest checkpoint (or none exists yet), and starts the
  // sequencing thread. Borrows storage and publisher.
  static absl::StatusOr<std::unique_ptr<Sequencer>> Start(
      LogStorage* storage, CheckpointPublisher* publisher,
      const SequencerOptions& options);

  ~Sequencer();  // Stop()s.

  struct Appended {
    uint64_t leaf_index;
    Hash leaf_hash;
  };

  // Appends a record that DecodeRecord() accepted and whose signature
  // verified (`data` is its encoding). Blocks until the record is durable or
  // rejected, or `deadline` passes. Errors: those of ApplyRecord (account
  // rules); ALREADY_EXISTS if the same record is already in the log (the
  // message names its leaf index); RESOURCE_EXHAUSTED if too many writes are
  // pending; UNAVAILABLE if stopping or storage failed; DEADLINE_EXCEEDED if
  // the deadline passed first (the record may still be appended later).
  absl::StatusOr<Appended> Submit(const DeviceRecord& record, std::string data,
                                  absl::Time deadline);

  // Stops accepting writes, appends what is queued, publishes a final
  // checkpoint and joins the thread. Idempotent.
  void Stop();

 private:
  struct Pending;

  Sequencer(LogStorage* storage, CheckpointPublisher* publisher,
            const SequencerOptions& options, CompactRange range,
            Hash index_root);
  absl::Status PublishCurrent();
  // The latest state of an account (cached), or a new one.
  absl::StatusOr<AccountState> LatestAccount(const std::string& id);
  // Records a committed batch in the caches.
  void CacheCommitted(const StorageBatch& batch);
  void Run();
  // Takes the next batch from the queue, or returns empty when stopping with
  // an empty queue. Publishes heartbeats while idle.
  std::vector<std::shared_ptr<Pending>> NextBatch();
  void Process(std::vector<std::shared_ptr<Pending>> batch);
  void Fail(const absl::Status& status);

  LogStorage* const storage_;
  CheckpointPublisher* const publisher_;
  const SequencerOptions options_;
  // Only the sequencing thread touches these.
  CompactRange range_;
  Hash index_root_;
  // Caches of the latest version (correct because this thread is the only
  // writer): index nodes near the root, which every update reads, and
  // recently written accounts. Bounded; see sequencer.cc.
  std::map<IndexPath, IndexNode> index_cache_;
  std::unordered_map<std::string, AccountState> account_cache_;

  absl::Mutex mu_;
  std::deque<std::shared_ptr<Pending>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status failed_ ABSL_GUARDED_BY(mu_);
  absl::Time last_publish_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace ktlog

#endif  // KTLOG_LOG_SEQUENCER_H_
