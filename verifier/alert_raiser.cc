#include "verifier/alert_raiser.h"

#include "absl/strings/str_cat.h"

namespace ktlog {

std::string CheckpointId(const LogCheckpoint& cp) {
  return absl::StrCat(cp.size, ":", cp.root.ToHex());
}

void AlertRaiser::Raise(AlertType type, const std::string& account,
                        const std::string& dedup_key,
                        const std::string& message, nlohmann::json evidence) {
  alert_found_ = true;
  Alert a;
  a.type = type;
  a.account = account;
  a.SetId(dedup_key);
  for (const Alert& old : state_->alerts) {
    if (old.id == a.id) return;
  }
  a.raised_at_ms = clock_->NowMillis();
  a.message = message;
  a.evidence = std::move(evidence);
  a.evidence["log_key"] = state_->log_key;
  state_->alerts.push_back(a);
  raised_.push_back(std::move(a));
}

absl::Status AlertRaiser::Refuse(Refusal refusal, absl::Status status,
                                 const std::string& account,
                                 const std::string& dedup_key,
                                 const std::string& message,
                                 nlohmann::json evidence) {
  evidence["reason"] = std::string(RefusalName(refusal));
  Raise(AlertFor(refusal), account, dedup_key, message, std::move(evidence));
  return WithRefusal(std::move(status), refusal);
}

}  // namespace ktlog
