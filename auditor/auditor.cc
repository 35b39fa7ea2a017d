#include "auditor/auditor.h"

#include <thread>

#include "absl/strings/str_cat.h"
#include "core/account/index.h"
#include "core/account/leaf.h"
#include "core/crypto/crypto.h"
#include "core/merkle/merkle.h"
#include "core/merkle/proof.h"
#include "core/note/cosignature.h"
#include "core/note/succession.h"
#include "core/util/bytes.h"
#include "core/util/file_util.h"
#include "core/util/json_util.h"
#include "core/util/logging.h"
#include "core/util/status_macros.h"
#include "verifier/alerts.h"

namespace ktlog {
namespace {

// Positions' versions kept between commits; beyond this many the cache
// starts over (the versions are in the store).
constexpr size_t kMaxCachedPositions = 1 << 16;

// The failure type an auditor records for a checkpoint that may not follow.
const char* SuccessionFailure(Succession verdict) {
  switch (verdict) {
    case Succession::kRollback:
      return "ROLLBACK";
    case Succession::kTimeGoesBack:
      return "BAD_TIMESTAMP";
    case Succession::kFork:
    case Succession::kInvalidProof:
    case Succession::kBehind:
    case Succession::kOk:
      break;
  }
  return "LOG_FORK";
}

}  // namespace

absl::StatusOr<std::unique_ptr<Auditor>> Auditor::Open(AuditorOptions options,
                                                       NoteSigner witness,
                                                       LogFeed* log) {
  if (witness.type() != kNoteTypeCosignatureV1) {
    return absl::InvalidArgumentError(
        "the auditor's key must be a witness key (ktlog-keygen "
        "--type=witness)");
  }
  RETURN_IF_ERROR(MakeDirs(options.state_dir, 0700));
  ASSIGN_OR_RETURN(
      std::unique_ptr<AuditorStore> store,
      AuditorStore::Open(options.state_dir, options.log_key.IdentityString()));
  return std::unique_ptr<Auditor>(new Auditor(
      std::move(options), std::move(witness), log, std::move(store)));
}

Auditor::Auditor(AuditorOptions options, NoteSigner witness, LogFeed* log,
                 std::unique_ptr<AuditorStore> store)
    : options_(std::move(options)),
      metrics_(MetricsRegistry::OrDiscard(options_.metrics)),
      log_size_(metrics_->GetGauge(
          "ktlog_auditor_log_size",
          "Size of the latest checkpoint the log showed this auditor.")),
      verified_size_(metrics_->GetGauge(
          "ktlog_auditor_verified_size",
          "Leaves this auditor has verified and committed.")),
      behind_(metrics_->GetGauge(
          "ktlog_auditor_behind_leaves",
          "Leaves of the log's latest checkpoint not verified yet.")),
      misbehaving_(metrics_->GetGauge(
          "ktlog_auditor_misbehaving",
          "1 once this auditor found the log misbehaving (it no longer "
          "cosigns; see its evidence file), else 0.")),
      cosigned_(metrics_->GetCounter(
          "ktlog_auditor_cosignatures_total",
          "Cosignatures this auditor made and handed to the log.")),
      witness_(std::move(witness)),
      log_(log),
      feed_(log),
      store_(std::move(store)),
      versions_(store_.get()) {
  absl::StatusOr<uint64_t> verified = LatestCosignedSize();
  if (verified.ok()) SetPosition(*verified, *verified);
  absl::StatusOr<std::optional<std::string>> failure = store_->ReadFailure();
  misbehaving_->Set(failure.ok() && failure->has_value() ? 1 : 0);
}

void Auditor::SetPosition(uint64_t log_size, uint64_t verified_size) {
  if (log_size > 0) log_size_->Set(log_size);
  if (verified_size > 0) verified_size_->Set(verified_size);
  double behind = log_size_->value() - verified_size_->value();
  behind_->Set(behind > 0 ? behind : 0);
}

void Auditor::Count(const absl::Status& outcome) {
  if (outcome.ok()) return;
  metrics_
      ->GetCounter("ktlog_auditor_refusals_total",
                   "Rounds and pushed checkpoints that ended without a new "
                   "cosignature, by status code (docs/operations.md).",
                   {{"code", absl::StatusCodeToString(outcome.code())}})
      ->Increment();
}

absl::StatusOr<std::optional<nlohmann::json>> Auditor::Failure() {
  ASSIGN_OR_RETURN(std::optional<std::string> f, store_->ReadFailure());
  if (!f.has_value()) return std::optional<nlohmann::json>();
  return std::optional<nlohmann::json>(
      nlohmann::json::parse(*f, nullptr, false));
}

absl::Status Auditor::ClearFailure() {
  RETURN_IF_ERROR(store_->ClearFailure());
  misbehaving_->Set(0);
  return absl::OkStatus();
}

absl::Status Auditor::Misbehaved(const std::string& type,
                                 const std::string& message,
                                 nlohmann::json evidence) {
  if (tentative_) return absl::DataLossError(absl::StrCat(type, ": ", message));
  uint64_t now = options_.clock->NowMillis();
  nlohmann::json j = {{"type", type},
                      {"message", message},
                      {"found_at_ms", now},
                      {"log_key", options_.log_key.IdentityString()},
                      {"witness", witness_.verifier_key().ToString()},
                      {"evidence", std::move(evidence)}};
  std::string text = JsonText(j, 2) + "\n";
  RETURN_IF_ERROR(store_->WriteFailure(text));
  misbehaving_->Set(1);
  evidence_path_ = absl::StrCat(options_.state_dir, "/evidence-", now, ".json");
  RETURN_IF_ERROR(WriteFileAtomically(evidence_path_, text, 0644));
  return absl::DataLossError(absl::StrCat(type, ": ", message));
}

absl::StatusOr<std::string> Auditor::Apply(uint64_t index,
                                           const std::string& bytes) {
  absl::StatusOr<Leaf> leaf = DecodeLeaf(bytes);
  if (!leaf.ok()) {
    return absl::StrCat("leaf ", index,
                        " is malformed: ", leaf.status().message());
  }
  RETURN_IF_ERROR(replay_->Load(leaf->position));
  absl::Status order = replay_->Apply(*leaf);
  if (!order.ok()) return absl::StrCat("leaf ", index, ": ", order.message());
  return std::string();
}

absl::Status Auditor::InvalidLeaf(const LogCheckpoint& cp,
                                  const std::string& note, uint64_t index,
                                  const std::string& leaf,
                                  const std::string& problem) {
  // Portable evidence: the leaf, and its inclusion in the signed tree when
  // the log can prove it.
  nlohmann::json evidence = {
      {"checkpoint", note}, {"leaf_index", index}, {"leaf", HexEncode(leaf)}};
  absl::StatusOr<InclusionAnswer> proof = feed_->InclusionProof(index, cp.size);
  if (proof.ok()) {
    evidence["inclusion_proof"] = HashesToJson(proof->hashes);
    evidence["inclusion_verifies"] =
        VerifyInclusion(index, cp.size, HashLeaf(leaf), proof->hashes, cp.root)
            .ok();
  }
  return Misbehaved("INVALID_LEAF", problem, std::move(evidence));
}

absl::Status Auditor::Replay(const LogCheckpoint& cp, const std::string& note,
                             AuditorProgress* progress, uint64_t* checked) {
  uint64_t last_commit = progress->range.size();
  if (options_.progress) options_.progress(progress->range.size(), cp.size);
  while (progress->range.size() < cp.size) {
    uint64_t from = progress->range.size();
    ASSIGN_OR_RETURN(
        std::vector<std::string> page,
        feed_->Entries(from, std::min(cp.size, from + options_.page), cp.size));
    if (page.empty()) {
      return absl::UnavailableError(
          absl::StrCat("the log returned no entries from ", from));
    }
    for (size_t i = 0; i < page.size(); ++i) {
      ASSIGN_OR_RETURN(std::string problem, Apply(from + i, page[i]));
      if (!problem.empty()) {
        return InvalidLeaf(cp, note, from + i, page[i], problem);
      }
      progress->range.Append(HashLeaf(page[i]));
    }
    *checked += page.size();
    if (options_.progress) options_.progress(progress->range.size(), cp.size);
    if (options_.authority == nullptr &&
        progress->range.size() - last_commit >= options_.commit_every &&
        progress->range.size() < cp.size) {
      ASSIGN_OR_RETURN(IndexSnapshot update, PendingIndexUpdate());
      RETURN_IF_ERROR(CommitProgress(*progress, update));
      last_commit = progress->range.size();
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<IndexSnapshot> Auditor::PendingIndexUpdate() {
  return store_->index().Apply(replay_->IndexChanges());
}

absl::Status Auditor::CommitProgress(AuditorProgress progress,
                                     const IndexSnapshot& update) {
  progress.last_timestamp_ms = replay_->last_timestamp_ms();
  AuditorCommit commit{progress, replay_->ChangedEntries(), &update};
  RETURN_IF_ERROR(store_->Commit(commit));
  SetPosition(0, progress.range.size());
  replay_->ClearChanges();
  if (replay_->loaded() > kMaxCachedPositions) replay_->Reset();
  if (options_.saved) options_.saved(progress.range.size());
  return absl::OkStatus();
}

absl::StatusOr<Auditor::Round> Auditor::RunOnce() {
  absl::StatusOr<Round> round = Rounds();
  Count(round.status());
  return round;
}

absl::StatusOr<Auditor::Round> Auditor::Rounds() {
  ASSIGN_OR_RETURN(Round first, Pass());
  if (!first.cosigned) return first;
  // If this cosignature was the last the log waited for, the log now hands
  // out a newer checkpoint: cosign it too, so that the other witnesses'
  // next rounds complete it (a quorum forms every round, not every other).
  ASSIGN_OR_RETURN(Round second, Pass());
  second.leaves_checked += first.leaves_checked;
  second.cosigned = true;
  return second;
}

absl::Status Auditor::CheckNotFailed() {
  ASSIGN_OR_RETURN(std::optional<std::string> failure, store_->ReadFailure());
  if (!failure.has_value()) return absl::OkStatus();
  nlohmann::json f = nlohmann::json::parse(*failure, nullptr, false);
  return absl::FailedPreconditionError(absl::StrCat(
      "this auditor found the log misbehaving and no longer cosigns (",
      f.is_object() ? f.value("type", "") + ": " + f.value("message", "")
                    : "see the evidence",
      "); investigate, then --clear_failure"));
}

absl::StatusOr<bool> Auditor::CheckSucceeds(const AuditorProgress& progress,
                                            const LogCheckpoint& cp,
                                            const std::string& note) {
  // The checkpoint must follow the last one verified, and any the auditor
  // had started to replay (a crash mid-replay).
  bool unchanged = false;
  for (const std::string* before :
       {&progress.verified_note, &progress.target_note}) {
    if (before->empty()) continue;
    ASSIGN_OR_RETURN(
        LogCheckpoint previous,
        OpenLogCheckpoint(*before, options_.log_key.checkpoint_key));
    auto proof = [this](uint64_t old_size, uint64_t new_size) {
      return feed_->ConsistencyProof(old_size, new_size);
    };
    ASSIGN_OR_RETURN(SuccessionCheck check,
                     CheckSuccession(previous, cp, proof));
    if (check.verdict == Succession::kBehind) {
      // A replica or cache behind the log: nothing new from it.
      unchanged |= before == &progress.verified_note;
      continue;
    }
    if (check.verdict != Succession::kOk) {
      nlohmann::json both = {{"verified_checkpoint", *before},
                             {"checkpoint", note}};
      if (!check.proof.empty()) {
        both["consistency_proof"] = HashesToJson(check.proof);
      }
      return Misbehaved(SuccessionFailure(check.verdict), check.message, both);
    }
    unchanged |= before == &progress.verified_note && cp == previous;
  }
  return unchanged;
}

absl::StatusOr<IndexSnapshot> Auditor::CheckRoots(
    const AuditorProgress& progress, const LogCheckpoint& cp,
    const std::string& note) {
  Hash root = progress.range.Root();
  if (root != cp.root) {
    return Misbehaved(
        "ROOT_MISMATCH",
        absl::StrCat("the leaves give the root ", root.ToHex(),
                     ", the checkpoint says ", cp.root.ToHex()),
        {{"checkpoint", note}, {"recomputed_root", root.ToHex()}});
  }
  ASSIGN_OR_RETURN(IndexSnapshot update, PendingIndexUpdate());
  if (update.root() != cp.index_root) {
    return Misbehaved(
        "INDEX_ROOT_MISMATCH",
        absl::StrCat("the leaves give the account index root ",
                     update.root().ToHex(), ", the checkpoint says ",
                     cp.index_root.ToHex()),
        {{"checkpoint", note},
         {"recomputed_index_root", update.root().ToHex()}});
  }
  return update;
}

absl::StatusOr<Auditor::Round> Auditor::Pass() {
  RETURN_IF_ERROR(CheckNotFailed());
  ASSIGN_OR_RETURN(std::string note, log_->CheckpointToCosign());
  absl::StatusOr<LogCheckpoint> cp =
      OpenLogCheckpoint(note, options_.log_key.checkpoint_key);
  if (!cp.ok()) {
    return Misbehaved("BAD_SIGNATURE",
                      absl::StrCat("the log's checkpoint does not verify: ",
                                   cp.status().message()),
                      {{"checkpoint", note}});
  }
  SetPosition(cp->size, 0);
  ASSIGN_OR_RETURN(Verified v, Verify(*cp, note));
  if (v.cosigned_note.empty()) return Round{cp->size, 0, false};
  RETURN_IF_ERROR(Submit(v.cosigned_note));
  cosigned_->Increment();
  return Round{cp->size, v.leaves_checked, true};
}

absl::StatusOr<Auditor::Verified> Auditor::Verify(const LogCheckpoint& cp,
                                                  const std::string& note) {
  if (options_.authority == nullptr) return VerifyOnFeed(cp, note);
  tentative_ = true;
  absl::StatusOr<Verified> v = VerifyOnFeed(cp, note);
  tentative_ = false;
  if (!absl::IsDataLoss(v.status())) return v;
  LogWarning("the tiles do not match the log's checkpoint of size ", cp.size,
             " (", v.status().message(),
             "); judging it again on the log's own answers");
  feed_ = options_.authority;
  v = VerifyOnFeed(cp, note);
  feed_ = log_;
  return v;
}

absl::StatusOr<bool> Auditor::Superseded(const LogCheckpoint& verified,
                                         const LogCheckpoint& cp) {
  bool newer =
      cp.size > verified.size ||
      (cp.size == verified.size && cp.timestamp_ms > verified.timestamp_ms);
  if (newer || cp == verified) return false;
  auto proof = [this](uint64_t old_size, uint64_t new_size) {
    return feed_->ConsistencyProof(old_size, new_size);
  };
  absl::StatusOr<SuccessionCheck> back = CheckSuccession(cp, verified, proof);
  if (!back.ok()) {
    // Unreachable now: judged later. Any other refusal: the log cannot show
    // that what it cosigned follows from `cp` (a rollback, or a fork),
    // which CheckSucceeds then records.
    if (absl::IsUnavailable(back.status()) ||
        absl::IsDeadlineExceeded(back.status())) {
      return back.status();
    }
    return false;
  }
  return back->verdict == Succession::kOk;
}

absl::StatusOr<Auditor::Verified> Auditor::VerifyOnFeed(
    const LogCheckpoint& cp, const std::string& note) {
  ASSIGN_OR_RETURN(AuditorProgress progress, store_->ReadProgress());
  if (!progress.verified_note.empty()) {
    ASSIGN_OR_RETURN(LogCheckpoint verified,
                     OpenLogCheckpoint(progress.verified_note,
                                       options_.log_key.checkpoint_key));
    ASSIGN_OR_RETURN(bool superseded, Superseded(verified, cp));
    if (superseded) return Verified{"", 0};
  }
  // Nothing uncommitted survives a failed round.
  replay_ =
      std::make_unique<LeafReplay>(&versions_, progress.last_timestamp_ms);
  uint64_t now = options_.clock->NowMillis();
  uint64_t skew = absl::ToInt64Milliseconds(options_.max_future_skew);
  if (cp.timestamp_ms > now && cp.timestamp_ms - now > skew) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the log's checkpoint of size ", cp.size, " is dated ",
        (cp.timestamp_ms - now) / 1000,
        " s ahead of this witness's clock "
        "(more than ",
        absl::FormatDuration(options_.max_future_skew),
        "): not cosigned. If this machine's clock is right, the log's is "
        "wrong"));
  }
  ASSIGN_OR_RETURN(bool unchanged, CheckSucceeds(progress, cp, note));
  if (unchanged) {
    // Nothing new to verify; a cosignature the log has not accepted yet is
    // handed out again.
    return Verified{progress.unsubmitted_note, 0};
  }
  progress.target_note = note;
  uint64_t checked = 0;
  RETURN_IF_ERROR(Replay(cp, note, &progress, &checked));
  ASSIGN_OR_RETURN(IndexSnapshot update, CheckRoots(progress, cp, note));
  ASSIGN_OR_RETURN(Note signed_note, ParseNote(note));
  signed_note.signatures.push_back(
      Cosign(signed_note.text, witness_, options_.clock->NowMillis() / 1000));
  progress.verified_note = note;
  progress.target_note.clear();
  progress.unsubmitted_note = signed_note.ToString();
  RETURN_IF_ERROR(CommitProgress(progress, update));
  return Verified{progress.unsubmitted_note, checked};
}

absl::StatusOr<std::string> Auditor::AddCheckpoint(
    uint64_t old_size, const std::vector<Hash>& proof,
    const std::string& note) {
  absl::StatusOr<std::string> lines = Add(old_size, proof, note);
  if (lines.ok()) cosigned_->Increment();
  Count(lines.status());
  return lines;
}

absl::StatusOr<std::string> Auditor::Add(uint64_t old_size,
                                         const std::vector<Hash>& proof,
                                         const std::string& note) {
  absl::StatusOr<Note> parsed = ParseNote(note);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a checkpoint: ", parsed.status().message()));
  }
  if (parsed->text.substr(0, parsed->text.find('\n')) !=
      options_.log_key.checkpoint_key.name) {
    return absl::NotFoundError(
        absl::StrCat("this witness follows only the log ",
                     options_.log_key.checkpoint_key.name));
  }
  // Anyone can send anything: a checkpoint the log did not sign is refused
  // here, not recorded as the log's misbehaviour.
  absl::StatusOr<LogCheckpoint> cp =
      OpenLogCheckpoint(note, options_.log_key.checkpoint_key);
  if (!cp.ok()) {
    return absl::PermissionDeniedError(
        absl::StrCat("not signed by the log's key: ", cp.status().message()));
  }
  if (old_size > cp->size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the old size ", old_size, " exceeds the checkpoint's ", cp->size));
  }
  SetPosition(cp->size, 0);
  RETURN_IF_ERROR(CheckNotFailed());
  ASSIGN_OR_RETURN(AuditorProgress progress, store_->ReadProgress());
  uint64_t latest = 0;
  Hash latest_root;
  if (!progress.verified_note.empty()) {
    ASSIGN_OR_RETURN(LogCheckpoint v,
                     OpenLogCheckpoint(progress.verified_note,
                                       options_.log_key.checkpoint_key));
    latest = v.size;
    latest_root = v.root;
  }
  if (old_size == latest && latest == cp->size) {
    // The same size again: Verify judges it (a different root is a fork,
    // recorded with its evidence); either way nothing new to cosign.
    absl::StatusOr<Verified> v = Verify(*cp, note);
    if (v.ok() && !v->cosigned_note.empty()) {
      RETURN_IF_ERROR(store_->MarkSubmitted());
      return CosignatureLines(v->cosigned_note);
    }
    return absl::AlreadyExistsError(absl::StrCat(
        "this witness cosigned a checkpoint of size ", latest,
        v.ok() ? " already" : absl::StrCat(": ", v.status().message())));
  }
  if (old_size != latest) {
    return absl::AlreadyExistsError(
        absl::StrCat("the old size ", old_size,
                     " is not this witness's latest cosigned size ", latest));
  }
  if (latest > 0) {
    absl::Status consistent =
        VerifyConsistency(latest, cp->size, proof, latest_root, cp->root);
    if (!consistent.ok()) {
      // The log's own proof is fetched and judged by Verify (evidence,
      // if the log forked); this one may be anyone's.
      return absl::OutOfRangeError(
          absl::StrCat("the consistency proof from size ", latest,
                       " does not verify: ", consistent.message()));
    }
  }
  ASSIGN_OR_RETURN(Verified v, Verify(*cp, note));
  if (v.cosigned_note.empty()) {
    return absl::AlreadyExistsError(
        "this checkpoint was cosigned before and the cosignature handed out");
  }
  RETURN_IF_ERROR(store_->MarkSubmitted());  // the answer carries it
  return CosignatureLines(v.cosigned_note);
}

