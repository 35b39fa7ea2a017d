// ktctl commands for the user's own account: init, register, device,
// rotate-key, reset-account, security-key. The writes are the client library's
// (verifier/own_account.h: the rules that keep a crash or a lost answer from
// raising an alert or losing a key); ktctl adds the flags, --wait and the
// printing.
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <functional>
#include <iostream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/ktctl_framework.h"
#include "core/account/registration.h"
#include "core/account/security_key.h"
#include "core/crypto/crypto.h"
#include "core/note/log_key.h"
#include "core/util/bytes.h"
#include "core/util/clock.h"
#include "core/util/file_util.h"
#include "core/util/status_macros.h"
#include "verifier/fido2/fido2_device.h"
#include "verifier/refusal.h"
#include "verifier/stores.h"

namespace ktlog {
namespace {
// How often --wait asks for a newer cosigned checkpoint.
constexpr absl::Duration kVerifyPoll = absl::Milliseconds(100);
}  // namespace

absl::StatusOr<std::string> ReadLineArgument(const std::string& path,
                                             const char* what) {
  std::string text;
  if (path == "-") {
    std::getline(std::cin, text);
  } else {
    ASSIGN_OR_RETURN(text, ReadFileBounded(path, 4096));
    text = text.substr(0, text.find('\n'));
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
    text.pop_back();
  }
  if (text.empty()) {
    return UsageError(absl::StrCat("the ", what, " in ", path, " is empty"));
  }
  return text;
}

absl::StatusOr<std::string> CredentialFlags::Read() const {
  if (!flag_.empty()) {
    return UsageError(
        "--credential would show the credential to every user of this "
        "machine (ps); put it in a file (--credential_file=FILE) or pipe "
        "it in (--credential_file=-)");
  }
  if (file_.empty()) return std::string();
  ASSIGN_OR_RETURN(std::string text, ReadLineArgument(file_, "credential"));
  std::string credential(absl::StripAsciiWhitespace(text));
  if (credential.empty() || credential.size() > kRegistrationCredentialSize) {
    return UsageError(
        absl::StrCat("the credential in ", file_,
                     " is empty or too long: it is one line of at most ",
                     kRegistrationCredentialSize,
                     " characters (v2., r1., e1. or b1.<expiry>.<64 hex>)"));
  }
  return credential;
}

void CredentialFlags::Add(FlagSet* f, const char* what) {
  f->String("credential_file", &file_,
            absl::StrCat("a file holding the ", what,
                         " credential (- for standard input)"));
  f->String("credential", &flag_,
            "refused: a credential on the command line is visible to every "
            "user of the machine; use --credential_file");
}

absl::StatusOr<OwnAccount::Written> Publish(
    Context& ctx,
    const std::function<absl::StatusOr<OwnAccount::Written>(OwnAccount*)>&
        write,
    bool touch) {
  ASSIGN_OR_RETURN(OwnAccount * own, ctx.own());
  const absl::Time deadline = absl::Now() + ctx.globals().wait;
  RETURN_IF_ERROR(ctx.VerifyOwnRecords(deadline));
  if (touch && !own->SecurityKeys().empty()) {
    ASSIGN_OR_RETURN(SecurityKeyDevice * key, ctx.security_key());
    own->UseSecurityKey(key);
  }
  const bool earlier_unverified = own->HasUnverified();
  absl::StatusOr<OwnAccount::Written> written = write(own);
  if (earlier_unverified && absl::IsFailedPrecondition(written.status()) &&
      RefusalOf(written.status()) == Refusal::kNone) {
    // Most likely refused because it builds on a record of ours that the
    // witnesses have not covered yet (OwnAccount says so): say how to wait.
    return absl::FailedPreconditionError(
        absl::StrCat(written.status().message(),
                     " (`ktctl --wait=2m monitor` waits for them, as does "
                     "--wait=2m on this command)"));
  }
  ASSIGN_OR_RETURN(OwnAccount::Written w, std::move(written));
  while (!w.verified && absl::Now() < deadline) {
    absl::SleepFor(std::min(kVerifyPoll, deadline - absl::Now()));
    absl::Status checked = own->Recheck(&w);
    // Written already: only evidence fails the command now.
    if (IsVerificationFailure(RefusalOf(checked)) ||
        absl::IsDataLoss(checked)) {
      return checked;
    }
  }
  return w;
}

Output Describe(const std::string& human, const OwnAccount::Written& w,
                nlohmann::json extra, const std::string& tail) {
  nlohmann::json j = {
      {"operation", std::string(OperationName(w.record.operation))},
      {"leaf_index", w.appended.leaf_index},
      {"leaf_hash", w.appended.leaf_hash.ToHex()},
      {"verified", w.verified}};
  if (extra.is_object()) j.update(extra);
  return Output{
      absl::StrCat(human,
                   w.verified ? " (verified)"
                              : " (not verified yet: waiting for your "
                                "witnesses to cosign a checkpoint that "
                                "covers it; `ktctl --wait=2m monitor` "
                                "waits and verifies it)",
                   tail),
      j};
}

namespace {

constexpr char kDeviceKey[] = "device.key";
using Written = OwnAccount::Written;

class InitCommand : public Command {
 public:
  const char* name() const override { return "init"; }
  const char* summary() const override {
    return "create this account and device (keys in the state dir)";
  }
  const char* usage() const override {
    return "usage: ktctl init --account=ID --device=NAME --log_key=LOG_KEY\n"
           "                  [--allow_no_witnesses]\n\n"
           "Creates the state directory with a new account key and a key for "
           "this\ndevice, and pins the log key its operator publishes (as "
           "ktlog-server\nprints it): the checkpoint verifier key, the VRF "
           "key and the witnesses\nwhose cosignatures this client then "
           "requires. A log key without\nwitnesses leaves you open to a log "
           "that shows you a history nobody\nelse sees "
           "(docs/threat-model.md): it is refused unless you pass\n"
           "--allow_no_witnesses.";
  }
  void AddFlags(FlagSet* f) override {
    f->Duration("max_checkpoint_age", &max_age_,
                "reject checkpoints older than this (STALE_LOG)");
    f->Duration("max_future_skew", &max_skew_,
                "reject checkpoints dated further ahead (BAD_TIMESTAMP)");
    f->String("account", &account_, "your account id, e.g. alice@example.com");
    f->String("device", &device_, "this device's name, e.g. phone");
    f->String("log_key", &log_key_,
              "the log key: checkpoint verifier key, VRF key, witnesses");
    f->Bool("allow_no_witnesses", &allow_no_witnesses_,
            "accept a log key that names no witnesses (undefended against "
            "a log that shows you alone another history)");
  }
  absl::StatusOr<Output> Run(Context& ctx,
                             const std::vector<std::string>& args) override {
    if (account_.empty() || device_.empty() || log_key_.empty() ||
        !args.empty()) {
      return UsageError("--account, --device and --log_key are required");
    }
    absl::StatusOr<ClientState> state =
        NewClientState(log_key_, account_, device_, allow_no_witnesses_);
    if (absl::IsFailedPrecondition(state.status())) {
      return UsageError(absl::StrCat(
          state.status().message(),
          ". Use the log key with its witnesses (ktlog-server prints it), "
          "or pass --allow_no_witnesses to accept that risk"));
    }
    if (!state.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--log_key, --account or --device: ", state.status().message()));
    }
    const CheckingPolicy& policy = state->policy;
    const std::string& dir = ctx.globals().state_dir;
    if (LoadClientState(dir).status().code() != absl::StatusCode::kNotFound) {
      return absl::AlreadyExistsError(absl::StrCat(
          dir, " already holds a ktctl state; use another --state directory"));
    }
    RETURN_IF_ERROR(MakeDirs(dir, 0700));
    chmod(dir.c_str(), 0700);
    ASSIGN_OR_RETURN(std::string account_key,
                     FileAccountKeyStore(dir).Create());
    Ed25519PrivateKey device_key = Ed25519PrivateKey::Generate();
    RETURN_IF_ERROR(WritePrivateKeyFile(ctx.Path(kDeviceKey), device_key));
    std::string warning =
        QuorumWarning(policy.witness_quorum, policy.witnesses.size());
    state->policy.max_checkpoint_age_ms = absl::ToInt64Milliseconds(max_age_);
    state->policy.max_future_skew_ms = absl::ToInt64Milliseconds(max_skew_);
    RETURN_IF_ERROR(SaveClientState(dir, *state));
    return Output{
        absl::StrCat(
            "initialised account ", account_, " with device ", device_, " in ",
            dir,
            policy.witnesses.empty()
                ? "\nWARNING: no witnesses: this client cannot tell "
                  "whether the log shows it the history everyone "
                  "else sees"
                : absl::StrCat("; checkpoints must be cosigned by ",
                               policy.witness_quorum, " of ",
                               policy.witnesses.size(), " witness(es)"),
            warning.empty() ? "" : "\n", warning,
            "\naccount key: ", HexEncode(account_key),
            "\nnext: ktctl register (a log that controls sign-up needs a "
            "credential for your account id and this account key from its "
            "registration service: ktctl register --credential_file=FILE)"),
        {{"account_id", account_},
         {"device_id", device_},
         {"state", dir},
         {"account_key", HexEncode(account_key)},
         {"device_key", HexEncode(device_key.public_key().bytes())},
         {"witness_quorum", policy.witness_quorum},
         {"witnesses", policy.witnesses.size()}}};
  }

