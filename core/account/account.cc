#include "core/account/account.h"

#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "core/account/security_key.h"
#include "core/crypto/crypto.h"
#include "core/util/bytes.h"
#include "core/util/status_macros.h"

namespace ktlog {
namespace {}  // namespace

namespace {

// The canonical encoding, or with records by reference.
std::string EncodeState(const AccountState& s, bool by_reference) {
  bool on_keys = IsSecurityKeyAuthority(s.account_key);
  uint8_t format =
      on_keys ? kAccountStateOnSecurityKeysFormat : kAccountStateFormat;
  std::string out(1, static_cast<char>(by_reference ? format | 0x80 : format));
  AppendU16Prefixed(s.account_id, &out);
  out += s.first_key;
  if (on_keys) {
    AppendU16Prefixed(s.account_key, &out);
    for (uint32_t c : s.key_counters) AppendBigEndian(c, 4, &out);
  } else {
    out += s.account_key;
  }
  AppendBigEndian(s.version, 8, &out);
  AppendBigEndian(s.devices.size(), 2, &out);
  for (const auto& [id, device] : s.devices) {
    AppendBigEndian(device.leaf_index, 8, &out);
    if (!by_reference) AppendU16Prefixed(device.record, &out);
  }
  AppendBigEndian(s.key_chain.size(), 2, &out);
  for (const ChainedRotation& r : s.key_chain) {
    AppendBigEndian(r.leaf_index, 8, &out);
    if (!by_reference) AppendU16Prefixed(r.record, &out);
  }
  return out;
}

}  // namespace

std::string AccountState::Encode() const { return EncodeState(*this, false); }

std::string AccountState::EncodeByReference() const {
  return EncodeState(*this, true);
}

namespace {

// A record inside a state: it decodes, is of `op`, of this account, and not
// newer than the state.
absl::StatusOr<DeviceRecord> DecodeStateRecord(absl::string_view bytes,
                                               Operation op,
                                               const AccountState& s) {
  absl::StatusOr<DeviceRecord> r = DecodeRecord(bytes);
  if (!r.ok() || r->operation != op || r->account_id != s.account_id ||
      r->account_version > s.version) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed account state: a ", OperationName(op),
                     " record that is not one of this account's"));
  }
  return r;
}

// Reads one entry's leaf index and record: inline (record_at null), or
// by reference. False if the encoding ends early.
absl::StatusOr<bool> ReadStateEntry(ByteReader& r, const RecordAt* record_at,
                                    uint64_t* leaf_index, std::string* record) {
  absl::string_view bytes;
  if (!r.ReadU64(leaf_index)) return false;
  if (record_at != nullptr) {
    ASSIGN_OR_RETURN(*record, (*record_at)(*leaf_index));
    return true;
  }
  if (!r.ReadU16Prefixed(&bytes)) return false;
  *record = std::string(bytes);
  return true;
}

// The device entries of a state encoding.
absl::Status DecodeDevices(ByteReader& r, const RecordAt* record_at,
                           AccountState* s) {
  uint16_t count = 0;
  if (!r.ReadU16(&count)) return absl::OkStatus();
  std::string previous;
  for (uint16_t i = 0; i < count && !r.failed(); ++i) {
    uint64_t leaf_index = 0;
    std::string bytes;
    ASSIGN_OR_RETURN(bool read,
                     ReadStateEntry(r, record_at, &leaf_index, &bytes));
    if (!read) break;
    ASSIGN_OR_RETURN(DeviceRecord d,
                     DecodeStateRecord(bytes, Operation::kAddDevice, *s));
    if (i > 0 && d.device_id <= previous) {
      return absl::InvalidArgumentError(
          "account state devices are not sorted and unique");
    }
    previous = d.device_id;
    s->devices[d.device_id] =
        ActiveDevice{d.key, leaf_index, d.account_version, std::move(bytes)};
  }
  return absl::OkStatus();
}

