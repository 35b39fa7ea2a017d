#include "core/account/account.h"

#include "absl/strings/str_cat.h"
#include "core/crypto/crypto.h"
#include "core/util/bytes.h"

namespace ktlog {
namespace {

void AppendU16Prefixed(absl::string_view s, std::string* out) {
  AppendBigEndian(s.size(), 2, out);
  out->append(s.data(), s.size());
}

}  // namespace

std::string AccountState::Encode() const {
  std::string out(1, '\x01');
  AppendU16Prefixed(account_id, &out);
  out += account_key;
  AppendBigEndian(version, 8, &out);
  AppendBigEndian(devices.size(), 2, &out);
  for (const auto& [id, device] : devices) {
    AppendU16Prefixed(id, &out);
    AppendU16Prefixed(device.key, &out);
    AppendBigEndian(device.leaf_index, 8, &out);
  }
  return out;
}

absl::StatusOr<AccountState> DecodeAccountState(absl::string_view data) {
  ByteReader r(data);
  uint8_t format = 0;
  uint16_t count = 0;
  absl::string_view id, key;
  AccountState s;
  r.ReadU8(&format);
  r.ReadU16Prefixed(&id);
  r.ReadBytes(Ed25519PublicKey::kSize, &key);
  r.ReadU64(&s.version);
  r.ReadU16(&count);
  s.account_id = std::string(id);
  s.account_key = std::string(key);
  std::string previous;
  for (uint16_t i = 0; i < count && !r.failed(); ++i) {
    absl::string_view device_id, device_key;
    uint64_t leaf_index = 0;
    r.ReadU16Prefixed(&device_id);
    r.ReadU16Prefixed(&device_key);
    r.ReadU64(&leaf_index);
    if (r.failed()) break;
    if (i > 0 && std::string(device_id) <= previous) {
      return absl::InvalidArgumentError(
          "account state devices are not sorted and unique");
    }
    previous = std::string(device_id);
    s.devices[previous] = ActiveDevice{std::string(device_key), leaf_index};
  }
  if (r.failed() || !r.empty() || format != 1) {
    return absl::InvalidArgumentError("malformed account state encoding");
  }
  return s;
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
    created.account_key = record.account_key;
    created.version = 1;
    created.devices[record.device_id] = ActiveDevice{record.key, leaf_index};
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
      state->devices[record.device_id] = ActiveDevice{record.key, leaf_index};
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
      state->account_key = record.key;
      break;
  }
  state->version = record.account_version;
  return absl::OkStatus();
}

}  // namespace ktlog
