#include "client/ktctl_framework.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "core/util/bytes.h"
#include "core/util/clock.h"
#include "core/util/json_util.h"
#include "core/util/status_macros.h"
#include "verifier/fido2/fido2_device.h"
#include "verifier/refusal.h"

namespace ktlog {
namespace {

constexpr char kUsagePayload[] = "type.ktlog.dev/ktctl-usage";

bool IsUsageError(const absl::Status& s) {
  return s.GetPayload(kUsagePayload).has_value();
}

nlohmann::json AlertsJson(const std::vector<Alert>& alerts) {
  nlohmann::json j = nlohmann::json::array();
  for (const Alert& a : alerts) j.push_back(a.ToJson());
  return j;
}

void PrintAlertsHuman(const std::vector<Alert>& alerts) {
  for (const Alert& a : alerts) {
    std::cerr << "ALERT " << AlertTypeName(a.type) << " [" << a.id.substr(0, 16)
              << "]" << (a.account.empty() ? "" : " " + a.account) << ": "
              << a.message << std::endl;
  }
}

void PrintOutput(const Globals& g, Output out,
                 const std::vector<Alert>& alerts) {
  if (g.json) {
    if (out.json.is_object() && !alerts.empty()) {
      out.json["alerts"] = AlertsJson(alerts);
    }
    std::cout << JsonText(out.json) << std::endl;
    return;
  }
  PrintAlertsHuman(alerts);
  std::cout << out.human;
  if (!out.human.empty() && out.human.back() != '\n') std::cout << "\n";
  std::cout.flush();
}

void PrintError(const Globals& g, const absl::Status& status,
                const std::vector<Alert>& alerts) {
  if (g.json) {
    nlohmann::json j;
    j["error"] = std::string(absl::StatusCodeToString(status.code()));
    j["message"] = std::string(status.message());
    if (!alerts.empty()) j["alerts"] = AlertsJson(alerts);
    std::cout << JsonText(j) << std::endl;
    return;
  }
  PrintAlertsHuman(alerts);
  std::cerr << "ktctl: " << status.message() << std::endl;
}

}  // namespace

int ExitCodeFor(const absl::Status& status, bool alerted) {
  if (alerted || IsVerificationFailure(RefusalOf(status))) {
    return kExitVerification;
  }
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return kExitOk;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return kExitUnreachable;
    case absl::StatusCode::kDataLoss:
    case absl::StatusCode::kUnauthenticated:
      return kExitVerification;
    default:
      return kExitFailed;
  }
}

absl::Status UsageError(absl::string_view message) {
  absl::Status s = absl::InvalidArgumentError(message);
  s.SetPayload(kUsagePayload, absl::Cord("usage"));
  return s;
}

void Context::AddGlobalFlags(FlagSet* flags) {
  flags->String("state", &globals_.state_dir,
                "state directory (default: $KTCTL_STATE or ~/.ktctl)");
  flags->String("server", &globals_.server, "log server host:port");
  flags->String("tiles", &globals_.tiles,
                "read checkpoints, proofs and entries from the log's C2SP "
                "tiles at this http[s]:// URL (lookups and writes still use "
                "--server)");
  flags->Bool("http_tiles", &globals_.tls.http_tiles,
              "accept an http:// --tiles URL while the log itself uses TLS "
              "(proofs from tiles are checked against the trusted checkpoint; "
              "nothing from tiles raises an alert)");
  flags->Bool("json", &globals_.json, "print JSON for scripts");
  globals_.tls.AddFlags(flags);
  flags->Duration("timeout", &globals_.timeout, "per-call timeout");
  flags->String("security_key", &globals_.security_key,
                "the security key to touch when your account is on security "
                "keys: its hidraw path (`ktctl security-key devices`; "
                "default: the first FIDO2 key plugged in)");
  flags->Duration("touch_timeout", &globals_.touch_timeout,
                  "how long to wait for a touch of the security key");
  flags->Duration("wait", &globals_.wait,
                  "writes and monitor: wait up to this long for your "
                  "witnesses to cosign a checkpoint that covers your new "
                  "records, and verify them (0: do not wait)");
}

