#include "client/ktctl_context.h"

#include <cstdio>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "core/util/bytes.h"
#include "core/util/clock.h"
#include "core/util/status_macros.h"

namespace ktlog {

void Context::AddGlobalFlags(FlagSet* flags) {
  flags->String("state", &globals_.state_dir,
                "state directory (default: $KTCTL_STATE or ~/.ktctl)");
  flags->String("server", &globals_.server, "log server host:port");
  flags->Bool("json", &globals_.json, "print JSON for scripts");
  flags->Duration("timeout", &globals_.timeout, "per-call timeout");
}

LogClient* Context::client() {
  if (client_ == nullptr) {
    client_ = LogClient::Create(globals_.server, globals_.timeout);
  }
  return client_.get();
}

absl::StatusOr<ClientState*> Context::state() {
  if (!state_.has_value()) {
    ASSIGN_OR_RETURN(ClientState s, LoadClientState(globals_.state_dir));
    state_ = std::move(s);
  }
  return &*state_;
}

absl::Status Context::SaveState() {
  if (!state_.has_value()) return absl::OkStatus();
  return SaveClientState(globals_.state_dir, *state_);
}

absl::StatusOr<ClientVerifier*> Context::verifier() {
  if (verifier_ == nullptr) {
    ASSIGN_OR_RETURN(ClientState * s, state());
    verifier_ = std::make_unique<ClientVerifier>(s, client(), RealClock::Get());
  }
  return verifier_.get();
}

absl::StatusOr<LogCheckpoint> Context::RefreshCheckpoint() {
  ASSIGN_OR_RETURN(ClientVerifier * v, verifier());
  absl::StatusOr<LogCheckpoint> cp = v->UpdateCheckpoint();
  RETURN_IF_ERROR(SaveState());
  return cp;
}

std::string Context::Path(const std::string& file) const {
  return globals_.state_dir + "/" + file;
}

void Context::PrintAlertsHuman() {
  if (verifier_ == nullptr) return;
  const std::vector<Alert>& raised = verifier_->raised();
  for (; alerts_printed_ < raised.size(); ++alerts_printed_) {
    const Alert& a = raised[alerts_printed_];
    std::cerr << "ALERT " << AlertTypeName(a.type) << " [" << a.id << "]"
              << (a.account.empty() ? "" : " " + a.account) << ": " << a.message
              << std::endl;
  }
}

void Context::Print(const std::string& human, nlohmann::json json) {
  if (globals_.json) {
    if (json.is_object() && verifier_ != nullptr &&
        !verifier_->raised().empty()) {
      nlohmann::json alerts = nlohmann::json::array();
      for (const Alert& a : verifier_->raised()) alerts.push_back(a.ToJson());
      json["alerts"] = alerts;
    }
    std::cout << json.dump() << std::endl;
  } else {
    PrintAlertsHuman();
    std::cout << human;
    if (!human.empty() && human.back() != '\n') std::cout << "\n";
    std::cout.flush();
  }
}

int Context::Fail(const absl::Status& status) {
  int code;
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      code = kExitUnreachable;
      break;
    case absl::StatusCode::kDataLoss:
    case absl::StatusCode::kUnauthenticated:
      code = kExitVerification;
      break;
    default:
      code = kExitFailed;
  }
  bool alerted = verifier_ != nullptr && !verifier_->raised().empty();
  if (alerted) code = kExitVerification;
  if (globals_.json) {
    nlohmann::json j;
    j["error"] = std::string(absl::StatusCodeToString(status.code()));
    j["message"] = std::string(status.message());
    if (alerted) {
      j["alerts"] = nlohmann::json::array();
      for (const Alert& a : verifier_->raised())
        j["alerts"].push_back(a.ToJson());
    }
    std::cout << j.dump() << std::endl;
  } else {
    PrintAlertsHuman();
    std::cerr << "ktctl: " << status.message() << std::endl;
  }
  return code;
}

int Context::Done() {
  return verifier_ != nullptr && !verifier_->raised().empty()
             ? kExitVerification
             : kExitOk;
}

bool ParseCommandFlags(Context& ctx, FlagSet& flags,
                       const std::vector<std::string>& args,
                       std::vector<std::string>* positional, int* exit) {
  ctx.AddGlobalFlags(&flags);
  absl::StatusOr<std::vector<std::string>> parsed = flags.Parse(args);
  if (!parsed.ok()) {
    std::cerr << "ktctl: " << parsed.status().message() << "\n";
    *exit = kExitUsage;
    return false;
  }
  if (flags.help_requested()) {
    std::cout << flags.Help();
    *exit = kExitOk;
    return false;
  }
  *positional = *std::move(parsed);
  return true;
}

nlohmann::json CheckpointJson(const LogCheckpoint& cp) {
  return {{"origin", cp.origin},
          {"size", cp.size},
          {"root", cp.root.ToHex()},
          {"index_root", cp.index_root.ToHex()},
          {"timestamp_ms", cp.timestamp_ms}};
}

nlohmann::json RecordJson(const DeviceRecord& r) {
  return {{"operation", std::string(OperationName(r.operation))},
          {"account_id", r.account_id},
          {"device_id", r.device_id},
          {"key", HexEncode(r.key)},
          {"account_version", r.account_version},
          {"timestamp_ms", r.timestamp_ms},
          {"account_key", HexEncode(r.account_key)}};
}

std::string RecordText(const DeviceRecord& r) {
  return absl::StrCat(OperationName(r.operation), " account=", r.account_id,
                      r.device_id.empty() ? "" : " device=", r.device_id,
                      " version=", r.account_version,
                      " key=", HexEncode(r.key).substr(0, 16), "…");
}

}  // namespace ktlog
