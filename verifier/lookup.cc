#include "verifier/lookup.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "core/account/index.h"
#include "core/merkle/merkle.h"
#include "core/merkle/proof.h"
#include "core/util/status_macros.h"

namespace ktlog {
namespace {

absl::Status Evidence(absl::string_view what) {
  return absl::DataLossError(what);
}

}  // namespace

absl::StatusOr<DeviceRecord> VerifyProvedRecord(const LogCheckpoint& checkpoint,
                                                const ProvedRecord& proved) {
  if (proved.leaf_index >= checkpoint.size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "record at leaf index ", proved.leaf_index,
        " is outside the checkpoint's tree of size ", checkpoint.size));
  }
  RETURN_IF_ERROR(VerifyInclusion(proved.leaf_index, checkpoint.size,
                                  HashLeaf(proved.record),
                                  proved.inclusion_proof, checkpoint.root));
  absl::StatusOr<DeviceRecord> record = DecodeRecord(proved.record);
  if (!record.ok()) {
    return Evidence(
        absl::StrCat("the log holds a malformed record at leaf index ",
                     proved.leaf_index, ": ", record.status().message()));
  }
  absl::Status sig = record->VerifySignature();
  if (!sig.ok()) {
    return Evidence(
        absl::StrCat("the log holds a record with a bad signature "
                     "at leaf index ",
                     proved.leaf_index));
  }
  return record;
}

namespace {

// Check 1: the index proves the answer's state (or absence) under the
// checkpoint's index root. Returns the state, or nullopt for absence.
absl::StatusOr<std::optional<AccountState>> CheckIndexProof(
    const LogCheckpoint& checkpoint, const std::string& account_id,
    const AccountLookupAnswer& answer) {
  if (answer.tree_size != checkpoint.size) {
    return absl::InvalidArgumentError(
        absl::StrCat("the lookup is for tree size ", answer.tree_size,
                     ", not the checkpoint's ", checkpoint.size));
  }
  ASSIGN_OR_RETURN(IndexProof proof, DecodeIndexProof(answer.index_proof));
  Hash key = AccountIndexKey(account_id);
  if (answer.account_state.empty()) {
    if (!answer.devices.empty() || !answer.key_records.empty()) {
      return absl::InvalidArgumentError(
          "an absent account cannot have device or key records");
    }
    RETURN_IF_ERROR(
        VerifyIndexProof(checkpoint.index_root, key, std::nullopt, proof));
    return std::optional<AccountState>();
  }
  absl::StatusOr<AccountState> state = DecodeAccountState(answer.account_state);
  if (!state.ok()) {
    return absl::InvalidArgumentError(
        "the lookup's account state is malformed");
  }
  if (state->account_id != account_id || !state->exists()) {
    return absl::InvalidArgumentError(
        "the lookup's account state is for another account");
  }
  RETURN_IF_ERROR(VerifyIndexProof(checkpoint.index_root, key,
                                   AccountValueHash(*state), proof));
  return std::optional<AccountState>(*std::move(state));
}

// Check 2: one included, well-formed add-device record per active device,
// at the leaf index the state names, matching it.
absl::StatusOr<std::vector<VerifiedDevice>> CheckDeviceRecords(
    const LogCheckpoint& checkpoint, const AccountState& state,
    const std::vector<ProvedRecord>& devices) {
  if (devices.size() != state.devices.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the lookup has ", devices.size(), " device records for ",
                     state.devices.size(), " devices"));
  }
  std::vector<VerifiedDevice> out;
  size_t i = 0;
  for (const auto& [device_id, device] : state.devices) {
    const ProvedRecord& proved = devices[i++];
    if (proved.leaf_index != device.leaf_index) {
      return absl::InvalidArgumentError(absl::StrCat(
          "device \"", device_id, "\" is at leaf index ", device.leaf_index,
          ", the lookup sent ", proved.leaf_index));
    }
    ASSIGN_OR_RETURN(DeviceRecord r, VerifyProvedRecord(checkpoint, proved));
    if (r.operation != Operation::kAddDevice ||
        r.account_id != state.account_id || r.device_id != device_id ||
        r.key != device.key || r.account_version > state.version) {
      return Evidence(absl::StrCat("the signed index names leaf ",
                                   proved.leaf_index, " for device \"",
                                   device_id, "\" of \"", state.account_id,
                                   "\", but that record differs"));
    }
    out.push_back(VerifiedDevice{std::move(r), proved.leaf_index});
  }
  return out;
}

