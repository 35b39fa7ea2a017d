#include "verifier/trust_backup.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/crypto/hash.h"
#include "core/util/bytes.h"
#include "core/util/json_util.h"
#include "core/util/status_macros.h"
#include "nlohmann/json.hpp"

namespace ktlog {
namespace {

constexpr char kContentsFormat[] = "ktlog trust backup contents v1";

bool IsBackupFile(const std::string& name) {
  for (const char* f : kBackupFiles) {
    if (name == f) return true;
  }
  return false;
}

}  // namespace

std::string TrustFingerprint(const ClientState& state) {
  nlohmann::json j;
  j["log_key"] = state.log_key;
  j["witnesses"] = state.policy.witnesses;
  j["quorum"] = state.policy.witness_quorum;
  const AccountState& own = state.own_state;
  j["own"]["first_key"] = HexEncode(own.first_key);
  j["own"]["authority"] = HexEncode(own.account_key);
  for (const ChainedRotation& c : own.key_chain) {
    j["own"]["chain"].push_back(HexEncode(c.record));
  }
  for (const auto& [id, device] : own.devices) {
    j["own"]["devices"][id] = HexEncode(device.record);
  }
  for (const auto& [id, key] : state.approved_devices) {
    j["approved_devices"][id] = HexEncode(key);
  }
  for (const auto& [id, c] : state.contacts) {
    if (c.verified_key.empty()) continue;  // only looked up: nothing to keep
    nlohmann::json devices = nlohmann::json::object();
    for (const auto& [device, key] : c.verified_devices) {
      devices[device] = HexEncode(key);
    }
    j["contacts"][id] = {{"key", HexEncode(c.verified_key)},
                         {"devices", devices}};
  }
  return Sha256(j.dump()).ToHex();
}

absl::StatusOr<std::string> SetBackupSecrets(ClientState* state,
                                             const BackupSecrets& secrets) {
  if (!secrets.recovery_key && secrets.passphrase.empty()) {
    return absl::InvalidArgumentError(
        "a backup needs a secret to open it: a recovery key, a passphrase, "
        "or both");
  }
  std::string key = NewBackupSecret();
  std::vector<BackupWrap> wraps;
  std::string recovery_text;
  if (secrets.recovery_key) {
    std::string recovery = NewBackupSecret();
    ASSIGN_OR_RETURN(BackupWrap w, WrapWithRecoveryKey(key, recovery));
    wraps.push_back(std::move(w));
    recovery_text = RecoveryKeyText(recovery);
    WipeSecret(&recovery);
  }
  if (!secrets.passphrase.empty()) {
    ASSIGN_OR_RETURN(BackupWrap w,
                     WrapWithPassphrase(key, secrets.passphrase, secrets.ops,
                                        secrets.memory));
    wraps.push_back(std::move(w));
  }
  WipeSecret(&state->backup.key);
  state->backup.key = std::move(key);
  state->backup.wraps = std::move(wraps);
  return recovery_text;
}

absl::StatusOr<SealedBackup> SealNextBackup(
    const ClientState& state, const std::map<std::string, std::string>& files,
    size_t max_bytes) {
  if (state.backup.key.empty()) {
    return absl::FailedPreconditionError(
        "no backup secrets are set: choose a recovery key or a passphrase "
        "(ktctl backup create --recovery_key or --passphrase_file)");
  }
  nlohmann::json j;
  j["format"] = kContentsFormat;
  j["state"] = nlohmann::json::parse(SerializeClientState(state));
  j["files"] = nlohmann::json::object();
  for (const auto& [name, bytes] : files) {
    if (!IsBackupFile(name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", name, "\" is not a file a backup carries"));
    }
    j["files"][name] = HexEncode(bytes);
  }
  std::string plaintext = JsonText(j);
  absl::StatusOr<SealedBackup> sealed =
      SealBackup(plaintext, state.account_id, state.backup.latest.version + 1,
                 state.backup.wraps, state.backup.key);
  WipeSecret(&plaintext);
  if (!sealed.ok()) return sealed.status();
  size_t size = sealed->Encode().size();
  if (size > max_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the backup is ", size, " bytes sealed; the provider stores at most ",
        max_bytes, " (forget contacts you no longer need)"));
  }
  return sealed;
}

