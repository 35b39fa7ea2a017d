#include "verifier/own_account.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "core/account/owner_access.h"
#include "core/account/security_key.h"
#include "core/crypto/crypto.h"
#include "core/util/status_macros.h"
#include "verifier/refusal.h"

namespace ktlog {

AppendFate FateOfFailedAppend(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kResourceExhausted:
      return AppendFate::kNotAppended;
    default:
      return AppendFate::kMaybeAppended;
  }
}

OwnAccount::OwnAccount(ClientState* state, StateStore* store,
                       AccountKeyStore* keys, LogSink* sink,
                       ClientVerifier* verifier, const Clock* clock)
    : state_(state),
      store_(store),
      keys_(keys),
      sink_(sink),
      verifier_(verifier),
      clock_(clock) {}

absl::StatusOr<OwnAccount::Written> OwnAccount::AddDevice(
    const std::string& device_id, const std::string& key,
    const std::string& credential) {
  RETURN_IF_ERROR(CanAdd(device_id));
  DeviceRecord r;
  r.operation = Operation::kAddDevice;
  r.device_id = device_id;
  r.key = key;
  return Write(std::move(r), credential);
}

absl::Status OwnAccount::CanAdd(const std::string& device_id) const {
  if (state_->own_state.devices.count(device_id) > 0) {
    return absl::AlreadyExistsError(absl::StrCat(
        "device \"", device_id, "\" is already active in your account"));
  }
  if (HasUnverified() && state_->approved_devices.count(device_id) > 0) {
    return absl::AlreadyExistsError(absl::StrCat(
        "device \"", device_id,
        "\" was published by this client and is not verified yet: it is "
        "once your witnesses cosign a checkpoint that covers it"));
  }
  return absl::OkStatus();
}

absl::StatusOr<OwnAccount::Written> OwnAccount::RemoveDevice(
    const std::string& device_id) {
  auto it = state_->own_state.devices.find(device_id);
  if (it == state_->own_state.devices.end()) {
    return absl::NotFoundError(absl::StrCat(
        "device \"", device_id, "\" is not one of your account's devices"));
  }
  DeviceRecord r;
  r.operation = Operation::kRemoveDevice;
  r.device_id = device_id;
  r.key = it->second.key;
  return Write(std::move(r), "");
}

absl::StatusOr<OwnAccount::Written> OwnAccount::RotateAccountKey() {
  // Rule 1 first: it may complete an earlier rotation, after which the
  // prepared key is the current one and a new one is prepared.
  RETURN_IF_ERROR(Check().status());
  absl::StatusOr<std::string> next = keys_->PrepareNext();
  if (!next.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot prepare the new account key: ", next.status().message()));
  }
  DeviceRecord r;
  r.operation = Operation::kRotateAccountKey;
  r.key = *next;
  // A refused rotation leaves the prepared key for the next try (the same
  // key: an earlier try may still be in the log).
  return Write(std::move(r), "");
}

absl::StatusOr<OwnAccount::Written> OwnAccount::RecordBackup(
    const BackupRef& backup) {
  if (!state_->own_state.exists()) {
    return absl::FailedPreconditionError(
        "your account does not exist yet: add your first device before "
        "backing up");
  }
  DeviceRecord r;
  r.operation = Operation::kRecordBackup;
  r.key = backup.Encode();
  return Write(std::move(r), "");  // it makes `backup` the state's latest
}

absl::StatusOr<std::string> OwnAccount::PrepareReset() {
  RETURN_IF_ERROR(Check().status());
  if (!state_->own_state.exists()) {
    return absl::FailedPreconditionError(
        "your account does not exist yet: there is nothing to reset");
  }
  absl::StatusOr<std::string> held = keys_->PublicKey();
  if (held.ok() && *held == state_->own_state.account_key) {
    return absl::FailedPreconditionError(
        "you hold your account key: rotate it instead of a reset, which "
        "alerts every contact of yours");
  }
  absl::StatusOr<std::string> next = keys_->PrepareNext();
  if (!next.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot prepare the new account key: ", next.status().message()));
  }
  return next;
}