 private:
  std::string account_, device_, log_key_;
  bool allow_no_witnesses_ = false;
  absl::Duration max_age_ =
      absl::Milliseconds(CheckingPolicy().max_checkpoint_age_ms);
  absl::Duration max_skew_ =
      absl::Milliseconds(CheckingPolicy().max_future_skew_ms);
};

class RegisterCommand : public Command {
 public:
  const char* name() const override { return "register"; }
  const char* summary() const override {
    return "publish this device in the log";
  }
  const char* usage() const override {
    return "usage: ktctl register [--credential_file=FILE|-]\n\n"
           "Publishes this device's key in the log (the first record creates "
           "the\naccount and its key), then verifies the checkpoint and the "
           "account's\nhistory up to and including the new record. A log "
           "that controls who\nmay create accounts needs the registration "
           "credential its operator's\nregistration service issued for your "
           "account id and account key (as\n`ktctl init` printed it), read "
           "from FILE or, with -, standard input\n(never the command line, "
           "where every user of the machine can see it).";
  }
  void AddFlags(FlagSet* f) override {
    credential_.Add(f, "registration (if the log requires one)");
  }
  absl::StatusOr<Output> Run(Context& ctx,
                             const std::vector<std::string>& args) override {
    if (!args.empty()) return UsageError("register takes no arguments");
    ASSIGN_OR_RETURN(std::string credential, credential_.Read());
    ASSIGN_OR_RETURN(ClientState * s, ctx.state());
    ASSIGN_OR_RETURN(Ed25519PrivateKey device_key,
                     ReadPrivateKeyFile(ctx.Path(kDeviceKey)));
    ASSIGN_OR_RETURN(Written w, Publish(ctx, [&](OwnAccount* own) {
                       return own->AddDevice(s->device_id,
                                             device_key.public_key().bytes(),
                                             credential);
                     }));
    return Describe(
        absl::StrCat("registered device ", s->device_id, " of ", s->account_id,
                     " at leaf index ", w.appended.leaf_index),
        w,
        {{"device_id", s->device_id},
         {"account_version", w.record.account_version}});
  }

