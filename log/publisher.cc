#include "log/publisher.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "core/merkle/compact_range.h"
#include "core/merkle/proof.h"
#include "core/note/succession.h"
#include "core/util/status_macros.h"

namespace ktlog {
namespace {

absl::StatusOr<Hash> StoredRoot(LogWriter* storage, uint64_t size) {
  ASSIGN_OR_RETURN(std::vector<Hash> hashes, storage->ReadCompactRange(size));
  ASSIGN_OR_RETURN(CompactRange range,
                   CompactRange::FromHashes(size, std::move(hashes)));
  return range.Root();
}

// `note` opened with `key`, and the stored tree and index root of its size
// are the ones it signs.
absl::StatusOr<LogCheckpoint> OpenStoredNote(LogWriter* storage,
                                             const NoteVerifierKey& key,
                                             const std::string& note) {
  absl::StatusOr<LogCheckpoint> cp = OpenLogCheckpoint(note, key);
  if (!cp.ok()) {
    return absl::DataLossError(
        absl::StrCat("the checkpoint does not verify with this log's key: ",
                     cp.status().message()));
  }
  if (cp->size > storage->size()) {
    return absl::DataLossError(absl::StrCat(
        "the signed checkpoint covers ", cp->size,
        " entries but the data dir holds only ", storage->size(),
        "; refusing to start, as new checkpoints would be inconsistent "
        "with it (was the data dir restored from an older backup?)"));
  }
  ASSIGN_OR_RETURN(Hash root, StoredRoot(storage, cp->size));
  absl::StatusOr<Hash> index_root = storage->ReadIndexRoot(cp->size);
  if (root != cp->root || !index_root.ok() || *index_root != cp->index_root) {
    return absl::DataLossError(
        absl::StrCat("the stored tree of size ", cp->size,
                     " does not match the signed checkpoint"));
  }
  return *cp;
}

}  // namespace

absl::StatusOr<std::unique_ptr<CheckpointPublisher>>
CheckpointPublisher::Create(LogWriter* storage, const NoteSigner* signer,
                            const Clock* clock) {
  return Open(storage, signer->verifier_key(), signer, clock);
}

absl::StatusOr<std::unique_ptr<CheckpointPublisher>>
CheckpointPublisher::CreateReplica(LogWriter* storage, NoteVerifierKey key,
                                   const Clock* clock) {
  return Open(storage, std::move(key), nullptr, clock);
}

absl::StatusOr<std::unique_ptr<CheckpointPublisher>> CheckpointPublisher::Open(
    LogWriter* storage, NoteVerifierKey key, const NoteSigner* signer,
    const Clock* clock) {
  std::shared_ptr<const PublishedCheckpoint> latest;
  ASSIGN_OR_RETURN(std::optional<std::string> note,
                   storage->ReadLatestCheckpoint());
  if (note.has_value()) {
    absl::StatusOr<LogCheckpoint> cp = OpenStoredNote(storage, key, *note);
    if (!cp.ok()) {
      return absl::DataLossError(
          absl::StrCat("the stored latest checkpoint: ", cp.status().message(),
                       "; refusing to start"));
    }
    auto p = std::make_shared<PublishedCheckpoint>();
    p->sequence = 1;
    p->checkpoint = *cp;
    p->note = *note;
    latest = std::move(p);
  }
  return std::unique_ptr<CheckpointPublisher>(new CheckpointPublisher(
      storage, std::move(key), signer, clock, std::move(latest)));
}

CheckpointPublisher::CheckpointPublisher(
    LogWriter* storage, NoteVerifierKey key, const NoteSigner* signer,
    const Clock* clock, std::shared_ptr<const PublishedCheckpoint> latest)
    : storage_(storage),
      key_(std::move(key)),
      signer_(signer),
      clock_(clock),
      latest_(latest) {}

absl::StatusOr<SuccessionCheck> CheckpointPublisher::Succeeds(
    const LogCheckpoint& previous, const LogCheckpoint& next) {
  auto proof = [this](uint64_t old_size,
                      uint64_t new_size) -> absl::StatusOr<std::vector<Hash>> {
    ASSIGN_OR_RETURN(ProofPlan plan, ConsistencyProofPlan(old_size, new_size));
    return storage_->ReadProof(plan);
  };
  return CheckSuccession(previous, next, proof);
}

absl::Status CheckpointPublisher::CheckConsistent(const LogCheckpoint& previous,
                                                  const LogCheckpoint& next) {
  ASSIGN_OR_RETURN(SuccessionCheck check, Succeeds(previous, next));
  if (check.verdict != Succession::kOk) {
    return absl::InternalError(absl::StrCat(
        "refusing to sign: the new tree head does not follow the last signed "
        "checkpoint: ",
        check.message));
  }
  return absl::OkStatus();
}

absl::Status CheckpointPublisher::Publish(uint64_t size, const Hash& root,
                                          const Hash& index_root) {
  if (signer_ == nullptr) {
    return absl::InternalError("a read replica signs no checkpoint");
  }
  std::shared_ptr<const PublishedCheckpoint> previous = Latest();
  auto next = std::make_shared<PublishedCheckpoint>();
  next->checkpoint.origin = signer_->name();
  next->checkpoint.size = size;
  next->checkpoint.root = root;
  next->checkpoint.index_root = index_root;
  next->checkpoint.timestamp_ms = clock_->NowMillis();
  if (previous != nullptr) {
    next->sequence = previous->sequence + 1;
    next->checkpoint.timestamp_ms = std::max(next->checkpoint.timestamp_ms,
                                             previous->checkpoint.timestamp_ms);
    RETURN_IF_ERROR(CheckConsistent(previous->checkpoint, next->checkpoint));
  } else {
    next->sequence = 1;
  }
  next->note = SignLogCheckpoint(next->checkpoint, *signer_);
  RETURN_IF_ERROR(
      storage_->WriteLatestCheckpoint(next->checkpoint.size, next->note));
  absl::MutexLock lock(&mu_);
  latest_ = std::move(next);
  return absl::OkStatus();
}

absl::StatusOr<LogCheckpoint> CheckpointPublisher::OpenStored(
    const std::string& note) const {
  return OpenStoredNote(storage_, key_, note);
}

absl::StatusOr<bool> CheckpointPublisher::Adopt(const std::string& note) {
  ASSIGN_OR_RETURN(LogCheckpoint cp, OpenStored(note));
  std::shared_ptr<const PublishedCheckpoint> previous = Latest();
  auto next = std::make_shared<PublishedCheckpoint>();
  next->checkpoint = cp;
  next->note = note;
  next->sequence = 1;
  if (previous != nullptr) {
    const LogCheckpoint& last = previous->checkpoint;
    if (cp.size < last.size ||
        (cp.size == last.size && cp.timestamp_ms <= last.timestamp_ms)) {
      return false;  // not newer (a cache behind the log)
    }
    next->sequence = previous->sequence + 1;
    ASSIGN_OR_RETURN(SuccessionCheck check, Succeeds(last, cp));
    if (check.verdict != Succession::kOk) {
      return absl::DataLossError(absl::StrCat(
          "the log signed a checkpoint that does not follow the one adopted "
          "before: ",
          check.message));
    }
  }
  RETURN_IF_ERROR(storage_->WriteLatestCheckpoint(cp.size, note));
  absl::MutexLock lock(&mu_);
  latest_ = std::move(next);
  return true;
}

void CheckpointPublisher::SawLogSize(uint64_t size) {
  absl::MutexLock lock(&mu_);
  log_size_seen_ = std::max(log_size_seen_, size);
}

uint64_t CheckpointPublisher::WaitForLogSize(uint64_t min_size,
                                             absl::Time deadline) const {
  absl::MutexLock lock(&mu_);
  auto ready = [this, min_size]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopped_ || log_size_seen_ >= min_size;
  };
  mu_.AwaitWithDeadline(absl::Condition(&ready), deadline);
  return log_size_seen_;
}

