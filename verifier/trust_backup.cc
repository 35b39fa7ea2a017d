#include "verifier/trust_backup.h"

#include <algorithm>
#include <functional>
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
// hmac-secret for `salt`.
absl::StatusOr<BackupWrap> WrapForSecurityKey(SecurityKeyDevice* device,
                                              const std::string& rp_id,
                                              const std::string& salt,
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
  ASSIGN_OR_RETURN(KeySecret secret,
                   device->HmacSecret(rp_id, {credential->credential_id},
                                      SecurityKeySalt(salt)));
  absl::StatusOr<BackupWrap> w = WrapWithSecurityKey(
      key, rp_id, credential->credential_id, salt, secret.secret);
  WipeSecret(&secret.secret);
  return w;
}

absl::Status Refused(const char* kind) {
  return absl::PermissionDeniedError(absl::StrCat(
      "this ", kind,
      " does not open the backup: check it, or try another secret (or the "
      "backup was replaced by whoever holds your old phone's account key, "
      "under secrets of theirs)"));
}

// The backup key from the security-key wraps that share `first`'s rp id
// and salt (a client gives every security-key wrap of a backup one salt):
// one touch of whichever of them the user's key holds.
absl::StatusOr<std::string> SecurityKeyBackupKey(const SealedBackup& backup,
                                                 const BackupWrap& first,
                                                 SecurityKeyDevice* device) {
  if (device == nullptr) {
    return absl::InvalidArgumentError("no security key given");
  }
  std::vector<const BackupWrap*> group;
  std::vector<std::string> ids;
  for (const BackupWrap& w : backup.wraps) {
    if (w.type == WrapType::kSecurityKey && w.rp_id == first.rp_id &&
        w.salt == first.salt) {
      group.push_back(&w);
      ids.push_back(w.credential_id);
    }
  }
  absl::StatusOr<KeySecret> secret =
      device->HmacSecret(first.rp_id, ids, SecurityKeySalt(first.salt));
  if (absl::IsNotFound(secret.status())) {
    return absl::NotFoundError(
        "this security key is not one the backup was made for: try another "
        "of your keys, or another secret (or the backup was replaced by "
        "whoever holds your old phone's account key)");
  }
  if (!secret.ok()) return secret.status();
  absl::StatusOr<std::string> key = Refused("security key");
  for (const BackupWrap* w : group) {
    if (w->credential_id != secret->credential_id) continue;
    absl::StatusOr<std::string> opened = Unwrap(*w, secret->secret);
    if (opened.ok()) key = std::move(opened);
    break;
  }
  WipeSecret(&secret->secret);
  return key;
}

// The backup key of `backup` from `secret` (OpenTrustBackup's errors).
// Only the first wrap of the kind is tried (a client makes one of each,
// and one group of security-key wraps): a hostile server that adds wraps
// of the highest Argon2id cost gets one run, not eight, and one touch.
absl::StatusOr<std::string> BackupKey(const SealedBackup& backup,
                                      const BackupSecret& secret) {
  const char* kind = WrapTypeName(secret.type);
  const BackupWrap* first = nullptr;
  for (const BackupWrap& w : backup.wraps) {
    if (w.type == secret.type) {
      first = &w;
      break;
    }
  }
  if (first == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the backup has no ", kind, " wrap: open it with another secret"));
  }
  if (first->type == WrapType::kSecurityKey) {
    return SecurityKeyBackupKey(backup, *first, secret.security_key);
  }
  std::string text;
  if (first->type == WrapType::kRecoveryKey) {
    ASSIGN_OR_RETURN(text, ParseRecoveryKey(secret.text));
  } else {
    text = secret.text;
  }
  absl::StatusOr<std::string> key = Unwrap(*first, text);
  WipeSecret(&text);
  if (!key.ok()) return Refused(kind);
  return key;
}

// `key`'s wraps under `secrets`, and the new recovery key's text.
absl::Status MakeWraps(const ClientState& state, const BackupSecrets& secrets,
                       const std::string& key, std::vector<BackupWrap>* wraps,
                       std::string* recovery_text) {
  if (!secrets.passphrase.empty()) {
    ASSIGN_OR_RETURN(BackupWrap w,
                     WrapWithPassphrase(key, secrets.passphrase, secrets.ops,
                                        secrets.memory));
    wraps->push_back(std::move(w));
  }
  if (!secrets.security_keys.empty()) {
    ASSIGN_OR_RETURN(LogPublicKey log_key, PinnedLogKey(state));
    const std::string rp_id = RpIdForOrigin(log_key.checkpoint_key.name);
    // One salt for every key's wrap: a restore asks whichever key the
    // user holds for all of their credentials at once (one touch).
    const std::string salt = RandomBytes(kSecurityKeySaltSize);
    std::vector<std::string> made;  // one key given twice: ALREADY_EXISTS
    for (SecurityKeyDevice* device : secrets.security_keys) {
      ASSIGN_OR_RETURN(BackupWrap w, WrapForSecurityKey(device, rp_id, salt,
                                                        state, key, &made));
      wraps->push_back(std::move(w));
    }
  }
  if (secrets.recovery_key) {
    std::string recovery = NewBackupSecret();
    absl::StatusOr<BackupWrap> w = WrapWithRecoveryKey(key, recovery);
    if (w.ok()) *recovery_text = RecoveryKeyText(recovery);
    WipeSecret(&recovery);
    if (!w.ok()) return w.status();
    wraps->push_back(*std::move(w));
  }
  return absl::OkStatus();
}