 private:
  CredentialFlags credential_;
};

std::string DeviceKeyPath(Context& ctx, const std::string& device_id) {
  return absl::StrCat(ctx.Path("devices"), "/", device_id, ".key");
}

// The public key of a new device's key pair in <state>/devices/NAME.key:
// made now, or the one an earlier attempt made and never published (a
// failed `device add` can be run again as it was). The caller has checked
// that the device is neither active nor published.
absl::StatusOr<std::string> NewDeviceKey(Context& ctx, const ClientState& s,
                                         const std::string& device_id) {
  std::string path = DeviceKeyPath(ctx, device_id);
  absl::StatusOr<Ed25519PrivateKey> earlier = ReadPrivateKeyFile(path);
  if (earlier.ok()) {
    std::cerr << "ktctl: reusing the key " << path
              << " made by an earlier attempt that was not published\n";
    return earlier->public_key().bytes();
  }
  if (!absl::IsNotFound(earlier.status())) return earlier.status();
  RETURN_IF_ERROR(MakeDirs(ctx.Path("devices"), 0700));
  Ed25519PrivateKey k = Ed25519PrivateKey::Generate();
  RETURN_IF_ERROR(WritePrivateKeyFile(path, k));
  return k.public_key().bytes();
}

class DeviceCommand : public Command {
 public:
  const char* name() const override { return "device"; }
  const char* summary() const override {
    return "add | remove | list your devices";
  }
  const char* usage() const override {
    return "usage: ktctl device add NAME [--key=HEX]\n"
           "       ktctl device remove NAME\n"
           "       ktctl device list\n\n"
           "Approves and publishes another of your devices (its public key, "
           "or a\nnew key written to <state>/devices/NAME.key), removes one, "
           "or lists\nyour account's devices as last verified.";
  }
  void AddFlags(FlagSet* f) override {
    f->String("key", &key_hex_, "the device's public key in hex");
  }
  absl::StatusOr<Output> Run(Context& ctx,
                             const std::vector<std::string>& args) override {
    ASSIGN_OR_RETURN(ClientState * s, ctx.state());
    if (args.size() == 1 && args[0] == "list") return List(*s);
    if (args.size() != 2 || (args[0] != "add" && args[0] != "remove")) {
      return UsageError("give add NAME, remove NAME or list");
    }
    const std::string& device_id = args[1];
    std::string key, key_note;
    if (args[0] == "add") {
      ASSIGN_OR_RETURN(OwnAccount * own, ctx.own());
      RETURN_IF_ERROR(own->CanAdd(device_id));  // before a key is made
      ASSIGN_OR_RETURN(key, KeyToAdd(ctx, *s, device_id, &key_note));
    }
    ASSIGN_OR_RETURN(Written w, Publish(ctx, [&](OwnAccount* own) {
                       return key.empty() ? own->RemoveDevice(device_id)
                                          : own->AddDevice(device_id, key);
                     }));
    return Describe(
        absl::StrCat(args[0] == "add" ? "added" : "removed", " device ",
                     device_id, " at leaf index ", w.appended.leaf_index),
        w, {{"device_id", device_id}, {"key", HexEncode(w.record.key)}},
        key_note);
  }

