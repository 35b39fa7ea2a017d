// The ktctl framework: the command table, the one place that parses a
// command's flags, runs it, prints its answer (human or --json), turns a
// status into an exit code, and saves the client state. Commands
// (ktctl_account.cc, ktctl_trust.cc, ktctl_log.cc) only say what they do.
#ifndef KTLOG_CLIENT_KTCTL_FRAMEWORK_H_
#define KTLOG_CLIENT_KTCTL_FRAMEWORK_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/log_client.h"
#include "client/log_feed.h"
#include "client/tiles_client.h"
#include "core/account/record.h"
#include "core/note/checkpoint.h"
#include "core/util/flags.h"
#include "nlohmann/json.hpp"
#include "proto/tls.h"
#include "verifier/client_state.h"
#include "verifier/client_verifier.h"
#include "verifier/own_account.h"
#include "verifier/security_key_device.h"
#include "verifier/stores.h"

namespace ktlog {

// ktctl's documented exit codes (docs/ktctl.md).
enum ExitCode {
  kExitOk = 0,
  kExitFailed = 1,        // the operation failed (rejected, not found, ...)
  kExitUsage = 2,         // bad command line
  kExitVerification = 3,  // an answer did not verify, or an alert was raised
  kExitUnreachable = 4,   // the log could not be reached in time
};

// Opens the security key at `path` ("" for the first FIDO2 key plugged
// in), waiting at most `touch_timeout` for a touch. ktctl's is libfido2's
// (OpenFido2Key); the tests' ktctl also opens software keys in files.
using SecurityKeyOpener =
    std::function<absl::StatusOr<std::unique_ptr<SecurityKeyDevice>>(
        const std::string& path, absl::Duration touch_timeout)>;
absl::StatusOr<std::unique_ptr<SecurityKeyDevice>> OpenFido2Key(
    const std::string& path, absl::Duration touch_timeout);

// ktctl's main, with `opener` for security keys.
int KtctlMain(int argc, char** argv, SecurityKeyOpener opener);

// The exit code for a command that ended with `status` (OK included),
// having raised alerts or not. The one mapping of ktctl's exit codes.
int ExitCodeFor(const absl::Status& status, bool alerted);

// A usage error: exit code 2, with the command's help.
absl::Status UsageError(absl::string_view message);

struct Globals {
  std::string state_dir;
  std::string server = "127.0.0.1:8020";
  // Read the public log from its C2SP tiles at this URL (empty: gRPC).
  std::string tiles;
  bool json = false;
  absl::Duration timeout = absl::Seconds(10);
  // Write commands and monitor: how long to wait for the witnesses to
  // cosign a checkpoint covering the own records not verified yet.
  absl::Duration wait = absl::ZeroDuration();
  ClientTls tls;  // --ca_file, --plaintext
  // The security key to touch for a write of an account on security keys
  // ("": the first one plugged in), and how long to wait for the touch.
  std::string security_key;
  absl::Duration touch_timeout = absl::Seconds(30);
  SecurityKeyOpener open_security_key;
};

// What a command prints when it succeeds: `human` (a line or more), or
// `json` with --json.
struct Output {
  std::string human;
  nlohmann::json json;
  // Exit code on success (codes differ: exit 1 without an error).
  int exit_code = kExitOk;
};

// What a command may use: the log, the client state (loaded on first use
// and saved by the framework when the command ends) and the verifier.
class Context {
 public:
  explicit Context(Globals g);
  ~Context();

  const Globals& globals() const { return globals_; }
  // Registers the global flags on a flag set.
  void AddGlobalFlags(FlagSet* flags);

  // The log's gRPC client, made on first use (commands that only read the
  // state never read the TLS settings): an error if the CA file is
  // unusable.
  absl::StatusOr<LogClient*> client();
  // The public log: from the tiles with --tiles, else over gRPC.
  absl::StatusOr<LogFeed*> feed();
  // The state (loaded once); NOT_FOUND / FAILED_PRECONDITION if missing or
  // unusable.
  absl::StatusOr<ClientState*> state();
  absl::StatusOr<ClientVerifier*> verifier();
  // Saves the state now. The framework saves it after every command; call
  // this only where a crash must not lose what was just decided (before
  // sending a signed record).
  absl::Status SaveState();
  // Saves the state and lets go of it (and of the state dir's lock: one
  // ktctl at a time holds it, from the state's first use); the next use
  // loads it again. For commands that run long (monitor --follow).
  absl::Status Release();

  // Fetches and checks the latest checkpoint (ClientVerifier) and returns
  // the trusted checkpoint.
  absl::StatusOr<LogCheckpoint> RefreshCheckpoint();

  // The owner's side of the client library (verifier/own_account.h) over
  // the state dir's stores and the log.
  absl::StatusOr<OwnAccount*> own();
  // Whether this command used own() (it wrote or monitored the account).
  bool own_used() const { return own_ != nullptr; }
  // The security key --security_key names (opened once): the user is
  // asked on stderr to touch it when it signs.
  absl::StatusOr<SecurityKeyDevice*> security_key();
  // Opens another security key (setup and add enroll several).
  absl::StatusOr<std::unique_ptr<SecurityKeyDevice>> OpenSecurityKey(
      const std::string& path);

