#include "verifier/checkpoint_trust.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "core/crypto/crypto.h"
#include "core/note/cosignature.h"
#include "core/note/log_key.h"
#include "core/util/json_util.h"
#include "core/util/status_macros.h"
#include "verifier/refusal.h"

namespace ktlog {

absl::StatusOr<std::optional<LogCheckpoint>> CheckpointTrust::Trusted() const {
  if (state_->trusted_checkpoint.empty()) return std::optional<LogCheckpoint>();
  ASSIGN_OR_RETURN(LogPublicKey key, PinnedLogKey(*state_));
  absl::StatusOr<LogCheckpoint> cp =
      OpenLogCheckpoint(state_->trusted_checkpoint, key.checkpoint_key);
  if (!cp.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the state's trusted checkpoint does not verify with the pinned log "
        "key: ",
        cp.status().message()));
  }
  return std::optional<LogCheckpoint>(*cp);
}

absl::Status CheckpointTrust::RaiseSuccession(const SuccessionCheck& check,
                                              const std::string& trusted_note,
                                              const LogCheckpoint& trusted,
                                              const LogCheckpoint& cp,
                                              const std::string& note) {
  nlohmann::json pair = {{"trusted_checkpoint", trusted_note},
                         {"checkpoint", note}};
  if (!check.proof.empty()) {
    pair["consistency_proof"] = HashesToJson(check.proof);
  }
  std::string both = CheckpointId(trusted) + "|" + CheckpointId(cp);
  switch (check.verdict) {
    case Succession::kRollback:
      return alerts_->Refuse(
          Refusal::kRollback, absl::DataLossError(check.message), "",
          CheckpointId(cp),
          absl::StrCat(check.message, " (both checkpoints are signed)"), pair);
    case Succession::kFork:
      return alerts_->Refuse(
          Refusal::kFork, absl::DataLossError(check.message), "", both,
          absl::StrCat(check.message, " (both checkpoints are signed)"), pair);
    case Succession::kInvalidProof:
      return alerts_->Refuse(Refusal::kBadConsistencyProof,
                             absl::InvalidArgumentError(check.message), "",
                             both, check.message, pair);
    case Succession::kTimeGoesBack:
      return alerts_->Refuse(Refusal::kBadTimestamp,
                             absl::FailedPreconditionError(check.message), "",
                             Sha256(note).ToHex(), check.message, pair);
    case Succession::kBehind:
    case Succession::kOk:
      break;
  }
  return absl::OkStatus();
}

void CheckpointTrust::RaiseIfStale(const std::optional<LogCheckpoint>& trusted,
                                   const absl::Status& why) {
  uint64_t now = clock_->NowMillis();
  if (trusted.has_value() &&
      now > trusted->timestamp_ms + state_->policy.max_checkpoint_age_ms) {
    alerts_->Raise(AlertType::kStaleLog, "", CheckpointId(*trusted),
                   absl::StrCat("no checkpoint newer than ",
                                (now - trusted->timestamp_ms) / 1000,
                                " s could be fetched (", why.message(), ")"),
                   {{"trusted_checkpoint", state_->trusted_checkpoint}});
  }
}

absl::StatusOr<std::string> CheckpointTrust::FetchCheckpoint(
    const std::optional<LogCheckpoint>& trusted) {
  const CheckingPolicy& policy = state_->policy;
  absl::StatusOr<std::string> note =
      log_->GetCheckpoint(policy.witness_quorum, policy.witnesses);
  if (note.ok()) return note;
  RaiseIfStale(trusted, note.status());
  if (policy.witness_quorum > 0 && absl::IsNotFound(note.status())) {
    // Witnesses cosign on their own schedule: none may have run yet. That
    // is no evidence against the log.
    return absl::UnavailableError(absl::StrCat(
        "no checkpoint cosigned by ", policy.witness_quorum, " of your ",
        policy.witnesses.size(), " witness(es) is available yet (",
        note.status().message(), ")"));
  }
  return note.status();
}