absl::StatusOr<LogClient*> Context::client() {
  if (client_ == nullptr) {
    ASSIGN_OR_RETURN(std::shared_ptr<grpc::ChannelCredentials> credentials,
                     GrpcChannelCredentials(globals_.tls, "ktctl"));
    client_ = LogClient::Create(globals_.server, globals_.timeout,
                                std::move(credentials));
  }
  return client_.get();
}

absl::Status Context::OpenTiles() {
  if (globals_.tiles.empty() || tiles_ != nullptr) return absl::OkStatus();
  absl::StatusOr<std::unique_ptr<TilesClient>> t =
      TilesClient::Create(globals_.tiles, globals_.timeout, &globals_.tls);
  if (!t.ok()) return UsageError(t.status().message());
  tiles_ = *std::move(t);
  return absl::OkStatus();
}

absl::StatusOr<LogFeed*> Context::feed() {
  if (feed_ == nullptr) {
    RETURN_IF_ERROR(OpenTiles());
    ASSIGN_OR_RETURN(LogClient * client, client());
    if (tiles_ != nullptr) {
      feed_ = std::make_unique<TilesFeed>(tiles_.get(), client);
    } else {
      feed_ = std::make_unique<GrpcFeed>(client);
    }
  }
  return feed_.get();
}

