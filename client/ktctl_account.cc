// ktctl commands for the user's own account: init, register, device,
// rotate-key. Every write first brings the own account's verified history
// up to date, records the leaf hash of what it signs (so the monitor knows
// it is expected) before sending it, and afterwards checks the new record
// through the monitor.
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <iostream>

#include "absl/strings/str_cat.h"
#include "client/ktctl_commands.h"
#include "core/account/record.h"
#include "core/merkle/merkle.h"
#include "core/util/bytes.h"
#include "core/util/clock.h"
#include "core/util/file_util.h"
#include "core/util/status_macros.h"

namespace ktlog {
namespace {

constexpr char kAccountKey[] = "account.key";
constexpr char kNextAccountKey[] = "account.key.next";
constexpr char kDeviceKey[] = "device.key";

// Signs and appends `record` for the own account (see the file comment).
absl::StatusOr<LogClient::WriteResult> AppendOwnRecord(
    Context& ctx, DeviceRecord record, const Ed25519PrivateKey& signer) {
  ASSIGN_OR_RETURN(ClientState * s, ctx.state());
  ASSIGN_OR_RETURN(ClientVerifier * v, ctx.verifier());
  ASSIGN_OR_RETURN(LogCheckpoint cp, ctx.RefreshCheckpoint());
  absl::Status caught_up = v->MonitorSelf(cp);
  RETURN_IF_ERROR(ctx.SaveState());
  RETURN_IF_ERROR(caught_up);

  record.account_id = s->account_id;
  record.account_version = s->own_state.version + 1;
  record.timestamp_ms = RealClock::Get()->NowMillis();
  record.Sign(signer);
  std::string bytes = record.Encode();
  std::string leaf = HashLeaf(bytes).ToHex();
  s->pending_own.insert(leaf);
  RETURN_IF_ERROR(ctx.SaveState());

  absl::StatusOr<LogClient::WriteResult> w =
      ctx.client()->Write(record.operation, bytes, true);
  if (!w.ok()) {
    if (!absl::IsDeadlineExceeded(w.status()) &&
        !absl::IsUnavailable(w.status())) {
      s->pending_own.erase(leaf);  // certainly not appended
    }
    RETURN_IF_ERROR(ctx.SaveState());
    return w.status();
  }
  ASSIGN_OR_RETURN(cp, ctx.RefreshCheckpoint());
  if (cp.size <= w->leaf_index && s->policy.witness_quorum > 0) {
    // Witnesses have not cosigned a checkpoint covering it yet: the next
    // `ktctl monitor` verifies it (it stays expected until then).
    std::cerr << "ktctl: the record is at leaf index " << w->leaf_index
              << "; it will be verified once your witnesses cosign a "
                 "checkpoint that covers it (ktctl monitor)\n";
    return w;
  }
  absl::Status seen = v->MonitorSelf(cp);
  RETURN_IF_ERROR(ctx.SaveState());
  RETURN_IF_ERROR(seen);
  if (s->pending_own.count(leaf) > 0) {
    return absl::DataLossError(absl::StrCat(
        "the log acknowledged the record at leaf index ", w->leaf_index,
        " but the account's verified history does not show it"));
  }
  return w;
}

std::string DeviceKeyPath(Context& ctx, const std::string& device_id) {
  return absl::StrCat(ctx.Path("devices"), "/", device_id, ".key");
}

// The public key of a new device's key pair in <state>/devices/NAME.key:
// made now, or the one an earlier attempt made and never published (a
// failed `device add` can be run again as it was).
absl::StatusOr<std::string> NewDeviceKey(Context& ctx, const ClientState& s,
                                         const std::string& device_id) {
  std::string path = DeviceKeyPath(ctx, device_id);
  absl::StatusOr<Ed25519PrivateKey> earlier = ReadPrivateKeyFile(path);
  if (earlier.ok()) {
    auto active = s.own_state.devices.find(device_id);
    if (active != s.own_state.devices.end()) {
      return absl::AlreadyExistsError(absl::StrCat(
          "device \"", device_id, "\" is already active in your account"));
    }
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

int CmdInit(Context& ctx, const std::vector<std::string>& args) {
  std::string account, device, log_key;
  ClientState state;
  absl::Duration max_age =
      absl::Milliseconds(state.policy.max_checkpoint_age_ms);
  absl::Duration max_skew = absl::Milliseconds(state.policy.max_future_skew_ms);
  FlagSet flags(
      "usage: ktctl init --account=ID --device=NAME --log_key=VERIFIER_KEY\n\n"
      "Creates the state directory with a new account key and a key for this\n"
      "device, and pins the log's verifier key (from its operator).");
  flags.Duration("max_checkpoint_age", &max_age,
                 "reject checkpoints older than this (STALE_LOG)");
  flags.Duration("max_future_skew", &max_skew,
                 "reject checkpoints dated further ahead (BAD_TIMESTAMP)");
  flags.String("account", &account, "your account id, e.g. alice@example.com");
  flags.String("device", &device, "this device's name, e.g. phone");
  flags.String("log_key", &log_key, "the log's note verifier key");
  std::vector<std::string> pos;
  int exit;
  if (!ParseCommandFlags(ctx, flags, args, &pos, &exit)) return exit;
  if (account.empty() || device.empty() || log_key.empty() || !pos.empty()) {
    std::cerr << "ktctl init: --account, --device and --log_key are required\n";
    return kExitUsage;
  }
  absl::StatusOr<NoteVerifierKey> key = NoteVerifierKey::Parse(log_key);
  if (!key.ok() || key->type != kNoteTypeEd25519) {
    return ctx.Fail(absl::InvalidArgumentError(
        absl::StrCat("--log_key is not a log verifier key: ",
                     key.ok() ? "wrong key type" : key.status().message())));
  }
  // Check the ids with the record rules before creating anything.
  DeviceRecord probe;
  probe.account_id = account;
  probe.device_id = device;
  probe.key = std::string(32, 'k');
  probe.account_version = 1;
  probe.account_key = std::string(32, 'a');
  probe.signature = std::string(64, 's');
  absl::Status valid = probe.Validate();
  if (!valid.ok()) return ctx.Fail(valid);
  const std::string& dir = ctx.globals().state_dir;
  if (LoadClientState(dir).status().code() != absl::StatusCode::kNotFound) {
    return ctx.Fail(absl::AlreadyExistsError(absl::StrCat(
        dir, " already holds a ktctl state; use another --state directory")));
  }
  absl::Status s = MakeDirs(dir, 0700);
  if (s.ok()) chmod(dir.c_str(), 0700);
  Ed25519PrivateKey account_key = Ed25519PrivateKey::Generate();
  Ed25519PrivateKey device_key = Ed25519PrivateKey::Generate();
  if (s.ok()) s = WritePrivateKeyFile(ctx.Path(kAccountKey), account_key);
  if (s.ok()) s = WritePrivateKeyFile(ctx.Path(kDeviceKey), device_key);
  state.log_verifier_key = log_key;
  state.policy.max_checkpoint_age_ms = absl::ToInt64Milliseconds(max_age);
  state.policy.max_future_skew_ms = absl::ToInt64Milliseconds(max_skew);
  state.account_id = account;
  state.device_id = device;
  if (s.ok()) s = SaveClientState(dir, state);
  if (!s.ok()) return ctx.Fail(s);
  ctx.Print(absl::StrCat("initialised account ", account, " with device ",
                         device, " in ", dir, "\nnext: ktctl register"),
            {{"account_id", account},
             {"device_id", device},
             {"state", dir},
             {"account_key", HexEncode(account_key.public_key().bytes())},
             {"device_key", HexEncode(device_key.public_key().bytes())}});
  return kExitOk;
}

int CmdRegister(Context& ctx, const std::vector<std::string>& args) {
  FlagSet flags(
      "usage: ktctl register\n\n"
      "Publishes this device's key in the log (the first record creates the\n"
      "account and its key), then verifies the checkpoint and the account's\n"
      "history up to and including the new record.");
  std::vector<std::string> pos;
  int exit;
  if (!ParseCommandFlags(ctx, flags, args, &pos, &exit)) return exit;
  absl::StatusOr<ClientState*> s = ctx.state();
  if (!s.ok()) return ctx.Fail(s.status());
  absl::StatusOr<Ed25519PrivateKey> device_key =
      ReadPrivateKeyFile(ctx.Path(kDeviceKey));
  if (!device_key.ok()) return ctx.Fail(device_key.status());
  absl::StatusOr<Ed25519PrivateKey> account_key = ctx.AccountKey();
  if (!account_key.ok()) return ctx.Fail(account_key.status());
  DeviceRecord r;
  r.operation = Operation::kAddDevice;
  r.device_id = (*s)->device_id;
  r.key = device_key->public_key().bytes();
  absl::StatusOr<LogClient::WriteResult> w =
      AppendOwnRecord(ctx, r, *account_key);
  if (!w.ok()) return ctx.Fail(w.status());
  (*s)->approved_devices[r.device_id] = r.key;
  absl::Status saved = ctx.SaveState();
  if (!saved.ok()) return ctx.Fail(saved);
  ctx.Print(
      absl::StrCat("registered device ", r.device_id, " of ", (*s)->account_id,
                   " at leaf index ", w->leaf_index, " (verified)"),
      {{"device_id", r.device_id},
       {"leaf_index", w->leaf_index},
       {"leaf_hash", w->leaf_hash.ToHex()},
       {"account_version", (*s)->own_state.version}});
  return ctx.Done();
}

int CmdDevice(Context& ctx, const std::vector<std::string>& args) {
  std::string key_hex;
  FlagSet flags(
      "usage: ktctl device add NAME [--key=HEX]\n"
      "       ktctl device remove NAME\n"
      "       ktctl device list\n\n"
      "Approves and publishes another of your devices (its public key, or a\n"
      "new key written to <state>/devices/NAME.key), removes one, or lists\n"
      "your account's devices as last verified.");
  flags.String("key", &key_hex, "the device's public key in hex");
  std::vector<std::string> pos;
  int exit;
  if (!ParseCommandFlags(ctx, flags, args, &pos, &exit)) return exit;
  if (pos.empty()) {
    std::cerr << flags.Help();
    return kExitUsage;
  }
  absl::StatusOr<ClientState*> s = ctx.state();
  if (!s.ok()) return ctx.Fail(s.status());
  if (pos[0] == "list" && pos.size() == 1) {
    nlohmann::json j = nlohmann::json::array();
    std::string text;
    for (const auto& [id, device] : (*s)->own_state.devices) {
      bool approved = (*s)->approved_devices.count(id) > 0;
      j.push_back({{"device_id", id},
                   {"key", HexEncode(device.key)},
                   {"leaf_index", device.leaf_index},
                   {"approved_here", approved}});
      absl::StrAppend(&text, id, "  ", HexEncode(device.key), "  (leaf ",
                      device.leaf_index, approved ? ")" : ", not added here)",
                      "\n");
    }
    ctx.Print(text.empty() ? "no devices (run ktctl register)" : text, j);
    return kExitOk;
  }
  if (pos.size() != 2 || (pos[0] != "add" && pos[0] != "remove")) {
    std::cerr << flags.Help();
    return kExitUsage;
  }
  DeviceRecord r;
  r.device_id = pos[1];
  std::string key_note;
  if (pos[0] == "add") {
    r.operation = Operation::kAddDevice;
    if (!key_hex.empty()) {
      absl::StatusOr<std::string> key = HexDecode(key_hex);
      if (!key.ok()) return ctx.Fail(key.status());
      r.key = *key;
    } else {
      absl::StatusOr<std::string> key = NewDeviceKey(ctx, **s, r.device_id);
      if (!key.ok()) return ctx.Fail(key.status());
      r.key = *key;
      key_note = absl::StrCat("; its private key is in ",
                              DeviceKeyPath(ctx, r.device_id));
    }
  } else {
    r.operation = Operation::kRemoveDevice;
    auto it = (*s)->own_state.devices.find(r.device_id);
    if (it == (*s)->own_state.devices.end()) {
      return ctx.Fail(absl::NotFoundError(
          absl::StrCat("device \"", r.device_id,
                       "\" is not one of your account's devices")));
    }
    r.key = it->second.key;
  }
  absl::StatusOr<Ed25519PrivateKey> account_key = ctx.AccountKey();
  if (!account_key.ok()) return ctx.Fail(account_key.status());
  absl::StatusOr<LogClient::WriteResult> w =
      AppendOwnRecord(ctx, r, *account_key);
  if (!w.ok()) return ctx.Fail(w.status());
  if (r.operation == Operation::kAddDevice) {
    (*s)->approved_devices[r.device_id] = r.key;
  } else {
    (*s)->approved_devices.erase(r.device_id);
  }
  absl::Status saved = ctx.SaveState();
  if (!saved.ok()) return ctx.Fail(saved);
  ctx.Print(absl::StrCat(pos[0] == "add" ? "added" : "removed", " device ",
                         r.device_id, " at leaf index ", w->leaf_index,
                         " (verified)", key_note),
            {{"operation", std::string(OperationName(r.operation))},
             {"device_id", r.device_id},
             {"key", HexEncode(r.key)},
             {"leaf_index", w->leaf_index},
             {"leaf_hash", w->leaf_hash.ToHex()}});
  return ctx.Done();
}

int CmdRotateKey(Context& ctx, const std::vector<std::string>& args) {
  FlagSet flags(
      "usage: ktctl rotate-key\n\n"
      "Replaces your account key: publishes a rotation signed by the old key,\n"
      "then keeps only the new one. Your contacts' safety codes with you\n"
      "change; compare codes again.");
  std::vector<std::string> pos;
  int exit;
  if (!ParseCommandFlags(ctx, flags, args, &pos, &exit)) return exit;
  absl::StatusOr<Ed25519PrivateKey> old_key = ctx.AccountKey();
  if (!old_key.ok()) return ctx.Fail(old_key.status());
  Ed25519PrivateKey next = Ed25519PrivateKey::Generate();
  // The new key is on disk before the rotation is sent, so a crash cannot
  // lose it (AccountKey() completes an interrupted rotation).
  absl::Status w0 = WritePrivateKeyFile(ctx.Path(kNextAccountKey), next);
  if (!w0.ok()) {
    return ctx.Fail(absl::FailedPreconditionError(
        absl::StrCat("cannot start a rotation: ", w0.message())));
  }
  DeviceRecord r;
  r.operation = Operation::kRotateAccountKey;
  r.key = next.public_key().bytes();
  absl::StatusOr<LogClient::WriteResult> w = AppendOwnRecord(ctx, r, *old_key);
  if (!w.ok()) {
    unlink(ctx.Path(kNextAccountKey).c_str());
    return ctx.Fail(w.status());
  }
  absl::StatusOr<Ed25519PrivateKey> now = ctx.AccountKey();  // completes it
  if (!now.ok()) return ctx.Fail(now.status());
  ctx.Print(absl::StrCat("rotated the account key to ",
                         HexEncode(next.public_key().bytes()),
                         " at leaf index ", w->leaf_index, " (verified)"),
            {{"account_key", HexEncode(next.public_key().bytes())},
             {"leaf_index", w->leaf_index},
             {"leaf_hash", w->leaf_hash.ToHex()}});
  return ctx.Done();
}

}  // namespace

absl::StatusOr<Ed25519PrivateKey> Context::AccountKey() {
  ASSIGN_OR_RETURN(ClientState * s, state());
  std::string next_path = Path(kNextAccountKey);
  absl::StatusOr<Ed25519PrivateKey> next = ReadPrivateKeyFile(next_path);
  if (next.ok() && s->own_state.account_key == next->public_key().bytes()) {
    // The log has the rotation to this key: it is the account key now.
    if (rename(next_path.c_str(), Path(kAccountKey).c_str()) != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot move ", next_path, " into place"));
    }
    return next;
  }
  return ReadPrivateKeyFile(Path(kAccountKey));
}

void RegisterAccountCommands(std::map<std::string, CommandFn>* commands) {
  (*commands)["init"] = CmdInit;
  (*commands)["register"] = CmdRegister;
  (*commands)["device"] = CmdDevice;
  (*commands)["rotate-key"] = CmdRotateKey;
}

}  // namespace ktlog