absl::StatusOr<OwnAccount::Written> OwnAccount::ResetAccount(
    const std::string& credential) {
  RETURN_IF_ERROR(PrepareReset().status());
  DeviceRecord r;
  r.operation = Operation::kResetAccount;
  return Write(std::move(r), credential);
}

absl::StatusOr<OwnAccount::Written> OwnAccount::SetSecurityKeys(
    std::vector<SecurityKey> keys, bool require_user_verification) {
  SecurityKeySet set;
  set.require_user_verification = require_user_verification;
  ASSIGN_OR_RETURN(set.rp_id, RpId());
  set.keys = std::move(keys);
  std::sort(set.keys.begin(), set.keys.end(),
            [](const SecurityKey& a, const SecurityKey& b) {
              return a.credential_id < b.credential_id;
            });
  RETURN_IF_ERROR(set.Validate());
  DeviceRecord r;
  r.operation = Operation::kSetSecurityKeys;
  r.key = set.Encode();
  return Write(std::move(r), "");
}

absl::StatusOr<SecurityKey> OwnAccount::EnrollSecurityKey(
    SecurityKeyDevice* device, KeyAlgorithm algorithm,
    bool require_user_verification, const std::vector<std::string>& exclude) {
  ASSIGN_OR_RETURN(std::string rp_id, RpId());
  std::vector<std::string> excluded = exclude;
  for (const SecurityKey& k : SecurityKeys()) {
    excluded.push_back(k.credential_id);
  }
  ASSIGN_OR_RETURN(
      SecurityKey key,
      device->MakeCredential(rp_id, state_->account_id, algorithm, excluded));
  Hash challenge = Sha256(RandomBytes(32));
  ASSIGN_OR_RETURN(KeyAssertion a,
                   device->GetAssertion(rp_id, {key.credential_id}, challenge,
                                        require_user_verification));
  absl::StatusOr<AuthenticatorData> data = VerifyKeyAssertion(
      key, rp_id, require_user_verification, a.authenticator_data, challenge,
      key.algorithm == KeyAlgorithm::kEs256 ? P256PublicKey::LowS(a.signature)
                                            : a.signature);
  if (!data.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the security key cannot sign as your account would need it to (",
        data.status().message(), "); it was not added",
        require_user_verification ? " (user verification needs a key with a "
                                    "fingerprint reader: ktlog cannot pass "
                                    "a PIN yet)"
                                  : ""));
  }
  if ((data->flags & kFlagBackupEligible) != 0) {
    return absl::FailedPreconditionError(
        "the credential is a synced passkey (backup eligible): it can be "
        "copied by design, so it cannot stand for a hardware security key");
  }
  return key;
}

absl::StatusOr<std::string> OwnAccount::RpId() const {
  ASSIGN_OR_RETURN(LogPublicKey key, PinnedLogKey(*state_));
  return RpIdForOrigin(key.checkpoint_key.name);
}

std::vector<SecurityKey> OwnAccount::SecurityKeys() const {
  const std::string& authority = state_->own_state.account_key;
  if (!IsSecurityKeyAuthority(authority)) return {};
  absl::StatusOr<SecurityKeySet> set = DecodeSecurityKeySet(authority);
  return set.ok() ? set->keys : std::vector<SecurityKey>();
}

absl::Status OwnAccount::Sign(DeviceRecord* record) {
  if (record->operation == Operation::kResetAccount) {
    // Signed by the new key it sets: the authority it replaces is lost.
    ASSIGN_OR_RETURN(record->key, keys_->NextPublicKey());
    record->account_key = record->key;
    ASSIGN_OR_RETURN(record->signature,
                     keys_->SignWithNext(record->SigningMessage()));
    return absl::OkStatus();
  }
  const std::string& authority = state_->own_state.account_key;
  if (!IsSecurityKeyAuthority(authority)) {
    ASSIGN_OR_RETURN(record->account_key, keys_->PublicKey());
    ASSIGN_OR_RETURN(record->signature, keys_->Sign(record->SigningMessage()));
    return absl::OkStatus();
  }
  if (device_ == nullptr) {
    return absl::FailedPreconditionError(
        "your account is on security keys: plug in one of them to make "
        "this change");
  }
  ASSIGN_OR_RETURN(SecurityKeySet set, DecodeSecurityKeySet(authority));
  // Any credential id marks the record as authorized by a security key
  // (format 2), which its client data hash covers.
  record->account_key.clear();
  record->credential_id = set.keys[0].credential_id;
  ASSIGN_OR_RETURN(KeyAssertion a, Assert(set, record->ClientDataHash()));
  record->credential_id = a.credential_id;
  record->authenticator_data = a.authenticator_data;
  record->signature = a.signature;
  RETURN_IF_ERROR(record->Validate());
  RETURN_IF_ERROR(VerifyAuthorizedBy(*record, authority));
  return verifier_->CheckOwnAssertion(*record);  // rule 4b
}