absl::StatusOr<BackupContents> OpenTrustBackup(absl::string_view sealed,
                                               const std::string& account_id,
                                               const BackupSecret& secret) {
  ASSIGN_OR_RETURN(SealedBackup backup, SealedBackup::Decode(sealed));
  if (backup.account_id != account_id) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the provider handed over the backup of another account (\"",
        backup.account_id, "\"), not of \"", account_id, "\""));
  }
  std::string unwrap_with = secret.text;
  if (secret.type == WrapType::kRecoveryKey) {
    ASSIGN_OR_RETURN(unwrap_with, ParseRecoveryKey(secret.text));
  }
  const char* kind =
      secret.type == WrapType::kRecoveryKey ? "recovery key" : "passphrase";
  // Only the first wrap of the kind is tried (a client makes one of each):
  // a hostile server that adds wraps of the highest Argon2id cost gets one
  // run, not eight.
  const BackupWrap* wrap = nullptr;
  for (const BackupWrap& w : backup.wraps) {
    if (w.type == secret.type) {
      wrap = &w;
      break;
    }
  }
  if (wrap == nullptr) {
    WipeSecret(&unwrap_with);
    return absl::FailedPreconditionError(absl::StrCat(
        "the backup has no ", kind, " wrap: open it with the other secret"));
  }
  absl::StatusOr<std::string> key = Unwrap(*wrap, unwrap_with);
  WipeSecret(&unwrap_with);
  if (!key.ok()) {
    return absl::PermissionDeniedError(absl::StrCat(
        "this ", kind,
        " does not open the backup: check it, or try another secret (or "
        "the backup was replaced by whoever holds your old phone's account "
        "key, under secrets of theirs)"));
  }
  absl::StatusOr<std::string> plaintext =
      OpenBackup(backup, *key, account_id, 1);
  WipeSecret(&*key);
  if (!plaintext.ok()) return plaintext.status();
  auto corrupt = [&](absl::string_view why) {
    return absl::DataLossError(absl::StrCat(
        "the backup opened, but its contents are not a ktlog client state: ",
        why));
  };
  BackupContents out;
  try {
    nlohmann::json j = nlohmann::json::parse(*plaintext);
    WipeSecret(&*plaintext);
    if (j.at("format").get<std::string>() != kContentsFormat) {
      return corrupt("unknown format");
    }
    absl::StatusOr<ClientState> state =
        ParseClientState(j.at("state").dump(), "the backup's state");
    if (!state.ok()) return corrupt(state.status().message());
    out.state = *std::move(state);
    for (const auto& [name, hex] : j.at("files").items()) {
      absl::StatusOr<std::string> bytes = HexDecode(hex.get<std::string>());
      if (!IsBackupFile(name) || !bytes.ok()) {
        return corrupt(absl::StrCat("file \"", name, "\""));
      }
      out.files[name] = *std::move(bytes);
    }
  } catch (const std::exception& e) {
    return corrupt(e.what());
  }
  if (out.state.account_id != account_id) {
    return corrupt("the state is of another account");
  }
  if (out.state.backup.latest.version + 1 != backup.version) {
    return corrupt(absl::StrCat("the state was sealed as backup ",
                                out.state.backup.latest.version + 1,
                                ", not as backup ", backup.version));
  }
  out.state.backup.latest = BackupRef{backup.version, Sha256(sealed)};
  out.state.backup.uploaded = true;
  out.state.backup.trust_hash = TrustFingerprint(out.state);
  return out;
}

}  // namespace ktlog