// After the provider answered: the pending copy is no longer needed (the
// state says so first: a crash in between leaves a copy no one needs).
absl::Status Uploaded(const BackupSteps& steps) {
  steps.state->backup.uploaded = true;
  RETURN_IF_ERROR(steps.store->Save(*steps.state));
  steps.pending->Drop();
  return absl::OkStatus();
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
  std::string recovery_text;
  absl::Status made = MakeWraps(*state, secrets, key, &wraps, &recovery_text);
  if (!made.ok()) {
    WipeSecret(&key);
    WipeSecret(&recovery_text);
    return made;
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
                                               const std::string& log_key,
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
  // What the app pins, never what the backup says: the log, and the
  // witness policy its key names (the check that follows trusts nothing
  // the backup could have been forged to say).
  ASSIGN_OR_RETURN(ClientState pinned,
                   NewClientState(log_key, account_id, out.state.device_id,
                                  /*allow_no_witnesses=*/true));
  if (out.state.log_key != pinned.log_key) {
    return absl::FailedPreconditionError(
        "the backup pins another log key than the one given: it is not a "
        "backup of this log's client (or it was forged by whoever holds "
        "its backup key)");
  }
  CheckingPolicy& policy = out.state.policy;
  policy.witnesses = pinned.policy.witnesses;
  policy.witness_quorum = pinned.policy.witness_quorum;
  policy.max_checkpoint_age_ms = std::min(policy.max_checkpoint_age_ms,
                                          pinned.policy.max_checkpoint_age_ms);
  policy.max_future_skew_ms =
      std::min(policy.max_future_skew_ms, pinned.policy.max_future_skew_ms);
  policy.max_own_check_delay_ms = std::min(
      policy.max_own_check_delay_ms, pinned.policy.max_own_check_delay_ms);
  // Its checkpoint may not be one the pinned policy's witnesses cosigned
  // (whoever holds the backup key can seal any note the log signed): it is
  // only seen, and the restore's check trusts one it fetches itself.
  DistrustCheckpoint(&out.state);
  if (out.state.backup.latest.version + 1 != backup.version) {
    return corrupt(absl::StrCat("the state was sealed as backup ",
                                out.state.backup.latest.version + 1,
                                ", not as backup ", backup.version));
  }
  out.state.backup.latest = BackupRef{backup.version, Sha256(sealed)};
  // Not seen in the log yet: the check of the restore must see its record.
  out.state.backup.record_version = 0;
  out.state.backup.uploaded = true;
  out.state.backup.trust_hash = TrustFingerprint(out.state);
  return out;
}

absl::StatusOr<std::string> FinishBackupUpload(const BackupSteps& steps) {
  const TrustBackupState& b = steps.state->backup;
  if (b.uploaded || b.latest.version == 0 || b.record_version == 0) {
    return std::string();
  }
  absl::Status done;
  if (b.latest.deleted()) {
    done =
        steps.provider->DeleteBackup(steps.state->account_id, b.record_version);
  } else {
    absl::StatusOr<std::string> pending = steps.pending->Load();
    if (!pending.ok() || Sha256(*pending) != b.latest.hash) {
      return std::string();  // sealed but never recorded: superseded
    }
    done = steps.provider->PutBackup(*pending, b.record_version);
  }
  std::string note;
  if (absl::IsFailedPrecondition(done)) {
    // The log holds no such record (the write was refused or never sent),
    // or a later one: nothing is left to upload.
    note = absl::StrCat("backup ", b.latest.version,
                        " was never recorded in the log (", done.message(),
                        "); the next backup takes its place");
  } else if (!done.ok()) {
    return done;
  } else {
    note = absl::StrCat("the provider now holds backup ", b.latest.version,
                        ", which an earlier backup recorded but did not "
                        "upload");
  }
  RETURN_IF_ERROR(Uploaded(steps));
  return note;
}

absl::StatusOr<MadeBackup> MakeBackup(
    const BackupSteps& steps, const std::map<std::string, std::string>& files) {
  ClientState* s = steps.state;
  ASSIGN_OR_RETURN(SealedBackup sealed,
                   SealNextBackup(*s, files, kMaxStoredBackupBytes));
  const std::string bytes = sealed.Encode();
  const BackupRef ref{sealed.version, Sha256(bytes)};
  const std::string sealed_trust = TrustFingerprint(*s);
  RETURN_IF_ERROR(steps.pending->Keep(bytes));
  ASSIGN_OR_RETURN(OwnAccount::Written w, steps.record(ref));
  // Only a recorded backup holds that trust (a refused record holds none).
  s->backup.trust_hash = sealed_trust;
  absl::Status stored =
      steps.provider->PutBackup(bytes, w.record.account_version);
  if (!stored.ok()) {
    return absl::Status(
        stored.code(),
        absl::StrCat("backup ", ref.version,
                     " is recorded in the log but the provider did not "
                     "store it; until it does, no backup of yours can be "
                     "restored (the next backup uploads it first): ",
                     stored.message()));
  }
  RETURN_IF_ERROR(Uploaded(steps));
  return MadeBackup{ref, bytes.size(), w};
}

absl::StatusOr<OwnAccount::Written> DeleteBackup(const BackupSteps& steps) {
  ClientState* s = steps.state;
  const BackupRef ref{s->backup.latest.version + 1, Hash()};
  ASSIGN_OR_RETURN(OwnAccount::Written w, steps.record(ref));
  // No next backup under the old secrets: a new one needs new ones.
  WipeSecret(&s->backup.key);
  s->backup.key.clear();
  s->backup.wraps.clear();
  absl::Status deleted =
      steps.provider->DeleteBackup(s->account_id, w.record.account_version);
  if (!deleted.ok()) {
    return absl::Status(
        deleted.code(),
        absl::StrCat("the deletion is recorded in the log but the provider "
                     "still holds its copy (the next backup or deletion "
                     "asks again): ",
                     deleted.message()));
  }
  RETURN_IF_ERROR(Uploaded(steps));
  return w;
}

absl::StatusOr<std::vector<Alert>> CheckRestoredState(
    ClientState* state, OwnAccount* own, ClientVerifier* verifier,
    const Clock& clock, absl::Duration max_age,
    absl::string_view max_age_setting, uint64_t record_version) {
  const size_t before = verifier->raised().size();
  const uint64_t sealed_version = state->own_state.version;
  const uint64_t max_age_ms =
      static_cast<uint64_t>(absl::ToInt64Milliseconds(max_age));
  absl::Status checked = absl::OkStatus();
  absl::StatusOr<LogCheckpoint> cp = verifier->UpdateCheckpoint();
  const uint64_t now = clock.NowMillis();
  if (!cp.ok()) {
    checked = cp.status();
  } else if (!state->seen_checkpoint.empty()) {
    // Older than the backup's own checkpoint (a read replica behind it):
    // the account may be checked only at one that covers what it saw.
    checked = absl::UnavailableError(
        "the log (or its witnesses) offer a checkpoint older than the one "
        "the backup holds: try again in a minute");
  } else if (uint64_t age = now > cp->timestamp_ms ? now - cp->timestamp_ms : 0;
             age > max_age_ms) {
    checked = absl::UnavailableError(absl::StrCat(
        "the newest checkpoint the log (and your witnesses) offer is ",
        age / 1000, " s old; a restore checks your account at one at most ",
        max_age_ms / 1000, " s old (", max_age_setting,
        "), so that the provider cannot hide a later backup behind an older "
        "checkpoint: try again later"));
  } else {
    checked = own->CheckAt(*cp);
    if (checked.ok()) (void)verifier->MonitorContacts(*cp);
  }
  std::vector<Alert> raised(verifier->raised().begin() + before,
                            verifier->raised().end());
  std::string alerts;
  for (const Alert& a : raised) {
    absl::StrAppend(&alerts, "; ", AlertTypeName(a.type), ": ", a.message);
  }
  if (!checked.ok()) {
    return absl::Status(
        checked.code(),
        absl::StrCat("nothing was restored: the log could not be checked "
                     "from the backup on (",
                     checked.message(), ")", alerts));
  }
  for (const Alert& a : raised) {
    if (a.type != AlertType::kUnexpectedBackup) continue;
    return absl::DataLossError(absl::StrCat(
        "the provider handed over a backup, but your account's history in "
        "the log records a later one (",
        a.message,
        "). Nothing was restored. Either the provider withheld your latest "
        "backup, or its upload never completed (the old phone stopped "
        "between recording and uploading it; its next backup uploads it)"));
  }
  // The monitor saw this backup's own record (its version is set then).
  if (state->backup.record_version <= sealed_version &&
      state->own_state.version < record_version) {
    return absl::UnavailableError(absl::StrCat(
        "nothing was restored: your witnesses have not yet cosigned the log "
        "up to this backup's record (your account's version ",
        record_version, "; checked up to ", state->own_state.version,
        "): try again in a minute"));
  }
  if (state->backup.record_version <= sealed_version) {
    return absl::DataLossError(
        "your account's history in the log records no such backup: the "
        "provider stores only recorded backups, so this one was made by "
        "whoever holds your backup key (a copy of your old phone) and never "
        "recorded. Nothing was restored");
  }
  return raised;
}

}  // namespace ktlog
