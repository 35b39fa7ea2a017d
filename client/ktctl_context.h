// Shared plumbing of the ktctl commands: global flags, output (human or
// --json), exit codes, and the verified-checkpoint step every command that
// talks to the log starts with.
#ifndef KTLOG_CLIENT_KTCTL_CONTEXT_H_
#define KTLOG_CLIENT_KTCTL_CONTEXT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "client/log_client.h"
#include "core/flags.h"
#include "nlohmann/json.hpp"
#include "verifier/client_state.h"
#include "verifier/trust.h"

namespace ktlog {

// ktctl's documented exit codes (docs/ktctl.md).
enum ExitCode {
  kExitOk = 0,
  kExitFailed = 1,        // the operation failed (rejected, not found, ...)
  kExitUsage = 2,         // bad command line
  kExitVerification = 3,  // the log's answer did not verify: evidence
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
  // Loads the state (once); error if missing or corrupted.
  absl::StatusOr<ClientState*> state();
  absl::Status SaveState();
  absl::StatusOr<NoteVerifierKey> log_key();

  // Fetches the latest checkpoint, checks it against the trusted one
  // (consistency proof) and makes it the trusted one. Returns it.
  absl::StatusOr<LogCheckpoint> RefreshCheckpoint();

  // Prints `human` (a line or more), or `json` with --json.
  void Print(const std::string& human, const nlohmann::json& json);
  // Prints an error (stderr, or a JSON object on stdout with --json) and
  // returns the exit code that fits its status code.
  int Fail(const absl::Status& status);

 private:
  Globals globals_;
  std::unique_ptr<LogClient> client_;
  std::optional<ClientState> state_;
};

// Runs a command's flag parsing; on --help prints help and returns
// kExitOk via *exit; on error prints it and returns kExitUsage.
bool ParseCommandFlags(Context& ctx, FlagSet& flags,
                       const std::vector<std::string>& args,
                       std::vector<std::string>* positional, int* exit);

}  // namespace ktlog

#endif  // KTLOG_CLIENT_KTCTL_CONTEXT_H_
