// CheckpointPublisher: signs, persists and publishes the log's checkpoints.
//
// Invariants (docs/protocol.md, "Checkpoints"):
//  - every checkpoint it signs is consistent with the one it signed before:
//    the size never shrinks, an equal size has equal roots (tree and index),
//    and a larger size must pass an RFC 9162 consistency proof computed
//    from storage against the previous root (a last line of defence against
//    bugs);
//  - timestamps never decrease;
//  - a checkpoint is persisted (synced) before anyone can read it.
//
// Thread-safe. Publish() is called by one thread (the sequencer); any thread
// may read and wait.
#ifndef KTLOG_LOG_PUBLISHER_H_
#define KTLOG_LOG_PUBLISHER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/note/checkpoint.h"
#include "core/note/note.h"
#include "core/note/succession.h"
#include "core/util/clock.h"
#include "log/storage/log_storage.h"

namespace ktlog {

struct PublishedCheckpoint {
  uint64_t sequence = 0;  // 1 for the first published in this process
  LogCheckpoint checkpoint;
  std::string note;
};

class CheckpointPublisher {
 public:
  // Borrows all three, which must outlive the publisher. Restores the latest
  // checkpoint from storage after checking that it is signed by `signer`
  // and that storage still holds the tree it covers. DATA_LOSS if not (the
  // server must not start: it could sign an inconsistent checkpoint).
  static absl::StatusOr<std::unique_ptr<CheckpointPublisher>> Create(
      LogWriter* storage, const NoteSigner* signer, const Clock* clock);
  // A read replica's (log/follower.h): it signs nothing (Publish is
  // INTERNAL) and adopts the checkpoints its log signed with `key`.
  static absl::StatusOr<std::unique_ptr<CheckpointPublisher>> CreateReplica(
      LogWriter* storage, NoteVerifierKey key, const Clock* clock);

  // Signs a checkpoint of (size, root, index_root), persists it and makes
  // it the latest. Requires size <= storage->size(). INTERNAL (and nothing
  // is signed) if it would be inconsistent with the latest one; UNAVAILABLE
  // if it could not be persisted.
  absl::Status Publish(uint64_t size, const Hash& root, const Hash& index_root);

  // A replica's: makes `note`, signed by the log's key, the latest, if it
  // is newer than the latest (else false, and nothing changes), after
  // checking that storage holds its tree and index root and that it
  // follows the latest (DATA_LOSS if not); persisted (synced) first.
  absl::StatusOr<bool> Adopt(const std::string& note);

  // A replica's: the largest tree size its log was seen signing (by its
  // follower), which a read may wait for; 0 before. WaitForLogSize waits
  // until it is at least `min_size` (or Stop, or `deadline`) and returns
  // it.
  void SawLogSize(uint64_t size);
  uint64_t WaitForLogSize(uint64_t min_size, absl::Time deadline) const;

  // `note` opened with the log's key, if storage holds the tree and index
  // root it signs (DATA_LOSS if not, or if it does not verify).
  absl::StatusOr<LogCheckpoint> OpenStored(const std::string& note) const;

  // The latest checkpoint, or nullptr if none was ever signed.
  std::shared_ptr<const PublishedCheckpoint> Latest() const;

  // Waits until a checkpoint with sequence > `after_sequence` (or with
  // size >= min_size, for WaitForSize) is published, `deadline` passes or
  // Stop() is called; returns the latest (maybe nullptr).
  std::shared_ptr<const PublishedCheckpoint> WaitForNewer(
      uint64_t after_sequence, absl::Time deadline) const;
  std::shared_ptr<const PublishedCheckpoint> WaitForSize(
      uint64_t min_size, absl::Time deadline) const;

  // Wakes all waiters; later waits return at once.
  void Stop();
  bool stopped() const;

 private:
  static absl::StatusOr<std::unique_ptr<CheckpointPublisher>> Open(
      LogWriter* storage, NoteVerifierKey key, const NoteSigner* signer,
      const Clock* clock);
  CheckpointPublisher(LogWriter* storage, NoteVerifierKey key,
                      const NoteSigner* signer, const Clock* clock,
                      std::shared_ptr<const PublishedCheckpoint> latest);

  // CheckSuccession with proofs from storage.
  absl::StatusOr<SuccessionCheck> Succeeds(const LogCheckpoint& previous,
                                           const LogCheckpoint& next);
  absl::Status CheckConsistent(const LogCheckpoint& previous,
                               const LogCheckpoint& next);

  LogWriter* const storage_;
  const NoteVerifierKey key_;
  const NoteSigner* const signer_;  // null in a replica
  const Clock* const clock_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const PublishedCheckpoint> latest_ ABSL_GUARDED_BY(mu_);
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t log_size_seen_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace ktlog

#endif  // KTLOG_LOG_PUBLISHER_H_