std::shared_ptr<const PublishedCheckpoint> CheckpointPublisher::Latest() const {
  absl::MutexLock lock(&mu_);
  return latest_;
}

std::shared_ptr<const PublishedCheckpoint> CheckpointPublisher::WaitForNewer(
    uint64_t after_sequence, absl::Time deadline) const {
  absl::MutexLock lock(&mu_);
  auto ready = [this, after_sequence]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopped_ ||
           (latest_ != nullptr && latest_->sequence > after_sequence);
  };
  mu_.AwaitWithDeadline(absl::Condition(&ready), deadline);
  return latest_;
}

std::shared_ptr<const PublishedCheckpoint> CheckpointPublisher::WaitForSize(
    uint64_t min_size, absl::Time deadline) const {
  absl::MutexLock lock(&mu_);
  auto ready = [this, min_size]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopped_ ||
           (latest_ != nullptr && latest_->checkpoint.size >= min_size);
  };
  mu_.AwaitWithDeadline(absl::Condition(&ready), deadline);
  return latest_;
}

void CheckpointPublisher::Stop() {
  absl::MutexLock lock(&mu_);
  stopped_ = true;
}

bool CheckpointPublisher::stopped() const {
  absl::MutexLock lock(&mu_);
  return stopped_;
}

}  // namespace ktlog