 private:
  Output List(const ClientState& s) const {
    nlohmann::json j = nlohmann::json::array();
    std::string text;
    for (const auto& [id, device] : s.own_state.devices) {
      bool approved = s.approved_devices.count(id) > 0;
      j.push_back({{"device_id", id},
                   {"key", HexEncode(device.key)},
                   {"leaf_index", device.leaf_index},
                   {"approved_here", approved}});
      absl::StrAppend(&text, id, "  ", HexEncode(device.key), "  (leaf ",
                      device.leaf_index, approved ? ")" : ", not added here)",
                      "\n");
    }
    return Output{text.empty() ? "no devices (run ktctl register)" : text, j};
  }

  // The key of a device to add: --key, or a key pair made here.
  absl::StatusOr<std::string> KeyToAdd(Context& ctx, const ClientState& s,
                                       const std::string& device_id,
                                       std::string* note) const {
    if (!key_hex_.empty()) return HexDecode(key_hex_);
    ASSIGN_OR_RETURN(std::string key, NewDeviceKey(ctx, s, device_id));
    *note =
        absl::StrCat("; its private key is in ", DeviceKeyPath(ctx, device_id));
    return key;
  }

  std::string key_hex_;
};

class RotateKeyCommand : public Command {
 public:
  const char* name() const override { return "rotate-key"; }
  const char* summary() const override { return "replace your account key"; }
  const char* usage() const override {
    return "usage: ktctl rotate-key\n\n"
           "Replaces your account key: publishes a rotation signed by the old "
           "key,\nthen keeps only the new one. Your contacts' safety codes "
           "with you\nchange; compare codes again.";
  }
  absl::StatusOr<Output> Run(Context& ctx,
                             const std::vector<std::string>& args) override {
    if (!args.empty()) return UsageError("rotate-key takes no arguments");
    ASSIGN_OR_RETURN(Written w, Publish(ctx, [](OwnAccount* own) {
                       return own->RotateAccountKey();
                     }));
    std::string key = HexEncode(w.record.key);
    return Describe(absl::StrCat("rotated the account key to ", key,
                                 " at leaf index ", w.appended.leaf_index),
                    w, {{"account_key", key}});
  }
};

class ResetAccountCommand : public Command {
 public:
  const char* name() const override { return "reset-account"; }
  const char* summary() const override {
    return "every key lost: reset your account with the operator's credential";
  }
  const char* usage() const override {
    return "usage: ktctl reset-account --prepare\n"
           "       ktctl reset-account --credential_file=FILE|-\n\n"
           "When every security key of your account is lost (or the account "
           "key),\nnobody can change your account, you included. The log's "
           "operator can\nreset it: --prepare makes a new account key and "
           "prints it; give it to\nthe operator, who checks who you are as "
           "at registration and issues a\nreset credential for it. Then "
           "--credential_file publishes the reset,\nsigned by the new key: "
           "every device of your account is removed, and\nevery contact of "
           "yours is alerted (ACCOUNT_RESET) and must compare\nsafety codes "
           "with you again. Publish this device again with `ktctl\nregister`"
           ". docs/security-keys.md, \"Every key lost\".";
  }
  void AddFlags(FlagSet* f) override {
    f->Bool("prepare", &prepare_,
            "make the new account key and print it, for the operator");
    credential_.Add(f, "reset");
  }
  absl::StatusOr<Output> Run(Context& ctx,
                             const std::vector<std::string>& args) override {
    if (!args.empty()) return UsageError("reset-account takes no arguments");
    ASSIGN_OR_RETURN(std::string credential, credential_.Read());
    if (prepare_ == !credential.empty()) {
      return UsageError(
          "give either --prepare (first) or --credential_file (once the "
          "operator issued the reset credential)");
    }
    ASSIGN_OR_RETURN(OwnAccount * own, ctx.own());
    if (prepare_) {
      ASSIGN_OR_RETURN(std::string key, own->PrepareReset());
      return Output{absl::StrCat("your new account key: ", HexEncode(key),
                                 "\ngive it to the log's operator for a reset "
                                 "credential, then run `ktctl reset-account "
                                 "--credential_file=FILE`"),
                    {{"account_key", HexEncode(key)}}};
    }
    ASSIGN_OR_RETURN(
        Written w,
        Publish(
            ctx, [&](OwnAccount* own) { return own->ResetAccount(credential); },
            /*touch=*/false));
    std::string key = HexEncode(w.record.key);
    return Describe(
        absl::StrCat("reset your account to the account key ", key,
                     " at leaf index ", w.appended.leaf_index),
        w, {{"account_key", key}},
        "; every device was removed: publish this one again with `ktctl "
        "register`, and compare safety codes with your contacts again");
  }