absl::StatusOr<OwnAccount::Written> OwnAccount::Write(
    DeviceRecord record, const std::string& credential) {
  RETURN_IF_ERROR(Check().status());  // rule 1
  if (record.operation == Operation::kAddDevice) {
    RETURN_IF_ERROR(CanAdd(record.device_id));  // as the log shows it now
  }
  const bool earlier_unverified = HasUnverified();
  record.account_id = state_->account_id;
  record.account_version = state_->own_state.version + 1;
  record.timestamp_ms = clock_->NowMillis();
  if (record.account_version == 1 && state_->access_grant.empty()) {
    // Rule 6: the key that creates the account grants the access key...
    ASSIGN_OR_RETURN(state_->access_grant, GrantByKeyStore(/*next=*/false));
  } else if (record.operation == Operation::kResetAccount) {
    // ...and a reset's key grants it anew (saved with the record, below).
    ASSIGN_OR_RETURN(state_->next_access_grant, GrantByKeyStore(/*next=*/true));
  }
  RETURN_IF_ERROR(Sign(&record));
  const std::string bytes = record.Encode();
  const std::string pending = Sha256(bytes).ToHex();
  state_->pending_own[pending] = {record.account_version};
  if (record.operation == Operation::kRecordBackup) {
    // Saved with the record, once it is signed: the record names this
    // client's backup, whatever answer comes back, at this version.
    ASSIGN_OR_RETURN(state_->backup.latest, DecodeBackupRef(record.key));
    state_->backup.record_version = record.account_version;
    state_->backup.uploaded = false;
  }
  RETURN_IF_ERROR(store_->Save(*state_));  // rule 2

  absl::StatusOr<LogSink::Appended> appended =
      sink_->Append(record.operation, bytes,
                    record.account_version == 1 ||
                            record.operation == Operation::kResetAccount
                        ? credential
                        : "");
  if (!appended.ok()) {
    const absl::Status& e = appended.status();
    if (FateOfFailedAppend(e) == AppendFate::kNotAppended) {  // rule 3
      state_->pending_own[pending].refused = true;
      // A refused reset sets no key: its grant would never serve.
      if (record.operation == Operation::kResetAccount) {
        state_->next_access_grant.clear();
      }
      RETURN_IF_ERROR(store_->Save(*state_));
    }
    if (earlier_unverified &&
        (absl::IsFailedPrecondition(e) || absl::IsPermissionDenied(e) ||
         absl::IsUnauthenticated(e))) {
      // Most likely refused because it builds on our record the log has
      // and we have not verified yet (it looks like the account's first).
      return absl::FailedPreconditionError(absl::StrCat(
          "your previous record is not verified yet: your witnesses have "
          "not cosigned a checkpoint that covers it; wait for them and try "
          "again. The log said: ",
          e.message()));
    }
    if (absl::IsUnauthenticated(e)) {
      // The log's answer, not a failed check of ours.
      return absl::PermissionDeniedError(e.message());
    }
    return e;
  }
  state_->pending_own[pending].acknowledged = true;
  state_->pending_own[pending].leaf_index = appended->leaf_index;
  if (record.operation == Operation::kAddDevice) {
    state_->approved_devices[record.device_id] = record.key;
  } else if (record.operation == Operation::kRemoveDevice) {
    state_->approved_devices.erase(record.device_id);
  }
  RETURN_IF_ERROR(store_->Save(*state_));
  Written written{std::move(record), *appended, false};
  absl::Status checked = Recheck(&written);  // rule 5
  // The write is done: only evidence fails it now; a check that could not
  // be made (the log busy) leaves it unverified, for Recheck or Monitor.
  if (!checked.ok() && (IsVerificationFailure(RefusalOf(checked)) ||
                        absl::IsDataLoss(checked))) {
    return checked;
  }
  return written;
}