// The key chain entries of a state encoding.
absl::Status DecodeKeyChain(ByteReader& r, const RecordAt* record_at,
                            AccountState* s) {
  uint16_t count = 0;
  if (!r.ReadU16(&count)) return absl::OkStatus();
  size_t changes = 0, resets = 0;
  for (uint16_t i = 0; i < count && !r.failed(); ++i) {
    uint64_t leaf_index = 0;
    std::string bytes;
    ASSIGN_OR_RETURN(bool read,
                     ReadStateEntry(r, record_at, &leaf_index, &bytes));
    if (!read) break;
    absl::StatusOr<DeviceRecord> d = DecodeRecord(bytes);
    if (!d.ok() || !ChangesAuthority(d->operation) ||
        d->account_id != s->account_id || d->account_version > s->version) {
      return absl::InvalidArgumentError(
          "malformed account state: a key chain record that is not one of "
          "this account's authority changes");
    }
    if (!s->key_chain.empty() &&
        d->account_version <= s->key_chain.back().version) {
      return absl::InvalidArgumentError(
          "account state key chain is not in version order");
    }
    s->key_chain.push_back(
        ChainedRotation{leaf_index, d->account_version, std::move(bytes)});
    ++(d->operation == Operation::kResetAccount ? resets : changes);
  }
  if (changes > kMaxKeyChain || resets > kMaxResets) {
    return absl::InvalidArgumentError("account state key chain is too long");
  }
  return absl::OkStatus();
}

}  // namespace

namespace {

absl::StatusOr<AccountState> DecodeState(absl::string_view data,
                                         const RecordAt* record_at) {
  ByteReader r(data);
  uint8_t format = 0;
  absl::string_view id, first_key, key;
  AccountState s;
  r.ReadU8(&format);
  r.ReadU16Prefixed(&id);
  r.ReadBytes(Ed25519PublicKey::kSize, &first_key);
  uint8_t flag = record_at != nullptr ? 0x80 : 0;
  if (format == (kAccountStateOnSecurityKeysFormat | flag)) {
    r.ReadU16Prefixed(&key);
    absl::StatusOr<SecurityKeySet> set = DecodeSecurityKeySet(key);
    if (!r.failed() && !set.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "malformed account state: its security-key set is invalid (",
          set.status().message(), ")"));
    }
    for (size_t i = 0; set.ok() && i < set->keys.size(); ++i) {
      absl::string_view counter;
      r.ReadBytes(4, &counter);
      if (!r.failed()) {
        s.key_counters.push_back(
            static_cast<uint32_t>(ReadBigEndian(counter, 4)));
      }
    }
  } else if (format == (kAccountStateFormat | flag)) {
    r.ReadBytes(Ed25519PublicKey::kSize, &key);
  } else {
    return absl::InvalidArgumentError("malformed account state encoding");
  }
  r.ReadU64(&s.version);
  s.account_id = std::string(id);
  s.first_key = std::string(first_key);
  s.account_key = std::string(key);
  if (r.failed()) {
    return absl::InvalidArgumentError("malformed account state encoding");
  }
  RETURN_IF_ERROR(DecodeDevices(r, record_at, &s));
  RETURN_IF_ERROR(DecodeKeyChain(r, record_at, &s));
  if (r.failed() || !r.empty() || s.devices.size() > kMaxDevicesPerAccount) {
    return absl::InvalidArgumentError("malformed account state encoding");
  }
  return s;
}

}  // namespace

absl::StatusOr<AccountState> DecodeAccountState(absl::string_view data) {
  return DecodeState(data, nullptr);
}

absl::StatusOr<AccountState> DecodeAccountStateByReference(
    absl::string_view data, const RecordAt& record_at) {
  return DecodeState(data, &record_at);
}

absl::Status VerifyAuthorizedBy(const DeviceRecord& record,
                                absl::string_view authority) {
  bool on_keys = IsSecurityKeyAuthority(authority);
  if (!record.by_security_key()) {
    if (on_keys) {
      return absl::PermissionDeniedError(
          "the account is on security keys: its records carry a security "
          "key's assertion, not an account key's signature");
    }
    if (!ConstantTimeEquals(record.account_key, authority)) {
      return absl::PermissionDeniedError(
          "the record is signed by a key that is not the account key");
    }
    if (!record.VerifySignature().ok()) {
      return absl::PermissionDeniedError(
          "the record's signature does not verify under its account key");
    }
    return absl::OkStatus();
  }
  if (!on_keys) {
    return absl::PermissionDeniedError(
        "the account is not on security keys: its records are signed by "
        "its account key");
  }
  ASSIGN_OR_RETURN(SecurityKeySet set, DecodeSecurityKeySet(authority));
  return VerifyAssertion(set, record.credential_id, record.authenticator_data,
                         record.ClientDataHash(), record.signature)
      .status();
}