 private:
  bool prepare_ = false;
  CredentialFlags credential_;
};

// For the operator, or whoever the operator gave the credential: the
// account's owner need not hold any key (a lost phone).
class EraseAccountCommand : public Command {
 public:
  const char* name() const override { return "erase-account"; }
  const char* summary() const override {
    return "erase an account from the log with the operator's credential";
  }
  const char* usage() const override {
    return "usage: ktctl erase-account --account=ID --credential_file=FILE|-"
           "\n\n"
           "Asks the log to erase account ID on request (GDPR-style): its "
           "records,\nstates and the openings of its commitments are deleted "
           "from the log's\nstorage; its public leaves stay, so every "
           "checkpoint and proof stays\nvalid, and a lookup proves that the "
           "account existed and was erased.\nThe id cannot be registered "
           "again on this log. Needs the erasure\ncredential the operator "
           "issues for ID (ktlog-admin credential --erase)\nonce it has "
           "checked who is asking. docs/operations.md, \"Erasure\".";
  }
  void AddFlags(FlagSet* f) override {
    f->String("account", &account_, "the account id to erase");
    credential_.Add(f, "erasure");
  }
  absl::StatusOr<Output> Run(Context& ctx,
                             const std::vector<std::string>& args) override {
    if (!args.empty()) return UsageError("erase-account takes no arguments");
    ASSIGN_OR_RETURN(std::string credential, credential_.Read());
    if (account_.empty() || credential.empty()) {
      return UsageError("give --account and --credential_file");
    }
    if (absl::Status id = ValidateAccountId(account_); !id.ok()) {
      return UsageError(absl::StrCat("--account: ", id.message()));
    }
    ASSIGN_OR_RETURN(LogClient * client, ctx.client());
    ASSIGN_OR_RETURN(uint64_t version,
                     client->EraseAccount(account_, credential));
    return Output{absl::StrCat("erased account ", account_,
                               " (its erasure leaf is version ", version,
                               "): lookups now prove that it was erased"),
                  {{"account", account_}, {"erased_version", version}}};
  }