absl::StatusOr<LogCheckpoint> OwnAccount::Check() {
  absl::StatusOr<LogCheckpoint> cp = verifier_->UpdateCheckpoint();
  if (!cp.ok()) {
    RETURN_IF_ERROR(store_->Save(*state_));  // the alerts it raised
    return cp.status();
  }
  RETURN_IF_ERROR(CheckAt(*cp));
  return cp;
}

absl::StatusOr<std::string> OwnAccount::GrantMessage() {
  ASSIGN_OR_RETURN(LogPublicKey log_key, PinnedLogKey(*state_));
  if (state_->access_seed.empty()) {
    state_->access_seed = RandomBytes(Ed25519PrivateKey::kSeedSize);
  }
  ASSIGN_OR_RETURN(Ed25519PrivateKey access,
                   Ed25519PrivateKey::FromSeed(state_->access_seed));
  return OwnerGrantMessage(log_key.checkpoint_key.name, state_->account_id,
                           access.public_key().bytes());
}

absl::StatusOr<std::string> OwnAccount::GrantByKeyStore(bool next) {
  ASSIGN_OR_RETURN(std::string message, GrantMessage());
  return next ? keys_->SignWithNext(message) : keys_->Sign(message);
}

absl::StatusOr<KeyAssertion> OwnAccount::Assert(const SecurityKeySet& set,
                                                const Hash& client_data_hash) {
  std::vector<std::string> ids;
  for (const SecurityKey& k : set.keys) ids.push_back(k.credential_id);
  ASSIGN_OR_RETURN(KeyAssertion a,
                   device_->GetAssertion(set.rp_id, ids, client_data_hash,
                                         set.require_user_verification));
  const SecurityKey* key = set.Find(a.credential_id);
  if (key != nullptr && key->algorithm == KeyAlgorithm::kEs256) {
    a.signature = P256PublicKey::LowS(a.signature);  // formats.md
  }
  return a;
}

absl::Status OwnAccount::EnsureAccess() {
  if (!state_->access_grant.empty()) return absl::OkStatus();
  const AccountState& own = state_->own_state;
  std::vector<std::string> authorities = GrantingAuthorities(own);
  absl::StatusOr<std::string> held = keys_->PublicKey();
  if (held.ok() && std::find(authorities.begin(), authorities.end(), *held) !=
                       authorities.end()) {
    ASSIGN_OR_RETURN(state_->access_grant, GrantByKeyStore(/*next=*/false));
    return store_->Save(*state_);
  }
  if (device_ == nullptr || !IsSecurityKeyAuthority(own.account_key)) {
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(std::string message, GrantMessage());
  ASSIGN_OR_RETURN(SecurityKeySet set, DecodeSecurityKeySet(own.account_key));
  ASSIGN_OR_RETURN(KeyAssertion a, Assert(set, Sha256(message)));
  std::string grant =
      EncodeAssertionGrant(a.credential_id, a.authenticator_data, a.signature);
  // Checked here as the log will check it: a key whose assertion the log
  // would refuse (extensions in its data, say) is the key's fault, not the
  // log's, and is said so now.
  ASSIGN_OR_RETURN(LogPublicKey log_key, PinnedLogKey(*state_));
  ASSIGN_OR_RETURN(Ed25519PrivateKey access,
                   Ed25519PrivateKey::FromSeed(state_->access_seed));
  OwnerProof shape{access.public_key().bytes(), grant, 0,
                   std::string(Ed25519PublicKey::kSignatureSize, '\0')};
  absl::Status valid = CheckOwnerProofShape(shape);
  if (valid.ok()) {
    valid = VerifyGrantBy(own.account_key, log_key.checkpoint_key.name,
                          state_->account_id, shape.access_key, grant);
  }
  if (!valid.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the security key's grant of history access is not one the log "
        "takes: ",
        valid.message()));
  }
  state_->access_grant = std::move(grant);
  return store_->Save(*state_);
}