namespace {

// The counters of `next` (a set-security-keys record's set) after `record`
// installed it: a key kept from the current set (same credential id and
// public key) keeps its counter, a new key starts at zero.
std::vector<uint32_t> CountersFor(const SecurityKeySet& next,
                                  const AccountState& state) {
  std::vector<uint32_t> out(next.keys.size(), 0);
  if (!IsSecurityKeyAuthority(state.account_key)) return out;
  absl::StatusOr<SecurityKeySet> current =
      DecodeSecurityKeySet(state.account_key);
  if (!current.ok()) return out;
  for (size_t i = 0; i < next.keys.size(); ++i) {
    for (size_t j = 0; j < current->keys.size(); ++j) {
      if (current->keys[j] == next.keys[i] && j < state.key_counters.size()) {
        out[i] = state.key_counters[j];
      }
    }
  }
  return out;
}

// An account's first record (an add-device of version 1 signed by an
// account key) creates it; NOT_FOUND for any other record of an account
// that does not exist.
absl::Status CreateAccount(const DeviceRecord& record, uint64_t leaf_index,
                           AccountState* state) {
  if (record.operation != Operation::kAddDevice ||
      record.account_version != 1 || record.by_security_key()) {
    return absl::NotFoundError(absl::StrCat(
        "account \"", record.account_id,
        "\" does not exist; its first record must add a device with "
        "version 1, signed by an account key (this one is a ",
        OperationName(record.operation), " with version ",
        record.account_version, ")"));
  }
  AccountState created;
  created.account_id = record.account_id;
  created.first_key = record.account_key;
  created.account_key = record.account_key;
  created.version = 1;
  created.devices[record.device_id] =
      ActiveDevice{record.key, leaf_index, 1, record.Encode()};
  *state = std::move(created);
  return absl::OkStatus();
}

// A record by a security key: which of the account's keys signed it, and
// the signature counter it carries.
struct KeySignature {
  size_t index = 0;
  uint32_t count = 0;
};

// PERMISSION_DENIED unless the account's current authority authorized
// `record`: a format-1 record (whose signature the caller verified) signed
// by the account key; a format-2 record's assertion by one of the account's
// security keys (the set decoded and the assertion verified once here),
// whose counter must grow (FAILED_PRECONDITION: a cloned key, or a replay).
absl::StatusOr<std::optional<KeySignature>> CheckAuthority(
    const DeviceRecord& record, const AccountState& state) {
  const std::string& id = record.account_id;
  if (!record.by_security_key()) {
    if (!ConstantTimeEquals(record.account_key, state.account_key)) {
      return absl::PermissionDeniedError(absl::StrCat(
          "record is signed by a key that is not the current account key of "
          "\"",
          id, "\"",
          IsSecurityKeyAuthority(state.account_key)
              ? " (the account is on security keys)"
              : ""));
    }
    return std::nullopt;
  }
  auto denied = [&](absl::string_view why) {
    return absl::PermissionDeniedError(
        absl::StrCat("the record is not authorized by the security keys of \"",
                     id, "\": ", why));
  };
  if (!IsSecurityKeyAuthority(state.account_key)) {
    return denied("the account is not on security keys");
  }
  ASSIGN_OR_RETURN(SecurityKeySet set, DecodeSecurityKeySet(state.account_key));
  const SecurityKey* key = set.Find(record.credential_id);
  if (key == nullptr) return denied("the key is not one of the account's");
  absl::StatusOr<AuthenticatorData> data = VerifyKeyAssertion(
      *key, set.rp_id, set.require_user_verification, record.authenticator_data,
      record.ClientDataHash(), record.signature);
  if (absl::IsInvalidArgument(data.status())) return data.status();
  if (!data.ok()) return denied(data.status().message());
  KeySignature signed_by{static_cast<size_t>(key - set.keys.data()),
                         data->sign_count};
  uint32_t held = signed_by.index < state.key_counters.size()
                      ? state.key_counters[signed_by.index]
                      : 0;
  if (!SignCountGrows(held, signed_by.count)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "security key ", HexEncode(record.credential_id),
        " signed with counter ", signed_by.count, ", not above the account's ",
        held,
        ": a copy of the key has signed since (a cloned key), or this "
        "assertion is replayed"));
  }
  return signed_by;
}

// The account's key counters once a record by `signed_by` (if by a
// security key) is applied, before any change of the set.
std::vector<uint32_t> CountersAfter(
    const std::optional<KeySignature>& signed_by, const AccountState& state) {
  std::vector<uint32_t> counters = state.key_counters;
  if (signed_by.has_value()) {
    if (counters.size() <= signed_by->index) {
      counters.resize(signed_by->index + 1, 0);
    }
    counters[signed_by->index] = signed_by->count;
  }
  return counters;
}

}  // namespace

