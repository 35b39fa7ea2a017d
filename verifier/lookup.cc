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

absl::StatusOr<VerifiedAccount> VerifyAccountLookup(
    const LogCheckpoint& checkpoint, const std::string& account_id,
    const AccountLookupAnswer& answer) {
  if (answer.tree_size != checkpoint.size) {
    return absl::InvalidArgumentError(
        absl::StrCat("the lookup is for tree size ", answer.tree_size,
                     ", not the checkpoint's ", checkpoint.size));
  }
  ASSIGN_OR_RETURN(IndexProof proof, DecodeIndexProof(answer.index_proof));
  Hash key = AccountIndexKey(account_id);
  VerifiedAccount out;
  if (answer.account_state.empty()) {
    if (!answer.devices.empty() || !answer.key_records.empty()) {
      return absl::InvalidArgumentError(
          "an absent account cannot have device or key records");
    }
    RETURN_IF_ERROR(
        VerifyIndexProof(checkpoint.index_root, key, std::nullopt, proof));
    return out;
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

  // Devices: one record per active device, exactly as the state says.
  if (answer.devices.size() != state->devices.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the lookup has ", answer.devices.size(), " device records for ",
        state->devices.size(), " devices"));
  }
  size_t i = 0;
  uint64_t oldest = UINT64_MAX;
  for (const auto& [device_id, device] : state->devices) {
    const ProvedRecord& proved = answer.devices[i++];
    if (proved.leaf_index != device.leaf_index) {
      return absl::InvalidArgumentError(absl::StrCat(
          "device \"", device_id, "\" is at leaf index ", device.leaf_index,
          ", the lookup sent ", proved.leaf_index));
    }
    ASSIGN_OR_RETURN(DeviceRecord r, VerifyProvedRecord(checkpoint, proved));
    if (r.operation != Operation::kAddDevice || r.account_id != account_id ||
        r.device_id != device_id || r.key != device.key ||
        r.account_version > state->version) {
      return Evidence(absl::StrCat(
          "the signed index names leaf ", proved.leaf_index, " for device \"",
          device_id, "\" of \"", account_id, "\", but that record differs"));
    }
    oldest = std::min(oldest, r.account_version);
    out.devices.push_back(VerifiedDevice{std::move(r), proved.leaf_index});
  }

  // The chain of account keys, from the one that signed the oldest device
  // record to the current one.
  if (answer.key_records.empty()) {
    return absl::InvalidArgumentError("the lookup has no key records");
  }
  std::vector<std::pair<uint64_t, std::string>> keys;  // version, key set
  for (const ProvedRecord& proved : answer.key_records) {
    ASSIGN_OR_RETURN(DeviceRecord r, VerifyProvedRecord(checkpoint, proved));
    if (r.account_id != account_id ||
        (!keys.empty() && r.account_version <= keys.back().first) ||
        r.account_version > state->version) {
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
  if (keys.back().second != state->account_key) {
    return Evidence("the key chain does not end at the account's current key");
  }
  if (!out.devices.empty() && keys.front().first > oldest) {
    return absl::InvalidArgumentError(
        "the key chain does not reach back to the oldest device record");
  }
  for (const VerifiedDevice& d : out.devices) {
    // The key in force at the device record's version.
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
  out.key_chain = std::move(keys);
  out.state = *std::move(state);
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