absl::Status OwnAccount::CheckAt(const LogCheckpoint& checkpoint) {
  RETURN_IF_ERROR(EnsureAccess());  // rule 6
  absl::Status checked;
  // The own account is checked again only when the trusted checkpoint
  // moved (a lookup per poll would spend the log's rate limit).
  if (!(checked_.has_value() && *checked_ == checkpoint)) {
    checked = verifier_->MonitorSelf(checkpoint);
    if (checked.ok()) checked_ = checkpoint;
  } else {
    // Not checked again, but a checkpoint too old hides changes.
    checked = verifier_->CheckOwnCheckpointAge(checkpoint);
  }
  if (checked.ok()) checked = CompleteRotation();
  if (checked.ok() && !HasUnverified()) {
    // No reset of ours on its way (one the log took was verified, and its
    // grant is in force): a grant kept for one would never serve.
    state_->next_access_grant.clear();
    // Devices this client published that the account no longer has (or
    // never got): nothing of ours is on its way, so they are not coming.
    auto& approved = state_->approved_devices;
    for (auto d = approved.begin(); d != approved.end();) {
      d = state_->own_state.devices.count(d->first) == 0 ? approved.erase(d)
                                                         : ++d;
    }
  }
  absl::Status saved = store_->Save(*state_);
  RETURN_IF_ERROR(checked);
  return saved;
}

absl::Status OwnAccount::Monitor() {
  absl::StatusOr<LogCheckpoint> cp = verifier_->UpdateCheckpoint();
  if (!cp.ok()) {
    RETURN_IF_ERROR(store_->Save(*state_));
    return cp.status();
  }
  absl::Status self = CheckAt(*cp);
  absl::Status contacts = verifier_->MonitorContacts(*cp);
  RETURN_IF_ERROR(store_->Save(*state_));
  return self.ok() ? contacts : self;
}

absl::Status OwnAccount::Recheck(Written* written) {
  ASSIGN_OR_RETURN(LogCheckpoint cp, Check());
  const uint64_t version = written->record.account_version;
  if (verifier_->MatchedOwn(Sha256(written->record.Encode()).ToHex())) {
    written->verified = true;  // seen in the verified history
    return absl::OkStatus();
  }
  // Not seen: still on its way unless the account passed its version
  // (another record has it) or the log signed a tree that holds the leaf
  // index it acknowledged without it. The leaf index is the log's word;
  // only the verified history counts.
  if (version > state_->own_state.version &&
      cp.size <= written->appended.leaf_index) {
    return absl::OkStatus();
  }
  return WithRefusal(
      absl::DataLossError(absl::StrCat(
          "the log acknowledged the record of version ", version,
          " at leaf index ", written->appended.leaf_index,
          " but the account's verified history does not show it (it is at "
          "version ",
          state_->own_state.version, ")")),
      Refusal::kInconsistentAccount);
}

absl::StatusOr<std::string> OwnAccount::AccountKey() {
  RETURN_IF_ERROR(CompleteRotation());
  const std::string& authority = state_->own_state.account_key;
  if (!IsSecurityKeyAuthority(authority)) return keys_->PublicKey();
  // On security keys the code is over the set the log shows, which must
  // be the one this client set: the operator can set one of its own
  // after a reset, and a code over it would match.
  if (!OwnAuthorityInForce()) {
    return absl::FailedPreconditionError(
        "your account's security keys are not the ones you set last: "
        "someone else changed them (see your alerts), and a safety code "
        "over them would be theirs");
  }
  return authority;
}

bool OwnAccount::OwnAuthorityInForce() const {
  const std::string& mine = state_->own_authority;
  return mine.empty() || mine == state_->own_state.account_key;
}

absl::Status OwnAccount::CompleteRotation() {
  if (IsSecurityKeyAuthority(state_->own_state.account_key)) {
    // On security keys (verified, and set by this client): the account key
    // authorizes nothing any more; destroyed once, so a later copy of the
    // store holds none. Set by someone else, it is kept (the alert says).
    if (OwnAuthorityInForce() && keys_->PublicKey().ok()) {
      return keys_->Retire();
    }
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(std::string next, keys_->NextPublicKey());
  if (next.empty() || state_->own_state.account_key != next) {
    return absl::OkStatus();
  }
  // The verified account shows the rotation to the next key (rule 4).
  return keys_->PromoteNext();
}

}  // namespace ktlog