absl::Status ResetRule::Next(Operation op, const std::string& authority,
                             uint64_t version) {
  const bool reset = op == Operation::kResetAccount;
  if (reset ? resets_ >= kMaxResets : changes_ >= kMaxKeyChain) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the ", reset ? "reset" : "authority change", " of version ", version,
        " is one more than the ", reset ? kMaxResets : kMaxKeyChain,
        reset ? " resets" : " authority changes",
        " an account may make in its life (its key chain, which contacts "
        "check from the account's first record, holds every one)"));
  }
  if (reset && seen_.count(authority) > 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the reset of version ", version,
        " sets a key that was the account's authority before: a reset starts "
        "from a new key"));
  }
  if (barred_.count(authority) > 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the authority change of version ", version,
        " goes back to an authority from before the account's reset"));
  }
  if (reset) barred_ = seen_;
  seen_.insert(authority);
  ++(reset ? resets_ : changes_);
  return absl::OkStatus();
}

namespace {

// The ResetRule for `record`, an authority change of `state`.
absl::Status CheckResetRule(const DeviceRecord& record,
                            const AccountState& state) {
  ResetRule rule(state.first_key);
  for (const ChainedRotation& c : state.key_chain) {
    absl::StatusOr<DeviceRecord> d = DecodeRecord(c.record);
    if (!d.ok()) return absl::InternalError("a stored chain record is corrupt");
    RETURN_IF_ERROR(rule.Next(d->operation, d->key, d->account_version));
  }
  return rule.Next(record.operation, record.key, record.account_version);
}

}  // namespace

absl::Status ApplyRecord(const DeviceRecord& record, uint64_t leaf_index,
                         AccountState* state) {
  const std::string& id = record.account_id;
  if (!state->exists()) return CreateAccount(record, leaf_index, state);
  // A reset is signed by the key it installs (the authority it replaces is
  // lost); the log's writer checks the operator's credential for it.
  std::optional<KeySignature> signed_by;
  if (record.operation != Operation::kResetAccount) {
    ASSIGN_OR_RETURN(signed_by, CheckAuthority(record, *state));
  }
  if (record.account_version != state->version + 1) {
    return absl::FailedPreconditionError(absl::StrCat(
        "account \"", id, "\" is at version ", state->version,
        "; the next record must have version ", state->version + 1, ", not ",
        record.account_version,
        record.account_version <= state->version ? " (stale or replayed)"
                                                 : ""));
  }
  std::vector<uint32_t> counters = CountersAfter(signed_by, *state);
  switch (record.operation) {
    case Operation::kAddDevice:
      if (state->devices.count(record.device_id) > 0) {
        return absl::AlreadyExistsError(
            absl::StrCat("device \"", record.device_id,
                         "\" is already active in account \"", id, "\""));
      }
      if (state->devices.size() >= kMaxDevicesPerAccount) {
        return absl::FailedPreconditionError(
            absl::StrCat("account \"", id, "\" has the maximum of ",
                         kMaxDevicesPerAccount, " devices; remove one first"));
      }
      state->devices[record.device_id] = ActiveDevice{
          record.key, leaf_index, record.account_version, record.Encode()};
      break;
    case Operation::kRemoveDevice: {
      auto it = state->devices.find(record.device_id);
      if (it == state->devices.end()) {
        return absl::NotFoundError(
            absl::StrCat("device \"", record.device_id,
                         "\" is not active in account \"", id, "\""));
      }
      if (it->second.key != record.key) {
        return absl::FailedPreconditionError(
            absl::StrCat("device \"", record.device_id,
                         "\" has a different key than the removal names"));
      }
      state->devices.erase(it);
      break;
    }
    case Operation::kRecordBackup:
      break;  // the history keeps it; the state only moves its version
    case Operation::kRotateAccountKey:
    case Operation::kSetSecurityKeys:
    case Operation::kResetAccount: {
      if (record.key == state->account_key) {
        return absl::FailedPreconditionError(
            "the record sets the authority the account has already");
      }
      RETURN_IF_ERROR(CheckResetRule(record, *state));
      if (record.operation == Operation::kSetSecurityKeys) {
        AccountState with_counters = *state;
        with_counters.key_counters = counters;
        counters =
            CountersFor(*DecodeSecurityKeySet(record.key), with_counters);
      } else {
        counters.clear();
      }
      if (record.operation == Operation::kResetAccount) {
        state->devices.clear();  // every device is added again by the new key
      }
      state->account_key = record.key;
      state->key_chain.push_back(
          ChainedRotation{leaf_index, record.account_version, record.Encode()});
      break;
    }
  }
  state->key_counters = std::move(counters);
  state->version = record.account_version;
  return absl::OkStatus();
}

}  // namespace ktlog