absl::StatusOr<ClientState*> Context::state() {
  if (!state_.has_value()) {
    // One ktctl at a time on a state dir: another's writes must not be
    // overwritten by a state loaded before them (a pending record lost is
    // a false alert). Waits for the other to finish.
    if (lock_fd_ < 0) {
      lock_fd_ =
          open(Path("state.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
      if (lock_fd_ >= 0 && flock(lock_fd_, LOCK_EX) != 0) {
        close(lock_fd_);
        lock_fd_ = -1;
      }
    }
    ASSIGN_OR_RETURN(ClientState s, LoadClientState(globals_.state_dir));
    state_ = std::move(s);
  }
  return &*state_;
}

absl::Status Context::Release() {
  absl::Status saved = SaveState();
  own_.reset();
  keys_.reset();
  store_.reset();
  verifier_.reset();
  state_.reset();
  if (lock_fd_ >= 0) close(lock_fd_);  // releases the lock
  lock_fd_ = -1;
  return saved;
}

absl::Status Context::SaveState() {
  if (!state_.has_value()) return absl::OkStatus();
  return SaveClientState(globals_.state_dir, *state_);
}

// The log client as a LogSource and LogSink made on first use, so that
// commands that only read the state never read the TLS settings.
class Context::LazyLog : public LogSource, public LogSink {
 public:
  explicit LazyLog(Context* ctx) : ctx_(ctx) {}
  absl::StatusOr<std::string> GetCheckpoint(
      uint32_t min_cosignatures,
      const std::vector<std::string>& witnesses) override {
    ASSIGN_OR_RETURN(LogClient * c, ctx_->client());
    return c->GetCheckpoint(min_cosignatures, witnesses);
  }
  absl::StatusOr<std::vector<Hash>> GetConsistencyProof(
      uint64_t size1, uint64_t size2) override {
    ASSIGN_OR_RETURN(LogClient * c, ctx_->client());
    return c->GetConsistencyProof(size1, size2);
  }
  absl::StatusOr<AccountLookupAnswer> LookupAccount(const std::string& id,
                                                    uint64_t size,
                                                    bool with_first) override {
    ASSIGN_OR_RETURN(LogClient * c, ctx_->client());
    return c->LookupAccount(id, size, with_first);
  }
  std::vector<absl::StatusOr<AccountLookupAnswer>> LookupAccounts(
      const std::vector<LookupAsk>& asks, uint64_t size) override {
    absl::StatusOr<LogClient*> c = ctx_->client();
    if (!c.ok()) {
      return std::vector<absl::StatusOr<AccountLookupAnswer>>(asks.size(),
                                                              c.status());
    }
    return (*c)->LookupAccounts(asks, size);
  }
  absl::StatusOr<AccountHistoryAnswer> GetAccountHistory(
      const std::string& id, uint64_t from, uint64_t size,
      const OwnerProof& owner) override {
    ASSIGN_OR_RETURN(LogClient * c, ctx_->client());
    return c->GetAccountHistory(id, from, size, owner);
  }
  absl::StatusOr<Appended> Append(Operation op, const std::string& record,
                                  const std::string& credential) override {
    ASSIGN_OR_RETURN(LogClient * c, ctx_->client());
    return c->Append(op, record, credential);
  }

 private:
  Context* ctx_;
};

Context::Context(Globals g) : globals_(std::move(g)) {}
Context::~Context() {
  if (lock_fd_ >= 0) close(lock_fd_);
}

absl::StatusOr<ClientVerifier*> Context::verifier() {
  if (verifier_ == nullptr) {
    ASSIGN_OR_RETURN(ClientState * s, state());
    // Checkpoints and consistency proofs come from the log itself, never
    // from tiles: an alert must rest on what the log authenticated, and a
    // mirror's changed or stale tile would otherwise raise one.
    log_ = std::make_unique<LazyLog>(this);
    verifier_ =
        std::make_unique<ClientVerifier>(s, log_.get(), RealClock::Get());
  }
  return verifier_.get();
}

absl::StatusOr<OwnAccount*> Context::own() {
  if (own_ == nullptr) {
    ASSIGN_OR_RETURN(ClientState * s, state());
    ASSIGN_OR_RETURN(ClientVerifier * v, verifier());
    store_ = std::make_unique<DirStateStore>(globals_.state_dir);
    keys_ = std::make_unique<FileAccountKeyStore>(globals_.state_dir);
    own_ = std::make_unique<OwnAccount>(s, store_.get(), keys_.get(),
                                        log_.get(), v, RealClock::Get());
    if (!globals_.security_key.empty()) {
      // Named on the command line: the key in use for any touch, also the
      // one-time grant of history access (docs/security-keys.md).
      ASSIGN_OR_RETURN(SecurityKeyDevice * key, security_key());
      own_->UseSecurityKey(key);
    }
  }
  return own_.get();
}

namespace {

// A security key's trouble (not plugged in, not touched) is the
// operation's failure (exit 1), not an unreachable log (exit 4).
absl::Status KeyTrouble(const absl::Status& s) {
  if (absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s)) {
    return absl::FailedPreconditionError(s.message());
  }
  return s;
}

template <class T>
absl::StatusOr<T> KeyTrouble(absl::StatusOr<T> r) {
  if (r.ok()) return r;
  return KeyTrouble(r.status());
}

// Asks the person at the terminal to touch the key before each operation.
class TouchPrompt : public SecurityKeyDevice {
 public:
  TouchPrompt(std::unique_ptr<SecurityKeyDevice> key, std::string name)
      : key_(std::move(key)), name_(std::move(name)) {}
  absl::StatusOr<SecurityKey> MakeCredential(
      const std::string& rp_id, const std::string& account_id,
      KeyAlgorithm algorithm,
      const std::vector<std::string>& exclude) override {
    std::cerr << "ktctl: touch your security key " << name_
              << " to make a credential for " << rp_id << "\n";
    return KeyTrouble(
        key_->MakeCredential(rp_id, account_id, algorithm, exclude));
  }
  absl::StatusOr<KeyAssertion> GetAssertion(const std::string& rp_id,
                                            const std::vector<std::string>& ids,
                                            const Hash& cdh, bool uv) override {
    std::cerr << "ktctl: touch your security key " << name_
              << (ids.size() == 1 ? " again, to check it signs"
                                  : " to approve this change")
              << "\n";
    return KeyTrouble(key_->GetAssertion(rp_id, ids, cdh, uv));
  }
  absl::StatusOr<KeySecret> HmacSecret(const std::string& rp_id,
                                       const std::vector<std::string>& ids,
                                       absl::string_view salt) override {
    std::cerr << "ktctl: touch your security key " << name_
              << " (for its backup secret)\n";
    return KeyTrouble(key_->HmacSecret(rp_id, ids, salt));
  }

 private:
  std::unique_ptr<SecurityKeyDevice> key_;
  std::string name_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<SecurityKeyDevice>> Context::OpenSecurityKey(
    const std::string& path) {
  if (!globals_.open_security_key) {
    return absl::FailedPreconditionError("this ktctl cannot use security keys");
  }
  ASSIGN_OR_RETURN(
      std::unique_ptr<SecurityKeyDevice> key,
      KeyTrouble(globals_.open_security_key(path, globals_.touch_timeout)));
  return std::make_unique<TouchPrompt>(
      std::move(key), path.empty() ? "(the first found)" : path);
}

absl::StatusOr<SecurityKeyDevice*> Context::security_key() {
  if (security_key_ == nullptr) {
    ASSIGN_OR_RETURN(security_key_, OpenSecurityKey(globals_.security_key));
  }
  return security_key_.get();
}

absl::StatusOr<std::unique_ptr<SecurityKeyDevice>> OpenFido2Key(
    const std::string& path, absl::Duration touch_timeout) {
  std::string chosen = path;
  if (chosen.empty()) {
    ASSIGN_OR_RETURN(std::vector<std::string> found, Fido2Device::List());
    if (found.empty()) {
      return absl::UnavailableError(
          "no FIDO2 security key is plugged in (or this user may not open "
          "/dev/hidraw*: see docs/security-keys.md)");
    }
    chosen = found[0].substr(0, found[0].find('\t'));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<Fido2Device> dev,
                   Fido2Device::Open(chosen, touch_timeout));
  return std::unique_ptr<SecurityKeyDevice>(std::move(dev));
}

absl::StatusOr<LogCheckpoint> Context::RefreshCheckpoint() {
  ASSIGN_OR_RETURN(ClientVerifier * v, verifier());
  return v->UpdateCheckpoint();
}

std::string Context::Path(const std::string& file) const {
  return globals_.state_dir + "/" + file;
}

std::vector<Alert> Context::Raised() const {
  return verifier_ == nullptr ? std::vector<Alert>() : verifier_->raised();
}

bool Context::AlertFound() const {
  return verifier_ != nullptr && verifier_->alert_found();
}

int RunCommand(Command& command, Context& ctx,
               const std::vector<std::string>& args) {
  FlagSet flags(command.usage());
  command.AddFlags(&flags);
  ctx.AddGlobalFlags(&flags);
  absl::StatusOr<std::vector<std::string>> positional = flags.Parse(args);
  if (!positional.ok()) {
    std::cerr << "ktctl " << command.name() << ": "
              << positional.status().message() << " (ktctl " << command.name()
              << " --help for its usage)\n";
    return kExitUsage;
  }
  if (flags.help_requested()) {
    std::cout << flags.Help();
    return kExitOk;
  }
  absl::StatusOr<Output> out = command.Run(ctx, *positional);
  if (out.ok() && ctx.own_used() && std::string(command.name()) != "backup") {
    AutomaticBackup(ctx);
  }
  // The state is saved whatever happened: alerts raised by a failing
  // command are kept too.
  absl::Status saved = ctx.SaveState();
  if (out.ok() && !saved.ok()) out = saved;
  std::vector<Alert> alerts = ctx.Raised();
  // Exit 3 whenever an alert's reason was found, also when the alert itself
  // was raised by an earlier command (docs/ktctl.md, "Exit codes").
  bool alerted = !alerts.empty() || ctx.AlertFound();
  if (!out.ok()) {
    if (IsUsageError(out.status())) {
      std::cerr << "ktctl " << command.name() << ": " << out.status().message()
                << " (ktctl " << command.name() << " --help for its usage)\n";
      return kExitUsage;
    }
    PrintError(ctx.globals(), out.status(), alerts);
    return ExitCodeFor(out.status(), alerted);
  }
  int code = alerted ? kExitVerification : out->exit_code;
  PrintOutput(ctx.globals(), *std::move(out), alerts);
  return code;
}

std::string TimeText(uint64_t ms) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ",
                          absl::FromUnixMillis(static_cast<int64_t>(ms)),
                          absl::UTCTimeZone());
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