 private:
  std::string account_;
  CredentialFlags credential_;
};

std::string AlgorithmName(KeyAlgorithm a) {
  return a == KeyAlgorithm::kEs256 ? "ES256" : "EdDSA";
}

class SecurityKeyCommand : public Command {
 public:
  const char* name() const override { return "security-key"; }
  const char* summary() const override {
    return "put your account on FIDO2 security keys; add, remove, list them";
  }
  const char* usage() const override {
    return "usage: ktctl security-key setup KEY KEY [KEY...] [--require_uv]\n"
           "       ktctl security-key add KEY\n"
           "       ktctl security-key remove CREDENTIAL_ID\n"
           "       ktctl security-key list\n"
           "       ktctl security-key devices\n\n"
           "setup makes a credential on each KEY (a hidraw path from "
           "`devices`; touch\neach) and moves your account onto them: from "
           "then on every change of\nyour account needs a touch of one of "
           "them (--security_key says which),\nand your account key file "
           "authorizes nothing. 2 to 6 keys. add makes a\ncredential on a "
           "new KEY and adds it (touch one of your current keys\ntoo); remove "
           "takes a key out (a lost one: touch another), by a prefix\nof its "
           "credential id as `list` shows it. If every key is lost, only a\n"
           "reset by the log's operator (`ktctl reset-account`) changes the\n"
           "account, and every contact is alerted: docs/security-keys.md.";
  }
  void AddFlags(FlagSet* f) override {
    f->Bool("require_uv", &require_uv_,
            "setup: every change also needs the key's fingerprint (keys that "
            "verify by PIN cannot be used with it yet)");
    f->Bool("eddsa", &eddsa_,
            "make EdDSA (Ed25519) credentials instead of ES256 (P-256)");
  }
  absl::StatusOr<Output> Run(Context& ctx,
                             const std::vector<std::string>& args) override {
    if (args.empty())
      return UsageError("give setup, add, remove, list or devices");
    const std::string& verb = args[0];
    if (verb == "devices" && args.size() == 1) return Devices();
    ASSIGN_OR_RETURN(ClientState * s, ctx.state());
    if (verb == "list" && args.size() == 1) return List(*s);
    ASSIGN_OR_RETURN(OwnAccount * own, ctx.own());
    RETURN_IF_ERROR(own->Check().status());
    std::vector<SecurityKey> keys = own->SecurityKeys();
    bool uv = require_uv_;
    if (!keys.empty()) {
      uv = DecodeSecurityKeySet(s->own_state.account_key)
               ->require_user_verification;
    }
    if (verb == "setup" && args.size() >= 3) {
      if (!keys.empty()) {
        return absl::FailedPreconditionError(
            "your account is on security keys already: use add and remove");
      }
      for (size_t i = 1; i < args.size(); ++i) {
        ASSIGN_OR_RETURN(SecurityKey k, Enroll(ctx, *own, args[i], uv, keys));
        keys.push_back(std::move(k));
      }
    } else if (verb == "add" && args.size() == 2) {
      if (keys.empty()) return UsageError("run setup with two keys first");
      ASSIGN_OR_RETURN(SecurityKey k, Enroll(ctx, *own, args[1], uv, keys));
      keys.push_back(std::move(k));
    } else if (verb == "remove" && args.size() == 2) {
      std::vector<SecurityKey> kept;
      for (const SecurityKey& k : keys) {
        if (!absl::StartsWith(HexEncode(k.credential_id),
                              absl::AsciiStrToLower(args[1]))) {
          kept.push_back(k);
        }
      }
      if (kept.size() + 1 != keys.size()) {
        return absl::NotFoundError(absl::StrCat(
            "no single security key of your account has a credential id "
            "starting with ",
            args[1], " (ktctl security-key list)"));
      }
      keys = std::move(kept);
    } else {
      return UsageError(
          "give setup KEY KEY..., add KEY, remove ID, list or "
          "devices");
    }
    ASSIGN_OR_RETURN(Written w, Publish(ctx, [&](OwnAccount* own) {
                       return own->SetSecurityKeys(keys, uv);
                     }));
    return Describe(
        absl::StrCat("your account is on ", keys.size(),
                     " security keys from leaf index ", w.appended.leaf_index),
        w, {{"security_keys", keys.size()}});
  }