  // Checks the own account until no record of ours waits for verification
  // (the witnesses cosigned a checkpoint that covers it) or `deadline`
  // passes, asking every 100 ms; until then, a log with no checkpoint the
  // witnesses cosigned yet (or unreachable) is waited for too.
  absl::Status VerifyOwnRecords(absl::Time deadline);
  std::string Path(const std::string& file) const;

  // The alerts raised during this command.
  std::vector<Alert> Raised() const;
  // Whether the command found a reason for an alert, new or raised before.
  bool AlertFound() const;

 private:
  Globals globals_;
  // Opens the tiles client (with --tiles; else leaves tiles_ null).
  absl::Status OpenTiles();

  std::unique_ptr<LogClient> client_;
  std::unique_ptr<TilesClient> tiles_;
  std::unique_ptr<LogFeed> feed_;
  std::optional<ClientState> state_;
  int lock_fd_ = -1;  // <state dir>/state.lock, held while state_ is
  class LazyLog;
  std::unique_ptr<LazyLog> log_;
  std::unique_ptr<ClientVerifier> verifier_;
  std::unique_ptr<DirStateStore> store_;
  std::unique_ptr<FileAccountKeyStore> keys_;
  std::unique_ptr<OwnAccount> own_;
  std::unique_ptr<SecurityKeyDevice> security_key_;
};

// One ktctl command: a name, help, its flags (members of the subclass) and
// what it does.
class Command {
 public:
  virtual ~Command() = default;
  virtual const char* name() const = 0;
  // One line for `ktctl --help`.
  virtual const char* summary() const = 0;
  // The command's --help text (usage lines and a description).
  virtual const char* usage() const = 0;
  virtual void AddFlags(FlagSet*) {}
  // Runs with the positional arguments. Errors become the exit code
  // (ExitCodeFor); UsageError for a bad command line.
  virtual absl::StatusOr<Output> Run(Context& ctx,
                                     const std::vector<std::string>& args) = 0;
};

using CommandTable = std::vector<std::unique_ptr<Command>>;

// The commands, registered by the files that implement them.
void AddAccountCommands(CommandTable* table);
void AddTrustCommands(CommandTable* table);
void AddLogCommands(CommandTable* table);
void AddBackupCommands(CommandTable* table);

// With automatic backups on (`ktctl backup automatic on`), backs the
// state up if it holds trust its latest backup lacks
// (verifier/trust_backup.h's TrustFingerprint) and no record of its own
// awaits the witnesses; says on stderr what it did or why not, and never
// fails the command. RunCommand calls it after each command that wrote or
// monitored the account (ktctl_backup.cc).
void AutomaticBackup(Context& ctx);

// For the commands that write the own account (ktctl_account.cc implements
// them; ktctl_backup.cc uses them too).
//
// Runs a write of the own account (verifier/own_account.h has the rules)
// with --wait: first lets the witnesses cover the own records not verified
// yet (a new record builds on the verified account), then waits for them
// to cover the new one. On security keys a touch authorizes the change,
// unless `touch` is false (a reset: every key is lost).
absl::StatusOr<OwnAccount::Written> Publish(
    Context& ctx,
    const std::function<absl::StatusOr<OwnAccount::Written>(OwnAccount*)>&
        write,
    bool touch = true);
// The answer of a write command: `human`, whether it is verified yet, then
// `tail`.
Output Describe(const std::string& human, const OwnAccount::Written& w,
                nlohmann::json extra = {}, const std::string& tail = "");

// The first line of the file `path`, or of standard input for "-", its
// line end dropped (nothing else: a passphrase may have spaces at its
// ends): how every secret or credential a command takes is read. A usage
// error naming `what` if it is empty; FAILED_PRECONDITION for a file that
// cannot be read or holds more than 4 KiB.
absl::StatusOr<std::string> ReadLineArgument(const std::string& path,
                                             const char* what);

// --credential_file (and the refused --credential) of the commands that
// take an operator's credential.
class CredentialFlags {
 public:
  // `what` names the credential in the flag's help.
  void Add(FlagSet* f, const char* what);
  // The credential from --credential_file, or "" without one; a usage
  // error for --credential or a file that holds no credential.
  absl::StatusOr<std::string> Read() const;

 private:
  std::string file_, flag_;
};

// Parses the command's flags and runs it: prints its output, or its error
// and the alerts raised, saves the state, and returns the exit code.
int RunCommand(Command& command, Context& ctx,
               const std::vector<std::string>& args);

// A time in milliseconds since 1970 as ktctl prints it: ISO 8601, UTC,
// milliseconds ("2026-12-06T17:28:15.261Z").
std::string TimeText(uint64_t ms);

// One-line human rendering and JSON of a record and a checkpoint.
std::string RecordText(const DeviceRecord& r);
nlohmann::json RecordJson(const DeviceRecord& r);
nlohmann::json CheckpointJson(const LogCheckpoint& cp);

}  // namespace ktlog

#endif  // KTLOG_CLIENT_KTCTL_FRAMEWORK_H_