absl::StatusOr<std::string> Auditor::CosignatureLines(
    const std::string& cosigned_note) const {
  ASSIGN_OR_RETURN(Note cosigned, ParseNote(cosigned_note));
  std::string lines;
  for (const NoteSignature& sig : cosigned.signatures) {
    if (sig.key_id == witness_.verifier_key().key_id &&
        sig.name == witness_.name()) {
      absl::StrAppend(&lines, sig.ToLine());
    }
  }
  return lines;
}

absl::StatusOr<uint64_t> Auditor::LatestCosignedSize() {
  ASSIGN_OR_RETURN(AuditorProgress progress, store_->ReadProgress());
  if (progress.verified_note.empty()) return 0;
  ASSIGN_OR_RETURN(LogCheckpoint v,
                   OpenLogCheckpoint(progress.verified_note,
                                     options_.log_key.checkpoint_key));
  return v.size;
}

absl::Status Auditor::Submit(const std::string& cosigned_note) {
  absl::StatusOr<uint32_t> accepted = log_->AddCosignature(cosigned_note);
  if (!accepted.ok()) {
    absl::Status s = accepted.status();
    if (absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s)) return s;
    // Not misbehaviour: the log is configured without this witness, or the
    // clocks disagree. The cosignature is kept and sent again next round.
    return absl::PermissionDeniedError(absl::StrCat(
        "the log refused this witness's cosignature (", s.message(), "); is ",
        witness_.verifier_key().ToString(),
        " in the log's --witness_keys? It is sent again next round"));
  }
  return store_->MarkSubmitted();
}

}  // namespace ktlog
