// Cosignatures: the log's side of witnessing (c2sp.org/tlog-cosignature,
// docs/witness.md). It accepts cosignatures from the configured witnesses,
// keeps them with the checkpoints they cover, serves the newest checkpoint
// that a quorum cosigned, and tells witnesses which checkpoint to cosign.
//
// Why a checkpoint "to cosign": the log signs a new checkpoint at least
// every heartbeat (its timestamp changes), so witnesses that each cosign
// whatever is latest when they run would rarely cosign the same note, and a
// k-of-n quorum would never form. Instead the log designates one checkpoint
// (the latest when designated) and hands every witness that same note until
// all configured witnesses cosigned it, or it is older than
// `witness_timeout` (a witness that is down must not freeze the others).
// Then it designates the latest again. Designated checkpoints only grow, so
// a witness never sees one smaller than one it cosigned. This is C2SP
// tlog-witness's "the log chooses the checkpoint" with witnesses that pull.
//
// Thread-safe.
#ifndef KTLOG_LOG_COSIGNATURES_H_
#define KTLOG_LOG_COSIGNATURES_H_

#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/note/note.h"
#include "core/util/clock.h"
#include "core/util/logging.h"
#include "core/util/metrics.h"
#include "log/publisher.h"
#include "log/storage/log_storage.h"

namespace ktlog {

struct CosignatureOptions {
  // Witnesses whose cosignatures the log accepts (note keys of type 0x04),
  // each key once.
  std::vector<NoteVerifierKey> witnesses;
  // Key IDs of the witnesses the log pushes each checkpoint to
  // (log/witness_pusher.h). They cosign every checkpoint as it is signed,
  // so the checkpoint handed to the pulling witnesses (ToCosign) changes
  // once all the others cosigned it.
  std::set<uint32_t> pushed;
  // A designated checkpoint that not every pulling witness cosigned is
  // replaced by the latest after this long.
  absl::Duration witness_timeout = absl::Seconds(60);
  // How many recent cosigned checkpoints GetNewest looks through.
  size_t search_limit = 1000;
};

class Cosignatures {
 public:
  // Borrows all; they must outlive this object. Counts the cosignatures
  // accepted per witness in `metrics` (null: nowhere).
  Cosignatures(CosignatureStore* storage, const CheckpointPublisher* publisher,
               const NoteVerifierKey& log_key, const Clock* clock,
               CosignatureOptions options, MetricsRegistry* metrics = nullptr);

  // Accepts the cosignature line(s) on `note_text`, a checkpoint note this
  // log signed, merging them with those stored before (one per witness, the
  // latest). Returns how many configured witnesses have now cosigned it.
  // INVALID_ARGUMENT if the note is malformed, not signed by this log, or
  // carries a configured witness's cosignature that does not verify or is
  // dated in the future; PERMISSION_DENIED if it carries no valid
  // cosignature by a configured witness; storage errors pass through.
  absl::StatusOr<uint32_t> Add(const std::string& note_text);
  // The same for a note copied from the log by a read replica
  // (log/follower.h): checked and merged alike, but no witness is counted
  // as having cosigned now (metrics, the checkpoint handed out to cosign).
  absl::StatusOr<uint32_t> Copy(const std::string& note_text);

  // The newest checkpoint (largest size, then latest timestamp) that at
  // least `quorum` (> 0) of `witnesses` (verifier key strings; empty: all
  // configured ones) cosigned, with their cosignature lines. NOT_FOUND if
  // none is among the recent ones; FAILED_PRECONDITION if a named witness is
  // not one this log accepts, or the quorum exceeds the witnesses named;
  // INVALID_ARGUMENT if `witnesses` names one key twice (a witness counts
  // once).
  absl::StatusOr<std::string> GetNewest(
      uint32_t quorum, const std::vector<std::string>& witnesses) const;

  // The checkpoint witnesses should cosign now (see the file comment).
  // UNAVAILABLE before the log's first checkpoint.
  absl::StatusOr<std::string> ToCosign();

  // When (clock milliseconds) the log last accepted a cosignature by the
  // `i`th configured witness; 0 if not since this object was made.
  // Lock-free.
  uint64_t LastCosignedMillis(size_t i) const {
    return last_cosigned_ms_[i].load(std::memory_order_relaxed);
  }

 private:
  // Add and Copy: `from_witness` counts the cosignatures as received now.
  absl::StatusOr<uint32_t> Merge(const std::string& note_text,
                                 bool from_witness);
  // The configured witnesses named by `keys` (all if empty), each once.
  absl::StatusOr<std::vector<NoteVerifierKey>> Select(
      const std::vector<std::string>& keys) const;

  CosignatureStore* const storage_;
  const CheckpointPublisher* const publisher_;
  const NoteVerifierKey log_key_;
  const Clock* const clock_;
  const CosignatureOptions options_;
  // Per configured witness, in order.
  std::vector<Counter*> cosigned_;
  std::unique_ptr<std::atomic<uint64_t>[]> last_cosigned_ms_;

  absl::Mutex mu_;  // serialises merges and designation
  // Logs the witnesses that did not cosign the designated checkpoint (the
  // ones not already known quiet).
  void NoteQuiet() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  std::shared_ptr<const PublishedCheckpoint> designated_ ABSL_GUARDED_BY(mu_);
  uint64_t designated_at_ms_ ABSL_GUARDED_BY(mu_) = 0;
  // Key IDs of the witnesses that cosigned the designated checkpoint.
  std::set<uint32_t> designated_cosigners_ ABSL_GUARDED_BY(mu_);
  // Witnesses that let a designated checkpoint expire without cosigning
  // it (logged when one goes quiet and when it cosigns again).
  std::set<uint32_t> quiet_ ABSL_GUARDED_BY(mu_);
  ThrottledLog accepted_{Severity::kInfo, "cosignature accepted"};
};

}  // namespace ktlog

#endif  // KTLOG_LOG_COSIGNATURES_H_
