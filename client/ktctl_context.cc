#include "client/ktctl_context.h"

#include <cstdio>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

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

absl::StatusOr<NoteVerifierKey> Context::log_key() {
  ASSIGN_OR_RETURN(ClientState * s, state());
  return NoteVerifierKey::Parse(s->log_verifier_key);
}

absl::StatusOr<LogCheckpoint> Context::RefreshCheckpoint() {
  ASSIGN_OR_RETURN(ClientState * s, state());
  ASSIGN_OR_RETURN(NoteVerifierKey key, log_key());
  std::optional<LogCheckpoint> trusted;
  if (!s->trusted_checkpoint.empty()) {
    ASSIGN_OR_RETURN(trusted, OpenLogCheckpoint(s->trusted_checkpoint, key));
  }
  ASSIGN_OR_RETURN(std::string note, client()->GetCheckpoint());
  // Open it first to learn its size for the proof request.
  absl::StatusOr<LogCheckpoint> candidate = OpenLogCheckpoint(note, key);
  std::vector<Hash> proof;
  if (candidate.ok() && trusted.has_value() && trusted->size > 0 &&
      candidate->size > trusted->size) {
    ASSIGN_OR_RETURN(
        proof, client()->GetConsistencyProof(trusted->size, candidate->size));
  }
  ASSIGN_OR_RETURN(CheckpointUpdate update,
                   CheckCheckpoint(key, trusted, note, proof));
  if (update.advanced || s->trusted_checkpoint.empty()) {
    s->trusted_checkpoint = note;
    RETURN_IF_ERROR(SaveState());
  }
  return update.checkpoint;
}

void Context::Print(const std::string& human, const nlohmann::json& json) {
  if (globals_.json) {
    std::cout << json.dump() << std::endl;
  } else {
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
  if (globals_.json) {
    nlohmann::json j;
    j["error"] = std::string(absl::StatusCodeToString(status.code()));
    j["message"] = std::string(status.message());
    std::cout << j.dump() << std::endl;
  } else {
    std::cerr << "ktctl: " << status.message() << std::endl;
  }
  return code;
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

}  // namespace ktlog