absl::StatusOr<LogCheckpoint> CheckpointTrust::OpenChecked(
    const std::string& note) {
  ASSIGN_OR_RETURN(LogPublicKey key, PinnedLogKey(*state_));
  absl::StatusOr<LogCheckpoint> cp =
      OpenLogCheckpoint(note, key.checkpoint_key);
  if (!cp.ok()) {
    bool auth = absl::IsUnauthenticated(cp.status());
    return alerts_->Refuse(
        auth ? Refusal::kBadSignature : Refusal::kMalformedAnswer, cp.status(),
        "", Sha256(note).ToHex(),
        absl::StrCat("the log sent a checkpoint that does not verify: ",
                     cp.status().message()),
        {{"checkpoint", note}});
  }
  const CheckingPolicy& policy = state_->policy;
  if (policy.witness_quorum > 0) RETURN_IF_ERROR(CheckCosignatures(note, *cp));
  uint64_t now = clock_->NowMillis();
  if (cp->timestamp_ms > now + policy.max_future_skew_ms) {
    return alerts_->Refuse(
        Refusal::kBadTimestamp,
        absl::FailedPreconditionError(
            "the checkpoint is dated in the future; check the clock"),
        "", Sha256(note).ToHex(),
        absl::StrCat("the log signed a checkpoint dated ",
                     (cp->timestamp_ms - now) / 1000, " s in the future"),
        {{"checkpoint", note}, {"client_time_ms", now}});
  }
  return cp;
}

absl::StatusOr<bool> CheckpointTrust::CheckHistory(
    const std::optional<LogCheckpoint>& trusted, const LogCheckpoint& cp,
    const std::string& note) {
  auto proof = [this](uint64_t old_size, uint64_t new_size) {
    return log_->GetConsistencyProof(old_size, new_size);
  };
  if (trusted.has_value()) {
    // A read replica behind the trusted checkpoint that cannot prove its
    // own consistent with it yet answers UNAVAILABLE: an error, no alert.
    ASSIGN_OR_RETURN(SuccessionCheck check,
                     CheckSuccession(*trusted, cp, proof));
    if (check.verdict == Succession::kBehind) return true;
    if (check.verdict != Succession::kOk) {
      return RaiseSuccession(check, state_->trusted_checkpoint, *trusted, cp,
                             note);
    }
  }
  if (state_->seen_checkpoint.empty()) return false;
  ASSIGN_OR_RETURN(LogPublicKey key, PinnedLogKey(*state_));
  absl::StatusOr<LogCheckpoint> seen =
      OpenLogCheckpoint(state_->seen_checkpoint, key.checkpoint_key);
  if (!seen.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the state's seen checkpoint does not verify with the pinned log "
        "key: ",
        seen.status().message()));
  }
  ASSIGN_OR_RETURN(SuccessionCheck check, CheckConsistent(*seen, cp, proof));
  if (check.verdict != Succession::kOk) {
    return RaiseSuccession(check, state_->seen_checkpoint, *seen, cp, note);
  }
  return false;
}

