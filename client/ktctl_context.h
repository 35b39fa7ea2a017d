// Shared plumbing of the ktctl commands: global flags, output (human or
// --json), exit codes, the client state and the ClientVerifier every
// command that talks to the log goes through.
#ifndef KTLOG_CLIENT_KTCTL_CONTEXT_H_
#define KTLOG_CLIENT_KTCTL_CONTEXT_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "client/log_client.h"
#include "core/util/flags.h"
#include "nlohmann/json.hpp"
#include "verifier/client_state.h"
#include "verifier/client_verifier.h"

namespace ktlog {

// ktctl's documented exit codes (docs/ktctl.md).
enum ExitCode {
  kExitOk = 0,
  kExitFailed = 1,        // the operation failed (rejected, not found, ...)
  kExitUsage = 2,         // bad command line
  kExitVerification = 3,  // an answer did not verify, or an alert was raised
  kExitUnreachable = 4,   // the log could not be reached in time
};

struct Globals {
  std::string state_dir;
  std::string server = "127.0.0.1:8020";
  bool json = false;
  absl::Duration timeout = absl::Seconds(10);
};

class Context {
 public:
  explicit Context(Globals g) : globals_(std::move(g)) {}

  const Globals& globals() const { return globals_; }
  // Registers the global flags on a command's flag set.
  void AddGlobalFlags(FlagSet* flags);

  LogClient* client();
  // Loads the state (once); NOT_FOUND / FAILED_PRECONDITION if missing or
  // unusable.
  absl::StatusOr<ClientState*> state();
  absl::Status SaveState();
  absl::StatusOr<ClientVerifier*> verifier();

  // Fetches and checks the latest checkpoint (ClientVerifier), saves the
  // state (with any alert raised) and returns the trusted checkpoint.
  absl::StatusOr<LogCheckpoint> RefreshCheckpoint();

  // The account's private key (recovering an interrupted rotation: see
  // ktctl_account.cc).
  absl::StatusOr<Ed25519PrivateKey> AccountKey();
  std::string Path(const std::string& file) const;

  // Prints `human` (a line or more), or `json` with --json. New alerts
  // raised during the command are printed too (human: on stderr; JSON: as
  // an "alerts" member when `json` is an object).
  void Print(const std::string& human, nlohmann::json json);
  // Prints an error (stderr, or a JSON object on stdout with --json) and
  // returns the exit code that fits its status code.
  int Fail(const absl::Status& status);
  // kExitVerification if the command raised an alert, else kExitOk.
  int Done();

 private:
  void PrintAlertsHuman();

  Globals globals_;
  std::unique_ptr<LogClient> client_;
  std::optional<ClientState> state_;
  std::unique_ptr<ClientVerifier> verifier_;
  size_t alerts_printed_ = 0;
};

// Runs a command's flag parsing; on --help prints help and returns false
// with *exit = kExitOk; on error prints it, *exit = kExitUsage.
bool ParseCommandFlags(Context& ctx, FlagSet& flags,
                       const std::vector<std::string>& args,
                       std::vector<std::string>* positional, int* exit);

// One-line human rendering and JSON of a record.
std::string RecordText(const DeviceRecord& r);
nlohmann::json RecordJson(const DeviceRecord& r);
nlohmann::json CheckpointJson(const LogCheckpoint& cp);

}  // namespace ktlog

#endif  // KTLOG_CLIENT_KTCTL_CONTEXT_H_