// Check 3: the key records form a chain (the first record or rotations,
// each signed by the previous key) ending at the state's account key.
// Returns (version from which each key was in force, key), oldest first.
absl::StatusOr<std::vector<std::pair<uint64_t, std::string>>> CheckKeyChain(
    const LogCheckpoint& checkpoint, const AccountState& state,
    const std::vector<ProvedRecord>& key_records) {
  if (key_records.empty()) {
    return absl::InvalidArgumentError("the lookup has no key records");
  }
  std::vector<std::pair<uint64_t, std::string>> keys;
  for (const ProvedRecord& proved : key_records) {
    ASSIGN_OR_RETURN(DeviceRecord r, VerifyProvedRecord(checkpoint, proved));
    if (r.account_id != state.account_id ||
        (!keys.empty() && r.account_version <= keys.back().first) ||
        r.account_version > state.version) {
      return absl::InvalidArgumentError(
          "the lookup's key records are not this account's, in order");
    }
    if (keys.empty() && r.operation == Operation::kAddDevice &&
        r.account_version == 1) {
      keys.emplace_back(1, r.account_key);
    } else if (r.operation == Operation::kRotateAccountKey) {
      if (!keys.empty() && r.account_key != keys.back().second) {
        return Evidence(
            absl::StrCat("key rotation at leaf ", proved.leaf_index,
                         " is signed by a key that was not the account key"));
      }
      keys.emplace_back(r.account_version, r.key);
    } else {
      return absl::InvalidArgumentError(
          "a key record is neither the account's first record nor a rotation");
    }
  }
  if (keys.back().second != state.account_key) {
    return Evidence("the key chain does not end at the account's current key");
  }
  return keys;
}

// Check 4: every device record was signed by the account key in force at
// its version, and the chain reaches back that far.
absl::Status CheckDeviceSigners(
    const std::vector<VerifiedDevice>& devices,
    const std::vector<std::pair<uint64_t, std::string>>& keys) {
  for (const VerifiedDevice& d : devices) {
    if (d.record.account_version < keys.front().first) {
      return absl::InvalidArgumentError(
          "the key chain does not reach back to the oldest device record");
    }
  }
  for (const VerifiedDevice& d : devices) {
    auto it =
        std::upper_bound(keys.begin(), keys.end(), d.record.account_version,
                         [](uint64_t v, const auto& k) { return v < k.first; });
    if (it == keys.begin() || (it - 1)->second != d.record.account_key) {
      return Evidence(absl::StrCat(
          "device \"", d.record.device_id,
          "\" was signed by a key that was not the account key at version ",
          d.record.account_version));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<VerifiedAccount> VerifyAccountLookup(
    const LogCheckpoint& checkpoint, const std::string& account_id,
    const AccountLookupAnswer& answer) {
  VerifiedAccount out;
  ASSIGN_OR_RETURN(out.state, CheckIndexProof(checkpoint, account_id, answer));
  if (!out.state.has_value()) return out;  // proved absent
  ASSIGN_OR_RETURN(out.devices,
                   CheckDeviceRecords(checkpoint, *out.state, answer.devices));
  ASSIGN_OR_RETURN(out.key_chain,
                   CheckKeyChain(checkpoint, *out.state, answer.key_records));
  RETURN_IF_ERROR(CheckDeviceSigners(out.devices, out.key_chain));
  return out;
}

absl::StatusOr<std::vector<VerifiedDevice>> VerifyAccountHistory(
    const LogCheckpoint& checkpoint, const std::string& account_id,
    const std::vector<ProvedRecord>& records, AccountState* state) {
  AccountState s = *state;
  if (!s.exists()) s.account_id = account_id;
  std::vector<VerifiedDevice> out;
  for (const ProvedRecord& proved : records) {
    ASSIGN_OR_RETURN(DeviceRecord r, VerifyProvedRecord(checkpoint, proved));
    if (r.account_id != account_id) {
      return absl::InvalidArgumentError(
          absl::StrCat("the history holds a record of another account at leaf ",
                       proved.leaf_index));
    }
    if (r.account_version != s.version + 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("the history skips from version ", s.version, " to ",
                       r.account_version));
    }
    absl::Status rule = ApplyRecord(r, proved.leaf_index, &s);
    if (!rule.ok()) {
      return Evidence(
          absl::StrCat("the log holds record ", proved.leaf_index,
                       " that breaks the account rules: ", rule.message()));
    }
    out.push_back(VerifiedDevice{std::move(r), proved.leaf_index});
  }
  *state = std::move(s);
  return out;
}

}  // namespace ktlog