absl::StatusOr<LogCheckpoint> CheckpointTrust::Update() {
  ASSIGN_OR_RETURN(std::optional<LogCheckpoint> trusted, Trusted());
  uint64_t now_ms = clock_->NowMillis();
  if (trusted.has_value() &&
      trusted->timestamp_ms > now_ms + state_->policy.max_future_skew_ms) {
    // Trusted but dated ahead (a restored state, or a clock set back): no
    // older checkpoint could ever follow it, nor would it ever go stale.
    return alerts_->Refuse(
        Refusal::kBadTimestamp,
        absl::FailedPreconditionError(
            "the trusted checkpoint is dated in the future; check the clock"),
        "", CheckpointId(*trusted),
        absl::StrCat("the trusted checkpoint is dated ",
                     (trusted->timestamp_ms - now_ms) / 1000,
                     " s in the future"),
        {{"trusted_checkpoint", state_->trusted_checkpoint},
         {"client_time_ms", now_ms}});
  }
  ASSIGN_OR_RETURN(std::string note, FetchCheckpoint(trusted));
  ASSIGN_OR_RETURN(LogCheckpoint cp, OpenChecked(note));
  absl::StatusOr<bool> history = CheckHistory(trusted, cp, note);
  if (!history.ok() && RefusalOf(history.status()) == Refusal::kNone &&
      trusted.has_value() && cp.size <= trusted->size &&
      cp.timestamp_ms <= trusted->timestamp_ms) {
    // A log that shows only older checkpoints and cannot prove them
    // consistent gains nothing over one that does not answer.
    RaiseIfStale(trusted, history.status());
  }
  ASSIGN_OR_RETURN(bool behind, std::move(history));
  if (behind) {
    // The trusted checkpoint stays; it must still be fresh enough.
    cp = *trusted;
    note = state_->trusted_checkpoint;
  }
  uint64_t now = clock_->NowMillis();
  if (now > cp.timestamp_ms + state_->policy.max_checkpoint_age_ms) {
    return alerts_->Refuse(
        Refusal::kStaleLog,
        absl::FailedPreconditionError("the log's latest checkpoint is stale"),
        "", CheckpointId(cp),
        absl::StrCat("the latest checkpoint is ",
                     (now - cp.timestamp_ms) / 1000,
                     " s old; the log may be hiding newer entries"),
        {{"checkpoint", note}, {"client_time_ms", now}});
  }
  // Not smaller, not older, consistent: trust it (a fresher heartbeat, or
  // the same checkpoint with more cosignatures, replaces the trusted note).
  state_->trusted_checkpoint = note;
  if (!state_->seen_checkpoint.empty()) {
    ASSIGN_OR_RETURN(LogPublicKey key, PinnedLogKey(*state_));
    absl::StatusOr<LogCheckpoint> seen =
        OpenLogCheckpoint(state_->seen_checkpoint, key.checkpoint_key);
    if (seen.ok() && cp.size >= seen->size) state_->seen_checkpoint.clear();
  }
  return cp;
}

absl::Status CheckpointTrust::CheckCosignatures(const std::string& note_text,
                                                const LogCheckpoint& cp) {
  const CheckingPolicy& policy = state_->policy;
  ASSIGN_OR_RETURN(Note note, ParseNote(note_text));
  uint64_t now_s = clock_->NowMillis() / 1000;
  uint64_t skew_s = policy.max_future_skew_ms / 1000;
  uint32_t valid = 0;
  // Each witness key counts once, whatever names it is listed under (a
  // cosignature does not sign the name); CheckWitnessPolicy refuses such
  // policies, this keeps the count right even for one that slipped in.
  std::set<std::string> counted;
  for (const std::string& text : policy.witnesses) {
    ASSIGN_OR_RETURN(NoteVerifierKey witness, NoteVerifierKey::Parse(text));
    if (!counted.insert(witness.key.bytes()).second) continue;
    absl::StatusOr<uint64_t> time_s = VerifyCosignature(note, witness);
    if (FindSignature(note, witness) != nullptr && !time_s.ok()) {
      // C2SP: a signature by a known key that fails rejects the note.
      return alerts_->Refuse(
          Refusal::kBadSignature,
          absl::UnauthenticatedError(time_s.status().message()), "",
          Sha256(note_text).ToHex(),
          absl::StrCat("a cosignature by witness ", witness.name,
                       " does not verify: ", time_s.status().message()),
          {{"checkpoint", note_text}});
    }
    // In seconds, without multiplying: a time near 2^64 must not wrap.
    if (time_s.ok() && (*time_s <= now_s || *time_s - now_s <= skew_s)) {
      ++valid;
    }
  }
  if (valid < policy.witness_quorum) {
    return alerts_->Refuse(
        Refusal::kMissingCosignatures,
        absl::FailedPreconditionError(
            "not enough witnesses cosigned the checkpoint"),
        "", CheckpointId(cp),
        absl::StrCat("the checkpoint of size ", cp.size, " has ", valid,
                     " valid cosignature(s) from your witnesses; ",
                     policy.witness_quorum, " are required"),
        {{"checkpoint", note_text}});
  }
  return absl::OkStatus();
}

}  // namespace ktlog