 private:
  // A credential on the key at `path`, checked to sign (two touches).
  absl::StatusOr<SecurityKey> Enroll(
      Context& ctx, OwnAccount& own, const std::string& path, bool uv,
      const std::vector<SecurityKey>& so_far) const {
    ASSIGN_OR_RETURN(std::unique_ptr<SecurityKeyDevice> key,
                     ctx.OpenSecurityKey(path));
    std::vector<std::string> exclude;
    for (const SecurityKey& k : so_far) exclude.push_back(k.credential_id);
    return own.EnrollSecurityKey(
        key.get(), eddsa_ ? KeyAlgorithm::kEdDsa : KeyAlgorithm::kEs256, uv,
        exclude);
  }

  Output List(const ClientState& s) const {
    nlohmann::json j = nlohmann::json::array();
    std::string text;
    const AccountState& own = s.own_state;
    absl::StatusOr<SecurityKeySet> set =
        IsSecurityKeyAuthority(own.account_key)
            ? DecodeSecurityKeySet(own.account_key)
            : absl::StatusOr<SecurityKeySet>(absl::NotFoundError(""));
    if (!set.ok()) {
      return Output{
          "your account is not on security keys (it has an "
          "account key): `ktctl security-key setup KEY KEY`",
          j};
    }
    for (size_t i = 0; i < set->keys.size(); ++i) {
      const SecurityKey& k = set->keys[i];
      uint32_t counter = i < own.key_counters.size() ? own.key_counters[i] : 0;
      j.push_back({{"credential_id", HexEncode(k.credential_id)},
                   {"algorithm", AlgorithmName(k.algorithm)},
                   {"counter", counter}});
      absl::StrAppend(&text, HexEncode(k.credential_id).substr(0, 16), "…  ",
                      AlgorithmName(k.algorithm), "  counter ", counter, "\n");
    }
    absl::StrAppend(
        &text, "relying party ", set->rp_id,
        set->require_user_verification ? "; user verification required" : "");
    return Output{text, j};
  }

  absl::StatusOr<Output> Devices() const {
    ASSIGN_OR_RETURN(std::vector<std::string> found, Fido2Device::List());
    nlohmann::json j = nlohmann::json::array();
    for (const std::string& d : found) j.push_back(d);
    return Output{found.empty() ? "no FIDO2 security key is plugged in"
                                : absl::StrJoin(found, "\n"),
                  j};
  }

  bool require_uv_ = false;
  bool eddsa_ = false;
};

}  // namespace

absl::Status Context::VerifyOwnRecords(absl::Time deadline) {
  ASSIGN_OR_RETURN(OwnAccount * own, this->own());
  for (;;) {
    absl::Status checked = own->Check().status();
    absl::Duration left = deadline - absl::Now();
    bool time_left = left > absl::ZeroDuration();
    // No checkpoint the witnesses cosigned yet (a new log: witnesses run
    // on their own schedule), or the log unreachable: wait while allowed.
    bool not_yet =
        absl::IsUnavailable(checked) && RefusalOf(checked) == Refusal::kNone;
    if (!checked.ok() && !(not_yet && time_left)) return checked;
    if (checked.ok() && (!own->HasUnverified() || !time_left)) {
      return absl::OkStatus();
    }
    absl::SleepFor(std::min(kVerifyPoll, left));
  }
}

void AddAccountCommands(CommandTable* table) {
  table->push_back(std::make_unique<InitCommand>());
  table->push_back(std::make_unique<RegisterCommand>());
  table->push_back(std::make_unique<DeviceCommand>());
  table->push_back(std::make_unique<RotateKeyCommand>());
  table->push_back(std::make_unique<SecurityKeyCommand>());
  table->push_back(std::make_unique<ResetAccountCommand>());
  table->push_back(std::make_unique<EraseAccountCommand>());
}

}  // namespace ktlog
