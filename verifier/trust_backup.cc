#include "verifier/trust_backup.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/account/security_key.h"
#include "core/crypto/crypto.h"
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

// A new credential on `device` for backups, and `key` wrapped under its
// hmac-secret for a new salt.
absl::StatusOr<BackupWrap> WrapForSecurityKey(SecurityKeyDevice* device,
                                              const std::string& rp_id,
                                              const ClientState& state,
                                              const std::string& key,
                                              std::vector<std::string>* made) {
  absl::StatusOr<SecurityKey> credential = device->MakeCredential(
      rp_id, state.account_id, KeyAlgorithm::kEs256, *made);
  if (absl::IsAlreadyExists(credential.status())) {
    return absl::AlreadyExistsError(
        "one security key was given twice: give each key once");
  }
  if (!credential.ok()) return credential.status();
  made->push_back(credential->credential_id);
  const std::string salt = RandomBytes(kSecurityKeySaltSize);
  ASSIGN_OR_RETURN(std::string secret,
                   device->HmacSecret(rp_id, credential->credential_id, salt));
  absl::StatusOr<BackupWrap> w =
      WrapWithSecurityKey(key, rp_id, credential->credential_id, salt, secret);
  WipeSecret(&secret);
  return w;
}

// The backup key of `backup` from `secret` (OpenTrustBackup's errors).
// Only the first wrap of the kind is tried (a client makes one of each;
// for a security key, the first whose credential it holds): a hostile
// server that adds wraps of the highest Argon2id cost gets one run, not
// eight, and one touch.
absl::StatusOr<std::string> BackupKey(const SealedBackup& backup,
                                      const BackupSecret& secret) {
  const char* kind = WrapTypeName(secret.type);
  auto refused = [&] {
    return absl::PermissionDeniedError(absl::StrCat(
        "this ", kind,
        " does not open the backup: check it, or try another secret (or "
        "the backup was replaced by whoever holds your old phone's account "
        "key, under secrets of theirs)"));
  };
  bool any = false;
  for (const BackupWrap& w : backup.wraps) {
    if (w.type != secret.type) continue;
    any = true;
    if (w.type != WrapType::kSecurityKey) {
      std::string text;
      if (w.type == WrapType::kRecoveryKey) {
        ASSIGN_OR_RETURN(text, ParseRecoveryKey(secret.text));
      } else {
        text = secret.text;
      }
      absl::StatusOr<std::string> key = Unwrap(w, text);
      WipeSecret(&text);
      if (!key.ok()) return refused();
      return key;
    }
    if (secret.security_key == nullptr) {
      return absl::InvalidArgumentError("no security key given");
    }
    absl::StatusOr<std::string> hmac =
        secret.security_key->HmacSecret(w.rp_id, w.credential_id, w.salt);
    if (absl::IsNotFound(hmac.status())) continue;
    if (!hmac.ok()) return hmac.status();
    absl::StatusOr<std::string> key = Unwrap(w, *hmac);
    WipeSecret(&*hmac);
    if (!key.ok()) return refused();
    return key;
  }
  if (any) {
    return absl::NotFoundError(
        "this security key is not one the backup was made for: try another "
        "of your keys, or another secret");
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "the backup has no ", kind, " wrap: open it with another secret"));
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
  if (!secrets.recovery_key && secrets.passphrase.empty() &&
      secrets.security_keys.empty()) {
    return absl::InvalidArgumentError(
        "a backup needs a secret to open it: a recovery key, a passphrase, "
        "security keys, or several");
  }
  if (secrets.security_keys.size() > kMaxBackupSecurityKeys) {
    return absl::InvalidArgumentError(
        absl::StrCat("a backup is wrapped for at most ", kMaxBackupSecurityKeys,
                     " security keys, not ", secrets.security_keys.size()));
  }
  std::string key = NewBackupSecret();
  std::vector<BackupWrap> wraps;
  if (!secrets.security_keys.empty()) {
    ASSIGN_OR_RETURN(LogPublicKey log_key, PinnedLogKey(*state));
    const std::string rp_id = RpIdForOrigin(log_key.checkpoint_key.name);
    std::vector<std::string> made;  // one key given twice: ALREADY_EXISTS
    for (SecurityKeyDevice* device : secrets.security_keys) {
      ASSIGN_OR_RETURN(BackupWrap w,
                       WrapForSecurityKey(device, rp_id, *state, key, &made));
      wraps.push_back(std::move(w));
    }
  }
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
  ASSIGN_OR_RETURN(std::string key, BackupKey(backup, secret));
  absl::StatusOr<std::string> plaintext =
      OpenBackup(backup, key, account_id, 1);
  WipeSecret(&key);
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
