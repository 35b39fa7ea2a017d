// CheckpointTrust: which checkpoint of the pinned log the client trusts
// (docs/verifier.md, "Checkpoints"). A checkpoint is trusted only if it is
// signed by the pinned key, cosigned by the policy's quorum of witnesses
// (if any), dated within the policy's bounds, and consistent with the one
// trusted before and the one seen before; trust only moves forward. A
// checkpoint that fails raises the matching alert with its evidence and
// its refusal (verifier/refusal.h) on the error. Not thread-safe.
#ifndef KTLOG_VERIFIER_CHECKPOINT_TRUST_H_
#define KTLOG_VERIFIER_CHECKPOINT_TRUST_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "core/note/checkpoint.h"
#include "core/note/succession.h"
#include "core/util/clock.h"
#include "verifier/alert_raiser.h"
#include "verifier/client_state.h"
#include "verifier/log_source.h"

namespace ktlog {

class CheckpointTrust {
 public:
  // Borrows everything; all must outlive this object.
  CheckpointTrust(ClientState* state, LogSource* log, const Clock* clock,
                  AlertRaiser* alerts)
      : state_(state), log_(log), clock_(clock), alerts_(alerts) {}

  // Fetches the latest checkpoint (with a witness quorum in the policy: the
  // newest one the quorum cosigned) and trusts it if it passes every rule;
  // returns it. A checkpoint older than the trusted one but consistent with
  // it (from a read replica that has not caught up) is no evidence against
  // the log: the trusted one is returned, and stays. When rejected, an alert
  // is raised and the error says why:
  // UNAUTHENTICATED (BAD_SIGNATURE), DATA_LOSS (FORK, ROLLBACK),
  // INVALID_ARGUMENT (BAD_CONSISTENCY_PROOF, MALFORMED_ANSWER),
  // FAILED_PRECONDITION (BAD_TIMESTAMP, STALE_LOG, MISSING_COSIGNATURES).
  // Errors of the log source (UNAVAILABLE, ...) pass through, as does the
  // absence of any checkpoint the quorum cosigned yet (UNAVAILABLE, no
  // alert: witnesses run on their own schedule); if the trusted checkpoint
  // is older than the policy allows, STALE_LOG is raised too.
  absl::StatusOr<LogCheckpoint> Update();

  // The trusted checkpoint, if any.
  absl::StatusOr<std::optional<LogCheckpoint>> Trusted() const;

 private:
  // Steps of Update: fetch (STALE_LOG if unreachable for too long), open
  // and check signatures, cosignatures and time, then check it against the
  // trusted and the seen checkpoint.
  absl::StatusOr<std::string> FetchCheckpoint(
      const std::optional<LogCheckpoint>& trusted);
  // STALE_LOG if the trusted checkpoint is older than the policy allows and
  // no newer one could be fetched (or proved) because of `why`.
  void RaiseIfStale(const std::optional<LogCheckpoint>& trusted,
                    const absl::Status& why);
  absl::StatusOr<LogCheckpoint> OpenChecked(const std::string& note);
  // True if `cp` is behind the trusted checkpoint (Succession::kBehind: a
  // read replica that has not caught up), which then stays trusted.
  absl::StatusOr<bool> CheckHistory(const std::optional<LogCheckpoint>& trusted,
                                    const LogCheckpoint& cp,
                                    const std::string& note);
  // Raises the alert for a failed succession check of `cp` (from `note`)
  // against `trusted` (from `trusted_note`) and returns the matching error.
  absl::Status RaiseSuccession(const SuccessionCheck& check,
                               const std::string& trusted_note,
                               const LogCheckpoint& trusted,
                               const LogCheckpoint& cp,
                               const std::string& note);
  // The policy's k-of-n witness rule for a checkpoint note.
  absl::Status CheckCosignatures(const std::string& note_text,
                                 const LogCheckpoint& cp);

  ClientState* const state_;
  LogSource* const log_;
  const Clock* const clock_;
  AlertRaiser* const alerts_;
};

}  // namespace ktlog

#endif  // KTLOG_VERIFIER_CHECKPOINT_TRUST_H_
