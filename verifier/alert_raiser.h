// AlertRaiser: where the verifier's parts raise alerts into the client
// state (deduplicated by id: the same evidence is one alert), and remember
// which they raised, for the caller to show and for its exit code.
// Not thread-safe.
#ifndef KTLOG_VERIFIER_ALERT_RAISER_H_
#define KTLOG_VERIFIER_ALERT_RAISER_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/note/checkpoint.h"
#include "core/util/clock.h"
#include "nlohmann/json.hpp"
#include "verifier/alerts.h"
#include "verifier/client_state.h"
#include "verifier/refusal.h"

namespace ktlog {

// The part of an alert's id that names a checkpoint: "size:root".
std::string CheckpointId(const LogCheckpoint& checkpoint);

class AlertRaiser {
 public:
  // Borrows both; they must outlive this object.
  AlertRaiser(ClientState* state, const Clock* clock)
      : state_(state), clock_(clock) {}

  // Appends the alert to the state unless one with the same id (type,
  // account, `dedup_key`) is there; the pinned log key joins the evidence.
  void Raise(AlertType type, const std::string& account,
             const std::string& dedup_key, const std::string& message,
             nlohmann::json evidence);
  // Raises AlertFor(refusal) (the refusal's name in the evidence) and
  // returns `status` carrying `refusal`.
  absl::Status Refuse(Refusal refusal, absl::Status status,
                      const std::string& account, const std::string& dedup_key,
                      const std::string& message, nlohmann::json evidence);

  // The alerts this object raised (new ones only, not duplicates).
  const std::vector<Alert>& raised() const { return raised_; }
  // Whether a reason for an alert was found, new or raised before.
  bool alert_found() const { return alert_found_; }

 private:
  ClientState* const state_;
  const Clock* const clock_;
  std::vector<Alert> raised_;
  bool alert_found_ = false;
};

}  // namespace ktlog

#endif  // KTLOG_VERIFIER_ALERT_RAISER_H_
