#include "core/account/account.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "core/crypto/crypto.h"
#include "core/util/bytes.h"
#include "core/util/status_macros.h"

namespace ktlog {
namespace {

void AppendU16Prefixed(absl::string_view s, std::string* out) {
  AppendBigEndian(s.size(), 2, out);
  out->append(s.data(), s.size());
}

}  // namespace

namespace {

// The canonical encoding, or with records by reference.
std::string EncodeState(const AccountState& s, bool by_reference) {
  std::string out(
      1, static_cast<char>(by_reference ? kAccountStateByReferenceFormat
                                        : kAccountStateFormat));
  AppendU16Prefixed(s.account_id, &out);
  out += s.first_key;
  out += s.account_key;
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
  for (uint16_t i = 0; i < count && !r.failed(); ++i) {
    uint64_t leaf_index = 0;
    std::string bytes;
    ASSIGN_OR_RETURN(bool read,
                     ReadStateEntry(r, record_at, &leaf_index, &bytes));
    if (!read) break;
    ASSIGN_OR_RETURN(
        DeviceRecord d,
        DecodeStateRecord(bytes, Operation::kRotateAccountKey, *s));
    if (!s->key_chain.empty() &&
        d.account_version <= s->key_chain.back().version) {
      return absl::InvalidArgumentError(
          "account state key chain is not in version order");
    }
    s->key_chain.push_back(
        ChainedRotation{leaf_index, d.account_version, std::move(bytes)});
  }
  if (s->key_chain.size() > kMaxKeyChain) {
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
  r.ReadBytes(Ed25519PublicKey::kSize, &key);
  r.ReadU64(&s.version);
  s.account_id = std::string(id);
  s.first_key = std::string(first_key);
  s.account_key = std::string(key);
  uint8_t want = record_at != nullptr ? kAccountStateByReferenceFormat
                                      : kAccountStateFormat;
  if (r.failed() || format != want) {
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

absl::Status ApplyRecord(const DeviceRecord& record, uint64_t leaf_index,
                         AccountState* state) {
  const std::string& id = record.account_id;
  if (!state->exists()) {
    // One rule for every record of an account that does not exist, unless
    // it is the account's first record.
    if (record.operation != Operation::kAddDevice ||
        record.account_version != 1) {
      return absl::NotFoundError(absl::StrCat(
          "account \"", id,
          "\" does not exist; its first record must add a device with "
          "version 1 (this one is a ",
          OperationName(record.operation), " with version ",
          record.account_version, ")"));
    }
    AccountState created;
    created.account_id = id;
    created.first_key = record.account_key;
    created.account_key = record.account_key;
    created.version = 1;
    created.devices[record.device_id] =
        ActiveDevice{record.key, leaf_index, 1, record.Encode()};
    *state = std::move(created);
    return absl::OkStatus();
  }
  if (!ConstantTimeEquals(record.account_key, state->account_key)) {
    return absl::PermissionDeniedError(absl::StrCat(
        "record is signed by a key that is not the current account key of \"",
        id, "\""));
  }
  if (record.account_version != state->version + 1) {
    return absl::FailedPreconditionError(absl::StrCat(
        "account \"", id, "\" is at version ", state->version,
        "; the next record must have version ", state->version + 1, ", not ",
        record.account_version,
        record.account_version <= state->version ? " (stale or replayed)"
                                                 : ""));
  }
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
    case Operation::kRotateAccountKey:
      if (state->key_chain.size() >= kMaxKeyChain) {
        return absl::FailedPreconditionError(absl::StrCat(
            "account \"", id, "\" has rotated its key ", kMaxKeyChain,
            " times, the most an account may (its key chain, which contacts "
            "check from the account's first record, holds every rotation)"));
      }
      state->account_key = record.key;
      state->key_chain.push_back(
          ChainedRotation{leaf_index, record.account_version, record.Encode()});
      break;
  }
  state->version = record.account_version;
  return absl::OkStatus();
}

}  // namespace ktlog
