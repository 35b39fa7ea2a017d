#include "log/cosignatures.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/note/checkpoint.h"
#include "core/note/cosignature.h"
#include "core/util/status_macros.h"

namespace ktlog {

Cosignatures::Cosignatures(CosignatureStore* storage,
                           const CheckpointPublisher* publisher,
                           const NoteVerifierKey& log_key, const Clock* clock,
                           CosignatureOptions options, MetricsRegistry* metrics)
    : storage_(storage),
      publisher_(publisher),
      log_key_(log_key),
      clock_(clock),
      options_(std::move(options)),
      last_cosigned_ms_(new std::atomic<uint64_t>[options_.witnesses.size()]) {
  metrics = MetricsRegistry::OrDiscard(metrics);
  for (size_t i = 0; i < options_.witnesses.size(); ++i) {
    cosigned_.push_back(metrics->GetCounter(
        "ktlog_witness_cosignatures_total",
        "Cosignatures the log accepted, by witness (its key name).",
        {{"witness", options_.witnesses[i].name}}));
    last_cosigned_ms_[i].store(0);
  }
}

absl::StatusOr<uint32_t> Cosignatures::Add(const std::string& note_text) {
  return Merge(note_text, /*from_witness=*/true);
}

absl::StatusOr<uint32_t> Cosignatures::Copy(const std::string& note_text) {
  return Merge(note_text, /*from_witness=*/false);
}

absl::StatusOr<uint32_t> Cosignatures::Merge(const std::string& note_text,
                                             bool from_witness) {
  ASSIGN_OR_RETURN(Note note, ParseNote(note_text));
  // Only checkpoints this log signed: a valid signature by its key.
  absl::Status ours = VerifyNoteSignature(note, log_key_);
  if (!ours.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the note is not a checkpoint signed by this log: ", ours.message()));
  }
  ASSIGN_OR_RETURN(LogCheckpoint cp, ParseLogCheckpointBody(note.text));
  // The log's signature, then for each configured witness its cosignature
  // from this request, else the one stored before.
  Note merged{note.text, {*FindSignature(note, log_key_)}};
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(std::optional<std::string> stored,
                   storage_->ReadCosignedCheckpoint(cp, note.text));
  Note previous;
  if (stored.has_value()) {
    ASSIGN_OR_RETURN(previous, ParseNote(*stored));
  }
  std::vector<uint32_t> from_request;
  uint64_t now_s = clock_->NowMillis() / 1000;
  for (const NoteVerifierKey& w : options_.witnesses) {
    if (const NoteSignature* sent = FindSignature(note, w)) {
      absl::StatusOr<uint64_t> t = VerifyCosignature(note, w);
      if (!t.ok()) return absl::InvalidArgumentError(t.status().message());
      if (*t > now_s + 600) {
        return absl::InvalidArgumentError(absl::StrCat(
            "the cosignature by ", w.name, " is dated in the future"));
      }
      merged.signatures.push_back(*sent);
      from_request.push_back(w.key_id);
    } else if (const NoteSignature* kept = FindSignature(previous, w)) {
      if (VerifyCosignature(previous, w).ok()) {
        merged.signatures.push_back(*kept);
      }
    }
  }
  if (from_request.empty()) {
    std::vector<std::string> names;
    for (const NoteVerifierKey& w : options_.witnesses) {
      names.push_back(w.ToString());
    }
    return absl::PermissionDeniedError(absl::StrCat(
        "the note carries no valid cosignature by a witness this log "
        "accepts (",
        names.empty() ? "none configured" : absl::StrJoin(names, ", "), ")"));
  }
  RETURN_IF_ERROR(
      storage_->WriteCosignedCheckpoint(cp, note.text, merged.ToString()));
  if (!from_witness) {
    return static_cast<uint32_t>(merged.signatures.size() - 1);
  }
  if (designated_ != nullptr && designated_->checkpoint == cp) {
    designated_cosigners_.insert(from_request.begin(), from_request.end());
  }
  for (size_t i = 0; i < options_.witnesses.size(); ++i) {
    const NoteVerifierKey& w = options_.witnesses[i];
    if (std::find(from_request.begin(), from_request.end(), w.key_id) ==
        from_request.end()) {
      continue;
    }
    cosigned_[i]->Increment();
    last_cosigned_ms_[i].store(clock_->NowMillis(), std::memory_order_relaxed);
    accepted_.Record(absl::StrCat(w.name, " cosigned tree size ", cp.size));
    if (quiet_.erase(w.key_id) > 0) {
      LogInfo("witness ", w.name, " cosigns again (tree size ", cp.size, ")");
    }
  }
  return static_cast<uint32_t>(merged.signatures.size() - 1);
}

absl::StatusOr<std::vector<NoteVerifierKey>> Cosignatures::Select(
    const std::vector<std::string>& keys) const {
  if (keys.empty()) return options_.witnesses;
  std::vector<NoteVerifierKey> out;
  for (const std::string& k : keys) {
    const NoteVerifierKey* found = nullptr;
    for (const NoteVerifierKey& w : options_.witnesses) {
      if (w.ToString() == k) found = &w;
    }
    if (found == nullptr) {
      return absl::FailedPreconditionError(absl::StrCat(
          "this log does not accept cosignatures from the witness ", k,
          "; ask the log's operator to add it, or change your witness "
          "policy"));
    }
    for (const NoteVerifierKey& counted : out) {
      if (counted.key.bytes() == found->key.bytes()) {
        return absl::InvalidArgumentError(
            absl::StrCat("the request names witness ", found->name,
                         " twice: a witness counts once toward a quorum"));
      }
    }
    out.push_back(*found);
  }
  return out;
}

absl::StatusOr<std::string> Cosignatures::GetNewest(
    uint32_t quorum, const std::vector<std::string>& witnesses) const {
  ASSIGN_OR_RETURN(std::vector<NoteVerifierKey> counted, Select(witnesses));
  if (quorum > counted.size()) {
    return absl::FailedPreconditionError(
        absl::StrCat("a quorum of ", quorum, " cannot be met by ",
                     counted.size(), " witness(es)"));
  }
  ASSIGN_OR_RETURN(
      std::vector<std::string> recent,
      storage_->ReadRecentCosignedCheckpoints(options_.search_limit));
  for (const std::string& text : recent) {
    absl::StatusOr<Note> note = ParseNote(text);
    if (!note.ok()) continue;
    uint32_t n = 0;
    for (const NoteVerifierKey& w : counted) {
      if (VerifyCosignature(*note, w).ok()) ++n;
    }
    if (n >= quorum) return text;
  }
  return absl::NotFoundError(absl::StrCat(
      "no recent checkpoint has ", quorum,
      " cosignature(s) from the witnesses asked for yet; witnesses cosign "
      "when they run: try again after their interval"));
}

void Cosignatures::NoteQuiet() {
  for (const NoteVerifierKey& w : options_.witnesses) {
    if (options_.pushed.count(w.key_id) > 0 ||
        designated_cosigners_.count(w.key_id) > 0 ||
        !quiet_.insert(w.key_id).second) {
      continue;
    }
    LogWarning("witness ", w.name, " did not cosign the checkpoint of size ",
               designated_->checkpoint.size, " within ",
               absl::FormatDuration(options_.witness_timeout),
               " (clients that require it wait; docs/witness.md)");
  }
}

absl::StatusOr<std::string> Cosignatures::ToCosign() {
  std::shared_ptr<const PublishedCheckpoint> latest = publisher_->Latest();
  if (latest == nullptr) {
    return absl::UnavailableError("the log has not published a checkpoint yet");
  }
  uint64_t now = clock_->NowMillis();
  absl::MutexLock lock(&mu_);
  bool all = true;
  for (const NoteVerifierKey& w : options_.witnesses) {
    if (options_.pushed.count(w.key_id) == 0 &&
        designated_cosigners_.count(w.key_id) == 0) {
      all = false;
    }
  }
  bool expired = now >= designated_at_ms_ +
                            absl::ToInt64Milliseconds(options_.witness_timeout);
  if (designated_ == nullptr || all || expired) {
    if (designated_ != nullptr && !all) NoteQuiet();
    if (designated_ == nullptr || designated_->note != latest->note) {
      designated_cosigners_.clear();
    }
    designated_ = latest;
    designated_at_ms_ = now;
  }
  return designated_->note;
}

}  // namespace ktlog
